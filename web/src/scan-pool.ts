// The job worker's pool of scan workers (web-scan.ts): one dedicated worker
// per part, started from the same script, each part's batches queued as
// they arrive so that the job takes them in file order while every worker
// runs ahead. A part's iterator, returned early or after an error,
// terminates its worker; a worker ends itself after its last batch.
import type { ScanPart, ScanPool, WireBatch } from '../../src/workflow/web-scan.js';
import type { FromScanWorker, ToScanWorker } from './protocol.js';

/** A pool of `size` scan workers running `script` (each started when its part is given). */
export function workerPool(size: number, script: string): ScanPool {
  return {
    size,
    run(w: number, part: ScanPart): AsyncIterable<WireBatch | null> {
      const worker = new Worker(script, { name: `lmmkit scan ${w + 1}` });
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
        failure = new Error(e.message || `scan worker ${w + 1} failed`);
        settle();
      };
      worker.postMessage({ type: 'scan', part } satisfies ToScanWorker);
      const stop = async (): Promise<IteratorResult<WireBatch | null>> => {
        worker.terminate();
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
  };
}
