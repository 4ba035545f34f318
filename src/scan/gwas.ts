import { LmmkitError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import type { GenotypeSource } from '../data/genotypes.js';
import type { GenoProgress } from '../data/geno-queue.js';
import { resolveSelection, takeVariants, type VariantSelection, type VariantTable } from '../data/variants.js';
import type { NullCovariance } from '../nullmodel/covariance.js';
import { KinshipCovariance } from '../nullmodel/kinship.js';
import type { LambdaFit, RotatedData } from '../nullmodel/lambda.js';
import { exactTests } from './exact.js';
import { LmmCore, type ScanResult } from './lmm-core.js';

/** Options of `gwasScan`. */
export interface GwasScanOptions {
  source: GenotypeSource;
  /** The analysed samples as indices into `source.samples`, in the order of `y` (default all, in file order). */
  samples?: ArrayLike<number>;
  /** Trait, one value per analysed sample (no NaN). */
  y: ArrayLike<number>;
  /** N x k covariates, the intercept included (default a column of ones). */
  covariates?: Matrix;
  /** The null covariance (default none: ordinary least squares). */
  covariance?: NullCovariance;
  /**
   * 'fixed' (default): limix's test with the null covariance held fixed.
   * 'exact': GEMMA's `-lmm 4` tests with lambda re-estimated per variant
   * (needs a `KinshipCovariance` and `rotated`).
   */
  test?: 'fixed' | 'exact';
  /** The rotated null data (from `fitKinshipNull`), for the exact test. */
  rotated?: RotatedData;
  /** The null REML and ML fits, for the exact test (computed when absent). */
  nullFits?: { reml?: LambdaFit; ml?: LambdaFit };
  /** N x i interaction factors (fixed test only). */
  inter?: Matrix;
  /** Consecutive variants tested jointly (fixed test only, default 1). */
  step?: number;
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
  onProgress?: (p: GenoProgress) => void;
  backend?: Backend;
}

/** The variants a batch tested, their summaries and their tests. */
export interface GwasBatchResult {
  /** Tested variants (after the filters), in file order. */
  variants: VariantTable;
  /** Indices of the variants in the file. */
  indices: Int32Array;
  /** Frequency of the counted allele (mean dosage / 2, observed samples). */
  af: Float64Array;
  /** Samples with an observed genotype, per variant. */
  n: Int32Array;
  /** The fixed-covariance test (one column per test: per variant when step = 1). */
  fixed?: ScanResult;
  /** The exact tests, per variant. */
  exact?: ReturnType<typeof exactTests>;
}

interface Pending {
  dosages: Float64Array[];
  indices: number[];
  af: number[];
  n: number[];
}

/**
 * Streams a genotype file through an LMM scan (DESIGN.md, scan/): reads
 * batches of variants (memory O(N x batch) whatever the file size), drops
 * variants by missingness and MAF, mean-imputes, and tests each batch with
 * one whitening (or rotation) gemm and O(N) work per variant. Yields one
 * result per batch, in file order. With `step` > 1 the blocks are formed
 * from the filtered variants across batch boundaries; the trailing variants
 * form a last, smaller block.
 */
export async function* gwasScan(opts: GwasScanOptions): AsyncGenerator<GwasBatchResult> {
  const backend = opts.backend ?? getBackend();
  const { source } = opts;
  const test = opts.test ?? 'fixed';
  const step = opts.step ?? 1;
  const n = opts.y.length;
  const samples = opts.samples === undefined ? undefined : Int32Array.from(opts.samples);
  const nSamples = samples?.length ?? source.samples.iid.length;
  if (nSamples !== n) throw new ShapeError(`gwasScan: ${n} trait values for ${nSamples} genotyped samples`);
  const minMaf = opts.minMaf ?? 0;
  const maxMissing = opts.maxMissing ?? 1;
  if (!(minMaf >= 0 && minMaf <= 0.5)) throw new LmmkitError('BAD_ARGUMENT', `gwasScan: minMaf must be in [0, 0.5], found ${minMaf}`);
  if (!(maxMissing >= 0 && maxMissing <= 1)) throw new LmmkitError('BAD_ARGUMENT', `gwasScan: maxMissing must be in [0, 1], found ${maxMissing}`);
  let core: LmmCore | undefined;
  let exactData: { rotated: RotatedData; covariance: KinshipCovariance; nullFits: { reml?: LambdaFit; ml?: LambdaFit } } | undefined;
  if (test === 'exact') {
    if (!(opts.covariance instanceof KinshipCovariance) || opts.rotated === undefined) {
      throw new LmmkitError('BAD_ARGUMENT', 'gwasScan: the exact test needs a kinship null model (covariance from fitKinshipNull and its rotated data)');
    }
    if (opts.inter !== undefined || step !== 1) throw new LmmkitError('BAD_ARGUMENT', 'gwasScan: the exact test tests one variant at a time (no inter, step 1)');
    exactData = { rotated: opts.rotated, covariance: opts.covariance, nullFits: opts.nullFits ?? {} };
  } else {
    core = new LmmCore({ y: opts.y, covariates: opts.covariates, covariance: opts.covariance, backend });
  }
  const total = resolveSelection(source.variants, opts.select, source.path).length;
  let read = 0;
  const pending: Pending = { dosages: [], indices: [], af: [], n: [] };

  const run = (p: Pending, count: number): GwasBatchResult => {
    const g = new Matrix(n, count);
    for (let j = 0; j < count; j++) g.data.set(p.dosages[j]!, j * n);
    const indices = Int32Array.from(p.indices.slice(0, count));
    const out: GwasBatchResult = {
      variants: takeVariants(source.variants, indices),
      indices,
      af: Float64Array.from(p.af.slice(0, count)),
      n: Int32Array.from(p.n.slice(0, count)),
    };
    if (core !== undefined) out.fixed = core.process(g, { inter: opts.inter, step });
    else if (exactData !== undefined) {
      out.exact = exactTests(exactData.rotated, exactData.covariance.rotate(g), {
        nullReml: exactData.nullFits.reml,
        nullMl: exactData.nullFits.ml,
      });
      // The null fits are the same for every batch: compute them once.
      exactData.nullFits = { reml: out.exact.nullReml, ml: out.exact.nullMl };
    }
    p.dosages.splice(0, count);
    p.indices.splice(0, count);
    p.af.splice(0, count);
    p.n.splice(0, count);
    return out;
  };

  for await (const batch of source.batches({ size: opts.batchSize ?? 1000, select: opts.select, samples })) {
    read += batch.indices.length;
    const d = batch.dosages;
    for (let j = 0; j < d.cols; j++) {
      const col = d.data.slice(j * n, (j + 1) * n);
      let sum = 0;
      let obs = 0;
      for (let i = 0; i < n; i++) {
        const v = col[i]!;
        if (!Number.isNaN(v)) {
          sum += v;
          obs++;
        }
      }
      if (obs === 0 || (n - obs) / n > maxMissing) continue;
      const mean = sum / obs;
      const af = mean / 2;
      if (Math.min(af, 1 - af) < minMaf) continue;
      let ss = 0;
      for (let i = 0; i < n; i++) {
        if (Number.isNaN(col[i]!)) col[i] = mean;
        ss += (col[i]! - mean) ** 2;
      }
      if (opts.standardize === true) {
        const sd = Math.sqrt(ss / n);
        for (let i = 0; i < n; i++) col[i] = sd > 0 ? (col[i]! - mean) / sd : 0;
      }
      pending.dosages.push(col);
      pending.indices.push(batch.indices[j]!);
      pending.af.push(af);
      pending.n.push(obs);
    }
    opts.onProgress?.({ variantsRead: read, total, fraction: total === 0 ? 1 : read / total });
    const ready = Math.floor(pending.indices.length / step) * step;
    if (ready > 0) yield run(pending, ready);
  }
  if (pending.indices.length > 0) yield run(pending, pending.indices.length);
}
