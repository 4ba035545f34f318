import type { Kernels } from '../kernels.js';
import { dgemm, dgemv, dsyrk } from './blas.js';
import { dtrsm } from './trsm.js';
import { dpotrf, dpotri, dpotrs } from './cholesky.js';
import { dgesdd } from './gesdd.js';
import { dsyevd } from './syevd.js';

/**
 * The pure TypeScript kernels: no Node APIs, so lmmkit's linear algebra runs
 * unchanged in a browser. Single-threaded; see each routine for its algorithm.
 */
export const jsKernels: Kernels = {
  name: 'js',
  describe: () => ({
    blas: 'lmmkit pure TypeScript kernels',
    threads: 1,
    config: 'packed blocked dgemm (4x4 micro-kernel), blocked Cholesky, divide-and-conquer symmetric eigen, Golub-Kahan-Reinsch SVD',
  }),
  dgemm,
  dsyrk,
  dgemv,
  dpotrf,
  dpotrs,
  dpotri,
  dtrsm,
  dsyevd,
  dgesdd,
};
