// Kenward-Roger: agreement with R's pbkrtest::KRmodcomp on lme4 REML fits
// of four simulated designs (test/fixtures/kr, made by
// test/fixtures/kr/generate.R with the seed it records), at lme4's variance
// estimates (isolating the KR computation) and at lmmkit's own fit; then
// properties that hold whatever the reference: the exact F test of an
// error-only model, Phi_A against numerical second derivatives of Phi,
// backends agreeing, tiny p-values.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { Matrix } from '../../src/index.js';
import { anovaTest } from '../../src/varcomp/anova.js';
import { buildDesign } from '../../src/varcomp/design.js';
import { krCovariance, krModel, krTest } from '../../src/varcomp/kr.js';
import { mmEst } from '../../src/varcomp/mmest.js';
import { modelAt } from '../../src/varcomp/model-at.js';
import type { VarComponent } from '../../src/varcomp/types.js';
import { Rng } from '../../src/sim/rng.js';
import { fSf } from '../../src/stats/index.js';
import { backendsUnderTest } from '../support.js';

const FIXTURES = new URL('../../../test/fixtures/kr/', import.meta.url).pathname;
const DESIGNS = ['ri', 'crossed', 'nested', 'unbalanced'];

interface KrRef {
  design: string;
  description: string;
  seed: number;
  n: number;
  formula: string;
  components: { name: string; column?: string }[];
  variances: Record<string, number>;
  betaNames: string[];
  beta: number[];
  varBeta: number[][];
  varBetaAdj: number[][];
  tests: { name: string; kind: 'term' | 'contrast'; L: number[][]; F: number; FUnscaled: number; ndf: number; ddf: number; scaling: number; pValue: number }[];
}

/** A design's data and model in lmmkit's terms. */
function load(design: string) {
  const ref = JSON.parse(readFileSync(`${FIXTURES}${design}.json`, 'utf8')) as KrRef;
  const lines = readFileSync(`${FIXTURES}${design}.csv`, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  const header = lines[0]!.split(',');
  const rows = lines.slice(1).map((l) => l.split(','));
  const col = (name: string) => rows.map((r) => r[header.indexOf(name)]!);
  const n = rows.length;
  assert.equal(n, ref.n);
  const y = Float64Array.from(col('y'), Number);
  const numeric = (v: string[]) => v.every((s) => s !== '' && Number.isFinite(Number(s)));
  const names = header.filter((h) => h !== 'y');
  const cofactor = { names, columns: names.map((h) => (numeric(col(h)) ? Float64Array.from(col(h), Number) : col(h))) };
  const components: VarComponent[] = ref.components.map((c) => {
    if (c.column === undefined) return { name: c.name, r: Matrix.identity(n) };
    const codes = col(c.column);
    const ids = [...new Set(codes)].sort();
    const z = new Matrix(n, ids.length);
    const at = new Map(ids.map((id, j) => [id, j]));
    codes.forEach((code, i) => {
      z.set(i, at.get(code)!, 1);
    });
    return { name: c.name, r: Matrix.identity(ids.length), z };
  });
  const sigma2 = Float64Array.from(ref.components, (c) => ref.variances[c.name]!);
  const design_ = buildDesign({ n, cofactor, formula: ref.formula });
  const data = { y, cofactor, formula: ref.formula, varList: components.map((c) => ({ name: c.name, r: c.r })), zList: components.map((c) => c.z) };
  return { ref, y, components, sigma2, x: design_.x, columnNames: design_.columnNames, data };
}

const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));

for (const design of DESIGNS) {
  test(`KR parity with pbkrtest::KRmodcomp at lme4's REML estimates: ${design}`, (t: TestContext) => {
    const d = load(design);
    assert.deepEqual(d.columnNames, d.ref.betaNames, 'the same fixed-effect columns as lme4');
    const model = krModel({ x: d.x, components: d.components, sigma2: d.sigma2, y: d.y });
    // GLS at lme4's variances reproduces lme4's beta and vcov.
    const w = { beta: 0, varBeta: 0, varBetaAdj: 0, F: 0, ddf: 0, scaling: 0, p: 0 };
    d.ref.beta.forEach((b, j) => {
      w.beta = Math.max(w.beta, Math.abs(model.beta[j]! - b) / Math.sqrt(d.ref.varBeta[j]![j]!));
    });
    const scaled = (m: Matrix, r: number[][], a: number, b: number) => Math.abs(m.get(a, b) - r[a]![b]!) / Math.sqrt(r[a]![a]! * r[b]![b]!);
    d.ref.varBeta.forEach((row, a) => {
      row.forEach((_, b) => {
        w.varBeta = Math.max(w.varBeta, scaled(model.varBeta, d.ref.varBeta, a, b));
        w.varBetaAdj = Math.max(w.varBetaAdj, scaled(model.varBetaAdj, d.ref.varBetaAdj, a, b));
      });
    });
    for (const r of d.ref.tests) {
      const k = krTest(model, Matrix.fromRows(r.L));
      assert.equal(k.df, r.ndf);
      w.F = Math.max(w.F, rel(k.statistic, r.F), rel(k.fUnscaled, r.FUnscaled));
      w.ddf = Math.max(w.ddf, rel(k.ddf, r.ddf));
      w.scaling = Math.max(w.scaling, rel(k.scaling, r.scaling));
      w.p = Math.max(w.p, rel(k.pValue, r.pValue));
    }
    t.diagnostic(`${d.ref.description}: worst relative differences ${JSON.stringify(w)}`);
    assert.ok(w.beta < 1e-7 && w.varBeta < 1e-7 && w.varBetaAdj < 1e-6, JSON.stringify(w));
    assert.ok(w.F < 1e-6 && w.ddf < 1e-6 && w.scaling < 1e-6 && w.p < 1e-6, JSON.stringify(w));

    // The same through anovaTest: Type III terms by KR, and the contrasts, at lme4's variances.
    const fit = mmEst({ ...d.data });
    const terms = anovaTest(fit, { type: 'KR', data: d.data, sigma2: d.sigma2 });
    const termRefs = d.ref.tests.filter((r) => r.kind === 'term');
    assert.deepEqual(
      terms.tables[0]!.rows.map((r) => r.name),
      termRefs.map((r) => r.name),
    );
    terms.tables[0]!.rows.forEach((row, j) => {
      assert.ok(rel(row.statistic, termRefs[j]!.F) < 1e-6 && rel(row.ddf!, termRefs[j]!.ddf) < 1e-6, `${row.name}: ${row.statistic} ${row.ddf}`);
    });
    const contrasts = Object.fromEntries(d.ref.tests.filter((r) => r.kind === 'contrast').map((r) => [r.name, r.L]));
    const cres = anovaTest(fit, { type: 'KR', contrasts, data: d.data, sigma2: d.sigma2 });
    cres.tables[0]!.rows.forEach((row) => {
      const r = d.ref.tests.find((x) => x.name === row.name)!;
      assert.ok(rel(row.statistic, r.F) < 1e-6 && rel(row.ddf!, r.ddf) < 1e-6 && rel(row.pValue, r.pValue) < 1e-6, row.name);
    });
  });

  test(`KR at lmmkit's own REML fit agrees with pbkrtest at lme4's: ${design}`, (t: TestContext) => {
    const d = load(design);
    const fit = mmEst({ ...d.data, critVar: 1e-10, critLogLik: 1e-12, maxIter: 20000, accelerate: true });
    const s2 = fit.models[0]!.sigma2;
    const dS = Math.max(...Array.from(s2, (v, k) => rel(v, d.sigma2[k]!)));
    const contrasts = Object.fromEntries(d.ref.tests.map((r) => [r.name, r.L]));
    const res = anovaTest(fit, { type: 'KR', contrasts, data: d.data });
    const w = { F: 0, ddf: 0 };
    res.tables[0]!.rows.forEach((row) => {
      const r = d.ref.tests.find((x) => x.name === row.name)!;
      w.F = Math.max(w.F, rel(row.statistic, r.F));
      w.ddf = Math.max(w.ddf, rel(row.ddf!, r.ddf));
    });
    t.diagnostic(`sigma2 vs lme4: ${dS.toExponential(2)}; F ${w.F.toExponential(2)}, ddf ${w.ddf.toExponential(2)}`);
    assert.ok(dS < 1e-4, `sigma2 ${Array.from(s2)} vs lme4 ${Array.from(d.sigma2)}`);
    assert.ok(w.F < 1e-4 && w.ddf < 1e-4, JSON.stringify(w));
  });
}

test('KR: with the error as the only component it is the exact F test (lambda = 1, ddf = N - p)', () => {
  const rng = new Rng(7);
  const n = 40;
  const x = new Matrix(
    n,
    3,
    Float64Array.from({ length: 3 * n }, (_, i) => (i < n ? 1 : rng.normal())),
  );
  const y = Float64Array.from({ length: n }, () => rng.normal());
  const model = krModel({ x, components: [{ name: 'Error', r: Matrix.identity(n) }], sigma2: [1.7], y });
  for (const l of [
    [[0, 1, 0]],
    [
      [0, 1, 0],
      [0, 0, 1],
    ],
    [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  ]) {
    const k = krTest(model, Matrix.fromRows(l));
    assert.ok(Math.abs(k.ddf - (n - 3)) < 1e-9 * n, `ddf ${k.ddf}`);
    assert.ok(Math.abs(k.scaling - 1) < 1e-12, `scaling ${k.scaling}`);
    // Phi_A = Phi here (Phi's derivative is linear in sigma2).
    assert.ok(Math.abs(k.statistic - k.fUnscaled) < 1e-12 * k.statistic);
    assert.ok(rel(k.pValue, fSf(k.statistic, l.length, n - 3)) < 1e-12);
  }
  for (let i = 0; i < 9; i++) assert.ok(Math.abs(model.varBetaAdj.data[i]! - model.varBeta.data[i]!) < 1e-12 * Math.abs(model.varBeta.data[(i % 3) * 4]!));
});

test('KR: Phi_A = Phi - sum_ij W_ij d2 Phi / d sigma_i d sigma_j and W = (1/2 tr(P K_i P K_j))^-1, by finite differences (crossed design, ZList)', () => {
  const d = load('crossed');
  const s = Array.from(d.sigma2);
  const nk = s.length;
  const model = krModel({ x: d.x, components: d.components, sigma2: s, y: d.y });
  // The information from modelAt's P, an independent route.
  const at = modelAt(d.y, d.x, d.components, s);
  const pk = at.k.map((k) => (k === null ? at.p : mul(at.p, k)));
  for (let i = 0; i < nk; i++) {
    for (let j = 0; j < nk; j++) {
      // tr(P K_i P K_j) with naive dense products
      const [a, b] = [pk[i]!, pk[j]!];
      let tr = 0;
      for (let u = 0; u < a.rows; u++) for (let v = 0; v < a.rows; v++) tr += a.get(u, v) * b.get(v, u);
      assert.ok(rel(model.information.get(i, j), 0.5 * tr) < 1e-9, `I(${i},${j})`);
    }
  }
  // Second derivatives of Phi(sigma2) by central differences.
  const phiAt = (v: number[]) => modelAt(d.y, d.x, d.components, v).varBeta;
  const p = d.x.cols;
  const corr = new Float64Array(p * p);
  for (let i = 0; i < nk; i++) {
    for (let j = 0; j < nk; j++) {
      const hi = 1e-3 * s[i]!;
      const hj = 1e-3 * s[j]!;
      const shift = (di: number, dj: number) => {
        const v = s.slice();
        v[i]! += di * hi;
        v[j]! += dj * hj;
        return phiAt(v);
      };
      const [pp, pm, mp, mm] = [shift(1, 1), shift(1, -1), shift(-1, 1), shift(-1, -1)];
      for (let t = 0; t < p * p; t++) corr[t]! += (model.w.get(i, j) * (pp.data[t]! - pm.data[t]! - mp.data[t]! + mm.data[t]!)) / (4 * hi * hj);
    }
  }
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) {
      const expect = model.varBeta.get(a, b) - corr[a + b * p]!;
      const scale = Math.sqrt(model.varBeta.get(a, a) * model.varBeta.get(b, b));
      assert.ok(Math.abs(model.varBetaAdj.get(a, b) - expect) < 1e-6 * scale, `Phi_A(${a},${b}): ${model.varBetaAdj.get(a, b)} vs ${expect}`);
    }
  }
});

test('KR: the backends agree; one covariance serves several designs; tiny p-values keep their digits', () => {
  const d = load('nested');
  const [first, ...rest] = backendsUnderTest().map((backend) => {
    const m = krModel({ x: d.x, components: d.components, sigma2: d.sigma2, y: d.y, backend });
    return {
      m,
      k: krTest(
        m,
        Matrix.fromRows([
          [0, 1, 0],
          [0, 0, 1],
        ]),
        backend,
      ),
    };
  });
  for (const o of rest) {
    assert.ok(rel(o.k.statistic, first!.k.statistic) < 1e-10 && rel(o.k.ddf, first!.k.ddf) < 1e-10);
    for (let i = 0; i < o.m.varBetaAdj.data.length; i++) assert.ok(Math.abs(o.m.varBetaAdj.data[i]! - first!.m.varBetaAdj.data[i]!) < 1e-12);
  }
  // A covariance evaluated once, reused by a smaller design (the intercept alone).
  const cov = krCovariance(d.components, d.sigma2, d.y.length);
  const x1 = d.x.colView(0, 1);
  const reused = krModel({ x: x1, components: d.components, sigma2: d.sigma2, y: d.y, covariance: cov });
  const fresh = krModel({ x: x1, components: d.components, sigma2: d.sigma2, y: d.y });
  assert.ok(rel(reused.varBetaAdj.get(0, 0), fresh.varBetaAdj.get(0, 0)) < 1e-14);
  assert.throws(() => krModel({ x: x1, components: d.components, sigma2: [1, 1, 1], y: d.y, covariance: cov }), /other variances/);
  // The intercept test of this design has F ~ 950 on ~19 ddf: p ~ 1e-18, which
  // 1 - pf would give as 0. A shifted response pushes it far below 1e-300.
  const y = Float64Array.from(d.y, (v) => v + 1e4);
  const big = krTest(krModel({ x: d.x, components: d.components, sigma2: d.sigma2, y }), Matrix.fromRows([[1, 0, 0]]));
  assert.ok(big.log10PValue < -50 && Number.isFinite(big.log10PValue), `${big.log10PValue}`);
  const small = krTest(krModel({ x: d.x, components: d.components, sigma2: d.sigma2, y: d.y }), Matrix.fromRows([[1, 0, 0]]));
  assert.ok(small.pValue > 0 && small.pValue < 1e-15 && rel(Math.log10(small.pValue), small.log10PValue) < 1e-12, `${small.pValue}`);
  // Bad input.
  assert.throws(() => krTest(fresh, Matrix.fromRows([[1, 0]])), /the contrast has 2 columns, the model has 1 coefficients/);
  assert.throws(() => krModel({ x: d.x, components: d.components, sigma2: d.sigma2 }), /y is needed/);
  assert.throws(() => krModel({ x: d.x, components: d.components, sigma2: [1, -1, 1], y: d.y }), /sigma2\[1\] \(school:class\) must be a finite number >= 0/);
});

function mul(a: Matrix, b: Matrix): Matrix {
  const out = new Matrix(a.rows, b.cols);
  for (let j = 0; j < b.cols; j++)
    for (let k = 0; k < a.cols; k++) {
      const bkj = b.data[k + j * b.rows]!;
      if (bkj === 0) continue;
      for (let i = 0; i < a.rows; i++) out.data[i + j * a.rows]! += a.data[i + k * a.rows]! * bkj;
    }
  return out;
}
