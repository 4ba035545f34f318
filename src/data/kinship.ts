import { ArgumentError, SelectionError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import type { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import type { BatchOptions, GenotypeBatch, GenotypeSource } from './genotypes.js';

/**
 * How each variant is scaled before K = X X^T / p:
 * - `standardized`: (g - mean) / sd, sd the population standard deviation
 *   (the limix quick start's K);
 * - `gcta`: (g - 2f) / sqrt(2 f (1 - f)) with f = mean / 2, GCTA's GRM
 *   (Yang et al. 2011), which `plink2 --make-rel` computes;
 * - `centered`: g - mean, GEMMA's `-gk 1` (Zhou & Stephens 2012).
 * Missing genotypes are mean-imputed, i.e. contribute 0 after centring.
 */
export type KinshipMethod = 'standardized' | 'gcta' | 'centered';

/** Options of `kinship`. */
export interface KinshipOptions extends Omit<BatchOptions, 'size'> {
  method: KinshipMethod;
  /** Variants per block (default 2048): memory is N^2 + N x block doubles. */
  blockSize?: number;
  backend?: Backend;
  /** Called after each block with the number of variants read so far. */
  onProgress?: (variantsRead: number) => void;
}

/** A kinship matrix and what went into it. */
export interface KinshipResult {
  /** N x N, symmetric. */
  k: Matrix;
  method: KinshipMethod;
  /** Variants that entered K (p). */
  variantsUsed: number;
  /** Variants left out because they are monomorphic or entirely missing (they carry no information). */
  variantsSkipped: number;
}

/**
 * Streams a genotype source in blocks and accumulates K = X X^T / p with one
 * `syrk` per block on the backend, so memory is O(N^2 + N x block) whatever
 * the number of variants. The next block is read while the current one is
 * multiplied.
 */
export async function kinship(source: GenotypeSource, opts: KinshipOptions): Promise<KinshipResult> {
  const { s, used, skipped } = await crossproduct(source, opts);
  const scale = 1 / used;
  for (let i = 0; i < s.data.length; i++) s.data[i]! *= scale;
  return { k: s, method: opts.method, variantsUsed: used, variantsSkipped: skipped };
}

/** Options of `crossproduct`: those of `kinship`, and where to accumulate. */
export interface CrossproductOptions extends KinshipOptions {
  /**
   * Accumulate into this N x N matrix, C + alpha X X^T, instead of a fresh
   * one (LOCO: alpha -1 subtracts a chromosome's variants from the total).
   */
  into?: { c: Matrix; alpha: number };
  /** `variantsUsed` is 0 is no error (a LOCO chromosome may have no informative variant). */
  allowEmpty?: boolean;
}

/** The unscaled crossproduct S = X X^T of the scaled variants and what went into it. */
export interface CrossproductResult {
  /** N x N, symmetric: S (or `into.c` + alpha S). */
  s: Matrix;
  /** Variants that entered S. */
  used: number;
  /** Variants left out (monomorphic or entirely missing). */
  skipped: number;
  /** Variants that entered S, per chromosome name as the file spells it. */
  usedByChrom: Map<string, number>;
}

/**
 * The streaming pass of `kinship` without the final 1/p: S = X X^T over the
 * selected variants, each scaled by `method` (per variant, so that S over a
 * union of variant sets is the sum of their S: what LOCO relies on), with
 * the count of informative variants per chromosome.
 */
export async function crossproduct(source: GenotypeSource, opts: CrossproductOptions): Promise<CrossproductResult> {
  const { method, blockSize = 2048, onProgress, into } = opts;
  if (!['standardized', 'gcta', 'centered'].includes(method)) {
    throw new ArgumentError(`kinship: method must be standardized, gcta or centered, found '${String(method)}'`);
  }
  const be = opts.backend ?? getBackend();
  // The next block is asked for while this one is multiplied (one ahead),
  // and syrk copies nothing out of it: two buffers in turn suffice.
  const it = source.batches({ size: blockSize, select: opts.select, samples: opts.samples, recycle: 1 });
  let k: Matrix | undefined = into?.c;
  let used = 0;
  let skipped = 0;
  let read = 0;
  const usedByChrom = new Map<string, number>();
  const chrom = source.variants.chrom;
  let pending = it.next();
  for (;;) {
    const step: IteratorResult<GenotypeBatch> = await pending;
    if (step.done === true) break;
    pending = it.next();
    const x = step.value.dosages;
    const keptCols: number[] = [];
    const kept = scaleColumns(x, method, keptCols);
    skipped += x.cols - kept;
    read += x.cols;
    for (const j of keptCols) {
      const c = chrom[step.value.indices[j]!]!;
      usedByChrom.set(c, (usedByChrom.get(c) ?? 0) + 1);
    }
    if (kept > 0) {
      const block = x.colView(0, kept);
      const alpha = into?.alpha ?? 1;
      k = k === undefined ? be.syrk(block) : be.syrk(block, { alpha, beta: 1, c: k });
      used += kept;
    }
    onProgress?.(read);
  }
  if (k === undefined || (used === 0 && opts.allowEmpty !== true)) {
    throw new SelectionError('NO_VARIANTS', `kinship: no polymorphic variant in ${source.path} (read ${read}); K is undefined`);
  }
  return { s: k, used, skipped, usedByChrom };
}

/**
 * Scales the columns of `x` in place for `method` and packs the informative
 * ones to the front; returns how many there are, and pushes their
 * original column positions onto `keptCols`.
 */
function scaleColumns(x: Matrix, method: KinshipMethod, keptCols: number[]): number {
  const n = x.rows;
  let out = 0;
  for (let j = 0; j < x.cols; j++) {
    const col = x.data.subarray(j * n, (j + 1) * n);
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const v = col[i]!;
      if (!Number.isNaN(v)) {
        sum += v;
        count++;
      }
    }
    if (count === 0) continue;
    const mean = sum / count;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const v = col[i]!;
      if (!Number.isNaN(v)) ss += (v - mean) * (v - mean);
    }
    // Mean imputation leaves the sum of squares of the observed values.
    const sd = Math.sqrt(ss / n);
    if (!(sd > 0)) continue;
    let scale = 1;
    if (method === 'standardized') scale = 1 / sd;
    else if (method === 'gcta') {
      const f = mean / 2;
      scale = 1 / Math.sqrt(2 * f * (1 - f));
    }
    const dst = x.data.subarray(out * n, (out + 1) * n);
    for (let i = 0; i < n; i++) {
      const v = col[i]!;
      dst[i] = !Number.isNaN(v) ? (v - mean) * scale : 0;
    }
    keptCols.push(j);
    out++;
  }
  return out;
}
