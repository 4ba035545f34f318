import { ShapeError } from '../../errors.js';
import type { Matrix } from '../../linalg/matrix.js';
import { writeAtomically } from '../atomic.js';
import type { SampleTable } from '../samples.js';
import type { VariantTable } from '../variants.js';
import { BED_HEADER, bimText, checkShape, encodeBedVariant, famText } from './bed-bytes.js';

/**
 * Writes a PLINK 1 binary fileset `PREFIX.bed/.bim/.fam` from dosages
 * (N x S, counting the `.bim` column-5 allele `a1`: 0, 1, 2, NaN = missing),
 * each file atomically, with an optional `.fam` phenotype column (NaN and
 * absent are -9). Used by lmmkit's simulator, tests and benchmarks.
 */
export async function writeBed(prefix: string, dosages: Matrix, samples: SampleTable, variants: VariantTable, phenotype?: ArrayLike<number>): Promise<void> {
  checkShape(dosages, samples, variants);
  const bpv = Math.max(1, Math.ceil(dosages.rows / 4));
  const chunkVariants = Math.max(1, Math.floor((1 << 22) / bpv));
  function* chunks(): Generator<Matrix> {
    for (let j0 = 0; j0 < dosages.cols; j0 += chunkVariants) yield dosages.colView(j0, Math.min(dosages.cols, j0 + chunkVariants));
  }
  await writeBedBlocks(prefix, chunks(), samples, variants, phenotype);
}

/**
 * Writes `PREFIX.bed/.bim/.fam` as `writeBed` does from consecutive blocks
 * of variants (each N x b; their widths must add up to the variant count),
 * so that a simulator can stream a fileset larger than memory.
 */
export async function writeBedBlocks(
  prefix: string,
  blocks: Iterable<Matrix>,
  samples: SampleTable,
  variants: VariantTable,
  phenotype?: ArrayLike<number> | (() => ArrayLike<number>),
): Promise<void> {
  const n = samples.iid.length;
  const s = variants.id.length;
  const bpv = Math.ceil(n / 4);
  let written = 0;
  await writeAtomically(`${prefix}.bed`, async (append) => {
    await append(BED_HEADER);
    for (const block of blocks) {
      if (block.rows !== n || written + block.cols > s) {
        throw new ShapeError(`writeBedBlocks ${prefix}.bed: a block of ${block.shape} after ${written} variants does not fit ${n} samples x ${s} variants`);
      }
      const bytes = new Uint8Array(block.cols * bpv);
      for (let j = 0; j < block.cols; j++) encodeBedVariant(block.col(j), bytes.subarray(j * bpv, (j + 1) * bpv), written + j);
      written += block.cols;
      await append(bytes);
    }
    if (written !== s) throw new ShapeError(`writeBedBlocks ${prefix}.bed: the blocks held ${written} variants, the .bim ${s}`);
  });
  await writeAtomically(`${prefix}.bim`, (append) => append(bimText(variants)));
  const pheno = typeof phenotype === 'function' ? phenotype() : phenotype;
  await writeAtomically(`${prefix}.fam`, (append) => append(famText(samples, pheno)));
}
