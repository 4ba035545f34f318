import type { Matrix } from '../linalg/matrix.js';
import type { SampleTable } from './samples.js';
import type { VariantSelection, VariantTable } from './variants.js';

/** One block of variants read from a genotype source. */
export interface GenotypeBatch {
  /** N x b allele dosages (N selected samples, b variants), column-major; NaN = missing. */
  readonly dosages: Matrix;
  /** The b variants' annotation. */
  readonly variants: VariantTable;
  /** The b variants' indices in the file. */
  readonly indices: Int32Array;
  /** Dosage mean and population sd per variant, after imputation and before standardising (with `standardize`). */
  readonly stats?: { readonly mean: Float64Array; readonly sd: Float64Array };
}

/** Options of `GenotypeSource.batches`. */
export interface BatchOptions {
  /** Variants per batch (default 1000). */
  size?: number;
  /** Which variants (default all, in file order). */
  select?: VariantSelection;
  /** Which samples, as indices into `samples` (default all, in file order). */
  samples?: ArrayLike<number>;
  /**
   * Mean-impute and standardise each variant as it is decoded (limix's
   * `impute` + `standardize`, population sd; a constant variant becomes
   * zeros), recording each variant's mean and sd in the batch's `stats`.
   * Sources that decode from compact codes (PLINK) fuse this into decoding.
   */
  standardize?: boolean;
}

/**
 * A genotype file read in batches of variants, so that memory stays
 * O(N x batch) whatever the file size (DESIGN.md, data/).
 */
export interface GenotypeSource {
  /** The file this reads (for messages). */
  readonly path: string;
  readonly samples: SampleTable;
  readonly variants: VariantTable;
  /** Yields consecutive batches of the selected variants. */
  batches(opts?: BatchOptions): AsyncGenerator<GenotypeBatch>;
  /** Releases the file handle. */
  close(): Promise<void>;
}
