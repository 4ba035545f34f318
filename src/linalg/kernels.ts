/**
 * The raw kernel contract that every linear-algebra backend implements.
 *
 * Kernels follow BLAS/LAPACK semantics on dense column-major `Float64Array`s
 * whose leading dimension equals their row count (lmmkit never stores a
 * strided matrix: a view of a column range is a contiguous subarray). They
 * work in place, do no shape checking and allocate as little as possible;
 * `Backend` (backend.ts) wraps them with shape checks, copies and typed
 * errors. Keeping this layer this thin is what lets the native addon be a
 * few lines of glue per routine over CBLAS/LAPACKE.
 *
 * Conventions shared by all routines:
 * - "op(X)" is X or X^T according to the matching `trans*` flag.
 * - Symmetric and triangular routines use the LOWER triangle only.
 * - LAPACK-style routines return LAPACK's `info`: 0 on success, i > 0 for a
 *   numerical failure at (1-based) step i, as documented per routine.
 */
export interface Kernels {
  /** See `BackendName`. */
  readonly name: BackendName;

  /** Describes the implementation: the BLAS library, its threads, its configuration string. */
  describe(): KernelInfo;

  /**
   * C = alpha op(A) op(B) + beta C, with op(A) m x k, op(B) k x n, C m x n.
   * A is stored m x k (or k x m when transA), B is k x n (or n x k when transB).
   * When beta is 0, C is not read (NaNs in C do not propagate), as in BLAS.
   */
  dgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float64Array,
    b: Float64Array,
    beta: number,
    c: Float64Array,
  ): void;

  /**
   * `dgemm` started on a thread of its own (native only; absent elsewhere):
   * returns at once, and the task's `wait()` returns once C is written.
   * Until then the caller must not write A, B or C (it may work on other data
   * meanwhile: that is the point).
   */
  dgemmStart?(...args: Parameters<Kernels['dgemm']>): KernelTask;

  /**
   * Lower triangle of C (n x n) = alpha op(A) op(A)^T + beta C, where op(A) is
   * A (n x k) or, when trans, A^T with A stored k x n. The strict upper
   * triangle of C is left untouched. When beta is 0, C is not read.
   */
  dsyrk(trans: boolean, n: number, k: number, alpha: number, a: Float64Array, beta: number, c: Float64Array): void;

  /**
   * y = alpha op(A) x + beta y with A stored m x n; x has length n (m when
   * trans), y has length m (n when trans). When beta is 0, y is not read.
   */
  dgemv(trans: boolean, m: number, n: number, alpha: number, a: Float64Array, x: Float64Array, beta: number, y: Float64Array): void;

  /**
   * Cholesky factorisation A = L L^T in place (lower triangle of `a`, n x n).
   * The strict upper triangle is not referenced and left as it was.
   * Returns 0, or i > 0 when the leading minor of order i is not positive definite.
   */
  dpotrf(n: number, a: Float64Array): number;

  /** Solves A X = B in place in `b` (n x nrhs), given the lower Cholesky factor L of A (n x n). Returns 0. */
  dpotrs(n: number, nrhs: number, l: Float64Array, b: Float64Array): number;

  /**
   * Overwrites the lower triangle of `l` (the lower Cholesky factor of A) with
   * the lower triangle of A^-1. Returns 0, or i > 0 when L(i,i) is exactly 0.
   */
  dpotri(n: number, l: Float64Array): number;

  /**
   * Triangular solve in place in B (m x n):
   * left:  op(A) X = alpha B (A is m x m); right: X op(A) = alpha B (A is n x n).
   * A is lower triangular when `lower`, upper otherwise; unit diagonal when `unitDiag`.
   */
  dtrsm(left: boolean, lower: boolean, transA: boolean, unitDiag: boolean, m: number, n: number, alpha: number, a: Float64Array, b: Float64Array): void;

  /**
   * Symmetric eigendecomposition A = U diag(w) U^T of the lower triangle of
   * `a` (n x n). On return `w` (length n) holds the eigenvalues in ascending
   * order and `a` the orthonormal eigenvectors as columns, in the same order.
   * Returns 0, or i > 0 when the algorithm failed to converge.
   */
  dsyevd(n: number, a: Float64Array, w: Float64Array): number;

  /**
   * Thin singular value decomposition A = U diag(s) V^T of A (m x n), with
   * p = min(m, n): `s` (length p) descending and non-negative, `u` m x p with
   * orthonormal columns, `vt` p x n with orthonormal rows. `a` is destroyed.
   * Returns 0, or i > 0 when the algorithm failed to converge.
   */
  dgesdd(m: number, n: number, a: Float64Array, s: Float64Array, u: Float64Array, vt: Float64Array): number;
}

/**
 * The kernel implementations: `'js'` (pure TypeScript, runs anywhere),
 * `'native'` (OpenBLAS/LAPACKE addon, Node) or `'wasm'` (js with dgemm and
 * dsyrk in WebAssembly SIMD, wherever simd128 is).
 */
export type BackendName = 'js' | 'native' | 'wasm';

/** What a kernel implementation says about itself (`lmmkit info`). */
export interface KernelInfo {
  /** Human-readable name of the BLAS/LAPACK implementation. */
  readonly blas: string;
  /** Threads the BLAS uses (1 for the js kernels). */
  readonly threads: number;
  /** Free-form build/configuration string (OpenBLAS's `openblas_get_config()` for native). */
  readonly config: string;
}

/** A kernel call running beside the caller (see `Kernels.dgemmStart`). */
export interface KernelTask {
  /** Returns once the call's output is written. */
  wait(): void;
}
