// Conjugate gradients for many right-hand sides at once, sharing each pass
// over the model SNPs (BOLT-LMM solves its LOCO and Monte Carlo systems so:
// Loh et al. 2015, Online Methods).
import { nextTurn } from './turn.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import type { CgResult, GrmOperator } from './types.js';

/** Options of `solveShifted`. */
export interface SolveShiftedOptions {
  /** Relative residual ||b - A x|| / ||b|| at which a column stops (default 5e-4, BOLT-LMM's CGtol). */
  tol?: number;
  /** Operator passes at most (default 500). */
  maxIter?: number;
  /** N x R starting point (default zeros); projected like b. */
  x0?: Matrix;
}

/** BOLT-LMM's default CG tolerance (`--CGtol`). */
export const DEFAULT_CG_TOL = 5e-4;

/**
 * Solves (P K_{-g(r)} P + delta I) x_r = P b_r for every column r of `b`
 * (N x R) by conjugate gradients, one independent CG per column (its own
 * step alpha, direction update beta and LOCO group `leaveOut[r]`, -1 none),
 * all running columns sharing each `op.apply` pass; a column that reaches
 * `tol` leaves the active set and later passes carry only the running
 * columns (compacted to the front). b is projected first (P b), so x lies in
 * range(P). delta must be > 0.
 *
 * `relResidual` is the CG recurrence's ||r_k|| / ||P b|| (one extra pass
 * would give the true residual; they agree to rounding, the tests check it).
 * A column with P b = 0 has x = 0 and residual 0. Not reaching `tol` in
 * `maxIter` passes is no error: the result says `converged: false` and the
 * caller (REML, association) decides; `iterations` counts the passes.
 */
export async function solveShifted(op: GrmOperator, b: Matrix, delta: number, leaveOut: Int32Array, opts: SolveShiftedOptions = {}): Promise<CgResult> {
  const tol = opts.tol ?? DEFAULT_CG_TOL;
  const maxIter = opts.maxIter ?? 500;
  const n = op.snps.n;
  const rAll = b.cols;
  if (b.rows !== n) throw new ShapeError(`solveShifted: b is ${b.shape}, expected ${n} rows (samples)`);
  if (leaveOut.length !== rAll) throw new ShapeError(`solveShifted: leaveOut has ${leaveOut.length} entries for ${rAll} columns of b`);
  if (!(delta > 0) || !Number.isFinite(delta)) throw new ArgumentError(`solveShifted: delta must be a positive finite number, found ${delta}`);
  if (!(tol > 0)) throw new ArgumentError(`solveShifted: tol must be > 0, found ${tol}`);
  if (!Number.isInteger(maxIter) || maxIter < 0) throw new ArgumentError(`solveShifted: maxIter must be a non-negative integer, found ${maxIter}`);

  const x = new Matrix(n, rAll);
  const rhs = b.clone();
  op.project(rhs);
  const bnorm = columnNorms(rhs);
  const relResidual = new Float64Array(rAll);
  // Residual r = P b - A x0 (A x0 costs a pass only when x0 is given).
  const res = rhs;
  if (opts.x0 !== undefined) {
    const x0 = opts.x0;
    if (x0.rows !== n || x0.cols !== rAll) throw new ShapeError(`solveShifted: x0 is ${x0.shape}, expected ${n}x${rAll}`);
    x.data.set(x0.data);
    op.project(x);
    const ax = new Matrix(n, rAll);
    applyShifted(op, x, leaveOut, delta, ax);
    for (let i = 0; i < res.data.length; i++) res.data[i]! -= ax.data[i]!;
  }
  let iterations = opts.x0 !== undefined ? 1 : 0;

  // The active columns, compacted to the front of r, p, ap.
  let active = Int32Array.from({ length: rAll }, (_, c) => c);
  const rs = new Float64Array(rAll);
  let count = 0;
  for (let c = 0; c < rAll; c++) {
    // P b = 0: the solution is 0 whatever x0 was.
    if (!(bnorm[c]! > 0)) x.data.fill(0, c * n, (c + 1) * n);
    const nrm = norm(res.data, c * n, n);
    rs[c] = nrm * nrm;
    relResidual[c] = bnorm[c]! > 0 ? nrm / bnorm[c]! : 0;
  }
  for (let c = 0; c < rAll; c++) {
    if (relResidual[c]! >= tol) {
      active[count] = c;
      if (count !== c) res.data.copyWithin(count * n, c * n, (c + 1) * n);
      rs[count] = rs[c]!;
      count++;
    }
  }
  active = active.subarray(0, count);
  const p = new Matrix(n, count, res.data.slice(0, count * n));
  const rBuf = res.data;
  const apBuf = new Float64Array(count * n);
  const lo = new Int32Array(count);
  for (let k = 0; k < count; k++) lo[k] = leaveOut[active[k]!]!;

  while (count > 0 && iterations < maxIter) {
    await nextTurn();
    const pv = new Matrix(n, count, p.data.subarray(0, count * n));
    const ap = new Matrix(n, count, apBuf.subarray(0, count * n));
    applyShifted(op, pv, lo.subarray(0, count), delta, ap);
    iterations++;
    let next = 0;
    for (let k = 0; k < count; k++) {
      const c = active[k]!;
      const off = k * n;
      let pap = 0;
      for (let i = 0; i < n; i++) pap += p.data[off + i]! * ap.data[off + i]!;
      const alpha = rs[k]! / pap;
      const xo = c * n;
      let rr = 0;
      for (let i = 0; i < n; i++) {
        x.data[xo + i]! += alpha * p.data[off + i]!;
        const ri = rBuf[off + i]! - alpha * ap.data[off + i]!;
        rBuf[off + i] = ri;
        rr += ri * ri;
      }
      relResidual[c] = Math.sqrt(rr) / bnorm[c]!;
      if (relResidual[c]! < tol) continue;
      // Still running: p = r + beta p, moved down to slot `next`.
      const beta = rr / rs[k]!;
      const dst = next * n;
      for (let i = 0; i < n; i++) {
        const ri = rBuf[off + i]!;
        rBuf[dst + i] = ri;
        p.data[dst + i] = ri + beta * p.data[off + i]!;
      }
      rs[next] = rr;
      active[next] = c;
      lo[next] = lo[k]!;
      next++;
    }
    count = next;
  }
  let converged = true;
  for (let c = 0; c < rAll; c++) if (!(relResidual[c]! < tol) && bnorm[c]! > 0) converged = false;
  return { x, iterations, relResidual, converged };
}

/** out = (P K_{-g} P + delta I) v, one operator pass. */
function applyShifted(op: GrmOperator, v: Matrix, leaveOut: Int32Array, delta: number, out: Matrix): void {
  op.apply(v, leaveOut, out);
  const d = out.data;
  const s = v.data;
  for (let i = 0; i < d.length; i++) d[i]! += delta * s[i]!;
}

function norm(d: Float64Array, off: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += d[off + i]! * d[off + i]!;
  return Math.sqrt(s);
}

function columnNorms(m: Matrix): Float64Array {
  return Float64Array.from({ length: m.cols }, (_, c) => norm(m.data, c * m.rows, m.rows));
}
