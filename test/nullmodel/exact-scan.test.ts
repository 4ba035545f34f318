// ExactScan owns what the module-level cache of scan/exact.ts used to keep:
// each batch of a scan gives the bits of a one-off call on that batch, and
// two scans on different data interleave without sharing anything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExactScan, exactTests, fitKinshipNull, Matrix, type ExactTestResult } from '../../src/index.js';
import { Rng } from '../../src/sim/rng.js';

const n = 80;
const rng = new Rng(9);
const ones = new Matrix(n, 1, new Float64Array(n).fill(1));
const r = new Matrix(n, n);
for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) r.data[i + j * n] = i === j ? 1 : 0.4 * Math.exp(-Math.abs(i - j) / 3);
const g = new Matrix(
  n,
  12,
  Float64Array.from({ length: 12 * n }, () => Math.floor(3 * rng.uniform())),
);

function model(seed: number): ReturnType<typeof fitKinshipNull> {
  const rr = new Rng(seed);
  const y = Float64Array.from({ length: n }, (_, i) => 0.3 * g.data[i]! + rr.normal());
  return fitKinshipNull({ y, covariates: ones, kinship: r });
}

function hex(r: ExactTestResult): string[] {
  return (['lambdaReml', 'beta', 'se', 'pWald', 'lambdaMl', 'pLrt', 'pScore'] as const).map((k) => Buffer.from(r[k].buffer).toString('hex'));
}

test('an ExactScan gives per batch the bits of a one-off exactTests call, and two interleaved scans do not interfere', () => {
  const a = model(1);
  const b = model(2);
  const ua = a.covariance.rotate(g);
  const ub = b.covariance.rotate(g);
  const sa = new ExactScan(a.rotated);
  const sb = new ExactScan(b.rotated);
  for (let j0 = 0; j0 < g.cols; j0 += 5) {
    const j1 = Math.min(g.cols, j0 + 5);
    const ra = sa.test(ua.colView(j0, j1));
    const rb = sb.test(ub.colView(j0, j1));
    assert.deepEqual(hex(ra), hex(exactTests(a.rotated, ua.colView(j0, j1))), `scan a, batch at ${j0}`);
    assert.deepEqual(hex(rb), hex(exactTests(b.rotated, ub.colView(j0, j1))), `scan b, batch at ${j0}`);
    assert.notDeepEqual(hex(ra), hex(rb));
  }
  assert.equal(sa.nullMl.method, 'ml');
  assert.ok(Object.is(sa.nullReml.lambda, a.lambda), "the REML null fit of the scan is fitKinshipNull's");
});
