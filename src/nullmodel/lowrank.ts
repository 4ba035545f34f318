import { DomainError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { columnSquaredNorms, resultMatrix, type NullCovariance } from './covariance.js';
import { requireRows } from './identity.js';

/** The thin SVD W = U diag(s) V^T of a low-rank factor, as far as K needs it: U (N x p) and s (length p). */
export interface LowRankFactor {
  u: Matrix;
  s: Float64Array;
}

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
   * @param factor the N x r low-rank factor W (the quick start's environment
   *   matrix), or its thin SVD { u: N x p, s: p } when already computed (the
   *   null fit has it; a saved null model stores it).
   * @param cr variance of the low-rank term (>= 0).
   * @param cn noise variance (> 0).
   * @param backend the backend of the products (default `getBackend()`).
   */
  constructor(
    factor: Matrix | LowRankFactor,
    readonly cr: number,
    readonly cn: number,
    private readonly backend: Backend = getBackend(),
  ) {
    if (!(cr >= 0) || !Number.isFinite(cr)) throw new DomainError(`LowRankCovariance: cr must be finite and >= 0, found ${cr}`);
    if (!(cn > 0) || !Number.isFinite(cn)) throw new DomainError(`LowRankCovariance: cn must be finite and > 0, found ${cn}`);
    const { u, s } = factor instanceof Matrix ? backend.gesdd(factor) : factor;
    if (u.cols !== s.length) throw new ShapeError(`LowRankCovariance: U is ${u.shape} but there are ${s.length} singular values`);
    this.n = u.rows;
    this.whitenedRows = u.rows;
    this.u = u;
    this.s = s;
    this.params = { cr, cn };
  }

  /** B + U diag(c) U^T B, scaled by `scale` (into `into` when given, see `whiten`). */
  private update(b: Matrix, c: Float64Array, scale: number, into?: Float64Array): Matrix {
    const utb = this.backend.gemm(this.u, b, { transA: true });
    const p = this.s.length;
    for (let j = 0; j < utb.cols; j++) {
      const off = j * p;
      for (let i = 0; i < p; i++) utb.data[off + i]! *= c[i]!;
    }
    let out: Matrix;
    if (into === undefined) out = b.clone();
    else {
      out = resultMatrix('whiten', b.rows, b.cols, into);
      out.data.set(b.data);
    }
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
  whiten(b: Matrix, into?: Float64Array, norms?: Float64Array): Matrix {
    requireRows('whiten', b, this.n);
    const rho = this.cr / this.cn;
    const c = this.s.map((si) => 1 / Math.sqrt(1 + rho * si * si) - 1);
    const out = this.update(b, c, 1 / Math.sqrt(this.cn), into);
    if (norms !== undefined) columnSquaredNorms(out, norms);
    return out;
  }

  /** log det K = sum_i log(cr s_i^2 + cn) + (N - p) log cn. */
  logdet(): number {
    let ld = (this.n - this.s.length) * Math.log(this.cn);
    for (const si of this.s) ld += Math.log(this.cr * si * si + this.cn);
    return ld;
  }
}
