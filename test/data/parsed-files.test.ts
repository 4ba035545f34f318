// A cluster worker's parsed-file cache (ParsedFileCache): a fileset opened
// again gets the tables parsed the first time, a file rewritten in place is
// parsed anew, a failed parse is not kept, and the readers opened through
// the cache read what uncached ones read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openBed } from '../../src/data/node/bed.js';
import { ParsedFileCache } from '../../src/data/node/parsed-files.js';
import { openPgen } from '../../src/data/node/pgen.js';
import { runDemo } from '../../src/workflow/index.js';
import { scratchDir } from '../cli-support.js';
import { requireTool } from '../support.js';

const dir = scratchDir('lmmkit-parsed-');

test('a .bim and .fam are parsed once per file identity, and a rewritten file anew', async () => {
  await runDemo({ out: join(dir, 'demo'), samples: 50, variants: 120, seed: 5 });
  const bfile = join(dir, 'demo/demo');
  const cache = new ParsedFileCache();
  const a = await openBed(bfile, {}, cache);
  const b = await openBed(bfile, {}, cache);
  const plain = await openBed(bfile);
  try {
    assert.equal(b.variants, a.variants, 'the second open shares the parsed .bim');
    assert.equal(b.samples, a.samples, 'and the parsed .fam');
    assert.notEqual(plain.variants, a.variants);
    assert.deepEqual(a.variants, plain.variants);
    assert.deepEqual(a.quirks, plain.quirks);
    const [x, y] = [await a.read(Int32Array.of(0, 7, 119)), await plain.read(Int32Array.of(0, 7, 119))];
    assert.deepEqual(x.data, y.data);
  } finally {
    await Promise.all([a.close(), b.close(), plain.close()]);
  }
  // The same path rewritten (one variant renamed): a new identity, parsed again.
  const bim = `${bfile}.bim`;
  const lines = readFileSync(bim, 'utf8').split('\n');
  lines[0] = lines[0]!.replace(/\t[^\t]+\t/, '\trenamed_1\t');
  writeFileSync(bim, lines.join('\n'));
  const c = await openBed(bfile, {}, cache);
  try {
    assert.notEqual(c.variants, a.variants);
    assert.equal(c.variants.id[0], 'renamed_1');
  } finally {
    await c.close();
  }
});

test('a failed parse is not kept: the file fixed, the next open reads it', async () => {
  await runDemo({ out: join(dir, 'bad'), samples: 40, variants: 30, seed: 6 });
  const bfile = join(dir, 'bad/demo');
  const bim = `${bfile}.bim`;
  const good = readFileSync(bim, 'utf8');
  writeFileSync(bim, good.replace(/\n/, '\nnot a bim line\n'));
  const cache = new ParsedFileCache();
  await assert.rejects(openBed(bfile, {}, cache), /bim:2.*expected 6 whitespace-separated fields/);
  writeFileSync(bim, good);
  const r = await openBed(bfile, {}, cache);
  try {
    assert.equal(r.variants.id.length, 30);
  } finally {
    await r.close();
  }
});

test('a .pvar and .psam are parsed once, and the cache keeps the last few files only', async (t) => {
  if (!requireTool(t, 'plink2')) return;
  const pfile = join(dir, 'p');
  const made = spawnSync('plink2', ['--bfile', join(dir, 'demo/demo'), '--make-pgen', '--out', pfile, '--silent', '--threads', '1'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const cache = new ParsedFileCache(2);
  const a = await openPgen(pfile, cache);
  const b = await openPgen(pfile, cache);
  assert.equal(b.variants, a.variants);
  assert.equal(b.samples, a.samples);
  await Promise.all([a.close(), b.close()]);
  // Two more files push the .pvar and .psam out: the next open parses them again.
  const other = await openBed(join(dir, 'bad/demo'), {}, cache);
  await other.close();
  const c = await openPgen(pfile, cache);
  assert.notEqual(c.variants, a.variants);
  assert.deepEqual(c.variants, a.variants);
  await c.close();
});
