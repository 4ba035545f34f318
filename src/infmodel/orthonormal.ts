// Orthonormal bases of tall blocks (N x k, k small) by Cholesky QR: the
// O(N k^2) work is one syrk and one trsm on the backend, and a second round
// (CholeskyQR2, Fukaya et al. 2014) restores orthogonality to rounding.
import { DesignError, NotPositiveDefiniteError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';

/** Below this squared pivot of the unit-column Gram's Cholesky factor, a column is taken as dependent on those before it. */
const DEPENDENT_PIVOT = 1e-10;

/**
 * One Cholesky QR round on `y` (N x k) in place: G = Y^T Y (syrk), L L^T = G
 * (potrf), Y <- Y L^{-T} (trsm). Throws `NotPositiveDefiniteError` when the
 * columns are numerically dependent. Returns L.
 */
function choleskyQrRound(y: Matrix, be: Backend): Matrix {
  const g = be.syrk(y, { trans: true });
  const l = be.potrf(g);
  be.trsmInPlace(l, y, { side: 'right', lower: true, transA: true });
  return l;
}

/**
 * An N x p orthonormal basis Q of the columns of the covariates `c` (N x p,
 * copied, not modified), for the projection P = I - Q Q^T: the columns are
 * scaled to unit norm, then Cholesky QR twice. A zero, non-finite or
 * (nearly) dependent column is refused with a DesignError naming `what` and
 * the column (squared pivot of the unit-column Gram below 1e-10, i.e. the
 * column's R^2 on those before it above 1 - 1e-10).
 */
export function orthonormalCovariates(c: Matrix, be: Backend, what: string): Matrix {
  const { rows: n, cols: p } = c;
  if (p > n) throw new DesignError('SINGULAR_COVARIATES', `${what}: ${p} covariate columns for ${n} samples; at most ${n} can be independent`);
  const q = c.clone();
  for (let j = 0; j < p; j++) {
    const col = q.col(j);
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const v = col[i]!;
      if (!Number.isFinite(v)) throw new DesignError('NON_FINITE', `${what}: covariate column ${j + 1} has a non-finite value ${v} at row ${i + 1}`);
      ss += v * v;
    }
    if (!(ss > 0)) throw new DesignError('SINGULAR_COVARIATES', `${what}: covariate column ${j + 1} is all zeros`);
    const inv = 1 / Math.sqrt(ss);
    for (let i = 0; i < n; i++) col[i]! *= inv;
  }
  if (p === 0) return q;
  const g = be.syrk(q, { trans: true });
  let l: Matrix;
  try {
    l = be.potrf(g);
  } catch (err) {
    if (!(err instanceof NotPositiveDefiniteError)) throw err;
    throw new DesignError('SINGULAR_COVARIATES', `${what}: the ${p} covariate columns are linearly dependent (Cholesky of their Gram failed: ${err.message})`);
  }
  for (let j = 0; j < p; j++) {
    const pivot = l.data[j + j * p]! ** 2;
    if (pivot < DEPENDENT_PIVOT) {
      throw new DesignError(
        'SINGULAR_COVARIATES',
        `${what}: covariate column ${j + 1} is (nearly) a linear combination of the columns before it (1 - R^2 = ${pivot.toExponential(2)}, below ${DEPENDENT_PIVOT}); drop it`,
      );
    }
  }
  be.trsmInPlace(l, q, { side: 'right', lower: true, transA: true });
  choleskyQrRound(q, be);
  return q;
}

/**
 * An orthonormal basis of the column space of `y` (N x k), as a new matrix
 * of k' <= k columns: Cholesky QR twice when the columns are independent,
 * else (Cholesky fails) through the eigendecomposition of the Gram
 * Y^T Y = U S U^T, Y U S^{-1/2} on the eigenvalues above 1e-12 of the
 * largest (then Cholesky QR once more for orthogonality). For the
 * randomised subspace iteration (`topEigenpairs`).
 */
export function orthonormalBasis(y: Matrix, be: Backend): Matrix {
  if (y.rows < y.cols) throw new ShapeError(`orthonormalBasis: needs a tall block, found ${y.shape}`);
  const q = y.clone();
  try {
    choleskyQrRound(q, be);
    choleskyQrRound(q, be);
    return q;
  } catch (err) {
    if (!(err instanceof NotPositiveDefiniteError)) throw err;
  }
  const { values, vectors } = be.syevd(be.syrk(y, { trans: true }));
  const k = y.cols;
  const top = values[k - 1]!;
  const keep: number[] = [];
  for (let i = k - 1; i >= 0; i--) if (values[i]! > 1e-12 * top) keep.push(i);
  const w = new Matrix(k, keep.length);
  keep.forEach((i, c) => {
    const s = 1 / Math.sqrt(values[i]!);
    for (let r = 0; r < k; r++) w.data[r + c * k] = vectors.data[r + i * k]! * s;
  });
  const out = be.gemm(y, w);
  choleskyQrRound(out, be);
  return out;
}
