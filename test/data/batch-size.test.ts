// The default batch width: sized by bytes (at most DEFAULT_BATCH_BYTES of
// dosages) so that a large-N file is not read in batches whose fresh
// allocation costs more than their decoding; an explicit size wins; and the
// scans' numbers do not depend on a width that is a multiple of 8 (but for
// the native exact test's last bits).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  DEFAULT_BATCH_BYTES,
  defaultBatchSize,
  fitKinshipNull,
  gwasScan,
  kinship,
  Matrix,
  openBed,
  simulateGwas,
  writeBed,
  type GwasBatchResult,
} from '../../src/node.js';
import { backendsUnderTest, syntheticVariants } from '../support.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-batch-size-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('defaultBatchSize: 1000 variants, fewer (a multiple of 8) when N x 1000 doubles pass 8 MiB, at least 1', () => {
  assert.equal(DEFAULT_BATCH_BYTES, 8 << 20);
  assert.equal(defaultBatchSize(1), 1000);
  assert.equal(defaultBatchSize(1048), 1000);
  // Multiples of 8 (see defaultBatchSize: OpenBLAS's column groups).
  assert.equal(defaultBatchSize(1049), 992);
  assert.equal(defaultBatchSize(5000), 208);
  assert.equal(defaultBatchSize(130_000), 8);
  assert.equal(defaultBatchSize(131_073), 7);
  assert.equal(defaultBatchSize(500_000), 2);
  assert.equal(defaultBatchSize(10_000_000), 1);
  assert.equal(defaultBatchSize(0), 1000);
});

test('a reader of N = 2100 samples yields default batches of at most 8 MiB; an explicit size wins; the cap counts the selected samples', async () => {
  const n = 2100;
  const m = 1200;
  const dosages = new Matrix(n, m);
  for (let k = 0; k < dosages.data.length; k++) dosages.data[k] = (k * 7919) % 3;
  const samples = {
    fid: Array.from({ length: n }, (_, i) => `f${i}`),
    iid: Array.from({ length: n }, (_, i) => `s${i}`),
  };
  const prefix = join(dir, 'wide');
  await writeBed(prefix, dosages, samples, syntheticVariants(m));
  const bed = await openBed(prefix);
  try {
    const widths = async (opts: { size?: number; samples?: number[] }): Promise<number[]> => {
      const out: number[] = [];
      for await (const b of bed.batches(opts)) {
        assert.ok(b.dosages.data.length * 8 <= DEFAULT_BATCH_BYTES || opts.size !== undefined, 'a default batch holds at most 8 MiB');
        out.push(b.dosages.cols);
      }
      return out;
    };
    // 8 MiB / (8 x 2100) = 499 variants, 496 as a multiple of 8 (the old default read 1000, 16.8 MB).
    assert.deepEqual(await widths({}), [496, 496, 208]);
    assert.deepEqual(await widths({ size: 1000 }), [1000, 200]);
    // 300 selected samples: 1000 variants fit.
    assert.deepEqual(await widths({ samples: Array.from({ length: 300 }, (_, i) => 7 * i) }), [1000, 200]);
    // The dosages do not depend on the width.
    const cols: Float64Array[] = [];
    for await (const b of bed.batches({})) cols.push(b.dosages.data.slice());
    const joined = new Float64Array(n * m);
    let at = 0;
    for (const c of cols) {
      joined.set(c, at);
      at += c.length;
    }
    assert.deepEqual(joined, dosages.data);
  } finally {
    await bed.close();
  }
});

test('gwasScan at widths 8, 64 and default: bit-identical but for the native exact test (within 1e-10)', async () => {
  const n = 240;
  const sim = simulateGwas({ samples: n, variants: 152, causal: 3, h2Causal: 0.3, seed: 11 });
  // A missing genotype (imputed), but no variant the filters drop, and 152 =
  // 19 x 8 variants: OpenBLAS's last bits differ for the columns of a
  // partial group of 8 at a batch's end (see defaultBatchSize).
  sim.dosages.data[5] = Number.NaN;
  const prefix = join(dir, 'sim');
  await writeBed(prefix, sim.dosages, sim.samples, sim.variants, sim.phenotype);
  const bed = await openBed(prefix);
  try {
    for (const backend of backendsUnderTest()) {
      const k = await kinship(bed, { method: 'standardized', backend });
      const nul = fitKinshipNull({ y: sim.phenotype, covariates: new Matrix(n, 1, new Float64Array(n).fill(1)), kinship: k.k, backend });
      // Each statistic over all variants in file order, so that runs with other widths compare element by element.
      const run = async (test: 'fixed' | 'exact', batchSize?: number): Promise<number[][]> => {
        const batches: GwasBatchResult[] = [];
        for await (const b of gwasScan({ source: bed, null: nul, test, batchSize, minMaf: 0, backend })) batches.push(b);
        const pick = (f: (b: GwasBatchResult) => ArrayLike<number>): number[] => batches.flatMap((b) => Array.from(f(b)));
        return test === 'fixed'
          ? [pick((b) => b.indices), pick((b) => b.fixed!.beta.data), pick((b) => b.fixed!.betaSte.data), pick((b) => b.fixed!.pv)]
          : [pick((b) => b.indices), pick((b) => b.exact!.beta), pick((b) => b.exact!.pWald), pick((b) => b.exact!.pLrt), pick((b) => b.exact!.pScore)];
      };
      for (const t of ['fixed', 'exact'] as const) {
        const whole = await run(t);
        assert.ok(whole[0]!.length > 100);
        for (const width of [8, 64]) {
          const got = await run(t, width);
          if (backend.name === 'js' || t === 'fixed') assert.deepEqual(got, whole, `${t}: batches of ${width} (${backend.name})`);
          else {
            // OpenBLAS's rotation of a batch has other last bits at another
            // width, which the exact test's per-variant lambda search carries
            // to about 1e-12 (measured: 1.3e-12 at width 8).
            assert.deepEqual(got[0], whole[0]);
            for (let s = 1; s < got.length; s++)
              for (const [i, x] of got[s]!.entries())
                assert.ok(
                  Math.abs(x - whole[s]![i]!) <= 1e-10 * Math.abs(whole[s]![i]!),
                  `exact: statistic ${s}, variant ${i}, width ${width}: ${x} vs ${whole[s]![i]}`,
                );
          }
        }
      }
    }
  } finally {
    await bed.close();
  }
});
