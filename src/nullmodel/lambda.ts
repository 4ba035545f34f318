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
 * its printed precision (test/exact.test.ts), with two deliberate
 * differences, both where GEMMA's own rounding decides: the derivatives are
 * formed without GEMMA's cancellation (see `LambdaProblem`), and where
 * Newton still fails (leaves the bounds, 100 steps without converging)
 * GEMMA 0.98.5 returns NaN while lmmkit solves that interval by Brent.
 *
 * An evaluation is an O(N nv^2) pass unless the problem is given the sums
 * another way: precomputed at fixed lambdas (`LambdaProblem.grid`) or from
 * a `MomentSource` (`LambdaProblem.source`; the per-variant scan
 * interpolates them, see lambda-cheb.ts and scan/exact.ts), so that GEMMA's
 * path costs no O(N) work per step.
 */
import { LmmkitError, ShapeError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';

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

/** GEMMA's defaults (param.cpp: l_min, l_max, n_region). */
export const LAMBDA_DEFAULTS = { lower: 1e-5, upper: 1e5, gridPoints: 10 } as const;

/** GEMMA's function names: 'R' for the restricted log-likelihood, 'L' for the log-likelihood. */
export type LikelihoodKind = 'R' | 'L';

const LOG_2PI = Math.log(2 * Math.PI);
const DBL_EPSILON = 2.220446049250313e-16;
/** GEMMA's EigenDecomp_Zeroed sets eigenvalues below this to exactly 0. */
const EIGEN_ZERO = 1e-10;
/** Eigenvalues below -NEGATIVE_TOLERANCE * max|s| mean K is not positive semi-definite. */
const NEGATIVE_TOLERANCE = 1e-8;
/** A fixed effect whose residual after the earlier ones is below this fraction of its norm is collinear. */
const COLLINEAR = 1e-10;

/** The weighted sums of one lambda, precomputed (the grid points of a scan). */
export interface FixedMoments {
  /** 1: e1 (and trK, log det H) only; 2: ek and trKK too. */
  order: 1 | 2;
  /** sum_i s_i h_i = tr(H^-1 K). */
  trK: number;
  /** sum_i s_i^2 h_i^2 = tr(H^-1 K H^-1 K). */
  trKK: number;
  /** sum_i log |1 + lambda s_i| = log det H. */
  logdetH: number;
  /** sum_i h_i v_a(i) v_b(i) for each pair (a <= b), in `LambdaProblem.pair` order: v_a^T H^-1 v_b. */
  e1: Float64Array;
  /** sum_i s_i h_i^2 v_a(i) v_b(i): v_a^T H^-1 K H^-1 v_b (order 2). */
  ek: Float64Array;
}

/**
 * Another way to obtain the weighted sums of a lambda than the O(N nv^2)
 * pass (e.g. interpolants, see lambda-cheb.ts): `fill` writes
 * `prob.e1` (order >= 1), `prob.ek` and `prob.trK` (order >= 2), `prob.ekk`
 * and `prob.trKK` (order 3) and `prob.logdetH` (when `logdet`), and returns
 * true, or returns false (writing nothing) where it cannot.
 */
export interface MomentSource {
  fill(prob: LambdaProblem, lambda: number, order: 1 | 2 | 3, logdet: boolean): boolean;
}

/**
 * Clamps GEMMA's way: eigenvalues below 1e-10 become 0 (EigenDecomp_Zeroed).
 * Values below -1e-8 max|s| are not rounding noise but a kinship that is not
 * positive semi-definite, where H = lambda K + I stops being a covariance for
 * large lambda: that is an error. Returns a new array.
 */
export function clampEigenvalues(s: Float64Array, where: string): Float64Array {
  let maxAbs = 0;
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    if (!Number.isFinite(v)) throw new LmmkitError('BAD_INPUT', `${where}: eigenvalue ${i} is ${v}; the kinship must be finite`);
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const out = new Float64Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    if (v < -NEGATIVE_TOLERANCE * maxAbs) {
      throw new LmmkitError(
        'NOT_POSITIVE_SEMIDEFINITE',
        `${where}: eigenvalue ${i} of the kinship is ${v} (largest |s| = ${maxAbs}); K must be positive semi-definite`,
      );
    }
    out[i] = v < EIGEN_ZERO ? 0 : v;
  }
  return out;
}

/**
 * One likelihood problem on rotated data: the eigenvalues s and the
 * variables v_0..v_{nv-1} (the fixed effects, then y last), kept as the
 * pairwise products v_a * v_b (GEMMA's Uab), so that a lambda costs
 * O(N nv^2) weighted sums plus the O(nv^3) projection recursion.
 *
 * After `evaluate(lambda, order)`, `p1[p * nPairs + pair(a, b)]` holds
 * v_a^T P_p v_b (GEMMA's Pab row p; a, b >= p); with order >= 2, `pk` holds
 * v_a^T P_p K P_p v_b and with order 3 `pkk` holds v_a^T P_p K P_p K P_p v_b.
 *
 * GEMMA obtains the derivatives from v^T P P v and v^T P P P v through
 * K = (H - I) / lambda, e.g. y^T P K P y = (y^T P y - y^T P P y) / lambda:
 * a difference of nearly equal numbers divided by lambda, whose rounding
 * error (~1e-12 of y^T H^-1 y, before projecting out the mean) becomes a
 * derivative noise of ~1e-7 for lambda near 1e-4, enough to keep Newton
 * from converging (GEMMA then prints nan) or to move the root by ~1e-7.
 * The same quantities are formed here directly with K's weights
 * (s h^2 and s^2 h^3), through the same recursion (it holds for
 * P M P and P M P M P with any symmetric M), so the derivatives are
 * accurate at every lambda and the search visits the same points as GEMMA's
 * up to GEMMA's own rounding.
 */
export class LambdaProblem {
  readonly n: number;
  /** Variables: nFixed fixed effects, then y. */
  readonly nv: number;
  readonly nFixed: number;
  readonly nPairs: number;
  readonly eigenvalues: Float64Array;
  /** Pair-major products: pair k is products[k * n .. (k + 1) * n). */
  readonly products: Float64Array;
  /** Unweighted sums sum_i v_a(i) v_b(i) per pair (GEMMA's Iab row 0). */
  readonly plain: Float64Array;
  /** sum_{i < nFixed} log of the unweighted pivots: log det(W^T W) (REML's constant). */
  logdetWtW = 0;
  /** Moments precomputed at fixed lambdas (the grid), looked up by exact value. */
  grid: Map<number, FixedMoments> | undefined;
  /** Consulted after `grid` and before the O(N nv^2) pass. */
  source: MomentSource | undefined;
  readonly e1: Float64Array;
  readonly ek: Float64Array;
  readonly ekk: Float64Array;
  readonly p1: Float64Array;
  readonly pk: Float64Array;
  readonly pkk: Float64Array;
  /** tr(H^-1 K), tr(H^-1 K H^-1 K), log det H of the last `evaluate` (log det only when asked). */
  trK = 0;
  trKK = 0;
  logdetH = 0;
  /** Likelihood evaluations so far (each an O(N nv^2) pass unless it hit the grid or the source). */
  evaluations = 0;
  /** Of those, the O(N nv^2) passes. */
  passes = 0;
  private readonly vars: Float64Array[];
  private readonly w1: Float64Array;
  private readonly wk: Float64Array;
  private readonly wkk: Float64Array;
  private readonly identity: Float64Array;
  /** Variables whose `products` are not filled yet (set with their unweighted sums given). */
  private readonly stale: Uint8Array;

  /**
   * `eigenvalues` (already clamped, see `clampEigenvalues`) and the
   * variables, each of length N: fixed effects first, the response last.
   */
  constructor(eigenvalues: Float64Array, vars: Float64Array[]) {
    const n = eigenvalues.length;
    const nv = vars.length;
    if (nv < 1) throw new ShapeError('LambdaProblem: needs at least the response');
    for (const v of vars) {
      if (v.length !== n) throw new ShapeError(`LambdaProblem: a variable has length ${v.length}, expected N = ${n}`);
    }
    this.n = n;
    this.nv = nv;
    this.nFixed = nv - 1;
    this.nPairs = (nv * (nv + 1)) / 2;
    this.eigenvalues = eigenvalues;
    this.vars = vars.slice();
    this.products = new Float64Array(this.nPairs * n);
    this.plain = new Float64Array(this.nPairs);
    this.e1 = new Float64Array(this.nPairs);
    this.ek = new Float64Array(this.nPairs);
    this.ekk = new Float64Array(this.nPairs);
    const rows = (this.nFixed + 1) * this.nPairs;
    this.p1 = new Float64Array(rows);
    this.pk = new Float64Array(rows);
    this.pkk = new Float64Array(rows);
    this.identity = new Float64Array(rows);
    this.w1 = new Float64Array(n);
    this.wk = new Float64Array(n);
    this.wkk = new Float64Array(n);
    this.stale = new Uint8Array(nv);
    for (let a = 0; a < nv; a++) this.fillProducts(a, a);
    this.refreshPlain();
  }

  /** Variable a (length N). */
  variable(a: number): Float64Array {
    return this.vars[a]!;
  }

  /** Index of the pair (a, b) in the packed upper triangle, any order of a and b. */
  pair(a: number, b: number): number {
    if (a > b) [a, b] = [b, a];
    return a * this.nv - (a * (a - 1)) / 2 + (b - a);
  }

  /**
   * Replaces variable `a` (e.g. the tested genotype) and refreshes its
   * products and the REML constant. With `plain` (plain[b] = sum_i v(i)
   * v_b(i) for every variable b, v's own square at b = a), the unweighted
   * sums are taken from it and the O(N nv) products are formed only if an
   * evaluation needs them.
   */
  setVariable(a: number, v: Float64Array, plain?: ArrayLike<number>): void {
    if (v.length !== this.n) throw new ShapeError(`LambdaProblem.setVariable: length ${v.length}, expected N = ${this.n}`);
    this.vars[a] = v;
    if (plain === undefined) {
      this.fillProducts(a, 0);
      this.stale[a] = 0;
    } else {
      for (let b = 0; b < this.nv; b++) this.plain[this.pair(a, b)] = plain[b]!;
      this.stale[a] = 1;
    }
    this.refreshPlain();
  }

  /**
   * Whether the fixed effects are linearly independent: every unweighted
   * pivot (the residual sum of squares of a fixed effect after the earlier
   * ones) is above 1e-10 of its sum of squares. Index of the first collinear
   * one, or -1.
   */
  collinearFixed(): number {
    const { nPairs } = this;
    for (let i = 0; i < this.nFixed; i++) {
      const ii = this.pair(i, i);
      const pivot = this.identity[i * nPairs + ii]!;
      if (!(pivot > COLLINEAR * this.identity[ii]!)) return i;
    }
    return -1;
  }

  /** Products of variable a with the variables b >= from (and their unweighted sums, unless `keepPlain`). */
  private fillProducts(a: number, from: number, keepPlain = false): void {
    const { n, nv, products, plain } = this;
    const va = this.vars[a]!;
    for (let b = from; b < nv; b++) {
      const vb = this.vars[b]!;
      const k = this.pair(a, b);
      const off = k * n;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const p = va[i]! * vb[i]!;
        products[off + i] = p;
        s += p;
      }
      if (!keepPlain) plain[k] = s;
    }
  }

  /** Fills the products of the variables set with their sums given (before an O(N) pass). */
  private ensureProducts(): void {
    const { stale } = this;
    for (let a = 0; a < this.nv; a++) {
      if (stale[a] === 0) continue;
      this.fillProducts(a, 0, true);
      stale[a] = 0;
    }
  }

  /** The identity-weight recursion (GEMMA's Iab) and log det(W^T W) from it. */
  private refreshPlain(): void {
    this.identity.set(this.plain);
    project(this, this.identity, undefined, undefined, this.nFixed);
    let s = 0;
    for (let i = 0; i < this.nFixed; i++) s += Math.log(this.identity[i * this.nPairs + this.pair(i, i)]!);
    this.logdetWtW = s;
  }

  /**
   * The weighted sums at `lambda` (h = 1 / (1 + lambda s); order 2 adds the
   * weights s h^2, order 3 s^2 h^3) and the projection rows 0..nFixed of p1
   * (and pk, pkk), plus log det H when `logdet`. Grid lambdas are read from
   * `grid` when it holds them, others from `source` when it can.
   */
  evaluate(lambda: number, order: 1 | 2 | 3, logdet: boolean): void {
    this.evaluations++;
    const { n, nPairs, products, eigenvalues: s } = this;
    const cached = this.grid?.get(lambda);
    if (cached !== undefined && order <= cached.order) {
      this.trK = cached.trK;
      this.trKK = cached.trKK;
      this.logdetH = cached.logdetH;
      this.e1.set(cached.e1);
      if (order === 2) this.ek.set(cached.ek);
    } else if (this.source === undefined || !this.source.fill(this, lambda, order, logdet)) {
      this.passes++;
      this.ensureProducts();
      const { w1, wk, wkk } = this;
      const w = lambdaWeights(s, lambda, w1, wk, wkk, logdet);
      this.trK = w.trK;
      this.trKK = w.trKK;
      this.logdetH = w.logdetH;
      const { e1, ek, ekk } = this;
      for (let k = 0; k < nPairs; k++) {
        const off = k * n;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        if (order === 1) {
          for (let i = 0; i < n; i++) s1 += w1[i]! * products[off + i]!;
        } else if (order === 2) {
          for (let i = 0; i < n; i++) {
            const u = products[off + i]!;
            s1 += w1[i]! * u;
            s2 += wk[i]! * u;
          }
        } else {
          for (let i = 0; i < n; i++) {
            const u = products[off + i]!;
            s1 += w1[i]! * u;
            s2 += wk[i]! * u;
            s3 += wkk[i]! * u;
          }
        }
        e1[k] = s1;
        ek[k] = s2;
        ekk[k] = s3;
      }
    }
    this.p1.set(this.e1);
    if (order >= 2) this.pk.set(this.ek);
    if (order >= 3) this.pkk.set(this.ekk);
    project(this, this.p1, order >= 2 ? this.pk : undefined, order >= 3 ? this.pkk : undefined, this.nFixed);
  }

  /** v_a^T P_p v_b after `evaluate`. */
  pab(p: number, a: number, b: number): number {
    return this.p1[p * this.nPairs + this.pair(a, b)]!;
  }

  /**
   * GEMMA's LogL_f ('L') or LogRL_f ('R') at lambda:
   *   ML:   N/2 (log N - log 2 pi - 1) - 1/2 log det H - N/2 log(y^T P y)
   *   REML: df/2 (log df - log 2 pi - 1) - 1/2 log det H
   *         - 1/2 (log det(W^T H^-1 W) - log det(W^T W)) - df/2 log(y^T P y),
   * df = N - nFixed, P the projection removing all fixed effects
   * (REML's y^T P y floored at 1e-8, as GEMMA does).
   */
  logLik(lambda: number, kind: LikelihoodKind): number {
    this.evaluate(lambda, 1, true);
    const { n, nFixed, nPairs } = this;
    let pyy = this.p1[nFixed * nPairs + this.pair(nFixed, nFixed)]!;
    if (kind === 'L') {
      const c = 0.5 * n * (Math.log(n) - LOG_2PI - 1);
      return c - 0.5 * this.logdetH - 0.5 * n * Math.log(pyy);
    }
    const df = n - nFixed;
    let logdetHiw = 0;
    for (let i = 0; i < nFixed; i++) logdetHiw += Math.log(this.p1[i * nPairs + this.pair(i, i)]!);
    logdetHiw -= this.logdetWtW;
    if (pyy < 1e-8) pyy = 1e-8;
    const c = 0.5 * df * (Math.log(df) - LOG_2PI - 1);
    return c - 0.5 * this.logdetH - 0.5 * logdetHiw - 0.5 * df * Math.log(pyy);
  }

  /**
   * First derivative in lambda (GEMMA's LogL_dev1 / LogRL_dev1):
   *   ML:   -1/2 tr(H^-1 K) + N/2 y^T P K P y / y^T P y
   *   REML: -1/2 tr(P K) + df/2 y^T P K P y / y^T P y,
   * with tr(P_{p+1} K) = tr(P_p K) - w^T P_p K P_p w / w^T P_p w over the fixed effects w.
   */
  dev1(lambda: number, kind: LikelihoodKind): number {
    this.evaluate(lambda, 2, false);
    return this.derivatives(kind, false)[0];
  }

  /**
   * First and second derivatives (GEMMA's LogL_dev12 / LogRL_dev12); the
   * second is 1/2 tr(P K P K) - df/2 (2 y^T PKPKP y y^T P y - (y^T PKP y)^2) / (y^T P y)^2
   * (N for df and H^-1 for P under ML), with
   * tr(P_{p+1} K P_{p+1} K) = tr(P_p K P_p K) + (w^T PKP w / w^T P w)^2 - 2 w^T PKPKP w / w^T P w.
   */
  dev12(lambda: number, kind: LikelihoodKind): [number, number] {
    this.evaluate(lambda, 3, false);
    return this.derivatives(kind, true);
  }

  private derivatives(kind: LikelihoodKind, second: boolean): [number, number] {
    const { n, nFixed, nPairs, p1, pk, pkk } = this;
    const yy = nFixed * nPairs + this.pair(nFixed, nFixed);
    const pyy = p1[yy]!;
    const yPKPy = pk[yy]!;
    let tracePK = this.trK;
    let tracePKPK = this.trKK;
    let df = n;
    if (kind === 'R') {
      df = n - nFixed;
      for (let i = 0; i < nFixed; i++) {
        const ww = i * nPairs + this.pair(i, i);
        const q = pk[ww]! / p1[ww]!;
        tracePK -= q;
        if (second) tracePKPK += q * q - (2.0 * pkk[ww]!) / p1[ww]!;
      }
    }
    const dev1 = -0.5 * tracePK + (0.5 * df * yPKPy) / pyy;
    if (!second) return [dev1, Number.NaN];
    const yPKPKPy = pkk[yy]!;
    const dev2 = 0.5 * tracePKPK - (0.5 * df * (2.0 * yPKPKPy * pyy - yPKPy * yPKPy)) / (pyy * pyy);
    return [dev1, dev2];
  }
}

/**
 * GEMMA's CalcPab / CalcPPab / CalcPPPab recursion, in place, with a general
 * middle matrix M (GEMMA's M = I; here M = K): row 0 of `q1` (`q2`, `q3`)
 * holds v_a^T H^-1 v_b (v_a^T H^-1 M H^-1 v_b, v_a^T H^-1 M H^-1 M H^-1 v_b);
 * row p (1..rows) is row p-1 with variable w = p-1 projected out. Writing
 * P, Q, R for the P, PMP and PMPMP entries of row p-1:
 *   P'[a,b] = P[a,b] - P[a,w] P[b,w] / P[w,w]
 *   Q'[a,b] = Q[a,b] + P[a,w] P[b,w] Q[w,w] / P[w,w]^2 - (P[a,w] Q[b,w] + P[b,w] Q[a,w]) / P[w,w]
 *   R'[a,b] = R[a,b] - P[a,w] P[b,w] Q[w,w]^2 / P[w,w]^3
 *             - (P[a,w] R[b,w] + P[b,w] R[a,w] + Q[a,w] Q[b,w]) / P[w,w]
 *             + (P[a,w] Q[b,w] Q[w,w] + P[b,w] Q[a,w] Q[w,w] + P[a,w] P[b,w] R[w,w]) / P[w,w]^2
 * for a, b > w; a zero pivot leaves the row unchanged (GEMMA's rule).
 */
function project(
  prob: LambdaProblem, q1: Float64Array, q2: Float64Array | undefined, q3: Float64Array | undefined, rows: number,
): void {
  const { nv, nPairs } = prob;
  for (let p = 1; p <= rows; p++) {
    const w = p - 1;
    const prev = w * nPairs;
    const cur = p * nPairs;
    const ww = prev + prob.pair(w, w);
    const psww = q1[ww]!;
    const ps2ww = q2 === undefined ? 0 : q2[ww]!;
    const ps3ww = q3 === undefined ? 0 : q3[ww]!;
    for (let a = p; a < nv; a++) {
      const aw = prev + prob.pair(w, a);
      const psaw = q1[aw]!;
      for (let b = a; b < nv; b++) {
        const ab = prob.pair(a, b);
        const bw = prev + prob.pair(w, b);
        const psbw = q1[bw]!;
        const psab = q1[prev + ab]!;
        q1[cur + ab] = psww !== 0 ? psab - (psaw * psbw) / psww : psab;
        if (q2 !== undefined) {
          const ps2ab = q2[prev + ab]!;
          const ps2aw = q2[aw]!;
          const ps2bw = q2[bw]!;
          let v = ps2ab;
          if (psww !== 0) {
            v = ps2ab + (psaw * psbw * ps2ww) / (psww * psww);
            v -= (psaw * ps2bw + psbw * ps2aw) / psww;
          }
          q2[cur + ab] = v;
          if (q3 !== undefined) {
            const ps3ab = q3[prev + ab]!;
            let v3 = ps3ab;
            if (psww !== 0) {
              const ps3aw = q3[aw]!;
              const ps3bw = q3[bw]!;
              v3 = ps3ab - (psaw * psbw * ps2ww * ps2ww) / (psww * psww * psww);
              v3 -= (psaw * ps3bw + psbw * ps3aw + ps2aw * ps2bw) / psww;
              v3 += (psaw * ps2bw * ps2ww + psbw * ps2aw * ps2ww + psaw * psbw * ps3ww) / (psww * psww);
            }
            q3[cur + ab] = v3;
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------
// GSL's root solvers, as GEMMA calls them (gsl roots/brent.c, newton.c,
// convergence.c), so that the search stops where GEMMA's stops.

const GSL_SUCCESS = 0;
const GSL_CONTINUE = -2;
const GSL_FAILURE = -1;

interface BrentState {
  a: number; b: number; c: number; d: number; e: number;
  fa: number; fb: number; fc: number;
  root: number; lower: number; upper: number;
}

/** gsl_root_fsolver_set with brent_init: the root starts at the midpoint (f at the ends given or evaluated). */
function brentInit(f: (x: number) => number, lo: number, hi: number, flo = f(lo), fhi = f(hi)): BrentState | null {
  if (!Number.isFinite(flo) || !Number.isFinite(fhi)) return null;
  return { a: lo, fa: flo, b: hi, fb: fhi, c: hi, fc: fhi, d: hi - lo, e: hi - lo, root: 0.5 * (lo + hi), lower: lo, upper: hi };
}

/** brent_iterate: one step of Brent's method (inverse quadratic interpolation or bisection). */
function brentIterate(st: BrentState, f: (x: number) => number): number {
  let { a, b, c, d, e, fa, fb, fc } = st;
  let acEqual = false;
  if ((fb < 0 && fc < 0) || (fb > 0 && fc > 0)) {
    acEqual = true;
    c = a;
    fc = fa;
    d = b - a;
    e = b - a;
  }
  if (Math.abs(fc) < Math.abs(fb)) {
    acEqual = true;
    a = b;
    b = c;
    c = a;
    fa = fb;
    fb = fc;
    fc = fa;
  }
  const tol = 0.5 * DBL_EPSILON * Math.abs(b);
  const m = 0.5 * (c - b);
  if (fb === 0) {
    st.root = b;
    st.lower = b;
    st.upper = b;
    return GSL_SUCCESS;
  }
  if (Math.abs(m) <= tol) {
    st.root = b;
    if (b < c) { st.lower = b; st.upper = c; } else { st.lower = c; st.upper = b; }
    return GSL_SUCCESS;
  }
  if (Math.abs(e) < tol || Math.abs(fa) <= Math.abs(fb)) {
    d = m;
    e = m;
  } else {
    let p: number;
    let q: number;
    const s = fb / fa;
    if (acEqual) {
      p = 2 * m * s;
      q = 1 - s;
    } else {
      q = fa / fc;
      const r = fb / fc;
      p = s * (2 * m * q * (q - r) - (b - a) * (r - 1));
      q = (q - 1) * (r - 1) * (s - 1);
    }
    if (p > 0) q = -q;
    else p = -p;
    if (2 * p < Math.min(3 * m * q - Math.abs(tol * q), Math.abs(e * q))) {
      e = d;
      d = p / q;
    } else {
      d = m;
      e = m;
    }
  }
  a = b;
  fa = fb;
  if (Math.abs(d) > tol) b += d;
  else b += m > 0 ? +tol : -tol;
  fb = f(b);
  // GSL's SAFE_FUNC_CALL: a non-finite value is an error, before the state is updated.
  if (!Number.isFinite(fb)) return GSL_FAILURE;
  Object.assign(st, { a, b, c, d, e, fa, fb, fc });
  st.root = b;
  if ((fb < 0 && fc < 0) || (fb > 0 && fc > 0)) c = a;
  if (b < c) { st.lower = b; st.upper = c; } else { st.lower = c; st.upper = b; }
  return GSL_SUCCESS;
}

/** gsl_root_test_interval(lo, hi, epsabs, epsrel). */
function testInterval(lo: number, hi: number, epsabs: number, epsrel: number): number {
  const minAbs = (lo > 0 && hi > 0) || (lo < 0 && hi < 0) ? Math.min(Math.abs(lo), Math.abs(hi)) : 0;
  return Math.abs(hi - lo) < epsabs + epsrel * minAbs ? GSL_SUCCESS : GSL_CONTINUE;
}

/** gsl_root_test_delta(x1, x0, epsabs, epsrel). */
function testDelta(x1: number, x0: number, epsabs: number, epsrel: number): number {
  return Math.abs(x1 - x0) < epsabs + epsrel * Math.abs(x1) || x1 === x0 ? GSL_SUCCESS : GSL_CONTINUE;
}

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
    throw new LmmkitError('BAD_ARGUMENT', `${where}: needs 0 < lower < upper < Infinity, found lower = ${lower}, upper = ${upper}`);
  }
  if (!Number.isInteger(gridPoints) || gridPoints < 1) {
    throw new LmmkitError('BAD_ARGUMENT', `${where}: gridPoints must be a positive integer, found ${gridPoints}`);
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
    return fl >= fh
      ? { lambda: lower, logLik: fl, iterations: 0, fallback: false }
      : { lambda: upper, logLik: fh, iterations: 0, fallback: false };
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

/** Brent's method on a sign-changing interval until it is a few ulps wide (lmmkit's fallback). */
function brentToConvergence(f: (x: number) => number, lo: number, hi: number): { root: number; iterations: number } {
  const st = brentInit(f, lo, hi);
  if (st === null) return { root: Number.NaN, iterations: 0 };
  let root = st.root;
  let it = 0;
  while (it < 200) {
    it++;
    if (brentIterate(st, f) !== GSL_SUCCESS) break;
    root = st.root;
    if (testInterval(st.lower, st.upper, 0, 4 * DBL_EPSILON) === GSL_SUCCESS) break;
  }
  return { root, iterations: it };
}

/** Shape and finiteness checks of rotated data; returns N and c. */
export function checkRotated(data: RotatedData, where: string): { n: number; c: number } {
  const n = data.eigenvalues.length;
  if (data.uty.length !== n) throw new ShapeError(`${where}: uty has length ${data.uty.length} but there are ${n} eigenvalues`);
  if (data.utw.rows !== n) throw new ShapeError(`${where}: utw is ${data.utw.shape} but there are ${n} eigenvalues (rows must match)`);
  const c = data.utw.cols;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(data.uty[i]!)) throw new LmmkitError('BAD_INPUT', `${where}: uty[${i}] is ${data.uty[i]}; the phenotype must be finite`);
  }
  for (let i = 0; i < data.utw.data.length; i++) {
    if (!Number.isFinite(data.utw.data[i]!)) {
      throw new LmmkitError('BAD_INPUT', `${where}: utw has a non-finite value (${data.utw.data[i]}) at row ${i % n}, column ${Math.floor(i / n)}`);
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
    throw new LmmkitError('SINGULAR_COVARIATES', `${where}: covariate column ${bad} is (numerically) a combination of the columns before it; W^T W is singular`);
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
  if (method !== 'reml' && method !== 'ml') throw new LmmkitError('BAD_ARGUMENT', `${where}: method must be 'reml' or 'ml', found '${String(method)}'`);
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
 * `evaluate` (row 0 of p1), by Cholesky on the c x c system.
 */
function glsBeta(prob: LambdaProblem, out: Float64Array): void {
  const c = prob.nFixed;
  const a = new Float64Array(c * c);
  const r = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    r[i] = prob.pab(0, i, c);
    for (let j = 0; j < c; j++) a[i * c + j] = prob.pab(0, i, j);
  }
  // In-place Cholesky (lower), then two triangular solves.
  for (let j = 0; j < c; j++) {
    let d = a[j * c + j]!;
    for (let k = 0; k < j; k++) d -= a[j * c + k]! ** 2;
    if (!(d > 0)) {
      out.fill(Number.NaN);
      return;
    }
    const ljj = Math.sqrt(d);
    a[j * c + j] = ljj;
    for (let i = j + 1; i < c; i++) {
      let v = a[i * c + j]!;
      for (let k = 0; k < j; k++) v -= a[i * c + k]! * a[j * c + k]!;
      a[i * c + j] = v / ljj;
    }
  }
  for (let i = 0; i < c; i++) {
    let v = r[i]!;
    for (let k = 0; k < i; k++) v -= a[i * c + k]! * r[k]!;
    r[i] = v / a[i * c + i]!;
  }
  for (let i = c - 1; i >= 0; i--) {
    let v = r[i]!;
    for (let k = i + 1; k < c; k++) v -= a[k * c + i]! * out[k]!;
    out[i] = v / a[i * c + i]!;
  }
}

/**
 * GEMMA's log-likelihood of the null model at a given lambda: LogRL_f
 * ('reml') or LogL_f ('ml'), with its constants (see `LambdaProblem.logLik`).
 * Rotated data of N samples and c covariates; O(N c^2).
 */
export function logLikLambda(data: RotatedData, lambda: number, method: VarianceMethod): number {
  const where = 'logLikLambda';
  if (!(lambda >= 0 && Number.isFinite(lambda))) throw new LmmkitError('BAD_ARGUMENT', `${where}: lambda must be finite and >= 0, found ${lambda}`);
  if (method !== 'reml' && method !== 'ml') throw new LmmkitError('BAD_ARGUMENT', `${where}: method must be 'reml' or 'ml', found '${String(method)}'`);
  const { n, c } = checkRotated(data, where);
  if (n <= c) throw new ShapeError(`${where}: needs more samples (${n}) than covariates (${c})`);
  const s = clampEigenvalues(data.eigenvalues, where);
  const prob = nullProblem(data, s, where);
  return prob.logLik(lambda, method === 'reml' ? 'R' : 'L');
}

/**
 * The per-sample weights of the weighted sums at `lambda`, over the
 * eigenvalues `s`: with d_i = 1 + lambda s_i and h_i = 1 / d_i it writes
 * w1[i] = h_i, wk[i] = s_i h_i^2 and (when `wkk` is given)
 * wkk[i] = s_i^2 h_i^3, and returns trK = sum s_i h_i = tr(H^-1 K),
 * trKK = sum (s_i h_i)^2 = tr((H^-1 K)^2) and, when `logdet`,
 * logdetH = sum log |d_i| = log det H (0 otherwise). The one O(N) pass
 * behind `LambdaProblem.evaluate`, `fixedSeriesValues` (lambda-cheb.ts) and
 * the exact scan's fixed moments (scan/exact.ts).
 */
export function lambdaWeights(
  s: ArrayLike<number>,
  lambda: number,
  w1: Float64Array,
  wk: Float64Array,
  wkk: Float64Array | undefined,
  logdet: boolean,
): { trK: number; trKK: number; logdetH: number } {
  const n = s.length;
  let trK = 0;
  let trKK = 0;
  let ld = 0;
  for (let i = 0; i < n; i++) {
    const si = s[i]!;
    const d = lambda * si + 1;
    const h = 1 / d;
    const sh = si * h;
    w1[i] = h;
    wk[i] = sh * h;
    if (wkk !== undefined) wkk[i] = sh * sh * h;
    trK += sh;
    trKK += sh * sh;
    if (logdet) ld += Math.log(Math.abs(d));
  }
  return { trK, trKK, logdetH: ld };
}
