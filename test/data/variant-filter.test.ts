// The scans' inclusive filter: each threshold's boundary (kept, where
// limix's strict filters drop it), imputation and standardisation, and the
// in-place compaction of the batch's storage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterInclusive } from '../../src/data/variant-filter.js';
import { filterByMaf, filterByMissing } from '../../src/data/preprocess.js';
import type { GenotypeBatch } from '../../src/data/genotypes.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { syntheticVariants } from '../support.js';

const NaN_ = Number.NaN;

/** A batch of the given columns (4 samples each), with file indices 10, 11, ... */
function batch(cols: number[][]): GenotypeBatch {
  return {
    dosages: Matrix.fromColumnMajor(4, cols.length, cols.flat()),
    variants: syntheticVariants(cols.length),
    indices: Int32Array.from(cols, (_, j) => 10 + j),
  };
}

const COLUMNS = [
  [0, 1, NaN_, 2], // missing 1/4 (= maxMissing: kept), mean 1
  [NaN_, NaN_, NaN_, NaN_], // nothing observed: dropped
  [0, 0, 0, 2], // maf 0.25 (= minMaf: kept)
  [0, 0, 0, 1], // maf 0.125: dropped
  [NaN_, NaN_, 1, 1], // missing 1/2 > maxMissing: dropped
  [2, 1, 1, NaN_], // kept, mean 4/3
];

test("filterInclusive keeps a variant exactly at a threshold, where limix's strict filters drop it", () => {
  const out = filterInclusive(batch(COLUMNS), { minMaf: 0.25, maxMissing: 0.25 });
  assert.deepEqual(Array.from(out.indices), [10, 12, 15]);
  assert.deepEqual(out.variants.id, ['v0', 'v2', 'v5']);
  assert.deepEqual(Array.from(out.n), [3, 4, 3]);
  assert.deepEqual(Array.from(out.af), [0.5, 0.25, 2 / 3]);
  assert.deepEqual(Array.from(out.dosages.data), [0, 1, 1, 2, 0, 0, 0, 2, 2, 1, 1, 4 / 3]);
  const strict = filterByMaf(0.25)(filterByMissing(0.25)(batch(COLUMNS)));
  assert.deepEqual(Array.from(strict.indices), [], 'missing = 1/4 (v0, v5) and maf = 0.25 (v2) are dropped by the strict rule');
});

test("filterInclusive compacts in place: the kept columns are moved down inside the batch's storage", () => {
  const b = batch(COLUMNS);
  const out = filterInclusive(b, { minMaf: 0.25, maxMissing: 0.25 });
  assert.equal(out.dosages.rows, 4);
  assert.equal(out.dosages.cols, 3);
  assert.equal(out.dosages.data.buffer, b.dosages.data.buffer, 'the same storage');
  assert.equal(out.dosages.data.byteOffset, b.dosages.data.byteOffset, 'its first columns');
  assert.deepEqual(Array.from(b.dosages.data.subarray(0, 12)), Array.from(out.dosages.data));
});

test('filterInclusive standardises after imputation (population sd over all samples; a constant column becomes 0)', () => {
  const out = filterInclusive(
    batch([
      [0, 2, NaN_, 2],
      [1, 1, 1, NaN_],
    ]),
    { minMaf: 0, maxMissing: 1, standardize: true },
  );
  const mean = 4 / 3;
  const sd = Math.sqrt(((0 - mean) ** 2 + 2 * (2 - mean) ** 2) / 4);
  assert.deepEqual(Array.from(out.dosages.data), [(0 - mean) / sd, (2 - mean) / sd, 0, (2 - mean) / sd, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(out.af), [2 / 3, 0.5]);
});

test("the reader's counts replace the filter's pass, and halving males' dosages drops them (the filter then sums the halved ones)", async () => {
  const { halveMales } = await import('../../src/workflow/gwas-sex.js');
  const cols = [
    [0, 1, NaN_, 2],
    [2, 2, 1, NaN_],
  ];
  const counted: GenotypeBatch = { ...batch(cols), counts: { observed: Int32Array.of(3, 3), sum: Float64Array.of(3, 5) } };
  const kept = filterInclusive(counted, { minMaf: 0, maxMissing: 1 });
  assert.deepEqual(Array.from(kept.af), [0.5, 5 / 6]);
  assert.deepEqual(Array.from(kept.dosages.data), [0, 1, 1, 2, 2, 2, 1, 5 / 3]);
  // A source whose batches carry counts of the dosages as read; males are samples 0 and 1.
  const source = {
    path: 'mem',
    samples: { fid: ['a', 'b', 'c', 'd'], iid: ['a', 'b', 'c', 'd'] },
    variants: syntheticVariants(2),
    close: async () => {},
    async *batches() {
      yield { ...batch(cols), counts: { observed: Int32Array.of(3, 3), sum: Float64Array.of(3, 5) } };
    },
  };
  for await (const b of halveMales(source as never, Int32Array.of(0, 1)).batches()) {
    assert.equal(b.counts, undefined);
    // Halved: [0, 0.5, NaN, 2] (mean 2.5 / 3) and [1, 1, 1, NaN] (mean 1).
    assert.deepEqual(Array.from(filterInclusive(b, { minMaf: 0, maxMissing: 1 }).af), [2.5 / 6, 0.5]);
  }
});
