import { Command } from 'commander';
import { InputError, LmmkitError } from '../errors.js';
import { gaussianize } from '../data/gaussianize.js';
import { readKinship, type KinshipTable } from '../data/kinship-table.js';
import { formatMatchReport, matchSamples, type SampleMatch } from '../data/match.js';
import { sampleKey } from '../data/samples.js';
import type { NumericTable } from '../data/table.js';
import { formatNumber } from '../data/write-tsv.js';
import type { Eigen } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { doubleCenter, fitKinshipNull } from '../nullmodel/fit-kinship.js';
import { fitLowRankNull } from '../nullmodel/fit-lowrank.js';
import type { SingleTraitNullModel } from '../nullmodel/null-model.js';
import { gwasScan, type GwasBatchResult } from '../scan/gwas.js';
import { LmmCore } from '../scan/lmm-core.js';
import {
  bad, checkFilterOptions, checkInputOptions, checkOutputs, checkTraitOptions, covariateDesign, droppedReport, genotypesReport, groupReasons,
  integer, noteHit, number, oneOf, readKeyedTable, runStaged, selectRegion, Staged, standardizedKinship, subMatrix, withProgress,
  type DroppedSampleReport, type FilterOptions, type ScanRunOptions, type TableIds, type TraitOptions,
} from './common.js';

export { detectTableKey, parseRegion, type DroppedSampleReport, type TableIds } from './common.js';

/** Options of `runGwas` (the `lmmkit gwas` command, callable from code). */
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

/** The null model of one trait as reported. */
export type NullModelReport =
  | { model: 'none'; method: 'OLS'; beta: Record<string, number>; sigma2: number; logLik: number }
  | {
    model: 'kinship'; method: 'REML'; lambda: number; sigmaG2: number; sigmaE2: number;
    /** sigmaG2 mean(diag K) / (sigmaG2 mean(diag K) + sigmaE2). */
    h2: number; logLik: number; atBound: 'lower' | 'upper' | null; beta: Record<string, number>;
  }
  | {
    model: 'lowrank'; method: 'REML'; cr: number; cn: number; logLik: number; lml: number; atBoundary: boolean;
    beta: Record<string, number>; wColumns: number; wColumnsDropped: number;
  };

/** A top association of a trait. */
export interface GwasHit {
  chrom: string;
  pos: number;
  id: string;
  /** Last variant of a multi-variant block (step > 1), else equal to `id`. */
  idLast: string;
  beta: number;
  pvalue: number;
  log10p: number;
}

/** Per-trait part of the JSON report. */
export interface TraitReport {
  trait: string;
  output: string;
  samples: number;
  covariates: string[];
  covariatesDropped: { name: string; reason: string }[];
  nullModel: NullModelReport;
  variants: {
    /** Variants in the selection (the region, or the whole file). */
    selected: number;
    /** Variants that passed the missingness and MAF filters and were tested. */
    tested: number;
    /** Selected variants removed by --max-missing, --maf or all-missing. */
    filtered: number;
    /** Rows of the output (tests: one per variant, or per block of step variants). */
    tests: number;
    /** Tests with no p-value (a variant constant or collinear with the covariates on the analysed samples). */
    untestable: number;
  };
  /** The best tests by p-value (at most 10). */
  top: GwasHit[];
  /** The plot files written (with --plot). */
  plots?: string[];
  /** lambda_GC of the trait's p-values (with --plot). */
  lambdaGc?: number;
  match: {
    counts: { source: string; file: string; samples: number; used: number }[];
    dropped: DroppedSampleReport[];
  };
  seconds: number;
}

/** The JSON report (PREFIX.json) of a `runGwas` run. */
export interface GwasReport {
  command: 'gwas';
  genotypes: { format: 'bed' | 'bimbam'; path: string; samples: number; variants: number; countedAllele: 'a1' };
  options: {
    test: 'fixed' | 'exact'; step: number; maf: number; maxMissing: number; region: string | null;
    gaussianize: boolean; standardize: boolean; covar: string | null; inter: string | null; ids: TableIds;
  };
  covariance:
    | { model: 'none' }
    | { model: 'kinship'; source: 'file'; file: string }
    | { model: 'kinship'; source: 'genotypes'; method: 'standardized'; samples: number; variantsUsed: number; variantsSkipped: number }
    | { model: 'lowrank'; file: string };
  traits: TraitReport[];
  backend: string;
  seconds: number;
}

/**
 * `lmmkit gwas`: reads the inputs, matches samples, and per trait fits the
 * null model on that trait's samples and streams the genotype file through
 * `gwasScan`, writing PREFIX.<trait>.tsv and PREFIX.json. All outputs are
 * staged in temporary files and renamed into place only when every trait
 * is done: an error leaves no output, whole or partial.
 */
export async function runGwas(opts: GwasRunOptions): Promise<GwasReport> {
  const t0 = performance.now();
  const log = opts.log ?? ((line: string) => console.log(line));
  const o = checkOptions(opts);
  return runStaged(opts, async (source, staged) => {
    const genoFile = source.path;
    const nGeno = source.samples.iid.length;
    const { select, selected } = selectRegion(source, o.region, opts.region);

    // Tables.
    const pheno = await readKeyedTable(opts.pheno, o.ids, opts.phenoCol);
    const covar = opts.covar === undefined ? undefined : await readKeyedTable(opts.covar, o.ids);
    const lowrank = opts.lowrank === undefined ? undefined : await readKeyedTable(opts.lowrank, o.ids);
    const inter = opts.inter === undefined ? undefined : await readKeyedTable(opts.inter, o.ids);
    const kinFile: KinshipTable | undefined = opts.kinship === undefined ? undefined : await readKinship(opts.kinship, { ids: source.samples });

    // Samples: the shared match, then the low-rank and interaction tables, then each trait's missingness.
    const genotype = { file: genoFile, samples: source.samples, key: opts.bimbam !== undefined ? ('iid' as const) : ('fid-iid' as const) };
    const match = matchSamples({ genotype, phenotype: pheno, covariates: covar, kinship: kinFile });
    const extras = [
      ...(lowrank === undefined ? [] : [extraRows('lowrank', lowrank, genotype)]),
      ...(inter === undefined ? [] : [extraRows('inter', inter, genotype)]),
    ];
    const keepPos: number[] = [];
    const extraDropped: DroppedSampleReport[] = [];
    for (let p = 0; p < match.keep.length; p++) {
      const g = match.keep[p]!;
      const bad = extras.find((e) => e.reason[g] !== undefined);
      if (bad === undefined) keepPos.push(p);
      else extraDropped.push({ fid: source.samples.fid[g]!, iid: source.samples.iid[g]!, source: bad.source, reason: bad.reason[g]! });
    }
    const reported = new Set(match.dropped.filter((d) => d.source === 'genotype').map((d) => sampleKey(d.fid, d.iid)));
    for (const e of extras) {
      for (const d of e.extra) {
        if (!reported.has(sampleKey(d.fid, d.iid))) {
          reported.add(sampleKey(d.fid, d.iid));
          extraDropped.push(d);
        }
      }
    }
    if (keepPos.length === 0) {
      throw new LmmkitError('NO_SAMPLES', `no samples left after matching: every sample is missing from or has a missing value in ${extras.map((e) => e.file).join(' or ')}`);
    }
    log(formatMatchReport(match).trimEnd());
    for (const d of groupReasons(extraDropped, true)) log(`  ${d}`);

    // Trait sample sets, validated before any heavy work.
    const traits = pheno.columns.map((name, t) => {
      const mask = match.phenotypeMask[t]!;
      const pos = keepPos.filter((p) => mask[p] === 1);
      const missing: DroppedSampleReport[] = keepPos.filter((p) => mask[p] !== 1).map((p) => {
        const g = match.keep[p]!;
        return { fid: source.samples.fid[g]!, iid: source.samples.iid[g]!, source: 'phenotype', reason: `missing phenotype '${name}' in ${pheno.file}` };
      });
      return { name, t, pos, missing };
    });
    const outputs = traitPaths(pheno.columns, opts);
    const jsonPath = opts.jsonPath ?? `${opts.out}.json`;
    const plotPaths = outputs.map((o) => plotFiles(o, opts.plot === true));
    await checkOutputs([...outputs, ...plotPaths.flatMap((p) => [...p.manhattan, ...p.qq]), jsonPath]);
    for (const tr of traits) {
      if (tr.pos.length < 3) {
        throw new LmmkitError('NO_SAMPLES', `trait '${tr.name}' of ${pheno.file}: ${tr.pos.length} samples left after matching, too few to fit a model`);
      }
    }

    // The kinship: from the file, or computed once on every analysed sample.
    let kin: { k: Matrix; row: Int32Array } | undefined;
    let covReport: GwasReport['covariance'] = { model: 'none' };
    if (kinFile !== undefined) {
      const row = new Int32Array(nGeno).fill(-1);
      match.keep.forEach((g, p) => (row[g] = match.index.kinship![p]!));
      kin = { k: kinFile.k, row };
      covReport = { model: 'kinship', source: 'file', file: kinFile.file };
    } else if (opts.kinshipFromGenotypes === true) {
      const union = Int32Array.from(keepPos, (p) => match.keep[p]!);
      const res = await standardizedKinship(source, union, o.progress, log);
      const row = new Int32Array(nGeno).fill(-1);
      union.forEach((g, i) => (row[g] = i));
      kin = { k: res.k, row };
      covReport = { model: 'kinship', source: 'genotypes', method: 'standardized', samples: union.length, variantsUsed: res.variantsUsed, variantsSkipped: res.variantsSkipped };
    } else if (lowrank !== undefined) {
      covReport = { model: 'lowrank', file: lowrank.file };
    }

    const reports: TraitReport[] = [];
    const eigenCache = new Map<string, Eigen>();
    for (const tr of traits) {
      const t1 = performance.now();
      const samples = Int32Array.from(tr.pos, (p) => match.keep[p]!);
      const n = samples.length;
      const tableRows = (index: Int32Array | undefined, rowOf: Int32Array | undefined): Int32Array =>
        Int32Array.from(tr.pos, (p) => (index !== undefined ? index[p]! : rowOf![match.keep[p]!]!));
      // Trait.
      const prow = tableRows(match.index.phenotype, undefined);
      let y: Float64Array = Float64Array.from(prow, (r) => pheno.values.data[r + tr.t * pheno.values.rows]!);
      if (o.gaussianize) y = gaussianize(y);
      // Covariates: the intercept, then the covariate columns that vary on these samples.
      const { names, f, covariatesDropped } = covariateDesign(n, covar, () => tableRows(match.index.covariates, undefined));
      if (n <= f.cols + 1) {
        throw new LmmkitError('NO_SAMPLES', `trait '${tr.name}': ${n} samples for ${f.cols} covariates (with the intercept) leave no degrees of freedom`);
      }
      const interM = inter === undefined ? undefined : subTable(inter, tableRows(undefined, extras.find((e) => e.source === 'inter')!.row));

      // Null model.
      let nullFit: SingleTraitNullModel | undefined;
      let nullModel: NullModelReport;
      const named = (b: ArrayLike<number>): Record<string, number> => Object.fromEntries(names.map((nm, j) => [nm, b[j]!]));
      if (kin !== undefined) {
        const key = Array.from(samples).join(',');
        let eigen = eigenCache.get(key);
        if (eigen === undefined) {
          const kr = Int32Array.from(samples, (g) => kin!.row[g]!);
          // The exact test reproduces GEMMA, which double-centres K over the
          // analysed samples (its ML-based LRT and score tests depend on it).
          const sub = subMatrix(kin.k, kr);
          eigen = getBackend().syevd(o.test === 'exact' ? doubleCenter(sub) : sub);
          eigenCache.clear();
          eigenCache.set(key, eigen);
        }
        const fit = fitKinshipNull({ y, covariates: f, kinship: eigen });
        nullFit = fit;
        nullModel = {
          model: 'kinship', method: 'REML', lambda: fit.lambda, sigmaG2: fit.sigmaG2, sigmaE2: fit.sigmaE2,
          h2: fit.h2, logLik: fit.logLik, atBound: fit.atBound, beta: named(fit.beta),
        };
      } else if (lowrank !== undefined) {
        const raw = subTable(lowrank, tableRows(undefined, extras.find((e) => e.source === 'lowrank')!.row));
        const w = quickStartW(raw);
        if (w.m.cols === 0) throw new LmmkitError('BAD_INPUT', `--lowrank ${lowrank.file}: no column varies on the ${n} samples of trait '${tr.name}'`);
        const fit = fitLowRankNull({ y, covariates: f, w: w.m });
        nullFit = fit;
        nullModel = {
          model: 'lowrank', method: 'REML', cr: fit.cr, cn: fit.cn, logLik: fit.logLik, lml: fit.lml, atBoundary: fit.atBoundary,
          beta: named(fit.beta), wColumns: w.m.cols, wColumnsDropped: w.dropped,
        };
      } else {
        const core = new LmmCore({ y, covariates: f });
        const rss = core.s20 * core.dfResidual;
        nullModel = { model: 'none', method: 'OLS', beta: named(core.nullBeta), sigma2: core.s20, logLik: -0.5 * n * (Math.log((2 * Math.PI * rss) / n) + 1) };
      }

      // Scan, streamed into the staged output.
      const out = await Staged.create(outputs[tr.t]!);
      staged.push(out);
      const layout = o.test === 'exact' ? 'exact' : o.step > 1 || inter !== undefined ? 'multi' : 'single';
      await out.write(HEADERS[layout].join('\t') + '\n');
      const counts = { tested: 0, tests: 0, untestable: 0 };
      const top: GwasHit[] = [];
      await withProgress(o.progress, async (bar) => {
        for await (const batch of gwasScan({
          source: source, samples, ...(nullFit === undefined ? { y, covariates: f } : { null: nullFit }), test: o.test, inter: interM, step: o.step,
          exactTests: opts.exactTests === 'wald' ? ['wald'] : undefined,
          select, batchSize: o.batchSize, minMaf: o.maf, maxMissing: o.maxMissing, standardize: opts.standardize === true,
          onProgress: bar,
        })) {
          counts.tested += batch.indices.length;
          await out.write(formatBatch(batch, layout, o.step, counts, top));
        }
      });
      await out.close();
      let plots: { files: string[]; lambda: number } | undefined;
      if (opts.plot === true) {
        plots = await stagePlots(out.tmp, plotPaths[tr.t]!, `${tr.name}: ${counts.tests} tests, ${n} samples`, staged);
      }
      const seconds = (performance.now() - t1) / 1000;
      const dropped: DroppedSampleReport[] = [...match.dropped.map(droppedReport), ...extraDropped, ...tr.missing];
      reports.push({
        trait: tr.name,
        output: outputs[tr.t]!,
        samples: n,
        covariates: names,
        covariatesDropped,
        nullModel,
        variants: { selected, tested: counts.tested, filtered: selected - counts.tested, tests: counts.tests, untestable: counts.untestable },
        top,
        ...(plots === undefined ? {} : { plots: plots.files, lambdaGc: plots.lambda }),
        match: { counts: sourceCounts(match, extras, n), dropped },
        seconds,
      });
      log(`trait '${tr.name}': ${n} samples, null ${describeNull(nullModel)}; ${counts.tested} of ${selected} variants tested ` +
        `(${selected - counts.tested} filtered), ${counts.tests} tests in ${seconds.toFixed(2)} s -> ${outputs[tr.t]}`);
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
    await Staged.whole(staged, jsonPath, JSON.stringify(report, null, 2) + '\n');
    for (const s of staged) await s.commit();
    log(`report -> ${jsonPath}`);
    return report;
  });
}

// ---------------------------------------------------------------------------
// Options.

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

// ---------------------------------------------------------------------------
// Tables.

interface ExtraRows {
  source: 'lowrank' | 'inter';
  file: string;
  size: number;
  /** Row of each genotype sample, -1 when absent. */
  row: Int32Array;
  /** Why each genotype sample cannot be used (undefined: usable). */
  reason: (string | undefined)[];
  /** Rows whose sample the genotype file lacks. */
  extra: DroppedSampleReport[];
}

/** Matches a low-rank or interaction table to the genotype samples (as matchSamples does for covariates). */
function extraRows(source: 'lowrank' | 'inter', table: NumericTable, genotype: { file: string; samples: { fid: readonly string[]; iid: readonly string[] }; key: 'fid-iid' | 'iid' }): ExtraRows {
  const { fid, iid } = genotype.samples;
  const n = iid.length;
  const rows = table.values.rows;
  const row = new Int32Array(n).fill(-1);
  const extra: DroppedSampleReport[] = [];
  if (table.key === 'none') {
    if (rows !== n) {
      throw new InputError({ file: table.file }, `expected one row per genotype sample (rows without ids are matched by order), found ${rows} rows for the ${n} samples of ${genotype.file}`);
    }
    row.forEach((_, i) => (row[i] = i));
  } else {
    const byIid = table.key === 'iid' || genotype.key === 'iid';
    const genoIndex = new Map<string, number>();
    for (let i = 0; i < n; i++) genoIndex.set(byIid ? iid[i]! : sampleKey(fid[i]!, iid[i]!), i);
    const seen = new Set<string>();
    for (let r = 0; r < rows; r++) {
      const k = byIid ? table.ids.iid[r]! : sampleKey(table.ids.fid[r]!, table.ids.iid[r]!);
      if (seen.has(k)) throw new InputError({ file: table.file }, `expected unique sample ids, found '${table.ids.iid[r]}' twice`);
      seen.add(k);
      const g = genoIndex.get(k);
      if (g === undefined) extra.push({ fid: table.ids.fid[r]!, iid: table.ids.iid[r]!, source: 'genotype', reason: `missing in ${genotype.file}` });
      else row[g] = r;
    }
  }
  const reason = Array.from(row, (r) => {
    if (r < 0) return `missing in ${table.file}`;
    for (let c = 0; c < table.values.cols; c++) {
      if (Number.isNaN(table.values.data[r + c * rows]!)) return `missing value '${table.columns[c]}' in ${table.file}`;
    }
    return undefined;
  });
  return { source, file: table.file, size: rows, row, reason, extra };
}

function subTable(table: NumericTable, rows: Int32Array): Matrix {
  const m = table.values;
  const out = new Matrix(rows.length, m.cols);
  for (let c = 0; c < m.cols; c++) for (let i = 0; i < rows.length; i++) out.data[i + c * rows.length] = m.data[rows[i]! + c * m.rows]!;
  return out;
}

/**
 * The limix quick start's W: columns with zero variance dropped, the others
 * standardised (population sd) and divided by sqrt(columns kept), so that
 * W W^T has mean diagonal 1.
 */
export function quickStartW(raw: Matrix): { m: Matrix; dropped: number } {
  const n = raw.rows;
  const keep: Float64Array[] = [];
  for (let c = 0; c < raw.cols; c++) {
    const col = Float64Array.from(raw.col(c));
    const mean = col.reduce((a, b) => a + b, 0) / n;
    let ss = 0;
    for (const v of col) ss += (v - mean) ** 2;
    const sd = Math.sqrt(ss / n);
    if (!(sd > 0)) continue;
    for (let i = 0; i < n; i++) col[i] = (col[i]! - mean) / sd;
    keep.push(col);
  }
  const m = new Matrix(n, keep.length);
  const scale = 1 / Math.sqrt(Math.max(keep.length, 1));
  keep.forEach((col, c) => {
    for (let i = 0; i < n; i++) m.data[i + c * n] = col[i]! * scale;
  });
  return { m, dropped: raw.cols - keep.length };
}

function sourceCounts(match: SampleMatch, extras: readonly ExtraRows[], used: number): TraitReport['match']['counts'] {
  return [
    ...match.counts.map((c) => ({ source: c.source as string, file: c.file, samples: c.samples, used })),
    ...extras.map((e) => ({ source: e.source as string, file: e.file, samples: e.size, used })),
  ];
}

function describeNull(m: NullModelReport): string {
  const g = (x: number): string => x.toPrecision(4);
  if (m.model === 'kinship') return `kinship REML lambda ${g(m.lambda)} (sigmaG2 ${g(m.sigmaG2)}, sigmaE2 ${g(m.sigmaE2)}, h2 ${g(m.h2)}), logLik ${g(m.logLik)}`;
  if (m.model === 'lowrank') return `low-rank REML cr ${g(m.cr)}, cn ${g(m.cn)}, logLik ${g(m.logLik)}`;
  return `OLS sigma2 ${g(m.sigma2)}`;
}

// ---------------------------------------------------------------------------
// Output rows.

const HEADERS = {
  single: ['chrom', 'pos', 'id', 'a1', 'a2', 'af', 'n', 'beta', 'se', 'stat', 'pvalue', 'log10p'],
  multi: ['chrom', 'pos', 'id', 'chrom_last', 'pos_last', 'id_last', 'variants', 'df', 'af', 'n', 'beta', 'se', 'stat', 'pvalue', 'log10p'],
  exact: ['chrom', 'pos', 'id', 'a1', 'a2', 'af', 'n', 'beta', 'se', 'stat', 'pvalue', 'log10p', 'lambda', 'p_wald', 'log10p_wald', 'p_lrt', 'log10p_lrt', 'p_score', 'log10p_score'],
} as const;

/** The TSV header of each output layout. */
export const GWAS_TSV_HEADERS: { readonly [k in keyof typeof HEADERS]: readonly string[] } = HEADERS;

function formatBatch(
  batch: GwasBatchResult, layout: 'single' | 'multi' | 'exact', step: number,
  counts: { tests: number; untestable: number }, top: GwasHit[],
): string {
  const v = batch.variants;
  const f = formatNumber;
  const lines: string[] = [];
  if (layout === 'exact') {
    const e = batch.exact!;
    for (let j = 0; j < batch.indices.length; j++) {
      lines.push([
        v.chrom[j], f(v.pos[j]!), v.id[j], v.a1[j], v.a2[j], f(batch.af[j]!), String(batch.n[j]!),
        f(e.beta[j]!), f(e.se[j]!), f(e.fWald[j]!), f(e.pWald[j]!), f(e.log10pWald[j]!),
        f(e.lambdaReml[j]!), f(e.pWald[j]!), f(e.log10pWald[j]!), f(e.pLrt[j]!), f(e.log10pLrt[j]!), f(e.pScore[j]!), f(e.log10pScore[j]!),
      ].join('\t'));
      if (Number.isNaN(e.pWald[j]!)) counts.untestable++;
      noteHit(top, { chrom: v.chrom[j]!, pos: v.pos[j]!, id: v.id[j]!, idLast: v.id[j]!, beta: e.beta[j]!, pvalue: e.pWald[j]!, log10p: e.log10pWald[j]! });
    }
    counts.tests += batch.indices.length;
  } else {
    const r = batch.fixed!;
    const m = r.beta.rows;
    for (let t = 0; t < r.tests; t++) {
      const j0 = t * step;
      const j1 = Math.min(batch.indices.length, j0 + step) - 1;
      const beta0 = r.beta.data[t * m]!;
      if (layout === 'single') {
        lines.push([
          v.chrom[j0], f(v.pos[j0]!), v.id[j0], v.a1[j0], v.a2[j0], f(batch.af[j0]!), String(batch.n[j0]!),
          f(beta0), f(r.betaSte.data[t * m]!), f(r.lrt[t]!), f(r.pv[t]!), f(r.log10pv[t]!),
        ].join('\t'));
      } else {
        const df = r.df[t]!;
        const list = (a: Float64Array, from: number): string => Array.from(a.subarray(from, from + df), f).join(';');
        const range = (a: ArrayLike<number>): string => Array.from({ length: j1 - j0 + 1 }, (_, k) => f(a[j0 + k]!)).join(';');
        lines.push([
          v.chrom[j0], f(v.pos[j0]!), v.id[j0], v.chrom[j1], f(v.pos[j1]!), v.id[j1], String(j1 - j0 + 1), String(df),
          range(batch.af), range(batch.n), list(r.beta.data, t * m), list(r.betaSte.data, t * m), f(r.lrt[t]!), f(r.pv[t]!), f(r.log10pv[t]!),
        ].join('\t'));
      }
      if (Number.isNaN(r.pv[t]!)) counts.untestable++;
      noteHit(top, { chrom: v.chrom[j0]!, pos: v.pos[j0]!, id: v.id[j0]!, idLast: v.id[j1]!, beta: beta0, pvalue: r.pv[t]!, log10p: r.log10pv[t]! });
    }
    counts.tests += r.tests;
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Plots (--plot): drawn from the trait's TSV once it is written, staged with it.

/** The plot files of a trait's TSV: X.tsv -> X.manhattan.png/.svg, X.qq.png/.svg. */
function plotFiles(tsv: string, on: boolean): { manhattan: string[]; qq: string[] } {
  if (!on) return { manhattan: [], qq: [] };
  const base = tsv.replace(/\.tsv$/i, '');
  return { manhattan: [`${base}.manhattan.png`, `${base}.manhattan.svg`], qq: [`${base}.qq.png`, `${base}.qq.svg`] };
}

/**
 * Reads the staged TSV back (streaming, ids kept for the hits only), draws
 * the Manhattan and QQ plots and stages their files. The plot modules (and
 * the PNG renderer, a native module) are loaded only here.
 */
async function stagePlots(tsv: string, paths: { manhattan: string[]; qq: string[] }, title: string, staged: Staged[]): Promise<{ files: string[]; lambda: number }> {
  const [{ readAssocFile, plotBytes }, { manhattanPlot }, { qqPlot }, { warnIfNoFont }] = await Promise.all([
    import('../plot/node.js'), import('../plot/manhattan.js'), import('../plot/qq.js'), import('./plot.js'),
  ]);
  const table = await readAssocFile(tsv);
  const m = manhattanPlot(table, { title });
  const q = qqPlot({ log10p: table.log10p }, { title: `QQ plot: ${title}` });
  const files: [string, string][] = [...paths.manhattan.map((p): [string, string] => [p, m.svg]), ...paths.qq.map((p): [string, string] => [p, q.svg])];
  warnIfNoFont(files.map(([p]) => p));
  for (const [path, svg] of files) await Staged.whole(staged, path, await plotBytes(path, svg));
  return { files: files.map(([p]) => p), lambda: q.lambdas[0]! };
}

// ---------------------------------------------------------------------------
// The command.

const HELP_AFTER = `
Samples: tables are matched to the genotype samples by FID+IID (by IID for
BIMBAM, or when a table has one id per row). --ids auto reads a table's first
line: a header starting with FID -> FID IID columns; IID or ID -> one id
column; numbers and NA only -> no ids and no header, row i is genotype sample
i (GEMMA's layout, e.g. the quick start's env.txt); anything else -> FID IID
without a header (PLINK). Missing values: NA, ., nan, NaN or an empty field.
Each trait keeps the samples with that trait, every covariate and every
--lowrank/--inter value observed; everything dropped is reported, with the
reason, on stdout and in PREFIX.json. An intercept is always added to the
covariates (covariates constant on a trait's samples are dropped and reported).

Null model (fitted once per trait, on that trait's samples):
  --kinship / --kinship-from-bfile   y ~ N(F b, sigmaG2 K + sigmaE2 I) by REML
  --lowrank FILE                     y ~ N(F b, cr W W^T + cn I) by REML, W as in
                                     limix's quick start (zero-variance columns
                                     dropped, columns standardised, / sqrt(cols))
  neither                            ordinary least squares
--kinship-from-bfile computes a standardized kinship (limix) from every variant
of the genotype file (not only --region) on all analysed samples; each trait
uses its samples' rows and columns.

Tests: --test fixed (default, limix-lmm's LMM): the null covariance held
fixed, likelihood-ratio statistic stat = lrt ~ chi2(df), beta and its Wald se.
--test exact (GEMMA -lmm 4, needs a kinship): the variance ratio re-estimated
per variant; stat is the Wald F, pvalue the Wald p-value, and the row adds
lambda (per-variant REML lambda), p_wald, p_lrt, p_score with their log10.
Dosages count the a1 allele (.bim column 5; BIMBAM's first allele); af is its
frequency among the trait's samples with a genotype, n how many they are.
Missing dosages are mean-imputed.

Output: PREFIX.<trait>.tsv per trait (the trait name with characters other
than A-Z a-z 0-9 . _ - replaced by _), tab-separated with a header:
  chrom pos id a1 a2 af n beta se stat pvalue log10p
log10p is log10 of the p-value (negative; finite where p underflows), NA where
a variant cannot be tested. With --step > 1 or --inter (joint tests with df
degrees of freedom) one row per test:
  chrom pos id chrom_last pos_last id_last variants df af n beta se stat pvalue log10p
where id/id_last are the block's first and last variants (blocks of --step
consecutive variants that passed the filters, in file order; the last block
may be shorter; a block can span a chromosome boundary), af and n are
semicolon-separated per variant, and beta and se are semicolon-separated in
the order inter_1*g_1 .. inter_1*g_step, inter_2*g_1, ...
PREFIX.json: per trait the null model parameters and log-likelihood, the
covariates used, the sample-matching report (counts and every dropped sample
with the reason), variant counts (selected, tested, filtered, tests), the top
10 tests and the timing. With --plot, each trait's Manhattan and QQ plots
(as 'lmmkit plot' draws them, titled with the trait) are written next to
its TSV: PREFIX.<trait>.manhattan.png/.svg and PREFIX.<trait>.qq.png/.svg,
and PREFIX.json adds their files and lambda_GC. Outputs appear only when
the whole run succeeded.

Exit status: 0 on success, 2 on bad input (one line on stderr naming the file
or option).

Example (limix's quick start data):
  lmmkit gwas --bfile chrom22_subsample20_maf0.10 --pheno pheno.tsv \\
    --pheno-col gene1 --lowrank env.txt --gaussianize --out res`;

/** `lmmkit gwas`: single-trait LMM association scans, one per phenotype column. */
export function gwasCommand(): Command {
  return new Command('gwas')
    .description('genome-wide association scan under a linear mixed model, one output per trait')
    .option('--bfile <prefix>', 'PLINK 1 binary fileset PREFIX.bed/.bim/.fam')
    .option('--bimbam <file>', 'BIMBAM mean genotype file (plain or gzip)')
    .option('--annotation <file>', 'BIMBAM SNP annotation file (rsid pos chrom), needed for --region')
    .option('--pheno <file>', 'phenotype table (required): one row per sample, one column per trait')
    .option('--pheno-col <name...>', 'traits to analyse, one or more names (default: every column of --pheno)')
    .option('--covar <file>', 'covariate table (an intercept is always added)')
    .option('--kinship <file>', 'kinship matrix (lmmkit kinship output, or GEMMA .cXX.txt in genotype sample order)')
    .option('--kinship-from-bfile', 'compute a standardized kinship from the genotype file (--bfile or --bimbam)')
    .option('--lowrank <file>', 'low-rank factor W (samples x r) of the null covariance cr W W^T + cn I')
    .option('--inter <file>', 'interaction factors (samples x i): each variant g is tested as inter_l * g, l = 1..i (add a column of ones to include g itself)')
    .option('--step <n>', 'consecutive variants tested jointly', integer('--step'), 1)
    .option('--test <test>', 'fixed (null covariance held fixed, limix) or exact (lambda re-estimated per variant, GEMMA -lmm 4; needs a kinship)', oneOf('--test', ['fixed', 'exact'] as const), 'fixed')
    .option('--exact-tests <which>', 'with --test exact: all (Wald, LRT and score, GEMMA -lmm 4) or wald (GEMMA -lmm 1, about twice as fast; p_lrt and p_score are NA)', oneOf('--exact-tests', ['all', 'wald'] as const), 'all')
    .option('--maf <f>', 'drop variants with a minor allele frequency below f (GEMMA\'s default; 0 keeps all)', number('--maf'), 0.01)
    .option('--max-missing <f>', 'drop variants with a larger fraction of missing genotypes (GEMMA\'s default; 1 keeps all)', number('--max-missing'), 0.05)
    .option('--region <chr:start-end>', 'test only variants on CHR with START <= pos < END')
    .option('--gaussianize', 'rank-based inverse normal transform of each trait (on its analysed samples)')
    .option('--standardize', 'test standardised dosages (beta per sd, limix\'s quick start) instead of allele counts')
    .option('--ids <layout>', 'how tables name samples: auto, fid-iid, iid or none (see below)', oneOf('--ids', ['auto', 'fid-iid', 'iid', 'none'] as const), 'auto')
    .option('--batch-size <n>', 'variants read per batch', integer('--batch-size'), 1000)
    .option('--out <prefix>', 'output prefix (required): PREFIX.<trait>.tsv and PREFIX.json')
    .option('--plot', 'also draw each trait\'s Manhattan and QQ plots: PREFIX.<trait>.manhattan.png/.svg, PREFIX.<trait>.qq.png/.svg')
    .addHelpText('after', HELP_AFTER)
    .action(async (opts: Omit<GwasRunOptions, 'kinshipFromGenotypes'> & { kinshipFromBfile?: boolean }) => {
      const { kinshipFromBfile, ...rest } = opts;
      await runGwas({ ...rest, kinshipFromGenotypes: kinshipFromBfile === true });
    });
}
