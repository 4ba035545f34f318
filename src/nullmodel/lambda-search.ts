/**
 * GEMMA's lambda search (src/lmm.cpp CalcLambda), step for step: the
 * derivative on a log-spaced grid, GSL's Brent solver on every interval
 * where it changes sign, GSL's Newton solver from there, then the best of
 * those roots and both bounds (see `searchLambda`).
 */
import { ArgumentError } from '../errors.js';
import { brentInit, brentIterate, brentToConvergence, GSL_CONTINUE, GSL_FAILURE, GSL_SUCCESS, testDelta, testInterval } from '../optim/gsl-roots.js';
import type { LambdaProblem, LikelihoodKind } from './lambda-problem.js';

/** GEMMA's defaults (param.cpp: l_min, l_max, n_region). */
export const LAMBDA_DEFAULTS = { lower: 1e-5, upper: 1e5, gridPoints: 10 } as const;

/** What `searchLambda` found. */
export interface LambdaSearch {
  /** The maximiser in [lower, upper]. */
  lambda: number;
  /** The (restricted) log-likelihood there, GEMMA's LogRL_f / LogL_f. */
  logLik: number;
  /** Brent + Newton iterations, all intervals together. */
  iterations: number;
  /**
   * True when GEMMA's Newton polishing failed on some interval (GEMMA 0.98.5
   * returns NaN there) and lmmkit solved that interval by Brent instead.
   */
  fallback: boolean;
}

/** Validated search settings. */
export interface SearchSettings {
  lower: number;
  upper: number;
  gridPoints: number;
}

/** Checks lower / upper / gridPoints and fills GEMMA's defaults. */
export function searchSettings(opts: { lower?: number; upper?: number; gridPoints?: number }, where: string): SearchSettings {
  const lower = opts.lower ?? LAMBDA_DEFAULTS.lower;
  const upper = opts.upper ?? LAMBDA_DEFAULTS.upper;
  const gridPoints = opts.gridPoints ?? LAMBDA_DEFAULTS.gridPoints;
  if (!(lower > 0 && Number.isFinite(lower) && upper > lower && Number.isFinite(upper))) {
    throw new ArgumentError(`${where}: needs 0 < lower < upper < Infinity, found lower = ${lower}, upper = ${upper}`);
  }
  if (!Number.isInteger(gridPoints) || gridPoints < 1) {
    throw new ArgumentError(`${where}: gridPoints must be a positive integer, found ${gridPoints}`);
  }
  return { lower, upper, gridPoints };
}

/**
 * The lambdas at which `searchLambda` evaluates the derivative before any
 * refinement: lower * exp(k log(upper / lower) / gridPoints), k = 0..gridPoints,
 * computed exactly as GEMMA does (so the upper end may differ from `upper`
 * in the last bit), plus `upper` itself, where the likelihood is compared.
 */
export function gridLambdas(settings: SearchSettings): number[] {
  const { lower, upper, gridPoints } = settings;
  const step = Math.log(upper / lower) / gridPoints;
  const out: number[] = [];
  for (let k = 0; k <= gridPoints; k++) out.push(lower * Math.exp(step * k));
  if (!out.includes(upper)) out.push(upper);
  return out;
}

/**
 * The first derivative of the restricted ('R') or full ('L') log-likelihood
 * at the grid points lower * exp(k log(upper / lower) / gridPoints),
 * k = 0..gridPoints (GEMMA evaluates each inner point twice, identically;
 * here once): the start of `searchLambda`, which takes it precomputed.
 */
export function gridDerivatives(problem: LambdaProblem, kind: LikelihoodKind, settings: SearchSettings, out?: Float64Array): Float64Array {
  const { lower, upper, gridPoints } = settings;
  const step = Math.log(upper / lower) / gridPoints;
  const d = out ?? new Float64Array(gridPoints + 1);
  for (let k = 0; k <= gridPoints; k++) d[k] = problem.dev1(lower * Math.exp(step * k), kind);
  return d;
}

/**
 * GEMMA's CalcLambda: maximises the restricted ('R') or full ('L')
 * log-likelihood of `problem` over lambda in [lower, upper].
 *
 * 1. The first derivative at the ends of `gridPoints` log-spaced intervals;
 *    every interval where it changes sign (d_l d_h <= 0) brackets a stationary point.
 * 2. In each, GSL's Brent solver until the bracket is within 10% (relative),
 *    then GSL's Newton solver on the derivative until a step is below 1e-5
 *    relative; the iterate before the last step is kept (GEMMA's `l = l_temp`),
 *    clamped to the bounds, and the best log-likelihood wins.
 * 3. The log-likelihood at both bounds: a bound wins when strictly better
 *    (when no interval brackets a root, the lower bound wins ties).
 *
 * Where Newton leaves [lower, upper], meets a zero or non-finite derivative
 * or takes 100 steps, GEMMA 0.98.5 returns NaN; lmmkit solves that interval
 * by Brent to full precision instead (and sets `fallback`).
 *
 * `gridDev`, when given, is step 1's derivatives (`gridDerivatives`), computed before.
 */
export function searchLambda(problem: LambdaProblem, kind: LikelihoodKind, settings: SearchSettings, gridDev?: Float64Array): LambdaSearch {
  const { lower, upper, gridPoints } = settings;
  const dev1 = (l: number): number => problem.dev1(l, kind);
  const f = (l: number): number => problem.logLik(l, kind);
  const step = Math.log(upper / lower) / gridPoints;
  const points = new Float64Array(gridPoints + 1);
  for (let k = 0; k <= gridPoints; k++) points[k] = lower * Math.exp(step * k);
  const d = gridDev ?? gridDerivatives(problem, kind, settings);
  const brackets: number[] = [];
  for (let k = 0; k < gridPoints; k++) {
    if (d[k]! * d[k + 1]! <= 0) brackets.push(k);
  }
  if (brackets.length === 0) {
    const fl = f(lower);
    const fh = f(upper);
    return fl >= fh ? { lambda: lower, logLik: fl, iterations: 0, fallback: false } : { lambda: upper, logLik: fh, iterations: 0, fallback: false };
  }
  let iterations = 0;
  let fallback = false;
  let lambda = Number.NaN;
  let logf = Number.NaN;
  // GEMMA's `iter` and `l` live across intervals: Brent's count starts where the last Newton's ended.
  let iter = 0;
  let l = 0.0;
  let lTemp = 0.0;
  for (let bi = 0; bi < brackets.length; bi++) {
    const k = brackets[bi]!;
    const lo0 = points[k]!;
    const hi0 = points[k + 1]!;
    let status: number;
    const st = brentInit(dev1, lo0, hi0, d[k]!, d[k + 1]!);
    if (st !== null) {
      do {
        iter++;
        iterations++;
        status = brentIterate(st, dev1);
        if (status !== GSL_SUCCESS) break; // GEMMA warns "Brent did not converge" and goes on from l
        l = st.root;
        status = testInterval(st.lower, st.upper, 0, 1e-1);
      } while (status === GSL_CONTINUE && iter < 100);
    }
    iter = 0;
    // Newton on the derivative from l (gsl_root_fdfsolver_newton).
    let root = l;
    let [nf, ndf] = problem.dev12(root, kind);
    status = GSL_CONTINUE;
    do {
      iter++;
      iterations++;
      if (ndf === 0) {
        status = GSL_FAILURE;
        break;
      }
      root = root - nf / ndf;
      [nf, ndf] = problem.dev12(root, kind);
      if (!Number.isFinite(nf) || !Number.isFinite(ndf)) {
        status = GSL_FAILURE;
        break;
      }
      lTemp = l;
      l = root;
      status = testDelta(l, lTemp, 0, 1e-5);
    } while (status === GSL_CONTINUE && iter < 100 && l > lower && l < upper);
    let chosen: number;
    if (status !== GSL_SUCCESS) {
      fallback = true;
      const r = brentToConvergence(dev1, lo0, hi0);
      iterations += r.iterations;
      chosen = r.root;
    } else {
      chosen = lTemp;
    }
    l = chosen;
    if (chosen < lower) chosen = lower;
    if (chosen > upper) chosen = upper;
    const fc = f(chosen);
    if (bi === 0 || logf < fc) {
      logf = fc;
      lambda = chosen;
    }
  }
  const fl = f(lower);
  const fh = f(upper);
  if (fl > logf) {
    lambda = lower;
    logf = fl;
  }
  if (fh > logf) {
    lambda = upper;
    logf = fh;
  }
  return { lambda, logLik: logf, iterations, fallback };
}
