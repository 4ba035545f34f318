/**
 * Exact power-of-two scaling, with which syevd.ts and gesdd.ts keep a matrix
 * in a range where sums of squares neither overflow nor underflow (as
 * LAPACK's drivers do with dlascl), and eig-dc.ts works at unit scale.
 * Undoing it on eigen- or singular values is exact, short of their own
 * under- or overflow. No Node APIs are used.
 */

/**
 * Max-norms within [2^-SAFE_LOG2, 2^SAFE_LOG2] are left unscaled (about
 * LAPACK's rmin and rmax, 1e-146 and 1e146).
 */
const SAFE_LOG2 = 480;

/** max |x_i| over x[off : off + len], or NaN as soon as an entry is NaN. */
export function maxAbs(x: Float64Array, off: number, len: number): number {
  let m = 0;
  for (let i = off; i < off + len; i++) {
    const t = Math.abs(x[i]!);
    if (t > m) m = t;
    else if (Number.isNaN(t)) return t;
  }
  return m;
}

/**
 * The exponent e that brings the max-norm anrm into [2^-480, 2^480]: 0 when
 * it is already there (or is 0), else the nearer end of the range, so that
 * entries much smaller than anrm underflow as little as possible.
 */
export function safeScalingExponent(anrm: number): number {
  if (anrm === 0) return 0;
  const l = Math.log2(anrm);
  if (l > SAFE_LOG2) return SAFE_LOG2 - Math.ceil(l);
  if (l < -SAFE_LOG2) return -SAFE_LOG2 - Math.floor(l);
  return 0;
}

/** The exponent e with 2^e anrm in [0.7, 1.4], or 0 for anrm = 0. */
export function normalizingExponent(anrm: number): number {
  return anrm === 0 ? 0 : -Math.round(Math.log2(anrm));
}

/** x 2^exponent, in two exact steps so that neither factor overflows (|exponent| may exceed 1023). */
export function scaleByPowerOfTwo(x: number, exponent: number): number {
  const half = Math.trunc(exponent / 2);
  return x * 2 ** half * 2 ** (exponent - half);
}
