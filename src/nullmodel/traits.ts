import { InputError, ShapeError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';

/**
 * Trait values as every null fit takes them: a vector (one trait, length N)
 * or an N x P Matrix (P traits, column-major; N x 1 for one trait).
 */
export type TraitInput = ArrayLike<number> | Matrix;

/** Number of rows (samples) of a trait input. */
export function traitRows(y: TraitInput): number {
  return y instanceof Matrix ? y.rows : y.length;
}

/**
 * One trait as a new vector: a vector is copied, an N x 1 Matrix gives its
 * column; more than one column is refused (the single-trait fits).
 */
export function singleTrait(y: TraitInput, where: string): Float64Array {
  if (!(y instanceof Matrix)) return Float64Array.from(y);
  if (y.cols !== 1) throw new ShapeError(`${where}: fits one trait, found y of shape ${y.shape} (use fitKronSumNull for several traits)`);
  return Float64Array.from(y.data);
}

/** Traits as an N x P Matrix: a vector becomes N x 1 (a copy), a Matrix is used as given. */
export function traitMatrix(y: TraitInput): Matrix {
  return y instanceof Matrix ? y : Matrix.column(Float64Array.from(y));
}

/** Throws unless every value of y is finite, naming the first sample (and trait) that is not. */
export function requireFiniteTraits(y: Float64Array, n: number, where: string): void {
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i]!)) {
      const trait = y.length > n ? `, trait ${Math.floor(i / n)}` : '';
      throw new InputError(undefined, `${where}: y at sample ${i % n}${trait} is ${y[i]}: remove or impute missing phenotypes first`);
    }
  }
}
