import { InputError } from '../../errors.js';
import { parseLines, type LineParser } from '../lines.js';
import type { GenotypeQuirks } from '../genotypes.js';
import { findDuplicateIds, idHash, type VariantTable } from '../variants.js';

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
  // Each id's hash, taken while the id is fresh in cache, for `findDuplicateIds`.
  private hash: Uint32Array = new Uint32Array(1024);
  private readonly interned = new Map<string, string>();
  // Blank lines seen before variant `at`, recorded where the count changes,
  // so that a variant's line number costs nothing per variant.
  private readonly blankAt: number[] = [];
  private readonly blankCount: number[] = [];
  private negative: GenotypeQuirks['negativePositions'];
  /** The negative positions and repeated ids of the file, set by `finish`. */
  quirks: GenotypeQuirks = {};

  constructor(file: string) {
    this.file = file;
  }

  line(text: string, lineNumber: number): void {
    const line = text.trim();
    if (line === '') {
      const r = this.blankAt.length - 1;
      if (r >= 0 && this.blankAt[r] === this.id.length) this.blankCount[r]!++;
      else {
        this.blankAt.push(this.id.length);
        this.blankCount.push((this.blankCount[r] ?? 0) + 1);
      }
      return;
    }
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
    if (p < 0) {
      if (this.negative === undefined) this.negative = { count: 0, first: { file: this.file, line: lineNumber, id: f[1]!, position: p } };
      this.negative.count++;
    }
    const k = this.id.length;
    if (k === this.cm.length) {
      this.cm = grow(this.cm);
      this.pos = grow(this.pos);
      const h = new Uint32Array(this.hash.length * 2);
      h.set(this.hash);
      this.hash = h;
    }
    this.hash[k] = idHash(f[1]!);
    this.chrom.push(this.intern(f[0]!));
    this.id.push(f[1]!);
    this.cm[k] = g;
    this.pos[k] = p;
    this.a1.push(this.intern(f[4]!));
    this.a2.push(this.intern(f[5]!));
  }

  finish(): VariantTable {
    const s = this.id.length;
    const dup = findDuplicateIds(this.id, '.', this.hash);
    this.hash = new Uint32Array(0);
    this.quirks = {
      ...(this.negative === undefined ? {} : { negativePositions: this.negative }),
      ...(dup === undefined
        ? {}
        : { duplicateIds: { count: dup.count, first: { file: this.file, line: this.lineOf(dup.index), id: dup.id, firstLine: this.lineOf(dup.firstIndex) } } }),
    };
    return { chrom: this.chrom, id: this.id, cm: this.cm.slice(0, s), pos: this.pos.slice(0, s), a1: this.a1, a2: this.a2 };
  }

  /** The 1-based line of variant `k`: its index, plus 1, plus the blank lines before it. */
  private lineOf(k: number): number {
    // The last record at or before k, by bisection.
    let lo = 0;
    let hi = this.blankAt.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.blankAt[mid]! <= k) lo = mid + 1;
      else hi = mid;
    }
    return k + 1 + (lo === 0 ? 0 : this.blankCount[lo - 1]!);
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
