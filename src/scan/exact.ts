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
 *
 * The searches follow GEMMA's path step for step (`searchLambda`), but its
 * evaluations cost O(c^2 K) instead of O(N c^2): the weighted sums with x
 * at GEMMA's grid points, at the score test's lambda and on K Chebyshev
 * nodes of each grid interval where a variant's derivative changes sign
 * come from a few gemms for the whole batch, and the likelihood between the
 * nodes from their interpolants (nullmodel/lambda-cheb.ts). Nothing is
 * N x N per variant, and nothing O(N) unless GEMMA's Newton steps leave the
 * interpolated intervals.
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
  gridDerivatives,
  gridLambdas,
  lambdaWeights,
  nullProblem,
  searchLambda,
  searchSettings,
  type FixedMoments,
  type LambdaFit,
  type RotatedData,
  type SearchSettings,
} from '../nullmodel/lambda.js';
import { ChebGrid, ChebMoments, fixedSeriesValues, seriesOffsets } from '../nullmodel/lambda-cheb.js';
import { chi2Log10Sf, chi2Sf, fLog10Sf, fSf } from '../stats/index.js';

/** The three tests of `gemma -lmm 4`; `['wald']` alone is `gemma -lmm 1`. */
export type ExactTestName = 'wald' | 'lrt' | 'score';

/** Chebyshev nodes per grid interval, by default (see nullmodel/lambda-cheb.ts). */
export const EXACT_DEFAULT_NODES = 20;

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
  /** Backend of the batch products (default `getBackend()`). */
  backend?: Backend;
  /**
   * The tests to run, default all three. `['wald']` is what `gemma -lmm 1`
   * does (no ML search, no score test); the arrays of the tests not run are NaN.
   */
  tests?: readonly ExactTestName[];
  /**
   * Chebyshev nodes per grid interval of the per-variant interpolants
   * (default 20, at least 4); 0 evaluates every likelihood off the grid by
   * its direct O(N c^2) pass (the reference the interpolants are checked
   * against; several times slower at large N).
   */
  nodes?: number;
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
  /**
   * The work of the per-variant searches, all variants together: likelihood
   * evaluations, and of those the O(N c^2) passes (the others read the grid
   * sums or the interpolants).
   */
  work: { evaluations: number; passes: number };
}

const ALL_TESTS: readonly ExactTestName[] = ['wald', 'lrt', 'score'];

/**
 * GEMMA's `-lmm 4` on one batch of rotated variants: for each column x of
 * `utx` (N x b, U^T X for the kinship eigenvectors U, missing dosages
 * mean-imputed before rotating), the Wald test at the REML lambda, the LRT
 * between the ML fits with and without x, and the score test at the null ML
 * lambda, with lambda re-estimated per variant by GEMMA's search
 * (`searchLambda` in nullmodel/lambda.ts). Variants that are (numerically)
 * a combination of the covariates get NaN everywhere. `tests` selects a
 * subset (`['wald']`: `gemma -lmm 1`).
 *
 * Cost per variant: O(N c (G + K)) in gemms (G grid points, K Chebyshev
 * nodes on the one or two grid intervals that hold its optima) plus two
 * lambda searches of a few dozen O(K c^2) evaluations. Call it once per
 * batch, passing the null fits so they are not refitted.
 */
export function exactTests(data: RotatedData, utx: Matrix, opts: ExactTestOptions = {}): ExactTestResult {
  const where = 'exactTests';
  const settings = searchSettings(opts, where);
  const { n, c } = checkRotated(data, where);
  if (utx.rows !== n) throw new ShapeError(`${where}: utx is ${utx.shape} but the data have N = ${n} samples (rows must match)`);
  const df = n - c - 1;
  if (df < 1) throw new ShapeError(`${where}: needs N > c + 1 (N = ${n}, c = ${c}) for the tests' degrees of freedom`);
  const tests = opts.tests ?? ALL_TESTS;
  for (const t of tests) {
    if (!ALL_TESTS.includes(t)) throw new LmmkitError('BAD_ARGUMENT', `${where}: unknown test '${String(t)}' (expected 'wald', 'lrt' or 'score')`);
  }
  if (tests.length === 0) throw new LmmkitError('BAD_ARGUMENT', `${where}: tests is empty`);
  const doWald = tests.includes('wald');
  const doLrt = tests.includes('lrt');
  const doScore = tests.includes('score');
  const nodes = opts.nodes ?? EXACT_DEFAULT_NODES;
  if (!(nodes === 0 || (Number.isInteger(nodes) && nodes >= 4))) {
    throw new LmmkitError('BAD_ARGUMENT', `${where}: nodes must be 0 or an integer >= 4, found ${nodes}`);
  }
  const s = clampEigenvalues(data.eigenvalues, where);
  const be = opts.backend ?? getBackend();

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
  const b = utx.cols;
  const fixed = fixedParts(data, prob, settings, nodes);

  const out: ExactTestResult = {
    n, c, df, nullReml, nullMl,
    lambdaReml: new Float64Array(b), beta: new Float64Array(b), se: new Float64Array(b),
    fWald: new Float64Array(b), pWald: new Float64Array(b), log10pWald: new Float64Array(b),
    lambdaMl: new Float64Array(b), logLikH1: new Float64Array(b),
    chi2Lrt: new Float64Array(b), pLrt: new Float64Array(b), log10pLrt: new Float64Array(b),
    fScore: new Float64Array(b), pScore: new Float64Array(b), log10pScore: new Float64Array(b),
    fallback: new Uint8Array(b),
    work: { evaluations: 0, passes: 0 },
  };
  if (!doWald) for (const key of WALD_KEYS) out[key].fill(Number.NaN);
  if (!doLrt) for (const key of LRT_KEYS) out[key].fill(Number.NaN);
  if (!doScore) for (const key of SCORE_KEYS) out[key].fill(Number.NaN);

  // Chunks of up to CHUNK variants, their squares in a buffer kept between calls.
  // The interpolation pieces most variants need: the grid intervals of the null optima (the variant
  // moves them little); their nodes join the grid's products.
  const predicted = fixed.cheb === undefined ? [] : fixed.intervalPieces([doWald ? nullReml.lambda : Number.NaN, doLrt ? nullMl.lambda : Number.NaN]);
  const ctx: ChunkContext = { prob, fixed, settings, nullMl, be, doWald, doLrt, doScore, nodes, out, predicted };
  const chunk = Math.max(1, Math.min(b, CHUNK));
  const xsqBuf = fixed.scratch(n * chunk);
  const before = { evaluations: prob.evaluations, passes: prob.passes };
  for (let j0 = 0; j0 < b; j0 += chunk) {
    const x = utx.colView(j0, Math.min(b, j0 + chunk));
    const xsq = squares(x, xsqBuf, j0, where);
    runChunk(ctx, x, xsq, j0);
  }
  prob.source = undefined;
  prob.grid = undefined;
  out.work.evaluations = prob.evaluations - before.evaluations;
  out.work.passes = prob.passes - before.passes;
  return out;
}

/**
 * Variants per chunk of `exactTests`: the skinny products X^T W run at
 * 60-90 GFLOP/s for a thousand columns of X and noticeably slower for a few
 * hundred (OpenBLAS, N = 5000), which outweighs keeping X o X in cache.
 */
const CHUNK = 1024;

interface ChunkContext {
  prob: LambdaProblem;
  fixed: FixedParts;
  settings: SearchSettings;
  nullMl: LambdaFit;
  be: Backend;
  doWald: boolean;
  doLrt: boolean;
  doScore: boolean;
  nodes: number;
  out: ExactTestResult;
  /** Interpolation pieces whose nodes are computed with the grid, for every variant. */
  predicted: number[];
}

/** The tests of the variants x (N x b, with their squares xsq) into `ctx.out` from index j0. */
function runChunk(ctx: ChunkContext, utx: Matrix, xsq: Matrix, j0: number): void {
  const { prob, fixed, settings, nullMl, be, doWald, doLrt, doScore, nodes, out, predicted } = ctx;
  const { n, df } = out;
  const c = prob.nFixed - 1;
  const xi = c;
  const yi = c + 1;
  const b = utx.cols;
  const sums = new BatchSums(prob, utx, xsq, be);
  const scoreLambda = doScore && Number.isFinite(nullMl.lambda) ? nullMl.lambda : undefined;
  const grid = new GridCache(fixed, sums, gridLambdas(settings), scoreLambda, predicted);
  prob.grid = grid.moments;
  prob.source = undefined;

  // Pass 1, per variant: the score test, the grid derivatives and the intervals where they change sign.
  const g1 = settings.gridPoints + 1;
  const devR = doWald ? new Float64Array(b * g1) : undefined;
  const devL = doLrt ? new Float64Array(b * g1) : undefined;
  const skip = new Uint8Array(b);
  const needs: number[][] = Array.from({ length: settings.gridPoints }, () => []);
  const mark = new Int32Array(settings.gridPoints).fill(-1);
  const addBrackets = (j: number, d: Float64Array): void => {
    for (let k = 0; k < settings.gridPoints; k++) {
      if (d[k]! * d[k + 1]! <= 0 && mark[k] !== j) {
        mark[k] = j;
        needs[k]!.push(j);
      }
    }
  };
  for (let j = 0; j < b; j++) {
    const jo = j0 + j;
    prob.setVariable(xi, utx.col(j), grid.plain(j));
    if (prob.collinearFixed() >= 0) {
      setNaN(out, jo);
      skip[j] = 1;
      continue;
    }
    grid.loadVariant(j);

    // Score test at the null ML lambda (GEMMA's CalcRLScore).
    if (doScore) {
      prob.evaluate(nullMl.lambda, 1, false);
      const pyy = prob.pab(c, yi, yi);
      const pxx = prob.pab(c, xi, xi);
      const pxy = prob.pab(c, xi, yi);
      const f = (n * pxy * pxy) / (pyy * pxx);
      out.fScore[jo] = f;
      out.pScore[jo] = fSf(f, 1, df);
      out.log10pScore[jo] = fLog10Sf(f, 1, df);
    }
    if (devR !== undefined) addBrackets(j, gridDerivatives(prob, 'R', settings, devR.subarray(j * g1, (j + 1) * g1)));
    if (devL !== undefined) addBrackets(j, gridDerivatives(prob, 'L', settings, devL.subarray(j * g1, (j + 1) * g1)));
  }
  if (!doWald && !doLrt) return;

  // The interpolants on the bracketing intervals, each interval's for its variants at once.
  const sources: (ChebMoments | undefined)[] = new Array<ChebMoments | undefined>(b).fill(undefined);
  if (fixed.cheb !== undefined) {
    const { grid: cg, pieces } = fixed.cheb;
    const off = seriesOffsets(prob.nPairs);
    const typeOff = [off.e1, off.ek, off.ekk];
    const xPairs = sums.xPairs;
    for (let k = 0; k < settings.gridPoints; k++) {
      const group = needs[k]!;
      if (group.length === 0) continue;
      for (let piece = k * pieces; piece < (k + 1) * pieces; piece++) {
        const types = fixed.derive(piece) ? 2 : 3;
        const base = fixed.series(piece);
        // The piece's node sums: from the grid's products, or for this group.
        const withGrid = grid.piece(piece);
        const node = withGrid?.sums ?? sums.compute(fixed.weights(`piece ${piece}`, () => fixed.pieceNodes(piece)), group);
        const col0 = withGrid?.col ?? 0;
        for (let gi = 0; gi < group.length; gi++) {
          const j = group[gi]!;
          const at = withGrid === undefined ? gi : j;
          const v = base.slice();
          for (let m = 0; m < nodes; m++) {
            for (let t = 0; t < types; t++) {
              const col = col0 + m * types + t;
              for (let o = 0; o < xPairs.length; o++) v[(typeOff[t]! + xPairs[o]!) * nodes + m] = node.get(at, col, o);
            }
          }
          let src = sources[j];
          if (src === undefined) sources[j] = src = new ChebMoments(cg, prob.nPairs, xPairs);
          src.set(piece, v, types === 2);
        }
      }
    }
  }

  // Pass 2, per variant: the searches along GEMMA's path and the Wald and likelihood ratio tests.
  for (let j = 0; j < b; j++) {
    if (skip[j] !== 0) continue;
    const jo = j0 + j;
    prob.setVariable(xi, utx.col(j), grid.plain(j));
    grid.loadVariant(j);
    prob.source = sources[j];

    // Wald test at the REML lambda (CalcLambda('R') then CalcRLWald).
    if (devR !== undefined) {
      const reml = searchLambda(prob, 'R', settings, devR.subarray(j * g1, (j + 1) * g1));
      out.lambdaReml[jo] = reml.lambda;
      if (reml.fallback) out.fallback[jo]! |= 1;
      if (Number.isFinite(reml.lambda)) {
        prob.evaluate(reml.lambda, 1, false);
        const pyy = prob.pab(c, yi, yi);
        const pxx = prob.pab(c, xi, xi);
        const pxy = prob.pab(c, xi, yi);
        const pxyy = prob.pab(c + 1, yi, yi);
        const tau = df / pxyy;
        // y'P_Wx y is a difference; a (numerically) perfect fit can round it to <= 0: F is then +Infinity.
        const f = pxyy > 0 ? (pyy - pxyy) * tau : Number.POSITIVE_INFINITY;
        out.beta[jo] = pxy / pxx;
        out.se[jo] = Math.sqrt(1.0 / (tau * pxx));
        out.fWald[jo] = f;
        out.pWald[jo] = fSf(f, 1, df);
        out.log10pWald[jo] = fLog10Sf(f, 1, df);
      } else {
        out.beta[jo] = out.se[jo] = out.fWald[jo] = out.pWald[jo] = out.log10pWald[jo] = Number.NaN;
      }
    }

    // Likelihood ratio test at the ML lambda (CalcLambda('L')).
    if (devL !== undefined) {
      const ml = searchLambda(prob, 'L', settings, devL.subarray(j * g1, (j + 1) * g1));
      out.lambdaMl[jo] = ml.lambda;
      out.logLikH1[jo] = ml.logLik;
      if (ml.fallback) out.fallback[jo]! |= 2;
      const stat = 2.0 * (ml.logLik - nullMl.logLik);
      out.chi2Lrt[jo] = stat;
      if (Number.isNaN(stat)) {
        out.pLrt[jo] = out.log10pLrt[jo] = Number.NaN;
      } else {
        // gsl_cdf_chisq_Q is 1 for a statistic <= 0 (an H1 optimum below H0's by rounding).
        out.pLrt[jo] = stat > 0 ? chi2Sf(stat, 1) : 1;
        out.log10pLrt[jo] = stat > 0 ? chi2Log10Sf(stat, 1) : 0;
      }
    }
  }
}

const WALD_KEYS = ['lambdaReml', 'beta', 'se', 'fWald', 'pWald', 'log10pWald'] as const;
const LRT_KEYS = ['lambdaMl', 'logLikH1', 'chi2Lrt', 'pLrt', 'log10pLrt'] as const;
const SCORE_KEYS = ['fScore', 'pScore', 'log10pScore'] as const;

function setNaN(out: ExactTestResult, j: number): void {
  for (const key of [...WALD_KEYS, ...LRT_KEYS, ...SCORE_KEYS]) out[key][j] = Number.NaN;
}

/** One lambda of a batch product and the weights taken there: 1 (h), 2 (h, s h^2) or 3 (h, s h^2, s^2 h^3). */
interface NodeSpec {
  lambda: number;
  types: 1 | 2 | 3;
}

/** The sums of `BatchSums.compute`: per variant of the group, per node column, per x pair. */
interface NodeSums {
  /** Sum for variant gi (index in the group), node column col (node-major, then weight type), x pair o (`xPairs` order). */
  get(gi: number, col: number, o: number): number;
}

/**
 * The sums with the tested variants x_j of a batch, at chosen lambdas, by
 * gemms: with the weights h = (1 + lambda s)^-1, s h^2 and s^2 h^3 as the
 * columns of Wt (N x m) and their products with the other variables o
 * (the covariates and y) as those of Wo (N x m (c + 1)),
 * (X o X)^T Wt holds the sums x_j^T diag(weight) x_j and X^T Wo the sums
 * x_j^T diag(weight) o: O(N m) per variant in BLAS instead of an O(N) pass
 * per lambda in JS.
 */
class BatchSums {
  /** The pairs (x, v) in `LambdaProblem.pair` order of v = 0..nv-1 (v = x: x's square). */
  readonly xPairs: number[];
  private readonly prob: LambdaProblem;
  private readonly x: Matrix;
  private readonly be: Backend;
  private readonly xsq: Matrix;

  /** x: the batch (N x b); xsq: its elementwise squares. */
  constructor(prob: LambdaProblem, x: Matrix, xsq: Matrix, be: Backend) {
    this.prob = prob;
    this.x = x;
    this.xsq = xsq;
    this.be = be;
    const xi = prob.nFixed - 1;
    this.xPairs = [];
    for (let v = 0; v < prob.nv; v++) this.xPairs.push(prob.pair(xi, v));
  }

  /** The sums with the node weights `w` (from `nodeWeights`) for the variants `group` (default all, in order). */
  compute(w: NodeWeights, group?: number[]): NodeSums {
    const { prob, be } = this;
    const { nv } = prob;
    const xi = prob.nFixed - 1;
    const nOther = nv - 1;
    const { wt, wo } = w;
    // A small group is gathered; a large one costs less computed for the whole batch than copied.
    const b = this.x.cols;
    const gathered = group !== undefined && group.length < GATHER_BELOW * b;
    let x = this.x;
    let xsq = this.xsq;
    if (gathered) {
      x = gather(this.x, group);
      xsq = gather(xsq, group);
    }
    // X^T W rather than W^T X: faster for these skinny products (OpenBLAS, m of a few dozen).
    const sq = be.gemm(xsq, wt, { transA: true }); // b' x m
    const cross = be.gemm(x, wo, { transA: true }); // b' x m nOther
    const sqd = sq.data;
    const crd = cross.data;
    const rows = x.cols;
    // Column of each group member in the products.
    const at = group === undefined || gathered ? undefined : Int32Array.from(group);
    // Other-variable index o' of each variable v (v = x: -1).
    const oIndex: number[] = [];
    for (let v = 0, o = 0; v < nv; v++) oIndex.push(v === xi ? -1 : o++);
    return {
      get(gi: number, c: number, v: number): number {
        const o = oIndex[v]!;
        const jj = at === undefined ? gi : at[gi]!;
        return o < 0 ? sqd[jj + c * rows]! : crd[jj + (c * nOther + o) * rows]!;
      },
    };
  }
}

/** The weight columns of `BatchSums.compute`: Wt (N x m) and Wo (N x m (c + 1)). */
interface NodeWeights {
  wt: Matrix;
  wo: Matrix;
}

/**
 * The weights h = (1 + lambda s)^-1, s h^2 (and s^2 h^3) of each node, as
 * the columns of Wt (node-major, then weight type), and their products with
 * every variable but x (`xi`) as those of Wo (column t (c + 1) + o).
 */
function nodeWeights(prob: LambdaProblem, nodes: NodeSpec[]): NodeWeights {
  const { n, nv } = prob;
  const xi = prob.nFixed - 1;
  const s = prob.eigenvalues;
  const nOther = nv - 1;
  let m = 0;
  for (const nd of nodes) m += nd.types;
  const wt = new Matrix(n, m);
  const wo = new Matrix(n, m * nOther);
  const others = [];
  for (let v = 0; v < nv; v++) if (v !== xi) others.push(prob.variable(v));
  let col = 0;
  for (const nd of nodes) {
    const l = nd.lambda;
    const c0 = wt.data.subarray(col * n, (col + 1) * n);
    const c1 = nd.types >= 2 ? wt.data.subarray((col + 1) * n, (col + 2) * n) : undefined;
    const c2 = nd.types >= 3 ? wt.data.subarray((col + 2) * n, (col + 3) * n) : undefined;
    for (let i = 0; i < n; i++) {
      const si = s[i]!;
      const h = 1 / (l * si + 1);
      c0[i] = h;
      if (c1 !== undefined) {
        const sh = si * h;
        c1[i] = sh * h;
        if (c2 !== undefined) c2[i] = sh * sh * h;
      }
    }
    for (let t = 0; t < nd.types; t++) {
      const w = wt.data.subarray((col + t) * n, (col + t + 1) * n);
      for (let o = 0; o < nOther; o++) {
        const v = others[o]!;
        const dst = wo.data.subarray(((col + t) * nOther + o) * n, ((col + t) * nOther + o + 1) * n);
        for (let i = 0; i < n; i++) dst[i] = w[i]! * v[i]!;
      }
    }
    col += nd.types;
  }
  return { wt, wo };
}

/**
 * The weights per interpolation node for the x pairs are h and s h^2; the
 * sums with s^2 h^3, which only the Newton steps' second derivative uses,
 * come from the derivative of the s h^2 interpolant (d/dlambda = -2 s^2 h^3)
 * on the pieces where lambda s-bar >= DERIVE_ABOVE (s-bar the mean positive
 * eigenvalue), and are interpolated themselves (a third weight) below: the
 * derivative in t = log lambda is ~lambda s times the sums it stands for,
 * so its relative error grows like 1 / (lambda s) at small lambda, and it
 * moves GEMMA's Newton iterates (the one kept is not converged) by that
 * error times the last step.
 */
const DERIVE_ABOVE = 0.1;

/** Groups below this fraction of the batch are gathered before their products (see `BatchSums.compute`). */
const GATHER_BELOW = 0.5;

/**
 * X o X into `buf` (a matrix view on it), checking that X is finite (a NaN
 * dosage must be imputed before rotating; j0: X's first column in the batch, for the message).
 */
function squares(x: Matrix, buf: Float64Array, j0: number, where: string): Matrix {
  const d = x.data;
  const sq = new Matrix(x.rows, x.cols, buf.subarray(0, d.length));
  const out = sq.data;
  let bad = -1;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    // v - v is NaN for NaN and +-Infinity, 0 otherwise.
    if (v - v !== 0) {
      bad = i;
      break;
    }
    out[i] = v * v;
  }
  if (bad >= 0) {
    throw new LmmkitError(
      'BAD_INPUT',
      `${where}: utx has a non-finite value (${d[bad]}) at row ${bad % x.rows}, column ${j0 + Math.floor(bad / x.rows)}; impute missing dosages before rotating`,
    );
  }
  return sq;
}

/** The columns `cols` of `a`, in that order (a copy). */
function gather(a: Matrix, cols: number[]): Matrix {
  const out = new Matrix(a.rows, cols.length);
  const r = a.rows;
  cols.forEach((j, i) => out.data.set(a.data.subarray(j * r, (j + 1) * r), i * r));
  return out;
}

/**
 * The moments of the alternative problem at the grid lambdas (and at the
 * score test's lambda): the traces, log det H and the sums of the pairs
 * without x come from `FixedParts`, those with x for the whole batch from
 * `BatchSums` (with the unweighted sums, lambda = 0, in the same products);
 * `loadVariant(j)` copies variant j's into the moments.
 */
class GridCache {
  readonly moments = new Map<number, FixedMoments>();
  private readonly entries: FixedMoments[] = [];
  private readonly sums: NodeSums;
  private readonly xPairs: number[];
  private readonly cols: number[] = [];
  private readonly plainSums: Float64Array;
  /** First column of each piece computed with the grid. */
  private readonly pieceCols = new Map<number, number>();

  /**
   * The grid lambdas, the score test's (`extra`) and the nodes of the
   * interpolation pieces `pieces` for every variant, in one product.
   */
  constructor(fixed: FixedParts, sums: BatchSums, lambdas: number[], extra: number | undefined, pieces: number[]) {
    const specs: NodeSpec[] = [{ lambda: 0, types: 1 }, ...lambdas.map((l) => ({ lambda: l, types: 2 as const }))];
    if (extra !== undefined && !lambdas.includes(extra)) specs.push({ lambda: extra, types: 1 });
    this.plainSums = new Float64Array(sums.xPairs.length);
    let col = 1;
    for (const { lambda: l, types } of specs.slice(1)) {
      const t = fixed.moments(l);
      const m: FixedMoments = { order: types === 1 ? 1 : 2, trK: t.trK, trKK: t.trKK, logdetH: t.logdetH, e1: t.e1.slice(), ek: t.ek.slice() };
      this.entries.push(m);
      this.cols.push(col);
      this.moments.set(l, m);
      col += types;
    }
    for (const p of pieces) {
      this.pieceCols.set(p, col);
      for (const nd of fixed.pieceNodes(p)) {
        specs.push(nd);
        col += nd.types;
      }
    }
    this.sums = sums.compute(fixed.weights(`grid ${extra} ${pieces.join(' ')}`, () => specs));
    this.xPairs = sums.xPairs;
  }

  /** The products holding piece p's node sums for every variant, and its first column, if computed here. */
  piece(p: number): { sums: NodeSums; col: number } | undefined {
    const col = this.pieceCols.get(p);
    return col === undefined ? undefined : { sums: this.sums, col };
  }

  /** Variant j's unweighted sums with every variable, in variable order (for `LambdaProblem.setVariable`; overwritten by the next call). */
  plain(j: number): Float64Array {
    const out = this.plainSums;
    for (let v = 0; v < out.length; v++) out[v] = this.sums.get(j, 0, v);
    return out;
  }

  /** Fills the x pairs of every grid moment with variant j's sums. */
  loadVariant(j: number): void {
    const { entries, sums, xPairs, cols } = this;
    for (let k = 0; k < entries.length; k++) {
      const m = entries[k]!;
      const col = cols[k]!;
      for (let v = 0; v < xPairs.length; v++) {
        const pr = xPairs[v]!;
        m.e1[pr] = sums.get(j, col, v);
        if (m.order === 2) m.ek[pr] = sums.get(j, col + 1, v);
      }
    }
  }
}

/**
 * What does not depend on the tested variants, kept between the calls of
 * one scan (every batch passes the same rotated data): the moments of the
 * pairs without x, the traces and log det H at the grid lambdas, and the
 * interpolation grid with those series at its nodes. Keyed by the
 * RotatedData object and checked against copies of its arrays and the
 * settings, so that changed data are never served stale ones.
 */
interface FixedParts {
  /** Moments at lambda with the x pairs 0 (do not modify). */
  moments(lambda: number): FixedMoments;
  /** The interpolation grid (none when nodes = 0) and the pieces per GEMMA interval. */
  cheb: { grid: ChebGrid; pieces: number } | undefined;
  /** The variant-independent series at the nodes of piece i (do not modify). */
  series(i: number): Float64Array;
  /** Whether piece i takes the x pairs' s^2 h^3 sums from the derivative (see DERIVE_ABOVE). */
  derive(i: number): boolean;
  /** The nodes of piece i with their weights (2 or 3, see `derive`). */
  pieceNodes(i: number): NodeSpec[];
  /** The pieces of the grid intervals holding the given lambdas (NaN and bounds ignored), ascending. */
  intervalPieces(lambdas: number[]): number[];
  /** The node weights of a named node set (built by `nodes()` on first use, then kept). */
  weights(key: string, nodes: () => NodeSpec[]): NodeWeights;
  /** A scratch buffer of at least `length` doubles, kept with the rest (one user at a time). */
  scratch(length: number): Float64Array;
}

interface FixedEntry {
  eigenvalues: Float64Array;
  uty: Float64Array;
  utw: Float64Array;
  key: string;
  parts: FixedParts;
}

const fixedCache = new WeakMap<RotatedData, FixedEntry>();

/** Widest interpolation piece in t = log lambda: one decade, GEMMA's default grid interval. */
const PIECE_WIDTH = Math.LN10 * (1 + 1e-9);

function sameArray(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]!) && Number.isNaN(b[i]!))) return false;
  return true;
}

function fixedParts(data: RotatedData, prob: LambdaProblem, settings: { lower: number; upper: number; gridPoints: number }, nodes: number): FixedParts {
  const key = `${settings.lower} ${settings.upper} ${settings.gridPoints} ${nodes}`;
  const hit = fixedCache.get(data);
  if (hit !== undefined && hit.key === key && sameArray(hit.eigenvalues, data.eigenvalues) && sameArray(hit.uty, data.uty) && sameArray(hit.utw, data.utw.data)) {
    return hit.parts;
  }
  const xi = prob.nFixed - 1;
  // A problem of its own (x = 0), so that the cache holds no variant of any batch.
  const vars: Float64Array[] = [];
  for (let v = 0; v < prob.nv; v++) vars.push(v === xi ? new Float64Array(prob.n) : prob.variable(v));
  const own = new LambdaProblem(prob.eigenvalues, vars);
  const { n, nPairs, products } = own;
  const s = own.eigenvalues;
  const w1 = new Float64Array(n);
  const wk = new Float64Array(n);
  const momentCache = new Map<number, FixedMoments>();
  const moments = (l: number): FixedMoments => {
    const got = momentCache.get(l);
    if (got !== undefined) return got;
    const { trK, trKK, logdetH } = lambdaWeights(s, l, w1, wk, undefined, true);
    const m: FixedMoments = { order: 2, trK, trKK, logdetH, e1: new Float64Array(nPairs), ek: new Float64Array(nPairs) };
    for (let a = 0; a < own.nv; a++) {
      if (a === xi) continue;
      for (let b = a; b < own.nv; b++) {
        if (b === xi) continue;
        const off = own.pair(a, b) * n;
        let s1 = 0;
        let s2 = 0;
        for (let i = 0; i < n; i++) {
          const u = products[off + i]!;
          s1 += w1[i]! * u;
          s2 += wk[i]! * u;
        }
        m.e1[own.pair(a, b)] = s1;
        m.ek[own.pair(a, b)] = s2;
      }
    }
    // The score lambda changes with the null fit: keep the grid's and a few others.
    if (momentCache.size > 64) momentCache.clear();
    momentCache.set(l, m);
    return m;
  };
  let cheb: FixedParts['cheb'];
  const seriesCache = new Map<number, Float64Array>();
  if (nodes > 0) {
    const g = gridLambdas(settings).slice(0, settings.gridPoints + 1);
    const width = Math.log(settings.upper / settings.lower) / settings.gridPoints;
    const pieces = Math.max(1, Math.ceil(width / PIECE_WIDTH));
    const edges: number[] = [];
    for (let k = 0; k < settings.gridPoints; k++) {
      edges.push(g[k]!);
      for (let r = 1; r < pieces; r++) edges.push(g[k]! * Math.exp((width * r) / pieces));
    }
    edges.push(g[settings.gridPoints]!);
    cheb = { grid: new ChebGrid(nodes, edges), pieces };
  }
  const series = (i: number): Float64Array => {
    let v = seriesCache.get(i);
    if (v === undefined) {
      v = fixedSeriesValues(own, cheb!.grid.lambdas(i), xi);
      seriesCache.set(i, v);
    }
    return v;
  };
  let buf = new Float64Array(0);
  const scratch = (length: number): Float64Array => {
    if (buf.length < length) buf = new Float64Array(length);
    return buf;
  };
  const weightCache = new Map<string, NodeWeights>();
  const weights = (k: string, nodes: () => NodeSpec[]): NodeWeights => {
    let w = weightCache.get(k);
    if (w === undefined) {
      // The score lambda changes with the null fit: keep the grid's and the pieces'.
      if (k.startsWith('grid')) for (const old of weightCache.keys()) if (old.startsWith('grid')) weightCache.delete(old);
      w = nodeWeights(own, nodes());
      weightCache.set(k, w);
    }
    return w;
  };
  let sBar = 0;
  let positive = 0;
  for (let i = 0; i < n; i++) {
    if (s[i]! > 0) {
      sBar += s[i]!;
      positive++;
    }
  }
  sBar = positive > 0 ? sBar / positive : 0;
  const derive = (i: number): boolean => cheb!.grid.edges[i]! * sBar >= DERIVE_ABOVE;
  const pieceNodes = (i: number): NodeSpec[] => {
    const types = derive(i) ? 2 : 3;
    return Array.from(cheb!.grid.lambdas(i), (lambda) => ({ lambda, types }));
  };
  const intervalPieces = (lambdas: number[]): number[] => {
    const out = new Set<number>();
    if (cheb === undefined) return [];
    const { lower, upper, gridPoints } = settings;
    const step = Math.log(upper / lower) / gridPoints;
    for (const l of lambdas) {
      if (!(l > lower && l < upper)) continue;
      const k = Math.min(gridPoints - 1, Math.max(0, Math.floor(Math.log(l / lower) / step)));
      for (let p = k * cheb.pieces; p < (k + 1) * cheb.pieces; p++) out.add(p);
    }
    return [...out].sort((a, b) => a - b);
  };
  const parts: FixedParts = { moments, cheb, series, derive, pieceNodes, intervalPieces, weights, scratch };
  fixedCache.set(data, { eigenvalues: data.eigenvalues.slice(), uty: data.uty.slice(), utw: data.utw.data.slice(), key, parts });
  return parts;
}
