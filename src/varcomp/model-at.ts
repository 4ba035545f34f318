import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { symmetriseFromLower } from '../linalg/small.js';
import { checkComponents, LOG_2PI } from './mm-common.js';
import { cholOrThrow, fullMatrix } from './mm-dense.js';
import type { VarComponent, VarMethod } from './types.js';

/** A mixed model evaluated at given variances (dense N x N quantities). */
export interface ModelAt {
  /** The N x N covariance matrices K_k = Z_k R_k Z_k' of the components (null: the identity). */
  k: (Matrix | null)[];
  /** V = sum_k sigma2_k K_k. */
  v: Matrix;
  /** V^-1. */
  vInv: Matrix;
  /** GLS estimate (X' V^-1 X)^-1 X' V^-1 y. */
  beta: Float64Array;
  /** (X' V^-1 X)^-1, p x p. */
  varBeta: Matrix;
  /** P = V^-1 - V^-1 X (X' V^-1 X)^-1 X' V^-1, the REML projection. */
  p: Matrix;
  /** V^-1 (y - X beta) = P y. */
  py: Float64Array;
  /** Log-likelihood with MM4LMM's convention (REML without its 2 pi constant; ML with it). */
  logLik: number;
}

/**
 * Evaluates the model Y = X b + sum_k Z_k u_k at given variances `sigma2`
 * (no fitting): V, V^-1, the GLS beta and its covariance, the REML projection
 * P and P y, and the log-likelihood. O(N^3) on the backend. This is what the
 * inference after a fit needs (AnovaTest, Kenward-Roger, MMBlup, MMVcov),
 * whether at lmmkit's own estimates or at a reference's.
 */
export function modelAt(
  y: ArrayLike<number>,
  x: Matrix,
  components: readonly VarComponent[],
  sigma2: ArrayLike<number>,
  method: VarMethod = 'reml',
  backend: Backend = getBackend(),
): ModelAt {
  const n = y.length;
  const comps = checkComponents('modelAt', components, n);
  if (sigma2.length !== comps.length) throw new RangeError(`modelAt: ${sigma2.length} variances for ${comps.length} components`);
  const k = comps.map((c) => fullMatrix(backend, c));
  const v = covarianceSum(k, sigma2, n);
  const l = cholOrThrow(backend, v, 'V', sigma2, 'modelAt');
  let logdetV = 0;
  for (let i = 0; i < n; i++) logdetV += 2 * Math.log(l.data[i + i * n]!);
  const vInv = backend.potri(l);
  const vx = backend.gemm(vInv, x);
  const xvx = backend.gemm(x, vx, { transA: true });
  symmetriseFromLower(xvx);
  const lx = cholOrThrow(backend, xvx, "X' V^-1 X", sigma2, 'modelAt');
  let logdetXvx = 0;
  for (let i = 0; i < x.cols; i++) logdetXvx += 2 * Math.log(lx.data[i + i * x.cols]!);
  const varBeta = backend.potri(lx);
  const yv = Matrix.column(Float64Array.from(y));
  const beta = backend.gemm(varBeta, backend.gemm(vx, yv, { transA: true })).data;
  // P = V^-1 - V^-1 X varBeta X' V^-1
  const p = vInv.clone();
  const t = backend.gemm(vx, varBeta);
  backend.gemm(t, vx, { transB: true, alpha: -1, beta: 1, c: p });
  const py = backend.gemv(p, yv.data);
  let ypy = 0;
  for (let i = 0; i < n; i++) ypy += y[i]! * py[i]!;
  const logLik = method === 'reml' ? -0.5 * (logdetV + logdetXvx + ypy) : -0.5 * (n * LOG_2PI + logdetV + ypy);
  return { k, v, vInv, beta, varBeta, p, py, logLik };
}

/**
 * V = sum_k sigma2_k K_k as a new N x N matrix, from the components'
 * N x N matrices `k` (as `fullMatrix` gives them: null for the identity,
 * which adds sigma2_k on the diagonal) and one variance per component.
 * O(N^2) per component; no checks.
 */
export function covarianceSum(k: readonly (Matrix | null)[], sigma2: ArrayLike<number>, n: number): Matrix {
  const v = new Matrix(n, n);
  k.forEach((kk, j) => {
    const s = sigma2[j]!;
    if (kk === null) for (let i = 0; i < n; i++) v.data[i + i * n]! += s;
    else for (let i = 0; i < v.data.length; i++) v.data[i]! += s * kk.data[i]!;
  });
  return v;
}
