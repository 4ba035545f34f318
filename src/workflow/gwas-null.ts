// The null model of one GWAS trait, as the scan needs it and as the report
// states it: REML on a kinship (its eigendecomposition shared by the traits
// analysed on the same samples), REML on a low-rank covariance, or OLS.
import { InputError, NotPositiveSemidefiniteError } from '../errors.js';
import type { Eigen } from '../linalg/backend.js';
import type { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { subMatrix, subMatrixInPlace } from '../linalg/submatrix.js';
import { doubleCenterInPlace, fitKinshipNull, type KinshipNullModel } from '../nullmodel/fit-kinship.js';
import { fitLowRankNull, type LowRankNullModel } from '../nullmodel/fit-lowrank.js';
import type { SingleTraitNullModel } from '../nullmodel/null-model.js';
import { checkKinshipSpectrum, type KinshipSpectrum, PSD_ROUNDING } from '../nullmodel/psd.js';
import { quickStartW } from '../nullmodel/quick-start-w.js';
import { LmmCore } from '../scan/lmm-core.js';
import type { NullModelReport } from './gwas-report.js';
import type { ProgressFactory } from './options.js';
import { withStep } from './steps.js';

/** A kinship for the run: the matrix and the row of each genotype sample in it (-1: absent). */
export interface RunKinship {
  /** The kinship; undefined once handed over to its one eigendecomposition (`samplesKinship` with `once`). */
  k: Matrix | undefined;
  row: Int32Array;
  /**
   * One eigendecomposition is all the run needs of K (every trait on the
   * same samples, no chrX/chrY null): K's own buffer then becomes the
   * eigenvectors, so that the run never holds a second N x N kinship.
   */
  once: boolean;
  /** What the kinship is, for messages: its file, or 'the kinship computed from <genotype file>'. */
  label: string;
  /** --allow-non-psd-kinship: set negative eigenvalues beyond rounding to 0 instead of refusing. */
  allowNonPsd: boolean;
}

/**
 * Checks the kinship's eigenvalues on the analysed samples
 * (`checkKinshipSpectrum`), refusing a kinship that is not positive
 * semidefinite beyond rounding with a message naming it and the option
 * that proceeds anyway. `eigenvalues` are those of the N x N kinship of the
 * analysed samples; `n` is N, for the message.
 */
export function checkRunKinship(eigenvalues: Float64Array, label: string, allowNonPsd: boolean, n: number): KinshipSpectrum {
  try {
    return checkKinshipSpectrum(eigenvalues, { allowNonPsd });
  } catch (e) {
    if (!(e instanceof NotPositiveSemidefiniteError) || e.spectrum === undefined) throw e;
    const { clamped, mostNegative, largest } = e.spectrum;
    throw new NotPositiveSemidefiniteError(
      `${label}: expected a positive semidefinite kinship, found the most negative eigenvalue ${mostNegative} on the ${n} analysed samples (${clamped} below -${PSD_ROUNDING} x the largest, ${largest}); --allow-non-psd-kinship sets them to 0 and proceeds`,
      e.spectrum,
    );
  }
}

/** What the report says of a kinship that was not positive semidefinite, or nothing (the common case, so that reports stay as they were). */
export function nonPsdReport(s: KinshipSpectrum): { nonPsdKinship?: { eigenvaluesClamped: number; mostNegative: number } } {
  return s.clamped > 0 ? { nonPsdKinship: { eigenvaluesClamped: s.clamped, mostNegative: s.mostNegative } } : {};
}

/**
 * The eigendecomposition of the last kinship used: consecutive traits with
 * the same samples (the common case) decompose it once.
 */
export class EigenCache {
  private key: string | undefined;
  private eigen: Eigen | undefined;

  /** `progress`: each decomposition is a stage ('eigendecomposition', the longest step of a null fit). */
  constructor(private readonly progress?: ProgressFactory) {}

  /** The eigendecomposition for `samples`, from `make` when the samples changed. */
  get(samples: Int32Array, make: () => Eigen): Eigen {
    const key = Array.from(samples).join(',');
    if (this.key !== key || this.eigen === undefined) {
      this.eigen = withStep(this.progress, `eigendecomposition (${samples.length} x ${samples.length})`, make);
      this.key = key;
    }
    return this.eigen;
  }
}

/**
 * The kinship of the samples at rows `idx` of the run's K, to be
 * overwritten by its eigendecomposition: a copy, or with `once` K's own
 * buffer compacted in place (`subMatrixInPlace`), K then handed over
 * (`kin.k` cleared, so that nothing keeps it past its last use).
 */
export function samplesKinship(kin: RunKinship, idx: Int32Array): Matrix {
  const k = kin.k;
  if (k === undefined) throw new Error(`${kin.label}: the kinship was handed over to an eigendecomposition already (an lmmkit bug: please report it)`);
  if (!kin.once) return subMatrix(k, idx);
  kin.k = undefined;
  return subMatrixInPlace(k, idx);
}

/** One trait's null model (none: OLS) and the report of it. */
export interface TraitNull {
  model: SingleTraitNullModel | undefined;
  report: NullModelReport;
}

/** The inputs of one trait's null model. */
export interface TraitNullInput {
  trait: string;
  /** The trait on its n samples. */
  y: Float64Array;
  /** n x p covariate design and its column names. */
  f: Matrix;
  names: readonly string[];
  /** Genotype indices of the n samples. */
  samples: Int32Array;
  test: 'fixed' | 'exact';
  kinship?: RunKinship;
  /** The raw low-rank table of the n samples (n x r) and its file. */
  lowrank?: { raw: Matrix; file: string };
  /** Also fit ML beside REML (kinship): a saved model for the exact test then spares each scan that search. */
  both?: boolean;
}

/**
 * Fits one trait's null model: with a kinship, y ~ N(F b, sigmaG2 K +
 * sigmaE2 I) by REML, K double-centred over the analysed samples for the
 * exact test (GEMMA does so, and its ML-based LRT and score tests depend
 * on it); with a low-rank table, y ~ N(F b, cr W W^T + cn I) by REML with
 * limix's quick-start W; else OLS, reported with its ML log-likelihood.
 */
export function fitTraitNull(input: TraitNullInput, eigenCache: EigenCache): TraitNull {
  const { y, f, names, samples, kinship } = input;
  const n = samples.length;
  const named = (b: ArrayLike<number>): Record<string, number> => namedBeta(names, b);
  if (kinship !== undefined) {
    const eigen = eigenCache.get(samples, () => {
      // The kinship of these samples is a copy of K or K itself (`once`): either way the decomposition may overwrite it.
      const sub = samplesKinship(
        kinship,
        Int32Array.from(samples, (g) => kinship.row[g]!),
      );
      return getBackend().syevdInPlace(input.test === 'exact' ? doubleCenterInPlace(sub) : sub);
    });
    const spectrum = checkRunKinship(eigen.values, kinship.label, kinship.allowNonPsd, n);
    const fit = fitKinshipNull({ y, covariates: f, kinship: eigen, center: input.test === 'exact', both: input.both, allowNonPsd: kinship.allowNonPsd });
    return { model: fit, report: { ...kinshipReport(fit, names), ...nonPsdReport(spectrum) } };
  }
  if (input.lowrank !== undefined) {
    const w = quickStartW(input.lowrank.raw);
    if (w.m.cols === 0) throw new InputError(undefined, `--lowrank ${input.lowrank.file}: no column varies on the ${n} samples of trait '${input.trait}'`);
    const fit = fitLowRankNull({ y, covariates: f, w: w.m });
    return { model: fit, report: lowRankReport(fit, names, { wColumns: w.m.cols, wColumnsDropped: w.dropped }) };
  }
  const core = new LmmCore({ y, covariates: f });
  const rss = core.s20 * core.dfResidual;
  return {
    model: undefined,
    report: { model: 'none', method: 'OLS', beta: named(core.nullBeta), sigma2: core.s20, logLik: -0.5 * n * (Math.log((2 * Math.PI * rss) / n) + 1) },
  };
}

function namedBeta(names: readonly string[], b: ArrayLike<number>): Record<string, number> {
  return Object.fromEntries(names.map((nm, j) => [nm, b[j]!]));
}

/** The report of a kinship null model, its betas named by the covariates. */
export function kinshipReport(fit: KinshipNullModel, names: readonly string[]): NullModelReport {
  return {
    model: 'kinship',
    method: 'REML',
    lambda: fit.lambda,
    sigmaG2: fit.sigmaG2,
    sigmaE2: fit.sigmaE2,
    h2: fit.h2,
    logLik: fit.logLik,
    atBound: fit.atBound,
    beta: namedBeta(names, fit.beta),
  };
}

/** The report of a low-rank null model, with how many columns of W were used and dropped. */
export function lowRankReport(fit: LowRankNullModel, names: readonly string[], w: { wColumns: number; wColumnsDropped: number }): NullModelReport {
  return {
    model: 'lowrank',
    method: 'REML',
    cr: fit.cr,
    cn: fit.cn,
    logLik: fit.logLik,
    lml: fit.lml,
    atBoundary: fit.atBoundary,
    beta: namedBeta(names, fit.beta),
    ...w,
  };
}
