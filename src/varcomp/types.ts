import type { Backend } from '../linalg/backend.js';
import type { Matrix } from '../linalg/matrix.js';

/** Restricted (REML, MM4LMM's 'Reml') or full maximum likelihood. */
export type VarMethod = 'reml' | 'ml';

/**
 * One variance component sigma2_k Z_k R_k Z_k^T of
 * Y = X b + sum_k Z_k u_k, u_k ~ N(0, sigma2_k R_k) (MM4LMM's VarList/ZList).
 */
export interface VarComponent {
  readonly name: string;
  /** q_k x q_k covariance R_k (symmetric). */
  readonly r: Matrix;
  /** N x q_k incidence Z_k; absent means the identity (q_k = N). */
  readonly z?: Matrix;
}

/**
 * One entry of MMEst's VarList as lmmkit takes it everywhere (`mmEst`,
 * `mmBlup`, `mmVcov`, `anovaTest`): a named q_k x q_k covariance R_k and,
 * optionally, the names of its q_k random effects (MM4LMM takes the
 * kinship's row names; `mmBlup` names its BLUPs by them, default '1'..'q_k').
 */
export interface VarListEntry {
  readonly name: string;
  readonly r: Matrix;
  readonly ids?: readonly string[];
}

/** Convergence settings shared by every MM engine (MM4LMM's MMEst arguments). */
export interface EngineOptions {
  method: VarMethod;
  /** Starting variances, one per component (default: MM4LMM's). */
  init?: ArrayLike<number>;
  /** Stop when the variances change by less than this (MM4LMM's CritVar, default 1e-3). */
  critVar?: number;
  /** ... and the log-likelihood by less than this (MM4LMM's CritLogLik, default 1e-3). */
  critLogLik?: number;
  /** Iteration cap (MM4LMM's MaxIter, default 100). */
  maxIter?: number;
  /** The linear-algebra backend of the O(N^3) work (default getBackend()). */
  backend?: Backend;
}

/** What an engine returns for one model. */
export interface EngineFit {
  /** Variance estimates, one per component, in component order. */
  sigma2: Float64Array;
  /** GLS fixed effects at sigma2 (length p). */
  beta: Float64Array;
  /** p x p covariance of beta, (X' V^-1 X)^-1. */
  varBeta: Matrix;
  /**
   * Log-likelihood with MM4LMM's convention: REML without the
   * -(n - p)/2 log(2 pi) constant; ML with the full Gaussian constant.
   */
  logLik: number;
  /** Iterations run (MM4LMM's NbIt). */
  nbIt: number;
  converged: boolean;
}
