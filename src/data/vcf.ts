// VCF genotypes (VCFv4.x, plain text or decompressed BGZF) as a
// `GenotypeSource`. Browser-safe: the reader is handed a function that
// streams the file's decompressed bytes from the top (./node/vcf.ts gives one
// for a path, plain or gzip/BGZF), and cuts and parses the lines as bytes, so
// that a 50 kB record of 5000 samples is never decoded into a string.
import { ArgumentError, InputError } from '../errors.js';
import { LineCursor } from './line-cursor.js';
import type { NonEmpty } from '../non-empty.js';
import { BatchStorage, planBatches, type BatchOptions, type GenotypeBatch, type GenotypeQuirks, type GenotypeSource } from './genotypes.js';
import { standardizeInPlace } from './preprocess.js';
import type { SampleTable } from './samples.js';
import type { IndexedReadPlan } from './tabix/region-stream.js';
import { findDuplicateIds, idHash, takeVariants, type VariantTable } from './variants.js';

/** Where the dosages of a VCF come from (`--vcf-dosage`): a FORMAT field. */
export type VcfDosage = 'ds' | 'gp' | 'hds' | 'gt';

/** The FORMAT field each `VcfDosage` reads. */
const FIELD: Record<VcfDosage, string> = { ds: 'DS', gp: 'GP', hds: 'HDS', gt: 'GT' };

/** Options of `openVcfStream` and `openVcf`. */
export interface OpenVcfOptions {
  /**
   * The FORMAT field the dosages are read from (default `ds` when the header
   * declares `##FORMAT=<ID=DS,...>`, else `gt`). Every record must carry it.
   */
  dosage?: VcfDosage;
  /**
   * Set when the stream holds the header and only some records (a region
   * read through an index, ./tabix/region-stream.ts): the records' line
   * numbers in the file are then unknown, and messages name the variant
   * without a line. `plan` is what the index read (for the report).
   */
  indexed?: IndexedReadPlan;
}

/**
 * The decompressed bytes of a file from its first byte, in chunks of any
 * size; called once per pass over the file. An error thrown while iterating
 * (a truncated gzip stream) is reported with the line and variant reached.
 */
export type ChunkStream = () => AsyncIterable<Uint8Array>;

/**
 * Opens a VCF (VCFv4.x) read through `open` (see `ChunkStream`; `name`
 * names it in messages) as a `GenotypeSource`:
 *
 * - samples: the columns after FORMAT of the `#CHROM` line, each id both
 *   FID and IID (plink2 reads them as IIDs with no FID by default; tables are
 *   matched to them by IID). Repeated sample ids are refused, as plink2 does.
 * - variants: one per biallelic record, `a1` = ALT (the allele counted, as
 *   plink2 takes ALT as A1 and a `.bed` it exports as VCF has its A1 as ALT)
 *   and `a2` = REF; cM 0. Records with several ALT alleles are skipped and
 *   counted (`quirks.multiAllelicSkipped`), never read as biallelic.
 * - dosages (ALT counts, NaN missing): `gt` hard calls (`0/1`, `1|1`; `.` or
 *   `./.` missing; a half-call such as `./1` refused, as plink2 does by
 *   default); `ds` as written; `hds` the sum of the two haplotype dosages;
 *   `gp` P(het) + 2 P(hom ALT). A haploid call counts as a homozygous
 *   diploid one, as plink2 counts it: GT `1` is 2, and a haploid DS, HDS or
 *   GP (told by one allele in the sample's GT, one HDS value or two GP
 *   values) is doubled. A missing value (`.`, or a sample column without
 *   the field) is NaN.
 *
 * Opening streams the file once, keeping each record's first five columns
 * (not the text), and checks the header (`##fileformat=VCF...` first, a
 * `#CHROM` line) and that every record's FORMAT has the field; the sample
 * columns are parsed, and checked, when `batches` reads them. Every error is
 * an `InputError` naming the file, the line and the variant.
 */
export async function openVcfStream(name: string, open: ChunkStream, opts: OpenVcfOptions = {}): Promise<VcfReader> {
  if (opts.dosage !== undefined && !(opts.dosage in FIELD)) {
    throw new ArgumentError(`--vcf-dosage: expected ds, gp, hds or gt, found '${String(opts.dosage)}'`);
  }
  const scan = new OpenScan(name, opts.dosage, opts.indexed);
  const cursor = new LineCursor(name, open(), opts.indexed === undefined);
  try {
    while (await cursor.next()) {
      scan.line(cursor);
      cursor.after = scan.lastId;
    }
  } finally {
    await cursor.close();
  }
  return scan.reader(open, opts.indexed);
}

/** A VCF opened for streaming (see `openVcfStream`). */
export class VcfReader implements GenotypeSource {
  readonly path: string;
  readonly samples: SampleTable;
  readonly variants: VariantTable;
  /** The FORMAT field the dosages are read from. */
  readonly dosage: VcfDosage;
  readonly quirks: GenotypeQuirks;
  /** A VCF names each sample by one id (the #CHROM line's), as plink2 reads it without --double-id. */
  readonly sampleKey = 'iid';
  /** Set when only a region's records were read, through an index: what it read. */
  readonly index: IndexedReadPlan | undefined;
  private readonly open: ChunkStream;
  /** Physical lines before the first record (the header). */
  private readonly headerLines: number;
  /** Per variant: its record's index among the records, and its 1-based line. */
  private readonly record: Int32Array;
  private readonly lineOf: Float64Array;
  private readonly cursors = new Set<LineCursor>();
  private readonly formats = new Map<string, { field: number; gt: number }>();

  /** Use `openVcfStream` or `openVcf`. */
  constructor(
    path: string,
    open: ChunkStream,
    parts: {
      samples: SampleTable;
      variants: VariantTable;
      dosage: VcfDosage;
      quirks: GenotypeQuirks;
      headerLines: number;
      record: Int32Array;
      line: Float64Array;
      index?: IndexedReadPlan;
    },
  ) {
    this.path = path;
    this.open = open;
    this.samples = parts.samples;
    this.variants = parts.variants;
    this.dosage = parts.dosage;
    this.quirks = parts.quirks;
    this.headerLines = parts.headerLines;
    this.record = parts.record;
    this.lineOf = parts.line;
    this.index = parts.index;
  }

  get nSamples(): number {
    return this.samples.iid.length;
  }

  /**
   * Yields the selected variants in batches (N x b ALT dosages, NaN
   * missing), parsing the records as the file streams past and holding one
   * batch at a time. Selections in file order take one pass; a batch that
   * needs a record already passed restarts the stream from the top.
   */
  async *batches(opts: BatchOptions = {}): AsyncGenerator<GenotypeBatch> {
    const { size, recycle, indices, samples } = planBatches(opts, this.variants, this.nSamples, this.path);
    const n = this.nSamples;
    const storage = new BatchStorage(samples?.length ?? n, recycle);
    const tmp = samples === undefined ? undefined : new Float64Array(n);
    let cursor: LineCursor | undefined;
    let recordAt = 0;
    try {
      for (let start = 0; start < indices.length; start += size) {
        const idx = indices.subarray(start, Math.min(start + size, indices.length));
        // Output columns per record: a selection may name a variant twice.
        const columns = new Map<number, NonEmpty<number>>();
        let first = Infinity;
        let last = -1;
        idx.forEach((v, k) => {
          const r = this.record[v]!;
          const cols = columns.get(r);
          if (cols === undefined) columns.set(r, [k]);
          else cols.push(k);
          first = Math.min(first, r);
          last = Math.max(last, r);
        });
        if (cursor === undefined || recordAt > first) {
          await this.release(cursor);
          cursor = this.cursor();
          recordAt = 0;
          for (let h = 0; h < this.headerLines; h++) {
            if (!(await cursor.next())) throw this.changed(cursor);
          }
        }
        const out = storage.next(idx.length);
        while (recordAt <= last) {
          if (!(await cursor.next())) throw this.changed(cursor);
          if (cursor.end === cursor.start) continue;
          const cols = columns.get(recordAt++);
          if (cols === undefined) continue;
          const v = idx[cols[0]]!;
          cursor.after = this.variants.id[v]!;
          if (cursor.line !== this.lineOf[v]) throw this.changed(cursor);
          const rows = out.rows;
          const col = out.data.subarray(cols[0] * rows, (cols[0] + 1) * rows);
          this.parseRecord(cursor, v, tmp ?? col);
          if (tmp !== undefined && samples !== undefined) for (let k = 0; k < rows; k++) col[k] = tmp[samples[k]!]!;
          for (let c = 1; c < cols.length; c++) out.data.copyWithin(cols[c]! * rows, cols[0] * rows, (cols[0] + 1) * rows);
        }
        const stats = opts.standardize === true ? standardizeInPlace(out) : undefined;
        yield { dosages: out, variants: takeVariants(this.variants, idx), indices: idx.slice(), stats };
      }
    } finally {
      await this.release(cursor);
    }
  }

  /** Ends any stream a `batches` generator left open. */
  async close(): Promise<void> {
    await Promise.all([...this.cursors].map((c) => this.release(c)));
  }

  private changed(cursor: LineCursor): InputError {
    return new InputError(
      cursor.loc(),
      `expected the records found when the file was opened (${this.variants.id.length} variants), found other lines: the file changed since`,
    );
  }

  /**
   * Parses the sample columns of the record on `cursor` (variant `v`) into
   * `col` (one value per sample of the file), in one pass over its bytes.
   */
  private parseRecord(cursor: LineCursor, v: number, col: Float64Array): void {
    const buf = cursor.buf;
    const end = cursor.end;
    // The FORMAT column: after the 8th tab.
    let at = cursor.start;
    for (let t = 0; t < 8; t++) {
      const tab = buf.indexOf(9, at);
      if (tab < 0 || tab >= end) throw this.columnError(cursor, v);
      at = tab + 1;
    }
    let fmtEnd = buf.indexOf(9, at);
    if (fmtEnd < 0 || fmtEnd > end) fmtEnd = end;
    const fmt = this.format(latin1(buf, at, fmtEnd), cursor, v);
    const want = fmt.field;
    const gt = fmt.gt;
    const n = col.length;
    let p = fmtEnd;
    for (let s = 0; s < n; s++) {
      if (p >= end) throw this.columnError(cursor, v);
      p++; // the tab before the column
      // Subfield `want` (and GT) of this sample: [ws, we), [gs, ge); -1 when absent.
      let ws = -1;
      let we = -1;
      let gs = -1;
      let ge = -1;
      let sub = 0;
      let subStart = p;
      for (;;) {
        const c = p < end ? buf[p]! : 9;
        if (c === 58 || c === 9) {
          if (sub === want) {
            ws = subStart;
            we = p;
          }
          if (sub === gt) {
            gs = subStart;
            ge = p;
          }
          if (c === 9) break;
          sub++;
          subStart = p + 1;
        }
        p++;
      }
      col[s] = ws < 0 ? Number.NaN : this.value(buf, ws, we, gs, ge, cursor, v, s);
    }
    if (p < end) throw this.columnError(cursor, v);
  }

  /** The dosage of one sample from its field [ws, we) (and its GT [gs, ge), -1 when none). */
  private value(buf: Uint8Array, ws: number, we: number, gs: number, ge: number, cursor: LineCursor, v: number, s: number): number {
    if (this.dosage === 'gt') {
      const g = hardCall(buf, ws, we);
      if (g === HALF_CALL)
        throw this.valueError('a genotype with both alleles called or both missing (plink2 refuses half-calls too)', buf, ws, we, cursor, v, s);
      if (g === BAD_CALL) throw this.valueError("a biallelic genotype call (0, 1 or . alleles, '/' or '|', 1 or 2 of them)", buf, ws, we, cursor, v, s);
      return g;
    }
    // A haploid sample (one allele in its GT) doubles the dosage, as plink2 does.
    const haploid = gs >= 0 && isHaploid(buf, gs, ge);
    if (we === ws + 1 && buf[ws] === 46) return Number.NaN;
    if (this.dosage === 'ds') {
      const x = decimal(buf, ws, we);
      if (!(x >= -SLACK && x <= (haploid ? 1 : 2) + SLACK)) throw this.valueError(`a dosage in [0, ${haploid ? 1 : 2}] (DS) or .`, buf, ws, we, cursor, v, s);
      return haploid ? 2 * x : x;
    }
    const xs = decimals(buf, ws, we);
    if (xs === undefined) throw this.valueError(`comma-separated numbers (${FIELD[this.dosage]}) or .`, buf, ws, we, cursor, v, s);
    if (this.dosage === 'hds') {
      if (xs.length === 1 && inUnit(xs[0]!)) return 2 * xs[0]!;
      if (xs.length === 2 && inUnit(xs[0]!) && inUnit(xs[1]!)) return xs[0]! + xs[1]!;
      throw this.valueError('1 or 2 haplotype dosages in [0, 1] (HDS) or .', buf, ws, we, cursor, v, s);
    }
    if (xs.length === 3 && xs.every(inUnit)) return xs[1]! + 2 * xs[2]!;
    if (xs.length === 2 && xs.every(inUnit)) return 2 * xs[1]!;
    throw this.valueError('3 genotype probabilities in [0, 1] (GP; 2 for a haploid call) or .', buf, ws, we, cursor, v, s);
  }

  private valueError(what: string, buf: Uint8Array, ws: number, we: number, cursor: LineCursor, v: number, s: number): InputError {
    return new InputError(cursor.loc(), `variant '${this.variants.id[v]}', sample '${this.samples.iid[s]}': expected ${what}, found '${latin1(buf, ws, we)}'`);
  }

  /** The positions of the dosage field and of GT in a FORMAT column (cached: records share a few). */
  private format(text: string, cursor: LineCursor, v: number): { field: number; gt: number } {
    let f = this.formats.get(text);
    if (f === undefined) {
      const keys = text.split(':');
      f = { field: keys.indexOf(FIELD[this.dosage]), gt: keys.indexOf('GT') };
      if (f.field < 0) throw missingField(cursor.loc(), this.variants.id[v]!, this.dosage, text);
      this.formats.set(text, f);
    }
    return f;
  }

  private columnError(cursor: LineCursor, v: number): InputError {
    let tabs = 0;
    for (let p = cursor.start; p < cursor.end; p++) if (cursor.buf[p] === 9) tabs++;
    return new InputError(
      cursor.loc(),
      `variant '${this.variants.id[v]}': expected 9 + ${this.nSamples} = ${9 + this.nSamples} tab-separated columns (the #CHROM line's), found ${tabs + 1}`,
    );
  }

  private cursor(): LineCursor {
    const c = new LineCursor(this.path, this.open(), this.index === undefined);
    this.cursors.add(c);
    return c;
  }

  private async release(cursor: LineCursor | undefined): Promise<void> {
    if (cursor === undefined) return;
    this.cursors.delete(cursor);
    await cursor.close();
  }
}

/** How far a DS, HDS or GP value may stray outside its range by rounding alone. */
const SLACK = 1e-6;

function inUnit(x: number): boolean {
  return x >= -SLACK && x <= 1 + SLACK;
}

function missingField(where: { file: string; line?: number }, id: string, dosage: VcfDosage, format: string): InputError {
  return new InputError(where, `variant '${id}': expected the FORMAT field ${FIELD[dosage]} (--vcf-dosage ${dosage}), found FORMAT '${format}'`);
}

/** `hardCall` results that are not a dosage. */
const HALF_CALL = -1;
const BAD_CALL = -2;

/**
 * The ALT count of a GT call in [a, b): 0, 1, 2 (a haploid `1` counts 2),
 * NaN when missing, HALF_CALL or BAD_CALL.
 */
function hardCall(buf: Uint8Array, a: number, b: number): number {
  let alleles = 0;
  let alt = 0;
  let missing = 0;
  let p = a;
  for (;;) {
    if (p >= b) return BAD_CALL;
    const c = buf[p]!;
    if (c === 46) missing++;
    else if (c === 49) alt++;
    else if (c !== 48) return BAD_CALL;
    alleles++;
    p++;
    if (p === b) break;
    const sep = buf[p]!;
    if (sep !== 47 && sep !== 124) return BAD_CALL;
    p++;
  }
  if (alleles > 2) return BAD_CALL;
  if (missing === alleles) return Number.NaN;
  if (missing > 0) return HALF_CALL;
  return alleles === 1 ? 2 * alt : alt;
}

/** Whether the GT call in [a, b) has one allele (no `/` or `|`), not missing. */
function isHaploid(buf: Uint8Array, a: number, b: number): boolean {
  if (b <= a || (b === a + 1 && buf[a] === 46)) return false;
  for (let p = a; p < b; p++) if (buf[p] === 47 || buf[p] === 124) return false;
  return true;
}

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The number written in [a, b) (NaN for anything else). Plain decimals of
 * up to 15 digits are read as an exact integer over an exact power of ten,
 * which rounds once, as `Number(text)` does; others go through `Number`.
 */
function decimal(buf: Uint8Array, a: number, b: number): number {
  let p = a;
  let neg = false;
  if (p < b && (buf[p] === 45 || buf[p] === 43)) {
    neg = buf[p] === 45;
    p++;
  }
  let m = 0;
  let digits = 0;
  let frac = -1;
  for (; p < b; p++) {
    const c = buf[p]!;
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) frac = 0;
    else break;
  }
  if (p === b && digits > 0 && digits <= 15) {
    const x = frac > 0 ? m / POW10[frac]! : m;
    return neg ? -x : x;
  }
  const text = latin1(buf, a, b);
  return DECIMAL.test(text) ? Number(text) : Number.NaN;
}

/** The comma-separated numbers in [a, b), or undefined if one is not a number. */
function decimals(buf: Uint8Array, a: number, b: number): number[] | undefined {
  const out: number[] = [];
  let s = a;
  for (let p = a; p <= b; p++) {
    if (p === b || buf[p] === 44) {
      const x = decimal(buf, s, p);
      if (Number.isNaN(x)) return undefined;
      out.push(x);
      s = p + 1;
    }
  }
  return out;
}

/** Bytes [a, b) as text, one character per byte (ASCII, as VCF's fixed columns are). */
function latin1(buf: Uint8Array, a: number, b: number): string {
  if (b - a <= 64) return String.fromCharCode(...buf.subarray(a, b));
  return new TextDecoder('latin1').decode(buf.subarray(a, b));
}

/** Text of bytes [a, b) as UTF-8 (ids and the header). */
const utf8 = new TextDecoder('utf-8');
function text(buf: Uint8Array, a: number, b: number): string {
  for (let p = a; p < b; p++) if (buf[p]! >= 0x80) return utf8.decode(buf.subarray(a, b));
  return latin1(buf, a, b);
}

/** The opening pass: the header, then the first columns of each record. */
class OpenScan {
  lastId: string | undefined;
  private readonly name: string;
  private dosage: VcfDosage | undefined;
  private samples: string[] | undefined;
  private headerLines = 0;
  private readonly formatIds = new Set<string>();
  private readonly formats = new Map<string, boolean>();
  private readonly intern = new Map<string, string>();
  private readonly chrom: string[] = [];
  private readonly id: string[] = [];
  private readonly a1: string[] = [];
  private readonly a2: string[] = [];
  private pos: number[] = [];
  private record: number[] = [];
  private lines: number[] = [];
  private hashes: number[] = [];
  private records = 0;
  private multi: { count: number; first: { file: string; line: number; id: string; alt: string } } | undefined;

  private readonly indexed: IndexedReadPlan | undefined;

  constructor(name: string, dosage: VcfDosage | undefined, indexed: IndexedReadPlan | undefined) {
    this.name = name;
    this.dosage = dosage;
    this.indexed = indexed;
  }

  line(c: LineCursor): void {
    const { buf, start, end, line } = c;
    if (this.samples === undefined) {
      this.header(text(buf, start, end), line);
      return;
    }
    if (end === start) return;
    // The first five columns and FORMAT (the 9th).
    const tabs: number[] = [];
    let at = start;
    while (tabs.length < 9) {
      const t = buf.indexOf(9, at);
      if (t < 0 || t >= end) break;
      tabs.push(t);
      at = t + 1;
    }
    if (tabs.length < 9) {
      throw new InputError(c.loc(), `expected a record of 9 + ${this.samples.length} tab-separated columns, found ${tabs.length + 1}`);
    }
    const [t1, t2, t3, t4, t5, , , t8, t9] = tabs as [number, number, number, number, number, number, number, number, number];
    const id = text(buf, t2 + 1, t3);
    this.lastId = id;
    const record = this.records++;
    const alt = text(buf, t4 + 1, t5);
    const where = c.loc();
    const format = latin1(buf, t8 + 1, t9);
    let ok = this.formats.get(format);
    if (ok === undefined) {
      ok = format.split(':').includes(FIELD[this.dosage!]);
      this.formats.set(format, ok);
    }
    if (!ok) throw missingField(where, id, this.dosage!, format);
    if (alt.includes(',')) {
      if (this.multi === undefined) this.multi = { count: 1, first: { file: this.name, line: where.line ?? 0, id, alt } };
      else this.multi.count++;
      return;
    }
    const posText = latin1(buf, t1 + 1, t2);
    const pos = Number(posText);
    if (!/^\d+$/.test(posText) || !Number.isSafeInteger(pos))
      throw new InputError(where, `variant '${id}': expected a position (POS, a non-negative integer), found '${posText}'`);
    this.chrom.push(this.interned(text(buf, start, t1)));
    this.id.push(id);
    this.pos.push(pos);
    this.a2.push(this.interned(text(buf, t3 + 1, t4)));
    this.a1.push(this.interned(alt));
    this.record.push(record);
    this.lines.push(line);
    this.hashes.push(idHash(id));
  }

  private header(line: string, n: number): void {
    this.headerLines++;
    if (n === 1 && !line.startsWith('##fileformat=VCF')) {
      throw new InputError({ file: this.name, line: 1 }, `expected a VCF file (a first line '##fileformat=VCFv4.x'), found '${clip(line)}'`);
    }
    if (line.startsWith('##')) {
      const m = /^##FORMAT=<ID=([^,>]+)/.exec(line);
      if (m !== null) this.formatIds.add(m[1]!);
      return;
    }
    const cols = line.split('\t');
    const fixed = ['#CHROM', 'POS', 'ID', 'REF', 'ALT', 'QUAL', 'FILTER', 'INFO', 'FORMAT'];
    if (!line.startsWith('#CHROM')) {
      throw new InputError(
        { file: this.name, line: n },
        `expected the header line '${fixed.join('\\t')}\\tSAMPLE...' before the records, found '${clip(line)}'`,
      );
    }
    for (let k = 0; k < fixed.length; k++) {
      if (cols[k] !== fixed[k]) {
        throw new InputError(
          { file: this.name, line: n },
          `expected the #CHROM line's column ${k + 1} to be ${fixed[k]}${k === 8 ? ' (then one column per sample)' : ''}, found ${k < cols.length ? `'${clip(cols[k]!)}'` : 'none'}`,
        );
      }
    }
    const samples = cols.slice(9);
    if (samples.length === 0) throw new InputError({ file: this.name, line: n }, 'expected sample columns after FORMAT, found none');
    const seen = new Map<string, number>();
    samples.forEach((s, k) => {
      const first = seen.get(s);
      if (first !== undefined)
        throw new InputError({ file: this.name, line: n, column: 10 + k }, `sample id '${s}' repeats column ${10 + first} (plink2 refuses this too)`);
      seen.set(s, k);
    });
    this.samples = samples;
    this.dosage ??= this.formatIds.has('DS') ? 'ds' : 'gt';
  }

  /** The reader, once every line was seen. */
  reader(open: ChunkStream, indexed: IndexedReadPlan | undefined): VcfReader {
    if (this.samples === undefined) {
      throw new InputError(
        { file: this.name },
        `expected a VCF header ending in a '#CHROM ... FORMAT SAMPLE...' line, found ${this.headerLines} lines without one`,
      );
    }
    const dup = findDuplicateIds(this.id, '.', Uint32Array.from(this.hashes));
    const line = (k: number): number => (this.indexed === undefined ? this.lines[k]! : 0);
    const quirks: GenotypeQuirks = {
      ...(this.multi === undefined ? {} : { multiAllelicSkipped: this.multi }),
      ...(dup === undefined
        ? {}
        : {
            duplicateIds: {
              count: dup.count,
              // Read through an index, a record's line in the file is unknown: 0.
              first: { file: this.name, line: line(dup.index), id: dup.id, firstLine: line(dup.firstIndex) },
            },
          }),
    };
    const s = this.id.length;
    return new VcfReader(this.name, open, {
      samples: { fid: this.samples, iid: this.samples },
      variants: { chrom: this.chrom, id: this.id, cm: new Float64Array(s), pos: Float64Array.from(this.pos), a1: this.a1, a2: this.a2 },
      dosage: this.dosage!,
      quirks,
      headerLines: this.headerLines,
      record: Int32Array.from(this.record),
      line: Float64Array.from(this.lines),
      ...(indexed === undefined ? {} : { index: indexed }),
    });
  }

  private interned(s: string): string {
    if (s.length > 16) return s;
    let t = this.intern.get(s);
    if (t === undefined) {
      t = s;
      if (this.intern.size < 1 << 16) this.intern.set(s, s);
    }
    return t;
  }
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
