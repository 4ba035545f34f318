// Association results as the plots read them: rows or columns from the API,
// and an incremental parser for the TSV that `lmmkit gwas` writes (or any
// table with chrom, pos, id and p-value columns). Browser-safe: the parser
// takes text chunks from any source (a Node stream, a browser ReadableStream
// through TextDecoder, a string).
import { ArgumentError, InputError, type LmmkitError } from '../errors.js';
import { compareChromNames } from '../data/chrom.js';

/** One association test, as an object (convenient for small inputs). */
export interface AssocRow {
  chrom: string | number;
  pos: number;
  id?: string;
  /** The p-value (give this or `log10p`). */
  pvalue?: number;
  /** log10 of the p-value (negative; finite where the p-value underflows); preferred over `pvalue`. */
  log10p?: number;
}

/** Chromosomes as a list of names and one code (index into `names`) per row: compact for millions of rows. */
export interface ChromCodes {
  names: readonly string[];
  codes: ArrayLike<number>;
}

/** Association tests as columns (one entry per test), the fast input for millions of rows. */
export interface AssocColumns {
  /** Chromosome names (`'1'`, `'chr2'`, `'X'`, or numbers), or `{names, codes}`. */
  chrom: ArrayLike<string | number> | ChromCodes;
  /** Base-pair positions. */
  pos: ArrayLike<number>;
  /** Variant ids (used to label the top hits); a Map from row to id when only some are known. */
  id?: ArrayLike<string | undefined> | ReadonlyMap<number, string>;
  /** p-values (give this or `log10p`; NaN = untested, skipped). */
  pvalue?: ArrayLike<number>;
  /** log10 p (negative, finite where p underflows; NaN = untested); preferred over `pvalue`. */
  log10p?: ArrayLike<number>;
}

/** What `manhattanPlot` accepts: an array of rows or columns. */
export type AssocInput = readonly AssocRow[] | AssocColumns;

/** Association results normalised for plotting. */
export interface AssocData {
  readonly n: number;
  /** Chromosome names, indexed by `chromCode`. */
  readonly chromNames: readonly string[];
  readonly chromCode: ArrayLike<number>;
  readonly pos: ArrayLike<number>;
  /** -log10 p of each row: NaN when untested, Infinity when p = 0. */
  readonly minusLog10p: Float64Array;
  /** The id of row i, when known. */
  id(i: number): string | undefined;
}

function isCodes(c: AssocColumns['chrom']): c is ChromCodes {
  return typeof (c as ChromCodes).names === 'object' && typeof (c as ChromCodes).codes === 'object' && !Array.isArray(c);
}

function bad(message: string): LmmkitError {
  return new ArgumentError(message);
}

/** Normalises rows or columns, checking lengths, chromosome codes and p-values. */
export function toAssocData(input: AssocInput): AssocData {
  if (Array.isArray(input)) return fromRows(input as readonly AssocRow[]);
  const cols = input as AssocColumns;
  const n = cols.pos.length;
  let chromNames: string[];
  let chromCode: ArrayLike<number>;
  if (isCodes(cols.chrom)) {
    chromNames = Array.from(cols.chrom.names, String);
    chromCode = cols.chrom.codes;
    if (chromCode.length !== n) throw bad(`chrom.codes: ${chromCode.length} codes for ${n} positions`);
    const m = chromNames.length;
    for (let i = 0; i < n; i++) {
      const c = chromCode[i]!;
      if (!(c >= 0 && c < m && Number.isInteger(c))) throw bad(`chrom.codes[${i}]: expected an integer in [0, ${m}), found ${c}`);
    }
  } else {
    const chrom = cols.chrom;
    if (chrom.length !== n) throw bad(`chrom: ${chrom.length} values for ${n} positions`);
    const index = new Map<string, number>();
    chromNames = [];
    const codes = new Int32Array(n);
    let last: string | number | undefined;
    let lastCode = -1;
    for (let i = 0; i < n; i++) {
      const c = chrom[i]!;
      if (c !== last) {
        const key = String(c);
        let k = index.get(key);
        if (k === undefined) {
          k = chromNames.length;
          index.set(key, k);
          chromNames.push(key);
        }
        last = c;
        lastCode = k;
      }
      codes[i] = lastCode;
    }
    chromCode = codes;
  }
  const minusLog10p = minusLog10(cols, n);
  const ids = cols.id;
  let id: (i: number) => string | undefined;
  if (ids === undefined) id = () => undefined;
  else if (ids instanceof Map) id = (i) => ids.get(i);
  else {
    const arr = ids as ArrayLike<string | undefined>;
    if (arr.length !== n) throw bad(`id: ${arr.length} values for ${n} positions`);
    id = (i) => arr[i];
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(cols.pos[i]!)) throw bad(`pos[${i}]: expected a finite position, found ${cols.pos[i]}`);
  }
  return { n, chromNames, chromCode, pos: cols.pos, minusLog10p, id };
}

function minusLog10(cols: { pvalue?: ArrayLike<number>; log10p?: ArrayLike<number> }, n: number): Float64Array {
  const out = new Float64Array(n);
  if (cols.log10p !== undefined) {
    const l = cols.log10p;
    if (l.length !== n) throw bad(`log10p: ${l.length} values for ${n} positions`);
    for (let i = 0; i < n; i++) {
      const v = l[i]!;
      if (v > 0) {
        if (v > 1e-9) throw bad(`log10p[${i}]: expected log10 of a p-value (<= 0), found ${v}`);
        out[i] = 0;
      } else out[i] = -v;
    }
  } else if (cols.pvalue !== undefined) {
    const p = cols.pvalue;
    if (p.length !== n) throw bad(`pvalue: ${p.length} values for ${n} positions`);
    for (let i = 0; i < n; i++) {
      const v = p[i]!;
      if (v < 0 || v > 1) throw bad(`pvalue[${i}]: expected a p-value in [0, 1], found ${v}`);
      out[i] = -Math.log10(v);
    }
  } else {
    throw bad('expected p-values: give pvalue or log10p');
  }
  return out;
}

function fromRows(rows: readonly AssocRow[]): AssocData {
  const log10p = Float64Array.from(rows, (r, i) => {
    if (r.log10p !== undefined) return r.log10p;
    if (r.pvalue === undefined) throw bad(`rows[${i}]: expected pvalue or log10p`);
    if (r.pvalue < 0 || r.pvalue > 1) throw bad(`rows[${i}].pvalue: expected a p-value in [0, 1], found ${r.pvalue}`);
    return Math.log10(r.pvalue);
  });
  return toAssocData({
    chrom: rows.map((r) => r.chrom),
    pos: Float64Array.from(rows, (r) => r.pos),
    id: rows.map((r) => r.id),
    log10p,
  });
}

// ---------------------------------------------------------------------------
// Natural chromosome order.

/**
 * Compares chromosome names in natural order, as plink2 codes them
 * (`chromSortKey` in data/chrom.ts): 1, 2, ..., 22 (with or without a `chr`
 * prefix), X (23), Y (24), XY (25), MT (M, 26), other numbers, then the
 * rest lexically.
 */
export function compareChrom(a: string, b: string): number {
  return compareChromNames(a, b);
}

// ---------------------------------------------------------------------------
// The TSV parser.

/** Options of `AssocTsvParser`. */
export interface AssocTsvOptions {
  /** The file name used in messages (default `'input'`). */
  file?: string;
  /**
   * The p-value column: a column of log10 values when its name starts with
   * `log10` (`log10p`, `log10p_lrt`), else of p-values. Default: `log10p`
   * when the header has it, else `pvalue`, `p`, `P`.
   */
  column?: string;
  /**
   * Keep the ids of the rows with a p-value below this (default 1e-5):
   * labels need only the top hits, and millions of ids cost memory.
   * `Infinity` keeps every id.
   */
  keepIdsBelow?: number;
}

/** A parsed association table. */
export interface AssocTable {
  file: string;
  /** The p-value column read. */
  column: string;
  rows: number;
  chrom: ChromCodes & { codes: Int32Array };
  pos: Float64Array;
  /** log10 p of each row (NaN where the table says NA). */
  log10p: Float64Array;
  /** Ids of the rows kept (see `keepIdsBelow`). */
  id: Map<number, string>;
}

const CHROM_NAMES = ['chrom', 'chr', '#chrom', '#chr', 'chromosome'];
const POS_NAMES = ['pos', 'bp', 'position', 'base_pair_location'];
const ID_NAMES = ['id', 'snp', 'rsid', 'variant_id', 'marker', 'rs'];
const P_NAMES = ['neg_log10_p', 'log10p', 'pvalue', 'p', 'p_value', 'p-value', 'pval'];
const MISSING = new Set(['NA', '', 'nan', 'NaN', '.', '-nan']);

/** Where an association table's needed columns are (0-based), from its header. */
interface AssocHeader {
  tab: boolean;
  chrom: number;
  pos: number;
  id: number;
  p: number;
  log: boolean;
  /** The column holds -log10 p (lmmkit's neg_log10_p), positive. */
  neg: boolean;
  column: string;
  last: number;
}

/**
 * Reads an association table from text chunks: a header naming the columns
 * chrom, pos, id and a p-value column (the TSV of `lmmkit gwas`, single- or
 * multi-variant layout; PLINK's CHR/BP/SNP/P also work), tab-separated or,
 * when the header has no tab, whitespace-separated. Only the needed columns
 * are parsed; memory is ~20 bytes per row plus the ids kept.
 */
export class AssocTsvParser {
  private readonly file: string;
  private readonly want: string | undefined;
  private readonly idLimit: number;
  private rest = '';
  private line = 0;
  private header: AssocHeader | undefined;
  private n = 0;
  private pos = new Float64Array(1024);
  private logp = new Float64Array(1024);
  private codes = new Int32Array(1024);
  private readonly names: string[] = [];
  private readonly index = new Map<string, number>();
  private readonly ids = new Map<number, string>();
  private lastChrom = '';
  private lastCode = -1;

  constructor(opts: AssocTsvOptions = {}) {
    this.file = opts.file ?? 'input';
    this.want = opts.column;
    const below = opts.keepIdsBelow ?? 1e-5;
    this.idLimit = below === Infinity ? Infinity : Math.log10(below);
  }

  /** Parses a chunk of text (any split, even inside a line). */
  push(chunk: string): void {
    const text = this.rest + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.parseLine(text, start, nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
      start = nl + 1;
    }
    this.rest = text.slice(start);
  }

  /** Parses what is left and returns the table. */
  finish(): AssocTable {
    if (this.rest !== '') this.parseLine(this.rest, 0, this.rest.endsWith('\r') ? this.rest.length - 1 : this.rest.length);
    this.rest = '';
    if (this.header === undefined) throw new InputError({ file: this.file }, 'expected a header line (chrom pos id ... log10p), found an empty file');
    const n = this.n;
    return {
      file: this.file,
      column: this.header.column,
      rows: n,
      chrom: { names: this.names, codes: this.codes.slice(0, n) },
      pos: this.pos.slice(0, n),
      log10p: this.logp.slice(0, n),
      id: this.ids,
    };
  }

  private parseHeader(line: string): void {
    const tab = line.includes('\t');
    const fields = (tab ? line.split('\t') : line.trim().split(/\s+/)).map((f) => f.trim());
    const lower = fields.map((f) => f.toLowerCase());
    const find = (names: readonly string[], what: string): number => {
      for (const nm of names) {
        const j = lower.indexOf(nm);
        if (j >= 0) return j;
      }
      throw new InputError({ file: this.file, line: this.line }, `expected a header with a ${what} column (${names.join(', ')}), found '${fields.join(' ')}'`);
    };
    const chrom = find(CHROM_NAMES, 'chromosome');
    const pos = find(POS_NAMES, 'position');
    const id = ID_NAMES.map((nm) => lower.indexOf(nm)).find((j) => j >= 0) ?? -1;
    let p: number;
    if (this.want !== undefined) {
      p = fields.indexOf(this.want);
      if (p < 0) throw new InputError({ file: this.file, line: this.line }, `expected a column '${this.want}' (--column), found '${fields.join(' ')}'`);
    } else p = find(P_NAMES, 'p-value');
    const column = fields[p]!;
    this.header = { tab, chrom, pos, id, p, log: /^log10/i.test(column), neg: /^neg_log10/i.test(column), column, last: Math.max(chrom, pos, id, p) };
  }

  private parseLine(text: string, start: number, end: number): void {
    this.line++;
    if (end <= start) return;
    const h = this.header;
    if (h === undefined) {
      const line = text.slice(start, end).replace(/^\uFEFF/, '');
      if (line.trim() === '') return;
      this.parseHeader(line);
      return;
    }
    let chromText = '';
    let posText = '';
    let pText = '';
    let idStart = -1;
    let idEnd = -1;
    if (h.tab) {
      let f = 0;
      let s = start;
      while (f <= h.last) {
        let e = text.indexOf('\t', s);
        if (e < 0 || e > end) e = end;
        if (f === h.chrom) chromText = text.slice(s, e);
        else if (f === h.pos) posText = text.slice(s, e);
        else if (f === h.p) pText = text.slice(s, e);
        if (f === h.id) {
          idStart = s;
          idEnd = e;
        }
        if (e === end) {
          if (f < h.last) this.fail(`expected at least ${h.last + 1} tab-separated fields, found ${f + 1}`);
          break;
        }
        s = e + 1;
        f++;
      }
    } else {
      const line = text.slice(start, end).trim();
      if (line === '') return;
      const fields = line.split(/\s+/);
      if (fields.length <= h.last) this.fail(`expected at least ${h.last + 1} fields, found ${fields.length}`);
      chromText = fields[h.chrom]!;
      posText = fields[h.pos]!;
      pText = fields[h.p]!;
      if (h.id >= 0) {
        this.add(h, chromText, posText, pText, fields[h.id]!);
        return;
      }
    }
    this.add(h, chromText, posText, pText, idStart < 0 ? undefined : () => text.slice(idStart, idEnd));
  }

  private add(h: AssocHeader, chromText: string, posText: string, pText: string, idText: string | (() => string) | undefined): void {
    if (chromText !== this.lastChrom || this.lastCode < 0) {
      let k = this.index.get(chromText);
      if (k === undefined) {
        if (chromText === '') this.fail('expected a chromosome, found an empty field');
        k = this.names.length;
        this.index.set(chromText, k);
        this.names.push(chromText);
      }
      this.lastChrom = chromText;
      this.lastCode = k;
    }
    const pos = Number(posText);
    if (posText === '' || !Number.isFinite(pos)) this.fail(`expected a position, found '${posText}'`);
    let lp: number;
    if (MISSING.has(pText)) lp = Number.NaN;
    else {
      const v = Number(pText);
      if (Number.isNaN(v)) this.fail(`expected a number in column '${h.column}', found '${pText}'`);
      if (h.neg) {
        if (v < -1e-9) this.fail(`expected -log10 of a p-value (>= 0) in column '${h.column}', found '${pText}'`);
        lp = -Math.max(v, 0);
      } else if (h.log) {
        if (v > 1e-9) this.fail(`expected log10 of a p-value (<= 0) in column '${h.column}', found '${pText}'`);
        lp = Math.min(v, 0);
      } else {
        if (!(v >= 0 && v <= 1)) this.fail(`expected a p-value in [0, 1] in column '${h.column}', found '${pText}'`);
        lp = Math.log10(v);
      }
    }
    const i = this.n;
    if (i === this.pos.length) this.grow();
    this.codes[i] = this.lastCode;
    this.pos[i] = pos;
    this.logp[i] = lp;
    if (idText !== undefined && (lp <= this.idLimit || this.idLimit === Infinity)) this.ids.set(i, typeof idText === 'string' ? idText : idText());
    this.n = i + 1;
  }

  private grow(): void {
    const size = this.pos.length * 2;
    const pos = new Float64Array(size);
    pos.set(this.pos);
    this.pos = pos;
    const logp = new Float64Array(size);
    logp.set(this.logp);
    this.logp = logp;
    const codes = new Int32Array(size);
    codes.set(this.codes);
    this.codes = codes;
  }

  private fail(message: string): never {
    throw new InputError({ file: this.file, line: this.line }, message);
  }
}

/** Parses a whole association table held in a string (see `AssocTsvParser`). */
export function parseAssocTsv(text: string, opts: AssocTsvOptions = {}): AssocTable {
  const p = new AssocTsvParser(opts);
  p.push(text);
  return p.finish();
}
