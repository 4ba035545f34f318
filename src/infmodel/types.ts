// The contracts between the parts of the infinitesimal model (`gwas
// --method inf`, issue 18): model SNPs held two bits per genotype, the
// genetic relationship operator that streams them, and the solver over it.
// The kinship K = Z Z^T / M is never formed (Loh et al. 2015, Nature
// Genetics 47:284, BOLT-LMM; Online Methods "Computational techniques").
import type { Matrix } from '../linalg/matrix.js';

/**
 * M model SNPs over N samples, two bits per genotype, each decoded on demand
 * standardised as the kinship path does (`standardizedKinship`): mean
 * imputed, centred, divided by the population sd; a missing genotype
 * decodes to 0. Constant SNPs are not model SNPs.
 */
export interface ModelSnps {
  /** Samples N. */
  readonly n: number;
  /** Model SNPs M (informative ones only). */
  readonly m: number;
  /** Chromosome names in the order their groups appear (group g = chromNames[g]). */
  readonly chromNames: readonly string[];
  /** Chromosome group of each model SNP, 0..chromNames.length-1, non-decreasing. */
  readonly group: Int32Array;
  /** Model SNPs per group (sums to m). */
  readonly countByGroup: Int32Array;
  /** File index (in the genotype source) of each model SNP. */
  readonly fileIndex: Int32Array;
  /** Bytes this object holds (packed codes, per-SNP tables, any decoded cache). */
  readonly bytes: number;
  /** Decodes model SNPs [j0, j1) standardised into the first j1 - j0 columns of `out` (N rows). */
  decode(j0: number, j1: number, out: Matrix): void;
}

/**
 * The genetic relationship operator with leave-one-chromosome-out (LOCO)
 * per column: for an N x R block V and a group per column (-1: none left
 * out), out[:, r] = P K_{-g(r)} P v_r, K_{-g} = Z_{-g} Z_{-g}^T / M_{-g},
 * P = I - Q Q^T the projection off the covariates (Q: N x p orthonormal).
 * One pass over the model SNPs serves every column.
 */
export interface GrmOperator {
  readonly snps: ModelSnps;
  /** N x p orthonormal basis of the covariates (P = I - Q Q^T), or undefined (no projection). */
  readonly q: Matrix | undefined;
  /** Passes over the model SNPs so far (for the report and the bench). */
  readonly passes: number;
  /** out (N x R) = P K_{-g(r)} P v_r for every column r; `leaveOut.length === v.cols`. */
  apply(v: Matrix, leaveOut: Int32Array, out: Matrix): void;
  /** P v, in place. */
  project(v: Matrix): void;
  /** out (M x R) = Z^T P v: every model SNP's product with each column (one pass). */
  zt(v: Matrix, out: Matrix): void;
  /** out (N x R) = P Z b for an M x R block b (one pass). */
  z(b: Matrix, out: Matrix): void;
}

/** What `solveShifted` returns. */
export interface CgResult {
  /** N x R solutions. */
  x: Matrix;
  /** Operator passes used. */
  iterations: number;
  /** Per column: ||b - A x|| / ||b|| at the end. */
  relResidual: Float64Array;
  /** Every column below tolerance. */
  converged: boolean;
}
