import { InputError, ShapeError } from '../../errors.js';
import type { Matrix } from '../../linalg/matrix.js';
import { writeAtomically } from '../atomic.js';
import type { SampleTable } from '../samples.js';
import type { VariantTable } from '../variants.js';

/**
 * Writes a PLINK 1 binary fileset `PREFIX.bed/.bim/.fam` from dosages
 * (N x S, counting the `.bim` column-5 allele `a1`: 0, 1, 2, NaN = missing),
 * each file atomically, with an optional `.fam` phenotype column (NaN and
 * absent are -9). Used by lmmkit's simulator, tests and benchmarks.
 */
export async function writeBed(prefix: string, dosages: Matrix, samples: SampleTable, variants: VariantTable, phenotype?: ArrayLike<number>): Promise<void> {
  const n = dosages.rows;
  const s = dosages.cols;
  if (samples.iid.length !== n || variants.id.length !== s) {
    throw new ShapeError(`writeBed: dosages are ${n}x${s} but there are ${samples.iid.length} samples and ${variants.id.length} variants`);
  }
  const bpv = Math.ceil(n / 4);
  await writeAtomically(`${prefix}.bed`, async (append) => {
    await append(Uint8Array.of(0x6c, 0x1b, 0x01));
    const chunkVariants = Math.max(1, Math.floor((1 << 22) / Math.max(bpv, 1)));
    for (let j0 = 0; j0 < s; j0 += chunkVariants) {
      const j1 = Math.min(s, j0 + chunkVariants);
      const bytes = new Uint8Array((j1 - j0) * bpv);
      for (let j = j0; j < j1; j++) encodeVariant(dosages.col(j), bytes.subarray((j - j0) * bpv, (j - j0 + 1) * bpv), j);
      await append(bytes);
    }
  });
  const bim = variants.id.map((id, j) => [variants.chrom[j], id, variants.cm[j], variants.pos[j], variants.a1[j], variants.a2[j]].join('\t'));
  await writeAtomically(`${prefix}.bim`, (append) => append(`${bim.join('\n')}\n`));
  const pheno = (i: number): string => (phenotype === undefined || Number.isNaN(phenotype[i]!) ? '-9' : String(phenotype[i]));
  const fam = samples.iid.map((iid, i) => `${samples.fid[i]} ${iid} 0 0 0 ${pheno(i)}`);
  await writeAtomically(`${prefix}.fam`, (append) => append(`${fam.join('\n')}\n`));
}

/** 2-bit codes for a dosage of the column-5 allele: 2 -> 00, 1 -> 10, 0 -> 11, NaN -> 01. */
function encodeVariant(col: Float64Array, out: Uint8Array, j: number): void {
  for (let i = 0; i < col.length; i++) {
    const d = col[i]!;
    const code = d === 2 ? 0 : d === 1 ? 2 : d === 0 ? 3 : Number.isNaN(d) ? 1 : -1;
    if (code < 0) throw new InputError(undefined, `writeBed: dosage of sample ${i} at variant ${j} must be 0, 1, 2 or NaN, found ${d}`);
    out[i >> 2]! |= code << (2 * (i & 3));
  }
}
