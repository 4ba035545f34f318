/**
 * F (Fisher-Snedecor) distribution with d1, d2 > 0 degrees of freedom (any
 * real values), through the regularized incomplete beta of ./beta-inc.ts:
 *   sf(x) = I_{d2/(d2 + d1 x)}(d2/2, d1/2),  cdf(x) = 1 - sf(x)   (A&S 26.6.2, DLMF 8.17.2).
 * The beta argument and its complement d1 x/(d2 + d1 x) are both formed from
 * the odds d1 x / d2, so neither loses digits when the other is near 1.
 * x <= 0 gives cdf 0 and sf 1; NaN x gives NaN.
 */

import { type BetaArg, betaArgFromOdds, betaIncInverse, betaIncLower, betaIncUpper, logBetaIncLower, logBetaPrefix, mirror } from './beta-inc.js';
import { invertUpperTail, newtonPolish } from './solve.js';
import { TAIL_SWITCH_P } from './special.js';
import { checkLog10Probability, checkPositive, checkProbability } from './validate.js';

function check(fn: string, d1: number, d2: number): void {
  checkPositive(fn, 'd1', d1);
  checkPositive(fn, 'd2', d2);
}

/** The argument d2 / (d2 + d1 x) of the upper tail, for x >= 0. */
function tailArg(x: number, d1: number, d2: number): BetaArg {
  const r = (d1 / d2) * x;
  const logR = r > 0 && r < Infinity ? Math.log(r) : Math.log(d1) - Math.log(d2) + Math.log(x);
  return betaArgFromOdds(r, logR);
}

/** F cdf I_{d1 x/(d2 + d1 x)}(d1/2, d2/2). Accuracy as fSf. */
export function fCdf(x: number, d1: number, d2: number): number {
  check('fCdf', d1, d2);
  if (x <= 0) return 0;
  return betaIncUpper(0.5 * d2, 0.5 * d1, tailArg(x, d1, d2));
}

/**
 * F upper tail (p-value) I_{d2/(d2 + d1 x)}(d2/2, d1/2), computed directly by
 * the continued fraction of DLMF 8.17.22 (never as 1 - cdf). Relative error
 * below 2e-13 for d1, d2 up to 1e4, growing like 1e-16 max(d1, d2) beyond
 * (3e-11 at d2 = 1e6; see ./beta-inc.ts), down to the double underflow.
 */
export function fSf(x: number, d1: number, d2: number): number {
  check('fSf', d1, d2);
  if (x <= 0) return 1;
  return betaIncLower(0.5 * d2, 0.5 * d1, tailArg(x, d1, d2));
}

/**
 * Natural log of the upper tail, finite far beyond the double underflow:
 * log prefactor + log continued fraction of DLMF 8.17.22. Relative error as
 * fSf (on the log: ~1e-14).
 */
export function fLogSf(x: number, d1: number, d2: number): number {
  check('fLogSf', d1, d2);
  if (x <= 0) return 0;
  return logBetaIncLower(0.5 * d2, 0.5 * d1, tailArg(x, d1, d2));
}

/** log10 of the upper tail, fLogSf / ln 10. */
export function fLog10Sf(x: number, d1: number, d2: number): number {
  check('fLog10Sf', d1, d2);
  if (x <= 0) return 0;
  return logBetaIncLower(0.5 * d2, 0.5 * d1, tailArg(x, d1, d2)) / Math.LN10;
}

function logPdf(x: number, d1: number, d2: number): number {
  if (x < 0) return -Infinity;
  if (x === 0) return d1 < 2 ? Infinity : d1 === 2 ? 0 : -Infinity;
  // With u = d1 x / (d2 + d1 x): density = u^(d1/2) (1-u)^(d2/2) / (B(d1/2, d2/2) x).
  return logBetaPrefix(0.5 * d1, 0.5 * d2, mirror(tailArg(x, d1, d2))) - Math.log(x);
}

/**
 * F density (d1/d2)^(d1/2) x^(d1/2-1) (1 + d1 x/d2)^(-(d1+d2)/2) / B(d1/2, d2/2)
 * (A&S 26.6.1); 0 for x < 0. Relative error ~1e-14.
 */
export function fPdf(x: number, d1: number, d2: number): number {
  check('fPdf', d1, d2);
  return Math.exp(logPdf(x, d1, d2));
}

/** Natural log of the F density, finite far into the tail. */
export function fLogPdf(x: number, d1: number, d2: number): number {
  check('fLogPdf', d1, d2);
  return logPdf(x, d1, d2);
}

/**
 * The x with log sf(x) = logP: Newton on log sf from the estimate x0 when it
 * is usable, else (p below 1e-300, or x0 not finite) the log-space solver from x = 1.
 */
function upperTail(logP: number, d1: number, d2: number, x0: number): number {
  const logSf = (x: number) => logBetaIncLower(0.5 * d2, 0.5 * d1, tailArg(x, d1, d2));
  if (!(x0 > 0 && x0 < Infinity)) return invertUpperTail(logP, 1, logSf, (x) => logPdf(x, d1, d2));
  return newtonPolish(
    x0,
    (x) => logSf(x) - logP,
    (x) => -Math.exp(logPdf(x, d1, d2) - logSf(x)),
  );
}

/**
 * The x with cdf(x) = lower and sf(x) = upper (lower + upper = 1, the smaller
 * one exact): stdlib's incomplete-beta inverse (Boost ibeta_inv, which returns
 * the argument and its complement separately) solved for the small tail as
 * the start, then Newton on the log of that tail.
 */
function inverse(lower: number, upper: number, d1: number, d2: number): number {
  if (upper === 0) return Infinity;
  if (lower === 0) return 0;
  if (upper <= lower) {
    if (upper < TAIL_SWITCH_P) return upperTail(Math.log(upper), d1, d2, NaN);
    const [xb, yb] = betaIncInverse(0.5 * d2, 0.5 * d1, upper, lower);
    return upperTail(Math.log(upper), d1, d2, ((d2 / d1) * yb) / xb);
  }
  const [yb, xb] = betaIncInverse(0.5 * d1, 0.5 * d2, lower, upper);
  const cdf = (x: number) => betaIncUpper(0.5 * d2, 0.5 * d1, tailArg(x, d1, d2));
  const logLower = Math.log(lower);
  return newtonPolish(
    ((d2 / d1) * yb) / xb,
    (x) => Math.log(cdf(x)) - logLower,
    (x) => Math.exp(logPdf(x, d1, d2)) / cdf(x),
  );
}

/** F quantile (inverse cdf), p in [0, 1]; quantile(0) = 0, quantile(1) = Infinity. */
export function fQuantile(p: number, d1: number, d2: number): number {
  checkProbability('fQuantile', 'p', p);
  check('fQuantile', d1, d2);
  return inverse(p, 1 - p, d1, d2);
}

/**
 * F inverse survival function: the x with sf(x) = p, p in [0, 1]
 * (isf(0) = Infinity, isf(1) = 0); p below 1e-300 is solved in log space.
 */
export function fIsf(p: number, d1: number, d2: number): number {
  checkProbability('fIsf', 'p', p);
  check('fIsf', d1, d2);
  return inverse(1 - p, p, d1, d2);
}

/**
 * The F statistic whose upper-tail p-value has log10 equal to `log10p` (<= 0);
 * Infinity where that statistic exceeds the largest double.
 */
export function fIsfLog10(log10p: number, d1: number, d2: number): number {
  checkLog10Probability('fIsfLog10', 'log10p', log10p);
  check('fIsfLog10', d1, d2);
  const logP = log10p * Math.LN10;
  if (logP > Math.log(TAIL_SWITCH_P)) return inverse(-Math.expm1(logP), Math.exp(logP), d1, d2);
  return upperTail(logP, d1, d2, NaN);
}
