/**
 * The batched-moment machinery of the exact test (scan/exact.ts): the
 * weighted sums of every tested variant at many lambdas from a few gemms
 * (`BatchSums`), the moments at GEMMA's grid (`GridCache`) and what does not
 * depend on the variants (`fixedParts`), so that the per-variant lambda
 * searches cost no O(N) work between the interpolation nodes.
 */
import { ArgumentError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import type { RotatedData } from '../nullmodel/lambda.js';
import { ChebGrid, fixedSeriesValues } from '../nullmodel/lambda-cheb.js';
import { LambdaProblem, lambdaWeights, type FixedMoments } from '../nullmodel/lambda-problem.js';
import { gridLambdas, type SearchSettings } from '../nullmodel/lambda-search.js';

/** One lambda of a batch product and the weights taken there: 1 (h), 2 (h, s h^2) or 3 (h, s h^2, s^2 h^3). */
export interface NodeSpec {
  lambda: number;
  types: 1 | 2 | 3;
}

/** The sums of `BatchSums.compute`: per variant of the group, per node column, per x pair. */
export interface NodeSums {
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
export class BatchSums {
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

/** The columns `cols` of `a`, in that order (a copy). */
function gather(a: Matrix, cols: number[]): Matrix {
  const out = new Matrix(a.rows, cols.length);
  const r = a.rows;
  cols.forEach((j, i) => {
    out.data.set(a.data.subarray(j * r, (j + 1) * r), i * r);
  });
  return out;
}

/**
 * The moments of the alternative problem at the grid lambdas (and at the
 * score test's lambda): the traces, log det H and the sums of the pairs
 * without x come from `FixedParts`, those with x for the whole batch from
 * `BatchSums` (with the unweighted sums, lambda = 0, in the same products);
 * `loadVariant(j)` copies variant j's into the moments.
 */
export class GridCache {
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
 * What does not depend on the tested variants, built once per scan (every
 * batch has the same rotated null data) and kept by its `ExactScan`: the
 * moments of the pairs without x, the traces and log det H at the grid
 * lambdas, and the interpolation grid with those series at its nodes.
 */
export interface FixedParts {
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

/** Widest interpolation piece in t = log lambda: one decade, GEMMA's default grid interval. */
const PIECE_WIDTH = Math.LN10 * (1 + 1e-9);

/** Builds the `FixedParts` of rotated null data (eigenvalues clamped) for the search settings and interpolation nodes. */
export function fixedParts(data: RotatedData, eigenvalues: Float64Array, settings: SearchSettings, nodes: number): FixedParts {
  // A problem of its own with x = 0 (variables w_0..w_{c-1}, x, y), so that the parts hold no variant of any batch.
  const c = data.utw.cols;
  const xi = c;
  const vars: Float64Array[] = [];
  for (let j = 0; j < c; j++) vars.push(data.utw.col(j));
  vars.push(new Float64Array(eigenvalues.length));
  vars.push(data.uty);
  const own = new LambdaProblem(eigenvalues, vars);
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
  // The pieces exist only with interpolation nodes (nodes > 0).
  const grid = (what: string): ChebGrid => {
    if (cheb === undefined) throw new ArgumentError(`fixedParts: ${what} needs interpolation nodes, but the parts were built with nodes = 0`);
    return cheb.grid;
  };
  const series = (i: number): Float64Array => {
    let v = seriesCache.get(i);
    if (v === undefined) {
      v = fixedSeriesValues(own, grid('series').lambdas(i), xi);
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
  const derive = (i: number): boolean => grid('derive').edges[i]! * sBar >= DERIVE_ABOVE;
  const pieceNodes = (i: number): NodeSpec[] => {
    const types = derive(i) ? 2 : 3;
    return Array.from(grid('pieceNodes').lambdas(i), (lambda) => ({ lambda, types }));
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
  return { moments, cheb, series, derive, pieceNodes, intervalPieces, weights, scratch };
}
