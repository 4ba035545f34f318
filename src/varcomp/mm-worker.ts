// Worker thread of mmEstParallel: fits the rotated two-component marker
// models it is sent (mmRotated is pure TypeScript: no backend needed here).
import { parentPort } from 'node:worker_threads';
import { Matrix } from '../linalg/matrix.js';
import { mmRotated, RotatedWorkspace } from './mm-eigen.js';
import type { EngineOptions } from './types.js';

/** A job: the models of one batch, their rotated designs packed column after column. */
export interface WorkerJob {
  id: number;
  uty: Float64Array;
  eigenvalues: Float64Array;
  opts: EngineOptions;
  /** Columns of each model's U'X. */
  cols: Int32Array;
  /** All U'X, N x sum(cols), column-major. */
  utx: Float64Array;
}

/** The fits of a job, packed: per model sigma2 (K), beta (p), varBeta (p^2), logLik, nbIt, converged. */
export interface WorkerResult {
  id: number;
  packed: Float64Array;
  error?: string;
}

/** The number of doubles a model's packed fit takes. */
export function packedSize(k: number, p: number): number {
  return k + p + p * p + 3;
}

// Outside a worker thread (parentPort null) this module does nothing.
const port = parentPort;
if (port !== null)
  port.on('message', (job: WorkerJob) => {
    try {
      const n = job.uty.length;
      const k = (job.opts.init as ArrayLike<number>).length;
      let total = 0;
      for (const p of job.cols) total += packedSize(k, p);
      const packed = new Float64Array(total);
      let col = 0;
      let at = 0;
      // The job's models share uty and the eigenvalues: one workspace for the job.
      const workspace = new RotatedWorkspace();
      for (const p of job.cols) {
        const utx = new Matrix(n, p, job.utx.subarray(col * n, (col + p) * n));
        col += p;
        const fit = mmRotated(job.uty, utx, job.eigenvalues, job.opts, workspace);
        packed.set(fit.sigma2, at);
        packed.set(fit.beta, at + k);
        packed.set(fit.varBeta.data, at + k + p);
        const tail = at + k + p + p * p;
        packed[tail] = fit.logLik;
        packed[tail + 1] = fit.nbIt;
        packed[tail + 2] = fit.converged ? 1 : 0;
        at += packedSize(k, p);
      }
      port.postMessage({ id: job.id, packed } satisfies WorkerResult, [packed.buffer]);
    } catch (e) {
      port.postMessage({ id: job.id, packed: new Float64Array(0), error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) } satisfies WorkerResult);
    }
  });
