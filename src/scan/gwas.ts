import { LmmkitError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import type { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { checkVariantFilter, inclusiveFilteredBatches, type GenotypeStreamOptions } from '../data/variant-filter.js';
import type { VariantTable } from '../data/variants.js';
import type { NullCovariance } from '../nullmodel/covariance.js';
import { KinshipCovariance } from '../nullmodel/kinship.js';
import type { LambdaFit, RotatedData } from '../nullmodel/lambda.js';
import { exactTests, type ExactTestName } from './exact.js';
import { stepBlocks } from './blocks.js';
import { LmmCore, type ScanResult } from './lmm-core.js';

/** Options of `gwasScan`: the genotype stream (samples in the order of `y`), the trait and the test. */
export interface GwasScanOptions extends GenotypeStreamOptions {
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
  /** Which exact tests to run (default all three; ['wald'] is `gemma -lmm 1`, about twice as fast). */
  exactTests?: readonly ExactTestName[];
  /** N x i interaction factors (fixed test only). */
  inter?: Matrix;
  /** Consecutive variants tested jointly (fixed test only, default 1). */
  step?: number;
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
  const nSamples = opts.samples?.length ?? source.samples.iid.length;
  if (nSamples !== n) throw new ShapeError(`gwasScan: ${n} trait values for ${nSamples} genotyped samples`);
  checkVariantFilter('gwasScan', opts);
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
  // stepBlocks yields whole blocks of `step` variants, tested where they lie
  // (a view of the batch's storage unless a block straddles two batches).
  for await (const block of stepBlocks(inclusiveFilteredBatches(opts), step)) {
    const { variants, indices, af, n: observed, dosages } = block;
    const out: GwasBatchResult = { variants, indices, af, n: observed };
    if (core !== undefined) out.fixed = core.process(dosages, { inter: opts.inter, step });
    else if (exactData !== undefined) {
      out.exact = exactTests(exactData.rotated, exactData.covariance.rotate(dosages), {
        nullReml: exactData.nullFits.reml,
        nullMl: exactData.nullFits.ml,
        tests: opts.exactTests,
      });
      // The null fits are the same for every batch: compute them once.
      exactData.nullFits = { reml: out.exact.nullReml, ml: out.exact.nullMl };
    }
    yield out;
  }
}
