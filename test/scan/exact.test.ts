// GEMMA's exact per-variant LMM tests (`gemma -lmm 4`): the variance-ratio
// fit (nullmodel/lambda.ts) against a direct N x N evaluation of the REML and
// ML likelihoods on every backend, its derivatives against finite
// differences, its boundary behaviour, exactTests (scan/exact.ts) against
// brute-force Wald / LRT / score statistics, its interpolated fast path
// (nullmodel/lambda-cheb.ts) against the direct O(N) sums and a fine
// search, and parity with the gemma binary on the BXD (BIMBAM, 3
// covariates) and chr22 (PLINK) data.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Backend, Matrix, LmmkitError, ShapeError } from '../../src/index.js';
import { openBimbam } from '../../src/data/bimbam.js';
import { readKinship } from '../../src/data/node/tables.js';
import { openBed } from '../../src/data/node/bed.js';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { readTable } from '../../src/data/node/tables.js';
import { takeVariants } from '../../src/data/variants.js';
import { getBackend } from '../../src/node.js';
import { fitLambda, logLikLambda, type LambdaFit, type RotatedData, type VarianceMethod } from '../../src/nullmodel/lambda.js';
import { LambdaProblem, clampEigenvalues, type LikelihoodKind } from '../../src/nullmodel/lambda-problem.js';
import { gridLambdas, searchSettings } from '../../src/nullmodel/lambda-search.js';
import { ChebGrid, ChebMoments, fixedSeriesValues } from '../../src/nullmodel/lambda-cheb.js';
import { exactTests, type ExactTestResult } from '../../src/scan/exact.js';
import { chi2Log10Sf, fLog10Sf } from '../../src/stats/index.js';
import { Rng } from '../../src/sim/rng.js';
import { SHARED, backendsUnderTest, requireTool, sharedTest } from '../support.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-exact-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LOG_2PI = Math.log(2 * Math.PI);

// ---------------------------------------------------------------------------
// A small simulated problem and the textbook N x N likelihoods.

interface Problem {
  k: Matrix; // N x N kinship
  y: Float64Array;
  w: Matrix; // N x c covariates (intercept first)
  x: Matrix; // N x b genotypes (0/1/2)
}

/**
 * N samples, c = 2 covariates (intercept, a normal), a centred kinship of
 * rank < N from p random 0/1/2 variants (so K has zero eigenvalues, as
 * GEMMA's kinships do), y = W b + g + e with var(g) / var(e) = ratio.
 */
function simulate(seed: number, n = 40, p = 25, ratio = 2, b = 6): Problem {
  const rng = new Rng(seed);
  const geno = (cols: number): Matrix => {
    const g = new Matrix(n, cols);
    for (let j = 0; j < cols; j++) {
      const f = 0.15 + 0.7 * rng.uniform();
      for (let i = 0; i < n; i++) g.data[i + j * n] = (rng.uniform() < f ? 1 : 0) + (rng.uniform() < f ? 1 : 0);
    }
    return g;
  };
  const z = geno(p);
  for (let j = 0; j < p; j++) {
    const col = z.col(j);
    const m = col.reduce((s, v) => s + v, 0) / n;
    for (let i = 0; i < n; i++) col[i]! -= m;
  }
  const k = new Matrix(n, n);
  for (let a = 0; a < n; a++) {
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let j = 0; j < p; j++) s += z.data[a + j * n]! * z.data[c + j * n]!;
      k.data[a + c * n] = s / p;
    }
  }
  const w = new Matrix(n, 2);
  const y = new Float64Array(n);
  const u = rng.normals(p);
  for (let i = 0; i < n; i++) {
    w.data[i] = 1;
    w.data[i + n] = rng.normal();
    let g = 0;
    for (let j = 0; j < p; j++) g += z.data[i + j * n]! * u[j]!;
    y[i] = 3 + 0.5 * w.data[i + n]! + Math.sqrt(ratio / p) * g + rng.normal();
  }
  return { k, y, w, x: geno(b) };
}

/** U^T y, U^T W and the eigenvalues of K on backend `be`. */
function rotate(be: Backend, pr: Problem): { data: RotatedData; u: Matrix } {
  const { values, vectors } = be.syevd(pr.k);
  return {
    data: {
      eigenvalues: values,
      uty: be.gemm(vectors, Matrix.column(pr.y), { transA: true }).data,
      utw: be.gemm(vectors, pr.w, { transA: true }),
    },
    u: vectors,
  };
}

/** [A B] column-wise. */
function hcat(a: Matrix, b: Matrix): Matrix {
  const out = new Matrix(a.rows, a.cols + b.cols);
  out.data.set(a.data, 0);
  out.data.set(b.data, a.data.length);
  return out;
}

/**
 * GLS at lambda, N x N: H = lambda K + I, Cholesky, beta = (X^T H^-1 X)^-1 X^T H^-1 y,
 * y^T P y = (y - X beta)^T H^-1 (y - X beta), log det H and log det X^T H^-1 X.
 */
function gls(be: Backend, k: Matrix, y: Float64Array, x: Matrix, lambda: number) {
  const n = k.rows;
  const h = k.clone();
  for (let i = 0; i < h.data.length; i++) h.data[i]! *= lambda;
  for (let i = 0; i < n; i++) h.data[i + i * n]! += 1;
  const l = be.potrf(h);
  let logdetH = 0;
  for (let i = 0; i < n; i++) logdetH += 2 * Math.log(l.data[i + i * n]!);
  const hiy = be.potrs(l, Matrix.column(y));
  let yPy = 0;
  for (let i = 0; i < n; i++) yPy += y[i]! * hiy.data[i]!;
  if (x.cols === 0) return { beta: new Float64Array(0), xhxInv: new Matrix(0, 0), yPy, logdetH, logdetXHX: 0 };
  const hix = be.potrs(l, x);
  const xhx = be.gemm(x, hix, { transA: true });
  const xhy = be.gemm(x, hiy, { transA: true });
  const lx = be.potrf(xhx);
  const beta = be.potrs(lx, xhy).data;
  for (let j = 0; j < x.cols; j++) yPy -= xhy.data[j]! * beta[j]!;
  let logdetXHX = 0;
  for (let j = 0; j < x.cols; j++) logdetXHX += 2 * Math.log(lx.data[j + j * x.cols]!);
  return { beta, xhxInv: be.potri(lx), yPy, logdetH, logdetXHX };
}

/**
 * The profiled log-likelihoods, written as in the textbooks:
 *   ML:   -1/2 [N log 2 pi + N log(y'Py / N) + N + log|H|]
 *   REML: -1/2 [df log 2 pi + df log(y'Py / df) + df + log|H| + log|X'H^-1 X| - log|X'X|], df = N - c.
 */
function bruteLogLik(be: Backend, k: Matrix, y: Float64Array, x: Matrix, lambda: number, method: VarianceMethod): number {
  const n = k.rows;
  const g = gls(be, k, y, x, lambda);
  if (method === 'ml') return -0.5 * (n * LOG_2PI + n * Math.log(g.yPy / n) + n + g.logdetH);
  const df = n - x.cols;
  const logdetXX = x.cols === 0 ? 0 : be.logdet(be.gemm(x, x, { transA: true }));
  return -0.5 * (df * LOG_2PI + df * Math.log(g.yPy / df) + df + g.logdetH + g.logdetXHX - logdetXX);
}

/** argmax over [1e-5, 1e5] of f: 100 log-spaced points per decade, then golden section around the best. */
function bruteMax(f: (lambda: number) => number): { lambda: number; value: number } {
  const t0 = Math.log(1e-5);
  const t1 = Math.log(1e5);
  const m = 1000;
  let best = 0;
  let bestV = -Infinity;
  const ts: number[] = [];
  for (let i = 0; i <= m; i++) {
    const t = i === m ? t1 : t0 + ((t1 - t0) * i) / m;
    ts.push(t);
    const v = f(Math.exp(t));
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  if (best === 0) return { lambda: 1e-5, value: f(1e-5) };
  if (best === m) return { lambda: 1e5, value: f(1e5) };
  let a = ts[best - 1]!;
  let b = ts[best + 1]!;
  const r = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 200 && b - a > 1e-12; it++) {
    const c = b - r * (b - a);
    const d = a + r * (b - a);
    if (f(Math.exp(c)) >= f(Math.exp(d))) b = d;
    else a = c;
  }
  const lambda = Math.exp(0.5 * (a + b));
  return { lambda, value: f(lambda) };
}

const relDiff = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));

/**
 * The fast path (interpolated sums) against the direct O(N) sums along the
 * same search: the lambdas within 1e-8 relative + 2e-11 absolute (equal at
 * the bounds), the Wald and score p-values and se within 1e-9 relative,
 * beta within 1e-9 se, F within 1e-9 max(1, F), the Wald and score log10
 * p-values and the LRT statistic within 1e-9 absolute (the LRT is a
 * difference of log-likelihoods whose rounding is absolute), the LRT p-value
 * and its log10 within 1e-8 and the ML log-likelihood within 1e-10.
 *
 * The absolute 2e-11 is the direct path's own rounding: at lambda ~ 1e-4 a
 * root moves by ~1e-13 / s (BXD: 5.5e-12 at lambda = 1.8e-4, 3e-8
 * relative, when the same sums are only added in reverse order). And GEMMA's
 * path is discontinuous: Brent stops on a 10% bracket and Newton on a step
 * below 1e-5 (keeping the iterate before it), so where a step falls within
 * rounding of such a threshold the kept iterate moves by up to ~1e-5
 * (relative; GEMMA's own results carry the same). Such variants ("flips", at
 * most 0.1% of the searches) are held to 2e-5 on lambda and 1e-4 on -log10 p
 * instead. Returns the worst figures of the others and the number of flips.
 */
function assertFastEqualsDirect(fast: ExactTestResult, direct: ExactTestResult, label: string): { lambda: number; p: number; log10p: number; flips: number } {
  let lam = 0;
  let p = 0;
  let lg = 0;
  let flips = 0;
  const b = fast.pWald.length;
  for (let j = 0; j < b; j++) {
    let flipped = false;
    for (const k of ['lambdaReml', 'lambdaMl'] as const) {
      const f = fast[k][j]!;
      const d = direct[k][j]!;
      if (d === 1e-5 || d === 1e5) assert.equal(f, d, `${label} ${k} ${j}: at the bound`);
      if (Number.isNaN(d)) {
        assert.ok(Number.isNaN(f), `${label} ${k} ${j}: NaN`);
        continue;
      }
      const e = Math.abs(f - d) / (1e-8 * d + 2e-11);
      if (e > 1) {
        assert.ok(relDiff(f, d) < 2e-5, `${label} ${k} ${j}: ${f} vs ${d}`);
        flipped = true;
      } else {
        lam = Math.max(lam, e);
      }
    }
    if (flipped) flips++;
    if (Number.isNaN(direct.pWald[j]!)) continue;
    if (flipped) {
      for (const k of ['log10pWald', 'log10pLrt', 'log10pScore'] as const) assert.ok(Math.abs(fast[k][j]! - direct[k][j]!) < 1e-4, `${label} ${k} ${j} (flip)`);
      continue;
    }
    for (const k of ['pWald', 'pScore', 'se'] as const) p = Math.max(p, relDiff(fast[k][j]!, direct[k][j]!));
    // beta and F can be ~0: beta on the scale of se, F of max(1, F).
    p = Math.max(p, Math.abs(fast.beta[j]! - direct.beta[j]!) / direct.se[j]!);
    for (const k of ['fWald', 'fScore'] as const) p = Math.max(p, Math.abs(fast[k][j]! - direct[k][j]!) / Math.max(1, direct[k][j]!));
    for (const k of ['log10pWald', 'log10pScore', 'chi2Lrt'] as const) lg = Math.max(lg, Math.abs(fast[k][j]! - direct[k][j]!));
    // Near a statistic of 0 both LRT p-values have slope ~ 1 / sqrt(2 pi chi2)
    // in it: the interpolated and direct sums agree to ~1e-12 (relative), so
    // chi2 = 2 (ll1 - ll0) to ~1e-10 absolute (how the BLAS threads split the
    // gemms moves its last bits), and the p-values to that times the slope.
    const slope = 1 / Math.sqrt(Math.max(direct.chi2Lrt[j]!, 1e-300));
    for (const k of ['pLrt', 'log10pLrt'] as const)
      assert.ok(Math.abs(fast[k][j]! - direct[k][j]!) < 1e-8 + 1e-10 * slope, `${label} ${k} ${j}: ${fast[k][j]} vs ${direct[k][j]}`);
    assert.ok(Math.abs(fast.logLikH1[j]! - direct.logLikH1[j]!) < 1e-10, `${label} logLikH1 ${j}: ${fast.logLikH1[j]} vs ${direct.logLikH1[j]}`);
    assert.equal(fast.fallback[j], direct.fallback[j], `${label} fallback ${j}`);
  }
  assert.ok(flips <= Math.max(1, 0.001 * 2 * b), `${label}: ${flips} variants off GEMMA's path (at most 0.1% of the searches)`);
  assert.ok(p < 1e-9, `${label} Wald and score p-values, beta, se, F: ${p}`);
  assert.ok(lg < 1e-9, `${label} Wald and score log10 p, LRT statistic: ${lg}`);
  return { lambda: lam, p, log10p: lg, flips };
}

// ---------------------------------------------------------------------------

for (const be of backendsUnderTest()) {
  describe(`variance-ratio fit, ${be.name} backend`, () => {
    const pr = simulate(11);
    const { data } = rotate(be, pr);

    test('logLikLambda equals the N x N REML and ML log-likelihoods (GEMMA constants) to 1e-10', () => {
      for (const method of ['reml', 'ml'] as const) {
        for (const lambda of [1e-5, 1e-3, 0.05, 1, 7.5, 300, 1e5]) {
          const ours = logLikLambda(data, lambda, method);
          const ref = bruteLogLik(be, pr.k, pr.y, pr.w, lambda, method);
          assert.ok(Math.abs(ours - ref) <= 1e-10 * Math.abs(ref), `${method} at ${lambda}: ${ours} vs ${ref}`);
        }
      }
    });

    test('fitLambda finds the maximum of the N x N likelihood (lambda to 1e-4, log-likelihood to 1e-9)', () => {
      for (const method of ['reml', 'ml'] as const) {
        const fit = fitLambda(data, { method });
        const ref = bruteMax((l) => bruteLogLik(be, pr.k, pr.y, pr.w, l, method));
        assert.equal(fit.atBound, null, `${method}: the simulated optimum should be interior, found ${fit.lambda}`);
        assert.ok(relDiff(fit.lambda, ref.lambda) < 1e-4, `${method}: lambda ${fit.lambda} vs ${ref.lambda}`);
        assert.ok(Math.abs(fit.logLik - ref.value) < 1e-9 * Math.abs(ref.value), `${method}: logLik ${fit.logLik} vs ${ref.value}`);
        assert.ok(fit.iterations > 0);
        // sigma_e^2, sigma_g^2 and the GLS beta at the fitted lambda.
        const g = gls(be, pr.k, pr.y, pr.w, fit.lambda);
        const n = pr.y.length;
        const se2 = g.yPy / (method === 'reml' ? n - 2 : n);
        assert.ok(relDiff(fit.sigmaE2, se2) < 1e-10, `${method}: sigmaE2 ${fit.sigmaE2} vs ${se2}`);
        assert.ok(relDiff(fit.sigmaG2, fit.lambda * se2) < 1e-10);
        for (let j = 0; j < 2; j++) assert.ok(Math.abs(fit.beta[j]! - g.beta[j]!) < 1e-9 * (1 + Math.abs(g.beta[j]!)), `beta ${j}`);
      }
    });

    test('the analytic first and second derivatives match finite differences', () => {
      const s = clampEigenvalues(data.eigenvalues, 'test');
      const prob = new LambdaProblem(s, [data.utw.col(0), data.utw.col(1), data.uty]);
      for (const kind of ['R', 'L'] as const) {
        for (const lambda of [1e-4, 0.01, 0.3, 2, 50, 3000]) {
          const h = 1e-4 * lambda;
          const fd1 = (prob.logLik(lambda + h, kind) - prob.logLik(lambda - h, kind)) / (2 * h);
          const fd2 = (prob.dev1(lambda + h, kind) - prob.dev1(lambda - h, kind)) / (2 * h);
          const [d1, d2] = prob.dev12(lambda, kind);
          assert.ok(Math.abs(prob.dev1(lambda, kind) - d1) <= 1e-12 * (1 + Math.abs(d1)), 'dev1 and dev12 agree');
          // The finite differences carry ~1e-8 relative truncation and ~1e-16 |f| / h rounding.
          const tol1 = 1e-6 * Math.abs(d1) + (1e-13 * Math.abs(prob.logLik(lambda, kind))) / h;
          const tol2 = 1e-6 * Math.abs(d2) + (1e-13 * (1 + Math.abs(d1))) / h;
          assert.ok(Math.abs(d1 - fd1) <= tol1, `${kind} dev1 at ${lambda}: ${d1} vs ${fd1}`);
          assert.ok(Math.abs(d2 - fd2) <= tol2, `${kind} dev2 at ${lambda}: ${d2} vs ${fd2}`);
        }
      }
    });

    test('exactTests equals brute-force Wald, LRT and score statistics', () => {
      const { data: d, u } = rotate(be, pr);
      const utx = be.gemm(u, pr.x, { transA: true });
      const res = exactTests(d, utx, { backend: be });
      const n = pr.y.length;
      const df = n - 3;
      const nullMl = bruteMax((l) => bruteLogLik(be, pr.k, pr.y, pr.w, l, 'ml'));
      assert.ok(relDiff(res.nullMl.lambda, nullMl.lambda) < 1e-4);
      for (let j = 0; j < pr.x.cols; j++) {
        const xj = new Matrix(n, 1, pr.x.col(j).slice());
        const wx = hcat(pr.w, xj);
        // Wald at the REML optimum with x in the model: F = beta^2 / se^2, se^2 = sigma^2 [(X'H^-1X)^-1]_xx.
        const reml = bruteMax((l) => bruteLogLik(be, pr.k, pr.y, wx, l, 'reml'));
        assert.ok(relDiff(res.lambdaReml[j]!, reml.lambda) < 1e-4, `variant ${j}: l_remle ${res.lambdaReml[j]} vs ${reml.lambda}`);
        const g = gls(be, pr.k, pr.y, wx, res.lambdaReml[j]!);
        const beta = g.beta[2]!;
        const se = Math.sqrt((g.yPy / df) * g.xhxInv.get(2, 2));
        assert.ok(relDiff(res.beta[j]!, beta) < 1e-9, `variant ${j}: beta ${res.beta[j]} vs ${beta}`);
        assert.ok(relDiff(res.se[j]!, se) < 1e-9, `variant ${j}: se ${res.se[j]} vs ${se}`);
        assert.ok(Math.abs(res.log10pWald[j]! - fLog10Sf((beta / se) ** 2, 1, df)) < 1e-9);
        // LRT between the ML optima with and without x.
        const ml = bruteMax((l) => bruteLogLik(be, pr.k, pr.y, wx, l, 'ml'));
        assert.ok(relDiff(res.lambdaMl[j]!, ml.lambda) < 1e-4, `variant ${j}: l_mle ${res.lambdaMl[j]} vs ${ml.lambda}`);
        assert.ok(Math.abs(res.logLikH1[j]! - ml.value) < 1e-9 * Math.abs(ml.value));
        const stat = 2 * (ml.value - nullMl.value);
        assert.ok(Math.abs(res.chi2Lrt[j]! - stat) < 1e-7, `variant ${j}: LRT ${res.chi2Lrt[j]} vs ${stat}`);
        assert.ok(Math.abs(res.log10pLrt[j]! - chi2Log10Sf(stat, 1)) < 1e-6);
        // Score at the null ML lambda: N (x'P_W y)^2 / (y'P_W y x'P_W x), P_W the null projection.
        const g0 = gls(be, pr.k, pr.y, pr.w, res.nullMl.lambda);
        const gx = gls(be, pr.k, pr.x.col(j).slice(), pr.w, res.nullMl.lambda);
        const gxy = gls(be, pr.k, addVec(pr.y, pr.x.col(j)), pr.w, res.nullMl.lambda);
        const xPy = 0.5 * (gxy.yPy - g0.yPy - gx.yPy); // polarisation: (x+y)'P(x+y) = x'Px + 2 x'Py + y'Py
        const fScore = (n * xPy * xPy) / (g0.yPy * gx.yPy);
        assert.ok(relDiff(res.fScore[j]!, fScore) < 1e-7, `variant ${j}: score ${res.fScore[j]} vs ${fScore}`);
        assert.ok(Math.abs(res.log10pScore[j]! - fLog10Sf(fScore, 1, df)) < 1e-7);
        assert.equal(res.fallback[j], 0);
      }
    });
  });
}

function addVec(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i]! + b[i]!);
}

describe('variance-ratio fit: bounds, shapes and bad input', () => {
  /** Rotated data built directly: half the eigenvalues 0, y only in the chosen half. */
  function constructed(inRange: boolean, c: number): RotatedData {
    const n = 30;
    const rng = new Rng(5);
    const s = new Float64Array(n);
    const uty = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = i < n / 2 ? 0 : 0.2 + rng.uniform();
      uty[i] = i >= n / 2 === inRange ? rng.normal() : 0;
    }
    const utw = new Matrix(n, c);
    for (let i = 0; i < n * c; i++) utw.data[i] = rng.normal();
    return { eigenvalues: s, uty, utw };
  }

  test('y orthogonal to the range of K: the optimum is the lower bound, exactly', () => {
    const data = constructed(false, 0);
    for (const method of ['reml', 'ml'] as const) {
      const fit = fitLambda(data, { method });
      assert.equal(fit.lambda, 1e-5);
      assert.equal(fit.atBound, 'lower');
      assert.equal(fit.logLik, logLikLambda(data, 1e-5, method));
      assert.ok(fit.logLik > logLikLambda(data, 1e-3, method));
    }
  });

  test('y inside the range of a singular K: the optimum is the upper bound, exactly', () => {
    const data = constructed(true, 0);
    for (const method of ['reml', 'ml'] as const) {
      const fit = fitLambda(data, { method, lower: 1e-3, upper: 1e3, gridPoints: 6 });
      assert.equal(fit.lambda, 1e3);
      assert.equal(fit.atBound, 'upper');
      assert.ok(fit.logLik > logLikLambda(data, 10, method));
    }
  });

  test('shape mismatches, non-finite input, an indefinite K and collinear covariates are errors', () => {
    const data = constructed(true, 2);
    const n = data.uty.length;
    assert.throws(() => fitLambda({ ...data, uty: data.uty.subarray(1) }), ShapeError);
    assert.throws(() => fitLambda({ ...data, utw: new Matrix(n - 1, 2) }), ShapeError);
    assert.throws(() => exactTests(data, new Matrix(n + 1, 3)), ShapeError);
    const bad = data.uty.slice();
    bad[3] = Number.NaN;
    assert.throws(
      () => fitLambda({ ...data, uty: bad }),
      (e: unknown) => e instanceof LmmkitError && /uty\[3\]/.test(e.message),
    );
    const badX = new Matrix(n, 2);
    badX.data[n + 4] = Number.POSITIVE_INFINITY;
    assert.throws(
      () => exactTests(data, badX),
      (e: unknown) => e instanceof LmmkitError && /row 4, column 1/.test(e.message),
    );
    // A NaN in the last element (the squares pass's tail when N x b is not a multiple of 4).
    const badLast = new Matrix(n, 3);
    badLast.data[3 * n - 1] = Number.NaN;
    assert.throws(
      () => exactTests(data, badLast),
      (e: unknown) => e instanceof LmmkitError && new RegExp(`\\(NaN\\) at row ${n - 1}, column 2`).test(e.message),
    );
    const negative = data.eigenvalues.slice();
    negative[0] = -0.05;
    assert.throws(
      () => fitLambda({ ...data, eigenvalues: negative }),
      (e: unknown) => e instanceof LmmkitError && e.code === 'NOT_POSITIVE_SEMIDEFINITE',
    );
    const collinear = new Matrix(n, 2);
    collinear.col(0).set(data.utw.col(0));
    for (let i = 0; i < n; i++) collinear.data[n + i] = 2 * data.utw.data[i]!;
    assert.throws(
      () => fitLambda({ ...data, utw: collinear }),
      (e: unknown) => e instanceof LmmkitError && e.code === 'SINGULAR_COVARIATES',
    );
    assert.throws(() => fitLambda(data, { lower: 0 }), LmmkitError);
    assert.throws(() => fitLambda(data, { gridPoints: 0 }), LmmkitError);
    // Tiny negative eigenvalues (rounding) are clamped to 0, as GEMMA does.
    const tiny = data.eigenvalues.slice();
    tiny[0] = -1e-14;
    assert.equal(fitLambda({ ...data, eigenvalues: tiny }).logLik, fitLambda(data).logLik);
  });

  test('log10 p-values stay finite where the p-values underflow', () => {
    // N = 2000 (rotated data drawn directly), y = x + noise with R^2 ~ 0.8: F ~ 8000.
    const n = 2000;
    const rng = new Rng(3);
    const s = Float64Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 0 : 2 * rng.uniform()));
    const utx = new Matrix(n, 1, rng.normals(n));
    const uty = Float64Array.from({ length: n }, (_, i) => utx.data[i]! + 0.5 * Math.sqrt(1 + s[i]!) * rng.normal());
    const utw = new Matrix(n, 1, rng.normals(n));
    const r = exactTests({ eigenvalues: s, uty, utw }, utx);
    for (const [p, lg] of [
      [r.pWald, r.log10pWald],
      [r.pLrt, r.log10pLrt],
      [r.pScore, r.log10pScore],
    ] as const) {
      assert.ok(p[0]! < 1e-100, `p = ${p[0]}`);
      assert.ok(Number.isFinite(lg[0]!) && lg[0]! < -100, `log10 p = ${lg[0]}`);
      if (p[0]! > 1e-300) assert.ok(Math.abs(lg[0]! - Math.log10(p[0]!)) < 1e-9 * Math.abs(lg[0]!));
    }
    assert.equal(r.pWald[0], 0, 'the Wald p-value underflows a double');
    assert.ok(r.log10pWald[0]! < -308, `log10 p = ${r.log10pWald[0]}`);
  });

  test('a variant in the span of the covariates gets NaN; the others are unaffected', () => {
    const data = constructed(true, 2);
    const n = data.uty.length;
    const rng = new Rng(9);
    const utx = new Matrix(n, 3);
    for (let i = 0; i < n; i++) {
      utx.data[i] = rng.normal();
      utx.data[n + i] = data.utw.data[i]! - 3 * data.utw.data[n + i]!;
      utx.data[2 * n + i] = rng.normal();
    }
    const all = exactTests(data, utx);
    const first = exactTests(data, utx.colView(0, 1), { nullMl: all.nullMl, nullReml: all.nullReml });
    assert.ok(Number.isNaN(all.pWald[1]!) && Number.isNaN(all.pLrt[1]!) && Number.isNaN(all.pScore[1]!) && Number.isNaN(all.lambdaReml[1]!));
    for (const key of ['lambdaReml', 'lambdaMl', 'pWald', 'pLrt', 'pScore', 'beta', 'se'] as const) {
      assert.ok(Number.isFinite(all[key][0]!) && Number.isFinite(all[key][2]!), key);
      assert.equal(all[key][0], first[key][0], `${key}: a batch gives what the variant alone gives`);
    }
  });
});

// ---------------------------------------------------------------------------
// The fast path: interpolated sums (lambda-cheb.ts) and batch products.

/**
 * The reference search on the direct O(N) likelihood: the (restricted)
 * log-likelihood on 100 log-spaced points per decade of [1e-5, 1e5], then
 * the root of the analytic derivative between the neighbours of the best
 * point by bisection to 1e-15 relative; the bounds when they are best.
 */
function referenceSearch(prob: LambdaProblem, kind: LikelihoodKind): { lambda: number; logLik: number } {
  const lo = 1e-5;
  const hi = 1e5;
  const m = 1000;
  let best = 0;
  let bestV = -Infinity;
  const ls: number[] = [];
  for (let i = 0; i <= m; i++) {
    const l = i === 0 ? lo : i === m ? hi : lo * Math.exp((Math.log(hi / lo) * i) / m);
    ls.push(l);
    const v = prob.logLik(l, kind);
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  if (best === 0 || best === m) return { lambda: ls[best]!, logLik: bestV };
  let a = ls[best - 1]!;
  let b = ls[best + 1]!;
  // The derivative is positive below the maximum and negative above it.
  for (let it = 0; it < 200 && b - a > 1e-15 * b; it++) {
    const c = Math.sqrt(a * b);
    if (prob.dev1(c, kind) > 0) a = c;
    else b = c;
  }
  const lambda = Math.sqrt(a * b);
  return { lambda, logLik: prob.logLik(lambda, kind) };
}

describe('exactTests fast path (interpolants, batch products) against the direct sums', () => {
  const be = getBackend();
  // N = 500, a kinship of rank < N; y with a genetic signal (ratio 2, lambda ~ 1.7), without (ratio 0,
  // lambda ~ 0.1, across a grid point), and drawn in the rotated basis with var = 1 + 0.02 s:
  // optima at the lower bound and small interior ones (1e-3), where the derivatives are hardest.
  const cases = [2, 0].map((ratio) => {
    const pr = simulate(101 + ratio, 500, 300, ratio, 40);
    const { data, u } = rotate(be, pr);
    return { label: `ratio ${ratio}`, data, utx: be.gemm(u, pr.x, { transA: true }), small: false };
  });
  {
    const pr = simulate(101, 500, 300, 0, 40);
    const { data, u } = rotate(be, pr);
    const rng = new Rng(5);
    const uty = data.eigenvalues.map((s, i) => Math.sqrt(1 + 0.02 * Math.max(s, 0)) * rng.normal() + 3 * data.utw.data[i]!);
    cases.push({ label: 'small lambdas', data: { ...data, uty }, utx: be.gemm(u, pr.x, { transA: true }), small: true });
  }

  test('the interpolants equal the direct weighted sums, log det H and traces (1e-12 of the sums of |terms|)', () => {
    const { data } = cases[0]!;
    const s = clampEigenvalues(data.eigenvalues, 'test');
    const vars = [data.utw.col(0), data.utw.col(1), data.uty];
    const prob = new LambdaProblem(s, vars);
    const settings = searchSettings({}, 'test');
    const grid = new ChebGrid(20, gridLambdas(settings).slice(0, settings.gridPoints + 1));
    // Pair (0, 2) takes its s^2 h^3 sums from the derivative of its s h^2 interpolant, as the x pairs do.
    const derived = prob.pair(0, 2);
    const src = new ChebMoments(grid, prob.nPairs, [derived]);
    for (let i = 0; i < grid.intervals; i++) src.set(i, fixedSeriesValues(prob, grid.lambdas(i), -1), true);
    const direct = new LambdaProblem(s, vars);
    const rng = new Rng(4);
    let worst = 0;
    let worstDerived = 0;
    for (let trial = 0; trial < 200; trial++) {
      const lambda = 1e-5 * Math.exp(Math.log(1e10) * rng.uniform());
      prob.source = src;
      prob.evaluate(lambda, 3, true);
      direct.evaluate(lambda, 3, true);
      assert.equal(prob.passes, 0, 'the interpolants serve every lambda of the grid range');
      const n = s.length;
      for (let a = 0; a < 3; a++) {
        for (let b = a; b < 3; b++) {
          const k = prob.pair(a, b);
          let abs1 = 0;
          let absK = 0;
          let absKK = 0;
          for (let i = 0; i < n; i++) {
            const h = 1 / (1 + lambda * s[i]!);
            const u = Math.abs(vars[a]![i]! * vars[b]![i]!);
            abs1 += u * h;
            absK += u * s[i]! * h * h;
            absKK += u * s[i]! * s[i]! * h * h * h;
          }
          worst = Math.max(worst, Math.abs(prob.e1[k]! - direct.e1[k]!) / abs1, Math.abs(prob.ek[k]! - direct.ek[k]!) / absK);
          const eKK = Math.abs(prob.ekk[k]! - direct.ekk[k]!) / absKK;
          if (k === derived) worstDerived = Math.max(worstDerived, eKK);
          else worst = Math.max(worst, eKK);
        }
      }
      worst = Math.max(
        worst,
        relDiff(prob.trK, direct.trK),
        relDiff(prob.trKK, direct.trKK),
        Math.abs(prob.logdetH - direct.logdetH) / Math.max(1, Math.abs(direct.logdetH)),
      );
    }
    assert.ok(worst < 1e-12, `interpolated sums: worst error ${worst}`);
    // Differentiating the interpolant loses ~K^2 and, at small lambda, 1 / (lambda s): it feeds Newton's second derivative only.
    assert.ok(worstDerived < 1e-6, `derived s^2 h^3 sums: worst error ${worstDerived}`);
  });

  for (const { label, data, utx, small } of cases) {
    test(`the fast path equals the direct O(N) evaluation along the same search (N = 500, ${label})`, (t) => {
      const fast = exactTests(data, utx, { backend: be });
      const direct = exactTests(data, utx, { backend: be, nodes: 0, nullReml: fast.nullReml, nullMl: fast.nullMl });
      assert.equal(fast.work.passes, 0, 'no O(N) pass on the fast path');
      assert.ok(direct.work.passes > 0);
      const w = assertFastEqualsDirect(fast, direct, label);
      t.diagnostic(
        `${label}: lambda ${w.lambda.toExponential(1)} of the tolerance, p/beta/se/F ${w.p.toExponential(1)} of theirs; Wald and score log10 p, LRT statistic ${w.log10p.toExponential(1)} absolute; ${w.flips} flips; ${fast.work.evaluations} evaluations, ${direct.work.passes} passes on the direct path`,
      );
      assert.equal(w.flips, 0);
    });

    test(`the lambdas are the optima of a fine search on the direct likelihood (N = 500, ${label})`, (t) => {
      const r = exactTests(data, utx, { backend: be });
      const c = data.utw.cols;
      const s = clampEigenvalues(data.eigenvalues, 'test');
      let interior = 0;
      let atLower = 0;
      let worst = 0;
      for (let j = 0; j < utx.cols; j++) {
        const vars: Float64Array[] = [];
        for (let k = 0; k < c; k++) vars.push(data.utw.col(k));
        vars.push(utx.col(j), data.uty);
        const prob = new LambdaProblem(s, vars);
        for (const [kind, lambda] of [
          ['R', r.lambdaReml[j]!],
          ['L', r.lambdaMl[j]!],
        ] as const) {
          const ref = referenceSearch(prob, kind);
          if (ref.lambda === 1e-5 || ref.lambda === 1e5) {
            atLower += ref.lambda === 1e-5 ? 1 : 0;
            assert.equal(lambda, ref.lambda, `${kind} ${j}: the bound`);
          } else {
            interior++;
            // GEMMA's Newton stops on a step below 1e-5 (relative) and keeps the iterate before it.
            worst = Math.max(worst, relDiff(lambda, ref.lambda));
            assert.ok(relDiff(lambda, ref.lambda) < 2e-5, `${kind} ${j}: ${lambda} vs ${ref.lambda}`);
          }
          if (kind === 'L') assert.ok(Math.abs(r.logLikH1[j]! - ref.logLik) < 1e-10 * Math.abs(ref.logLik), `logLikH1 ${j}: ${r.logLikH1[j]} vs ${ref.logLik}`);
        }
      }
      t.diagnostic(`${label}: ${interior} interior optima (max relative distance to the reference ${worst.toExponential(1)}), ${atLower} at the lower bound`);
      assert.ok(interior > 0);
      if (small) assert.ok(atLower > 0, 'some optima at the lower bound');
    });
  }

  test("tests: ['wald'] (gemma -lmm 1), ['lrt'], ['score'] give the same as all three, NaN for the others", () => {
    const { data, utx } = cases[0]!;
    const all = exactTests(data, utx, { backend: be });
    const nulls = { nullReml: all.nullReml, nullMl: all.nullMl, backend: be };
    const wald = exactTests(data, utx, { ...nulls, tests: ['wald'] });
    const lrt = exactTests(data, utx, { ...nulls, tests: ['lrt'] });
    const score = exactTests(data, utx, { ...nulls, tests: ['score'] });
    const groups = [
      [wald, ['lambdaReml', 'beta', 'se', 'fWald', 'pWald', 'log10pWald']],
      [lrt, ['lambdaMl', 'logLikH1', 'chi2Lrt', 'pLrt', 'log10pLrt']],
      [score, ['fScore', 'pScore', 'log10pScore']],
    ] as const;
    for (const [r, keys] of groups) {
      for (const [, other] of groups) {
        for (const k of other) {
          for (let j = 0; j < utx.cols; j++) {
            // Each subset builds its moment series with gemms of another width, and
            // OpenBLAS's last bits depend on the width and the thread count; the
            // searches and 2 (ll1 - ll0) carry a 1e-16 change in a sum to ~1e-12
            // (relative) in the statistics, so 1e-9 leaves room on any machine.
            if ((keys as readonly string[]).includes(k))
              assert.ok(Math.abs(r[k][j]! - all[k][j]!) <= 1e-9 * Math.max(1, Math.abs(all[k][j]!)), `${k} ${j}: ${r[k][j]} vs ${all[k][j]}`);
            else assert.ok(Number.isNaN(r[k][j]!), `${k} ${j} not run: NaN`);
          }
        }
      }
    }
    assert.ok(wald.work.evaluations <= all.work.evaluations / 2, 'Wald alone skips the ML search');
    assert.throws(() => exactTests(data, utx, { tests: [] }), LmmkitError);
    assert.throws(() => exactTests(data, utx, { tests: ['wald', 'f' as 'wald'] }), LmmkitError);
    assert.throws(() => exactTests(data, utx, { nodes: 3 }), LmmkitError);
  });

  test('batches of any size and order give the same results (interpolants and products per variant)', () => {
    const { data, utx } = cases[0]!;
    const all = exactTests(data, utx, { backend: be });
    const nulls = { nullReml: all.nullReml, nullMl: all.nullMl, backend: be };
    const n = utx.rows;
    const order = [7, 3, 30, 0, 12];
    const picked = new Matrix(n, order.length);
    order.forEach((j, i) => {
      picked.col(i).set(utx.col(j));
    });
    const some = exactTests(data, picked, nulls);
    order.forEach((j, i) => {
      for (const k of ['lambdaReml', 'lambdaMl', 'pWald', 'pScore'] as const) {
        assert.ok(relDiff(some[k][i]!, all[k][j]!) < 1e-11, `${k} of variant ${j}: ${some[k][i]} vs ${all[k][j]}`);
      }
      assert.ok(Math.abs(some.pLrt[i]! - all.pLrt[j]!) < 1e-9, `pLrt of variant ${j}`);
    });
  });
});

// ---------------------------------------------------------------------------
// Parity with gemma -lmm 4.

/** One row of GEMMA's .assoc.txt. */
interface GemmaRow {
  rs: string;
  beta: number;
  se: number;
  logl: number;
  lRemle: number;
  lMle: number;
  pWald: number;
  pLrt: number;
  pScore: number;
}

function runGemma(args: string[]): void {
  const r = spawnSync('gemma', [...args, '-outdir', dir], { encoding: 'utf8', cwd: dir });
  assert.equal(r.status, 0, `gemma ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
}

function readAssoc(name: string): GemmaRow[] {
  const lines = readFileSync(join(dir, `${name}.assoc.txt`), 'utf8')
    .trim()
    .split('\n');
  const head = lines[0]!.split('\t');
  const col = (h: string): number => {
    const i = head.indexOf(h);
    assert.ok(i >= 0, `no column ${h} in ${head.join(' ')}`);
    return i;
  };
  const ix = ['rs', 'beta', 'se', 'logl_H1', 'l_remle', 'l_mle', 'p_wald', 'p_lrt', 'p_score'].map(col);
  return lines.slice(1).map((l) => {
    const f = l.split('\t');
    const v = ix.map((i) => f[i]!);
    const num = (i: number): number => (v[i] === 'nan' || v[i] === '-nan' ? Number.NaN : Number(v[i]));
    return { rs: v[0]!, beta: num(1), se: num(2), logl: num(3), lRemle: num(4), lMle: num(5), pWald: num(6), pLrt: num(7), pScore: num(8) };
  });
}

/** GEMMA's null-model summary from its .log.txt (printed with 6 significant digits). */
function readGemmaLog(name: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of readFileSync(join(dir, `${name}.log.txt`), 'utf8').split('\n')) {
    const m = /^## (.+?) = (.+)$/.exec(line);
    if (m !== null) out[m[1]!.trim()] = m[2]!.trim().split(/\s+/).map(Number);
  }
  return out;
}

/** GEMMA's CenterMatrix: K - K 1 1'/n - 1 1' K/n + 1'K1 1 1'/n^2 (it re-centres K over the analysed samples). */
function centerMatrix(k: Matrix): Matrix {
  const n = k.rows;
  const rs = new Float64Array(n);
  let tot = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) rs[i]! += k.data[i + j * n]!;
    tot += rs[i]!;
  }
  const out = new Matrix(n, n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) out.data[i + j * n] = k.data[i + j * n]! - rs[i]! / n - rs[j]! / n + tot / (n * n);
  return out;
}

/** Mean-imputes NaN dosages per column over the analysed samples, as GEMMA does. */
function imputeMean(x: Matrix): number {
  let imputed = 0;
  for (let j = 0; j < x.cols; j++) {
    const col = x.col(j);
    let s = 0;
    let m = 0;
    for (const v of col)
      if (!Number.isNaN(v)) {
        s += v;
        m++;
      }
    for (let i = 0; i < col.length; i++)
      if (Number.isNaN(col[i]!)) {
        col[i] = s / m;
        imputed++;
      }
  }
  return imputed;
}

interface Parity {
  compared: number;
  wald: number;
  lrt: number;
  score: number;
  beta: number;
  se: number;
  logl: number;
  lambda: number;
  atLower: number;
  gemmaNaN: string[];
}

/**
 * Compares our per-variant results (in file order, with ids) with GEMMA's
 * rows (matched by rs id). Targets, all well above GEMMA's printing
 * (7 significant digits: 2.2e-7 on -log10 p, 5e-7 relative on the rest):
 * - -log10 p within 1e-5 (Wald, LRT, score): GEMMA's Newton stops on a
 *   1e-5 relative step and returns the iterate before it, so lambda, hence
 *   the statistics, carry up to ~1e-5 relative of GEMMA's own rounding luck;
 * - l_remle and l_mle within 1e-4 relative + 1e-7 absolute, and exactly
 *   equal at a bound. The absolute term is GEMMA's: it forms the derivative
 *   as (y'Py - y'PPy) / lambda, whose rounding noise (~1e-7 near
 *   lambda = 1e-4, and dependent on the BLAS kernels its OpenBLAS picks)
 *   moves its roots by ~1e-8..1e-7 (measured: 1.3e-8 at lambda = 1.6e-4 on BXD);
 * - beta, se within 1e-5 relative; logl_H1 within 1e-6 relative.
 * Variants GEMMA prints nan for (its Newton step failing near lambda = 1e-5,
 * driven by its rounding) must be finite here, with a small lambda.
 */
function compare(ids: string[], res: ExactTestResult[], gemma: GemmaRow[]): Parity {
  const ours = new Map<string, { r: ExactTestResult; j: number }>();
  let base = 0;
  for (const r of res) {
    for (let j = 0; j < r.pWald.length; j++) ours.set(ids[base + j]!, { r, j });
    base += r.pWald.length;
  }
  const p: Parity = { compared: 0, wald: 0, lrt: 0, score: 0, beta: 0, se: 0, logl: 0, lambda: 0, atLower: 0, gemmaNaN: [] };
  const lg = (x: number): number => -Math.log10(x);
  for (const g of gemma) {
    const o = ours.get(g.rs);
    assert.ok(o !== undefined, `gemma tested ${g.rs}, which we did not`);
    const { r, j } = o;
    p.compared++;
    p.lrt = Math.max(p.lrt, Math.abs(-r.log10pLrt[j]! - lg(g.pLrt)));
    p.score = Math.max(p.score, Math.abs(-r.log10pScore[j]! - lg(g.pScore)));
    p.logl = Math.max(p.logl, relDiff(r.logLikH1[j]!, g.logl));
    p.lambda = Math.max(p.lambda, relDiff(r.lambdaMl[j]!, g.lMle));
    assert.ok(Math.abs(r.lambdaMl[j]! - g.lMle) <= 1e-4 * g.lMle + 1e-7, `${g.rs}: l_mle ${r.lambdaMl[j]} vs gemma ${g.lMle}`);
    if (g.lMle === 1e-5 || g.lMle === 1e5) assert.equal(r.lambdaMl[j], g.lMle, `${g.rs}: l_mle at GEMMA's bound`);
    if (Number.isNaN(g.lRemle)) {
      p.gemmaNaN.push(g.rs);
      assert.ok(Number.isFinite(r.lambdaReml[j]!) && r.lambdaReml[j]! < 1e-3 && Number.isFinite(r.pWald[j]!), `${g.rs}: gemma nan, ours ${r.lambdaReml[j]}`);
      continue;
    }
    p.wald = Math.max(p.wald, Math.abs(-r.log10pWald[j]! - lg(g.pWald)));
    p.beta = Math.max(p.beta, relDiff(r.beta[j]!, g.beta));
    p.se = Math.max(p.se, relDiff(r.se[j]!, g.se));
    p.lambda = Math.max(p.lambda, relDiff(r.lambdaReml[j]!, g.lRemle));
    assert.ok(Math.abs(r.lambdaReml[j]! - g.lRemle) <= 1e-4 * g.lRemle + 1e-7, `${g.rs}: l_remle ${r.lambdaReml[j]} vs gemma ${g.lRemle}`);
    if (g.lRemle === 1e-5) p.atLower++;
    if (g.lRemle === 1e-5 || g.lRemle === 1e5) assert.equal(r.lambdaReml[j], g.lRemle, `${g.rs}: l_remle at GEMMA's bound`);
  }
  return p;
}

function assertParity(p: Parity, label: string): void {
  const msg = `${label}: ${JSON.stringify(p)}`;
  assert.ok(p.wald < 1e-5, `Wald -log10 p: ${msg}`);
  assert.ok(p.lrt < 1e-5, `LRT -log10 p: ${msg}`);
  assert.ok(p.score < 1e-5, `score -log10 p: ${msg}`);
  assert.ok(p.lambda < 1e-3, `lambda (max relative difference, small lambdas included): ${msg}`);
  assert.ok(p.beta < 1e-5 && p.se < 1e-5, `beta/se: ${msg}`);
  assert.ok(p.logl < 1e-6, `logl_H1: ${msg}`);
}

/** GEMMA's null-model lines against our fits (6 significant digits printed: 1e-5 relative). */
function assertNull(log: Record<string, number[]>, reml: LambdaFit, ml: LambdaFit, label: string): void {
  const near = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-5 * Math.abs(b) + 1e-12, `${label} ${what}: ${a} vs gemma ${b}`);
  near(reml.logLik, log['REMLE log-likelihood in the null model']![0]!, 'REML logLik');
  near(ml.logLik, log['MLE log-likelihood in the null model']![0]!, 'ML logLik');
  near(reml.sigmaG2, log['vg estimate in the null model']![0]!, 'vg');
  near(reml.sigmaE2, log['ve estimate in the null model']![0]!, 've');
  const beta = log['beta estimate in the null model']!;
  beta.forEach((b, i) => {
    near(reml.beta[i]!, b, `beta ${i}`);
  });
}

describe('parity with gemma -lmm 4', () => {
  sharedTest(
    'BXD (BIMBAM, 67 phenotyped of 198, covariates2 + intercept): Wald, LRT, score and lambdas',
    ['data/bxd/BXD_geno.txt.gz', 'data/bxd/BXD_covariates2.txt'],
    async (t) => {
      if (!requireTool(t, 'gemma')) return;
      const bxd = `${SHARED}data/bxd/`;
      const common = ['-g', `${bxd}BXD_geno.txt.gz`, '-p', `${bxd}BXD_pheno.txt`, '-a', `${bxd}BXD_snps.txt`];
      runGemma([...common, '-gk', '1', '-o', 'bxd']);
      runGemma([...common, '-k', join(dir, 'bxd.cXX.txt'), '-c', `${bxd}BXD_covariates2.txt`, '-lmm', '4', '-o', 'bxd4']);
      const gemma = readAssoc('bxd4');

      const be = getBackend();
      const src = await openBimbam(`${bxd}BXD_geno.txt.gz`, { annotation: `${bxd}BXD_snps.txt` });
      const pheno = (await readTable(`${bxd}BXD_pheno.txt`, { key: 'none', header: false })).values;
      const cov = (await readTable(`${bxd}BXD_covariates2.txt`, { key: 'none', header: false })).values;
      // GEMMA analyses the samples with a phenotype (and covariates), and re-centres K over them.
      const keep: number[] = [];
      for (let i = 0; i < pheno.rows; i++) if (!Number.isNaN(pheno.get(i, 0)) && !Number.isNaN(cov.get(i, 0)) && !Number.isNaN(cov.get(i, 1))) keep.push(i);
      assert.equal(keep.length, 67);
      const n = keep.length;
      const kFull = (await readKinship(join(dir, 'bxd.cXX.txt'), { ids: src.samples })).k;
      const sub = new Matrix(n, n);
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) sub.data[a + b * n] = kFull.get(keep[a]!, keep[b]!);
      const { values, vectors } = be.syevd(centerMatrix(sub));
      // GEMMA's covariate order: the file's columns, then the intercept it appends.
      const w = new Matrix(n, 3);
      keep.forEach((i, a) => {
        w.set(a, 0, cov.get(i, 0));
        w.set(a, 1, cov.get(i, 1));
        w.set(a, 2, 1);
      });
      const data: RotatedData = {
        eigenvalues: values,
        uty: be.gemm(vectors, Matrix.column(keep.map((i) => pheno.get(i, 0))), { transA: true }).data,
        utw: be.gemm(vectors, w, { transA: true }),
      };
      const nullReml = fitLambda(data, { method: 'reml' });
      const nullMl = fitLambda(data, { method: 'ml' });
      assertNull(readGemmaLog('bxd4'), nullReml, nullMl, 'BXD');

      const ids: string[] = [];
      const res: ExactTestResult[] = [];
      let fastVsDirect = { lambda: 0, p: 0, log10p: 0, flips: 0 };
      for await (const batch of src.batches({ size: 1000, samples: keep })) {
        imputeMean(batch.dosages);
        ids.push(...batch.variants.id);
        const utx = be.gemm(vectors, batch.dosages, { transA: true });
        const r = exactTests(data, utx, { nullReml, nullMl });
        res.push(r);
        const w = assertFastEqualsDirect(r, exactTests(data, utx, { nullReml, nullMl, nodes: 0 }), 'BXD fast vs direct');
        fastVsDirect = {
          lambda: Math.max(fastVsDirect.lambda, w.lambda),
          p: Math.max(fastVsDirect.p, w.p),
          log10p: Math.max(fastVsDirect.log10p, w.log10p),
          flips: fastVsDirect.flips + w.flips,
        };
      }
      await src.close();
      // GEMMA drops the variants collinear with the covariates (its r2 filter); here they are NaN.
      const gemmaIds = new Set(gemma.map((g) => g.rs));
      const nanIds = ids.filter((_, k) => Number.isNaN(res[Math.floor(k / 1000)]!.pWald[k % 1000]!));
      assert.deepEqual(nanIds.sort(), ids.filter((id) => !gemmaIds.has(id)).sort());
      assert.equal(gemma.length, 7317);
      const p = compare(ids, res, gemma);
      t.diagnostic(`BXD: ${JSON.stringify(p)}`);
      t.diagnostic(`BXD fast path vs direct sums: ${JSON.stringify(fastVsDirect)} (lambda as a fraction of 1e-8 relative + 2e-11)`);
      assert.equal(p.compared, 7317);
      assert.ok(p.atLower > 1000, 'many REML optima at the lower bound 1e-5 (the boundary case)');
      assertParity(p, 'BXD');
    },
  );

  sharedTest(
    'chr22 PLINK (274 samples, every 10th variant, some genotypes missing), gene26: Wald, LRT, score and lambdas',
    ['data/structlmm/chrom22_subsample20_maf0.10.bed', 'data/structlmm/expr.csv'],
    async (t) => {
      if (!requireTool(t, 'gemma')) return;
      const base = `${SHARED}data/structlmm/`;
      const full = await openBed(`${base}chrom22_subsample20_maf0.10`);
      const indices = Int32Array.from({ length: Math.ceil(full.nVariants / 10) }, (_, i) => 10 * i);
      const x = await full.read(indices);
      // Punch a few holes (3 of 274 samples in every 50th variant, under GEMMA's 5% missingness
      // filter) to exercise mean imputation.
      for (let j = 0; j < x.cols; j += 50) for (const i of [j % 274, (j + 91) % 274, (j + 182) % 274]) x.data[i + j * x.rows] = Number.NaN;
      const expr = await readTable(`${base}expr.csv`, { transposed: true, columns: ['gene26'] });
      const y = new Float64Array(full.nSamples);
      expr.ids.iid.forEach((id, r) => {
        y[Number(id)] = expr.values.get(r, 0);
      }); // expr.csv columns are .fam positions
      const prefix = join(dir, 'c22');
      await writeBed(prefix, x, full.samples, takeVariants(full.variants, indices), y);
      await full.close();
      runGemma(['-bfile', prefix, '-gk', '1', '-o', 'c22']);
      runGemma(['-bfile', prefix, '-k', join(dir, 'c22.cXX.txt'), '-lmm', '4', '-o', 'c22lmm']);
      const gemma = readAssoc('c22lmm');

      const be = getBackend();
      const bed = await openBed(prefix); // counts the .bim column-5 allele, as gemma -bfile does
      const n = bed.nSamples;
      const k = (await readKinship(join(dir, 'c22.cXX.txt'), { ids: bed.samples })).k;
      const { values, vectors } = be.syevd(centerMatrix(k));
      const data: RotatedData = {
        eigenvalues: values,
        uty: be.gemm(vectors, Matrix.column(y), { transA: true }).data,
        utw: be.gemm(vectors, Matrix.column(new Float64Array(n).fill(1)), { transA: true }),
      };
      const nullReml = fitLambda(data, { method: 'reml' });
      const nullMl = fitLambda(data, { method: 'ml' });
      assertNull(readGemmaLog('c22lmm'), nullReml, nullMl, 'chr22');

      const ids: string[] = [];
      const res: ExactTestResult[] = [];
      let fastVsDirect = { lambda: 0, p: 0, log10p: 0, flips: 0 };
      let imputed = 0;
      let seconds = 0;
      for await (const batch of bed.batches({ size: 1000 })) {
        imputed += imputeMean(batch.dosages);
        ids.push(...batch.variants.id);
        const utx = be.gemm(vectors, batch.dosages, { transA: true });
        const t0 = performance.now();
        const r = exactTests(data, utx, { nullReml, nullMl });
        seconds += (performance.now() - t0) / 1000;
        res.push(r);
        const w = assertFastEqualsDirect(r, exactTests(data, utx, { nullReml, nullMl, nodes: 0 }), 'chr22 fast vs direct');
        fastVsDirect = {
          lambda: Math.max(fastVsDirect.lambda, w.lambda),
          p: Math.max(fastVsDirect.p, w.p),
          log10p: Math.max(fastVsDirect.log10p, w.log10p),
          flips: fastVsDirect.flips + w.flips,
        };
      }
      await bed.close();
      assert.equal(imputed, 3 * Math.ceil(indices.length / 50));
      assert.equal(gemma.length, indices.length);
      const p = compare(ids, res, gemma);
      t.diagnostic(`chr22 fast path vs direct sums: ${JSON.stringify(fastVsDirect)} (lambda as a fraction of 1e-8 relative + 2e-11)`);
      t.diagnostic(`chr22: ${JSON.stringify(p)}; exactTests ${((1000 * seconds) / indices.length).toFixed(3)} s per 1000 variants at N = ${n}`);
      assert.equal(p.compared, indices.length);
      assertParity(p, 'chr22');
    },
  );
});
