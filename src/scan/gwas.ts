import { ArgumentError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import type { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { checkVariantFilter, inclusiveFilteredBatches, type GenotypeStreamOptions } from '../data/variant-filter.js';
import type { DosageBatch } from '../data/genotypes.js';
import type { VariantSelection, VariantTable } from '../data/variants.js';
import type { KinshipCovariance } from '../nullmodel/kinship.js';
import type { SingleTraitNullModel } from '../nullmodel/null-model.js';
import { ExactScan, type ExactTestName, type ExactTestResult } from './exact.js';
import { stepBlocks, stepCarry } from './blocks.js';
import { LmmCore, type ScanResult } from './lmm-core.js';

/**
 * Options of `gwasScan`: the genotype stream (samples in the order of the
 * null model's), the null model (or the trait for OLS) and the test.
 */
export interface GwasScanOptions extends GenotypeStreamOptions {
  /**
   * The null model, whole (`fitKinshipNull`, `fitLowRankNull` or
   * `loadNullModel`): it carries the trait, the covariates and the
   * covariance. Absent: ordinary least squares of `y` on `covariates`.
   */
  null?: SingleTraitNullModel;
  /** Trait, one value per analysed sample (no NaN): only without `null`. */
  y?: ArrayLike<number>;
  /** N x k covariates, the intercept included (default a column of ones): only without `null`. */
  covariates?: Matrix;
  /**
   * 'fixed' (default): limix's test with the null covariance held fixed.
   * 'exact': GEMMA's `-lmm 4` tests with lambda re-estimated per variant
   * (needs a kinship null model; its ML fit is computed once when absent).
   */
  test?: 'fixed' | 'exact';
  /** Which exact tests to run (default all three; ['wald'] is `gemma -lmm 1`, about twice as fast). */
  exactTests?: readonly ExactTestName[];
  /** N x i interaction factors (fixed test only). */
  inter?: Matrix;
  /** Consecutive variants tested jointly (fixed test only, default 1). */
  step?: number;
  /** Backend of the scan's products (default the null model's, else `getBackend()`). */
  backend?: Backend;
  /**
   * A chunk of a split scan with step > 1 (`lmmkit gwas --chunk`): `before`
   * selects the variants ahead of the chunk in its run (read and filtered,
   * not tested, for the partial block they leave), and `last` says whether
   * the chunk ends its run (else its own partial block is the next chunk's).
   */
  resume?: { before: VariantSelection | undefined; last: boolean };
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
  exact?: ExactTestResult;
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
  const model = opts.null;
  const backend = opts.backend ?? model?.backend ?? getBackend();
  const { source } = opts;
  const test = opts.test ?? 'fixed';
  const step = opts.step ?? 1;
  if (model !== undefined && (opts.y !== undefined || opts.covariates !== undefined)) {
    throw new ArgumentError('gwasScan: give either a null model (it carries y and the covariates) or y and covariates, not both');
  }
  const y = model?.y ?? opts.y;
  if (y === undefined) throw new ArgumentError('gwasScan: needs a null model or y');
  const n = y.length;
  const nSamples = opts.samples?.length ?? source.samples.iid.length;
  if (nSamples !== n) throw new ShapeError(`gwasScan: ${n} trait values for ${nSamples} genotyped samples`);
  checkVariantFilter('gwasScan', opts);
  // The scan's test machinery, built once here and used by every batch.
  if (test === 'exact') {
    if (model?.kind !== 'kinship') {
      throw new ArgumentError(
        `gwasScan: the exact test needs a kinship null model (from fitKinshipNull), found ${model === undefined ? 'none' : `a ${model.kind} model`}`,
      );
    }
    if (opts.inter !== undefined || step !== 1) throw new ArgumentError('gwasScan: the exact test tests one variant at a time (no inter, step 1)');
    const scan = new ExactScan(model.rotated, { nullReml: model.reml, nullMl: model.ml, tests: opts.exactTests, backend });
    // stepBlocks with step 1 passes each batch on as it is, less those the filters emptied.
    yield* exactBatches(stepBlocks(inclusiveFilteredBatches({ ...opts, recycle: 1 }), 1), scan, model.covariance);
    return;
  }
  const core = new LmmCore({ y, covariates: model?.covariates ?? opts.covariates, covariance: model?.covariance, backend });
  // stepBlocks yields whole blocks of `step` variants, tested where they lie
  // (a view of the batch's storage unless a block straddles two batches).
  const resume =
    opts.resume === undefined || step === 1
      ? {}
      : {
          carry:
            opts.resume.before === undefined
              ? undefined
              : await stepCarry(inclusiveFilteredBatches({ ...opts, select: opts.resume.before, onProgress: undefined }), step),
          dropTail: !opts.resume.last,
        };
  // The loop holds a view of one batch (its carry) while the next is read,
  // and a result holds no dosages: the reader may reuse two buffers in turn
  // (the carry of a resumed chunk comes from its own, fresh storage).
  for await (const block of stepBlocks(inclusiveFilteredBatches({ ...opts, recycle: 1 }), step, resume)) {
    const { variants, indices, af, n: observed, dosages } = block;
    yield { variants, indices, af, n: observed, fixed: core.process(dosages, { inter: opts.inter, step }) };
  }
}

/**
 * The exact tests of a stream of filtered batches, in order, with each
 * batch's rotation U^T G (`KinshipCovariance.rotateStart`: on the native
 * backend, a gemm on a thread of its own) running while the next batch is
 * read and the previous one's lambda searches run here: batch b + 1 is
 * read while batch b is rotated, then batch b + 1's rotation is begun and
 * batch b tested. The rotated batches take two buffers in turn (a result
 * holds none of them). Batch b's dosages are read by its gemm until batch
 * b + 1 has been read, so the reader (recycle 1) may reuse two buffers.
 * Same results, with the same bits, as rotating and testing each batch in
 * turn: the gemm is the same call. An error reading or rotating batch
 * b + 1 is thrown after batch b is yielded, as without the overlap; an
 * early end (an error, the caller stopping) waits for the gemm in flight.
 */
async function* exactBatches(batches: AsyncIterable<DosageBatch>, scan: ExactScan, covariance: KinshipCovariance): AsyncGenerator<GwasBatchResult> {
  const it = batches[Symbol.asyncIterator]();
  const rotated = [new Float64Array(0), new Float64Array(0)];
  let slot = 0;
  const start = (batch: DosageBatch): PendingRotation => {
    const { rows, cols } = batch.dosages;
    slot = 1 - slot;
    if (rotated[slot]!.length < rows * cols) rotated[slot] = new Float64Array(rows * cols);
    return { batch, rotation: covariance.rotateStart(batch.dosages, rotated[slot]) };
  };
  let pending: PendingRotation | undefined;
  try {
    const first = await it.next();
    if (first.done === true) return;
    pending = start(first.value);
    while (pending !== undefined) {
      const current = pending;
      // A failure reading or starting batch b + 1 is thrown after batch b's results, as without the overlap.
      let failure: { error: unknown } | undefined;
      let next: IteratorResult<DosageBatch> | undefined;
      try {
        next = await it.next();
      } catch (error) {
        failure = { error };
      }
      pending = undefined;
      const utx = current.rotation.wait();
      if (next !== undefined && next.done !== true) {
        try {
          pending = start(next.value);
        } catch (error) {
          failure = { error };
        }
      }
      const { variants, indices, af, n } = current.batch;
      yield { variants, indices, af, n, exact: scan.test(utx) };
      if (failure !== undefined) throw failure.error;
    }
  } finally {
    // Ended early (batch b failed, the caller stopped): batch b + 1's gemm is over before the reader closes.
    pending?.rotation.wait();
    await it.return?.();
  }
}

/** A batch whose rotation is under way (`exactBatches`). */
interface PendingRotation {
  batch: DosageBatch;
  rotation: { wait(): Matrix };
}
