// The streaming polygenic simulator and the block-wise .bed writer behind the
// infinitesimal model's tests and benchmark.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openBed } from '../../src/data/node/bed.js';
import { writeBedBlocks } from '../../src/data/plink/write-bed.js';
import { ShapeError } from '../../src/errors.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { PolygenicSimulation } from '../../src/sim/polygenic.js';
import { writePolygenicFileset } from '../../src/workflow/simulate.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-polygenic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('PolygenicSimulation: seeded, block by block, with the trait variance it was asked for', () => {
  const opts = { samples: 600, variants: 2500, blockSize: 300, missingRate: 0.01, seed: 5 };
  const a = new PolygenicSimulation(opts);
  const widths: number[] = [];
  const firstA: number[] = [];
  for (const b of a.blocks()) {
    widths.push(b.cols);
    firstA.push(b.get(0, 0), b.get(599, b.cols - 1));
  }
  assert.deepEqual(widths, [300, 300, 300, 300, 300, 300, 300, 300, 100]);
  assert.throws(() => a.blocks().next(), /already read/);
  const b = new PolygenicSimulation(opts);
  assert.throws(() => b.phenotype(), /read every block/);
  const firstB: number[] = [];
  for (const blk of b.blocks()) firstB.push(blk.get(0, 0), blk.get(599, blk.cols - 1));
  assert.deepEqual(firstB, firstA);
  assert.deepEqual(a.phenotype(), b.phenotype());
  // About 10% causal; the trait has unit variance (h2 + h2Population + noise).
  assert.ok(a.causal > 180 && a.causal < 320, `causal ${a.causal}`);
  const y = a.phenotype();
  const mean = y.reduce((t, v) => t + v, 0) / y.length;
  const v = y.reduce((t, x) => t + (x - mean) ** 2, 0) / y.length;
  assert.ok(Math.abs(v - 1) < 0.15, `variance ${v}`);
  assert.equal(a.variants.chrom[0], '1');
  assert.equal(a.variants.chrom[2499], '22');
});

test('writePolygenicFileset: the .bed reads back as the simulated blocks, the pheno table as the trait', async () => {
  const opts = { samples: 103, variants: 450, blockSize: 100, missingRate: 0.02, seed: 9 };
  const fs = await writePolygenicFileset(join(dir, 'poly'), opts);
  const sim = new PolygenicSimulation(opts);
  const want = new Matrix(103, 450);
  let j0 = 0;
  for (const blk of sim.blocks()) {
    want.data.set(blk.data, j0 * 103);
    j0 += blk.cols;
  }
  const src = await openBed(fs.bfile);
  try {
    let k = 0;
    for await (const batch of src.batches({ size: 128 })) {
      for (let j = 0; j < batch.dosages.cols; j++, k++) assert.deepEqual(Array.from(batch.dosages.col(j)), Array.from(want.col(k)), `variant ${k}`);
    }
    assert.equal(k, 450);
  } finally {
    await src.close();
  }
  const rows = readFileSync(fs.pheno, 'utf8').trimEnd().split('\n');
  assert.equal(rows[0], 'FID\tIID\ty');
  const y = sim.phenotype();
  assert.equal(rows.length, 104);
  assert.equal(Number(rows[5]!.split('\t')[2]), y[4]);
  assert.equal(fs.causal, sim.causal);
});

test('writeBedBlocks refuses blocks that do not add up to the .bim', async () => {
  const sim = new PolygenicSimulation({ samples: 20, variants: 30, blockSize: 10 });
  const blocks = [...sim.blocks()];
  await assert.rejects(
    writeBedBlocks(join(dir, 'short'), blocks.slice(0, 2), sim.samples, sim.variants),
    (e: unknown) => e instanceof ShapeError && /held 20 variants, the .bim 30/.test(e.message),
  );
  await assert.rejects(
    writeBedBlocks(join(dir, 'wide'), [new Matrix(21, 10)], sim.samples, sim.variants),
    (e: unknown) => e instanceof ShapeError && /does not fit 20 samples/.test(e.message),
  );
});
