// The per-marker REML log-likelihoods of a GWAS-mode MMEst fit on MM4LMM's
// QTL data (its 10 markers, then 300 random ones, many with a flat
// likelihood surface near their optimum), on every available backend, as
// JSON on stdout. fallback-rounding.test.ts runs this in child processes so
// that OPENBLAS_NUM_THREADS takes effect (OpenBLAS reads it once, at load).
import { fileURLToPath } from 'node:url';
import { Matrix } from '../../src/index.js';
import { availableBackends } from '../../src/linalg/select.js';
import { mmEst } from '../../src/varcomp/mmest.js';
import { qtlData } from '../mm4lmm-data.js';

/** How many random markers follow MM4LMM's 10. */
export const RANDOM_MARKERS = 300;

/**
 * N x m genotypes in {0, 1, 2}, allele frequency 0.05 to 0.5, from a fixed
 * linear congruential generator (a fixed sequence: the markers whose
 * surface is flat enough to show the bug are those of this sequence).
 */
function randomMarkers(n: number, m: number): Matrix {
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const g = new Matrix(n, m);
  for (let j = 0; j < m; j++) {
    const p = 0.05 + 0.45 * rnd();
    for (let i = 0; i < n; i++) g.data[i + j * n] = (rnd() < p ? 1 : 0) + (rnd() < p ? 1 : 0);
  }
  return g;
}

/** backend name -> logLik of each marker model (MM4LMM's 10 markers first), REML, MM4LMM's path with critVar 1e-4 as its ex3. */
export function flatMarkerLogLiks(): Record<string, number[]> {
  const q = qtlData();
  const rand = randomMarkers(q.n, RANDOM_MARKERS);
  const x = new Matrix(q.n, q.geno.cols + RANDOM_MARKERS);
  x.data.set(q.geno.data, 0);
  x.data.set(rand.data, q.geno.data.length);
  const out: Record<string, number[]> = Object.create(null);
  for (const backend of availableBackends()) {
    const varList = [
      { name: 'Additive', r: q.kinship },
      { name: 'Error', r: Matrix.identity(q.n) },
    ];
    const res = mmEst({ y: q.y, x, varList, critVar: 1e-4, backend });
    out[backend.name] = res.models.map((m) => m.logLik);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(JSON.stringify(flatMarkerLogLiks()));
