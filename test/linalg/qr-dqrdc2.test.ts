// R's qr() (dqrdc2) on matrices whose rank and pivot follow from the
// construction; the parity with R itself on random designs is in
// test/varcomp/design.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Matrix } from '../../src/linalg/matrix.js';
import { QR_TOL, rQr } from '../../src/linalg/qr-dqrdc2.js';
import { Rng } from '../../src/sim/rng.js';

function columns(cols: ArrayLike<number>[]): Matrix {
  const n = cols[0]!.length;
  const m = new Matrix(n, cols.length);
  cols.forEach((c, j) => {
    m.data.set(Float64Array.from(c), j * n);
  });
  return m;
}

const rng = new Rng(31);
const N = 8;
const ones = new Float64Array(N).fill(1);
const x = rng.normals(N);
const y = rng.normals(N);

test('full column rank: every column kept, in order', () => {
  const q = rQr(columns([ones, x, y]));
  assert.equal(q.rank, 3);
  assert.deepEqual([...q.pivot], [0, 1, 2]);
});

test('an aliased column moves to the end and the others keep their order', () => {
  const q = rQr(columns([ones, x, x.map((v) => 2 * v - 3), y]));
  assert.equal(q.rank, 3);
  assert.deepEqual([...q.pivot], [0, 1, 3, 2]);
});

test('a zero column is aliased', () => {
  const q = rQr(columns([new Float64Array(N), x, y]));
  assert.equal(q.rank, 2);
  assert.deepEqual([...q.pivot], [1, 2, 0]);
});

test('a wide matrix has rank at most its number of rows', () => {
  const q = rQr(new Matrix(2, 4, rng.normals(8)));
  assert.equal(q.rank, 2);
  assert.deepEqual([...q.pivot].sort(), [0, 1, 2, 3]);
});

test('the tolerance is relative to the column norm (R default 1e-7)', () => {
  assert.equal(QR_TOL, 1e-7);
  // y nearly a multiple of x: kept at tol 1e-9, aliased at the default.
  const near = x.map((v, i) => 1e3 * v + 1e-5 * y[i]!);
  assert.equal(rQr(columns([x, near])).rank, 1);
  assert.equal(rQr(columns([x, near]), 1e-9).rank, 2);
});

test('the input is not modified', () => {
  const m = columns([ones, x, x]);
  const copy = m.data.slice();
  rQr(m);
  assert.deepEqual(m.data, copy);
});
