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
