// The small dense helpers (Cholesky, solve, inverse, log det, symmetrise)
// against the backends' LAPACK-style routines on the same matrices, and
// their exact operation order where the recorded outputs depend on it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ShapeError } from '../../src/errors.js';
import { Matrix } from '../../src/linalg/matrix.js';
import {
  choleskyInverse,
  choleskyLower,
  choleskySolve,
  invSpd,
  logdetCholesky,
  symmetriseAverage,
  symmetriseFromLower,
  symmetriseFromUpper,
} from '../../src/linalg/small.js';
import { Rng } from '../../src/sim/rng.js';
import { EPS, backendsUnderTest, randn, randomSpd } from '../support.js';

const backends = backendsUnderTest();

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
  }
  return d / Math.max(scale, Number.MIN_VALUE);
}

for (const be of backends) {
  describe(`small helpers agree with the ${be.name} backend`, () => {
    test('choleskyLower, choleskySolve, choleskyInverse, logdetCholesky vs potrf, potrs, potri, logdet', () => {
      const rng = new Rng(21);
      for (const n of [1, 2, 3, 5, 12]) {
        const a = randomSpd(rng, n, 50);
        const l = choleskyLower(a.data, n);
        assert.ok(l !== null);
        assert.ok(maxRelDiff(l, be.potrf(a).data) < 100 * n * EPS, `n=${n}: L`);
        const b = rng.normals(n);
        const x = choleskySolve(l, n, b);
        assert.ok(maxRelDiff(x, be.potrs(be.potrf(a), new Matrix(n, 1, Float64Array.from(b))).data) < 1e3 * n * EPS, `n=${n}: solve`);
        assert.ok(maxRelDiff(choleskyInverse(l, n), be.potri(be.potrf(a)).data) < 1e3 * n * EPS, `n=${n}: inverse`);
        assert.ok(Math.abs(logdetCholesky(l, n) - be.logdet(a)) < 100 * n * EPS, `n=${n}: log det`);
      }
    });
  });
}

describe('small helpers', () => {
  test('choleskyLower is null for a matrix that is not positive definite, or under the pivot floor', () => {
    assert.equal(choleskyLower([1, 2, 2, 1], 2), null);
    assert.equal(
      choleskyLower([4, 0, 0, 1e-12], 2, (j) => (j === 1 ? 1e-10 : 0)),
      null,
    );
    assert.equal(invSpd([0], 1), null);
  });

  test('invSpd is choleskyInverse of choleskyLower, bit for bit', () => {
    const rng = new Rng(22);
    const a = randomSpd(rng, 4, 10);
    assert.deepEqual(invSpd(a.data, 4), choleskyInverse(choleskyLower(a.data, 4)!, 4));
  });

  test('logdetCholesky is the sum of 2 log L_ii term by term, bit for bit', () => {
    const rng = new Rng(23);
    const l = choleskyLower(randomSpd(rng, 9, 1e6).data, 9)!;
    let s = 0;
    for (let i = 0; i < 9; i++) s += 2 * Math.log(l[i + i * 9]!);
    assert.equal(logdetCholesky(l, 9), s);
  });

  test('choleskySolve checks the length of b', () => {
    assert.throws(() => choleskySolve([1], 1, [1, 2]), ShapeError);
  });

  test('symmetrise: the average of both triangles, or one triangle copied onto the other', () => {
    const rng = new Rng(24);
    const a = randn(rng, 5, 5);
    const avg = a.clone();
    symmetriseAverage(avg);
    const lo = a.clone();
    symmetriseFromLower(lo);
    const up = a.clone();
    symmetriseFromUpper(up);
    for (let j = 0; j < 5; j++) {
      for (let i = 0; i < 5; i++) {
        const mean = i === j ? a.get(i, i) : 0.5 * (a.get(i, j) + a.get(j, i));
        assert.equal(avg.get(i, j), mean);
        assert.equal(lo.get(i, j), a.get(Math.max(i, j), Math.min(i, j)));
        assert.equal(up.get(i, j), a.get(Math.min(i, j), Math.max(i, j)));
      }
    }
    assert.throws(() => symmetriseAverage(new Matrix(2, 3)), ShapeError);
    assert.throws(() => symmetriseFromLower(new Matrix(3, 2)), ShapeError);
    assert.throws(() => symmetriseFromUpper(new Matrix(1, 2)), ShapeError);
  });
});
