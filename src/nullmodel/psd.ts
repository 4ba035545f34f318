// Whether a relatedness matrix is a covariance: its eigenvalues must be
// >= 0. A kinship computed in floating point (or written with a few
// digits) has negative eigenvalues of rounding size; those are noise and are
// set to 0. A larger negative eigenvalue means the file is not a
// relatedness matrix (a typo, a distance matrix, a matrix of another sample
// order), and sigmaG2 R + sigmaE2 I is then not a covariance for large
// sigmaG2: that is refused unless the caller allows it.
import { NotPositiveSemidefiniteError } from '../errors.js';

/**
 * Eigenvalues down to -PSD_ROUNDING x the largest eigenvalue are rounding:
 * a symmetric eigensolver's error is about N eps ||R||, 1e-11 relative at
 * N = 50 000, so 1e-8 leaves room for a kinship written with 9 to 10
 * significant digits (the 1e-8 GEMMA's exact test also uses).
 */
export const PSD_ROUNDING = 1e-8;

/** What `checkKinshipSpectrum` found. */
export interface KinshipSpectrum {
  /** Eigenvalues below -PSD_ROUNDING x the largest: not rounding, set to 0 only when allowed. */
  clamped: number;
  /** The most negative eigenvalue (0 when none is negative). */
  mostNegative: number;
  /** The largest eigenvalue. */
  largest: number;
}

/** Options of `checkKinshipSpectrum`. */
export interface KinshipSpectrumOptions {
  /** Set eigenvalues below the rounding level to 0 too, instead of throwing (default false). */
  allowNonPsd?: boolean;
  /** What the matrix is, for the message (default 'the relatedness matrix'). */
  what?: string;
}

/**
 * Checks the eigenvalues of a relatedness matrix R (any order): a
 * NotPositiveSemidefiniteError naming the most negative eigenvalue when
 * some are below -PSD_ROUNDING x the largest, unless `allowNonPsd`. Returns
 * how many eigenvalues are beyond rounding (the ones callers then clamp to
 * 0 along with the rounding-size ones) and the most negative, for reports.
 */
export function checkKinshipSpectrum(values: ArrayLike<number>, opts: KinshipSpectrumOptions = {}): KinshipSpectrum {
  let largest = -Infinity;
  let mostNegative = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > largest) largest = v;
    if (v < mostNegative) mostNegative = v;
  }
  const floor = -PSD_ROUNDING * Math.max(largest, 0);
  let clamped = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! < floor) clamped++;
  if (clamped > 0 && opts.allowNonPsd !== true) {
    throw new NotPositiveSemidefiniteError(
      `${opts.what ?? 'the relatedness matrix'} is not positive semidefinite: its most negative eigenvalue is ${mostNegative} (${clamped} eigenvalue${clamped > 1 ? 's' : ''} below -${PSD_ROUNDING} x the largest, ${largest}); expected a kinship with no negative eigenvalue beyond rounding`,
      { clamped, mostNegative, largest },
    );
  }
  return { clamped, mostNegative, largest };
}
