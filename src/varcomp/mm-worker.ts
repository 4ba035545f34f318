// Worker thread of mmEstParallel: fits the rotated two-component marker
// models it is sent, one by one or as one scan (both pure TypeScript: no
// backend needed here).
import { parentPort } from 'node:worker_threads';
import { Matrix } from '../linalg/matrix.js';
import { mmRotated, RotatedWorkspace } from './mm-eigen.js';
import { makeWorkspace } from './mm-eigen-gls.js';
import { remlScan, type ScanDesigns, type ScanFits, type ScanOptions, scanFits } from './mm-eigen-scan.js';
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

/** A scan job: `remlScan` of one prepared batch (see MmEstRun.prepareScan). */
export interface ScanJob {
  id: number;
  scan: true;
  uty: Float64Array;
  eigenvalues: Float64Array;
  designs: ScanDesigns;
  options: ScanOptions;
  logDetError: number;
}

/** The fits of a scan job, or the error that stopped it. */
export interface ScanResult {
  id: number;
  fits?: ScanFits;
  error?: string;
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
  port.on('message', (job: WorkerJob | ScanJob) => {
    if ('scan' in job) {
      try {
        const p = job.designs.pa + job.designs.pb;
        const fits = scanFits(job.designs.count, p);
        remlScan(makeWorkspace(job.uty.length, p), job.uty, job.eigenvalues, job.designs, job.options, job.logDetError, fits);
        const buffers = [fits.sigma2, fits.beta, fits.varBeta, fits.logLik, fits.nbIt, fits.converged].map((a) => a.buffer as ArrayBuffer);
        port.postMessage({ id: job.id, fits } satisfies ScanResult, buffers);
      } catch (e) {
        // The main thread refits the batch there, which throws the first model's error.
        port.postMessage({ id: job.id, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) } satisfies ScanResult);
      }
      return;
    }
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
