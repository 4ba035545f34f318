// R's qr(x): dqrdc2 (R's src/appl/dqrdc2.f, LINPACK's dqrdc with limited
// column pivoting), the Householder QR R uses, rather than LAPACK's
// dgeqp3, to find aliased columns. The rank it reports depends on its order
// of operations, which this port keeps.
import type { Matrix } from './matrix.js';

/** R's default qr() tolerance. */
export const QR_TOL = 1e-7;

/** Euclidean norm of x[off .. off + n), reference BLAS dnrm2's scaled sum of squares (no overflow for large entries). */
function dnrm2(n: number, x: Float64Array, off: number): number {
  let scale = 0;
  let ssq = 1;
  for (let i = 0; i < n; i++) {
    const v = x[off + i]!;
    if (v !== 0) {
      const a = Math.abs(v);
      if (scale < a) {
        ssq = 1 + ssq * (scale / a) ** 2;
        scale = a;
      } else {
        ssq += (a / scale) ** 2;
      }
    }
  }
  return scale * Math.sqrt(ssq);
}

/** Result of `rQr`: R's `qr(x)$rank` and `qr(x)$pivot - 1`. */
export interface RQr {
  rank: number;
  /** 0-based column permutation: the first `rank` are the kept columns, in their original order. */
  pivot: Int32Array;
}

/**
 * R's default `qr(x, tol = 1e-7)`: LINPACK dqrdc2, Householder QR whose
 * limited pivoting moves a column to the end when its norm, after the
 * reflections of the columns kept before it, falls below `tol` times its
 * original norm; the order of the other columns is kept. The rank is the
 * number of columns not moved (at most min(N, p)). `x` (N x p) is not modified.
 */
export function rQr(x: Matrix, tol = QR_TOL): RQr {
  const n = x.rows;
  const p = x.cols;
  const a = x.data.slice();
  // 1-based accessors mirror the Fortran so the control flow reads the same.
  const at = (i: number, j: number): number => i - 1 + (j - 1) * n;
  const qraux = new Float64Array(p + 1);
  const work1 = new Float64Array(p + 1);
  const work2 = new Float64Array(p + 1);
  const jpvt = new Int32Array(p + 1);
  for (let j = 1; j <= p; j++) {
    qraux[j] = dnrm2(n, a, at(1, j));
    work1[j] = qraux[j]!;
    work2[j] = qraux[j]! === 0 ? 1 : qraux[j]!;
    jpvt[j] = j;
  }
  const lup = Math.min(n, p);
  let k = p + 1;
  const col = new Float64Array(n);
  for (let l = 1; l <= lup; l++) {
    // Cycle negligible columns to the right-hand edge.
    while (!(l >= k || qraux[l]! >= work2[l]! * tol)) {
      for (let i = 1; i <= n; i++) col[i - 1] = a[at(i, l)]!;
      a.copyWithin(at(1, l), at(1, l + 1), at(1, p) + n);
      a.set(col, at(1, p));
      const [pv, q, w1, w2] = [jpvt[l]!, qraux[l]!, work1[l]!, work2[l]!];
      for (let j = l + 1; j <= p; j++) {
        jpvt[j - 1] = jpvt[j]!;
        qraux[j - 1] = qraux[j]!;
        work1[j - 1] = work1[j]!;
        work2[j - 1] = work2[j]!;
      }
      jpvt[p] = pv;
      qraux[p] = q;
      work1[p] = w1;
      work2[p] = w2;
      k--;
    }
    if (l === n) continue;
    // Householder transformation for column l.
    let nrmxl = dnrm2(n - l + 1, a, at(l, l));
    if (nrmxl === 0) continue;
    if (a[at(l, l)] !== 0) nrmxl = Math.sign(a[at(l, l)]!) * Math.abs(nrmxl);
    const r = 1 / nrmxl;
    for (let i = l; i <= n; i++) a[at(i, l)]! *= r;
    a[at(l, l)] = 1 + a[at(l, l)]!;
    for (let j = l + 1; j <= p; j++) {
      let dot = 0;
      for (let i = l; i <= n; i++) dot += a[at(i, l)]! * a[at(i, j)]!;
      const t = -dot / a[at(l, l)]!;
      for (let i = l; i <= n; i++) a[at(i, j)]! += t * a[at(i, l)]!;
      if (qraux[j] === 0) continue;
      const tt = Math.max(1 - (Math.abs(a[at(l, j)]!) / qraux[j]!) ** 2, 0);
      if (Math.abs(tt) < 1e-6) {
        // Large reduction: recompute the norm of the remaining part.
        qraux[j] = dnrm2(n - l, a, at(l + 1, j));
        work1[j] = qraux[j]!;
      } else {
        qraux[j] = qraux[j]! * Math.sqrt(tt);
      }
    }
    qraux[l] = a[at(l, l)]!;
    a[at(l, l)] = -nrmxl;
  }
  const rank = Math.min(k - 1, n);
  const pivot = new Int32Array(p);
  for (let j = 0; j < p; j++) pivot[j] = jpvt[j + 1]! - 1;
  return { rank, pivot };
}
