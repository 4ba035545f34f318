// The variance components of the infinitesimal model by BOLT-REML's Monte
// Carlo REML (Loh et al. 2015, Nature Genetics 47:284, Online Methods
// "Variance component estimation"; Loh et al. 2015, Nature Genetics
// 47:1385, BOLT-REML): no determinant, no trace computed exactly, only
// conjugate-gradient solves with the streamed kinship operator.
import { nextTurn } from './turn.js';
import { ArgumentError, NumericalError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import { Rng } from '../sim/rng.js';
import { solveShifted } from './cg.js';
import type { GrmOperator } from './types.js';

/** Options of `fitInfNull`. */
export interface InfNullOptions {
  /** Monte Carlo data sets T (default `defaultMcTrials(N, M)`). */
  mcTrials?: number;
  /** Seed of the Monte Carlo draws (default 1). */
  seed?: number;
  /** Starting heritability of the secant (default 0.25). */
  h2Guess?: number;
  /** Stop when a secant step in log delta is below this (default 1e-3: see `fitInfNull`). */
  tol?: number;
  /** Relative residual of the CG solves (default 1e-4). */
  cgTol?: number;
  /** Most secant steps (default 30). */
  maxIter?: number;
  /**
   * Leave chromosome group g out of the kinship (K_{-g} = Z_{-g} Z_{-g}^T / M_{-g}):
   * the REML of the model on the other chromosomes' SNPs, as `--loco`
   * refits it (default -1: every model SNP).
   */
  leaveOut?: number;
  /** Most bytes of the Monte Carlo effects beta (M x T) held at once (default 256 MiB; more chunks cost one pass each). */
  drawBytes?: number;
}

/** The Monte Carlo REML fit of the infinitesimal model. */
export interface InfNullFit {
  /** Heritability sigma_g^2 / (sigma_g^2 + sigma_e^2) = 1 / (1 + delta). */
  h2: number;
  sigmaG2: number;
  sigmaE2: number;
  /** delta = sigma_e^2 / sigma_g^2. */
  delta: number;
  /** Monte Carlo standard error of h2 (spread of the T trials through the slope of f), NaN when not estimable. */
  h2McSe: number;
  mcTrials: number;
  seed: number;
  /** Evaluations of f (each one multi-column CG solve). */
  iterations: number;
  /** CG iterations over all evaluations. */
  cgIterations: number;
  /** Operator passes over the model SNPs (CG, the draws and the quadratic forms). */
  passes: number;
  /** Whether the secant met `tol` (false: stopped at maxIter). */
  converged: boolean;
  /** The root lies beyond a bound of log delta (+-9): 'lower' h2 (about 1e-4) or 'upper' (about 1 - 1e-4); null inside. */
  atBound: 'lower' | 'upper' | null;
  /** Samples N and covariate columns p (the REML degrees of freedom are N - p). */
  n: number;
  p: number;
  /** y~ = P y. */
  yTilde: Float64Array;
  /** The (log delta, f) points the secant visited, in order. */
  path: { logDelta: number; f: number }[];
}

/**
 * Default T for N samples and M model SNPs: the Monte Carlo error of h2 is
 * about the REML's own standard error over sqrt(T) (the REML equation's
 * data side is one draw of what its trials average), and that error is
 * about sqrt(2 M) / N for unrelated samples (sqrt(2 / (N^2 var K_ij)),
 * var K_ij ~ 1 / M; Visscher et al. 2014 PLoS Genetics). T is the count that
 * brings the Monte Carlo se to about 0.005, T = 2 M / (N 0.005)^2, between
 * BOLT-LMM's 15 and 100. Checked at N = 2000, M = 6000 (2 loaded cores):
 * T = 30 gave h2 0.302 (MC se 0.011), T = 100 0.2787 (se 0.0057, i.e. a
 * REML se of 0.057 against the formula's 0.055), T = 300 0.2805 (se 0.0031)
 * against the exact REML's 0.2805. N = 5000 x 20 000 gets T = 64; N = 20 000
 * x 50 000 and up get 15, where the statistical error is already below 0.02.
 * Ask for more (`mcTrials`, --inf-mc-trials) when h2 must be closer.
 */
export function defaultMcTrials(n: number, m: number): number {
  return Math.min(100, Math.max(15, Math.ceil((2 * m) / (n * 0.005) ** 2)));
}

/** Most bytes of Monte Carlo effects beta held at once (see `fitInfNull`). */
const DRAW_BYTES = 256 * 2 ** 20;

/** log delta is kept in [-LOG_DELTA_BOUND, LOG_DELTA_BOUND]: h2 in about [1e-4, 1 - 1e-4]. */
const LOG_DELTA_BOUND = 9;

/**
 * REML estimates of (sigma_g^2, sigma_e^2) in y = C b + g + e,
 * g ~ N(0, sigma_g^2 K), K = Z Z^T / M (Z: the M standardised model SNPs of
 * `op`), e ~ N(0, sigma_e^2 I), delta = sigma_e^2 / sigma_g^2, by BOLT-REML's
 * Monte Carlo method.
 *
 * Everything lives in the complement of the covariates: P = I - Q Q^T (Q =
 * `op.q`, orthonormal, the intercept included), y~ = P y, H = P K P + delta I
 * on range(P); REML over the N - p contrasts is exactly the likelihood of
 * L^T y, L an orthonormal basis of range(P). Its equations for the two
 * components reduce to one in delta:
 *
 *   y~^T H^-1 K H^-1 y~ / y~^T H^-2 y~ = tr(H^-1 K) / tr(H^-1).
 *
 * The right side is estimated from T data sets drawn from the model at the
 * current delta, y_t = P Z beta_t / sqrt(M) + sqrt(delta) P e_t with
 * beta_t ~ N(0, I_M), e_t ~ N(0, I_N): for x_t = H^-1 y_t,
 * E[x_t^T K x_t] = tr(H^-1 K) and E[x_t^T x_t] = tr(H^-1) (both as traces
 * over range(P)). The same beta_t, e_t (common random numbers, drawn once
 * from `Rng(seed)`) serve every delta, so
 *
 *   f(log delta) = log(x_0^T K x_0 / x_0^T x_0) - log(sum_t x_t^T K x_t / sum_t x_t^T x_t),
 *   x_0 = H^-1 y~,
 *
 * is a smooth deterministic function and a secant (with a bisection of
 * the sign change, once one is found, when it leaves it) finds its root. Each evaluation
 * is one `solveShifted` of the T + 1 columns, warm-started from the
 * previous delta's solutions; the K-quadratic forms come from the solves
 * themselves (x^T K x = x^T b - delta x^T x up to the CG residual). The secant starts from
 * h2Guess (delta = (1 - h2) / h2) and log delta + 1 (or - 1) and stops when
 * a step is below `tol` in log delta: 1e-3 moves h2 by at most 2.5e-4,
 * far below the Monte Carlo error, while f itself carries an error of
 * about cgTol from the solves, so much smaller steps are not resolved.
 *
 * Then sigma_g^2 = y~^T H^-1 y~ / (N - p), sigma_e^2 = delta sigma_g^2,
 * h2 = 1 / (1 + delta). The Monte Carlo standard error of h2: the delta
 * method on the ratio of sums, var(log R) ~ var_t(a_t / mean(a) - b_t / mean(b)) / T
 * (a_t = x_t^T K x_t, b_t = x_t^T x_t), divided by f's slope, times
 * |dh2 / dlog delta| = h2 (1 - h2).
 *
 * With `leaveOut` = g the same REML runs on K_{-g} = Z_{-g} Z_{-g}^T / M_{-g}
 * (the draws use Z_{-g} beta_t / sqrt(M_{-g}), the solves leave g out): the
 * model a chromosome's variants are tested under by `--inf-loco-reml`.
 *
 * Shapes: y has length N = op.snps.n; op.q is N x p or undefined (then
 * p = 0 and nothing is projected: give the intercept as a covariate).
 */
export async function fitInfNull(op: GrmOperator, y: ArrayLike<number>, opts: InfNullOptions = {}): Promise<InfNullFit> {
  const n = op.snps.n;
  const leave = opts.leaveOut ?? -1;
  if (!(Number.isInteger(leave) && leave >= -1 && leave < op.snps.chromNames.length)) {
    throw new ArgumentError(`fitInfNull: leaveOut must be -1 or a chromosome group below ${op.snps.chromNames.length}, found ${leave}`);
  }
  const m = op.snps.m;
  // Model SNPs in the kinship: M, or M_{-g} with group g left out.
  const mIn = leave < 0 ? m : m - op.snps.countByGroup[leave]!;
  if (mIn === 0) throw new ArgumentError(`fitInfNull: leaving chromosome ${op.snps.chromNames[leave]} out leaves no model SNPs`);
  if (y.length !== n) throw new ArgumentError(`fitInfNull: ${y.length} trait values for ${n} samples of the model SNPs`);
  const trials = opts.mcTrials ?? defaultMcTrials(n, m);
  if (!Number.isInteger(trials) || trials < 2) throw new ArgumentError(`fitInfNull: mcTrials must be an integer >= 2, found ${trials}`);
  const seed = opts.seed ?? 1;
  const h2Guess = opts.h2Guess ?? 0.25;
  if (!(h2Guess > 0 && h2Guess < 1)) throw new ArgumentError(`fitInfNull: h2Guess must be in (0, 1), found ${h2Guess}`);
  const tol = opts.tol ?? 1e-3;
  const cgTol = opts.cgTol ?? 1e-4;
  const maxIter = opts.maxIter ?? 30;
  const p = op.q?.cols ?? 0;
  if (n - p < 2) throw new ArgumentError(`fitInfNull: ${n} samples for ${p} covariates leave no degrees of freedom`);
  const passes0 = op.passes;

  const yt = new Matrix(n, 1, Float64Array.from(y));
  op.project(yt);
  // The draws, once: P Z beta_t / sqrt(M) and P e_t. beta (M x T) is drawn
  // in column chunks of at most DRAW_BYTES, one pass each (one pass in all
  // below about 300 000 model SNPs at T = 100), the same numbers in the same
  // order whatever the chunking (column-major).
  const rng = new Rng(seed);
  const genetic = new Matrix(n, trials);
  const chunk = Math.max(1, Math.min(trials, Math.floor((opts.drawBytes ?? DRAW_BYTES) / (8 * m))));
  for (let c0 = 0; c0 < trials; c0 += chunk) {
    const c1 = Math.min(trials, c0 + chunk);
    const b = new Matrix(m, c1 - c0, rng.normals(m * (c1 - c0)));
    // Z_{-g} beta: the left-out group's effects are zero (drawn all the same, so that every group sees the same numbers).
    if (leave >= 0) for (let c = 0; c < c1 - c0; c++) for (let j = 0; j < m; j++) if (op.snps.group[j] === leave) b.data[j + c * m] = 0;
    await nextTurn();
    op.z(b, genetic.colView(c0, c1));
  }
  for (let i = 0; i < genetic.data.length; i++) genetic.data[i]! /= Math.sqrt(mIn);
  const noise = new Matrix(n, trials, rng.normals(n * trials));
  op.project(noise);

  const cols = trials + 1;
  const none = new Int32Array(cols).fill(leave);
  const rhs = new Matrix(n, cols);
  rhs.data.set(yt.data, 0);
  let x0: Matrix | undefined;
  let cgIterations = 0;
  let last = { a: new Float64Array(cols), b: new Float64Array(cols) };
  const f = async (logDelta: number): Promise<number> => {
    const delta = Math.exp(logDelta);
    const sd = Math.sqrt(delta);
    for (let i = 0; i < n * trials; i++) rhs.data[n + i] = genetic.data[i]! + sd * noise.data[i]!;
    const sol = await solveShifted(op, rhs, delta, none, { tol: cgTol, x0 });
    cgIterations += sol.iterations;
    if (!sol.converged) {
      const worst = Math.max(...sol.relResidual);
      throw new NumericalError(
        `fitInfNull: conjugate gradients did not converge at delta = ${delta.toPrecision(4)} (largest relative residual ${worst.toExponential(2)})`,
      );
    }
    x0 = sol.x;
    // x^T K x without another pass: (P K P + delta I) x = b - r, so x^T K x =
    // x^T b - delta x^T x - x^T r, and |x^T r| <= cgTol ||x|| ||b||, far below
    // the Monte Carlo error (x is in range(P), where P K P and K agree).
    const a = new Float64Array(cols);
    const b = new Float64Array(cols);
    for (let c = 0; c < cols; c++) {
      const xc = sol.x.col(c);
      const bc = rhs.col(c);
      let sxb = 0;
      let sb = 0;
      for (let i = 0; i < n; i++) {
        sxb += xc[i]! * bc[i]!;
        sb += xc[i]! * xc[i]!;
      }
      a[c] = sxb - delta * sb;
      b[c] = sb;
    }
    last = { a, b };
    let sa = 0;
    let sb = 0;
    for (let t = 1; t < cols; t++) {
      sa += a[t]!;
      sb += b[t]!;
    }
    return Math.log(a[0]! / b[0]!) - Math.log(sa / sb);
  };

  const clamp = (l: number): number => Math.min(LOG_DELTA_BOUND, Math.max(-LOG_DELTA_BOUND, l));
  const path: { logDelta: number; f: number }[] = [];
  const visit = async (l: number): Promise<number> => {
    const v = await f(l);
    path.push({ logDelta: l, f: v });
    return v;
  };
  let l0 = Math.log((1 - h2Guess) / h2Guess);
  let f0 = await visit(l0);
  // f rises with delta when the data have less genetic variance than assumed: step towards the root.
  let l1 = clamp(l0 + (f0 > 0 ? -1 : 1));
  let f1 = await visit(l1);
  let bracket: { lo: number; flo: number; hi: number; fhi: number } | undefined;
  let converged = false;
  let slope = (f1 - f0) / (l1 - l0);
  for (let it = 0; it < maxIter; it++) {
    if (Math.sign(f0) !== Math.sign(f1)) bracket = l0 < l1 ? { lo: l0, flo: f0, hi: l1, fhi: f1 } : { lo: l1, flo: f1, hi: l0, fhi: f0 };
    slope = (f1 - f0) / (l1 - l0);
    let next = slope !== 0 && Number.isFinite(slope) ? l1 - f1 / slope : l1 + (f1 > 0 ? -1 : 1);
    if (bracket !== undefined && !(next > bracket.lo && next < bracket.hi)) {
      // Bisection inside the sign change when the secant leaves it.
      next = 0.5 * (bracket.lo + bracket.hi);
    }
    next = clamp(next);
    if (Math.abs(next - l1) < tol) {
      converged = true;
      break;
    }
    l0 = l1;
    f0 = f1;
    l1 = next;
    f1 = await visit(l1);
    if (bracket !== undefined) {
      if (Math.sign(f1) === Math.sign(bracket.flo)) bracket = { ...bracket, lo: l1, flo: f1 };
      else bracket = { ...bracket, hi: l1, fhi: f1 };
    }
  }
  // The fit at the last point evaluated (within tol of the root, or at a bound it lies beyond).
  const delta = Math.exp(l1);
  const atBound = Math.abs(l1) === LOG_DELTA_BOUND && Math.abs(f1) > 0 ? (l1 > 0 ? 'lower' : 'upper') : null;
  const xy = last.b.length > 0 ? quad(x0!.col(0), yt.data) : Number.NaN;
  const sigmaG2 = xy / (n - p);
  const h2 = 1 / (1 + delta);
  return {
    h2,
    sigmaG2,
    sigmaE2: delta * sigmaG2,
    delta,
    h2McSe: mcStandardError(last.a, last.b, slope) * h2 * (1 - h2),
    mcTrials: trials,
    seed,
    iterations: path.length,
    cgIterations,
    passes: op.passes - passes0,
    converged,
    atBound,
    n,
    p,
    yTilde: yt.data,
    path,
  };
}

function quad(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

/**
 * The standard error of log(sum a / sum b) over the trials (entries 1..T;
 * entry 0 is the data) by the delta method, divided by |slope| to give the
 * standard error of log delta; NaN when the slope is not usable.
 */
function mcStandardError(a: Float64Array, b: Float64Array, slope: number): number {
  const t = a.length - 1;
  let ma = 0;
  let mb = 0;
  for (let i = 1; i <= t; i++) {
    ma += a[i]! / t;
    mb += b[i]! / t;
  }
  const d = Float64Array.from({ length: t }, (_, i) => a[i + 1]! / ma - b[i + 1]! / mb);
  const md = d.reduce((s, v) => s + v, 0) / t;
  const v = d.reduce((s, x) => s + (x - md) ** 2, 0) / (t - 1);
  const se = Math.sqrt(v / t);
  return Number.isFinite(slope) && slope !== 0 ? se / Math.abs(slope) : Number.NaN;
}
