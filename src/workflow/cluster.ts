// `lmmkit cluster submit` and `lmmkit cluster worker`: a chunked scan (gwas,
// mtgwas, or varcomp fit in GWAS mode) run by BullMQ on Redis. Submit fits
// gwas's null model once into the store and adds a flow: one merge job whose
// children are the N chunk jobs. Workers scan chunks (runGwas, runMtgwas or
// runVarcompFit with `chunk`) into attempt folders of the store and run the
// merge (runMerge) once every chunk is done. Redis holds the queue state
// only; the data stays in the shared store.
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { EventEmitter } from 'node:events';
import { FlowProducer, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { GenoProgress } from '../data/geno-queue.js';
import type { ProgressReporter } from '../data/node/progress.js';
import { LmmkitError } from '../errors.js';
import { ParsedFileCache } from '../data/node/parsed-files.js';
import { loadNullModel } from '../nullmodel/node.js';
import { cachedFingerprinter } from './chunks.js';
import { connectionReporter, DEFAULT_REDIS_TIMEOUT_S, reachRedis, workerConnection } from './cluster-redis.js';
import type { SavedNullModel } from '../nullmodel/serialize.js';
import {
  attemptDir,
  CLUSTER_COMMANDS,
  CLUSTER_QUEUE,
  type ChunkJobData,
  type ChunkResult,
  chunkJobData,
  chunkJobId,
  jobStore,
  mergeJobData,
  mergeJobId,
  newAttempt,
  newRunId,
  openStore,
  type RunSpec,
  readSpec,
  redisConnection,
  runDir,
  writeSpec,
} from './cluster-store.js';
import { type GwasRunOptions, runGwas } from './gwas.js';
import { type MtgwasRunOptions, runMtgwas } from './mtgwas.js';
import { runVarcompFit, type VarcompFitOptions } from './varcomp.js';
import { type MergeReport, runMerge } from './merge.js';
import { runNullFit } from './null-fit.js';
import { bad, checkOutputs, type ProgressFactory } from './options.js';

/** Options of `submitRun`. */
export interface ClusterSubmitOptions {
  /** Redis URL (redis://, rediss:// for TLS; password in the URL). */
  redis: string;
  /** Number of chunks (jobs) the scan is cut into. */
  chunks: number;
  /** The shared store folder (created when absent). */
  store: string;
  /**
   * The scan: a command and its options as its run function takes them
   * (`runGwas`, `runMtgwas`, `runVarcompFit`); their `out` is where the merged
   * outputs go, and they have no `chunk`.
   */
  scan: ClusterScan;
  /** Attempts of a chunk job that fails for a reason other than its input (default 3). */
  attempts?: number;
  /** How long to wait for Redis to answer, ms (default 10 000): checked before the null model is fitted. */
  redisTimeoutMs?: number;
  log?: (line: string) => void;
  warn?: (line: string) => void;
}

/** A scan to split: gwas, mtgwas, or varcomp fit in GWAS mode (--markers or a genotype file). */
export type ClusterScan =
  | { command: 'gwas'; options: GwasRunOptions }
  | { command: 'mtgwas'; options: MtgwasRunOptions }
  | { command: 'varcomp'; options: VarcompFitOptions };

/** What `submitRun` did. */
export interface ClusterSubmitReport {
  run: string;
  store: string;
  chunks: number;
  /** The null model every chunk loads (in the store), or null when each chunk fits its own (no kinship, or several traits). */
  nullModel: string | null;
  out: string;
}

/** Options that name files (of runGwas, runMtgwas, runVarcompFit): made absolute at submit, since workers run elsewhere. */
const PATH_OPTIONS = [
  'data',
  'markers',
  'bfile',
  'bimbam',
  'pfile',
  'bgen',
  'sample',
  'bgenIndex',
  'annotation',
  'vcf',
  'vcfIndex',
  'pheno',
  'covar',
  'kinship',
  'nullModel',
  'lowrank',
  'inter',
  'keep',
  'remove',
  'extract',
  'exclude',
  'out',
] as const;

/** Options that list files, each FILE or NAME=FILE (varcomp's components and contrasts). */
const PATH_LIST_OPTIONS = ['kinship', 'z', 'contrast'] as const;

/** The file of a NAME=FILE (or FILE) item, and the item with that file replaced. */
function itemFile(item: string, f?: (file: string) => string): string {
  const at = item.indexOf('=');
  const file = at < 0 ? item : item.slice(at + 1);
  return f === undefined ? file : at < 0 ? f(file) : `${item.slice(0, at + 1)}${f(file)}`;
}

/** Options of runGwas a null fit does not take (the scan's, not the null model's). */
const SCAN_ONLY = ['maf', 'maxMissing', 'region', 'standardize', 'batchSize', 'step', 'inter', 'outFormat', 'gz', 'build', 'plot', 'exactTests', 'out'];

/** The flag of an option key (nullModel is --null). */
function flagOf(key: string): string {
  return key === 'nullModel' ? '--null' : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Refuses, at submit, an input file that does not exist here (a typo would
 * otherwise fail every chunk on the workers): the fileset prefixes by their
 * .bed / .pgen.
 */
async function checkInputsExist(abs: Record<string, unknown>): Promise<void> {
  const named: [string, string][] = [];
  for (const k of PATH_OPTIONS) if (k !== 'out' && typeof abs[k] === 'string') named.push([k, abs[k] as string]);
  for (const k of PATH_LIST_OPTIONS) if (Array.isArray(abs[k])) for (const item of abs[k] as string[]) named.push([k, itemFile(item)]);
  for (const [k, v] of named) {
    const file = k === 'bfile' ? `${v}.bed` : k === 'pfile' ? `${v}.pgen` : v;
    const st = await stat(file).catch(() => undefined);
    if (st?.isFile() !== true) throw bad(`cluster submit: ${flagOf(k)} ${v}: expected a file, found ${st === undefined ? 'none' : 'a folder'} at ${file}`);
  }
}

/** The options with every file they name made absolute (PATH_OPTIONS, and the files of PATH_LIST_OPTIONS), callbacks left out. */
function absoluteOptions(options: object): Record<string, unknown> {
  const abs: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(options)) if (typeof v !== 'function') abs[k] = v;
  const absolute = (f: string): string => (isAbsolute(f) ? f : resolve(f));
  for (const k of PATH_OPTIONS) if (typeof abs[k] === 'string') abs[k] = absolute(abs[k] as string);
  for (const k of PATH_LIST_OPTIONS) if (Array.isArray(abs[k])) abs[k] = (abs[k] as string[]).map((item) => itemFile(item, absolute));
  return abs;
}

/** The genotype inputs: varcomp fit splits only its GWAS mode (a marker table or a genotype file). */
const GENOTYPE_OPTIONS = ['bfile', 'bimbam', 'pfile', 'vcf', 'bgen'] as const;

/**
 * Submits a chunked scan: checks the options, fits gwas's null model once
 * (a kinship model of one trait; or copies the given --null) into
 * STORE/runs/RUN/, writes the run's spec there, and adds the BullMQ flow (a
 * merge job whose children are the `chunks` chunk jobs, each failing its
 * parent when it fails for good). mtgwas and varcomp chunks fit their own
 * null models (deterministic: every chunk fits the same). Returns the run id.
 */
export async function submitRun(opts: ClusterSubmitOptions): Promise<ClusterSubmitReport> {
  const log = opts.log ?? (() => {});
  const connection = redisConnection(opts.redis);
  if (!Number.isSafeInteger(opts.chunks) || opts.chunks < 1) throw bad(`--chunks: expected a positive integer, found ${opts.chunks}`);
  const { command, options: g } = opts.scan;
  if (!(CLUSTER_COMMANDS as readonly string[]).includes(command))
    throw bad(`cluster submit: expected a command ${CLUSTER_COMMANDS.join(', ')}, found '${command}'`);
  const what = command === 'varcomp' ? 'varcomp fit' : command;
  if (g.chunk !== undefined) throw bad(`cluster submit: the ${what} options must not have --chunk (the cluster cuts the scan into --chunks)`);
  if (typeof g.out !== 'string' || g.out === '') throw bad(`cluster submit: expected --out among the ${what} options, found none`);
  if (command === 'gwas' && (opts.scan.options.tsvPath !== undefined || opts.scan.options.jsonPath !== undefined))
    throw bad('cluster submit: the outputs are named after --out only');
  if (command === 'varcomp' && opts.scan.options.markers === undefined && !GENOTYPE_OPTIONS.some((k) => opts.scan.options[k] !== undefined)) {
    throw bad(
      'cluster submit: varcomp fit splits GWAS mode only (one model per marker): expected --markers FILE or a genotype file (--bfile, --pfile, ...), found neither',
    );
  }
  const abs = absoluteOptions(g);
  await checkInputsExist(abs);
  // The merge writes PREFIX + each part's suffix: varcomp's --out names its table (PREFIX.tsv).
  const out = command === 'varcomp' ? (abs.out as string).replace(/\.tsv$/, '') : (abs.out as string);
  await checkOutputs([`${out}.json`]);
  // Before the null model is fitted (minutes at large N): a Redis that is not there fails now.
  const timeoutMs = opts.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_S * 1000;
  const probe = new Queue(CLUSTER_QUEUE, { connection });
  await reachRedis(probe, opts.redis, timeoutMs, 'cluster submit');
  await probe.close();
  const store = await openStore(opts.store);
  const run = newRunId();
  const dir = runDir(store, run);
  await mkdir(join(dir, 'attempts'), { recursive: true });
  let nullModel: string | null = null;
  const scan: Record<string, unknown> = Object.assign(Object.create(null), abs);
  delete scan.out;
  if (command !== 'gwas') {
    log(`null model: fitted by each chunk (${what})`);
  } else if (typeof abs.nullModel === 'string') {
    nullModel = join(dir, 'null.model');
    await copyFile(abs.nullModel, nullModel);
    log(`null model: ${abs.nullModel} copied to ${nullModel}`);
  } else if ((abs.kinship !== undefined || abs.kinshipFromGenotypes === true) && abs.lowrank === undefined && (opts.scan.options.phenoCol?.length ?? 0) <= 1) {
    nullModel = join(dir, 'null.model');
    const fit: Record<string, unknown> = Object.assign(Object.create(null), abs);
    for (const k of SCAN_ONLY) delete fit[k];
    const r = await runNullFit({ ...(fit as object), out: nullModel, test: opts.scan.options.test ?? 'fixed', warn: opts.warn });
    log(`null model of trait '${r.trait}' on ${r.samples} samples fitted once: ${nullModel}`);
    delete scan.kinship;
    delete scan.kinshipFromGenotypes;
    delete scan.allowNonPsdKinship;
  } else {
    log('null model: fitted by each chunk (no kinship, a low-rank covariance or several traits)');
  }
  if (nullModel !== null) scan.nullModel = nullModel;
  const spec = { run, chunks: opts.chunks, command, options: scan, out, submitted: new Date().toISOString() } as RunSpec;
  await writeSpec(store, spec);
  const flow = new FlowProducer({ connection });
  await reachRedis(flow, opts.redis, timeoutMs, 'cluster submit');
  try {
    const attempts = opts.attempts ?? 3;
    await flow.add({
      name: 'merge',
      queueName: CLUSTER_QUEUE,
      data: { run, store, count: opts.chunks },
      opts: { jobId: mergeJobId(run), attempts: 2, backoff: { type: 'fixed', delay: 1000 } },
      children: Array.from({ length: opts.chunks }, (_, i) => ({
        name: 'chunk',
        queueName: CLUSTER_QUEUE,
        data: { run, store, index: i + 1, count: opts.chunks } satisfies ChunkJobData,
        opts: { jobId: chunkJobId(run, i + 1), attempts, backoff: { type: 'exponential', delay: 1000 }, failParentOnFailure: true },
      })),
    });
  } finally {
    await flow.close();
  }
  log(`run ${run}: ${opts.chunks} ${what} chunk jobs and their merge queued on ${CLUSTER_QUEUE}; merged outputs: ${spec.out}`);
  return { run, store, chunks: opts.chunks, nullModel, out: spec.out };
}

/** Options of `runWorker`. */
export interface ClusterWorkerOptions {
  redis: string;
  /** Jobs run at once in this process (default 1). */
  concurrency?: number;
  /** This machine's path of the store (default: the path each job was submitted with). */
  store?: string;
  /** How long a job's lock lasts without renewal, ms (default 30 000): a worker silent this long is presumed dead and its job re-queued. */
  lockDuration?: number;
  /** How often stalled jobs are looked for, ms (default 30 000). */
  stalledInterval?: number;
  log?: (line: string) => void;
  warn?: (line: string) => void;
  /** Lines about the connection to Redis (each outage when it starts, and its end); default `warn`, which may print a text once only. */
  notice?: (line: string) => void;
}

/** A started worker: `close()` lets the running jobs finish (force: returns them to the queue at their lock's end). */
export interface ClusterWorker {
  close(force?: boolean): Promise<void>;
  /** Resolves when the worker stops. */
  closed: Promise<void>;
}

/** This process's name in job progress (host:pid). */
export const WORKER_NAME = `${hostname()}:${process.pid}`;

/**
 * Starts a worker on the lmmkit queue: chunk jobs scan their chunk into a
 * fresh attempt folder of the store (so a part written late by a worker
 * presumed dead is never read: the merge reads the folder the job's result
 * names), reporting progress; merge jobs join the parts the chunk results
 * name into the submitted --out. Bad input (lmmkit's exit-2 errors) fails
 * a job for good (UnrecoverableError), anything else is retried.
 */
export function runWorker(opts: ClusterWorkerOptions): ClusterWorker {
  const log = opts.log ?? (() => {});
  const connection = workerConnection(redisConnection(opts.redis));
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw bad(`--concurrency: expected a positive integer, found ${concurrency}`);
  const worker = new Worker(
    CLUSTER_QUEUE,
    async (job: Job) => {
      try {
        if (job.name === 'chunk') return await chunkJob(job, opts, log);
        if (job.name === 'merge') return await mergeJob(job, opts, log);
        throw bad(`job ${job.id}: expected a chunk or merge job, found '${job.name}'`);
      } catch (e) {
        // Input the job will never get past: fail now, with lmmkit's line, instead of retrying.
        if (e instanceof LmmkitError) throw new UnrecoverableError(e.message);
        throw e;
      }
    },
    {
      connection,
      concurrency,
      lockDuration: opts.lockDuration ?? 30_000,
      stalledInterval: opts.stalledInterval ?? 30_000,
      maxStalledCount: 2,
    },
  );
  worker.on('failed', (job, err) => log(`job ${job?.id ?? '?'} failed: ${err.message}`));
  // A worker outlives Redis restarts and network cuts: it retries, and says so once per outage.
  const notice = opts.notice ?? opts.warn ?? (() => {});
  const redis = connectionReporter(
    opts.redis,
    (line) => notice(`worker: ${line}`),
    (line) => notice(`worker: ${line}`),
  );
  worker.on('error', (err) => {
    if (!redis.error(err)) opts.warn?.(`worker: ${err.message}`);
  });
  (worker.getBackend() as unknown as EventEmitter).on('ready', redis.connected);
  const closed = new Promise<void>((done) => worker.on('closed', () => done()));
  log(`worker ${WORKER_NAME} on ${CLUSTER_QUEUE}, ${concurrency} job${concurrency === 1 ? '' : 's'} at a time`);
  // Without Redis a graceful close would wait for the connection (forever): no job of this worker can finish then anyway.
  return { close: (force = false) => worker.close(force || redis.isDown()), closed };
}

/** Null models read by this process, by file fingerprint (path, size, modification time): the last two runs'. */
const nullCache = new Map<string, Promise<SavedNullModel>>();

/**
 * Reads a null model once per run and process: the N x N eigenvectors (200 MB
 * at N = 5000) are not read again by each chunk. Keyed by path, size and
 * mtime, so a file replaced in place is read anew; two entries at most.
 */
async function cachedNull(path: string, log: (line: string) => void): Promise<SavedNullModel> {
  const st = await stat(path);
  const key = `${path}\u0000${st.size}\u0000${st.mtimeMs}`;
  let p = nullCache.get(key);
  if (p === undefined) {
    log(`null model ${path}: read (once per run in this worker)`);
    p = loadNullModel(path);
    nullCache.set(key, p);
    // A failed read is not cached: the next job tries again.
    p.catch(() => nullCache.delete(key));
    while (nullCache.size > 2) nullCache.delete(nullCache.keys().next().value as string);
  }
  return p;
}

/** This worker's input fingerprints: each chunk's manifest hashes the .bed and the null model, the same files chunk after chunk. */
const fingerprints = cachedFingerprinter();

/** This worker's parsed variant and sample tables: each chunk opens the same fileset, whose whole .bim it would parse again. */
const parsedFiles = new ParsedFileCache();

/** Progress of a job's stages into BullMQ (at most every half second: each update is a Redis write). */
function jobProgress(job: Job, chunk: string): ProgressFactory {
  let last = 0;
  return (stage = 'read') => {
    const r = ((p: GenoProgress) => {
      const now = Date.now();
      if (now - last < 500 && p.fraction < 1) return;
      last = now;
      job.updateProgress({ worker: WORKER_NAME, chunk, stage, fraction: p.fraction }).catch(() => {});
    }) as ProgressReporter;
    r.stop = () => {};
    return r;
  };
}

async function chunkJob(job: Job, opts: ClusterWorkerOptions, log: (line: string) => void): Promise<ChunkResult> {
  const d = chunkJobData(String(job.id), job.data);
  const store = jobStore(opts.store, d.store);
  const spec = await readSpec(store, d.run, d.count);
  const attempt = newAttempt(d.index, job.attemptsMade);
  const dir = attemptDir(store, d.run, attempt);
  await mkdir(dir);
  const chunk = `${d.index}/${d.count}`;
  await job.updateProgress({ worker: WORKER_NAME, chunk, stage: 'start', fraction: 0 });
  log(`run ${d.run} chunk ${chunk}: scanning into ${dir}`);
  const t0 = performance.now();
  const part = { chunk: { index: d.index, count: d.count }, warn: opts.warn, fingerprint: fingerprints, parsedFiles };
  if (spec.command === 'gwas') {
    await runGwas({ ...spec.options, ...part, out: join(dir, 'res'), progress: jobProgress(job, chunk), loadNull: (path) => cachedNull(path, log) });
  } else if (spec.command === 'mtgwas') {
    await runMtgwas({ ...spec.options, ...part, out: join(dir, 'res'), progress: jobProgress(job, chunk) });
  } else {
    // varcomp's --out names its table; the part is PREFIX.part-I-of-N.tsv.
    await runVarcompFit({ ...spec.options, ...part, out: join(dir, 'res.tsv') });
  }
  log(`run ${d.run} chunk ${chunk}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { index: d.index, attempt };
}

async function mergeJob(job: Job, opts: ClusterWorkerOptions, log: (line: string) => void): Promise<{ out: string; report: string }> {
  const d = mergeJobData(String(job.id), job.data);
  const store = jobStore(opts.store, d.store);
  const spec = await readSpec(store, d.run, d.count);
  const values = Object.values(await job.getChildrenValues<ChunkResult>());
  const byIndex = new Map<number, string>();
  for (const v of values) {
    if (typeof v !== 'object' || v === null || !Number.isSafeInteger(v.index) || typeof v.attempt !== 'string') {
      throw bad(`job ${job.id}: expected chunk results {index, attempt}, found ${JSON.stringify(v)}`);
    }
    byIndex.set(v.index, attemptDir(store, d.run, v.attempt));
  }
  const missing = Array.from({ length: d.count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length > 0) throw bad(`job ${job.id}: expected the results of chunks 1..${d.count}, found none for ${missing.join(', ')}`);
  const parts = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, dir]) => dir);
  await job.updateProgress({ worker: WORKER_NAME, chunk: 'merge', stage: 'merge', fraction: 0 });
  const r: MergeReport = await runMerge({ parts, out: spec.out, warn: opts.warn });
  log(`run ${d.run}: merged ${d.count} chunks into ${spec.out} (${r.report})`);
  return { out: spec.out, report: r.report };
}
