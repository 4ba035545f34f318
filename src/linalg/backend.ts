import { NotPositiveDefiniteError, NumericalError, ShapeError } from '../errors.js';
import type { BackendName, KernelInfo, Kernels } from './kernels.js';
import { Matrix } from './matrix.js';
import { logdetCholesky, symmetriseFromLower } from './small.js';

/** Options of `Backend.gemm`. */
export interface GemmOptions {
  /** Use A^T instead of A. */
  transA?: boolean;
  /** Use B^T instead of B. */
  transB?: boolean;
  /** Scale of the product (default 1). */
  alpha?: number;
  /** Scale of `c` added to the product (default 0; needs `c`). */
  beta?: number;
  /** Output matrix, overwritten (and read when beta != 0). */
  c?: Matrix;
}

/** Options of `Backend.syrk`. */
export interface SyrkOptions {
  /** Compute alpha A^T A instead of alpha A A^T. */
  trans?: boolean;
  alpha?: number;
  /** Scale of `c` added to the product (default 0; needs a symmetric `c`). */
  beta?: number;
  c?: Matrix;
}

/** Options of `Backend.gemv`. */
export interface GemvOptions {
  trans?: boolean;
  alpha?: number;
  beta?: number;
  y?: Float64Array;
}

/** Options of `Backend.trsm`. */
export interface TrsmOptions {
  /** Solve op(A) X = alpha B ('left', default) or X op(A) = alpha B ('right'). */
  side?: 'left' | 'right';
  /** A is lower triangular (default true) or upper. */
  lower?: boolean;
  /** Use A^T. */
  transA?: boolean;
  /** Assume a unit diagonal (A's diagonal is not read). */
  unitDiag?: boolean;
  alpha?: number;
}

/** A symmetric eigendecomposition A = U diag(values) U^T. */
export interface Eigen {
  /** Eigenvalues in ascending order (length n). */
  values: Float64Array;
  /** Orthonormal eigenvectors as the columns of an n x n matrix, in the order of `values`. */
  vectors: Matrix;
}

/** A thin singular value decomposition A = U diag(s) V^T, p = min(m, n). */
export interface Svd {
  /** m x p, orthonormal columns. */
  u: Matrix;
  /** Singular values, descending, length p. */
  s: Float64Array;
  /** p x n, orthonormal rows. */
  vt: Matrix;
}

/** What `lmmkit info` reports about a backend. */
export interface BackendInfo extends KernelInfo {
  readonly name: BackendName;
}

/**
 * The linear-algebra operations the mixed models need, on `Matrix` values.
 * Every method checks shapes (errors name the operation and both shapes),
 * never mutates its inputs unless they are passed as the output (`c`, `y`),
 * and turns LAPACK failures into typed errors. The O(n^3) work is done by
 * the `Kernels` underneath (pure TypeScript or OpenBLAS/LAPACKE).
 */
export class Backend {
  readonly name: BackendName;
  readonly kernels: Kernels;

  constructor(kernels: Kernels) {
    this.kernels = kernels;
    this.name = kernels.name;
  }

  /** The backend's name, BLAS library, thread count and configuration. */
  info(): BackendInfo {
    return { name: this.name, ...this.kernels.describe() };
  }

  /**
   * General matrix product C = alpha op(A) op(B) + beta C (BLAS dgemm).
   * op(A) is m x k, op(B) k x n; returns C (m x n), the given `c` or a new matrix.
   */
  gemm(a: Matrix, b: Matrix, opts: GemmOptions = {}): Matrix {
    const g = gemmCall(a, b, opts);
    this.kernels.dgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a.data, b.data, g.beta, g.c.data);
    return g.c;
  }

  /**
   * `gemm` begun now and finished by the returned `wait()`, which gives C.
   * On a backend whose kernels run it on a thread of their own (native), the
   * product proceeds while this thread does other work; elsewhere it is
   * computed here, before this returns. Either way C has `gemm`'s bits. A,
   * B and `c` must not be written before `wait()`.
   */
  gemmStart(a: Matrix, b: Matrix, opts: GemmOptions = {}): { wait(): Matrix } {
    const g = gemmCall(a, b, opts);
    const start = this.kernels.dgemmStart;
    if (start === undefined) {
      this.kernels.dgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a.data, b.data, g.beta, g.c.data);
      return { wait: () => g.c };
    }
    const task = start.call(this.kernels, g.transA, g.transB, g.m, g.n, g.k, g.alpha, a.data, b.data, g.beta, g.c.data);
    return {
      wait: () => {
        task.wait();
        return g.c;
      },
    };
  }

  /**
   * Symmetric rank-k update C = alpha A A^T + beta C (or alpha A^T A + beta C
   * when `trans`), BLAS dsyrk, returned as a full symmetric matrix.
   */
  syrk(a: Matrix, opts: SyrkOptions = {}): Matrix {
    const { trans = false, alpha = 1, beta = 0 } = opts;
    const [n, k] = trans ? [a.cols, a.rows] : [a.rows, a.cols];
    const c = outputMatrix(trans ? 'syrk(A^T A)' : 'syrk(A A^T)', n, n, opts.c, beta);
    this.kernels.dsyrk(trans, n, k, alpha, a.data, beta, c.data);
    symmetriseFromLower(c);
    return c;
  }

  /** Matrix-vector product y = alpha op(A) x + beta y (BLAS dgemv). */
  gemv(a: Matrix, x: ArrayLike<number>, opts: GemvOptions = {}): Float64Array {
    const { trans = false, alpha = 1, beta = 0 } = opts;
    const [m, n] = trans ? [a.cols, a.rows] : [a.rows, a.cols];
    const opName = trans ? 'gemv(A^T x)' : 'gemv(A x)';
    if (x.length !== n) {
      throw new ShapeError(`${opName}: A is ${a.shape} but x has length ${x.length} (expected ${n})`);
    }
    let y = opts.y;
    if (y === undefined) {
      if (beta !== 0) throw new ShapeError(`${opName}: beta = ${beta} needs an input y`);
      y = new Float64Array(m);
    } else if (y.length !== m) {
      throw new ShapeError(`${opName}: A is ${a.shape} but y has length ${y.length} (expected ${m})`);
    }
    const xs = x instanceof Float64Array ? x : Float64Array.from(x);
    this.kernels.dgemv(trans, a.rows, a.cols, alpha, a.data, xs, beta, y);
    return y;
  }

  /**
   * Cholesky factor L (lower, strict upper zeroed) with A = L L^T (LAPACK dpotrf).
   * Throws `NotPositiveDefiniteError` when A is not positive definite,
   * including when the input holds NaN.
   */
  potrf(a: Matrix): Matrix {
    requireSquare('potrf', a);
    const n = a.rows;
    const l = a.clone();
    const info = this.kernels.dpotrf(n, l.data);
    if (info > 0) throw new NotPositiveDefiniteError('potrf', n, info);
    // Some LAPACKs (OpenBLAS's own potrf) let a NaN pivot through: check.
    for (let i = 0; i < n; i++) {
      const d = l.data[i + i * n]!;
      if (!(d > 0) || !Number.isFinite(d)) throw new NotPositiveDefiniteError('potrf', n, i + 1);
    }
    zeroUpper(l);
    return l;
  }

  /** Solves A X = B given the lower Cholesky factor L of A (LAPACK dpotrs); returns X. */
  potrs(l: Matrix, b: Matrix): Matrix {
    requireSquare('potrs', l);
    if (b.rows !== l.rows) {
      throw new ShapeError(`potrs: L is ${l.shape} but B is ${b.shape} (B needs ${l.rows} rows)`);
    }
    const x = b.clone();
    this.kernels.dpotrs(l.rows, b.cols, l.data, x.data);
    return x;
  }

  /** A^-1 as a full symmetric matrix, from the lower Cholesky factor L of A (LAPACK dpotri). */
  potri(l: Matrix): Matrix {
    requireSquare('potri', l);
    const inv = l.clone();
    const info = this.kernels.dpotri(l.rows, inv.data);
    if (info > 0) {
      throw new NumericalError(`potri: the Cholesky factor is exactly singular (L(${info},${info}) = 0)`);
    }
    symmetriseFromLower(inv);
    return inv;
  }

  /**
   * Triangular solve (BLAS dtrsm): X with op(A) X = alpha B ('left') or
   * X op(A) = alpha B ('right'); returns X as a new matrix.
   */
  trsm(a: Matrix, b: Matrix, opts: TrsmOptions = {}): Matrix {
    return this.trsmInPlace(a, b.clone(), opts);
  }

  /** `trsm` that overwrites `b` with X and returns it (no copy of an N x N right-hand side). */
  trsmInPlace(a: Matrix, b: Matrix, opts: TrsmOptions = {}): Matrix {
    const { side = 'left', lower = true, transA = false, unitDiag = false, alpha = 1 } = opts;
    requireSquare('trsm', a);
    const need = side === 'left' ? b.rows : b.cols;
    if (a.rows !== need) {
      throw new ShapeError(`trsm(${side}): A is ${a.shape} but B is ${b.shape}`);
    }
    this.kernels.dtrsm(side === 'left', lower, transA, unitDiag, b.rows, b.cols, alpha, a.data, b.data);
    return b;
  }

  /**
   * Symmetric eigendecomposition A = U diag(w) U^T (LAPACK dsyevd), from the
   * lower triangle of A; values ascending, vectors orthonormal.
   */
  syevd(a: Matrix): Eigen {
    return this.syevdInPlace(a.clone());
  }

  /**
   * `syevd` that overwrites `a` with the eigenvectors, as LAPACK's dsyevd
   * does, and returns it as `vectors`: an N x N kinship then needs no copy
   * (its workspace, 2 N^2 doubles in LAPACK's, lives only during the call).
   */
  syevdInPlace(a: Matrix): Eigen {
    requireSquare('syevd', a);
    requireFinite('syevd', a);
    const values = new Float64Array(a.rows);
    const info = this.kernels.dsyevd(a.rows, a.data, values);
    if (info > 0) throw new NumericalError(`syevd: the ${a.shape} eigenproblem did not converge (info ${info})`);
    return { values, vectors: a };
  }

  /** Thin SVD A = U diag(s) V^T (LAPACK dgesdd), p = min(m, n); s descending. */
  gesdd(a: Matrix): Svd {
    requireFinite('gesdd', a);
    const { rows: m, cols: n } = a;
    const p = Math.min(m, n);
    const u = new Matrix(m, p);
    const vt = new Matrix(p, n);
    const s = new Float64Array(p);
    const info = this.kernels.dgesdd(m, n, a.data.slice(), s, u.data, vt.data);
    if (info > 0) throw new NumericalError(`gesdd: the SVD of a ${a.shape} matrix did not converge (info ${info})`);
    return { u, s, vt };
  }

  /**
   * log det A of a symmetric positive definite A, as 2 sum_i log L_ii from
   * its Cholesky factor; throws `NotPositiveDefiniteError` otherwise.
   */
  logdet(a: Matrix): number {
    return logdetFromCholesky(this.potrf(a));
  }
}

/** log det(L L^T) = 2 sum_i log L_ii for a lower Cholesky factor L. */
export function logdetFromCholesky(l: Matrix): number {
  requireSquare('logdetFromCholesky', l);
  return logdetCholesky(l.data, l.rows);
}

/** The shapes, scalars and output of a gemm call, checked (errors name the operation and both shapes). */
function gemmCall(a: Matrix, b: Matrix, opts: GemmOptions) {
  const { transA = false, transB = false, alpha = 1, beta = 0 } = opts;
  const [m, k] = transA ? [a.cols, a.rows] : [a.rows, a.cols];
  const [kb, n] = transB ? [b.cols, b.rows] : [b.rows, b.cols];
  const opName = `gemm(${transA ? 'A^T' : 'A'} * ${transB ? 'B^T' : 'B'})`;
  if (k !== kb) {
    throw new ShapeError(`${opName}: inner dimensions differ, A is ${a.shape} and B is ${b.shape}`);
  }
  return { transA, transB, alpha, beta, m, n, k, c: outputMatrix(opName, m, n, opts.c, beta) };
}

function outputMatrix(op: string, m: number, n: number, c: Matrix | undefined, beta: number): Matrix {
  if (c === undefined) {
    if (beta !== 0) throw new ShapeError(`${op}: beta = ${beta} needs an input C`);
    return new Matrix(m, n);
  }
  if (c.rows !== m || c.cols !== n) {
    throw new ShapeError(`${op}: the result is ${m}x${n} but C is ${c.shape}`);
  }
  return c;
}

function requireSquare(op: string, a: Matrix): void {
  if (a.rows !== a.cols) throw new ShapeError(`${op}: needs a square matrix, found ${a.shape}`);
}

function requireFinite(op: string, a: Matrix): void {
  const d = a.data;
  for (let idx = 0; idx < d.length; idx++) {
    if (!Number.isFinite(d[idx]!)) {
      const i = idx % a.rows;
      const j = (idx - i) / a.rows;
      throw new NumericalError(`${op}: the ${a.shape} input has a non-finite value ${d[idx]} at (${i}, ${j})`);
    }
  }
}

function zeroUpper(l: Matrix): void {
  const n = l.rows;
  for (let j = 1; j < n; j++) l.data.fill(0, j * n, j * n + j);
}
