/**
 * Householder reduction of a symmetric matrix to tridiagonal form from its
 * lower triangle (LAPACK dsytrd with uplo = 'L'), on column-major storage.
 * No Node APIs are used.
 */
import { dotCompensated, householder } from './eig-reflectors.js';

/**
 * Reduces the symmetric n x n matrix whose lower triangle is in `a` to
 * T = Q^T A Q, tridiagonal, with Q = H_0 H_1 ... H_{n-3}. On return d[0:n]
 * is the diagonal of T, e[0:n-1] its subdiagonal, and column k of `a` holds
 * reflector H_k = I - tau[k] v v^T below the subdiagonal (v(k+1) = 1
 * implicit, v(k+2:n) in a[k+2:n, k]), as dsytrd leaves them for dormtr.
 *
 * Step k annihilates column k below the subdiagonal and updates the trailing
 * matrix by the symmetric rank-2 update A -= v w^T + w v^T, with
 * w = tau A v - (tau^2/2)(v^T A v) v (Golub & Van Loan, "Matrix Computations",
 * 4th ed., 2013, sec. 8.3.1). The update of step k and the product A v of
 * step k+1 are fused into one pass over the trailing lower triangle, so each
 * step reads and writes it once, column by column, four columns at a time.
 * Backward stable: T is the exact reduction of A + E with ||E|| = O(n eps ||A||).
 */
export function tridiagonalize(n: number, a: Float64Array, d: Float64Array, e: Float64Array, tau: Float64Array): void {
  const v = new Float64Array(n);
  // The rank-2 update (vp, wp) of the previous step, applied lazily column by column.
  const vp = new Float64Array(n);
  const wp = new Float64Array(n);
  const y = new Float64Array(n);
  for (let k = 0; k < n - 1; k++) {
    const ck = k * n;
    const vk = vp[k]!,
      wk = wp[k]!;
    for (let i = k; i < n; i++) a[ck + i]! -= vp[i]! * wk + wp[i]! * vk;
    d[k] = a[ck + k]!;
    const t = householder(n - k - 1, a, ck + k + 1);
    tau[k] = t;
    e[k] = a[ck + k + 1]!;
    v.fill(0, 0, k + 1);
    v[k + 1] = 1;
    for (let i = k + 2; i < n; i++) v[i] = a[ck + i]!;
    y.fill(0);
    updateAndMultiply(n, k + 1, a, vp, wp, v, y);
    // The next pending update is w = tau y - (tau^2/2)(y^T v) v with y = A v.
    const half = 0.5 * t * t * dotCompensated(n - k - 1, y, k + 1, v, k + 1);
    vp.set(v);
    wp.fill(0, 0, k + 1);
    for (let i = k + 1; i < n; i++) wp[i] = t * y[i]! - half * v[i]!;
  }
  d[n - 1] = a[n * n - 1]!;
}

/**
 * For the trailing matrix A[j0:n, j0:n] (lower triangle): applies the pending
 * update A -= vp wp^T + wp vp^T and accumulates y += A v with the updated
 * values, in one pass. Each stored a_ij (i > j) stands for both a_ij and
 * a_ji, so it contributes to y_i and to y_j.
 */
function updateAndMultiply(n: number, j0: number, a: Float64Array, vp: Float64Array, wp: Float64Array, v: Float64Array, y: Float64Array): void {
  let j = j0;
  for (; j + 4 <= n; j += 4) {
    // The 4 x 4 lower triangle on the diagonal, one column at a time.
    for (let c = 0; c < 4; c++) updateColumn(n, j + c, j + 4, a, vp, wp, v, y);
    updateFourColumns(n, j, a, vp, wp, v, y);
  }
  for (; j < n; j++) updateColumn(n, j, n, a, vp, wp, v, y);
}

/** The fused update and product for rows j..end-1 of column j. */
function updateColumn(n: number, j: number, end: number, a: Float64Array, vp: Float64Array, wp: Float64Array, v: Float64Array, y: Float64Array): void {
  const col = j * n;
  const pj = vp[j]!,
    qj = wp[j]!,
    vj = v[j]!;
  const ajj = a[col + j]! - 2 * pj * qj;
  a[col + j] = ajj;
  let s = ajj * vj;
  for (let i = j + 1; i < end; i++) {
    const x = a[col + i]! - (vp[i]! * qj + wp[i]! * pj);
    a[col + i] = x;
    y[i]! += x * vj;
    s += x * v[i]!;
  }
  y[j]! += s;
}

/**
 * The fused update and product for rows j+4..n-1 of columns j..j+3: four
 * columns share each load of vp, wp, v and y, which is what makes the pass
 * bandwidth- rather than latency-bound.
 */
function updateFourColumns(n: number, j: number, a: Float64Array, vp: Float64Array, wp: Float64Array, v: Float64Array, y: Float64Array): void {
  const c0 = j * n,
    c1 = c0 + n,
    c2 = c1 + n,
    c3 = c2 + n;
  const p0 = vp[j]!,
    p1 = vp[j + 1]!,
    p2 = vp[j + 2]!,
    p3 = vp[j + 3]!;
  const q0 = wp[j]!,
    q1 = wp[j + 1]!,
    q2 = wp[j + 2]!,
    q3 = wp[j + 3]!;
  const v0 = v[j]!,
    v1 = v[j + 1]!,
    v2 = v[j + 2]!,
    v3 = v[j + 3]!;
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  for (let i = j + 4; i < n; i++) {
    const pi = vp[i]!,
      qi = wp[i]!,
      vi = v[i]!;
    const x0 = a[c0 + i]! - (pi * q0 + qi * p0);
    const x1 = a[c1 + i]! - (pi * q1 + qi * p1);
    const x2 = a[c2 + i]! - (pi * q2 + qi * p2);
    const x3 = a[c3 + i]! - (pi * q3 + qi * p3);
    a[c0 + i] = x0;
    a[c1 + i] = x1;
    a[c2 + i] = x2;
    a[c3 + i] = x3;
    y[i]! += x0 * v0 + x1 * v1 + x2 * v2 + x3 * v3;
    s0 += x0 * vi;
    s1 += x1 * vi;
    s2 += x2 * vi;
    s3 += x3 * vi;
  }
  y[j]! += s0;
  y[j + 1]! += s1;
  y[j + 2]! += s2;
  y[j + 3]! += s3;
}
