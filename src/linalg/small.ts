// Dense kernels for the tiny systems above the backend: the m x m block of
// one test (m = interaction columns x step, usually 1 to 16), the k x k
// covariate Gram matrix, the P x P trait covariances. Problem-sized O(n^3)
// work never comes here; it goes to the Backend. Matrices are column-major;
// the loops fix the order of every floating-point operation, which the
// recorded outputs depend on.
import { ShapeError } from '../errors.js';
import type { Matrix } from './matrix.js';

/**
 * Symmetric pseudo-inverse of an n x n matrix (column-major, only read
 * symmetrically) by cyclic Jacobi rotations, with numpy's `pinv` cut-off:
 * eigenvalues below `rcond * max|lambda|` count as zero. Returns the inverse
 * and the numerical rank. For the tiny blocks only (n <= ~50).
 */
export function pinvSymmetric(a: ArrayLike<number>, n: number, rcond = 1e-15): { inv: Float64Array; rank: number } {
  const m = Float64Array.from({ length: n * n }, (_, i) => {
    const r = i % n;
    const c = (i - r) / n;
    return 0.5 * (a[r + c * n]! + a[c + r * n]!);
  });
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i + i * n] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let j = 0; j < n; j++) {
      diag += m[j + j * n]! ** 2;
      for (let i = 0; i < j; i++) off += m[i + j * n]! ** 2;
    }
    if (off <= 1e-32 * diag || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p + q * n]!;
        if (apq === 0) continue;
        const app = m[p + p * n]!;
        const aqq = m[q + q * n]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k + p * n]!;
          const mkq = m[k + q * n]!;
          m[k + p * n] = c * mkp - s * mkq;
          m[k + q * n] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p + k * n]!;
          const mqk = m[q + k * n]!;
          m[p + k * n] = c * mpk - s * mqk;
          m[q + k * n] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k + p * n]!;
          const vkq = v[k + q * n]!;
          v[k + p * n] = c * vkp - s * vkq;
          v[k + q * n] = s * vkp + c * vkq;
        }
      }
    }
  }
  let maxAbs = 0;
  for (let i = 0; i < n; i++) maxAbs = Math.max(maxAbs, Math.abs(m[i + i * n]!));
  const cut = rcond * maxAbs;
  const inv = new Float64Array(n * n);
  let rank = 0;
  for (let k = 0; k < n; k++) {
    const lam = m[k + k * n]!;
    if (!(Math.abs(lam) > cut)) continue;
    rank++;
    const il = 1 / lam;
    for (let j = 0; j < n; j++) {
      const vj = v[j + k * n]! * il;
      for (let i = 0; i < n; i++) inv[i + j * n]! += v[i + k * n]! * vj;
    }
  }
  return { inv, rank };
}

/**
 * Lower Cholesky factor L (A = L L^T) of a symmetric n x n matrix
 * (column-major, only the lower triangle read), or null when a pivot is not
 * positive definite: not above `pivotFloor(j)` (default 0) for column j
 * (before its square root). The floor lets a caller demand pivots above a
 * relative tolerance, e.g. 1e-10 of the column's norm. Column by column, the
 * dot-product form (Golub & Van Loan, 4th ed., section 4.2).
 */
export function choleskyLower(a: ArrayLike<number>, n: number, pivotFloor?: (j: number) => number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j + j * n]!;
    for (let k = 0; k < j; k++) d -= l[j + k * n]! ** 2;
    if (!(d > (pivotFloor === undefined ? 0 : pivotFloor(j)))) return null;
    const ljj = Math.sqrt(d);
    l[j + j * n] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i + j * n]!;
      for (let k = 0; k < j; k++) s -= l[i + k * n]! * l[j + k * n]!;
      l[i + j * n] = s / ljj;
    }
  }
  return l;
}

/**
 * Inverse of a symmetric positive definite n x n matrix by Cholesky, or null
 * when a pivot is not positive (the caller then falls back to
 * `pinvSymmetric`). For the tiny blocks only.
 */
export function invSpd(a: ArrayLike<number>, n: number): Float64Array | null {
  const l = choleskyLower(a, n);
  return l === null ? null : choleskyInverse(l, n);
}

/**
 * Solves (L L^T) x = b for a lower Cholesky factor L (n x n): forward
 * substitution L z = b, then back substitution L^T x = z (LAPACK dpotrs for
 * one right-hand side; Golub & Van Loan, 4th ed., section 4.2). Returns x as a
 * new array.
 */
export function choleskySolve(l: ArrayLike<number>, n: number, b: ArrayLike<number>): Float64Array {
  if (b.length !== n) throw new ShapeError(`choleskySolve: L is ${n}x${n} but b has ${b.length} values`);
  const z = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let s = z[i]!;
    for (let j = 0; j < i; j++) s -= l[i + j * n]! * z[j]!;
    z[i] = s / l[i + i * n]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let j = i + 1; j < n; j++) s -= l[j + i * n]! * z[j]!;
    z[i] = s / l[i + i * n]!;
  }
  return z;
}

/**
 * (L L^T)^-1 (n x n, full) from a lower Cholesky factor L, one column per
 * unit vector through `choleskySolve` (LAPACK dpotri computes the same
 * inverse as L^-T L^-1 in a different order).
 */
export function choleskyInverse(l: ArrayLike<number>, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  const e = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    e.fill(0);
    e[c] = 1;
    inv.set(choleskySolve(l, n, e), c * n);
  }
  return inv;
}

/** log det(L L^T) = 2 sum_i log L_ii for a lower Cholesky factor L (n x n). */
export function logdetCholesky(l: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(l[i + i * n]!);
  // Doubling is exact, so this equals the sum of 2 log L_ii term by term.
  return 2 * s;
}

/**
 * Makes a square matrix exactly symmetric in place, both triangles becoming
 * (A + A^T) / 2: for a product that is symmetric in exact arithmetic but not
 * in rounding (L^-1 K L^-T, Z R Z^T) before an eigensolver or a Cholesky.
 */
export function symmetriseAverage(a: Matrix): void {
  const n = square('symmetriseAverage', a);
  const d = a.data;
  for (let j = 0; j < n; j++) {
    for (let i = j + 1; i < n; i++) {
      const v = 0.5 * (d[i + j * n]! + d[j + i * n]!);
      d[i + j * n] = v;
      d[j + i * n] = v;
    }
  }
}

/** Copies the lower triangle of a square matrix onto the upper, in place (what LAPACK's lower-triangle routines leave unset). */
export function symmetriseFromLower(a: Matrix): void {
  const n = square('symmetriseFromLower', a);
  const d = a.data;
  for (let j = 0; j < n; j++) for (let i = j + 1; i < n; i++) d[j + i * n] = d[i + j * n]!;
}

/** Copies the upper triangle of a square matrix onto the lower, in place (a matrix assembled by block columns). */
export function symmetriseFromUpper(a: Matrix): void {
  const n = square('symmetriseFromUpper', a);
  const d = a.data;
  for (let j = 0; j < n; j++) for (let i = j + 1; i < n; i++) d[i + j * n] = d[j + i * n]!;
}

function square(op: string, a: Matrix): number {
  if (a.rows !== a.cols) throw new ShapeError(`${op}: needs a square matrix, found ${a.shape}`);
  return a.rows;
}

/**
 * Inverse of the m x m block of one association test (the Gram matrix of
 * its design after the covariates were projected out, `norm0` the squared
 * norms of its columns before the projection): Cholesky, or a
 * pseudo-inverse (limix uses pinv) when the block is singular. A column
 * whose diagonal fell to 1e-12 of its norm0 or below (a constant variant,
 * say) counts as zero: its row and column are zeroed and it adds no rank;
 * rank 0 means there is nothing to test. With `pivotTol` the Cholesky path
 * is taken only when every pivot exceeds pivotTol x norm0 of its column
 * (judged on a separate factorisation), else the pseudo-inverse with
 * rcond 1e-10. The rank is the test's degrees of freedom.
 */
export function invertTestBlock(gram: ArrayLike<number>, m: number, norm0: ArrayLike<number>, pivotTol?: number): { inv: Float64Array; rank: number } {
  let degenerate = 0;
  const g = Float64Array.from(gram);
  for (let i = 0; i < m; i++) {
    if (!(g[i + i * m]! > 1e-12 * norm0[i]!)) {
      degenerate++;
      for (let j = 0; j < m; j++) {
        g[i + j * m] = 0;
        g[j + i * m] = 0;
      }
    }
  }
  if (degenerate === m) return { inv: new Float64Array(m * m), rank: 0 };
  if (degenerate === 0 && (pivotTol === undefined || choleskyLower(g, m, (j) => pivotTol * norm0[j]!) !== null)) {
    const inv = invSpd(g, m);
    if (inv !== null) return { inv, rank: m };
  }
  return pinvSymmetric(g, m, 1e-10);
}
