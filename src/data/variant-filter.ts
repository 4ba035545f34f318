// The per-variant quality filters and imputation of a streamed genotype
// batch, and the streaming itself, shared by the scans (`gwasScan`,
// `mtlmmScan`, `mmEstStream`). The filters here follow the inclusive rule
// (a variant exactly at a threshold is kept, as GEMMA's -maf and -miss do);
// limix's geno_sugar filters in preprocess.ts follow the strict one.
import { ArgumentError } from '../errors.js';
import type { GenoProgress } from './geno-queue.js';
import type { DosageBatch, GenotypeBatch, GenotypeSource } from './genotypes.js';
import { resolveSelection, takeVariants, type VariantSelection } from './variants.js';

/** How a scan streams its genotype file: which samples and variants, the filters, the batches. */
export interface GenotypeStreamOptions {
  source: GenotypeSource;
  /** The analysed samples as indices into `source.samples`, in the row order of the trait(s) (default all, in file order). */
  samples?: ArrayLike<number>;
  /** Which variants (default all, in file order). */
  select?: VariantSelection;
  /** Variants read per batch (default: the reader's, `defaultBatchSize` of the analysed samples). */
  batchSize?: number;
  /** Drop variants whose minor allele frequency is below this (inclusive rule: maf = minMaf is kept; default 0). */
  minMaf?: number;
  /** Drop variants with a larger fraction of missing genotypes (inclusive rule: equal is kept; default 1: keep all). */
  maxMissing?: number;
  /**
   * Standardise dosages (limix's convention: betas per sd) instead of
   * testing mean-imputed dosages (betas per counted allele, the default).
   */
  standardize?: boolean;
  /** Called after each batch read, with the variants read so far. */
  onProgress?: (p: GenoProgress) => void;
  /**
   * How many more batches the consumer of the filtered stream may yet ask
   * for while it holds a batch's dosages (`BatchOptions.recycle`: the
   * reader then reuses a ring of buffers). Default: fresh storage per batch.
   * The scans set it themselves: their results hold no dosages.
   */
  recycle?: number;
}

/** Options of `filterInclusive`: the thresholds of the inclusive rule. */
export interface InclusiveFilterOptions {
  /** Keep variants whose minor allele frequency is at least this (in [0, 0.5]). */
  minMaf: number;
  /** Keep variants whose fraction of missing genotypes is at most this (in [0, 1]). */
  maxMissing: number;
  /** Standardise the kept dosages to mean 0 and population sd 1 (a constant one becomes 0). */
  standardize?: boolean;
}

/**
 * The filter thresholds of scan `who` with their defaults (minMaf 0,
 * maxMissing 1), checked: minMaf in [0, 0.5], maxMissing in [0, 1]
 * (BAD_ARGUMENT otherwise).
 */
export function checkVariantFilter(who: string, opts: { minMaf?: number; maxMissing?: number }): { minMaf: number; maxMissing: number } {
  const minMaf = opts.minMaf ?? 0;
  const maxMissing = opts.maxMissing ?? 1;
  if (!(minMaf >= 0 && minMaf <= 0.5)) throw new ArgumentError(`${who}: minMaf must be in [0, 0.5], found ${minMaf}`);
  if (!(maxMissing >= 0 && maxMissing <= 1)) throw new ArgumentError(`${who}: maxMissing must be in [0, 1], found ${maxMissing}`);
  return { minMaf, maxMissing };
}

/**
 * Streams the selected variants of `opts.source` for the analysed samples
 * in batches, filters and imputes each batch in place (`filterInclusive`;
 * the thresholds as given, see `checkVariantFilter`), reports the progress,
 * and yields the variants kept from each batch read (possibly none), in
 * file order.
 *
 * Standardising stays here, after imputation, rather than in the readers'
 * fused decode (`BatchOptions.standardize`): PLINK's sums the squares per
 * genotype code, and both PLINK's and BIMBAM's multiply by 1/sd where this
 * divides by sd, which changes most standardised dosages in their last bits
 * (and the scans' outputs are kept bit for bit).
 */
export async function* inclusiveFilteredBatches(opts: GenotypeStreamOptions): AsyncGenerator<DosageBatch> {
  const { source } = opts;
  const filter = { minMaf: opts.minMaf ?? 0, maxMissing: opts.maxMissing ?? 1, standardize: opts.standardize };
  const samples = opts.samples === undefined ? undefined : Int32Array.from(opts.samples);
  const total = resolveSelection(source.variants, opts.select, source.path).length;
  let read = 0;
  const recycle = opts.recycle === undefined ? {} : { recycle: opts.recycle };
  for await (const batch of source.batches({ size: opts.batchSize, select: opts.select, samples, ...recycle })) {
    read += batch.indices.length;
    const kept = filterInclusive(batch, filter);
    opts.onProgress?.({ variantsRead: read, total, fraction: total === 0 ? 1 : read / total });
    yield kept;
  }
}

/**
 * Filters and imputes a batch (N samples x b variants, column-major,
 * NaN = missing genotype) under the inclusive rule, one variant (column) at
 * a time:
 *
 * - a variant with no observed genotype, or whose fraction of missing
 *   genotypes (N - observed) / N is above `maxMissing`, is dropped (a
 *   fraction equal to `maxMissing` is kept);
 * - af = mean / 2 of the observed dosages (the frequency of the counted
 *   allele); a variant with maf = min(af, 1 - af) below `minMaf` is dropped
 *   (equal is kept);
 * - the missing dosages of a kept variant are replaced by the observed mean
 *   (mean imputation); with `standardize` the column is then centred on that
 *   mean and divided by its population sd over all N samples (imputed
 *   values included; a constant column becomes all 0).
 *
 * The observed counts and sums come from `batch.counts` when the reader
 * gives them (the same numbers: sums of integer dosages are exact), else
 * from a pass over each column.
 *
 * Compacts in place: each kept column is imputed where it lies and moved
 * down over the dropped ones inside `batch.dosages`' storage, and the
 * result's `dosages` is a view of the first k columns of that storage (the
 * batch's dosages are consumed). Indices, af, n and variants are new arrays.
 */
export function filterInclusive(batch: GenotypeBatch, opts: InclusiveFilterOptions): DosageBatch {
  const { rows: n, cols, data } = batch.dosages;
  const columns = new Int32Array(cols);
  const af = new Float64Array(cols);
  const observed = new Int32Array(cols);
  const counted = batch.counts;
  let k = 0;
  for (let j = 0; j < cols; j++) {
    const col = data.subarray(j * n, (j + 1) * n);
    let sum = 0;
    let obs = 0;
    if (counted !== undefined) {
      sum = counted.sum[j]!;
      obs = counted.observed[j]!;
    } else {
      for (let i = 0; i < n; i++) {
        const v = col[i]!;
        if (!Number.isNaN(v)) {
          sum += v;
          obs++;
        }
      }
    }
    if (obs === 0 || (n - obs) / n > opts.maxMissing) continue;
    const mean = sum / obs;
    const freq = mean / 2;
    if (Math.min(freq, 1 - freq) < opts.minMaf) continue;
    if (obs < n) for (let i = 0; i < n; i++) if (Number.isNaN(col[i]!)) col[i] = mean;
    if (opts.standardize === true) {
      let ss = 0;
      for (let i = 0; i < n; i++) ss += (col[i]! - mean) ** 2;
      const sd = Math.sqrt(ss / n);
      for (let i = 0; i < n; i++) col[i] = sd > 0 ? (col[i]! - mean) / sd : 0;
    }
    if (k !== j) data.copyWithin(k * n, j * n, (j + 1) * n);
    columns[k] = j;
    af[k] = freq;
    observed[k] = obs;
    k++;
  }
  const keptColumns = columns.subarray(0, k);
  return {
    dosages: batch.dosages.colView(0, k),
    indices: Int32Array.from(keptColumns, (j) => batch.indices[j]!),
    af: af.slice(0, k),
    n: observed.slice(0, k),
    variants: takeVariants(batch.variants, keptColumns),
  };
}
