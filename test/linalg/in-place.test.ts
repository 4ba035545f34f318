// The in-place steps of the kinship path give the bits of the copying ones
// (so that results stay byte-identical) and really work in the buffer they
// are given: the sample subset compacted into K, the double-centring, the
// eigendecomposition and the triangular solve; gemm started beside this
// thread (gemmStart) gives gemm's bits; and the run's kinship is handed over
// to its one decomposition, then gone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Matrix } from '../../src/linalg/matrix.js';
import { subMatrix, subMatrixInPlace } from '../../src/linalg/submatrix.js';
import { doubleCenter, doubleCenterInPlace } from '../../src/nullmodel/fit-kinship.js';
import { Rng } from '../../src/sim/rng.js';
import { type RunKinship, samplesKinship } from '../../src/workflow/gwas-null.js';
import { backendsUnderTest, randomSpd, randomSymmetric } from '../support.js';

const bits = (m: Matrix): number[] => Array.from(m.data);

describe('subMatrixInPlace', () => {
  test('an increasing subset is compacted into the first n^2 doubles of K, equal to subMatrix', () => {
    const rng = new Rng(5);
    for (const [big, keep] of [
      [9, 0.5],
      [30, 0.9],
      [17, 0.2],
    ] as const) {
      const k = randomSymmetric(rng, big);
      const idx = Int32Array.from(Array.from({ length: big }, (_, i) => i).filter(() => rng.uniform() < keep));
      const want = subMatrix(k, idx);
      const got = subMatrixInPlace(k, idx);
      assert.equal(got.data.buffer, k.data.buffer, 'in K');
      assert.equal(got.rows, idx.length);
      assert.deepEqual(bits(got), bits(want));
    }
  });

  test('all rows in order are K itself; a subset out of order is a copy, K untouched', () => {
    const rng = new Rng(6);
    const k = randomSymmetric(rng, 6);
    assert.equal(subMatrixInPlace(k, Int32Array.of(0, 1, 2, 3, 4, 5)), k);
    const before = bits(k);
    for (const idx of [Int32Array.of(3, 1, 4), Int32Array.of(2, 2, 5)]) {
      const got = subMatrixInPlace(k, idx);
      assert.notEqual(got.data.buffer, k.data.buffer);
      assert.deepEqual(bits(got), bits(subMatrix(k, idx)));
      assert.deepEqual(bits(k), before);
    }
  });
});

describe('doubleCenterInPlace', () => {
  test("gives doubleCenter's bits in R's own buffer", () => {
    const r = randomSymmetric(new Rng(7), 25);
    const want = doubleCenter(r);
    const got = doubleCenterInPlace(r);
    assert.equal(got, r);
    assert.deepEqual(bits(got), bits(want));
  });
});

for (const be of backendsUnderTest()) {
  describe(`in-place kernels on the ${be.name} backend`, () => {
    test("syevdInPlace overwrites its input with syevd's eigenvectors, bit for bit", () => {
      const a = randomSymmetric(new Rng(8), 40);
      const want = be.syevd(a);
      const got = be.syevdInPlace(a);
      assert.equal(got.vectors, a);
      assert.deepEqual(Array.from(got.values), Array.from(want.values));
      assert.deepEqual(bits(got.vectors), bits(want.vectors));
    });

    test("gemmStart's wait() gives gemm's product bit for bit, into a given C, several at once", () => {
      const rng = new Rng(11);
      const a = randomSymmetric(rng, 64);
      const b = new Matrix(64, 96, rng.normals(64 * 96));
      const want = be.gemm(a, b, { transA: true });
      // Two products in flight at once, one into a given C, and this thread busy meanwhile.
      const c = new Matrix(64, 96);
      c.data.fill(Number.NaN);
      const first = be.gemmStart(a, b, { transA: true, c });
      const second = be.gemmStart(a, b.colView(10, 40), { transA: true });
      let busy = 0;
      for (let i = 0; i < 1e5; i++) busy += Math.sqrt(i);
      assert.ok(busy > 0);
      assert.equal(first.wait(), c);
      assert.deepEqual(bits(c), bits(want));
      assert.deepEqual(bits(second.wait()), bits(want.colView(10, 40)));
      // wait() again is harmless; a task never waited for is joined when collected.
      assert.deepEqual(bits(first.wait()), bits(want));
      be.gemmStart(a, b);
      assert.throws(() => be.gemmStart(a, new Matrix(5, 2)), /gemm\(A \* B\): inner dimensions differ, A is 64x64 and B is 5x2/);
    });

    test("trsmInPlace overwrites B with trsm's solution, bit for bit, both sides", () => {
      const rng = new Rng(9);
      const l = be.potrf(randomSpd(rng, 12));
      for (const side of ['left', 'right'] as const) {
        const b = randomSymmetric(rng, 12);
        const want = be.trsm(l, b, { side, transA: true });
        const got = be.trsmInPlace(l, b, { side, transA: true });
        assert.equal(got, b);
        assert.deepEqual(bits(got), bits(want));
      }
      assert.throws(() => be.trsmInPlace(l, new Matrix(5, 2)), /trsm\(left\): A is 12x12 but B is 5x2/);
    });
  });
}

describe("samplesKinship (the run's kinship for one sample set)", () => {
  const run = (once: boolean): RunKinship => ({
    k: randomSymmetric(new Rng(10), 8),
    row: Int32Array.of(0, 1, 2, 3, 4, 5, 6, 7),
    once,
    label: 'the kinship computed from test.bed',
    allowNonPsd: false,
  });
  const idx = Int32Array.of(0, 2, 3, 7);

  test('several sample sets: a copy each time, K kept as it was', () => {
    const kin = run(false);
    const before = bits(kin.k!);
    const a = samplesKinship(kin, idx);
    const b = samplesKinship(kin, Int32Array.of(1, 2));
    assert.notEqual(a.data.buffer, kin.k!.data.buffer);
    assert.deepEqual(bits(a), bits(subMatrix(kin.k!, idx)));
    assert.equal(b.rows, 2);
    assert.deepEqual(bits(kin.k!), before);
  });

  test('one sample set: K itself, handed over, and a second use is refused', () => {
    const kin = run(true);
    const k = kin.k!;
    const want = subMatrix(k, idx);
    const got = samplesKinship(kin, idx);
    assert.equal(got.data.buffer, k.data.buffer);
    assert.deepEqual(bits(got), bits(want));
    assert.equal(kin.k, undefined);
    assert.throws(() => samplesKinship(kin, idx), /test\.bed: the kinship was handed over to an eigendecomposition already/);
  });
});
