import { DomainError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import type { NullCovariance } from './covariance.js';
import { requireRows } from './identity.js';

/**
 * K = cr W W^T + cn I with W N x r (limix-core's `GP2KronSumLR` for one
 * trait, "low rank plus noise"). With the thin SVD W = U diag(s) V^T,
 * K = cn [I + U diag(rho s^2) U^T], rho = cr / cn, so every product with
 * K^-1 or K^-1/2 is the identity plus a rank-p correction: O(N p) per column
 * (Woodbury) and two thin gemms per batch.
 */
export class LowRankCovariance implements NullCovariance {
  readonly kind = 'lowrank' as const;
  readonly n: number;
  readonly whitenedRows: number;
  readonly params: Readonly<Record<string, number>>;
  /** Left singular vectors of W, N x p. */
  readonly u: Matrix;
  /** Singular values of W, length p. */
  readonly s: Float64Array;

  /**
   * @param w N x r low-rank factor (the quick start's environment matrix).
   * @param cr variance of the low-rank term (>= 0).
   * @param cn noise variance (> 0).
   * @param svd the thin SVD of W when already computed (the null fit has it).
   */
  constructor(w: Matrix, readonly cr: number, readonly cn: number, svd?: { u: Matrix; s: Float64Array }, private readonly backend: Backend = getBackend()) {
    if (!(cr >= 0) || !Number.isFinite(cr)) throw new DomainError(`LowRankCovariance: cr must be finite and >= 0, found ${cr}`);
    if (!(cn > 0) || !Number.isFinite(cn)) throw new DomainError(`LowRankCovariance: cn must be finite and > 0, found ${cn}`);
    const { u, s } = svd ?? backend.gesdd(w);
    this.n = w.rows;
    this.whitenedRows = w.rows;
    this.u = u;
    this.s = s;
    this.params = { cr, cn };
  }

  /** B + U diag(c) U^T B, scaled by `scale`. */
  private update(b: Matrix, c: Float64Array, scale: number): Matrix {
    const utb = this.backend.gemm(this.u, b, { transA: true });
    const p = this.s.length;
    for (let j = 0; j < utb.cols; j++) {
      const off = j * p;
      for (let i = 0; i < p; i++) utb.data[off + i]! *= c[i]!;
    }
    const out = b.clone();
    this.backend.gemm(this.u, utb, { c: out, beta: 1 });
    if (scale !== 1) for (let i = 0; i < out.data.length; i++) out.data[i]! *= scale;
    return out;
  }

  /** K^-1 B = (1/cn) [B + U diag(1/(1 + rho s^2) - 1) U^T B]. */
  kiDot(b: Matrix): Matrix {
    requireRows('kiDot', b, this.n);
    const rho = this.cr / this.cn;
    const c = this.s.map((si) => 1 / (1 + rho * si * si) - 1);
    return this.update(b, c, 1 / this.cn);
  }

  /** K^-1/2 B = cn^-1/2 [B + U diag((1 + rho s^2)^-1/2 - 1) U^T B] (symmetric square root). */
  whiten(b: Matrix): Matrix {
    requireRows('whiten', b, this.n);
    const rho = this.cr / this.cn;
    const c = this.s.map((si) => 1 / Math.sqrt(1 + rho * si * si) - 1);
    return this.update(b, c, 1 / Math.sqrt(this.cn));
  }

  /** log det K = sum_i log(cr s_i^2 + cn) + (N - p) log cn. */
  logdet(): number {
    let ld = (this.n - this.s.length) * Math.log(this.cn);
    for (const si of this.s) ld += Math.log(this.cr * si * si + this.cn);
    return ld;
  }
}
