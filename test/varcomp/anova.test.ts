// anovaTest: parity with every AnovaTest case of MM4LMM 3.0.3 in
// ../shared/refs/mm4lmm (Type I, Type III, contrasts, Kenward-Roger), at
// MM4LMM's own fit (its beta, varBeta and sigma2) and at lmmkit's fit of the
// same call; lmmkit's results where MM4LMM fails; MM4LMM's errors.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { getBackend, Matrix } from '../../src/node.js';
import { anovaTest, type AnovaData, type AnovaFitInput, type AnovaOptions, type AnovaResult } from '../../src/varcomp/anova.js';
import { mmEst, type MmEstOptions } from '../../src/varcomp/mmest.js';
import { hybridData, MM_DATA, MM_REFS, qtlData, readRef, type RefModel } from '../mm4lmm-data.js';
import { sharedTest } from '../support.js';

interface RefTables {
  result: { nModels: number; modelNames: string[]; tables: { rownames: string[]; colnames: string[]; data: (number | null)[][] }[] };
  messages: string[];
  error?: string;
}

function qtl() {
  const q = qtlData();
  const varList = [
    { name: 'Additive', r: q.kinship },
    { name: 'Error', r: Matrix.identity(q.n) },
  ];
  return { q, varList, reml: { y: q.y, x: q.geno, xNames: q.snpNames, varList } as MmEstOptions };
}

function hybrid() {
  const h = hybridData();
  const eye = Matrix.identity(h.n);
  const varList = [
    { name: 'Flint', r: h.kinF.k },
    { name: 'Dent', r: h.kinD.k },
    { name: 'Error', r: eye },
  ];
  const zList = [h.zf, h.zd, eye];
  const frame = { names: ['Trial', 'CodeHybrid', 'CodeDent', 'CodeFlint', 'Trait'], columns: [h.trial, h.codeHybrid, h.codeDent, h.codeFlint, h.trait] };
  // MM4LMM's KR takes VarList as N x N matrices Z K Z' (it has no ZList).
  const be = getBackend();
  const full = (z: Matrix, k: Matrix) => be.gemm(be.gemm(z, k), z, { transB: true });
  const varListFull = [
    { name: 'Flint', r: full(h.zf, h.kinF.k) },
    { name: 'Dent', r: full(h.zd, h.kinD.k) },
    { name: 'Error', r: eye },
  ];
  const m1 = new Matrix(
    h.n,
    1,
    Float64Array.from(h.markers[0]!, (v) => (v === '11' ? 1 : 0)),
  );
  return { h, varList, zList, frame, varListFull, m1 };
}

/** The fit a reference JSON holds, in the shape anovaTest reads. */
function refFit(name: string): AnovaFitInput {
  const r = readRef(name).result;
  return {
    modelNames: r.modelNames,
    models: r.models.map((m: RefModel) => ({
      beta: m.Beta,
      varBeta: Matrix.fromRows(m.VarBeta),
      sigma2: m.Sigma2,
      attr: m.attr,
      factors: m.Factors,
      columnNames: m.BetaNames.length > 0 ? m.BetaNames : undefined,
      method: m.Method === 'ML' ? 'ml' : 'reml',
    })),
  };
}

const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));

/**
 * Worst relative differences of a result against MM4LMM's tables: the
 * statistic, the p-value and (KR) ddf. MM4LMM's Wald tables have one row per
 * test (Wald, pval, df); its KR tables are transposed (rows Stat, pval, ddf;
 * one column per test). Where MM4LMM's p-value underflowed to 0 ours must
 * be below 1e-300 with a finite log10.
 */
function compare(res: AnovaResult, ref: RefTables['result'], kr: boolean): { stat: number; p: number; ddf: number } {
  assert.equal(res.tables.length, ref.nModels);
  const w = { stat: 0, p: 0, ddf: 0 };
  res.tables.forEach((t, i) => {
    const r = ref.tables[i]!;
    t.rows.forEach((row, j) => {
      const [stat, p, third] = kr ? [r.data[0]![j]!, r.data[1]![j]!, r.data[2]![j]!] : [r.data[j]![0]!, r.data[j]![1]!, r.data[j]![2]!];
      if (!kr && r.rownames.length > 0) assert.equal(row.name, r.rownames[j], `row name ${j + 1} of model ${i + 1}`);
      w.stat = Math.max(w.stat, rel(row.statistic, stat));
      if (p === 0) {
        assert.ok(
          row.pValue < 1e-300 && Number.isFinite(row.log10PValue) && row.log10PValue < -300,
          `p-value underflow: ${row.pValue}, log10 ${row.log10PValue}`,
        );
      } else {
        w.p = Math.max(w.p, rel(row.pValue, p));
        assert.ok(Math.abs(row.log10PValue - Math.log10(row.pValue)) < 1e-12 * Math.max(1, Math.abs(row.log10PValue)));
      }
      if (kr) w.ddf = Math.max(w.ddf, rel(row.ddf!, third));
      else assert.equal(row.df, third, 'df');
    });
  });
  return w;
}

interface Case {
  /** The fit: a reference fit case name, and the mmEst call that reproduces it. */
  fitRef: string;
  fit: () => MmEstOptions;
  options: (fit: MmEstOptions) => AnovaOptions;
  kr?: boolean;
}

const TC_LIST = {
  Intercept: [[1, 0]],
  Xeffect: [[0, 1]],
  Both: [
    [1, 0],
    [0, 1],
  ],
};
const EX1_KR = {
  Trial: [[0, 1, 0]],
  M1: [[0, 0, 1]],
  Both: [
    [0, 1, 0],
    [0, 0, 1],
  ],
};
const ex1KrFit = (): MmEstOptions => {
  const { h, varList, zList, m1 } = hybrid();
  return { y: h.trait, cofactor: [h.trial], x: { list: [m1] }, xColumnNames: ['M1'], varList, zList };
};
const ex2Fit = (): MmEstOptions => {
  const { h, varList, zList, frame } = hybrid();
  return { y: h.trait, cofactor: frame, x: h.markers, formula: '~ Trial+Xeffect+Xeffect:Trial', varList, zList };
};
const ex1Fit = (): MmEstOptions => {
  const { h, varList, zList } = hybrid();
  return { y: h.trait, cofactor: [h.trial], varList, zList };
};

const CASES: Record<string, Case> = {
  anova_typeI: { fitRef: 'anova_fit_qtl_reml', fit: () => qtl().reml, options: () => ({ type: 'I' }) },
  anova_typeIII: { fitRef: 'anova_fit_qtl_reml', fit: () => qtl().reml, options: () => ({ type: 'III' }) },
  anova_TC: { fitRef: 'anova_fit_qtl_reml', fit: () => qtl().reml, options: () => ({ contrasts: [[0, 1]] }) },
  anova_typeI_ml: { fitRef: 'anova_fit_qtl_ml', fit: () => ({ ...qtl().reml, method: 'ml' }), options: () => ({ type: 'I' }) },
  anova_typeIII_ml: { fitRef: 'anova_fit_qtl_ml', fit: () => ({ ...qtl().reml, method: 'ml' }), options: () => ({ type: 'III' }) },
  anova_ex2_typeI: { fitRef: 'ex2_vc_markers_interaction_reml', fit: ex2Fit, options: () => ({ type: 'I' }) },
  anova_ex2_typeIII: { fitRef: 'ex2_vc_markers_interaction_reml', fit: ex2Fit, options: () => ({ type: 'III' }) },
  anova_ex1_typeIII: { fitRef: 'ex1_vc_reml', fit: ex1Fit, options: () => ({ type: 'III' }) },
  anova_ex1_KR_fit_typeIII: { fitRef: 'anova_ex1_KR_fit', fit: ex1KrFit, options: () => ({ type: 'III' }) },
  anova_TC_KR: { fitRef: 'anova_fit_qtl_reml', fit: () => qtl().reml, options: (d) => ({ type: 'KR', contrasts: [[0, 1]], data: d as AnovaData }), kr: true },
  anova_TC_KR_list: {
    fitRef: 'anova_fit_qtl_reml',
    fit: () => qtl().reml,
    options: (d) => ({ type: 'KR', contrasts: TC_LIST, data: d as AnovaData }),
    kr: true,
  },
  anova_ex1_KR: { fitRef: 'anova_ex1_KR_fit', fit: ex1KrFit, options: (d) => ({ type: 'KR', contrasts: EX1_KR, data: d as AnovaData }), kr: true },
};

const HYBRID_FILES = [`${MM_DATA}vc_data.csv`, `${MM_DATA}vc_kinship_flint.csv`];

for (const [name, c] of Object.entries(CASES)) {
  sharedTest(
    `MM4LMM AnovaTest parity: ${name} (at MM4LMM's fit and at lmmkit's)`,
    [`${MM_REFS}${name}.json`, `${MM_REFS}${c.fitRef}.json`, ...HYBRID_FILES],
    (t: TestContext) => {
      const ref = readRef<RefTables>(name).result;
      const call = c.fit();
      const atRef = compare(anovaTest(refFit(c.fitRef), c.options(call)), ref, c.kr === true);
      const own = mmEst(call);
      const atOwn = compare(anovaTest(own, c.options(call)), ref, c.kr === true);
      t.diagnostic(`at MM4LMM's fit: ${JSON.stringify(atRef)}; at lmmkit's fit: ${JSON.stringify(atOwn)}`);
      for (const w of [atRef, atOwn]) assert.ok(w.stat < 1e-6 && w.p < 1e-6 && w.ddf < 1e-6, JSON.stringify(w));
    },
  );
}

sharedTest(
  "MM4LMM AnovaTest parity: anova_ex1_KR with ZList equals KR with VarList = Z K Z' (MM4LMM's only way)",
  [`${MM_REFS}anova_ex1_KR.json`, ...HYBRID_FILES],
  () => {
    const { varListFull } = hybrid();
    const call = ex1KrFit();
    const fit = refFit('anova_ex1_KR_fit');
    const withZ = anovaTest(fit, { type: 'KR', contrasts: EX1_KR, data: call });
    const full = anovaTest(fit, { type: 'KR', contrasts: EX1_KR, data: { ...call, varList: varListFull, zList: undefined } });
    withZ.tables[0]!.rows.forEach((r, j) => {
      const f = full.tables[0]!.rows[j]!;
      assert.ok(rel(r.statistic, f.statistic) < 1e-10 && rel(r.ddf!, f.ddf!) < 1e-10 && rel(r.pValue, f.pValue) < 1e-10);
    });
    const w = compare(full, readRef<RefTables>('anova_ex1_KR').result, true);
    assert.ok(w.stat < 1e-6 && w.p < 1e-6 && w.ddf < 1e-6, JSON.stringify(w));
  },
);

// --- Where MM4LMM's KR fails -------------------------------------------------

sharedTest(
  'KR without a contrast (MM4LMM: "object \'NbVar\' not found"): Type III terms, equal to the one-row contrasts',
  [`${MM_REFS}anova_KR_typeIII.json`, `${MM_REFS}anova_TC_KR_list.json`],
  () => {
    assert.match(readRef<RefTables>('anova_KR_typeIII').error!, /NbVar/);
    const { reml } = qtl();
    const res = anovaTest(refFit('anova_fit_qtl_reml'), { type: 'KR', data: reml });
    const list = readRef<RefTables>('anova_TC_KR_list').result;
    res.tables.forEach((t, i) => {
      assert.equal(t.test, 'KR (Type III)');
      assert.deepEqual(
        t.rows.map((r) => r.name),
        ['(Intercept)', 'Xeffect'],
      );
      t.rows.forEach((r, j) => {
        // Term j is MM4LMM's contrast j of the list (Intercept, Xeffect).
        assert.ok(rel(r.statistic, list.tables[i]!.data[0]![j]!) < 1e-6);
        assert.ok(rel(r.ddf!, list.tables[i]!.data[2]![j]!) < 1e-6);
        assert.equal(r.df, 1);
      });
      assert.ok(t.varBetaAdj !== undefined && t.varBetaAdj.rows === 2);
    });
  },
);

sharedTest(
  'KR without X and with p != number of components (MM4LMM: "argument of length 0", "non-conformable arrays")',
  [`${MM_REFS}anova_ex1_KR_noX.json`, `${MM_REFS}anova_ex1_KR_ones_fail.json`, ...HYBRID_FILES],
  (t) => {
    assert.match(readRef<RefTables>('anova_ex1_KR_noX').error!, /argument of length 0/);
    assert.match(readRef<RefTables>('anova_ex1_KR_ones_fail').error!, /non-conformable/);
    const { h, varList, zList, varListFull } = hybrid();
    // The null model of example 1 (p = 2, three components), with ZList.
    const data = ex1Fit();
    const noX = anovaTest(refFit('ex1_vc_reml'), { type: 'KR', contrasts: [[0, 1]], data });
    const row = noX.tables[0]!.rows[0]!;
    t.diagnostic(`ex1 null model, Trial by KR: F = ${row.statistic}, ddf = ${row.ddf}, p = ${row.pValue}`);
    // The same with MM4LMM's N x N VarList.
    const noXFull = anovaTest(refFit('ex1_vc_reml'), { type: 'KR', contrasts: [[0, 1]], data: { ...data, varList: varListFull, zList: undefined } });
    assert.ok(rel(noXFull.tables[0]!.rows[0]!.statistic, row.statistic) < 1e-10);
    // Type III terms by KR: the Trial term is the same test.
    const terms = anovaTest(refFit('ex1_vc_reml'), { type: 'KR', data });
    assert.deepEqual(
      terms.tables[0]!.rows.map((r) => r.name),
      ['(Intercept)', 'V1'],
    );
    assert.ok(rel(terms.tables[0]!.rows[1]!.statistic, row.statistic) < 1e-12);
    // The intercept's p-value is far below the double range: MM4LMM's 1 - pf gives 0; ours keeps its log10.
    const icpt = terms.tables[0]!.rows[0]!;
    assert.ok(icpt.log10PValue < -300 && Number.isFinite(icpt.log10PValue), `${icpt.log10PValue}`);
    // MM4LMM's anova_ex1_KR_ones_fail: X = list(a column of ones), aliased with
    // the intercept and dropped, so the model is the null model again.
    const ones = { y: h.trait, cofactor: [h.trial], x: { list: [new Matrix(h.n, 1, new Float64Array(h.n).fill(1))] }, varList, zList };
    // (Both fitted to the optimum: in GWAS mode the marker model starts from
    // the null model's variances, so MM4LMM's 1e-3 stopping rule would stop elsewhere.)
    const tight = { critVar: 1e-9, critLogLik: 1e-12, maxIter: 10000 };
    const fit = mmEst({ ...ones, ...tight });
    assert.equal(fit.models[0]!.beta.length, 2);
    assert.deepEqual(fit.models[0]!.dropped, ['X1']);
    const onesKr = anovaTest(fit, { type: 'KR', contrasts: { Trial: [[0, 1]] }, data: ones });
    const own = anovaTest(mmEst({ ...data, ...tight }), { type: 'KR', contrasts: [[0, 1]], data });
    const [r1, r2] = [onesKr.tables[0]!.rows[0]!, own.tables[0]!.rows[0]!];
    t.diagnostic(`X = list(ones) at lmmkit's optimum: F = ${r1.statistic}, ddf = ${r1.ddf}; null model at the optimum: F = ${r2.statistic}, ddf = ${r2.ddf}`);
    assert.ok(rel(r1.statistic, r2.statistic) < 1e-6 && rel(r1.ddf!, r2.ddf!) < 1e-6);
  },
);

sharedTest(
  'KR with a character matrix X and a formula using Xeffect (MM4LMM renames the column X1 and fails)',
  [`${MM_REFS}ex2_vc_markers_interaction_reml.json`, ...HYBRID_FILES],
  () => {
    const call = ex2Fit();
    const fit = refFit('ex2_vc_markers_interaction_reml');
    const res = anovaTest(fit, { type: 'KR', data: call, models: [0, 1] });
    assert.equal(res.tables.length, 2);
    const wald = anovaTest(fit, { type: 'III', models: [0, 1] });
    res.tables.forEach((t, i) => {
      assert.deepEqual(
        t.rows.map((r) => r.name),
        ['(Intercept)', 'Trial', 'Xeffect', 'Xeffect:Trial'],
      );
      t.rows.forEach((r, j) => {
        // KR's F is close to Wald / df with these large ddf, never equal.
        const w = wald.tables[i]!.rows[j]!;
        assert.ok(r.ddf! > 10 && r.ddf! < 432, `ddf ${r.ddf}`);
        assert.ok(Math.abs(r.statistic - w.statistic / w.df) < (0.05 * w.statistic) / w.df, `${r.statistic} vs ${w.statistic}`);
      });
    });
  },
);

// --- Errors and contrasts -----------------------------------------------------

sharedTest(
  'MM4LMM errors: err_anova_not_mmest, err_anova_KR_noVarList',
  [`${MM_REFS}err_anova_not_mmest.json`, `${MM_REFS}err_anova_KR_noVarList.json`],
  () => {
    const msg1 = readRef<RefTables>('err_anova_not_mmest').error!;
    assert.throws(
      () => anovaTest([[1, 2]] as never),
      (e: Error) => e.message.includes(msg1),
    );
    assert.throws(
      () => anovaTest({ models: [{ beta: [1] }] } as never),
      (e: Error) => e.message.includes(msg1),
    );
    const msg2 = readRef<RefTables>('err_anova_KR_noVarList').error!;
    const { q } = qtl();
    assert.throws(
      () => anovaTest(refFit('anova_fit_qtl_reml'), { type: 'KR', data: { y: q.y, x: q.geno } }),
      (e: Error) => e.message.includes(msg2),
    );
    assert.throws(
      () => anovaTest(refFit('anova_fit_qtl_reml'), { type: 'KR' }),
      (e: Error) => e.message.includes(msg2),
    );
  },
);

sharedTest('anova_TC_wrongdim: a contrast that fits no model is an error naming it (MM4LMM: NA and a message)', [`${MM_REFS}anova_TC_wrongdim.json`], () => {
  const ref = readRef<RefTables>('anova_TC_wrongdim');
  assert.ok(ref.result.tables.every((t) => t.data[0]!.every((v) => v === null)));
  assert.match(ref.messages[0]!, /10 tests were not performed because of incompatible dimension/);
  assert.throws(
    () => anovaTest(refFit('anova_fit_qtl_reml'), { contrasts: [[0, 1, 0]] }),
    /contrast 'C1' has 3 columns, but the models have 2 coefficients: \(Intercept\), Xeffect/,
  );
  assert.throws(() => anovaTest(refFit('anova_fit_qtl_reml'), { contrasts: { ok: [[0, 1]], bad: [[1, 1, 1]] } }), /contrast 'bad' has 3 columns/);
});

sharedTest('GWAS mode: a contrast that fits some models only gives an error line in the others', [`${MM_DATA}qtl_genotype.csv`], () => {
  const { q, varList } = qtl();
  const geno = q.geno.clone();
  for (let i = 0; i < q.n; i++) geno.set(i, 3, 1); // a monomorphic marker: Xeffect is dropped
  const call = { y: q.y, x: geno, xNames: q.snpNames, varList };
  const fit = mmEst(call);
  assert.equal(fit.models[3]!.beta.length, 1);
  for (const opts of [{ contrasts: { X: [[0, 1]] } }, { type: 'KR' as const, contrasts: { X: [[0, 1]] }, data: call, models: [2, 3] }]) {
    const res = anovaTest(fit, opts);
    const bad = res.tables.find((t) => t.index === 3)!.rows[0]!;
    assert.ok(Number.isNaN(bad.statistic) && Number.isNaN(bad.pValue));
    assert.match(bad.error!, /contrast 'X' has 2 columns, model 'SNP4' has 1 coefficients \(\(Intercept\)\)/);
    assert.match(res.messages.join('\n'), /1 test was not performed because of incompatible dimension/);
    const good = res.tables.find((t) => t.index === 2)!.rows[0]!;
    assert.ok(good.error === undefined && good.statistic > 0);
  }
  // Type I / III tables have the terms each model has.
  const t3 = anovaTest(fit, { type: 'III' });
  assert.deepEqual(
    t3.tables[3]!.rows.map((r) => r.name),
    ['(Intercept)'],
  );
  assert.deepEqual(
    t3.tables[2]!.rows.map((r) => r.name),
    ['(Intercept)', 'Xeffect'],
  );
});

sharedTest('contrasts: rank-deficient contrasts are reduced (message), names, one-row forms, Type I sums', [`${MM_REFS}anova_fit_qtl_reml.json`], () => {
  const fit = refFit('anova_fit_qtl_reml');
  const full = anovaTest(fit, {
    contrasts: {
      both: [
        [1, 0],
        [0, 1],
      ],
    },
  });
  const dup = anovaTest(fit, {
    contrasts: {
      both: [
        [1, 0],
        [0, 1],
        [1, 1],
      ],
    },
  });
  assert.match(dup.messages.join('\n'), /Contrast matrix number 1 was not full rank and has been reduced/);
  dup.tables.forEach((t, i) => {
    assert.ok(rel(t.rows[0]!.statistic, full.tables[i]!.rows[0]!.statistic) < 1e-12);
    assert.equal(t.rows[0]!.df, 2);
  });
  const a = anovaTest(fit, { contrasts: [0, 1] });
  const b = anovaTest(fit, { contrasts: Matrix.fromRows([[0, 1]]) });
  const c = anovaTest(fit, { contrasts: [[[0, 1]], [[1, 0]]] });
  assert.equal(a.tables[0]!.rows[0]!.statistic, b.tables[0]!.rows[0]!.statistic);
  assert.deepEqual(
    c.tables[0]!.rows.map((r) => r.name),
    ['C1', 'C2'],
  );
  assert.equal(c.tables[0]!.rows[0]!.statistic, a.tables[0]!.rows[0]!.statistic);
  // Type I statistics add up to the joint Wald test of all coefficients.
  const t1 = anovaTest(fit, { type: 'I' });
  t1.tables.forEach((t, i) => {
    const sum = t.rows.reduce((s, r) => s + r.statistic, 0);
    assert.ok(rel(sum, full.tables[i]!.rows[0]!.statistic) < 1e-10);
  });
  assert.throws(() => anovaTest(fit, { type: 'II' as never }), /type must be 'I', 'III' or 'KR'/);
  assert.throws(() => anovaTest(fit, { contrasts: [[0, 0]] }), /contrast 'C1' is zero/);
  assert.throws(() => anovaTest(fit, { models: [10] }), /models: 10 is not a model index/);
});

sharedTest('KR: an ML fit is refused; the sigma2 option re-evaluates at given variances', [`${MM_REFS}anova_fit_qtl_ml.json`], () => {
  const { reml } = qtl();
  assert.throws(() => anovaTest(refFit('anova_fit_qtl_ml'), { type: 'KR', data: reml }), /Kenward-Roger needs a REML fit, model 'SNP1' was fitted by ML/);
  // At the fit's own sigma2 with beta recomputed: MM4LMM's beta/varBeta are
  // from its last evaluated point, one MM step before sigma2, so close but not equal.
  const fit = refFit('anova_fit_qtl_reml');
  const at = anovaTest(fit, { type: 'III', data: reml, sigma2: fit.models.map((m) => m.sigma2!) });
  const plain = anovaTest(fit, { type: 'III' });
  at.tables.forEach((t, i) => {
    t.rows.forEach((r, j) => {
      assert.ok(rel(r.statistic, plain.tables[i]!.rows[j]!.statistic) < 1e-2);
    });
  });
  assert.ok(at.tables[0]!.sigma2 !== undefined);
  assert.throws(() => anovaTest(fit, { type: 'III', sigma2: [1, 1] }), /sigma2 option needs data/);
});

test('anovaTest: term names without an intercept, and the log10 p-value where the p-value underflows', () => {
  // A model without intercept: MM4LMM would call the first term '(Intercept)'.
  const fit: AnovaFitInput = {
    models: [
      {
        beta: [40, 0.5],
        varBeta: Matrix.fromRows([
          [0.01, 0],
          [0, 1],
        ]),
        attr: [1, 2],
        factors: ['a', 'b'],
      },
    ],
  };
  const res = anovaTest(fit, { type: 'III' });
  assert.deepEqual(
    res.tables[0]!.rows.map((r) => r.name),
    ['a', 'b'],
  );
  const big = res.tables[0]!.rows[0]!;
  assert.equal(big.statistic, 160000);
  assert.equal(big.pValue, 0);
  assert.ok(big.log10PValue < -34000 && Number.isFinite(big.log10PValue));
  assert.equal(res.tables[0]!.model, '');
});
