// Reaching Redis from `lmmkit cluster`: BullMQ's clients (ioredis) retry a
// refused connection forever, so `submit`, `status` and `wait` against a
// Redis that is not there would hang. These commands wait a bounded time
// for the first answer and then fail with one line naming the URL; a
// worker, which lives for days, retries and says so once per outage.
import type { ConnectionOptions } from 'bullmq';
import { ArgumentError } from '../errors.js';

/** Seconds `submit`, `status` and `wait` wait for Redis to answer before giving up, by default. */
export const DEFAULT_REDIS_TIMEOUT_S = 10;

/** The environment variable that sets that wait, in seconds (`--redis-timeout` wins). */
export const REDIS_TIMEOUT_ENV = 'LMMKIT_REDIS_TIMEOUT';

/** A worker's pause between two connection attempts: 0.5 s more each time, at most 5 s (BullMQ's default grows to 20 s). */
export function workerRetryDelay(times: number): number {
  return Math.min(500 * times, 5000);
}

/**
 * The wait for Redis in milliseconds: `seconds` (--redis-timeout) when
 * given, else LMMKIT_REDIS_TIMEOUT, else 10 s; a value that is not a
 * positive number is a BAD_ARGUMENT naming where it came from.
 */
export function redisTimeoutMs(seconds: string | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const [text, from] = seconds !== undefined ? [seconds, '--redis-timeout'] : [env[REDIS_TIMEOUT_ENV], REDIS_TIMEOUT_ENV];
  if (text === undefined) return DEFAULT_REDIS_TIMEOUT_S * 1000;
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s <= 0) throw new ArgumentError(`${from}: expected a positive number of seconds, found '${text}'`);
  return s * 1000;
}

/** The Redis URL as printed: a password in it replaced by `***`. */
export function shownRedisUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/** A BullMQ client (Queue, FlowProducer, Worker): it connects by itself, reports connection errors as events. */
interface RedisClientLike {
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * Waits until `client` has connected to the Redis at `url`, at most
 * `timeoutMs`; past it, closes the client and throws an
 * ArgumentError: `what: cannot reach Redis at URL within S s (last error)`.
 * A command's first contact with Redis goes through here, so a wrong URL
 * or a stopped server is one line after a bounded time, not a hang.
 */
export async function reachRedis(client: RedisClientLike, url: string, timeoutMs: number, what: string): Promise<void> {
  let last: string | undefined;
  client.on('error', (err) => {
    last = (err as NodeJS.ErrnoException).code ?? err.message;
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((done) => {
    timer = setTimeout(() => done('late'), timeoutMs);
  });
  try {
    const r = await Promise.race([client.waitUntilReady().then(() => 'ready' as const), late]);
    if (r === 'ready') return;
  } catch (e) {
    last = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  } finally {
    clearTimeout(timer);
  }
  // close() (not disconnect(), which first waits for the connection) drops a connection still being made.
  await client.close().catch(() => {});
  throw new ArgumentError(
    `${what}: cannot reach Redis at ${shownRedisUrl(url)} within ${timeoutMs / 1000} s (${last ?? 'no answer'}); start redis-server there, or check --redis (wait longer: --redis-timeout S or ${REDIS_TIMEOUT_ENV})`,
  );
}

/** Error codes and messages of a connection that is down (not of a command that failed). */
const CONNECTION_ERROR = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EPIPE|EAI_AGAIN)$|Connection is closed/;

/**
 * Reports a long-lived client's connection (a worker's): `down` once when
 * Redis stops answering (each outage, not each retry), `up` when it
 * answers again. `error` takes the client's error events and returns
 * whether it was the connection's (reported here); `connected` is called
 * on each (re)connection; `isDown` tells whether an outage is going on.
 */
export function connectionReporter(
  url: string,
  down: (line: string) => void,
  up: (line: string) => void,
): { error: (err: Error) => boolean; connected: () => void; isDown: () => boolean } {
  let outage = false;
  return {
    isDown: () => outage,
    error: (err) => {
      const what = (err as NodeJS.ErrnoException).code ?? err.message;
      if (!CONNECTION_ERROR.test(what)) return false;
      if (!outage) down(`cannot reach Redis at ${shownRedisUrl(url)} (${what}); retrying every few seconds (at most 5 s apart) until it answers`);
      outage = true;
      return true;
    },
    connected: () => {
      if (!outage) return;
      outage = false;
      up(`Redis at ${shownRedisUrl(url)} answers: taking jobs`);
    },
  };
}

/** The connection options of a worker: BullMQ's, with `workerRetryDelay` between attempts. */
export function workerConnection(base: ConnectionOptions): ConnectionOptions {
  return { ...(base as object), retryStrategy: workerRetryDelay } as ConnectionOptions;
}
