// The GLS pass of the two-component engine on rotated data (V = s0 D + s1 I
// diagonal), and the profiled REML pieces built on it: what one evaluation
// of MM4LMM's 'Reml2Mat' / 'ML2Mat' programs costs, O(N p^2).
//
// A model's p design columns come from two places, so that a marker scan
// never copies the columns its models share: the first `pa` columns are the
// shared ones (`xa`, column a at a * N), the others the model's own (`xb`
// from `xbOff`, N apart). Every model is evaluated by the same arithmetic in
// the same order whatever the split, so a model scanned in a batch gets the
// very bits it gets fitted alone.
import { InputError, NumericalError } from '../errors.js';
import { requireFiniteVector } from './mm-common.js';

/** The name rotated-engine errors carry (the public entry point). */
export const WHO = 'mmRotated';

/**
 * What a GLS pass computes beyond beta, (X'WX)^-1 and y'Py: 'reml' (profiled
 * REML: also B = e'De, E = e'e and C = tr(P~D) for the MM step), 'ml' (also
 * e'De, e'e, tr(WD) and tr(W)), or 'final' (nothing more: what a fit reports
 * at its final point).
 */
export type GlsMode = 'reml' | 'ml' | 'final';

/** Result slots of one rotated evaluation (scalars; vectors live in the workspace). */
export interface Sums {
  /** y'P~y (REML profiled) or r'V^-1 r (ML). */
  a: number;
  logdetV: number;
  logdetM: number;
  /** REML: B = e'De, E = e'e, C = tr(P~D). ML: quadD, quadI, trD, trI. */
  b: number;
  e: number;
  c: number;
  t: number;
}

/** Scratch space for one (N, p). */
export interface Workspace {
  n: number;
  p: number;
  w: Float64Array;
  m: Float64Array;
  g: Float64Array;
  l: Float64Array;
  minv: Float64Array;
  b: Float64Array;
  beta: Float64Array;
  /** Per design column: its array and the offset of its first row (p >= 3 only). */
  colArr: Float64Array[];
  colOff: Int32Array;
  /** y'Wy, sum d_i w_i and sum w_i of the last pass. */
  yWy: number;
  sdw: number;
  sw: number;
  sums: Sums;
}

/** A workspace for (n, p). */
export function makeWorkspace(n: number, p: number): Workspace {
  return {
    n,
    p,
    w: new Float64Array(n),
    m: new Float64Array(p * p),
    g: new Float64Array(p * p),
    l: new Float64Array(p * p),
    minv: new Float64Array(p * p),
    b: new Float64Array(p),
    beta: new Float64Array(p),
    colArr: new Array<Float64Array>(p),
    colOff: new Int32Array(p),
    yWy: 0,
    sdw: 0,
    sw: 0,
    sums: { a: 0, logdetV: 0, logdetM: 0, b: 0, e: 0, c: 0, t: 0 },
  };
}

/**
 * What a run of rotated fits shares (a marker scan: the same uty and
 * eigenvalues for every marker): the scratch space of the last (N, p) and
 * the input arrays already checked, so that each is checked once. Owned by
 * the run that makes the fits (one per `MmEstRun`, one per worker job);
 * never share one between runs that may interleave.
 */
export class RotatedWorkspace {
  private space: Workspace | undefined;
  private checkedY: Float64Array | undefined;
  private checkedD: Float64Array | undefined;

  /** The scratch space for (n, p), reused when the last one had that size. */
  get(n: number, p: number): Workspace {
    const ws = this.space;
    if (ws !== undefined && ws.n === n && ws.p === p) return ws;
    this.space = makeWorkspace(n, p);
    return this.space;
  }

  /** Checks that uty and the eigenvalues are finite, unless these very arrays were checked before. */
  checkInputs(uty: Float64Array, eigenvalues: Float64Array): void {
    if (uty !== this.checkedY) {
      requireFiniteVector(WHO, 'uty', uty);
      this.checkedY = uty;
    }
    if (eigenvalues !== this.checkedD) {
      requireFiniteVector(WHO, 'the eigenvalues', eigenvalues);
      this.checkedD = eigenvalues;
    }
  }
}

/**
 * The GLS pass at weights w_i = 1/(s0 d_i + s1) for the design whose first
 * `pa` columns are xa's and the other ws.p - pa are xb's from `xbOff`: fills
 * M = X'WX, its inverse and beta in the workspace, and returns y'Py-type
 * sums (see `GlsMode`; REML also forms G = X'WDWX for the trace tr(P D)).
 * Returns false when V is not positive definite.
 */
export function glsPass(
  ws: Workspace,
  y: Float64Array,
  xa: Float64Array,
  pa: number,
  xb: Float64Array,
  xbOff: number,
  d: Float64Array,
  s0: number,
  s1: number,
  mode: GlsMode,
  out: Sums,
): boolean {
  if (!glsSums(ws, y, xa, pa, xb, xbOff, d, s0, s1, mode, out)) return false;
  glsSolve(ws, y, xa, pa, xb, xbOff, d, ws.w, mode, out);
  return true;
}

/**
 * The weighted sums of a GLS pass: w into ws.w, M = X'WX, X'Wy (and G with
 * 'reml') into the workspace, y'Wy, sum d w and sum w into ws.yWy, ws.sdw,
 * ws.sw, log det V into out. False when V is not positive definite.
 */
function glsSums(
  ws: Workspace,
  y: Float64Array,
  xa: Float64Array,
  pa: number,
  xb: Float64Array,
  xbOff: number,
  d: Float64Array,
  s0: number,
  s1: number,
  mode: GlsMode,
  out: Sums,
): boolean {
  const { n, p, w, m, g, b } = ws;
  const reml = mode === 'reml';
  // Columns 0 and 1 resolved once (p <= 2 loops read them directly).
  const x0 = pa > 0 ? xa : xb;
  const o0 = pa > 0 ? 0 : xbOff;
  const x1 = pa > 1 ? xa : xb;
  const o1 = pa > 1 ? n : xbOff + (1 - pa) * n;
  m.fill(0);
  g.fill(0);
  b.fill(0);
  let yWy = 0;
  let sdw = 0;
  let sw = 0;
  let prod = 1;
  let logAcc = 0;
  if (p === 2 && reml) {
    // The marker scan's case (intercept + marker, REML), its own loop: no sum w, no branch on the mode.
    let m00 = 0;
    let m10 = 0;
    let m11 = 0;
    let g00 = 0;
    let g10 = 0;
    let g11 = 0;
    let b0 = 0;
    let b1 = 0;
    for (let i = 0; i < n; i++) {
      const di = d[i]!;
      const v = s0 * di + s1;
      if (!(v > 0)) return false;
      prod *= v;
      if (prod > 1e150 || prod < 1e-150) {
        logAcc += Math.log(prod);
        prod = 1;
      }
      const wi = 1 / v;
      w[i] = wi;
      const yi = y[i]!;
      const xi0 = x0[o0 + i]!;
      const xi1 = x1[o1 + i]!;
      const wx0 = wi * xi0;
      const wx1 = wi * xi1;
      m00 += wx0 * xi0;
      m10 += wx1 * xi0;
      m11 += wx1 * xi1;
      b0 += wx0 * yi;
      b1 += wx1 * yi;
      yWy += wi * yi * yi;
      sdw += di * wi;
      g00 += di * wx0 * wx0;
      g10 += di * wx1 * wx0;
      g11 += di * wx1 * wx1;
    }
    m[0] = m00;
    m[1] = m10;
    m[3] = m11;
    g[0] = g00;
    g[1] = g10;
    g[3] = g11;
    b[0] = b0;
    b[1] = b1;
  } else if (p === 1) {
    let m00 = 0;
    let g00 = 0;
    let b0 = 0;
    for (let i = 0; i < n; i++) {
      const di = d[i]!;
      const v = s0 * di + s1;
      if (!(v > 0)) return false;
      prod *= v;
      if (prod > 1e150 || prod < 1e-150) {
        logAcc += Math.log(prod);
        prod = 1;
      }
      const wi = 1 / v;
      w[i] = wi;
      const yi = y[i]!;
      const xi0 = x0[o0 + i]!;
      const wx0 = wi * xi0;
      m00 += wx0 * xi0;
      b0 += wx0 * yi;
      yWy += wi * yi * yi;
      sdw += di * wi;
      sw += wi;
      if (reml) g00 += di * wx0 * wx0;
    }
    m[0] = m00;
    g[0] = g00;
    b[0] = b0;
  } else if (p === 2) {
    let m00 = 0;
    let m10 = 0;
    let m11 = 0;
    let b0 = 0;
    let b1 = 0;
    for (let i = 0; i < n; i++) {
      const di = d[i]!;
      const v = s0 * di + s1;
      if (!(v > 0)) return false;
      prod *= v;
      if (prod > 1e150 || prod < 1e-150) {
        logAcc += Math.log(prod);
        prod = 1;
      }
      const wi = 1 / v;
      w[i] = wi;
      const yi = y[i]!;
      const xi0 = x0[o0 + i]!;
      const xi1 = x1[o1 + i]!;
      const wx0 = wi * xi0;
      const wx1 = wi * xi1;
      m00 += wx0 * xi0;
      m10 += wx1 * xi0;
      m11 += wx1 * xi1;
      b0 += wx0 * yi;
      b1 += wx1 * yi;
      yWy += wi * yi * yi;
      sdw += di * wi;
      sw += wi;
    }
    m[0] = m00;
    m[1] = m10;
    m[3] = m11;
    b[0] = b0;
    b[1] = b1;
  } else {
    const { colArr, colOff } = ws;
    for (let a = 0; a < p; a++) {
      colArr[a] = a < pa ? xa : xb;
      colOff[a] = a < pa ? a * n : xbOff + (a - pa) * n;
    }
    for (let i = 0; i < n; i++) {
      const di = d[i]!;
      const v = s0 * di + s1;
      if (!(v > 0)) return false;
      prod *= v;
      if (prod > 1e150 || prod < 1e-150) {
        logAcc += Math.log(prod);
        prod = 1;
      }
      const wi = 1 / v;
      w[i] = wi;
      const yi = y[i]!;
      yWy += wi * yi * yi;
      sdw += di * wi;
      sw += wi;
      for (let a = 0; a < p; a++) {
        const wxa = wi * colArr[a]![colOff[a]! + i]!;
        b[a]! += wxa * yi;
        for (let c = 0; c <= a; c++) {
          const xc = colArr[c]![colOff[c]! + i]!;
          m[a + c * p]! += wxa * xc;
          if (reml) g[a + c * p]! += di * wi * wxa * xc;
        }
      }
    }
  }
  out.logdetV = logAcc + Math.log(prod);
  ws.yWy = yWy;
  ws.sdw = sdw;
  ws.sw = sw;
  return true;
}

/**
 * The sums of the first evaluation of a scan, at one start shared by every
 * model whose first column is the shared x0 and whose second is its own
 * (REML, p = 2): what does not depend on the model, once. The per-model
 * rest is `markerSums`; together they give glsSums' bits.
 */
export interface SharedStart {
  w: Float64Array;
  /** w_i x0_i. */
  wx0: Float64Array;
  m00: number;
  b0: number;
  g00: number;
  yWy: number;
  sdw: number;
  logdetV: number;
}

/** `SharedStart` at V~ = s0 D + s1 I; undefined when V is not positive definite. */
export function sharedStart(y: Float64Array, x0: Float64Array, d: Float64Array, s0: number, s1: number): SharedStart | undefined {
  const n = y.length;
  const w = new Float64Array(n);
  const wx0a = new Float64Array(n);
  let m00 = 0;
  let g00 = 0;
  let b0 = 0;
  let yWy = 0;
  let sdw = 0;
  let prod = 1;
  let logAcc = 0;
  for (let i = 0; i < n; i++) {
    const di = d[i]!;
    const v = s0 * di + s1;
    if (!(v > 0)) return undefined;
    prod *= v;
    if (prod > 1e150 || prod < 1e-150) {
      logAcc += Math.log(prod);
      prod = 1;
    }
    const wi = 1 / v;
    w[i] = wi;
    const yi = y[i]!;
    const xi0 = x0[i]!;
    const wx0 = wi * xi0;
    wx0a[i] = wx0;
    m00 += wx0 * xi0;
    b0 += wx0 * yi;
    yWy += wi * yi * yi;
    sdw += di * wi;
    g00 += di * wx0 * wx0;
  }
  return { w, wx0: wx0a, m00, b0, g00, yWy, sdw, logdetV: logAcc + Math.log(prod) };
}

/**
 * A model's first evaluation from the shared start (its column 1 at
 * x1[o1 ..]): glsSums' per-model sums, then the solve, as glsPass with mode
 * 'reml' would give them.
 */
export function markerPass(ws: Workspace, y: Float64Array, x0: Float64Array, x1: Float64Array, o1: number, d: Float64Array, st: SharedStart, out: Sums): void {
  const { n, m, g, b } = ws;
  const { w, wx0: wx0a } = st;
  let m10 = 0;
  let m11 = 0;
  let g10 = 0;
  let g11 = 0;
  let b1 = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    const xi1 = x1[o1 + i]!;
    const wx1 = wi * xi1;
    const dwx1 = d[i]! * wx1;
    m10 += wx1 * x0[i]!;
    m11 += wx1 * xi1;
    b1 += wx1 * y[i]!;
    g10 += dwx1 * wx0a[i]!;
    g11 += dwx1 * wx1;
  }
  m[0] = st.m00;
  m[1] = m10;
  m[2] = 0;
  m[3] = m11;
  g[0] = st.g00;
  g[1] = g10;
  g[2] = 0;
  g[3] = g11;
  b[0] = st.b0;
  b[1] = b1;
  ws.yWy = st.yWy;
  ws.sdw = st.sdw;
  ws.sw = 0;
  out.logdetV = st.logdetV;
  glsSolve(ws, y, x0, 1, x1, o1, d, w, 'reml', out);
}

/**
 * The rest of a GLS pass from its sums (weights `w`): the Cholesky factor of
 * M, its inverse and log-determinant, beta and y'Py, then with 'reml' or
 * 'ml' the second pass over e = W (y - X beta) and the traces.
 */
function glsSolve(
  ws: Workspace,
  y: Float64Array,
  xa: Float64Array,
  pa: number,
  xb: Float64Array,
  xbOff: number,
  d: Float64Array,
  w: Float64Array,
  mode: GlsMode,
  out: Sums,
): void {
  glsSmall(ws, xa, pa, xb, xbOff, out);
  if (mode === 'final') return;
  const { n, p, beta } = ws;
  // Second pass: e = W (y - X beta).
  const x0 = pa > 0 ? xa : xb;
  const o0 = pa > 0 ? 0 : xbOff;
  const x1 = pa > 1 ? xa : xb;
  const o1 = pa > 1 ? n : xbOff + (1 - pa) * n;
  let bq = 0;
  let eq = 0;
  if (p === 1) {
    const be0 = beta[0]!;
    for (let i = 0; i < n; i++) {
      const ei = w[i]! * (y[i]! - x0[o0 + i]! * be0);
      const dei = d[i]! * ei;
      bq += dei * ei;
      eq += ei * ei;
    }
  } else if (p === 2) {
    const be0 = beta[0]!;
    const be1 = beta[1]!;
    for (let i = 0; i < n; i++) {
      const ei = w[i]! * (y[i]! - x0[o0 + i]! * be0 - x1[o1 + i]! * be1);
      const dei = d[i]! * ei;
      bq += dei * ei;
      eq += ei * ei;
    }
  } else {
    const { colArr, colOff } = ws;
    for (let i = 0; i < n; i++) {
      let r = y[i]!;
      for (let k = 0; k < p; k++) r -= colArr[k]![colOff[k]! + i]! * beta[k]!;
      const ei = w[i]! * r;
      bq += d[i]! * ei * ei;
      eq += ei * ei;
    }
  }
  out.b = bq;
  out.e = eq;
  if (mode === 'reml') {
    out.c = remlTrace(ws);
    out.t = 0;
  } else {
    out.c = ws.sdw;
    out.t = ws.sw;
  }
}

/**
 * The p x p part of a GLS pass from the sums in the workspace (M = X'WX,
 * b = X'Wy, y'Wy): M's Cholesky factor, M^-1 into ws.minv and its
 * log-determinant, beta = M^-1 b into ws.beta, and y'Py = y'Wy - b'beta into
 * out.a. Throws when M is not finite (naming the design's first non-finite
 * value: columns xa's first pa, then xb's from xbOff) or not positive definite.
 */
export function glsSmall(ws: Workspace, xa: Float64Array, pa: number, xb: Float64Array, xbOff: number, out: Sums): void {
  const { n, p, m, l, minv, b, beta } = ws;
  for (let i = 0; i < p * p; i++) {
    if (!Number.isFinite(m[i]!)) throw nonFiniteDesign(n, p, xa, pa, xb, xbOff);
  }
  // Cholesky of the p x p M (lower), its inverse and beta.
  let logdetM = 0;
  for (let j = 0; j < p; j++) {
    let s = m[j + j * p]!;
    for (let k = 0; k < j; k++) s -= l[j + k * p]! * l[j + k * p]!;
    if (!(s > 0)) {
      throw new NumericalError(`${WHO}: X'V^-1X is singular (the ${p} fixed-effect columns are collinear on these samples)`);
    }
    const ljj = Math.sqrt(s);
    l[j + j * p] = ljj;
    logdetM += Math.log(s);
    for (let i = j + 1; i < p; i++) {
      let t = m[i + j * p]!;
      for (let k = 0; k < j; k++) t -= l[i + k * p]! * l[j + k * p]!;
      l[i + j * p] = t / ljj;
    }
  }
  out.logdetM = logdetM;
  spdInverseFromChol(l, p, minv);
  let a = ws.yWy;
  for (let i = 0; i < p; i++) {
    let s = 0;
    for (let k = 0; k < p; k++) s += minv[i + k * p]! * b[k]!;
    beta[i] = s;
    a -= b[i]! * s;
  }
  out.a = a;
}

/** REML's C = tr(P~D) = sum d_i w_i - tr(M^-1 G) of the workspace's last pass (G = X'WDWX). */
export function remlTrace(ws: Workspace): number {
  const { p, minv, g } = ws;
  let tr = 0;
  for (let j = 0; j < p; j++) {
    tr += minv[j + j * p]! * g[j + j * p]!;
    for (let i = j + 1; i < p; i++) tr += 2 * minv[i + j * p]! * g[i + j * p]!;
  }
  return ws.sdw - tr;
}

/** The error for a design with a non-finite value, naming its first one (row and column of utx, from 1). */
function nonFiniteDesign(n: number, p: number, xa: Float64Array, pa: number, xb: Float64Array, xbOff: number): InputError {
  for (let a = 0; a < p; a++) {
    for (let i = 0; i < n; i++) {
      const v = a < pa ? xa[a * n + i]! : xb[xbOff + (a - pa) * n + i]!;
      if (!Number.isFinite(v)) return new InputError(undefined, `${WHO}: utx has a non-finite value at row ${i + 1}, column ${a + 1}`);
    }
  }
  return new InputError(undefined, `${WHO}: X'V^-1X is not finite (utx has values too large to square)`);
}

/** Full inverse of L L' (p x p, column-major lower L) into `out`. */
function spdInverseFromChol(l: Float64Array, p: number, out: Float64Array): void {
  if (p === 1) {
    out[0] = 1 / (l[0]! * l[0]!);
    return;
  }
  if (p === 2) {
    const l00 = l[0]!;
    const l10 = l[1]!;
    const l11 = l[3]!;
    // M = [[a, b], [b, c]] with a = l00^2, b = l10 l00, c = l10^2 + l11^2.
    const det = l00 * l00 * l11 * l11;
    const a = l00 * l00;
    const b = l10 * l00;
    const c = l10 * l10 + l11 * l11;
    out[0] = c / det;
    out[1] = -b / det;
    out[2] = -b / det;
    out[3] = a / det;
    return;
  }
  for (let col = 0; col < p; col++) {
    // Solve L z = e_col, then L' x = z.
    for (let i = 0; i < p; i++) {
      let s = i === col ? 1 : 0;
      for (let k = 0; k < i; k++) s -= l[i + k * p]! * out[k + col * p]!;
      out[i + col * p] = s / l[i + i * p]!;
    }
    for (let i = p - 1; i >= 0; i--) {
      let s = out[i + col * p]!;
      for (let k = i + 1; k < p; k++) s -= l[k + i * p]! * out[k + col * p]!;
      out[i + col * p] = s / l[i + i * p]!;
    }
  }
}

/** The profiled REML MM step for delta (the positive root in mm-eigen.ts's file comment). */
export function deltaStep(delta: number, s: Sums, nmp: number): number {
  const num = 2 * nmp * s.b * delta * delta;
  if (num === 0) return 0;
  const bc = s.b * s.c * delta * delta;
  return num / (bc + Math.sqrt(bc * bc + 4 * nmp * s.e * bc));
}

/** The error for a V that is not positive definite. */
export function notPd(s0: number, s1: number): NumericalError {
  return new NumericalError(`${WHO}: V = ${s0} D + ${s1} I is not positive definite (D has eigenvalues <= -${s1 / s0})`);
}

/** Profiled REML log-likelihood from the sums of an evaluation at delta. */
export function profiledLogLik(s: Sums, nmp: number, logDetError: number): number {
  return -0.5 * (nmp * Math.log(s.a / nmp) + s.logdetM + s.logdetV + nmp + logDetError);
}

/** One profiled REML evaluation at delta (V~ = delta D + I) into `s`. */
export function evalDelta(
  ws: Workspace,
  y: Float64Array,
  xa: Float64Array,
  pa: number,
  xb: Float64Array,
  xbOff: number,
  d: Float64Array,
  delta: number,
  mode: GlsMode,
  s: Sums,
): void {
  if (!glsPass(ws, y, xa, pa, xb, xbOff, d, delta, 1, mode, s)) throw notPd(delta, 1);
  requirePositiveYPy(s, delta);
}

/** Profiled REML needs y'P~y > 0. */
export function requirePositiveYPy(s: Sums, delta: number): void {
  if (!(s.a > 0)) throw new NumericalError(`${WHO}: y'Py = ${s.a} at delta = ${delta}`);
}
