// A PLINK 1 fileset's contents in memory (browser-safe): the .bed's 2-bit
// codes of one variant, and the .bim and .fam lines, as `writeBed` writes
// them to disk and the web app's example hands to `openBedFiles`.
import { InputError, ShapeError } from '../../errors.js';
import type { Matrix } from '../../linalg/matrix.js';
import type { SampleTable } from '../samples.js';
import type { VariantTable } from '../variants.js';

/** The .bed's magic bytes and SNP-major mode byte. */
export const BED_HEADER = Uint8Array.of(0x6c, 0x1b, 0x01);

/**
 * Writes the 2-bit codes of one variant's dosages of the column-5 allele
 * into `out` (ceil(N / 4) zeroed bytes): 2 -> 00, 1 -> 10, 0 -> 11,
 * NaN -> 01; `j` (the variant) names it in the error for any other dosage.
 */
export function encodeBedVariant(col: Float64Array, out: Uint8Array, j: number): void {
  for (let i = 0; i < col.length; i++) {
    const d = col[i]!;
    const code = d === 2 ? 0 : d === 1 ? 2 : d === 0 ? 3 : Number.isNaN(d) ? 1 : -1;
    if (code < 0) throw new InputError(undefined, `writeBed: dosage of sample ${i} at variant ${j} must be 0, 1, 2 or NaN, found ${d}`);
    out[i >> 2]! |= code << (2 * (i & 3));
  }
}

/** The .bim text of `variants` (tab-separated, one line each, newline-terminated). */
export function bimText(variants: VariantTable): string {
  const bim = variants.id.map((id, j) => [variants.chrom[j], id, variants.cm[j], variants.pos[j], variants.a1[j], variants.a2[j]].join('\t'));
  return `${bim.join('\n')}\n`;
}

/** The .fam text of `samples`, no parents or sex, with the phenotype (NaN and absent are -9). */
export function famText(samples: SampleTable, phenotype?: ArrayLike<number>): string {
  const pheno = (i: number): string => (phenotype === undefined || Number.isNaN(phenotype[i]!) ? '-9' : String(phenotype[i]));
  return `${samples.iid.map((iid, i) => `${samples.fid[i]} ${iid} 0 0 0 ${pheno(i)}`).join('\n')}\n`;
}

/**
 * A whole fileset in memory from dosages (N x S, of the `.bim` column-5
 * allele): the bytes `writeBed` would write, for `openBedFiles`.
 */
export function bedFileset(
  dosages: Matrix,
  samples: SampleTable,
  variants: VariantTable,
  phenotype?: ArrayLike<number>,
): { bed: Uint8Array; bim: Uint8Array; fam: Uint8Array } {
  const n = dosages.rows;
  const s = dosages.cols;
  checkShape(dosages, samples, variants);
  const bpv = Math.ceil(n / 4);
  const bed = new Uint8Array(BED_HEADER.length + s * bpv);
  bed.set(BED_HEADER);
  for (let j = 0; j < s; j++) {
    const at = BED_HEADER.length + j * bpv;
    encodeBedVariant(dosages.col(j), bed.subarray(at, at + bpv), j);
  }
  const enc = new TextEncoder();
  return { bed, bim: enc.encode(bimText(variants)), fam: enc.encode(famText(samples, phenotype)) };
}

/** Refuses dosages whose shape is not samples x variants. */
export function checkShape(dosages: Matrix, samples: SampleTable, variants: VariantTable): void {
  if (samples.iid.length !== dosages.rows || variants.id.length !== dosages.cols) {
    throw new ShapeError(
      `writeBed: dosages are ${dosages.rows}x${dosages.cols} but there are ${samples.iid.length} samples and ${variants.id.length} variants`,
    );
  }
}
