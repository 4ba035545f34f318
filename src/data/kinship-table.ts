import { InputError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import type { SampleTable } from './samples.js';
import type { NonEmpty } from '../non-empty.js';
import { parseLines, type LineParser } from './lines.js';
import { FieldSplitter, isNumberText, shortText, type Separator } from './table.js';

/**
 * A kinship (genetic relatedness) matrix: `k` is n x n, symmetric and finite,
 * row and column i are sample i of `ids`. `key` is `'iid'` when the file
 * named the samples with one id each (then `fid = iid`), `'fid-iid'` when
 * the ids came from the genotype samples (`ReadKinshipOptions.ids`).
 */
export interface KinshipTable {
  readonly file: string;
  readonly key: 'fid-iid' | 'iid';
  readonly ids: SampleTable;
  readonly k: Matrix;
}

/** Options of `parseKinship` (and `readKinship` in lmmkit/node). */
export interface ReadKinshipOptions {
  /** Default `'auto'` (see `splitRecords`). */
  sep?: Separator;
  /**
   * The genotype samples in `.fam` order: they name the rows of a file
   * without ids (GEMMA's `.cXX.txt`/`.sXX.txt`) and are ignored otherwise.
   */
  ids?: SampleTable;
}

/** Relative tolerance of the symmetry check, against max |K_ij|. */
export const SYMMETRY_TOLERANCE = 1e-6;

/**
 * Parses a square kinship table: with a header row of sample ids (with or
 * without a leading corner cell), a first column of ids, both (then they
 * must be the same ids in the same order), or neither (GEMMA's output, then
 * `opts.ids` names the rows and must have n samples). A header row is
 * recognised by an empty corner cell, by having no numeric field, by
 * being one field short, or by a corner cell that is not a number above a
 * row that starts with one (numeric ids, as `lmmkit kinship` writes them
 * for a .fam of numbers); a first column of ids by having no numeric field,
 * or, beside a header, by the shape (one field more than there are rows).
 * The matrix must be square, finite and symmetric to
 * `SYMMETRY_TOLERANCE * max|K_ij|`; ids must be unique and non-empty.
 * Each violation is an `InputError` naming the file and what was wrong.
 */
export function parseKinship(text: string, file: string, opts: ReadKinshipOptions = {}): KinshipTable {
  return parseLines(text, new KinshipParser(file, opts));
}

/**
 * `parseKinship` as a `LineParser`, for a reader that streams the file line
 * by line (`readKinship` in lmmkit/node). Memory is the matrix (n x n
 * doubles, plus its growth while n is not known) and the ids, never the
 * text: the first row waits for the second (to tell a header), every other
 * row is parsed into numbers as it comes.
 */
export class KinshipParser implements LineParser<KinshipTable> {
  private readonly file: string;
  private readonly opts: ReadKinshipOptions;
  private readonly fields: FieldSplitter;
  // The first non-blank row and its line, until the second row tells whether it is a header.
  private first: { fields: NonEmpty<string>; line: number } | undefined;
  private header: boolean | undefined;
  private width = 0;
  // Data rows, row-major with stride `width`; field 0 (an id or a value) is kept as text too.
  private values = new Float64Array(0);
  private readonly firstFields: string[] = [];
  private readonly dataLines: number[] = [];
  // Whether every data row so far ends with an empty field (GEMMA's trailing tab: a column to drop).
  private trailingEmpty = true;

  constructor(file: string, opts: ReadKinshipOptions = {}) {
    this.file = file;
    this.opts = opts;
    this.fields = new FieldSplitter(file, opts.sep ?? 'auto');
  }

  line(text: string, lineNumber: number): void {
    const fields = this.fields.split(text, lineNumber);
    if (fields === undefined) return;
    if (this.first === undefined) {
      this.first = { fields, line: lineNumber };
      return;
    }
    if (this.header === undefined) {
      const first = this.first.fields;
      // A header row is all ids, or has an empty corner cell, or is one field short (R's write.table),
      // or has a named corner cell above an id column of numbers (lmmkit's own 'id' over numeric IIDs).
      this.header =
        first[0] === '' || first.every((f) => !isNumberText(f)) || first.length === fields.length - 1 || (!isNumberText(first[0]) && isNumberText(fields[0]));
      if (!this.header) this.row(first, this.first.line);
    }
    this.row(fields, lineNumber);
  }

  finish(): KinshipTable {
    const file = this.file;
    if (this.first === undefined) throw new InputError({ file }, 'expected a table, found an empty file');
    if (this.header === undefined) {
      const first = this.first.fields;
      this.header = first[0] === '' || first.every((f) => !isNumberText(f));
      if (!this.header) this.row(first, this.first.line);
    }
    const header = this.header;
    const headerFields = header ? dropTrailing(this.first.fields, this.trailingEmpty) : undefined;
    const { firstFields, dataLines } = this;
    const n = dataLines.length;
    if (n === 0) throw new InputError({ file }, 'expected the rows of a square matrix after the header row, found none');
    // The rule of splitRecords: a last field empty on every row (header included) is no column.
    const drop = this.trailingEmpty && this.width > 1 && (headerFields === undefined || headerFields !== this.first.fields);
    const width = drop ? this.width - 1 : this.width;
    if (!drop && this.width > 1) this.checkLastField();
    const idColumn = firstFields.every((f) => !isNumberText(f)) || (header && width === n + 1);
    const off = idColumn ? 1 : 0;
    if (width - off !== n) {
      const after = [header ? 'the header row' : '', idColumn ? 'the id column' : ''].filter((s) => s !== '').join(' and ');
      throw new InputError(
        { file },
        `expected a square matrix, found ${n} rows x ${width - off} columns of values${after === '' ? '' : ` (besides ${after})`}`,
      );
    }
    const rowIds = idColumn ? firstFields : undefined;
    const colIds = headerFields !== undefined ? headerIds(headerFields, n, file, this.first.line) : undefined;
    if (rowIds !== undefined && colIds !== undefined) {
      const i = rowIds.findIndex((id, j) => id !== colIds[j]);
      if (i >= 0) {
        throw new InputError(
          { file, line: dataLines[i] },
          `expected the row ids to equal the header ids in the same order, found row ${i + 1} named '${shortText(rowIds[i]!)}' but header column ${i + 1} named '${shortText(colIds[i]!)}'`,
        );
      }
    }
    const own = colIds ?? rowIds;
    const firstLine = this.first.line;
    if (own !== undefined) checkIds(own, file, (j) => (rowIds !== undefined ? { line: dataLines[j]!, column: 1 } : { line: firstLine, column: j + 1 }));
    const ids = own !== undefined ? { fid: own.slice(), iid: own.slice() } : genotypeIds(this.opts.ids, n, file);
    if (off === 0) {
      firstFields.forEach((s, i) => {
        if (!isNumberText(s) || !Number.isFinite(Number(s)))
          throw new InputError({ file, line: dataLines[i], column: 1 }, `expected a finite number, found '${shortText(s)}'`);
      });
    }
    const k = new Matrix(n, n, this.squareColumnMajor(n, off));
    let max = 0;
    for (const v of k.data) max = Math.max(max, Math.abs(v));
    checkSymmetric(k, max, file, dataLines, off, ids.iid);
    return { file, key: own !== undefined ? 'iid' : 'fid-iid', ids, k };
  }

  // One data row: its field count, its values (field 0 is read at the end, once it is known whether it is an id).
  private row(fields: NonEmpty<string>, lineNumber: number): void {
    const file = this.file;
    if (this.dataLines.length === 0) this.width = fields.length;
    const width = this.width;
    if (fields.length !== width) {
      throw new InputError({ file, line: lineNumber }, `expected ${width} fields (as on line ${this.dataLines[0]}), found ${fields.length}`);
    }
    const i = this.dataLines.length;
    this.dataLines.push(lineNumber);
    this.firstFields.push(fields[0]);
    if (fields[width - 1] !== '') this.trailingEmpty = false;
    // Rows past `width` cannot make a square matrix: counted for the message, not stored.
    if (i >= width) return;
    if ((i + 1) * width > this.values.length) {
      const grown = new Float64Array(Math.min(width * width, Math.max(2 * this.values.length, 64 * width)));
      grown.set(this.values);
      this.values = grown;
    }
    const at = i * width;
    this.values[at] = Number(fields[0]);
    for (let j = 1; j < width; j++) {
      const s = fields[j]!;
      // An empty last field may be GEMMA's trailing tab, told at the end (NaN until then).
      if (j === width - 1 && s === '' && this.trailingEmpty) {
        this.values[at + j] = Number.NaN;
        continue;
      }
      const v = isNumberText(s) ? Number(s) : Number.NaN;
      if (!Number.isFinite(v)) throw new InputError({ file, line: lineNumber, column: j + 1 }, `expected a finite number, found '${shortText(s)}'`);
      this.values[at + j] = v;
    }
  }

  // The last column is kept: a row that left it empty (taken for GEMMA's trailing tab) is an error after all.
  private checkLastField(): void {
    const w = this.width;
    for (let i = 0; i < Math.min(this.dataLines.length, w); i++) {
      if (Number.isNaN(this.values[i * w + w - 1]!)) {
        throw new InputError({ file: this.file, line: this.dataLines[i], column: w }, "expected a finite number, found ''");
      }
    }
  }

  // The n x n values (columns off..off+n-1 of the stored rows), column-major, in the storage itself.
  private squareColumnMajor(n: number, off: number): Float64Array {
    const a = this.values;
    const w = this.width;
    // Compact to stride n (each value moves down or stays, so in order is safe), then transpose in place.
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = a[i * w + j + off]!;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const t = a[i * n + j]!;
        a[i * n + j] = a[j * n + i]!;
        a[j * n + i] = t;
      }
    }
    this.values = new Float64Array(0);
    return a.length === n * n ? a : a.subarray(0, n * n);
  }
}

function dropTrailing(fields: NonEmpty<string>, trailingEmpty: boolean): NonEmpty<string> {
  if (!trailingEmpty || fields.length < 2 || fields[fields.length - 1] !== '') return fields;
  return fields.slice(0, -1) as NonEmpty<string>;
}

// The sample ids of a header row: the fields after the corner cell, or all of them (R's write.table).
function headerIds(first: readonly string[], n: number, file: string, line: number): string[] {
  if (first.length === n + 1) return first.slice(1);
  if (first.length === n) return first.slice();
  throw new InputError({ file, line }, `expected ${n} sample ids in the header row (after an optional corner cell), found ${first.length} fields`);
}

function checkIds(ids: readonly string[], file: string, where: (j: number) => { line: number; column: number }): void {
  const seen = new Map<string, number>();
  ids.forEach((id, j) => {
    if (id === '') throw new InputError({ file, ...where(j) }, 'expected a sample id, found an empty field');
    const prev = seen.get(id);
    if (prev !== undefined) {
      throw new InputError({ file, ...where(j) }, `expected unique sample ids, found '${shortText(id)}' at positions ${prev + 1} and ${j + 1}`);
    }
    seen.set(id, j);
  });
}

function genotypeIds(ids: SampleTable | undefined, n: number, file: string): SampleTable {
  if (ids === undefined) {
    throw new InputError({ file }, 'expected sample ids (a header row or a first column), found none; pass the genotype samples (.fam order) as ids');
  }
  if (ids.iid.length !== n) {
    throw new InputError({ file }, `expected a ${ids.iid.length}x${ids.iid.length} matrix (one row per genotype sample), found ${n}x${n}`);
  }
  return { fid: ids.fid.slice(), iid: ids.iid.slice() };
}

function checkSymmetric(k: Matrix, max: number, file: string, lines: readonly number[], off: number, iid: readonly string[]): void {
  const n = k.rows;
  const tol = SYMMETRY_TOLERANCE * max;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = k.data[i + j * n]!;
      const b = k.data[j + i * n]!;
      if (Math.abs(a - b) > tol) {
        throw new InputError(
          { file, line: lines[i], column: j + off + 1 },
          `expected a symmetric matrix (to ${SYMMETRY_TOLERANCE} x max|K|), found K(${i + 1}, ${j + 1}) = ${a} but K(${j + 1}, ${i + 1}) = ${b} (samples '${shortText(iid[i]!)}' and '${shortText(iid[j]!)}')`,
        );
      }
    }
  }
}
