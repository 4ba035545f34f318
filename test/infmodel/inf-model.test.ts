// The infinitesimal model's Monte Carlo REML and LOCO association
// statistics (issue 18) against dense references: the exact REML of the
// same model by an eigendecomposition of P K P, and the exact LOCO
// statistics by a Cholesky solve of each H_{-g}, on seeded structured data.
import { pearson } from '../../bench/agreement.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { infAssocTest, prepareInfAssoc } from '../../src/infmodel/assoc.js';
import { fitInfNull } from '../../src/infmodel/reml-mc.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { getBackend } from '../../src/linalg/select.js';
import { Rng } from '../../src/sim/rng.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { denseGrm, orthonormal, standardise } from './dense-grm.js';

const N = 600;
const CHROMS = ['1', '2', '3', '4'];
const sim = simulateGwas({ samples: N, variants: 1600, chromosomes: CHROMS.length, seed: 7, causal: 300, h2Causal: 0.4, h2Population: 0.1 });
const { z, kept } = standardise(sim.dosages);
const group = Int32Array.from(kept, (j) => CHROMS.indexOf(sim.variants.chrom[j]!));
const covRng = new Rng(3);
const covariates = new Matrix(N, 2);
for (let i = 0; i < N; i++) {
  covariates.data[i] = 1;
  covariates.data[N + i] = covRng.normal();
}
const y = Float64Array.from(sim.phenotype, (v, i) => v + 0.3 * covariates.data[N + i]!);
const be = getBackend();

/** P K_{-g} P (g = -1: none left out), dense. */
function pkp(leaveOut: number): Matrix {
  const cols = Array.from(group.keys()).filter((j) => group[j] !== leaveOut);
  const zg = new Matrix(N, cols.length);
  cols.forEach((j, c) => {
    zg.data.set(z.col(j), c * N);
  });
  const k = be.syrk(zg, { alpha: 1 / cols.length });
  const q = orthonormal(covariates);
  const pk = new Matrix(N, N, k.data.slice());
  be.gemm(q, be.gemm(q, k, { transA: true }), { alpha: -1, beta: 1, c: pk });
  const pkpM = new Matrix(N, N, pk.data.slice());
  be.gemm(be.gemm(pk, q), q, { transB: true, alpha: -1, beta: 1, c: pkpM });
  return pkpM;
}

/** The exact REML h2 over the N - p contrasts: eigen of P K P, its p null directions (those of Q) left out, golden section on log delta. */
function exactReml(leaveOut = -1): { h2: number; delta: number; sigmaG2: number } {
  const p = covariates.cols;
  const e = be.syevd(pkp(leaveOut));
  const q = orthonormal(covariates);
  const py = Matrix.column(y);
  be.gemm(q, be.gemm(q, py, { transA: true }), { alpha: -1, beta: 1, c: py });
  const uy = be.gemm(e.vectors, py, { transA: true }).data;
  // Ascending eigenvalues: the first p are the zeros of range(Q).
  const lam = e.values.subarray(p);
  const u2 = uy.subarray(p).map((v) => v * v);
  const nll = (ld: number): number => {
    const d = Math.exp(ld);
    let logdet = 0;
    let q2 = 0;
    for (let i = 0; i < lam.length; i++) {
      logdet += Math.log(lam[i]! + d);
      q2 += u2[i]! / (lam[i]! + d);
    }
    return logdet + (N - p) * Math.log(q2);
  };
  let a = -6;
  let b = 6;
  const r = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 100; i++) {
    const c = b - r * (b - a);
    const d = a + r * (b - a);
    if (nll(c) < nll(d)) b = d;
    else a = c;
  }
  const delta = Math.exp((a + b) / 2);
  let q2 = 0;
  for (let i = 0; i < lam.length; i++) q2 += u2[i]! / (lam[i]! + delta);
  return { h2: 1 / (1 + delta), delta, sigmaG2: q2 / (N - p) };
}

describe('infinitesimal model (dense GRM operator)', async () => {
  const exact = exactReml();
  const op = denseGrm(z, group, CHROMS, covariates);
  // N = 600 is small for the Monte Carlo traces (their error falls as 1 / sqrt(N T)): 200 trials here, the default T is checked at N = 2000 (test/cli/gwas-inf.test.ts).
  const fit = await fitInfNull(op, y, { seed: 11, mcTrials: 200 });

  test('Monte Carlo REML: h2 within 2% of the exact REML, sigma_g^2 consistent', async () => {
    assert.ok(fit.converged, `secant path ${JSON.stringify(fit.path)}`);
    assert.ok(Math.abs(fit.h2 - exact.h2) <= 0.02 * exact.h2, `h2 MC ${fit.h2} vs exact ${exact.h2}`);
    assert.ok(Math.abs(fit.sigmaG2 - exact.sigmaG2) <= 0.04 * exact.sigmaG2, `sigma_g^2 MC ${fit.sigmaG2} vs exact ${exact.sigmaG2}`);
    assert.equal(fit.sigmaE2, fit.delta * fit.sigmaG2);
    assert.ok(fit.h2McSe > 0 && fit.h2McSe < 0.01, `MC se ${fit.h2McSe}`);
    assert.equal(fit.p, 2);
    assert.equal(fit.atBound, null);
    assert.equal(fit.mcTrials, 200);
    assert.ok(fit.passes > fit.iterations, `passes ${fit.passes}`);
  });

  test('a trait of noise only: h2 at its lower bound', async () => {
    const noise = new Rng(21).normals(N);
    const f = await fitInfNull(op, noise, { seed: 3, mcTrials: 20 });
    assert.ok(f.converged);
    if (f.atBound === null) assert.ok(f.h2 < 0.1, `h2 ${f.h2} of noise`);
    else assert.equal(f.atBound, 'lower');
  });

  test('the same seed gives the same fit; another seed a close one', async () => {
    const again = await fitInfNull(op, y, { seed: 11, mcTrials: 200 });
    assert.equal(again.h2, fit.h2);
    assert.deepEqual(again.path, fit.path);
    // beta drawn in chunks of 7 columns: the same numbers, more passes.
    const chunked = await fitInfNull(op, y, { seed: 11, mcTrials: 200, drawBytes: 8 * 7 * op.snps.m });
    assert.equal(chunked.h2, fit.h2);
    assert.equal(chunked.passes, fit.passes + Math.ceil(200 / 7) - 1);
    // Fewer trials: a larger Monte Carlo error, which the reported standard error covers.
    const other = await fitInfNull(op, y, { seed: 12, mcTrials: 20 });
    assert.notEqual(other.h2, fit.h2);
    assert.ok(other.h2McSe > fit.h2McSe, `se T=20 ${other.h2McSe} vs T=200 ${fit.h2McSe}`);
    assert.ok(Math.abs(other.h2 - exact.h2) <= 4 * other.h2McSe, `seed 12: h2 ${other.h2} +- ${other.h2McSe} vs exact ${exact.h2}`);
  });

  // The tested variants (raw dosages) and their exact LOCO chi2 by Cholesky of H_{-g} = P K_{-g} P + delta_g I.
  const tested = Array.from({ length: 400 }, (_, t) => (t * 4) % sim.dosages.cols);
  const x = new Matrix(N, tested.length);
  tested.forEach((j, c) => {
    x.data.set(sim.dosages.col(j), c * N);
  });
  const groupOf = Int32Array.from(tested, (j) => CHROMS.indexOf(sim.variants.chrom[j]!));
  const exactChi2 = (deltaOf: (g: number) => number, sigmaOf: (g: number) => number): Float64Array => {
    const q = orthonormal(covariates);
    const px = new Matrix(N, x.cols, x.data.slice());
    be.gemm(q, be.gemm(q, px, { transA: true }), { alpha: -1, beta: 1, c: px });
    const want = new Float64Array(tested.length);
    for (let g = 0; g < CHROMS.length; g++) {
      const h = pkp(g);
      for (let i = 0; i < N; i++) h.data[i + i * N]! += deltaOf(g);
      const l = be.potrf(h);
      const hy = be.potrs(l, Matrix.column(fit.yTilde)).data;
      for (let c = 0; c < tested.length; c++) {
        if (groupOf[c] !== g) continue;
        const xc = px.col(c);
        const hx = be.potrs(l, Matrix.column(xc)).data;
        let num = 0;
        let den = 0;
        for (let i = 0; i < N; i++) {
          num += xc[i]! * hy[i]!;
          den += xc[i]! * hx[i]!;
        }
        want[c] = (num * num) / (sigmaOf(g) * den);
      }
    }
    return want;
  };

  test('LOCO statistics: chi2 correlation > 0.999 and mean ratio within 1% of the exact LOCO ones at the same delta', async (t) => {
    const model = await prepareInfAssoc(op, fit.yTilde, fit, { seed: 5 });
    assert.ok(model.report.calibSpread < 0.05, `spread ${model.report.calibSpread}`);
    assert.equal(model.report.eigenvalues.length, 10);
    const got = infAssocTest(model, new Matrix(N, x.cols, x.data.slice()), groupOf);
    const want = exactChi2(
      () => fit.delta,
      () => fit.sigmaG2,
    );
    const r = pearson(got.chi2, want);
    const ratio = got.chi2.reduce((s, v) => s + v, 0) / want.reduce((s, v) => s + v, 0);
    t.diagnostic(
      `dense N=${N}: h2 MC ${fit.h2} vs exact ${exact.h2}; chi2 r ${r}, mean ratio ${ratio}, gamma ${model.gamma}, spread ${model.report.calibSpread}`,
    );
    assert.ok(r > 0.999, `chi2 correlation ${r}`);
    assert.ok(Math.abs(ratio - 1) < 0.01, `mean chi2 ratio ${ratio}`);
    for (let c = 0; c < tested.length; c++) {
      assert.ok(Math.abs(got.se[c]! - Math.abs(got.beta[c]!) / Math.sqrt(got.chi2[c]!)) <= 1e-9 * got.se[c]!);
    }
  });

  test('per-chromosome REML (leaveOut): h2 on K_{-g} near the exact one, and the statistics at each delta_g', async (t) => {
    const perGroup: ReturnType<typeof exactReml>[] = [];
    for (let g = 0; g < CHROMS.length; g++) {
      const e = exactReml(g);
      const f = await fitInfNull(op, y, { seed: 11, mcTrials: 200, leaveOut: g, h2Guess: fit.h2 });
      t.diagnostic(`chromosome ${CHROMS[g]} left out: h2 MC ${f.h2} +- ${f.h2McSe} vs exact ${e.h2}`);
      assert.ok(Math.abs(f.h2 - e.h2) < Math.max(0.02 * e.h2, 3 * f.h2McSe), `group ${g}: h2 ${f.h2} +- ${f.h2McSe} vs exact ${e.h2}`);
      perGroup.push(e);
    }
    // The statistics with each group's own (exact) delta and sigma_g^2 against the exact ones there.
    const model = await prepareInfAssoc(op, fit.yTilde, { ...fit, perGroup }, { seed: 5 });
    const got = infAssocTest(model, new Matrix(N, x.cols, x.data.slice()), groupOf);
    const want = exactChi2(
      (g) => perGroup[g]!.delta,
      (g) => perGroup[g]!.sigmaG2,
    );
    const r = pearson(got.chi2, want);
    const ratio = got.chi2.reduce((s, v) => s + v, 0) / want.reduce((s, v) => s + v, 0);
    t.diagnostic(`per-group deltas: chi2 r ${r}, mean ratio ${ratio}, spread ${model.report.calibSpread}`);
    assert.ok(r > 0.999, `chi2 correlation ${r}`);
    assert.ok(Math.abs(ratio - 1) < 0.01, `mean chi2 ratio ${ratio}`);
    assert.ok(model.report.calibSpread < 0.05, `spread ${model.report.calibSpread}`);
  });
});
