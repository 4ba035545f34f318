// The one place that chooses the worker's linear-algebra kernels. The js
// backend is the only one a page has today; a WebAssembly SIMD gemm/syrk
// (src/linalg/wasm/, being built) is to be wired here, with js kept as the
// fallback where it is slower or WebAssembly SIMD is missing.
import { type BackendName, setBackend } from '../../src/linalg/select.js';

/** Selects the backend the worker's job runs on and returns its name. */
export function pickKernels(): BackendName {
  setBackend('js');
  return 'js';
}
