// The cluster runner's store and job payloads (`lmmkit cluster`): a
// directory shared by the machines (a network file system) that holds each
// run's specification (the scan's command and options, written by `submit`), its null
// model and the chunks' parts, one folder per attempt; and the checks a
// worker makes on every job it receives, since a job is data from Redis,
// which anyone with its password can write: nothing in it is executed, and
// no path is taken from it but the store's own, after checking its marker.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { ConnectionOptions } from 'bullmq';
import { ArgumentError, InputError } from '../errors.js';
import type { GwasRunOptions } from './gwas.js';
import type { MtgwasRunOptions } from './mtgwas.js';
import type { VarcompFitOptions } from './varcomp.js';

/** The BullMQ queue every lmmkit job goes to (chunks and merges, told apart by the job's name). */
export const CLUSTER_QUEUE = 'lmmkit';
/** The file that marks a directory as an lmmkit store (a worker refuses a store path without it). */
export const STORE_MARKER = 'lmmkit-store.json';

/** A run id: lowercase letters and digits, so that it is a safe folder name and BullMQ job id prefix. */
const RUN_ID = /^r[0-9a-z]{8,40}$/;
/** An attempt folder: c<chunk>-<attempt>-<random hex>. */
const ATTEMPT = /^c\d{1,7}-\d{1,4}-[0-9a-f]{12}$/;

/** A new run id: r + base-36 time + random hex (sortable by submission time, unique without coordination). */
export function newRunId(): string {
  return `r${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
}

/** The BullMQ job id of chunk `index` of `run` (ids are strings, ':' excluded). */
export function chunkJobId(run: string, index: number): string {
  return `${run}-chunk-${index}`;
}

/** The BullMQ job id of the merge job of `run`. */
export function mergeJobId(run: string): string {
  return `${run}-merge`;
}

/**
 * The connection of BullMQ to the Redis at `url` (redis://[user:password@]host:port[/db],
 * rediss:// for TLS): ioredis parses the URL, password and TLS included.
 */
export function redisConnection(url: string): ConnectionOptions {
  if (!/^rediss?:\/\/[^\s]+$/.test(url)) throw new ArgumentError(`--redis: expected a URL redis://[user:password@]host:port or rediss://..., found '${url}'`);
  return { url };
}

/** The commands a run can split: gwas, mtgwas, and varcomp fit in GWAS mode (--markers or a genotype file). */
export const CLUSTER_COMMANDS = ['gwas', 'mtgwas', 'varcomp'] as const;

/** Options of a chunk's scan as the spec holds them: but `out`, `chunk` and the callbacks. */
type SpecOptions<T> = Omit<T, 'out' | 'chunk' | 'log' | 'warn' | 'progress' | 'run'>;

/** A run's scan: which command, with its options (inputs as absolute paths). */
export type RunScan =
  | { command: 'gwas'; options: SpecOptions<GwasRunOptions> }
  | { command: 'mtgwas'; options: SpecOptions<MtgwasRunOptions> }
  | { command: 'varcomp'; options: SpecOptions<VarcompFitOptions> };

/** What `submit` writes to RUN/spec.json: the chunk scans' command and options and where the merge goes. */
export type RunSpec = RunScan & {
  run: string;
  chunks: number;
  /** The merged outputs' prefix (the submitted --out, absolute; varcomp's without its .tsv). */
  out: string;
  submitted: string;
};

/** The payload of a chunk job. */
export interface ChunkJobData {
  run: string;
  store: string;
  index: number;
  count: number;
}

/** The payload of a merge job. */
export interface MergeJobData {
  run: string;
  store: string;
  count: number;
}

/** What a chunk job returns: the attempt folder its part is in (the merge reads that one, not a late worker's). */
export interface ChunkResult {
  index: number;
  attempt: string;
}

/** Creates the store folder (and its marker) when absent; returns its absolute path. */
export async function openStore(dir: string): Promise<string> {
  const store = resolve(dir);
  await mkdir(join(store, 'runs'), { recursive: true });
  const marker = join(store, STORE_MARKER);
  if (!existsSync(marker)) await writeFile(marker, `${JSON.stringify({ format: 'lmmkit-store', version: 1 })}\n`);
  return store;
}

/** The folder of `run` in `store` (the run id checked first). */
export function runDir(store: string, run: string): string {
  if (!RUN_ID.test(run)) throw new ArgumentError(`run id: expected r followed by 8 to 40 lowercase letters or digits, found '${run}'`);
  return join(store, 'runs', run);
}

/** The folder of an attempt of `run` (the attempt name checked first). */
export function attemptDir(store: string, run: string, attempt: string): string {
  if (!ATTEMPT.test(attempt))
    throw new InputError({ file: join(runDir(store, run), 'attempts') }, `expected an attempt folder c<chunk>-<n>-<hex>, found '${attempt}'`);
  return join(runDir(store, run), 'attempts', attempt);
}

/** A fresh attempt name for chunk `index` (random: a job re-run after a stall keeps its attempt count). */
export function newAttempt(index: number, attemptsMade: number): string {
  return `c${index}-${Math.min(attemptsMade, 9999)}-${randomBytes(6).toString('hex')}`;
}

/**
 * The store a worker uses for a job: its own --store when given (a
 * machine can mount the shared folder elsewhere), else the job's, which
 * must be an absolute path holding the store marker: a job cannot point a
 * worker at an arbitrary folder.
 */
export function jobStore(own: string | undefined, fromJob: string): string {
  const store = own === undefined ? fromJob : resolve(own);
  if (!isAbsolute(store) || !existsSync(join(store, STORE_MARKER))) {
    throw new InputError({ file: store }, `expected an lmmkit store (a folder with ${STORE_MARKER}), found none; give the worker --store DIR`);
  }
  return store;
}

/** Describes a value for an error line (its JSON, cut). */
function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Reads a job's payload as `shape` says (string or positive integer fields), else an ArgumentError naming the job and field. */
function fields(jobId: string, data: unknown, shape: Record<string, 'string' | 'count'>): Record<string, string | number> {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new ArgumentError(`job ${jobId}: expected an object payload, found ${shown(data)}`);
  const out: Record<string, string | number> = Object.create(null);
  const rec = data as Record<string, unknown>;
  for (const [k, kind] of Object.entries(shape)) {
    const v = rec[k];
    const ok = kind === 'string' ? typeof v === 'string' : Number.isSafeInteger(v) && (v as number) >= 1;
    if (!ok) throw new ArgumentError(`job ${jobId}: field ${k}: expected ${kind === 'string' ? 'a string' : 'a positive integer'}, found ${shown(v)}`);
    out[k] = v as string | number;
  }
  for (const k of Object.keys(rec))
    if (!(k in shape)) throw new ArgumentError(`job ${jobId}: expected fields ${Object.keys(shape).join(', ')}, found an extra field '${k}'`);
  runDir('/', out.run as string);
  return out;
}

/** Checks a chunk job's payload (ArgumentError naming the job and the field on any deviation). */
export function chunkJobData(jobId: string, data: unknown): ChunkJobData {
  const f = fields(jobId, data, { run: 'string', store: 'string', index: 'count', count: 'count' });
  if ((f.index as number) > (f.count as number)) throw new ArgumentError(`job ${jobId}: expected a chunk index in 1..${f.count}, found ${f.index}`);
  return { run: f.run as string, store: f.store as string, index: f.index as number, count: f.count as number };
}

/** Checks a merge job's payload. */
export function mergeJobData(jobId: string, data: unknown): MergeJobData {
  const f = fields(jobId, data, { run: 'string', store: 'string', count: 'count' });
  return { run: f.run as string, store: f.store as string, count: f.count as number };
}

/** Writes the run's spec (plain JSON) into its folder. */
export async function writeSpec(store: string, spec: RunSpec): Promise<void> {
  const dir = runDir(store, spec.run);
  await mkdir(join(dir, 'attempts'), { recursive: true });
  await writeFile(join(dir, 'spec.json'), `${JSON.stringify(spec, null, 1)}\n`);
}

/** Reads the spec of `run` from the store, checking its run id and chunk count against the job's. */
export async function readSpec(store: string, run: string, count: number): Promise<RunSpec> {
  const path = join(runDir(store, run), 'spec.json');
  const spec = JSON.parse(await readFile(path, 'utf8')) as RunSpec;
  if (spec.run !== run || spec.chunks !== count || typeof spec.out !== 'string' || typeof spec.options !== 'object' || spec.options === null) {
    throw new InputError({ file: path }, `expected the spec of run ${run} in ${count} chunks, found run ${shown(spec.run)} in ${shown(spec.chunks)}`);
  }
  if (!(CLUSTER_COMMANDS as readonly string[]).includes(spec.command))
    throw new InputError({ file: path }, `expected a command ${CLUSTER_COMMANDS.join(', ')}, found ${shown(spec.command)}`);
  return spec;
}
