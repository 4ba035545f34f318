import { BackendError } from '../errors.js';
import type { NonEmpty } from '../non-empty.js';
import { Backend } from './backend.js';
import { jsKernels } from './js/index.js';
import type { BackendName } from './kernels.js';
import type { NativeStatus } from './native/load.js';
import { wasmKernels, wasmUnavailableReason } from './wasm/index.js';

export type { BackendName } from './kernels.js';

const NAMES: readonly BackendName[] = ['js', 'native', 'wasm'];

let native: NativeStatus | undefined;
let current: Backend | undefined;
const cache = new Map<BackendName, Backend>();

// The browser-safe entry knows no native loader, so that nothing of Node is
// reachable from it; lmmkit/node (and the CLI) register one on import.
let loadNative = (): NativeStatus => ({ available: false, reason: "the 'lmmkit' entry runs js or wasm only; import from 'lmmkit/node' for native" });

/**
 * Makes `load` the way the native kernels are loaded (once, on first use).
 * Called by `linalg/native/register.ts`, which lmmkit/node imports.
 */
export function registerNativeLoader(load: () => NativeStatus): void {
  loadNative = load;
  native = undefined;
  cache.delete('native');
}

/** Whether the native OpenBLAS/LAPACKE backend loaded, and why not if it did not. */
export function nativeStatus(): { available: boolean; reason?: string } {
  native ??= loadNative();
  return native.available ? { available: true } : { available: false, reason: native.reason };
}

/**
 * Whether the wasm backend (WebAssembly SIMD dgemm/dsyrk) can run here, and
 * why not if it cannot (no WebAssembly, or no simd128).
 */
export function wasmStatus(): { available: boolean; reason?: string } {
  const reason = wasmUnavailableReason();
  return reason === undefined ? { available: true } : { available: false, reason };
}

/**
 * The backend called `name`. Throws an `LmmkitError` with the reason (and
 * how to fix it) when the native backend was asked for but is not available.
 */
export function loadBackend(name: BackendName): Backend {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  let backend: Backend;
  if (name === 'js') {
    backend = new Backend(jsKernels);
  } else if (name === 'native') {
    native ??= loadNative();
    if (!native.available) throw new BackendError('NO_NATIVE_BACKEND', `native backend: ${native.reason}`);
    backend = new Backend(native.kernels);
  } else if (name === 'wasm') {
    const reason = wasmUnavailableReason();
    if (reason !== undefined) throw new BackendError('NO_WASM_BACKEND', `wasm backend: ${reason}`);
    backend = new Backend(wasmKernels);
  } else {
    throw new BackendError('BAD_BACKEND', `unknown backend '${String(name)}': expected 'js', 'native' or 'wasm'`);
  }
  cache.set(name, backend);
  return backend;
}

/**
 * The backends lmmkit may run on here, the default first (what
 * `getBackend` picks unless `setBackend` was called). With `LMMKIT_BACKEND`
 * set, that backend alone: setting it rules the other out, so
 * `selfcheck --backend all` and the test suite's both-backend loops keep to
 * it (and under `LMMKIT_BACKEND=js` the native addon is not even loaded).
 * Unset: native (when registered by lmmkit/node and loaded), then js; without
 * native, wasm (where WebAssembly SIMD runs: 3-5x js's gemm, with
 * bit-identical results), then js. Throws as `getBackend` does for an
 * unknown name, or a native or wasm backend asked for but missing.
 */
export function availableBackends(): NonEmpty<Backend> {
  const asked = requestedBackend();
  if (asked !== undefined) return [loadBackend(asked)];
  if (nativeStatus().available) return [loadBackend('native'), loadBackend('js')];
  return wasmStatus().available ? [loadBackend('wasm'), loadBackend('js')] : [loadBackend('js')];
}

/**
 * The backend lmmkit uses: `LMMKIT_BACKEND` (js, native or wasm) when set, else
 * native when registered (lmmkit/node) and loaded, else wasm where
 * WebAssembly SIMD runs (browsers, workers), else js. Chosen once, on first use.
 */
export function getBackend(): Backend {
  current ??= availableBackends()[0];
  return current;
}

/** Makes `name` the backend lmmkit uses from now on, and returns it. */
export function setBackend(name: BackendName): Backend {
  current = loadBackend(name);
  return current;
}

/** `LMMKIT_BACKEND` when set and not empty (read on each call; absent outside Node). */
function requestedBackend(): BackendName | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const asked = env?.LMMKIT_BACKEND;
  if (asked === undefined || asked === '') return undefined;
  if (!NAMES.includes(asked as BackendName)) {
    throw new BackendError('BAD_BACKEND', `LMMKIT_BACKEND='${asked}': expected 'js', 'native' or 'wasm'`);
  }
  return asked as BackendName;
}
