// Kinship: the three scalings against a direct computation, missing genotypes
// mean-imputed, monomorphic variants left out, and parity with plink2
// --make-rel (GCTA's GRM) on a simulated file without missing genotypes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Matrix } from '../../src/index.js';
import { kinship, type KinshipMethod } from '../../src/data/kinship.js';
import { openBimbam } from '../../src/data/bimbam.js';
import { openBed } from '../../src/data/node/bed.js';
import { readKinship } from '../../src/data/node/tables.js';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { simulateGenotypes } from '../../src/sim/genotypes.js';
import { SHARED, backendsUnderTest, relMaxDiff, requireTool, sharedTest, toolTest } from '../support.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-kinship-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** K computed the obvious way, one variant at a time. */
function direct(g: Matrix, method: KinshipMethod): Matrix & { p?: number } {
  const n = g.rows;
  const k = new Matrix(n, n);
  let p = 0;
  for (let j = 0; j < g.cols; j++) {
    const col = Array.from(g.col(j));
    const obs = col.filter((v) => !Number.isNaN(v));
    const mean = obs.reduce((s, v) => s + v, 0) / obs.length;
    const x = col.map((v) => (Number.isNaN(v) ? mean : v) - mean);
    const sd = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / n);
    if (!(sd > 0)) continue;
    const scale = method === 'standardized' ? 1 / sd : method === 'gcta' ? 1 / Math.sqrt(2 * (mean / 2) * (1 - mean / 2)) : 1;
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) k.data[a + b * n]! += x[a]! * scale * x[b]! * scale;
    p++;
  }
  for (let i = 0; i < k.data.length; i++) k.data[i]! /= p;
  return Object.assign(k, { p });
}

describe('kinship', () => {
  const sim = simulateGenotypes({ samples: 37, variants: 300, missingRate: 0.05, seed: 9 });
  // Two monomorphic variants: left out of K and of p.
  sim.dosages.col(10).fill(2);
  sim.dosages.col(11).fill(Number.NaN);
  const prefix = join(dir, 'sim');

  for (const be of backendsUnderTest()) {
    test(`all three methods equal the direct computation, in any block size (${be.name})`, async () => {
      await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
      for (const method of ['standardized', 'gcta', 'centered'] as const) {
        const ref = direct(sim.dosages, method);
        for (const blockSize of [1, 64, 1000]) {
          const bed = await openBed(prefix);
          const res = await kinship(bed, { method, blockSize, backend: be });
          await bed.close();
          assert.ok(ref.p! <= 298);
          assert.equal(res.variantsUsed, ref.p);
          assert.equal(res.variantsSkipped, 300 - ref.p!);
          assert.ok(relMaxDiff(res.k.data, ref.data) < 1e-12, `${method} block ${blockSize}: ${relMaxDiff(res.k.data, ref.data)}`);
          assert.deepEqual(res.k.data, res.k.transpose().data);
        }
      }
    });
  }

  test('a sample subset gives the sub-matrix', async () => {
    const bed = await openBed(prefix);
    const full = await kinship(bed, { method: 'centered' });
    const sub = await kinship(bed, { method: 'centered', samples: [3, 7, 20] });
    await bed.close();
    // Centring uses the subset's own means, so compare with a direct computation on the subset.
    const g = new Matrix(3, sim.dosages.cols);
    for (let j = 0; j < g.cols; j++)
      [3, 7, 20].forEach((s, i) => {
        g.set(i, j, sim.dosages.get(s, j));
      });
    assert.ok(relMaxDiff(sub.k.data, direct(g, 'centered').data) < 1e-12);
    assert.equal(full.k.rows, 37);
  });

  test('no informative variant is a typed error', async () => {
    const mono = simulateGenotypes({ samples: 5, variants: 3, seed: 1 });
    mono.dosages.data.fill(0);
    const p = join(dir, 'mono');
    await writeBed(p, mono.dosages, mono.samples, mono.variants);
    const bed = await openBed(p);
    await assert.rejects(kinship(bed, { method: 'gcta' }), /no polymorphic variant in .*mono\.bed \(read 3\)/);
    await assert.rejects(kinship(bed, { method: 'bogus' as KinshipMethod }), /method must be standardized, gcta or centered, found 'bogus'/);
    await bed.close();
  });

  toolTest('gcta equals plink2 --make-rel square to 1e-5 (its printed precision)', 'plink2', async () => {
    const clean = simulateGenotypes({ samples: 150, variants: 2000, seed: 21 });
    const p = join(dir, 'clean');
    await writeBed(p, clean.dosages, clean.samples, clean.variants);
    const r = spawnSync('plink2', ['--bfile', p, '--make-rel', 'square', '--out', p, '--threads', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const rel = readFileSync(`${p}.rel`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('\t').map(Number));
    const bed = await openBed(p);
    const { k } = await kinship(bed, { method: 'gcta' });
    await bed.close();
    let worst = 0;
    for (let i = 0; i < 150; i++) for (let j = 0; j < 150; j++) worst = Math.max(worst, Math.abs(k.get(i, j) - rel[i]![j]!));
    assert.ok(worst < 1e-5, `max |lmmkit - plink2| = ${worst}`);
  });

  sharedTest('centered on the BXD BIMBAM data equals gemma -gk 1 to 1e-9 (GEMMA prints 10 significant digits)', 'data/bxd/BXD_geno.txt.gz', async (t) => {
    if (!requireTool(t, 'gemma')) return;
    const geno = `${SHARED}data/bxd/BXD_geno.txt.gz`;
    const r = spawnSync('gemma', ['-g', geno, '-p', `${SHARED}data/bxd/BXD_pheno.txt`, '-gk', '1', '-outdir', dir, '-o', 'bxd'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const ref = readFileSync(join(dir, 'bxd.cXX.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number));
    const src = await openBimbam(geno);
    const { k, variantsUsed } = await kinship(src, { method: 'centered' });
    await src.close();
    assert.equal(variantsUsed, 7320);
    assert.equal(ref.length, 198);
    let worst = 0;
    for (let i = 0; i < 198; i++) for (let j = 0; j < 198; j++) worst = Math.max(worst, Math.abs(k.get(i, j) - ref[i]![j]!));
    assert.ok(worst < 1e-9, `max |lmmkit - gemma| = ${worst}`);
  });
});

test('a kinship that lmmkit kinship writes for numeric sample ids reads back with its ids', async () => {
  const g = simulateGenotypes({ samples: 12, variants: 40, seed: 3 });
  const ids = Array.from({ length: 12 }, (_, i) => String(i + 1));
  const prefix = join(dir, 'numeric-ids');
  await writeBed(prefix, g.dosages, { fid: ids, iid: ids }, g.variants);
  const out = join(dir, 'numeric-ids.kin.tsv');
  const bin = new URL('../../../bin/lmmkit.js', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [bin, 'kinship', '--bfile', prefix, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // The header 'id 1 2 ... 12' is a header, not a row of numbers.
  const read = await readKinship(out);
  assert.deepEqual(read.ids.iid, ids);
  const src = await openBed(prefix);
  const k = await kinship(src, { method: 'standardized' }).finally(() => src.close());
  assert.ok(relMaxDiff(read.k.data, k.k.data) < 1e-15);
});
