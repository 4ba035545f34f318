import type { KinshipNullModel } from './fit-kinship.js';
import type { LowRankNullModel } from './fit-lowrank.js';
import type { KronSumNullModel } from './fit-kron-sum.js';

/**
 * A fitted null model, one object whatever its covariance: `kind` tells
 * which, and each carries its data, covariance, fitted parameters (flat,
 * `logLik` bigger-is-better beside limix's smaller-is-better `lml` where
 * there is one), h2, N and the backend it was made on. What `saveNullModel`
 * writes and `loadNullModel` returns.
 */
export type NullModel = KinshipNullModel | LowRankNullModel | KronSumNullModel;

/** The single-trait null models that `gwasScan` scans under. */
export type SingleTraitNullModel = KinshipNullModel | LowRankNullModel;
