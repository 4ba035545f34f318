import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ArgumentError, InputError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import type { NonEmpty } from '../non-empty.js';
import { BatchStorage, planBatches, type BatchOptions, type GenotypeBatch, type GenotypeQuirks, type GenotypeSource } from './genotypes.js';
import type { SampleTable } from './samples.js';
import { findDuplicateIds, takeVariants, type VariantTable } from './variants.js';
import type { LineParser } from './lines.js';
import { readLines } from './node/files.js';
import { LineCursor } from './line-cursor.js';
import { standardizeInPlace } from './preprocess.js';

/** Options of `openBimbam`. */
export interface OpenBimbamOptions {
  /**
   * SNP annotation file (GEMMA `-a`): `rsid pos chrom [cM]` per line, no
   * header, whitespace and/or comma separated, in the genotype file's
   * variant order. Without it every variant has chrom `'0'`, pos 0 and cM 0,
   * so region selections find nothing.
   */
  annotation?: string;
  /**
   * The samples, in genotype-column order: a table (e.g. from a `.fam` or a
   * phenotype file), or a count N for ids `'1'..'N'` (fid = iid). Default:
   * the count the first variant line implies (its fields minus 3).
   */
  samples?: SampleTable | number;
}

/**
 * GEMMA's field separators (strtok with " ,\t", plus the CR of CRLF files):
 * a run of them is one separator, so there are no empty fields.
 */
const SEP = /[ \t\r,]+/;
/** How far outside [0, 2] a dosage may be by rounding alone (a file written with %g or 6 decimals). */
const RANGE_SLACK = 1e-6;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Opens a BIMBAM mean genotype file (GEMMA manual 4.1), plain or gzip
 * (detected by the magic bytes 1f 8b): one variant per line,
 * `rsid, allele1, allele2, g_1, ..., g_N`, fields separated by commas
 * and/or whitespace, `NA` for a missing dosage. Dosages are kept as written
 * (GEMMA's convention: they count allele1, which the table stores as `a1`;
 * no rescaling, so the BXD file's 0/0.5/1 stay 0/0.5/1). Blank lines are
 * skipped.
 *
 * Opening streams the file once for the first three fields of each line
 * (ids must be unique), checks the annotation against them, and checks that
 * the first line has 3 + N fields; the other lines' field counts and values
 * are checked when `batches` reads them (each an `InputError` naming the
 * file, line and column).
 */
export async function openBimbam(genoPath: string, opts: OpenBimbamOptions = {}): Promise<BimbamReader> {
  const gzip = await isGzip(genoPath);
  const annotation = opts.annotation === undefined ? undefined : await readAnnotation(opts.annotation);
  const nGiven = typeof opts.samples === 'number' ? checkCount(opts.samples) : opts.samples?.iid.length;
  const head = await scanVariants(genoPath, gzip, nGiven, annotation);
  const samples = typeof opts.samples === 'object' ? opts.samples : numberedSamples(head.nSamples);
  const s = head.id.length;
  const variants: VariantTable = {
    chrom: annotation?.chrom ?? new Array<string>(s).fill('0'),
    id: head.id,
    cm: annotation?.cm ?? new Float64Array(s),
    pos: annotation?.pos ?? new Float64Array(s),
    a1: head.a1,
    a2: head.a2,
  };
  return new BimbamReader(genoPath, gzip, samples, variants);
}

/** A BIMBAM mean genotype file opened for streaming; see `openBimbam`. */
export class BimbamReader implements GenotypeSource {
  readonly path: string;
  readonly samples: SampleTable;
  readonly variants: VariantTable;
  /** Whether the file is gzip-compressed. */
  readonly gzip: boolean;
  /** Dosages outside [0, 2] among the variants read so far (see `GenotypeQuirks`). */
  readonly quirks: GenotypeQuirks = {};
  private readonly readers = new Set<LineReader>();
  // Variants whose dosages were checked against [0, 2], so that a variant read
  // twice (kinship, then scan) is counted once.
  private checked: Uint8Array | undefined;

  /** Use `openBimbam`. */
  constructor(path: string, gzip: boolean, samples: SampleTable, variants: VariantTable) {
    this.path = path;
    this.gzip = gzip;
    this.samples = samples;
    this.variants = variants;
  }

  get nSamples(): number {
    return this.samples.iid.length;
  }

  get nVariants(): number {
    return this.variants.id.length;
  }

  /**
   * Yields the selected variants in batches of `size` (N x b dosage
   * matrices, NaN for `NA`), parsing lines as the text streams past and
   * holding one batch at a time. Selections in file order (all, range,
   * region, sorted ids or indices) take one pass over the file; a batch
   * that needs a line already passed restarts the stream from the top.
   */
  async *batches(opts: BatchOptions = {}): AsyncGenerator<GenotypeBatch> {
    const { size, recycle, indices, samples } = planBatches(opts, this.variants, this.nSamples, this.path);
    const storage = new BatchStorage(samples?.length ?? this.nSamples, recycle);
    let reader: LineReader | undefined;
    try {
      for (let start = 0; start < indices.length; start += size) {
        const idx = indices.subarray(start, Math.min(start + size, indices.length));
        // Output columns per file variant: a selection may name a variant twice.
        const columns = new Map<number, NonEmpty<number>>();
        let first = Infinity;
        let last = -1;
        idx.forEach((v, k) => {
          const cols = columns.get(v);
          if (cols === undefined) columns.set(v, [k]);
          else cols.push(k);
          first = Math.min(first, v);
          last = Math.max(last, v);
        });
        if (reader === undefined || reader.variant > first) {
          await this.release(reader);
          reader = this.lines();
        }
        const out = storage.next(idx.length);
        while (reader.variant <= last) {
          const v = reader.variant;
          const text = await reader.next();
          if (text === undefined)
            throw new InputError({ file: this.path, line: reader.line }, `the file ended before variant ${v + 1} (it had ${this.nVariants} when opened)`);
          const cols = columns.get(v);
          if (cols !== undefined) this.parseDosages(text, v, reader.line, samples, out, cols);
        }
        const stats = opts.standardize === true ? standardizeInPlace(out) : undefined;
        yield { dosages: out, variants: takeVariants(this.variants, idx), indices: idx.slice(), stats };
      }
    } finally {
      await this.release(reader);
    }
  }

  /** Ends any stream a `batches` generator left open (one abandoned without `return`). */
  async close(): Promise<void> {
    await Promise.all([...this.readers].map((r) => this.release(r)));
  }

  /** Parses the line of variant `v` into columns `cols` of `out`. */
  private parseDosages(text: string, v: number, line: number, samples: Int32Array | undefined, out: Matrix, cols: NonEmpty<number>): void {
    const f = splitFields(text);
    if (f.length !== 3 + this.nSamples) throw new InputError({ file: this.path, line }, fieldCountMessage(this.nSamples, f.length));
    const n = out.rows;
    const col = out.data.subarray(cols[0] * n, (cols[0] + 1) * n);
    for (let k = 0; k < n; k++) {
      const s = samples === undefined ? k : samples[k]!;
      const tok = f[3 + s]!;
      if (tok === 'NA') col[k] = Number.NaN;
      else if (DECIMAL.test(tok)) col[k] = Number(tok);
      else
        throw new InputError(
          { file: this.path, line, column: s + 4 },
          `sample ${s + 1} ('${this.samples.iid[s]}'): expected a dosage (a number) or NA, found '${tok}'`,
        );
    }
    for (let c = 1; c < cols.length; c++) out.data.copyWithin(cols[c]! * n, cols[0] * n, (cols[0] + 1) * n);
    this.checked ??= new Uint8Array(this.nVariants);
    if (this.checked[v] === 0) {
      this.checked[v] = 1;
      this.checkRange(f, v, line, samples === undefined ? col : undefined);
    }
  }

  /**
   * Counts the dosages of variant `v` (all samples: `parsed`, the line's
   * values when every sample was parsed, else its fields `f`) outside
   * [0, 2] by more than rounding. GEMMA analyses them as written and so
   * does lmmkit, but the run's report says so.
   */
  private checkRange(f: readonly string[], v: number, line: number, parsed: Float64Array | undefined): void {
    let values = 0;
    let firstSample = -1;
    let firstValue = 0;
    for (let s = 0; s < this.nSamples; s++) {
      let x: number;
      if (parsed !== undefined) x = parsed[s]!;
      else {
        const tok = f[3 + s]!;
        // An unselected sample's field is not validated: only numbers count.
        x = tok === 'NA' || !DECIMAL.test(tok) ? Number.NaN : Number(tok);
      }
      if (x < -RANGE_SLACK || x > 2 + RANGE_SLACK) {
        if (values === 0) {
          firstSample = s;
          firstValue = x;
        }
        values++;
      }
    }
    if (values === 0) return;
    const q = this.quirks.dosagesOutOfRange;
    if (q === undefined) {
      this.quirks.dosagesOutOfRange = {
        values,
        variants: 1,
        first: { file: this.path, line, id: this.variants.id[v]!, sample: this.samples.iid[firstSample]!, value: firstValue },
      };
    } else {
      q.values += values;
      q.variants++;
    }
  }

  private lines(): LineReader {
    const reader = new LineReader(this.path, this.gzip);
    this.readers.add(reader);
    return reader;
  }

  private async release(reader: LineReader | undefined): Promise<void> {
    if (reader === undefined) return;
    this.readers.delete(reader);
    await reader.close();
  }
}

/**
 * The non-blank lines of a plain or gzip text file, cut by `LineCursor`
 * (the VCF reader's) and decoded one at a time; `line` is the 1-based
 * physical line number of the last line returned and `variant` the 0-based
 * index of the next one.
 */
class LineReader {
  variant = 0;
  private readonly cursor: LineCursor;

  constructor(path: string, gzip: boolean) {
    this.cursor = new LineCursor(path, fileChunks(path, gzip));
  }

  get line(): number {
    return this.cursor.line;
  }

  /** The next non-blank line, or undefined at the end of the file. */
  async next(): Promise<string | undefined> {
    const c = this.cursor;
    while (await c.next()) {
      if (c.end === c.start) continue;
      const text = decodeLine(c.buf, c.start, c.end);
      if (text.trim() !== '') {
        this.variant++;
        return text;
      }
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.cursor.close();
  }
}

/** The bytes of `path` from the top, gunzipped when `gzip`; a read error surfaces in the cursor with the line reached. */
async function* fileChunks(path: string, gzip: boolean): AsyncGenerator<Uint8Array> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  // pipeline forwards a read error of the file to the gunzip stream.
  const input: Readable = gzip ? pipeline(file, createGunzip({ chunkSize: 1 << 18 }), () => {}) : file;
  try {
    for await (const chunk of input) yield chunk as Uint8Array;
  } finally {
    input.destroy();
  }
}

// A byte-order mark is kept, as readline kept it.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Bytes [a, b) as UTF-8 text. */
function decodeLine(buf: Uint8Array, a: number, b: number): string {
  return utf8.decode(buf.subarray(a, b));
}

interface VariantHead {
  id: string[];
  a1: string[];
  a2: string[];
  nSamples: number;
}

/**
 * The first pass: ids and alleles of every line, duplicate ids, the first
 * line's field count, and the annotation's rows against the ids.
 */
async function scanVariants(path: string, gzip: boolean, nGiven: number | undefined, annotation: Annotation | undefined): Promise<VariantHead> {
  const id: string[] = [];
  const a1: string[] = [];
  const a2: string[] = [];
  // Each variant's line, for the message on a repeated id: found once all are read, without a Map (2^24 entries at most).
  const lines: number[] = [];
  let nSamples = nGiven ?? 0;
  const reader = new LineReader(path, gzip);
  try {
    for (let text = await reader.next(); text !== undefined; text = await reader.next()) {
      const where = { file: path, line: reader.line };
      const f = id.length === 0 ? splitFields(text) : headFields(text);
      if (id.length === 0) {
        nSamples = nGiven ?? Math.max(f.length - 3, 0);
        if (f.length !== 3 + nSamples) {
          throw new InputError(where, fieldCountMessage(nSamples, f.length));
        }
      } else if (f.length < 3) {
        throw new InputError(where, fieldCountMessage(nSamples, f.length));
      }
      const rsid = f[0]!;
      lines.push(reader.line);
      if (annotation !== undefined) checkAnnotationRow(annotation, id.length, rsid, where);
      id.push(rsid);
      a1.push(f[1]!);
      a2.push(f[2]!);
    }
  } finally {
    await reader.close();
  }
  const dup = findDuplicateIds(id);
  if (dup !== undefined) {
    throw new InputError({ file: path, line: lines[dup.index] }, `duplicate variant id '${dup.id}' (first on line ${lines[dup.firstIndex]})`);
  }
  if (annotation !== undefined && annotation.id.length > id.length) {
    throw new InputError(
      { file: annotation.file, line: annotation.line[id.length] },
      `extra annotation row '${annotation.id[id.length]}': the genotype file ${path} has only ${id.length} variants`,
    );
  }
  return { id, a1, a2, nSamples };
}

/** The variant `k` of the genotype file must be the annotation's row `k`. */
function checkAnnotationRow(a: Annotation, k: number, rsid: string, geno: { file: string; line: number }): void {
  if (k >= a.id.length) {
    throw new InputError(
      { file: a.file },
      `no annotation row for variant ${k + 1} '${rsid}' (${geno.file}:${geno.line}): the annotation has ${a.id.length} rows, one per variant in the genotype file's order is needed`,
    );
  }
  if (a.id[k] !== rsid) {
    throw new InputError(
      { file: a.file, line: a.line[k] },
      `annotation row ${k + 1} is '${a.id[k]}' but variant ${k + 1} of the genotype file is '${rsid}' (${geno.file}:${geno.line}): the annotation must list the genotype file's variants in its order`,
    );
  }
}

/** The rows of a SNP annotation file (GEMMA `-a`), with their line numbers. */
interface Annotation {
  file: string;
  id: string[];
  line: number[];
  chrom: string[];
  pos: Float64Array;
  cm: Float64Array;
}

/** Parses `rsid pos chrom [cM]` lines; `NA` positions read as NaN. Streamed line by line; gzip is decompressed. */
async function readAnnotation(file: string): Promise<Annotation> {
  return readLines(file, new AnnotationParser(file));
}

class AnnotationParser implements LineParser<Annotation> {
  private readonly file: string;
  private readonly id: string[] = [];
  private readonly lines: number[] = [];
  private readonly chrom: string[] = [];
  private readonly pos: number[] = [];
  private readonly cm: number[] = [];

  constructor(file: string) {
    this.file = file;
  }

  line(text: string, lineNumber: number): void {
    if (text.trim() === '') return;
    const f = splitFields(text);
    const where = { file: this.file, line: lineNumber };
    if (f.length !== 3 && f.length !== 4) throw new InputError(where, `expected 3 or 4 fields (rsid pos chrom [cM]), found ${f.length}`);
    this.id.push(f[0]!);
    this.lines.push(lineNumber);
    this.pos.push(annotationNumber(f[1]!, { ...where, column: 2 }, 'position'));
    this.chrom.push(f[2]!);
    this.cm.push(f.length === 4 ? annotationNumber(f[3]!, { ...where, column: 4 }, 'genetic position (cM)') : 0);
  }

  finish(): Annotation {
    const { file, id, chrom } = this;
    return { file, id, line: this.lines, chrom, pos: Float64Array.from(this.pos), cm: Float64Array.from(this.cm) };
  }
}

function annotationNumber(tok: string, where: { file: string; line: number; column: number }, what: string): number {
  if (tok === 'NA') return Number.NaN;
  if (!DECIMAL.test(tok)) throw new InputError(where, `${what} must be a number or NA, found '${tok}'`);
  return Number(tok);
}

function fieldCountMessage(nSamples: number, found: number): string {
  return `expected 3 + ${nSamples} = ${3 + nSamples} fields (rsid, allele1, allele2, one dosage per sample), found ${found}`;
}

/** All fields of a line; a leading or trailing separator adds no empty field. */
function splitFields(text: string): string[] {
  const f = text.split(SEP);
  if (f[0] === '') f.shift();
  if (f.length > 0 && f[f.length - 1] === '') f.pop();
  return f;
}

/** The first three fields of a line, found without splitting the dosages. */
function headFields(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (out.length < 3 && i < text.length) {
    while (i < text.length && isSep(text.charCodeAt(i))) i++;
    const start = i;
    while (i < text.length && !isSep(text.charCodeAt(i))) i++;
    if (i > start) out.push(text.slice(start, i));
  }
  return out;
}

/** Comma, space, tab, CR: the characters SEP matches. */
function isSep(c: number): boolean {
  return c === 44 || c === 32 || c === 9 || c === 13;
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new InputError({ file: path }, `cannot open: ${err.code ?? err.message}`);
  });
  try {
    const magic = new Uint8Array(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function checkCount(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`openBimbam: samples must be a table or a non-negative integer count, found ${n}`);
  return n;
}

/** Ids '1'..'N' for a file without sample ids. */
function numberedSamples(n: number): SampleTable {
  const iid = Array.from({ length: n }, (_, i) => String(i + 1));
  return { fid: iid, iid };
}
