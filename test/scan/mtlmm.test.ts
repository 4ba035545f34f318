// Multi-trait LMMs: FreeFormCov, the L-BFGS optimiser, the Kronecker-sum null
// model (limix-core's GP2KronSum) against dense O((NP)^3) formulas, MTLMM
// scans against dense GLS and against limix-lmm (example_mtlmm), the null fit
// from limix's starting point, and `lmmkit mtgwas`.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Backend, Eigen } from '../../src/linalg/backend.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { getBackend } from '../../src/node.js';
import { FreeFormCov } from '../../src/nullmodel/freeform.js';
import { fitKronSumNull } from '../../src/nullmodel/fit-kron-sum.js';
import { KronSumCovariance } from '../../src/nullmodel/kron-sum-covariance.js';
import { KronSumLikelihood } from '../../src/nullmodel/kron-sum-likelihood.js';
import { minimizeLbfgs } from '../../src/optim/lbfgs.js';
import { Mtlmm, traitTestDesign } from '../../src/scan/mtlmm.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { Rng } from '../../src/sim/rng.js';
import { chi2Sf } from '../../src/stats/index.js';
import { assertRejected, column, fixturePaths, lmmkit, readTsv, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';
import { SHARED, backendsUnderTest, randn, sharedTest } from '../support.js';

const EX = 'refs/limix/example_mtlmm/';

// ---------------------------------------------------------------------------
// Dense references.

/** K = Cg (x) R + Cn (x) I over vec(Y) (N x P stacked by columns: index p N + n). */
function denseK(cg: Matrix, cn: Matrix, r: Matrix): Matrix {
  const p = cg.rows;
  const n = r.rows;
  const k = new Matrix(n * p, n * p);
  for (let q = 0; q < p; q++) {
    for (let c = 0; c < p; c++) {
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          k.data[c * n + i + (q * n + j) * n * p] = cg.data[c + q * p]! * r.data[i + j * n]! + (i === j ? cn.data[c + q * p]! : 0);
        }
      }
    }
  }
  return k;
}

/** A (x) F: (NP) x (LW), column w L + l, row p N + n. */
function kronAF(a: Matrix, f: Matrix): Matrix {
  const n = f.rows;
  const l = f.cols;
  const p = a.rows;
  const w = a.cols;
  const out = new Matrix(n * p, l * w);
  for (let ww = 0; ww < w; ww++) {
    for (let b = 0; b < l; b++) {
      for (let c = 0; c < p; c++) {
        for (let i = 0; i < n; i++) out.data[c * n + i + (ww * l + b) * n * p] = a.data[c + ww * p]! * f.data[i + b * n]!;
      }
    }
  }
  return out;
}

function vec(y: Matrix): Matrix {
  return new Matrix(y.data.length, 1, y.data.slice());
}

/** limix's gp.LML() computed densely: 0.5 [log|K| + y'K^-1 y + log|W'K^-1 W| - y'K^-1 W b]. */
function denseLml(be: Backend, cg: Matrix, cn: Matrix, r: Matrix, y: Matrix, f: Matrix, a: Matrix): { lml: number; b: Float64Array } {
  const k = denseK(cg, cn, r);
  const lk = be.potrf(k);
  const yv = vec(y);
  const kiy = be.potrs(lk, yv);
  let lml = 0.5 * (be.logdet(k) + be.gemm(yv, kiy, { transA: true }).data[0]!);
  if (f.cols === 0) return { lml, b: new Float64Array(0) };
  const w = kronAF(a, f);
  const kiw = be.potrs(lk, w);
  const areml = be.gemm(w, kiw, { transA: true });
  const wkiy = be.gemm(w, kiy, { transA: true });
  const b = be.potrs(be.potrf(areml), wkiy);
  lml += 0.5 * (be.logdet(areml) - be.gemm(wkiy, b, { transA: true }).data[0]!);
  return { lml, b: b.data };
}

/** MTLMM by dense GLS: lrt and beta of one variant with trait design asnp. */
function denseTest(be: Backend, k: Matrix, y: Matrix, f: Matrix, a: Matrix, g: Float64Array, asnp: Matrix): { lrt: number; beta: Float64Array } {
  const lk = be.potrf(k);
  const yv = vec(y);
  const kiy = be.potrs(lk, yv);
  const yKiy = be.gemm(yv, kiy, { transA: true }).data[0]!;
  const w0 = kronAF(a, f);
  const w1 = new Matrix(w0.rows, w0.cols + asnp.cols);
  w1.data.set(w0.data);
  w1.data.set(kronAF(asnp, new Matrix(g.length, 1, g)).data, w0.data.length);
  const df = y.data.length - w0.cols;
  const s2 = (w: Matrix): { s2: number; b: Float64Array } => {
    const kiw = be.potrs(lk, w);
    const wkiy = be.gemm(w, kiy, { transA: true });
    const b = be.potrs(be.potrf(be.gemm(w, kiw, { transA: true })), wkiy);
    return { s2: (yKiy - be.gemm(wkiy, b, { transA: true }).data[0]!) / df, b: b.data };
  };
  const s0 = s2(w0);
  const s1 = s2(w1);
  return { lrt: -df * Math.log(s1.s2 / s0.s2), beta: s1.b.slice(w0.cols) };
}

/** A small multi-trait problem: R = X X^T / s (rank s, possibly < N), F = [1, x], Y random. */
function smallProblem(seed: number, n: number, p: number, rank: number) {
  const rng = new Rng(seed);
  const x = randn(rng, n, rank);
  const r = new Matrix(n, n);
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < rank; c++) s += x.data[i + c * n]! * x.data[j + c * n]!;
      r.data[i + j * n] = s / rank;
    }
  const f = new Matrix(n, 2);
  for (let i = 0; i < n; i++) {
    f.data[i] = 1;
    f.data[i + n] = rng.normal();
  }
  const y = randn(rng, n, p);
  for (let i = 0; i < n * p; i++) y.data[i]! += 0.5 * (i % 3);
  const params = Float64Array.from(rng.normals(p * (p + 1)), (v) => 0.4 * v);
  // Diagonals of the Cholesky factors away from 0.
  const ff = new FreeFormCov(p);
  for (let c = 0; c < p; c++) {
    params[ff.paramIndex(c, c)] = 0.6 + 0.3 * c;
    params[ff.nParams + ff.paramIndex(c, c)] = 0.8 + 0.1 * c;
  }
  return { rng, r, f, y, params };
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) s = Math.max(s, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m / Math.max(s, 1e-300);
}

// ---------------------------------------------------------------------------

describe('FreeFormCov', () => {
  test('parameters in limix order (numpy tril_indices), K = L L^T + 1e-4 I', () => {
    const c = new FreeFormCov(3, { params: [1, 2, 3, 4, 5, 6] });
    assert.deepEqual(c.L().toArray(), [
      [1, 0, 0],
      [2, 3, 0],
      [4, 5, 6],
    ]);
    const k = c.K().toArray();
    assert.deepEqual(k[0], [1 + 1e-4, 2, 4]);
    assert.equal(k[2]![2], 16 + 25 + 36 + 1e-4);
    assert.equal(c.paramIndex(2, 1), 4);
    // limix's setCovariance: L = chol(C), so K = C + jitter.
    const cov = Matrix.fromRows([
      [2, 0.5, 0.1],
      [0.5, 1, -0.3],
      [0.1, -0.3, 0.7],
    ]);
    const back = FreeFormCov.fromCovariance(cov).K();
    for (let j = 0; j < 3; j++)
      for (let i = 0; i < 3; i++) {
        assert.ok(Math.abs(back.get(i, j) - cov.get(i, j) - (i === j ? 1e-4 : 0)) < 1e-14);
      }
    assert.throws(
      () =>
        FreeFormCov.fromCovariance([
          [1, 2],
          [2, 1],
        ]),
      /not positive definite/,
    );
    assert.throws(() => new FreeFormCov(2, { params: [1, 2] }), /3 parameters, found 2/);
  });

  test('analytic gradients agree with central finite differences', () => {
    const rng = new Rng(3);
    const p = 4;
    const c = new FreeFormCov(p, { params: rng.normals(10) });
    const x0 = c.getParams();
    const h = 1e-6;
    for (let i = 0; i < c.nParams; i++) {
      const xp = x0.slice();
      const xm = x0.slice();
      xp[i]! += h;
      xm[i]! -= h;
      const kp = new FreeFormCov(p, { params: xp }).K();
      const km = new FreeFormCov(p, { params: xm }).K();
      const fd = Float64Array.from(kp.data, (v, j) => (v - km.data[j]!) / (2 * h));
      assert.ok(maxRel(c.kGrad(i).data, fd) < 1e-8, `dK/dparam ${i}`);
    }
    // Chain rule: f(K) = sum H .* K (H not symmetric) -> paramGradient(H).
    const hm = randn(rng, p, p);
    const f = (x: Float64Array) => {
      const k = new FreeFormCov(p, { params: x }).K();
      return k.data.reduce((s, v, j) => s + v * hm.data[j]!, 0);
    };
    const g = c.paramGradient(hm);
    for (let i = 0; i < c.nParams; i++) {
      const xp = x0.slice();
      const xm = x0.slice();
      xp[i]! += h;
      xm[i]! -= h;
      const fd = (f(xp) - f(xm)) / (2 * h);
      assert.ok(Math.abs(g[i]! - fd) < 1e-7 * Math.max(1, Math.abs(fd)), `paramGradient ${i}: ${g[i]} vs ${fd}`);
      const viaK = c.kGrad(i).data.reduce((s, v, j) => s + v * hm.data[j]!, 0);
      assert.ok(Math.abs(g[i]! - viaK) < 1e-12 * Math.max(1, Math.abs(viaK)));
    }
  });
});

describe('L-BFGS', () => {
  const rosenbrock = (x: Float64Array, g: Float64Array): number => {
    let f = 0;
    g.fill(0);
    for (let i = 0; i + 1 < x.length; i++) {
      const a = x[i + 1]! - x[i]! * x[i]!;
      const b = 1 - x[i]!;
      f += 100 * a * a + b * b;
      g[i]! += -400 * x[i]! * a - 2 * b;
      g[i + 1]! += 200 * a;
    }
    return f;
  };

  test('Rosenbrock from (-1.2, 1): the minimum (1, 1) to 1e-8', () => {
    const r = minimizeLbfgs(rosenbrock, [-1.2, 1], { gtol: 1e-10, ftol: 0 });
    assert.equal(r.reason, 'gtol');
    assert.ok(r.converged);
    assert.ok(Math.abs(r.x[0]! - 1) < 1e-8 && Math.abs(r.x[1]! - 1) < 1e-8, `x = ${r.x}`);
    assert.ok(r.f < 1e-16);
    assert.ok(r.iterations < 100, `${r.iterations} iterations`);
  });

  test('extended Rosenbrock, 20 variables, and a stop by ftol', () => {
    const x0 = Float64Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
    const r = minimizeLbfgs(rosenbrock, x0, { gtol: 1e-9, ftol: 0 });
    assert.equal(r.reason, 'gtol');
    for (const v of r.x) assert.ok(Math.abs(v - 1) < 1e-7);
    const loose = minimizeLbfgs(rosenbrock, x0, { gtol: 0, ftol: 1e-6 });
    assert.equal(loose.reason, 'ftol');
    assert.ok(loose.iterations < r.iterations);
  });

  test('a quadratic with condition number 1e6 and approximate Wolfe steps under noise', () => {
    const d = Float64Array.from({ length: 10 }, (_, i) => 10 ** ((6 * i) / 9));
    const quad = (x: Float64Array, g: Float64Array): number => {
      let f = 1000;
      for (let i = 0; i < x.length; i++) {
        g[i] = d[i]! * (x[i]! - 1);
        f += 0.5 * d[i]! * (x[i]! - 1) ** 2;
      }
      return f;
    };
    const r = minimizeLbfgs(quad, new Float64Array(10), { gtol: 1e-8, ftol: 0, noise: 1e-13, maxIterations: 5000 });
    assert.equal(r.reason, 'gtol');
    for (const v of r.x) assert.ok(Math.abs(v - 1) < 1e-8);
  });

  test('bad options and a non-finite start are errors', () => {
    assert.throws(() => minimizeLbfgs(rosenbrock, [0, 0], { c1: 0.9, c2: 0.1 }), /0 < c1 < c2 < 1/);
    assert.throws(() => minimizeLbfgs(() => Number.NaN, [0, 0]), /not finite at the starting point/);
  });
});

describe('GP2KronSum likelihood against dense formulas', () => {
  for (const be of backendsUnderTest()) {
    test(`${be.name}: LML, fixed effects and gradient (full-rank and rank-deficient R, A = I, A general, no F)`, () => {
      const cases = [
        { n: 9, p: 3, rank: 12, seed: 1, a: 'eye' },
        { n: 10, p: 3, rank: 4, seed: 2, a: 'general' },
        { n: 8, p: 2, rank: 8, seed: 3, a: 'none' },
      ] as const;
      for (const cs of cases) {
        const { r, f: f0, y, params, rng } = smallProblem(cs.seed, cs.n, cs.p, cs.rank);
        const a = cs.a === 'general' ? randn(rng, cs.p, 2) : Matrix.identity(cs.p);
        const f = cs.a === 'none' ? new Matrix(cs.n, 0) : f0;
        const model = new KronSumLikelihood({ y, covariates: f, traitDesign: a, kinship: r, backend: be });
        const e = model.evaluate(params);
        const { cg, cn } = model.covariances(params);
        const dense = denseLml(be, cg.K(), cn.K(), r, y, f, a);
        const what = `${cs.a}, rank ${cs.rank}`;
        assert.ok(Math.abs(e.lml - dense.lml) < 1e-10 * Math.abs(dense.lml), `${what}: lml ${e.lml} vs dense ${dense.lml}`);
        if (f.cols > 0) assert.ok(maxRel(e.beta.data, dense.b) < 1e-9, `${what}: beta`);
        // Gradient against central differences of the dense objective.
        const h = 1e-6;
        const g = e.grad!;
        for (let i = 0; i < params.length; i++) {
          const xp = params.slice();
          const xm = params.slice();
          xp[i]! += h;
          xm[i]! -= h;
          const cp = model.covariances(xp);
          const cm = model.covariances(xm);
          const fd = (denseLml(be, cp.cg.K(), cp.cn.K(), r, y, f, a).lml - denseLml(be, cm.cg.K(), cm.cn.K(), r, y, f, a).lml) / (2 * h);
          assert.ok(Math.abs(g[i]! - fd) < 1e-6 * Math.max(1, Math.abs(fd)), `${what}: d lml / d param ${i}: ${g[i]} vs ${fd}`);
        }
      }
    });

    test(`${be.name}: KronSumCovariance kiDot and logdet equal the dense K`, () => {
      const { r, y, params } = smallProblem(4, 11, 3, 5);
      const model = new KronSumLikelihood({ y, kinship: r, backend: be });
      const cov = model.covarianceAt(params);
      const { cg, cn } = model.covariances(params);
      const k = denseK(cg.K(), cn.K(), r);
      assert.ok(maxRel(cov.kiDot(y).data, be.potrs(be.potrf(k), vec(y)).data) < 1e-10);
      assert.ok(Math.abs(cov.logdet() - be.logdet(k)) < 1e-10 * Math.abs(be.logdet(k)) + 1e-12);
      // Joint diagonalisation: Lc Cn Lc^T = I, Lc Cg Lc^T = diag(sc).
      const lcn = be.gemm(cov.lc, be.gemm(cn.K(), cov.lc, { transB: true }));
      const lcg = be.gemm(cov.lc, be.gemm(cg.K(), cov.lc, { transB: true }));
      for (let j = 0; j < 3; j++)
        for (let i = 0; i < 3; i++) {
          assert.ok(Math.abs(lcn.get(i, j) - (i === j ? 1 : 0)) < 1e-12);
          assert.ok(Math.abs(lcg.get(i, j) - (i === j ? cov.sc[i]! : 0)) < 1e-12);
        }
    });
  }

  test('bad inputs name what is wrong', () => {
    const { r, y, f } = smallProblem(5, 8, 2, 8);
    const yn = y.clone();
    yn.data[3] = Number.NaN;
    assert.throws(() => new KronSumLikelihood({ y: yn, kinship: r }), /missing or non-finite value at sample 3, trait 0/);
    assert.throws(() => new KronSumLikelihood({ y, kinship: r, traitDesign: Matrix.identity(3) }), /P = 2 rows/);
    assert.throws(() => new KronSumLikelihood({ y, covariates: f, kinship: Matrix.identity(7) }), /R is 7x7/);
    const collinear = new Matrix(
      8,
      2,
      Float64Array.from({ length: 16 }, () => 1),
    );
    const m = new KronSumLikelihood({ y, covariates: collinear, kinship: r });
    assert.throws(() => m.evaluate(m.limixStart()), /not of full rank/);
  });
});

describe('MTLMM scans against dense GLS', () => {
  for (const be of backendsUnderTest()) {
    test(`${be.name}: lrt, beta and p-values for Asnp = I, ones and a general design, with a general A`, () => {
      const { r, f, y, params, rng } = smallProblem(6, 12, 3, 7);
      const a = randn(rng, 3, 2);
      const model = new KronSumLikelihood({ y, covariates: f, traitDesign: a, kinship: r, backend: be });
      const cov = model.covarianceAt(params);
      const { cg, cn } = model.covariances(params);
      const k = denseK(cg.K(), cn.K(), r);
      const g = randn(rng, 12, 5);
      for (let i = 0; i < 12; i++) g.data[i + 4 * 12] = 2; // a constant variant (in the span of the intercept)
      const mt = new Mtlmm({ y, covariates: f, traitDesign: a, covariance: cov, backend: be });
      assert.equal(mt.df, 36 - 4);
      const designs = [traitTestDesign('any', 3), traitTestDesign('common', 3), randn(rng, 3, 2)];
      const res = mt.processDesigns(g, designs);
      designs.forEach((asnp, t) => {
        const m = asnp.cols;
        for (let j = 0; j < 4; j++) {
          const d = denseTest(be, k, y, f, a, g.col(j), asnp);
          assert.ok(Math.abs(res[t]!.lrt[j]! - d.lrt) < 1e-9 * Math.max(1, d.lrt), `design ${t} variant ${j}: lrt ${res[t]!.lrt[j]} vs ${d.lrt}`);
          assert.ok(maxRel(res[t]!.beta.data.subarray(j * m, (j + 1) * m), d.beta) < 1e-9, `design ${t} variant ${j}: beta`);
          assert.equal(res[t]!.df[j], m);
          assert.ok(Math.abs(res[t]!.pv[j]! - chi2Sf(d.lrt, m)) < 1e-10);
        }
        // A constant variant is partly in the span of A (x) 1 (W = 2 < P = 3): one direction is left to test.
        assert.equal(res[t]!.df[4], 1, `design ${t}: rank of the constant variant's design`);
        // [A (x) 1, Asnp (x) 1] spans all of (trait space) (x) 1, as [A, e_1] (x) 1 does.
        const e1 = new Matrix(3, 1, Float64Array.of(1, 0, 0));
        const d = denseTest(be, k, y, f, a, g.col(4), e1);
        assert.ok(Math.abs(res[t]!.lrt[4]! - d.lrt) < 1e-7 * Math.max(1, d.lrt), `design ${t}, constant variant: lrt ${res[t]!.lrt[4]} vs ${d.lrt}`);
      });
      // With A = I a constant variant is wholly in the span of the covariates: untestable.
      const mtI = new Mtlmm({ y, covariates: f, covariance: cov, backend: be });
      for (const r of mtI.processDesigns(g.colView(4, 5), designs)) {
        assert.equal(r.df[0], 0);
        assert.ok(Number.isNaN(r.pv[0]!) && Number.isNaN(r.lrt[0]!) && Number.isNaN(r.beta.data[0]!));
      }
      // process() with the default design is the any-effect test.
      assert.deepEqual(Array.from(mt.process(g).lrt.subarray(0, 4)), Array.from(res[0]!.lrt.subarray(0, 4)));
    });
  }
});

// ---------------------------------------------------------------------------
// limix-lmm parity (example_mtlmm).

function csvRows(rel: string): number[][] {
  return readFileSync(SHARED + rel, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(',').map(Number));
}

interface Example {
  y: Matrix;
  f: Matrix;
  g: Matrix;
  eigen: Eigen;
  res: {
    Cg_K: number[][];
    Cn_K: number[][];
    Cg_params: number[];
    Cn_params: number[];
    gp_LML_negative_reml_no_const: number;
    gp_mean_b: number[];
    anyeffect_Asnp_eye: { s20: number; beta_F0: number[]; mtlmm_df: number };
  };
}

const examples = new Map<string, Example>();
/** The example's inputs with R = G G^T / mean(diag) + 1e-4 I eigendecomposed on `be` (once per backend). */
function example(be: Backend): Example {
  const hit = examples.get(be.name);
  if (hit !== undefined) return hit;
  const g = Matrix.fromRows(csvRows(`${EX}G.csv`));
  const r = be.gemm(g, g, { transB: true });
  const n = r.rows;
  let md = 0;
  for (let i = 0; i < n; i++) md += r.data[i + i * n]!;
  md /= n;
  for (let i = 0; i < r.data.length; i++) r.data[i]! /= md;
  for (let i = 0; i < n; i++) r.data[i + i * n]! += 1e-4;
  const ex: Example = {
    y: Matrix.fromRows(csvRows(`${EX}Y.csv`)),
    f: Matrix.fromRows(csvRows(`${EX}F.csv`)),
    g,
    eigen: be.syevd(r),
    res: JSON.parse(readFileSync(`${SHARED + EX}results.json`, 'utf8')) as Example['res'],
  };
  examples.set(be.name, ex);
  return ex;
}

const EX_FILES = [
  'Y.csv',
  'F.csv',
  'G.csv',
  'results.json',
  'pv_anyeffect_Asnp_eye.csv',
  'B_anyeffect_Asnp_eye.csv',
  'lrt_anyeffect_Asnp_eye.csv',
  'pv_commoneffect_Asnp_ones.csv',
  'B_commoneffect_Asnp_ones.csv',
  'lrt_commoneffect_Asnp_ones.csv',
].map((f) => EX + f);

/**
 * limix's rounding floor on lrt. limix computes s20 and every s2 as
 * (yKiy - b^T W^T K^-1 y) / df, and here yKiy = 4.65e6 is 1168 times the
 * residual sum of squares (a trait combination with noise variance near
 * FreeFormCov's 1e-4 jitter carries the mean). lmmkit uses the residual form
 * r^T K^-1 r. Evidence that the difference is limix's: its s20 differs from
 * lmmkit's (the same on both backends to 2e-13) by 7.6e-11 relative, which
 * shifts every lrt by df x 7.6e-11 = 3.0e-7, the observed mean difference;
 * the spread of the differences is +-2.3e-6; and limix's common-effect lrt of
 * variant 252 is -6.0e-7, negative, impossible in exact arithmetic.
 */
const LRT_FLOOR = 3e-6;

describe("MTLMM parity with limix-lmm (example_mtlmm, Cg and Cn held at limix's)", () => {
  for (const be of backendsUnderTest()) {
    sharedTest(`${be.name}: pv, beta and lrt of both tests for all 500 variants`, EX_FILES, () => {
      const ex = example(be);
      const cov = new KronSumCovariance(ex.eigen, Matrix.fromRows(ex.res.Cg_K), Matrix.fromRows(ex.res.Cn_K), be);
      const mt = new Mtlmm({ y: ex.y, covariates: ex.f, covariance: cov, backend: be });
      const ref = ex.res.anyeffect_Asnp_eye;
      assert.equal(mt.df, ref.mtlmm_df);
      assert.ok(Math.abs(mt.s20 / ref.s20 - 1) < 1e-9, `s20 ${mt.s20} vs ${ref.s20}`);
      assert.ok(maxRel(mt.nullBeta.data, ref.beta_F0) < 1e-9, 'beta_F0 (vec(B), B is ncol(F) x P)');
      const [any, common] = mt.processDesigns(ex.g, [traitTestDesign('any', 4), traitTestDesign('common', 4)]);
      const cases = [
        { name: 'anyeffect_Asnp_eye', r: any!, df: 4, m: 4 },
        { name: 'commoneffect_Asnp_ones', r: common!, df: 1, m: 1 },
      ];
      for (const { name, r, df, m } of cases) {
        const pv = csvRows(`${EX}pv_${name}.csv`).map((x) => x[0]!);
        const lrt = csvRows(`${EX}lrt_${name}.csv`).map((x) => x[0]!);
        const beta = csvRows(`${EX}B_${name}.csv`);
        assert.equal(r.tests, 500);
        for (let j = 0; j < 500; j++) {
          assert.equal(r.df[j], df);
          for (let i = 0; i < m; i++) {
            const want = beta[j]![i]!;
            assert.ok(Math.abs(r.beta.data[i + j * m]! - want) <= 1e-6 * Math.abs(want), `${name} beta[${i}, ${j}]: ${r.beta.data[i + j * m]} vs ${want}`);
          }
          assert.ok(Math.abs(r.lrt[j]! - lrt[j]!) <= 1e-6 * Math.abs(lrt[j]!) + LRT_FLOOR, `${name} lrt[${j}]: ${r.lrt[j]} vs ${lrt[j]}`);
          // 1e-6 relative, widened by how far limix's lrt floor moves its p-value.
          const band = Math.abs(chi2Sf(Math.max(lrt[j]!, 0), df) - chi2Sf(Math.max(lrt[j]!, 0) + LRT_FLOOR, df));
          assert.ok(Math.abs(r.pv[j]! - pv[j]!) <= 1e-6 * pv[j]! + band, `${name} pv[${j}]: ${r.pv[j]} vs ${pv[j]}`);
        }
        if (name === 'anyeffect_Asnp_eye') {
          // With 4 df the floor moves no p-value by 1e-6 relative: all 500 meet 1e-6 outright.
          for (let j = 0; j < 500; j++) assert.ok(Math.abs(r.pv[j]! - pv[j]!) <= 1e-6 * pv[j]!, `any pv[${j}]`);
        }
      }
    });
  }

  sharedTest("the LML at limix's parameters is limix's gp.LML() (negative REML without 2 pi)", EX_FILES, () => {
    const be = getBackend();
    const ex = example(be);
    const model = new KronSumLikelihood({ y: ex.y, covariates: ex.f, kinship: ex.eigen, backend: be });
    const e = model.evaluate([...ex.res.Cg_params, ...ex.res.Cn_params], false);
    // limix's own value carries ~1e-8 of rounding (the cancellation above).
    assert.ok(Math.abs(e.lml - ex.res.gp_LML_negative_reml_no_const) < 5e-8, `lml ${e.lml} vs ${ex.res.gp_LML_negative_reml_no_const}`);
    assert.ok(maxRel(e.beta.data, ex.res.gp_mean_b) < 1e-9);
  });

  sharedTest("an independent null fit from limix's start: LML at least as good, gradient norm < 1e-4", EX_FILES, () => {
    const be = getBackend();
    const ex = example(be);
    const fit = fitKronSumNull({ y: ex.y, covariates: ex.f, kinship: ex.eigen, backend: be });
    assert.ok(fit.lml <= -627.0080747, `lml ${fit.lml} (limix -627.0080747)`);
    assert.ok(fit.gradNorm < 1e-4, `gradient norm ${fit.gradNorm}`);
    assert.ok(fit.converged);
    // limix stopped abnormally with parameters determined to ~1e-3: compare loosely.
    const dcg = Math.max(...fit.cg.data.map((v, i) => Math.abs(v - Matrix.fromRows(ex.res.Cg_K).data[i]!)));
    const dcn = Math.max(...fit.cn.data.map((v, i) => Math.abs(v - Matrix.fromRows(ex.res.Cn_K).data[i]!)));
    assert.ok(dcg < 5e-3 && dcn < 5e-3, `Cg off by ${dcg}, Cn by ${dcn}`);
    // The scan at our optimum is close to limix's.
    const mt = new Mtlmm({ y: ex.y, covariates: ex.f, covariance: fit.covariance, backend: be });
    const pv = csvRows(`${EX}pv_anyeffect_Asnp_eye.csv`).map((x) => x[0]!);
    const ours = mt.process(ex.g).pv;
    for (let j = 0; j < 500; j++) assert.ok(Math.abs(Math.log10(ours[j]!) - Math.log10(pv[j]!)) < 5e-3, `pv[${j}] ${ours[j]} vs ${pv[j]}`);
  });
});

// ---------------------------------------------------------------------------
// lmmkit mtgwas.

const dir = scratchDir('lmmkit-mtgwas-');

describe('lmmkit mtgwas', () => {
  const { data, prefix, pheno, covar, kin } = fixturePaths(dir, 'data');
  const n = 150;
  const sim = simulateGwas({ samples: n, variants: 80, seed: 9 });
  /** Sample positions with a missing trait (t2 at 5 and 40, t3 at 77). */
  const naAt = new Map([
    [5, 't2'],
    [40, 't2'],
    [77, 't3'],
  ]);
  const rng = new Rng(17);
  const y = randn(rng, n, 3);
  for (let i = 0; i < n; i++) {
    y.data[i]! += sim.phenotype[i]!;
    y.data[i + n]! += 0.5 * sim.phenotype[i]! + 0.3 * y.data[i]!;
    y.data[i + 2 * n]! += -0.4 * sim.phenotype[i]!;
  }
  const cov = Float64Array.from({ length: n }, () => rng.normal());
  const ready = (async () => {
    writeSampleTable(pheno, sim.samples, ['t1', 't2', 't3'], (i, c) => (naAt.get(i) === `t${c + 1}` ? 'NA' : y.data[i + c * n]!));
    writeSampleTable(covar, sim.samples, ['age', 'const'], (i, c) => (c === 0 ? cov[i]! : 1));
    return writeGenotypeFixture(sim, prefix, kin);
  })();

  test('both tests: header, dropped samples reported, values equal to fitKronSumNull + Mtlmm called directly', async () => {
    const k = await ready;
    const out = join(dir, 'mt');
    const r = lmmkit('mtgwas', '--bfile', prefix, '--pheno', pheno, '--covar', covar, '--kinship', kin, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /missing phenotype 't2' in .*pheno\.tsv \(mtgwas needs every trait\): 2 /);
    assert.match(r.stdout, /missing phenotype 't3'/);
    const tsv = readTsv(`${out}.tsv`);
    assert.deepEqual(tsv.header, [
      'chrom',
      'pos',
      'id',
      'effect_allele',
      'other_allele',
      'eaf',
      'n',
      'beta_any',
      'se_any',
      'stat_any',
      'pvalue_any',
      'neg_log10_p_any',
      'beta_common',
      'se_common',
      'stat_common',
      'pvalue_common',
      'neg_log10_p_common',
    ]);
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    assert.equal(report.samples, n - 3);
    assert.deepEqual(report.traits, ['t1', 't2', 't3']);
    assert.deepEqual(report.covariates, ['intercept', 'age']);
    assert.equal(report.covariatesDropped[0].name, 'const');
    const dropped = report.match.dropped.map((d: { iid: string; reason: string }) => [d.iid, d.reason]);
    assert.deepEqual(
      dropped.map((d: string[]) => d[0]),
      [5, 40, 77].map((i) => sim.samples.iid[i]),
    );
    assert.match(dropped[2][1], /missing phenotype 't3'/);
    assert.equal(report.variants.tested, tsv.rows.length);
    assert.ok(report.nullModel.gradNorm < 1e-4);

    // The same model, called directly.
    const keep = Array.from({ length: n }, (_, i) => i).filter((i) => !naAt.has(i));
    const m = keep.length;
    const yk = new Matrix(m, 3);
    for (let c = 0; c < 3; c++)
      keep.forEach((i, j) => {
        yk.data[j + c * m] = y.data[i + c * n]!;
      });
    const f = new Matrix(m, 2);
    keep.forEach((i, j) => {
      f.data[j] = 1;
      f.data[j + m] = cov[i]!;
    });
    const kk = new Matrix(m, m);
    keep.forEach((i2, j2) => {
      keep.forEach((i1, j1) => {
        kk.data[j1 + j2 * m] = k.data[i1 + i2 * n]!;
      });
    });
    const fit = fitKronSumNull({ y: yk, covariates: f, kinship: kk });
    assert.ok(Math.abs(fit.lml - report.nullModel.lml) < 1e-9 * Math.abs(fit.lml));
    const mt = new Mtlmm({ y: yk, covariates: f, covariance: fit.covariance });
    const ids = tsv.rows.map((row) => row[2]!);
    const g = new Matrix(m, ids.length);
    ids.forEach((id, j) => {
      const v = sim.variants.id.indexOf(id);
      keep.forEach((i, r2) => {
        g.data[r2 + j * m] = sim.dosages.data[i + v * n]!;
      });
    });
    const [any, common] = mt.processDesigns(g, [traitTestDesign('any', 3), traitTestDesign('common', 3)]);
    const col = (name: string) => column(tsv, name);
    // 6 significant digits: within half a unit of the 6th.
    const close = (written: string[], want: ArrayLike<number>, what: string) => {
      written.forEach((w, j) => {
        assert.ok(Math.abs(Number(w) - want[j]!) <= 5e-6 * Math.abs(want[j]!) + 1e-300, `${what}[${j}]: ${w} vs ${want[j]}`);
        assert.ok(w.replace(/^-?0\.0*|e.*$|[-.]/g, '').length <= 6, `${what}[${j}]: ${w} has more than 6 significant digits`);
      });
    };
    close(col('pvalue_any'), any!.pv, 'pvalue_any');
    // A positive -log10 p to 4 decimals.
    col('neg_log10_p_common').forEach((w, j) => {
      assert.ok(Math.abs(Number(w) + common!.log10pv[j]!) <= 5e-5 + 1e-12, `neg_log10_p_common[${j}]: ${w} vs ${-common!.log10pv[j]!}`);
    });
    close(col('stat_common'), common!.lrt, 'stat_common');
    close(col('beta_common'), common!.beta.data, 'beta_common');
    close(
      col('beta_any').flatMap((s) => s.split(';')),
      any!.beta.data,
      'beta_any',
    );
    assert.equal(col('beta_any')[0]!.split(';').length, 3);
  });

  test('--test any and --kinship-from-bfile: only the any-effect columns', async () => {
    await ready;
    const out = join(dir, 'mt-any');
    const r = lmmkit('mtgwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't1', 't3', '--kinship-from-bfile', '--test', 'any', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const tsv = readTsv(`${out}.tsv`);
    assert.deepEqual(tsv.header.slice(7), ['beta_any', 'se_any', 'stat_any', 'pvalue_any', 'neg_log10_p_any']);
    assert.equal(tsv.rows[0]![7]!.split(';').length, 2);
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    assert.equal(report.samples, n - 1); // only t3's missing sample
    assert.equal(report.kinship.source, 'genotypes');
  });

  test('--gz: PREFIX.tsv.gz (BGZF, sorted) and its .tbi, the same rows as the plain table', async () => {
    await ready;
    const plain = join(dir, 'mt-plain');
    const gz = join(dir, 'mt-gz');
    const args = ['mtgwas', '--bfile', prefix, '--pheno', pheno, '--kinship', kin, '--test', 'common'];
    assert.equal(lmmkit(...args, '--out', plain).status, 0);
    const r = lmmkit(...args, '--out', gz, '--gz', '--out-format', 'lmmkit');
    assert.equal(r.status, 0, r.stderr);
    const bytes = readFileSync(`${gz}.tsv.gz`);
    // BGZF: gzip members with the BC extra field, ending in the empty EOF block.
    assert.deepEqual([...bytes.subarray(0, 4)], [0x1f, 0x8b, 8, 4]);
    assert.equal(bytes.subarray(12, 14).toString('latin1'), 'BC');
    const text = gunzipSync(bytes).toString('utf8');
    const sortKey = (l: string) => l.split('\t').slice(0, 2).map(Number);
    const want = readFileSync(`${plain}.tsv`, 'utf8').trimEnd().split('\n');
    const got = text.trimEnd().split('\n');
    assert.equal(got[0], want[0]);
    const sorted = want.slice(1).sort((a, b) => sortKey(a)[0]! - sortKey(b)[0]! || sortKey(a)[1]! - sortKey(b)[1]!);
    assert.deepEqual(got.slice(1), sorted);
    assert.ok(existsSync(`${gz}.tsv.gz.tbi`));
    const report = JSON.parse(readFileSync(`${gz}.json`, 'utf8'));
    assert.equal(report.output, `${gz}.tsv.gz`);
    assert.equal(report.index, `${gz}.tsv.gz.tbi`);
  });

  const base = (): string[] => ['mtgwas', '--bfile', prefix, '--pheno', pheno];
  const cases: [string, () => string[], RegExp][] = [
    ['no kinship', () => base(), /needs a kinship for Cg \(x\) R: give --kinship FILE or --kinship-from-bfile/],
    ['two kinships', () => [...base(), '--kinship', kin, '--kinship-from-bfile'], /give one kinship/],
    [
      'missing --pheno file',
      () => ['mtgwas', '--bfile', prefix, '--pheno', join(data, 'nopheno.tsv'), '--kinship', kin],
      /nopheno\.tsv: expected a readable text file/,
    ],
    ['missing --kinship file', () => [...base(), '--kinship', join(data, 'nokin.tsv')], /nokin\.tsv/],
    ['missing --covar file', () => [...base(), '--kinship', kin, '--covar', join(data, 'nocovar.tsv')], /nocovar\.tsv/],
    ['unknown --pheno-col', () => [...base(), '--kinship', kin, '--pheno-col', 't1', 'nope'], /pheno\.tsv: expected a column named 'nope'/],
    ['--test unknown', () => [...base(), '--kinship', kin, '--test', 'wald'], /--test: expected any, common or both, found 'wald'/],
    [
      '--out-format regenie',
      () => [...base(), '--kinship', kin, '--out-format', 'lmmkit,regenie'],
      /--out-format regenie: mtgwas's multi-trait tests \(P betas per variant, one joint p-value\) have no regenie layout; mtgwas writes the lmmkit format only/,
    ],
    ['--maf out of range', () => [...base(), '--kinship', kin, '--maf', '0.9'], /--maf: expected a frequency/],
    ['collinear traits', () => [...base(), '--kinship', kin, '--pheno-col', 't1', 't1b'], /pheno2\.tsv: expected traits that vary and are not collinear/],
  ];
  for (const [name, args, message] of cases) {
    test(`${name}: exit 2, one line naming it, nothing written`, async () => {
      await ready;
      if (name === 'collinear traits') {
        writeSampleTable(join(data, 'pheno2.tsv'), sim.samples, ['t1', 't1b'], (i, c) => (c === 0 ? y.data[i]! : 2 * y.data[i]!));
      }
      const argv = args().map((a) => (name === 'collinear traits' && a === pheno ? join(data, 'pheno2.tsv') : a));
      const out = mkdtempSync(join(dir, 'out-'));
      assertRejected(lmmkit(...argv, '--out', join(out, 'res')), message, out);
    });
  }

  test('--help documents every option and the columns', () => {
    const r = lmmkit('mtgwas', '--help');
    assert.equal(r.status, 0);
    for (const opt of [
      '--bfile',
      '--bimbam',
      '--pheno',
      '--pheno-col',
      '--covar',
      '--kinship',
      '--kinship-from-bfile',
      '--loco',
      '--test',
      '--maf',
      '--max-missing',
      '--region',
      '--out',
      '--out-format',
      '--gz',
    ]) {
      assert.match(r.stdout, new RegExp(`\\n  ${opt} `), `${opt} in --help`);
    }
    assert.match(r.stdout, /beta_T se_T stat_T pvalue_T neg_log10_p_T/);
  });
});
