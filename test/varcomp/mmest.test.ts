// mmEst: parity with every MMEst case of MM4LMM 3.0.3 in ../shared/refs/mm4lmm
// (names, attr, Factors, sigma2, beta, varBeta, logLik, NbIt), MM4LMM's
// errors, and the backends agreeing under tight criteria.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Matrix } from '../../src/index.js';
import { mmEst, type MmEstOptions, type MmEstResult } from '../../src/varcomp/mmest.js';
import { mmEstParallel } from '../../src/varcomp/mmest-parallel.js';
import { hybridData, qtlData, readRef, MM_REFS, MM_DATA } from '../mm4lmm-data.js';
import { backendsUnderTest, sharedTest } from '../support.js';

type Case = () => MmEstOptions;

function hybrid() {
  const h = hybridData();
  const eye = Matrix.identity(h.n);
  const varList = [
    { name: 'Flint', r: h.kinF.k },
    { name: 'Dent', r: h.kinD.k },
    { name: 'Error', r: eye },
  ];
  const zList = [h.zf, h.zd, eye];
  const frame = {
    names: ['Trial', 'CodeHybrid', 'CodeDent', 'CodeFlint', 'Trait'],
    columns: [h.trial, h.codeHybrid, h.codeDent, h.codeFlint, h.trait],
  };
  return { h, varList, zList, frame };
}
function qtl() {
  const q = qtlData();
  return {
    q,
    varList: [
      { name: 'Additive', r: q.kinship },
      { name: 'Error', r: Matrix.identity(q.n) },
    ],
  };
}

const CASES: Record<string, Case> = {
  ex1_vc_reml: () => {
    const { h, varList, zList } = hybrid();
    return { y: h.trait, cofactor: [h.trial], varList, zList };
  },
  ex1_vc_reml_henderson_true: () => {
    const { h, varList, zList } = hybrid();
    return { y: h.trait, cofactor: [h.trial], varList, zList, henderson: true };
  },
  ex1_vc_reml_henderson_false: () => {
    const { h, varList, zList } = hybrid();
    return { y: h.trait, cofactor: [h.trial], varList, zList, henderson: false };
  },
  ex1_vc_ml: () => {
    const { h, varList, zList } = hybrid();
    return { y: h.trait, cofactor: [h.trial], varList, zList, method: 'ml' };
  },
  ex1_vc_reml_formula: () => {
    const { h, varList, zList, frame } = hybrid();
    return { y: h.trait, cofactor: frame, formula: '~ Trial', varList, zList };
  },
  ex1_vc_ml_formula: () => {
    const { h, varList, zList, frame } = hybrid();
    return { y: h.trait, cofactor: frame, formula: '~ Trial', varList, zList, method: 'ml' };
  },
  ex2_vc_markers_interaction_reml: () => {
    const { h, varList, zList, frame } = hybrid();
    return { y: h.trait, cofactor: frame, x: h.markers, formula: '~ Trial+Xeffect+Xeffect:Trial', varList, zList };
  },
  ex2_vc_markers_interaction_reml_henderson_true: () => ({ ...CASES.ex2_vc_markers_interaction_reml!(), henderson: true }),
  ex2_vc_markers_interaction_reml_henderson_false: () => ({ ...CASES.ex2_vc_markers_interaction_reml!(), henderson: false }),
  ex2_vc_markers_interaction_ml: () => ({ ...CASES.ex2_vc_markers_interaction_reml!(), method: 'ml' }),
  ex3_qtl_gwas_reml: () => {
    const { q, varList } = qtl();
    return { y: q.y, x: q.geno, xNames: q.snpNames, varList, critVar: 1e-4 };
  },
  ex3_qtl_gwas_ml: () => ({ ...CASES.ex3_qtl_gwas_reml!(), method: 'ml' }),
  ex3_qtl_nullmodel_reml: () => {
    const { q, varList } = qtl();
    return { y: q.y, varList, critVar: 1e-4 };
  },
  ex3_qtl_nullmodel_ml: () => ({ ...CASES.ex3_qtl_nullmodel_reml!(), method: 'ml' }),
  anova_fit_qtl_reml: () => {
    const { q, varList } = qtl();
    return { y: q.y, x: q.geno, xNames: q.snpNames, varList };
  },
  anova_fit_qtl_ml: () => ({ ...CASES.anova_fit_qtl_reml!(), method: 'ml' }),
  anova_ex1_KR_fit: () => {
    const { h, varList, zList } = hybrid();
    const m1 = new Matrix(
      h.n,
      1,
      Float64Array.from(h.markers[0]!, (v) => (v === '11' ? 1 : 0)),
    );
    return { y: h.trait, cofactor: [h.trial], x: { list: [m1] }, xColumnNames: ['M1'], varList, zList };
  },
};

/** Worst relative differences of a fit against MM4LMM's, and identical names. */
function compare(res: MmEstResult, name: string): { sigma2: number; beta: number; varBeta: number; logLik: number; nbIt: number } {
  const ref = readRef(name).result;
  assert.equal(res.models.length, ref.nModels, 'number of models');
  assert.deepEqual(res.modelNames, ref.modelNames, 'model names');
  const w = { sigma2: 0, beta: 0, varBeta: 0, logLik: Infinity, nbIt: 0 };
  res.models.forEach((m, i) => {
    const r = ref.models[i]!;
    assert.deepEqual(m.betaNames, r.BetaNames, `BetaNames of model ${i + 1}`);
    assert.deepEqual(m.sigma2Names, r.Sigma2Names, `Sigma2Names of model ${i + 1}`);
    assert.deepEqual(m.factors, r.Factors, `Factors of model ${i + 1}`);
    assert.deepEqual(Array.from(m.attr), r.attr, `attr of model ${i + 1}`);
    assert.equal(m.logLikName, r.LogLikName);
    assert.equal(m.method === 'reml' ? 'Reml' : 'ML', r.Method);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    m.sigma2.forEach((v, k) => {
      w.sigma2 = Math.max(w.sigma2, rel(v, r.Sigma2[k]!));
    });
    m.beta.forEach((v, k) => {
      w.beta = Math.max(w.beta, rel(v, r.Beta[k]!));
    });
    // varBeta relative to the diagonal's scale (off-diagonal entries can be ~0).
    r.VarBeta.forEach((row, a) => {
      row.forEach((v, b) => {
        w.varBeta = Math.max(w.varBeta, Math.abs(m.varBeta.get(a, b) - v) / Math.sqrt(Math.abs(r.VarBeta[a]![a]! * r.VarBeta[b]![b]!)));
      });
    });
    w.logLik = Math.min(w.logLik, m.logLik - r.LogLik);
    w.nbIt = Math.max(w.nbIt, Math.abs(m.nbIt - r.NbIt));
  });
  return w;
}

for (const [name, make] of Object.entries(CASES)) {
  sharedTest(`MM4LMM parity: ${name}`, [`${MM_REFS}${name}.json`, `${MM_DATA}vc_data.csv`], () => {
    const w = compare(mmEst(make()), name);
    // The tolerances: sigma2, beta and varBeta within 1e-3 relative,
    // logLik at least MM4LMM's - 1e-6. lmmkit follows MM4LMM's iteration path,
    // so it is in fact within rounding of MM4LMM, with the same NbIt.
    assert.ok(w.sigma2 < 1e-3 && w.beta < 1e-3 && w.varBeta < 1e-3, JSON.stringify(w));
    assert.ok(w.logLik >= -1e-6, `logLik ${w.logLik} below MM4LMM's`);
    assert.ok(w.sigma2 < 1e-9 && w.beta < 1e-9 && w.varBeta < 1e-9, `same iteration path as MM4LMM: ${JSON.stringify(w)}`);
    assert.equal(w.nbIt, 0, 'the same number of iterations as MM4LMM');
  });
}

sharedTest('mmEst: the Henderson rule and messages as MM4LMM', [`${MM_DATA}vc_data.csv`], () => {
  assert.equal(mmEst(CASES.ex1_vc_reml!()).path, 'henderson');
  assert.equal(mmEst(CASES.ex1_vc_ml!()).path, 'dense');
  assert.equal(mmEst(CASES.ex1_vc_reml_henderson_false!()).path, 'dense');
  const two = mmEst({ ...CASES.ex3_qtl_nullmodel_reml!(), henderson: true });
  assert.equal(two.path, 'eigen');
  assert.match(two.messages.join('\n'), /joint diagonalization trick is used/);
  const ml = mmEst({ ...CASES.ex1_vc_ml!(), henderson: true });
  assert.match(ml.messages.join('\n'), /not available for ML inference/);
});

sharedTest('mmEst: tight criteria give the optimum, the same on every backend and path', [`${MM_DATA}vc_data.csv`], () => {
  const base = { ...CASES.ex1_vc_reml!(), critVar: 1e-10, critLogLik: 1e-10, maxIter: 5000 };
  const fits = backendsUnderTest().flatMap((backend) => [mmEst({ ...base, backend, henderson: true }), mmEst({ ...base, backend, henderson: false })]);
  const first = fits[0]!.models[0]!;
  for (const f of fits.slice(1)) {
    const m = f.models[0]!;
    m.sigma2.forEach((v, k) => {
      assert.ok(Math.abs(v - first.sigma2[k]!) < 1e-7 * first.sigma2[k]!, `sigma2 ${k}: ${v} vs ${first.sigma2[k]}`);
    });
    m.beta.forEach((v, k) => {
      assert.ok(Math.abs(v - first.beta[k]!) < 1e-7 * Math.abs(first.beta[k]!));
    });
    assert.ok(Math.abs(m.logLik - first.logLik) < 1e-7 * Math.abs(first.logLik));
  }
  // At the optimum the log-likelihood is at least MM4LMM's (which stops at 1e-3).
  assert.ok(first.logLik >= readRef('ex1_vc_reml').result.models[0]!.LogLik - 1e-9);
  // lme4's REML scale adds -(N - p)/2 log(2 pi).
  assert.ok(Math.abs(first.logLikLme4 - (first.logLik - 0.5 * (432 - 2) * Math.log(2 * Math.PI))) < 1e-9);
});

const ERRORS: [string, () => MmEstOptions, RegExp][] = [
  [
    'err_dim_Y_cofactor',
    () => {
      const { q, varList } = qtl();
      return { y: q.y.slice(1), cofactor: new Matrix(259, 1, new Float64Array(259).fill(1)), varList };
    },
    /Incompatible dimension between Y and Cofactor/,
  ],
  [
    'err_dim_Y_X',
    () => {
      const { q, varList } = qtl();
      return { y: q.y, x: new Matrix(258, 10), varList };
    },
    /Incompatible dimension between Y and X/,
  ],
  [
    'err_ZList_len',
    () => {
      const { h, varList, zList } = hybrid();
      return { y: h.trait, varList, zList: zList.slice(0, 2) };
    },
    /Lists ZList and VarList should have the same number of elements/,
  ],
  [
    'err_Init_len',
    () => {
      const { q, varList } = qtl();
      return { y: q.y, varList, init: [1, 1, 1] };
    },
    /The length of Init and the number of variance are not compatible/,
  ],
  [
    'err_Z_Var_dims',
    () => {
      const { h, zList } = hybrid();
      const eye = Matrix.identity(h.n);
      return {
        y: h.trait,
        varList: [
          { name: 'a', r: hybrid().h.kinD.k },
          { name: 'b', r: hybrid().h.kinF.k },
          { name: 'e', r: eye },
        ],
        zList,
        henderson: false,
      };
    },
    /Incompatible dimensions between Zlist and VarList/,
  ],
];
for (const [name, make, re] of ERRORS) {
  sharedTest(`MM4LMM error: ${name}`, [`${MM_REFS}${name}.json`], () => {
    const ref = readRef<{ error: string }>(name);
    assert.match(ref.error, re, 'the reference has the message we reproduce');
    assert.throws(() => mmEst(make()), re);
  });
}

test('mmEst: bad input beyond MM4LMM (NaN in y, non-symmetric or non-finite R, unknown formula column, singular cofactors)', () => {
  const n = 6;
  const eye = Matrix.identity(n);
  const y = [1, 2, NaN, 4, NaN, 6];
  assert.throws(() => mmEst({ y, varList: [{ name: 'Error', r: eye }] }), /y has 2 missing or non-finite values \(observations 3, 5/);
  const ok = [1.2, 2.3, 0.7, 4.1, 3.3, 6.2];
  const ns = Matrix.identity(n);
  ns.set(0, 1, 0.5);
  assert.throws(
    () =>
      mmEst({
        y: ok,
        varList: [
          { name: 'K', r: ns },
          { name: 'Error', r: eye },
        ],
      }),
    /not symmetric/,
  );
  const nf = Matrix.identity(n);
  nf.set(2, 2, Infinity);
  assert.throws(
    () =>
      mmEst({
        y: ok,
        varList: [
          { name: 'K', r: nf },
          { name: 'Error', r: eye },
        ],
      }),
    /non-finite/,
  );
  const cof = { names: ['a'], columns: [Float64Array.of(1, 2, 3, 4, 5, 6)] };
  assert.throws(() => mmEst({ y: ok, cofactor: cof, formula: '~ b', varList: [{ name: 'Error', r: eye }] }), /b/);
  // A cofactor column equal to another is dropped (reported), not a crash.
  const dup = Matrix.fromRows([
    [1, 1],
    [2, 2],
    [3, 3],
    [4, 4],
    [5, 5],
    [6, 6],
  ]);
  const fit = mmEst({ y: ok, cofactor: dup, varList: [{ name: 'Error', r: eye }] });
  assert.deepEqual(fit.models[0]!.dropped, ['V2']);
  assert.equal(fit.models[0]!.beta.length, 2);
  assert.throws(() => mmEst({ y: ok, varList: [] }), /at least one component/);
  assert.throws(() => mmEst({ y: ok, varList: [{ name: 'Error', r: eye }], method: 'bayes' as never }), /method must be/);
});

sharedTest("mmEstParallel: worker threads give mmEst's results exactly, in marker order", [`${MM_REFS}ex3_qtl_gwas_reml.json`], async () => {
  const opts = { ...CASES.ex3_qtl_gwas_reml!(), batchSize: 3 };
  const serial = mmEst(opts);
  const parallel = await mmEstParallel({ ...opts, threads: 2 });
  assert.deepEqual(parallel.modelNames, serial.modelNames);
  parallel.models.forEach((m, i) => {
    const s = serial.models[i]!;
    assert.deepEqual(Array.from(m.sigma2), Array.from(s.sigma2));
    assert.deepEqual(Array.from(m.beta), Array.from(s.beta));
    assert.deepEqual(Array.from(m.varBeta.data), Array.from(s.varBeta.data));
    assert.equal(m.logLik, s.logLik);
    assert.equal(m.nbIt, s.nbIt);
  });
  assert.equal(compare(parallel, 'ex3_qtl_gwas_reml').nbIt, 0);
  await assert.rejects(mmEstParallel({ ...opts, threads: 0 }), /threads must be a positive integer/);
});

test("mmEstStream: markers streamed from a bed file give mmEst's models on the imputed, filtered dosages", async () => {
  const { simulateGwas, writeBed, openBed, kinship } = await import('../../src/node.js');
  const { mmEstStream } = await import('../../src/varcomp/mmest-stream.js');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'lmmkit-mmstream-'));
  try {
    const sim = simulateGwas({ samples: 150, variants: 60, causal: 2, h2Causal: 0.3, seed: 4 });
    sim.dosages.data[3] = NaN;
    for (let i = 0; i < 150; i++) sim.dosages.data[150 * 7 + i] = 0;
    await writeBed(join(dir, 's'), sim.dosages, sim.samples, sim.variants);
    const bed = await openBed(join(dir, 's'));
    try {
      const { k } = await kinship(bed, { method: 'standardized' });
      for (let i = 0; i < 150; i++) k.data[i + i * 150]! += 1e-3;
      const varList = [
        { name: 'Additive', r: k },
        { name: 'Error', r: Matrix.identity(150) },
      ];
      const ids: string[] = [];
      const streamed: MmEstResult['models'] = [];
      for await (const b of mmEstStream({ source: bed, y: sim.phenotype, varList, batchSize: 25, minMaf: 0.01 })) {
        ids.push(...b.variants.id);
        streamed.push(...b.models);
      }
      assert.equal(ids.length, 59, 'the monomorphic variant is filtered');
      assert.ok(!ids.includes(sim.variants.id[7]!));
      // The same markers in memory, mean-imputed.
      const cols = sim.variants.id.map((_, j) => j).filter((j) => j !== 7);
      const x = new Matrix(150, cols.length);
      cols.forEach((j, c) => {
        const col = sim.dosages.col(j);
        const obs = col.filter((v) => !Number.isNaN(v));
        const mean = obs.reduce((a, b) => a + b, 0) / obs.length;
        x.data.set(
          col.map((v) => (Number.isNaN(v) ? mean : v)),
          c * 150,
        );
      });
      const direct = mmEst({ y: sim.phenotype, x, varList });
      streamed.forEach((m, i) => {
        const d = direct.models[i]!;
        assert.ok(Math.abs(m.beta[1]! - d.beta[1]!) <= 1e-10 * Math.abs(d.beta[1]!) + 1e-14, `marker ${i}`);
        assert.ok(Math.abs(m.logLik - d.logLik) < 1e-9);
        assert.equal(m.nbIt, d.nbIt);
      });
    } finally {
      await bed.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

sharedTest("mmEst: MM4LMM's messages, printed with verbose", [`${MM_REFS}ex3_qtl_nullmodel_reml.json`], (t) => {
  const quiet = t.mock.method(console, 'warn', () => undefined);
  const res = mmEst(CASES.ex3_qtl_nullmodel_reml!());
  // The QTL kinship has negative eigenvalues: MM4LMM says so too (ex3_qtl_nullmodel_reml's messages).
  const want = readRef('ex3_qtl_nullmodel_reml').messages;
  assert.deepEqual(res.messages, want);
  assert.equal(quiet.mock.callCount(), 0, 'silent unless verbose');
  mmEst({ ...CASES.ex3_qtl_nullmodel_reml!(), verbose: true });
  assert.equal(quiet.mock.callCount(), 1);
  assert.match(String(quiet.mock.calls[0]!.arguments[0]), /mmEst: Matrices are not positive definite/);
});
