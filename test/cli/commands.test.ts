// The lmmkit command line, run as a user runs it: exit status 0 only on
// success, one clear line on bad input, outputs written whole.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { simulateGenotypes } from '../../src/sim/genotypes.js';

const BIN = new URL('../../../bin/lmmkit.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lmmkit-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function lmmkit(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env } });
}

describe('lmmkit command line', () => {
  test('info --json names the backend, BLAS, threads and Node', () => {
    const r = lmmkit('info', '--json');
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { backend: string; threads: number; node: string; blas: string };
    assert.ok(['js', 'native'].includes(info.backend));
    assert.equal(info.node, process.version);
    assert.ok(info.threads >= 1 && info.blas.length > 0);
    assert.equal(JSON.parse(lmmkit('info', '--json').stdout).backend, info.backend);
    const js = spawnSync(process.execPath, [BIN, 'info', '--json'], { encoding: 'utf8', env: { ...process.env, LMMKIT_BACKEND: 'js' } });
    assert.equal(JSON.parse(js.stdout).backend, 'js');
    const bad = spawnSync(process.execPath, [BIN, 'info'], { encoding: 'utf8', env: { ...process.env, LMMKIT_BACKEND: 'cuda' } });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /LMMKIT_BACKEND='cuda': expected 'js', 'native' or 'wasm'/);
  });

  test('selfcheck passes its checks on every backend', () => {
    const r = lmmkit('selfcheck', '--backend', 'all', '--json');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const results = JSON.parse(r.stdout) as { checks: { ok: boolean }[] }[];
    assert.ok(results.length >= 1);
    for (const res of results) assert.ok(res.checks.every((c) => c.ok));
  });

  test('kinship writes a symmetric table with ids; bad input exits 2 with one line and writes nothing', async () => {
    const sim = simulateGenotypes({ samples: 9, variants: 50, seed: 3 });
    const prefix = join(dir, 'g');
    await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
    const out = join(dir, 'k.tsv');
    const r = lmmkit('kinship', '--bfile', prefix, '--method', 'gcta', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    assert.deepEqual(lines[0], ['id', ...sim.samples.iid]);
    assert.equal(lines.length, 10);
    for (let i = 1; i <= 9; i++) for (let j = 1; j <= 9; j++) assert.equal(lines[i]![j], lines[j]![i]);

    const missing = join(dir, 'none.tsv');
    const bad = lmmkit('kinship', '--bfile', join(dir, 'absent'), '--out', missing);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^lmmkit: .*absent\.(bim|fam): expected a readable text file, found no such file\n$/);
    assert.ok(!existsSync(missing));
    const both = lmmkit('kinship', '--bfile', prefix, '--bimbam', 'x', '--out', missing);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /give exactly one of --bfile PREFIX, --bimbam FILE, --pfile PREFIX, --vcf FILE and --bgen FILE/);
    assert.notEqual(lmmkit('kinship', '--bfile', prefix, '--method', 'nope', '--out', missing).status, 0);
    // The value as typed, not NaN (issue 13, item 11).
    const block = lmmkit('kinship', '--bfile', prefix, '--block', 'abc', '--out', missing);
    assert.equal(block.status, 2);
    assert.match(block.stderr, /^lmmkit: --block: expected an integer, found 'abc'\n$/);
    assert.ok(!existsSync(missing));
  });
});
