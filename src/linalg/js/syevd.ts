/**
 * Pure TypeScript symmetric eigendecomposition (LAPACK dsyevd) with the
 * semantics of the `Kernels` contract (kernels.ts). No Node APIs are used:
 * this module runs unchanged in a browser.
 */
import { tridiagonalEigen } from './eig-dc.js';
import { applyQ } from './eig-reflectors.js';
import { maxAbs, safeScalingExponent, scaleByPowerOfTwo } from './eig-scaling.js';
import { tridiagonalize } from './eig-tridiag.js';

/**
 * Symmetric eigendecomposition A = U diag(w) U^T of the n x n matrix whose
 * lower triangle is in `a` (the strict upper triangle is not read). On
 * return w[0:n] holds the eigenvalues in ascending order and `a` the
 * orthonormal eigenvectors as columns, in the same order. Returns 0, or
 * i > 0 when the tridiagonal solver failed to converge (or, as 1, when A has
 * a non-finite entry; w is then NaN).
 *
 * The three phases of LAPACK's dsyevd (Golub & Van Loan, "Matrix
 * Computations", 4th ed., 2013, secs. 8.3 and 8.4.4):
 * 1. Householder reduction T = Q^T A Q (eig-tridiag.ts, as dsytrd),
 * 2. divide and conquer T = Z diag(w) Z^T (eig-dc.ts, as dstedc),
 * 3. back-transformation U = Q Z in blocks of reflectors (as dormtr).
 * A max-norm outside [2^-480, 2^480] is first scaled into that range by a
 * power of two (exact; LAPACK's dsyevd does the same with dlascl), so that
 * sums of squares neither under- nor overflow. All phases are backward
 * stable, so ||A U - U diag(w)|| and ||U^T U - I|| are O(n eps ||A||) and
 * O(n eps), clusters and repeated eigenvalues included.
 */
export function dsyevd(n: number, a: Float64Array, w: Float64Array): number {
  if (n === 0) return 0;
  const anrm = maxAbsLower(n, a);
  if (!Number.isFinite(anrm)) {
    w.fill(Number.NaN, 0, n);
    return 1;
  }
  if (anrm === 0) {
    w.fill(0, 0, n);
    setIdentity(n, a);
    return 0;
  }
  const exponent = safeScalingExponent(anrm);
  scaleLower(n, a, exponent);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const tau = new Float64Array(n);
  tridiagonalize(n, a, d, e, tau);
  const z = new Float64Array(n * n);
  const info = tridiagonalEigen(n, d, e, z);
  if (info > 0) return info;
  // Reflector k acts on rows k+1..n-1; its unit is element (k+1, k) of a.
  applyQ(n - 2, n - 1, n, a, 1, n, tau, z, 1, n);
  a.set(z);
  for (let i = 0; i < n; i++) w[i] = scaleByPowerOfTwo(d[i]!, -exponent);
  return 0;
}

/** max |a_ij| over the lower triangle (NaN if any entry there is NaN). */
function maxAbsLower(n: number, a: Float64Array): number {
  let m = 0;
  for (let j = 0; j < n; j++) {
    const t = maxAbs(a, j + j * n, n - j);
    if (Number.isNaN(t)) return t;
    m = Math.max(m, t);
  }
  return m;
}

/** The lower triangle of `a` times 2^exponent, exactly. */
function scaleLower(n: number, a: Float64Array, exponent: number): void {
  if (exponent === 0) return;
  for (let j = 0; j < n; j++) {
    for (let i = j + j * n; i < (j + 1) * n; i++) a[i] = scaleByPowerOfTwo(a[i]!, exponent);
  }
}

/** a := I (n x n). */
function setIdentity(n: number, a: Float64Array): void {
  a.fill(0, 0, n * n);
  for (let i = 0; i < n; i++) a[i + i * n] = 1;
}
