// The sex chromosomes in `lmmkit gwas`, as `plink2 --glm` treats them by
// default (checked against PLINK v2.00a3.5 on a synthetic fileset):
// - chrX (code 23): only the samples of known sex, with sex as an extra
//   covariate; males coded 0..2 (--xchr-model 2, the default) or 0..1
//   (model 1: their dosages halved); model 0 skips chrX;
// - chrY (24): males only, no sex covariate, coded 0..1 (dosages halved);
// - XY (25, the pseudo-autosomal region) and MT (26): like the autosomes,
//   every sample, no sex covariate, dosages as read (plink2 codes MT 0..1,
//   so its MT betas are twice lmmkit's; the p-values are the same).
// Heterozygous male calls are analysed as read (plink2 keeps them too).
// Only formats that record sex (.fam, .psam) take these rules; a format
// without (BIMBAM, VCF) scans chrX and chrY like the autosomes, with a
// warning, as GEMMA does.
// A run whose selection has no chrX or chrY variant takes none of this, so
// its outputs stay as they were.
import { chromCode } from '../data/chrom.js';
import type { BatchOptions, GenotypeBatch, GenotypeSource } from '../data/genotypes.js';
import { resolveSelection, type VariantSelection } from '../data/variants.js';
import { ArgumentError, InputError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import type { TraitData } from './gwas-inputs.js';

/** What a variant is to the scan: autosomal (autosomes, XY, MT, contigs), chrX or chrY. */
export type SexClass = 'auto' | 'x' | 'y';

/** A stretch of consecutive selected variants (file order) of one class. */
export interface SexRun {
  kind: SexClass;
  indices: Int32Array;
}

/** The selected variants cut into runs by class, and the chrX variants skipped (model 0). */
export interface SexRuns {
  runs: SexRun[];
  /** Selected chrX variants, per class present. */
  counts: { auto: number; x: number; y: number };
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
 * order) into runs of one class each; undefined when none is on chrX or
 * chrY, so that such runs scan the selection whole, as before. With model 0
 * the chrX variants are left out (counted in `xSkipped`).
 */
export function sexChromRuns(source: GenotypeSource, select: VariantSelection | undefined, model: XchrModel): SexRuns | undefined {
  const indices = resolveSelection(source.variants, select, source.path);
  const chrom = source.variants.chrom;
  const kinds = new Uint8Array(indices.length);
  let last: string | undefined;
  let lastKind = 0;
  let sexChroms = false;
  for (let k = 0; k < indices.length; k++) {
    const name = chrom[indices[k]!]!;
    if (name !== last) {
      last = name;
      const code = chromCode(name);
      lastKind = code === 23 ? 1 : code === 24 ? 2 : 0;
    }
    kinds[k] = lastKind;
    if (lastKind !== 0) sexChroms = true;
  }
  if (!sexChroms) return undefined;
  const names: SexClass[] = ['auto', 'x', 'y'];
  const counts = { auto: 0, x: 0, y: 0 };
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
 * The sex of each genotype sample (1 male, 2 female, 0 unknown), from the
 * genotype file's samples (.fam column 5, .psam SEX); refuses a run with
 * chrX or chrY variants to test when no sample has a known sex, naming the
 * file, rather than analyse males as diploid. (plink2 then tests chrX on
 * every sample without the sex covariate, and skips chrY.)
 */
export function sampleSexes(source: GenotypeSource, sampleFile: string, runs: SexRuns): Int8Array {
  const sex = source.samples.sex;
  const needs = runs.runs.some((r) => r.kind !== 'auto');
  if (needs && (sex === undefined || !sex.some((s) => s === 1 || s === 2))) {
    const what = `${runs.counts.x} chrX and ${runs.counts.y} chrY variants`;
    throw new InputError(
      { file: sampleFile },
      `${what} selected: expected the sex of the samples (1 = male, 2 = female${sex === undefined ? ', a file that records it: .fam or .psam' : ''}), found ${sex === undefined ? 'none in this format' : 'no sample of known sex'}; --xchr-model 0 skips chrX, --chr or --not-chr leaves them out`,
    );
  }
  return sex ?? new Int8Array(source.samples.iid.length);
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
        yield batch;
      }
    },
  };
}
