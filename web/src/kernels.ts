// The one place that chooses the worker's linear-algebra kernels: the
// WebAssembly SIMD gemm/syrk (src/linalg/wasm/) where the browser has
// simd128, 3-7x the js kernel's GFLOP/s in Chromium (npm run bench:web) and
// equal to it bit for bit, and the js kernel otherwise.
import { type BackendName, setBackend, wasmStatus } from '../../src/linalg/select.js';

/** Selects the backend the worker's job runs on (wasm if it can run, else js) and returns its name. */
export function pickKernels(): BackendName {
  const name: BackendName = wasmStatus().available ? 'wasm' : 'js';
  setBackend(name);
  return name;
}
