import { createRequire } from 'node:module';
import type { Kernels } from '../kernels.js';

/** Why the native kernels are or are not available. */
export type NativeStatus = { available: true; kernels: Kernels } | { available: false; reason: string };

const HOWTO = 'apt-get install libopenblas-dev liblapacke-dev, then npm rebuild lmmkit';

/**
 * Loads the OpenBLAS/LAPACKE addon built by `npm install`
 * (build/Release/lmmkit_native.node). Node only: the browser-safe entry never
 * reaches this module (see `register.ts`).
 */
export function loadNativeKernels(): NativeStatus {
  const loadAddon = createRequire(import.meta.url);
  // dist/src/linalg/native/load.js -> package root
  const path = new URL('../../../../build/Release/lmmkit_native.node', import.meta.url);
  let addon: Omit<Kernels, 'name' | 'dgemmStart'> & { dgemmStart?: (...args: Parameters<Kernels['dgemm']>) => unknown; dgemmWait?: (task: unknown) => void };
  try {
    addon = loadAddon(path.pathname) as typeof addon;
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    return { available: false, reason: `the native addon did not load (${why}); ${HOWTO}` };
  }
  // An addon built before dgemmStart has none: gemm then runs in the caller's thread.
  const { dgemmStart: start, dgemmWait: wait } = addon;
  const dgemmStart: Kernels['dgemmStart'] =
    start === undefined || wait === undefined
      ? undefined
      : (...args) => {
          const task = start(...args);
          return { wait: () => wait(task) };
        };
  return {
    available: true,
    kernels: {
      name: 'native',
      describe: () => addon.describe(),
      dgemm: addon.dgemm,
      dgemmStart,
      dsyrk: addon.dsyrk,
      dgemv: addon.dgemv,
      dpotrf: addon.dpotrf,
      dpotrs: addon.dpotrs,
      dpotri: addon.dpotri,
      dtrsm: addon.dtrsm,
      dsyevd: addon.dsyevd,
      dgesdd: addon.dgesdd,
    },
  };
}
