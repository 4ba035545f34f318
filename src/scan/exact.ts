/**
 * GEMMA's exact per-variant mixed-model tests (`gemma -lmm 4`): for every
 * variant x the model y = W b + x beta + g + e, V = sigma_e^2 (lambda K + I),
 * is refitted with its own lambda (Zhou & Stephens 2012, Nat Genet 44:821;
 * GEMMA src/lmm.cpp: AnalyzeBimbam / AnalyzePlink, CalcRLWald, CalcRLScore):
 *
 * - Wald: lambda re-estimated by REML with x in the model (l_remle);
 *   beta = x^T P_W y / x^T P_W x, tau = df / y^T P_Wx y,
 *   se = sqrt(1 / (tau x^T P_W x)), F = (y^T P_W y - y^T P_Wx y) tau ~ F(1, df);
 * - likelihood ratio: lambda re-estimated by ML (l_mle);
 *   2 (logL_H1 - logL_H0) ~ chi2(1), logL_H0 the null model's ML optimum;
 * - score: at the null model's ML lambda, F = N (x^T P_W y)^2 / (y^T P_W y x^T P_W x) ~ F(1, df);
 *
 * with df = N - c - 1 and P_W (P_Wx) the projections of the rotated model
 * that remove W (W and x) at the lambda in question (see nullmodel/lambda.ts).
 * Each likelihood evaluation costs O(N c^2); nothing is N x N per variant.
 */
import { LmmkitError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import {
  LambdaProblem,
  checkRotated,
  clampEigenvalues,
  finishFit,
  gridLambdas,
  nullProblem,
  searchLambda,
  searchSettings,
  type FixedMoments,
  type LambdaFit,
  type RotatedData,
} from '../nullmodel/lambda.js';
import { chi2Log10Sf, chi2Sf, fLog10Sf, fSf } from '../stats/index.js';

/** Options of `exactTests`. */
export interface ExactTestOptions {
  /** The null model's REML fit (computed when absent; reported, not used by the tests). */
  nullReml?: LambdaFit;
  /** The null model's ML fit: its lambda is the score test's, its logLik the LRT's H0 (computed when absent). */
  nullMl?: LambdaFit;
  /** Smallest lambda searched, default 1e-5 (GEMMA's l_min). */
  lower?: number;
  /** Largest lambda searched, default 1e5 (GEMMA's l_max). */
  upper?: number;
  /** Log-spaced intervals of the search grid, default 10 (GEMMA's n_region). */
  gridPoints?: number;
  /** Backend of the two batch products of the grid (default `getBackend()`). */
  backend?: Backend;
}

/** Per-variant results of `exactTests`; every array has one entry per column of `utx`. */
export interface ExactTestResult {
  /** Samples N and covariates c; the F tests have (1, df) degrees of freedom, df = N - c - 1. */
  n: number;
  c: number;
  df: number;
  nullReml: LambdaFit;
  nullMl: LambdaFit;
  /** REML lambda with the variant in the model (GEMMA's l_remle), used by the Wald test. */
  lambdaReml: Float64Array;
  /** Effect of the variant at lambdaReml. */
  beta: Float64Array;
  se: Float64Array;
  /** Wald F statistic, p-value and log10 p-value (finite far below 1e-308). */
  fWald: Float64Array;
  pWald: Float64Array;
  log10pWald: Float64Array;
  /** ML lambda with the variant in the model (GEMMA's l_mle), used by the LRT. */
  lambdaMl: Float64Array;
  /** ML log-likelihood at lambdaMl (GEMMA's logl_H1). */
  logLikH1: Float64Array;
  /** 2 (logLikH1 - nullMl.logLik), its chi2(1) p-value and log10 p-value (p = 1 when the statistic is <= 0). */
  chi2Lrt: Float64Array;
  pLrt: Float64Array;
  log10pLrt: Float64Array;
  /** Score F statistic at nullMl.lambda, p-value and log10 p-value. */
  fScore: Float64Array;
  pScore: Float64Array;
  log10pScore: Float64Array;
  /**
   * Bit 1: the REML search fell back to Brent on an interval where GEMMA's
   * Newton polishing failed (GEMMA 0.98.5 prints nan for l_remle, beta, se
   * and p_wald there); bit 2: the same for the ML search (nan l_mle, p_lrt).
   */
  fallback: Uint8Array;
}

/**
 * GEMMA's `-lmm 4` on one batch of rotated variants: for each column x of
 * `utx` (N x b, U^T X for the kinship eigenvectors U, missing dosages
 * mean-imputed before rotating), the Wald test at the REML lambda, the LRT
 * between the ML fits with and without x, and the score test at the null ML
 * lambda, with lambda re-estimated per variant by GEMMA's search
 * (`searchLambda` in nullmodel/lambda.ts). Variants that are (numerically)
 * a combination of the covariates get NaN everywhere.
 *
 * Cost per variant: two lambda searches of a few dozen O(N c^2)
 * evaluations; the grid part is shared through precomputed weights. Call it
 * once per batch, passing the null fits so they are not refitted.
 */
export function exactTests(data: RotatedData, utx: Matrix, opts: ExactTestOptions = {}): ExactTestResult {
  const where = 'exactTests';
  const settings = searchSettings(opts, where);
  const { n, c } = checkRotated(data, where);
  if (utx.rows !== n) throw new ShapeError(`${where}: utx is ${utx.shape} but the data have N = ${n} samples (rows must match)`);
  const df = n - c - 1;
  if (df < 1) throw new ShapeError(`${where}: needs N > c + 1 (N = ${n}, c = ${c}) for the tests' degrees of freedom`);
  for (let i = 0; i < utx.data.length; i++) {
    if (!Number.isFinite(utx.data[i]!)) {
      throw new LmmkitError(
        'BAD_INPUT',
        `${where}: utx has a non-finite value (${utx.data[i]}) at row ${i % n}, column ${Math.floor(i / n)}; impute missing dosages before rotating`,
      );
    }
  }
  const s = clampEigenvalues(data.eigenvalues, where);

  // The null fits (GEMMA's l_remle_null, l_mle_null and logl_mle_H0).
  const nullProb = nullProblem(data, s, where);
  const nullReml = opts.nullReml ?? finishFit(nullProb, 'reml', searchLambda(nullProb, 'R', settings), settings);
  const nullMl = opts.nullMl ?? finishFit(nullProb, 'ml', searchLambda(nullProb, 'L', settings), settings);
  if (nullMl.method !== 'ml') throw new LmmkitError('BAD_ARGUMENT', `${where}: nullMl must be an ML fit, found method '${nullMl.method}'`);
  if (nullReml.method !== 'reml') throw new LmmkitError('BAD_ARGUMENT', `${where}: nullReml must be a REML fit, found method '${nullReml.method}'`);

  // The alternative: variables w_0..w_{c-1}, x (index c), y (index c + 1).
  const vars: Float64Array[] = [];
  for (let j = 0; j < c; j++) vars.push(data.utw.col(j));
  vars.push(new Float64Array(n));
  vars.push(data.uty);
  const prob = new LambdaProblem(s, vars);
  const grid = new GridCache(prob, gridLambdas(settings), utx, opts.backend ?? getBackend());
  prob.grid = grid.moments;

  const b = utx.cols;
  const out: ExactTestResult = {
    n, c, df, nullReml, nullMl,
    lambdaReml: new Float64Array(b), beta: new Float64Array(b), se: new Float64Array(b),
    fWald: new Float64Array(b), pWald: new Float64Array(b), log10pWald: new Float64Array(b),
    lambdaMl: new Float64Array(b), logLikH1: new Float64Array(b),
    chi2Lrt: new Float64Array(b), pLrt: new Float64Array(b), log10pLrt: new Float64Array(b),
    fScore: new Float64Array(b), pScore: new Float64Array(b), log10pScore: new Float64Array(b),
    fallback: new Uint8Array(b),
  };
  const xi = c;
  const yi = c + 1;
  for (let j = 0; j < b; j++) {
    prob.setVariable(xi, utx.col(j));
    if (prob.collinearFixed() >= 0) {
      setNaN(out, j);
      continue;
    }
    grid.loadVariant(j);

    // Score test at the null ML lambda (GEMMA's CalcRLScore).
    prob.evaluate(nullMl.lambda, 1, false);
    {
      const pyy = prob.pab(c, yi, yi);
      const pxx = prob.pab(c, xi, xi);
      const pxy = prob.pab(c, xi, yi);
      const f = (n * pxy * pxy) / (pyy * pxx);
      out.fScore[j] = f;
      out.pScore[j] = fSf(f, 1, df);
      out.log10pScore[j] = fLog10Sf(f, 1, df);
    }

    // Wald test at the REML lambda (CalcLambda('R') then CalcRLWald).
    const reml = searchLambda(prob, 'R', settings);
    out.lambdaReml[j] = reml.lambda;
    if (reml.fallback) out.fallback[j]! |= 1;
    if (Number.isFinite(reml.lambda)) {
      prob.evaluate(reml.lambda, 1, false);
      const pyy = prob.pab(c, yi, yi);
      const pxx = prob.pab(c, xi, xi);
      const pxy = prob.pab(c, xi, yi);
      const pxyy = prob.pab(c + 1, yi, yi);
      const tau = df / pxyy;
      // y'P_Wx y is a difference; a (numerically) perfect fit can round it to <= 0: F is then +Infinity.
      const f = pxyy > 0 ? (pyy - pxyy) * tau : Number.POSITIVE_INFINITY;
      out.beta[j] = pxy / pxx;
      out.se[j] = Math.sqrt(1.0 / (tau * pxx));
      out.fWald[j] = f;
      out.pWald[j] = fSf(f, 1, df);
      out.log10pWald[j] = fLog10Sf(f, 1, df);
    } else {
      out.beta[j] = out.se[j] = out.fWald[j] = out.pWald[j] = out.log10pWald[j] = Number.NaN;
    }

    // Likelihood ratio test at the ML lambda (CalcLambda('L')).
    const ml = searchLambda(prob, 'L', settings);
    out.lambdaMl[j] = ml.lambda;
    out.logLikH1[j] = ml.logLik;
    if (ml.fallback) out.fallback[j]! |= 2;
    const stat = 2.0 * (ml.logLik - nullMl.logLik);
    out.chi2Lrt[j] = stat;
    if (Number.isNaN(stat)) {
      out.pLrt[j] = out.log10pLrt[j] = Number.NaN;
    } else {
      // gsl_cdf_chisq_Q is 1 for a statistic <= 0 (an H1 optimum below H0's by rounding).
      out.pLrt[j] = stat > 0 ? chi2Sf(stat, 1) : 1;
      out.log10pLrt[j] = stat > 0 ? chi2Log10Sf(stat, 1) : 0;
    }
  }
  return out;
}

function setNaN(out: ExactTestResult, j: number): void {
  for (const key of [
    'lambdaReml', 'beta', 'se', 'fWald', 'pWald', 'log10pWald', 'lambdaMl', 'logLikH1',
    'chi2Lrt', 'pLrt', 'log10pLrt', 'fScore', 'pScore', 'log10pScore',
  ] as const) {
    out[key][j] = Number.NaN;
  }
}

/**
 * The moments of the alternative problem at the grid lambdas. The weights
 * h = (1 + lambda s)^-1 and s h^2, the traces, log det H and the sums of the
 * pairs without x are computed once per call; the pairs with x, for the
 * whole batch at once, by two products on the backend:
 * X^T [h_k w, s h_k^2 w for each grid lambda k and each w in (W, y)] and
 * (X o X)^T [h_k, s h_k^2]; `loadVariant(j)` copies variant j's into the moments.
 */
class GridCache {
  readonly moments = new Map<number, FixedMoments>();
  private readonly prob: LambdaProblem;
  private readonly entries: FixedMoments[] = [];
  /** b x (2 K (c + 1)): the sums x_j^T (weight o w). */
  private readonly cross: Matrix;
  /** b x 2K: the sums (x_j o x_j)^T weight. */
  private readonly square: Matrix;

  constructor(prob: LambdaProblem, lambdas: number[], utx: Matrix, be: Backend) {
    this.prob = prob;
    const { n, nPairs, nFixed, products } = prob;
    const s = prob.eigenvalues;
    const nOther = nFixed; // W columns and y: every variable but x (index nFixed - 1)
    const xi = nFixed - 1;
    const nk = lambdas.length;
    const weighted = new Matrix(n, 2 * nk * nOther);
    const weights = new Matrix(n, 2 * nk);
    lambdas.forEach((l, k) => {
      const w1 = weights.col(2 * k);
      const wk = weights.col(2 * k + 1);
      let trK = 0;
      let trKK = 0;
      let ld = 0;
      for (let i = 0; i < n; i++) {
        const si = s[i]!;
        const d = l * si + 1;
        const h = 1 / d;
        const sh = si * h;
        w1[i] = h;
        wk[i] = sh * h;
        trK += sh;
        trKK += sh * sh;
        ld += Math.log(Math.abs(d));
      }
      const m: FixedMoments = { trK, trKK, logdetH: ld, e1: new Float64Array(nPairs), ek: new Float64Array(nPairs) };
      // The pairs without x, once.
      for (let a = 0; a < prob.nv; a++) {
        if (a === xi) continue;
        for (let b = a; b < prob.nv; b++) {
          if (b === xi) continue;
          const off = prob.pair(a, b) * n;
          let s1 = 0;
          let s2 = 0;
          for (let i = 0; i < n; i++) {
            const u = products[off + i]!;
            s1 += w1[i]! * u;
            s2 += wk[i]! * u;
          }
          m.e1[prob.pair(a, b)] = s1;
          m.ek[prob.pair(a, b)] = s2;
        }
      }
      for (let t = 0; t < 2; t++) {
        const w = t === 0 ? w1 : wk;
        for (let o = 0; o < nOther; o++) {
          const v = prob.variable(o < xi ? o : o + 1);
          const col = weighted.col((2 * k + t) * nOther + o);
          for (let i = 0; i < n; i++) col[i] = w[i]! * v[i]!;
        }
      }
      this.entries.push(m);
      this.moments.set(l, m);
    });
    this.cross = be.gemm(utx, weighted, { transA: true });
    const sq = new Matrix(utx.rows, utx.cols);
    for (let i = 0; i < sq.data.length; i++) sq.data[i] = utx.data[i]! * utx.data[i]!;
    this.square = be.gemm(sq, weights, { transA: true });
  }

  /** Fills the x pairs of every grid moment with variant j's sums. */
  loadVariant(j: number): void {
    const { prob, cross, square } = this;
    const b = cross.rows;
    const nOther = prob.nFixed;
    const xi = prob.nFixed - 1;
    const xx = prob.pair(xi, xi);
    this.entries.forEach((m, k) => {
      for (let o = 0; o < nOther; o++) {
        const pr = prob.pair(xi, o < xi ? o : o + 1);
        m.e1[pr] = cross.data[j + (2 * k) * nOther * b + o * b]!;
        m.ek[pr] = cross.data[j + (2 * k + 1) * nOther * b + o * b]!;
      }
      m.e1[xx] = square.data[j + 2 * k * b]!;
      m.ek[xx] = square.data[j + (2 * k + 1) * b]!;
    });
  }
}
