import { Worker } from 'node:worker_threads';
import { ArgumentError, WorkerError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import { MmEstRun, fitInThisThread, scanDesigns, type MmEstModel, type MmEstOptions, type MmEstResult } from './mmest.js';
import { packedSize, type ScanJob, type ScanResult, type WorkerJob, type WorkerResult } from './mm-worker.js';

/** Options of `mmEstParallel`: mmEst's, plus the number of worker threads. */
export interface MmEstParallelOptions extends MmEstOptions {
  /** Worker threads fitting marker models (default 1: mmEst in this thread). */
  threads?: number;
}

/**
 * `mmEst` with the marker models of GWAS mode fitted on `threads` worker
 * threads (MM4LMM's NbCores). This thread builds the designs and rotates
 * each batch with one gemm (the BLAS threads do that part); the workers run
 * the MM iterations, O(N p^2) per model, as one scan per batch where mmEst
 * scans (see `MmEstRun.fitBatches`), else model by model, while this thread
 * prepares the next batches. Results are identical to
 * `mmEst`'s, in marker order. Only the two-component (eigen) path has
 * per-marker work worth shipping; other calls run `mmEst` as is.
 */
export async function mmEstParallel(opts: MmEstParallelOptions): Promise<MmEstResult> {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new ArgumentError(`mmEst: threads must be a positive integer, found ${threads}`);
  const run = new MmEstRun(opts);
  const markers = run.markers;
  if (threads === 1 || markers === undefined || run.path !== 'eigen') return fitInThisThread(run, opts.onProgress);
  const { rotation, uty } = run.rotated();
  // The backend stays here: the workers' engine needs none, and it cannot be cloned.
  const { backend: _backend, ...engine } = run.engineOptions();
  const k = run.components.length;
  const workers = Array.from({ length: threads }, () => new Worker(new URL('./mm-worker.js', import.meta.url)));
  const models: MmEstModel[] = new Array(markers.count);
  try {
    const pending = new Map<number, { resolve: (r: WorkerResult & ScanResult) => void; reject: (e: Error) => void }>();
    for (const w of workers) {
      w.on('message', (r: WorkerResult & ScanResult) => {
        const p = pending.get(r.id);
        pending.delete(r.id);
        p?.resolve(r);
      });
      w.on('error', (e) => {
        for (const p of pending.values()) p.reject(e);
        pending.clear();
      });
    }
    let next = 0;
    let failure: unknown;
    const inFlight: Promise<void>[] = [];
    let done = 0;
    /** Sends a job to the next worker; `then` handles its answer. Keeps at most two jobs per worker queued. */
    const send = async (
      job: Omit<WorkerJob, 'id'> | Omit<ScanJob, 'id'>,
      transfer: ArrayBuffer[],
      then: (r: WorkerResult & ScanResult) => void,
    ): Promise<void> => {
      const id = next++;
      const promise = new Promise<WorkerResult & ScanResult>((resolve, reject) => pending.set(id, { resolve, reject })).then(then);
      workers[id % threads]!.postMessage({ ...job, id }, transfer);
      // A failed batch is kept and thrown below (never an unhandled rejection).
      inFlight.push(
        promise.catch((e: unknown) => {
          failure ??= e;
        }),
      );
      // Memory stays O(threads x batch).
      if (inFlight.length >= 2 * threads) await inFlight.shift();
    };
    // Batches the scan can take go to the workers as scans (see MmEstRun.fitBatches).
    const ctx = run.scanContext(markers);
    const size = opts.batchSize ?? 512;
    let from = 0;
    while (ctx !== undefined && from < markers.count) {
      const batch = run.prepareScan(ctx, markers, from, Math.min(size, markers.count - from));
      if (batch === undefined) break;
      const designs = scanDesigns(ctx, batch);
      const job: Omit<ScanJob, 'id'> = { scan: true, uty, eigenvalues: rotation.eigenvalues, designs, options: ctx.options, logDetError: ctx.logDetError };
      await send(job, [], (r) => {
        // A model failed there: refit the batch here, which throws the first model's error.
        const fits = r.fits ?? run.scanHere(ctx, batch);
        run.finishScan(batch, fits).forEach((m, j) => {
          models[batch.start + j] = m;
        });
        done += batch.count;
        opts.onProgress?.(done, markers.count);
      });
      from += batch.count;
    }
    for (const b of run.batches(markers, from)) {
      const utx = b.utx;
      // The eigen path (checked above) rotates every batch.
      if (utx === undefined) throw new WorkerError(`mmEst: the batch of models from ${b.start + 1} came without its rotated designs`);
      const cols = Int32Array.from(utx, (m) => m.cols);
      const packedUtx = new Float64Array(utx.reduce((s, m) => s + m.data.length, 0));
      let at = 0;
      for (const m of utx) {
        packedUtx.set(m.data, at);
        at += m.data.length;
      }
      const job: Omit<WorkerJob, 'id'> = {
        uty,
        eigenvalues: rotation.eigenvalues,
        opts: { ...engine, init: Array.from(engine.init as ArrayLike<number>) } as WorkerJob['opts'],
        cols,
        utx: packedUtx,
      };
      await send(job, [packedUtx.buffer], (r) => {
        if (r.error !== undefined) throw new WorkerError(`mmEst worker: ${r.error}`);
        let off = 0;
        b.designs.forEach((d, j) => {
          const p = cols[j]!;
          const fit = {
            sigma2: r.packed.slice(off, off + k),
            beta: r.packed.slice(off + k, off + k + p),
            varBeta: new Matrix(p, p, r.packed.slice(off + k + p, off + k + p + p * p)),
            logLik: r.packed[off + k + p + p * p]!,
            nbIt: r.packed[off + k + p + p * p + 1]!,
            converged: r.packed[off + k + p + p * p + 2] === 1,
          };
          models[b.start + j] = run.toModel(fit, d);
          off += packedSize(k, p);
        });
        done += b.designs.length;
        opts.onProgress?.(done, markers.count);
      });
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return run.result(models);
}
