// The generalised symmetric eigensolver on every backend and both ways of
// whitening B: the congruence identities V^T B V = I and V^T A V = diag,
// agreement of the two whitenings and with the standard problem, log det B,
// and the typed errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotPositiveDefiniteError, ShapeError } from '../../src/errors.js';
import { generalisedEigen, type WhitenBy } from '../../src/linalg/generalised-eigen.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { Rng } from '../../src/sim/rng.js';
import { EPS, backendsUnderTest, diffFro, randomSpd, randomSymmetric, withSpectrum } from '../support.js';

const backends = backendsUnderTest();
const WHITEN: WhitenBy[] = ['cholesky', 'eigen'];

for (const be of backends) {
  describe(`generalisedEigen on the ${be.name} backend`, () => {
    for (const whiten of WHITEN) {
      test(`${whiten}: V^T B V = I, V^T A V = diag(lambda), lambda ascending, log det B`, () => {
        const rng = new Rng(12);
        for (const n of [1, 2, 3, 8, 40]) {
          const a = randomSymmetric(rng, n);
          const b = randomSpd(rng, n, 100);
          const ge = generalisedEigen(a, b, { whiten, backend: be });
          assert.equal(ge.values.length, n);
          for (let i = 1; i < n; i++) assert.ok(ge.values[i - 1]! <= ge.values[i]!, 'ascending');
          const v = ge.vectors;
          const vbv = be.gemm(v, be.gemm(b, v), { transA: true });
          const vav = be.gemm(v, be.gemm(a, v), { transA: true });
          const scale = Math.max(1, ...Array.from(ge.values, Math.abs));
          assert.ok(diffFro(vbv, Matrix.identity(n)) < 1e4 * n * EPS, `n=${n}: ||V'BV - I|| = ${diffFro(vbv, Matrix.identity(n))}`);
          assert.ok(diffFro(vav, Matrix.diag(ge.values)) < 1e4 * n * EPS * scale, `n=${n}: ||V'AV - diag|| = ${diffFro(vav, Matrix.diag(ge.values))}`);
          assert.ok(Math.abs(ge.logdetB - be.logdet(b)) < 1e3 * n * EPS, `n=${n}: log det B`);
        }
      });
    }

    test('the two whitenings find the same eigenvalues and (up to sign) eigenvectors', () => {
      const rng = new Rng(13);
      const n = 6;
      // Distinct eigenvalues, so each eigenvector is determined up to its sign.
      const a = withSpectrum(rng, [-3, -1, 0.5, 2, 4, 9]);
      const b = randomSpd(rng, n, 20);
      const c = generalisedEigen(a, b, { whiten: 'cholesky', backend: be });
      const e = generalisedEigen(a, b, { whiten: 'eigen', backend: be });
      for (let i = 0; i < n; i++) assert.ok(Math.abs(c.values[i]! - e.values[i]!) < 1e-12 * 9, `lambda_${i}`);
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += c.vectors.data[i + j * n]! * e.vectors.data[i + j * n]!;
        const sign = Math.sign(dot);
        for (let i = 0; i < n; i++) {
          assert.ok(Math.abs(c.vectors.data[i + j * n]! - sign * e.vectors.data[i + j * n]!) < 1e-10, `v_${j}[${i}]`);
        }
      }
      assert.ok(Math.abs(c.logdetB - e.logdetB) < 1e-12 * n);
    });

    test('B = null is the standard problem (one syevd), log det 0', () => {
      const rng = new Rng(14);
      const a = randomSymmetric(rng, 7);
      const ge = generalisedEigen(a, null, { backend: be });
      const ref = be.syevd(a);
      assert.deepEqual(ge.values, ref.values);
      assert.deepEqual(ge.vectors.data, ref.vectors.data);
      assert.equal(ge.logdetB, 0);
    });

    test('B = I gives the eigenvalues of A', () => {
      const rng = new Rng(15);
      const a = withSpectrum(rng, [-2, 1, 5]);
      for (const whiten of WHITEN) {
        const ge = generalisedEigen(a, Matrix.identity(3), { whiten, backend: be });
        [-2, 1, 5].forEach((want, i) => {
          assert.ok(Math.abs(ge.values[i]! - want) < 1e-13 * 5, `${whiten}: lambda_${i}`);
        });
      }
    });

    test('a B that is not positive definite is a NotPositiveDefiniteError naming the minor', () => {
      const rng = new Rng(16);
      const a = randomSymmetric(rng, 3);
      const b = Matrix.fromRows([
        [1, 0, 0],
        [0, 2, 0],
        [0, 0, -1],
      ]);
      for (const whiten of WHITEN) {
        assert.throws(
          () => generalisedEigen(a, b, { whiten, backend: be }),
          (e: unknown) => {
            assert.ok(e instanceof NotPositiveDefiniteError, `${whiten}: ${String(e)}`);
            assert.equal(e.minor, 3);
            return true;
          },
        );
      }
    });

    test('shapes that do not match are a ShapeError', () => {
      assert.throws(() => generalisedEigen(new Matrix(2, 3), null, { backend: be }), ShapeError);
      assert.throws(() => generalisedEigen(Matrix.identity(2), Matrix.identity(3), { backend: be }), ShapeError);
    });
  });
}
