// The pure TypeScript BLAS and Cholesky kernels against naive reference
// implementations written here: random shapes (empty, 1-sized, tall, wide,
// larger than the packing blocks), every flag combination, alpha/beta edge
// cases and the BLAS rule that unreferenced entries are never read.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dgemm, dgemv, dsyrk } from '../../src/linalg/js/blas.js';
import { dtrsm } from '../../src/linalg/js/trsm.js';
import { dpotrf, dpotri, dpotrs } from '../../src/linalg/js/cholesky.js';
import { Rng } from '../../src/sim/rng.js';

/** Normwise relative tolerance; the kernels' errors are O(size * eps) ~ 1e-14 here. */
const TOL = 1e-12;
const BOOLS = [false, true];

function fro(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s);
}

function assertClose(actual: Float64Array, expected: Float64Array, scale: number, label: string): void {
  assert.equal(actual.length, expected.length, label);
  let d = 0;
  for (let i = 0; i < actual.length; i++) d += (actual[i]! - expected[i]!) ** 2;
  d = Math.sqrt(d);
  assert.ok(d <= TOL * scale + Number.MIN_VALUE, `${label}: error ${d} > ${TOL} * ${scale}`);
}

/** Element (i, j) of op(X) for X stored column-major with `rows` rows. */
function opAt(x: Float64Array, rows: number, trans: boolean, i: number, j: number): number {
  return trans ? x[j + i * rows]! : x[i + j * rows]!;
}

function refGemm(
  tA: boolean,
  tB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  b: Float64Array,
  beta: number,
  c: Float64Array,
): Float64Array {
  const out = new Float64Array(m * n);
  const lda = tA ? k : m;
  const ldb = tB ? n : k;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += opAt(a, lda, tA, i, p) * opAt(b, ldb, tB, p, j);
      out[i + j * m] = alpha * s + (beta === 0 ? 0 : beta * c[i + j * m]!);
    }
  }
  return out;
}

/** Lower triangle from a full gemm; the strict upper triangle copied from c. */
function refSyrk(trans: boolean, n: number, k: number, alpha: number, a: Float64Array, beta: number, c: Float64Array): Float64Array {
  const full = refGemm(trans, !trans, n, n, k, alpha, a, a, beta, c);
  for (let j = 0; j < n; j++) for (let i = 0; i < j; i++) full[i + j * n] = c[i + j * n]!;
  return full;
}

function refGemv(trans: boolean, m: number, n: number, alpha: number, a: Float64Array, x: Float64Array, beta: number, y: Float64Array): Float64Array {
  const len = trans ? n : m;
  const inner = trans ? m : n;
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    let s = 0;
    for (let p = 0; p < inner; p++) s += opAt(a, m, trans, i, p) * x[p]!;
    out[i] = alpha * s + (beta === 0 ? 0 : beta * y[i]!);
  }
  return out;
}

/** The dense op(A) that dtrsm means, honouring the triangle and unit diagonal. */
function denseTriangle(a: Float64Array, d: number, lower: boolean, trans: boolean, unit: boolean): Float64Array {
  const t = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < d; i++) {
      const inTriangle = lower ? i >= j : i <= j;
      const v = i === j && unit ? 1 : inTriangle ? a[i + j * d]! : 0;
      if (trans) t[j + i * d] = v;
      else t[i + j * d] = v;
    }
  }
  return t;
}

/** Solves T X = B (T dense d x d triangular, B d x n) by Gaussian elimination without pivoting. */
function refSolve(t: Float64Array, d: number, b: Float64Array, n: number): Float64Array {
  const x = Float64Array.from(b);
  const u = Float64Array.from(t);
  for (let p = 0; p < d; p++) {
    for (let i = p + 1; i < d; i++) {
      const f = u[i + p * d]! / u[p + p * d]!;
      for (let j = p; j < d; j++) u[i + j * d]! -= f * u[p + j * d]!;
      for (let j = 0; j < n; j++) x[i + j * d]! -= f * x[p + j * d]!;
    }
  }
  for (let j = 0; j < n; j++) {
    for (let i = d - 1; i >= 0; i--) {
      let s = x[i + j * d]!;
      for (let p = i + 1; p < d; p++) s -= u[i + p * d]! * x[p + j * d]!;
      x[i + j * d] = s / u[i + i * d]!;
    }
  }
  return x;
}

function transpose(x: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(x.length);
  for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) t[j + i * cols] = x[i + j * rows]!;
  return t;
}

function refTrsm(
  left: boolean,
  lower: boolean,
  trans: boolean,
  unit: boolean,
  m: number,
  n: number,
  alpha: number,
  a: Float64Array,
  b: Float64Array,
): Float64Array {
  const scaled = b.map((v) => alpha * v);
  if (left) return refSolve(denseTriangle(a, m, lower, trans, unit), m, scaled, n);
  // X op(A) = B  <=>  op(A)^T X^T = B^T
  const xt = refSolve(denseTriangle(a, n, lower, !trans, unit), n, transpose(scaled, m, n), m);
  return transpose(xt, n, m);
}

/** A well-conditioned d x d triangle: |diagonal| in [1, 2], small off-diagonal; NaN outside it. */
function randomTriangle(rng: Rng, d: number, lower: boolean, unit: boolean): Float64Array {
  const a = new Float64Array(d * d).fill(NaN);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < d; i++) {
      if (i === j) a[i + j * d] = unit ? NaN : (1 + rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1);
      else if (lower ? i > j : i < j) a[i + j * d] = rng.normal() / d;
    }
  }
  return a;
}

/** G G^T / k + I for an n x k standard normal G: symmetric positive definite, condition O(1). */
function randomSpd(rng: Rng, n: number): Float64Array {
  const k = n + 3;
  const g = rng.normals(n * k);
  const a = refGemm(false, true, n, n, k, 1 / k, g, g, 0, new Float64Array(n * n));
  for (let i = 0; i < n; i++) a[i + i * n]! += 1;
  return a;
}

/** The lower triangle of `a` with NaN above it, so any read of the upper triangle shows. */
function lowerWithNaNAbove(a: Float64Array, n: number): Float64Array {
  const x = Float64Array.from(a);
  for (let j = 0; j < n; j++) for (let i = 0; i < j; i++) x[i + j * n] = NaN;
  return x;
}

function refCholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    for (let i = j; i < n; i++) {
      let s = a[i + j * n]!;
      for (let p = 0; p < j; p++) s -= l[i + p * n]! * l[j + p * n]!;
      l[i + j * n] = i === j ? Math.sqrt(s) : s / l[j + j * n]!;
    }
  }
  return l;
}

function assertUpperIsNaN(x: Float64Array, n: number, label: string): void {
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < j; i++) assert.ok(Number.isNaN(x[i + j * n]), `${label}: upper (${i}, ${j}) was written`);
  }
}

function lowerPart(x: Float64Array, n: number): Float64Array {
  const y = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = j; i < n; i++) y[i + j * n] = x[i + j * n]!;
  return y;
}

/** (m, n, k): empty, 1-sized, tall, wide, deeper than KC, taller than MC, wider than NC. */
const GEMM_SHAPES: [number, number, number][] = [
  [0, 0, 0],
  [0, 3, 2],
  [3, 0, 2],
  [3, 2, 0],
  [1, 1, 1],
  [1, 1, 9],
  [1, 7, 1],
  [7, 1, 1],
  [300, 1, 40],
  [2, 3, 5],
  [17, 16, 33],
  [64, 64, 64],
  [65, 63, 67],
  [300, 5, 7],
  [5, 300, 7],
  [6, 5, 600],
  [131, 129, 257],
  [200, 37, 300],
  [5, 2100, 4],
];

describe('js dgemm', () => {
  test('matches the naive product for every shape, transpose and alpha/beta', () => {
    const rng = new Rng(1);
    for (const [m, n, k] of GEMM_SHAPES) {
      for (const tA of BOOLS) {
        for (const tB of BOOLS) {
          for (const [alpha, beta] of [
            [1, 0],
            [-0.7, 1],
            [2.5, -0.5],
          ] as const) {
            const a = rng.normals(m * k);
            const b = rng.normals(k * n);
            const c = rng.normals(m * n);
            const expected = refGemm(tA, tB, m, n, k, alpha, a, b, beta, c);
            dgemm(tA, tB, m, n, k, alpha, a, b, beta, c);
            const scale = Math.abs(alpha) * fro(a) * fro(b) + Math.abs(beta) * fro(expected);
            assertClose(c, expected, scale, `gemm ${m}x${n}x${k} tA=${tA} tB=${tB} alpha=${alpha} beta=${beta}`);
          }
        }
      }
    }
  });

  test('beta = 0 ignores NaN in C; alpha = 0 reads neither A nor B', () => {
    const rng = new Rng(2);
    for (const [m, n, k] of [
      [3, 4, 5],
      [40, 50, 60],
    ] as const) {
      const a = rng.normals(m * k);
      const b = rng.normals(k * n);
      const c = new Float64Array(m * n).fill(NaN);
      dgemm(false, false, m, n, k, 1, a, b, 0, c);
      assertClose(c, refGemm(false, false, m, n, k, 1, a, b, 0, c), fro(a) * fro(b), 'beta = 0');
      const c0 = rng.normals(m * n);
      const c1 = Float64Array.from(c0);
      dgemm(true, true, m, n, k, 0, new Float64Array(m * k).fill(NaN), new Float64Array(k * n).fill(NaN), 3, c1);
      assert.deepEqual(
        c1,
        c0.map((v) => 3 * v),
      );
      dgemm(false, false, m, n, k, 0, a, b, 0, c1.fill(NaN));
      assert.ok(c1.every((v) => v === 0));
    }
  });
});

describe('js dsyrk', () => {
  test('matches the naive lower triangle and leaves the strict upper triangle untouched', () => {
    const rng = new Rng(3);
    for (const [n, k] of [
      [0, 3],
      [3, 0],
      [1, 1],
      [1, 5],
      [5, 1],
      [7, 9],
      [33, 17],
      [130, 70],
      [150, 300],
      [260, 9],
    ] as const) {
      for (const trans of BOOLS) {
        for (const [alpha, beta] of [
          [1, 0],
          [-1, 1],
          [0.3, 2],
          [0, -1],
        ] as const) {
          const a = rng.normals(n * k);
          const c = rng.normals(n * n);
          for (let j = 0; j < n; j++) for (let i = 0; i < j; i++) c[i + j * n] = 1000 + i + j * n;
          const expected = refSyrk(trans, n, k, alpha, a, beta, c);
          dsyrk(trans, n, k, alpha, a, beta, c);
          const scale = Math.abs(alpha) * fro(a) ** 2 + Math.abs(beta) * fro(expected);
          assertClose(c, expected, scale, `syrk n=${n} k=${k} trans=${trans} alpha=${alpha} beta=${beta}`);
          for (let j = 0; j < n; j++) for (let i = 0; i < j; i++) assert.equal(c[i + j * n], 1000 + i + j * n);
        }
      }
    }
  });

  test('beta = 0 ignores NaN in the lower triangle', () => {
    const rng = new Rng(4);
    const n = 70;
    const k = 20;
    const a = rng.normals(n * k);
    const c = new Float64Array(n * n).fill(NaN);
    dsyrk(false, n, k, 1, a, 0, c);
    assertClose(lowerPart(c, n), lowerPart(refSyrk(false, n, k, 1, a, 0, c), n), fro(a) ** 2, 'syrk beta = 0');
    assertUpperIsNaN(c, n, 'syrk beta = 0');
  });
});

describe('js dgemv', () => {
  test('matches the naive product for both transposes, and beta = 0 ignores NaN in y', () => {
    const rng = new Rng(5);
    for (const [m, n] of [
      [0, 0],
      [0, 3],
      [3, 0],
      [1, 1],
      [1, 6],
      [6, 1],
      [17, 33],
      [200, 150],
    ] as const) {
      for (const trans of BOOLS) {
        for (const [alpha, beta] of [
          [1, 0],
          [-2, 1],
          [0.5, -3],
          [0, 2],
        ] as const) {
          const a = rng.normals(m * n);
          const x = rng.normals(trans ? m : n);
          const y = beta === 0 ? new Float64Array(trans ? n : m).fill(NaN) : rng.normals(trans ? n : m);
          const expected = refGemv(trans, m, n, alpha, a, x, beta, y);
          dgemv(trans, m, n, alpha, a, x, beta, y);
          const scale = Math.abs(alpha) * fro(a) * fro(x) + Math.abs(beta) * fro(expected);
          assertClose(y, expected, scale, `gemv ${m}x${n} trans=${trans} alpha=${alpha} beta=${beta}`);
        }
      }
    }
  });
});

describe('js dtrsm', () => {
  test('matches the naive solve for all 16 flag combinations and many shapes', () => {
    const rng = new Rng(6);
    const shapes: [number, number][] = [
      [0, 3],
      [3, 0],
      [1, 1],
      [1, 7],
      [7, 1],
      [5, 6],
      [33, 20],
      [20, 33],
      [70, 130],
      [130, 70],
      [150, 3],
      [3, 150],
    ];
    for (const [m, n] of shapes) {
      for (const left of BOOLS) {
        for (const lower of BOOLS) {
          for (const trans of BOOLS) {
            for (const unit of BOOLS) {
              const d = left ? m : n;
              const a = randomTriangle(rng, d, lower, unit);
              const b = rng.normals(m * n);
              const alpha = rng.uniform() < 0.5 ? 1 : -1.5;
              const expected = refTrsm(left, lower, trans, unit, m, n, alpha, a, b);
              dtrsm(left, lower, trans, unit, m, n, alpha, a, b);
              assertClose(b, expected, fro(expected), `trsm ${m}x${n} left=${left} lower=${lower} trans=${trans} unit=${unit}`);
            }
          }
        }
      }
    }
  });

  test('alpha = 0 zeroes B without reading A or B', () => {
    const b = new Float64Array(12).fill(NaN);
    dtrsm(true, true, false, false, 3, 4, 0, new Float64Array(9).fill(NaN), b);
    assert.ok(b.every((v) => v === 0));
  });
});

describe('js dpotrf', () => {
  test('matches the naive Cholesky factor and never touches the strict upper triangle', () => {
    const rng = new Rng(7);
    for (const n of [0, 1, 2, 5, 31, 64, 65, 100, 200]) {
      const a = randomSpd(rng, n);
      const l = lowerWithNaNAbove(a, n);
      assert.equal(dpotrf(n, l), 0, `potrf n=${n}`);
      assertUpperIsNaN(l, n, `potrf n=${n}`);
      const expected = refCholesky(a, n);
      assertClose(lowerPart(l, n), expected, fro(expected), `potrf n=${n}`);
    }
  });

  test('reports the first leading minor that is not positive definite, NaN pivots included', () => {
    const rng = new Rng(8);
    const n = 150;
    for (const bad of [0, 1, 63, 64, 65, 100, 149]) {
      for (const value of [-1, 0, NaN]) {
        const a = randomSpd(rng, n);
        a[bad + bad * n] = value;
        assert.equal(dpotrf(n, a), bad + 1, `potrf with A(${bad},${bad}) = ${value}`);
      }
    }
  });
});

describe('js dpotrs', () => {
  test('solves A X = B from the Cholesky factor', () => {
    const rng = new Rng(9);
    for (const [n, nrhs] of [
      [0, 2],
      [3, 0],
      [1, 1],
      [4, 3],
      [40, 1],
      [100, 70],
      [150, 5],
    ] as const) {
      const a = randomSpd(rng, n);
      const l = lowerWithNaNAbove(a, n);
      assert.equal(dpotrf(n, l), 0);
      const b = rng.normals(n * nrhs);
      const expected = refSolve(a, n, b, nrhs);
      assert.equal(dpotrs(n, nrhs, l, b), 0);
      assertClose(b, expected, fro(expected), `potrs n=${n} nrhs=${nrhs}`);
    }
  });
});

describe('js dpotri', () => {
  test('gives the lower triangle of the inverse and leaves the strict upper triangle untouched', () => {
    const rng = new Rng(10);
    for (const n of [0, 1, 2, 7, 32, 33, 64, 100, 161]) {
      const a = randomSpd(rng, n);
      const l = lowerWithNaNAbove(a, n);
      assert.equal(dpotrf(n, l), 0);
      assert.equal(dpotri(n, l), 0, `potri n=${n}`);
      assertUpperIsNaN(l, n, `potri n=${n}`);
      const identity = new Float64Array(n * n);
      for (let i = 0; i < n; i++) identity[i + i * n] = 1;
      const expected = lowerPart(refSolve(a, n, identity, n), n);
      assertClose(lowerPart(l, n), expected, fro(expected), `potri n=${n}`);
    }
  });

  test('reports an exactly zero diagonal of L and leaves L unchanged', () => {
    const rng = new Rng(11);
    const n = 50;
    const l = randomSpd(rng, n);
    assert.equal(dpotrf(n, l), 0);
    l[37 + 37 * n] = 0;
    const before = Float64Array.from(l);
    assert.equal(dpotri(n, l), 38);
    assert.deepEqual(l, before);
  });
});
