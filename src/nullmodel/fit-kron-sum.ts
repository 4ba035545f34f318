// The Kronecker-sum null model: its fitted object, the one place it is
// assembled (a fit or a saved model), and the REML fit by L-BFGS with a
// Newton finish.
import { DomainError, ShapeError } from '../errors.js';
import type { Backend, Eigen } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { choleskyLower, choleskySolve, symmetriseAverage } from '../linalg/small.js';
import { minimizeLbfgs, type LbfgsStop } from '../optim/lbfgs.js';
import { FreeFormCov } from './freeform.js';
import { KronSumCovariance } from './kron-sum-covariance.js';
import { KronSumLikelihood, type KronSumEvaluation, type KronSumModelOptions } from './kron-sum-likelihood.js';

/** Options of `fitKronSumNull`. */
export interface FitKronSumOptions extends KronSumModelOptions {
  /**
   * Starting parameters (Cg's P(P+1)/2 Cholesky entries, then Cn's; limix's
   * order), or covariances to start from (limix's `setCovariance`). Default
   * limix-lmm's quick start: Cg = Cn = half the sample covariance of Y.
   */
  start?: ArrayLike<number> | { cg: Matrix; cn: Matrix };
  /** L-BFGS iterations (default 2000). */
  maxIterations?: number;
  /** Stop when the gradient's largest entry is at most this (default 1e-7). */
  gtol?: number;
}

/**
 * A fitted `GP2KronSum` null model vec(Y) ~ N(vec(F B A^T), Cg (x) R + Cn (x) I):
 * everything `Mtlmm` needs and what `saveNullModel` writes.
 */
export interface KronSumNullModel {
  readonly kind: 'kron-sum';
  /** Samples N and traits P. */
  readonly n: number;
  readonly p: number;
  /** The backend the model was made on (its covariance rotates with it). */
  readonly backend: Backend;
  /** Y (N x P), F (N x L) and A (P x W) the model was fitted to. */
  readonly y: Matrix;
  readonly covariates: Matrix;
  readonly traitDesign: Matrix;
  /** The fitted covariance, ready for `Mtlmm`. */
  readonly covariance: KronSumCovariance;
  /** The eigendecomposition of R. */
  readonly eigen: Eigen;
  /** Always REML (limix's objective). */
  readonly method: 'reml';
  /** Cg and Cn, each L L^T + jitter I (limix's `K()`). */
  readonly cg: Matrix;
  readonly cn: Matrix;
  /** Their Cholesky parameters (limix's `getParams()` order). */
  readonly cgParams: Float64Array;
  readonly cnParams: Float64Array;
  /** Per trait p: Cg_pp mean(diag R) / (Cg_pp mean(diag R) + Cn_pp), mean(diag R) as the mean clamped eigenvalue. */
  readonly h2: Float64Array;
  /** The restricted log-likelihood with its Gaussian constant (bigger is better): -lml - (NP - LW)/2 log(2 pi). */
  readonly logLik: number;
  /** limix's `gp.LML()` at the optimum: a NEGATIVE restricted log-likelihood without 2 pi (smaller is better). */
  readonly lml: number;
  /** GLS fixed effects B (L x W): mean F B A^T. */
  readonly beta: Matrix;
  /** Euclidean norm of d lml / d params at the optimum. */
  readonly gradNorm: number;
  readonly iterations: number;
  readonly evaluations: number;
  readonly converged: boolean;
  /** Why the optimiser stopped. */
  readonly reason: LbfgsStop | 'newton';
}

/** The parts of a Kronecker-sum null model from which `kronSumNullModel` assembles it. */
export interface KronSumNullParts {
  y: Matrix;
  covariates: Matrix;
  traitDesign: Matrix;
  eigen: Eigen;
  cg: Matrix;
  cn: Matrix;
  cgParams: Float64Array;
  cnParams: Float64Array;
  lml: number;
  beta: Matrix;
  gradNorm: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  reason: LbfgsStop | 'newton';
  backend: Backend;
}

/**
 * Assembles a `KronSumNullModel` from its fitted parameters: the covariance,
 * h2 and logLik are derived here, the one place, so that a model read back
 * from a file is the object `fitKronSumNull` made.
 */
export function kronSumNullModel(parts: KronSumNullParts): KronSumNullModel {
  const { y, covariates, traitDesign, eigen, cg, cn, backend } = parts;
  const n = y.rows;
  const p = y.cols;
  const covariance = new KronSumCovariance(eigen, cg, cn, backend);
  const meanDiag = covariance.eigenvalues.reduce((a, b) => a + b, 0) / n;
  const h2 = new Float64Array(p);
  for (let t = 0; t < p; t++) {
    const g2 = cg.data[t + t * p]! * meanDiag;
    h2[t] = g2 / (g2 + cn.data[t + t * p]!);
  }
  const df = n * p - covariates.cols * traitDesign.cols;
  return {
    kind: 'kron-sum',
    n,
    p,
    backend,
    y,
    covariates,
    traitDesign,
    covariance,
    eigen,
    method: 'reml',
    cg,
    cn,
    cgParams: parts.cgParams,
    cnParams: parts.cnParams,
    h2,
    logLik: -parts.lml - 0.5 * df * Math.log(2 * Math.PI),
    lml: parts.lml,
    beta: parts.beta,
    gradNorm: parts.gradNorm,
    iterations: parts.iterations,
    evaluations: parts.evaluations,
    converged: parts.converged,
    reason: parts.reason,
  };
}

/**
 * Fits limix-core's `GP2KronSum` null model by restricted maximum
 * likelihood: L-BFGS (strong Wolfe line search, approximate Wolfe where the
 * objective's differences drown in rounding) on the Cholesky parameters of Cg
 * and Cn with the analytic gradient, then, if the gradient is not yet below
 * `gtol`, a few Newton steps with a Hessian differenced from the analytic
 * gradient (accepted only when they lower the gradient without raising the
 * objective beyond rounding). Starts where limix-lmm's quick start starts.
 */
export function fitKronSumNull(opts: FitKronSumOptions): KronSumNullModel {
  const model = new KronSumLikelihood(opts);
  let x0: Float64Array;
  if (opts.start === undefined) x0 = model.limixStart();
  else if ('cg' in opts.start) {
    const s = opts.start as { cg: Matrix; cn: Matrix };
    x0 = Float64Array.of(
      ...FreeFormCov.fromCovariance(s.cg, { jitter: model.jitter }).getParams(),
      ...FreeFormCov.fromCovariance(s.cn, { jitter: model.jitter }).getParams(),
    );
  } else x0 = Float64Array.from(opts.start as ArrayLike<number>);
  if (x0.length !== model.nParams) throw new ShapeError(`fitKronSumNull: expected ${model.nParams} starting parameters, found ${x0.length}`);
  const gtol = opts.gtol ?? 1e-7;
  const objective = (x: Float64Array, g: Float64Array): number => {
    let e: KronSumEvaluation;
    try {
      e = model.evaluate(x, true);
    } catch (err) {
      if (err instanceof DomainError) return Infinity;
      throw err;
    }
    g.set(e.grad!);
    return e.lml;
  };
  const res = minimizeLbfgs(objective, x0, {
    maxIterations: opts.maxIterations ?? 2000,
    memory: 20,
    gtol,
    ftol: 1e-12,
    noise: 1e-13,
  });
  let x = res.x;
  let f = res.f;
  let g = res.grad;
  let reason: KronSumNullModel['reason'] = res.reason;
  let evaluations = res.evaluations;
  if (maxAbs(g) > gtol) {
    const polished = newtonPolish(model, x, f, g, gtol);
    evaluations += polished.evaluations;
    if (polished.improved) {
      x = polished.x;
      f = polished.f;
      g = polished.g;
      reason = 'newton';
    }
  }
  const h = model.nParams / 2;
  const { cg, cn } = model.covariances(x);
  const final = model.evaluate(x, false);
  return kronSumNullModel({
    y: model.y,
    covariates: model.covariates,
    traitDesign: model.traitDesign,
    eigen: model.eigen,
    cg: cg.K(),
    cn: cn.K(),
    cgParams: x.slice(0, h),
    cnParams: x.slice(h),
    lml: f,
    beta: final.beta,
    gradNorm: Math.sqrt(g.reduce((s, v) => s + v * v, 0)),
    iterations: res.iterations,
    evaluations,
    converged: maxAbs(g) <= gtol || res.converged,
    reason,
    backend: model.backend,
  });
}

/**
 * Up to 20 Newton steps x <- x - t H^-1 g with H the symmetric central
 * difference of the analytic gradient (2 n gradient evaluations), damped
 * (Levenberg) when H is not positive definite, and t halved from 1 until
 * the step lowers the objective, or lowers |g| without raising the
 * objective beyond its rounding.
 */
function newtonPolish(
  model: KronSumLikelihood,
  x0: Float64Array,
  f0: number,
  g0: Float64Array,
  gtol: number,
): { x: Float64Array; f: number; g: Float64Array; improved: boolean; evaluations: number } {
  const n = x0.length;
  let x = x0;
  let f = f0;
  let g = g0;
  let evaluations = 0;
  let improved = false;
  for (let it = 0; it < 20 && maxAbs(g) > gtol; it++) {
    const hess = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      const h = 1e-6 * Math.max(1, Math.abs(x[j]!));
      const xp = Float64Array.from(x);
      const xm = Float64Array.from(x);
      xp[j]! += h;
      xm[j]! -= h;
      const gp = model.evaluate(xp, true).grad!;
      const gm = model.evaluate(xm, true).grad!;
      evaluations += 2;
      for (let i = 0; i < n; i++) hess[i + j * n] = (gp[i]! - gm[i]!) / (2 * h);
    }
    symmetriseAverage(new Matrix(n, n, hess));
    let step: Float64Array | null = null;
    let mu = 0;
    const diagMax = Math.max(...Array.from({ length: n }, (_, i) => Math.abs(hess[i + i * n]!)));
    for (let tries = 0; tries < 20 && step === null; tries++) {
      const hm = Float64Array.from(hess);
      for (let i = 0; i < n; i++) hm[i + i * n]! += mu;
      const chol = choleskyLower(hm, n);
      if (chol !== null) step = choleskySolve(chol, n, g);
      else mu = mu === 0 ? 1e-10 * diagMax : mu * 10;
    }
    if (step === null) break;
    // Backtrack: keep the first step length that lowers f, or that lowers
    // |g| with f unchanged within rounding.
    let accepted = false;
    for (let t = 1; t > 1e-4 && !accepted; t *= 0.5) {
      const xn = Float64Array.from(x, (v, i) => v - t * step![i]!);
      let e: KronSumEvaluation;
      try {
        e = model.evaluate(xn, true);
      } catch (err) {
        if (err instanceof DomainError) continue;
        throw err;
      }
      evaluations++;
      const lower = e.lml < f - 1e-13 * Math.abs(f);
      const flat = e.lml <= f + 1e-13 * Math.abs(f) && maxAbs(e.grad!) < maxAbs(g);
      if (lower || flat) {
        x = xn;
        f = e.lml;
        g = e.grad!;
        improved = accepted = true;
      }
    }
    if (!accepted) break;
  }
  return { x, f, g, improved, evaluations };
}

function maxAbs(x: Float64Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}
