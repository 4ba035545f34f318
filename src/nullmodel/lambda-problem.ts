/**
 * GEMMA's moment recursion for the variance ratio lambda (Zhou & Stephens
 * 2012; GEMMA src/lmm.cpp: CalcUab, CalcPab, CalcPPab, CalcPPPab, LogL_f,
 * LogRL_f and their derivatives): one likelihood problem on eigen-rotated
 * data, its weighted sums and the closed-form log-likelihoods and
 * derivatives in lambda. The model is described in lambda.ts, the
 * recursion at `LambdaProblem`.
 */
import { InputError, NotPositiveSemidefiniteError, ShapeError } from '../errors.js';

/** GEMMA's function names: 'R' for the restricted log-likelihood, 'L' for the log-likelihood. */
export type LikelihoodKind = 'R' | 'L';

const LOG_2PI = Math.log(2 * Math.PI);
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
    if (!Number.isFinite(v)) throw new InputError(undefined, `${where}: eigenvalue ${i} is ${v}; the kinship must be finite`);
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const out = new Float64Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    if (v < -NEGATIVE_TOLERANCE * maxAbs) {
      throw new NotPositiveSemidefiniteError(`${where}: eigenvalue ${i} of the kinship is ${v} (largest |s| = ${maxAbs}); K must be positive semi-definite`);
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
function project(prob: LambdaProblem, q1: Float64Array, q2: Float64Array | undefined, q3: Float64Array | undefined, rows: number): void {
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

/**
 * The per-sample weights of the weighted sums at `lambda`, over the
 * eigenvalues `s`: with d_i = 1 + lambda s_i and h_i = 1 / d_i it writes
 * w1[i] = h_i, wk[i] = s_i h_i^2 and (when `wkk` is given)
 * wkk[i] = s_i^2 h_i^3, and returns trK = sum s_i h_i = tr(H^-1 K),
 * trKK = sum (s_i h_i)^2 = tr((H^-1 K)^2) and, when `logdet`,
 * logdetH = sum log |d_i| = log det H (0 otherwise). The one O(N) pass
 * behind `LambdaProblem.evaluate`, `fixedSeriesValues` (lambda-cheb.ts) and
 * the exact scan's fixed moments (scan/exact-moments.ts).
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
