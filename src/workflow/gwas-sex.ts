// The sex chromosomes in `lmmkit gwas`, as `plink2 --glm` treats them by
// default (checked against PLINK v2.00a3.5 on a synthetic fileset):
// - chrX (code 23): only the samples of known sex, with sex as an extra
//   covariate; males coded 0..2 (--xchr-model 2, the default) or 0..1
//   (model 1: their dosages halved); model 0 skips chrX;
// - chrY (24): males only, no sex covariate, coded 0..1 (dosages halved);
// - XY (25, the pseudo-autosomal region): like the autosomes, every
//   sample, no sex covariate, dosages as read;
// - MT (26): every sample (of any sex), no sex covariate, coded 0..1 as
//   plink2 codes it (haploid): halving every dosage doubles beta and se and
//   leaves the tests as they are, so the MT rows' beta and se are doubled
//   after the scan (af and the MAF filter keep the dosages as read).
// Heterozygous male calls are analysed as read (plink2 keeps them too).
// Sex comes from --sex-col (a phenotype or covariate column, overriding the
// genotype file's) or from formats that record it (.fam, .psam); without
// either (BIMBAM, VCF) chrX and chrY are scanned like the autosomes, with a
// warning, as GEMMA does.
// A run whose selection has no chrX, chrY or MT variant takes none of this,
// so its outputs stay as they were.
import { chromCode } from '../data/chrom.js';
import type { BatchOptions, GenotypeBatch, GenotypeSource } from '../data/genotypes.js';
import { resolveSelection, type VariantSelection } from '../data/variants.js';
import type { NumericTable, TextColumn } from '../data/table.js';
import { ArgumentError, InputError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import type { GwasBatchResult } from '../scan/gwas.js';
import type { TraitData } from './gwas-inputs.js';
import type { SexColumnReport } from './gwas-report.js';

/** What a variant is to the scan: autosomal (autosomes, XY, contigs), chrX, chrY or MT. */
export type SexClass = 'auto' | 'x' | 'y' | 'mt';

/** A stretch of consecutive selected variants (file order) of one class. */
export interface SexRun {
  kind: SexClass;
  indices: Int32Array;
}

/** The selected variants cut into runs by class, and the chrX variants skipped (model 0). */
export interface SexRuns {
  runs: SexRun[];
  /** Selected variants per class (chrX and chrY counted even when scanned as autosomes). */
  counts: { auto: number; x: number; y: number; mt: number };
  /** chrX variants not tested (--xchr-model 0). */
  xSkipped: number;
}

/** plink2's --xchr-model: 0 skip chrX, 1 males 0..1, 2 males 0..2 (default). */
export type XchrModel = 0 | 1 | 2;

/** Checks --xchr-model (default 2, as plink2). */
export function checkXchrModel(value: number | undefined): XchrModel {
  const m = value ?? 2;
  if (m !== 0 && m !== 1 && m !== 2) throw new ArgumentError(`--xchr-model: expected 0, 1 or 2 (plink2's chrX models), found ${String(value)}`);
  return m;
}

/**
 * Cuts the selected variants (`select` resolved against the source, file
 * order) into runs of one class each; undefined when none is on chrX, chrY
 * or MT, so that such runs scan the selection whole, as before. With model 0
 * the chrX variants are left out (counted in `xSkipped`). Without `sexKnown`
 * (no sex for the samples) chrX and chrY are counted but classed 'auto'.
 */
export function sexChromRuns(source: GenotypeSource, select: VariantSelection | undefined, model: XchrModel, sexKnown = true): SexRuns | undefined {
  const indices = resolveSelection(source.variants, select, source.path);
  const chrom = source.variants.chrom;
  const kinds = new Uint8Array(indices.length);
  let last: string | undefined;
  let lastKind = 0;
  let sexChroms = false;
  const counts = { auto: 0, x: 0, y: 0, mt: 0 };
  let lastCounted: 'x' | 'y' | undefined;
  for (let k = 0; k < indices.length; k++) {
    const name = chrom[indices[k]!]!;
    if (name !== last) {
      last = name;
      const code = chromCode(name);
      lastCounted = code === 23 ? 'x' : code === 24 ? 'y' : undefined;
      lastKind = code === 26 ? 3 : !sexKnown ? 0 : code === 23 ? 1 : code === 24 ? 2 : 0;
    }
    kinds[k] = lastKind;
    if (lastKind === 0 && lastCounted !== undefined) counts[lastCounted]++;
    if (lastKind !== 0 || lastCounted !== undefined) sexChroms = true;
  }
  if (!sexChroms) return undefined;
  const names: SexClass[] = ['auto', 'x', 'y', 'mt'];
  const runs: SexRun[] = [];
  let xSkipped = 0;
  let start = 0;
  for (let k = 1; k <= indices.length; k++) {
    if (k < indices.length && kinds[k] === kinds[start]) continue;
    const kind = names[kinds[start]!]!;
    counts[kind] += k - start;
    if (kind === 'x' && model === 0) xSkipped += k - start;
    else runs.push({ kind, indices: indices.slice(start, k) });
    start = k;
  }
  return { runs, counts, xSkipped };
}

/**
 * The sex of each genotype sample (1 male, 2 female, 0 unknown): `sex`
 * (from --sex-col or the genotype file's .fam column 5 / .psam SEX), checked:
 * refuses a run with chrX or chrY variants to test when no sample has a
 * known sex, naming `sexFile`, rather than analyse males as diploid. (plink2
 * then tests chrX on every sample without the sex covariate, and skips chrY.)
 */
export function sampleSexes(sex: Int8Array | undefined, nSamples: number, sexFile: string, runs: SexRuns): Int8Array {
  const needs = runs.runs.some((r) => r.kind === 'x' || r.kind === 'y');
  if (needs && (sex === undefined || !sex.some((s) => s === 1 || s === 2))) {
    const what = `${runs.counts.x} chrX and ${runs.counts.y} chrY variants`;
    throw new InputError(
      { file: sexFile },
      `${what} selected: expected the sex of the samples (1 = male, 2 = female${sex === undefined ? ', a file that records it: .fam or .psam, or --sex-col' : ''}), found ${sex === undefined ? 'none in this format' : 'no sample of known sex'}; --xchr-model 0 skips chrX, --chr or --not-chr leaves them out`,
    );
  }
  return sex ?? new Int8Array(nSamples);
}

/**
 * A sex code as plink2 reads a .psam SEX field: '1', 'M', 'm' male (1);
 * '2', 'F', 'f' female (2); '0', 'NA', '-9', '.', an empty field, 'N', 'U',
 * 'u' unknown (0, the unknown codes of .psam and --update-sex); undefined
 * for anything else (plink2 reads that as unknown silently: lmmkit refuses it).
 */
export function sexCode(text: string): 0 | 1 | 2 | undefined {
  switch (text) {
    case '1':
    case 'M':
    case 'm':
      return 1;
    case '2':
    case 'F':
    case 'f':
      return 2;
    case '0':
    case 'NA':
    case '-9':
    case '.':
    case '':
    case 'N':
    case 'U':
    case 'u':
    case 'nan':
    case 'NaN':
      return 0;
    default:
      return undefined;
  }
}

/**
 * The --sex-col column: the phenotype table's column `name`, else the
 * covariate table's (both read with `textColumns: [name]`, so that the
 * column is neither a trait nor a covariate); refuses a name in neither,
 * naming both files.
 */
export function findSexColumn(
  name: string,
  pheno: NumericTable,
  covar: NumericTable | undefined,
): { table: NumericTable; column: TextColumn; source: 'phenotype' | 'covariates' } {
  for (const [table, source] of [
    [pheno, 'phenotype'],
    [covar, 'covariates'],
  ] as const) {
    const column = table?.text?.find((t) => t.name === name);
    if (table !== undefined && column !== undefined) return { table, column, source };
  }
  const files = covar === undefined ? pheno.file : `${pheno.file} or ${covar.file}`;
  throw new InputError(
    { file: pheno.file },
    `--sex-col ${name}: expected a column named '${name}' in the header of ${files}, found none (columns: ${[...pheno.columns, ...(covar?.columns ?? [])].join(', ')})`,
  );
}

/**
 * The sex of each genotype sample with the --sex-col column over the
 * genotype file's `base` (plink2's --update-sex: the column's code wins,
 * its unknown codes included; samples the table does not list keep the
 * file's). Every row of the column must hold a sex code (`sexCode`): a bad
 * one is refused with its file, line, column and sample. `keep` are the
 * analysed genotype samples and `rows` their rows in `table`.
 */
export function sexesFromColumn(
  found: { table: NumericTable; column: TextColumn },
  keep: Int32Array,
  rows: Int32Array,
  base: Int8Array | undefined,
  nSamples: number,
): { sex: Int8Array; report: SexColumnReport } {
  const { table, column } = found;
  const codes = new Int8Array(column.values.length);
  column.values.forEach((v, r) => {
    const c = sexCode(v);
    if (c === undefined) {
      const who = table.key === 'none' ? `row ${r + 1}` : table.key === 'iid' ? `'${table.ids.iid[r]}'` : `'${table.ids.fid[r]} ${table.ids.iid[r]}'`;
      throw new InputError(
        { file: table.file, line: column.lines[r]!, column: `${column.column} '${column.name}'` },
        `sample ${who}: expected a sex code (1, M or m male; 2, F or f female; 0, NA, -9, ., N, U or u unknown), found '${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`,
      );
    }
    codes[r] = c;
  });
  const sex = base === undefined ? new Int8Array(nSamples) : Int8Array.from(base);
  let known = 0;
  let changed = 0;
  keep.forEach((g, p) => {
    const c = codes[rows[p]!]!;
    if (c !== 0) known++;
    if (base !== undefined && base[g] !== c) changed++;
    sex[g] = c;
  });
  return { sex, report: { file: table.file, column: column.name, known, ...(base === undefined ? {} : { changed }) } };
}

/**
 * Doubles the beta and se of a batch scanned from MT variants (all of the
 * batch): plink2 codes MT dosages 0..1, and halving a variant's dosages on
 * every sample doubles its effect and standard error and changes no test.
 * Standardised genotypes are the same either way (`standardize`: no change).
 */
export function haploidEffects(batch: GwasBatchResult, standardize: boolean): GwasBatchResult {
  if (standardize) return batch;
  if (batch.fixed !== undefined) doubled(batch.fixed.beta.data, batch.fixed.betaSte.data, batch.fixed.betaSteLimix.data);
  if (batch.exact !== undefined) doubled(batch.exact.beta, batch.exact.se);
  return batch;
}

/** Doubles every value of each array in place (the effects of haploid-coded MT variants, see `haploidEffects`). */
export function doubled(...arrays: Float64Array[]): void {
  for (const a of arrays) for (let i = 0; i < a.length; i++) a[i]! *= 2;
}

/** A trait's data on the samples of one class of variants, with how it was made. */
export interface SexTraitData {
  samples: Int32Array;
  y: Float64Array;
  f: Matrix;
  names: string[];
  inter: Matrix | undefined;
  lowrank: Matrix | undefined;
  /** Rows (in `samples`) of the males, whose dosages model 1 halves on chrX. */
  males: Int32Array;
  /** The trait's samples left out: unknown sex (chrX), not male (chrY). */
  samplesDropped: number;
  /** Why the sex covariate is not in `names` on chrX (constant on the samples left). */
  sexCovariateDropped?: string;
}

/**
 * A trait's data restricted to the samples plink2 uses for class `kind`:
 * for chrX the samples of known sex, with a `sex` covariate (1 male,
 * 2 female, plink2's coding) appended unless it is constant on them; for
 * chrY the males. `base` is the trait on all its samples (`traitData`).
 */
export function sexTraitData(base: TraitData, kind: 'x' | 'y', sex: Int8Array): SexTraitData {
  const keep: number[] = [];
  for (let i = 0; i < base.samples.length; i++) {
    const s = sex[base.samples[i]!]!;
    if (kind === 'x' ? s === 1 || s === 2 : s === 1) keep.push(i);
  }
  const rows = Int32Array.from(keep);
  const n = rows.length;
  const samples = Int32Array.from(rows, (i) => base.samples[i]!);
  const y = Float64Array.from(rows, (i) => base.y[i]!);
  const names = [...base.names];
  const cols = base.f.cols;
  const sexCol = Float64Array.from(samples, (g) => sex[g]!);
  const addSex = kind === 'x' && !sexCol.every((v) => v === sexCol[0]);
  const f = new Matrix(n, cols + (addSex ? 1 : 0));
  for (let c = 0; c < cols; c++) for (let i = 0; i < n; i++) f.data[i + c * n] = base.f.data[rows[i]! + c * base.f.rows]!;
  if (addSex) {
    f.data.set(sexCol, cols * n);
    names.push('sex');
  }
  const males: number[] = [];
  for (let i = 0; i < n; i++) if (sexCol[i] === 1) males.push(i);
  return {
    samples,
    y,
    f,
    names,
    inter: base.inter === undefined ? undefined : subRows(base.inter, rows),
    lowrank: base.lowrank === undefined ? undefined : subRows(base.lowrank, rows),
    males: Int32Array.from(males),
    samplesDropped: base.samples.length - n,
    ...(kind === 'x' && !addSex ? { sexCovariateDropped: `constant on the ${n} samples of known sex` } : {}),
  };
}

function subRows(m: Matrix, rows: Int32Array): Matrix {
  const out = new Matrix(rows.length, m.cols);
  for (let c = 0; c < m.cols; c++) for (let i = 0; i < rows.length; i++) out.data[i + c * rows.length] = m.data[rows[i]! + c * m.rows]!;
  return out;
}

/**
 * `source` with the dosages of rows `males` (positions in the `samples`
 * each `batches` call selects) halved: --xchr-model 1 codes males 0..1 on
 * chrX. Halving before the scan's imputation and standardisation is what
 * plink2 does to the dosages it reads. Only the scan's plain batches are
 * asked of it (the fused `standardize` of the readers is refused).
 */
export function halveMales(source: GenotypeSource, males: Int32Array): GenotypeSource {
  return {
    path: source.path,
    samples: source.samples,
    variants: source.variants,
    ...(source.sampleKey === undefined ? {} : { sampleKey: source.sampleKey }),
    ...(source.quirks === undefined ? {} : { quirks: source.quirks }),
    close: () => source.close(),
    async *batches(opts?: BatchOptions): AsyncGenerator<GenotypeBatch> {
      if (opts?.standardize === true) throw new ArgumentError('halveMales: halves the dosages as read, not standardised ones');
      for await (const batch of source.batches(opts)) {
        const d = batch.dosages;
        for (let j = 0; j < d.cols; j++) {
          const off = j * d.rows;
          for (const i of males) d.data[off + i]! *= 0.5;
        }
        // The reader's counts are of the dosages before halving: the filters must sum the halved ones.
        yield { ...batch, counts: undefined };
      }
    },
  };
}

/** Where a run's sexes come from and how its sex chromosomes are scanned (see `sexModel`). */
export interface SexModel {
  /** The --sex-col column's sexes and report (undefined without --sex-col). */
  column: { sex: Int8Array; report: SexColumnReport } | undefined;
  /** The selection's chrX/chrY/MT runs, undefined when all of it scans as autosomes. */
  runs: SexRuns | undefined;
  /** Each genotype sample's sex (0 unknown, 1 male, 2 female) when `runs` is defined. */
  sex: Int8Array | undefined;
  /** The file the sexes come from, for messages and reports. */
  file: string;
}

/**
 * The sex-chromosome model of gwas and mtgwas: sexes from --sex-col (found
 * in the phenotype, else the covariate table; `keep`/`rows` map the kept
 * genotype samples to that table's rows) or from the genotype file, the
 * selection split into autosome/chrX/chrY/MT runs under `model`, and each
 * sample's sex for them. Without any sex (BIMBAM, VCF and no --sex-col)
 * chrX and chrY scan like the autosomes, as GEMMA does, with a warning.
 */
export function sexModel(
  source: GenotypeSource,
  select: VariantSelection | undefined,
  model: XchrModel,
  tables: {
    sexCol: string | undefined;
    pheno: NumericTable;
    covar: NumericTable | undefined;
    keep: Int32Array;
    rows: (from: 'phenotype' | 'covariates') => Int32Array;
  },
  files: { bfile?: string; pfile?: string },
  warn: ((line: string) => void) | undefined,
): SexModel {
  const nSamples = source.samples.iid.length;
  let column: SexModel['column'];
  if (tables.sexCol !== undefined) {
    const found = findSexColumn(tables.sexCol, tables.pheno, tables.covar);
    column = sexesFromColumn(found, tables.keep, tables.rows(found.source), source.samples.sex, nSamples);
  }
  const sexKnown = column !== undefined || source.samples.sex !== undefined;
  const read = sexChromRuns(source, select, model, sexKnown);
  const runs = read?.runs.some((r) => r.kind !== 'auto') === true ? read : undefined;
  if (!sexKnown && read !== undefined && read.counts.x + read.counts.y > 0) {
    warn?.(
      `${source.path}: ${read.counts.x} chrX and ${read.counts.y} chrY variants scanned like the autosomes: the format records no sex (give --sex-col, or use .bed/.fam or .pgen/.psam, for plink2's chrX and chrY models)`,
    );
  }
  const file =
    column !== undefined
      ? column.report.file
      : files.bfile !== undefined
        ? `${files.bfile}.fam`
        : files.pfile !== undefined
          ? `${files.pfile}.psam`
          : source.path;
  const sex = runs === undefined ? undefined : sampleSexes(column?.sex ?? source.samples.sex, nSamples, file, runs);
  return { column, runs, sex, file };
}
