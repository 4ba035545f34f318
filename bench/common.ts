// Helpers shared by the benchmarks: sizes from the environment, timing,
// best-of-n runs and the machine header line.
import { availableParallelism } from 'node:os';
import type { Backend } from '../src/linalg/backend.js';

/**
 * The integer in environment variable `name`, or `dflt` when it is unset or
 * empty; throws when it is not an integer >= `min` (default 1).
 */
export function envInt(name: string, dflt: number, min = 1): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new Error(`${name} must be ${min === 1 ? 'a positive integer' : `an integer >= ${min}`}, found '${v}'`);
  return x;
}

/** Whether environment variable `name` is '0' (a part of a benchmark switched off). */
export const envOff = (name: string): boolean => process.env[name] === '0';

/** Wall seconds since `t0` (a `performance.now()` reading). */
export const secondsSince = (t0: number): number => (performance.now() - t0) / 1000;

/** Runs `fn` `reps` times: the last run's value and the best wall time, in seconds. */
export function bestOf<T>(reps: number, fn: () => T): { value: T; seconds: number } {
  let value: T | undefined;
  let seconds = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    value = fn();
    seconds = Math.min(seconds, secondsSince(t0));
  }
  return { value: value!, seconds };
}

/** The backend in words: its name, BLAS and BLAS threads. */
export function backendLabel(be: Backend): string {
  const info = be.info();
  return `${be.name} (${info.blas}, ${info.threads} BLAS thread${info.threads > 1 ? 's' : ''})`;
}

/** The machine header of a benchmark: backend, BLAS, threads, CPUs and Node version. */
export function machineLine(be: Backend): string {
  return `backend ${backendLabel(be)}, ${availableParallelism()} CPUs, Node ${process.version}`;
}
