// The kernel measurements of `npm run bench:web`, browser-safe so that the
// same code times the kernels in Node and in a Chromium page: gemm at the
// scan's rotation shapes (U^T X, U N x N, X N x batch), syrk at the
// kinship's (one block of 2048 variants), and the kernels' whole share of
// a chr22-sized run (274 samples, 49 008 variants). Each shape runs the
// kernels alternately, best of `reps`, so their ratio is fair on a busy machine.
import { defaultBatchSize } from '../src/data/genotypes.js';
import type { Kernels } from '../src/linalg/kernels.js';
import { Rng } from '../src/sim/rng.js';

/** The kernels a measurement compares, by name. */
export type KernelSet = Record<string, Pick<Kernels, 'dgemm' | 'dsyrk'>>;

/** One shape's figure per kernel: GFLOP/s, or seconds for the chr22 totals. */
export interface Row {
  what: string;
  shape: string;
  unit: 'GFLOP/s' | 's';
  values: Record<string, number>;
}

/** Samples and variants of the chr22 data set (../shared/data/structlmm). */
export const CHR22 = { n: 274, m: 49008 };
/** Variants per kinship block, as `kinship()` reads them. */
export const KINSHIP_BLOCK = 2048;

/** Times `fn` for each kernel in turn, `reps` rounds: the best seconds per kernel. */
function interleaved(kernels: KernelSet, reps: number, fn: (k: Pick<Kernels, 'dgemm' | 'dsyrk'>) => void): Record<string, number> {
  const best: Record<string, number> = {};
  for (let r = 0; r < reps; r++) {
    for (const [name, k] of Object.entries(kernels)) {
      const t0 = performance.now();
      fn(k);
      const s = (performance.now() - t0) / 1000;
      best[name] = Math.min(best[name] ?? Infinity, s);
    }
  }
  return best;
}

function perSecond(flops: number, seconds: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(seconds).map(([k, s]) => [k, flops / s / 1e9]));
}

/**
 * gemm GFLOP/s of U^T X for each N in `sizes` (X N x defaultBatchSize(N)),
 * and syrk GFLOP/s of Z Z^T (Z N x 2048) for each N in `syrkSizes`
 * (N^2 k flops, the lower triangle's share of a gemm's 2 N^2 k).
 */
export function kernelRows(kernels: KernelSet, sizes: readonly number[], syrkSizes: readonly number[], reps: number): Row[] {
  const rng = new Rng(20261207);
  const rows: Row[] = [];
  for (const n of sizes) {
    const b = defaultBatchSize(n);
    const u = rng.normals(n * n);
    const x = rng.normals(n * b);
    const c = new Float64Array(n * b);
    const s = interleaved(kernels, reps, (k) => k.dgemm(true, false, n, b, n, 1, u, x, 0, c));
    rows.push({ what: 'gemm U^T X', shape: `${n}x${n} x ${n}x${b}`, unit: 'GFLOP/s', values: perSecond(2 * n * n * b, s) });
  }
  for (const n of syrkSizes) {
    const z = rng.normals(n * KINSHIP_BLOCK);
    const c = new Float64Array(n * n);
    const s = interleaved(kernels, reps, (k) => k.dsyrk(false, n, KINSHIP_BLOCK, 1, z, 0, c));
    rows.push({ what: 'syrk Z Z^T', shape: `${n}x${KINSHIP_BLOCK}`, unit: 'GFLOP/s', values: perSecond(n * n * KINSHIP_BLOCK, s) });
  }
  return rows;
}

/**
 * Seconds the kernels take over a chr22-sized run: the kinship's syrk over
 * every block of 2048 variants, and the scan's rotation gemm U^T X over every
 * batch (defaultBatchSize(274) = 1000 variants), on random data of those shapes.
 */
export function chr22Rows(kernels: KernelSet, reps: number): Row[] {
  const { n, m } = CHR22;
  const rng = new Rng(22);
  const z = rng.normals(n * KINSHIP_BLOCK);
  const k = new Float64Array(n * n);
  const kin = interleaved(kernels, reps, (ks) => {
    for (let done = 0; done < m; done += KINSHIP_BLOCK) ks.dsyrk(false, n, Math.min(KINSHIP_BLOCK, m - done), 1, z, done === 0 ? 0 : 1, k);
  });
  const b = defaultBatchSize(n);
  const u = rng.normals(n * n);
  const x = rng.normals(n * b);
  const c = new Float64Array(n * b);
  const rot = interleaved(kernels, reps, (ks) => {
    for (let done = 0; done < m; done += b) ks.dgemm(true, false, n, Math.min(b, m - done), n, 1, u, x, 0, c);
  });
  return [
    { what: 'chr22 kinship syrks', shape: `${n}x${m}, blocks of ${KINSHIP_BLOCK}`, unit: 's', values: kin },
    { what: 'chr22 scan rotations', shape: `${n}x${n} x ${n}x${m}, batches of ${b}`, unit: 's', values: rot },
  ];
}
