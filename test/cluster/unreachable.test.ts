// `lmmkit cluster` against a Redis that is not there (a port with nothing
// listening): submit, status and wait give up after --redis-timeout (or
// LMMKIT_REDIS_TIMEOUT) with one line naming the URL (its password hidden)
// and exit 2, submit before it writes anything; a worker keeps retrying,
// says so once, takes jobs when Redis comes up, and stops on SIGTERM
// whether Redis answers or not.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runDemo } from '../../src/workflow/index.js';
import { scratchDir } from '../cli-support.js';
import { hasTool } from '../support.js';
import { freePort, startRedis, type TestRedis } from './redis-support.js';

const BIN = join(import.meta.dirname, '../../../bin/lmmkit.js');
const dir = scratchDir('lmmkit-unreachable-');

/** Runs lmmkit to its end, timed. */
function timed(args: string[], env: Record<string, string> = {}): { status: number | null; stderr: string; stdout: string; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, seconds: (performance.now() - t0) / 1000 };
}

/** Resolves when `text()` matches `re` (rejects after `ms`, with the text so far). */
async function until(text: () => string, re: RegExp, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!re.test(text())) {
    if (Date.now() - t0 > ms) throw new Error(`expected ${re} within ${ms / 1000} s, found:\n${text()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let port: number;
let url: string;

before(async () => {
  port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  await runDemo({ out: join(dir, 'demo'), samples: 60, variants: 50, seed: 2 });
});

test('status, wait and submit give up after --redis-timeout with one line naming the URL, exit 2', async () => {
  for (const cmd of ['status', 'wait']) {
    const r = timed(['cluster', cmd, '--redis', `redis://lmm:s3cret@127.0.0.1:${port}`, '--redis-timeout', '1', 'rabcdefgh12']);
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      new RegExp(`^lmmkit: cluster ${cmd}: cannot reach Redis at redis://lmm:\\*\\*\\*@127\\.0\\.0\\.1:${port} within 1 s \\(ECONNREFUSED\\)`),
    );
    assert.doesNotMatch(r.stderr, /s3cret/);
    // Node's start and the imports take a few seconds on a loaded machine; a hang would be the test's 60 s.
    assert.ok(r.seconds < 30, `${cmd} took ${r.seconds} s`);
  }
  const store = join(dir, 'store');
  const gwas = ['--bfile', join(dir, 'demo/demo'), '--pheno', join(dir, 'demo/pheno.tsv'), '--kinship-from-bfile', '--out', join(dir, 'res')];
  const s = timed(['cluster', 'submit', '--redis', url, '--chunks', '2', '--store', store, '--', ...gwas], { LMMKIT_REDIS_TIMEOUT: '1.5' });
  assert.equal(s.status, 2, s.stderr);
  assert.match(
    s.stderr.trim(),
    new RegExp(`^lmmkit: cluster submit: cannot reach Redis at redis://127\\.0\\.0\\.1:${port} within 1\\.5 s \\(ECONNREFUSED\\)[^\\n]*$`),
  );
  assert.equal(existsSync(store), false, 'submit fails before it creates the store or fits the null model');
  assert.equal(existsSync(join(dir, 'res.json')), false);
});

test('a timeout that is not a positive number of seconds is refused', () => {
  const a = timed(['cluster', 'status', '--redis', url, '--redis-timeout', '0', 'rabcdefgh12']);
  assert.equal(a.status, 2);
  assert.match(a.stderr, /--redis-timeout: expected a positive number of seconds, found '0'/);
  const b = timed(['cluster', 'wait', '--redis', url, 'rabcdefgh12'], { LMMKIT_REDIS_TIMEOUT: 'soon' });
  assert.equal(b.status, 2);
  assert.match(b.stderr, /LMMKIT_REDIS_TIMEOUT: expected a positive number of seconds, found 'soon'/);
});

const skip = hasTool('redis-server') ? false : process.env.CI === 'true' ? false : 'redis-server not installed';

describe('a worker without Redis (redis-server started later)', { skip }, () => {
  const live: ChildProcess[] = [];
  let redis: TestRedis | undefined;
  after(async () => {
    for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await redis?.stop();
  });

  function worker(): ChildProcess & { text: () => string } {
    const p = spawn(process.execPath, [BIN, 'cluster', 'worker', '--redis', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout?.on('data', (d) => (text += d));
    p.stderr?.on('data', (d) => (text += d));
    live.push(p);
    return Object.assign(p, { text: () => text });
  }

  const exited = (p: ChildProcess): Promise<number | null> =>
    p.exitCode !== null || p.signalCode !== null ? Promise.resolve(p.exitCode) : new Promise((done) => p.once('exit', (code) => done(code)));

  test('retries with one message, takes jobs once Redis answers, stops on SIGTERM', async () => {
    const w = worker();
    const down = new RegExp(`lmmkit: worker: cannot reach Redis at redis://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); retrying`);
    await until(w.text, down, 20_000);
    // Several attempts later: still running, and the outage said once.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(w.exitCode, null, w.text());
    assert.equal(w.text().match(new RegExp(down.source, 'g'))?.length, 1, w.text());
    redis = await startRedis(join(dir, 'redis'), port);
    await until(w.text, /worker: Redis at redis:\/\/127\.0\.0\.1:\d+ answers: taking jobs/, 15_000);
    // A run submitted now is taken by this worker and merged.
    const gwas = ['--bfile', join(dir, 'demo/demo'), '--pheno', join(dir, 'demo/pheno.tsv'), '--kinship-from-bfile', '--out', join(dir, 'late')];
    const s = timed(['cluster', 'submit', '--redis', url, '--chunks', '2', '--store', join(dir, 'late-store'), '--', ...gwas]);
    assert.equal(s.status, 0, s.stderr);
    const run = s.stdout.trim().split('\n').at(-1)!;
    const done = timed(['cluster', 'wait', '--redis', url, run]);
    assert.equal(done.status, 0, done.stderr + w.text());
    assert.ok(existsSync(join(dir, 'late.trait.tsv')), 'the merged table');
    w.kill('SIGTERM');
    assert.equal(await exited(w), 0, w.text());
  });

  test('a worker stopped while Redis is down exits (SIGTERM)', async () => {
    await redis?.stop();
    const w = worker();
    await until(w.text, /cannot reach Redis/, 20_000);
    w.kill('SIGTERM');
    const code = await Promise.race([exited(w), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
    assert.notEqual(code, 'hung', `the worker did not stop within 15 s:\n${w.text()}`);
  });
});
