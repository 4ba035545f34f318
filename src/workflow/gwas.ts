// `lmmkit gwas` as one call: match samples, fit each trait's null model,
// stream the genotype file through the scan into staged outputs, and write
// the JSON report.
import { getBackend } from '../linalg/select.js';
import { gwasScan } from '../scan/gwas.js';
import { describeNull, type GwasHit, type GwasReport, type TraitReport } from './gwas-report.js';
import { EigenCache, fitTraitNull } from './gwas-null.js';
import { fitInContext, fitInContextSync } from './fit-context.js';
import { binaryNotice, checkTraitSizes, prepareKinship, readGwasInputs, traitData } from './gwas-inputs.js';
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
  return withGenotypes(opts, async (source, outputs, selection) => {
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

      // Scan, streamed into the staged output.
      const out = await outputs.stage(outputPaths[tr.t]!);
      await out.write(`${GWAS_TSV_HEADERS[layout].join('\t')}\n`);
      const counts = { tested: 0, tests: 0, untestable: 0 };
      const top: GwasHit[] = [];
      const scanContext = `trait '${tr.name}' of ${pheno.file} (${n} samples): the scan failed`;
      await withProgress(opts.progress, async (bar) =>
        fitInContext(scanContext, async () => {
          for await (const batch of gwasScan({
            source,
            samples,
            ...(nul.model === undefined ? { y, covariates: f } : { null: nul.model }),
            test: o.test,
            inter: interM,
            step: o.step,
            exactTests: opts.exactTests === 'wald' ? ['wald'] : undefined,
            select,
            batchSize: o.batchSize,
            minMaf: o.maf,
            maxMissing: o.maxMissing,
            standardize: opts.standardize === true,
            onProgress: bar,
          })) {
            counts.tested += batch.indices.length;
            await out.write(formatBatch(batch, layout, o.step, counts, top));
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
