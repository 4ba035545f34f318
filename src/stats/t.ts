/**
 * Student's t distribution with nu > 0 degrees of freedom (any real nu),
 * through the regularized incomplete beta of ./beta-inc.ts:
 *   P(|T| > |t|) = I_{nu/(nu + t^2)}(nu/2, 1/2),  sf(t) = P(|T| > t) / 2 for t >= 0
 * (A&S 26.7.1, DLMF 8.17.2). The beta argument and its complement
 * t^2/(nu + t^2) are both formed from the odds t^2 / nu. NaN t gives NaN.
 */

import betaln from '@stdlib/math-base-special-betaln';
import { type BetaArg, betaArgFromOdds, betaIncInverse, betaIncLower, logBetaIncLower } from './beta-inc.js';
import { invertUpperTail, newtonPolish } from './solve.js';
import { TAIL_SWITCH_P } from './special.js';
import { checkLog10Probability, checkPositive, checkProbability } from './validate.js';

/** The argument nu / (nu + t^2). */
function tailArg(t: number, nu: number): BetaArg {
  const r = (t * t) / nu;
  const logR = r > 0 && r < Infinity ? Math.log(r) : 2 * Math.log(Math.abs(t)) - Math.log(nu);
  return betaArgFromOdds(r, logR);
}

/** P(|T| > |t|) = I_{nu/(nu+t^2)}(nu/2, 1/2). */
function twoSided(t: number, nu: number): number {
  return betaIncLower(0.5 * nu, 0.5, tailArg(t, nu));
}

function logTwoSided(t: number, nu: number): number {
  return logBetaIncLower(0.5 * nu, 0.5, tailArg(t, nu));
}

function sf(t: number, nu: number): number {
  return t >= 0 ? 0.5 * twoSided(t, nu) : 1 - 0.5 * twoSided(t, nu);
}

function logSf(t: number, nu: number): number {
  return t >= 0 ? logTwoSided(t, nu) - Math.LN2 : Math.log1p(-0.5 * twoSided(t, nu));
}

/**
 * Student t upper tail P(T > t), computed directly (for t >= 0 as half the
 * two-sided tail; for t < 0 as 1 - sf(-t), which is >= 1/2). Relative error
 * below 2e-13 for nu <= 1e4, growing like 1e-16 nu beyond (4e-11 at
 * nu = 1e6; see ./beta-inc.ts), down to the double underflow.
 */
export function tSf(t: number, nu: number): number {
  checkPositive('tSf', 'nu', nu);
  return sf(t, nu);
}

/** Student t cdf P(T <= t) = sf(-t); accuracy as tSf. */
export function tCdf(t: number, nu: number): number {
  checkPositive('tCdf', 'nu', nu);
  return sf(-t, nu);
}

/**
 * Natural log of the upper tail, finite far beyond the double underflow:
 * log of the two-sided tail (log prefactor + log continued fraction of
 * DLMF 8.17.22) minus log 2.
 */
export function tLogSf(t: number, nu: number): number {
  checkPositive('tLogSf', 'nu', nu);
  return logSf(t, nu);
}

/** log10 of the upper tail, tLogSf / ln 10. */
export function tLog10Sf(t: number, nu: number): number {
  checkPositive('tLog10Sf', 'nu', nu);
  return logSf(t, nu) / Math.LN10;
}

/**
 * Two-sided p-value P(|T| > |t|) = I_{nu/(nu+t^2)}(nu/2, 1/2) (A&S 26.7.1),
 * computed directly (not as 2 sf, which would be the same, nor 1 - ...).
 */
export function tTwoSidedSf(t: number, nu: number): number {
  checkPositive('tTwoSidedSf', 'nu', nu);
  return twoSided(t, nu);
}

/** Natural log of the two-sided p-value, finite far beyond the underflow. */
export function tTwoSidedLogSf(t: number, nu: number): number {
  checkPositive('tTwoSidedLogSf', 'nu', nu);
  return logTwoSided(t, nu);
}

/** log10 of the two-sided p-value, e.g. for Manhattan plots of t-tests. */
export function tTwoSidedLog10Sf(t: number, nu: number): number {
  checkPositive('tTwoSidedLog10Sf', 'nu', nu);
  return logTwoSided(t, nu) / Math.LN10;
}

function logPdf(t: number, nu: number): number {
  // log of (1 + t^2/nu)^(-(nu+1)/2) / (sqrt(nu) B(nu/2, 1/2)); logX = -log1p(t^2/nu)
  return 0.5 * (nu + 1) * tailArg(t, nu).logX - 0.5 * Math.log(nu) - betaln(0.5 * nu, 0.5);
}

/** Student t density (1 + t^2/nu)^(-(nu+1)/2) / (sqrt(nu) B(nu/2, 1/2)) (A&S 26.7.1). */
export function tPdf(t: number, nu: number): number {
  checkPositive('tPdf', 'nu', nu);
  return Math.exp(logPdf(t, nu));
}

/** Natural log of the t density, finite far into the tail. */
export function tLogPdf(t: number, nu: number): number {
  checkPositive('tLogPdf', 'nu', nu);
  return logPdf(t, nu);
}

/**
 * The t >= 0 with log sf(t) = logP: Newton on log sf from the estimate t0
 * when it is usable, else (p below 1e-300, or t0 not finite) the log-space
 * solver from t = 1.
 */
function upperTail(logP: number, nu: number, t0: number): number {
  const logSfNu = (t: number) => logSf(t, nu);
  if (!(t0 >= 0 && t0 < Infinity)) return invertUpperTail(logP, 1, logSfNu, (t) => logPdf(t, nu));
  return newtonPolish(
    t0,
    (t) => logSfNu(t) - logP,
    (t) => -Math.exp(logPdf(t, nu) - logSfNu(t)),
  );
}

/**
 * The t with cdf(t) = lower and sf(t) = upper (lower + upper = 1, the smaller
 * one exact). By symmetry only t >= 0 is solved: stdlib's incomplete-beta
 * inverse (Boost ibeta_inv) of the two-sided tail 2 upper, set up so that its
 * target is the smaller of 2 upper and 1 - 2 upper, as the start, then Newton
 * on log sf.
 */
function inverse(lower: number, upper: number, nu: number): number {
  if (lower < upper) return 0 - inverse(upper, lower, nu); // 0 - x: no -0
  if (upper === 0) return Infinity;
  if (upper < TAIL_SWITCH_P) return upperTail(Math.log(upper), nu, NaN);
  const two = 2 * upper;
  let xb: number;
  let yb: number;
  if (two <= 0.5) [xb, yb] = betaIncInverse(0.5 * nu, 0.5, two, 1 - two);
  else [yb, xb] = betaIncInverse(0.5, 0.5 * nu, 1 - two, two);
  return upperTail(Math.log(upper), nu, Math.sqrt((nu * yb) / xb));
}

/** Student t quantile (inverse cdf), p in [0, 1]; quantile(0) = -Infinity, quantile(1) = Infinity. */
export function tQuantile(p: number, nu: number): number {
  checkProbability('tQuantile', 'p', p);
  checkPositive('tQuantile', 'nu', nu);
  return inverse(p, 1 - p, nu);
}

/**
 * Student t inverse survival function: the t with sf(t) = p, p in [0, 1];
 * p below 1e-300 is solved in log space.
 */
export function tIsf(p: number, nu: number): number {
  checkProbability('tIsf', 'p', p);
  checkPositive('tIsf', 'nu', nu);
  return inverse(1 - p, p, nu);
}

/**
 * The t whose upper-tail p-value has log10 equal to `log10p` (<= 0);
 * Infinity where that t exceeds the largest double (e.g. nu = 1, log10p = -400).
 */
export function tIsfLog10(log10p: number, nu: number): number {
  checkLog10Probability('tIsfLog10', 'log10p', log10p);
  checkPositive('tIsfLog10', 'nu', nu);
  const logP = log10p * Math.LN10;
  if (logP > Math.log(TAIL_SWITCH_P)) return inverse(-Math.expm1(logP), Math.exp(logP), nu);
  return upperTail(logP, nu, NaN);
}
