// --threads N: how many threads the BLAS (OpenBLAS) and the worker pools use.
// OpenBLAS reads its thread count when the library is loaded, and lmmkit loads
// its native backend on first use, so the count is set in the environment
// before any computation (the command line does it before a command runs).
import { ArgumentError } from '../errors.js';
import { getBackend } from '../linalg/select.js';

/** Environment variables OpenBLAS (and an OpenMP build of it) reads for its thread count. */
const BLAS_THREAD_VARIABLES = ['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS'] as const;

/**
 * Asks the BLAS for `n` threads (a positive integer, else a BAD_ARGUMENT
 * naming --threads). Takes effect when the native backend has not been
 * loaded yet in this process, which is the case when a command starts; see
 * `threadsReport` for what the backend then uses.
 */
export function useThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ArgumentError(`--threads: expected a positive integer, found ${n}`);
  for (const v of BLAS_THREAD_VARIABLES) process.env[v] = String(n);
}

/** The `threads` entry of a JSON report: the threads asked for, the BLAS threads in use (1 for the js backend) and the worker threads. */
export interface ThreadsReport {
  requested: number;
  blas: number;
  workers: number;
}

/** What a run given --threads `requested` uses (`workers`: worker threads, 1 where a command has none). */
export function threadsReport(requested: number, workers = 1): ThreadsReport {
  return { requested, blas: getBackend().info().threads, workers };
}
