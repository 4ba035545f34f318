// The pure TypeScript dsyevd and dgesdd against the identities that define
// them: A U = U diag(w), U^T U = I with w ascending; A = U diag(s) V^T with
// orthonormal U, V and s descending. Tolerances are normwise, scaled by the
// order and eps; the matrices cover the hard cases of each algorithm
// (repeated and clustered eigenvalues, splits, heavy deflation, rank
// deficiency, extreme scaling) on top of random ones.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dgesdd } from '../../src/linalg/js/gesdd.js';
import { dsyevd } from '../../src/linalg/js/syevd.js';
import { Rng } from '../../src/sim/rng.js';

const EPS = 2 ** -52;

/** Normwise tolerance for order n: LAPACK-quality results are about n eps or better. */
function tol(n: number): number {
  return 10 * Math.max(n, 10) * EPS;
}

/** A dense column-major m x n matrix. */
interface Mat {
  readonly m: number;
  readonly n: number;
  readonly data: Float64Array;
}

function mat(m: number, n: number, data: Float64Array = new Float64Array(m * n)): Mat {
  return { m, n, data };
}

function at(a: Mat, i: number, j: number): number {
  return a.data[i + j * a.m]!;
}

function randn(rng: Rng, m: number, n: number): Mat {
  return mat(m, n, rng.normals(m * n));
}

/** op(A) op(B) by plain loops. */
function mul(a: Mat, b: Mat, transA = false, transB = false): Mat {
  const m = transA ? a.n : a.m;
  const k = transA ? a.m : a.n;
  const n = transB ? b.m : b.n;
  const c = mat(m, n);
  for (let j = 0; j < n; j++) {
    for (let p = 0; p < k; p++) {
      const bpj = transB ? at(b, j, p) : at(b, p, j);
      if (bpj === 0) continue;
      for (let i = 0; i < m; i++) c.data[i + j * m]! += (transA ? at(a, p, i) : at(a, i, p)) * bpj;
    }
  }
  return c;
}

function scaleCols(a: Mat, s: Float64Array): Mat {
  const c = mat(a.m, a.n, a.data.slice());
  for (let j = 0; j < a.n; j++) for (let i = 0; i < a.m; i++) c.data[i + j * a.m]! *= s[j]!;
  return c;
}

/** Frobenius norm, scaled so that matrices near the overflow threshold still have one. */
function fro(x: Float64Array): number {
  let big = 0;
  for (const v of x) big = Math.max(big, Math.abs(v));
  if (big === 0) return 0;
  let s = 0;
  for (const v of x) s += (v / big) ** 2;
  return big * Math.sqrt(s);
}

function diffFro(a: Mat, b: Mat): number {
  return fro(a.data.map((x, i) => x - b.data[i]!));
}

function identity(n: number): Mat {
  const c = mat(n, n);
  for (let i = 0; i < n; i++) c.data[i + i * n] = 1;
  return c;
}

/** ||Q^T Q - I||_F for the columns of q. */
function orthoError(q: Mat): number {
  return diffFro(mul(q, q, true, false), identity(q.n));
}

function transpose(a: Mat): Mat {
  const t = mat(a.n, a.m);
  for (let j = 0; j < a.n; j++) for (let i = 0; i < a.m; i++) t.data[j + i * a.n] = at(a, i, j);
  return t;
}

function symmetric(a: Mat): Mat {
  const s = mat(a.n, a.n);
  for (let j = 0; j < a.n; j++) for (let i = 0; i < a.n; i++) s.data[i + j * a.n] = (at(a, i, j) + at(a, j, i)) / 2;
  return s;
}

function diag(values: readonly number[]): Mat {
  const n = values.length;
  const d = mat(n, n);
  values.forEach((v, i) => {
    d.data[i + i * n] = v;
  });
  return d;
}

/** A random orthogonal n x n matrix: the Q of a Gram-Schmidt QR of a Gaussian matrix, twice orthogonalised. */
function randomOrthogonal(rng: Rng, n: number): Mat {
  const q = randn(rng, n, n);
  for (let j = 0; j < n; j++) {
    const col = q.data.subarray(j * n, (j + 1) * n);
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        const prev = q.data.subarray(p * n, (p + 1) * n);
        let d = 0;
        for (let i = 0; i < n; i++) d += prev[i]! * col[i]!;
        for (let i = 0; i < n; i++) col[i]! -= d * prev[i]!;
      }
    }
    const norm = fro(col);
    for (let i = 0; i < n; i++) col[i]! /= norm;
  }
  return q;
}

/** Q diag(values) Q^T with a random orthogonal Q. */
function withSpectrum(rng: Rng, values: readonly number[]): Mat {
  const q = randomOrthogonal(rng, values.length);
  return symmetric(mul(scaleCols(q, Float64Array.from(values)), q, false, true));
}

/** The tridiagonal W_{2m+1}^+ of Wilkinson: pairs of eigenvalues agreeing to many digits. */
function wilkinson(m: number): Mat {
  const n = 2 * m + 1;
  const w = mat(n, n);
  for (let i = 0; i < n; i++) {
    w.data[i + i * n] = Math.abs(i - m);
    if (i + 1 < n) w.data[i + 1 + i * n] = w.data[i + (i + 1) * n] = 1;
  }
  return w;
}

/** `copies` Wilkinson W_21^+ blocks glued by off-diagonals `glue`: a classic stress test of deflation. */
function gluedWilkinson(copies: number, glue: number): Mat {
  const b = wilkinson(10);
  const n = 21 * copies;
  const g = mat(n, n);
  for (let c = 0; c < copies; c++) {
    for (let j = 0; j < 21; j++) for (let i = 0; i < 21; i++) g.data[21 * c + i + (21 * c + j) * n] = at(b, i, j);
    if (c > 0) g.data[21 * c + (21 * c - 1) * n] = g.data[21 * c - 1 + 21 * c * n] = glue;
  }
  return g;
}

function scaled(a: Mat, f: number): Mat {
  return mat(
    a.m,
    a.n,
    a.data.map((x) => x * f),
  );
}

/** D A D with D = diag(10^(i mod 7 - 3)): entries spread over twelve orders of magnitude. */
function graded(a: Mat): Mat {
  const d = Float64Array.from({ length: a.n }, (_, i) => 10 ** ((i % 7) - 3));
  return transpose(scaleCols(transpose(scaleCols(a, d)), d));
}

function eigen(a: Mat): { w: Float64Array; u: Mat; info: number } {
  const u = mat(a.n, a.n, a.data.slice());
  const w = new Float64Array(a.n);
  const info = dsyevd(a.n, u.data, w);
  return { w, u, info };
}

/** Checks A U = U diag(w), U^T U = I and ascending w. */
function checkEigen(label: string, a: Mat): Float64Array {
  const n = a.n;
  const { w, u, info } = eigen(a);
  assert.equal(info, 0, `${label}: info`);
  for (let i = 1; i < n; i++) assert.ok(w[i - 1]! <= w[i]!, `${label}: ascending at ${i}`);
  const norm = Math.max(fro(a.data), Number.MIN_VALUE);
  const res = diffFro(mul(a, u), scaleCols(u, w)) / norm;
  assert.ok(res <= tol(n), `${label}: ||AU - UW|| / ||A|| = ${res / EPS} eps`);
  const orth = orthoError(u);
  assert.ok(orth <= tol(n), `${label}: ||U^T U - I|| = ${orth / EPS} eps`);
  return w;
}

function maxAbsDiff(x: Float64Array, y: readonly number[]): number {
  return Math.max(...y.map((v, i) => Math.abs(x[i]! - v)));
}

describe('js dsyevd', () => {
  const rng = new Rng(2024);

  test('small, zero, identity and diagonal matrices', () => {
    assert.deepEqual(Array.from(checkEigen('1x1', diag([-3.5]))), [-3.5]);
    assert.deepEqual(Array.from(checkEigen('zero', mat(7, 7))), new Array(7).fill(0));
    assert.deepEqual(Array.from(checkEigen('identity', identity(9))), new Array(9).fill(1));
    assert.deepEqual(Array.from(checkEigen('diagonal', diag([3, -1, 2, 2, 0, 5]))), [-1, 0, 2, 2, 3, 5]);
    checkEigen('2x2', symmetric(randn(rng, 2, 2)));
    assert.equal(dsyevd(0, new Float64Array(0), new Float64Array(0)), 0);
  });

  test('random matrices around and well above the divide and conquer leaf size', () => {
    for (const n of [3, 25, 26, 50, 300]) checkEigen(`random ${n}`, symmetric(randn(rng, n, n)));
  });

  test('a rank-10 kinship G G^T (heavy deflation) and a standardized-genotype kinship', () => {
    const g = randn(rng, 400, 10);
    const w = checkEigen('rank 10', mul(g, g, false, true));
    const big = w[399]!;
    for (let i = 0; i < 390; i++) assert.ok(Math.abs(w[i]!) <= tol(400) * big, `zero eigenvalue ${i}: ${w[i]}`);
    const geno = mat(
      300,
      600,
      Float64Array.from({ length: 300 * 600 }, () => Math.floor(3 * rng.uniform())),
    );
    checkEigen('kinship 300', mul(geno, geno, false, true));
  });

  test('known spectra: repeated, clustered, and well spread', () => {
    const spread = Array.from({ length: 60 }, (_, i) => (i - 20) * 0.37);
    const w = checkEigen('spread', withSpectrum(rng, spread));
    const norm = Math.max(...spread.map(Math.abs));
    assert.ok(maxAbsDiff(w, spread) <= tol(60) * norm, `spread eigenvalues off by ${maxAbsDiff(w, spread)}`);
    const repeated = Array.from({ length: 90 }, (_, i) => 1 + Math.floor(i / 30));
    const wr = checkEigen('repeated', withSpectrum(rng, repeated));
    assert.ok(maxAbsDiff(wr, repeated) <= tol(90) * 3);
    checkEigen(
      'clustered',
      withSpectrum(
        rng,
        Array.from({ length: 80 }, (_, i) => 1 + (i % 4) * 1e-9),
      ),
    );
  });

  test('Wilkinson and glued Wilkinson matrices, and tridiagonals that split', () => {
    checkEigen('W21+', wilkinson(10));
    checkEigen('W101+', wilkinson(50));
    checkEigen('glued 1e-7', gluedWilkinson(6, 1e-7));
    checkEigen('glued 1e-14', gluedWilkinson(6, 1e-14));
    checkEigen('glued 0', gluedWilkinson(3, 0));
    const path = mat(60, 60);
    for (let i = 0; i + 1 < 60; i++) path.data[i + 1 + i * 60] = path.data[i + (i + 1) * 60] = 1;
    checkEigen('path graph', path);
  });

  test('badly scaled entries and extreme magnitudes', () => {
    const s = randn(rng, 70, 70);
    checkEigen('graded', graded(mul(s, s, true, false)));
    const r = symmetric(randn(rng, 40, 40));
    checkEigen('tiny', scaled(r, 1e-300));
    checkEigen('huge', scaled(r, 1e300));
    const w = checkEigen('mixed', diag([1e200, 1, 1e-200]));
    assert.deepEqual(Array.from(w), [1e-200, 1, 1e200]);
  });

  test('reads only the lower triangle', () => {
    const a = symmetric(randn(rng, 40, 40));
    const poisoned = mat(40, 40, a.data.slice());
    for (let j = 1; j < 40; j++) for (let i = 0; i < j; i++) poisoned.data[i + j * 40] = Number.NaN;
    const clean = eigen(a);
    const dirty = eigen(poisoned);
    assert.deepEqual(dirty.w, clean.w);
    assert.deepEqual(dirty.u.data, clean.u.data);
  });

  test('a non-finite entry gives info 1 and NaN eigenvalues', () => {
    const a = identity(3);
    a.data[1] = Number.NaN;
    const { w, info } = eigen(a);
    assert.equal(info, 1);
    assert.ok(w.every(Number.isNaN));
  });
});

function svd(a: Mat): { s: Float64Array; u: Mat; vt: Mat; info: number } {
  const p = Math.min(a.m, a.n);
  const s = new Float64Array(p);
  const u = mat(a.m, p);
  const vt = mat(p, a.n);
  const info = dgesdd(a.m, a.n, a.data.slice(), s, u.data, vt.data);
  return { s, u, vt, info };
}

/** Checks A = U diag(s) V^T, U^T U = I, V^T V = I, s descending and non-negative. */
function checkSvd(label: string, a: Mat): Float64Array {
  const { s, u, vt, info } = svd(a);
  const p = s.length;
  const dim = Math.max(a.m, a.n);
  assert.equal(info, 0, `${label}: info`);
  for (let i = 0; i < p; i++) assert.ok(s[i]! >= 0, `${label}: s[${i}] >= 0`);
  for (let i = 1; i < p; i++) assert.ok(s[i - 1]! >= s[i]!, `${label}: descending at ${i}`);
  const norm = Math.max(fro(a.data), Number.MIN_VALUE);
  const rec = diffFro(mul(scaleCols(u, s), vt), a) / norm;
  assert.ok(rec <= tol(dim), `${label}: ||A - U S V^T|| / ||A|| = ${rec / EPS} eps`);
  const ou = orthoError(u);
  assert.ok(ou <= tol(dim), `${label}: ||U^T U - I|| = ${ou / EPS} eps`);
  const ov = orthoError(transpose(vt));
  assert.ok(ov <= tol(dim), `${label}: ||V V^T - I|| = ${ov / EPS} eps`);
  return s;
}

describe('js dgesdd', () => {
  const rng = new Rng(4048);

  test('1x1, vectors, and exactly zero matrices (bases still complete)', () => {
    assert.deepEqual(Array.from(checkSvd('1x1', diag([-2]))), [2]);
    checkSvd('column 40x1', randn(rng, 40, 1));
    checkSvd('row 1x40', randn(rng, 1, 40));
    assert.deepEqual(Array.from(checkSvd('zero 5x3', mat(5, 3))), [0, 0, 0]);
    assert.deepEqual(Array.from(checkSvd('zero 3x5', mat(3, 5))), [0, 0, 0]);
    assert.equal(dgesdd(0, 4, new Float64Array(0), new Float64Array(0), new Float64Array(0), new Float64Array(0)), 0);
  });

  test('tall, wide and square random matrices', () => {
    checkSvd('tall 5000x20', randn(rng, 5000, 20));
    checkSvd('tall 90x70', randn(rng, 90, 70));
    checkSvd('wide 20x300', randn(rng, 20, 300));
    checkSvd('square 80', randn(rng, 80, 80));
    checkSvd('square 2', randn(rng, 2, 2));
  });

  test('rank-deficient matrices have zero singular values and orthonormal factors', () => {
    const low = mul(randn(rng, 60, 4), randn(rng, 4, 35));
    for (const [label, a] of [
      ['rank 4 60x35', low],
      ['rank 4 35x60', transpose(low)],
    ] as const) {
      const s = checkSvd(label, a);
      for (let i = 4; i < 35; i++) assert.ok(s[i]! <= tol(60) * s[0]!, `${label}: s[${i}] = ${s[i]}`);
    }
    const dup = randn(rng, 50, 5);
    const repeated = mat(50, 20);
    for (let j = 0; j < 20; j++) repeated.data.set(dup.data.subarray((j % 5) * 50, ((j % 5) + 1) * 50), j * 50);
    checkSvd('duplicated columns', repeated);
  });

  test('known singular values, well and ill conditioned', () => {
    const u = randomOrthogonal(rng, 40);
    const v = randomOrthogonal(rng, 25);
    const u25 = mat(40, 25, u.data.slice(0, 40 * 25));
    for (const sv of [Float64Array.from({ length: 25 }, (_, i) => 10 / (i + 1)), Float64Array.from({ length: 25 }, (_, i) => 10 ** ((-15 * i) / 24))]) {
      const s = checkSvd('known', mul(scaleCols(u25, sv), v, false, true));
      const err = maxAbsDiff(s, Array.from(sv));
      assert.ok(err <= tol(40) * sv[0]!, `singular values off by ${err / sv[0]! / EPS} eps of s_max`);
    }
  });

  test('badly scaled columns and extreme magnitudes', () => {
    const a = randn(rng, 120, 40);
    const cols = Float64Array.from({ length: 40 }, (_, j) => 10 ** (-8 + (16 * j) / 39));
    checkSvd('graded columns', scaleCols(a, cols));
    const b = randn(rng, 30, 20);
    checkSvd('tiny', scaled(b, 1e-300));
    checkSvd('huge', scaled(b, 1e300));
  });

  test('a non-finite entry gives info 1 and NaN singular values', () => {
    const a = identity(3);
    a.data[4] = Number.POSITIVE_INFINITY;
    const { s, info } = svd(a);
    assert.equal(info, 1);
    assert.ok(s.every(Number.isNaN));
  });
});
