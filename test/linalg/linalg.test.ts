// One property suite for every backend (js always, native when built; native is
// required under CI=true): identities with tolerances scaled by size, norms and
// condition numbers, typed errors, and agreement between the two backends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Backend, Matrix, NotPositiveDefiniteError, NumericalError, ShapeError } from '../../src/index.js';
import { Rng } from '../../src/sim/rng.js';
import {
  EPS,
  backendsUnderTest,
  diffFro,
  fro,
  naiveMul,
  orthoError,
  randn,
  randomOrthogonal,
  randomSpd,
  randomSymmetric,
  relMaxDiff,
  scaleCols,
  symmetrize,
  withSpectrum,
} from '../support.js';

const backends = backendsUnderTest();

/** Shapes (m, k, n) of op(A) (m x k) times op(B) (k x n): 1x1, tall, wide, square, empty inner. */
const GEMM_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [7, 1, 5],
  [33, 17, 9],
  [200, 3, 4],
  [3, 200, 5],
  [4, 5, 300],
  [129, 130, 131],
  [5, 0, 4],
];

function spdCheck(be: Backend, a: Matrix, label: string): void {
  const l = be.potrf(a);
  for (let j = 1; j < a.cols; j++) {
    for (let i = 0; i < j; i++) assert.equal(l.get(i, j), 0, `${label}: L is lower triangular`);
  }
  const llt = be.gemm(l, l, { transB: true });
  const err = diffFro(llt, a) / fro(a);
  assert.ok(err < 20 * a.rows * EPS, `${label}: ||LL^T - A||/||A|| = ${err}`);
}

for (const be of backends) {
  describe(`linalg on the ${be.name} backend`, () => {
    test('info names the backend and its BLAS', () => {
      const info = be.info();
      assert.equal(info.name, be.name);
      assert.ok(info.blas.length > 0);
      assert.ok(Number.isInteger(info.threads) && info.threads >= 1);
    });

    test('gemm matches the naive product for every shape and transpose', () => {
      const rng = new Rng(1);
      for (const [m, k, n] of GEMM_SHAPES) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const a = transA ? randn(rng, k, m) : randn(rng, m, k);
            const b = transB ? randn(rng, n, k) : randn(rng, k, n);
            const c = be.gemm(a, b, { transA, transB });
            const ref = naiveMul(a, b, transA, transB);
            const tol = 4 * (k + 1) * EPS * fro(a) * fro(b) + Number.MIN_VALUE;
            assert.ok(diffFro(c, ref) <= tol, `gemm ${m}x${k}x${n} tA=${transA} tB=${transB}: ${diffFro(c, ref)} > ${tol}`);
          }
        }
      }
    });

    test('gemm applies alpha and beta, and beta = 0 ignores NaN in C', () => {
      const rng = new Rng(2);
      const a = randn(rng, 6, 4);
      const b = randn(rng, 4, 5);
      const c0 = randn(rng, 6, 5);
      const c = be.gemm(a, b, { alpha: -2.5, beta: 0.5, c: c0.clone() });
      const ref = naiveMul(a, b);
      for (let i = 0; i < ref.data.length; i++) ref.data[i] = -2.5 * ref.data[i]! + 0.5 * c0.data[i]!;
      assert.ok(diffFro(c, ref) < 1e-13 * fro(ref));
      const nan = new Matrix(6, 5, new Float64Array(30).fill(Number.NaN));
      const d = be.gemm(a, b, { c: nan });
      assert.ok(d.data.every(Number.isFinite), 'beta = 0 must not read C');
      assert.ok(diffFro(d, naiveMul(a, b)) < 1e-13 * fro(d));
    });

    test('gemm on a zero-copy column view writes through to the parent', () => {
      const rng = new Rng(3);
      const parent = new Matrix(4, 6);
      const view = parent.colView(2, 5);
      be.gemm(randn(rng, 4, 2), randn(rng, 2, 3), { c: view });
      assert.ok(parent.col(0).every((v) => v === 0) && parent.col(5).every((v) => v === 0));
      assert.ok(parent.col(3).some((v) => v !== 0));
    });

    test('syrk equals A A^T and A^T A, symmetric', () => {
      const rng = new Rng(4);
      for (const [r, c] of [
        [1, 1],
        [5, 3],
        [3, 5],
        [150, 40],
        [40, 150],
      ] as const) {
        const a = randn(rng, r, c);
        for (const trans of [false, true]) {
          const s = be.syrk(a, { trans, alpha: 1.5 });
          const ref = naiveMul(a, a, trans, !trans);
          for (let i = 0; i < ref.data.length; i++) ref.data[i]! *= 1.5;
          assert.ok(diffFro(s, ref) < 4 * (r + c) * EPS * fro(ref), `syrk ${r}x${c} trans=${trans}`);
          assert.deepEqual(s.data, s.transpose().data);
        }
      }
      const a = randn(rng, 5, 3);
      const c0 = be.syrk(randn(rng, 5, 2));
      const s = be.syrk(a, { beta: 2, c: c0.clone() });
      const ref = naiveMul(a, a, false, true);
      for (let i = 0; i < ref.data.length; i++) ref.data[i]! += 2 * c0.data[i]!;
      assert.ok(diffFro(s, ref) < 1e-13 * fro(ref));
    });

    test('gemv matches gemm on a column, both transposes', () => {
      const rng = new Rng(5);
      for (const [m, n] of [
        [1, 1],
        [7, 3],
        [3, 7],
        [300, 20],
      ] as const) {
        const a = randn(rng, m, n);
        const x = rng.normals(n);
        const y = be.gemv(a, x);
        const ref = naiveMul(a, Matrix.column(x));
        assert.ok(relMaxDiff(y, ref.data) < 1e-13);
        const xt = rng.normals(m);
        const y0 = rng.normals(n);
        const yt = be.gemv(a, xt, { trans: true, alpha: 2, beta: -1, y: y0.slice() });
        const reft = naiveMul(a, Matrix.column(xt), true);
        for (let i = 0; i < n; i++) reft.data[i] = 2 * reft.data[i]! - y0[i]!;
        assert.ok(relMaxDiff(yt, reft.data) < 1e-13);
      }
    });

    test('potrf gives L L^T = A on well- and ill-conditioned SPD matrices', () => {
      const rng = new Rng(6);
      for (const n of [1, 2, 5, 64, 200]) spdCheck(be, randomSpd(rng, n, 10), `n=${n} cond=10`);
      for (const cond of [1e6, 1e10, 1e13]) spdCheck(be, randomSpd(rng, 60, cond), `cond=${cond}`);
    });

    test('potrf raises NotPositiveDefiniteError, never NaN, on indefinite, singular and NaN input', () => {
      const indefinite = Matrix.fromRows([
        [1, 2],
        [2, 1],
      ]);
      assert.throws(
        () => be.potrf(indefinite),
        (e: unknown) => e instanceof NotPositiveDefiniteError && e.minor === 2,
      );
      const singular = Matrix.diag([1, 0, 1]);
      assert.throws(
        () => be.potrf(singular),
        (e: unknown) => e instanceof NotPositiveDefiniteError && e.minor === 2,
      );
      const negative = Matrix.diag([-1]);
      assert.throws(
        () => be.potrf(negative),
        (e: unknown) => e instanceof NotPositiveDefiniteError && e.minor === 1,
      );
      const nan = Matrix.fromRows([
        [4, 1, 0],
        [1, Number.NaN, 0],
        [0, 0, 1],
      ]);
      assert.throws(() => be.potrf(nan), NotPositiveDefiniteError);
      // Rank 3 in dimension 40: exactly representable, exactly singular.
      const g = new Matrix(40, 3);
      for (let i = 0; i < 40; i++) for (let j = 0; j < 3; j++) g.set(i, j, ((i * (j + 2)) % 3) - 1);
      assert.throws(() => be.potrf(be.syrk(g)), NotPositiveDefiniteError);
      assert.throws(() => be.potrf(new Matrix(2, 3)), ShapeError);
    });

    test('potrs solves A X = B with a residual and forward error bounded by the condition number', () => {
      const rng = new Rng(7);
      for (const [n, nrhs, cond] of [
        [1, 1, 1],
        [10, 1, 10],
        [100, 7, 1e3],
        [150, 3, 1e8],
      ] as const) {
        const a = randomSpd(rng, n, cond);
        const x = randn(rng, n, nrhs);
        const b = be.gemm(a, x);
        const xhat = be.potrs(be.potrf(a), b);
        const resid = diffFro(be.gemm(a, xhat), b) / (fro(a) * fro(xhat));
        assert.ok(resid < 20 * n * EPS, `potrs n=${n} cond=${cond}: residual ${resid}`);
        const fwd = diffFro(xhat, x) / fro(x);
        assert.ok(fwd < 20 * n * cond * EPS, `potrs n=${n} cond=${cond}: forward error ${fwd}`);
      }
      assert.throws(() => be.potrs(Matrix.identity(3), new Matrix(4, 1)), /potrs: L is 3x3 but B is 4x1/);
    });

    test('potri gives the symmetric inverse', () => {
      const rng = new Rng(8);
      for (const [n, cond] of [
        [1, 1],
        [6, 10],
        [120, 1e6],
      ] as const) {
        const a = randomSpd(rng, n, cond);
        const inv = be.potri(be.potrf(a));
        assert.deepEqual(inv.data, inv.transpose().data);
        const err = diffFro(be.gemm(a, inv), Matrix.identity(n)) / Math.sqrt(n);
        assert.ok(err < 20 * n * cond * EPS, `potri n=${n} cond=${cond}: ${err}`);
      }
    });

    test('trsm solves all side/uplo/trans/diag combinations', () => {
      const rng = new Rng(9);
      for (const side of ['left', 'right'] as const) {
        for (const lower of [true, false]) {
          for (const transA of [false, true]) {
            for (const unitDiag of [false, true]) {
              for (const [m, n] of [
                [1, 1],
                [9, 4],
                [70, 65],
              ] as const) {
                const k = side === 'left' ? m : n;
                // A well-conditioned triangular matrix: dominant diagonal.
                const a = randn(rng, k, k);
                for (let i = 0; i < k; i++) a.set(i, i, (unitDiag ? 1 : 3 + rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1));
                for (let j = 0; j < k; j++) {
                  for (let i = 0; i < k; i++) {
                    if (lower ? i < j : i > j) a.set(i, j, 0);
                    else if (i !== j) a.set(i, j, a.get(i, j) / k);
                  }
                }
                const b = randn(rng, m, n);
                const x = be.trsm(a, b, { side, lower, transA, unitDiag, alpha: 0.75 });
                // A's stored diagonal is ignored when unitDiag; here it is 1 or -1 anyway.
                const aEff = a.clone();
                if (unitDiag) for (let i = 0; i < k; i++) aEff.set(i, i, 1);
                const lhs = side === 'left' ? naiveMul(aEff, x, transA, false) : naiveMul(x, aEff, false, transA);
                const rhs = b.clone();
                for (let i = 0; i < rhs.data.length; i++) rhs.data[i]! *= 0.75;
                const err = diffFro(lhs, rhs) / (fro(rhs) + Number.MIN_VALUE);
                assert.ok(err < 50 * k * EPS, `trsm ${side} lower=${lower} t=${transA} unit=${unitDiag} ${m}x${n}: ${err}`);
              }
            }
          }
        }
      }
    });

    test('syevd: A = U diag(w) U^T, U^T U = I, ascending, for many kinds of symmetric matrices', () => {
      const rng = new Rng(10);
      const cases: [string, Matrix][] = [
        ['1x1', Matrix.fromRows([[-3.5]])],
        ['zero', new Matrix(7, 7)],
        ['identity (repeated)', Matrix.identity(9)],
        ['diagonal', Matrix.diag([3, -1, 2, 2, 0, 5])],
        ['random 50', randomSymmetric(rng, 50)],
        ['rank 10 kinship 120', be.syrk(randn(rng, 120, 10))],
        ['ill-conditioned 80', randomSpd(rng, 80, 1e12)],
        [
          'clustered',
          withSpectrum(
            rng,
            Array.from({ length: 40 }, (_, i) => 1 + (i % 4) * 1e-9),
          ),
        ],
        [
          'badly scaled',
          (() => {
            const s = randomSpd(rng, 30, 10);
            const d = Array.from({ length: 30 }, (_, i) => 10 ** ((i % 7) - 3));
            const t = scaleCols(s, d).transpose();
            return scaleCols(t, d);
          })(),
        ],
        ['random 300', randomSymmetric(rng, 300)],
      ];
      for (const [label, a] of cases) {
        symmetrize(a);
        const n = a.rows;
        const { values, vectors } = be.syevd(a);
        assert.equal(values.length, n);
        for (let i = 1; i < n; i++) assert.ok(values[i - 1]! <= values[i]!, `${label}: ascending`);
        const norm = Math.max(fro(a), Number.MIN_VALUE);
        const recon = be.gemm(scaleCols(vectors, values), vectors, { transB: true });
        const err = diffFro(recon, a) / norm;
        assert.ok(err < 50 * n * EPS, `${label}: ||U S U^T - A||/||A|| = ${err}`);
        const orth = orthoError(vectors, be);
        assert.ok(orth < 50 * n * EPS, `${label}: ||U^T U - I|| = ${orth}`);
      }
    });

    test('syevd recovers a known spectrum to within ||A|| eps', () => {
      const rng = new Rng(11);
      const truth = Float64Array.from({ length: 60 }, (_, i) => (i - 20) * 0.37);
      const { values } = be.syevd(withSpectrum(rng, truth));
      assert.ok(relMaxDiff(values, truth) < 1e-13, `${relMaxDiff(values, truth)}`);
      assert.throws(
        () =>
          be.syevd(
            Matrix.fromRows([
              [1, Number.NaN],
              [Number.NaN, 1],
            ]),
          ),
        NumericalError,
      );
      assert.throws(() => be.syevd(new Matrix(3, 2)), /syevd: needs a square matrix, found 3x2/);
    });

    test('gesdd: A = U S V^T with orthonormal factors for tall, wide, square, rank-deficient, zero and 1x1', () => {
      const rng = new Rng(12);
      const lowRank = be.gemm(randn(rng, 60, 4), randn(rng, 4, 35));
      const cases: [string, Matrix][] = [
        ['1x1', Matrix.fromRows([[-2]])],
        ['zero 5x3', new Matrix(5, 3)],
        ['tall 500x20', randn(rng, 500, 20)],
        ['wide 15x200', randn(rng, 15, 200)],
        ['square 80', randn(rng, 80, 80)],
        ['rank 4 60x35', lowRank],
        ['column vector', randn(rng, 40, 1)],
        ['row vector', randn(rng, 1, 40)],
      ];
      for (const [label, a] of cases) {
        const { u, s, vt } = be.gesdd(a);
        const p = Math.min(a.rows, a.cols);
        assert.equal(u.rows, a.rows);
        assert.equal(u.cols, p);
        assert.equal(vt.rows, p);
        assert.equal(vt.cols, a.cols);
        for (let i = 0; i < p; i++) assert.ok(s[i]! >= 0, `${label}: s >= 0`);
        for (let i = 1; i < p; i++) assert.ok(s[i - 1]! >= s[i]!, `${label}: descending`);
        const recon = be.gemm(scaleCols(u, s), vt);
        const norm = Math.max(fro(a), Number.MIN_VALUE);
        const dim = Math.max(a.rows, a.cols);
        assert.ok(diffFro(recon, a) / norm < 50 * dim * EPS, `${label}: reconstruction ${diffFro(recon, a) / norm}`);
        assert.ok(orthoError(u, be) < 50 * dim * EPS, `${label}: U^T U = I (${orthoError(u, be)})`);
        assert.ok(orthoError(vt.transpose(), be) < 50 * dim * EPS, `${label}: V^T V = I`);
      }
      const { s } = be.gesdd(lowRank);
      assert.ok(s[4]! < 1e-13 * s[0]!, 'rank 4 has 4 non-zero singular values');
    });

    test('gesdd recovers known singular values', () => {
      const rng = new Rng(13);
      const sv = Float64Array.from({ length: 25 }, (_, i) => 10 / (i + 1));
      const a = be.gemm(scaleCols(randomOrthogonal(rng, 40).colView(0, 25), sv), randomOrthogonal(rng, 25), { transB: true });
      const { s } = be.gesdd(a);
      assert.ok(relMaxDiff(s, sv) < 1e-13);
    });

    test('logdet matches the eigenvalues and a known determinant', () => {
      const rng = new Rng(14);
      const a = randomSpd(rng, 50, 1e4);
      const { values } = be.syevd(a);
      const ref = values.reduce((acc, v) => acc + Math.log(v), 0);
      assert.ok(Math.abs(be.logdet(a) - ref) < 1e-10 * Math.max(1, Math.abs(ref)));
      // det of diag(1e-200 ...) underflows as a product, not as a log.
      const tiny = Matrix.diag(new Array(10).fill(1e-200));
      assert.ok(Math.abs(be.logdet(tiny) - 10 * Math.log(1e-200)) < 1e-9);
      assert.throws(() => be.logdet(Matrix.diag([1, -1])), NotPositiveDefiniteError);
    });

    test('shape errors name the operation and both shapes', () => {
      assert.throws(() => be.gemm(new Matrix(2, 3), new Matrix(2, 3)), /gemm\(A \* B\): inner dimensions differ, A is 2x3 and B is 2x3/);
      assert.throws(() => be.gemm(new Matrix(2, 3), new Matrix(2, 3), { transA: true, c: new Matrix(2, 2) }), /the result is 3x3 but C is 2x2/);
      assert.throws(() => be.gemv(new Matrix(2, 3), [1, 2]), /gemv\(A x\): A is 2x3 but x has length 2 \(expected 3\)/);
      assert.throws(() => be.trsm(Matrix.identity(3), new Matrix(2, 3)), /trsm\(left\): A is 3x3 but B is 2x3/);
      assert.throws(() => be.gemm(new Matrix(2, 2), new Matrix(2, 2), { beta: 1 }), /beta = 1 needs an input C/);
    });
  });
}

if (backends.length === 2) {
  const [nat, js] = backends as [Backend, Backend];
  describe('the js and native backends agree', () => {
    const TOL = 1e-10;
    test('gemm, syrk, gemv', () => {
      const rng = new Rng(20);
      const a = randn(rng, 123, 77);
      const b = randn(rng, 77, 45);
      assert.ok(relMaxDiff(js.gemm(a, b).data, nat.gemm(a, b).data) < TOL);
      assert.ok(relMaxDiff(js.gemm(a, a, { transA: true }).data, nat.gemm(a, a, { transA: true }).data) < TOL);
      assert.ok(relMaxDiff(js.syrk(a).data, nat.syrk(a).data) < TOL);
      const x = rng.normals(77);
      assert.ok(relMaxDiff(js.gemv(a, x), nat.gemv(a, x)) < TOL);
    });

    test('potrf, potrs, potri, trsm, logdet on a well-conditioned SPD matrix', () => {
      const rng = new Rng(21);
      const a = randomSpd(rng, 150, 100);
      const lj = js.potrf(a);
      const ln = nat.potrf(a);
      assert.ok(relMaxDiff(lj.data, ln.data) < TOL);
      const b = randn(rng, 150, 5);
      assert.ok(relMaxDiff(js.potrs(lj, b).data, nat.potrs(ln, b).data) < TOL);
      assert.ok(relMaxDiff(js.potri(lj).data, nat.potri(ln).data) < TOL);
      assert.ok(relMaxDiff(js.trsm(lj, b).data, nat.trsm(ln, b).data) < TOL);
      assert.ok(Math.abs(js.logdet(a) - nat.logdet(a)) < TOL * Math.abs(nat.logdet(a)));
    });

    test('syevd values, and vectors up to sign, on well-separated eigenvalues', () => {
      const rng = new Rng(22);
      const a = withSpectrum(
        rng,
        Array.from({ length: 100 }, (_, i) => 1 + i),
      );
      const ej = js.syevd(a);
      const en = nat.syevd(a);
      assert.ok(relMaxDiff(ej.values, en.values) < TOL);
      assert.ok(maxSignedColDiff(ej.vectors, en.vectors) < 1e-9);
    });

    test('gesdd values, and vectors up to sign, on distinct singular values', () => {
      const rng = new Rng(23);
      const a = randn(rng, 90, 30);
      const sj = js.gesdd(a);
      const sn = nat.gesdd(a);
      assert.ok(relMaxDiff(sj.s, sn.s) < TOL);
      assert.ok(maxSignedColDiff(sj.u, sn.u) < 1e-9);
      assert.ok(maxSignedColDiff(sj.vt.transpose(), sn.vt.transpose()) < 1e-9);
    });
  });
}

/** max over columns of min(||x - y||, ||x + y||): equality up to the sign of each column. */
function maxSignedColDiff(a: Matrix, b: Matrix): number {
  let worst = 0;
  for (let j = 0; j < a.cols; j++) {
    const x = a.col(j);
    const y = b.col(j);
    let dm = 0;
    let dp = 0;
    for (let i = 0; i < x.length; i++) {
      dm += (x[i]! - y[i]!) ** 2;
      dp += (x[i]! + y[i]!) ** 2;
    }
    worst = Math.max(worst, Math.sqrt(Math.min(dm, dp)));
  }
  return worst;
}
