// The covariance of the variance-component estimators, MM4LMM's `MMVcov`:
// the inverse of the expected (Fisher) information, REML or ML matching the
// fit, or of the average information (REML).
//
// MM4LMM 3.0.3's R code was read for its semantics; nothing here is copied
// from it (GPL).
import { ArgumentError, NumericalError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { symmetriseAverage } from '../linalg/small.js';
import { cholOrThrow } from './mm-dense.js';
import { modelAt, type ModelAt } from './model-at.js';
import { resolveInference, type MmData, type MmFit, type MmInferenceOptions } from './blup.js';

/** Which information matrix `mmVcov` inverts. */
export type VcovInformation = 'expected' | 'ai';

/** Options of `mmVcov`. */
export interface MmVcovOptions extends MmInferenceOptions {
  /**
   * 'expected' (default, MM4LMM's 'Expected'): the Fisher information of the
   * fit's method, I_ij = 1/2 tr(P K_i P K_j) for REML and
   * 1/2 tr(V^-1 K_i V^-1 K_j) for ML. 'ai' (MM4LMM's 'AI'): the average
   * information 1/2 Y' P K_i P K_j P Y, always REML's (P), whatever the fit's
   * method. MM4LMM's spellings 'Expected' and 'AI' are accepted too.
   */
  information?: VcovInformation | 'Expected' | 'AI';
  /**
   * Reproduce MMVcov 3.0.3's expected information exactly, the slip on its
   * diagonal included (1/2 ||K_k P||_F^2 instead of 1/2 tr(P K_k P K_k); see
   * `mmVcov`). Default false: the Fisher information. No effect on 'ai'.
   */
  mm4lmm?: boolean;
}

/** What `mmVcov` returns. */
export interface MmVcovResult {
  /** K x K covariance of the variance estimators (the inverse information), in component order. */
  vcov: Matrix;
  /** Standard errors, sqrt(diag(vcov)). */
  se: Float64Array;
  /** The component names (rows and columns of vcov). */
  names: string[];
  /** The K x K information matrix that was inverted. */
  information: Matrix;
  /** Which information it is. */
  kind: VcovInformation;
  /** Whether MMVcov's diagonal was reproduced (`opts.mm4lmm` with 'expected'). */
  mm4lmm: boolean;
  /** The likelihood it belongs to: the fit's method for 'expected', always 'reml' for 'ai'. */
  method: 'reml' | 'ml';
}

/**
 * The covariance matrix of the variance-component estimators and their
 * standard errors, MM4LMM's `MMVcov`: the inverse of the expected
 * information (REML or ML, matching the fit) or of the average information
 * (REML), evaluated at the fit's variances.
 *
 * Where it differs from MMVcov 3.0.3:
 * - MMVcov's 'AI' returns a bare matrix; here every kind returns
 *   `{ vcov, se, names }`.
 * - MMVcov always takes the first model of its ResMM with the cofactor-only
 *   design; here a GWAS-mode fit needs `opts.model` (and `data.x`), and that
 *   model's own variances and design are used.
 * - MMVcov's expected information has a slip on its diagonal: it sums the
 *   squares of K_k P (1/2 tr(P K_k K_k P)) instead of 1/2 tr(P K_k P K_k);
 *   the off-diagonal entries and the error's diagonal (K = I) are right.
 *   MMVcov's diagonal overstates the information (by Cauchy-Schwarz), so
 *   its standard errors are too small (by 6% for Flint on its example 1).
 *   lmmkit computes the Fisher information; `{ mm4lmm: true }` gives
 *   MMVcov's numbers for parity.
 *
 * Cost: O(K N^3) for the expected information (one N x N product per
 * component), O(N^3) for the AI (V is formed and inverted).
 */
export function mmVcov(fit: MmFit, data: MmData, opts: MmVcovOptions = {}): MmVcovResult {
  const who = 'mmVcov';
  if (opts === null || typeof opts !== 'object') throw new ArgumentError(`${who}: opts must be an object`);
  const info = opts.information ?? 'expected';
  let kind: VcovInformation;
  if (info === 'expected' || info === 'Expected') kind = 'expected';
  else if (info === 'ai' || info === 'AI') kind = 'ai';
  else throw new ArgumentError(`${who}: information can be equal to AI or Expected only. ('ai' or 'expected'; found '${String(info)}')`);
  const mm4lmm = opts.mm4lmm === true && kind === 'expected';
  const r = resolveInference(who, fit, data, opts);
  const at = modelAt(r.y, r.x, r.components, r.sigma2, r.method, r.backend);
  const method = kind === 'ai' ? 'reml' : r.method;
  const information = kind === 'ai' ? averageInformation(at, r.backend) : expectedInformation(at, method === 'reml' ? at.p : at.vInv, r.backend, mm4lmm);
  const vcov = invertSpd(who, information, r.backend, r.names, kind);
  const se = new Float64Array(vcov.rows);
  for (let k = 0; k < se.length; k++) se[k] = Math.sqrt(vcov.get(k, k));
  return { vcov, se, names: r.names.slice(), information, kind, mm4lmm, method };
}

/**
 * I_ij = 1/2 tr(Q K_i Q K_j) with Q = P (REML) or V^-1 (ML), from the
 * products A_k = K_k Q (A = Q for an identity component):
 * tr(A_i A_j) = sum_ab A_i[a, b] A_j[b, a]. With `mm4lmmDiagonal` the
 * diagonal is MMVcov's 1/2 sum_ab A_k[a, b]^2 instead.
 */
export function expectedInformation(at: Pick<ModelAt, 'k'>, q: Matrix, backend: Backend, mm4lmmDiagonal = false): Matrix {
  const a = at.k.map((kk) => (kk === null ? q : backend.gemm(kk, q)));
  // A_j^T = Q K_j, so tr(A_i A_j) is the elementwise dot product of A_i and A_j^T.
  const at_ = a.map((m) => m.transpose());
  const nc = a.length;
  const out = new Matrix(nc, nc);
  for (let i = 0; i < nc; i++) {
    for (let j = 0; j <= i; j++) {
      const ai = a[i]!.data;
      const bj = i === j && mm4lmmDiagonal ? ai : at_[j]!.data;
      let s = 0;
      for (let t = 0; t < ai.length; t++) s += ai[t]! * bj[t]!;
      out.data[i + j * nc] = 0.5 * s;
      out.data[j + i * nc] = 0.5 * s;
    }
  }
  return out;
}

/** AI_ij = 1/2 (K_i P y)' P (K_j P y), REML's average information. */
export function averageInformation(at: Pick<ModelAt, 'k' | 'p' | 'py'>, backend: Backend): Matrix {
  const n = at.py.length;
  const nc = at.k.length;
  const u = new Matrix(n, nc);
  at.k.forEach((kk, j) => {
    u.data.set(kk === null ? at.py : backend.gemv(kk, at.py), j * n);
  });
  const pu = backend.gemm(at.p, u);
  const ai = backend.gemm(u, pu, { transA: true, alpha: 0.5 });
  symmetriseAverage(ai);
  return ai;
}

/** The inverse of a small SPD information matrix, with a clear error when it is singular. */
function invertSpd(who: string, info: Matrix, backend: Backend, names: readonly string[], kind: VcovInformation): Matrix {
  const what = `the ${kind === 'ai' ? 'average' : 'expected'} information of (${names.join(', ')})`;
  const l = cholOrThrow(backend, info, what, undefined, who);
  const k = info.rows;
  // A pivot that lost all but 1e-12 of its diagonal: the information is
  // singular to rounding (a component is a combination of the others).
  for (let j = 0; j < k; j++) {
    if (l.get(j, j) ** 2 <= 1e-12 * info.get(j, j)) {
      throw new NumericalError(
        `${who}: ${what} is not positive definite (singular to rounding at '${names[j]}': that component's covariance is, numerically, a combination of the previous ones)`,
      );
    }
  }
  const inv = backend.potri(l);
  for (let j = 0; j < k; j++) for (let i = j + 1; i < k; i++) inv.data[j + i * k] = inv.data[i + j * k]!;
  return inv;
}
