// The MM algorithm on Henderson's mixed-model equations (MM4LMM's
// 'RemlMMHen' / 'RemlMMHenDiag'), for models with incidence matrices:
// y = X b + sum_k Z_k u_k + e, u_k ~ N(0, s_k R_k), e ~ N(0, s_e R) with
// R = Z_e R_e Z_e' the error's N x N matrix. With Gamma = blockdiag(s_k/s_e
// R_k) and W = [Z_1 .. Z_K | X] (random effects first), the MME
//   C = W'R^-1W + blockdiag(Gamma^-1, 0)            (q + p square)
// is factorised by the backend at every iteration; R_k^-1 and R^-1 are
// computed once. With [u; b] = C^-1 W'R^-1 y, eps = R^-1 (y - W [u; b]) and
// C^kk the diagonal blocks of C^-1 (Henderson 1984; Johnson & Thompson 1995):
//   P y = eps / s_e, Z_k'P y = R_k^-1 u_k / s_k,
//   tr(P Z_k R_k Z_k') = (q_k - (s_e/s_k) tr(R_k^-1 C^kk)) / s_k,
//   tr(P R) = (N - p - sum_k (q_k - (s_e/s_k) tr(R_k^-1 C^kk))) / s_e,
//   log|V| + log|X'V^-1X| = log|C| + log|R| + sum_k (log|R_k| + q_k log(s_k/s_e)) + (N - p) log s_e,
//   (X'V^-1X)^-1 = s_e C^xx.
// For ML (which MM4LMM never runs on the MME) the same identities hold with
// T = (W_z'R^-1W_z + Gamma^-1)^-1, the inverse of the leading q x q block
// of C, in place of C^-1's blocks, and log|V| uses log|C_zz| and N log s_e.
import { NumericalError } from '../errors.js';
import { type Backend, logdetFromCholesky } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { symmetriseFromLower, symmetriseFromUpper } from '../linalg/small.js';
import { type CheckedComponent, type ComponentCache, type GlsEval, LOG_2PI, cachedForComponents, checkEngineInputs, runMmFit } from './mm-common.js';
import { cholOrThrow, fullMatrix, mmDense } from './mm-dense.js';
import type { EngineFit, EngineOptions, VarComponent } from './types.js';

const WHO = 'mmHenderson';

/**
 * Fits sigma2 and beta by MM on Henderson's mixed-model equations; the last
 * component is the error. Cost per iteration O((q + p)^3) with
 * q = sum_k q_k (error excluded) instead of O(N^3). REML as MM4LMM; ML too
 * (MM4LMM has no Henderson ML; ours agrees with mmDense).
 */
export function mmHenderson(y: Float64Array, x: Matrix, components: VarComponent[], opts: EngineOptions): EngineFit {
  const be = opts.backend ?? getBackend();
  const { comps, o } = checkEngineInputs(WHO, y, x, components, opts);
  if (comps.length === 1) return mmDense(y, x, components, opts);
  const n = y.length;
  const p = x.cols;
  const nr = comps.length - 1;

  const prep = cachedForComponents(henCache, be, comps, () => prepare(be, comps, n));
  const { err, logdetR, ginv, logdetG, off, qs, q, wz, rinvWz, ztrz } = prep;
  const m = q + p;

  // W = [Z_1 .. Z_K | X]: the Z part and Z'R^-1Z come from the cache; the
  // X part is built here. H0 = W'R^-1W, rhs = W'R^-1y.
  const w = new Matrix(n, m);
  w.data.set(wz.data);
  w.data.set(x.data, q * n);
  const rinvX = applyRinv(be, err, x);
  const ztrx = be.gemm(wz, rinvX, { transA: true });
  const xtrx = be.gemm(x, rinvX, { transA: true });
  const h0 = new Matrix(m, m);
  for (let j = 0; j < q; j++) h0.data.set(ztrz.data.subarray(j * q, (j + 1) * q), j * m);
  for (let j = 0; j < p; j++) {
    h0.data.set(ztrx.data.subarray(j * q, (j + 1) * q), (q + j) * m);
    for (let i = 0; i < p; i++) h0.data[q + i + (q + j) * m] = xtrx.data[i + j * p]!;
  }
  symmetriseFromUpper(h0); // assembled by block columns
  const rhs = new Matrix(m, 1);
  rhs.data.set(be.gemv(rinvWz, y, { trans: true }));
  rhs.data.set(be.gemv(rinvX, y, { trans: true }), q);
  const reml = o.method === 'reml';
  const cm = new Matrix(m, m);
  const lzz = reml ? null : new Matrix(q, q);

  const evaluate = (sigma: Float64Array): GlsEval => {
    const se = sigma[nr]!;
    cm.data.set(h0.data);
    for (let k = 0; k < nr; k++) {
      const f = se / sigma[k]!;
      const gk = ginv[k]!.data;
      const qk = qs[k]!;
      const o0 = off[k]!;
      for (let j = 0; j < qk; j++) {
        for (let i = 0; i < qk; i++) cm.data[o0 + i + (o0 + j) * m]! += f * gk[i + j * qk]!;
      }
    }
    const l = chol(be, cm, "Henderson's mixed-model equations", sigma);
    const cinv = be.potri(l);
    const sol = be.potrs(l, rhs).data;
    // Residual y - W sol; eps = R^-1 res.
    const res = y.slice();
    be.gemv(w, sol, { alpha: -1, beta: 1, y: res });
    let quadE = 0;
    let yEps = 0;
    if (err.diag !== null) {
      const rdiag = err.diag;
      for (let i = 0; i < n; i++) {
        const e = res[i]! / rdiag[i]!;
        quadE += res[i]! * e;
        yEps += y[i]! * e;
      }
    } else {
      const eps = be.gemv(err.inv, res);
      for (let i = 0; i < n; i++) {
        quadE += res[i]! * eps[i]!;
        yEps += y[i]! * eps[i]!;
      }
    }
    // ML: T = inverse of the leading q x q block of C, from L's leading block.
    let tinv: Matrix | null = null;
    let logdetCzz = 0;
    if (lzz !== null) {
      for (let j = 0; j < q; j++) lzz.data.set(l.data.subarray(j * m, j * m + q), j * q);
      tinv = be.potri(lzz);
      for (let i = 0; i < q; i++) logdetCzz += 2 * Math.log(l.data[i + i * m]!);
    }
    const blockInv = tinv ?? cinv; // tinv is set exactly when !reml
    const bm = reml ? m : q;
    const next = new Float64Array(nr + 1);
    let sumK = 0;
    let logdetGamma = 0;
    for (let k = 0; k < nr; k++) {
      const sk = sigma[k]!;
      const qk = qs[k]!;
      const o0 = off[k]!;
      const gk = ginv[k]!.data;
      const uk = sol.subarray(o0, o0 + qk);
      let uGu = 0;
      let tr = 0;
      for (let j = 0; j < qk; j++) {
        let gu = 0;
        for (let i = 0; i < qk; i++) {
          const g = gk[i + j * qk]!;
          gu += g * uk[i]!;
          tr += g * blockInv.data[o0 + i + (o0 + j) * bm]!;
        }
        uGu += gu * uk[j]!;
      }
      const effective = qk - (se / sk) * tr;
      sumK += effective;
      next[k] = sk * Math.sqrt(uGu / (sk * sk) / (effective / sk));
      logdetGamma += logdetG[k]! + qk * Math.log(sk / se);
    }
    const trE = ((reml ? n - p : n) - sumK) / se;
    next[nr] = se * Math.sqrt(quadE / (se * se) / trE);
    const logLik = reml
      ? -0.5 * (logdetFromCholesky(l) + logdetR + logdetGamma + (n - p) * Math.log(se) + yEps / se)
      : -0.5 * (n * LOG_2PI + n * Math.log(se) + logdetR + logdetGamma + logdetCzz + yEps / se);
    const varBeta = new Matrix(p, p);
    for (let j = 0; j < p; j++) {
      for (let i = 0; i < p; i++) varBeta.data[i + j * p] = se * cinv.data[q + i + (q + j) * m]!;
    }
    return { logLik, next, beta: sol.slice(q, q + p), varBeta };
  };

  return runMmFit(o, evaluate, o.method, WHO);
}

/** The error's R: its diagonal when R is diagonal (`inv` null), else R^-1 (`diag` null). */
type ErrorInverse = { diag: Float64Array; inv: null } | { diag: null; inv: Matrix };

/** What Henderson's equations derive from the components alone (cached across calls). */
interface HenPrep {
  err: ErrorInverse;
  logdetR: number;
  /** R_k^-1 and log det R_k of the random components. */
  ginv: Matrix[];
  logdetG: number[];
  /** Offset and size of each random block in the MME. */
  off: number[];
  qs: number[];
  q: number;
  /** [Z_1 .. Z_K] (N x q), R^-1 [Z_1 .. Z_K], and Z'R^-1Z (q x q). */
  wz: Matrix;
  rinvWz: Matrix;
  ztrz: Matrix;
}

const henCache: ComponentCache<HenPrep> = {};

function prepare(be: Backend, comps: CheckedComponent[], n: number): HenPrep {
  const nr = comps.length - 1;
  // The error: diagonal R (a vector) or a dense R^-1.
  const errComp = comps[nr]!;
  const rFull = fullMatrix(be, errComp);
  let err: ErrorInverse;
  let logdetR: number;
  if (rFull === null || isDiagonal(rFull)) {
    const rdiag = new Float64Array(n);
    if (rFull === null) rdiag.fill(1);
    else for (let i = 0; i < n; i++) rdiag[i] = rFull.data[i + i * n]!;
    logdetR = 0;
    for (let i = 0; i < n; i++) {
      if (!(rdiag[i]! > 0))
        throw new NumericalError(`${WHO}: the error matrix of '${errComp.name}' has a non-positive diagonal entry ${rdiag[i]} at row ${i + 1}`);
      logdetR += Math.log(rdiag[i]!);
    }
    err = { diag: rdiag, inv: null };
  } else {
    const lr = chol(be, rFull, `the error matrix of '${errComp.name}'`);
    logdetR = logdetFromCholesky(lr);
    err = { diag: null, inv: be.potri(lr) };
  }
  // Random effects: R_k^-1 once, offsets in the MME.
  const ginv: Matrix[] = [];
  const logdetG: number[] = [];
  const off: number[] = [];
  const qs: number[] = [];
  let q = 0;
  for (let k = 0; k < nr; k++) {
    const c = comps[k]!;
    const lk = chol(be, c.r, `R of component '${c.name}' (Henderson's equations need R_k^-1; mmDense does not)`);
    logdetG.push(logdetFromCholesky(lk));
    ginv.push(be.potri(lk));
    off.push(q);
    qs.push(c.q);
    q += c.q;
  }
  const wz = new Matrix(n, q);
  for (let k = 0; k < nr; k++) {
    const c = comps[k]!;
    const dst = wz.data.subarray(off[k]! * n, (off[k]! + qs[k]!) * n);
    if (c.z !== undefined) dst.set(c.z.data);
    else for (let i = 0; i < n; i++) dst[i + i * n] = 1;
  }
  const rinvWz = applyRinv(be, err, wz);
  const ztrz = be.gemm(wz, rinvWz, { transA: true });
  symmetriseFromLower(ztrz);
  return { err, logdetR, ginv, logdetG, off, qs, q, wz, rinvWz, ztrz };
}

/** R^-1 A for the error's R: A's rows divided by R's diagonal when R is diagonal, else the product with R^-1. */
function applyRinv(be: Backend, err: ErrorInverse, a: Matrix): Matrix {
  if (err.diag === null) return be.gemm(err.inv, a);
  const rdiag = err.diag;
  const n = a.rows;
  const out = a.clone();
  for (let j = 0; j < a.cols; j++) for (let i = 0; i < n; i++) out.data[i + j * n]! /= rdiag[i]!;
  return out;
}

function isDiagonal(a: Matrix): boolean {
  const n = a.rows;
  const d = a.data;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) if (i !== j && d[i + j * n] !== 0) return false;
  }
  return true;
}

function chol(be: Backend, a: Matrix, what: string, sigma?: ArrayLike<number>): Matrix {
  return cholOrThrow(be, a, what, sigma, WHO);
}
