// The general MM engine: V = sum_k sigma2_k Z_k R_k Z_k' formed densely
// (N x N) and factorised by the backend at every iteration, as MM4LMM's
// 'RemlMM' / 'MLMM' programs do. The MM update (Hunter & Lange 2004; Zhou
// et al. 2015) is
//   sigma2_k <- sigma2_k sqrt( (Py)' K_k (Py) / tr(P K_k) )      (REML)
// with V^-1 in place of P in the trace for ML (Py = V^-1 (y - X beta) in
// both). One component has a closed form (V = sigma2 K).
import { NotPositiveDefiniteError, NumericalError } from '../errors.js';
import { type Backend, logdetFromCholesky } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { symmetriseAverage, symmetriseFromLower } from '../linalg/small.js';
import { type CheckedComponent, type ComponentCache, type GlsEval, LOG_2PI, cachedForComponents, checkEngineInputs, runMmFit } from './mm-common.js';
import type { EngineFit, EngineOptions, VarComponent } from './types.js';

const WHO = 'mmDense';

const denseCache: ComponentCache<(Matrix | null)[]> = {};

/**
 * Fits sigma2 and beta by MM with V formed densely (MM4LMM's general
 * algorithm; with one component, the closed form). `opts.accelerate`
 * (default false) replaces MM4LMM's iteration path by SQUAREM with a
 * monotone safeguard.
 */
export function mmDense(y: Float64Array, x: Matrix, components: VarComponent[], opts: EngineOptions): EngineFit {
  const be = opts.backend ?? getBackend();
  const { comps, o } = checkEngineInputs(WHO, y, x, components, opts);
  if (comps.length === 1) return closedForm(be, y, x, comps[0]!, o.method);
  const mats = cachedForComponents(denseCache, be, comps, () => comps.map((c) => fullMatrix(be, c)));
  return runMmFit(o, denseEvaluator(be, y, x, mats, o.method), o.method, WHO);
}

/** Z R Z' as an N x N matrix, R itself when there is no Z, null for the identity. */
export function fullMatrix(be: Backend, c: CheckedComponent): Matrix | null {
  if (c.identity) return null;
  if (c.z === undefined) return c.r;
  const zr = be.gemm(c.z, c.r);
  const k = be.gemm(zr, c.z, { transB: true });
  symmetriseAverage(k);
  return k;
}

/** Cholesky with the failure reported in terms of the model (a NumericalError naming `who` and `what`). */
export function cholOrThrow(be: Backend, a: Matrix, what: string, sigma?: ArrayLike<number>, who = WHO): Matrix {
  try {
    return be.potrf(a);
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) {
      const at = sigma === undefined ? '' : ` at sigma2 = [${Array.from(sigma).join(', ')}]`;
      throw new NumericalError(`${who}: ${what}${at} is not positive definite (leading minor of order ${e.minor})`);
    }
    throw e;
  }
}

/** sum_ij A_ij B_ij = tr(A B) for symmetric A, B. */
export function traceOfProduct(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** GLS pieces shared by the dense evaluations: (X'V^-1X)^-1, beta, P y. */
function gls(be: Backend, y: Float64Array, x: Matrix, vinv: Matrix, sigma: ArrayLike<number>) {
  const vinvX = be.gemm(vinv, x);
  const xvx = be.gemm(x, vinvX, { transA: true });
  symmetriseFromLower(xvx);
  const lx = cholOrThrow(be, xvx, "X'V^-1X", sigma);
  const logdetXvx = logdetFromCholesky(lx);
  const varBeta = be.potri(lx);
  const beta = be.gemv(varBeta, be.gemv(vinvX, y, { trans: true }));
  const r = y.slice();
  be.gemv(x, beta, { alpha: -1, beta: 1, y: r });
  const py = be.gemv(vinv, r);
  return { vinvX, logdetXvx, varBeta, beta, r, py };
}

function denseEvaluator(be: Backend, y: Float64Array, x: Matrix, mats: (Matrix | null)[], method: 'reml' | 'ml') {
  const n = y.length;
  const nc = mats.length;
  const v = new Matrix(n, n);
  return (sigma: Float64Array): GlsEval => {
    const vd = v.data;
    vd.fill(0);
    for (const [k, m] of mats.entries()) {
      const s = sigma[k]!;
      if (m === null) {
        for (let i = 0; i < n; i++) vd[i + i * n]! += s;
      } else {
        const md = m.data;
        for (let i = 0; i < md.length; i++) vd[i]! += s * md[i]!;
      }
    }
    const l = cholOrThrow(be, v, 'V', sigma);
    const logdetV = logdetFromCholesky(l);
    const vinv = be.potri(l);
    const g = gls(be, y, x, vinv, sigma);
    const yPy = dot(g.r, g.py);
    const logLik = method === 'reml' ? -0.5 * (logdetV + g.logdetXvx + yPy) : -0.5 * (n * LOG_2PI + logdetV + yPy);
    const next = new Float64Array(nc);
    for (const [k, m] of mats.entries()) {
      let quad: number;
      let tr: number;
      let kvx: Matrix;
      if (m === null) {
        quad = dot(g.py, g.py);
        tr = 0;
        for (let i = 0; i < n; i++) tr += vinv.data[i + i * n]!;
        kvx = g.vinvX;
      } else {
        quad = dot(g.py, be.gemv(m, g.py));
        tr = traceOfProduct(vinv.data, m.data);
        kvx = method === 'reml' ? be.gemm(m, g.vinvX) : g.vinvX;
      }
      if (method === 'reml') {
        const xkx = be.gemm(g.vinvX, kvx, { transA: true });
        tr -= traceOfProduct(g.varBeta.data, xkx.data);
      }
      next[k] = sigma[k]! * Math.sqrt(quad / tr);
    }
    return { logLik, next, beta: g.beta, varBeta: g.varBeta };
  };
}

/**
 * One component, V = sigma2 K: sigma2 = r'K^-1 r / (N - p) (REML) or / N
 * (ML) at the GLS beta, which does not depend on sigma2.
 */
function closedForm(be: Backend, y: Float64Array, x: Matrix, c: CheckedComponent, method: 'reml' | 'ml'): EngineFit {
  const n = y.length;
  const p = x.cols;
  const k = fullMatrix(be, c) ?? Matrix.identity(n);
  const l = cholOrThrow(be, k, `the covariance of component '${c.name}'`);
  const logdetK = logdetFromCholesky(l);
  const kiX = be.potrs(l, x);
  const xkx = be.gemm(x, kiX, { transA: true });
  symmetriseFromLower(xkx);
  const lx = cholOrThrow(be, xkx, "X'K^-1X");
  const logdetXkx = logdetFromCholesky(lx);
  const xkxInv = be.potri(lx);
  const beta = be.gemv(xkxInv, be.gemv(kiX, y, { trans: true }));
  const r = y.slice();
  be.gemv(x, beta, { alpha: -1, beta: 1, y: r });
  const kir = be.potrs(l, new Matrix(n, 1, r.slice())).data;
  const q = dot(r, kir);
  const df = method === 'reml' ? n - p : n;
  const s = q / df;
  if (!(s > 0)) throw new NumericalError(`${WHO}: the residual sum of squares is ${q}: sigma2 would be ${s}`);
  const logLik = method === 'reml' ? -0.5 * (df * Math.log(s) + logdetK + logdetXkx + df) : -0.5 * (n * LOG_2PI + n * Math.log(s) + logdetK + n);
  const varBeta = new Matrix(
    p,
    p,
    xkxInv.data.map((v) => v * s),
  );
  return { sigma2: Float64Array.of(s), beta, varBeta, logLik, nbIt: 1, converged: true };
}
