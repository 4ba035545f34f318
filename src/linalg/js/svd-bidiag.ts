/**
 * Golub-Kahan bidiagonalisation and the implicit-shift QR iteration for the
 * singular values of a bidiagonal matrix, the SVD engine of gesdd.ts. No
 * Node APIs are used.
 */
import { applyReflector, householder } from './eig-reflectors.js';
import { hypot, rotatePair } from './eig-rotation.js';

const EPS = 2 ** -52;
/** Below this, |e_k| or |d_k| counts as zero regardless of its neighbours (LINPACK's tiny). */
const TINY = 2 ** -966;
/** QR sweeps allowed per singular value before giving up. */
const MAX_SWEEPS = 75;

/**
 * Reduces the square n x n matrix `a` to upper bidiagonal form
 * B = U_B^T A V_B (LAPACK dgebd2): d[0:n] is the diagonal of B and e[0:n-1]
 * its superdiagonal. The left reflectors of U_B = H_0 ... H_{n-1} stay below
 * the diagonal of `a` (unit at (k, k), factor tauq[k]); the right reflectors
 * of V_B = G_0 ... G_{n-2} go to column k of `p` (n x n; unit at (k+1, k),
 * factor taup[k]), so that both can be applied by eig-reflectors.ts applyQ.
 *
 * Left and right reflectors alternate (Golub & Kahan, SIAM J. Numer. Anal.
 * 2, 1965; Golub & Van Loan, "Matrix Computations", 4th ed., 2013, sec.
 * 5.4.8). The right reflector needs a row of `a`, which is copied out once;
 * its application is an axpy per column, so every loop runs down contiguous
 * columns.
 */
export function bidiagonalize(n: number, a: Float64Array, d: Float64Array, e: Float64Array, tauq: Float64Array, taup: Float64Array, p: Float64Array): void {
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const diag = k + k * n;
    tauq[k] = householder(n - k, a, diag);
    d[k] = a[diag]!;
    applyReflector(n - k, n - k - 1, a, diag, tauq[k]!, diag + n, n);
    if (k === n - 1) break;
    // Row k to the right of the diagonal becomes the reflector's vector, in column k of p.
    const unit = k + 1 + k * n;
    for (let j = k + 1; j < n; j++) p[j + k * n] = a[k + j * n]!;
    const t = householder(n - k - 1, p, unit);
    taup[k] = t;
    e[k] = p[unit]!;
    if (t !== 0) applyRight(n, k, a, p, unit, t, w);
  }
}

/**
 * A[k+1:n, k+1:n] := A (I - tau v v^T) with v(0) = 1 and v(1:) after
 * p[unit]: w = A v by axpys down the columns, then A -= tau w v^T.
 */
function applyRight(n: number, k: number, a: Float64Array, p: Float64Array, unit: number, tau: number, w: Float64Array): void {
  w.fill(0);
  for (let j = k + 1; j < n; j++) {
    const vj = j === k + 1 ? 1 : p[unit + j - k - 1]!;
    const col = j * n;
    for (let i = k + 1; i < n; i++) w[i]! += a[col + i]! * vj;
  }
  for (let j = k + 1; j < n; j++) {
    const f = tau * (j === k + 1 ? 1 : p[unit + j - k - 1]!);
    const col = j * n;
    for (let i = k + 1; i < n; i++) a[col + i]! -= f * w[i]!;
  }
}

/**
 * Singular values of the upper bidiagonal B (diagonal s[0:n], superdiagonal
 * e[0:n-1]; both destroyed), with the left and right rotations accumulated
 * into the columns of u and v (each n x n): on return s >= 0 (unsorted), and
 * u diag(s) v^T equals the incoming u B v^T.
 * Returns 0, or p > 0 when singular value p-1 needed more than MAX_SWEEPS sweeps.
 *
 * LINPACK dsvdc's iteration (Golub & Reinsch, Numer. Math. 14, 1970; as in
 * JAMA): find the trailing unreduced block, split it where a diagonal entry
 * is negligible by chasing that row (or column) to zero with rotations, and
 * otherwise do an implicit QR sweep shifted by the eigenvalue of the trailing
 * 2 x 2 of B^T B nearer its last entry (Wilkinson's shift). Entries are
 * negligible relative to their neighbours, which gives singular values with
 * errors O(eps ||B||) (Golub & Van Loan, sec. 8.6.2).
 */
export function bidiagonalQR(n: number, s: Float64Array, e: Float64Array, u: Float64Array, v: Float64Array): number {
  e[n - 1] = 0;
  let p = n;
  let sweeps = 0;
  while (p > 0) {
    // Find k with e[k-1] negligible (or k = 0): the unreduced block is k..p-1.
    let k = p - 2;
    for (; k >= 0; k--) {
      if (Math.abs(e[k]!) <= TINY + EPS * (Math.abs(s[k]!) + Math.abs(s[k + 1]!))) {
        e[k] = 0;
        break;
      }
    }
    if (k === p - 2) {
      // e[p-2] is negligible: s[p-1] has converged.
      if (s[p - 1]! < 0) negateColumn(n, v, p - 1, s);
      else s[p - 1] = s[p - 1]! + 0; // turns -0 into +0
      p--;
      sweeps = 0;
      continue;
    }
    if (++sweeps > MAX_SWEEPS) return p;
    const ks = negligibleDiagonal(k, p, s, e);
    if (ks === p - 1) deflateLast(n, k + 1, p, s, e, v);
    else if (ks > k) splitAt(n, ks + 1, p, s, e, u);
    else qrSweep(n, k + 1, p, s, e, u, v);
  }
  return 0;
}

/**
 * The largest ks in k+1..p-1 whose s[ks] is negligible next to its
 * off-diagonal neighbours (set to 0), or k when there is none.
 */
function negligibleDiagonal(k: number, p: number, s: Float64Array, e: Float64Array): number {
  for (let ks = p - 1; ks > k; ks--) {
    const t = Math.abs(e[ks]!) + (ks !== k + 1 ? Math.abs(e[ks - 1]!) : 0);
    if (Math.abs(s[ks]!) <= TINY + EPS * t) {
      s[ks] = 0;
      return ks;
    }
  }
  return k;
}

/** s[p-1] = 0: rotations on the right chase e[p-2] up the last column to zero. */
function deflateLast(n: number, k: number, p: number, s: Float64Array, e: Float64Array, v: Float64Array): void {
  let f = e[p - 2]!;
  e[p - 2] = 0;
  for (let j = p - 2; j >= k; j--) {
    const r = givens(s[j]!, f);
    s[j] = r.t;
    if (j !== k) {
      f = -r.s * e[j - 1]!;
      e[j - 1] = r.c * e[j - 1]!;
    }
    rotateColumns(n, v, j, p - 1, r.c, r.s);
  }
}

/** s[k-1] = 0: rotations on the left chase e[k-1] along row k-1 to zero, splitting the block. */
function splitAt(n: number, k: number, p: number, s: Float64Array, e: Float64Array, u: Float64Array): void {
  let f = e[k - 1]!;
  e[k - 1] = 0;
  for (let j = k; j < p; j++) {
    const r = givens(s[j]!, f);
    s[j] = r.t;
    f = -r.s * e[j]!;
    e[j] = r.c * e[j]!;
    rotateColumns(n, u, j, k - 1, r.c, r.s);
  }
}

/**
 * One implicit-shift QR sweep on the unreduced block k..p-1 (Golub & Van
 * Loan, Alg. 8.6.1): the first right rotation is that of the shifted
 * B^T B - mu I, and the bulge it creates is chased down by alternating left
 * and right rotations. The shift is computed from entries scaled by the
 * block's largest so that squaring them cannot overflow. Rotations update B
 * in the form x - (d x - s y) for the reason given in eig-rotation.ts: as
 * c x + s y, the near-identity rotations of late sweeps inflated the largest
 * singular values of a random 300 x 300 matrix, which stay in the active
 * block longest, by up to 90 eps; this way, and with the unbiased hypot of
 * eig-rotation.ts, they are within 25 eps, as LAPACK dbdsqr's.
 */
function qrSweep(n: number, k: number, p: number, s: Float64Array, e: Float64Array, u: Float64Array, v: Float64Array): void {
  const scale = Math.max(Math.abs(s[p - 1]!), Math.abs(s[p - 2]!), Math.abs(e[p - 2]!), Math.abs(s[k]!), Math.abs(e[k]!));
  const sp = s[p - 1]! / scale;
  const spm1 = s[p - 2]! / scale;
  const epm1 = e[p - 2]! / scale;
  const sk = s[k]! / scale;
  const ek = e[k]! / scale;
  const b = ((spm1 + sp) * (spm1 - sp) + epm1 * epm1) / 2;
  const c = sp * epm1 * (sp * epm1);
  let shift = 0;
  if (b !== 0 || c !== 0) {
    shift = Math.sqrt(b * b + c);
    if (b < 0) shift = -shift;
    shift = c / (b + shift);
  }
  let f = (sk + sp) * (sk - sp) + shift;
  let g = sk * ek;
  for (let j = k; j < p - 1; j++) {
    // Right rotation of columns j, j+1: zeroes g (the bulge, or the shifted start).
    let r = givens(f, g);
    if (j !== k) e[j - 1] = r.t;
    const sj = s[j]!,
      ej = e[j]!,
      sj1 = s[j + 1]!;
    f = sj - (r.d * sj - r.s * ej);
    const ej1 = ej - (r.d * ej + r.s * sj);
    g = r.s * sj1;
    const sj2 = sj1 - r.d * sj1;
    rotateColumns(n, v, j, j + 1, r.c, r.s);
    // Left rotation of rows j, j+1: zeroes the bulge below the diagonal.
    r = givens(f, g);
    s[j] = r.t;
    f = ej1 - (r.d * ej1 - r.s * sj2);
    s[j + 1] = sj2 - (r.d * sj2 + r.s * ej1);
    const ejn = e[j + 1]!;
    g = r.s * ejn;
    e[j + 1] = ejn - r.d * ejn;
    rotateColumns(n, u, j, j + 1, r.c, r.s);
  }
  e[p - 2] = f;
}

/**
 * The plane rotation [c s; -s c] taking (f, g) to (t, 0), with t of the sign
 * of f so that c >= 0 (as LAPACK's dlartg) and d = 1 - c = s^2 / (1 + c)
 * accurate; the identity when f = g = 0.
 */
interface Givens {
  readonly t: number;
  readonly c: number;
  readonly s: number;
  readonly d: number;
}

function givens(f: number, g: number): Givens {
  if (f === 0 && g === 0) return { t: 0, c: 1, s: 0, d: 0 };
  const t = f < 0 ? -hypot(f, g) : hypot(f, g);
  const c = f / t;
  const s = g / t;
  return { t, c, s, d: (s * s) / (1 + c) };
}

/** (x_i, x_j) := (cs x_i + sn x_j, cs x_j - sn x_i) on columns i, j of the n x n x. */
function rotateColumns(n: number, x: Float64Array, i: number, j: number, cs: number, sn: number): void {
  rotatePair(n, x, i * n, j * n, cs, sn);
}

/** Makes s[j] non-negative by flipping the sign of column j of v. */
function negateColumn(n: number, v: Float64Array, j: number, s: Float64Array): void {
  s[j] = -s[j]!;
  for (let r = j * n; r < (j + 1) * n; r++) v[r] = -v[r]!;
}
