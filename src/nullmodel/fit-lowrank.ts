import { DesignError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { choleskyInverse, choleskyLower, logdetCholesky } from '../linalg/small.js';
import { brentMinimize } from '../optim/brent.js';
import { LowRankCovariance, type LowRankFactor } from './lowrank.js';
import { requireFiniteTraits, singleTrait, type TraitInput } from './traits.js';

/** Options of `fitLowRankNull`. */
export interface FitLowRankOptions {
  /** Trait: a vector of length N or an N x 1 Matrix (no NaN). */
  y: TraitInput;
  /** N x k fixed-effect design F (full column rank), e.g. a column of ones. */
  covariates: Matrix;
  /** N x r low-rank factor W. */
  w: Matrix;
  backend?: Backend;
}

/**
 * A fitted low-rank-plus-noise null model y ~ N(F b, cr W W^T + cn I):
 * everything a scan needs (`gwasScan({ null })`, fixed test) and what
 * `saveNullModel` writes.
 */
export interface LowRankNullModel {
  readonly kind: 'lowrank';
  /** Samples N. */
  readonly n: number;
  /** The backend the model was made on (its covariance whitens with it). */
  readonly backend: Backend;
  /** The trait (length N) and the N x k covariates the model was fitted to. */
  readonly y: Float64Array;
  readonly covariates: Matrix;
  readonly covariance: LowRankCovariance;
  /** Always REML (limix's objective). */
  readonly method: 'reml';
  /** Variance of the low-rank term (limix's Cr). */
  readonly cr: number;
  /** Noise variance (limix's Cn, which includes FreeFormCov's 1e-4 jitter). */
  readonly cn: number;
  /** cr mean(diag W W^T) / (cr mean(diag W W^T) + cn), mean(diag W W^T) = sum s^2 / N. */
  readonly h2: number;
  /**
   * The restricted log-likelihood with its Gaussian constant (bigger is
   * better): -lml - (N - k)/2 log(2 pi), comparable with lme4's REML criterion / -2.
   */
  readonly logLik: number;
  /**
   * limix-core's `gp.LML()` at the optimum: a NEGATIVE restricted
   * log-likelihood (smaller is better) without the 2 pi constant,
   * 0.5 [log|K| + log|F^T K^-1 F| + y^T P y].
   */
  readonly lml: number;
  /** GLS fixed effects b = (F^T K^-1 F)^-1 F^T K^-1 y. */
  readonly beta: Float64Array;
  /** Whether the optimum is at the boundary cr = 0. */
  readonly atBoundary: boolean;
  readonly iterations: number;
}

/** The parts of a low-rank null model from which `lowRankNullModel` assembles it. */
export interface LowRankNullParts {
  y: Float64Array;
  covariates: Matrix;
  /** The thin SVD of W. */
  factor: LowRankFactor;
  cr: number;
  cn: number;
  lml: number;
  beta: Float64Array;
  atBoundary: boolean;
  iterations: number;
  backend: Backend;
}

/**
 * Assembles a `LowRankNullModel` from its fitted parameters: the covariance,
 * h2 and logLik are derived here, the one place, so that a model read back
 * from a file is the object `fitLowRankNull` made.
 */
export function lowRankNullModel(parts: LowRankNullParts): LowRankNullModel {
  const { y, covariates, factor, cr, cn, backend } = parts;
  const n = y.length;
  const k = covariates.cols;
  let ss = 0;
  for (const si of factor.s) ss += si * si;
  const g2 = (cr * ss) / n;
  return {
    kind: 'lowrank',
    n,
    backend,
    y,
    covariates,
    covariance: new LowRankCovariance(factor, cr, cn, backend),
    method: 'reml',
    cr,
    cn,
    h2: g2 / (g2 + cn),
    logLik: -parts.lml - 0.5 * (n - k) * Math.log(2 * Math.PI),
    lml: parts.lml,
    beta: parts.beta,
    atBoundary: parts.atBoundary,
    iterations: parts.iterations,
  };
}

/**
 * Fits y ~ N(F b, cr W W^T + cn I) by REML, the null model of limix-lmm's
 * quick start (limix-core `GP2KronSumLR` with one trait; its objective,
 * `gp.LML()`, is the `lml` returned here).
 *
 * Rather than limix's L-BFGS-B over (Cr, Cn), the scale is profiled out:
 * with K = cn H(rho), H = I + rho W W^T, the optimum cn given rho is
 * y^T P_H y / (N - k), leaving a one-dimensional problem in log rho solved by
 * a grid and Brent's method, plus the boundary rho = 0 (Cr = 0). Every
 * evaluation costs O(p k^2) after one SVD of W (p = rank of W), so the fit is
 * O(N r^2) in all. Reaches the same optimum as limix to its stopping
 * accuracy (see the parity test), and the exact boundary where limix creeps
 * towards Cr ~ 1e-16.
 */
export function fitLowRankNull(opts: FitLowRankOptions): LowRankNullModel {
  const backend = opts.backend ?? getBackend();
  const { covariates: f, w } = opts;
  const n = f.rows;
  const k = f.cols;
  const y = singleTrait(opts.y, 'fitLowRankNull');
  if (y.length !== n) throw new ShapeError(`fitLowRankNull: y has ${y.length} values but covariates have ${n} rows`);
  if (w.rows !== n) throw new ShapeError(`fitLowRankNull: W has ${w.rows} rows but covariates have ${n}`);
  if (n <= k) throw new ShapeError(`fitLowRankNull: ${n} samples cannot fit ${k} covariates and a variance`);
  requireFiniteTraits(y, n, 'fitLowRankNull');
  const svd = backend.gesdd(w);
  const p = svd.s.length;
  // [y F] rotated onto range(W) and the Grams of its complement.
  const yf = new Matrix(n, k + 1);
  yf.data.set(y, 0);
  yf.data.set(f.data, n);
  const rot = backend.gemm(svd.u, yf, { transA: true }); // p x (k+1)
  const resid = yf.clone();
  backend.gemm(svd.u, rot, { c: resid, beta: 1, alpha: -1 });
  const comp = backend.gemm(resid, resid, { transA: true }); // (k+1) x (k+1)
  const s2 = svd.s.map((s) => s * s);

  /** Profiled objective at rho: returns lml and the pieces. */
  const evaluate = (rho: number): { lml: number; sigma2: number; beta: Float64Array; slope: number } => {
    const m = k + 1;
    const g = Float64Array.from(comp.data); // [y F]^T H^-1 [y F]
    for (let i = 0; i < p; i++) {
      const h = 1 / (1 + rho * s2[i]!);
      for (let b = 0; b < m; b++) {
        const rb = rot.data[i + b * p]! * h;
        for (let a = 0; a < m; a++) g[a + b * m]! += rot.data[i + a * p]! * rb;
      }
    }
    let logdetH = 0;
    for (let i = 0; i < p; i++) logdetH += Math.log1p(rho * s2[i]!);
    const fhf = new Float64Array(k * k);
    const fhy = new Float64Array(k);
    for (let b = 0; b < k; b++) {
      fhy[b] = g[b + 1]!;
      for (let a = 0; a < k; a++) fhf[a + b * k] = g[a + 1 + (b + 1) * m]!;
    }
    const chol = choleskyLower(fhf, k);
    if (chol === null) throw new DesignError('SINGULAR_COVARIATES', 'fitLowRankNull: the covariate matrix F is not of full column rank');
    const inv = choleskyInverse(chol, k);
    const beta = new Float64Array(k);
    let quad = 0;
    for (let a = 0; a < k; a++) {
      let s = 0;
      for (let b = 0; b < k; b++) s += inv[a + b * k]! * fhy[b]!;
      beta[a] = s;
      quad += s * fhy[a]!;
    }
    const ypy = Math.max(g[0]! - quad, Number.MIN_VALUE);
    const sigma2 = ypy / (n - k);
    const logdetFhf = logdetCholesky(chol, k);
    const lml = 0.5 * ((n - k) * Math.log(sigma2) + logdetH + logdetFhf + (n - k));
    // d lml / d rho = 0.5 [tr(H^-1 WW') - tr((F'H^-1F)^-1 F'H^-1 WW' H^-1 F) - (N-k) |W' P y|^2 / y'Py],
    // all in the rotated coordinates (WW' = U diag(s^2) U').
    let trH = 0;
    let trF = 0;
    let wpy = 0;
    const hf = new Float64Array(k);
    for (let i = 0; i < p; i++) {
      const h = 1 / (1 + rho * s2[i]!);
      trH += s2[i]! * h;
      let py = rot.data[i]!;
      for (let a = 0; a < k; a++) {
        hf[a] = rot.data[i + (a + 1) * p]! * h;
        py -= rot.data[i + (a + 1) * p]! * beta[a]!;
      }
      py *= h;
      wpy += s2[i]! * py * py;
      for (let a = 0; a < k; a++) {
        let row = 0;
        for (let b = 0; b < k; b++) row += inv[a + b * k]! * hf[b]!;
        trF += s2[i]! * row * hf[a]!;
      }
    }
    const slope = 0.5 * (trH - trF - ((n - k) * wpy) / ypy);
    return { lml, sigma2, beta, slope };
  };

  // Grid over log10 rho, then Brent in the best bracket; rho = 0 compared last.
  const lo = -12;
  const hi = 8;
  const points = 41;
  let best = 0;
  const grid: number[] = [];
  for (let i = 0; i < points; i++) {
    const t = lo + ((hi - lo) * i) / (points - 1);
    grid.push(evaluate(10 ** t).lml);
    if (grid[i]! < grid[best]!) best = i;
  }
  const a = lo + ((hi - lo) * Math.max(best - 1, 0)) / (points - 1);
  const b = lo + ((hi - lo) * Math.min(best + 1, points - 1)) / (points - 1);
  const opt = brentMinimize((t) => evaluate(10 ** t).lml, a, b, 1e-12);
  // The objective is flat at the optimum: finish on its analytic slope (secant
  // steps in log rho), which pins rho down to rounding rather than sqrt(eps).
  let t = opt.x;
  for (let it = 0; it < 20; it++) {
    const h = 1e-6;
    const g0 = evaluate(10 ** t).slope * 10 ** t;
    const g1 = evaluate(10 ** (t + h)).slope * 10 ** (t + h);
    if (g1 === g0) break;
    const dt = (-g0 * h) / (g1 - g0);
    if (!Number.isFinite(dt) || Math.abs(dt) > 0.5) break;
    t += dt;
    if (Math.abs(dt) < 1e-14) break;
  }
  if (!(evaluate(10 ** t).lml <= opt.fx)) t = opt.x;
  let rho = 10 ** t;
  let fit = evaluate(rho);
  const atZero = evaluate(0);
  let atBoundary = false;
  if (atZero.lml <= fit.lml) {
    rho = 0;
    fit = atZero;
    atBoundary = true;
  }
  const cn = fit.sigma2;
  const cr = rho * cn;
  return lowRankNullModel({
    y,
    covariates: f,
    factor: { u: svd.u, s: svd.s },
    cr,
    cn,
    lml: fit.lml,
    beta: fit.beta,
    atBoundary,
    iterations: points + opt.iterations,
    backend,
  });
}
