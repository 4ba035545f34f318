/**
 * Householder reflectors on column-major storage, as LAPACK represents them
 * (dlarfg, dlarft, dlarfb, dormqr): a reflector H = I - tau v v^T has
 * v(0) = 1 implicit and v(1:) stored below it in a column of the factored
 * matrix. Used by the tridiagonalisation and back-transformation of syevd.ts
 * and by the QR factorisation of gesdd.ts. No Node APIs are used.
 */
import { dgemmAt } from './blas.js';
import { hypot } from './eig-rotation.js';

/** Reflectors applied together as one block I - V T V^T (LAPACK's nb for dormtr/dgeqrf). */
export const REFLECTOR_BLOCK = 64;

/** Below this sum of squares (or above BIG_SQUARES) the plain 2-norm may have under/overflowed. */
const SMALL_SQUARES = 2 ** -900;
const BIG_SQUARES = 2 ** 900;

/**
 * x[xOff : xOff + len] . y[yOff : yOff + len] with Neumaier's compensated
 * summation. The reductions run on long vectors of similar terms (the kinship
 * matrices of lmmkit are like that), where a plain running sum makes
 * rounding errors of the same sign pile up: on the all-ones matrix of order
 * 100 that cost the tridiagonalisation 12 ulps in one step. Compensated, the
 * sum is as accurate as if computed in twice the precision; the cost is
 * negligible next to the O(len^2) work around each call.
 */
export function dotCompensated(len: number, x: Float64Array, xOff: number, y: Float64Array, yOff: number): number {
  let sum = 0;
  let comp = 0;
  for (let i = 0; i < len; i++) {
    const p = x[xOff + i]! * y[yOff + i]!;
    const t = sum + p;
    comp += Math.abs(sum) >= Math.abs(p) ? sum - t + p : p - t + sum;
    sum = t;
  }
  return sum + comp;
}

/**
 * Euclidean norm of x[off : off + len], the squares summed with
 * compensation (dotCompensated). Only when that sum may have under- or
 * overflowed is it recomputed scaled by max |x_i| (the safeguard of LAPACK's
 * dnrm2 without its cost on ordinary data).
 */
export function norm2(len: number, x: Float64Array, off: number): number {
  const ss = dotCompensated(len, x, off, x, off);
  if (ss > SMALL_SQUARES && ss < BIG_SQUARES) return Math.sqrt(ss);
  let big = 0;
  for (let i = off; i < off + len; i++) big = Math.max(big, Math.abs(x[i]!));
  if (big === 0 || !Number.isFinite(big)) return big;
  const scaled = new Float64Array(len);
  for (let i = 0; i < len; i++) scaled[i] = x[off + i]! / big;
  return big * Math.sqrt(dotCompensated(len, scaled, 0, scaled, 0));
}

/**
 * Generates the reflector H = I - tau v v^T with H x = (beta, 0, ..., 0)^T
 * for x = x[off : off + len] (LAPACK dlarfg): on return x[off] = beta and
 * x[off + 1 :] holds v(1:) (v(0) = 1 implicit). Returns tau, which is 0 (H = I)
 * when x(1:) is already zero; otherwise 1 <= tau <= 2 and |beta| = ||x||.
 * beta takes the sign opposite to x(0) so that v = x - beta e_1 suffers no
 * cancellation (Golub & Van Loan, "Matrix Computations", 4th ed., sec. 5.1.3).
 */
export function householder(len: number, x: Float64Array, off: number): number {
  if (len <= 1) return 0;
  const xnorm = norm2(len - 1, x, off + 1);
  if (xnorm === 0) return 0;
  const alpha = x[off]!;
  const r = hypot(alpha, xnorm);
  const beta = alpha >= 0 ? -r : r;
  const scale = 1 / (alpha - beta);
  for (let i = off + 1; i < off + len; i++) x[i]! *= scale;
  x[off] = beta;
  return (beta - alpha) / beta;
}

/**
 * C := (I - tau v v^T) C for the len x ncols block of `a` at `cOff`, with
 * v(0) = 1 implicit and v(1:) stored after a[unit] (LAPACK dlarf): a dot
 * product and an axpy down each contiguous column.
 */
export function applyReflector(len: number, ncols: number, a: Float64Array, unit: number, tau: number, cOff: number, ld: number): void {
  if (tau === 0) return;
  for (let c = 0; c < ncols; c++) {
    const col = cOff + c * ld;
    let s = a[col]!;
    for (let i = 1; i < len; i++) s += a[unit + i]! * a[col + i]!;
    s *= tau;
    a[col]! -= s;
    for (let i = 1; i < len; i++) a[col + i]! -= s * a[unit + i]!;
  }
}

/**
 * A block of `nb` consecutive reflectors H_0 H_1 ... H_{nb-1} = I - V T V^T
 * (compact WY form, Schreiber & Van Loan 1989): `v` is the len x nb unit
 * lower trapezoidal V stored densely (zeros and ones explicit, so the
 * products need no special cases) and `t` the nb x nb upper triangular T.
 */
export interface ReflectorBlock {
  readonly len: number;
  readonly nb: number;
  readonly v: Float64Array;
  readonly t: Float64Array;
}

/**
 * Gathers reflectors j0 .. j0 + nb - 1 into compact WY form (LAPACK dlarft,
 * forward, columnwise). Reflector j0 + j has its implicit unit at element
 * `unitOff + j (ld + 1)` of `store` (leading dimension ld) and its vector
 * below it in the same column; `len` counts the rows from reflector j0's
 * unit to the end of the column.
 */
export function reflectorBlock(len: number, nb: number, store: Float64Array, unitOff: number, ld: number, tau: Float64Array, j0: number): ReflectorBlock {
  const v = new Float64Array(len * nb);
  for (let j = 0; j < nb; j++) {
    const col = j * len;
    const src = unitOff + j * (ld + 1) - j;
    v[col + j] = 1;
    for (let i = j + 1; i < len; i++) v[col + i] = store[src + i]!;
  }
  const t = new Float64Array(nb * nb);
  for (let i = 0; i < nb; i++) {
    const ti = tau[j0 + i]!;
    t[i + i * nb] = ti;
    if (ti === 0) continue;
    // T(0:i, i) = -tau_i T(0:i, 0:i) V(:, 0:i)^T v_i; v_i is zero above row i.
    const vi = i * len;
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let r = i; r < len; r++) s += v[j * len + r]! * v[vi + r]!;
      t[j + i * nb] = -ti * s;
    }
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let p = j; p < i; p++) s += t[j + p * nb]! * t[p + i * nb]!;
      t[j + i * nb] = s;
    }
  }
  return { len, nb, v, t };
}

/**
 * C := H C (or H^T C when `trans`) for the block H = I - V T V^T and C the
 * len x ncols block at `cOff` (LAPACK dlarfb, left side): W = V^T C, then
 * W = T W (or T^T W), then C -= V W. Both large products stream the
 * contiguous columns of C, and V stays in cache.
 */
export function applyReflectorBlock(trans: boolean, block: ReflectorBlock, ncols: number, c: Float64Array, cOff: number, ldc: number): void {
  const { len, nb, v, t } = block;
  if (ncols === 0) return;
  const w = new Float64Array(nb * ncols);
  dgemmAt(true, false, nb, ncols, len, 1, v, 0, len, c, cOff, ldc, 0, w, 0, nb);
  for (let j = 0; j < ncols; j++) multiplyByT(trans, nb, t, w, j * nb);
  dgemmAt(false, false, len, ncols, nb, -1, v, 0, len, w, 0, nb, 1, c, cOff, ldc);
}

/** w[off : off + nb] := T w (or T^T w) for the nb x nb upper triangular T, in place. */
function multiplyByT(trans: boolean, nb: number, t: Float64Array, w: Float64Array, off: number): void {
  if (trans) {
    // Row i of T^T w needs entries 0..i only, so overwrite from the bottom up.
    for (let i = nb - 1; i >= 0; i--) {
      let s = 0;
      for (let p = 0; p <= i; p++) s += t[p + i * nb]! * w[off + p]!;
      w[off + i] = s;
    }
  } else {
    // Row i of T w needs entries i..nb-1 only, so overwrite from the top down.
    for (let i = 0; i < nb; i++) {
      let s = 0;
      for (let p = i; p < nb; p++) s += t[i + p * nb]! * w[off + p]!;
      w[off + i] = s;
    }
  }
}

/**
 * C := Q C with Q = H_0 H_1 ... H_{r-1} (LAPACK dormqr/dormtr, left, no
 * transpose), C m x ncols at `cOff`. Reflector j acts on rows j..m-1 of C;
 * its unit sits at element `unitOff + j (ld + 1)` of `store`, with tau[j].
 * Blocks of REFLECTOR_BLOCK reflectors are applied from the last to the
 * first, each in compact WY form, so C is streamed once per block instead of
 * once per reflector.
 */
export function applyQ(
  r: number,
  m: number,
  ncols: number,
  store: Float64Array,
  unitOff: number,
  ld: number,
  tau: Float64Array,
  c: Float64Array,
  cOff: number,
  ldc: number,
): void {
  const last = Math.floor((r - 1) / REFLECTOR_BLOCK) * REFLECTOR_BLOCK;
  for (let j0 = last; j0 >= 0; j0 -= REFLECTOR_BLOCK) {
    const nb = Math.min(REFLECTOR_BLOCK, r - j0);
    const block = reflectorBlock(m - j0, nb, store, unitOff + j0 * (ld + 1), ld, tau, j0);
    applyReflectorBlock(false, block, ncols, c, cOff + j0, ldc);
  }
}
