// Small dense helpers of the Kronecker-sum model: the P x P, N x P and k x k
// products, the rotated inverse diagonal and the sample covariance of Y.
import { ShapeError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';

/** d[n + p N] = 1 / (sc_p sr_n + 1). */
export function diagInverse(sr: Float64Array, sc: Float64Array): Matrix {
  const n = sr.length;
  const p = sc.length;
  const d = new Matrix(n, p);
  for (let c = 0; c < p; c++) {
    const s = sc[c]!;
    for (let i = 0; i < n; i++) d.data[i + c * n] = 1 / (s * sr[i]! + 1);
  }
  return d;
}

/** M B^T for M (r x p) and a small B (q x p): a new r x q matrix. */
export function rightMulT(m: Matrix, b: Matrix): Matrix {
  const r = m.rows;
  const p = m.cols;
  const q = b.rows;
  if (b.cols !== p) throw new ShapeError(`rightMulT: ${m.shape} times the transpose of ${b.shape}`);
  const out = new Matrix(r, q);
  for (let j = 0; j < q; j++) {
    const o = j * r;
    for (let c = 0; c < p; c++) {
      const v = b.data[j + c * q]!;
      if (v === 0) continue;
      const off = c * r;
      for (let i = 0; i < r; i++) out.data[o + i]! += m.data[off + i]! * v;
    }
  }
  return out;
}

/** B M for a small B (q x p) and M (p x w): a new q x w matrix. */
export function leftMul(m: Matrix, b: Matrix): Matrix {
  const p = m.rows;
  const w = m.cols;
  const q = b.rows;
  if (b.cols !== p) throw new ShapeError(`leftMul: ${b.shape} times ${m.shape}`);
  const out = new Matrix(q, w);
  for (let j = 0; j < w; j++) {
    for (let i = 0; i < q; i++) {
      let s = 0;
      for (let c = 0; c < p; c++) s += b.data[i + c * q]! * m.data[c + j * p]!;
      out.data[i + j * q] = s;
    }
  }
  return out;
}

/** scale L^T G L for P x P L and G (column-major arrays). */
export function congruence(l: Float64Array, g: Float64Array, p: number, scale: number): Matrix {
  const gl = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < p; i++) {
      let s = 0;
      for (let c = 0; c < p; c++) s += g[i + c * p]! * l[c + j * p]!;
      gl[i + j * p] = s;
    }
  }
  const out = new Matrix(p, p);
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < p; i++) {
      let s = 0;
      for (let c = 0; c < p; c++) s += l[c + i * p]! * gl[c + j * p]!;
      out.data[i + j * p] = scale * s;
    }
  }
  return out;
}

/** Sample covariance of the columns of Y (ddof 1, numpy's `cov(Y.T)`). */
export function sampleCovariance(y: Matrix): Matrix {
  const n = y.rows;
  const p = y.cols;
  const mean = new Float64Array(p);
  for (let c = 0; c < p; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += y.data[i + c * n]!;
    mean[c] = s / n;
  }
  const out = new Matrix(p, p);
  for (let b = 0; b < p; b++) {
    for (let a = 0; a <= b; a++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += (y.data[i + a * n]! - mean[a]!) * (y.data[i + b * n]! - mean[b]!);
      out.data[a + b * p] = out.data[b + a * p] = s / (n - 1);
    }
  }
  return out;
}
