// What a GWAS run and a null-model fit share before any model is fitted:
// the tables read, the samples matched (genotype, phenotype, covariates,
// kinship, low-rank and interaction tables, each trait's missing values),
// the kinship (from its file, or computed once from the genotypes), and
// each trait's values and covariate design on its samples. Browser-safe:
// the tables are read through a `LineReader` (disk, or a page's files).
import { covariateDesign } from '../data/covariates.js';
import { gaussianize } from '../data/gaussianize.js';
import type { GenotypeSource } from '../data/genotypes.js';
import { KinshipParser, type KinshipTable } from '../data/kinship-table.js';
import type { LineReader } from '../data/lines.js';
import type { SampleMatch } from '../data/match.js';
import type { NumericTable } from '../data/table.js';
import { InputError, SelectionError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import type { GwasReport } from './gwas-report.js';
import type { RunKinship } from './gwas-null.js';
import { matchGwasSamples, subTable, type ExtraRows, type TraitSamples } from './gwas-samples.js';
import { applyMissingPhenotype, genotypeSide, type MissingCodeReport, readKeyedTableWith, standardizedKinship } from './input-tables.js';
import type { ScanRunOptions, TableIds } from './options.js';
import { readCovariatesWith, readPhenotypesWith } from './phenotype-tables.js';
import type { DroppedSampleReport } from './report.js';

/** The inputs of a run, read and matched to the genotype samples. */
export interface GwasInputs {
  pheno: NumericTable;
  covar: NumericTable | undefined;
  lowrank: NumericTable | undefined;
  inter: NumericTable | undefined;
  kinFile: KinshipTable | undefined;
  match: SampleMatch;
  extras: ExtraRows[];
  /** Positions in `match.keep` usable for every input. */
  keepPos: number[];
  extraDropped: DroppedSampleReport[];
  traits: TraitSamples[];
  /** What the missing-phenotype code turned into missing values, per file. */
  missingCode: MissingCodeReport;
}

/** The tables a run reads beside the genotypes. */
export interface GwasTables {
  lowrank?: string;
  inter?: string;
}

/**
 * Reads the phenotype, covariate, kinship, low-rank and interaction tables,
 * reads the missing-phenotype code (`code`, e.g. -9) of the phenotype and
 * covariate tables as missing, and matches their samples to the genotype
 * file's; logs the counts and the match report. `read` reads each table
 * (`readLines` from disk in Node; a page's `File`s in the web app).
 */
export async function readGwasInputs(
  read: LineReader,
  opts: ScanRunOptions & GwasTables,
  ids: TableIds,
  code: number | null,
  source: GenotypeSource,
  log: (line: string) => void,
): Promise<GwasInputs> {
  const genotype = genotypeSide(source, opts);
  const pheno = await readPhenotypesWith(read, opts, ids, genotype, log);
  const covar = await readCovariatesWith(read, opts, ids, genotype, log);
  const lowrank = opts.lowrank === undefined ? undefined : await readKeyedTableWith(read, opts.lowrank, ids, genotype);
  const inter = opts.inter === undefined ? undefined : await readKeyedTableWith(read, opts.inter, ids, genotype);
  const kinFile = opts.kinship === undefined ? undefined : await read(opts.kinship, new KinshipParser(opts.kinship, { ids: source.samples }));
  const missingCode = applyMissingPhenotype(code, { pheno, covar }, log);
  const matched = matchGwasSamples(genotype, { pheno, covar, kinship: kinFile, lowrank, inter }, log);
  return { pheno, covar, lowrank, inter, kinFile, ...matched, missingCode };
}

/** Refuses a trait with fewer than 3 samples left, naming it and the phenotype file. */
export function checkTraitSizes(inputs: GwasInputs): void {
  for (const tr of inputs.traits) {
    if (tr.pos.length < 3) {
      throw new SelectionError(
        'NO_SAMPLES',
        `trait '${tr.name}' of ${inputs.pheno.file}: ${tr.pos.length} samples left after matching, too few to fit a model`,
      );
    }
  }
}

/**
 * The run's kinship, if any: the --kinship file's rows for the genotype
 * samples, or the standardized kinship computed once from every variant on
 * every analysed sample (each trait then takes its samples' rows and
 * columns); with the report's `covariance` entry. The --kinship file's
 * matrix moves from `inputs.kinFile` (cleared) to the returned kinship, so
 * that one reference holds it; the caller sets `once` when one
 * eigendecomposition is all it needs.
 */
export async function prepareKinship(
  opts: ScanRunOptions & GwasTables,
  inputs: GwasInputs,
  source: GenotypeSource,
  log: (line: string) => void,
): Promise<{ kin: RunKinship | undefined; report: GwasReport['covariance'] }> {
  const nGeno = source.samples.iid.length;
  const { match, keepPos, kinFile } = inputs;
  const allowNonPsd = opts.allowNonPsdKinship === true;
  if (kinFile !== undefined) {
    const index = match.index.kinship;
    if (index === undefined) throw new SelectionError('NO_SAMPLES', `${kinFile.file}: the kinship was not matched to the genotype samples`);
    const row = new Int32Array(nGeno).fill(-1);
    match.keep.forEach((g, p) => {
      row[g] = index[p]!;
    });
    // The kinship moves to the run's: `inputs` keeping it would hold K past its eigendecomposition.
    inputs.kinFile = undefined;
    return { kin: { k: kinFile.k, row, once: false, label: kinFile.file, allowNonPsd }, report: { model: 'kinship', source: 'file', file: kinFile.file } };
  }
  if (opts.kinshipFromGenotypes === true) {
    const union = Int32Array.from(keepPos, (p) => match.keep[p]!);
    const res = await standardizedKinship(source, union, opts.progress, log);
    const row = new Int32Array(nGeno).fill(-1);
    union.forEach((g, i) => {
      row[g] = i;
    });
    return {
      kin: { k: res.k, row, once: false, label: `the kinship computed from ${source.path}`, allowNonPsd },
      report: {
        model: 'kinship',
        source: 'genotypes',
        method: 'standardized',
        samples: union.length,
        variantsUsed: res.variantsUsed,
        variantsSkipped: res.variantsSkipped,
      },
    };
  }
  return { kin: undefined, report: inputs.lowrank !== undefined ? { model: 'lowrank', file: inputs.lowrank.file } : { model: 'none' } };
}

/** One trait on its samples: genotype indices, values, covariate design, and its rows of the low-rank and interaction tables. */
export interface TraitData {
  /** Genotype indices of the trait's n samples, in genotype order. */
  samples: Int32Array;
  y: Float64Array;
  /** n x k covariates: the intercept, then the covariates that vary on these samples. */
  f: Matrix;
  names: string[];
  covariatesDropped: { name: string; reason: string }[];
  inter: Matrix | undefined;
  lowrank: Matrix | undefined;
  /** The trait's two values when it has exactly two (a case-control code), before any transform; else undefined. */
  binary: [number, number] | undefined;
}

/**
 * The values of trait `tr` on its samples (rank-based inverse normal with
 * `gaussianize`), its covariate design, and its rows of the low-rank and
 * interaction tables; NO_SAMPLES when the covariates leave no degrees of
 * freedom.
 */
export function traitData(inputs: GwasInputs, tr: TraitSamples, gaussianizeTrait: boolean): TraitData {
  const { match, pheno, covar, extras } = inputs;
  const samples = Int32Array.from(tr.pos, (p) => match.keep[p]!);
  const n = samples.length;
  const indexRows = (index: Int32Array | undefined, what: string): Int32Array => {
    if (index === undefined) throw new SelectionError('NO_SAMPLES', `the ${what} table was not matched to the genotype samples`);
    return Int32Array.from(tr.pos, (p) => index[p]!);
  };
  const extraRows = (source: 'lowrank' | 'inter'): Int32Array | undefined => {
    const e = extras.find((x) => x.source === source);
    return e === undefined ? undefined : Int32Array.from(tr.pos, (p) => e.row[match.keep[p]!]!);
  };
  const prow = indexRows(match.index.phenotype, 'phenotype');
  let y: Float64Array = Float64Array.from(prow, (r) => pheno.values.data[r + tr.t * pheno.values.rows]!);
  // A constant trait has nothing to explain: the fits would divide 0 by 0.
  if (n > 0 && y.every((v) => v === y[0])) {
    throw new InputError({ file: pheno.file }, `trait '${tr.name}': expected values that vary on the ${n} analysed samples, found the constant ${y[0]}`);
  }
  const binary = twoValues(y);
  if (gaussianizeTrait) y = gaussianize(y);
  const { names, f, covariatesDropped } = covariateDesign(n, covar, () => indexRows(match.index.covariates, 'covariate'));
  if (n <= f.cols + 1) {
    throw new SelectionError('NO_SAMPLES', `trait '${tr.name}': ${n} samples for ${f.cols} covariates (with the intercept) leave no degrees of freedom`);
  }
  const interRows = extraRows('inter');
  const lowrankRows = extraRows('lowrank');
  return {
    samples,
    y,
    f,
    names,
    covariatesDropped,
    inter: inputs.inter === undefined || interRows === undefined ? undefined : subTable(inputs.inter, interRows),
    lowrank: inputs.lowrank === undefined || lowrankRows === undefined ? undefined : subTable(inputs.lowrank, lowrankRows),
    binary,
  };
}

/** The two values of `y`, ascending, when it has exactly two distinct ones (NaN aside); else undefined. */
export function twoValues(y: ArrayLike<number>): [number, number] | undefined {
  let a = Number.NaN;
  let b = Number.NaN;
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (Number.isNaN(v) || v === a || v === b) continue;
    if (Number.isNaN(a)) a = v;
    else if (Number.isNaN(b)) b = v;
    else return undefined;
  }
  return Number.isNaN(b) ? undefined : a < b ? [a, b] : [b, a];
}

/**
 * The warning for a trait with two values only: it is analysed as a
 * quantitative trait (a linear mixed model on the 0/1 or 1/2 code, as
 * GEMMA and BOLT-LMM do), which the user must know to read its betas.
 */
export function binaryNotice(trait: string, file: string, levels: readonly [number, number], n: number): string {
  return (
    `trait '${trait}' of ${file} has two values only (${levels[0]} and ${levels[1]} on ${n} samples): ` +
    'analysed as a quantitative trait by the linear model (as GEMMA and BOLT-LMM do), its betas are on that scale'
  );
}
