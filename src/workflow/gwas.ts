// `lmmkit gwas` as one call: match samples, fit each trait's null model,
// stream the genotype file through the scan into staged outputs, and write
// the JSON report.
import { gaussianize } from '../data/gaussianize.js';
import type { KinshipTable } from '../data/kinship-table.js';
import { readKinship } from '../data/node/tables.js';
import { covariateDesign } from '../data/covariates.js';
import { getBackend } from '../linalg/select.js';
import { gwasScan } from '../scan/gwas.js';
import { LmmkitError } from '../errors.js';
import { describeNull, type GwasHit, type GwasReport, type TraitReport } from './gwas-report.js';
import { EigenCache, fitTraitNull, type RunKinship } from './gwas-null.js';
import { plotFiles, stagePlots } from './gwas-plots.js';
import { formatBatch, GWAS_TSV_HEADERS } from './gwas-rows.js';
import { matchGwasSamples, sourceCounts, subTable } from './gwas-samples.js';
import { genotypesReport, readKeyedTable, selectRegion, standardizedKinship, withGenotypes, withProgress } from './inputs.js';
import {
  bad, checkFilterOptions, checkInputOptions, checkOutputs, checkTraitOptions, type FilterOptions, type ScanRunOptions, type TraitOptions,
} from './options.js';
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
  return withGenotypes(opts, async (source, outputs) => {
    const nGeno = source.samples.iid.length;
    const { select, selected } = selectRegion(source, o.region, opts.region);

    // Tables.
    const pheno = await readKeyedTable(opts.pheno, o.ids, opts.phenoCol);
    const covar = opts.covar === undefined ? undefined : await readKeyedTable(opts.covar, o.ids);
    const lowrank = opts.lowrank === undefined ? undefined : await readKeyedTable(opts.lowrank, o.ids);
    const inter = opts.inter === undefined ? undefined : await readKeyedTable(opts.inter, o.ids);
    const kinFile: KinshipTable | undefined = opts.kinship === undefined ? undefined : await readKinship(opts.kinship, { ids: source.samples });

    const genotype = { file: source.path, samples: source.samples, key: opts.bimbam !== undefined ? ('iid' as const) : ('fid-iid' as const) };
    const { match, extras, keepPos, extraDropped, traits } = matchGwasSamples(genotype, { pheno, covar, kinship: kinFile, lowrank, inter }, log);

    // Outputs and trait sample sets, validated before any heavy work.
    const outputPaths = traitPaths(pheno.columns, opts);
    const jsonPath = opts.jsonPath ?? `${opts.out}.json`;
    const plotPaths = outputPaths.map((p) => plotFiles(p, opts.plot === true));
    await checkOutputs([...outputPaths, ...plotPaths.flatMap((p) => [...p.manhattan, ...p.qq]), jsonPath]);
    for (const tr of traits) {
      if (tr.pos.length < 3) {
        throw new LmmkitError('NO_SAMPLES', `trait '${tr.name}' of ${pheno.file}: ${tr.pos.length} samples left after matching, too few to fit a model`);
      }
    }

    // The kinship: from the file, or computed once on every analysed sample.
    let kin: RunKinship | undefined;
    let covReport: GwasReport['covariance'] = { model: 'none' };
    if (kinFile !== undefined) {
      const row = new Int32Array(nGeno).fill(-1);
      match.keep.forEach((g, p) => (row[g] = match.index.kinship![p]!));
      kin = { k: kinFile.k, row };
      covReport = { model: 'kinship', source: 'file', file: kinFile.file };
    } else if (opts.kinshipFromGenotypes === true) {
      const union = Int32Array.from(keepPos, (p) => match.keep[p]!);
      const res = await standardizedKinship(source, union, opts.progress, log);
      const row = new Int32Array(nGeno).fill(-1);
      union.forEach((g, i) => (row[g] = i));
      kin = { k: res.k, row };
      covReport = { model: 'kinship', source: 'genotypes', method: 'standardized', samples: union.length, variantsUsed: res.variantsUsed, variantsSkipped: res.variantsSkipped };
    } else if (lowrank !== undefined) {
      covReport = { model: 'lowrank', file: lowrank.file };
    }

    const reports: TraitReport[] = [];
    const eigenCache = new EigenCache();
    const layout = o.test === 'exact' ? 'exact' : o.step > 1 || inter !== undefined ? 'multi' : 'single';
    for (const tr of traits) {
      const t1 = performance.now();
      const samples = Int32Array.from(tr.pos, (p) => match.keep[p]!);
      const n = samples.length;
      const tableRows = (index: Int32Array | undefined, rowOf: Int32Array | undefined): Int32Array =>
        Int32Array.from(tr.pos, (p) => (index !== undefined ? index[p]! : rowOf![match.keep[p]!]!));
      const extraRowsOf = (source: 'lowrank' | 'inter'): Int32Array => tableRows(undefined, extras.find((e) => e.source === source)!.row);
      const prow = tableRows(match.index.phenotype, undefined);
      let y: Float64Array = Float64Array.from(prow, (r) => pheno.values.data[r + tr.t * pheno.values.rows]!);
      if (o.gaussianize) y = gaussianize(y);
      const { names, f, covariatesDropped } = covariateDesign(n, covar, () => tableRows(match.index.covariates, undefined));
      if (n <= f.cols + 1) {
        throw new LmmkitError('NO_SAMPLES', `trait '${tr.name}': ${n} samples for ${f.cols} covariates (with the intercept) leave no degrees of freedom`);
      }
      const interM = inter === undefined ? undefined : subTable(inter, extraRowsOf('inter'));
      const nul = fitTraitNull({
        trait: tr.name, y, f, names, samples, test: o.test, kinship: kin,
        lowrank: kin !== undefined || lowrank === undefined ? undefined : { raw: subTable(lowrank, extraRowsOf('lowrank')), file: lowrank.file },
      }, eigenCache);

      // Scan, streamed into the staged output.
      const out = await outputs.stage(outputPaths[tr.t]!);
      await out.write(GWAS_TSV_HEADERS[layout].join('\t') + '\n');
      const counts = { tested: 0, tests: 0, untestable: 0 };
      const top: GwasHit[] = [];
      await withProgress(opts.progress, async (bar) => {
        for await (const batch of gwasScan({
          source, samples, ...(nul.model === undefined ? { y, covariates: f } : { null: nul.model }), test: o.test,
          inter: interM, step: o.step, exactTests: opts.exactTests === 'wald' ? ['wald'] : undefined,
          select, batchSize: o.batchSize, minMaf: o.maf, maxMissing: o.maxMissing, standardize: opts.standardize === true,
          onProgress: bar,
        })) {
          counts.tested += batch.indices.length;
          await out.write(formatBatch(batch, layout, o.step, counts, top));
        }
      });
      await out.close();
      const plots = opts.plot === true
        ? await stagePlots(out.tmp, plotPaths[tr.t]!, `${tr.name}: ${counts.tests} tests, ${n} samples`, outputs, opts.warn)
        : undefined;
      const seconds = (performance.now() - t1) / 1000;
      const dropped: DroppedSampleReport[] = [...match.dropped.map(droppedReport), ...extraDropped, ...tr.missing];
      reports.push({
        trait: tr.name,
        output: outputPaths[tr.t]!,
        samples: n,
        covariates: names,
        covariatesDropped,
        nullModel: nul.report,
        variants: { selected, tested: counts.tested, filtered: selected - counts.tested, tests: counts.tests, untestable: counts.untestable },
        top,
        ...(plots === undefined ? {} : { plots: plots.files, lambdaGc: plots.lambda }),
        match: { counts: sourceCounts(match, extras, n), dropped },
        seconds,
      });
      log(`trait '${tr.name}': ${n} samples, null ${describeNull(nul.report)}; ${counts.tested} of ${selected} variants tested ` +
        `(${selected - counts.tested} filtered), ${counts.tests} tests in ${seconds.toFixed(2)} s -> ${outputPaths[tr.t]}`);
      if (plots !== undefined) log(`  plots (lambda_GC ${plots.lambda.toFixed(4)}) -> ${plots.files.join(', ')}`);
    }

    const report: GwasReport = {
      command: 'gwas',
      genotypes: genotypesReport(source, opts),
      options: {
        test: o.test, step: o.step, maf: o.maf, maxMissing: o.maxMissing, region: opts.region ?? null,
        gaussianize: o.gaussianize, standardize: opts.standardize === true, covar: covar?.file ?? null, inter: inter?.file ?? null, ids: o.ids,
      },
      covariance: covReport,
      traits: reports,
      backend: getBackend().name,
      seconds: (performance.now() - t0) / 1000,
    };
    await outputs.whole(jsonPath, JSON.stringify(report, null, 2) + '\n');
    await outputs.commit();
    log(`report -> ${jsonPath}`);
    return report;
  });
}

type CheckedOptions = { test: 'fixed' | 'exact'; step: number } & FilterOptions & TraitOptions;

function checkOptions(opts: GwasRunOptions): CheckedOptions {
  checkInputOptions('gwas', opts);
  const covs = [opts.kinship !== undefined && '--kinship', opts.kinshipFromGenotypes === true && '--kinship-from-bfile', opts.lowrank !== undefined && '--lowrank'].filter((x) => x !== false);
  if (covs.length > 1) throw bad(`gwas: give at most one null covariance, found ${covs.join(' and ')}`);
  const test = opts.test ?? 'fixed';
  if (test !== 'fixed' && test !== 'exact') throw bad(`--test: expected fixed or exact, found '${String(test)}'`);
  const step = opts.step ?? 1;
  if (!Number.isInteger(step) || step < 1) throw bad(`--step: expected a positive integer, found ${step}`);
  const filters = checkFilterOptions(opts);
  if (test === 'exact') {
    if (opts.kinship === undefined && opts.kinshipFromGenotypes !== true) {
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
