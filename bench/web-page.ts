// The page side of `npm run bench:web` (loaded into Chromium from dist/):
// the kernel figures of web-kernels.ts for the js and wasm kernels, and the
// U^T X gemm split by columns over k Web Workers sharing memory.
import { defaultBatchSize } from '../src/data/genotypes.js';
import { jsKernels } from '../src/linalg/js/index.js';
import { wasmKernels } from '../src/linalg/wasm/index.js';
import { wasmUnavailableReason } from '../src/linalg/wasm/gemm.js';
import { Rng } from '../src/sim/rng.js';
import { chr22Rows, kernelRows, type Row } from './web-kernels.js';

/** The page's js and wasm kernel figures (web-kernels.ts), js and wasm alternately. */
export function pageKernelRows(sizes: readonly number[], syrkSizes: readonly number[], reps: number): Row[] {
  const reason = wasmUnavailableReason();
  if (reason !== undefined) throw new Error(`wasm kernel: ${reason}`);
  const kernels = { js: jsKernels, wasm: wasmKernels };
  return [...kernelRows(kernels, sizes, syrkSizes, reps), ...chr22Rows(kernels, reps)];
}

interface PageWorker {
  postMessage(msg: unknown): void;
  terminate(): void;
  onmessage: ((e: { data: string }) => void) | null;
}

/** Posts `msg` to every worker and resolves when each has answered once. */
function roundTrip(workers: PageWorker[], msg: (i: number) => unknown): Promise<void> {
  return new Promise((resolve) => {
    let left = workers.length;
    workers.forEach((w, i) => {
      w.onmessage = () => {
        if (--left === 0) resolve();
      };
      w.postMessage(msg(i));
    });
  });
}

/**
 * GFLOP/s of U^T X (X N x defaultBatchSize(N)) on the page's main thread
 * (wasm) and split by columns over k workers (wasm in each, matrices in
 * SharedArrayBuffers, so a run posts one message per worker and copies
 * nothing), for each N and k; best of `reps`, all variants alternately.
 * Needs cross-origin isolation (the page's COOP/COEP headers).
 */
export async function parallelRows(sizes: readonly number[], workerCounts: readonly number[], reps: number): Promise<Row[]> {
  if (!(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) throw new Error('the page is not cross-origin isolated');
  const WorkerCtor = (globalThis as unknown as { Worker: new (url: URL, opts: { type: 'module' }) => PageWorker }).Worker;
  const rng = new Rng(7);
  const rows: Row[] = [];
  for (const n of sizes) {
    const b = defaultBatchSize(n);
    const shared = { u: new SharedArrayBuffer(n * n * 8), x: new SharedArrayBuffer(n * b * 8), c: new SharedArrayBuffer(n * b * 8) };
    new Float64Array(shared.u).set(rng.normals(n * n));
    new Float64Array(shared.x).set(rng.normals(n * b));
    const u = new Float64Array(shared.u).slice();
    const x = new Float64Array(shared.x).slice();
    const c = new Float64Array(n * b);
    const pools = new Map<number, PageWorker[]>();
    for (const k of workerCounts) {
      const pool = Array.from({ length: k }, () => new WorkerCtor(new URL('./web-worker.js', import.meta.url), { type: 'module' }));
      await roundTrip(pool, (i) => ({ ...shared, n, j0: Math.floor((i * b) / k), j1: Math.floor(((i + 1) * b) / k) }));
      // Untimed: each worker compiles its wasm instance and warms its JIT (packing is JS).
      for (let w = 0; w < 3; w++) await roundTrip(pool, () => 'run');
      pools.set(k, pool);
    }
    const best: Record<string, number> = {};
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now();
      wasmKernels.dgemm(true, false, n, b, n, 1, u, x, 0, c);
      best['main thread'] = Math.min(best['main thread'] ?? Infinity, performance.now() - t0);
      for (const [k, pool] of pools) {
        t0 = performance.now();
        await roundTrip(pool, () => 'run');
        const key = `${k} worker${k > 1 ? 's' : ''}`;
        best[key] = Math.min(best[key] ?? Infinity, performance.now() - t0);
      }
    }
    for (const pool of pools.values()) for (const w of pool) w.terminate();
    // A column's sums do not depend on which columns share its call: the split result is bit-identical.
    const split = new Float64Array(shared.c);
    if (split.some((v, i) => !Object.is(v, c[i]))) throw new Error(`parallel gemm ${n}: the workers' C differs from the main thread's`);
    const values = Object.fromEntries(Object.entries(best).map(([key, ms]) => [key, (2 * n * n * b) / (ms / 1000) / 1e9]));
    rows.push({ what: 'wasm gemm U^T X, parallel', shape: `${n}x${n} x ${n}x${b}`, unit: 'GFLOP/s', values });
  }
  return rows;
}
