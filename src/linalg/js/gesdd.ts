/**
 * Pure TypeScript thin singular value decomposition (the result of LAPACK
 * dgesdd) with the semantics of the `Kernels` contract (kernels.ts). No Node
 * APIs are used: this module runs unchanged in a browser.
 */
import { applyQ } from './eig-reflectors.js';
import { maxAbs, safeScalingExponent, scaleByPowerOfTwo } from './eig-scaling.js';
import { bidiagonalQR, bidiagonalize } from './svd-bidiag.js';
import { qrFactor } from './svd-qr.js';

/**
 * Thin SVD A = U diag(s) V^T of the m x n matrix `a` (destroyed), with
 * p = min(m, n): s[0:p] descending and non-negative, `u` m x p with
 * orthonormal columns, `vt` p x n with orthonormal rows, also where s_i = 0.
 * Returns 0, or i > 0 when the QR iteration failed to converge (or, as 1,
 * when A has a non-finite entry; s is then NaN).
 *
 * A wide A is decomposed through A^T. For m >= n (Golub & Van Loan, "Matrix
 * Computations", 4th ed., 2013, secs. 8.6.2-8.6.3; LAPACK dgesvd's path for
 * tall matrices):
 * 1. A = Q R by Householder QR when m > n, so the rest works on n x n,
 * 2. R = U_B B V_B^T, B upper bidiagonal (Golub-Kahan),
 * 3. B = U_2 diag(s) V_2^T by implicit-shift QR (Golub-Reinsch), the
 *    rotations accumulated into U_B and V_B,
 * 4. U = Q [U_B U_2; 0], V = V_B V_2.
 * U and V are products of reflectors and rotations, hence orthonormal to
 * working precision whatever the rank; the singular values have errors
 * O(n eps) s_max. A max-norm outside [2^-480, 2^480] is first scaled into
 * that range by a power of two (exact, and undone on s).
 */
export function dgesdd(m: number, n: number, a: Float64Array, s: Float64Array, u: Float64Array, vt: Float64Array): number {
  if (m === 0 || n === 0) return 0;
  if (m >= n) {
    const v = new Float64Array(n * n);
    const info = tallSvd(m, n, a, s, u, v);
    transposeInto(n, n, v, vt);
    return info;
  }
  // A^T = U' diag(s) V'^T gives A = V' diag(s) U'^T: u = V', vt = U'^T.
  const at = new Float64Array(m * n);
  transposeInto(m, n, a, at);
  const ut = new Float64Array(n * m);
  const info = tallSvd(n, m, at, s, ut, u);
  transposeInto(n, m, ut, vt);
  return info;
}

/** SVD of an m x n matrix with m >= n: u is m x n and v is n x n (V itself, not V^T). */
function tallSvd(m: number, n: number, a: Float64Array, s: Float64Array, u: Float64Array, v: Float64Array): number {
  const anrm = maxAbs(a, 0, m * n);
  if (!Number.isFinite(anrm)) {
    s.fill(Number.NaN, 0, n);
    return 1;
  }
  const exponent = safeScalingExponent(anrm);
  if (exponent !== 0) for (let i = 0; i < m * n; i++) a[i] = scaleByPowerOfTwo(a[i]!, exponent);
  const tau = new Float64Array(n);
  let r = a;
  if (m > n) {
    qrFactor(m, n, a, tau);
    r = upperTriangle(m, n, a);
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const tauq = new Float64Array(n);
  const taup = new Float64Array(n);
  const right = new Float64Array(n * n);
  bidiagonalize(n, r, d, e, tauq, taup, right);
  const ub = identity(n);
  applyQ(n, n, n, r, 0, n, tauq, ub, 0, n);
  // Right reflector k acts on rows k+1..n-1; its unit is element (k+1, k) of `right`.
  const vb = identity(n);
  applyQ(n - 1, n - 1, n, right, 1, n, taup, vb, 1, n);
  const info = bidiagonalQR(n, d, e, ub, vb);
  const order = Array.from({ length: n }, (_, j) => j).sort((p, q) => d[q]! - d[p]!);
  u.fill(0, 0, m * n);
  order.forEach((src, c) => {
    s[c] = scaleByPowerOfTwo(d[src]!, -exponent);
    v.set(vb.subarray(src * n, (src + 1) * n), c * n);
    u.set(ub.subarray(src * n, (src + 1) * n), c * m);
  });
  if (m > n) applyQ(n, m, n, a, 0, m, tau, u, 0, m);
  return info;
}

/** The upper triangle of the m x n `a` as an n x n matrix, zeros below. */
function upperTriangle(m: number, n: number, a: Float64Array): Float64Array {
  const r = new Float64Array(n * n);
  for (let j = 0; j < n; j++) r.set(a.subarray(j * m, j * m + j + 1), j * n);
  return r;
}

/** The n x n identity. */
function identity(n: number): Float64Array {
  const x = new Float64Array(n * n);
  for (let i = 0; i < n; i++) x[i + i * n] = 1;
  return x;
}

/** Writes the transpose of the rows x cols matrix `src` into `dst` (cols x rows). */
function transposeInto(rows: number, cols: number, src: Float64Array, dst: Float64Array): void {
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) dst[j + i * cols] = src[i + j * rows]!;
  }
}
