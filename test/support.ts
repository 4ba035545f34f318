// Shared helpers for the test files: seeded random matrices, naive reference
// products, norms, and the list of backends every linear-algebra test runs on.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { type Backend, Matrix, availableBackends, nativeStatus } from '../src/node.js';
import { symmetriseAverage } from '../src/linalg/small.js';
import type { Rng } from '../src/sim/rng.js';
import type { VariantTable } from '../src/data/variants.js';

export const EPS = 2.220446049250313e-16;

/**
 * The backends under test: js always, native when it loaded. Under CI=true
 * the native backend is required (CI installs OpenBLAS/LAPACKE), so its
 * absence is a failing test, never a silent skip.
 */
export function backendsUnderTest(): Backend[] {
  const status = nativeStatus();
  if (!status.available) {
    if (process.env.CI === 'true') {
      test('native backend is available under CI', () => {
        throw new Error(`the native backend did not load under CI: ${status.reason}`);
      });
    } else {
      test('native backend', { skip: `not available here: ${status.reason}` }, () => {});
    }
  }
  return availableBackends();
}

/** An r x c matrix of standard normals. */
export function randn(rng: Rng, r: number, c: number): Matrix {
  return new Matrix(r, c, rng.normals(r * c));
}

/** G + G^T for a standard normal n x n G. */
export function randomSymmetric(rng: Rng, n: number): Matrix {
  const g = randn(rng, n, n);
  const t = g.transpose();
  for (let i = 0; i < g.data.length; i++) g.data[i]! += t.data[i]!;
  return g;
}

/** A random n x n orthogonal matrix (modified Gram-Schmidt, twice, on normals). */
export function randomOrthogonal(rng: Rng, n: number): Matrix {
  const q = randn(rng, n, n);
  const d = q.data;
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += d[i + k * n]! * d[i + j * n]!;
        for (let i = 0; i < n; i++) d[i + j * n]! -= dot * d[i + k * n]!;
      }
      let nrm = 0;
      for (let i = 0; i < n; i++) nrm += d[i + j * n]! ** 2;
      nrm = Math.sqrt(nrm);
      for (let i = 0; i < n; i++) d[i + j * n]! /= nrm;
    }
  }
  return q;
}

/** Q diag(values) Q^T for a random orthogonal Q: a symmetric matrix with known spectrum. */
export function withSpectrum(rng: Rng, values: ArrayLike<number>): Matrix {
  const n = values.length;
  const q = randomOrthogonal(rng, n);
  const out = new Matrix(n, n);
  for (let k = 0; k < n; k++) {
    const v = values[k]!;
    for (let j = 0; j < n; j++) {
      const qjk = v * q.data[j + k * n]!;
      for (let i = 0; i < n; i++) out.data[i + j * n]! += q.data[i + k * n]! * qjk;
    }
  }
  symmetriseAverage(out);
  return out;
}

/** A random symmetric positive definite matrix with condition number `cond` (log-spaced spectrum). */
export function randomSpd(rng: Rng, n: number, cond = 10): Matrix {
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = n === 1 ? 1 : cond ** (-i / (n - 1));
  return withSpectrum(rng, values);
}

/** Makes a (numerically) symmetric matrix exactly symmetric: lmmkit's own (A + A^T) / 2. */
export { symmetriseAverage as symmetrize };

/** Naive op(A) op(B), the reference for the products. */
export function naiveMul(a: Matrix, b: Matrix, transA = false, transB = false): Matrix {
  const A = transA ? a.transpose() : a;
  const B = transB ? b.transpose() : b;
  const out = new Matrix(A.rows, B.cols);
  for (let j = 0; j < B.cols; j++) {
    for (let i = 0; i < A.rows; i++) {
      let s = 0;
      for (let k = 0; k < A.cols; k++) s += A.data[i + k * A.rows]! * B.data[k + j * B.rows]!;
      out.data[i + j * A.rows] = s;
    }
  }
  return out;
}

/** Frobenius norm. */
export function fro(a: Matrix | Float64Array): number {
  const d = a instanceof Matrix ? a.data : a;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i]! * d[i]!;
  return Math.sqrt(s);
}

/** ||A - B||_F. */
export function diffFro(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new Error(`diffFro: ${a.shape} vs ${b.shape}`);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += (a.data[i]! - b.data[i]!) ** 2;
  return Math.sqrt(s);
}

/** ||Q^T Q - I||_F for a matrix with (supposedly) orthonormal columns. */
export function orthoError(q: Matrix, be: Backend): number {
  const qtq = be.gemm(q, q, { transA: true });
  return diffFro(qtq, Matrix.identity(q.cols));
}

/** Scales column j of `a` by d[j] (A diag(d)), as a new matrix. */
export function scaleCols(a: Matrix, d: ArrayLike<number>): Matrix {
  const out = a.clone();
  for (let j = 0; j < a.cols; j++) {
    for (let i = 0; i < a.rows; i++) out.data[i + j * a.rows]! *= d[j]!;
  }
  return out;
}

/** Relative difference max|a - b| / max(max|b|, tiny). */
export function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, Number.MIN_VALUE);
}

/** The workspace's shared folder (data and reference outputs), beside the repository. */
export const SHARED = new URL('../../../shared/', import.meta.url).pathname;

/**
 * Registers `fn` as a test that needs `../shared/<rel>`. Without the file the
 * test is skipped with the reason, except under CI=true, where a missing
 * reference is a failure.
 */
export function sharedTest(name: string, rel: string | string[], fn: (t: TestContext) => Promise<void> | void): void {
  const paths = (Array.isArray(rel) ? rel : [rel]).map((r) => SHARED + r);
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0) test(name, fn);
  else if (process.env.CI === 'true')
    test(name, () => {
      throw new Error(`missing reference file(s): ${missing.join(', ')}`);
    });
  else test(name, { skip: `missing ${missing.join(', ')}` }, () => {});
}

/**
 * Registers `fn` as a test that needs the command `cmd` on the PATH (a
 * reference tool such as plink1.9). Skipped with the reason when it is
 * absent, except under CI=true, where .ci/run installs it and its absence fails.
 */
export function toolTest(name: string, cmd: string, fn: (t: TestContext) => Promise<void> | void): void {
  if (hasTool(cmd)) test(name, fn);
  else if (process.env.CI === 'true')
    test(name, () => {
      throw new Error(`${cmd} is not installed (.ci/run installs it)`);
    });
  else test(name, { skip: `${cmd} not installed` }, () => {});
}

/** Whether the command `cmd` is on the PATH. */
export function hasTool(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/**
 * Inside a running test: skip it (with the reason) when `cmd` is absent,
 * except under CI=true, where .ci/run installs it and its absence fails.
 * Returns whether the test may go on.
 */
export function requireTool(t: TestContext, cmd: string): boolean {
  if (hasTool(cmd)) return true;
  if (process.env.CI === 'true') throw new Error(`${cmd} is not installed (.ci/run installs it)`);
  t.skip(`${cmd} not installed`);
  return false;
}

/** A variant table of `n` variants v0, v1, ... on chromosome 1, 100 bp apart, alleles A/C (for tests of batches). */
export function syntheticVariants(n: number): VariantTable {
  const ids = Array.from({ length: n }, (_, j) => `v${j}`);
  return {
    chrom: ids.map(() => '1'),
    id: ids,
    cm: new Float64Array(n),
    pos: Float64Array.from(ids, (_, j) => 100 * j),
    a1: ids.map(() => 'A'),
    a2: ids.map(() => 'C'),
  };
}
