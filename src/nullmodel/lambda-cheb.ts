/**
 * Interpolated weighted sums for the lambda search (nullmodel/lambda-search.ts).
 *
 * Every quantity a likelihood evaluation needs is a sum over the rotated
 * samples of the form g(lambda) = sum_i a_i / (1 + lambda s_i)^k (k = 1, 2, 3)
 * or log det H = sum_i log(1 + lambda s_i). In t = log lambda each term is
 * analytic in the strip |Im t| < pi (its only singularities are at
 * lambda s_i = -1), so on one interval of GEMMA's log-spaced grid (width
 * log(1e10) / 10 = 2.3 in t by default; wider intervals are cut in pieces
 * of at most that width) a polynomial interpolant in t on K Chebyshev
 * points converges geometrically, whatever the eigenvalues: at K = 20 it is
 * within ~1e-13 of the sum (relative to sum_i |a_i| / (1 + lambda s_i)^k;
 * test/scan/exact.test.ts compares it with the direct sums). The values at the
 * nodes come from one gemm for a whole batch of variants (scan/exact-moments.ts),
 * after which an evaluation costs O(K) per sum instead of O(N).
 *
 * Series layout for a problem with P pairs (LambdaProblem.pair order):
 * [0, P) the sums with weight h (e1), [P, 2P) with s h^2 (ek), 2P tr(H^-1 K),
 * [2P + 1, 3P + 1) with s^2 h^3 (ekk), 3P + 1 tr(H^-1 K H^-1 K), 3P + 2
 * log det H: order 1 needs [0, P), order 2 [0, 2P + 1), order 3 [0, 3P + 2).
 * The values are evaluated by the barycentric formula of the second kind,
 * which is forward stable at Chebyshev points (Higham 2004, IMA J Numer
 * Anal 24:547).
 */
import { lambdaWeights, type LambdaProblem, type MomentSource } from './lambda-problem.js';

/** Series per interpolation node for a problem with nPairs pairs. */
export function seriesCount(nPairs: number): number {
  return 3 * nPairs + 3;
}

/** Offsets of the series blocks (see the file comment). */
export function seriesOffsets(nPairs: number): { e1: number; ek: number; trK: number; ekk: number; trKK: number; logdet: number } {
  return { e1: 0, ek: nPairs, trK: 2 * nPairs, ekk: 2 * nPairs + 1, trKK: 3 * nPairs + 1, logdet: 3 * nPairs + 2 };
}

/**
 * Chebyshev points of the first kind x_m = cos((2m + 1) pi / (2K)) on
 * [-1, 1], m = 0..K-1, with their barycentric weights (-1)^m sin((2m + 1) pi / (2K)),
 * and the grid intervals [t_k, t_{k+1}] (t = log lambda) they are mapped to.
 */
export class ChebGrid {
  readonly k: number;
  readonly x: Float64Array;
  readonly w: Float64Array;
  /** The grid lambdas (edges of the intervals), ascending. */
  readonly edges: Float64Array;
  readonly mid: Float64Array;
  readonly half: Float64Array;
  private readonly t0: number;
  private readonly step: number;

  constructor(k: number, edges: ArrayLike<number>) {
    if (!Number.isInteger(k) || k < 2) throw new RangeError(`ChebGrid: needs at least 2 nodes, found ${k}`);
    this.k = k;
    this.x = new Float64Array(k);
    this.w = new Float64Array(k);
    for (let m = 0; m < k; m++) {
      const th = ((2 * m + 1) * Math.PI) / (2 * k);
      this.x[m] = Math.cos(th);
      this.w[m] = (m % 2 === 0 ? 1 : -1) * Math.sin(th);
    }
    this.edges = Float64Array.from(edges);
    const g = this.edges.length - 1;
    this.mid = new Float64Array(g);
    this.half = new Float64Array(g);
    for (let i = 0; i < g; i++) {
      const a = Math.log(this.edges[i]!);
      const b = Math.log(this.edges[i + 1]!);
      this.mid[i] = 0.5 * (a + b);
      this.half[i] = 0.5 * (b - a);
    }
    this.t0 = Math.log(this.edges[0]!);
    this.step = (Math.log(this.edges[g]!) - this.t0) / g;
  }

  /** Number of intervals. */
  get intervals(): number {
    return this.edges.length - 1;
  }

  /** The K node lambdas of interval i (in node order m = 0..K-1). */
  lambdas(i: number): Float64Array {
    const out = new Float64Array(this.k);
    for (let m = 0; m < this.k; m++) out[m] = Math.exp(this.mid[i]! + this.half[i]! * this.x[m]!);
    return out;
  }

  /** The interval holding lambda (edges included), given t = log lambda, or -1 outside the grid. */
  locate(lambda: number, t: number): number {
    const { edges } = this;
    const g = edges.length - 1;
    if (!(lambda >= edges[0]! && lambda <= edges[g]!)) return -1;
    let i = Math.floor((t - this.t0) / this.step);
    if (i < 0) i = 0;
    if (i > g - 1) i = g - 1;
    while (i > 0 && lambda < edges[i]!) i--;
    while (i < g - 1 && lambda > edges[i + 1]!) i++;
    return i;
  }
}

/**
 * The variant-independent series at the given lambdas: the sums of the
 * pairs that do not involve variable `skip` (from `prob.products`, which
 * must be filled for them), the traces and log det H; the series of the
 * pairs with `skip` are left 0. Series-major: out[series * K + m] for the
 * K = lambdas.length nodes. O(N P) per lambda.
 */
export function fixedSeriesValues(prob: LambdaProblem, lambdas: ArrayLike<number>, skip: number): Float64Array {
  const { n, nv, nPairs, products } = prob;
  const s = prob.eigenvalues;
  const S = seriesCount(nPairs);
  const off = seriesOffsets(nPairs);
  const K = lambdas.length;
  const out = new Float64Array(K * S);
  const w1 = new Float64Array(n);
  const wk = new Float64Array(n);
  const wkk = new Float64Array(n);
  const pairs: number[] = [];
  for (let a = 0; a < nv; a++) {
    if (a === skip) continue;
    for (let b = a; b < nv; b++) if (b !== skip) pairs.push(prob.pair(a, b));
  }
  for (let m = 0; m < lambdas.length; m++) {
    const { trK, trKK, logdetH } = lambdaWeights(s, lambdas[m]!, w1, wk, wkk, true);
    out[off.trK * K + m] = trK;
    out[off.trKK * K + m] = trKK;
    out[off.logdet * K + m] = logdetH;
    for (const k of pairs) {
      const o = k * n;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < n; i++) {
        const u = products[o + i]!;
        s1 += w1[i]! * u;
        s2 += wk[i]! * u;
        s3 += wkk[i]! * u;
      }
      out[(off.e1 + k) * K + m] = s1;
      out[(off.ek + k) * K + m] = s2;
      out[(off.ekk + k) * K + m] = s3;
    }
  }
  return out;
}

const NONE = new Int32Array(0);

/**
 * A `MomentSource` from interpolants on some intervals of the grid: the
 * values of all S series at the K Chebyshev nodes of each interval held
 * (`set`). Lambdas in no held interval return false (the caller then makes
 * the O(N) pass).
 */
export class ChebMoments implements MomentSource {
  readonly grid: ChebGrid;
  readonly nPairs: number;
  /** Per interval: the S x K node values (series-major: [series * K + node]), or undefined. */
  readonly values: (Float64Array | undefined)[];
  /**
   * Pairs whose s^2 h^3 sums (ekk) may be left out of the node values
   * (`set` with `derive`) and obtained from the derivative of their s h^2
   * interpolant: d ek / d lambda = -2 ekk.
   */
  readonly derived: Int32Array;
  /** Per interval: whether its node values leave the `derived` pairs' ekk out. */
  private readonly deriving: Uint8Array;
  /** Evaluations served. */
  served = 0;
  private readonly q: Float64Array;
  private readonly dx: Float64Array;

  constructor(grid: ChebGrid, nPairs: number, derived: ArrayLike<number> = []) {
    this.grid = grid;
    this.nPairs = nPairs;
    this.derived = Int32Array.from(derived);
    this.values = new Array<Float64Array | undefined>(grid.intervals).fill(undefined);
    this.deriving = new Uint8Array(grid.intervals);
    this.q = new Float64Array(grid.k);
    this.dx = new Float64Array(grid.k);
  }

  /**
   * Holds interval i with node values `v` (S x K, series-major; kept, not
   * copied); with `derive`, the ekk of the `derived` pairs are not in them.
   */
  set(i: number, v: Float64Array, derive = false): void {
    this.values[i] = v;
    this.deriving[i] = derive ? 1 : 0;
  }

  /** Drops every interval's node values (for reuse with other values; `served` is kept). */
  clear(): void {
    this.values.fill(undefined);
    this.deriving.fill(0);
  }

  fill(prob: LambdaProblem, lambda: number, order: 1 | 2 | 3, logdet: boolean): boolean {
    const { grid, values } = this;
    const t = Math.log(lambda);
    let i = grid.locate(lambda, t);
    if (i < 0) return false;
    if (values[i] === undefined) {
      // An edge belongs to both of its intervals.
      if (lambda === grid.edges[i] && i > 0 && values[i - 1] !== undefined) i--;
      else if (lambda === grid.edges[i + 1] && i + 1 < values.length && values[i + 1] !== undefined) i++;
      else return false;
    }
    const v = values[i]!;
    const P = this.nPairs;
    const ldIx = 3 * P + 2;
    const { q, dx } = this;
    const K = grid.k;
    const xs = grid.x;
    const ws = grid.w;
    const x = (t - grid.mid[i]!) / grid.half[i]!;
    let hit = -1;
    let den = 0;
    for (let m = 0; m < K; m++) {
      const d = x - xs[m]!;
      if (d === 0) {
        hit = m;
        break;
      }
      const qm = ws[m]! / d;
      dx[m] = d;
      q[m] = qm;
      den += qm;
    }
    const { e1, ek, ekk } = prob;
    // Series s at x: sum_m q_m v[s K + m] / sum_m q_m (or the node value on a node).
    const at = (s: number): number => {
      const o = s * K;
      if (hit >= 0) return v[o + hit]!;
      let a0 = 0;
      let a1 = 0;
      let m = 0;
      for (; m + 1 < K; m += 2) {
        a0 += q[m]! * v[o + m]!;
        a1 += q[m + 1]! * v[o + m + 1]!;
      }
      if (m < K) a0 += q[m]! * v[o + m]!;
      return (a0 + a1) / den;
    };
    for (let p = 0; p < P; p++) e1[p] = at(p);
    if (order >= 2) {
      for (let p = 0; p < P; p++) ek[p] = at(P + p);
      prob.trK = at(2 * P);
    }
    if (order === 3) {
      const derived = this.deriving[i] !== 0 ? this.derived : NONE;
      for (let p = 0; p < P; p++) if (!derived.includes(p)) ekk[p] = at(2 * P + 1 + p);
      prob.trKK = at(3 * P + 1);
      // ekk = -1/2 d ek / d lambda = -1/(2 lambda) d ek / dt, t = mid + half x.
      const scale = -0.5 / (lambda * grid.half[i]!);
      // q_m / (x - x_m), shared by the derived pairs.
      if (hit < 0) for (let m = 0; m < K; m++) dx[m] = q[m]! / dx[m]!;
      for (const p of derived) {
        const o = (P + p) * K;
        let d = 0;
        if (hit >= 0) {
          // The differentiation matrix at a node: p'(x_j) = sum_{m != j} (w_m / w_j) (f_m - f_j) / (x_j - x_m).
          const fj = v[o + hit]!;
          for (let m = 0; m < K; m++) if (m !== hit) d += ((ws[m]! / ws[hit]!) * (v[o + m]! - fj)) / (xs[hit]! - xs[m]!);
        } else {
          // p'(x) = sum_m q_m (p(x) - f_m) / (x - x_m) / sum_m q_m.
          const px = ek[p]!;
          for (let m = 0; m < K; m++) d += dx[m]! * (px - v[o + m]!);
          d /= den;
        }
        ekk[p] = scale * d;
      }
    }
    if (logdet) prob.logdetH = at(ldIx);
    this.served++;
    return true;
  }
}
