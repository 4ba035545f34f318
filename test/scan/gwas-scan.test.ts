// The streaming scan (gwasScan) over a PLINK file: the same numbers as
// LmmCore on the in-memory matrix, filters, step blocks across batch
// boundaries, the kinship null fit, and the exact test's wiring.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  ExactScan,
  LmmCore,
  Matrix,
  exactTests,
  fitKinshipNull,
  getBackend,
  gwasScan,
  kinship,
  openBed,
  simulateGwas,
  writeBed,
  type GenotypeSource,
  type GwasBatchResult,
} from '../../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-gwas-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sim = simulateGwas({ samples: 240, variants: 300, causal: 3, h2Causal: 0.3, seed: 7 });
const n = 240;
// Knock out a few genotypes and make one variant nearly monomorphic, to exercise the filters.
sim.dosages.data[5] = NaN;
sim.dosages.data[n * 3 + 7] = NaN;
for (let i = 0; i < n; i++) sim.dosages.data[n * 10 + i] = i < 2 ? 1 : 0;
const prefix = join(dir, 'sim');

async function collect(gen: AsyncGenerator<GwasBatchResult>): Promise<GwasBatchResult[]> {
  const out: GwasBatchResult[] = [];
  for await (const b of gen) out.push(b);
  return out;
}

/** The dosages of the file, mean-imputed, as the scan sees them. */
function imputed(keep: (j: number) => boolean): { g: Matrix; cols: number[] } {
  const cols: number[] = [];
  for (let j = 0; j < sim.dosages.cols; j++) if (keep(j)) cols.push(j);
  const g = new Matrix(n, cols.length);
  cols.forEach((j, c) => {
    const col = sim.dosages.col(j);
    let s = 0;
    let o = 0;
    for (const v of col)
      if (!Number.isNaN(v)) {
        s += v;
        o++;
      }
    for (let i = 0; i < n; i++) g.data[c * n + i] = Number.isNaN(col[i]!) ? s / o : col[i]!;
  });
  return { g, cols };
}

test('gwasScan over a bed file equals LmmCore on the matrix; filters; step blocks across batches', async () => {
  await writeBed(prefix, sim.dosages, sim.samples, sim.variants, sim.phenotype);
  const bed = await openBed(prefix);
  try {
    const k = await kinship(bed, { method: 'standardized' });
    const covariates = new Matrix(n, 1, new Float64Array(n).fill(1));
    const nul = fitKinshipNull({ y: sim.phenotype, covariates, kinship: k.k });
    assert.ok(nul.lambda > 0 && Number.isFinite(nul.logLik));
    // GEMMA's double-centring of K leaves REML unchanged when F holds the intercept.
    const centred = fitKinshipNull({ y: sim.phenotype, covariates, kinship: k.k, center: true });
    assert.ok(Math.abs(centred.logLik - nul.logLik) < 1e-8 * Math.abs(nul.logLik), 'REML logLik unchanged by centring');
    assert.ok(Math.abs(centred.lambda / nul.lambda - 1) < 1e-6, 'REML lambda unchanged by centring');
    const batches = await collect(gwasScan({ source: bed, null: nul, batchSize: 64, minMaf: 0.01 }));
    const tested = batches.flatMap((b) => Array.from(b.indices));
    assert.ok(!tested.includes(10), 'the MAF filter drops variant 10 (af 1/240)');
    assert.equal(tested.length, 299);
    const { g } = imputed((j) => j !== 10);
    const direct = new LmmCore({ y: sim.phenotype, covariance: nul.covariance }).process(g);
    const pv = batches.flatMap((b) => Array.from(b.fixed!.pv));
    assert.ok(pv.every((p, i) => Math.abs(p - direct.pv[i]!) <= 1e-12 * direct.pv[i]! + 1e-300));
    const af = batches.flatMap((b) => Array.from(b.af));
    assert.ok(
      Math.abs(
        af[0]! -
          imputed((j) => j === 0)
            .g.col(0)
            .reduce((a, b) => a + b, 0) /
            n /
            2,
      ) < 1e-15,
    );
    assert.equal(batches[0]!.n[3], n - 1, 'a missing genotype lowers n');
    // Causal variants stand out.
    const best = sim.causal.map((c) => pv[tested.indexOf(c.index)]!);
    assert.ok(Math.min(...best) < 1e-6, `a causal variant is found: ${best}`);

    // step = 4 with batches of 50: blocks straddle batch boundaries; 299 = 74 * 4 + 3.
    const stepped = await collect(gwasScan({ source: bed, null: nul, batchSize: 50, minMaf: 0.01, step: 4 }));
    const sd = stepped.flatMap((b) => Array.from(b.fixed!.df));
    assert.equal(sd.length, 75);
    assert.equal(sd[74], 3);
    const direct4 = new LmmCore({ y: sim.phenotype, covariance: nul.covariance }).process(g, { step: 4 });
    const pv4 = stepped.flatMap((b) => Array.from(b.fixed!.pv));
    assert.ok(pv4.every((p, i) => Math.abs(p - direct4.pv[i]!) <= 1e-12 * direct4.pv[i]!));

    // The exact test through the stream equals exactTests on the rotated matrix.
    const ex = await collect(gwasScan({ source: bed, null: nul, test: 'exact', batchSize: 100, minMaf: 0.01 }));
    const direct5 = exactTests(nul.rotated, nul.covariance.rotate(g));
    const pw = ex.flatMap((b) => Array.from(b.exact!.pWald));
    assert.equal(pw.length, 299);
    assert.ok(pw.every((p, i) => Math.abs(p - direct5.pWald[i]!) <= 1e-10 * direct5.pWald[i]!));
    // With lambda re-estimated the Wald test stays close to the fixed-lambda test on this polygenic trait.
    const corr = Math.abs(Math.log10(pw[tested.indexOf(sim.causal[0]!.index)]!) / Math.log10(best[0]!) - 1);
    assert.ok(corr < 0.5, `exact and fixed tests agree roughly at a causal variant (${corr})`);
  } finally {
    await bed.close();
  }
});

test('gwasScan: bad arguments', async () => {
  const bed = await openBed(prefix);
  try {
    await assert.rejects(collect(gwasScan({ source: bed, y: new Float64Array(10) })), /10 trait values for 240 genotyped samples/);
    await assert.rejects(collect(gwasScan({ source: bed, y: sim.phenotype, test: 'exact' })), /exact test needs a kinship null model/);
    await assert.rejects(collect(gwasScan({ source: bed, y: sim.phenotype, minMaf: 0.7 })), /minMaf must be in \[0, 0.5\]/);
  } finally {
    await bed.close();
  }
  assert.ok(getBackend());
});

test('gwasScan exact: batch b + 1 rotated beside batch b, same bits; errors in order; early end', async () => {
  const bed = await openBed(prefix);
  try {
    const k = await kinship(bed, { method: 'standardized' });
    const nul = fitKinshipNull({ y: sim.phenotype, covariates: new Matrix(n, 1, new Float64Array(n).fill(1)), kinship: k.k });
    // Batches of 40, the first 39 after the MAF filter drops variant 10: each batch rotated and
    // tested on its own, in turn, as before the overlap, gives the same bits.
    const { g } = imputed((j) => j !== 10);
    const scan = new ExactScan(nul.rotated, { nullReml: nul.reml, nullMl: nul.ml, tests: ['wald'] });
    const widths = [39, 40, 40, 40, 40, 40, 40, 20];
    const want: number[] = [];
    let at = 0;
    for (const w of widths) {
      want.push(...scan.test(nul.covariance.rotate(g.colView(at, at + w))).log10pWald);
      at += w;
    }
    const got = await collect(gwasScan({ source: bed, null: nul, test: 'exact', exactTests: ['wald'], batchSize: 40, minMaf: 0.01 }));
    assert.deepEqual(
      got.map((b) => b.variants.id.length),
      widths,
    );
    const lp = got.flatMap((b) => Array.from(b.exact!.log10pWald));
    assert.deepEqual(lp, want);
    assert.ok(lp.every((p) => Number.isFinite(p) && p < 0));

    // A reader that fails at its third batch: the first two are yielded, then the error.
    const failing: GenotypeSource = {
      path: bed.path,
      samples: bed.samples,
      variants: bed.variants,
      close: () => bed.close(),
      async *batches(opts) {
        let i = 0;
        for await (const b of bed.batches(opts)) {
          if (i++ === 2) throw new Error('disk gone at batch 3');
          yield b;
        }
      },
    };
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const b of gwasScan({ source: failing, null: nul, test: 'exact', exactTests: ['wald'], batchSize: 40 })) seen.push(b.exact!.log10pWald.length);
    }, /disk gone at batch 3/);
    assert.deepEqual(seen, [40, 40]);

    // Stopping after the first batch (a rotation in flight) ends cleanly; a scan after it gives the same numbers.
    for await (const b of gwasScan({ source: bed, null: nul, test: 'exact', exactTests: ['wald'], batchSize: 40, minMaf: 0.01 })) {
      assert.equal(b.variants.id.length, 39);
      break;
    }
    const again = await collect(gwasScan({ source: bed, null: nul, test: 'exact', exactTests: ['wald'], batchSize: 40, minMaf: 0.01 }));
    assert.deepEqual(
      again.flatMap((b) => Array.from(b.exact!.log10pWald)),
      lp,
    );
  } finally {
    await bed.close();
  }
});
