import { Matrix } from '../linalg/matrix.js';
import { normalQuantile } from '../stats/index.js';

/**
 * limix-core's `gaussianize` (rank-based inverse normal transform), per
 * column of an N x P matrix or of one vector: with scipy's
 * `rankdata(method='average')` ranks R (1-based), r = int(np.around(R)) - 1
 * (round half to even, so tied values share a quantile) and the value is
 * `-norm.isf((r + 0.5) / N)`, which is `norm.ppf((r + 0.5) / N)`.
 *
 * NaN (which limix does not handle) stays NaN: only the observed values are
 * ranked, and N is their count. Returns a new array or matrix.
 */
export function gaussianize(y: Float64Array): Float64Array;
export function gaussianize(y: Matrix): Matrix;
export function gaussianize(y: Float64Array | Matrix): Float64Array | Matrix {
  if (!(y instanceof Matrix)) return gaussianizeColumn(y);
  const out = new Matrix(y.rows, y.cols);
  for (let j = 0; j < y.cols; j++) out.data.set(gaussianizeColumn(y.col(j)), j * y.rows);
  return out;
}

function gaussianizeColumn(y: Float64Array): Float64Array {
  const out = new Float64Array(y.length).fill(Number.NaN);
  const order: number[] = [];
  for (let i = 0; i < y.length; i++) if (!Number.isNaN(y[i]!)) order.push(i);
  order.sort((a, b) => y[a]! - y[b]!);
  const n = order.length;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && y[order[end]!] === y[order[start]!]) end++;
    // The tie group holds sorted positions start..end-1, i.e. 1-based ranks start+1..end.
    const rank = roundHalfEven((start + 1 + end) / 2) - 1;
    const value = normalQuantile((rank + 0.5) / n);
    for (let k = start; k < end; k++) out[order[k]!] = value;
    start = end;
  }
  return out;
}

/** numpy's `around`: to the nearest integer, ties to even. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return Math.round(x);
  return f % 2 === 0 ? f : f + 1;
}
