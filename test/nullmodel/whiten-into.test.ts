// NullCovariance.whiten (and KinshipCovariance.rotate) into a caller's
// buffer: the same bits as into a new matrix, whatever the buffer held,
// the column norms it may compute on the way, and a clear refusal of a
// buffer too small.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Matrix, ShapeError } from '../../src/index.js';
import { getBackend } from '../../src/linalg/select.js';
import { IdentityCovariance } from '../../src/nullmodel/identity.js';
import { KinshipCovariance } from '../../src/nullmodel/kinship.js';
import { LowRankCovariance } from '../../src/nullmodel/lowrank.js';
import { Rng } from '../../src/sim/rng.js';

const n = 30;
const rng = new Rng(9);
const random = (rows: number, cols: number): Matrix => new Matrix(rows, cols, rng.normals(rows * cols));
const a = random(n, n);
const kin = getBackend().gemm(a, a, { transB: true });
const covariances = [new KinshipCovariance(getBackend().syevd(kin), 0.7, 0.4), new LowRankCovariance(random(n, 4), 0.5, 0.8), new IdentityCovariance(n)];

test('whiten into a buffer: the same bits as a new matrix, the buffer holding garbage (NaN) beforehand', () => {
  const b = random(n, 5);
  for (const cov of covariances) {
    const fresh = cov.whiten(b);
    const buf = new Float64Array(n * 7).fill(Number.NaN);
    const into = cov.whiten(b, buf);
    assert.equal(into.data.buffer, buf.buffer, `${cov.kind}: the result lives in the buffer`);
    assert.deepEqual(into.shape, fresh.shape);
    assert.deepEqual(Array.from(into.data), Array.from(fresh.data), `${cov.kind}: same values`);
  }
  const kinship = covariances[0] as KinshipCovariance;
  const buf = new Float64Array(n * 5).fill(Number.NaN);
  assert.deepEqual(Array.from(kinship.rotate(b, buf).data), Array.from(kinship.rotate(b).data));
});

test("whiten with norms: each whitened column's squared norm, summed in row order, the result unchanged", () => {
  const b = random(n, 4);
  for (const cov of covariances) {
    const norms = new Float64Array(4);
    const w = cov.whiten(b, new Float64Array(n * 4), norms);
    assert.deepEqual(Array.from(w.data), Array.from(cov.whiten(b).data), `${cov.kind}: same values`);
    for (let j = 0; j < 4; j++) {
      let ss = 0;
      for (const v of w.col(j)) ss += v * v;
      assert.equal(norms[j], ss, `${cov.kind}: column ${j}`);
    }
  }
});

test('whiten refuses a buffer smaller than the result, saying both sizes', () => {
  const b = random(n, 5);
  for (const cov of covariances) {
    assert.throws(
      () => cov.whiten(b, new Float64Array(n * 5 - 1)),
      (e: unknown) => e instanceof ShapeError && /30x5 \(150 values\) but the buffer holds 149/.test(e.message),
      cov.kind,
    );
  }
});
