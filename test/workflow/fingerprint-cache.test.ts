// A cluster worker's fingerprint cache (cachedFingerprinter): the part
// manifests it writes are those of the uncached `fingerprint`, and a file
// rewritten in place is hashed anew.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { cachedFingerprinter, fingerprint } from '../../src/workflow/chunks.js';
import { runDemo, runGwas, runNullFit } from '../../src/workflow/index.js';
import { scratchDir } from '../cli-support.js';

const dir = scratchDir('lmmkit-fpcache-');
let bfile: string;
let pheno: string;
let nullModel: string;

before(async () => {
  await runDemo({ out: join(dir, 'demo'), samples: 200, variants: 600, seed: 3 });
  bfile = join(dir, 'demo/demo');
  pheno = join(dir, 'demo/pheno.tsv');
  nullModel = join(dir, 'null');
  await runNullFit({ bfile, pheno, kinshipFromGenotypes: true, out: nullModel });
});

/** The manifest of chunk I of N scanned into `folder`, without its `files` (the report holds the run's seconds). */
async function manifestOf(folder: string, index: number, count: number, cached?: ReturnType<typeof cachedFingerprinter>): Promise<unknown> {
  mkdirSync(join(dir, folder));
  const out = join(dir, folder, 'res');
  await runGwas({ bfile, pheno, nullModel, batchSize: 100, out, chunk: { index, count }, fingerprint: cached });
  const m = JSON.parse(readFileSync(`${out}.part-000${index}-of-000${count}.manifest.json`, 'utf8')) as Record<string, unknown>;
  delete m.files;
  return m;
}

test('a worker reusing its fingerprints writes the manifests of one that hashes every chunk', async () => {
  const cached = cachedFingerprinter();
  for (const i of [1, 2, 3]) {
    const plain = (await manifestOf(`plain-${i}`, i, 3)) as { inputs: unknown[] };
    const reused = await manifestOf(`cached-${i}`, i, 3, cached);
    assert.equal(plain.inputs.length, 5, 'genotypes (.bed, .bim, .fam), pheno, null');
    assert.deepEqual(reused, JSON.parse(JSON.stringify(plain).replaceAll('plain-', 'cached-')));
  }
});

test('the cache keeps the caller role and hashes a file rewritten in place anew', async () => {
  const cached = cachedFingerprinter();
  const file = join(dir, 'x.txt');
  writeFileSync(file, 'aaaa\n');
  assert.deepEqual(await cached('pheno', file), await fingerprint('pheno', file));
  assert.equal((await cached('covar', file)).role, 'covar');
  writeFileSync(file, 'bbbb\n');
  const again = await cached('pheno', file);
  assert.deepEqual(again, await fingerprint('pheno', file));
  assert.notEqual(again.sha256, (await fingerprint('pheno', join(dir, 'demo/pheno.tsv'))).sha256);
});
