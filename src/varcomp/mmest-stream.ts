import { Matrix } from '../linalg/matrix.js';
import { inclusiveFilteredBatches, type GenotypeStreamOptions } from '../data/variant-filter.js';
import type { VariantTable } from '../data/variants.js';
import { MmEstRun, type MmEstModel, type MmEstOptions } from './mmest.js';

/** Options of `mmEstStream`: mmEst's without `x`, and the genotype file the markers stream from. */
export interface MmEstStreamOptions extends Omit<MmEstOptions, 'x' | 'xNames' | 'xColumnNames' | 'onProgress'>, Omit<GenotypeStreamOptions, 'standardize'> {}

/** The marker models of one batch of variants. */
export interface MmEstStreamBatch {
  /** The tested variants (after the filters), in file order. */
  variants: VariantTable;
  indices: Int32Array;
  /** Frequency of the counted allele and observed genotypes per variant. */
  af: Float64Array;
  n: Int32Array;
  /** One model per variant, started from the cofactor-only fit. */
  models: MmEstModel[];
  /** The cofactor-only fit (the same object in every batch). */
  nullModel: MmEstModel | undefined;
}

/**
 * mmEst's GWAS mode with the markers streamed from a genotype file (PLINK
 * or BIMBAM, DESIGN.md data/): each batch of variants is filtered (MAF,
 * missingness), mean-imputed, rotated with one gemm on the two-component
 * path, and fitted marker by marker, so memory stays O(N x batch) whatever
 * the number of variants. The marker enters as a numeric `Xeffect` (its
 * dosage of the counted allele); the cofactor-only model is fitted once,
 * first, and starts every marker model, as in `mmEst`.
 */
export async function* mmEstStream(opts: MmEstStreamOptions): AsyncGenerator<MmEstStreamBatch> {
  const n = opts.y.length;
  const { onProgress: _progress, source: _source, ...fitOpts } = opts;
  const run = new MmEstRun({ ...fitOpts, x: new Matrix(n, 0) });
  // Every marker of a batch is fitted before the next batch is asked for,
  // and the models hold no dosages: the reader may reuse one buffer.
  for await (const b of inclusiveFilteredBatches({ ...opts, standardize: false, recycle: 0 })) {
    const count = b.dosages.cols;
    const g = b.dosages;
    const models: MmEstModel[] = new Array(count);
    const markers = {
      kind: 'numeric' as const,
      count,
      columns: 1,
      names: b.variants.id.slice(),
      get: (m: number) => g.colView(m, m + 1),
      block: (m0: number, c: number) => g.colView(m0, m0 + c),
    };
    for (const mb of run.fitBatches(markers)) {
      mb.models.forEach((m, k) => {
        models[mb.start + k] = m;
      });
    }
    yield { variants: b.variants, indices: b.indices, af: b.af, n: b.n, models, nullModel: run.nullModel };
  }
}
