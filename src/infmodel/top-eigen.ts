// The leading eigenpairs of P K P by randomised subspace iteration (Halko,
// Martinsson & Tropp 2011, SIAM Review 53:217, algorithm 4.4 with
// Rayleigh-Ritz), each iteration one pass of the streaming operator.
import { nextTurn } from './turn.js';
import { ArgumentError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { Rng } from '../sim/rng.js';
import { orthonormalBasis } from './orthonormal.js';
import type { GrmOperator } from './types.js';

/** Options of `topEigenpairs`. */
export interface TopEigenOptions {
  /** Extra columns carried beyond k (default 10). */
  oversample?: number;
  /** Power iterations after the first product (default 4). */
  iterations?: number;
  /** Seed of the Gaussian start (default 1). */
  seed?: number;
  backend?: Backend;
}

/** What `topEigenpairs` returns. */
export interface TopEigenResult {
  /** The k largest eigenvalues, descending. */
  values: Float64Array;
  /** N x k orthonormal eigenvectors, in the order of `values`. */
  vectors: Matrix;
  /** Operator passes used: iterations + 2. */
  passes: number;
}

/**
 * The k largest eigenpairs of A = P K P (no LOCO) from l = k + oversample
 * columns: Y = A Omega (Omega N x l standard normal, seeded `Rng`), then
 * `iterations` times Q = orth(Y), Y = A Q; finally Q = orth(Y), W = A Q,
 * the l x l Rayleigh quotient B = Q^T W (symmetrised) diagonalised by the
 * backend's syevd, vectors Q U_k. Orthonormalisation is Cholesky QR twice
 * (`orthonormalBasis`). The error of value i shrinks as
 * (lambda_{l+1} / lambda_i)^(2 iterations + 2).
 */
export async function topEigenpairs(op: GrmOperator, k: number, opts: TopEigenOptions = {}): Promise<TopEigenResult> {
  const { oversample = 10, iterations = 4, seed = 1 } = opts;
  const be = opts.backend ?? getBackend();
  const n = op.snps.n;
  if (!Number.isInteger(k) || k < 1) throw new ArgumentError(`topEigenpairs: k must be a positive integer, found ${k}`);
  if (!Number.isInteger(oversample) || oversample < 0) throw new ArgumentError(`topEigenpairs: oversample must be a non-negative integer, found ${oversample}`);
  if (!Number.isInteger(iterations) || iterations < 0) throw new ArgumentError(`topEigenpairs: iterations must be a non-negative integer, found ${iterations}`);
  const l = Math.min(n, k + oversample);
  if (k > l) throw new ArgumentError(`topEigenpairs: k = ${k} exceeds the ${n} samples`);
  const rng = new Rng(seed);
  const omega = new Matrix(n, l, rng.normals(n * l));
  op.project(omega);
  let passes = 0;
  const step = async (v: Matrix): Promise<Matrix> => {
    await nextTurn();
    const out = new Matrix(n, v.cols);
    op.apply(v, new Int32Array(v.cols).fill(-1), out);
    passes++;
    return out;
  };
  let y = await step(omega);
  for (let it = 0; it < iterations; it++) y = await step(orthonormalBasis(y, be));
  const q = orthonormalBasis(y, be);
  if (q.cols < k) throw new ArgumentError(`topEigenpairs: P K P has rank ${q.cols} in the sampled subspace, fewer than k = ${k}`);
  const w = await step(q);
  const b = be.gemm(q, w, { transA: true });
  const lq = q.cols;
  for (let j = 0; j < lq; j++) {
    for (let i = j + 1; i < lq; i++) {
      const s = 0.5 * (b.data[i + j * lq]! + b.data[j + i * lq]!);
      b.data[i + j * lq] = s;
      b.data[j + i * lq] = s;
    }
  }
  const eig = be.syevd(b);
  // syevd's values ascend: the top k are the last, reversed.
  const u = new Matrix(lq, k);
  const values = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const src = lq - 1 - c;
    values[c] = eig.values[src]!;
    u.data.set(eig.vectors.data.subarray(src * lq, (src + 1) * lq), c * lq);
  }
  return { values, vectors: be.gemm(q, u), passes };
}
