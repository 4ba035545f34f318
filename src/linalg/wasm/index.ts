import type { Kernels } from '../kernels.js';
import { jsKernels } from '../js/index.js';
import { dgemm, dsyrk } from './gemm.js';

export { wasmUnavailableReason } from './gemm.js';

/**
 * The WebAssembly SIMD kernels: dgemm and dsyrk (the O(n^3) work of the scan's
 * rotation and of the kinship) on the simd128 macro-kernel of gemm.wat, every
 * other routine the js kernels'. Browser-safe; check `wasmUnavailableReason()`
 * before use (a runtime without simd128 cannot compile the module).
 */
export const wasmKernels: Kernels = {
  ...jsKernels,
  name: 'wasm',
  describe: () => ({
    blas: 'lmmkit WebAssembly SIMD kernels',
    threads: 1,
    config: 'packed blocked dgemm/dsyrk on a simd128 4x4 micro-kernel (f64x2), the rest as the js kernels',
  }),
  dgemm,
  dsyrk,
};
