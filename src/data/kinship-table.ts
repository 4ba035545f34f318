import { InputError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import type { SampleTable } from './samples.js';
import { isNumberText, shortText, splitRecords, type Separator } from './table.js';

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
 * recognised by an empty corner cell, by having no numeric field, or by
 * being one field short; a first column of ids by having no numeric field,
 * or, beside a header, by the shape (one field more than there are rows).
 * The matrix must be square, finite and symmetric to
 * `SYMMETRY_TOLERANCE * max|K_ij|`; ids must be unique and non-empty.
 * Each violation is an `InputError` naming the file and what was wrong.
 */
export function parseKinship(text: string, file: string, opts: ReadKinshipOptions = {}): KinshipTable {
  const { rows, lines } = splitRecords(text, file, opts.sep ?? 'auto');
  const first = rows[0];
  // A header row is all ids, or has an empty corner cell, or is one field short (R's write.table).
  const header = first[0] === '' || first.every((f) => !isNumberText(f)) || (rows.length > 1 && first.length === rows[1]!.length - 1);
  const data = header ? rows.slice(1) : rows;
  const dataLines = header ? lines.slice(1) : lines;
  const n = data.length;
  const [row0] = data;
  if (row0 === undefined) throw new InputError({ file }, 'expected the rows of a square matrix after the header row, found none');
  const width = row0.length;
  data.forEach((row, i) => {
    if (row.length !== width) {
      throw new InputError({ file, line: dataLines[i] }, `expected ${width} fields (as on line ${dataLines[0]}), found ${row.length}`);
    }
  });
  const idColumn = data.every((row) => !isNumberText(row[0])) || (header && width === n + 1);
  const off = idColumn ? 1 : 0;
  if (width - off !== n) {
    const after = [header ? 'the header row' : '', idColumn ? 'the id column' : ''].filter((s) => s !== '').join(' and ');
    throw new InputError({ file }, `expected a square matrix, found ${n} rows x ${width - off} columns of values${after === '' ? '' : ` (besides ${after})`}`);
  }
  const rowIds = idColumn ? data.map((row) => row[0]) : undefined;
  const colIds = header ? headerIds(first, n, file, lines[0]) : undefined;
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
  if (own !== undefined) checkIds(own, file, (j) => (rowIds !== undefined ? { line: dataLines[j]!, column: 1 } : { line: lines[0], column: j + 1 }));
  const ids = own !== undefined ? { fid: own.slice(), iid: own } : genotypeIds(opts.ids, n, file);
  const k = new Matrix(n, n);
  let max = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const s = data[i]![j + off]!;
      const v = isNumberText(s) ? Number(s) : Number.NaN;
      if (!Number.isFinite(v)) throw new InputError({ file, line: dataLines[i], column: j + off + 1 }, `expected a finite number, found '${shortText(s)}'`);
      k.data[i + j * n] = v;
      max = Math.max(max, Math.abs(v));
    }
  }
  checkSymmetric(k, max, file, dataLines, off, ids.iid);
  return { file, key: own !== undefined ? 'iid' : 'fid-iid', ids, k };
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
