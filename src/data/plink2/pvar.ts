import { InputError } from '../../errors.js';
import type { LineParser } from '../lines.js';
import type { GenotypeQuirks } from '../genotypes.js';
import { findDuplicateIds, idHash, type VariantTable } from '../variants.js';

/**
 * A `.pvar` parsed to a `VariantTable`. `a1` is the ALT allele and `a2` the
 * REF allele, as plink2 maps a `.bim` (column 5 = ALT, column 6 = REF) when it
 * makes a `.pgen`, so the dosages a pgen reader yields (ALT counts) match a
 * `.bed` reader's `a1` counts of the same data. `line` is each variant's
 * 1-based line, for messages.
 */
export interface PvarTable extends VariantTable {
  readonly line: Int32Array;
}

// Chromosome codes and alleles repeat: one string each up to this many.
const INTERN_LIMIT = 4096;

/**
 * The value of `text` when it is a non-negative decimal integer (digits
 * only, as /^\d+$/), else NaN. Digit by digit, exact up to 15 digits
 * (below 2^53); longer text goes through Number (a regular expression and
 * Number per line were ~15% of a .pvar's parse).
 */
function position(text: string): number {
  const len = text.length;
  if (len === 0) return Number.NaN;
  if (len > 15) return /^\d+$/.test(text) ? Number(text) : Number.NaN;
  let v = 0;
  for (let i = 0; i < len; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    v = v * 10 + d;
  }
  return v;
}

/**
 * The `.pvar` parser as a `LineParser`: `##` lines skipped; a `#CHROM` line
 * names the columns (CHROM POS ID REF ALT required; QUAL FILTER INFO CM
 * optional, in any order after them as plink2 writes them); without one the
 * file is read as plink2 reads a header-less `.pvar`, the `.bim` layout
 * `CHROM ID CM POS ALT REF` (or `CHROM ID POS ALT REF` with 5 fields).
 * Multi-allelic variants (a comma in ALT) are refused at `finish`, with
 * their count and the first one, since lmmkit counts one allele.
 */
export class PvarParser implements LineParser<PvarTable> {
  private readonly file: string;
  private readonly chrom: string[] = [];
  private readonly id: string[] = [];
  private readonly a1: string[] = [];
  private readonly a2: string[] = [];
  private cm: number[] = [];
  private pos: number[] = [];
  private lines: number[] = [];
  private readonly interned = new Map<string, string>();
  // Column positions: chrom, id, pos, ref, alt, cm (-1: absent).
  private cols: { chrom: number; id: number; pos: number; ref: number; alt: number; cm: number; min: number } | undefined;
  private headerless = false;
  private multi: { count: number; id: string; line: number } | undefined;
  /** Repeated ids, set by `finish`. */
  quirks: GenotypeQuirks = {};

  constructor(file: string) {
    this.file = file;
  }

  line(text: string, lineNumber: number): void {
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    // trim() only when the line starts with whitespace: it copies the line, a share of a 20 000-line parse.
    if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === '')) return;
    if (this.cols === undefined && !this.headerless) {
      if (line.startsWith('##')) return;
      if (line.startsWith('#')) {
        this.header(line, lineNumber);
        return;
      }
      this.headerless = true;
    }
    const f = this.headerless ? line.trim().split(/\s+/) : line.split('\t');
    const where = (): { file: string; line: number } => ({ file: this.file, line: lineNumber });
    if (this.headerless && this.cols === undefined) {
      if (f.length !== 6 && f.length !== 5) {
        throw new InputError(where(), `expected a #CHROM header line or the 6 .bim-like fields (CHROM ID CM POS ALT REF), found ${f.length} fields`);
      }
      this.cols = f.length === 6 ? { chrom: 0, id: 1, cm: 2, pos: 3, alt: 4, ref: 5, min: 6 } : { chrom: 0, id: 1, cm: -1, pos: 2, alt: 3, ref: 4, min: 5 };
    }
    const c = this.cols!;
    if (f.length < c.min) throw new InputError(where(), `expected at least ${c.min} fields, found ${f.length}`);
    const posText = f[c.pos]!;
    const p = position(posText);
    if (!Number.isSafeInteger(p)) {
      throw new InputError({ ...where(), column: c.pos + 1 }, `expected a base-pair position written as a non-negative decimal integer, found '${posText}'`);
    }
    let g = 0;
    if (c.cm >= 0) {
      g = Number(f[c.cm]);
      if (!Number.isFinite(g)) throw new InputError({ ...where(), column: c.cm + 1 }, `genetic position must be a number, found '${f[c.cm]}'`);
    }
    const alt = f[c.alt]!;
    if (alt.includes(',')) {
      if (this.multi === undefined) this.multi = { count: 0, id: f[c.id]!, line: lineNumber };
      this.multi.count++;
    }
    this.chrom.push(this.intern(f[c.chrom]!));
    this.id.push(f[c.id]!);
    this.cm.push(g);
    this.pos.push(p);
    this.a1.push(this.intern(alt));
    this.a2.push(this.intern(f[c.ref]!));
    this.lines.push(lineNumber);
  }

  finish(): PvarTable {
    if (this.multi !== undefined) {
      const m = this.multi;
      throw new InputError(
        { file: this.file, line: m.line },
        `expected biallelic variants (one ALT allele), found ${m.count} multi-allelic ${m.count === 1 ? 'variant' : 'variants'}, the first '${m.id}'; split or drop them with plink2 --max-alleles 2 --make-pgen`,
      );
    }
    // A loop, not Uint32Array.from(ids, idHash): the mapping form calls through the iteration protocol (~1.5 ms here).
    const hash = new Uint32Array(this.id.length);
    for (let i = 0; i < hash.length; i++) hash[i] = idHash(this.id[i]!);
    const dup = findDuplicateIds(this.id, '.', hash);
    const line = Int32Array.from(this.lines);
    if (dup !== undefined) {
      this.quirks = { duplicateIds: { count: dup.count, first: { file: this.file, line: line[dup.index]!, id: dup.id, firstLine: line[dup.firstIndex]! } } };
    }
    return { chrom: this.chrom, id: this.id, cm: Float64Array.from(this.cm), pos: Float64Array.from(this.pos), a1: this.a1, a2: this.a2, line };
  }

  private header(line: string, lineNumber: number): void {
    const names = line.slice(1).split('\t');
    const at = (n: string): number => names.indexOf(n);
    const need = ['CHROM', 'POS', 'ID', 'REF', 'ALT'];
    const missing = need.filter((n) => at(n) < 0);
    if (names[0] !== 'CHROM' || missing.length > 0) {
      throw new InputError(
        { file: this.file, line: lineNumber },
        `expected a tab-separated header line '#CHROM POS ID REF ALT ...', found '${line.slice(0, 80)}'${missing.length > 0 ? ` (no ${missing.join(', ')})` : ''}`,
      );
    }
    const cols = { chrom: 0, id: at('ID'), pos: at('POS'), ref: at('REF'), alt: at('ALT'), cm: at('CM') };
    this.cols = { ...cols, min: Math.max(...Object.values(cols)) + 1 };
  }

  private intern(s: string): string {
    const known = this.interned.get(s);
    if (known !== undefined) return known;
    if (this.interned.size < INTERN_LIMIT) this.interned.set(s, s);
    return s;
  }
}
