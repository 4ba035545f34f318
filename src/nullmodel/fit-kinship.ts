import { LmmkitError, ShapeError } from '../errors.js';
import type { Backend, Eigen } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { KinshipCovariance } from './kinship.js';
import { fitLambda, type LambdaFit, type RotatedData, type VarianceMethod } from './lambda.js';

/** Options of `fitKinshipNull`. */
export interface FitKinshipOptions {
  /** Trait, length N (no NaN). */
  y: ArrayLike<number>;
  /** N x k covariates (include the intercept). */
  covariates: Matrix;
  /** The N x N relatedness matrix R, or its eigendecomposition when already computed. */
  kinship: Matrix | Eigen;
  /** REML (default) or ML. */
  method?: VarianceMethod;
  /**
   * Double-centre R over the analysed samples first, R - row means - column
   * means + grand mean, as GEMMA does before its eigendecomposition (its
   * `CenterMatrix`). With an intercept among the covariates this leaves the
   * REML fit unchanged but moves ML fits and the exact test's LRT and score
   * statistics; set it to reproduce `gemma -lmm`. Only when `kinship` is a matrix.
   */
  center?: boolean;
  backend?: Backend;
}

/** A fitted kinship null model y ~ N(F b, sigmaG2 R + sigmaE2 I). */
export interface KinshipNullFit {
  covariance: KinshipCovariance;
  /** The variance-ratio fit (lambda = sigmaG2 / sigmaE2, log-likelihood, beta). */
  fit: LambdaFit;
  /** The rotated data U^T y, U^T F with the eigenvalues (what the exact test reuses). */
  rotated: RotatedData;
  /** The eigendecomposition of R. */
  eigen: Eigen;
}

/**
 * Fits the null model of a kinship LMM once (FaST-LMM, Lippert et al. 2011;
 * GEMMA, Zhou & Stephens 2012): one eigendecomposition R = U diag(s) U^T
 * (O(N^3), on the backend), one rotation of y and F, then REML or ML over
 * lambda = sigmaG2 / sigmaE2 on [1e-5, 1e5] by GEMMA's grid and Brent search
 * at O(N k^2) per evaluation. The covariance it returns whitens batches with
 * one gemm for the scans.
 */
export function fitKinshipNull(opts: FitKinshipOptions): KinshipNullFit {
  const backend = opts.backend ?? getBackend();
  const n = opts.y.length;
  const f = opts.covariates;
  if (f.rows !== n) throw new ShapeError(`fitKinshipNull: y has ${n} samples but covariates have ${f.rows} rows`);
  let eigen: Eigen;
  if (opts.kinship instanceof Matrix) eigen = backend.syevd(opts.center === true ? doubleCenter(opts.kinship) : opts.kinship);
  else if (opts.center === true) throw new LmmkitError('BAD_ARGUMENT', 'fitKinshipNull: center needs the kinship matrix, not its eigendecomposition');
  else eigen = opts.kinship;
  if (eigen.values.length !== n) throw new ShapeError(`fitKinshipNull: y has ${n} samples but the kinship is ${eigen.values.length} x ${eigen.values.length}`);
  const yf = new Matrix(n, f.cols + 1);
  yf.data.set(Float64Array.from(opts.y), 0);
  yf.data.set(f.data, n);
  const rot = backend.gemm(eigen.vectors, yf, { transA: true });
  const rotated: RotatedData = {
    eigenvalues: eigen.values.map((s) => Math.max(s, 0)),
    uty: rot.data.slice(0, n),
    utw: new Matrix(n, f.cols, rot.data.slice(n)),
  };
  const fit = fitLambda(rotated, { method: opts.method ?? 'reml' });
  const covariance = new KinshipCovariance(eigen, fit.sigmaG2, fit.sigmaE2, backend);
  return { covariance, fit, rotated, eigen };
}

/**
 * R - row means - column means + grand mean (GEMMA's `CenterMatrix`), a new
 * N x N matrix: the kinship GEMMA eigendecomposes for `-lmm`.
 */
export function doubleCenter(r: Matrix): Matrix {
  const n = r.rows;
  if (r.cols !== n) throw new ShapeError(`fitKinshipNull: the kinship must be square, found ${r.shape}`);
  const mean = new Float64Array(n);
  let grand = 0;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += r.data[i + j * n]!;
    mean[j] = s / n;
    grand += s;
  }
  grand /= n * n;
  const out = new Matrix(n, n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) out.data[i + j * n] = r.data[i + j * n]! - mean[i]! - mean[j]! + grand;
  return out;
}
