import { InputError } from '../../errors.js';
import { parseLines, type LineParser } from '../lines.js';
import type { VariantTable } from '../variants.js';

/**
 * Parses the text of a PLINK `.bim` file: one variant per line, six
 * whitespace-separated fields `chrom id cm pos allele1 allele2`
 * (PLINK 1.9 file-format documentation). `file` names the file in errors.
 * The position must be a decimal integer (`0x1f` or `1e6` is an error).
 */
export function parseBim(text: string, file: string): VariantTable {
  return parseLines(text, new BimParser(file));
}

// Chromosome codes and alleles repeat: one string each (up to this many
// distinct ones) instead of one per variant keeps a 15M-variant table small.
const INTERN_LIMIT = 4096;

/**
 * The `.bim` parser as a `LineParser` (see `parseBim`), for a reader that
 * streams the file line by line. Memory is what the table holds.
 */
export class BimParser implements LineParser<VariantTable> {
  private readonly file: string;
  private readonly chrom: string[] = [];
  private readonly id: string[] = [];
  private readonly a1: string[] = [];
  private readonly a2: string[] = [];
  private cm: Float64Array = new Float64Array(1024);
  private pos: Float64Array = new Float64Array(1024);
  private readonly interned = new Map<string, string>();

  constructor(file: string) {
    this.file = file;
  }

  line(text: string, lineNumber: number): void {
    const line = text.trim();
    if (line === '') return;
    const f = line.split(/\s+/);
    const where = { file: this.file, line: lineNumber };
    if (f.length !== 6) {
      throw new InputError(where, `expected 6 whitespace-separated fields (chrom id cm pos allele1 allele2), found ${f.length}`);
    }
    const g = Number(f[2]);
    if (!Number.isFinite(g)) throw new InputError({ ...where, column: 3 }, `genetic position must be a number, found '${f[2]}'`);
    // Number() would also take '0x1f', '1e6' and ' 12': a position is written in decimal digits.
    const p = /^[+-]?\d+$/.test(f[3]!) ? Number(f[3]) : Number.NaN;
    if (!Number.isSafeInteger(p)) {
      throw new InputError({ ...where, column: 4 }, `expected a base-pair position written as a decimal integer, found '${f[3]}'`);
    }
    const k = this.id.length;
    if (k === this.cm.length) {
      this.cm = grow(this.cm);
      this.pos = grow(this.pos);
    }
    this.chrom.push(this.intern(f[0]!));
    this.id.push(f[1]!);
    this.cm[k] = g;
    this.pos[k] = p;
    this.a1.push(this.intern(f[4]!));
    this.a2.push(this.intern(f[5]!));
  }

  finish(): VariantTable {
    const s = this.id.length;
    return { chrom: this.chrom, id: this.id, cm: this.cm.slice(0, s), pos: this.pos.slice(0, s), a1: this.a1, a2: this.a2 };
  }

  private intern(s: string): string {
    const known = this.interned.get(s);
    if (known !== undefined) return known;
    if (this.interned.size < INTERN_LIMIT) this.interned.set(s, s);
    return s;
  }
}

function grow(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}
