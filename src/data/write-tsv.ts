import { ShapeError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import { writeAtomically } from './atomic.js';
import { formatNumber } from './format-number.js';

export { formatNumber } from './format-number.js';

/** A named output column: numbers (written so that they round-trip, NaN as NA) or strings. */
export interface Column {
  name: string;
  values: ArrayLike<number> | readonly string[];
}

const CHUNK_ROWS = 4096;

/**
 * Writes a tab-separated table with a header line, atomically (temporary
 * file renamed into place). Every column must have the same length.
 */
export async function writeTsv(path: string, columns: readonly Column[]): Promise<void> {
  const [first] = columns;
  const rows = first === undefined ? 0 : first.values.length;
  if (first !== undefined) {
    for (const c of columns) {
      if (c.values.length !== rows) {
        throw new ShapeError(`writeTsv ${path}: column '${c.name}' has ${c.values.length} values, '${first.name}' has ${rows}`);
      }
    }
  }
  await writeAtomically(path, async (append) => {
    await append(`${columns.map((c) => c.name).join('\t')}\n`);
    for (let r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
      const lines: string[] = [];
      for (let r = r0; r < Math.min(rows, r0 + CHUNK_ROWS); r++) {
        lines.push(columns.map((c) => cell(c.values[r]!)).join('\t'));
      }
      await append(`${lines.join('\n')}\n`);
    }
  });
}

/**
 * Writes a square or rectangular matrix as tab-separated text, atomically.
 * With `ids`, a header line `id <ids...>` and a first column of ids frame it
 * (a kinship table); without, it is bare numbers (GEMMA's `.cXX.txt` layout).
 */
export async function writeMatrixTsv(path: string, m: Matrix, ids?: readonly string[]): Promise<void> {
  if (ids !== undefined && (ids.length !== m.rows || ids.length !== m.cols)) {
    throw new ShapeError(`writeMatrixTsv ${path}: ${ids.length} ids for a ${m.shape} matrix`);
  }
  await writeAtomically(path, async (append) => {
    if (ids !== undefined) await append(`${['id', ...ids].join('\t')}\n`);
    const row = new Array<string>(m.cols);
    for (let r0 = 0; r0 < m.rows; r0 += 256) {
      const lines: string[] = [];
      for (let i = r0; i < Math.min(m.rows, r0 + 256); i++) {
        for (let j = 0; j < m.cols; j++) row[j] = formatNumber(m.data[i + j * m.rows]!);
        lines.push(ids !== undefined ? `${ids[i]}\t${row.join('\t')}` : row.join('\t'));
      }
      await append(`${lines.join('\n')}\n`);
    }
  });
}

function cell(v: number | string): string {
  return typeof v === 'number' ? formatNumber(v) : v;
}
