/**
 * Pure TypeScript Cholesky routines (LAPACK dpotrf, dpotrs, dpotri) on dense
 * column-major `Float64Array`s using the lower triangle, with the semantics
 * of the `Kernels` contract (kernels.ts). The O(n^3) work runs in the packed
 * gemm of blas.ts; only small diagonal blocks use unblocked loops.
 *
 * No Node APIs are used: this module runs unchanged in a browser.
 */
import { dgemmAt, dsyrkAt } from './blas.js';
import { dtrsmAt } from './trsm.js';

/** Column-block width of the blocked Cholesky factorisation. */
const POTRF_NB = 64;
/** Triangles at most this large are inverted or multiplied by unblocked loops. */
const LEAF = 32;

/**
 * Cholesky factorisation A = L L^T of a symmetric positive definite n x n
 * matrix, in place in the lower triangle of `a`; the strict upper triangle is
 * neither read nor written.
 *
 * Returns 0, or i > 0 when the leading minor of order i is not positive
 * definite (its pivot is <= 0 or NaN); the factorisation stops there, as
 * LAPACK's does.
 *
 * Left-looking blocked algorithm of LAPACK's dpotrf: each block column is
 * updated by syrk/gemm with all the columns to its left, its diagonal block is
 * factored unblocked, and the panel below is solved by trsm. Backward stable
 * (Golub & Van Loan, "Matrix Computations", 4th ed., 2013, sec. 4.2; Higham,
 * "Accuracy and Stability of Numerical Algorithms", 2nd ed., ch. 10).
 */
export function dpotrf(n: number, a: Float64Array): number {
  for (let j = 0; j < n; j += POTRF_NB) {
    const jb = Math.min(POTRF_NB, n - j);
    const ajj = j + j * n;
    // A[j:j+jb, j:j+jb] -= L[j:j+jb, 0:j] L[j:j+jb, 0:j]^T
    dsyrkAt(false, jb, j, -1, a, j, n, 1, a, ajj, n);
    const info = factorUnblocked(jb, a, ajj, n);
    if (info > 0) return info + j;
    const rest = n - j - jb;
    if (rest > 0) {
      const below = ajj + jb;
      // A[j+jb:n, j:j+jb] -= L[j+jb:n, 0:j] L[j:j+jb, 0:j]^T, then times L_jj^-T.
      dgemmAt(false, true, rest, jb, j, -1, a, j + jb, n, a, j, n, 1, a, below, n);
      dtrsmAt(false, true, true, false, rest, jb, 1, a, ajj, n, a, below, n);
    }
  }
  return 0;
}

/**
 * Solves A X = B in place in `b` (n x nrhs), given the lower Cholesky factor
 * L of A (n x n): L Y = B, then L^T X = Y, both as blocked trsm. Returns 0.
 */
export function dpotrs(n: number, nrhs: number, l: Float64Array, b: Float64Array): number {
  dtrsmAt(true, true, false, false, n, nrhs, 1, l, 0, n, b, 0, n);
  dtrsmAt(true, true, true, false, n, nrhs, 1, l, 0, n, b, 0, n);
  return 0;
}

/**
 * Inverse of A from its lower Cholesky factor L (n x n), in place: the lower
 * triangle of `l` becomes the lower triangle of A^-1 = L^-T L^-1, the strict
 * upper triangle is untouched. Returns 0, or i > 0 when L(i,i) is exactly 0
 * (then `l` is unchanged).
 *
 * As LAPACK's dpotri: L is inverted in place (dtrtri), then the product
 * L^-T L^-1 is formed in place (dlauum); both are recursive so that their
 * work runs in gemm/syrk/trsm. See Du Croz & Higham, "Stability of methods
 * for matrix inversion", IMA J. Numer. Anal. 12, 1992, for their stability.
 */
export function dpotri(n: number, l: Float64Array): number {
  for (let i = 0; i < n; i++) {
    if (l[i + i * n] === 0) return i + 1;
  }
  invertLower(n, l, 0, n);
  lowerTransposeTimesLower(n, l, 0, n);
  return 0;
}

/**
 * Unblocked Cholesky of the jb x jb block at `off` (leading dimension ld),
 * column by column (the left-looking jki form): column j is updated with all
 * columns left of it, then scaled by its pivot. Returns 0 or the 1-based
 * column of a pivot that is <= 0 or NaN, which is left in the diagonal.
 */
function factorUnblocked(jb: number, a: Float64Array, off: number, ld: number): number {
  for (let j = 0; j < jb; j++) {
    const col = off + j * ld;
    for (let p = 0; p < j; p++) {
      const colp = off + p * ld;
      const ljp = a[colp + j]!;
      for (let i = j; i < jb; i++) a[col + i]! -= a[colp + i]! * ljp;
    }
    const pivot = a[col + j]!;
    // Written as !(pivot > 0) so that a NaN pivot fails too.
    if (!(pivot > 0)) return j + 1;
    const d = Math.sqrt(pivot);
    a[col + j] = d;
    for (let i = j + 1; i < jb; i++) a[col + i]! /= d;
  }
  return 0;
}

/**
 * Replaces the n x n lower triangular block at `off` by its inverse (LAPACK
 * dtrtri, lower, non-unit; the diagonal must be nonzero). Recursive on
 * L = [L11 0; L21 L22], whose inverse has L11^-1, L22^-1 on the diagonal and
 * -L22^-1 L21 L11^-1 below, formed by two trsm with the original triangles.
 */
function invertLower(n: number, a: Float64Array, off: number, ld: number): void {
  if (n <= LEAF) {
    invertLowerUnblocked(n, a, off, ld);
    return;
  }
  const n1 = n >> 1;
  const n2 = n - n1;
  const a21 = off + n1;
  const a22 = off + n1 * (ld + 1);
  dtrsmAt(true, true, false, false, n2, n1, 1, a, a22, ld, a, a21, ld);
  dtrsmAt(false, true, false, false, n2, n1, -1, a, off, ld, a, a21, ld);
  invertLower(n1, a, off, ld);
  invertLower(n2, a, a22, ld);
}

/**
 * Unblocked lower triangular inverse (LAPACK dtrti2): columns right to left,
 * each multiplied by the already inverted trailing triangle and scaled by
 * minus the inverted pivot.
 */
function invertLowerUnblocked(n: number, a: Float64Array, off: number, ld: number): void {
  for (let j = n - 1; j >= 0; j--) {
    const col = off + j * ld;
    const inv = 1 / a[col + j]!;
    a[col + j] = inv;
    // x = a[j+1:n, j] := Linv[j+1:n, j+1:n] x, bottom up so x[p] is read before it changes.
    for (let p = n - 1; p > j; p--) {
      const colp = off + p * ld;
      const t = a[col + p]!;
      for (let i = p + 1; i < n; i++) a[col + i]! += t * a[colp + i]!;
      a[col + p] = t * a[colp + p]!;
    }
    for (let i = j + 1; i < n; i++) a[col + i]! *= -inv;
  }
}

/**
 * Replaces the n x n lower triangular block M at `off` by the lower triangle
 * of M^T M (LAPACK dlauum, lower). Recursive on M = [M11 0; M21 M22]:
 * (M^T M)11 = M11^T M11 + M21^T M21, (M^T M)21 = M22^T M21,
 * (M^T M)22 = M22^T M22, in an order that reads M21 before it is overwritten.
 */
function lowerTransposeTimesLower(n: number, a: Float64Array, off: number, ld: number): void {
  if (n <= LEAF) {
    lowerTransposeTimesLowerUnblocked(n, a, off, ld);
    return;
  }
  const n1 = n >> 1;
  const n2 = n - n1;
  const a21 = off + n1;
  const a22 = off + n1 * (ld + 1);
  lowerTransposeTimesLower(n1, a, off, ld);
  dsyrkAt(true, n1, n2, 1, a, a21, ld, 1, a, off, ld);
  lowerTransposeTimes(n2, n1, a, a22, a21, ld);
  lowerTransposeTimesLower(n2, a, a22, ld);
}

/**
 * Unblocked dlauu2 (lower): row i of M^T M's lower triangle is
 * M(i,i) M(i, 0:i) + M(i+1:n, i)^T M(i+1:n, 0:i), which reads only rows
 * below i, so rows are overwritten top to bottom.
 */
function lowerTransposeTimesLowerUnblocked(n: number, a: Float64Array, off: number, ld: number): void {
  for (let i = 0; i < n; i++) {
    const coli = off + i * ld;
    const mii = a[coli + i]!;
    for (let p = 0; p < i; p++) {
      const colp = off + p * ld;
      let s = mii * a[colp + i]!;
      for (let r = i + 1; r < n; r++) s += a[colp + r]! * a[coli + r]!;
      a[colp + i] = s;
    }
    let d = 0;
    for (let r = i; r < n; r++) d += a[coli + r]! * a[coli + r]!;
    a[coli + i] = d;
  }
}

/**
 * B := M^T B in place, with M the m x m lower triangle at `mOff` and B the
 * m x n block at `bOff` (LAPACK dtrmm left, lower, transposed). Recursive on
 * M = [M11 0; M21 M22]: B1 := M11^T B1 + M21^T B2 (which still reads the
 * original B2), then B2 := M22^T B2.
 */
function lowerTransposeTimes(m: number, n: number, a: Float64Array, mOff: number, bOff: number, ld: number): void {
  if (m <= LEAF) {
    lowerTransposeTimesUnblocked(m, n, a, mOff, bOff, ld);
    return;
  }
  const m1 = m >> 1;
  const m2 = m - m1;
  lowerTransposeTimes(m1, n, a, mOff, bOff, ld);
  dgemmAt(true, false, m1, n, m2, 1, a, mOff + m1, ld, a, bOff + m1, ld, 1, a, bOff, ld);
  lowerTransposeTimes(m2, n, a, mOff + m1 * (ld + 1), bOff + m1, ld);
}

/**
 * Unblocked B := M^T B: entry i of each column becomes the dot product of
 * M's column i (rows i..m) with the column, computed top down so that the
 * entries below i are still the original ones.
 */
function lowerTransposeTimesUnblocked(m: number, n: number, a: Float64Array, mOff: number, bOff: number, ld: number): void {
  for (let j = 0; j < n; j++) {
    const colb = bOff + j * ld;
    for (let i = 0; i < m; i++) {
      const colm = mOff + i * ld;
      let s = 0;
      for (let r = i; r < m; r++) s += a[colm + r]! * a[colb + r]!;
      a[colb + i] = s;
    }
  }
}
