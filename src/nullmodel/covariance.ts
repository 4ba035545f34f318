import { ShapeError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';

/**
 * A sample covariance K (N x N) learnt once under the null, as the scans
 * need it: limix's `Ki_dot` contract (DESIGN.md, nullmodel/), made fast.
 *
 * `whiten` is the fast path: a map L^-1 with K^-1 = L^-T L^-1, applied to a
 * whole N x b batch at once (one rotation gemm for an eigendecomposed
 * kinship, a Woodbury low-rank update for low rank plus noise), so that every
 * quadratic form the scan needs, A' K^-1 B, is (L^-1 A)' (L^-1 B) and costs
 * O(N) per variant. `whitenedRows` says how many rows the whitened batch has
 * (N, or fewer when K is singular and rotated onto its range).
 */
export interface NullCovariance {
  /** Which null model this is. */
  readonly kind: 'lowrank' | 'kinship' | 'none';
  /** Number of samples N. */
  readonly n: number;
  /** Rows of `whiten(B)`. */
  readonly whitenedRows: number;
  /** K^-1 B for an N x b matrix B (a new matrix): limix's `Ki_dot`. */
  kiDot(b: Matrix): Matrix;
  /**
   * L^-1 B with K^-1 = L^-T L^-1, for an N x b matrix B: a new matrix, or a
   * view of the start of `into` when given (at least whitenedRows x b
   * doubles, overwritten), so that a scan reuses one buffer per batch.
   * With `norms` (length b), also each result column's squared norm, summed
   * over the rows in order (`columnSquaredNorms`), in the same pass where
   * the whitening has one.
   */
  whiten(b: Matrix, into?: Float64Array, norms?: Float64Array): Matrix;
  /** log det K. */
  logdet(): number;
  /** The fitted parameters by name (e.g. `{ cr, cn }`, `{ sigmaG2, sigmaE2, delta }`). */
  readonly params: Readonly<Record<string, number>>;
}

/**
 * A rows x cols matrix on the start of `into` (its contents are left as
 * they are), or a new zeroed one without `into`: the result storage of a
 * `whiten(b, into)`. `op` names the caller in the error when `into` is too small.
 */
export function resultMatrix(op: string, rows: number, cols: number, into?: Float64Array): Matrix {
  if (into === undefined) return new Matrix(rows, cols);
  const size = rows * cols;
  if (into.length < size) throw new ShapeError(`${op}: the result is ${rows}x${cols} (${size} values) but the buffer holds ${into.length}`);
  return new Matrix(rows, cols, into.length === size ? into : into.subarray(0, size));
}

/** The squared norm of each column of `m` into `norms` (length m.cols), summed over the rows in order. */
export function columnSquaredNorms(m: Matrix, norms: Float64Array): void {
  const { rows, data } = m;
  for (let j = 0; j < m.cols; j++) {
    let ss = 0;
    for (let i = 0, off = j * rows; i < rows; i++) ss += data[off + i]! * data[off + i]!;
    norms[j] = ss;
  }
}
