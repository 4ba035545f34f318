import { DomainError, NotPositiveDefiniteError, ShapeError } from '../errors.js';
import { Matrix, type MatrixLike } from '../linalg/matrix.js';
import { choleskyLower } from '../linalg/small.js';

/** limix-core's default diagonal offset of a `FreeFormCov`: K = L L^T + 1e-4 I. */
export const FREEFORM_JITTER = 1e-4;

/** Options of `new FreeFormCov`. */
export interface FreeFormCovOptions {
  /** Diagonal offset added to L L^T (default 1e-4, limix-core's). */
  jitter?: number;
  /** Initial parameters, limix's order (see `FreeFormCov`); default zeros. */
  params?: ArrayLike<number>;
}

/**
 * A free-form P x P covariance, limix-core's `FreeFormCov`:
 *
 *   K = L L^T + jitter I,
 *
 * with L lower triangular and free (P (P + 1) / 2 parameters, diagonal
 * entries of any sign). The parameters are the entries of L in limix's order,
 * numpy's `tril_indices`: row by row, (0,0), (1,0), (1,1), (2,0), (2,1),
 * (2,2), ... The jitter (default 1e-4, as in limix) keeps K positive definite
 * when L is singular; it is part of K, so a covariance reported by limix
 * (`K()`) includes it. `fromCovariance` follows limix's `setCovariance`:
 * L = chol(C), so that K = C + jitter I (limix does not subtract the jitter).
 */
export class FreeFormCov {
  readonly dim: number;
  readonly nParams: number;
  readonly jitter: number;
  /** Row and column of each parameter in L. */
  readonly rowOf: Int32Array;
  readonly colOf: Int32Array;
  private readonly p: Float64Array;

  constructor(dim: number, opts: FreeFormCovOptions = {}) {
    if (!Number.isInteger(dim) || dim < 1) throw new ShapeError(`FreeFormCov: dim must be a positive integer, found ${dim}`);
    const jitter = opts.jitter ?? FREEFORM_JITTER;
    if (!(jitter >= 0) || !Number.isFinite(jitter)) throw new DomainError(`FreeFormCov: jitter must be finite and >= 0, found ${jitter}`);
    this.dim = dim;
    this.jitter = jitter;
    this.nParams = (dim * (dim + 1)) / 2;
    this.rowOf = new Int32Array(this.nParams);
    this.colOf = new Int32Array(this.nParams);
    for (let r = 0, i = 0; r < dim; r++) {
      for (let c = 0; c <= r; c++, i++) {
        this.rowOf[i] = r;
        this.colOf[i] = c;
      }
    }
    this.p = new Float64Array(this.nParams);
    if (opts.params !== undefined) this.setParams(opts.params);
  }

  /**
   * limix's `setCovariance(C)`: L = chol(C) (lower), hence K = C + jitter I.
   * Throws when C is not symmetric positive definite.
   */
  static fromCovariance(c: MatrixLike, opts: Omit<FreeFormCovOptions, 'params'> = {}): FreeFormCov {
    const m = Matrix.from(c);
    if (m.rows !== m.cols) throw new ShapeError(`FreeFormCov.fromCovariance: expected a square matrix, found ${m.shape}`);
    const cov = new FreeFormCov(m.rows, opts);
    const l = choleskyLower(m.data, m.rows);
    if (l === null) throw new NotPositiveDefiniteError('FreeFormCov.fromCovariance', m.rows);
    const params = new Float64Array(cov.nParams);
    for (let i = 0; i < cov.nParams; i++) params[i] = l[cov.rowOf[i]! + cov.colOf[i]! * m.rows]!;
    cov.setParams(params);
    return cov;
  }

  /** Index of the parameter L[row, col] (row >= col). */
  paramIndex(row: number, col: number): number {
    if (!(col >= 0 && col <= row && row < this.dim))
      throw new ShapeError(`FreeFormCov.paramIndex: (${row}, ${col}) is not in the lower triangle of a ${this.dim}x${this.dim} matrix`);
    return (row * (row + 1)) / 2 + col;
  }

  /** A copy of the parameters. */
  getParams(): Float64Array {
    return this.p.slice();
  }

  setParams(params: ArrayLike<number>): void {
    if (params.length !== this.nParams)
      throw new ShapeError(`FreeFormCov.setParams: a ${this.dim}x${this.dim} free-form covariance has ${this.nParams} parameters, found ${params.length}`);
    for (let i = 0; i < this.nParams; i++) {
      const v = params[i]!;
      if (!Number.isFinite(v)) throw new DomainError(`FreeFormCov.setParams: parameter ${i} is not finite (${v})`);
      this.p[i] = v;
    }
  }

  /** The lower-triangular factor L (P x P). */
  L(): Matrix {
    const d = this.dim;
    const l = new Matrix(d, d);
    for (let i = 0; i < this.nParams; i++) l.data[this.rowOf[i]! + this.colOf[i]! * d] = this.p[i]!;
    return l;
  }

  /** K = L L^T + jitter I. */
  K(): Matrix {
    const d = this.dim;
    const l = this.L().data;
    const k = new Matrix(d, d);
    for (let j = 0; j < d; j++) {
      for (let i = j; i < d; i++) {
        let s = 0;
        for (let c = 0; c <= j; c++) s += l[i + c * d]! * l[j + c * d]!;
        if (i === j) s += this.jitter;
        k.data[i + j * d] = s;
        k.data[j + i * d] = s;
      }
    }
    return k;
  }

  /** dK / d param_i = E L^T + L E^T, E the unit matrix at L's entry i (limix's `K_grad_i`). */
  kGrad(i: number): Matrix {
    if (!(Number.isInteger(i) && i >= 0 && i < this.nParams)) throw new ShapeError(`FreeFormCov.kGrad: parameter ${i} out of range [0, ${this.nParams})`);
    const d = this.dim;
    const a = this.rowOf[i]!;
    const b = this.colOf[i]!;
    const l = this.L().data;
    const g = new Matrix(d, d);
    // (E L^T)[a, j] = L[j, b]; (L E^T)[j, a] = L[j, b].
    for (let j = 0; j < d; j++) {
      const v = l[j + b * d]!;
      g.data[a + j * d]! += v;
      g.data[j + a * d]! += v;
    }
    return g;
  }

  /**
   * The chain rule through K: given H = d f / d K (P x P, the gradient of a
   * scalar f with respect to the entries of K), returns d f / d params,
   * ((H + H^T) L)[row_i, col_i] for each parameter i.
   */
  paramGradient(h: Matrix): Float64Array {
    const d = this.dim;
    if (h.rows !== d || h.cols !== d) throw new ShapeError(`FreeFormCov.paramGradient: expected a ${d}x${d} gradient, found ${h.shape}`);
    const l = this.L().data;
    const out = new Float64Array(this.nParams);
    for (let i = 0; i < this.nParams; i++) {
      const a = this.rowOf[i]!;
      const b = this.colOf[i]!;
      let s = 0;
      for (let j = b; j < d; j++) s += (h.data[a + j * d]! + h.data[j + a * d]!) * l[j + b * d]!;
      out[i] = s;
    }
    return out;
  }
}
