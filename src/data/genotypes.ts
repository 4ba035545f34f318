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
}

/** Options of `GenotypeSource.batches`. */
export interface BatchOptions {
  /** Variants per batch (default 1000). */
  size?: number;
  /** Which variants (default all, in file order). */
  select?: VariantSelection;
  /** Which samples, as indices into `samples` (default all, in file order). */
  samples?: ArrayLike<number>;
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
