import { Matrix } from './matrix.js';

/**
 * The rows and columns `idx` of a square matrix `k`, in that order: an
 * idx.length x idx.length matrix (a kinship restricted to some samples).
 */
export function subMatrix(k: Matrix, idx: Int32Array): Matrix {
  const n = idx.length;
  const out = new Matrix(n, n);
  for (let j = 0; j < n; j++) {
    const off = idx[j]! * k.rows;
    for (let i = 0; i < n; i++) out.data[i + j * n] = k.data[idx[i]! + off]!;
  }
  return out;
}

/**
 * `subMatrix` in `k`'s own buffer, for a kinship needed no more: with `idx`
 * strictly increasing, entry (i, j) moves from idx[i] + idx[j] N to
 * i + j n, never after where it is read from, so compacting in column
 * order overwrites only entries already moved. Returns a view of the first
 * n^2 doubles of k's buffer (k itself when idx is 0..N-1), or a copy when
 * idx is not increasing. `k` must not be used afterwards.
 */
export function subMatrixInPlace(k: Matrix, idx: Int32Array): Matrix {
  const n = idx.length;
  const big = k.rows;
  for (let i = 0; i < n; i++) if (idx[i]! <= (i === 0 ? -1 : idx[i - 1]!)) return subMatrix(k, idx);
  if (n === big) return k;
  const d = k.data;
  for (let j = 0; j < n; j++) {
    const off = idx[j]! * big;
    for (let i = 0; i < n; i++) d[i + j * n] = d[idx[i]! + off]!;
  }
  return new Matrix(n, n, d.subarray(0, n * n));
}
