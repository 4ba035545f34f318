import { Matrix } from '../linalg/matrix.js';

/**
 * The low-rank factor W of limix's quick start from a raw N x r table:
 * columns with zero variance dropped, the others standardised (population
 * sd) and divided by sqrt(columns kept), so that W W^T has mean diagonal 1.
 * Returns W (N x kept) and how many columns were dropped.
 */
export function quickStartW(raw: Matrix): { m: Matrix; dropped: number } {
  const n = raw.rows;
  const keep: Float64Array[] = [];
  for (let c = 0; c < raw.cols; c++) {
    const col = Float64Array.from(raw.col(c));
    const mean = col.reduce((a, b) => a + b, 0) / n;
    let ss = 0;
    for (const v of col) ss += (v - mean) ** 2;
    const sd = Math.sqrt(ss / n);
    if (!(sd > 0)) continue;
    for (let i = 0; i < n; i++) col[i] = (col[i]! - mean) / sd;
    keep.push(col);
  }
  const m = new Matrix(n, keep.length);
  const scale = 1 / Math.sqrt(Math.max(keep.length, 1));
  keep.forEach((col, c) => {
    for (let i = 0; i < n; i++) m.data[i + c * n] = col[i]! * scale;
  });
  return { m, dropped: raw.cols - keep.length };
}
