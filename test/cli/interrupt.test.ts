// Killing a run (issue 13, item 8): SIGINT and SIGTERM remove the run's
// hidden temporary files, leave nothing at its output paths and exit with
// 130 and 143 and one line on stderr; after a SIGKILL the temporary file
// stays, and the next run writing the same output removes it (only it) and
// writes the same bytes as a run never interrupted. Worker threads do not
// keep an interrupted run alive. Before, SIGINT and SIGTERM left the
// temporary files (up to the kinship's size) behind, and nothing cleaned
// them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const BIN = new URL('../../../bin/lmmkit.js', import.meta.url).pathname;
const dir = scratchDir('lmmkit-interrupt-');
const TEMP = /^\..*\.[0-9a-f]{12}\.tmp$/;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** The temporary files in `folder` with more than `bytes` bytes written (the run is well into its output). */
function temporaries(folder: string, bytes = 0): string[] {
  return readdirSync(folder).filter((f) => TEMP.test(f) && (statSync(join(folder, f), { throwIfNoEntry: false })?.size ?? -1) > bytes);
}

/**
 * Starts `lmmkit ARGS`, waits until `ready()` says the run is under way
 * (polling), sends `signal` and waits for the exit (a run that ends before
 * it is ready fails the test).
 */
async function interrupt(args: string[], signal: NodeJS.Signals, ready: (stderr: string) => boolean): Promise<Exit> {
  // Progress lines at every update ($LMMKIT_PROGRESS_SECONDS=0): `ready` may wait for them.
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LMMKIT_PROGRESS_SECONDS: '0' } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig, stderr })));
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  const t0 = Date.now();
  while (!ready(stderr)) {
    assert.ok(!ended, `the run ended before it could be interrupted: ${stderr}`);
    assert.ok(Date.now() - t0 < 60_000, 'the run did not start within a minute');
    await new Promise((r) => setTimeout(r, 20));
  }
  const sent = Date.now();
  child.kill(signal);
  const exit = await exited;
  // Bounded: neither the worker threads nor a pending write keep it alive.
  assert.ok(Date.now() - sent < 10_000, `${signal}: the run took ${Date.now() - sent} ms to stop`);
  return { ...exit, stderr };
}

/** Runs `lmmkit ARGS` to the end. */
async function run(args: string[]): Promise<Exit> {
  // Progress lines at every update ($LMMKIT_PROGRESS_SECONDS=0): `ready` may wait for them.
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LMMKIT_PROGRESS_SECONDS: '0' } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
}

/** Asserts what an interrupted run leaves: nothing at `outputs`; for SIGINT and SIGTERM, no temporary file, the status and one line. */
function assertInterrupted(e: Exit, signal: NodeJS.Signals, folder: string, outputs: string[]): void {
  for (const o of outputs) assert.ok(!existsSync(join(folder, o)), `${signal}: ${o} was written`);
  if (signal === 'SIGKILL') {
    assert.equal(e.signal, 'SIGKILL');
    return;
  }
  assert.equal(e.code, signal === 'SIGINT' ? 130 : 143, `${signal}: exit ${e.code} ${e.signal}: ${e.stderr}`);
  // Progress lines aside (the runs print one at every update).
  const lines = e.stderr.split('\n').filter((l) => l.startsWith('lmmkit:') && !/: \d+ \/ \d+ \w+ \(\d+\.\d%\), /.test(l));
  assert.equal(lines.length, 1, e.stderr);
  assert.match(lines[0]!, new RegExp(`^lmmkit: stopped by ${signal}: no output written`));
  assert.doesNotMatch(e.stderr, /Error|at /);
  assert.deepEqual(temporaries(folder), [], `${signal}: temporary files left`);
}

/** An output's bytes; in a JSON report, without its `seconds` and `run` block (timings are not outputs, as in the golden test). */
function content(path: string): Buffer {
  const bytes = readFileSync(path);
  return path.endsWith('.json')
    ? Buffer.from(
        bytes
          .toString('utf8')
          .replace(/\n\s*"seconds": [0-9.e+-]+,?/g, '')
          .replace(/\n {2}"run": \{\n[\s\S]*?\n {2}\},/, ''),
      )
    : bytes;
}

/**
 * The kill test of one command: an uninterrupted run gives the reference
 * bytes; then SIGKILL, SIGINT and SIGTERM each leave no output, and a
 * re-run after each (the one after SIGKILL cleaning its stale temporary
 * file) writes the reference bytes again.
 */
async function killTest(folder: string, args: string[], outputs: string[], ready: (stderr: string) => boolean): Promise<void> {
  const first = await run(args);
  assert.equal(first.code, 0, first.stderr);
  const reference = outputs.map((o) => content(join(folder, o)));
  for (const signal of ['SIGKILL', 'SIGINT', 'SIGTERM'] as const) {
    for (const o of outputs) rmSync(join(folder, o));
    const e = await interrupt(args, signal, ready);
    assertInterrupted(e, signal, folder, outputs);
    // Killed with its output half-written: the temporary file is left for the next run to remove.
    if (signal === 'SIGKILL') assert.ok(temporaries(folder).length > 0, 'SIGKILL left no temporary file: the run was not caught writing');
    const again = await run(args);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(temporaries(folder), [], `the run after ${signal} left temporary files`);
    for (const [k, o] of outputs.entries())
      assert.ok(content(join(folder, o)).equals(reference[k]!), `${o} after ${signal} differs from the uninterrupted run`);
  }
}

test('gwas: killed mid-scan (SIGKILL, SIGINT, SIGTERM): no output, no temporary file, a re-run writes the same bytes', async () => {
  const data = join(dir, 'gwas');
  mkdirSync(data);
  const sim = simulateGwas({ samples: 300, variants: 8000, seed: 3 });
  await writeBed(join(data, 'g'), sim.dosages, sim.samples, sim.variants);
  writeSampleTable(join(data, 'pheno.tsv'), sim.samples, ['t1'], (i) => sim.phenotype[i]!);
  const out = join(data, 'out');
  mkdirSync(out);
  const args = [
    'gwas',
    '--bfile',
    join(data, 'g'),
    '--pheno',
    join(data, 'pheno.tsv'),
    '--kinship-from-bfile',
    '--batch-size',
    '20',
    '--out',
    join(out, 'res'),
  ];
  // Interrupted once the scan's output holds some rows (the probe of the folder writes one byte).
  await killTest(out, args, ['res.t1.tsv', 'res.json'], () => temporaries(out, 4096).length > 0);
});

test('kinship: killed while computing and while writing its large table: no output, the stale temporary file of a SIGKILL removed', async () => {
  const data = join(dir, 'kinship');
  mkdirSync(data);
  // 1200 samples: a 1200 x 1200 table (~25 MB of text), long enough to write to be caught at it.
  const sim = simulateGwas({ samples: 1200, variants: 300, seed: 4 });
  await writeBed(join(data, 'g'), sim.dosages, sim.samples, sim.variants);
  const out = join(data, 'out');
  mkdirSync(out);
  const args = ['kinship', '--bfile', join(data, 'g'), '--block', '16', '--out', join(out, 'k.tsv')];
  await killTest(out, args, ['k.tsv'], () => temporaries(out, 1 << 20).length > 0);
  // While computing (progress under way, no temporary file yet).
  rmSync(join(out, 'k.tsv'));
  const e = await interrupt(args, 'SIGINT', (s) => /kinship pass: \d+ \/ 300 variants/.test(s));
  assertInterrupted(e, 'SIGINT', out, ['k.tsv']);
});

test('a re-run removes the stale temporary files of its own outputs, and no other file', async () => {
  const data = join(dir, 'stale');
  mkdirSync(data);
  const sim = simulateGwas({ samples: 40, variants: 60, seed: 5 });
  await writeBed(join(data, 'g'), sim.dosages, sim.samples, sim.variants);
  const out = join(data, 'out');
  mkdirSync(out);
  const stale = ['.k.tsv.0123456789ab.tmp', '.k.tsv.ffffffffffff.tmp'];
  const others = [
    '.k.tsv.0123456789abc.tmp',
    '.k.tsv.notes.tmp',
    '.kk.tsv.0123456789ab.tmp',
    '.other.tsv.0123456789ab.tmp',
    'k.tsv.0123456789ab.tmp',
    '.k.tsv.0123456789AB.tmp',
  ];
  for (const f of [...stale, ...others]) writeFileSync(join(out, f), 'left by a killed run\n');
  mkdirSync(join(out, '.k.tsv.aaaaaaaaaaaa.tmp'));
  const r = await run(['kinship', '--bfile', join(data, 'g'), '--out', join(out, 'k.tsv')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), [...others, '.k.tsv.aaaaaaaaaaaa.tmp', 'k.tsv', 'k.tsv.log'].sort());
});

test('varcomp fit --threads 2: interrupted while its worker threads fit, it stops at once and leaves nothing', async () => {
  const data = join(dir, 'varcomp');
  mkdirSync(data);
  const sim = simulateGwas({ samples: 300, variants: 20000, seed: 6 });
  await writeGenotypeFixture(sim, join(data, 'g'), join(data, 'kin.tsv'));
  writeSampleTable(join(data, 'pheno.tsv'), sim.samples, ['t1'], (i) => sim.phenotype[i]!);
  const out = join(data, 'out');
  mkdirSync(out);
  const args = [
    'varcomp',
    'fit',
    '--data',
    join(data, 'pheno.tsv'),
    '--y',
    't1',
    '--kinship',
    `A=${join(data, 'kin.tsv')}`,
    '--bfile',
    join(data, 'g'),
    '--ids',
    'IID',
    '--threads',
    '2',
    '--out',
    join(out, 'vc.tsv'),
  ];
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const e = await interrupt(args, signal, () => temporaries(out, 4096).length > 0);
    assertInterrupted(e, signal, out, ['vc.tsv', 'vc.json']);
  }
});
