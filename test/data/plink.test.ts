// The PLINK 1 reader: round trips through the writer, selections, every kind
// of bad input, and parity with pandas_plink (via limix's reference outputs),
// plink1.9 --recode A --keep-allele-order and plink2 --export A.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { InputError, LmmkitError, type Matrix } from '../../src/index.js';
import { openBed } from '../../src/data/node/bed.js';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { compose, imputeMean, standardize } from '../../src/data/preprocess.js';
import { simulateGenotypes } from '../../src/sim/genotypes.js';
import { requireTool, SHARED, sharedTest } from '../support.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-plink-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';

function sameWithNaN(a: Float64Array, b: Float64Array, label: string): void {
  assert.equal(a.length, b.length, `${label}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!(Object.is(a[i], b[i]) || a[i] === b[i])) assert.fail(`${label}: element ${i}: ${a[i]} vs ${b[i]}`);
  }
}

async function collect(prefix: string, opts: Parameters<Awaited<ReturnType<typeof openBed>>['batches']>[0] = {}, count: 'a1' | 'a2' = 'a1') {
  const bed = await openBed(prefix, { count });
  const cols: Float64Array[] = [];
  const ids: string[] = [];
  let rows = 0;
  for await (const b of bed.batches(opts)) {
    rows = b.dosages.rows;
    for (let j = 0; j < b.dosages.cols; j++) cols.push(b.dosages.col(j).slice());
    ids.push(...b.variants.id);
    assert.equal(b.indices.length, b.dosages.cols);
  }
  await bed.close();
  return { cols, ids, rows };
}

describe('PLINK .bed/.bim/.fam reader', () => {
  const sim = simulateGenotypes({ samples: 13, variants: 41, chromosomes: 3, missingRate: 0.1, seed: 5 });
  const prefix = join(dir, 'sim');

  test("batches count each variant's observed genotypes and dosage sum as they decode", async () => {
    await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
    for (const count of ['a1', 'a2'] as const) {
      const bed = await openBed(prefix, { count });
      for (const samples of [undefined, Int32Array.of(12, 0, 5, 5, 9)]) {
        for await (const b of bed.batches({ size: 7, samples })) {
          assert.ok(b.counts !== undefined, 'a plain batch carries its counts');
          for (let j = 0; j < b.dosages.cols; j++) {
            let sum = 0;
            let observed = 0;
            for (const v of b.dosages.col(j)) {
              if (!Number.isNaN(v)) {
                sum += v;
                observed++;
              }
            }
            const where = `${count}, ${samples === undefined ? 'all samples' : 'a subset'}, variant ${b.indices[j]}`;
            assert.equal(b.counts.observed[j], observed, `${where}: observed`);
            assert.equal(b.counts.sum[j], sum, `${where}: sum`);
          }
        }
      }
      await bed.close();
    }
  });

  test('round-trips the writer, in batches of any size, counting either allele', async () => {
    await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
    for (const size of [1, 7, 41, 1000]) {
      const { cols, ids, rows } = await collect(prefix, { size });
      assert.equal(rows, 13);
      assert.deepEqual(ids, sim.variants.id);
      cols.forEach((c, j) => {
        sameWithNaN(c, sim.dosages.col(j), `size ${size} variant ${j}`);
      });
    }
    const a2 = await collect(prefix, { size: 10 }, 'a2');
    a2.cols.forEach((c, j) => {
      sameWithNaN(
        c,
        sim.dosages.col(j).map((d) => 2 - d),
        `a2 variant ${j}`,
      );
    });
  });

  test('selects by range, region (half-open), ids, indices, and a subset of samples', async () => {
    const range = await collect(prefix, { select: { range: [5, 9] } });
    assert.deepEqual(range.ids, sim.variants.id.slice(5, 9));
    // Chromosome 2 holds variants 14..27 at positions 1000..14000.
    const region = await collect(prefix, { select: { region: { chrom: '2', start: 3000, end: 6000 } } });
    assert.deepEqual(region.ids, ['snp17', 'snp18', 'snp19']);
    const byId = await collect(prefix, { select: { ids: ['snp40', 'snp2'] } });
    assert.deepEqual(byId.ids, ['snp40', 'snp2']);
    sameWithNaN(byId.cols[0]!, sim.dosages.col(39), 'by id');
    const subset = await collect(prefix, { select: { indices: [3, 4, 20] }, samples: [12, 0, 5] });
    assert.equal(subset.rows, 3);
    const ref = sim.dosages.col(20);
    sameWithNaN(subset.cols[2]!, Float64Array.of(ref[12]!, ref[0]!, ref[5]!), 'sample subset');
    await assert.rejects(
      collect(prefix, { select: { ids: ['nope'] } }),
      (e: unknown) => e instanceof LmmkitError && /variant id 'nope' is not in the file/.test(e.message),
    );
    await assert.rejects(collect(prefix, { select: { range: [0, 42] } }), /outside the file's 41 variants/);
    await assert.rejects(collect(prefix, { samples: [13] }), /sample index 13 is outside the file's 13 samples/);
  });

  test('standardize: true equals imputeMean + standardize, with the same stats, for all samples and a subset', async () => {
    const withConstant = simulateGenotypes({ samples: 13, variants: 41, missingRate: 0.1, seed: 6 });
    withConstant.dosages.col(3).fill(1);
    withConstant.dosages.col(4).fill(Number.NaN);
    const p = join(dir, 'std');
    await writeBed(p, withConstant.dosages, withConstant.samples, withConstant.variants);
    const bed = await openBed(p, { count: 'a2' });
    const pipeline = compose([imputeMean(), standardize()]);
    for (const samples of [undefined, [12, 0, 5, 7, 8, 2]]) {
      for await (const b of bed.batches({ size: 9, standardize: true, samples })) {
        const raw = await bed.read(b.indices, samples === undefined ? undefined : Int32Array.from(samples));
        const ref = pipeline({ dosages: raw, variants: b.variants, indices: b.indices });
        for (let j = 0; j < b.dosages.cols; j++) {
          const v = b.indices[j]!;
          if (v === 4) {
            // All missing: imputeMean drops it; the fused path keeps a column of zeros.
            assert.ok(b.dosages.col(j).every((x) => x === 0));
            assert.ok(Number.isNaN(b.stats!.mean[j]!));
            continue;
          }
          const k = ref.indices.indexOf(v);
          const got = b.dosages.col(j);
          const want = ref.dosages.col(k);
          for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-12, `variant ${v} sample ${i}`);
          assert.ok(Math.abs(b.stats!.mean[j]! - ref.stats!.mean[k]!) < 1e-14);
          assert.ok(Math.abs(b.stats!.sd[j]! - ref.stats!.sd[k]!) < 1e-14);
        }
      }
    }
    await bed.close();
  });

  describe('bad input is an InputError naming the file and what was wrong', () => {
    const variant = (name: string, edit: (files: { bed: Buffer; bim: string; fam: string }) => void) => {
      const p = join(dir, name);
      const files = { bed: readFileSync(`${prefix}.bed`), bim: readFileSync(`${prefix}.bim`, 'utf8'), fam: readFileSync(`${prefix}.fam`, 'utf8') };
      edit(files);
      writeFileSync(`${p}.bed`, files.bed);
      writeFileSync(`${p}.bim`, files.bim);
      writeFileSync(`${p}.fam`, files.fam);
      return p;
    };
    const cases: [string, (f: { bed: Buffer; bim: string; fam: string }) => void, RegExp][] = [
      [
        'wrong magic',
        (f) => {
          f.bed[0] = 0x00;
        },
        /magic\.bed: not a PLINK \.bed file: expected magic bytes 6c 1b, found 00 1b 01/,
      ],
      [
        'sample-major',
        (f) => {
          f.bed[2] = 0x00;
        },
        /sample-major\.bed: sample-major \.bed \(mode byte 00\) is not supported/,
      ],
      [
        'truncated',
        (f) => {
          f.bed = f.bed.subarray(0, f.bed.length - 1);
        },
        /truncated\.bed: truncated \.bed: 13 samples \(\.fam\) x 41 variants \(\.bim\) need 3 \+ 4 x 41 = 167 bytes, found 166/,
      ],
      [
        'oversized',
        (f) => {
          f.bed = Buffer.concat([f.bed, Buffer.from([0])]);
        },
        /oversized \.bed: .* need 3 \+ 4 x 41 = 167 bytes, found 168/,
      ],
      [
        'empty bed',
        (f) => {
          f.bed = Buffer.alloc(0);
        },
        /not a PLINK \.bed file: expected magic bytes 6c 1b, found \(empty file\)/,
      ],
      [
        'bim fields',
        (f) => {
          f.bim = f.bim.replace('snp3\t', 'snp3 extra\t');
        },
        /bim-fields\.bim:3: expected 6 whitespace-separated fields .*, found 7/,
      ],
      [
        'bim position',
        (f) => {
          f.bim = f.bim.replace('\t3000\t', '\t3e3x\t');
        },
        /bim-position\.bim:3 \(column 4\): expected a base-pair position written as a decimal integer, found '3e3x'/,
      ],
      [
        'bim hex',
        (f) => {
          f.bim = f.bim.replace('\t3000\t', '\t0xbb8\t');
        },
        /bim-hex\.bim:3 \(column 4\): expected a base-pair position written as a decimal integer, found '0xbb8'/,
      ],
      [
        'bim exp',
        (f) => {
          f.bim = f.bim.replace('\t3000\t', '\t3e3\t');
        },
        /bim-exp\.bim:3 \(column 4\): expected a base-pair position written as a decimal integer, found '3e3'/,
      ],
      [
        'bim cm',
        (f) => {
          f.bim = f.bim.replace(/^(1\tsnp1\t)0/, '$1abc');
        },
        /bim-cm\.bim:1 \(column 3\): genetic position must be a number, found 'abc'/,
      ],
      [
        'fam duplicate',
        (f) => {
          f.fam = f.fam.replace('FS2 S2', 'FS1 S1');
        },
        /fam-duplicate\.fam:2: duplicate sample 'FS1 S1' \(first on line 1\)/,
      ],
      [
        'fam fields',
        (f) => {
          f.fam = f.fam.replace('FS3 S3 0 0 0 -9', 'FS3 S3 0 0');
        },
        /fam-fields\.fam:3: expected 6 whitespace-separated fields/,
      ],
      [
        'fam phenotype',
        (f) => {
          f.fam = f.fam.replace('FS4 S4 0 0 0 -9', 'FS4 S4 0 0 0 tall');
        },
        /fam-phenotype\.fam:4 \(column 6\): phenotype must be a number, -9 or NA, found 'tall'/,
      ],
    ];
    for (const [label, edit, message] of cases) {
      test(label, async () => {
        const p = variant(label.replace(' ', '-'), edit);
        await assert.rejects(openBed(p), (e: unknown) => e instanceof InputError && message.test(e.message));
      });
    }
    test('missing file', async () => {
      await assert.rejects(
        openBed(join(dir, 'absent')),
        (e: unknown) => e instanceof InputError && /absent\.(bim|fam): expected a readable text file, found no such file/.test(e.message),
      );
    });
  });

  sharedTest(
    "column-6 dosages equal pandas_plink's: mean and sd of all 49008 variants match limix's reference",
    [`${STRUCT}.bed`, 'refs/limix/example_lmm_fullchrom/res_lmm.csv'],
    async () => {
      const ref = readFileSync(`${SHARED}refs/limix/example_lmm_fullchrom/res_lmm.csv`, 'utf8').trim().split('\n');
      const header = ref[0]!.split(',');
      const [iSnp, iMean, iSd] = ['snp', 'mean_dosage', 'std_dosage'].map((c) => header.indexOf(c));
      const bed = await openBed(SHARED + STRUCT, { count: 'a2' });
      let j = 1;
      let worst = 0;
      for await (const b of bed.batches({ size: 5000 })) {
        for (let k = 0; k < b.dosages.cols; k++, j++) {
          const f = ref[j]!.split(',');
          assert.equal(b.variants.id[k], f[iSnp!]);
          const col = b.dosages.col(k);
          const n = col.length;
          const mean = col.reduce((s, v) => s + v, 0) / n;
          const sd = Math.sqrt(col.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
          worst = Math.max(worst, Math.abs(mean - Number(f[iMean!])), Math.abs(sd - Number(f[iSd!])));
        }
      }
      await bed.close();
      assert.equal(j - 1, 49008);
      assert.ok(worst < 1e-12, `largest difference ${worst}`);
    },
  );

  for (const [tool, count, args] of [
    ['plink1.9', 'a1', ['--recode', 'A', '--keep-allele-order']],
    ['plink2', 'a2', ['--export', 'A']],
  ] as const) {
    // Needs the shared file as well as the tool: without either it is skipped (a failure under CI=true).
    sharedTest(`${count} dosages equal ${tool} ${args.join(' ')} on the structlmm chromosome 22 file`, `${STRUCT}.bed`, async (t) => {
      if (!requireTool(t, tool)) return;
      const out = join(dir, tool);
      const r = spawnSync(tool, ['--bfile', SHARED + STRUCT, ...args, '--out', out, '--threads', '1'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const lines = readFileSync(`${out}.raw`, 'utf8').trim().split('\n');
      const bed = await openBed(SHARED + STRUCT, { count });
      const all: Matrix = await bed.read(Int32Array.from({ length: bed.nVariants }, (_, i) => i));
      await bed.close();
      assert.equal(lines.length - 1, all.rows);
      assert.equal(lines[0]!.split(/\s+/).length - 6, all.cols);
      for (let i = 0; i < all.rows; i++) {
        const f = lines[i + 1]!.split(/\s+/);
        for (let j = 0; j < all.cols; j++) {
          const v = f[6 + j] === 'NA' ? Number.NaN : Number(f[6 + j]);
          if (!(v === all.data[i + j * all.rows] || (Number.isNaN(v) && Number.isNaN(all.data[i + j * all.rows]!)))) {
            assert.fail(`sample ${i} variant ${j}: ${tool} ${f[6 + j]} vs lmmkit ${all.data[i + j * all.rows]}`);
          }
        }
      }
    });
  }
});
