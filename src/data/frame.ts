import { InputError } from '../errors.js';
import { parseLines, type LineParser } from './lines.js';
import { DEFAULT_MISSING, isNumberText, RecordSplitter, shortText, type Records, type Separator } from './table.js';

/**
 * An observation table with a header: one row per observation (several rows
 * may share a genotype, as in a multi-environment trial), each column numeric
 * (NaN = missing) or text (a factor in a model formula, as R's data frames
 * hold character columns).
 */
export interface DataFrame {
  readonly file: string;
  readonly names: readonly string[];
  readonly columns: readonly (Float64Array | readonly string[])[];
  /** Number of rows. */
  readonly n: number;
  /** 1-based file line of each row (for messages). */
  readonly lines: readonly number[];
}

/**
 * Parses an observation table (TSV, CSV or whitespace; quoted fields; a
 * header row required). A column is numeric when every non-missing field is
 * a number, text otherwise; missing tokens (`NA`, `.`, empty, `nan`, `NaN`)
 * are NaN in numeric columns and kept as written in text columns. Errors
 * name the file and line: a row with the wrong number of fields, duplicate
 * or empty column names.
 */
export function parseFrame(text: string, file: string, opts: FrameOptions = {}): DataFrame {
  return parseLines(text, new FrameParser(file, opts));
}

/** `parseFrame` as a `LineParser`, for a reader that streams the file line by line (`readFrame` in lmmkit/node). */
export class FrameParser implements LineParser<DataFrame> {
  private readonly file: string;
  private readonly opts: FrameOptions;
  private readonly records: RecordSplitter;

  constructor(file: string, opts: FrameOptions = {}) {
    this.file = file;
    this.opts = opts;
    this.records = new RecordSplitter(file, opts.sep ?? 'auto');
  }

  line(text: string, lineNumber: number): void {
    this.records.line(text, lineNumber);
  }

  finish(): DataFrame {
    return frameOfRecords(this.records.finish(), this.file, this.opts);
  }
}

function frameOfRecords(rec: Records, file: string, opts: FrameOptions): DataFrame {
  const header = rec.rows[0];
  const names = header.map((h) => h.trim());
  const seen = new Set<string>();
  names.forEach((name, j) => {
    if (name === '') throw new InputError({ file, line: rec.lines[0], column: j + 1 }, 'expected a column name, found an empty field');
    if (seen.has(name)) throw new InputError({ file, line: rec.lines[0], column: j + 1 }, `column name '${shortText(name)}' appears twice`);
    seen.add(name);
  });
  const body = rec.rows.slice(1);
  if (body.length === 0) throw new InputError({ file }, 'expected at least one row after the header, found none');
  body.forEach((r, i) => {
    if (r.length !== names.length) {
      throw new InputError({ file, line: rec.lines[i + 1]! }, `expected ${names.length} fields as in the header, found ${r.length}`);
    }
  });
  const missing = new Set(DEFAULT_MISSING);
  const columns = names.map((_, j) => {
    const raw = body.map((r) => r[j]!.trim());
    const numeric = opts.allText !== true && raw.every((v) => missing.has(v) || isNumberText(v));
    return numeric ? Float64Array.from(raw, (v) => (missing.has(v) ? NaN : Number(v))) : raw;
  });
  return { file, names, columns, n: body.length, lines: rec.lines.slice(1) };
}

/** Options of `parseFrame` (and `readFrame` in lmmkit/node). */
export interface FrameOptions {
  sep?: Separator;
  /** Keep every column as text (codes such as '10'/'11' that are factor levels, not numbers). */
  allText?: boolean;
}
