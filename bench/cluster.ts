// Splitting a scan over machines: what `lmmkit gwas --chunk I/N` + `lmmkit
// merge` cost over one unsplit run. N samples x M variants made by plink2
// --dummy (as bench/formats.ts makes them), a null model fitted once
// (`lmmkit null fit`), then the fixed-test scan from the saved null:
//   - as one process;
//   - as CHUNKS processes (`--chunk I/CHUNKS`), WORKERS at a time, then
//     `lmmkit merge` (checked: the merged table is the one process's bytes).
// Every process runs with OPENBLAS_NUM_THREADS=1 (one BLAS thread each, as
// workers sharing a machine would). Printed: the one process's seconds, the
// sum of the chunks' seconds (each a whole process: start, null model load,
// scan, part manifest), the merge's seconds, and the overhead ratio
// (sum of chunks + merge) / one process - 1: what splitting costs in CPU
// time before any queue. One function per measurement, so that the queued
// figures (the BullMQ runner) can be added beside them.
// Then the same scan queued (`lmmkit cluster submit|worker|wait` on BullMQ):
// a redis-server started here on a free port, WORKERS `lmmkit cluster
// worker` processes (one BLAS thread each), CHUNKS chunk jobs and their
// merge. Printed: the wall seconds submit -> merged, the sum of the chunks'
// scans (each part's report), and the cluster's overhead over that sum
// (queueing: the gaps before each job's start on its worker; the chunk jobs'
// seconds outside the scan: inputs, null model load, part manifest; the
// merge job and its pickup), split into a cost per chunk and per run; and
// the latency of an empty run (1 variant, 1 chunk) submit -> merged. The
// job times are BullMQ's own (timestamp, processedOn, finishedOn in Redis).
// Sizes: LMMKIT_BENCH_CLUSTER_N (default 2000), LMMKIT_BENCH_CLUSTER_M
// (100000), LMMKIT_BENCH_CLUSTER_CHUNKS (8), LMMKIT_BENCH_CLUSTER_WORKERS (2).
// Run: node dist/bench/cluster.js
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Job, Queue } from 'bullmq';
import { CLUSTER_QUEUE, type ChunkResult, attemptDir, chunkJobId, mergeJobId, redisConnection } from '../src/workflow/cluster-store.js';
import { partPrefix } from '../src/workflow/chunks.js';
import { startRedis, type TestRedis } from '../test/cluster/redis-support.js';
import { envInt, secondsSince } from './common.js';

const n = envInt('LMMKIT_BENCH_CLUSTER_N', 2000);
const m = envInt('LMMKIT_BENCH_CLUSTER_M', 100000);
const chunks = envInt('LMMKIT_BENCH_CLUSTER_CHUNKS', 8);
const workers = envInt('LMMKIT_BENCH_CLUSTER_WORKERS', 2);
const BIN = new URL('../../bin/lmmkit.js', import.meta.url).pathname;
/** One BLAS thread per process: the workers share the machine's cores. */
const ENV = { ...process.env, OPENBLAS_NUM_THREADS: '1' };

/** The inputs of the scans: a PLINK fileset, a phenotype and its saved null model. */
interface Inputs {
  bfile: string;
  pheno: string;
  nullModel: string;
}

/** GNU time, for the CPU seconds of each process (on a shared machine its wall seconds depend on the neighbours' load). */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** The seconds of one process: wall, and CPU (user + system; undefined without GNU time). */
interface Timing {
  wall: number;
  cpu: number | undefined;
}

let timed = 0;

/** Runs `lmmkit ARGS` as its own process and times it (rejects on a non-zero exit, with its standard error). */
function lmmkit(args: readonly string[]): Promise<Timing> {
  const t0 = performance.now();
  const cpuFile = join(tmpdir(), `lmmkit-bench-cluster-time-${process.pid}-${timed++}`);
  const argv = [...(TIME === undefined ? [] : ['-f', '%U %S', '-o', cpuFile]), process.execPath, BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(TIME ?? argv.shift()!, argv, { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`lmmkit ${args.join(' ')}: exit ${code}\n${err}`));
      const wall = secondsSince(t0);
      if (TIME === undefined) return resolve({ wall, cpu: undefined });
      const [user, sys] = readFileSync(cpuFile, 'utf8').trim().split(/\s+/).map(Number);
      rmSync(cpuFile, { force: true });
      resolve({ wall, cpu: (user ?? Number.NaN) + (sys ?? Number.NaN) });
    });
  });
}

/** Seconds as printed: wall, and CPU when measured. */
const show = (t: Timing): string => `${t.wall.toFixed(2)} s wall${t.cpu === undefined ? '' : `, ${t.cpu.toFixed(2)} s CPU`}`;

/** The sum of timings. */
const total = (ts: readonly Timing[]): Timing => ({
  wall: ts.reduce((a, t) => a + t.wall, 0),
  cpu: ts.some((t) => t.cpu === undefined) ? undefined : ts.reduce((a, t) => a + t.cpu!, 0),
});

/** Makes the inputs: plink2 --dummy (hard calls), a phenotype, and the null model fitted once with the kinship from the genotypes. */
async function makeInputs(dir: string): Promise<Inputs> {
  const bfile = join(dir, 'g');
  const r = spawnSync('plink2', ['--dummy', String(n), String(m), '0.01', '--seed', '1', '--make-bed', '--out', bfile, '--silent', '--threads', '1'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`plink2 --dummy: ${r.stderr}`);
  const pheno = join(dir, 'pheno.tsv');
  const frac = (i: number): number => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453);
  writeFileSync(pheno, `FID\tIID\ty\n${Array.from({ length: n }, (_, i) => `0\tper${i}\t${frac(i)}`).join('\n')}\n`);
  const nullModel = join(dir, 'null');
  const s = await lmmkit(['null', 'fit', '--bfile', bfile, '--pheno', pheno, '--kinship-from-bfile', '--out', nullModel]);
  console.log(`  inputs: plink2 --dummy, null model fitted once in ${show(s)}`);
  return { bfile, pheno, nullModel };
}

/** The scan's arguments, writing under `out`. */
const scanArgs = (inp: Inputs, out: string): string[] => ['gwas', '--bfile', inp.bfile, '--pheno', inp.pheno, '--null', inp.nullModel, '--out', out];

/** Seconds of the unsplit scan, one process. */
async function oneProcess(inp: Inputs, dir: string): Promise<Timing> {
  mkdirSync(dir);
  return lmmkit(scanArgs(inp, join(dir, 'res')));
}

/** The chunks' seconds, each its own process, `workers` at a time (in chunk order), and the wall seconds of them all. */
async function chunkedScan(inp: Inputs, dir: string): Promise<{ each: Timing[]; wall: number }> {
  mkdirSync(dir);
  const each: Timing[] = new Array(chunks);
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < chunks) {
      const c = next++;
      each[c] = await lmmkit([...scanArgs(inp, join(dir, 'res')), '--chunk', `${c + 1}/${chunks}`]);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return { each, wall: secondsSince(t0) };
}

/**
 * The fixed cost of one chunk: seconds of a part that scans almost nothing
 * (chunk 1 of as many chunks as the file has batches of 1000 variants: one
 * batch), i.e. the process start, reading the samples, loading the null
 * model and writing the manifest; the scan's share is one batch's.
 */
async function chunkFixedCost(inp: Inputs, dir: string): Promise<Timing> {
  mkdirSync(dir);
  return lmmkit([...scanArgs(inp, join(dir, 'res')), '--batch-size', '1000', '--chunk', `1/${Math.ceil(m / 1000)}`]);
}

/** Seconds of `lmmkit merge` of the parts in `parts` into `dir`. */
async function merge(parts: string, dir: string): Promise<Timing> {
  mkdirSync(dir);
  return lmmkit(['merge', parts, '--out', join(dir, 'res')]);
}

/** Runs `lmmkit ARGS` (no GNU time) and returns its standard output and wall seconds; rejects on a non-zero exit. */
function lmmkitOut(args: readonly string[]): Promise<{ stdout: string; wall: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve({ stdout: out, wall: secondsSince(t0) }) : reject(new Error(`lmmkit ${args.join(' ')}: exit ${code}\n${err}`)),
    );
  });
}

/** `workers` local `lmmkit cluster worker` processes on `url`, one BLAS thread each; `stop()` sends SIGTERM and waits for them. */
function startWorkers(url: string): { stop(): Promise<void> } {
  const procs = Array.from({ length: workers }, () => spawn(process.execPath, [BIN, 'cluster', 'worker', '--redis', url], { env: ENV, stdio: 'ignore' }));
  return {
    stop: async () => {
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((done) => {
              if (p.exitCode !== null || p.signalCode !== null) return done();
              p.once('exit', () => done());
              p.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

/** What BullMQ recorded of one job, in epoch ms, and the worker that ran it (its last progress). */
interface JobTimes {
  created: number;
  started: number;
  finished: number;
  worker: string;
}

function timesOf(job: Job | undefined, what: string): JobTimes {
  if (job === undefined || job.processedOn === undefined || job.finishedOn === undefined)
    throw new Error(`${what}: expected a finished job in Redis, found none`);
  const p = job.progress as { worker?: unknown } | number;
  const worker = typeof p === 'object' && p !== null && typeof p.worker === 'string' ? p.worker : '?';
  return { created: job.timestamp, started: job.processedOn, finished: job.finishedOn, worker };
}

/** One queued run as measured: its wall seconds, its chunk jobs (with their part's scan and in-process seconds) and merge job. */
interface QueuedRun {
  submitted: number;
  submitWall: number;
  waited: number;
  chunkJobs: (JobTimes & { scan: number; gwas: number })[];
  mergeJob: JobTimes;
}

/** Submits `args` (gwas options) as `count` chunks, waits until merged, and reads the jobs' times from Redis and the parts' reports. */
async function queuedRun(redis: TestRedis, args: readonly string[], out: string, count: number): Promise<QueuedRun> {
  const store = `${out}-store`;
  const submitted = Date.now();
  const sub = await lmmkitOut(['cluster', 'submit', '--redis', redis.url, '--chunks', String(count), '--store', store, '--', ...args, '--out', out]);
  const run = sub.stdout.trim().split('\n').pop() ?? '';
  await lmmkitOut(['cluster', 'wait', '--redis', redis.url, run]);
  const waited = Date.now();
  const queue = new Queue(CLUSTER_QUEUE, { connection: redisConnection(redis.url) });
  try {
    const chunkJobs: QueuedRun['chunkJobs'] = [];
    for (let i = 1; i <= count; i++) {
      const job = await queue.getJob(chunkJobId(run, i));
      const t = timesOf(job, `chunk ${i}`);
      const rv = job?.returnvalue as ChunkResult;
      const report = JSON.parse(readFileSync(`${partPrefix(join(attemptDir(store, run, rv.attempt), 'res'), { index: i, count })}.json`, 'utf8')) as {
        seconds: number;
        traits: { seconds: number }[];
      };
      chunkJobs.push({ ...t, scan: report.traits.reduce((a, tr) => a + tr.seconds, 0), gwas: report.seconds });
    }
    const mergeJob = timesOf(await queue.getJob(mergeJobId(run)), 'merge');
    return { submitted, submitWall: sub.wall, waited, chunkJobs, mergeJob };
  } finally {
    await queue.close();
  }
}

/**
 * The cluster's costs of a run, in seconds: queueing (each chunk job's wait
 * on its worker: from its creation for a worker's first job, else from the
 * worker's previous job's end; a worker is never idle while jobs wait, so
 * this is the queue's pickup latency), the chunk jobs' time outside the
 * scan (before it: inputs and null model; after it: the part manifest),
 * and the merge (pickup after the last chunk, and the job).
 */
function costs(r: QueuedRun): { scan: number; jobs: number; queue: number; before: number; after: number; mergePickup: number; merge: number; wall: number } {
  const byWorker = new Map<string, JobTimes[]>();
  for (const j of r.chunkJobs) byWorker.set(j.worker, [...(byWorker.get(j.worker) ?? []), j]);
  let queue = 0;
  for (const js of byWorker.values()) {
    js.sort((a, b) => a.started - b.started);
    js.forEach((j, k) => {
      queue += (j.started - (k === 0 ? j.created : js[k - 1]!.finished)) / 1000;
    });
  }
  const sum = (f: (j: QueuedRun['chunkJobs'][number]) => number): number => r.chunkJobs.reduce((a, j) => a + f(j), 0);
  const lastChunk = Math.max(...r.chunkJobs.map((j) => j.finished));
  return {
    scan: sum((j) => j.scan),
    jobs: sum((j) => (j.finished - j.started) / 1000),
    queue,
    before: sum((j) => j.gwas - j.scan),
    after: sum((j) => (j.finished - j.started) / 1000 - j.gwas),
    mergePickup: (r.mergeJob.started - lastChunk) / 1000,
    merge: (r.mergeJob.finished - r.mergeJob.started) / 1000,
    wall: (r.mergeJob.finished - r.submitted) / 1000,
  };
}

/** A 1-variant fileset of the same samples (plink2 --snps of the first variant): an empty job's input. */
function oneVariant(inp: Inputs, dir: string): string {
  const id = readFileSync(`${inp.bfile}.bim`, 'utf8').split('\n', 1)[0]!.split('\t')[1]!;
  const out = join(dir, 'g1');
  const r = spawnSync('plink2', ['--bfile', inp.bfile, '--snps', id, '--make-bed', '--out', out, '--silent', '--threads', '1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`plink2 --snps: ${r.stderr}`);
  return out;
}

/** The queued scan (CHUNKS jobs on WORKERS workers) and an empty run, on a redis-server of its own; checks the merged table against `whole`. */
async function clusterRun(inp: Inputs, dir: string, whole: string): Promise<void> {
  mkdirSync(dir);
  const redis = await startRedis(join(dir, 'redis'));
  const pool = startWorkers(redis.url);
  try {
    const args = scanArgs(inp, '').slice(1, -2);
    const r = await queuedRun(redis, args, join(dir, 'res'), chunks);
    const same = readFileSync(whole).equals(readFileSync(join(dir, 'res.y.tsv')));
    const c = costs(r);
    const pct = (x: number): string => `${((x / c.scan) * 100).toFixed(1)}%`;
    console.log(`queued: ${chunks} chunk jobs + merge on ${workers} local \`lmmkit cluster worker\` (OPENBLAS_NUM_THREADS=1), redis-server on ${redis.url}`);
    console.log(
      `  submit -> merged:       ${c.wall.toFixed(2)} s wall (submit ${r.submitWall.toFixed(2)} s; wait returned ${((r.waited - r.mergeJob.finished) / 1000).toFixed(2)} s after the merge)`,
    );
    console.log(`  chunk scans (sum):      ${c.scan.toFixed(2)} s (parts' reports); chunk jobs (sum) ${c.jobs.toFixed(2)} s`);
    console.log(`    each job (scan+rest): ${r.chunkJobs.map((j) => `${((j.finished - j.started) / 1000).toFixed(1)}`).join(', ')} s`);
    console.log(`  queueing:               ${c.queue.toFixed(3)} s (${pct(c.queue)})`);
    console.log(`  in jobs, before scan:   ${c.before.toFixed(3)} s (${pct(c.before)}): inputs, null model load (cached per worker)`);
    console.log(`  in jobs, after scan:    ${c.after.toFixed(3)} s (${pct(c.after)}): part manifest (fingerprints, checksums), job bookkeeping`);
    console.log(`  merge:                  ${c.merge.toFixed(3)} s job + ${c.mergePickup.toFixed(3)} s pickup (${pct(c.merge + c.mergePickup)})`);
    // A worker reads the null model in its first job only: that excess over the other jobs' time before the scan is a cost per worker.
    const firsts = new Set(
      [...new Set(r.chunkJobs.map((j) => j.worker))].map((w) => r.chunkJobs.filter((j) => j.worker === w).reduce((a, j) => (j.started < a.started ? j : a))),
    );
    const rest = r.chunkJobs.filter((j) => !firsts.has(j));
    const restBefore = rest.length === 0 ? 0 : rest.reduce((a, j) => a + j.gwas - j.scan, 0) / rest.length;
    const perWorker = [...firsts].reduce((a, j) => a + j.gwas - j.scan - restBefore, 0) / firsts.size;
    console.log(`    of which null model load: ${perWorker.toFixed(3)} s per worker (first job's excess), then ${restBefore.toFixed(3)} s per chunk`);
    console.log(`  beyond the null model load: ${pct(c.queue + c.before - perWorker * firsts.size + c.after + c.merge + c.mergePickup)} of the chunk scans`);
    const perChunk = (c.queue + c.before + c.after) / chunks;
    const perRun = c.merge + c.mergePickup;
    console.log(
      `  cluster overhead:       ${pct(c.queue + c.before + c.after + perRun)} of the chunk scans = ${perChunk.toFixed(3)} s per chunk + ${perRun.toFixed(3)} s per run (merge) + submit ${r.submitWall.toFixed(2)} s`,
    );
    // What scales with what: the scans with the variants, the rest per chunk, per worker or per run.
    const chunkFixed = (c.queue + c.before - perWorker * firsts.size + c.after) / chunks;
    console.log('  cost model: wall ~ (M x per-variant + chunks x per-chunk) / workers + per-worker + per-run');
    console.log(`    proportional (scan):  ${((c.scan / m) * 1e6).toFixed(1)} us per variant (sum of chunk scans / ${m} variants, N = ${n})`);
    console.log(
      `    fixed per chunk:      ${chunkFixed.toFixed(3)} s (queue pickup, inputs, part manifest) = ${pct(chunkFixed * chunks)} of the chunk scans [target < 5%]`,
    );
    console.log(`    fixed per worker:     ${perWorker.toFixed(3)} s (null model read, once per run)`);
    console.log(`    fixed per run:        ${perRun.toFixed(3)} s merge + ${r.submitWall.toFixed(2)} s submit`);
    console.log(`  cmp merged vs one process: ${same ? 'identical' : 'DIFFERENT'}`);
    if (!same) throw new Error("the queued run's merged table differs from the unsplit run");
    const g1 = oneVariant(inp, dir);
    const e = await queuedRun(redis, ['--bfile', g1, ...args.slice(2)], join(dir, 'empty'), 1);
    const ec = costs(e);
    console.log(
      `  empty run (1 variant, 1 chunk): ${ec.wall.toFixed(2)} s submit -> merged (submit ${e.submitWall.toFixed(2)} s, queue ${ec.queue.toFixed(3)} s, job ${ec.jobs.toFixed(3)} s of which scan ${ec.scan.toFixed(3)} s, merge ${ec.merge.toFixed(3)} s + pickup ${ec.mergePickup.toFixed(3)} s)`,
    );
  } finally {
    await pool.stop();
    await redis.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-cluster-'));
  try {
    console.log(`split/merge: N = ${n} samples x ${m} variants, fixed test from a saved null; ${chunks} chunks, ${workers} at a time; OPENBLAS_NUM_THREADS=1`);
    const inp = await makeInputs(dir);
    const whole = await oneProcess(inp, join(dir, 'whole'));
    const split = await chunkedScan(inp, join(dir, 'parts'));
    const merged = await merge(join(dir, 'parts'), join(dir, 'merged'));
    const fixed = await chunkFixedCost(inp, join(dir, 'fixed'));
    const a = readFileSync(join(dir, 'whole', 'res.y.tsv'));
    const b = readFileSync(join(dir, 'merged', 'res.y.tsv'));
    if (!a.equals(b)) throw new Error('the merged table differs from the unsplit run');
    const sum = total(split.each);
    console.log(`  one process:            ${show(whole)}`);
    console.log(`  ${chunks} chunks (sum):         ${show(sum)}; ${split.wall.toFixed(2)} s wall for all on ${workers} workers`);
    console.log(`    each (wall):          ${split.each.map((t) => t.wall.toFixed(1)).join(', ')}`);
    console.log(`  merge:                  ${show(merged)}`);
    console.log(`  one chunk's fixed cost: ${show(fixed)} (a chunk of one batch of 1000 variants: start, inputs, null model load, manifest)`);
    // The one process pays the fixed cost once too: the split pays it chunks - 1 more times.
    for (const key of ['wall', 'cpu'] as const) {
      const [w, c, mg, f] = [whole[key], sum[key], merged[key], fixed[key]];
      if (w === undefined || c === undefined || mg === undefined || f === undefined) continue;
      console.log(
        `  overhead (${key}): ${(((c + mg) / w - 1) * 100).toFixed(1)}% ((sum of chunks + merge) / one process - 1); beyond ${chunks - 1} more fixed costs ${(((c + mg - (chunks - 1) * f) / w - 1) * 100).toFixed(1)}%`,
      );
    }
    console.log("  merged table = the one process's bytes");
    await clusterRun(inp, join(dir, 'cluster'), join(dir, 'whole', 'res.y.tsv'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
