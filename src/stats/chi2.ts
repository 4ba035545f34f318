/**
 * Chi-square distribution with k > 0 degrees of freedom (any real k), through
 * the regularized incomplete gamma functions of ./gamma-inc.ts:
 *   cdf(x) = P(k/2, x/2),  sf(x) = Q(k/2, x/2)      (A&S 26.4.19, DLMF 8.2.4).
 * x <= 0 gives cdf 0 and sf 1; NaN x gives NaN.
 */

import gammaincinv from '@stdlib/math-base-special-gammaincinv';
import { gammaIncP, gammaIncQ, logGammaIncQ, logGammaPrefix } from './gamma-inc.js';
import { invertUpperTail, newtonPolish } from './solve.js';
import { TAIL_SWITCH_P } from './special.js';
import { checkLog10Probability, checkPositive, checkProbability } from './validate.js';

/**
 * Chi-square cdf P(k/2, x/2) (DLMF 8.11.4 series below the mean, 1 - sf
 * above it). Relative error below 1e-13 against mpmath (test/stats/stats.test.ts).
 */
export function chi2Cdf(x: number, k: number): number {
  checkPositive('chi2Cdf', 'k', k);
  return gammaIncP(0.5 * k, 0.5 * x);
}

/**
 * Chi-square upper tail (p-value) Q(k/2, x/2), computed directly by the
 * continued fraction of DLMF 8.9.2 (never as 1 - cdf). Relative error below
 * 2e-13 down to the double underflow near 1e-308 (x ~ 1400 for k = 1).
 */
export function chi2Sf(x: number, k: number): number {
  checkPositive('chi2Sf', 'k', k);
  return gammaIncQ(0.5 * k, 0.5 * x);
}

/**
 * Natural log of the upper tail, log Q(k/2, x/2) = -x/2 + (k/2) log(x/2)
 * - lgamma(k/2) + log(continued fraction), finite far beyond the underflow
 * (x = 2000, k = 1: -1004.0267...). Relative error ~1e-14.
 */
export function chi2LogSf(x: number, k: number): number {
  checkPositive('chi2LogSf', 'k', k);
  return logGammaIncQ(0.5 * k, 0.5 * x);
}

/** log10 of the upper tail, chi2LogSf / ln 10 (x = 2000, k = 1: -436.0433...). */
export function chi2Log10Sf(x: number, k: number): number {
  checkPositive('chi2Log10Sf', 'k', k);
  return logGammaIncQ(0.5 * k, 0.5 * x) / Math.LN10;
}

function logPdf(x: number, k: number): number {
  if (x < 0) return -Infinity;
  const a = 0.5 * k;
  if (x === 0) return a < 1 ? Infinity : a === 1 ? -Math.LN2 : -Infinity;
  // density = (x/2)^a e^(-x/2) / (Gamma(a) x)
  return logGammaPrefix(a, 0.5 * x) - Math.log(x);
}

/**
 * Chi-square density x^(k/2-1) e^(-x/2) / (2^(k/2) Gamma(k/2)) (A&S 26.4.1);
 * 0 for x < 0. Relative error ~1e-14.
 */
export function chi2Pdf(x: number, k: number): number {
  checkPositive('chi2Pdf', 'k', k);
  return Math.exp(logPdf(x, k));
}

/** Natural log of the chi-square density, finite far into the tail. */
export function chi2LogPdf(x: number, k: number): number {
  checkPositive('chi2LogPdf', 'k', k);
  return logPdf(x, k);
}

function logSfOf(k: number): (x: number) => number {
  return (x) => logGammaIncQ(0.5 * k, 0.5 * x);
}

/**
 * The x with log sf(x) = logP: Newton on log sf from the estimate x0 when it
 * is usable, else (p below 1e-300, or x0 NaN) the log-space solver from the
 * mean k.
 */
function upperTail(logP: number, k: number, x0: number): number {
  const logSf = logSfOf(k);
  if (!(x0 > 0 && x0 < Infinity)) return invertUpperTail(logP, k, logSf, (x) => logPdf(x, k));
  return newtonPolish(
    x0,
    (x) => logSf(x) - logP,
    (x) => -Math.exp(logPdf(x, k) - logSf(x)),
  );
}

/**
 * The x with cdf(x) = lower and sf(x) = upper (lower + upper = 1, the smaller
 * one exact): stdlib's gammaincinv (Gil, Segura & Temme 2012) as the start,
 * then Newton on the log of whichever tail is small, with our own P or Q.
 */
function inverse(lower: number, upper: number, k: number): number {
  const a = 0.5 * k;
  if (upper === 0) return Infinity;
  if (lower === 0) return 0;
  if (upper <= lower) {
    return upperTail(Math.log(upper), k, upper < TAIL_SWITCH_P ? NaN : 2 * gammaincinv(upper, a, true));
  }
  const logLower = Math.log(lower);
  return newtonPolish(
    2 * gammaincinv(lower, a),
    (x) => Math.log(gammaIncP(a, 0.5 * x)) - logLower,
    (x) => Math.exp(logPdf(x, k)) / gammaIncP(a, 0.5 * x),
  );
}

/**
 * Chi-square quantile (inverse cdf): the x with P(k/2, x/2) = p, p in [0, 1]
 * (quantile(0) = 0, quantile(1) = Infinity). Relative error ~1e-14 (round
 * trip through chi2Cdf / chi2Sf).
 */
export function chi2Quantile(p: number, k: number): number {
  checkProbability('chi2Quantile', 'p', p);
  checkPositive('chi2Quantile', 'k', k);
  return inverse(p, 1 - p, k);
}

/**
 * Inverse survival function: the x with Q(k/2, x/2) = p, p in [0, 1]
 * (isf(0) = Infinity, isf(1) = 0); p below 1e-300, subnormal included, is
 * solved in log space. Relative error ~1e-14.
 */
export function chi2Isf(p: number, k: number): number {
  checkProbability('chi2Isf', 'p', p);
  checkPositive('chi2Isf', 'k', k);
  return inverse(1 - p, p, k);
}

/**
 * The statistic whose upper-tail p-value has log10 equal to `log10p` (<= 0),
 * for QQ plots of p-values far below 1e-300: chi2IsfLog10(-436.0433..., 1)
 * = 2000. Near log10p = 0 it goes through 1 - p = -expm1(log10p ln 10).
 */
export function chi2IsfLog10(log10p: number, k: number): number {
  checkLog10Probability('chi2IsfLog10', 'log10p', log10p);
  checkPositive('chi2IsfLog10', 'k', k);
  const logP = log10p * Math.LN10;
  if (logP > Math.log(TAIL_SWITCH_P)) return inverse(-Math.expm1(logP), Math.exp(logP), k);
  return upperTail(logP, k, NaN);
}
