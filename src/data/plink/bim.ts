import { InputError } from '../../errors.js';
import type { VariantTable } from '../variants.js';

/**
 * Parses the text of a PLINK `.bim` file: one variant per line, six
 * whitespace-separated fields `chrom id cm pos allele1 allele2`
 * (PLINK 1.9 file-format documentation). `file` names the file in errors.
 */
export function parseBim(text: string, file: string): VariantTable {
  const chrom: string[] = [];
  const id: string[] = [];
  const cm: number[] = [];
  const pos: number[] = [];
  const a1: string[] = [];
  const a2: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const f = line.split(/\s+/);
    const where = { file, line: i + 1 };
    if (f.length !== 6) {
      throw new InputError(where, `expected 6 whitespace-separated fields (chrom id cm pos allele1 allele2), found ${f.length}`);
    }
    const g = Number(f[2]);
    if (!Number.isFinite(g)) throw new InputError({ ...where, column: 3 }, `genetic position must be a number, found '${f[2]}'`);
    const p = Number(f[3]);
    if (!Number.isInteger(p)) {
      throw new InputError({ ...where, column: 4 }, `base-pair position must be an integer, found '${f[3]}'`);
    }
    chrom.push(f[0]!);
    id.push(f[1]!);
    cm.push(g);
    pos.push(p);
    a1.push(f[4]!);
    a2.push(f[5]!);
  }
  return { chrom, id, cm: Float64Array.from(cm), pos: Float64Array.from(pos), a1, a2 };
}
