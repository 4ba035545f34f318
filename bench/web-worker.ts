// A Web Worker of `npm run bench:web`'s parallel measurement: computes its
// column range of C = U^T X with the wasm kernel, all three matrices in
// SharedArrayBuffers that the page made once per shape.
import { dgemm } from '../src/linalg/wasm/gemm.js';

/** The page's setup message: the shared matrices and this worker's columns [j0, j1). */
interface Setup {
  u: SharedArrayBuffer;
  x: SharedArrayBuffer;
  c: SharedArrayBuffer;
  n: number;
  j0: number;
  j1: number;
}

interface WorkerScope {
  onmessage: ((e: { data: Setup | 'run' }) => void) | null;
  postMessage(msg: string): void;
}

const scope = globalThis as unknown as WorkerScope;
let job: { u: Float64Array; x: Float64Array; c: Float64Array; n: number; cols: number } | undefined;

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg === 'run') {
    if (job !== undefined) dgemm(true, false, job.n, job.cols, job.n, 1, job.u, job.x, 0, job.c);
    scope.postMessage('done');
    return;
  }
  const { n, j0, j1 } = msg;
  job = {
    u: new Float64Array(msg.u),
    x: new Float64Array(msg.x, j0 * n * 8, (j1 - j0) * n),
    c: new Float64Array(msg.c, j0 * n * 8, (j1 - j0) * n),
    n,
    cols: j1 - j0,
  };
  scope.postMessage('ready');
};
