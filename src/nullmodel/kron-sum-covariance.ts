// The fixed Kronecker-sum covariance Cg (x) R + Cn (x) I of a multi-trait
// model: the joint diagonalisation of (Cg, Cn) and the rotated basis in which
// the covariance is diagonal, as `Mtlmm` scans under it.
import { DomainError, NotPositiveDefiniteError, ShapeError } from '../errors.js';
import type { Backend, Eigen } from '../linalg/backend.js';
import { type GeneralisedEigen, generalisedEigen } from '../linalg/generalised-eigen.js';
import type { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { diagInverse, rightMulT } from './kron-sum-dense.js';

/**
 * The joint diagonalisation of two P x P covariances (limix-core's
 * `Cov2KronSum`): Lc = Uc^T Sn^-1/2 Un^T with Cn = Un Sn Un^T and
 * Sn^-1/2 Un^T Cg Un Sn^-1/2 = Uc diag(sc) Uc^T, so that
 * Lc Cn Lc^T = I and Lc Cg Lc^T = diag(sc).
 */
export interface JointDiagonalisation {
  /** P x P. */
  lc: Matrix;
  /** Eigenvalues of Cn^-1/2 Cg Cn^-1/2, ascending. */
  sc: Float64Array;
  /** log det Cn. */
  logdetCn: number;
}

/**
 * Joint diagonalisation of (Cg, Cn): the generalised eigenproblem
 * Cg v = sc Cn v with Cn whitened by its eigendecomposition, limix's order
 * of operations. Throws a DomainError when Cn is not positive definite (the
 * likelihood's objective reads that as +Infinity).
 */
export function jointDiagonalise(cg: Matrix, cn: Matrix, backend: Backend = getBackend()): JointDiagonalisation {
  const p = cn.rows;
  if (cn.cols !== p || cg.rows !== p || cg.cols !== p) throw new ShapeError(`jointDiagonalise: Cg ${cg.shape} and Cn ${cn.shape} must both be P x P`);
  let ge: GeneralisedEigen;
  try {
    ge = generalisedEigen(cg, cn, { whiten: 'eigen', backend });
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) throw new DomainError(`jointDiagonalise: Cn is not positive definite (${e.message})`);
    throw e;
  }
  return { lc: ge.vectors.transpose(), sc: ge.values, logdetCn: ge.logdetB };
}

/**
 * A fixed multi-trait covariance K = Cg (x) R + Cn (x) I over vec(Y), Y N x P
 * stacked by columns (limix-core's `Cov2KronSum`), with R = U diag(sr) U^T
 * eigendecomposed once. In the basis Lc (x) U^T it is diagonal:
 * (Lc (x) U^T) K (Lc (x) U^T)^T = diag(sc) (x) diag(sr) + I, so an N x P
 * matrix M is whitened by U^T M Lc^T and a scaling by d = 1 / (sc_p sr_n + 1).
 * This is what `Mtlmm` scans under.
 */
export class KronSumCovariance {
  readonly kind = 'kron-sum' as const;
  /** Samples N. */
  readonly n: number;
  /** Traits P. */
  readonly p: number;
  /** Cg and Cn (P x P, copies). */
  readonly cg: Matrix;
  readonly cn: Matrix;
  /** Eigenvalues of R (negatives from rounding clamped to 0), ascending. */
  readonly eigenvalues: Float64Array;
  /** Eigenvectors of R, N x N. */
  readonly eigenvectors: Matrix;
  /** The trait rotation Lc (P x P) and the eigenvalues sc of Cn^-1/2 Cg Cn^-1/2. */
  readonly lc: Matrix;
  readonly sc: Float64Array;
  /** d[n + p N] = 1 / (sc_p sr_n + 1): the inverse of the rotated covariance, N x P. */
  readonly d: Matrix;
  private readonly logdetCn: number;

  constructor(
    eigen: Eigen,
    cg: Matrix,
    cn: Matrix,
    private readonly backend: Backend = getBackend(),
  ) {
    const n = eigen.values.length;
    if (eigen.vectors.rows !== n || eigen.vectors.cols !== n)
      throw new ShapeError(`KronSumCovariance: ${n} eigenvalues but eigenvectors of shape ${eigen.vectors.shape}`);
    for (const [name, c] of [
      ['Cg', cg],
      ['Cn', cn],
    ] as const) {
      for (const v of c.data) if (!Number.isFinite(v)) throw new DomainError(`KronSumCovariance: ${name} has a non-finite entry`);
    }
    this.n = n;
    this.p = cg.rows;
    this.cg = cg.clone();
    this.cn = cn.clone();
    this.eigenvalues = eigen.values.map((s) => Math.max(s, 0));
    this.eigenvectors = eigen.vectors;
    const jd = jointDiagonalise(cg, cn, backend);
    this.lc = jd.lc;
    this.sc = jd.sc;
    this.logdetCn = jd.logdetCn;
    if (this.sc.some((s) => !(s >= -1e-12 * Math.max(1, Math.abs(this.sc[this.p - 1]!))))) {
      throw new DomainError(`KronSumCovariance: Cg is not positive semi-definite relative to Cn (eigenvalue ${Math.min(...this.sc)})`);
    }
    this.d = diagInverse(this.eigenvalues, this.sc);
  }

  /** U^T B for an N x b matrix B (a new matrix): the sample rotation. */
  rotate(b: Matrix): Matrix {
    if (b.rows !== this.n) throw new ShapeError(`KronSumCovariance.rotate: expected ${this.n} rows, found ${b.rows}`);
    return this.backend.gemm(this.eigenvectors, b, { transA: true });
  }

  /** K^-1 vec(Y) for an N x P matrix Y, returned as an N x P matrix. */
  kiDot(y: Matrix): Matrix {
    if (y.rows !== this.n || y.cols !== this.p) throw new ShapeError(`KronSumCovariance.kiDot: expected ${this.n}x${this.p}, found ${y.shape}`);
    const t = rightMulT(this.rotate(y), this.lc); // U^T Y Lc^T
    for (let i = 0; i < t.data.length; i++) t.data[i]! *= this.d.data[i]!;
    return this.backend.gemm(this.eigenvectors, rightMulT(t, this.lc.transpose())); // U (D .* .) Lc
  }

  /** log det K = N log det Cn + sum log(sc_p sr_n + 1). */
  logdet(): number {
    let s = this.n * this.logdetCn;
    for (const v of this.d.data) s -= Math.log(v);
    return s;
  }
}
