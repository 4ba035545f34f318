// The LMM scan (LmmCore) and the null covariances: limix-lmm parity on the
// quick start (example_lmm, example_lmm_fullchrom) and on every docstring case
// (example_lmmcore), plus algebraic checks against dense formulas.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Matrix, compose, filterByMaf, filterByMissing, genoQueue, imputeMean, openBed, standardize } from '../../src/node.js';
import { fitLowRankNull } from '../../src/nullmodel/fit-lowrank.js';
import { IdentityCovariance } from '../../src/nullmodel/identity.js';
import { KinshipCovariance } from '../../src/nullmodel/kinship.js';
import { LowRankCovariance } from '../../src/nullmodel/lowrank.js';
import { LmmCore } from '../../src/scan/lmm-core.js';
import { Rng } from '../../src/sim/rng.js';
import { SHARED, backendsUnderTest, randn, relMaxDiff, sharedTest } from '../support.js';

const LIMIX = 'refs/limix/';
const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';

function csv(rel: string): number[][] {
  return readFileSync(SHARED + rel, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(',').map(Number));
}
function csvMatrix(rel: string): Matrix {
  return Matrix.fromRows(csv(rel));
}
function ones(n: number): Matrix {
  return new Matrix(n, 1, new Float64Array(n).fill(1));
}

/**
 * |a - b| <= rel |b| + abs elementwise. The absolute floor exists for
 * statistics limix computes by cancellation: its lrt = -df log(s2 / s20) has
 * rounding error ~ df * eps ~ 1e-13, which dominates when lrt ~ 1e-9 (and
 * -log10 p of p ~ 1 likewise); lmmkit's log1p form does not lose those digits.
 */
function closeTo(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    const excess = Math.abs(a - e) / (rel * Math.abs(e) + abs);
    if (!(excess <= 1)) {
      if (!(excess <= worst)) {
        worst = excess;
        at = i;
      }
    }
  }
  assert.ok(at < 0, `${what}: element ${at}: ${actual[at]} vs ${expected[at]} (tolerance ${rel} rel + ${abs} abs)`);
}

const minusLog10 = (p: ArrayLike<number>) => Array.from(p, (v) => -Math.log10(v));

/** Rows of a matrix saved "rows = tests" as the m x tests layout limix returns. */
function transposedCsv(rel: string): Matrix {
  return csvMatrix(rel).transpose();
}

describe('null covariances agree with dense formulas', () => {
  for (const be of backendsUnderTest()) {
    test(`${be.name}: low rank, kinship and identity`, () => {
      const rng = new Rng(11);
      const n = 40;
      const w = randn(rng, n, 6);
      const b = randn(rng, n, 3);
      const k = be.gemm(w, w, { transB: true });
      for (let i = 0; i < n; i++) k.data[i + i * n]! *= 1;
      const check = (cov: { kiDot(b: Matrix): Matrix; whiten(b: Matrix): Matrix; logdet(): number }, dense: Matrix, what: string) => {
        const l = be.potrf(dense);
        const want = be.potrs(l, b);
        assert.ok(relMaxDiff(cov.kiDot(b).data, want.data) < 1e-10, `${what} kiDot`);
        // whiten(B)' whiten(B) = B' K^-1 B
        const wb = cov.whiten(b);
        const q1 = be.gemm(wb, wb, { transA: true });
        const q2 = be.gemm(b, want, { transA: true });
        assert.ok(relMaxDiff(q1.data, q2.data) < 1e-10, `${what} whiten`);
        assert.ok(Math.abs(cov.logdet() - be.logdet(dense)) < 1e-9 * Math.abs(be.logdet(dense)) + 1e-10, `${what} logdet`);
      };
      const dense = (cr: number, g: Matrix, cn: number) => {
        const out = g.clone();
        for (let i = 0; i < out.data.length; i++) out.data[i]! *= cr;
        for (let i = 0; i < n; i++) out.data[i + i * n]! += cn;
        return out;
      };
      check(new LowRankCovariance(w, 0.7, 1.3, be), dense(0.7, k, 1.3), 'low rank');
      check(new LowRankCovariance(w, 0, 2, be), dense(0, k, 2), 'low rank at cr = 0');
      const r = be.gemm(randn(rng, n, n), randn(rng, n, n).transpose());
      const rel = be.gemm(r, r, { transB: true });
      check(new KinshipCovariance(be.syevd(rel), 0.4, 0.9, be), dense(0.4, rel, 0.9), 'kinship');
      check(new IdentityCovariance(n), dense(0, rel, 1), 'identity');
      assert.throws(() => new KinshipCovariance(be.syevd(k), 1, 0, be), /singular/);
      assert.throws(() => new LowRankCovariance(w, -1, 1, be), /cr must be/);
    });
  }
});

describe('LmmCore against a direct generalised least squares fit', () => {
  for (const be of backendsUnderTest()) {
    test(`${be.name}: lrt, beta, standard errors, covariate betas, trailing block`, () => {
      const rng = new Rng(5);
      const n = 60;
      const f = new Matrix(n, 2);
      f.data.fill(1, 0, n);
      f.data.set(rng.normals(n), n);
      const y = rng.normals(n);
      const w = randn(rng, n, 3);
      const cov = new LowRankCovariance(w, 0.5, 1, be);
      const g = randn(rng, n, 7);
      const inter = randn(rng, n, 2);
      const lmm = new LmmCore({ y, covariates: f, covariance: cov, backend: be });
      const res = lmm.process(g, { inter, step: 3 });
      assert.equal(res.tests, 3);
      assert.deepEqual(Array.from(res.df), [6, 6, 2]);
      // Direct: K^-1 explicitly, full design [F X], normal equations.
      const n2 = n;
      const kd = be.gemm(w, w, { transB: true });
      for (let i = 0; i < kd.data.length; i++) kd.data[i]! *= 0.5;
      for (let i = 0; i < n2; i++) kd.data[i + i * n2]! += 1;
      const kl = be.potrf(kd);
      const yv = Matrix.column(y);
      const fit = (x: Matrix) => {
        const kix = be.potrs(kl, x);
        const a = be.gemm(x, kix, { transA: true });
        const rhs = be.gemm(kix, yv, { transA: true });
        const beta = be.potrs(be.potrf(a), rhs);
        const yky = be.gemm(yv, be.potrs(kl, yv), { transA: true }).data[0]!;
        const rss = yky - be.gemm(beta, rhs, { transA: true }).data[0]!;
        return { beta: beta.data, rss, ainv: be.potri(be.potrf(a)) };
      };
      const null0 = fit(f);
      for (let t = 0; t < 3; t++) {
        const vars = t < 2 ? [3 * t, 3 * t + 1, 3 * t + 2] : [6];
        const m = 2 * vars.length;
        const x = new Matrix(n, 2 + m);
        x.data.set(f.data, 0);
        let c = 2;
        for (let l = 0; l < 2; l++) {
          for (const v of vars) {
            for (let i = 0; i < n; i++) x.data[i + c * n] = inter.get(i, l) * g.get(i, v);
            c++;
          }
        }
        const alt = fit(x);
        const lrt = -(n - 2) * Math.log(alt.rss / null0.rss);
        assert.ok(Math.abs(res.lrt[t]! - lrt) < 1e-9 * lrt, `lrt of test ${t}`);
        const s2 = alt.rss / (n - 2 - m);
        for (let a = 0; a < m; a++) {
          assert.ok(Math.abs(res.beta.get(a, t) - alt.beta[2 + a]!) < 1e-9, `beta ${a} of test ${t}`);
          const se = Math.sqrt(alt.ainv.get(2 + a, 2 + a) * s2);
          assert.ok(Math.abs(res.betaSte.get(a, t) - se) < 1e-9 * se, `se ${a} of test ${t}`);
        }
        for (let a = 0; a < 2; a++) assert.ok(Math.abs(res.betaCov.get(a, t) - alt.beta[a]!) < 1e-9, `covariate beta ${a}`);
      }
      assert.ok(Number.isNaN(res.beta.get(2, 2)), 'rows beyond a short block are NaN');
      assert.ok(Math.abs(lmm.s20 - null0.rss / (n - 2)) < 1e-12);
    });
  }

  test('a constant variant is reported untestable (NaN), not p = 1', () => {
    const rng = new Rng(2);
    const n = 30;
    const g = randn(rng, n, 2);
    g.data.fill(1, 0, n);
    const res = new LmmCore({ y: rng.normals(n) }).process(g);
    assert.ok(Number.isNaN(res.pv[0]!) && Number.isNaN(res.beta.get(0, 0)));
    assert.ok(res.pv[1]! > 0 && res.pv[1]! <= 1);
  });

  test('bad input: NaN in y, shapes, step', () => {
    const y = [1, 2, NaN, 4, NaN];
    assert.throws(() => new LmmCore({ y }), /2 missing or non-finite values \(first at sample 2\)/);
    const lmm = new LmmCore({ y: [1, 2, 3, 4, 6] });
    assert.throws(() => lmm.process(new Matrix(4, 2)), /G has 4 rows but the model has 5 samples/);
    assert.throws(() => lmm.process(new Matrix(5, 2), { step: 0 }), /step must be a positive integer/);
    assert.throws(() => lmm.process(new Matrix(5, 2), { inter: new Matrix(3, 1) }), /inter has 3 rows/);
    assert.throws(() => new LmmCore({ y: [1, 2], covariates: new Matrix(2, 2, Float64Array.of(1, 1, 0, 1)) }), /no residual degrees of freedom/);
  });
});

for (const ex of ['example_lmm', 'example_lmm_fullchrom']) {
  const dir = `${LIMIX}${ex}/`;
  sharedTest(
    `limix parity: ${ex} (quick start 2.1, null model and scan)`,
    [`${dir}null_model.json`, `${dir}W_processed.csv`, `${dir}pheno.csv`, `${dir}res_lmm.csv`, `${STRUCT}.bed`],
    async () => {
      const nm = JSON.parse(readFileSync(`${SHARED}${dir}null_model.json`, 'utf8')) as {
        Cr_K: number[][];
        Cn_K: number[][];
        gp_LML_negative_reml_no_const: number;
        lmm_s20: number;
        lmm_df: number;
      };
      const w = csvMatrix(`${dir}W_processed.csv`);
      const y = readFileSync(`${SHARED}${dir}pheno.csv`, 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => Number(l.split(',')[2]));
      const f = ones(y.length);
      const fit = fitLowRankNull({ y, covariates: f, w });
      const cr = nm.Cr_K[0]![0]!;
      const cn = nm.Cn_K[0]![0]!;
      // limix's LML (its objective) and Cn to 1e-6; Cr to 2e-5 only, because
      // limix's L-BFGS-B stopped with dLML/dCr = -1.7e-4 (dense numpy check,
      // see the README): lmmkit's optimum has a zero slope and an LML at
      // least as good.
      assert.ok(Math.abs(fit.lml - nm.gp_LML_negative_reml_no_const) <= 1e-6 * nm.gp_LML_negative_reml_no_const, `LML ${fit.lml}`);
      assert.ok(fit.lml <= nm.gp_LML_negative_reml_no_const + 1e-10, 'our LML is at least as good as limix');
      assert.ok(Math.abs(fit.cn - cn) <= 1e-6 * cn, `Cn ${fit.cn} vs ${cn}`);
      assert.ok(Math.abs(fit.cr - cr) <= 2e-5 * cr, `Cr ${fit.cr} vs ${cr}`);

      const ref = readFileSync(`${SHARED}${dir}res_lmm.csv`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(','));
      const head = ref.shift()!;
      const col = (name: string) => ref.map((r) => Number(r[head.indexOf(name)]));
      for (const [label, covariance] of [
        ['limix Cr, Cn', new LowRankCovariance(w, cr, cn)],
        ['our fit', fit.covariance],
      ] as const) {
        const lmm = new LmmCore({ y, covariates: f, covariance });
        assert.ok(Math.abs(lmm.s20 - nm.lmm_s20) < 1e-6 * nm.lmm_s20, 's20');
        assert.equal(lmm.dfResidual, nm.lmm_df);
        const bed = await openBed(`${SHARED}${STRUCT}`, { count: 'a2' });
        const pv: number[] = [];
        const beta: number[] = [];
        const ste: number[] = [];
        const lrt: number[] = [];
        const ids: string[] = [];
        try {
          const select = ex === 'example_lmm' ? { region: { chrom: '22', start: 17500000, end: 18000000 } } : undefined;
          const queue = genoQueue(bed, { size: 1000, select, preprocess: compose([filterByMissing(0.1), imputeMean(), filterByMaf(0.1), standardize()]) });
          for await (const b of queue) {
            const r = lmm.process(b.dosages);
            pv.push(...r.pv);
            beta.push(...r.beta.data);
            ste.push(...r.betaSteLimix.data);
            lrt.push(...r.lrt);
            ids.push(...b.variants.id);
          }
        } finally {
          await bed.close();
        }
        assert.deepEqual(
          ids,
          ref.map((r) => r[head.indexOf('snp')]),
        );
        // At limix's own covariance the scan matches to 1e-6; at our (better)
        // optimum Cr differs by 1e-5 relative, which moves the statistics by
        // up to ~1e-4 relative.
        const rel = label === 'our fit' ? 3e-4 : 1e-6;
        // -log10 p near p = 1 inherits limix's lrt rounding amplified by
        // dp/dlrt = -1/sqrt(2 pi lrt): a 1e-9 absolute floor.
        const abs = label === 'our fit' ? 1e-6 : 1e-12;
        closeTo(minusLog10(pv), minusLog10(col('lmm_pv')), rel, Math.max(abs, 1e-9), `${label}: -log10 pv`);
        closeTo(beta, col('lmm_beta'), rel, abs, `${label}: beta`);
        if (label === 'our fit') continue;
        closeTo(lrt, col('lmm_lrt'), rel, 1e-12, `${label}: lrt`);
        // limix's ste = |beta| / sqrt(lrt) carries half of its lrt's relative rounding (1e-12 / lrt).
        const lrtRef = col('lmm_lrt');
        const steRef = col('lmm_beta_ste');
        steRef.forEach((e, i) => {
          const tol = rel * e + (0.5 * e * 1e-12) / lrtRef[i]!;
          assert.ok(Math.abs(ste[i]! - e) <= tol, `${label}: beta_ste ${i}: ${ste[i]} vs ${e}`);
        });
      }
    },
  );
}

const CORE = `${LIMIX}example_lmmcore/`;
sharedTest('limix parity: LMM docstring (lmm_doc_*)', [`${CORE}lmm_doc_y.csv`, `${CORE}results.json`], () => {
  const res = JSON.parse(readFileSync(`${SHARED}${CORE}results.json`, 'utf8'));
  const y = csv(`${CORE}lmm_doc_y.csv`).map((r) => r[0]!);
  const f = csvMatrix(`${CORE}lmm_doc_F.csv`);
  const fit = fitLowRankNull({ y, covariates: f, w: csvMatrix(`${CORE}lmm_doc_E.csv`) });
  // limix stopped at Cr = 1.3e-11 with Cn 1.8e-6 below the exact boundary
  // optimum, the OLS residual variance 0.7991155345627958 (numpy lstsq), which
  // is what lmmkit finds.
  assert.ok(Math.abs(fit.cn - 0.7991155345627958) < 1e-12, `Cn ${fit.cn}`);
  assert.ok(Math.abs(fit.cn - res.lmm_doc.Cn_K) < 2e-6 * res.lmm_doc.Cn_K, `Cn ${fit.cn}`);
  assert.ok(fit.cr < 1e-9, `Cr at the boundary: ${fit.cr}`);
  assert.ok(fit.lml <= res.lmm_doc.gp_LML_negative_reml_no_const + 1e-9);
  const lmm = new LmmCore({ y, covariates: f, covariance: fit.covariance });
  const r = lmm.process(csvMatrix(`${CORE}lmm_doc_G.csv`));
  closeTo(minusLog10(r.pv), minusLog10(csv(`${CORE}lmm_doc_pv.csv`).flat()), 1e-6, 1e-12, 'pv');
  closeTo(r.lrt, csv(`${CORE}lmm_doc_lrt.csv`).flat(), 1e-6, 1e-12, 'lrt');
  closeTo(r.beta.data, csv(`${CORE}lmm_doc_beta.csv`).flat(), 1e-6, 1e-12, 'beta');
  closeTo(r.betaSteLimix.data, csv(`${CORE}lmm_doc_beta_ste.csv`).flat(), 1e-6, 1e-9, 'beta_ste');
  // Covariate betas near 0 (1e-5) feel limix's Cr = 1.3e-11 against our exact 0: 1e-9 absolute.
  closeTo(r.betaCov.data, transposedCsv(`${CORE}lmm_doc_beta_cov.csv`).data, 1e-6, 1e-9, 'getBetaCov');
  const printed = res.lmm_doc.doc_printed;
  for (const [key, got] of [
    ['pv', r.pv],
    ['beta', r.beta.data],
    ['beta_ste', r.betaSteLimix.data],
    ['lrt', r.lrt],
  ] as const) {
    assert.deepEqual(
      Array.from(got.slice(0, 4), (v) => Number(v.toFixed(4))),
      printed[key],
      `docstring ${key}`,
    );
  }
});

for (const [name, opts] of [
  ['inter_step1', { inter: true, step: 1 }],
  ['step4', { inter: false, step: 4 }],
  ['inter_step4', { inter: true, step: 4 }],
  ['plain_step1', { inter: false, step: 1 }],
] as const) {
  sharedTest(`limix parity: LMMCore docstring case ${name}`, [`${CORE}core_${name}_pv.csv`, `${CORE}core_doc_y.csv`], () => {
    const res = JSON.parse(readFileSync(`${SHARED}${CORE}results.json`, 'utf8'));
    const y = csv(`${CORE}core_doc_y.csv`).map((r) => r[0]!);
    const f = csvMatrix(`${CORE}core_doc_F.csv`);
    const fit = fitLowRankNull({ y, covariates: f, w: csvMatrix(`${CORE}core_doc_E.csv`) });
    assert.ok(Math.abs(fit.cn - res.core_null.Cn_K) < 1e-6 * res.core_null.Cn_K, `Cn ${fit.cn}`);
    assert.ok(fit.cr < 1e-9 && fit.lml <= res.core_null.gp_LML_negative_reml_no_const + 1e-9);
    const lmm = new LmmCore({ y, covariates: f, covariance: fit.covariance });
    const r = lmm.process(csvMatrix(`${CORE}core_doc_G.csv`), { inter: opts.inter ? csvMatrix(`${CORE}core_doc_Inter.csv`) : undefined, step: opts.step });
    assert.equal(r.tests, res[name].pv_shape[0]);
    assert.equal(r.beta.rows, res[name].beta_shape[0]);
    closeTo(minusLog10(r.pv), minusLog10(csv(`${CORE}core_${name}_pv.csv`).flat()), 1e-6, 1e-12, 'pv');
    closeTo(r.lrt, csv(`${CORE}core_${name}_lrt.csv`).flat(), 1e-6, 1e-12, 'lrt');
    closeTo(r.beta.data, transposedCsv(`${CORE}core_${name}_beta.csv`).data, 1e-6, 1e-12, 'beta');
    closeTo(r.betaSteLimix.data, transposedCsv(`${CORE}core_${name}_beta_ste.csv`).data, 1e-6, 1e-9, 'beta_ste');
    closeTo(r.betaCov.data, transposedCsv(`${CORE}core_${name}_beta_cov_derived.csv`).data, 1e-6, 1e-12, 'covariate betas');
    const printed = res[name].doc_printed;
    if (printed?.pv !== undefined) {
      assert.deepEqual(
        Array.from(r.pv.slice(0, 4), (v) => Number(v.toFixed(4))),
        printed.pv,
        'docstring pv',
      );
    }
    if (printed?.beta !== undefined) {
      const rows = printed.beta as number[][];
      rows.forEach((row, a) => {
        assert.deepEqual(
          row,
          [0, 1, 2, 3].map((t) => Number(r.beta.get(a, t).toFixed(4))),
          `docstring beta row ${a}`,
        );
      });
    }
  });
}
