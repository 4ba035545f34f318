// The model SNPs of the infinitesimal model held two bits per genotype
// (BOLT-LMM keeps them so: Loh et al. 2015, Online Methods), with a table of
// four standardised values per SNP that `decode` expands through.
import { InputError, SelectionError, ShapeError } from '../errors.js';
import type { GenotypeSource } from '../data/genotypes.js';
import { resolveSelection, type VariantSelection } from '../data/variants.js';
import type { Matrix } from '../linalg/matrix.js';
import type { ModelSnps } from './types.js';

/** Options of `packModelSnps`. */
export interface PackModelSnpsOptions {
  /** The N samples, as indices into the source's samples (in the order of the model's rows). */
  samples: Int32Array;
  /** Which variants are candidate model SNPs (default all, in file order). */
  select?: VariantSelection;
  /** Variants per batch read from the source (default: the source's default for N samples). */
  batchSize?: number;
}

/** `ModelSnps` as `packModelSnps` builds them, with what was left out or changed on the way. */
export interface PackedModelSnps extends ModelSnps {
  /** Variants read but not model SNPs: constant (sd 0) or entirely missing after rounding. */
  readonly skipped: number;
  /** Variants read with at least one dosage that was not a call 0, 1 or 2 (rounded to the nearest, clamped to [0, 2]). */
  readonly rounded: number;
  /** Per model SNP, the mean of its (rounded) observed dosages. */
  readonly mean: Float64Array;
  /** Per model SNP, the population sd of its (rounded) dosages after mean imputation. */
  readonly sd: Float64Array;
  /** Bytes of packed codes per model SNP: ceil(N / 4). */
  readonly bytesPerSnp: number;
  /** The group of a chromosome as the file spells it, or -1 when it has no model SNP. */
  groupOf(chrom: string): number;
}

/** 2-bit code of a missing genotype; codes 0, 1, 2 are the dosage itself. */
export const MISSING_CODE = 3;

/**
 * Reads the selected variants of `source` for `samples` and packs each
 * informative one as 2-bit codes (dosage 0, 1, 2; 3 missing), four per byte
 * lowest bits first, with its table of standardised values
 * [(0 - mu) / sd, (1 - mu) / sd, (2 - mu) / sd, 0].
 *
 * mu and sd are exactly those of the kinship path (`kinship` with method
 * `standardized`, `scaleColumns` in src/data/kinship.ts): mu the mean of the
 * observed dosages, sd = sqrt(sum_obs (x - mu)^2 / N) (population sd after
 * mean imputation), summed in sample order, value (x - mu) * (1 / sd); a
 * variant with no observed dosage or sd 0 is skipped. Non-integer dosages
 * (BGEN, VCF DS, BIMBAM) are rounded to the nearest call first and mu and
 * sd are those of the rounded calls, so that every decoded column has mean
 * 0 and variance 1 (`rounded` counts such variants).
 *
 * Groups are the chromosomes with a model SNP, in file order (`groupOf`
 * maps a name to its group, -1 for none); a chromosome whose variants are
 * not contiguous in the selection is refused (InputError naming the file
 * and the chromosome). Memory: ceil(N / 4) bytes + 32 bytes per model SNP.
 */
export async function packModelSnps(source: GenotypeSource, opts: PackModelSnpsOptions): Promise<PackedModelSnps> {
  const samples = opts.samples;
  const n = samples.length;
  if (n === 0) throw new SelectionError('NO_SAMPLES', `packModelSnps: no samples selected from ${source.path}`);
  const total = resolveSelection(source.variants, opts.select, source.path).length;
  const bpv = (n + 3) >> 2;
  let codes = new Uint8Array(total * bpv);
  const tables = new Float64Array(4 * total);
  const mean = new Float64Array(total);
  const sd = new Float64Array(total);
  const fileIndex = new Int32Array(total);
  const group = new Int32Array(total);
  const chromNames: string[] = [];
  const chromOfGroup = new Map<string, number>();
  const seen = new Map<string, number>();
  let current: string | undefined;
  let m = 0;
  let skipped = 0;
  let rounded = 0;
  const chrom = source.variants.chrom;
  const stats = new Float64Array(3);
  // All samples in file order read faster as no subset at all.
  const identity = n === source.samples.iid.length && samples.every((v, i) => v === i);
  // Each batch is encoded before the next is read: one buffer suffices.
  for await (const batch of source.batches({ samples: identity ? undefined : samples, select: opts.select, size: opts.batchSize, recycle: 0 })) {
    const x = batch.dosages;
    for (let j = 0; j < x.cols; j++) {
      const fi = batch.indices[j]!;
      const c = chrom[fi]!;
      if (c !== current) {
        const first = seen.get(c);
        if (first !== undefined) {
          throw new InputError(
            { file: source.path },
            `chromosome ${c} is not contiguous: its variants (first at variant ${first + 1}) resume at variant ${fi + 1} after chromosome ${current}; the infinitesimal model needs each chromosome's variants together (sort the file by chromosome)`,
          );
        }
        seen.set(c, fi);
        current = c;
      }
      const col = x.data.subarray(j * n, (j + 1) * n);
      const informative = roundedStats(col, stats);
      if (stats[2] === 1) rounded++;
      if (!informative) {
        skipped++;
        continue;
      }
      const mu = stats[0]!;
      const s = stats[1]!;
      const scale = 1 / s;
      tables[4 * m] = (0 - mu) * scale;
      tables[4 * m + 1] = (1 - mu) * scale;
      tables[4 * m + 2] = (2 - mu) * scale;
      tables[4 * m + 3] = 0;
      mean[m] = mu;
      sd[m] = s;
      fileIndex[m] = fi;
      let g = chromOfGroup.get(c);
      if (g === undefined) {
        g = chromNames.length;
        chromNames.push(c);
        chromOfGroup.set(c, g);
      }
      group[m] = g;
      encodeCalls(col, codes.subarray(m * bpv, (m + 1) * bpv));
      m++;
    }
  }
  if (m < total) codes = codes.slice(0, m * bpv);
  const countByGroup = new Int32Array(chromNames.length);
  for (let j = 0; j < m; j++) countByGroup[group[j]!]!++;
  return new Packed(
    n,
    m,
    bpv,
    codes,
    tables.slice(0, 4 * m),
    mean.slice(0, m),
    sd.slice(0, m),
    fileIndex.slice(0, m),
    group.slice(0, m),
    chromNames,
    countByGroup,
    chromOfGroup,
    skipped,
    rounded,
  );
}

/**
 * Rounds the observed values of `col` in place to the nearest call (0, 1,
 * 2) and computes the mean and population sd of the calls as `scaleColumns`
 * (src/data/kinship.ts) does, in its order: mu = sum_obs x / n_obs,
 * sd = sqrt(sum_obs (x - mu)^2 / N). Writes [mu, sd, any value rounded
 * (1/0)] to `out`; returns false when the column carries no information
 * (nothing observed, or sd 0).
 */
function roundedStats(col: Float64Array, out: Float64Array): boolean {
  const n = col.length;
  let sum = 0;
  let count = 0;
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const v = col[i]!;
    if (Number.isNaN(v)) continue;
    const c = v <= 0 ? 0 : v >= 2 ? 2 : Math.round(v);
    if (c !== v) {
      col[i] = c;
      changed = 1;
    }
    sum += c;
    count++;
  }
  out[2] = changed;
  if (count === 0) return false;
  const mu = sum / count;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const v = col[i]!;
    if (!Number.isNaN(v)) ss += (v - mu) * (v - mu);
  }
  const s = Math.sqrt(ss / n);
  out[0] = mu;
  out[1] = s;
  return s > 0;
}

/**
 * Packs the calls of `col` (0, 1, 2 or NaN: code 3) four per byte, lowest
 * bits first, into `dst` (ceil(N / 4) bytes).
 */
function encodeCalls(col: Float64Array, dst: Uint8Array): void {
  const n = col.length;
  const full = n >> 2;
  for (let b = 0; b < full; b++) {
    const i = b << 2;
    dst[b] = callCode(col[i]!) | (callCode(col[i + 1]!) << 2) | (callCode(col[i + 2]!) << 4) | (callCode(col[i + 3]!) << 6);
  }
  if (full < dst.length) {
    let last = 0;
    for (let i = full << 2; i < n; i++) last |= callCode(col[i]!) << (2 * (i & 3));
    dst[full] = last;
  }
}

/** The 2-bit code of a call: the dosage 0, 1, 2 itself, 3 for NaN. */
function callCode(v: number): number {
  return Number.isNaN(v) ? MISSING_CODE : v | 0;
}

class Packed implements PackedModelSnps {
  readonly bytes: number;
  /** 256 x 4 decoded values of one SNP per byte value, rebuilt per decoded SNP. */
  private readonly lut = new Float64Array(1024);

  constructor(
    readonly n: number,
    readonly m: number,
    readonly bytesPerSnp: number,
    /** m x ceil(N / 4) packed codes, SNP-major. */
    private readonly codes: Uint8Array,
    /** m x 4 standardised values per code. */
    private readonly tables: Float64Array,
    readonly mean: Float64Array,
    readonly sd: Float64Array,
    readonly fileIndex: Int32Array,
    readonly group: Int32Array,
    readonly chromNames: readonly string[],
    readonly countByGroup: Int32Array,
    private readonly groups: Map<string, number>,
    readonly skipped: number,
    readonly rounded: number,
  ) {
    this.bytes = codes.byteLength + tables.byteLength + mean.byteLength + sd.byteLength + fileIndex.byteLength + group.byteLength + this.lut.byteLength;
  }

  groupOf(chrom: string): number {
    return this.groups.get(chrom) ?? -1;
  }

  /**
   * Decodes model SNPs [j0, j1) into columns 0..j1-j0 of `out` (N rows):
   * per SNP a 256-entry table of the four values of each byte (1024
   * doubles from the SNP's four), then one byte read and four doubles
   * written per four genotypes (`decodePackedCalls`' trick, two bytes a step).
   */
  decode(j0: number, j1: number, out: Matrix): void {
    const { n, m } = this;
    if (!(Number.isInteger(j0) && Number.isInteger(j1) && j0 >= 0 && j0 <= j1 && j1 <= m)) {
      throw new ShapeError(`ModelSnps.decode: range [${j0}, ${j1}) is outside the ${m} model SNPs`);
    }
    if (out.rows !== n || out.cols < j1 - j0) {
      throw new ShapeError(`ModelSnps.decode: SNPs [${j0}, ${j1}) need an output of ${n} rows and at least ${j1 - j0} columns, found ${out.shape}`);
    }
    const bpv = this.bytesPerSnp;
    const lut = this.lut;
    const data = out.data;
    const pairs = n >> 3;
    for (let j = j0; j < j1; j++) {
      const t = this.tables;
      const t0 = t[4 * j]!;
      const t1 = t[4 * j + 1]!;
      const t2 = t[4 * j + 2]!;
      fillLut(lut, t0, t1, t2);
      const src = this.codes.subarray(j * bpv, (j + 1) * bpv);
      const o0 = (j - j0) * n;
      for (let p = 0; p < pairs; p++) {
        const a = src[2 * p]! << 2;
        const b = src[2 * p + 1]! << 2;
        const o = o0 + (p << 3);
        data[o] = lut[a]!;
        data[o + 1] = lut[a + 1]!;
        data[o + 2] = lut[a + 2]!;
        data[o + 3] = lut[a + 3]!;
        data[o + 4] = lut[b]!;
        data[o + 5] = lut[b + 1]!;
        data[o + 6] = lut[b + 2]!;
        data[o + 7] = lut[b + 3]!;
      }
      for (let i = pairs << 3; i < n; i++) data[o0 + i] = lut[(src[i >> 2]! << 2) + (i & 3)]!;
    }
  }
}

/** The 256 x 4 table of byte -> four values for the code values (t0, t1, t2, 0). */
function fillLut(lut: Float64Array, t0: number, t1: number, t2: number): void {
  const four = [t0, t1, t2, 0];
  // Entry 4b + k is four[(b >> 2k) & 3]: built as 4 nested loops over the codes.
  let e = 0;
  for (let c3 = 0; c3 < 4; c3++) {
    const v3 = four[c3]!;
    for (let c2 = 0; c2 < 4; c2++) {
      const v2 = four[c2]!;
      for (let c1 = 0; c1 < 4; c1++) {
        const v1 = four[c1]!;
        for (let c0 = 0; c0 < 4; c0++) {
          lut[e] = four[c0]!;
          lut[e + 1] = v1;
          lut[e + 2] = v2;
          lut[e + 3] = v3;
          e += 4;
        }
      }
    }
  }
}
