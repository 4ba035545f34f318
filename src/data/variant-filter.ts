// The per-variant quality filters and imputation of a streamed genotype
// batch, and the streaming itself, shared by the single-trait (`gwasScan`)
// and multi-trait (`mtlmmScan`) scans.
import { LmmkitError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import type { GenoProgress } from './geno-queue.js';
import type { GenotypeSource } from './genotypes.js';
import { resolveSelection, type VariantSelection } from './variants.js';

/** How a scan streams its genotype file: which samples and variants, the filters, the batches. */
export interface GenotypeStreamOptions {
  source: GenotypeSource;
  /** The analysed samples as indices into `source.samples`, in the row order of the trait(s) (default all, in file order). */
  samples?: ArrayLike<number>;
  /** Which variants (default all, in file order). */
  select?: VariantSelection;
  /** Variants read per batch (default 1000). */
  batchSize?: number;
  /** Drop variants whose minor allele frequency is below this (default 0). */
  minMaf?: number;
  /** Drop variants with a larger fraction of missing genotypes (default 1: keep all). */
  maxMissing?: number;
  /**
   * Standardise dosages (limix's convention: betas per sd) instead of
   * testing mean-imputed dosages (betas per counted allele, the default).
   */
  standardize?: boolean;
  /** Called after each batch read, with the variants read so far. */
  onProgress?: (p: GenoProgress) => void;
}

/** Options of `filterVariants`. */
export interface VariantFilterOptions {
  /** Drop variants whose minor allele frequency is below this (in [0, 0.5]). */
  minMaf: number;
  /** Drop variants with a larger fraction of missing genotypes (in [0, 1]). */
  maxMissing: number;
  /** Standardise the kept dosages to mean 0 and population sd 1 (a constant one becomes 0). */
  standardize?: boolean;
}

/** The variants of a batch that passed the filters, in batch order. */
export interface FilteredVariants {
  /** Column of each kept variant in the batch. */
  columns: number[];
  /** Its dosages, one value per sample, imputed (and standardised when asked). */
  dosages: Float64Array[];
  /** Frequency of the counted allele: mean observed dosage / 2. */
  af: number[];
  /** Samples with an observed genotype. */
  n: number[];
}

/**
 * The filter thresholds of scan `who` with their defaults (minMaf 0,
 * maxMissing 1), checked: minMaf in [0, 0.5], maxMissing in [0, 1]
 * (BAD_ARGUMENT otherwise).
 */
export function checkVariantFilter(who: string, opts: { minMaf?: number; maxMissing?: number }): { minMaf: number; maxMissing: number } {
  const minMaf = opts.minMaf ?? 0;
  const maxMissing = opts.maxMissing ?? 1;
  if (!(minMaf >= 0 && minMaf <= 0.5)) throw new LmmkitError('BAD_ARGUMENT', `${who}: minMaf must be in [0, 0.5], found ${minMaf}`);
  if (!(maxMissing >= 0 && maxMissing <= 1)) throw new LmmkitError('BAD_ARGUMENT', `${who}: maxMissing must be in [0, 1], found ${maxMissing}`);
  return { minMaf, maxMissing };
}

/** The variants of one streamed batch that passed the filters, with their indices in the file. */
export interface FilteredBatch extends FilteredVariants {
  indices: Int32Array;
}

/**
 * Streams the selected variants of `opts.source` for the analysed samples
 * in batches, filters and imputes each batch (`filterVariants`; the
 * thresholds as given, see `checkVariantFilter`), reports the progress, and
 * yields the variants kept from each batch read (possibly none), in file
 * order.
 */
export async function* filteredBatches(opts: GenotypeStreamOptions): AsyncGenerator<FilteredBatch> {
  const { source } = opts;
  const filter = { minMaf: opts.minMaf ?? 0, maxMissing: opts.maxMissing ?? 1, standardize: opts.standardize };
  const samples = opts.samples === undefined ? undefined : Int32Array.from(opts.samples);
  const total = resolveSelection(source.variants, opts.select, source.path).length;
  let read = 0;
  for await (const batch of source.batches({ size: opts.batchSize ?? 1000, select: opts.select, samples })) {
    read += batch.indices.length;
    const kept = filterVariants(batch.dosages, filter);
    opts.onProgress?.({ variantsRead: read, total, fraction: total === 0 ? 1 : read / total });
    yield { ...kept, indices: Int32Array.from(kept.columns, (j) => batch.indices[j]!) };
  }
}

/**
 * Filters and imputes the dosages of a batch (N samples x variants,
 * column-major, NaN = missing genotype), one variant (column) at a time:
 *
 * - a variant with no observed genotype, or whose fraction of missing
 *   genotypes (N - observed) / N is above `maxMissing`, is dropped;
 * - af = mean / 2 of the observed dosages (the frequency of the counted
 *   allele); a variant with maf = min(af, 1 - af) below `minMaf` is dropped;
 * - the missing dosages of a kept variant are replaced by the observed mean
 *   (mean imputation); with `standardize` the column is then centred on that
 *   mean and divided by its population sd over all N samples (imputed
 *   values included; a constant column becomes all 0).
 *
 * The batch is not modified: each kept variant gets a fresh array.
 */
export function filterVariants(dosages: Matrix, opts: VariantFilterOptions): FilteredVariants {
  const n = dosages.rows;
  const out: FilteredVariants = { columns: [], dosages: [], af: [], n: [] };
  for (let j = 0; j < dosages.cols; j++) {
    const col = dosages.data.slice(j * n, (j + 1) * n);
    let sum = 0;
    let obs = 0;
    for (let i = 0; i < n; i++) {
      const v = col[i]!;
      if (!Number.isNaN(v)) {
        sum += v;
        obs++;
      }
    }
    if (obs === 0 || (n - obs) / n > opts.maxMissing) continue;
    const mean = sum / obs;
    const af = mean / 2;
    if (Math.min(af, 1 - af) < opts.minMaf) continue;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(col[i]!)) col[i] = mean;
      ss += (col[i]! - mean) ** 2;
    }
    if (opts.standardize === true) {
      const sd = Math.sqrt(ss / n);
      for (let i = 0; i < n; i++) col[i] = sd > 0 ? (col[i]! - mean) / sd : 0;
    }
    out.columns.push(j);
    out.dosages.push(col);
    out.af.push(af);
    out.n.push(obs);
  }
  return out;
}
