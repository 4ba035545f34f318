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
import { ArgumentError, InputError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { checkRotated, finishFit, nullProblem, type LambdaFit, type RotatedData } from '../nullmodel/lambda.js';
import { ChebMoments, seriesCount, seriesOffsets } from '../nullmodel/lambda-cheb.js';
import { clampEigenvalues, LambdaProblem } from '../nullmodel/lambda-problem.js';
import { gridDerivatives, gridLambdas, searchLambda, searchSettings, type SearchSettings } from '../nullmodel/lambda-search.js';
import { chi2Log10Sf, chi2Sf, fLog10Sf, fSf } from '../stats/index.js';
import { BatchSums, fixedParts, GridCache, type FixedParts } from './exact-moments.js';

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
 * GEMMA's `-lmm 4` over the batches of one scan: built once from the rotated
 * null data (checks, the null REML and ML fits when not given, and the
 * variant-independent moments and interpolation series, `fixedParts`), then
 * `test` runs the tests on each batch. Owning these per scan is what lets a
 * scan reuse them without a module-level cache; nothing is shared between
 * two `ExactScan`s.
 */
export class ExactScan {
  /** Samples N, covariates c and the F tests' df = N - c - 1. */
  readonly n: number;
  readonly c: number;
  readonly df: number;
  /** The null model's REML and ML fits (given or computed here). */
  readonly nullReml: LambdaFit;
  readonly nullMl: LambdaFit;
  private readonly data: RotatedData;
  private readonly s: Float64Array;
  private readonly settings: SearchSettings;
  private readonly be: Backend;
  private readonly nodes: number;
  private readonly doWald: boolean;
  private readonly doLrt: boolean;
  private readonly doScore: boolean;
  private readonly fixed: FixedParts;
  /** The variants' interpolants, kept between chunks and batches (refilled per chunk, see `SourcePool`). */
  private readonly pool: SourcePool = { values: new Float64Array(0), moments: [] };

  /** Checks `data` and the options and fits the null model where its fits are not given (see `ExactTestOptions`). */
  constructor(data: RotatedData, opts: ExactTestOptions = {}) {
    const where = 'exactTests';
    const settings = searchSettings(opts, where);
    const { n, c } = checkRotated(data, where);
    const df = n - c - 1;
    if (df < 1) throw new ShapeError(`${where}: needs N > c + 1 (N = ${n}, c = ${c}) for the tests' degrees of freedom`);
    const tests = opts.tests ?? ALL_TESTS;
    for (const t of tests) {
      if (!ALL_TESTS.includes(t)) throw new ArgumentError(`${where}: unknown test '${String(t)}' (expected 'wald', 'lrt' or 'score')`);
    }
    if (tests.length === 0) throw new ArgumentError(`${where}: tests is empty`);
    const nodes = opts.nodes ?? EXACT_DEFAULT_NODES;
    if (!(nodes === 0 || (Number.isInteger(nodes) && nodes >= 4))) {
      throw new ArgumentError(`${where}: nodes must be 0 or an integer >= 4, found ${nodes}`);
    }
    const s = clampEigenvalues(data.eigenvalues, where);

    // The null fits (GEMMA's l_remle_null, l_mle_null and logl_mle_H0).
    const nullProb = nullProblem(data, s, where);
    const nullReml = opts.nullReml ?? finishFit(nullProb, 'reml', searchLambda(nullProb, 'R', settings), settings);
    const nullMl = opts.nullMl ?? finishFit(nullProb, 'ml', searchLambda(nullProb, 'L', settings), settings);
    if (nullMl.method !== 'ml') throw new ArgumentError(`${where}: nullMl must be an ML fit, found method '${nullMl.method}'`);
    if (nullReml.method !== 'reml') throw new ArgumentError(`${where}: nullReml must be a REML fit, found method '${nullReml.method}'`);
    this.n = n;
    this.c = c;
    this.df = df;
    this.nullReml = nullReml;
    this.nullMl = nullMl;
    this.data = data;
    this.s = s;
    this.settings = settings;
    this.be = opts.backend ?? getBackend();
    this.nodes = nodes;
    this.doWald = tests.includes('wald');
    this.doLrt = tests.includes('lrt');
    this.doScore = tests.includes('score');
    this.fixed = fixedParts(data, s, settings, nodes);
  }

  /**
   * The tests of one batch of rotated variants `utx` (N x b, U^T X, missing
   * dosages mean-imputed before rotating); see `exactTests`.
   */
  test(utx: Matrix): ExactTestResult {
    const where = 'exactTests';
    const { data, s, settings, fixed, nodes, doWald, doLrt, doScore, be, n, c, df, nullReml, nullMl } = this;
    if (utx.rows !== n) throw new ShapeError(`${where}: utx is ${utx.shape} but the data have N = ${n} samples (rows must match)`);

    // The alternative: variables w_0..w_{c-1}, x (index c), y (index c + 1).
    const vars: Float64Array[] = [];
    for (let j = 0; j < c; j++) vars.push(data.utw.col(j));
    vars.push(new Float64Array(n));
    vars.push(data.uty);
    const prob = new LambdaProblem(s, vars);
    const b = utx.cols;
    const out: ExactTestResult = {
      n,
      c,
      df,
      nullReml,
      nullMl,
      lambdaReml: new Float64Array(b),
      beta: new Float64Array(b),
      se: new Float64Array(b),
      fWald: new Float64Array(b),
      pWald: new Float64Array(b),
      log10pWald: new Float64Array(b),
      lambdaMl: new Float64Array(b),
      logLikH1: new Float64Array(b),
      chi2Lrt: new Float64Array(b),
      pLrt: new Float64Array(b),
      log10pLrt: new Float64Array(b),
      fScore: new Float64Array(b),
      pScore: new Float64Array(b),
      log10pScore: new Float64Array(b),
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
    const ctx: ChunkContext = { prob, fixed, settings, nullMl, be, doWald, doLrt, doScore, nodes, out, predicted, pool: this.pool };
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
}

/**
 * GEMMA's `-lmm 4` on one batch of rotated variants: for each column x of
 * `utx` (N x b, U^T X for the kinship eigenvectors U, missing dosages
 * mean-imputed before rotating), the Wald test at the REML lambda, the LRT
 * between the ML fits with and without x, and the score test at the null ML
 * lambda, with lambda re-estimated per variant by GEMMA's search
 * (`searchLambda` in nullmodel/lambda-search.ts). Variants that are (numerically)
 * a combination of the covariates get NaN everywhere. `tests` selects a
 * subset (`['wald']`: `gemma -lmm 1`).
 *
 * Cost per variant: O(N c (G + K)) in gemms (G grid points, K Chebyshev
 * nodes on the one or two grid intervals that hold its optima) plus two
 * lambda searches of a few dozen O(K c^2) evaluations. This one-shot form
 * builds an `ExactScan` per call; a scan over many batches builds one
 * `ExactScan` and calls its `test` per batch.
 */
export function exactTests(data: RotatedData, utx: Matrix, opts: ExactTestOptions = {}): ExactTestResult {
  return new ExactScan(data, opts).test(utx);
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
  pool: SourcePool;
}

/**
 * Storage of the per-variant interpolants, reused by every chunk of a scan:
 * the node values of all (variant, piece) pairs of a chunk in one buffer,
 * and one `ChebMoments` per variant of a chunk, cleared before reuse.
 * Allocating them per variant (a few KiB each, alive until the searches)
 * made the young-generation collections copy megabytes per batch.
 */
interface SourcePool {
  values: Float64Array;
  moments: ChebMoments[];
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
    const { pool } = ctx;
    // One slot of node values per (variant, piece) pair of the chunk.
    const len = seriesCount(prob.nPairs) * nodes;
    let slots = 0;
    for (let k = 0; k < settings.gridPoints; k++) slots += needs[k]!.length * pieces;
    if (pool.values.length < slots * len) pool.values = new Float64Array(slots * len);
    let slot = 0;
    let used = 0;
    for (let k = 0; k < settings.gridPoints; k++) {
      const group = needs[k]!;
      if (group.length === 0) continue;
      for (let piece = k * pieces; piece < (k + 1) * pieces; piece++) {
        const types = fixed.derive(piece) ? 2 : 3;
        const base = fixed.series(piece);
        // The piece's node sums: from the grid's products, or for this group.
        const withGrid = grid.piece(piece);
        const node =
          withGrid?.sums ??
          sums.compute(
            fixed.weights(`piece ${piece}`, () => fixed.pieceNodes(piece)),
            group,
          );
        const col0 = withGrid?.col ?? 0;
        for (let gi = 0; gi < group.length; gi++) {
          const j = group[gi]!;
          const at = withGrid === undefined ? gi : j;
          const v = pool.values.subarray(slot * len, (slot + 1) * len);
          slot++;
          v.set(base);
          for (let m = 0; m < nodes; m++) {
            for (let t = 0; t < types; t++) {
              const col = col0 + m * types + t;
              for (let o = 0; o < xPairs.length; o++) v[(typeOff[t]! + xPairs[o]!) * nodes + m] = node.get(at, col, o);
            }
          }
          let src = sources[j];
          if (src === undefined) {
            if (used === pool.moments.length) pool.moments.push(new ChebMoments(cg, prob.nPairs, xPairs));
            sources[j] = src = pool.moments[used++]!;
            src.clear();
          }
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

/**
 * X o X into `buf` (a matrix view on it), checking that X is finite (a NaN
 * dosage must be imputed before rotating; j0: X's first column in the batch, for the message).
 */
function squares(x: Matrix, buf: Float64Array, j0: number, where: string): Matrix {
  const d = x.data;
  const len = d.length;
  const sq = new Matrix(x.rows, x.cols, buf.subarray(0, len));
  const out = sq.data;
  // One branch-free pass, four elements a step (about twice as fast as a test per element, and
  // the pass runs over every rotated batch): v - v is 0 for a finite v and NaN for NaN and
  // +-Infinity, so the sum `bad` stays 0 exactly when X is finite.
  let bad = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    const a = d[i]!;
    const b = d[i + 1]!;
    const c = d[i + 2]!;
    const e = d[i + 3]!;
    out[i] = a * a;
    out[i + 1] = b * b;
    out[i + 2] = c * c;
    out[i + 3] = e * e;
    bad += a - a + (b - b) + (c - c) + (e - e);
  }
  for (; i < len; i++) {
    const v = d[i]!;
    out[i] = v * v;
    bad += v - v;
  }
  if (bad !== 0) {
    let at = 0;
    while (d[at]! - d[at]! === 0) at++;
    throw new InputError(
      undefined,
      `${where}: utx has a non-finite value (${d[at]}) at row ${at % x.rows}, column ${j0 + Math.floor(at / x.rows)}; impute missing dosages before rotating`,
    );
  }
  return sq;
}
