// mmBlup and mmVcov (MM4LMM's MMBlup and MMVcov): parity with every blup_*
// and vcov_* case of MM4LMM 3.0.3 in ../shared/refs/mm4lmm, at MM4LMM's own
// variances and at lmmkit's own fit; MM4LMM's errors; the information
// matrices checked against finite-difference Hessians of the REML
// log-likelihood and against Monte Carlo expectations; BLUPs against
// Henderson's mixed-model equations; bad input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Matrix, type Backend } from '../../src/index.js';
import { Rng } from '../../src/sim/rng.js';
import { mmBlup, type MmData, type MmFitInput } from '../../src/varcomp/blup.js';
import { modelAt } from '../../src/varcomp/model-at.js';
import { mmEst, type MmEstResult } from '../../src/varcomp/mmest.js';
import { averageInformation, expectedInformation, mmVcov } from '../../src/varcomp/vcov.js';
import { hybridData, qtlData, readRef, MM_DATA, MM_REFS, type RefModel } from '../mm4lmm-data.js';
import { backendsUnderTest, randn, randomSpd, sharedTest } from '../support.js';

interface BlupRef {
  result: Record<string, { names: string[]; values: number[] }>;
}
interface VcovRef {
  result: { vcov: number[][]; names?: string[]; SE: number[] };
}

function hybrid() {
  const h = hybridData();
  const eye = Matrix.identity(h.n);
  const varList = [
    { name: 'Flint', r: h.kinF.k, ids: h.kinF.ids },
    { name: 'Dent', r: h.kinD.k, ids: h.kinD.ids },
    { name: 'Error', r: eye },
  ];
  const data: MmData = { y: h.trait, cofactor: [h.trial], varList, zList: [h.zf, h.zd, eye] };
  return { h, data };
}

/** MM4LMM's fit as reported in a reference (its Sigma2 and Beta). */
function refFit(name: string): MmFitInput & { ref: RefModel } {
  const ref = readRef(name).result.models[0]!;
  return { sigma2: ref.Sigma2, beta: ref.Beta, method: ref.Method === 'Reml' ? 'reml' : 'ml', sigma2Names: ref.Sigma2Names, ref };
}

/** Worst |a - b| over every component of two BLUP results, and the names checked. */
function blupDiff(got: ReturnType<typeof mmBlup>, ref: BlupRef['result'], errorNames: 'none' | 'default'): number {
  assert.deepEqual(Object.keys(got), Object.keys(ref), 'components, in order');
  let worst = 0;
  for (const [k, r] of Object.entries(ref)) {
    const g = got[k]!;
    assert.equal(g.values.length, r.values.length, `${k}: length`);
    if (r.names.length > 0) assert.deepEqual(g.names, r.names, `${k}: names (kinship row names)`);
    else if (errorNames === 'default')
      assert.deepEqual(
        g.names,
        Array.from({ length: r.values.length }, (_, i) => String(i + 1)),
        `${k}: default names`,
      );
    g.values.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - r.values[i]!));
    });
  }
  return worst;
}

function matDiff(a: Matrix, rows: number[][]): number {
  let d = 0;
  rows.forEach((row, i) => {
    row.forEach((v, j) => {
      d = Math.max(d, Math.abs(a.get(i, j) - v));
    });
  });
  return d;
}

const BLUP_CASES: [string, string][] = [
  ['blup_ex1_reml', 'ex1_vc_reml'],
  ['blup_ex1_ml', 'ex1_vc_ml'],
];

for (const [blupCase, fitCase] of BLUP_CASES) {
  sharedTest(`MM4LMM parity: ${blupCase}`, [`${MM_REFS}${blupCase}.json`, `${MM_REFS}${fitCase}.json`, `${MM_DATA}vc_data.csv`], (t) => {
    const { data } = hybrid();
    const ref = readRef<BlupRef>(blupCase).result;
    const fit = refFit(fitCase);
    for (const backend of backendsUnderTest()) {
      // At MM4LMM's Sigma2 and Beta: the same computation, to rounding.
      const atRef = blupDiff(mmBlup(fit, data, { backend }), ref, 'default');
      assert.ok(atRef < 1e-6, `BLUPs at MM4LMM's fit within 1e-6: ${atRef}`);
      assert.ok(atRef < 1e-12, `... in fact to rounding: ${atRef}`);
      // The GLS beta at Sigma2 is not MMBlup's: MMEst reports Sigma2 one MM
      // step beyond the point where its Beta was computed.
      const gls = blupDiff(mmBlup(fit, data, { backend, beta: 'gls' }), ref, 'default');
      assert.ok(gls > 1e-7 && gls < 1e-4, `the GLS beta differs from MMBlup's at ~1e-6: ${gls}`);
      // At lmmkit's own fit: mmEst follows MM4LMM's iteration path (Sigma2
      // and Beta to ~1e-12 relative), so the BLUPs agree to ~1e-12 as well.
      const own = mmEst({ y: data.y, cofactor: data.cofactor, varList: data.varList, zList: data.zList, method: fit.method, backend });
      const atOwn = blupDiff(mmBlup(own, data, { backend }), ref, 'default');
      assert.ok(atOwn < 1e-8, `BLUPs at lmmkit's fit: ${atOwn}`);
      t.diagnostic(
        `${backend.name}: at MM4LMM's sigma2 ${atRef.toExponential(2)}, GLS beta ${gls.toExponential(2)}, at lmmkit's fit ${atOwn.toExponential(2)}`,
      );
    }
    // At the exact optimum (tight criteria) the BLUPs move by what MM4LMM's
    // stopping rule (CritVar = CritLogLik = 1e-3) leaves: sigma2 off by up to
    // ~1e-3 relative moves the BLUPs by up to ~1e-3 of their scale.
    const tight = mmEst({
      y: data.y,
      cofactor: data.cofactor,
      varList: data.varList,
      zList: data.zList,
      method: fit.method,
      critVar: 1e-10,
      critLogLik: 1e-10,
      maxIter: 5000,
    });
    const atOpt = blupDiff(mmBlup(tight, data), ref, 'default');
    assert.ok(atOpt < 1e-2, `BLUPs at the exact optimum vs MM4LMM's: ${atOpt}`);
    t.diagnostic(`at the exact optimum: ${atOpt.toExponential(2)}`);
  });
}

const VCOV_CASES: [string, string, 'expected' | 'ai'][] = [
  ['vcov_ex1_expected', 'ex1_vc_reml', 'expected'],
  ['vcov_ex1_AI', 'ex1_vc_reml', 'ai'],
  ['vcov_ex1_ml_expected', 'ex1_vc_ml', 'expected'],
];

for (const [vcovCase, fitCase, information] of VCOV_CASES) {
  sharedTest(`MM4LMM parity: ${vcovCase}`, [`${MM_REFS}${vcovCase}.json`, `${MM_REFS}${fitCase}.json`, `${MM_DATA}vc_data.csv`], (t) => {
    const { data } = hybrid();
    const ref = readRef<VcovRef>(vcovCase).result;
    const fit = refFit(fitCase);
    const own = mmEst({ y: data.y, cofactor: data.cofactor, varList: data.varList, zList: data.zList, method: fit.method });
    for (const backend of backendsUnderTest()) {
      for (const [label, f] of [
        ['MM4LMM', fit],
        ['lmmkit', own],
      ] as const) {
        const v = mmVcov(f, data, { information, mm4lmm: true, backend });
        assert.deepEqual(v.names, ['Flint', 'Dent', 'Error']);
        if (ref.names !== undefined) assert.deepEqual(v.names, ref.names);
        const d = matDiff(v.vcov, ref.vcov);
        let dse = 0;
        v.se.forEach((s, k) => {
          dse = Math.max(dse, Math.abs(s - ref.SE[k]!));
        });
        assert.ok(d < 1e-6 && dse < 1e-6, `${label} fit: vcov within 1e-6 (${d}), SE (${dse})`);
        // lmmkit's fit is MM4LMM's to ~1e-12 (same iteration path): so is its vcov.
        assert.ok(d < 1e-10 && dse < 1e-10, `${label} fit: to rounding: ${d}, ${dse}`);
        t.diagnostic(`${backend.name}, ${label}'s sigma2: vcov ${d.toExponential(2)}, SE ${dse.toExponential(2)}`);
      }
    }
    const fisher = mmVcov(fit, data, { information });
    if (information === 'ai') {
      // The AI has no diagonal slip: mm4lmm changes nothing.
      assert.ok(matDiff(fisher.vcov, ref.vcov) < 1e-10);
    } else {
      // lmmkit's Fisher information differs from MMVcov's on the diagonal
      // (see mmVcov's doc and the identity test below).
      const d = matDiff(fisher.vcov, ref.vcov);
      assert.ok(d > 1e-3, `the Fisher information is not MMVcov's: ${d}`);
      t.diagnostic(
        `Fisher vs MMVcov: vcov differs by ${d.toExponential(2)}; SE ${Array.from(fisher.se, (s) => s.toFixed(4)).join(', ')} vs MMVcov ${ref.SE.map((s) => s.toFixed(4)).join(', ')}`,
      );
    }
  });
}

sharedTest('MM4LMM error: err_blup_with_X (a null-model fit with markers)', [`${MM_REFS}err_blup_with_X.json`, `${MM_DATA}vc_data.csv`], () => {
  const ref = readRef<{ error: string }>('err_blup_with_X');
  const { h, data } = hybrid();
  const fit = mmEst({ y: data.y, cofactor: data.cofactor, varList: data.varList, zList: data.zList });
  const ones = new Matrix(h.n, 1, new Float64Array(h.n).fill(1));
  assert.ok(ref.error.startsWith('This function does not handle cases where X is not NULL'));
  assert.throws(
    () => mmBlup(fit, { ...data, x: ones }),
    (e: Error) => e.message.includes(ref.error),
  );
});

sharedTest('MM4LMM error: err_vcov_info', [`${MM_REFS}err_vcov_info.json`, `${MM_DATA}vc_data.csv`], () => {
  const ref = readRef<{ error: string }>('err_vcov_info');
  const { data } = hybrid();
  const fit = refFit('ex1_vc_reml');
  assert.throws(
    () => mmVcov(fit, data, { information: 'Observed' as never }),
    (e: Error) => e.message.includes(ref.error),
  );
  // MM4LMM's spellings are accepted.
  const a = mmVcov(fit, data, { information: 'AI' });
  const b = mmVcov(fit, data, { information: 'ai' });
  assert.equal(a.kind, 'ai');
  assert.deepEqual(Array.from(a.vcov.data), Array.from(b.vcov.data));
  assert.equal(mmVcov(fit, data, { information: 'Expected' }).kind, 'expected');
});

sharedTest("mmVcov: at the REML optimum AI sigma2 = I_E sigma2 exactly; MMVcov's diagonal breaks it", [`${MM_DATA}vc_data.csv`], (t) => {
  // At a stationary point of the REML likelihood y'P K_i P y = tr(P K_i), and
  // sum_j sigma2_j K_j = V with P V P = P give
  //   sum_j AI_ij sigma2_j = 1/2 y'P K_i P y = 1/2 tr(P K_i) = sum_j I_ij sigma2_j
  // for the Fisher information I: the two informations "coincide" along sigma2.
  const { data } = hybrid();
  const opt = mmEst({ y: data.y, cofactor: data.cofactor, varList: data.varList, zList: data.zList, critVar: 1e-11, critLogLik: 1e-11, maxIter: 10000 });
  const s = opt.models[0]!.sigma2;
  const times = (m: Matrix) => Array.from({ length: 3 }, (_, i) => m.get(i, 0) * s[0]! + m.get(i, 1) * s[1]! + m.get(i, 2) * s[2]!);
  const ai = times(mmVcov(opt, data, { information: 'ai' }).information);
  const ie = times(mmVcov(opt, data).information);
  const mm = times(mmVcov(opt, data, { mm4lmm: true }).information);
  const rel = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!) / Math.abs(b[i]!)));
  assert.ok(rel(ai, ie) < 1e-6, `AI sigma2 vs I_E sigma2: ${rel(ai, ie)}`);
  assert.ok(rel(mm, ie) > 1e-2, `MMVcov's diagonal does not satisfy it: ${rel(mm, ie)}`);
  t.diagnostic(`|AI s - I s| / |I s| = ${rel(ai, ie).toExponential(2)}; with MMVcov's diagonal ${rel(mm, ie).toExponential(2)}`);
});

/** A small model: y = X b + Z1 u1 + u2 + e with a random kinship-like R1 (N = 24, q1 = 8), and a second N x N component. */
function smallProblem(seed: number) {
  const rng = new Rng(seed);
  const n = 24;
  const q = 8;
  const z = new Matrix(n, q);
  for (let i = 0; i < n; i++) z.set(i, i % q, 1);
  const r1 = randomSpd(rng, q, 20);
  const r2 = randomSpd(rng, n, 5);
  const x = randn(rng, n, 2);
  for (let i = 0; i < n; i++) x.set(i, 0, 1);
  const varList = [
    { name: 'G', r: r1 },
    { name: 'H', r: r2 },
    { name: 'Error', r: Matrix.identity(n) },
  ];
  const zList = [z, undefined, undefined];
  const components = varList.map((v, k) => ({ name: v.name, r: v.r, z: zList[k] }));
  const sigma2 = Float64Array.of(1.3, 0.6, 0.9);
  const beta = Float64Array.of(0.5, -1);
  return { rng, n, q, x, varList, zList, components, sigma2, beta };
}

/** y ~ N(X beta, V). */
function draw(rng: Rng, x: Matrix, beta: Float64Array, lv: Matrix, be: Backend): Float64Array {
  const y = be.gemv(lv, rng.normals(x.rows));
  be.gemv(x, beta, { beta: 1, y });
  return y;
}

test('mmVcov: AI = (observed + expected)/2, the observed information from a finite-difference Hessian of the REML log-likelihood', () => {
  // For a covariance linear in sigma2 the REML observed information is
  // I_O = -1/2 tr(P K_i P K_j) + y'P K_i P K_j P y, so (I_O + I_E)/2 is the AI
  // at every sigma2 (not only at the optimum). I_O comes from central second
  // differences of modelAt's log-likelihood, I_E from its closed form.
  for (const backend of backendsUnderTest()) {
    const pb = smallProblem(7);
    const v0 = modelAt(new Float64Array(pb.n), pb.x, pb.components, pb.sigma2, 'reml', backend);
    const y = draw(pb.rng, pb.x, pb.beta, backend.potrf(v0.v), backend);
    const ll = (s: ArrayLike<number>) => modelAt(y, pb.x, pb.components, s, 'reml', backend).logLik;
    const nc = 3;
    const h = pb.sigma2.map((s) => 1e-3 * s);
    const obs = new Matrix(nc, nc);
    const at = (di: number, dj: number, i: number, j: number) => {
      const s = Float64Array.from(pb.sigma2);
      s[i]! += di * h[i]!;
      s[j]! += dj * h[j]!;
      return ll(s);
    };
    for (let i = 0; i < nc; i++) {
      for (let j = 0; j < nc; j++) {
        const d2 =
          i === j
            ? (at(1, 0, i, i) - 2 * ll(pb.sigma2) + at(-1, 0, i, i)) / (h[i]! * h[i]!)
            : (at(1, 1, i, j) - at(1, -1, i, j) - at(-1, 1, i, j) + at(-1, -1, i, j)) / (4 * h[i]! * h[j]!);
        obs.set(i, j, -d2);
      }
    }
    const m = modelAt(y, pb.x, pb.components, pb.sigma2, 'reml', backend);
    const ie = expectedInformation(m, m.p, backend);
    const ai = averageInformation(m, backend);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < nc; i++) {
      for (let j = 0; j < nc; j++) {
        worst = Math.max(worst, Math.abs(ai.get(i, j) - 0.5 * (obs.get(i, j) + ie.get(i, j))));
        scale = Math.max(scale, Math.abs(ai.get(i, j)));
      }
    }
    assert.ok(worst < 1e-5 * scale, `AI vs (FD observed + expected)/2: ${worst} (scale ${scale})`);
    // And through mmVcov: the same information from a fit-shaped input.
    const data: MmData = { y, design: pb.x, varList: pb.varList, zList: pb.zList };
    const viaApi = mmVcov({ sigma2: pb.sigma2, method: 'reml' }, data, { information: 'ai', backend }).information;
    assert.ok(Math.max(...Array.from(viaApi.data, (v, i) => Math.abs(v - ai.data[i]!))) < 1e-12 * scale);
  }
});

test("mmVcov: the expected information is E[AI] and E[score score'] (Monte Carlo, REML and ML)", () => {
  // Independent of the closed forms: at the true sigma2, over y ~ N(X b, V),
  //   REML: E[AI] = I_E, and the score s_i = 1/2 (y'P K_i P y - tr(P K_i)) has E[s s'] = I_E;
  //   ML (beta known): s_i = 1/2 (r'V^-1 K_i V^-1 r - tr(V^-1 K_i)), E[s s'] = 1/2 tr(V^-1 K_i V^-1 K_j).
  // MMVcov's diagonal (1/2 ||K_k P||_F^2) is checked to be outside the Monte Carlo band.
  const be = backendsUnderTest()[0]!;
  const pb = smallProblem(11);
  const m = modelAt(new Float64Array(pb.n), pb.x, pb.components, pb.sigma2, 'reml', be);
  const lv = be.potrf(m.v);
  const ieReml = expectedInformation(m, m.p, be);
  const ieMl = expectedInformation(m, m.vInv, be);
  const mmReml = expectedInformation(m, m.p, be, true);
  const nc = 3;
  const k = m.k.map((kk) => kk ?? Matrix.identity(pb.n));
  const trace = (a: Matrix, b: Matrix) => {
    let s = 0;
    for (let i = 0; i < pb.n; i++) for (let j = 0; j < pb.n; j++) s += a.get(i, j) * b.get(j, i);
    return s;
  };
  const trPK = k.map((kk) => trace(m.p, kk));
  const trVK = k.map((kk) => trace(m.vInv, kk));
  const draws = 20000;
  const aiMean = new Float64Array(nc * nc);
  const ssReml = new Float64Array(nc * nc);
  const ssMl = new Float64Array(nc * nc);
  const aiSq = new Float64Array(nc * nc);
  for (let d = 0; d < draws; d++) {
    const y = draw(pb.rng, pb.x, pb.beta, lv, be);
    const py = be.gemv(m.p, y);
    const ai = averageInformation({ k: m.k, p: m.p, py }, be);
    const kpy = k.map((kk) => be.gemv(kk, py));
    const sR = kpy.map((u, i) => 0.5 * (dot(py, u) - trPK[i]!));
    const r = Float64Array.from(y);
    be.gemv(pb.x, pb.beta, { alpha: -1, beta: 1, y: r });
    const vr = be.gemv(m.vInv, r);
    const sM = k.map((kk, i) => 0.5 * (dot(vr, be.gemv(kk, vr)) - trVK[i]!));
    for (let i = 0; i < nc; i++) {
      for (let j = 0; j < nc; j++) {
        const a = ai.get(i, j);
        aiMean[i + j * nc]! += a / draws;
        aiSq[i + j * nc]! += (a * a) / draws;
        ssReml[i + j * nc]! += (sR[i]! * sR[j]!) / draws;
        ssMl[i + j * nc]! += (sM[i]! * sM[j]!) / draws;
      }
    }
  }
  for (let i = 0; i < nc; i++) {
    for (let j = 0; j < nc; j++) {
      const at = i + j * nc;
      const se = Math.sqrt((aiSq[at]! - aiMean[at]! ** 2) / draws);
      const ref = ieReml.get(i, j);
      // 5 Monte Carlo standard errors for E[AI]; the score products have
      // heavier tails: 5% of the diagonal scale.
      assert.ok(Math.abs(aiMean[at]! - ref) < 5 * se, `E[AI](${i},${j}) = ${aiMean[at]} vs I_E ${ref} (MC se ${se})`);
      const tol = 0.05 * Math.sqrt(ieReml.get(i, i) * ieReml.get(j, j));
      assert.ok(Math.abs(ssReml[at]! - ref) < tol, `REML E[s s'](${i},${j}) = ${ssReml[at]} vs ${ref}`);
      const tolMl = 0.05 * Math.sqrt(ieMl.get(i, i) * ieMl.get(j, j));
      assert.ok(Math.abs(ssMl[at]! - ieMl.get(i, j)) < tolMl, `ML E[s s'](${i},${j}) = ${ssMl[at]} vs ${ieMl.get(i, j)}`);
      if (i === j && i === 0) {
        assert.ok(Math.abs(aiMean[at]! - mmReml.get(i, i)) > 10 * se, `MMVcov's diagonal ${mmReml.get(i, i)} is not E[AI] ${aiMean[at]}`);
      }
    }
  }
});

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

test("mmBlup: the GLS BLUPs solve Henderson's mixed-model equations and add up to y - X beta", () => {
  for (const backend of backendsUnderTest()) {
    const pb = smallProblem(3);
    // One random component plus the error: C [b; u] = [X'y; Z'y] with
    // C = [X'X, X'Z; Z'X, Z'Z + (s_e / s_g) R^-1].
    const comps = [pb.varList[0]!, pb.varList[2]!];
    const zl = [pb.zList[0], undefined];
    const sigma2 = Float64Array.of(1.7, 0.8);
    const m0 = modelAt(new Float64Array(pb.n), pb.x, [{ ...comps[0]!, z: zl[0] }, comps[1]!], sigma2, 'reml', backend);
    const y = draw(pb.rng, pb.x, pb.beta, backend.potrf(m0.v), backend);
    const data: MmData = { y, design: pb.x, varList: comps, zList: zl };
    const b = mmBlup({ sigma2, method: 'reml' }, data, { backend });
    const p = pb.x.cols;
    const w = new Matrix(pb.n, p + pb.q);
    w.data.set(pb.x.data, 0);
    w.data.set(pb.zList[0]!.data, p * pb.n);
    const c = backend.gemm(w, w, { transA: true });
    const rinv = backend.potri(backend.potrf(comps[0]!.r));
    for (let i = 0; i < pb.q; i++) for (let j = 0; j < pb.q; j++) c.data[p + i + (p + j) * (p + pb.q)]! += (sigma2[1]! / sigma2[0]!) * rinv.get(i, j);
    const rhs = Matrix.column(backend.gemv(w, y, { trans: true }));
    const sol = backend.potrs(backend.potrf(c), rhs).data;
    const u = b.G!.values;
    for (let i = 0; i < pb.q; i++) assert.ok(Math.abs(u[i]! - sol[p + i]!) < 1e-10 * (1 + Math.abs(sol[p + i]!)), `u[${i}] ${u[i]} vs MME ${sol[p + i]}`);
    const m = modelAt(y, pb.x, [{ ...comps[0]!, z: zl[0] }, comps[1]!], sigma2, 'reml', backend);
    for (let j = 0; j < p; j++) assert.ok(Math.abs(m.beta[j]! - sol[j]!) < 1e-10 * (1 + Math.abs(sol[j]!)));
    // sum_k Z_k u_k = y - X beta_GLS (V V^-1 r = r), the error's BLUP included.
    const fitted = backend.gemv(pb.zList[0]!, u);
    const e = b.Error!.values;
    const xb = backend.gemv(pb.x, m.beta);
    for (let i = 0; i < pb.n; i++) assert.ok(Math.abs(fitted[i]! + e[i]! - (y[i]! - xb[i]!)) < 1e-10);
    // The names default to '1'..'q'.
    assert.deepEqual(b.G!.names, ['1', '2', '3', '4', '5', '6', '7', '8']);
  }
});

sharedTest('mmBlup / mmVcov: a GWAS-mode fit, model by model (MMBlup stops there)', [`${MM_DATA}qtl_phenotype.csv`], () => {
  const q = qtlData();
  const varList = [
    { name: 'Additive', r: q.kinship },
    { name: 'Error', r: Matrix.identity(q.n) },
  ];
  const fit: MmEstResult = mmEst({ y: q.y, x: q.geno, xNames: q.snpNames, varList });
  const data: MmData = { y: q.y, x: q.geno, varList };
  assert.throws(() => mmBlup(fit, data), /holds 10 models \(GWAS mode\); say which with opts.model/);
  assert.throws(() => mmVcov(fit, data), /holds 10 models/);
  assert.throws(() => mmBlup(fit, data, { model: 10 }), /model = 10 but the fit holds 10 models/);
  const m = 3;
  const design = new Matrix(q.n, 2);
  design.data.fill(1, 0, q.n);
  design.data.set(q.geno.col(m), q.n);
  const a = mmBlup(fit, data, { model: m });
  const b = mmBlup(fit.models[m]!, { y: q.y, design, varList });
  // One model of the fit with the markers: its index must be said.
  assert.throws(() => mmBlup(fit.models[m]!, data), /data.x holds 10 marker models; say which one/);
  assert.deepEqual(Array.from(mmBlup(fit.models[m]!, data, { model: m }).Additive!.values), Array.from(a.Additive!.values));
  assert.throws(() => mmBlup(fit, { ...data, x: q.geno.colView(0, 5) }, { model: 1 }), /data.x holds 5 marker models but the fit holds 10/);
  assert.deepEqual(Array.from(a.Additive!.values), Array.from(b.Additive!.values));
  // Each model's own variances: model 3's BLUPs are not model 0's.
  const a0 = mmBlup(fit, data, { model: 0 });
  assert.notDeepEqual(Array.from(a0.Additive!.values), Array.from(a.Additive!.values));
  const va = mmVcov(fit, data, { model: m });
  const vb = mmVcov(fit.models[m]!, { y: q.y, design, varList });
  assert.deepEqual(Array.from(va.vcov.data), Array.from(vb.vcov.data));
  assert.deepEqual(va.names, ['Additive', 'Error']);
  // The null model a GWAS fit starts from works as a fit too.
  assert.equal(mmBlup(fit.nullModel!, { y: q.y, varList }).Error!.values.length, q.n);
});

sharedTest('mmBlup / mmVcov: bad input', [`${MM_DATA}vc_data.csv`], () => {
  const { h, data } = hybrid();
  const fit = mmEst({ y: data.y, cofactor: data.cofactor, varList: data.varList, zList: data.zList });
  const model = fit.models[0]!;
  for (const f of [(d: MmData, o = {}) => mmBlup(fit, d, o), (d: MmData, o = {}) => mmVcov(fit, d, o)]) {
    // Wrong number of variances for the components.
    assert.throws(
      () => f({ ...data, varList: data.varList.slice(1), zList: data.zList!.slice(1) }),
      /the fit has 3 variances but data.varList has 2 components/,
    );
    // Components that are not the fit's (names, or order).
    const swapped = [data.varList[1]!, data.varList[0]!, data.varList[2]!];
    assert.throws(() => f({ ...data, varList: swapped, zList: [h.zd, h.zf, data.zList![2]] }), /Not all random effects are shared by VarList and the fit/);
    // Fixed effects that are not the fit's.
    assert.throws(
      () => f({ ...data, cofactor: undefined }),
      /the fixed effects of the data \(\(Intercept\)\) are not those of the fit \(\(Intercept\), V1Trial2\)/,
    );
    // ZList and VarList of different lengths; Z with the wrong shape.
    assert.throws(() => f({ ...data, zList: data.zList!.slice(0, 2) }), /Lists ZList and VarList should have the same number of elements/);
    assert.throws(() => f({ ...data, zList: [h.zd, h.zf, data.zList![2]] }), /Incompatible dimensions between Zlist and VarList/);
    // y of the wrong length or with NaN.
    assert.throws(() => f({ ...data, y: h.trait.slice(1) }), /Incompatible dimension/);
    const bad = Float64Array.from(h.trait);
    bad[4] = NaN;
    assert.throws(() => f({ ...data, y: bad }), /non-finite value at observation 5/);
    // A design and a cofactor at once.
    assert.throws(() => f({ ...data, design: new Matrix(h.n, 1) }), /either as data.design or as data.cofactor/);
    // A model index for a single model without markers.
    assert.throws(() => mmBlup(model, data, { model: 1 }), /model = 1 is given with a single fitted model/);
  }
  // ids of the wrong length.
  assert.throws(
    () => mmBlup(fit, { ...data, varList: [{ ...data.varList[0]!, ids: ['a'] }, data.varList[1]!, data.varList[2]!] }),
    /has 1 ids for a 122x122 R/,
  );
  // Variances that are not variances; a beta of the wrong length.
  assert.throws(() => mmBlup({ sigma2: [1, -1, 1], method: 'reml' }, data), /sigma2\[1\] = -1/);
  assert.throws(() => mmBlup({ sigma2: model.sigma2, beta: [1], method: 'reml' }, data), /the fit has 1 fixed effects but the design has 2 columns/);
  assert.throws(() => mmBlup({ sigma2: model.sigma2, method: 'reml' }, data, { beta: 'fit' }), /the fit has no beta/);
  assert.throws(() => mmBlup(fit, data, { beta: 'blue' as never }), /beta must be 'fit' or 'gls'/);
  assert.throws(() => mmVcov({ sigma2: model.sigma2, method: 'bayes' as never }, data), /method must be 'reml' or 'ml'/);
  // Without a beta the fit's BLUPs use the GLS beta.
  const gls = mmBlup({ sigma2: model.sigma2, method: 'reml' }, data);
  const gls2 = mmBlup(fit, data, { beta: 'gls' });
  assert.deepEqual(Array.from(gls.Flint!.values), Array.from(gls2.Flint!.values));
  // A singular information (a component that is a copy of another) is a typed error, not NaN.
  const dup: MmData = { ...data, varList: [data.varList[0]!, { ...data.varList[0]!, name: 'Flint2' }, data.varList[2]!], zList: [h.zf, h.zf, data.zList![2]] };
  assert.throws(() => mmVcov({ sigma2: model.sigma2, method: 'reml' }, dup), /information of \(Flint, Flint2, Error\).*not positive definite/);
});

test('mmBlup keeps components named __proto__ and constructor', () => {
  const pb = smallProblem(3);
  const backend = backendsUnderTest()[0]!;
  const v0 = modelAt(new Float64Array(pb.n), pb.x, pb.components, pb.sigma2, 'reml', backend);
  const y = draw(pb.rng, pb.x, pb.beta, backend.potrf(v0.v), backend);
  const names = ['__proto__', 'constructor', 'Error'];
  const varList = pb.varList.map((v, k) => ({ ...v, name: names[k]! }));
  const fit = mmEst({ y, cofactor: pb.x, varList, zList: pb.zList, backend });
  const blup = mmBlup(fit, { y, cofactor: pb.x, varList, zList: pb.zList }, { backend });
  assert.deepEqual(Object.keys(blup), names);
  assert.equal(Object.getPrototypeOf(blup), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(blup, '__proto__')?.value.values.length, pb.q);
});
