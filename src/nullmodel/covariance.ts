import type { Matrix } from '../linalg/matrix.js';

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
  /** L^-1 B with K^-1 = L^-T L^-1, for an N x b matrix B (a new matrix). */
  whiten(b: Matrix): Matrix;
  /** log det K. */
  logdet(): number;
  /** The fitted parameters by name (e.g. `{ cr, cn }`, `{ sigmaG2, sigmaE2, delta }`). */
  readonly params: Readonly<Record<string, number>>;
}
