// `lmmkit gwas` as one call: match samples, fit each trait's null model,
// stream the genotype file through the scan into staged outputs, and write
// the JSON report.
import { getBackend } from '../linalg/select.js';
import { gwasScan } from '../scan/gwas.js';
import type { GenoProgress } from '../data/geno-queue.js';
import type { GenotypeSource } from '../data/genotypes.js';
import type { VariantSelection } from '../data/variants.js';
import { SelectionError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import { describeNull, type GwasHit, type GwasReport, type SexChromosomesReport, type TraitReport } from './gwas-report.js';
import { EigenCache, fitTraitNull, type TraitNull } from './gwas-null.js';
import { checkXchrModel, halveMales, sampleSexes, sexChromRuns, type SexRuns, sexTraitData } from './gwas-sex.js';
import { fitInContext, fitInContextSync } from './fit-context.js';
import { binaryNotice, checkTraitSizes, prepareKinship, readGwasInputs, type TraitData, traitData } from './gwas-inputs.js';
import { loadTraitNull, savedTraitNull } from './gwas-saved-null.js';
import { plotFiles, stagePlots } from './gwas-plots.js';
import { formatBatch, GWAS_TSV_HEADERS } from './gwas-rows.js';
import { sourceCounts } from './gwas-samples.js';
import { genotypeFiles, genotypesReport, quirkWarnings, selectRegion, withGenotypes, withProgress } from './inputs.js';
import {
  bad,
  checkFilterOptions,
  checkInputOptions,
  checkOutputs,
  checkTraitOptions,
  type FilterOptions,
  type ScanRunOptions,
  type TraitOptions,
} from './options.js';
import { selectionFiles } from './selection.js';
import { threadsReport } from './threads.js';
import { droppedReport, type DroppedSampleReport } from './report.js';

/** Options of `runGwas` (what the `lmmkit gwas` command runs). */
export interface GwasRunOptions extends ScanRunOptions {
  /** Low-rank factor W of the null covariance cr W W^T + cn I. */
  lowrank?: string;
  /** Interaction factors: each variant g enters as inter_l * g. */
  inter?: string;
  /** Consecutive variants tested jointly (default 1). */
  step?: number;
  /** Default 'fixed'. */
  test?: 'fixed' | 'exact';
  /** With test 'exact': 'all' (default: Wald, LRT and score, GEMMA -lmm 4) or 'wald' (GEMMA -lmm 1, about twice as fast). */
  exactTests?: 'all' | 'wald';
  /** Output prefix: PREFIX.<trait>.tsv and PREFIX.json. */
  out: string;
  /** Overrides the TSV path of each trait (the demo writes results.tsv). */
  tsvPath?: (trait: string, index: number) => string;
  /** Overrides PREFIX.json. */
  jsonPath?: string;
  /**
   * Also draw each trait's Manhattan and QQ plots next to its TSV:
   * PREFIX.<trait>.manhattan.png/.svg and PREFIX.<trait>.qq.png/.svg.
   */
  plot?: boolean;
  /**
   * A null model saved by `runNullFit` (`lmmkit null fit`): the scan uses it
   * instead of fitting one, after checking that its samples, trait values
   * and covariates are this run's (no kinship is read or computed).
   */
  nullModel?: string;
  /**
   * plink2's --xchr-model: 2 (default) codes males 0..2 on chrX, 1 codes
   * them 0..1, 0 skips chrX; on chrX sex is a covariate and samples of
   * unknown sex are left out, on chrY only males are used (gwas-sex.ts).
   */
  xchrModel?: number;
}

/**
 * `lmmkit gwas`: reads the inputs, matches samples, and per trait fits the
 * null model on that trait's samples and streams the genotype file through
 * `gwasScan`, writing PREFIX.<trait>.tsv (and its plots with `plot`) and
 * PREFIX.json; returns the report. All outputs are staged in temporary
 * files and renamed into place only when every trait is done: an error
 * leaves no output, whole or partial.
 */
export async function runGwas(opts: GwasRunOptions): Promise<GwasReport> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const o = checkOptions(opts);
  // A kinship from the genotypes reads the whole file: a VCF index answers the region only without one.
  const vcfRegion = opts.kinshipFromGenotypes === true ? undefined : opts.region;
  return withGenotypes({ ...opts, vcfRegion }, async (source, outputs, selection) => {
    const { select, selected } = selectRegion(source, o.region, opts.region);
    const inputs = await readGwasInputs(opts, o.ids, o.missingCode, source, log);
    const { match, extras, extraDropped, traits, pheno, covar, inter } = inputs;

    // Outputs and trait sample sets, validated before any heavy work.
    const outputPaths = traitPaths(pheno.columns, opts);
    const jsonPath = opts.jsonPath ?? `${opts.out}.json`;
    const plotPaths = outputPaths.map((p) => plotFiles(p, opts.plot === true));
    await checkOutputs(
      [...outputPaths, ...plotPaths.flatMap((p) => [...p.manhattan, ...p.qq]), jsonPath],
      [...genotypeFiles(opts), ...selectionFiles(opts), opts.pheno, opts.covar, opts.kinship, opts.lowrank, opts.inter, opts.nullModel],
    );
    checkTraitSizes(inputs);

    // The null covariance: a saved null model, or the kinship from its file or the genotypes.
    const saved = opts.nullModel === undefined ? undefined : await loadTraitNull(opts.nullModel, pheno.columns, o.test);
    const { kin, report: covReport } =
      saved !== undefined
        ? { kin: undefined, report: { model: 'kinship' as const, source: 'null-model' as const, file: opts.nullModel! } }
        : await prepareKinship(opts, inputs, source, log);

    // chrX and chrY as plink2 --glm scans them (gwas-sex.ts); undefined when the selection has none.
    const xchrModel = checkXchrModel(opts.xchrModel);
    const sexRunsRead = sexChromRuns(source, select, xchrModel);
    // A format that records no sex (BIMBAM, VCF) scans chrX and chrY like the autosomes, as before and as GEMMA does.
    const sexRuns = source.samples.sex === undefined ? undefined : sexRunsRead;
    if (sexRunsRead !== undefined && sexRuns === undefined) {
      opts.warn?.(
        `${source.path}: ${sexRunsRead.counts.x} chrX and ${sexRunsRead.counts.y} chrY variants scanned like the autosomes: the format records no sex (use .bed/.fam or .pgen/.psam for plink2's chrX and chrY models)`,
      );
    }
    const sexFile = opts.bfile !== undefined ? `${opts.bfile}.fam` : opts.pfile !== undefined ? `${opts.pfile}.psam` : source.path;
    const sex = sexRuns === undefined ? undefined : sampleSexes(source, sexFile, sexRuns);
    if (sexRuns !== undefined && saved !== undefined && sexRuns.runs.some((r) => r.kind !== 'auto')) {
      throw bad(
        `gwas --null ${opts.nullModel}: the saved null model has no sex covariate for the ${sexRuns.counts.x} chrX and ${sexRuns.counts.y} chrY variants selected; leave them out (--chr, --xchr-model 0) or drop --null`,
      );
    }
    const reports: TraitReport[] = [];
    const eigenCache = new EigenCache();
    const layout = o.test === 'exact' ? 'exact' : o.step > 1 || inter !== undefined ? 'multi' : 'single';
    for (const tr of traits) {
      const t1 = performance.now();
      const { samples, y, f, names, covariatesDropped, inter: interM, lowrank: lowrankM, binary } = traitData(inputs, tr, o.gaussianize);
      for (const d of covariatesDropped) {
        if (d.reason.startsWith('collinear')) opts.warn?.(`${covar?.file}: covariate '${d.name}' left out for trait '${tr.name}': ${d.reason}`);
      }
      const n = samples.length;
      if (binary !== undefined) opts.warn?.(binaryNotice(tr.name, pheno.file, binary, n));
      const nullContext = `trait '${tr.name}' of ${pheno.file} (${n} samples): cannot fit the null model`;
      const nul = fitInContextSync(nullContext, () =>
        saved !== undefined
          ? savedTraitNull(saved, {
              trait: tr.name,
              samples: { fid: Array.from(samples, (g) => source.samples.fid[g]!), iid: Array.from(samples, (g) => source.samples.iid[g]!) },
              y,
              f,
              names,
            })
          : fitTraitNull(
              {
                trait: tr.name,
                y,
                f,
                names,
                samples,
                test: o.test,
                kinship: kin,
                lowrank: kin !== undefined || lowrankM === undefined || inputs.lowrank === undefined ? undefined : { raw: lowrankM, file: inputs.lowrank.file },
              },
              eigenCache,
            ),
      );

      // The chrX / chrY nulls: the trait on plink2's samples for them, sex a covariate on chrX.
      const sexChromNulls = (runs: SexRuns, base: TraitData) => {
        const scans: Partial<
          Record<'x' | 'y', { source: GenotypeSource; samples: Int32Array; nul: TraitNull; y: Float64Array; f: Matrix; inter: Matrix | undefined }>
        > = {};
        const report: SexChromosomesReport = { xchrModel, sexFile, xSkipped: runs.xSkipped };
        for (const kind of ['x', 'y'] as const) {
          if (!runs.runs.some((r) => r.kind === kind)) continue;
          const d = sexTraitData(base, kind, sex!);
          const label = kind === 'x' ? 'chrX (samples of known sex, sex a covariate)' : 'chrY (males)';
          if (d.samples.length <= d.f.cols + 1) {
            throw new SelectionError(
              'NO_SAMPLES',
              `trait '${tr.name}' of ${pheno.file}: ${d.samples.length} samples on ${label} (sexes from ${sexFile}) for ${d.f.cols} covariates leave no degrees of freedom`,
            );
          }
          const sub = fitInContextSync(`trait '${tr.name}' of ${pheno.file} on ${label}, ${d.samples.length} samples: cannot fit the null model`, () =>
            fitTraitNull(
              {
                trait: tr.name,
                y: d.y,
                f: d.f,
                names: d.names,
                samples: d.samples,
                test: o.test,
                kinship: kin,
                lowrank:
                  kin !== undefined || d.lowrank === undefined || inputs.lowrank === undefined ? undefined : { raw: d.lowrank, file: inputs.lowrank.file },
              },
              eigenCache,
            ),
          );
          // plink2 codes haploid males 0..1 on chrY whatever the model, and on chrX with model 1.
          const halve = (kind === 'y' || xchrModel === 1) && d.males.length > 0;
          scans[kind] = { source: halve ? halveMales(source, d.males) : source, samples: d.samples, nul: sub, y: d.y, f: d.f, inter: d.inter };
          report[kind] = {
            variants: runs.counts[kind],
            samples: d.samples.length,
            samplesDropped: d.samplesDropped,
            covariates: d.names,
            ...(d.sexCovariateDropped === undefined ? {} : { sexCovariateDropped: d.sexCovariateDropped }),
            nullModel: sub.report,
          };
          log(`  ${label}: ${runs.counts[kind]} variants, ${d.samples.length} samples, null ${describeNull(sub.report)}`);
        }
        return { scans, report };
      };

      // Scan, streamed into the staged output: the selection whole, or with
      // chrX/chrY variants, its runs in file order, each under its class's null.
      const out = await outputs.stage(outputPaths[tr.t]!);
      await out.write(`${GWAS_TSV_HEADERS[layout].join('\t')}\n`);
      const counts = { tested: 0, tests: 0, untestable: 0 };
      const top: GwasHit[] = [];
      const scanContext = `trait '${tr.name}' of ${pheno.file} (${n} samples): the scan failed`;
      const scanUnder = async (
        u: { source: GenotypeSource; samples: Int32Array; nul: TraitNull; y: Float64Array; f: Matrix; inter: Matrix | undefined },
        sel: VariantSelection | undefined,
        bar: ((p: GenoProgress) => void) | undefined,
      ): Promise<void> => {
        for await (const batch of gwasScan({
          source: u.source,
          samples: u.samples,
          ...(u.nul.model === undefined ? { y: u.y, covariates: u.f } : { null: u.nul.model }),
          test: o.test,
          inter: u.inter,
          step: o.step,
          exactTests: opts.exactTests === 'wald' ? ['wald'] : undefined,
          select: sel,
          batchSize: o.batchSize,
          minMaf: o.maf,
          maxMissing: o.maxMissing,
          standardize: opts.standardize === true,
          onProgress: bar,
        })) {
          counts.tested += batch.indices.length;
          await out.write(formatBatch(batch, layout, o.step, counts, top));
        }
      };
      const whole = { source, samples, nul, y, f, inter: interM };
      const sexReport =
        sexRuns === undefined ? undefined : sexChromNulls(sexRuns, { samples, y, f, names, covariatesDropped, inter: interM, lowrank: lowrankM, binary });
      await withProgress(opts.progress, async (bar) =>
        fitInContext(scanContext, async () => {
          if (sexRuns === undefined || sexReport === undefined) return scanUnder(whole, select, bar);
          let done = 0;
          for (const run of sexRuns.runs) {
            const under = run.kind === 'auto' ? whole : sexReport.scans[run.kind]!;
            const offset = done;
            await scanUnder(under, { indices: run.indices }, (p) =>
              bar?.({ variantsRead: offset + p.variantsRead, total: selected, fraction: (offset + p.variantsRead) / selected }),
            );
            done += run.indices.length;
          }
        }),
      );
      await out.close();
      const plots =
        opts.plot === true ? await stagePlots(out.tmp, plotPaths[tr.t]!, `${tr.name}: ${counts.tests} tests, ${n} samples`, outputs, opts.warn) : undefined;
      const seconds = (performance.now() - t1) / 1000;
      const dropped: DroppedSampleReport[] = [...match.dropped.map(droppedReport), ...extraDropped, ...tr.missing];
      reports.push({
        trait: tr.name,
        output: outputPaths[tr.t]!,
        samples: n,
        binary: binary !== undefined,
        covariates: names,
        covariatesDropped,
        nullModel: nul.report,
        variants: { selected, tested: counts.tested, filtered: selected - counts.tested, tests: counts.tests, untestable: counts.untestable },
        top,
        ...(plots === undefined ? {} : { plots: plots.files, lambdaGc: plots.lambda }),
        match: { counts: sourceCounts(match, extras, n), dropped },
        ...(sexReport === undefined ? {} : { sexChromosomes: sexReport.report }),
        seconds,
      });
      log(
        `trait '${tr.name}': ${n} samples, null ${describeNull(nul.report)}; ${counts.tested} of ${selected} variants tested ` +
          `(${selected - counts.tested} filtered), ${counts.tests} tests in ${seconds.toFixed(2)} s -> ${outputPaths[tr.t]}`,
      );
      if (plots !== undefined) log(`  plots (lambda_GC ${plots.lambda.toFixed(4)}) -> ${plots.files.join(', ')}`);
    }

    for (const line of quirkWarnings(source)) opts.warn?.(line);
    const report: GwasReport = {
      command: 'gwas',
      genotypes: genotypesReport(source, opts),
      ...(selection === undefined ? {} : { selection }),
      ...(opts.threads === undefined ? {} : { threads: threadsReport(opts.threads) }),
      options: {
        test: o.test,
        step: o.step,
        maf: o.maf,
        maxMissing: o.maxMissing,
        region: opts.region ?? null,
        gaussianize: o.gaussianize,
        standardize: opts.standardize === true,
        covar: covar?.file ?? null,
        inter: inter?.file ?? null,
        ids: o.ids,
      },
      inputMissingPhenotype: inputs.missingCode,
      covariance: covReport,
      traits: reports,
      backend: getBackend().name,
      seconds: (performance.now() - t0) / 1000,
    };
    await outputs.whole(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    await outputs.commit();
    log(`report -> ${jsonPath}`);
    return report;
  });
}

type CheckedOptions = { test: 'fixed' | 'exact'; step: number } & FilterOptions & TraitOptions;

function checkOptions(opts: GwasRunOptions): CheckedOptions {
  checkInputOptions('gwas', opts);
  const covs = [
    opts.kinship !== undefined && '--kinship',
    opts.kinshipFromGenotypes === true && '--kinship-from-bfile',
    opts.lowrank !== undefined && '--lowrank',
  ].filter((x) => x !== false);
  if (covs.length > 1) throw bad(`gwas: give at most one null covariance, found ${covs.join(' and ')}`);
  if (opts.nullModel !== undefined && covs.length > 0) throw bad(`gwas --null: the null covariance comes from the null model, found ${covs.join(' and ')} too`);
  const test = opts.test ?? 'fixed';
  if (test !== 'fixed' && test !== 'exact') throw bad(`--test: expected fixed or exact, found '${String(test)}'`);
  const step = opts.step ?? 1;
  if (!Number.isInteger(step) || step < 1) throw bad(`--step: expected a positive integer, found ${step}`);
  const filters = checkFilterOptions(opts);
  checkXchrModel(opts.xchrModel);
  if (test === 'exact') {
    if (opts.kinship === undefined && opts.kinshipFromGenotypes !== true && opts.nullModel === undefined) {
      throw bad('--test exact: needs a kinship (--kinship FILE or --kinship-from-bfile); it re-estimates the kinship variance ratio per variant');
    }
    if (step !== 1) throw bad(`--test exact: tests one variant at a time, found --step ${step}`);
    if (opts.inter !== undefined) throw bad('--test exact: does not take --inter (use --test fixed)');
  }
  return { test, step, ...filters, ...checkTraitOptions(opts) };
}

/** PREFIX.<trait>.tsv, the trait name made safe for a file name (and unique). */
function traitPaths(traits: readonly string[], opts: GwasRunOptions): string[] {
  const seen = new Set<string>();
  return traits.map((t, i) => {
    if (opts.tsvPath !== undefined) return opts.tsvPath(t, i);
    let safe = t.replace(/[^A-Za-z0-9._-]/g, '_');
    if (seen.has(safe)) safe = `${safe}_${i + 1}`;
    seen.add(safe);
    return `${opts.out}.${safe}.tsv`;
  });
}
