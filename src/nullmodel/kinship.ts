import { DomainError, ShapeError } from '../errors.js';
import type { Backend, Eigen } from '../linalg/backend.js';
import type { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { resultMatrix, type NullCovariance } from './covariance.js';
import { requireRows } from './identity.js';

/**
 * K = sigmaG2 R + sigmaE2 I for a full-rank (or singular) relatedness matrix
 * R = U diag(s) U^T, eigendecomposed once (FaST-LMM, Lippert et al. 2011;
 * GEMMA, Zhou & Stephens 2012). In the eigenbasis K is diagonal,
 * v_i = sigmaG2 s_i + sigmaE2, so whitening a batch is one gemm U^T B and a
 * row scaling by v^-1/2.
 */
export class KinshipCovariance implements NullCovariance {
  readonly kind = 'kinship' as const;
  readonly n: number;
  readonly whitenedRows: number;
  readonly params: Readonly<Record<string, number>>;
  /** Eigenvalues of R (negatives from rounding clamped to 0), ascending. */
  readonly eigenvalues: Float64Array;
  /** Eigenvectors of R, N x N. */
  readonly eigenvectors: Matrix;
  /** v_i = sigmaG2 s_i + sigmaE2, the eigenvalues of K. */
  readonly variances: Float64Array;
  /** v_i^-1/2, the row scaling of `whiten`. */
  private readonly invSqrtVariances: Float64Array;

  constructor(
    eigen: Eigen,
    readonly sigmaG2: number,
    readonly sigmaE2: number,
    private readonly backend: Backend = getBackend(),
  ) {
    const n = eigen.values.length;
    if (eigen.vectors.rows !== n || eigen.vectors.cols !== n) {
      throw new ShapeError(`KinshipCovariance: ${n} eigenvalues but eigenvectors of shape ${eigen.vectors.shape}`);
    }
    if (!(sigmaG2 >= 0) || !(sigmaE2 >= 0) || !Number.isFinite(sigmaG2 + sigmaE2)) {
      throw new DomainError(`KinshipCovariance: variances must be finite and >= 0, found sigmaG2 ${sigmaG2}, sigmaE2 ${sigmaE2}`);
    }
    this.n = n;
    this.whitenedRows = n;
    this.eigenvalues = eigen.values.map((s) => Math.max(s, 0));
    this.eigenvectors = eigen.vectors;
    this.variances = this.eigenvalues.map((s) => sigmaG2 * s + sigmaE2);
    this.invSqrtVariances = this.variances.map((v) => 1 / Math.sqrt(v));
    const minV = this.variances.reduce((a, b) => Math.min(a, b), Infinity);
    if (!(minV > 0)) {
      throw new DomainError(`KinshipCovariance: K is singular (sigmaE2 = ${sigmaE2} and the relatedness matrix has zero eigenvalues)`);
    }
    this.params = { sigmaG2, sigmaE2, lambda: sigmaG2 / sigmaE2, delta: sigmaE2 / sigmaG2 };
  }

  /**
   * U^T B: the batch in the eigenbasis (what the exact test needs), into the
   * start of `into` when given (at least N x b doubles, overwritten).
   */
  rotate(b: Matrix, into?: Float64Array): Matrix {
    requireRows('rotate', b, this.n);
    const c = into === undefined ? undefined : resultMatrix('rotate', this.n, b.cols, into);
    return this.backend.gemm(this.eigenvectors, b, { transA: true, c });
  }

  /**
   * `rotate` begun now and finished by the returned `wait()` (`Backend.gemmStart`:
   * on the native backend U^T B is computed on its own thread while this one
   * works on, with `rotate`'s bits). B and `into` must not be written before `wait()`.
   */
  rotateStart(b: Matrix, into?: Float64Array): { wait(): Matrix } {
    requireRows('rotateStart', b, this.n);
    const c = into === undefined ? undefined : resultMatrix('rotateStart', this.n, b.cols, into);
    return this.backend.gemmStart(this.eigenvectors, b, { transA: true, c });
  }

  /** diag(v^-1/2) U^T B (into `into` when given, the norms in the scaling pass; see `NullCovariance.whiten`). */
  whiten(b: Matrix, into?: Float64Array, norms?: Float64Array): Matrix {
    const r = this.rotate(b, into);
    if (norms === undefined) scaleRows(r, this.invSqrtVariances);
    else scaleRowsWithNorms(r, this.invSqrtVariances, norms);
    return r;
  }

  /** U diag(1/v) U^T B. */
  kiDot(b: Matrix): Matrix {
    const r = this.rotate(b);
    scaleRows(
      r,
      this.variances.map((v) => 1 / v),
    );
    return this.backend.gemm(this.eigenvectors, r);
  }

  /** log det K = sum_i log v_i. */
  logdet(): number {
    let s = 0;
    for (const v of this.variances) s += Math.log(v);
    return s;
  }
}

/** `scaleRows`, and the squared norm of each scaled column into `norms`: one pass over a batch instead of two. */
function scaleRowsWithNorms(m: Matrix, d: Float64Array, norms: Float64Array): void {
  const { rows, data } = m;
  for (let j = 0; j < m.cols; j++) {
    let ss = 0;
    for (let i = 0, off = j * rows; i < rows; i++) {
      const v = data[off + i]! * d[i]!;
      data[off + i] = v;
      ss += v * v;
    }
    norms[j] = ss;
  }
}

/** Multiplies row i of `m` by d[i], in place. */
export function scaleRows(m: Matrix, d: ArrayLike<number>): void {
  const r = m.rows;
  for (let j = 0; j < m.cols; j++) {
    const off = j * r;
    for (let i = 0; i < r; i++) m.data[off + i]! *= d[i]!;
  }
}
