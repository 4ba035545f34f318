/**
 * Standard normal distribution: cdf, upper tail, log upper tail (finite far
 * beyond the double underflow at z ~ 38.5), density and inverses.
 *
 * The upper tail uses the scaled complementary error function,
 *   Q(z) = 1/2 erfc(z / sqrt 2) = 1/2 erfcx(z / sqrt 2) exp(-z^2 / 2)
 * (DLMF 7.2.2; erfcx(x) = exp(x^2) erfc(x) is stdlib's scaled erfc),
 * with z^2 split exactly into two doubles (Dekker's product), so exp and log
 * see an exact argument: relative error ~1e-15 for Q and for log Q at any z.
 */

import erfcinv from '@stdlib/math-base-special-erfcinv';
import erfcx from '@stdlib/math-base-special-erfcx';
import { invertUpperTail, newtonPolish } from './solve.js';
import { LN_SQRT_2PI, TAIL_SWITCH_P } from './special.js';
import { checkLog10Probability, checkProbability } from './validate.js';

/** z^2 / 2 as an unevaluated sum hi + lo (Dekker/Veltkamp split; exact for |z| < 1e150). */
function halfSquare(z: number): [number, number] {
  const hi = z * z;
  if (!(Math.abs(z) < 1e150)) return [0.5 * hi, 0];
  const c = 134217729 * z; // 2^27 + 1
  const zh = c - (c - z);
  const zl = z - zh;
  const lo = zh * zh - hi + 2 * zh * zl + zl * zl;
  return [0.5 * hi, 0.5 * lo];
}

/** log Q(z) for z >= 0. */
function logTail(z: number): number {
  const [hi, lo] = halfSquare(z);
  return Math.log(0.5 * erfcx(z * Math.SQRT1_2)) - lo - hi;
}

/** Q(z) for z >= 0. */
function tail(z: number): number {
  const [hi, lo] = halfSquare(z);
  return 0.5 * erfcx(z * Math.SQRT1_2) * Math.exp(-hi) * Math.exp(-lo);
}

/**
 * Standard normal upper tail Q(z) = P(Z > z) = 1/2 erfc(z / sqrt 2)
 * (DLMF 7.2.2, A&S 26.2.3), computed directly (not as 1 - cdf). Relative error
 * ~1e-15 for all z (zero below ~1e-324, z > 38.5); NaN for NaN.
 */
export function normalSf(z: number): number {
  return z >= 0 ? tail(z) : 1 - tail(-z);
}

/** Standard normal cdf Phi(z) = Q(-z) (A&S 26.2.2); relative error ~1e-15 in both tails. */
export function normalCdf(z: number): number {
  return normalSf(-z);
}

/**
 * Natural log of the upper tail, log Q(z), finite for |z| < 1e154: for
 * z >= 0 it is log(erfcx(z / sqrt 2) / 2) - z^2 / 2, so it never underflows
 * (log Q(100) = -5005.52...); for z < 0, log1p(-Q(-z)). Relative error ~1e-15.
 */
export function normalLogSf(z: number): number {
  return z >= 0 ? logTail(z) : Math.log1p(-tail(-z));
}

/** log10 Q(z) = normalLogSf(z) / ln 10, e.g. -544.9663... at z = 50. */
export function normalLog10Sf(z: number): number {
  return normalLogSf(z) / Math.LN10;
}

/** Standard normal density phi(z) = exp(-z^2 / 2) / sqrt(2 pi) (A&S 26.2.1); relative error ~1e-16. */
export function normalPdf(z: number): number {
  const [hi, lo] = halfSquare(z);
  return (Math.exp(-hi) * Math.exp(-lo)) / Math.sqrt(2 * Math.PI);
}

/** log phi(z) = -z^2 / 2 - log sqrt(2 pi), finite for all finite z. */
export function normalLogPdf(z: number): number {
  const [hi, lo] = halfSquare(z);
  return -hi - lo - LN_SQRT_2PI;
}

/**
 * The z >= 0 with log Q(z) = logP: sqrt 2 erfcinv(2p) (DLMF 7.17.2) polished
 * by Newton on log Q, or for p below 1e-300 the log-space solver from z = 1.
 */
function upperTail(logP: number): number {
  const z0 = logP < Math.log(TAIL_SWITCH_P) ? NaN : Math.SQRT2 * erfcinv(2 * Math.exp(logP));
  if (!(z0 >= 0 && z0 < Infinity)) return invertUpperTail(logP, 1, logTail, normalLogPdf);
  return newtonPolish(
    z0,
    (z) => logTail(z) - logP,
    (z) => -Math.exp(normalLogPdf(z) - logTail(z)),
  );
}

/** The z with Phi(z) = lower and Q(z) = upper (lower + upper = 1, the smaller one exact). */
function inverse(lower: number, upper: number): number {
  if (upper === 0) return Infinity;
  if (lower === 0) return -Infinity;
  return upper <= lower ? upperTail(Math.log(upper)) : 0 - upperTail(Math.log(lower)); // 0 - x: no -0
}

/**
 * Inverse survival function: the z with Q(z) = p, i.e. the upper p-quantile,
 * z = sqrt 2 erfcinv(2p) (DLMF 7.17.2). p in [0, 1]; isf(0) = Infinity,
 * isf(1) = -Infinity. Below p = 1e-300 (including subnormal p) it solves
 * log Q(z) = log p. Relative error ~1e-15 (round trip through normalSf).
 */
export function normalIsf(p: number): number {
  checkProbability('normalIsf', 'p', p);
  return inverse(1 - p, p);
}

/**
 * Quantile (inverse cdf): the z with Phi(z) = p, p in [0, 1];
 * quantile(0) = -Infinity, quantile(1) = Infinity. Accuracy as normalIsf.
 */
export function normalQuantile(p: number): number {
  checkProbability('normalQuantile', 'p', p);
  return inverse(p, 1 - p);
}

/**
 * The z whose upper-tail p-value has log10 equal to `log10p` (<= 0), for QQ
 * plots of p-values far below 1e-300: normalIsfLog10(-500) = 47.8853...,
 * normalIsfLog10(-5000) = 151.7035... . Near log10p = 0 it goes through the
 * lower tail, 1 - p = -expm1(log10p ln 10), so no digits are lost there.
 */
export function normalIsfLog10(log10p: number): number {
  checkLog10Probability('normalIsfLog10', 'log10p', log10p);
  const logP = log10p * Math.LN10;
  return logP > -Math.LN2 ? inverse(-Math.expm1(logP), Math.exp(logP)) : upperTail(logP);
}
