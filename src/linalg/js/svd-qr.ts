/**
 * Householder QR factorisation (LAPACK dgeqrf) on column-major storage, for
 * gesdd.ts. No Node APIs are used.
 */
import { REFLECTOR_BLOCK, applyReflector, applyReflectorBlock, householder, reflectorBlock } from './eig-reflectors.js';

/**
 * Factors the m x n matrix `a` (m >= n) as A = Q R in place: R is left in
 * the upper triangle, and reflector H_j = I - tau[j] v v^T of
 * Q = H_0 H_1 ... H_{n-1} below the diagonal of column j (v(j) = 1
 * implicit), as dgeqrf leaves them for dormqr (eig-reflectors.ts applyQ).
 *
 * Blocked like dgeqrf: a panel of REFLECTOR_BLOCK columns is factored
 * column by column, then applied to the trailing columns at once in compact
 * WY form. Backward stable (Golub & Van Loan, "Matrix Computations", 4th ed.,
 * 2013, secs. 5.2.2-5.2.3).
 */
export function qrFactor(m: number, n: number, a: Float64Array, tau: Float64Array): void {
  for (let j0 = 0; j0 < n; j0 += REFLECTOR_BLOCK) {
    const nb = Math.min(REFLECTOR_BLOCK, n - j0);
    for (let j = j0; j < j0 + nb; j++) {
      const unit = j + j * m;
      tau[j] = householder(m - j, a, unit);
      applyReflector(m - j, j0 + nb - j - 1, a, unit, tau[j]!, unit + m, m);
    }
    const rest = n - j0 - nb;
    if (rest > 0) {
      const block = reflectorBlock(m - j0, nb, a, j0 + j0 * m, m, tau, j0);
      applyReflectorBlock(true, block, rest, a, j0 + (j0 + nb) * m, m);
    }
  }
}
