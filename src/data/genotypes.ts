import { ArgumentError, SelectionError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import type { SampleTable } from './samples.js';
import { resolveSelection, type VariantSelection, type VariantTable } from './variants.js';

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

/**
 * The one genotype batch that the filters hand to every scan (`gwasScan`,
 * `mtlmmScan`, `mmEstStream`): a reader's `GenotypeBatch` with the variants
 * that failed the filters removed in place, missing dosages imputed, and the
 * per-variant summaries the outputs report. `dosages` is a view of the first
 * b columns of the storage the reader filled: the kept columns were moved
 * down inside it, not copied out (`filterInclusive` in variant-filter.ts).
 */
export interface DosageBatch extends GenotypeBatch {
  /** N x b dosages of the kept variants, column-major, no NaN. */
  readonly dosages: Matrix;
  /** Frequency of the counted allele per variant: mean observed dosage / 2. */
  readonly af: Float64Array;
  /** Samples with an observed genotype, per variant. */
  readonly n: Int32Array;
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
  /**
   * Yields consecutive batches of the selected variants, each in storage of
   * its own that the consumer may modify (the scans' filters compact the
   * dosages in place).
   */
  batches(opts?: BatchOptions): AsyncGenerator<GenotypeBatch>;
  /** Releases the file handle. */
  close(): Promise<void>;
}

/** What a reader's `batches` call will read: the batch size, the variants and the samples. */
export interface BatchPlan {
  size: number;
  /** Variant indices, in reading order. */
  indices: Int32Array;
  /** Sample indices, or undefined for all samples in file order. */
  samples: Int32Array | undefined;
}

/**
 * Validates `opts` against a source with `nSamples` samples and the given
 * variants, shared by every reader: size a positive integer, the selection
 * resolved to indices, sample indices in range. Errors name `path`.
 */
export function planBatches(opts: BatchOptions, variants: VariantTable, nSamples: number, path: string): BatchPlan {
  const size = opts.size ?? 1000;
  if (!Number.isInteger(size) || size < 1) {
    throw new ArgumentError(`batches: size must be a positive integer, found ${size}`);
  }
  const indices = resolveSelection(variants, opts.select, path);
  let samples: Int32Array | undefined;
  if (opts.samples !== undefined) {
    samples = Int32Array.from(opts.samples);
    for (const s of samples) {
      if (!(s >= 0 && s < nSamples)) {
        throw new SelectionError('BAD_SELECTION', `${path}: sample index ${s} is outside the file's ${nSamples} samples`);
      }
    }
  }
  return { size, indices, samples };
}
