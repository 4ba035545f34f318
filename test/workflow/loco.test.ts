// `gwas --loco` and `mtgwas --loco` (issue 18, item 1) against references
// made the slow, obvious way: each chromosome's kinship from scratch in
// plain loops over the other chromosomes' variants, fitted and scanned by
// the plain (non-LOCO) path on that kinship as a file, and its REML
// variance ratio found again by a dense fit (Cholesky of lambda K + I) that
// shares no code with the library's eigendecomposition route.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ArgumentError, SelectionError } from '../../src/errors.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { choleskyLower, choleskySolve } from '../../src/linalg/small.js';
import { writeMatrixTsv } from '../../src/data/write-tsv.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import type { GwasReport } from '../../src/workflow/gwas-report.js';
import { runGwas, runKinship, runMtgwas } from '../../src/workflow/index.js';
import { fixturePaths, readTsv, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const dir = scratchDir('lmmkit-loco-');
const N = 240;
const CHROMS = ['1', '2', '3', '4'];
const sim = simulateGwas({ samples: N, variants: 480, chromosomes: CHROMS.length, seed: 18, causal: 6, h2Causal: 0.35, h2Population: 0.1 });
const paths = fixturePaths(dir, 'data');
/** K_{-c} per chromosome, from scratch, written as a kinship table. */
const refKin = new Map<string, { file: string; k: Matrix; variants: number }>();

/** a and b within `tol` relative (both NaN: the same untestable variant). */
function close(a: number, b: number, tol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return a === b || Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b));
}

/** The standardized kinship of every sample over the variants not on `chrom`, in plain loops (no backend). */
function kinshipWithout(chrom: string): { k: Matrix; variants: number } {
  const k = new Matrix(N, N);
  const x = new Float64Array(N);
  let p = 0;
  for (let j = 0; j < sim.variants.chrom.length; j++) {
    if (sim.variants.chrom[j] === chrom) continue;
    let mean = 0;
    for (let i = 0; i < N; i++) mean += sim.dosages.data[i + j * N]!;
    mean /= N;
    let ss = 0;
    for (let i = 0; i < N; i++) ss += (sim.dosages.data[i + j * N]! - mean) ** 2;
    const sd = Math.sqrt(ss / N);
    if (!(sd > 0)) continue;
    for (let i = 0; i < N; i++) x[i] = (sim.dosages.data[i + j * N]! - mean) / sd;
    for (let b = 0; b < N; b++) for (let a = 0; a < N; a++) k.data[a + b * N]! += x[a]! * x[b]!;
    p++;
  }
  for (let i = 0; i < k.data.length; i++) k.data[i]! /= p;
  return { k, variants: p };
}

/**
 * The REML log-likelihood of y ~ N(1 b, s2 (lambda K + I)) profiled over b
 * and s2, up to a constant, by dense Cholesky: -1/2 (log|H| + log|1'H^-1 1|
 * + (n - 1) log(y'P y)), H = lambda K + I.
 */
function denseReml(k: Matrix, y: Float64Array, lambda: number): number {
  const n = y.length;
  const h = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) h[i] = lambda * k.data[i]!;
  for (let i = 0; i < n; i++) h[i + i * n]! += 1;
  const l = choleskyLower(h, n);
  if (l === null) throw new Error('dense REML: H is not positive definite');
  let logdet = 0;
  for (let i = 0; i < n; i++) logdet += 2 * Math.log(l[i + i * n]!);
  const hy = choleskySolve(l, n, y);
  const h1 = choleskySolve(l, n, new Float64Array(n).fill(1));
  let oo = 0;
  let oy = 0;
  let yy = 0;
  for (let i = 0; i < n; i++) {
    oo += h1[i]!;
    oy += hy[i]!;
    yy += y[i]! * hy[i]!;
  }
  const ypy = yy - (oy * oy) / oo;
  return -0.5 * (logdet + Math.log(oo) + (n - 1) * Math.log(ypy));
}

/** The REML lambda (sigmaG2 / sigmaE2) on [1e-5, 1e5]: a log grid, then golden section around its best point. */
function denseRemlLambda(k: Matrix, y: Float64Array): number {
  const grid = Array.from({ length: 41 }, (_, i) => -5 + i / 4);
  const values = grid.map((g) => denseReml(k, y, 10 ** g));
  const best = values.indexOf(Math.max(...values));
  let a = grid[Math.max(0, best - 1)]!;
  let b = grid[Math.min(grid.length - 1, best + 1)]!;
  const r = (Math.sqrt(5) - 1) / 2;
  let c = b - r * (b - a);
  let d = a + r * (b - a);
  let fc = denseReml(k, y, 10 ** c);
  let fd = denseReml(k, y, 10 ** d);
  while (b - a > 1e-9) {
    if (fc > fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - r * (b - a);
      fc = denseReml(k, y, 10 ** c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + r * (b - a);
      fd = denseReml(k, y, 10 ** d);
    }
  }
  return 10 ** ((a + b) / 2);
}

/** Rows of a gwas table keyed by variant id. */
function rowsById(path: string): Map<string, Record<string, string>> {
  const t = readTsv(path);
  return new Map(t.rows.map((r) => [r[t.header.indexOf('id')]!, Object.fromEntries(t.header.map((h, i) => [h, r[i]!]))]));
}

before(async () => {
  await writeGenotypeFixture(sim, paths.prefix, paths.kin);
  // Trait b misses its first 12 samples: its kinship is the union's rows and columns, as without --loco.
  writeSampleTable(paths.pheno, sim.samples, ['a', 'b'], (i, c) => (c === 0 ? sim.phenotype[i]! : i < 12 ? 'NA' : sim.phenotype[(i * 7) % N]!));
  for (const c of CHROMS) {
    const { k, variants } = kinshipWithout(c);
    const file = join(paths.data, `kin-no${c}.tsv`);
    await writeMatrixTsv(file, k, sim.samples.iid);
    refKin.set(c, { file, k, variants });
  }
});

describe('gwas --loco', () => {
  for (const testKind of ['fixed', 'exact'] as const) {
    test(`--test ${testKind}: every chromosome's rows as the plain path gives them on its kinship from scratch, within 1e-8`, async () => {
      const out = fixturePaths(dir, `gwas-${testKind}`).data;
      const common = { bfile: paths.prefix, pheno: paths.pheno, test: testKind, digits: 17, maf: 0, exactTests: 'all' as const };
      const report = await runGwas({ ...common, loco: true, out: join(out, 'loco') });
      assert.equal(report.covariance.model, 'kinship');
      const cov = report.covariance as Extract<GwasReport['covariance'], { source: 'genotypes' }>;
      assert.deepEqual(
        cov.loco,
        CHROMS.map((c) => ({ chrom: c, variants: sim.variants.chrom.filter((x) => x === c).length })),
      );
      for (const c of CHROMS) {
        const ref = refKin.get(c)!;
        const plain = await runGwas({ ...common, kinship: ref.file, chr: c, out: join(out, `chr${c}`) });
        for (const [t, tr] of report.traits.entries()) {
          const entry = tr.loco!.find((e) => e.chrom === c)!;
          assert.equal(entry.kinshipVariants, ref.variants, `chromosome ${c}: variants in its kinship`);
          const want = plain.traits[t]!.nullModel;
          assert.ok(entry.nullModel.model === 'kinship' && want.model === 'kinship');
          for (const key of ['lambda', 'sigmaG2', 'sigmaE2', 'h2', 'logLik'] as const) {
            assert.ok(close(entry.nullModel[key], want[key], 1e-8), `trait ${tr.trait} chromosome ${c} ${key}: ${entry.nullModel[key]} vs ${want[key]}`);
          }
          const got = rowsById(tr.output);
          const exp = rowsById(plain.traits[t]!.output);
          assert.equal(exp.size, sim.variants.chrom.filter((x) => x === c).length);
          const columns = testKind === 'fixed' ? ['beta', 'se', 'pvalue', 'eaf'] : ['beta', 'se', 'lambda', 'p_wald', 'p_lrt', 'p_score'];
          let compared = 0;
          for (const [id, row] of exp) {
            const g = got.get(id);
            assert.ok(g !== undefined, `variant ${id} in the LOCO table`);
            for (const col of columns) {
              const a = Number(g[col]);
              const b = Number(row[col]);
              assert.ok(close(a, b, 1e-8), `trait ${tr.trait} ${id} ${col}: ${g[col]} vs ${row[col]}`);
              // -log10 p near 0 (p near 1) is compared absolutely: a 1e-8 change in it is a 2.3e-8 relative change in p.
              const [la, lb] = [-Math.log10(a), -Math.log10(b)];
              if (col.startsWith('p')) assert.ok(Math.abs(la - lb) <= 1e-8 * Math.max(1, la, lb), `${id} -log10 ${col}: ${la} vs ${lb}`);
              compared++;
            }
          }
          assert.ok(compared > 0);
        }
      }
      // The rows in file order, each chromosome's under its own model.
      const ids = readTsv(report.traits[0]!.output).rows.map((r) => r[2]);
      assert.deepEqual(ids, sim.variants.id);
    });
  }

  test("each chromosome's REML variance ratio as a dense fit on its kinship from scratch finds it", async () => {
    const out = fixturePaths(dir, 'gwas-dense').data;
    const report = await runGwas({ bfile: paths.prefix, pheno: paths.pheno, phenoCol: ['a'], loco: true, maf: 0, out: join(out, 'loco') });
    const y = Float64Array.from(sim.phenotype);
    for (const c of CHROMS) {
      const entry = report.traits[0]!.loco!.find((e) => e.chrom === c)!;
      assert.ok(entry.nullModel.model === 'kinship');
      const k = refKin.get(c)!.k;
      const lambda = denseRemlLambda(k, y);
      // GEMMA's search (which lmmkit follows step for step) stops its Newton steps at 1e-5 relative, the golden section at 1e-9 in log10 lambda.
      assert.ok(Math.abs(Math.log(entry.nullModel.lambda / lambda)) < 1e-5, `chromosome ${c}: lambda ${entry.nullModel.lambda} vs dense ${lambda}`);
      // At that flat maximum the two lambdas' REML log-likelihoods agree far closer.
      const gap = denseReml(k, y, lambda) - denseReml(k, y, entry.nullModel.lambda);
      assert.ok(gap > -1e-9 && gap < 1e-9, `chromosome ${c}: REML log-likelihood gap ${gap}`);
    }
  });

  test('refuses what a LOCO kinship cannot come from, and a chromosome with every kinship variant', async () => {
    const out = fixturePaths(dir, 'gwas-bad').data;
    const base = { bfile: paths.prefix, pheno: paths.pheno, loco: true, out: join(out, 'r') };
    await assert.rejects(
      runGwas({ ...base, kinship: paths.kin }),
      (e: unknown) => e instanceof ArgumentError && /gwas --loco: does not take --kinship/.test(e.message),
    );
    await assert.rejects(runGwas({ ...base, lowrank: paths.pheno }), (e: unknown) => e instanceof ArgumentError && /does not take --lowrank/.test(e.message));
    await assert.rejects(runGwas({ ...base, nullModel: paths.kin }), (e: unknown) => e instanceof ArgumentError && /does not take --null/.test(e.message));
    await assert.rejects(
      runGwas({ ...base, chunk: { index: 1, count: 2 } }),
      (e: unknown) => e instanceof ArgumentError && /does not take --chunk/.test(e.message),
    );
    // --chr 2 leaves one chromosome in the file: nothing is left for its kinship.
    await assert.rejects(
      runGwas({ ...base, chr: '2' }),
      (e: unknown) =>
        e instanceof SelectionError &&
        /--loco: all 120 kinship variants of .* are on chromosome 2, so its 120 tested variants have no kinship left/.test(e.message),
    );
    await assert.rejects(
      runMtgwas({ ...base, kinship: paths.kin }),
      (e: unknown) => e instanceof ArgumentError && /mtgwas --loco: does not take --kinship/.test(e.message),
    );
  });
});

describe('mtgwas --loco', () => {
  test('each chromosome as mtgwas on the kinship lmmkit kinship makes of the other chromosomes, within 1e-8', async () => {
    const out = fixturePaths(dir, 'mt').data;
    const pheno = join(out, 'pheno2.tsv');
    writeSampleTable(pheno, sim.samples, ['a', 'b'], (i, c) => (c === 0 ? sim.phenotype[i]! : sim.phenotype[(i * 7) % N]! + 0.3 * sim.phenotype[i]!));
    const report = await runMtgwas({ bfile: paths.prefix, pheno, loco: true, maf: 0, out: join(out, 'loco') });
    const got = readTsv(report.output);
    assert.deepEqual(
      got.rows.map((r) => r[2]),
      sim.variants.id,
    );
    for (const c of CHROMS) {
      const kin = join(out, `k${c}.tsv`);
      await runKinship({ bfile: paths.prefix, chr: CHROMS.filter((x) => x !== c).join(','), out: kin });
      const plain = await runMtgwas({ bfile: paths.prefix, pheno, kinship: kin, chr: c, maf: 0, out: join(out, `chr${c}`) });
      const entry = report.loco!.find((e) => e.chrom === c)!;
      assert.equal(entry.kinshipVariants, refKin.get(c)!.variants);
      const want = plain.nullModel;
      for (const key of ['cg', 'cn'] as const) {
        const w = want[key].flat();
        for (const [i, v] of entry.nullModel[key].flat().entries()) assert.ok(close(v, w[i]!, 1e-8), `chromosome ${c} ${key}[${i}]: ${v} vs ${w[i]}`);
      }
      assert.ok(close(entry.nullModel.lml, want.lml, 1e-8) && close(entry.nullModel.s20, want.s20, 1e-8), `chromosome ${c} lml, s20`);
      for (const t of ['any', 'common']) {
        const hits = report.top[t]!.filter((h) => h.chrom === c);
        for (const h of hits) {
          const w = plain.top[t]!.find((x) => x.id === h.id);
          if (w === undefined) continue;
          assert.ok(close(h.log10p, w.log10p, 1e-8) && h.beta.every((b, i) => close(b, w.beta[i]!, 1e-8)), `${t} ${h.id}`);
        }
      }
      // Same models to 1e-8 and the same scan: the 6-digit rows are the same text.
      const rows = readTsv(plain.output).rows.map((r) => r.join('\t'));
      const mine = got.rows.filter((r) => r[0] === c).map((r) => r.join('\t'));
      assert.deepEqual(mine, rows, `chromosome ${c} rows`);
    }
    assert.equal(JSON.parse(readFileSync(join(out, 'loco.json'), 'utf8')).loco.length, CHROMS.length);
  });
});
