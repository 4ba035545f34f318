/** Constants and small helpers shared by the incomplete gamma and beta code. */

import log1pmx from '@stdlib/math-base-special-log1pmx';

/** log(sqrt(2 pi)). */
export const LN_SQRT_2PI = 0.9189385332046728;

/**
 * Below this a double loses relative precision (the smallest normal double is
 * 2.2e-308); the tail code switches to log-space evaluation here, leaving a
 * margin for the rounding of intermediate products.
 */
export const TAIL_SWITCH_P = 1e-300;

/**
 * Stirling-series remainder of log Gamma,
 *   stirlingCorrection(s) = lgamma(s) - ((s - 1/2) log s - s + log sqrt(2 pi)),
 * from the asymptotic series sum B_2k / (2k (2k-1) s^(2k-1)) (DLMF 5.11.1).
 * Valid for s >= 10, where the terms kept give an absolute error below 3e-17.
 * Callers use it to avoid the cancellation between lgamma terms of size s log s
 * when s is large.
 */
export function stirlingCorrection(s: number): number {
  const r = 1 / s;
  const r2 = r * r;
  return r * (1 / 12 + r2 * (-1 / 360 + r2 * (1 / 1260 + r2 * (-1 / 1680 + r2 * (1 / 1188 + r2 * (-691 / 360360 + r2 * (1 / 156)))))));
}

/**
 * log(1 + t) - t. Near t = 0 it comes from a series (stdlib log1pmx), free of
 * the cancellation of the two terms; above that from log1p(t). Below t = -1/2
 * the caller supplies log(1 + t) (`logOnePlusT`), formed from unrounded pieces,
 * because there 1 + t has lost the digits that t carries.
 */
export function log1pmxSplit(t: number, logOnePlusT: () => number): number {
  if (t < -0.5) return logOnePlusT() - t;
  return t <= 0.5 ? log1pmx(t) : Math.log1p(t) - t;
}
