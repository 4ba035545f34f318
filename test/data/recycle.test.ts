// Opt-in reuse of the batches' storage (BatchOptions.recycle): each reader
// decodes into a ring of k + 1 buffers, writes every element (a reused
// buffer's old values never show through), and the scans and kinship that
// opt in hold no batch longer than they declare.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BatchOptions, GenotypeBatch, GenotypeSource } from '../../src/data/genotypes.js';
import { kinship } from '../../src/data/kinship.js';
import { openBgen } from '../../src/data/node/bgen.js';
import { openPgen } from '../../src/data/node/pgen.js';
import { openVcf } from '../../src/data/node/vcf.js';
import { openBed, openBimbam, writeBed } from '../../src/node.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { gwasScan } from '../../src/scan/gwas.js';
import { mmEstStream } from '../../src/varcomp/mmest-stream.js';
import { scratchDir } from '../cli-support.js';
import { syntheticVariants, toolTest } from '../support.js';

const dir = scratchDir('lmmkit-recycle-');
const N = 37;
const M = 23;

/** N x M dosages 0, 1, 2 and about 1 in 7 missing, varying by sample and variant. */
function dosages(): Matrix {
  const x = new Matrix(N, M);
  for (let j = 0; j < M; j++) for (let i = 0; i < N; i++) x.data[i + j * N] = (i * 31 + j * 17) % 7 === 3 ? Number.NaN : (i * j + i + 2 * j) % 3;
  return x;
}

const SAMPLES = { fid: Array.from({ length: N }, (_, i) => `f${i}`), iid: Array.from({ length: N }, (_, i) => `s${i}`) };

/**
 * Reads `src` twice with `opts`, once with fresh storage and once with
 * `recycle` k: the dosages equal batch by batch, and batch i + k + 1 lies in
 * batch i's buffer (k + 1 buffers in turn).
 */
async function assertRecycles(src: GenotypeSource, opts: BatchOptions, k: number): Promise<void> {
  const fresh: Float64Array[] = [];
  for await (const b of src.batches(opts)) fresh.push(b.dosages.data.slice());
  const buffers: ArrayBufferLike[] = [];
  let i = 0;
  for await (const b of src.batches({ ...opts, recycle: k })) {
    assert.deepEqual(b.dosages.data, fresh[i], `batch ${i} with recycle ${k}`);
    buffers.push(b.dosages.data.buffer);
    i++;
  }
  assert.equal(i, fresh.length);
  assert.ok(fresh.length > k + 1, 'enough batches to come round the ring');
  for (let j = 0; j + k + 1 < buffers.length; j++) {
    assert.equal(buffers[j + k + 1], buffers[j], `batch ${j + k + 1} reuses batch ${j}'s buffer`);
    for (let d = 1; d <= k; d++) assert.notEqual(buffers[j + d], buffers[j], `batch ${j + d} is not in batch ${j}'s buffer`);
  }
}

/** Selections that make every reader write its columns in each of its ways: all samples, a subset, a repeated variant. */
const CASES: BatchOptions[] = [
  { size: 4 },
  { size: 5, samples: [36, 0, 5, 5, 12, 20] },
  { size: 3, select: { indices: [2, 2, 7, 1, 22, 0, 9, 9, 9, 15] } },
  { size: 2, standardize: true },
];

async function assertReader(src: GenotypeSource): Promise<void> {
  try {
    for (const opts of CASES) for (const k of [0, 1, 2]) await assertRecycles(src, opts, k);
  } finally {
    await src.close();
  }
}

test('batches({ recycle }) of a .bed and a BIMBAM file: a ring of k + 1 buffers, the same dosages as fresh storage', async () => {
  const prefix = join(dir, 'g');
  await writeBed(prefix, dosages(), SAMPLES, syntheticVariants(M));
  await assertReader(await openBed(prefix));
  const x = dosages();
  const lines = Array.from(
    { length: M },
    (_, j) => `v${j}, A, C, ${Array.from({ length: N }, (_, i) => (Number.isNaN(x.data[i + j * N]!) ? 'NA' : String(x.data[i + j * N]! * 0.9))).join(', ')}`,
  );
  writeFileSync(join(dir, 'g.bimbam'), `${lines.join('\n')}\n`);
  await assertReader(await openBimbam(join(dir, 'g.bimbam'), { samples: SAMPLES }));
});

toolTest('batches({ recycle }) of a .pgen, a BGEN and a VCF.gz that plink2 wrote (dosages, missing calls)', 'plink2', async () => {
  const g = join(dir, 'dummy');
  const run = (...args: string[]) => {
    const r = spawnSync('plink2', [...args, '--silent', '--threads', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  run('--dummy', String(N), String(M), '0.1', 'dosage-freq=0.3', '--seed', '3', '--make-pgen', '--out', g);
  run('--pfile', g, '--export', 'bgen-1.2', 'bits=8', 'ref-first', 'id-paste=iid', '--out', g);
  run('--pfile', g, '--export', 'vcf', 'bgz', 'vcf-dosage=DS', 'id-paste=iid', '--out', g);
  await assertReader(await openPgen(g));
  await assertReader(await openBgen(`${g}.bgen`));
  await assertReader(await openVcf(`${g}.vcf.gz`));
});

test('batches: recycle must be a non-negative integer', async () => {
  const prefix = join(dir, 'bad');
  await writeBed(prefix, dosages(), SAMPLES, syntheticVariants(M));
  const bed = await openBed(prefix);
  try {
    for (const recycle of [-1, 1.5]) {
      await assert.rejects(bed.batches({ recycle }).next(), {
        name: 'ArgumentError',
        message: `batches: recycle must be a non-negative integer, found ${recycle}`,
      });
    }
  } finally {
    await bed.close();
  }
});

/**
 * `source` as the strictest reader the contract allows: with `recycle` k,
 * batch i's dosages are overwritten with NaN as soon as batch i + k + 1 is
 * asked for (and without it nothing is). Records each recycle asked for.
 */
function strictRing(source: GenotypeSource, asked: (number | undefined)[]): GenotypeSource {
  return {
    path: source.path,
    samples: source.samples,
    variants: source.variants,
    close: () => source.close(),
    async *batches(opts: BatchOptions = {}): AsyncGenerator<GenotypeBatch> {
      asked.push(opts.recycle);
      const held: GenotypeBatch[] = [];
      const { recycle, ...rest } = opts;
      for await (const b of source.batches(rest)) {
        if (recycle !== undefined) {
          held.push(b);
          if (held.length > recycle + 1) held.shift()!.dosages.data.fill(Number.NaN);
        }
        yield b;
      }
    },
  };
}

test('gwasScan (step 1 and 3 across batches) and kinship opt in to recycling and hold no batch longer than they declare', async () => {
  const prefix = join(dir, 'scan');
  const x = dosages();
  await writeBed(prefix, x, SAMPLES, syntheticVariants(M));
  const y = Float64Array.from({ length: N }, (_, i) => Math.sin(i * 1.7) + 0.1 * i);
  const plain = await openBed(prefix);
  try {
    for (const step of [1, 3]) {
      const asked: (number | undefined)[] = [];
      const scan = async (source: GenotypeSource) => {
        const out: number[] = [];
        for await (const r of gwasScan({ source, y, step, batchSize: 4 })) out.push(...r.fixed!.pv, ...r.fixed!.beta.data);
        return out;
      };
      const want = await scan(plain);
      assert.deepEqual(await scan(strictRing(plain, asked)), want, `step ${step}`);
      assert.deepEqual(asked, [1], 'gwasScan asks for a ring of 2');
    }
    const asked: (number | undefined)[] = [];
    const want = await kinship(plain, { method: 'standardized', blockSize: 4 });
    const got = await kinship(strictRing(plain, asked), { method: 'standardized', blockSize: 4 });
    assert.deepEqual(got.k.data, want.k.data);
    assert.deepEqual(asked, [1], 'kinship asks for a ring of 2');
  } finally {
    await plain.close();
  }
});

test('mmEstStream asks for one buffer (k = 0) and its models hold no dosages', async () => {
  const prefix = join(dir, 'mmest');
  const x = dosages();
  await writeBed(prefix, x, SAMPLES, syntheticVariants(M));
  const y = Float64Array.from({ length: N }, (_, i) => Math.cos(i * 0.9) + 0.05 * i);
  const varList = [
    { name: 'Additive', r: Matrix.identity(N) },
    { name: 'Error', r: Matrix.identity(N) },
  ];
  const plain = await openBed(prefix);
  try {
    const fit = async (source: GenotypeSource) => {
      const out: unknown[] = [];
      for await (const b of mmEstStream({ source, y, varList, batchSize: 4 })) out.push(...b.models);
      // Compared once every batch has been read: a model holding a view of its batch would have changed.
      return JSON.stringify(out);
    };
    const asked: (number | undefined)[] = [];
    assert.equal(await fit(strictRing(plain, asked)), await fit(plain));
    assert.deepEqual(asked, [0]);
  } finally {
    await plain.close();
  }
});
