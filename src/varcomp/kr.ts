// Kenward-Roger inference for the fixed effects of a variance-component
// model Y = X b + sum_k Z_k u_k, V = sum_k sigma2_k K_k, K_k = Z_k R_k Z_k'
// (Kenward & Roger 1997, Biometrics 53:983-997): the small-sample adjusted
// covariance of beta and the scaled F test of L b = 0 with its denominator
// degrees of freedom.
//
// Notation (Kenward & Roger's, as pbkrtest and MM4LMM name the pieces):
//   Phi   = (X' V^-1 X)^-1                      the covariance of beta
//   P_k   = -X' V^-1 K_k V^-1 X                 d(X' V^-1 X)/d sigma2_k
//   Q_ij  = X' V^-1 K_i V^-1 K_j V^-1 X
//   I_ij  = 1/2 tr(P K_i P K_j)                 the REML expected information,
//         = 1/2 tr(V^-1 K_i V^-1 K_j) - tr(Phi Q_ij) + 1/2 tr(Phi P_i Phi P_j)
//   W     = I^-1 (a pseudo-inverse when I is singular)
//   Phi_A = Phi + 2 Phi { sum_ij W_ij (Q_ij - P_i Phi P_j) } Phi
// (the second-derivative term R_ij of the paper vanishes: V is linear in the
// variances). For a contrast L (l x p, rank l):
//   Theta = L' (L Phi L')^-1 L
//   A1 = sum_ij W_ij tr(Theta Phi P_i Phi) tr(Theta Phi P_j Phi)
//   A2 = sum_ij W_ij tr(Theta Phi P_i Phi Theta Phi P_j Phi)
//   F  = (L b)' (L Phi_A L')^-1 (L b) / l,  F* = lambda F ~ F(l, m)
// with m and lambda from A1, A2 (the paper's eq. 3.5-3.10; pbkrtest's
// `.KR_adjust`). Any number of components, with or without incidence
// matrices: only the N x N matrices K_k enter.
//
// Cost: one O(N^3) evaluation of the covariance (V^-1 and V^-1 K_k for every
// component), shared by every model evaluated at the same variances, then
// O(N^2 p K) per model and O(p^3 K^2) per contrast.
//
// Checked against pbkrtest::KRmodcomp on lme4 fits (test/varcomp/kr.test.ts,
// test/fixtures/kr/generate.R) and against MM4LMM 3.0.3's KR where it runs
// (test/varcomp/anova.test.ts). MM4LMM's KR (its internal .AnovaTest_KR) only runs
// with a TestedCombination, with X given, with N x N VarList matrices (no
// ZList) and when the number of fixed effects equals the number of variance
// components (its Delta is allocated K x K and summed with p x p matrices);
// with a matrix X it renames the marker column X1 so a formula using Xeffect
// fails; its p-values are 1 - pf(...). None of these limits apply here; the
// formulas are the same, so where MM4LMM runs the numbers agree to rounding.
import { ArgumentError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { rQr } from '../linalg/qr-dqrdc2.js';
import { invSpd, pinvSymmetric, symmetriseAverage } from '../linalg/small.js';
import { chi2Log10Sf, chi2Sf, fLog10Sf, fSf } from '../stats/index.js';
import { checkComponents } from './mm-common.js';
import { cholOrThrow, fullMatrix } from './mm-dense.js';
import { covarianceSum } from './model-at.js';
import type { VarComponent } from './types.js';

const WHO = 'kenwardRoger';

/** MASS::ginv's cut-off (sqrt of the machine epsilon, relative), which MM4LMM uses to invert the information. */
const GINV_TOL = Math.sqrt(2.220446049250313e-16);

/**
 * The part of Kenward-Roger that depends on the variances only (not on X):
 * V^-1, V^-1 K_k and tr(V^-1 K_i V^-1 K_j). O(N^3); every model evaluated at
 * the same variances shares it.
 */
export interface KrCovariance {
  readonly n: number;
  readonly sigma2: Float64Array;
  /** V^-1 (N x N). */
  readonly vInv: Matrix;
  /** K_k = Z_k R_k Z_k' (N x N); null for an identity component. */
  readonly k: readonly (Matrix | null)[];
  /** V^-1 K_k (V^-1 itself for an identity component). */
  readonly vInvK: readonly Matrix[];
  /** tr(V^-1 K_i V^-1 K_j), K x K, column-major. */
  readonly traceVV: Float64Array;
}

/** V and its inverse at given variances (the first half of `krCovariance`). */
export interface CovarianceInverse {
  readonly n: number;
  readonly sigma2: Float64Array;
  /** K_k = Z_k R_k Z_k' (N x N); null for an identity component. */
  readonly k: readonly (Matrix | null)[];
  /** V^-1 (N x N). */
  readonly vInv: Matrix;
}

/**
 * V = sum_k sigma2_k K_k and V^-1 at `sigma2` (one variance per component,
 * in component order). O(N^3). Throws a `NumericalError` when V is not
 * positive definite there.
 */
export function covarianceInverse(
  components: readonly VarComponent[],
  sigma2: ArrayLike<number>,
  n: number,
  backend: Backend = getBackend(),
): CovarianceInverse {
  const comps = checkComponents(WHO, components, n);
  const nk = comps.length;
  if (sigma2.length !== nk) throw new ShapeError(`${WHO}: ${sigma2.length} variances for ${nk} components`);
  const s2 = Float64Array.from(sigma2);
  s2.forEach((v, i) => {
    if (!Number.isFinite(v) || v < 0) throw new ArgumentError(`${WHO}: sigma2[${i}] (${comps[i]!.name}) must be a finite number >= 0, found ${v}`);
  });
  const k = comps.map((c) => fullMatrix(backend, c));
  const v = covarianceSum(k, s2, n);
  const vInv = backend.potri(cholOrThrow(backend, v, 'V', s2, WHO));
  return { n, sigma2: s2, k, vInv };
}

/**
 * Evaluates the covariance side of Kenward-Roger at `sigma2`: V^-1, V^-1 K_k
 * and their traces (O(N^3) per component). `inverse` reuses a
 * `covarianceInverse` at the same variances.
 */
export function krCovariance(
  components: readonly VarComponent[],
  sigma2: ArrayLike<number>,
  n: number,
  backend: Backend = getBackend(),
  inverse?: CovarianceInverse,
): KrCovariance {
  const ci = inverse ?? covarianceInverse(components, sigma2, n, backend);
  const { k, vInv } = ci;
  const nk = k.length;
  const vInvK = k.map((kk) => (kk === null ? vInv : backend.gemm(vInv, kk)));
  const traceVV = new Float64Array(nk * nk);
  for (let i = 0; i < nk; i++) {
    for (let j = 0; j <= i; j++) {
      const t = traceOfAB(vInvK[i]!, vInvK[j]!);
      traceVV[i + j * nk] = t;
      traceVV[j + i * nk] = t;
    }
  }
  return { n, sigma2: ci.sigma2, vInv, k, vInvK, traceVV };
}

/**
 * Generalised least squares at a given V^-1: Phi = (X' V^-1 X)^-1 and
 * beta = Phi X' V^-1 y.
 */
export function glsAt(
  vInv: Matrix,
  x: Matrix,
  y: ArrayLike<number>,
  backend: Backend = getBackend(),
  sigma2?: ArrayLike<number>,
): { beta: Float64Array; varBeta: Matrix } {
  const g = backend.gemm(vInv, x);
  const xvx = backend.gemm(x, g, { transA: true });
  symmetriseAverage(xvx);
  const varBeta = backend.potri(cholOrThrow(backend, xvx, "X' V^-1 X", sigma2, WHO));
  const beta = backend.gemv(varBeta, backend.gemv(g, Float64Array.from(y), { trans: true }));
  return { beta, varBeta };
}

/** What `krModel` needs for one model. */
export interface KrModelInput {
  /** N x p fixed-effect design, full column rank, columns in beta order. */
  x: Matrix;
  /** The variance components (MM4LMM's VarList with ZList). */
  components: readonly VarComponent[];
  /** The variances at which to evaluate (one per component). */
  sigma2: ArrayLike<number>;
  /** The response: needed when `beta` is not given. */
  y?: ArrayLike<number>;
  /**
   * The fit's beta and covariance of beta, used as given (MM4LMM's KR takes
   * them from its MMEst result). Absent: the GLS estimate and
   * (X' V^-1 X)^-1 at `sigma2`.
   */
  beta?: ArrayLike<number>;
  varBeta?: Matrix;
  /** A `krCovariance` already evaluated at the same `sigma2` (reused, not recomputed). */
  covariance?: KrCovariance;
  backend?: Backend;
}

/** One model ready for Kenward-Roger tests. */
export interface KrModel {
  /** Number of observations and of fixed effects. */
  readonly n: number;
  readonly p: number;
  readonly sigma2: Float64Array;
  readonly beta: Float64Array;
  /** Phi: the (unadjusted) covariance of beta. */
  readonly varBeta: Matrix;
  /** Phi_A: Kenward-Roger's adjusted covariance of beta. */
  readonly varBetaAdj: Matrix;
  /** The REML expected information of the variances, 1/2 tr(P K_i P K_j) (K x K). */
  readonly information: Matrix;
  /** W, its inverse (a Moore-Penrose pseudo-inverse when it is singular). */
  readonly w: Matrix;
  /** The numerical rank of the information (K unless some variance is not identifiable). */
  readonly informationRank: number;
  /** @internal Phi P_k, one per component. */
  readonly phiP: readonly Matrix[];
}

/**
 * Prepares the Kenward-Roger adjustment of one model: Phi_A and what every
 * contrast test needs. O(N^2 p K) given the covariance (O(N^3) without it).
 */
export function krModel(input: KrModelInput): KrModel {
  const be = input.backend ?? getBackend();
  const x = input.x;
  const n = x.rows;
  const p = x.cols;
  if (p === 0) throw new ShapeError(`${WHO}: the design has no column`);
  const cov = input.covariance ?? krCovariance(input.components, input.sigma2, n, be);
  if (cov.n !== n) throw new ShapeError(`${WHO}: the covariance is for ${cov.n} observations, the design has ${n} rows`);
  if (input.covariance !== undefined) {
    const s = input.sigma2;
    if (s.length !== cov.sigma2.length || cov.sigma2.some((v, i) => v !== s[i])) {
      throw new ArgumentError(`${WHO}: the covariance given was evaluated at other variances than sigma2`);
    }
  }
  const nk = cov.vInvK.length;
  const g = be.gemm(cov.vInv, x); // V^-1 X
  let phi: Matrix;
  if (input.varBeta !== undefined) {
    phi = input.varBeta;
    if (phi.rows !== p || phi.cols !== p) throw new ShapeError(`${WHO}: varBeta is ${phi.shape}, the design has ${p} columns`);
  } else {
    const xvx = be.gemm(x, g, { transA: true });
    symmetriseAverage(xvx);
    phi = be.potri(cholOrThrow(be, xvx, "X' V^-1 X", cov.sigma2, WHO));
  }
  let beta: Float64Array;
  if (input.beta !== undefined) {
    if (input.beta.length !== p) throw new ShapeError(`${WHO}: beta has ${input.beta.length} values, the design has ${p} columns`);
    beta = Float64Array.from(input.beta);
  } else {
    if (input.y === undefined) throw new ArgumentError(`${WHO}: y is needed to estimate beta (or give beta)`);
    if (input.y.length !== n) throw new ShapeError(`${WHO}: y has ${input.y.length} values, the design has ${n} rows`);
    beta = be.gemv(phi, be.gemv(g, Float64Array.from(input.y), { trans: true }));
  }

  // H_k = K_k V^-1 X, P_k = -X' V^-1 K_k V^-1 X, S_k = V^-1 K_k V^-1 X.
  const h = cov.k.map((kk) => (kk === null ? g : be.gemm(kk, g)));
  const pk = h.map((hk) => {
    const m = be.gemm(g, hk, { transA: true, alpha: -1 });
    symmetriseAverage(m);
    return m;
  });
  const s = h.map((hk) => be.gemm(cov.vInv, hk));
  const phiP = pk.map((m) => be.gemm(phi, m));
  const q: Matrix[][] = [];
  for (let i = 0; i < nk; i++) {
    q.push([]);
    for (let j = 0; j < nk; j++) q[i]!.push(be.gemm(h[i]!, s[j]!, { transA: true }));
  }
  // The information 1/2 tr(P K_i P K_j), with P expanded around V^-1 (as MM4LMM and pbkrtest).
  const info = new Float64Array(nk * nk);
  for (let i = 0; i < nk; i++) {
    for (let j = 0; j <= i; j++) {
      const v = 0.5 * cov.traceVV[i + j * nk]! - traceOfAB(phi, q[i]![j]!) + 0.5 * traceOfAB(phiP[i]!, phiP[j]!);
      info[i + j * nk] = v;
      info[j + i * nk] = v;
    }
  }
  const { inv: w, rank } = pinvSymmetric(info, nk, GINV_TOL);
  // Delta = sum_ij W_ij (Q_ij - P_i Phi P_j); Phi_A = Phi + 2 Phi Delta Phi.
  const delta = new Matrix(p, p);
  for (let i = 0; i < nk; i++) {
    for (let j = 0; j < nk; j++) {
      const wij = w[i + j * nk]!;
      if (wij === 0) continue;
      const qij = q[i]![j]!.data;
      for (let t = 0; t < qij.length; t++) delta.data[t]! += wij * qij[t]!;
      be.gemm(pk[i]!, phiP[j]!, { alpha: -wij, beta: 1, c: delta });
    }
  }
  symmetriseAverage(delta);
  const varBetaAdj = phi.clone();
  be.gemm(be.gemm(phi, delta), phi, { alpha: 2, beta: 1, c: varBetaAdj });
  symmetriseAverage(varBetaAdj);
  return {
    n,
    p,
    sigma2: cov.sigma2,
    beta,
    varBeta: phi,
    varBetaAdj,
    information: new Matrix(nk, nk, info),
    w: new Matrix(nk, nk, w),
    informationRank: rank,
    phiP,
  };
}

/** One Kenward-Roger F test. */
export interface KrTest {
  /** The scaled statistic lambda * F, F(df, ddf) under L b = 0 (MM4LMM's and pbkrtest's `Stat`/`F`). */
  statistic: number;
  /** F = (L b)' (L Phi_A L')^-1 (L b) / df, before scaling. */
  fUnscaled: number;
  /** lambda (pbkrtest's F.scaling). */
  scaling: number;
  /** Numerator degrees of freedom: the rank of L. */
  df: number;
  /** Denominator degrees of freedom m. */
  ddf: number;
  /** Upper tail of F(df, ddf) at the statistic, never 1 - cdf (no underflow to 0 before 1e-300). */
  pValue: number;
  /** log10 of the p-value, finite far beyond the double underflow. */
  log10PValue: number;
  /** The rows of L kept (L reduced to full row rank), 0-based. */
  rows: number[];
}

/**
 * The Kenward-Roger test of L b = 0 for a prepared model: `l` is a matrix
 * with p columns (its rows are reduced to a full-rank set first). As
 * pbkrtest, lambda is taken as 1 when |m - 2| < 1e-2. When m is infinite the
 * p-value is the chi-square limit; when the approximation breaks down (m not
 * positive, e.g. a variance at its boundary) the statistic is reported with
 * NaN p-values.
 */
export function krTest(model: KrModel, l: Matrix, backend: Backend = getBackend()): KrTest {
  const be = backend;
  const p = model.p;
  if (l.cols !== p) throw new ShapeError(`${WHO}: the contrast has ${l.cols} columns, the model has ${p} coefficients`);
  const { matrix: lr, rows } = fullRowRank(l);
  const q = lr.rows;
  if (q === 0) throw new ArgumentError(`${WHO}: the contrast is zero`);
  const phi = model.varBeta;
  const nk = model.phiP.length;
  const w = model.w.data;
  // Theta = L' (L Phi L')^-1 L
  const lphi = be.gemm(lr, phi);
  const lphil = be.gemm(lphi, lr, { transB: true });
  symmetriseAverage(lphil);
  const inner = symInverse(lphil);
  const theta = be.gemm(be.gemm(lr, inner, { transA: true }), lr);
  // M_k = Theta Phi P_k Phi
  const mk = model.phiP.map((pp) => be.gemm(be.gemm(theta, pp), phi));
  const tr = mk.map(trace);
  let a1 = 0;
  let a2 = 0;
  for (let i = 0; i < nk; i++) {
    for (let j = 0; j < nk; j++) {
      const wij = w[i + j * nk]!;
      a1 += wij * tr[i]! * tr[j]!;
      a2 += wij * traceOfAB(mk[i]!, mk[j]!);
    }
  }
  const b = (a1 + 6 * a2) / (2 * q);
  const gg = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2);
  const den = 3 * q + 2 * (1 - gg);
  const c1 = gg / den;
  const c2 = (q - gg) / den;
  const c3 = (q + 2 - gg) / den;
  let v0 = 1 + c1 * b;
  const v1 = 1 - c2 * b;
  const v2 = 1 - c3 * b;
  if (Math.abs(v0) < 1e-10) v0 = 0;
  const ratio = v1 === 0 ? 0 : (1 - a2 / q) / v1;
  const rho = (1 / q) * ratio * ratio * (v0 / v2);
  const ddf = 4 + (q + 2) / (q * rho - 1);
  const scaling = Math.abs(ddf - 2) < 1e-2 ? 1 : (ddf * (1 - a2 / q)) / (ddf - 2);
  // F with Phi_A
  const lb = be.gemv(lr, model.beta);
  const la = be.gemm(be.gemm(lr, model.varBetaAdj), lr, { transB: true });
  symmetriseAverage(la);
  const laInv = symInverse(la);
  const wald = quadForm(laInv.data, lb);
  const fUnscaled = wald / q;
  const statistic = scaling * fUnscaled;
  let pValue = NaN;
  let log10PValue = NaN;
  if (Number.isFinite(statistic)) {
    if (ddf > 0 && ddf < Infinity) {
      pValue = fSf(statistic, q, ddf);
      log10PValue = fLog10Sf(statistic, q, ddf);
    } else if (ddf === Infinity) {
      pValue = chi2Sf(q * statistic, q);
      log10PValue = chi2Log10Sf(q * statistic, q);
    }
  }
  return { statistic, fUnscaled, scaling, df: q, ddf, pValue, log10PValue, rows };
}

/**
 * Kenward-Roger tests of several contrasts on one model in one call:
 * `krModel` then `krTest` for each contrast.
 */
export function kenwardRoger(input: KrModelInput & { contrasts: readonly Matrix[] }): { model: KrModel; tests: KrTest[] } {
  const model = krModel(input);
  return { model, tests: input.contrasts.map((l) => krTest(model, l, input.backend)) };
}

/**
 * The rows of `l` reduced to a linearly independent set (R's dqrdc2 on L',
 * tolerance 1e-7), in their original order.
 */
export function fullRowRank(l: Matrix): { matrix: Matrix; rows: number[] } {
  const all = Array.from({ length: l.rows }, (_, i) => i);
  if (l.rows === 0) return { matrix: l, rows: [] };
  let nonzero = false;
  for (let i = 0; i < l.data.length; i++) if (l.data[i] !== 0) nonzero = true;
  if (!nonzero) return { matrix: new Matrix(0, l.cols), rows: [] };
  const qr = rQr(l.transpose());
  if (qr.rank === l.rows) return { matrix: l, rows: all };
  const rows = Array.from(qr.pivot.subarray(0, qr.rank)).sort((a, b) => a - b);
  const out = new Matrix(rows.length, l.cols);
  rows.forEach((r, i) => {
    for (let j = 0; j < l.cols; j++) out.data[i + j * rows.length] = l.data[r + j * l.rows]!;
  });
  return { matrix: out, rows };
}

/** tr(A B) = sum_ab A_ab B_ba for square A, B of the same size. */
function traceOfAB(a: Matrix, b: Matrix): number {
  const n = a.rows;
  const ad = a.data;
  const bd = b.data;
  let s = 0;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) s += ad[i + j * n]! * bd[j + i * n]!;
  }
  return s;
}

function trace(a: Matrix): number {
  let s = 0;
  for (let i = 0; i < a.rows; i++) s += a.data[i + i * a.rows]!;
  return s;
}

/** Inverse of a small symmetric positive (semi)definite matrix: Cholesky, else a pseudo-inverse. */
export function symInverse(a: Matrix): Matrix {
  const n = a.rows;
  const inv = invSpd(a.data, n) ?? pinvSymmetric(a.data, n, GINV_TOL).inv;
  return new Matrix(n, n, inv);
}

/** v' A v for a small column-major A. */
export function quadForm(a: Float64Array, v: ArrayLike<number>): number {
  const n = v.length;
  let s = 0;
  for (let j = 0; j < n; j++) {
    let t = 0;
    for (let i = 0; i < n; i++) t += a[i + j * n]! * v[i]!;
    s += t * v[j]!;
  }
  return s;
}
