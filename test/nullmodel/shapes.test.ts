// One shape for the null fits: y as a vector or an N x P Matrix alike, the
// flat parameters with the same names, and gwasScan's refusals of a null
// model it cannot use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fitKinshipNull,
  fitKronSumNull,
  fitLowRankNull,
  gwasScan,
  LmmkitError,
  Matrix,
  ShapeError,
  simulateGenotypes,
  type GenotypeSource,
} from '../../src/index.js';
import { Rng } from '../../src/sim/rng.js';

const n = 60;
const rng = new Rng(5);
const y = Float64Array.from({ length: n }, () => rng.normal());
const ones = new Matrix(n, 1, new Float64Array(n).fill(1));
const w = new Matrix(
  n,
  3,
  Float64Array.from({ length: 3 * n }, () => rng.normal()),
);
const r = new Matrix(n, n);
for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) r.data[i + j * n] = i === j ? 1 : 0.3 * Math.exp(-Math.abs(i - j));

test('the null fits take y as a vector or an N x 1 Matrix, to the same bits', () => {
  const a = fitKinshipNull({ y, covariates: ones, kinship: r });
  const b = fitKinshipNull({ y: Matrix.column(y), covariates: ones, kinship: r });
  assert.ok(Object.is(a.lambda, b.lambda) && Object.is(a.logLik, b.logLik) && Object.is(a.h2, b.h2));
  const l1 = fitLowRankNull({ y, covariates: ones, w });
  const l2 = fitLowRankNull({ y: Matrix.column(y), covariates: ones, w });
  assert.ok(Object.is(l1.cr, l2.cr) && Object.is(l1.logLik, l2.logLik));
  const k1 = fitKronSumNull({ y, kinship: r });
  const k2 = fitKronSumNull({ y: Matrix.column(y), covariates: ones, traitDesign: Matrix.identity(1), kinship: r });
  assert.ok(Object.is(k1.lml, k2.lml));
  assert.throws(() => fitKinshipNull({ y: new Matrix(n, 2), covariates: ones, kinship: r }), ShapeError);
  assert.throws(() => fitLowRankNull({ y: new Matrix(n, 2), covariates: ones, w }), ShapeError);
});

test('flat parameters: logLik is a log-likelihood (bigger is better) everywhere; lml its negative without 2 pi', () => {
  const l = fitLowRankNull({ y, covariates: ones, w });
  assert.ok(Math.abs(l.logLik - (-l.lml - 0.5 * (n - 1) * Math.log(2 * Math.PI))) < 1e-12 * Math.abs(l.logLik));
  const k = fitKronSumNull({ y, kinship: r });
  assert.ok(Math.abs(k.logLik - (-k.lml - 0.5 * (n - 1) * Math.log(2 * Math.PI))) < 1e-12 * Math.abs(k.logLik));
  const kin = fitKinshipNull({ y, covariates: ones, kinship: r, both: true });
  assert.equal(kin.method, 'reml');
  assert.equal(kin.reml?.lambda, kin.lambda);
  assert.equal(kin.ml?.method, 'ml');
  for (const h2 of [kin.h2, l.h2, ...k.h2]) assert.ok(h2 >= 0 && h2 <= 1, `h2 ${h2}`);
});

test('gwasScan refuses a null model with y, and the exact test under a low-rank model', async () => {
  const g = simulateGenotypes({ samples: n, variants: 5, seed: 1 });
  const source = { samples: g.samples } as unknown as GenotypeSource;
  const low = fitLowRankNull({ y, covariates: ones, w });
  const first = async (opts: Parameters<typeof gwasScan>[0]): Promise<unknown> => gwasScan(opts).next();
  await assert.rejects(first({ source, null: low, y }), (e: unknown) => e instanceof LmmkitError && /either a null model/.test(e.message));
  await assert.rejects(first({ source, null: low, test: 'exact' }), (e: unknown) => e instanceof LmmkitError && /found a lowrank model/.test(e.message));
  await assert.rejects(first({ source }), (e: unknown) => e instanceof LmmkitError && /needs a null model or y/.test(e.message));
});
