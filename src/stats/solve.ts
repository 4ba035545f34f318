/**
 * Root refinement and far-tail inversion shared by the quantile functions.
 */

import { NumericalError } from '../errors.js';

const EPS = Number.EPSILON;

/**
 * Refine an estimate x of the root of a monotone function by Newton steps
 * x <- x - residual(x) / slope(x) (Numerical Recipes 3rd ed. section 9.4),
 * stopping when a step no longer shrinks the residual or moves x by less than
 * a few ulps. Used to bring a library inverse (good to ~1e-10, sometimes only
 * ~1e-2 deep in a tail) to full double precision with our own, more accurate
 * forward function; callers pass log-scale residuals, on which Newton's method
 * behaves almost linearly in the tails.
 */
export function newtonPolish(x: number, residual: (x: number) => number, slope: (x: number) => number): number {
  let r = residual(x);
  for (let i = 0; i < 20 && r !== 0; i++) {
    const step = r / slope(x);
    const next = x - step;
    if (!Number.isFinite(next)) break;
    const rNext = residual(next);
    if (!(Math.abs(rNext) < Math.abs(r))) break;
    x = next;
    r = rNext;
    if (Math.abs(step) <= 2 * EPS * Math.abs(x)) break;
  }
  return x;
}

/**
 * Solve logSf(x) = target for x > 0 in an upper tail, including targets far
 * below log 1e-300 where p itself underflows. Newton's method on
 * h(w) = log(-logSf(e^w)) against w = log x: for every distribution here h is
 * close to linear in w (normal and chi-square: -logSf ~ x^2/2 or x/2; t and F:
 * -logSf ~ k log x), so it converges in a few steps from any `start` with
 * logSf(start) > target. Steps that leave the bracket [start, MAX_VALUE] are
 * replaced by bisection in w. The iterate is kept as x (updated by
 * x * exp(step)) because w = log x would round x to only ~|w| * 1e-16.
 * Returns Infinity when the answer exceeds the largest double.
 *   h'(w) = x pdf(x) / (sf(x) (-logSf(x))) = exp(log x + logPdf - logSf) / (-logSf)
 */
export function invertUpperTail(target: number, start: number, logSf: (x: number) => number, logPdf: (x: number) => number): number {
  if (logSf(Number.MAX_VALUE) >= target) return Infinity;
  const goal = Math.log(-target);
  let lo = start;
  let hi = Number.MAX_VALUE;
  let x = start;
  for (let i = 0; i < 400; i++) {
    const ls = logSf(x);
    const h = Math.log(-ls);
    if (h === goal) return x;
    if (h < goal) lo = x;
    else hi = x;
    const step = (goal - h) / (Math.exp(Math.log(x) + logPdf(x) - ls) / -ls);
    let next = x * Math.exp(step);
    if (!(next > lo && next < hi)) next = Math.exp(0.5 * (Math.log(lo) + Math.log(hi)));
    if (Math.abs(next - x) <= 2 * EPS * x || hi - lo <= 2 * EPS * hi) return next;
    x = next;
  }
  throw new NumericalError(`upper-tail inversion did not converge for log p = ${target}`);
}
