// The job worker's pool of scan workers (web-scan.ts): dedicated workers
// started from the same script when the job has opened its genotypes (each
// opens them too while the job computes the kinship and the null model),
// each part's batches queued as they arrive so that the job takes them in
// file order while every worker runs ahead. A part's iterator, returned
// early or after an error, terminates its worker, and so does `close`.
import type { GenotypeFileset } from '../../src/workflow/web-filesets.js';
import type { JobFiles } from '../../src/workflow/web-job.js';
import type { ScanPart, ScanPool, WireBatch } from '../../src/workflow/web-scan.js';
import type { FromScanWorker, ToScanWorker } from './protocol.js';

/** A pool of `size` - 1 scan workers running `script` beside the job's own (see `ScanPool`). */
export function workerPool(size: number, script: string): ScanPool {
  const workers = new Map<number, Worker>();
  const start = (w: number): Worker => {
    let worker = workers.get(w);
    if (worker === undefined) {
      worker = new Worker(script, { name: `lmmkit scan ${w}` });
      workers.set(w, worker);
    }
    return worker;
  };
  const send = (worker: Worker, m: ToScanWorker): void => worker.postMessage(m);
  return {
    size,
    open(files: JobFiles, genotypes: GenotypeFileset): void {
      for (let w = 1; w < size; w++) send(start(w), { type: 'open', files, genotypes });
    },
    run(w: number, part: ScanPart): AsyncIterable<WireBatch | null> {
      const worker = start(w);
      const queue: (WireBatch | null)[] = [];
      let ended = false;
      let failure: Error | undefined;
      let wake: (() => void) | undefined;
      const settle = (): void => {
        wake?.();
        wake = undefined;
      };
      worker.onmessage = (e: MessageEvent<FromScanWorker>) => {
        const m = e.data;
        if (m.type === 'batch') queue.push(m.batch);
        else if (m.type === 'end') ended = true;
        else failure = new Error(m.message);
        settle();
      };
      worker.onerror = (e) => {
        e.preventDefault();
        failure = new Error(e.message || `scan worker ${w} failed`);
        settle();
      };
      send(worker, { type: 'scan', part });
      const stop = async (): Promise<IteratorResult<WireBatch | null>> => {
        worker.terminate();
        workers.delete(w);
        return { done: true, value: undefined };
      };
      return {
        [Symbol.asyncIterator]: () => ({
          async next(): Promise<IteratorResult<WireBatch | null>> {
            while (queue.length === 0 && !ended && failure === undefined) await new Promise<void>((ok) => (wake = ok));
            if (queue.length > 0) return { done: false, value: queue.shift()! };
            if (failure !== undefined) throw failure;
            return stop();
          },
          return: stop,
        }),
      };
    },
    close(): void {
      for (const worker of workers.values()) worker.terminate();
      workers.clear();
    },
  };
}
