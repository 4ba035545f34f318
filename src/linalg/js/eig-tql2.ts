/**
 * Implicit QL iteration for small symmetric tridiagonal eigenproblems, the
 * leaf solver of the divide and conquer in eig-dc.ts. No Node APIs are used.
 */
import { hypot, rotatePair } from './eig-rotation.js';

const EPS = 2 ** -52;
/** LAPACK dsteqr's allowance of QL sweeps per eigenvalue. */
const SWEEPS_PER_EIGENVALUE = 30;

/**
 * Eigendecomposition of the symmetric tridiagonal matrix with diagonal
 * d[0:n] and off-diagonal e[0:n-1] (e[i] couples i and i+1). On return d
 * holds the eigenvalues in ascending order and the n x n block of `z` at
 * `zOff` (leading dimension `ldz`) the orthonormal eigenvectors as columns;
 * e is left unchanged. Returns 0, or l + 1 when eigenvalue l did not
 * converge.
 *
 * EISPACK tql2 (Bowdler, Martin, Reinsch & Wilkinson, Numer. Math. 11, 1968),
 * as in JAMA: QL sweeps with Wilkinson-like implicit shifts, deflating when an
 * off-diagonal falls below eps times the norm seen so far. Each rotation
 * combines two adjacent columns of z, which are contiguous here.
 */
export function tridiagonalQL(n: number, d: Float64Array, e: Float64Array, z: Float64Array, zOff: number, ldz: number): number {
  for (let j = 0; j < n; j++) {
    const col = zOff + j * ldz;
    z.fill(0, col, col + n);
    z[col + j] = 1;
  }
  const off = new Float64Array(n);
  off.set(e.subarray(0, n - 1));
  let shift = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(off[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(off[m]!) > EPS * tst1) m++;
    let sweeps = 0;
    while (m > l) {
      if (++sweeps > SWEEPS_PER_EIGENVALUE) return l + 1;
      shift += qlSweep(n, l, m, d, off, z, zOff, ldz);
      if (Math.abs(off[l]!) <= EPS * tst1) break;
    }
    d[l] = d[l]! + shift;
    off[l] = 0;
  }
  sortAscending(n, d, z, zOff, ldz);
  return 0;
}

/**
 * One implicit QL sweep on the unreduced block l..m: shifts the block's
 * origin by the eigenvalue of the leading 2 x 2 closer to d[l] (returned, to
 * be accumulated), then chases the bulge from m up to l with plane rotations,
 * applying each to columns i, i+1 of z.
 */
function qlSweep(n: number, l: number, m: number, d: Float64Array, off: Float64Array, z: Float64Array, zOff: number, ldz: number): number {
  const g0 = d[l]!;
  let p = (d[l + 1]! - g0) / (2 * off[l]!);
  let r = hypot(p, 1);
  if (p < 0) r = -r;
  d[l] = off[l]! / (p + r);
  d[l + 1] = off[l]! * (p + r);
  const dl1 = d[l + 1]!;
  const h0 = g0 - d[l]!;
  for (let i = l + 2; i < n; i++) d[i]! -= h0;
  p = d[m]!;
  let c = 1,
    c2 = 1,
    c3 = 1,
    s = 0,
    s2 = 0;
  const el1 = off[l + 1]!;
  for (let i = m - 1; i >= l; i--) {
    c3 = c2;
    c2 = c;
    s2 = s;
    const g = c * off[i]!;
    const h = c * p;
    r = hypot(p, off[i]!);
    off[i + 1] = s * r;
    s = off[i]! / r;
    c = p / r;
    p = c * d[i]! - s * g;
    d[i + 1] = h + s * (c * g + s * d[i]!);
    // (z_i, z_i+1) := (c z_i - s z_i+1, s z_i + c z_i+1)
    rotatePair(n, z, zOff + i * ldz, zOff + (i + 1) * ldz, c, -s);
  }
  p = (-s * s2 * c3 * el1 * off[l]!) / dl1;
  off[l] = s * p;
  d[l] = c * p;
  return h0;
}

/** Selection sort of d ascending with the columns of z (at most n swaps of columns). */
function sortAscending(n: number, d: Float64Array, z: Float64Array, zOff: number, ldz: number): void {
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    for (let j = i + 1; j < n; j++) if (d[j]! < d[k]!) k = j;
    if (k === i) continue;
    const t = d[i]!;
    d[i] = d[k]!;
    d[k] = t;
    const ci = zOff + i * ldz,
      ck = zOff + k * ldz;
    for (let r = 0; r < n; r++) {
      const x = z[ci + r]!;
      z[ci + r] = z[ck + r]!;
      z[ck + r] = x;
    }
  }
}
