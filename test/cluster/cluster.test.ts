// `lmmkit cluster` on a real redis-server: a scan cut into chunks run by
// worker processes equals one unsplit `lmmkit gwas`, byte for byte, also
// when a worker is SIGKILLed mid-chunk or Redis restarts mid-run; a chunk
// with bad input fails for good with its message in status, and wait exits 1.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { runDemo } from '../../src/workflow/index.js';
import { lmmkit, scratchDir } from '../cli-support.js';
import { hasTool } from '../support.js';
import { startRedis, type TestRedis } from './redis-support.js';

const BIN = join(import.meta.dirname, '../../../bin/lmmkit.js');
const dir = scratchDir('lmmkit-cluster-');
let redis: TestRedis;
const live: ChildProcess[] = [];

/** Runs lmmkit asynchronously (the test keeps polling while it runs). */
function start(args: string[], env: Record<string, string> = {}): ChildProcess & { out: () => string } {
  const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  p.stdout?.on('data', (d) => (text += d));
  p.stderr?.on('data', (d) => (text += d));
  live.push(p);
  return Object.assign(p, { out: () => text });
}

async function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
  return new Promise((done) => p.once('exit', (code) => done(code)));
}

/** Stops a worker with SIGTERM (it finishes its job, closes and exits 0). */
async function stopWorker(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGTERM');
  assert.equal(await exited(p), 0, 'a worker stopped by SIGTERM exits 0');
}

/**
 * A worker process. Every worker of the file gets the short lock: BullMQ's
 * stalled check runs once per interval for the whole queue (a Redis key
 * set by whichever worker checks), so one worker with the 30 s default
 * would delay the re-queueing of a killed worker's job by up to 30 s.
 */
function worker(): ChildProcess & { out: () => string } {
  return start(['cluster', 'worker', '--redis', redis.url], { LMMKIT_CLUSTER_LOCK_MS: '1500' });
}

/** Submits `gwas` in `chunks` and returns the run id (the last line of stdout). */
function submit(chunks: number, store: string, gwas: string[]): string {
  const r = lmmkit('cluster', 'submit', '--redis', redis.url, '--chunks', String(chunks), '--store', store, '--', ...gwas);
  assert.equal(r.status, 0, r.stderr);
  const run = r.stdout.trim().split('\n').at(-1)!;
  assert.match(run, /^r[0-9a-z]+$/);
  return run;
}

async function waitFor(run: string): Promise<{ status: number | null; text: string }> {
  const w = start(['cluster', 'wait', '--redis', redis.url, run]);
  const status = await exited(w);
  return { status, text: w.out() };
}

/** The files of a folder (the .log left out): tables as bytes, the report without run/seconds, paths replaced. */
function outputsOf(folder: string, replace: [string, string][]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(folder).sort()) {
    if (f.endsWith('.log')) continue;
    let text = readFileSync(join(folder, f)).toString(f.endsWith('.json') ? 'utf8' : 'base64');
    if (f.endsWith('.json')) {
      for (const [a, b] of replace) text = text.split(a).join(b);
      text = JSON.stringify(JSON.parse(text, (k, v) => (k === 'run' || k === 'seconds' ? undefined : v)));
    }
    out.set(f, text);
  }
  return out;
}

/** Checks that the merged outputs of `run` are the unsplit run's (the store's copy of the null model named as the original). */
function sameAsWhole(whole: string, merged: string, store: string, run: string, nullFile: string): void {
  const a = outputsOf(whole, [[whole, 'FOLDER']]);
  const b = outputsOf(merged, [
    [merged, 'FOLDER'],
    [join(store, 'runs', run, 'null.model'), nullFile],
  ]);
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [f, bytes] of a) assert.ok(b.get(f) === bytes, `${f} differs from the unsplit run's`);
}

const skip = hasTool('redis-server') ? false : process.env.CI === 'true' ? false : 'redis-server not installed';

describe('lmmkit cluster (BullMQ on redis-server)', { skip }, () => {
  let gwasArgs: (nullFile: string, out: string, extra?: string[]) => string[];
  before(async () => {
    redis = await startRedis(join(dir, 'redis'));
    await runDemo({ out: join(dir, 'demo'), samples: 300, variants: 1200, seed: 7 });
    for (const [name, test] of [
      ['null', 'fixed'],
      ['null-exact', 'exact'],
    ] as const) {
      const r = lmmkit(
        'null',
        'fit',
        '--bfile',
        join(dir, 'demo/demo'),
        '--pheno',
        join(dir, 'demo/pheno.tsv'),
        '--kinship-from-bfile',
        '--test',
        test,
        '--out',
        join(dir, name),
      );
      assert.equal(r.status, 0, r.stderr);
    }
    gwasArgs = (nullFile, out, extra = []) => [
      '--bfile',
      join(dir, 'demo/demo'),
      '--pheno',
      join(dir, 'demo/pheno.tsv'),
      '--null',
      nullFile,
      '--batch-size',
      '16',
      ...extra,
      '--out',
      out,
    ];
  });
  after(async () => {
    for (const p of live.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await redis?.stop();
  });
  // No process of a failed test is left running.
  test.afterEach(() => {
    for (const p of live.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  /** The unsplit run into `name`-whole/res; returns the folder. */
  const whole = (name: string, nullFile: string, extra: string[] = []): string => {
    const folder = join(dir, `${name}-whole`);
    mkdirSync(folder);
    const r = lmmkit('gwas', ...gwasArgs(nullFile, join(folder, 'res'), extra));
    assert.equal(r.status, 0, r.stderr);
    return folder;
  };

  test('4 chunks on 2 worker processes = one unsplit gwas, byte for byte', async () => {
    const nullFile = join(dir, 'null');
    const w = whole('two', nullFile, ['--out-format', 'lmmkit,regenie', '--gz']);
    const merged = join(dir, 'two-merged');
    mkdirSync(merged);
    const store = join(dir, 'store-two');
    const run = submit(4, store, gwasArgs(nullFile, join(merged, 'res'), ['--out-format', 'lmmkit,regenie', '--gz']));
    const workers = [worker(), worker()];
    const r = await waitFor(run);
    assert.equal(r.status, 0, r.text);
    sameAsWhole(w, merged, store, run, nullFile);
    const st = lmmkit('cluster', 'status', '--redis', redis.url, run);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, /4 chunks: 0 waiting, 0 active, 4 done, 0 failed; merge completed/);
    await Promise.all(workers.map(stopWorker));
    // Both processes took jobs, and each read the null model once, however many chunks it scanned.
    for (const p of workers) {
      assert.match(p.out(), /chunk \d\/4: done|merged 4 chunks/, p.out());
      const reads = p.out().match(/null model .*: read \(once per run/g) ?? [];
      assert.ok(reads.length <= 1, p.out());
    }
    assert.ok(
      workers.some((p) => (p.out().match(/chunk \d\/4: done/g) ?? []).length >= 2),
      'a worker scanned two chunks or more',
    );
  });

  test('(a) a worker SIGKILLed mid-chunk: its chunk is re-queued after the lock expires, another worker finishes, same bytes', async () => {
    const nullFile = join(dir, 'null-exact');
    const extra = ['--test', 'exact'];
    const w = whole('kill', nullFile, extra);
    const merged = join(dir, 'kill-merged');
    mkdirSync(merged);
    const store = join(dir, 'store-kill');
    const run = submit(4, store, gwasArgs(nullFile, join(merged, 'res'), extra));
    const doomed = worker();
    const queue = new Queue('lmmkit', { connection: { url: redis.url } });
    let killed: number | undefined;
    try {
      const t0 = Date.now();
      while (killed === undefined && Date.now() - t0 < 20_000) {
        for (const job of await queue.getActive()) {
          const p = job.progress as { worker?: string };
          if (job.name === 'chunk' && p?.worker?.endsWith(`:${doomed.pid}`)) {
            doomed.kill('SIGKILL');
            killed = (job.data as { index: number }).index;
            break;
          }
        }
        if (killed === undefined) await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await queue.close();
    }
    assert.ok(killed !== undefined, 'the first worker took a chunk');
    await exited(doomed);
    const rescuer = worker();
    const r = await waitFor(run);
    assert.equal(r.status, 0, r.text);
    sameAsWhole(w, merged, store, run, nullFile);
    // The killed chunk was scanned twice: the dead worker's attempt folder is left, unread.
    const attempts = readdirSync(join(store, 'runs', run, 'attempts')).filter((a) => a.startsWith(`c${killed}-`));
    assert.equal(attempts.length, 2, `attempts of chunk ${killed}: ${attempts.join(', ')}`);
    await stopWorker(rescuer);
  });

  test('(b) a worker presumed dead (SIGSTOP) that finishes late: its part is not read, the merged bytes do not change', async () => {
    const nullFile = join(dir, 'null');
    const w = whole('late', nullFile);
    const merged = join(dir, 'late-merged');
    mkdirSync(merged);
    const store = join(dir, 'store-late');
    const run = submit(4, store, gwasArgs(nullFile, join(merged, 'res')));
    const sleeper = worker();
    const queue = new Queue('lmmkit', { connection: { url: redis.url } });
    let frozen: number | undefined;
    try {
      const t0 = Date.now();
      while (frozen === undefined && Date.now() - t0 < 20_000) {
        for (const job of await queue.getActive()) {
          const p = job.progress as { worker?: string };
          if (job.name === 'chunk' && p?.worker?.endsWith(`:${sleeper.pid}`)) {
            sleeper.kill('SIGSTOP');
            frozen = (job.data as { index: number }).index;
            break;
          }
        }
        if (frozen === undefined) await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await queue.close();
    }
    assert.ok(frozen !== undefined, 'the first worker took a chunk');
    const other = worker();
    const r = await waitFor(run);
    assert.equal(r.status, 0, r.text);
    const before = outputsOf(merged, []);
    // The frozen worker wakes up, finishes its scan into its own attempt folder, and cannot complete the job.
    sleeper.kill('SIGCONT');
    const t1 = Date.now();
    while (!new RegExp(`chunk ${frozen}/4: done`).test(sleeper.out()) && Date.now() - t1 < 10_000) await new Promise((res) => setTimeout(res, 50));
    assert.match(sleeper.out(), new RegExp(`chunk ${frozen}/4: done`), sleeper.out());
    await new Promise((res) => setTimeout(res, 500));
    assert.deepEqual(outputsOf(merged, []), before);
    sameAsWhole(w, merged, store, run, nullFile);
    const attempts = readdirSync(join(store, 'runs', run, 'attempts')).filter((a) => a.startsWith(`c${frozen}-`));
    assert.equal(attempts.length, 2, `attempts of chunk ${frozen}: ${attempts.join(', ')}`);
    await Promise.all([stopWorker(other), stopWorker(sleeper)]);
  });

  test('(c) Redis stopped and restarted mid-run (append-only file on): the run completes, same bytes', async () => {
    const nullFile = join(dir, 'null');
    const w = whole('restart', nullFile);
    const merged = join(dir, 'restart-merged');
    mkdirSync(merged);
    const store = join(dir, 'store-restart');
    const run = submit(8, store, gwasArgs(nullFile, join(merged, 'res')));
    const wk = worker();
    // Once a chunk is done, Redis goes away for a second.
    const t0 = Date.now();
    while (!/done in/.test(wk.out()) && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1000));
    await redis.start();
    const r = await waitFor(run);
    assert.equal(r.status, 0, r.text);
    sameAsWhole(w, merged, store, run, nullFile);
    await stopWorker(wk);
  });

  test('(d) a chunk with bad input fails at once with its message in status; wait exits 1; the other chunks are done', async () => {
    // 400 BIMBAM variants, a non-number in line 351: chunk 4 of 4 reads it, chunks 1-3 do not.
    let s = 3;
    const rnd = (): number => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648;
    };
    const lines = Array.from({ length: 400 }, (_, j) => {
      const v = Array.from({ length: 100 }, (_, i) => (j === 350 && i === 5 ? 'x' : String(Math.floor(rnd() * 3))));
      return `rs${j}, A, C, ${v.join(', ')}`;
    });
    writeFileSync(join(dir, 'bad.geno.txt'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'bad.pheno.txt'), `${Array.from({ length: 100 }, () => (rnd() - 0.5).toFixed(6)).join('\n')}\n`);
    const store = join(dir, 'store-bad');
    const run = submit(4, store, [
      '--bimbam',
      join(dir, 'bad.geno.txt'),
      '--pheno',
      join(dir, 'bad.pheno.txt'),
      '--ids',
      'none',
      '--batch-size',
      '16',
      '--out',
      join(dir, 'bad-res'),
    ]);
    const wk = worker();
    const r = await waitFor(run);
    assert.equal(r.status, 1, r.text);
    assert.match(r.text, /chunk 4\/4: .*bad\.geno\.txt:351 \(column 9\).*expected a dosage/);
    const st = lmmkit('cluster', 'status', '--redis', redis.url, '--json', run);
    assert.equal(st.status, 0, st.stderr);
    const j = JSON.parse(st.stdout) as { counts: { failed: number; done: number }; list: { index: number; attempts: number; error?: string }[] };
    assert.equal(j.counts.failed, 1);
    // Unrecoverable: one attempt, not the three a transient failure gets.
    assert.equal(j.list[3]?.attempts, 1);
    assert.match(j.list[3]?.error ?? '', /bad\.geno\.txt:351/);
    // The other chunks are not lost (the last may still be running when the run failed).
    const t0 = Date.now();
    let done = j.counts.done;
    while (done < 3 && Date.now() - t0 < 10_000) {
      await new Promise((res) => setTimeout(res, 200));
      done = (JSON.parse(lmmkit('cluster', 'status', '--redis', redis.url, '--json', run).stdout) as typeof j).counts.done;
    }
    assert.equal(done, 3);
    await stopWorker(wk);
  });

  /** Runs `cmd` unsplit into `name`-whole and as `chunks` chunks on 2 workers into `name`-merged; checks the same bytes. */
  const splitOnWorkers = async (name: string, cmd: string[], args: (out: string) => string[], chunks: number): Promise<void> => {
    const [w, merged] = [join(dir, `${name}-whole`), join(dir, `${name}-merged`)];
    for (const d of [w, merged]) mkdirSync(d);
    const r = lmmkit(...cmd, ...args(join(w, 'res')));
    assert.equal(r.status, 0, r.stderr);
    const store = join(dir, `store-${name}`);
    const run = submit(chunks, store, [...cmd, ...args(join(merged, 'res'))]);
    const workers = [worker(), worker()];
    const done = await waitFor(run);
    assert.equal(done.status, 0, done.text);
    await Promise.all(workers.map(stopWorker));
    const a = outputsOf(w, [[w, 'FOLDER']]);
    const b = outputsOf(merged, [[merged, 'FOLDER']]);
    assert.deepEqual([...b.keys()], [...a.keys()]);
    for (const [f, bytes] of a) assert.ok(b.get(f) === bytes, `${name}: ${f} differs from the unsplit run's`);
    const table = Buffer.from(a.get('res.tsv')!, 'base64').toString('utf8');
    assert.ok(table.split('\n').length > 30, `${name}: the table has its rows`);
  };

  test('mtgwas in 3 chunks on 2 workers (-- mtgwas ...) = one unsplit mtgwas, byte for byte', async () => {
    // Two traits: the demo's, and it permuted.
    const lines = readFileSync(join(dir, 'demo/pheno.tsv'), 'utf8').trimEnd().split('\n');
    const values = lines.slice(1).map((l) => l.split('\t')[2]!);
    const two = [`${lines[0]}\tt2`, ...lines.slice(1).map((l, i) => `${l}\t${values[(i * 7 + 3) % values.length]}`)];
    writeFileSync(join(dir, 'pheno2.tsv'), `${two.join('\n')}\n`);
    const args = (out: string): string[] => [
      '--bfile',
      join(dir, 'demo/demo'),
      '--pheno',
      join(dir, 'pheno2.tsv'),
      '--kinship-from-bfile',
      '--batch-size',
      '64',
      '--out',
      out,
    ];
    await splitOnWorkers('mt', ['mtgwas'], args, 3);
  });

  test('varcomp fit --markers in 3 chunks on 2 workers (-- varcomp fit ...) = one unsplit fit, byte for byte', async () => {
    const kin = lmmkit('kinship', '--bfile', join(dir, 'demo/demo'), '--out', join(dir, 'kin.tsv'));
    assert.equal(kin.status, 0, kin.stderr);
    const rows = Array.from({ length: 300 }, (_, i) => Array.from({ length: 36 }, (_, j) => String((i * 7 + j * 13 + ((i * j) % 5)) % 3)).join('\t'));
    writeFileSync(join(dir, 'markers.tsv'), `${Array.from({ length: 36 }, (_, j) => `m${j + 1}`).join('\t')}\n${rows.join('\n')}\n`);
    const args = (out: string): string[] => [
      '--data',
      join(dir, 'demo/pheno.tsv'),
      '--y',
      'trait',
      '--kinship',
      `A=${join(dir, 'kin.tsv')}`,
      '--ids',
      'IID',
      '--markers',
      join(dir, 'markers.tsv'),
      '--anova',
      'III',
      '--out',
      `${out}.tsv`,
    ];
    await splitOnWorkers('vcm', ['varcomp', 'fit'], args, 3);
  });

  test('a job whose payload points outside the store fails for good, naming the field, nothing read or written', async () => {
    const queue = new Queue('lmmkit', { connection: { url: redis.url } });
    const wk = worker();
    try {
      const job = await queue.add('chunk', { run: '../../etc', store: '/', index: 1, count: 1 }, { attempts: 3 });
      const t0 = Date.now();
      while (!(await job.isFailed()) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
      const failed = await queue.getJob(String(job.id));
      assert.match(failed?.failedReason ?? '', /run id: expected r followed by 8 to 40 lowercase letters or digits, found '\.\.\/\.\.\/etc'/);
      assert.equal(failed?.attemptsMade, 1);
      const extra = await queue.add('chunk', { run: 'rabcdefgh12', store: '/tmp', index: 1, count: 1, cmd: 'rm -rf /' });
      while (!(await extra.isFailed()) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
      assert.match((await queue.getJob(String(extra.id)))?.failedReason ?? '', /expected fields run, store, index, count, found an extra field 'cmd'/);
    } finally {
      await queue.close();
    }
    await stopWorker(wk);
  });
});

describe('lmmkit cluster submit refuses bad scans before queueing (exit 2)', () => {
  // Nothing listens on port 1: a submit that reached Redis would hang or fail otherwise.
  const url = 'redis://127.0.0.1:1';
  const submitArgs = (gwas: string[]): string[] => ['cluster', 'submit', '--redis', url, '--chunks', '2', '--store', join(dir, 'refused-store'), '--', ...gwas];
  test('a genotype file or an --out folder that does not exist', () => {
    const r = lmmkit(...submitArgs(['--bfile', join(dir, 'none'), '--out', join(dir, 'res')]));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--bfile .*none: expected a file, found none at .*none\.bed/);
    const o = lmmkit(...submitArgs(['--bfile', join(dir, 'demo/demo'), '--out', join(dir, 'no/such/res')]));
    assert.equal(o.status, 2, o.stderr);
    assert.match(o.stderr, /--out .*no\/such\/res\.json: the folder '.*no\/such' does not exist/);
  });
  test('a gwas option gwas refuses, and --chunk', () => {
    const a = lmmkit(...submitArgs(['--step', 'two', '--out', join(dir, 'res')]));
    assert.equal(a.status, 2, a.stderr);
    assert.match(a.stderr, /--step: expected an integer, found 'two'/);
    const b = lmmkit(...submitArgs(['--chunk', '1/2', '--out', join(dir, 'res')]));
    assert.equal(b.status, 2, b.stderr);
    assert.match(b.stderr, /must not have --chunk/);
    const c = lmmkit(...submitArgs(['--no-such-option']));
    assert.equal(c.status, 2, c.stderr);
    assert.match(c.stderr, /gwas options: unknown option '--no-such-option'/);
  });
  test('mtgwas and varcomp fit scans: their own option errors, GWAS mode only, a missing NAME=FILE', () => {
    const m = lmmkit(...submitArgs(['mtgwas', '--no-such-option']));
    assert.equal(m.status, 2, m.stderr);
    assert.match(m.stderr, /cluster submit: mtgwas options: unknown option '--no-such-option'/);
    const v = lmmkit(...submitArgs(['varcomp', 'estimate', '--out', join(dir, 'v.tsv')]));
    assert.equal(v.status, 2, v.stderr);
    assert.match(v.stderr, /expected 'varcomp fit' and its options after --, found 'varcomp estimate'/);
    const data = ['varcomp', 'fit', '--data', join(dir, 'demo/pheno.tsv'), '--y', 'trait', '--ids', 'IID'];
    const one = lmmkit(...submitArgs([...data, '--kinship', `A=${join(dir, 'kin.tsv')}`, '--out', join(dir, 'v.json')]));
    assert.equal(one.status, 2, one.stderr);
    assert.match(one.stderr, /varcomp fit splits GWAS mode only .*expected --markers FILE or a genotype file/);
    const kin = lmmkit(...submitArgs([...data, '--bfile', join(dir, 'demo/demo'), '--kinship', `A=${join(dir, 'no-kin.tsv')}`, '--out', join(dir, 'v.tsv')]));
    assert.equal(kin.status, 2, kin.stderr);
    assert.match(kin.stderr, /--kinship .*no-kin\.tsv: expected a file, found none/);
  });
});
