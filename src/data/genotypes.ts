import { ArgumentError, SelectionError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
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
  /**
   * Per variant, the observed genotypes and the sum of their dosages, when
   * the reader counted them as it decoded hard calls (the sum of integer
   * dosages is exact, so it equals any summation of the decoded column):
   * the filters then skip their own pass over the batch.
   */
  readonly counts?: { readonly observed: Int32Array; readonly sum: Float64Array };
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
  /** Variants per batch (default `defaultBatchSize` of the selected samples: 1000, fewer when N is large). */
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
  /**
   * Opt-in reuse of the batches' storage: the consumer declares that it
   * holds a batch's dosages (or views of them) no longer than while `k`
   * more batches are yielded, so the dosages of batch i may be overwritten
   * when batch i + k + 1 is read. The reader then decodes into a ring of
   * k + 1 buffers allocated once, instead of a fresh, zeroed N x b matrix
   * per batch (which cost as much as decoding a .pgen: 8 MB zeroed and
   * page-faulted per batch). Default: every batch in storage of its own.
   * A consumer that prefetches the next batch while it works on one
   * (`kinship`), or carries a view of one batch into the next
   * (`stepBlocks`), needs k = 1.
   */
  recycle?: number;
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
  /**
   * How the format names a sample: by FID and IID (default), or by one id
   * (`'iid'`: a .psam without a FID column), which tables are then matched on.
   */
  readonly sampleKey?: 'fid-iid' | 'iid';
  /**
   * What the reader accepted but a user should hear about (optional: a
   * source without it met nothing). The reader may add to it while
   * `batches` reads (BIMBAM dosages are checked as they are parsed).
   */
  readonly quirks?: GenotypeQuirks;
}

/** Where a quirk was first met: the variant, its file and 1-based line. */
export interface QuirkSite {
  file: string;
  line: number;
  id: string;
}

/**
 * Oddities of a genotype file that are analysed (or excluded) by rule rather
 * than refused, each counted with its first occurrence, for the warnings and
 * the `quirks` entry of a run's report. An absent entry means none met.
 */
export interface GenotypeQuirks {
  /**
   * `.bim` variants with a negative base-pair position. PLINK 1.9 reads a
   * negative position as "exclude this variant", so lmmkit's runs neither
   * test them nor use them in a kinship computed from the genotypes.
   */
  negativePositions?: { count: number; first: QuirkSite & { position: number } };
  /** Variants whose id (other than `.`) repeats an earlier variant's: analysed, as plink2 does. */
  duplicateIds?: { count: number; first: QuirkSite & { firstLine: number } };
  /**
   * VCF records with more than one ALT allele: skipped (not in the variant
   * table), never read as biallelic; split them first (`bcftools norm -m-`)
   * to analyse them.
   */
  multiAllelicSkipped?: { count: number; first: QuirkSite & { alt: string } };
  /**
   * BIMBAM dosages outside [0, 2] by more than 1e-6, among the variants
   * read so far (each variant counted once however often it is read):
   * kept as written, as GEMMA does.
   */
  dosagesOutOfRange?: { values: number; variants: number; first: QuirkSite & { sample: string; value: number } };
}

/**
 * The indices, in file order, of the variants `source` marks as excluded:
 * those of a `.bim` with a negative position (see `GenotypeQuirks`).
 */
export function excludedVariants(source: GenotypeSource): Int32Array {
  if (source.quirks?.negativePositions === undefined) return new Int32Array(0);
  const pos = source.variants.pos;
  const out: number[] = [];
  for (let i = 0; i < pos.length; i++) if (pos[i]! < 0) out.push(i);
  return Int32Array.from(out);
}

/**
 * `sel` (default all variants) without the variants `source` excludes (see
 * `excludedVariants`), as a selection for `batches`: `sel` itself when
 * nothing is excluded, so that runs on ordinary files read as before.
 */
export function analysedSelection(source: GenotypeSource, sel: VariantSelection | undefined): VariantSelection | undefined {
  const excluded = excludedVariants(source);
  if (excluded.length === 0) return sel;
  const drop = new Uint8Array(source.variants.id.length);
  for (const i of excluded) drop[i] = 1;
  return { indices: resolveSelection(source.variants, sel, source.path).filter((i) => drop[i] === 0) };
}

/** The most variants a default batch holds. */
export const MAX_DEFAULT_BATCH = 1000;

/**
 * The most bytes of dosages (N x b doubles) a default batch holds: 8 MiB.
 * A fresh N x b Float64 matrix per batch is the readers' storage, and the
 * scans allocate a few more of the same shape. Above glibc's mmap threshold
 * (at most 32 MiB) each one is mapped fresh and page-faulted in, which made
 * a 5000 x 1000 batch (40 MB) cost more to allocate than the decoding of a
 * .pgen; at 8 MiB the allocations reuse heap pages and the batch stays in
 * the last-level cache's reach, and a batch of a few hundred columns is
 * still wide enough for the scans' gemms (bench/formats.ts measures it).
 */
export const DEFAULT_BATCH_BYTES = 8 << 20;

/**
 * The default number of variants per batch for `nSamples` samples (rows):
 * `MAX_DEFAULT_BATCH` (1000), fewer when N x 1000 doubles would pass
 * `DEFAULT_BATCH_BYTES` (for N = 5000: 208), at least 1. An explicit size
 * (`BatchOptions.size`, `--batch-size`) wins.
 *
 * A smaller width is rounded down to a multiple of 8, as 1000 is: with the
 * native backend OpenBLAS's gemm kernels take a batch's columns in groups of
 * 8, and the statistics of a column in a full group do not depend on the
 * batch width, while those of the last (kept columns mod 8) of a batch get
 * last bits that depend on its shape (the js backend's depend on nothing).
 * So on a file whose variants all pass the filters, this default and the
 * old 1000 give bit-identical statistics but for the file's last (M mod 8)
 * variants; where filters drop variants, which kept columns fall in a
 * partial group depends on the batch boundaries whatever the width.
 */
export function defaultBatchSize(nSamples: number): number {
  const fit = Math.min(MAX_DEFAULT_BATCH, Math.floor(DEFAULT_BATCH_BYTES / (8 * Math.max(1, nSamples))));
  return fit >= 8 ? fit - (fit % 8) : Math.max(1, fit);
}

/** What a reader's `batches` call will read: the batch size, the variants and the samples. */
export interface BatchPlan {
  size: number;
  /** `BatchOptions.recycle`, checked (undefined: fresh storage per batch). */
  recycle: number | undefined;
  /** Variant indices, in reading order. */
  indices: Int32Array;
  /** Sample indices, or undefined for all samples in file order. */
  samples: Int32Array | undefined;
}

/**
 * Validates `opts` against a source with `nSamples` samples and the given
 * variants, shared by every reader: size a positive integer (default
 * `defaultBatchSize` of the selected samples), the selection resolved to
 * indices, sample indices in range. Errors name `path`.
 */
export function planBatches(opts: BatchOptions, variants: VariantTable, nSamples: number, path: string): BatchPlan {
  if (opts.size !== undefined && (!Number.isInteger(opts.size) || opts.size < 1)) {
    throw new ArgumentError(`batches: size must be a positive integer, found ${opts.size}`);
  }
  if (opts.recycle !== undefined && (!Number.isInteger(opts.recycle) || opts.recycle < 0)) {
    throw new ArgumentError(`batches: recycle must be a non-negative integer, found ${opts.recycle}`);
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
  const size = opts.size ?? defaultBatchSize(samples === undefined ? nSamples : samples.length);
  return { size, recycle: opts.recycle, indices, samples };
}

/**
 * The storage a reader's `batches` call decodes its batches into: a fresh
 * `rows` x b matrix per batch, or with `recycle` k (`BatchOptions.recycle`)
 * the next of k + 1 buffers, each allocated at its first use (the first
 * batches are the widest) and reused in turn (a narrower last batch is a
 * view of a buffer's first columns). Reused storage holds the values of an
 * earlier batch, so only a reader that writes every element of its batch
 * may use it: every reader here does (missing values are written as NaN).
 */
export class BatchStorage {
  private readonly ring: Float64Array[] = [];
  private turn = 0;

  constructor(
    private readonly rows: number,
    private readonly recycle: number | undefined,
  ) {}

  /** Storage for the next batch, `rows` x `cols`, column-major. */
  next(cols: number): Matrix {
    const k = this.recycle;
    const length = this.rows * cols;
    if (k === undefined) return new Matrix(this.rows, cols);
    const slot = this.turn;
    this.turn = (slot + 1) % (k + 1);
    let buf = this.ring[slot];
    if (buf === undefined || buf.length < length) {
      buf = new Float64Array(length);
      this.ring[slot] = buf;
    }
    return new Matrix(this.rows, cols, buf.length === length ? buf : buf.subarray(0, length));
  }
}
