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
  const { method, blockSize = 2048, onProgress } = opts;
  if (!['standardized', 'gcta', 'centered'].includes(method)) {
    throw new ArgumentError(`kinship: method must be standardized, gcta or centered, found '${String(method)}'`);
  }
  const be = opts.backend ?? getBackend();
  // The next block is asked for while this one is multiplied (one ahead),
  // and syrk copies nothing out of it: two buffers in turn suffice.
  const it = source.batches({ size: blockSize, select: opts.select, samples: opts.samples, recycle: 1 });
  let k: Matrix | undefined;
  let used = 0;
  let skipped = 0;
  let read = 0;
  let pending = it.next();
  for (;;) {
    const step: IteratorResult<GenotypeBatch> = await pending;
    if (step.done === true) break;
    pending = it.next();
    const x = step.value.dosages;
    const kept = scaleColumns(x, method);
    skipped += x.cols - kept;
    read += x.cols;
    if (kept > 0) {
      const block = x.colView(0, kept);
      k = k === undefined ? be.syrk(block) : be.syrk(block, { beta: 1, c: k });
      used += kept;
    }
    onProgress?.(read);
  }
  if (k === undefined || used === 0) {
    throw new SelectionError('NO_VARIANTS', `kinship: no polymorphic variant in ${source.path} (read ${read}); K is undefined`);
  }
  const scale = 1 / used;
  for (let i = 0; i < k.data.length; i++) k.data[i]! *= scale;
  return { k, method, variantsUsed: used, variantsSkipped: skipped };
}

/**
 * Scales the columns of `x` in place for `method` and packs the informative
 * ones to the front; returns how many there are.
 */
function scaleColumns(x: Matrix, method: KinshipMethod): number {
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
    out++;
  }
  return out;
}
