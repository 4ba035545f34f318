// Two components (one matrix + error) by one eigendecomposition, MM4LMM's
// joint-diagonalisation ('2Mat') programs. With K1 = Z1 R1 Z1' and K2 the
// error's N x N matrix, K2 = L L' and L^-1 K1 L^-T = Q diag(d) Q' give
// u = L^-T Q with u' K2 u = I and u' K1 u = diag(d), so in the rotated
// coordinates V = sigma2_1 diag(d) + sigma2_2 I is diagonal and an
// iteration costs O(N p^2).
//
// REML follows MM4LMM's 'Reml2Mat': the error variance is profiled out
// (sigma2_2 = y'P~y / (N - p) with V~ = delta D + I) and the ratio
// delta = sigma2_1 / sigma2_2 moves by the MM step of the profiled
// criterion, the positive root of
//   E C x^2 + B C delta^2 x - (N - p) B delta^2 = 0
// (B = e'De, E = e'e, e = P~y, C = tr(P~D)), which comes from the tangent
// bound of the log-determinants and the MM bound
// y'P~(x)y <= delta^2 B / x + E of the quadratic form. MM4LMM extrapolates
// delta from its *initial* value at every second step (its code never
// updates that anchor); we reproduce that to follow its iteration path, and
// the results are reported at the final delta, as MM4LMM does.
// ML follows 'ML2Mat': the plain MM update of both variances on the
// diagonal V, with MM4LMM's REML-style loop (see mm-common.ts).
import { ArgumentError, InputError, NotPositiveDefiniteError, NumericalError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { generalisedEigen } from '../linalg/generalised-eigen.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import {
  type GlsEval,
  LOG_2PI,
  type MmEval,
  type MmOptions,
  type ResolvedOptions,
  checkComponents,
  driveSquarem,
  fellBelow,
  requireFiniteVector,
  resolveOptions,
  runMmFit,
} from './mm-common.js';
import { fullMatrix } from './mm-dense.js';
import type { EngineFit, EngineOptions, VarComponent } from './types.js';

const WHO = 'mmRotated';

/** The rotation of a two-component model. */
export interface TwoRotation {
  /** d: the eigenvalues of K1 relative to K2 (ascending), length N. */
  eigenvalues: Float64Array;
  /** N x N; the rotated data are u' y and u' X (u = eigenvectors of K1 when K2 = I). */
  u: Matrix;
  /** log det K2 (0 when the error is the identity): pass it as `logDetError` to mmRotated. */
  logDetError: number;
}

/** Options of `mmRotated`: the engine options, plus log det K2 when the error is not I. */
export type RotatedOptions = MmOptions & {
  /** log det of the error's N x N matrix (rotateTwo's logDetError); default 0 (error = I). */
  logDetError?: number;
};

/**
 * Joint diagonalisation of the two components [K1-component, error]: the
 * generalised eigenproblem K1 u = d K2 u with K2 whitened by its Cholesky
 * factor (one eigendecomposition when the error is the identity).
 */
export function rotateTwo(components: VarComponent[], backend: Backend = getBackend()): TwoRotation {
  if (!Array.isArray(components) || components.length !== 2) {
    throw new ShapeError(`rotateTwo: needs exactly 2 components (a matrix and the error), found ${Array.isArray(components) ? components.length : 'none'}`);
  }
  const c0 = components[0]!;
  const n = c0.z !== undefined ? c0.z.rows : c0.r.rows;
  const comps = checkComponents('rotateTwo', components, n);
  const k1 = fullMatrix(backend, comps[0]!) ?? Matrix.identity(n);
  const k2 = fullMatrix(backend, comps[1]!);
  try {
    const { values, vectors, logdetB } = generalisedEigen(k1, k2, { whiten: 'cholesky', backend });
    return { eigenvalues: values, u: vectors, logDetError: logdetB };
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) {
      throw new NumericalError(`rotateTwo: the error matrix of component '${comps[1]!.name}' is not positive definite (leading minor of order ${e.minor})`);
    }
    throw e;
  }
}

/** Scratch space for one (N, p). */
interface Workspace {
  n: number;
  p: number;
  w: Float64Array;
  m: Float64Array;
  g: Float64Array;
  l: Float64Array;
  minv: Float64Array;
  b: Float64Array;
  beta: Float64Array;
  sums: Sums;
}

/**
 * What a run of `mmRotated` fits shares (a marker scan: the same uty and
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
    this.space = {
      n,
      p,
      w: new Float64Array(n),
      m: new Float64Array(p * p),
      g: new Float64Array(p * p),
      l: new Float64Array(p * p),
      minv: new Float64Array(p * p),
      b: new Float64Array(p),
      beta: new Float64Array(p),
      sums: { a: 0, logdetV: 0, logdetM: 0, b: 0, e: 0, c: 0, t: 0 },
    };
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

/** Result slots of one rotated evaluation (scalars; vectors live in the workspace). */
interface Sums {
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

/**
 * The GLS pass at weights w_i = 1/(s0 d_i + s1): fills M = X'WX, its
 * inverse and beta in the workspace, and returns y'Py-type sums. With
 * `reml`, also G = X'WDWX for the trace tr(P D). Returns false when V is
 * not positive definite.
 */
function glsPass(ws: Workspace, y: Float64Array, x: Float64Array, d: Float64Array, s0: number, s1: number, reml: boolean, out: Sums): boolean {
  const { n, p, w, m, g, l, minv, b, beta } = ws;
  m.fill(0);
  g.fill(0);
  b.fill(0);
  let yWy = 0;
  let sdw = 0;
  let sw = 0;
  let prod = 1;
  let logAcc = 0;
  if (p === 1) {
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
      const x0 = x[i]!;
      const wx0 = wi * x0;
      m00 += wx0 * x0;
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
      const x0 = x[i]!;
      const x1 = x[i + n]!;
      const wx0 = wi * x0;
      const wx1 = wi * x1;
      m00 += wx0 * x0;
      m10 += wx1 * x0;
      m11 += wx1 * x1;
      b0 += wx0 * yi;
      b1 += wx1 * yi;
      yWy += wi * yi * yi;
      sdw += di * wi;
      sw += wi;
      if (reml) {
        g00 += di * wx0 * wx0;
        g10 += di * wx1 * wx0;
        g11 += di * wx1 * wx1;
      }
    }
    m[0] = m00;
    m[1] = m10;
    m[3] = m11;
    g[0] = g00;
    g[1] = g10;
    g[3] = g11;
    b[0] = b0;
    b[1] = b1;
  } else {
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
        const wxa = wi * x[i + a * n]!;
        b[a]! += wxa * yi;
        for (let c = 0; c <= a; c++) {
          const xc = x[i + c * n]!;
          m[a + c * p]! += wxa * xc;
          if (reml) g[a + c * p]! += di * wi * wxa * xc;
        }
      }
    }
  }
  out.logdetV = logAcc + Math.log(prod);
  for (let i = 0; i < p * p; i++) {
    if (!Number.isFinite(m[i]!)) {
      const bad = firstNonFinite(x);
      throw new InputError(undefined, `${WHO}: utx has a non-finite value at row ${(bad % n) + 1}, column ${Math.floor(bad / n) + 1}`);
    }
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
  let a = yWy;
  for (let i = 0; i < p; i++) {
    let s = 0;
    for (let k = 0; k < p; k++) s += minv[i + k * p]! * b[k]!;
    beta[i] = s;
    a -= b[i]! * s;
  }
  // Second pass: e = W (y - X beta).
  let bq = 0;
  let eq = 0;
  if (p === 1) {
    const be0 = beta[0]!;
    for (let i = 0; i < n; i++) {
      const ei = w[i]! * (y[i]! - x[i]! * be0);
      const dei = d[i]! * ei;
      bq += dei * ei;
      eq += ei * ei;
    }
  } else if (p === 2) {
    const be0 = beta[0]!;
    const be1 = beta[1]!;
    for (let i = 0; i < n; i++) {
      const ei = w[i]! * (y[i]! - x[i]! * be0 - x[i + n]! * be1);
      const dei = d[i]! * ei;
      bq += dei * ei;
      eq += ei * ei;
    }
  } else {
    for (let i = 0; i < n; i++) {
      let r = y[i]!;
      for (let k = 0; k < p; k++) r -= x[i + k * n]! * beta[k]!;
      const ei = w[i]! * r;
      bq += d[i]! * ei * ei;
      eq += ei * ei;
    }
  }
  out.a = a;
  out.b = bq;
  out.e = eq;
  if (reml) {
    let tr = 0;
    for (let j = 0; j < p; j++) {
      tr += minv[j + j * p]! * g[j + j * p]!;
      for (let i = j + 1; i < p; i++) tr += 2 * minv[i + j * p]! * g[i + j * p]!;
    }
    out.c = sdw - tr;
    out.t = 0;
  } else {
    out.c = sdw;
    out.t = sw;
  }
  return true;
}

function firstNonFinite(a: Float64Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
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

/** The profiled REML MM step for delta (see the file comment). */
function deltaStep(delta: number, s: Sums, nmp: number): number {
  const num = 2 * nmp * s.b * delta * delta;
  if (num === 0) return 0;
  const bc = s.b * s.c * delta * delta;
  return num / (bc + Math.sqrt(bc * bc + 4 * nmp * s.e * bc));
}

/**
 * Fits the two variances of V = sigma2_1 diag(d) + sigma2_2 I in the
 * rotated coordinates (uty = u'y, utx = u'X, d = rotateTwo's eigenvalues).
 * O(N p^2) per iteration, no allocation per iteration. The default init is
 * var(uty)/2, which is NOT MM4LMM's var(y)/2: pass init for parity.
 * `workspace`: the run's scratch space (see `RotatedWorkspace`); pass the
 * same one to every fit of a scan, a fresh one is made per call otherwise.
 */
export function mmRotated(
  uty: Float64Array,
  utx: Matrix,
  eigenvalues: Float64Array,
  opts: EngineOptions,
  workspace: RotatedWorkspace = new RotatedWorkspace(),
): EngineFit {
  const n = uty.length;
  const p = utx.cols;
  if (eigenvalues.length !== n) throw new ShapeError(`${WHO}: ${eigenvalues.length} eigenvalues for ${n} rotated observations`);
  if (utx.rows !== n) throw new ShapeError(`${WHO}: Incompatible dimension between Y and X: uty has ${n} values but utx is ${utx.shape}`);
  if (p < 1 || p >= n) throw new ShapeError(`${WHO}: utx is ${utx.shape}: need 1 <= p < N fixed effects`);
  // uty and the eigenvalues are the same arrays for every marker of a run:
  // the workspace checks each array once. Non-finite utx values are caught
  // in the first GLS pass (they make X'WX non-finite).
  workspace.checkInputs(uty, eigenvalues);
  const xd = utx.data;
  const ropts = opts as RotatedOptions;
  const o = resolveOptions(ropts, 2, uty, WHO);
  const logDetError = ropts.logDetError ?? 0;
  if (!Number.isFinite(logDetError)) throw new ArgumentError(`${WHO}: logDetError must be finite, found ${logDetError}`);
  const ws = workspace.get(n, p);
  return o.method === 'reml' ? remlRotated(ws, uty, xd, eigenvalues, o, logDetError) : mlRotated(ws, uty, xd, eigenvalues, o, logDetError);
}

function notPd(s0: number, s1: number): NumericalError {
  return new NumericalError(`${WHO}: V = ${s0} D + ${s1} I is not positive definite (D has eigenvalues <= -${s1 / s0})`);
}

/** Profiled REML log-likelihood from the sums of an evaluation at delta. */
function profiledLogLik(s: Sums, nmp: number, logDetError: number): number {
  return -0.5 * (nmp * Math.log(s.a / nmp) + s.logdetM + s.logdetV + nmp + logDetError);
}

/** One profiled REML evaluation at delta (V~ = delta D + I) into `s`. */
function evalDelta(ws: Workspace, y: Float64Array, x: Float64Array, d: Float64Array, delta: number, s: Sums): void {
  if (!glsPass(ws, y, x, d, delta, 1, true, s)) throw notPd(delta, 1);
  if (!(s.a > 0)) throw new NumericalError(`${WHO}: y'Py = ${s.a} at delta = ${delta}`);
}

function remlRotated(ws: Workspace, y: Float64Array, x: Float64Array, d: Float64Array, o: ResolvedOptions, logDetError: number): EngineFit {
  const n = ws.n;
  const p = ws.p;
  const nmp = n - p;
  const s = ws.sums;
  let nbIt: number;
  let converged: boolean;
  let deltaFinal: number;
  if (o.accelerate) {
    // SQUAREM on delta; the step is measured on the variances (|delta step| x sigma2_2),
    // the units of critVar.
    const run = driveSquarem(
      Float64Array.of(o.init[0]! / o.init[1]!),
      (t: Float64Array): MmEval & { s2: number } => {
        evalDelta(ws, y, x, d, t[0]!, s);
        return { logLik: profiledLogLik(s, nmp, logDetError), next: Float64Array.of(deltaStep(t[0]!, s, nmp)), s2: s.a / nmp };
      },
      o,
      WHO,
      (t, st) => Math.abs(st.next[0]! - t[0]!) * st.s2,
    );
    nbIt = run.nbIt;
    converged = run.converged;
    deltaFinal = run.sigma[0]!;
  } else {
    // MM4LMM's Reml2Mat loop, on scalars.
    const { critVar, critLogLik, maxIter } = o;
    let dNew = o.init[0]! / o.init[1]!;
    const dAnc = dNew;
    let dOld = dNew;
    let dBis = dNew;
    let s0New = o.init[0]!;
    let s1New = o.init[1]!;
    let llPrev = 0;
    let crit = Infinity;
    let critLL = Infinity;
    let iter = 0;
    let it = 0;
    while (((crit > critVar || critLL > critLogLik) && iter < maxIter) || it === 0) {
      evalDelta(ws, y, x, d, dNew, s);
      let s0Old = s0New;
      let s1Old = s1New;
      dOld = dNew;
      dNew = deltaStep(dOld, s, nmp);
      s1New = s.a / nmp;
      s0New = dOld * s1New;
      let ll = profiledLogLik(s, nmp, logDetError);
      if (iter > 0 && fellBelow(ll, llPrev)) {
        dNew = dBis;
        evalDelta(ws, y, x, d, dNew, s);
        s0Old = s0New;
        s1Old = s1New;
        dOld = dNew;
        dNew = deltaStep(dOld, s, nmp);
        s1New = s.a / nmp;
        s0New = dOld * s1New;
        ll = profiledLogLik(s, nmp, logDetError);
      }
      if (!Number.isFinite(ll) || !Number.isFinite(dNew)) {
        throw new NumericalError(`${WHO}: the REML iteration broke down at delta = ${dOld} (log-likelihood ${ll})`);
      }
      it++;
      if (it === 2) {
        dBis = dNew;
        const r = dOld - dAnc;
        const v = dNew - dOld - r;
        let alpha = -Math.abs(r / v);
        if (!Number.isFinite(alpha)) alpha = -1;
        if (alpha > -1) alpha = -1;
        dNew = dAnc - 2 * alpha * r + alpha * alpha * v;
        if (!(dNew > 0)) dNew = v + r + dOld;
        it = 0;
      }
      crit = Math.max(Math.abs(s0New - s0Old), Math.abs(s1New - s1Old));
      if (iter > 0) critLL = ll - llPrev;
      llPrev = ll;
      iter++;
    }
    nbIt = iter;
    converged = !(crit > critVar || critLL > critLogLik);
    deltaFinal = dNew;
  }
  evalDelta(ws, y, x, d, deltaFinal, s);
  const s2 = s.a / nmp;
  const varBeta = new Matrix(p, p);
  for (let i = 0; i < p * p; i++) varBeta.data[i] = ws.minv[i]! * s2;
  return {
    sigma2: Float64Array.of(deltaFinal * s2, s2),
    beta: ws.beta.slice(),
    varBeta,
    logLik: profiledLogLik(s, nmp, logDetError),
    nbIt,
    converged,
  };
}

interface MlEval extends GlsEval {
  /** e'De and e'e at this point (the MM numerators). */
  quadD: number;
  quadI: number;
}

function mlRotated(ws: Workspace, y: Float64Array, x: Float64Array, d: Float64Array, o: ResolvedOptions, logDetError: number): EngineFit {
  const n = ws.n;
  const p = ws.p;
  const s = ws.sums;
  const evaluate = (sig: Float64Array, rejected?: MlEval): MlEval => {
    const s0 = sig[0]!;
    const s1 = sig[1]!;
    if (!glsPass(ws, y, x, d, s0, s1, false, s)) throw notPd(s0, s1);
    const logLik = -0.5 * (n * LOG_2PI + s.logdetV + s.a + logDetError);
    // MM4LMM quirk (ML2Mat): after a fall-back, its MM numerators still come
    // from the rejected point (a shadowed variable); the traces are the new ones.
    const qd = rejected?.quadD ?? s.b;
    const qi = rejected?.quadI ?? s.e;
    const next = Float64Array.of(s0 * Math.sqrt(qd / s.c), s1 * Math.sqrt(qi / s.t));
    return { logLik, next, beta: ws.beta.slice(), varBeta: new Matrix(p, p, ws.minv.slice()), quadD: s.b, quadI: s.e };
  };
  // MM4LMM's ML2Mat runs the REML-style loop.
  return runMmFit(o, evaluate, 'reml', WHO);
}
