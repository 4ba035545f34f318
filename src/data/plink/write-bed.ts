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
  const n = dosages.rows;
  const s = dosages.cols;
  checkShape(dosages, samples, variants);
  const bpv = Math.ceil(n / 4);
  await writeAtomically(`${prefix}.bed`, async (append) => {
    await append(BED_HEADER);
    const chunkVariants = Math.max(1, Math.floor((1 << 22) / Math.max(bpv, 1)));
    for (let j0 = 0; j0 < s; j0 += chunkVariants) {
      const j1 = Math.min(s, j0 + chunkVariants);
      const bytes = new Uint8Array((j1 - j0) * bpv);
      for (let j = j0; j < j1; j++) encodeBedVariant(dosages.col(j), bytes.subarray((j - j0) * bpv, (j - j0 + 1) * bpv), j);
      await append(bytes);
    }
  });
  await writeAtomically(`${prefix}.bim`, (append) => append(bimText(variants)));
  await writeAtomically(`${prefix}.fam`, (append) => append(famText(samples, phenotype)));
}
