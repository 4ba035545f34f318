import { ArgumentError, ShapeError } from '../errors.js';
import type { Backend, Eigen } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { KinshipCovariance } from './kinship.js';
import { checkKinshipSpectrum } from './psd.js';
import { fitLambda, type LambdaFit, type RotatedData, type VarianceMethod } from './lambda.js';
import { singleTrait, type TraitInput } from './traits.js';

/** Options of `fitKinshipNull`. */
export interface FitKinshipOptions {
  /** Trait: a vector of length N or an N x 1 Matrix (no NaN). */
  y: TraitInput;
  /** N x k covariates (include the intercept). */
  covariates: Matrix;
  /** The N x N relatedness matrix R, or its eigendecomposition when already computed. */
  kinship: Matrix | Eigen;
  /** The fit the covariance is built from: REML (default) or ML. */
  method?: VarianceMethod;
  /**
   * Also fit the other method (default false). GEMMA's exact test needs the
   * ML fit (the score test's lambda, the LRT's H0); `gwasScan` fits it when
   * absent, so a saved model that has it spares every worker that search.
   */
  both?: boolean;
  /**
   * Double-centre R over the analysed samples first, R - row means - column
   * means + grand mean, as GEMMA does before its eigendecomposition (its
   * `CenterMatrix`). With an intercept among the covariates this leaves the
   * REML fit unchanged but moves ML fits and the exact test's LRT and score
   * statistics; set it to reproduce `gemma -lmm`. With an eigendecomposition
   * as `kinship`, `center: true` says that it is of the double-centred R
   * (a caller that decomposes once for several traits), recorded in `centered`.
   */
  center?: boolean;
  /**
   * Proceed when R has eigenvalues below -1e-8 x its largest (not rounding:
   * R is not a relatedness matrix), setting them to 0 like the rounding-size
   * ones (default false: a NotPositiveSemidefiniteError).
   */
  allowNonPsd?: boolean;
  backend?: Backend;
}

/**
 * A fitted kinship null model y ~ N(F b, sigmaG2 R + sigmaE2 I): everything
 * a scan needs (`gwasScan({ null })`, fixed or exact test) and what
 * `saveNullModel` writes. The flat parameters are those of the fit named by
 * `method`.
 */
export interface KinshipNullModel {
  readonly kind: 'kinship';
  /** Samples N. */
  readonly n: number;
  /** The backend the model was made on (its covariance whitens with it). */
  readonly backend: Backend;
  /** The trait (length N) and the N x k covariates the model was fitted to. */
  readonly y: Float64Array;
  readonly covariates: Matrix;
  readonly covariance: KinshipCovariance;
  /** The eigendecomposition of R (of the double-centred R when `centered`). */
  readonly eigen: Eigen;
  /** Whether R was double-centred before its eigendecomposition. */
  readonly centered: boolean;
  /** The rotated data U^T y, U^T F with the clamped eigenvalues (what the exact test reuses). */
  readonly rotated: RotatedData;
  /** Which fit the parameters below and the covariance come from. */
  readonly method: VarianceMethod;
  /** lambda = sigmaG2 / sigmaE2. */
  readonly lambda: number;
  readonly sigmaG2: number;
  readonly sigmaE2: number;
  /** sigmaG2 mean(diag R) / (sigmaG2 mean(diag R) + sigmaE2), mean(diag R) as the mean clamped eigenvalue. */
  readonly h2: number;
  /** GEMMA's (restricted) log-likelihood at lambda, full Gaussian constant (bigger is better). */
  readonly logLik: number;
  /** GLS fixed effects (length k). */
  readonly beta: Float64Array;
  /** Which bound of GEMMA's lambda range lambda sits on, if any. */
  readonly atBound: 'lower' | 'upper' | null;
  /** The REML fit (present when method is 'reml' or with `both`). */
  readonly reml?: LambdaFit;
  /** The ML fit (present when method is 'ml' or with `both`). */
  readonly ml?: LambdaFit;
}

/**
 * Fits the null model of a kinship LMM once (FaST-LMM, Lippert et al. 2011;
 * GEMMA, Zhou & Stephens 2012): one eigendecomposition R = U diag(s) U^T
 * (O(N^3), on the backend), one rotation of y and F, then REML or ML over
 * lambda = sigmaG2 / sigmaE2 on [1e-5, 1e5] by GEMMA's grid and Brent search
 * at O(N k^2) per evaluation. The covariance it returns whitens batches with
 * one gemm for the scans. Negative eigenvalues of R beyond rounding are an
 * error (`checkKinshipSpectrum`) unless `allowNonPsd`; the others are set to 0.
 */
export function fitKinshipNull(opts: FitKinshipOptions): KinshipNullModel {
  const backend = opts.backend ?? getBackend();
  const y = singleTrait(opts.y, 'fitKinshipNull');
  const n = y.length;
  const f = opts.covariates;
  if (f.rows !== n) throw new ShapeError(`fitKinshipNull: y has ${n} samples but covariates have ${f.rows} rows`);
  let eigen: Eigen;
  // One N x N copy: the caller's kinship is left as it was, the copy becomes the eigenvectors.
  if (opts.kinship instanceof Matrix) eigen = backend.syevdInPlace(opts.center === true ? doubleCenter(opts.kinship) : opts.kinship.clone());
  else eigen = opts.kinship;
  if (eigen.values.length !== n) throw new ShapeError(`fitKinshipNull: y has ${n} samples but the kinship is ${eigen.values.length} x ${eigen.values.length}`);
  checkKinshipSpectrum(eigen.values, { allowNonPsd: opts.allowNonPsd });
  const yf = new Matrix(n, f.cols + 1);
  yf.data.set(y, 0);
  yf.data.set(f.data, n);
  const rot = backend.gemm(eigen.vectors, yf, { transA: true });
  const rotated: RotatedData = {
    eigenvalues: eigen.values.map((s) => Math.max(s, 0)),
    uty: rot.data.slice(0, n),
    utw: new Matrix(n, f.cols, rot.data.slice(n)),
  };
  const method = opts.method ?? 'reml';
  const fit = fitLambda(rotated, { method });
  const other = opts.both === true ? fitLambda(rotated, { method: method === 'reml' ? 'ml' : 'reml' }) : undefined;
  const fits = method === 'reml' ? { reml: fit, ml: other } : { reml: other, ml: fit };
  return kinshipNullModel({ y, covariates: f, eigen, centered: opts.center === true, rotated, method, ...fits, backend });
}

/** The parts of a kinship null model from which `kinshipNullModel` assembles it. */
export interface KinshipNullParts {
  y: Float64Array;
  covariates: Matrix;
  eigen: Eigen;
  centered: boolean;
  rotated: RotatedData;
  method: VarianceMethod;
  reml?: LambdaFit;
  ml?: LambdaFit;
  backend: Backend;
}

/**
 * Assembles a `KinshipNullModel` from its fits (the fit named by `method`
 * must be present): the covariance and h2 are derived here, the one place,
 * so that a model read back from a file is the object `fitKinshipNull` made.
 */
export function kinshipNullModel(parts: KinshipNullParts): KinshipNullModel {
  const fit = parts.method === 'reml' ? parts.reml : parts.ml;
  if (fit === undefined) throw new ArgumentError(`kinshipNullModel: method is '${parts.method}' but that fit is missing`);
  const n = parts.y.length;
  const meanDiag = parts.rotated.eigenvalues.reduce((a, b) => a + b, 0) / n;
  const g2 = fit.sigmaG2 * meanDiag;
  return {
    kind: 'kinship',
    n,
    backend: parts.backend,
    y: parts.y,
    covariates: parts.covariates,
    covariance: new KinshipCovariance(parts.eigen, fit.sigmaG2, fit.sigmaE2, parts.backend),
    eigen: parts.eigen,
    centered: parts.centered,
    rotated: parts.rotated,
    method: parts.method,
    lambda: fit.lambda,
    sigmaG2: fit.sigmaG2,
    sigmaE2: fit.sigmaE2,
    h2: g2 / (g2 + fit.sigmaE2),
    logLik: fit.logLik,
    beta: fit.beta,
    atBound: fit.atBound,
    ...(parts.reml === undefined ? {} : { reml: parts.reml }),
    ...(parts.ml === undefined ? {} : { ml: parts.ml }),
  };
}

/**
 * R - row means - column means + grand mean (GEMMA's `CenterMatrix`), a new
 * N x N matrix: the kinship GEMMA eigendecomposes for `-lmm`.
 */
export function doubleCenter(r: Matrix): Matrix {
  requireSquareKinship(r);
  return doubleCenterInPlace(r.clone());
}

/**
 * `doubleCenter` in R's own buffer (returned): R_ij - m_i - m_j + g with
 * m_j the mean of column j (= row j, R symmetric) and g the grand mean, so
 * that a kinship about to be eigendecomposed in place needs no second
 * N x N matrix. The means are taken before any entry changes.
 */
export function doubleCenterInPlace(r: Matrix): Matrix {
  const n = requireSquareKinship(r);
  const mean = new Float64Array(n);
  let grand = 0;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += r.data[i + j * n]!;
    mean[j] = s / n;
    grand += s;
  }
  grand /= n * n;
  const d = r.data;
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) d[i + j * n] = d[i + j * n]! - mean[i]! - mean[j]! + grand;
  return r;
}

function requireSquareKinship(r: Matrix): number {
  if (r.cols !== r.rows) throw new ShapeError(`fitKinshipNull: the kinship must be square, found ${r.shape}`);
  return r.rows;
}
