// The symmetric-definite generalised eigenproblem A v = lambda B v, which is
// also the joint diagonalisation of two symmetric matrices: the two-matrix
// variance-component models (K1 against the error's K2) and the
// Kronecker-sum covariance (Cg against Cn) both rotate into its basis.
import { NotPositiveDefiniteError, ShapeError } from '../errors.js';
import { type Backend, logdetFromCholesky } from './backend.js';
import { Matrix } from './matrix.js';
import { getBackend } from './select.js';
import { symmetriseAverage } from './small.js';

/** Solution of A V = B V diag(values). */
export interface GeneralisedEigen {
  /** The eigenvalues lambda, ascending, length n. */
  values: Float64Array;
  /** V (n x n), its columns the eigenvectors, scaled so that V^T B V = I and V^T A V = diag(values). */
  vectors: Matrix;
  /** log det B (0 when B is the identity). */
  logdetB: number;
}

/**
 * How B is factored to reduce the problem to a standard one:
 * - `'cholesky'`: B = L L^T, C = L^-1 A L^-T, V = L^-T Q (LAPACK dsygv with
 *   itype 1; Golub & Van Loan, 4th ed., section 8.7). One potrf, three
 *   trsm, one syevd.
 * - `'eigen'`: B = U S U^T, C = S^-1/2 U^T A U S^-1/2, V = U S^-1/2 Q
 *   (limix-core's `Cov2KronSum`). Two syevd and three gemm.
 *
 * Both give the same V up to rounding (and the sign or, for repeated
 * eigenvalues, the basis of each eigenspace); the results recorded for the
 * two-matrix variance components come from the first, those of the
 * Kronecker-sum models from the second.
 */
export type WhitenBy = 'cholesky' | 'eigen';

/** Options of `generalisedEigen`. */
export interface GeneralisedEigenOptions {
  /** How B is factored (default 'cholesky'). */
  whiten?: WhitenBy;
  backend?: Backend;
}

/**
 * The symmetric-definite generalised eigenproblem A v = lambda B v for
 * symmetric A and symmetric positive definite B (both n x n; all of A is
 * read, only B's lower triangle), equivalently the congruence V that
 * diagonalises both: V^T B V = I, V^T A V = diag(lambda). B = null stands
 * for the identity (one syevd of A). With B = W W^T (W = L or U S^1/2),
 * C = W^-1 A W^-T is symmetrised before its eigensolver, since the two
 * triangular solves or products leave it symmetric only up to rounding.
 * All O(n^3) work is the backend's.
 *
 * Throws `NotPositiveDefiniteError` when B is not positive definite (with
 * `'eigen'`, the minor is the one Cholesky stops at, or n when only the
 * eigenvalues show it).
 */
export function generalisedEigen(a: Matrix, b: Matrix | null, opts: GeneralisedEigenOptions = {}): GeneralisedEigen {
  const be = opts.backend ?? getBackend();
  const n = a.rows;
  if (a.cols !== n || (b !== null && (b.rows !== n || b.cols !== n))) {
    throw new ShapeError(`generalisedEigen: A ${a.shape} and B ${b === null ? 'I' : b.shape} must both be n x n`);
  }
  if (b === null) {
    const { values, vectors } = be.syevd(a);
    return { values, vectors, logdetB: 0 };
  }
  return (opts.whiten ?? 'cholesky') === 'cholesky' ? byCholesky(be, a, b) : byEigen(be, a, b);
}

// One N x N copy of A carries C, its eigenvectors and V in turn (in place),
// so that the solve holds L and that copy beside A and B, plus dsyevd's
// workspace during the eigensolve.
function byCholesky(be: Backend, a: Matrix, b: Matrix): GeneralisedEigen {
  const l = be.potrf(b);
  const c = be.trsmInPlace(l, be.trsm(l, a), { side: 'right', transA: true });
  symmetriseAverage(c);
  const { values, vectors } = be.syevdInPlace(c);
  return { values, vectors: be.trsmInPlace(l, vectors, { transA: true }), logdetB: logdetFromCholesky(l) };
}

function byEigen(be: Backend, a: Matrix, b: Matrix): GeneralisedEigen {
  const n = a.rows;
  const eb = be.syevd(b);
  let logdetB = 0;
  const w = new Matrix(n, n); // U S^-1/2
  for (let j = 0; j < n; j++) {
    const s = eb.values[j]!;
    if (!(s > 0)) throw notPositiveDefinite(be, b);
    logdetB += Math.log(s);
    const f = 1 / Math.sqrt(s);
    for (let i = 0; i < n; i++) w.data[i + j * n] = eb.vectors.data[i + j * n]! * f;
  }
  const c = be.gemm(w, be.gemm(a, w), { transA: true });
  symmetriseAverage(c);
  const { values, vectors } = be.syevd(c);
  return { values, vectors: be.gemm(w, vectors), logdetB };
}

/** The error for a B whose eigenvalues are not all positive: Cholesky's, which names the failing minor. */
function notPositiveDefinite(be: Backend, b: Matrix): NotPositiveDefiniteError {
  try {
    be.potrf(b);
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) return e;
    throw e;
  }
  // Cholesky passed where an eigenvalue rounded to <= 0: det B, the minor of order n, is the one not positive.
  return new NotPositiveDefiniteError('generalisedEigen', b.rows, b.rows);
}
