// `lmmkit cluster status` and `lmmkit cluster wait`: a run's state as
// BullMQ holds it in Redis (its merge job and chunk jobs, by their ids).
import { type Job, Queue } from 'bullmq';
import { ArgumentError } from '../errors.js';
import { DEFAULT_REDIS_TIMEOUT_S, reachRedis } from './cluster-redis.js';
import { CLUSTER_QUEUE, chunkJobId, mergeJobData, mergeJobId, redisConnection, runDir } from './cluster-store.js';

/** One chunk's state. */
export interface ChunkStatus {
  index: number;
  state: string;
  /** The worker (host:pid) that reported progress last, and its stage and fraction of it. */
  worker?: string;
  stage?: string;
  fraction?: number;
  attempts: number;
  seconds?: number;
  error?: string;
}

/** What `runStatus` returns. */
export interface ClusterStatus {
  run: string;
  chunks: number;
  counts: { waiting: number; active: number; done: number; failed: number };
  /** The merge job's state: waiting-children until every chunk is done, then waiting, active, completed or failed. */
  merge: string;
  mergeError?: string;
  /** Where the merged report was written (once completed). */
  report?: string;
  /** Seconds left, estimated from the done chunks' mean time and the workers busy now (absent before a chunk is done). */
  etaSeconds?: number;
  list: ChunkStatus[];
}

function progressOf(job: Job): { worker?: string; stage?: string; fraction?: number } {
  const p = job.progress;
  if (typeof p !== 'object' || p === null) return {};
  const r = p as Record<string, unknown>;
  return {
    worker: typeof r.worker === 'string' ? r.worker : undefined,
    stage: typeof r.stage === 'string' ? r.stage : undefined,
    fraction: typeof r.fraction === 'number' ? r.fraction : undefined,
  };
}

/**
 * Reads the state of `run` from Redis: its chunks (waiting, active with
 * their worker and progress, done, failed with the error) and merge. A
 * Redis that does not answer within `timeoutMs` (default 10 s) is an
 * ArgumentError naming the URL.
 */
export async function runStatus(opts: { redis: string; run: string; timeoutMs?: number }): Promise<ClusterStatus> {
  runDir('/', opts.run);
  const queue = new Queue(CLUSTER_QUEUE, { connection: redisConnection(opts.redis) });
  await reachRedis(queue, opts.redis, opts.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_S * 1000, 'cluster status');
  try {
    return await statusOf(queue, opts.run);
  } finally {
    await queue.close();
  }
}

async function statusOf(queue: Queue, run: string): Promise<ClusterStatus> {
  const merge = await queue.getJob(mergeJobId(run));
  if (merge === undefined) throw new ArgumentError(`run ${run}: expected a run submitted to this Redis, found no such run (or it was removed)`);
  const { count } = mergeJobData(String(merge.id), merge.data);
  const list: ChunkStatus[] = [];
  const counts = { waiting: 0, active: 0, done: 0, failed: 0 };
  const durations: number[] = [];
  let left = 0;
  for (let i = 1; i <= count; i++) {
    const job = await queue.getJob(chunkJobId(run, i));
    if (job === undefined) {
      list.push({ index: i, state: 'missing', attempts: 0 });
      continue;
    }
    const state = await job.getState();
    const c: ChunkStatus = { index: i, state, attempts: job.attemptsMade, ...progressOf(job) };
    if (state === 'completed') {
      counts.done++;
      if (job.processedOn !== undefined && job.finishedOn !== undefined) {
        c.seconds = (job.finishedOn - job.processedOn) / 1000;
        durations.push(c.seconds);
      }
    } else if (state === 'failed') {
      counts.failed++;
      c.error = job.failedReason;
    } else if (state === 'active') {
      counts.active++;
      left += 1 - (c.fraction ?? 0);
    } else {
      counts.waiting++;
      left += 1;
    }
    list.push(c);
  }
  const mergeState = await merge.getState();
  const s: ClusterStatus = { run, chunks: count, counts, merge: mergeState, list };
  if (mergeState === 'failed') s.mergeError = merge.failedReason;
  if (mergeState === 'completed') {
    const rv = merge.returnvalue as { report?: unknown } | null;
    if (typeof rv?.report === 'string') s.report = rv.report;
  }
  if (durations.length > 0 && counts.failed === 0 && mergeState !== 'completed') {
    const mean = durations.reduce((a, b) => a + b, 0) / durations.length;
    s.etaSeconds = (mean * left) / Math.max(1, counts.active);
  }
  return s;
}

/** The status as text lines: the counts, the ETA, then each active or failed chunk. */
export function formatStatus(s: ClusterStatus): string[] {
  const c = s.counts;
  const lines = [
    `run ${s.run}: ${s.chunks} chunks: ${c.waiting} waiting, ${c.active} active, ${c.done} done, ${c.failed} failed; merge ${s.merge}` +
      (s.etaSeconds === undefined ? '' : `; about ${Math.ceil(s.etaSeconds)} s left`),
  ];
  for (const ch of s.list) {
    if (ch.state === 'active') {
      const pct = ch.fraction === undefined ? '' : ` ${(100 * ch.fraction).toFixed(0)}%`;
      lines.push(`  chunk ${ch.index}/${s.chunks}: active on ${ch.worker ?? '?'}, ${ch.stage ?? '?'}${pct}`);
    } else if (ch.state === 'failed') lines.push(`  chunk ${ch.index}/${s.chunks}: failed after ${ch.attempts} attempt(s): ${ch.error ?? '?'}`);
  }
  if (s.mergeError !== undefined) lines.push(`  merge: failed: ${s.mergeError}`);
  if (s.report !== undefined) lines.push(`  merged: ${s.report}`);
  return lines;
}

/** What `waitRun` ends with: the merged report, or the failure (the failed chunks' errors first). */
export type WaitResult = { ok: true; report: string | undefined } | { ok: false; error: string };

/**
 * Waits until `run` is merged or has failed, polling Redis every
 * `intervalMs`. The first contact waits at most `timeoutMs` (default 10 s;
 * then an ArgumentError naming the URL); a Redis restart later on is
 * waited out: the queue's client reconnects and the poll is tried again.
 */
export async function waitRun(opts: {
  redis: string;
  run: string;
  intervalMs?: number;
  timeoutMs?: number;
  onStatus?: (s: ClusterStatus) => void;
}): Promise<WaitResult> {
  runDir('/', opts.run);
  const queue = new Queue(CLUSTER_QUEUE, { connection: redisConnection(opts.redis) });
  await reachRedis(queue, opts.redis, opts.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_S * 1000, 'cluster wait');
  try {
    for (;;) {
      let s: ClusterStatus | undefined;
      try {
        s = await statusOf(queue, opts.run);
      } catch (e) {
        if (e instanceof ArgumentError) throw e;
      }
      if (s !== undefined) {
        opts.onStatus?.(s);
        if (s.merge === 'completed') return { ok: true, report: s.report };
        if (s.merge === 'failed' || s.counts.failed > 0) {
          const failed = s.list.filter((c) => c.state === 'failed');
          // A chunk that failed for good fails its parent (failParentOnFailure): report the chunk's own error.
          if (failed.length > 0 || s.merge === 'failed') {
            const lines = failed.map((c) => `chunk ${c.index}/${s.chunks}: ${c.error ?? '?'}`);
            if (failed.length === 0) lines.push(`merge: ${s.mergeError ?? '?'}`);
            return { ok: false, error: `run ${opts.run} failed: ${lines.join('; ')}` };
          }
        }
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
    }
  } finally {
    await queue.close();
  }
}
