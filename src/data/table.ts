import { ArgumentError, InputError, type InputLocation } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import { isNonEmpty, type NonEmpty } from '../non-empty.js';
import { factorColumn, MAX_LEVELS, type FactorColumn } from './categorical.js';
import { parseLines, type LineParser } from './lines.js';
import { sampleKey, type SampleTable } from './samples.js';

/** Field separator of a text table; `'auto'` looks at the first non-blank line (see `splitRecords`). */
export type Separator = 'tab' | 'comma' | 'whitespace' | 'auto';

/**
 * How the rows of a table name their sample: `'fid-iid'` (PLINK: the first
 * two fields), `'iid'` (the first field alone), or `'none'` (no id: row i is
 * genotype sample i, as in GEMMA/BIMBAM phenotype and covariate files).
 */
export type TableKey = 'fid-iid' | 'iid' | 'none';

/** Options of `parseTable` (and `readTable` in lmmkit/node); every one has a default. */
export interface TableOptions {
  /** Default `'auto'`. */
  sep?: Separator;
  /**
   * Whether the first row holds column names. `'auto'` (default): it does
   * when one of its value fields is neither a number nor a missing token, or
   * when its first field reads `FID`, `IID`, `ID` or starts with `#` (PLINK 2).
   * In the transposed layout `'auto'` means "yes" unless `key` is `'none'`.
   */
  header?: boolean | 'auto';
  /** Default `'fid-iid'`, or `'iid'` for a transposed table (`'fid-iid'` is not possible there). */
  key?: TableKey;
  /**
   * Features as rows and samples as columns (limix's `expr.csv`): the header
   * row holds the sample ids after a leading corner cell, the first field of
   * every other row is the feature name. The result is still samples x features.
   */
  transposed?: boolean;
  /** Tokens read as missing (NaN); default `DEFAULT_MISSING`. */
  missing?: readonly string[];
  /** Also read the value -9 as missing (PLINK `.fam`/phenotype convention). Default false. */
  minus9Missing?: boolean;
  /** Keep only these columns (features, when transposed), in this order; values of the others are not parsed. */
  columns?: readonly string[];
  /**
   * Read a column with a value that is neither a number nor a missing token
   * as categorical (covariates, as plink2's --covar; none of its values may
   * then be a number, 2 to MAX_LEVELS levels): it becomes one 0/1
   * column per level but the reference (see `factorColumn`), `NAME=LEVEL`,
   * NaN where the value is missing. Default false: such a value is an error.
   * Not for the transposed layout.
   */
  categorical?: boolean;
  /**
   * Columns read as text when the header names them (row layout only): left
   * out of `values` (and of the default column list) and returned in `text`,
   * for codes that are not numbers, such as a sex column of M and F.
   */
  textColumns?: readonly string[];
}

/** A column read as text (`TableOptions.textColumns`): one value per row of `values`, with its place in the file. */
export interface TextColumn {
  readonly name: string;
  /** The 1-based field number of the column. */
  readonly column: number;
  readonly values: readonly string[];
  /** The 1-based line of each value. */
  readonly lines: readonly number[];
}

/**
 * A numeric table keyed by sample: `values` is samples x columns (row i is
 * sample i, `NaN` = missing). With key `'iid'` the ids have `fid = iid`; with
 * key `'none'` both id arrays are empty and row i stands for genotype sample i.
 */
export interface NumericTable {
  /** The file name used in messages. */
  readonly file: string;
  readonly key: TableKey;
  readonly ids: SampleTable;
  readonly columns: readonly string[];
  readonly values: Matrix;
  /** The categorical columns dummy-coded (`categorical` option; absent when none). */
  readonly factors?: readonly FactorColumn[];
  /** The `textColumns` the header named, in their order (absent when none was asked for). */
  readonly text?: readonly TextColumn[];
}

/** The tokens `parseTable` reads as missing unless told otherwise (`''` is an empty field). */
export const DEFAULT_MISSING: readonly string[] = ['NA', '.', '', 'nan', 'NaN'];

/** The fields of the non-blank lines of a text table, with their 1-based line numbers. */
export interface Records {
  /** The non-blank lines' fields; there is at least one row, and every row has at least one field. */
  readonly rows: NonEmpty<NonEmpty<string>>;
  /** The 1-based line number of each row. */
  readonly lines: NonEmpty<number>;
  /** The first blank line that has content after it (undefined when blank lines only lead or trail). */
  readonly blankInside: number | undefined;
}

// A plain decimal number: Number() alone would also take '0x1f', ' ', 'Infinity'.
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Whether `s` is written as a plain decimal number (`1`, `-2.5`, `.5`, `3e-4`). */
export function isNumberText(s: string): boolean {
  return NUMBER.test(s);
}

/**
 * Splits a text table into fields. A byte-order mark, `\r\n` line ends and
 * blank lines are accepted (blank lines are skipped; `blankInside` reports
 * the first one that is not trailing). `'auto'` picks comma if the first
 * non-blank line has a comma, else tab if it has a tab, else whitespace.
 * Comma and tab fields are trimmed and may be double-quoted (`""` inside
 * quotes is a quote); whitespace fields lose surrounding quotes. When every
 * line ends with a separator (GEMMA writes a tab after each value), that
 * always-empty last column is dropped. An empty file is an `InputError`.
 */
export function splitRecords(text: string, file: string, sep: Separator): Records {
  return parseLines(text, new RecordSplitter(file, sep));
}

/**
 * The fields of one line of a table at a time (see `splitRecords` for the
 * rules): `split` gives a non-blank line's fields, or undefined for a blank
 * line; the separator of `'auto'` is chosen on the first non-blank line.
 */
export class FieldSplitter {
  private readonly file: string;
  private readonly sep: Separator;
  private chosen: 'comma' | 'tab' | 'whitespace' | undefined;

  constructor(file: string, sep: Separator) {
    this.file = file;
    this.sep = sep;
  }

  split(text: string, lineNumber: number): NonEmpty<string> | undefined {
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (line.trim() === '') return undefined;
    const sep = this.sep;
    this.chosen ??= sep !== 'auto' ? sep : line.includes(',') ? 'comma' : line.includes('\t') ? 'tab' : 'whitespace';
    const chosen = this.chosen;
    const where = { file: this.file, line: lineNumber };
    const fields = chosen === 'whitespace' ? line.trim().split(/\s+/).map(unquote) : splitQuoted(line, chosen === 'tab' ? '\t' : ',', where);
    // Both splits give at least one field for a non-blank line.
    if (!isNonEmpty(fields)) throw new InputError(where, 'expected at least one field, found none');
    return fields;
  }
}

/**
 * `splitRecords` as a `LineParser`, for a reader that streams the file line
 * by line: the rows' fields are kept (not the text) until `finish`.
 */
export class RecordSplitter implements LineParser<Records> {
  private readonly file: string;
  private readonly fields: FieldSplitter;
  private readonly rows: NonEmpty<string>[] = [];
  private readonly lineNumbers: number[] = [];
  private blank: number | undefined;
  private blankInside: number | undefined;

  constructor(file: string, sep: Separator) {
    this.file = file;
    this.fields = new FieldSplitter(file, sep);
  }

  line(text: string, lineNumber: number): void {
    const fields = this.fields.split(text, lineNumber);
    if (fields === undefined) {
      // Blank lines before the first row are neither inside nor trailing: skipped.
      if (this.rows.length > 0) this.blank ??= lineNumber;
      return;
    }
    if (this.blank !== undefined) this.blankInside ??= this.blank;
    this.blank = undefined;
    this.rows.push(fields);
    this.lineNumbers.push(lineNumber);
  }

  finish(): Records {
    const { rows, lineNumbers } = this;
    // Only dropped from rows of two fields or more: every row keeps at least one.
    if (rows.every((r) => r.length > 1 && r[r.length - 1] === ''))
      rows.forEach((r) => {
        r.pop();
      });
    if (!isNonEmpty(rows) || !isNonEmpty(lineNumbers)) throw new InputError({ file: this.file }, 'expected a table, found an empty file');
    return { rows, lines: lineNumbers, blankInside: this.blankInside };
  }
}

function unquote(f: string): string {
  return f.length >= 2 && f.startsWith('"') && f.endsWith('"') ? f.slice(1, -1) : f;
}

function splitQuoted(line: string, sep: string, where: InputLocation): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let j = i;
    while (line[j] === ' ') j++;
    if (line[j] !== '"') {
      const e = line.indexOf(sep, i);
      out.push(line.slice(i, e < 0 ? line.length : e).trim());
      if (e < 0) return out;
      i = e + 1;
      continue;
    }
    let value = '';
    let k = j + 1;
    for (;;) {
      const q = line.indexOf('"', k);
      if (q < 0) {
        throw new InputError({ ...where, column: out.length + 1 }, 'expected a closing double quote, found the end of the line');
      }
      value += line.slice(k, q);
      k = q + 1;
      if (line[k] !== '"') break;
      value += '"';
      k++;
    }
    while (line[k] === ' ') k++;
    out.push(value);
    if (k >= line.length) return out;
    if (line[k] !== sep) {
      throw new InputError(
        { ...where, column: out.length },
        `expected ${sep === '\t' ? 'a tab' : 'a comma'} or the end of the line after a quoted field, found '${line[k]}'`,
      );
    }
    i = k + 1;
  }
}

/** `s`, cut to a readable length for a message. */
export function shortText(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/**
 * How a table names its samples, read from its first non-blank line (the
 * `auto` layout): a header starting with FID (or #FID) -> FID IID; IID or
 * ID -> one id; numbers and missing tokens only -> no ids (row i is
 * genotype sample i, GEMMA's convention); anything else -> FID IID without
 * a header (PLINK's convention).
 */
export function detectTableKey(text: string, file: string): TableKey {
  const first = text.split('\n').find((l) => l.trim() !== '');
  if (first === undefined) return 'fid-iid';
  return firstRowKey(splitRecords(first, file, 'auto').rows[0]);
}

/** `detectTableKey` on the fields of the first non-blank line. */
export function firstRowKey(fields: Readonly<NonEmpty<string>>): TableKey {
  const f0 = fields[0].replace(/^#/, '');
  if (/^fid$/i.test(f0)) return 'fid-iid';
  if (/^(iid|id)$/i.test(f0)) return 'iid';
  if (fields.every((f) => isNumberText(f) || DEFAULT_MISSING.includes(f))) return 'none';
  return 'fid-iid';
}

/**
 * Parses the text of a phenotype, covariate or expression table into a
 * samples x columns `NumericTable` (see `TableOptions` for the layouts).
 * Every row must have as many fields as the first data row; a value must be
 * a plain decimal number or a missing token; sample ids and column names
 * must be unique and non-empty. Without a header the columns are named
 * `V<field number>` (R's `read.table` style: `V1..Vk` for key `'none'`).
 * A header with one field fewer than the data rows (R's `write.table` with
 * row names) is accepted when the first field is the only id. Each violation
 * is an `InputError` naming the file, line, column, what was expected and found.
 */
export function parseTable(text: string, file: string, opts: TableOptions = {}): NumericTable {
  return parseLines(text, new TableParser(file, opts));
}

/**
 * `parseTable` as a `LineParser`, for a reader that streams the file line by
 * line (`readTable` in lmmkit/node): the same rules, errors and line numbers.
 */
export class TableParser implements LineParser<NumericTable> {
  private readonly file: string;
  private readonly opts: TableOptions;
  private readonly records: RecordSplitter;

  constructor(file: string, opts: TableOptions = {}) {
    this.file = file;
    this.opts = opts;
    this.records = new RecordSplitter(file, opts.sep ?? 'auto');
  }

  line(text: string, lineNumber: number): void {
    this.records.line(text, lineNumber);
  }

  finish(): NumericTable {
    return tableOfRecords(this.records.finish(), this.file, this.opts);
  }
}

/**
 * The table of already split records (see `parseTable`): for a reader that
 * must see every row before it knows the layout (`readKeyedTable`).
 */
export function tableOfRecords(rec: Records, file: string, opts: TableOptions): NumericTable {
  const key = opts.key ?? (opts.transposed === true ? 'iid' : 'fid-iid');
  if (key === 'none' && rec.blankInside !== undefined) {
    throw new InputError(
      { file, line: rec.blankInside },
      "expected one line per sample (key 'none' matches rows to samples by order; write NA for a missing value), found a blank line",
    );
  }
  const cell = cellReader(opts);
  return opts.transposed === true ? transposedTable(rec, file, key, opts, cell) : rowTable(rec, file, key, opts, cell);
}

type CellReader = (s: string, where: InputLocation) => number;

function cellReader(opts: TableOptions): CellReader {
  const missing = new Set(opts.missing ?? DEFAULT_MISSING);
  const minus9 = opts.minus9Missing === true;
  const tokens = [...missing].map((m) => (m === '' ? 'an empty field' : m)).concat(minus9 ? ['-9'] : []);
  return (s, where) => {
    if (missing.has(s)) return Number.NaN;
    const v = NUMBER.test(s) ? Number(s) : Number.NaN;
    if (!Number.isFinite(v)) {
      throw new InputError(where, `expected a number or a missing value (${tokens.join(', ')}), found '${shortText(s)}'`);
    }
    return minus9 && v === -9 ? Number.NaN : v;
  };
}

function rowTable(rec: Records, file: string, key: TableKey, opts: TableOptions, cell: CellReader): NumericTable {
  const { rows, lines } = rec;
  const nid = key === 'fid-iid' ? 2 : key === 'iid' ? 1 : 0;
  const first = rows[0];
  // R's write.table(row.names = TRUE) leaves the id column without a name.
  const short = nid === 1 && rows.length > 1 && rows[1]!.length === first.length + 1;
  const header = opts.header === undefined || opts.header === 'auto' ? short || looksLikeHeader(first, nid, opts) : opts.header;
  const rStyle = header && short;
  const width = rStyle ? first.length + 1 : first.length;
  if (width <= nid) {
    const ids = nid === 2 ? 'FID, IID' : 'the sample id';
    throw new InputError({ file, line: lines[0] }, `expected at least ${nid + 1} fields (${ids} and a value), found ${width}`);
  }
  const headerOffset = rStyle ? 0 : nid;
  const names = header ? first.slice(headerOffset) : Array.from({ length: width - nid }, (_, j) => `V${j + nid + 1}`);
  if (header)
    uniqueNames(
      names,
      file,
      () => lines[0],
      'fields',
      (j) => j + headerOffset + 1,
    );
  const textAt = header ? (opts.textColumns ?? []).map((t) => names.indexOf(t)).filter((j) => j >= 0) : [];
  const select = selectColumns(names, file, opts.columns, textAt);
  const start = header ? 1 : 0;
  const texts = textAt.map((j) => ({ name: names[j]!, column: j + nid + 1, values: [] as string[], lines: [] as number[] }));
  const n = rows.length - start;
  if (n === 0) throw new InputError({ file }, 'expected at least one data row after the header, found none');
  const fid: string[] = [];
  const iid: string[] = [];
  const seen = new Map<string, number>();
  const widthError = (r: number): InputError =>
    new InputError({ file, line: lines[r]! }, `expected ${width} fields (as on line ${lines[0]}), found ${rows[r]!.length}`);
  // The levels are counted before the rows are read: their widths are checked first.
  if (opts.categorical === true) {
    for (let r = start; r < rows.length; r++) if (rows[r]!.length !== width) throw widthError(r);
  }
  const columnOf = (j: number): string => (header ? `${j + nid + 1} '${names[j]}'` : `${j + nid + 1}`);
  const plan = opts.categorical === true ? categoricalPlan(rec, start, select, names, nid, file, columnOf, opts) : undefined;
  const outputs = plan?.outputs ?? select.map((j) => ({ j, level: undefined }));
  const values = new Matrix(n, outputs.length);
  for (let r = start; r < rows.length; r++) {
    const row = rows[r]!;
    const line = lines[r]!;
    if (row.length !== width) throw widthError(r);
    if (nid > 0) {
      const f = row[0];
      const i = row[nid - 1]!;
      for (let c = 0; c < nid; c++) {
        if (row[c] === '') throw new InputError({ file, line, column: c + 1 }, 'expected a sample id, found an empty field');
      }
      const k = sampleKey(f, i);
      const prev = seen.get(k);
      if (prev !== undefined) {
        throw new InputError({ file, line }, `expected unique sample ids, found '${nid === 2 ? `${f} ${i}` : i}' on lines ${prev} and ${line}`);
      }
      seen.set(k, line);
      fid.push(f);
      iid.push(i);
    }
    for (let c = 0; c < outputs.length; c++) {
      const { j, level } = outputs[c]!;
      const text = row[j + nid]!;
      values.data[r - start + c * n] =
        level === undefined ? cell(text, { file, line, column: columnOf(j) }) : plan!.missing.has(text) ? Number.NaN : text === level ? 1 : 0;
    }
    textAt.forEach((j, c) => {
      texts[c]!.values.push(row[j + nid]!);
      texts[c]!.lines.push(line);
    });
  }
  const columns = plan?.columns ?? select.map((j) => names[j]!);
  return {
    file,
    key,
    ids: { fid, iid },
    columns,
    values,
    ...(plan === undefined || plan.factors.length === 0 ? {} : { factors: plan.factors }),
    ...(opts.textColumns === undefined ? {} : { text: texts }),
  };
}

/** The columns a table with categorical columns gives: each source column `j` once (numeric) or once per dummy `level`. */
interface CategoricalPlan {
  outputs: { j: number; level: string | undefined }[];
  columns: string[];
  factors: FactorColumn[];
  missing: ReadonlySet<string>;
}

/**
 * Which selected columns are categorical (a value neither a number nor a
 * missing token) and their dummy coding; a column of one level, of more
 * than MAX_LEVELS, or mixing numbers and names, is an `InputError` naming
 * the column and the first value that is not a number.
 */
function categoricalPlan(
  rec: Records,
  start: number,
  select: readonly number[],
  names: readonly string[],
  nid: number,
  file: string,
  columnOf: (j: number) => string,
  opts: TableOptions,
): CategoricalPlan {
  const missing = new Set(opts.missing ?? DEFAULT_MISSING);
  const plan: CategoricalPlan = { outputs: [], columns: [], factors: [], missing };
  for (const j of select) {
    let firstText: { value: string; line: number } | undefined;
    let firstNumber: { value: string; line: number } | undefined;
    const counts = new Map<string, number>();
    for (let r = start; r < rec.rows.length; r++) {
      const v = rec.rows[r]![j + nid]!;
      if (missing.has(v)) continue;
      if (NUMBER.test(v)) firstNumber ??= { value: v, line: rec.lines[r]! };
      else firstText ??= { value: v, line: rec.lines[r]! };
      // Past the cap the column is refused: no need to count further.
      if (counts.size <= MAX_LEVELS) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    if (firstText === undefined) {
      plan.outputs.push({ j, level: undefined });
      plan.columns.push(names[j]!);
      continue;
    }
    const where = { file, line: firstText.line, column: columnOf(j) };
    const shown = shortText(firstText.value);
    // Numbers beside a name are a numeric column with a typo far more often
    // than a factor; plink2 refuses them too (its levels may not be numbers).
    if (firstNumber !== undefined) {
      throw new InputError(
        where,
        `expected a number, found '${shown}' (the column holds numbers, '${shortText(firstNumber.value)}' on line ${firstNumber.line}; the levels of a categorical covariate may not be numbers, as in plink2)`,
      );
    }
    if (counts.size > MAX_LEVELS) {
      throw new InputError(
        where,
        `expected a number, or at most ${MAX_LEVELS} levels of a categorical covariate, found more than ${MAX_LEVELS} distinct names, the first '${shown}' here`,
      );
    }
    if (counts.size < 2) {
      throw new InputError(
        where,
        `expected a number, or at least two levels of a categorical covariate, found the one level '${shown}' on every row with a value`,
      );
    }
    const factor = factorColumn(names[j]!, counts);
    plan.factors.push(factor);
    for (const l of factor.levels) {
      if (l.level === factor.reference) continue;
      plan.outputs.push({ j, level: l.level });
    }
    plan.columns.push(...factor.columns);
  }
  return plan;
}

const ID_NAME = /^(?:#.*|fid|iid|id)$/i;

function looksLikeHeader(first: Readonly<NonEmpty<string>>, nid: number, opts: TableOptions): boolean {
  if (nid > 0 && ID_NAME.test(first[0])) return true;
  const missing = new Set(opts.missing ?? DEFAULT_MISSING);
  return first.slice(nid).some((f) => !missing.has(f) && !NUMBER.test(f));
}

// `place(j)` says where name j is (a header field or a line), for the message.
function uniqueNames(names: readonly string[], file: string, line: (j: number) => number, unit: string, place: (j: number) => number): void {
  const seen = new Map<string, number>();
  names.forEach((name, j) => {
    const prev = seen.get(name);
    if (prev !== undefined) {
      throw new InputError({ file, line: line(j) }, `expected unique names, found '${shortText(name)}' twice (${unit} ${place(prev)} and ${place(j)})`);
    }
    seen.set(name, j);
  });
}

function selectColumns(names: readonly string[], file: string, wanted: readonly string[] | undefined, text: readonly number[] = []): number[] {
  if (wanted === undefined) return names.map((_, j) => j).filter((j) => !text.includes(j));
  if (wanted.length === 0) throw new ArgumentError(`parseTable(${file}): columns must name at least one column, found an empty list`);
  return wanted.map((w) => {
    const j = names.indexOf(w);
    if (j < 0) {
      const list = names.length > 20 ? `${names.slice(0, 20).join(', ')}, ... (${names.length} in all)` : names.join(', ');
      throw new InputError({ file }, `expected a column named '${w}', found none; the columns are: ${list}`);
    }
    return j;
  });
}

function transposedTable(rec: Records, file: string, key: TableKey, opts: TableOptions, cell: CellReader): NumericTable {
  if (key === 'fid-iid') {
    throw new ArgumentError(`parseTable(${file}): a transposed table has one sample id per column; use key 'iid' or 'none'`);
  }
  const { rows, lines } = rec;
  const header = opts.header === undefined || opts.header === 'auto' ? key !== 'none' : opts.header;
  if (key === 'iid' && !header) {
    throw new ArgumentError(`parseTable(${file}): a transposed table keyed by 'iid' needs its header row of sample ids`);
  }
  const top = rows[0];
  // Without a corner cell (R's write.table) the header is one field short.
  const corner = !(header && rows.length > 1 && rows[1]!.length === top.length + 1);
  const width = corner ? top.length : top.length + 1;
  const n = width - 1;
  if (n === 0) throw new InputError({ file, line: lines[0] }, 'expected a feature name and at least one sample column, found 1 field');
  const iid = key === 'iid' ? top.slice(corner ? 1 : 0) : [];
  iid.forEach((id, j) => {
    if (id === '') throw new InputError({ file, line: lines[0], column: j + 2 }, 'expected a sample id, found an empty field');
  });
  const seen = new Map<string, number>();
  iid.forEach((id, j) => {
    const prev = seen.get(id);
    if (prev !== undefined) {
      throw new InputError({ file, line: lines[0] }, `expected unique sample ids, found '${shortText(id)}' in columns ${prev + 2} and ${j + 2}`);
    }
    seen.set(id, j);
  });
  const start = header ? 1 : 0;
  const names: string[] = [];
  for (let r = start; r < rows.length; r++) {
    const row = rows[r]!;
    if (row.length !== width) {
      throw new InputError({ file, line: lines[r] }, `expected ${width} fields (a feature name and ${n} values), found ${row.length}`);
    }
    if (row[0] === '') throw new InputError({ file, line: lines[r], column: 1 }, 'expected a feature name, found an empty field');
    names.push(row[0]);
  }
  if (names.length === 0) throw new InputError({ file }, 'expected at least one feature row after the header, found none');
  uniqueNames(
    names,
    file,
    (j) => lines[start + j]!,
    'lines',
    (j) => lines[start + j]!,
  );
  const select = selectColumns(names, file, opts.columns);
  const values = new Matrix(n, select.length);
  for (let c = 0; c < select.length; c++) {
    const r = start + select[c]!;
    const row = rows[r]!;
    for (let j = 0; j < n; j++) {
      const column = key === 'iid' ? `${j + 2} '${iid[j]}'` : j + 2;
      values.data[j + c * n] = cell(row[j + 1]!, { file, line: lines[r], column });
    }
  }
  return { file, key, ids: { fid: iid.slice(), iid }, columns: select.map((j) => names[j]!), values };
}
