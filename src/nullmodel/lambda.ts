/**
 * The variance ratio lambda = sigma_g^2 / sigma_e^2 of the linear mixed model
 *
 *   y = W b + g + e,   g ~ N(0, sigma_g^2 K),   e ~ N(0, sigma_e^2 I),
 *   V = sigma_e^2 H,   H = lambda K + I,   K = U diag(s) U^T,
 *
 * fitted on eigen-rotated data (U^T y, U^T W) by REML or ML, exactly as
 * GEMMA does it (Zhou & Stephens 2012, Nat Genet 44:821, and its
 * supplementary section 3; GEMMA's src/lmm.cpp: CalcUab, CalcPab, CalcPPab,
 * CalcPPPab, LogL_f, LogRL_f, LogL_dev1/dev2, LogRL_dev1/dev2, CalcLambda).
 *
 * After the rotation H is diagonal, H^-1 = diag(h_i), h_i = 1 / (1 + lambda s_i),
 * so every quadratic form v_a^T H^-1 v_b is a weighted sum over the N rotated
 * samples. With the variables ordered (w_1, ..., w_c, [x,] y) and
 * P_p = H^-1 - H^-1 V_p (V_p^T H^-1 V_p)^-1 V_p^T H^-1 the projection that
 * removes the first p of them, GEMMA's recursion (CalcPab, CalcPPab,
 * CalcPPPab) gives every v_a^T P_p v_b, v_a^T P_p K P_p v_b and
 * v_a^T P_p K P_p K P_p v_b from the weighted sums with weights h, s h^2 and
 * s^2 h^3, in O(N c^2 + c^3) per lambda, with no N x N work: the
 * log-likelihoods and their first two derivatives in lambda are closed forms
 * in those numbers (see `LambdaProblem`).
 *
 * The search (`searchLambda`) is GEMMA's `CalcLambda`, step for step: the
 * derivative on a log-spaced grid of `n_region` intervals over
 * [lower, upper], GSL's Brent solver on each interval where it changes sign
 * (to 10% relative width), GSL's Newton solver from there (to 1e-5 relative
 * step, keeping the iterate before the last as GEMMA does), then the best
 * of those roots and both bounds. It reproduces GEMMA 0.98.5's lambdas to
 * its printed precision (test/scan/exact.test.ts), with two deliberate
 * differences, both where GEMMA's own rounding decides: the derivatives are
 * formed without GEMMA's cancellation (see `LambdaProblem`), and where
 * Newton still fails (leaves the bounds, 100 steps without converging)
 * GEMMA 0.98.5 returns NaN while lmmkit solves that interval by Brent.
 *
 * An evaluation is an O(N nv^2) pass unless the problem is given the sums
 * another way: precomputed at fixed lambdas (`LambdaProblem.grid`) or from
 * a `MomentSource` (`LambdaProblem.source`; the per-variant scan
 * interpolates them, see lambda-cheb.ts and scan/exact-moments.ts), so that GEMMA's
 * path costs no O(N) work per step.
 *
 * Files: the recursion and likelihoods in lambda-problem.ts, the search in
 * lambda-search.ts (on GSL's root finders, optim/gsl-roots.ts), the fit
 * and the rotated-data checks here.
 */
import { ArgumentError, DesignError, InputError, ShapeError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import { choleskyLower, choleskySolve } from '../linalg/small.js';
import { clampEigenvalues, LambdaProblem } from './lambda-problem.js';
import { searchLambda, searchSettings, type LambdaSearch, type SearchSettings } from './lambda-search.js';

/** Data rotated by the eigenvectors U of the kinship K = U diag(s) U^T. */
export interface RotatedData {
  /** Eigenvalues s of K (length N, any order matching the rows below; clamp tiny negatives to 0 yourself). */
  readonly eigenvalues: Float64Array;
  /** U^T y, length N. */
  readonly uty: Float64Array;
  /** U^T W, N x c covariates (column-major Matrix). */
  readonly utw: Matrix;
}

/** Restricted (REML) or full (ML) maximum likelihood. */
export type VarianceMethod = 'reml' | 'ml';

/** The fitted variance ratio and what follows from it. */
export interface LambdaFit {
  method: VarianceMethod;
  /** sigma_g^2 / sigma_e^2. */
  lambda: number;
  /** Log-likelihood at lambda, with GEMMA's constants (full Gaussian constant, as GEMMA prints). */
  logLik: number;
  /** Profiled sigma_e^2 (REML: / (N - c); ML: / N). */
  sigmaE2: number;
  /** lambda * sigmaE2. */
  sigmaG2: number;
  /** GLS estimate of b (length c). */
  beta: Float64Array;
  /** Brent + Newton iterations the search took (0 when no interval held a root). */
  iterations: number;
  /** Which bound of [lower, upper] lambda sits on, if any. */
  atBound: 'lower' | 'upper' | null;
}

/** Options of `fitLambda`. */
export interface FitLambdaOptions {
  /** Default 'reml'. */
  method?: VarianceMethod;
  /** Smallest lambda searched (GEMMA's l_min), default 1e-5. */
  lower?: number;
  /** Largest lambda searched (GEMMA's l_max), default 1e5. */
  upper?: number;
  /** Log-spaced intervals of the initial grid (GEMMA's n_region), default 10. */
  gridPoints?: number;
}

/** Shape and finiteness checks of rotated data; returns N and c. */
export function checkRotated(data: RotatedData, where: string): { n: number; c: number } {
  const n = data.eigenvalues.length;
  if (data.uty.length !== n) throw new ShapeError(`${where}: uty has length ${data.uty.length} but there are ${n} eigenvalues`);
  if (data.utw.rows !== n) throw new ShapeError(`${where}: utw is ${data.utw.shape} but there are ${n} eigenvalues (rows must match)`);
  const c = data.utw.cols;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(data.uty[i]!)) throw new InputError(undefined, `${where}: uty[${i}] is ${data.uty[i]}; the phenotype must be finite`);
  }
  for (let i = 0; i < data.utw.data.length; i++) {
    if (!Number.isFinite(data.utw.data[i]!)) {
      throw new InputError(undefined, `${where}: utw has a non-finite value (${data.utw.data[i]}) at row ${i % n}, column ${Math.floor(i / n)}`);
    }
  }
  return { n, c };
}

/** The null problem (fixed effects W, response y) for rotated data, with collinearity checked. */
export function nullProblem(data: RotatedData, eigenvalues: Float64Array, where: string): LambdaProblem {
  const c = data.utw.cols;
  const vars: Float64Array[] = [];
  for (let j = 0; j < c; j++) vars.push(data.utw.col(j));
  vars.push(data.uty);
  const prob = new LambdaProblem(eigenvalues, vars);
  const bad = prob.collinearFixed();
  if (bad >= 0) {
    throw new DesignError(
      'SINGULAR_COVARIATES',
      `${where}: covariate column ${bad} is (numerically) a combination of the columns before it; W^T W is singular`,
    );
  }
  return prob;
}

/**
 * Fits lambda = sigma_g^2 / sigma_e^2 by REML (default) or ML on rotated
 * data (N samples, c covariates), with GEMMA's search (`searchLambda`), and
 * returns lambda, GEMMA's log-likelihood there, the profiled variances
 * sigma_e^2 = y^T P y / (N - c) (REML) or / N (ML), sigma_g^2 = lambda sigma_e^2
 * (GEMMA's CalcLmmVgVeBeta), and the GLS beta = (W^T H^-1 W)^-1 W^T H^-1 y.
 * Cost O(N c^2) per likelihood evaluation, a few dozen evaluations.
 * Reference: Zhou & Stephens 2012; GEMMA src/lmm.cpp CalcLambda.
 */
export function fitLambda(data: RotatedData, opts: FitLambdaOptions = {}): LambdaFit {
  const where = 'fitLambda';
  const method = opts.method ?? 'reml';
  if (method !== 'reml' && method !== 'ml') throw new ArgumentError(`${where}: method must be 'reml' or 'ml', found '${String(method)}'`);
  const settings = searchSettings(opts, where);
  const { n, c } = checkRotated(data, where);
  if (n <= c) throw new ShapeError(`${where}: needs more samples (${n}) than covariates (${c})`);
  const s = clampEigenvalues(data.eigenvalues, where);
  const prob = nullProblem(data, s, where);
  const res = searchLambda(prob, method === 'reml' ? 'R' : 'L', settings);
  return finishFit(prob, method, res, settings);
}

/** Builds a LambdaFit from a search result on a null problem. */
export function finishFit(prob: LambdaProblem, method: VarianceMethod, res: LambdaSearch, settings: SearchSettings): LambdaFit {
  const c = prob.nFixed;
  const beta = new Float64Array(c);
  let sigmaE2 = Number.NaN;
  if (Number.isFinite(res.lambda)) {
    prob.evaluate(res.lambda, 1, false);
    const pyy = prob.pab(c, c, c);
    sigmaE2 = pyy / (method === 'reml' ? prob.n - c : prob.n);
    glsBeta(prob, beta);
  } else {
    beta.fill(Number.NaN);
  }
  return {
    method,
    lambda: res.lambda,
    logLik: res.logLik,
    sigmaE2,
    sigmaG2: res.lambda * sigmaE2,
    beta,
    iterations: res.iterations,
    atBound: res.lambda === settings.lower ? 'lower' : res.lambda === settings.upper ? 'upper' : null,
  };
}

/**
 * Solves (W^T H^-1 W) b = W^T H^-1 y from the weighted sums of the last
 * `evaluate` (row 0 of p1), by Cholesky on the c x c system; NaN when the
 * system is not positive definite.
 */
function glsBeta(prob: LambdaProblem, out: Float64Array): void {
  const c = prob.nFixed;
  const a = new Float64Array(c * c);
  const r = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    r[i] = prob.pab(0, i, c);
    for (let j = 0; j < c; j++) a[i + j * c] = prob.pab(0, i, j);
  }
  const l = choleskyLower(a, c);
  if (l === null) out.fill(Number.NaN);
  else out.set(choleskySolve(l, c, r));
}

/**
 * GEMMA's log-likelihood of the null model at a given lambda: LogRL_f
 * ('reml') or LogL_f ('ml'), with its constants (see `LambdaProblem.logLik`).
 * Rotated data of N samples and c covariates; O(N c^2).
 */
export function logLikLambda(data: RotatedData, lambda: number, method: VarianceMethod): number {
  const where = 'logLikLambda';
  if (!(lambda >= 0 && Number.isFinite(lambda))) throw new ArgumentError(`${where}: lambda must be finite and >= 0, found ${lambda}`);
  if (method !== 'reml' && method !== 'ml') throw new ArgumentError(`${where}: method must be 'reml' or 'ml', found '${String(method)}'`);
  const { n, c } = checkRotated(data, where);
  if (n <= c) throw new ShapeError(`${where}: needs more samples (${n}) than covariates (${c})`);
  const s = clampEigenvalues(data.eigenvalues, where);
  const prob = nullProblem(data, s, where);
  return prob.logLik(lambda, method === 'reml' ? 'R' : 'L');
}
