// A dense GrmOperator for tests: the standardised model SNPs Z held as an
// explicit N x M matrix, every product done by plain backend gemms. It is
// the oracle the streaming operator (grm-operator.ts) must agree with, and
// the stand-in the REML and association code is checked against.
import { Matrix } from '../../src/linalg/matrix.js';
import { getBackend } from '../../src/linalg/select.js';
import type { GrmOperator, ModelSnps } from '../../src/infmodel/types.js';

/** Z standardised like the kinship path (mean-imputed, centred, / population sd); constant columns dropped. */
export function standardise(dosages: Matrix): { z: Matrix; kept: Int32Array } {
  const n = dosages.rows;
  const kept: number[] = [];
  const cols: Float64Array[] = [];
  for (let j = 0; j < dosages.cols; j++) {
    const c = dosages.col(j);
    let s = 0;
    let cnt = 0;
    for (let i = 0; i < n; i++)
      if (!Number.isNaN(c[i]!)) {
        s += c[i]!;
        cnt++;
      }
    const mu = s / cnt;
    let ss = 0;
    for (let i = 0; i < n; i++) if (!Number.isNaN(c[i]!)) ss += (c[i]! - mu) ** 2;
    const sd = Math.sqrt(ss / n);
    if (!(sd > 0)) continue;
    kept.push(j);
    cols.push(Float64Array.from(c, (v) => (Number.isNaN(v) ? 0 : (v - mu) / sd)));
  }
  const z = new Matrix(n, kept.length);
  cols.forEach((c, j) => {
    z.data.set(c, j * n);
  });
  return { z, kept: Int32Array.from(kept) };
}

/** An orthonormal basis (N x p) of the columns of c by modified Gram-Schmidt (twice, for accuracy). */
export function orthonormal(c: Matrix): Matrix {
  const n = c.rows;
  const q = new Matrix(n, c.cols, c.data.slice());
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < q.cols; j++) {
      const v = q.col(j);
      for (let k = 0; k < j; k++) {
        const u = q.col(k);
        let d = 0;
        for (let i = 0; i < n; i++) d += u[i]! * v[i]!;
        for (let i = 0; i < n; i++) v[i]! -= d * u[i]!;
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += v[i]! ** 2;
      const inv = 1 / Math.sqrt(s);
      for (let i = 0; i < n; i++) v[i]! *= inv;
    }
  }
  return q;
}

/** A GrmOperator over an explicit Z (N x M) with chromosome groups `group` (non-decreasing). */
export function denseGrm(z: Matrix, group: Int32Array, chromNames: readonly string[], covariates?: Matrix): GrmOperator {
  const be = getBackend();
  const n = z.rows;
  const m = z.cols;
  const countByGroup = new Int32Array(chromNames.length);
  for (const g of group) countByGroup[g]!++;
  const snps: ModelSnps = {
    n,
    m,
    chromNames,
    group,
    countByGroup,
    fileIndex: Int32Array.from({ length: m }, (_, j) => j),
    bytes: z.data.byteLength,
    decode(j0, j1, out) {
      out.data.set(z.data.subarray(j0 * n, j1 * n), 0);
    },
  };
  const q = covariates === undefined ? undefined : orthonormal(covariates);
  const project = (v: Matrix): void => {
    if (q === undefined) return;
    const t = be.gemm(q, v, { transA: true });
    be.gemm(q, t, { alpha: -1, beta: 1, c: v });
  };
  const op = {
    snps,
    q,
    passes: 0,
    project,
    apply(v: Matrix, leaveOut: Int32Array, out: Matrix): void {
      const pv = new Matrix(v.rows, v.cols, v.data.slice());
      project(pv);
      const t = be.gemm(z, pv, { transA: true });
      for (let r = 0; r < v.cols; r++) {
        const g = leaveOut[r]!;
        if (g < 0) continue;
        for (let j = 0; j < m; j++) if (group[j] === g) t.data[j + r * m] = 0;
      }
      be.gemm(z, t, { c: out });
      for (let r = 0; r < v.cols; r++) {
        const g = leaveOut[r]!;
        const mg = g < 0 ? m : m - countByGroup[g]!;
        const c = out.col(r);
        for (let i = 0; i < n; i++) c[i]! /= mg;
      }
      project(out);
      op.passes++;
    },
    zt(v: Matrix, out: Matrix): void {
      const pv = new Matrix(v.rows, v.cols, v.data.slice());
      project(pv);
      be.gemm(z, pv, { transA: true, c: out });
      op.passes++;
    },
    z(b: Matrix, out: Matrix): void {
      be.gemm(z, b, { c: out });
      project(out);
      op.passes++;
    },
  };
  return op;
}
