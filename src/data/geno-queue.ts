import type { BatchOptions, GenotypeSource } from './genotypes.js';
import type { PreprocessedBatch, PreprocessStep } from './preprocess.js';
import { resolveSelection } from './variants.js';

/** How far a `genoQueue` has read: variants read so far (before filtering) out of those selected. */
export interface GenoProgress {
  readonly variantsRead: number;
  readonly total: number;
  /** variantsRead / total. */
  readonly fraction: number;
}

/** Options of `genoQueue`: the batch options plus preprocessing and progress. */
export interface GenoQueueOptions extends BatchOptions {
  /** Applied to every batch as read, e.g. `compose([...])` from preprocess.ts. */
  preprocess?: PreprocessStep;
  /** Called after each batch is read and preprocessed, before it is yielded. */
  onProgress?: (progress: GenoProgress) => void;
}

/**
 * geno_sugar's `GenoQueue(G, bim, batch_size, preprocess)` over a streamed
 * genotype source: yields the selected variants in batches of `size`, each
 * passed through `preprocess` (so a batch may hold fewer than `size`
 * variants once filters have run), and reports progress after each batch.
 */
export async function* genoQueue(source: GenotypeSource, opts: GenoQueueOptions = {}): AsyncGenerator<PreprocessedBatch> {
  const { preprocess, onProgress, ...batchOpts } = opts;
  const total = resolveSelection(source.variants, opts.select, source.path).length;
  let variantsRead = 0;
  for await (const batch of source.batches(batchOpts)) {
    variantsRead += batch.indices.length;
    const out = preprocess === undefined ? batch : preprocess(batch);
    onProgress?.({ variantsRead, total, fraction: variantsRead / total });
    yield out;
  }
}

/** The non-terminal progress line, `read 200 / 994 variants (20.12%)`. */
export function progressLine(p: GenoProgress): string {
  return `read ${p.variantsRead} / ${p.total} variants (${(100 * p.fraction).toFixed(2)}%)`;
}
