// The leave-one-chromosome-out association statistics of the infinitesimal
// model (BOLT-LMM-inf, Loh et al. 2015, Nature Genetics 47:284, Online
// Methods "Mixed model association statistics"), with BOLT's calibration
// of the quadratic form x^T H^-1 x and a low-rank correction for
// population structure.
import { ArgumentError, NumericalError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { Rng } from '../sim/rng.js';
import { chi2Log10Sf, chi2Sf } from '../stats/chi2.js';
import { DEFAULT_CG_TOL, solveShifted } from './cg.js';
import { topEigenpairs } from './top-eigen.js';
import type { GrmOperator } from './types.js';

/** Options of `prepareInfAssoc`. */
export interface InfAssocOptions {
  /** Calibration model SNPs S (default 48; at most the model SNPs). */
  calibSnps?: number;
  /** Top eigenpairs k of P K P for the structure correction (default 10; 0: none). */
  eigen?: number;
  /** Seed of the calibration SNPs' choice and of the eigen solver (default 1). */
  seed?: number;
  /** Relative residual of the CG solves (default 1e-4). */
  cgTol?: number;
}

/** What `prepareInfAssoc` reports (the JSON report's calibration block). */
export interface InfAssocReport {
  /** gamma of the approximation x~^T H^-1 x~ ~= sum_i (v_i^T x~)^2 / (lambda_i + delta) + gamma rest. */
  gamma: number;
  /** Calibration SNPs used. */
  calibSnps: number;
  /** Relative spread (sd / mean) of the calibration SNPs' exact-to-approximate ratios d_j / approx_j. */
  calibSpread: number;
  /** Top eigenvalues of P K P, descending. */
  eigenvalues: number[];
  /** CG iterations of the LOCO solves. */
  cgIterations: number;
  /** Operator passes (CG and eigenpairs). */
  passes: number;
}

/** The fitted association model: everything a batch of tested variants needs. */
export interface InfAssoc {
  readonly n: number;
  readonly sigmaG2: number;
  readonly delta: number;
  /** Chromosome names of the groups (group g = chromNames[g]). */
  readonly chromNames: readonly string[];
  /** N x (G + 1 + k): x_g = H_{-g}^-1 y~ for g = 0..G-1, then H^-1 y~ (no group left out), then the eigenvectors v_i. */
  readonly basis: Matrix;
  /** Eigenpairs k of the structure correction. */
  readonly k: number;
  /** (G + 1) x k, group-major: 1 / (lambda_i + delta_g) (row G: the whole-genome delta). */
  readonly eigenWeights: Float64Array;
  /** gamma at the whole-genome delta (the report's). */
  readonly gamma: number;
  /** Per group (G + 1 entries, the last for no group): gamma_g = 1 / (lambda_bulk + delta_g). */
  readonly gammaByGroup: Float64Array;
  /** Per group (G + 1 entries): sigma_g^2 of the model the group's variants are tested under. */
  readonly sigmaG2ByGroup: Float64Array;
  readonly report: InfAssocReport;
  /** Projects onto range(P) in place. */
  readonly project: (v: Matrix) => void;
}

/** Test statistics of a batch, one entry per variant. */
export interface InfAssocResult {
  beta: Float64Array;
  se: Float64Array;
  chi2: Float64Array;
  pvalue: Float64Array;
  log10p: Float64Array;
}

/**
 * The LOCO association model of y = C b + g + e (see `fitInfNull`):
 * (a) for each chromosome group g, x_g = H_{-g}^-1 y~ with
 * H_{-g} = P K_{-g} P + delta I (one `solveShifted` of G copies of y~, the
 * group left out per column, plus one column with none left out);
 * (b) in the same solve, S calibration model SNPs (seeded choice)
 * x~_j = P z_j, u_j = H_{-g(j)}^-1 x~_j, and their exact denominators
 * d_j = x~_j^T u_j; (c) the top k eigenpairs (lambda_i, v_i) of P K P
 * (`topEigenpairs`), and the approximation of every denominator
 *
 *   x~^T H_{-g}^-1 x~ ~= sum_i (v_i^T x~)^2 / (lambda_i + delta) + gamma (x~^T x~ - sum_i (v_i^T x~)^2),
 *   gamma = sum_j (d_j - lowrank_j) / sum_j rest_j   (over the calibration SNPs).
 *
 * With k = 0 this is BOLT-LMM-inf's calibration (one ratio for all
 * variants); the eigenpairs carry the part of H^-1 that population
 * structure makes differ from variant to variant (beyond BOLT). The
 * ratios d_j / approx_j stay near 1 when the approximation holds: their
 * relative spread is reported. The calibration SNPs are standardised
 * model SNPs (`decode`): the ratio is the same for the raw dosage, which
 * P maps to sd times the standardised one.
 *
 * With `fit.perGroup` (each chromosome's own REML on K_{-g}), group g's
 * solves, eigen weights and sigma_g^2 use its delta_g, and the calibration
 * becomes gamma_g = 1 / (lambda_bulk + delta_g), lambda_bulk fitted to all
 * calibration SNPs (`bulkEigenvalue`; with one delta it is BOLT's gamma).
 *
 * Shapes: yTilde = P y (length N); op.snps.n = N.
 */
export async function prepareInfAssoc(
  op: GrmOperator,
  yTilde: Float64Array,
  fit: { sigmaG2: number; delta: number; perGroup?: readonly { sigmaG2: number; delta: number }[] },
  opts: InfAssocOptions = {},
): Promise<InfAssoc> {
  const snps = op.snps;
  const n = snps.n;
  if (yTilde.length !== n) throw new ArgumentError(`prepareInfAssoc: ${yTilde.length} trait values for ${n} samples of the model SNPs`);
  const groups = snps.chromNames.length;
  const s = Math.min(opts.calibSnps ?? 48, snps.m);
  const k = Math.min(opts.eigen ?? 10, Math.max(0, n - (op.q?.cols ?? 0) - 1));
  if (!Number.isInteger(s) || s < 1) throw new ArgumentError(`prepareInfAssoc: calibSnps must be a positive integer, found ${opts.calibSnps}`);
  if (!Number.isInteger(k) || k < 0) throw new ArgumentError(`prepareInfAssoc: eigen must be a non-negative integer, found ${opts.eigen}`);
  const seed = opts.seed ?? 1;
  const passes0 = op.passes;
  const { delta } = fit;

  // The calibration SNPs: a seeded choice without replacement, decoded and projected.
  const picked = pickDistinct(new Rng(seed), snps.m, s);
  const cols = groups + 1 + s;
  const rhs = new Matrix(n, cols);
  const leaveOut = new Int32Array(cols);
  for (let g = 0; g <= groups; g++) {
    rhs.data.set(yTilde, g * n);
    leaveOut[g] = g < groups ? g : -1;
  }
  for (let j = 0; j < s; j++) {
    const c = groups + 1 + j;
    snps.decode(picked[j]!, picked[j]! + 1, rhs.colView(c, c + 1));
    leaveOut[c] = snps.group[picked[j]!]!;
  }
  op.project(rhs.colView(groups + 1, cols));
  if (fit.perGroup !== undefined && fit.perGroup.length !== groups) {
    throw new ArgumentError(`prepareInfAssoc: ${fit.perGroup.length} per-group fits for ${groups} chromosome groups`);
  }
  // delta of each group's model (entry G: the whole-genome one, for variants on chromosomes without model SNPs).
  const deltas = Float64Array.from({ length: groups + 1 }, (_, g) => (g < groups ? (fit.perGroup?.[g]?.delta ?? delta) : delta));
  const sigmas = Float64Array.from({ length: groups + 1 }, (_, g) => (g < groups ? (fit.perGroup?.[g]?.sigmaG2 ?? fit.sigmaG2) : fit.sigmaG2));
  const colDelta = Float64Array.from(leaveOut, (g) => deltas[g < 0 ? groups : g]!);
  const sol = await solveByDelta(op, rhs, colDelta, leaveOut, opts.cgTol ?? DEFAULT_CG_TOL);
  const eig = k > 0 ? await topEigenpairs(op, k, { seed, iterations: 2 }) : { values: new Float64Array(0), vectors: new Matrix(n, 0), passes: 0 };
  const eigenWeights = new Float64Array((groups + 1) * k);
  for (let g = 0; g <= groups; g++) for (let i = 0; i < k; i++) eigenWeights[g * k + i] = 1 / (eig.values[i]! + deltas[g]!);

  // gamma from the calibration SNPs' exact denominators.
  const be = getBackend();
  const calib = rhs.colView(groups + 1, cols);
  const proj = k > 0 ? be.gemm(calib, eig.vectors, { transA: true }) : new Matrix(s, 0);
  const d = new Float64Array(s);
  const low = new Float64Array(s);
  const rest = new Float64Array(s);
  const calibDelta = new Float64Array(s);
  for (let j = 0; j < s; j++) {
    const g = leaveOut[groups + 1 + j]!;
    calibDelta[j] = deltas[g]!;
    const xc = calib.col(j);
    const uc = sol.x.col(groups + 1 + j);
    let xu = 0;
    let xx = 0;
    for (let i = 0; i < n; i++) {
      xu += xc[i]! * uc[i]!;
      xx += xc[i]! * xc[i]!;
    }
    let lr = 0;
    let pp = 0;
    for (let i = 0; i < k; i++) {
      const v = proj.data[j + i * s]!;
      lr += v * v * eigenWeights[g * k + i]!;
      pp += v * v;
    }
    d[j] = xu;
    low[j] = lr;
    rest[j] = xx - pp;
  }
  const bulk = bulkEigenvalue(d, low, rest, calibDelta);
  const gammaByGroup = Float64Array.from(deltas, (dg) => 1 / (bulk + dg));
  const gamma = gammaByGroup[groups]!;
  const ratios = Float64Array.from(d, (dj, j) => dj / (low[j]! + rest[j]! / (bulk + calibDelta[j]!)));
  const basis = new Matrix(n, groups + 1 + k);
  basis.data.set(sol.x.data.subarray(0, (groups + 1) * n), 0);
  basis.data.set(eig.vectors.data, (groups + 1) * n);
  return {
    n,
    sigmaG2: fit.sigmaG2,
    delta,
    chromNames: snps.chromNames,
    basis,
    k,
    eigenWeights,
    gamma,
    gammaByGroup,
    sigmaG2ByGroup: sigmas,
    project: (v) => op.project(v),
    report: {
      gamma,
      calibSnps: s,
      calibSpread: relativeSd(ratios),
      eigenvalues: Array.from(eig.values),
      cgIterations: sol.iterations,
      passes: op.passes - passes0,
    },
  };
}

/**
 * The LOCO statistics of a batch of tested variants x (N x B raw dosages,
 * mean-imputed; projected in place here: x~ = P x) on chromosome groups
 * `group` (-1: a chromosome without model SNPs, tested against H^-1 y~):
 * with A = x~^T [x_0..x_{G-1}, x_all, v_1..v_k] (one gemm),
 *
 *   num = x~^T x_{g(x)},  den ~= sum_i (v_i^T x~)^2 / (lambda_i + delta) + gamma (x~^T x~ - sum_i (v_i^T x~)^2),
 *   beta = num / den,  se = sqrt(sigma_g^2 / den),  chi2 = num^2 / (sigma_g^2 den),  p = chi2_1.sf(chi2).
 *
 * A variant that the covariates explain (x~^T x~ <= 1e-10 x^T x, e.g. a
 * constant one) gets NaN throughout.
 */
export function infAssocTest(model: InfAssoc, x: Matrix, group: Int32Array): InfAssocResult {
  const b = x.cols;
  const n = model.n;
  if (x.rows !== n) throw new ArgumentError(`infAssocTest: a batch of ${x.rows} samples for a model of ${n}`);
  if (group.length !== b) throw new ArgumentError(`infAssocTest: ${group.length} groups for ${b} variants`);
  const raw = new Float64Array(b);
  for (let j = 0; j < b; j++) {
    const c = x.col(j);
    let ss = 0;
    for (let i = 0; i < n; i++) ss += c[i]! * c[i]!;
    raw[j] = ss;
  }
  model.project(x);
  const groups = model.chromNames.length;
  const k = model.k;
  const a = getBackend().gemm(x, model.basis, { transA: true });
  const out: InfAssocResult = {
    beta: new Float64Array(b),
    se: new Float64Array(b),
    chi2: new Float64Array(b),
    pvalue: new Float64Array(b),
    log10p: new Float64Array(b),
  };
  for (let j = 0; j < b; j++) {
    const c = x.col(j);
    let xx = 0;
    for (let i = 0; i < n; i++) xx += c[i]! * c[i]!;
    const g = group[j]! < 0 ? groups : group[j]!;
    const num = a.data[j + g * b]!;
    let low = 0;
    let pp = 0;
    for (let i = 0; i < k; i++) {
      const v = a.data[j + (groups + 1 + i) * b]!;
      low += v * v * model.eigenWeights[g * k + i]!;
      pp += v * v;
    }
    const den = low + model.gammaByGroup[g]! * (xx - pp);
    const sigmaG2 = model.sigmaG2ByGroup[g]!;
    if (!(xx > 1e-10 * raw[j]!) || !(den > 0)) {
      out.beta[j] = out.se[j] = out.chi2[j] = out.pvalue[j] = out.log10p[j] = Number.NaN;
      continue;
    }
    const chi2 = (num * num) / (sigmaG2 * den);
    out.beta[j] = num / den;
    out.se[j] = Math.sqrt(sigmaG2 / den);
    out.chi2[j] = chi2;
    out.pvalue[j] = chi2Sf(chi2, 1);
    out.log10p[j] = chi2Log10Sf(chi2, 1);
  }
  return out;
}

/**
 * Solves each column at its own delta: one `solveShifted` per distinct
 * delta over its columns (one call in all when every group shares the
 * whole-genome delta). NumericalError when a solve does not converge.
 */
async function solveByDelta(
  op: GrmOperator,
  rhs: Matrix,
  colDelta: Float64Array,
  leaveOut: Int32Array,
  tol: number,
): Promise<{ x: Matrix; iterations: number }> {
  const n = rhs.rows;
  const x = new Matrix(n, rhs.cols);
  let iterations = 0;
  for (const delta of new Set(colDelta)) {
    const cols = Array.from(colDelta.keys()).filter((c) => colDelta[c] === delta);
    const b = new Matrix(n, cols.length);
    cols.forEach((c, i) => {
      b.data.set(rhs.col(c), i * n);
    });
    const sol = await solveShifted(
      op,
      b,
      delta,
      Int32Array.from(cols, (c) => leaveOut[c]!),
      { tol },
    );
    if (!sol.converged) {
      throw new NumericalError(
        `prepareInfAssoc: the LOCO conjugate gradients did not converge at delta ${delta.toPrecision(4)} (largest relative residual ${Math.max(...sol.relResidual).toExponential(2)})`,
      );
    }
    iterations += sol.iterations;
    cols.forEach((c, i) => {
      x.data.set(sol.x.col(i), c * n);
    });
  }
  return { x, iterations };
}

/**
 * The bulk eigenvalue lambda of the calibration: the root of
 * sum_j rest_j / (lambda + delta_j) = sum_j (d_j - low_j), so that
 * gamma_g = 1 / (lambda + delta_g) carries the calibration across the
 * groups' deltas. With one delta it is exactly gamma = sum (d - low) / sum rest.
 * Bisection (the left side falls with lambda from +inf at -min delta to 0).
 */
function bulkEigenvalue(d: Float64Array, low: Float64Array, rest: Float64Array, delta: Float64Array): number {
  let excess = 0;
  for (let j = 0; j < d.length; j++) excess += d[j]! - low[j]!;
  const side = (l: number): number => {
    let t = 0;
    for (let j = 0; j < d.length; j++) t += rest[j]! / (l + delta[j]!);
    return t - excess;
  };
  const minDelta = Math.min(...delta);
  if (new Set(delta).size === 1) {
    let r = 0;
    for (const v of rest) r += v;
    return r / excess - minDelta;
  }
  if (!(excess > 0)) throw new NumericalError(`prepareInfAssoc: the calibration SNPs' denominators are not above their low-rank parts (excess ${excess})`);
  let lo = -minDelta;
  let hi = Math.max(1, -lo);
  while (side(hi) > 0) hi *= 2;
  for (let it = 0; it < 200 && hi - lo > 1e-13 * Math.max(1, Math.abs(hi)); it++) {
    const mid = 0.5 * (lo + hi);
    if (side(mid) > 0) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** `s` distinct indices of [0, m), ascending, by a partial Fisher-Yates shuffle. */
function pickDistinct(rng: Rng, m: number, s: number): Int32Array {
  const all = Int32Array.from({ length: m }, (_, i) => i);
  for (let i = 0; i < s; i++) {
    const j = i + Math.floor(rng.uniform() * (m - i));
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  return all.slice(0, s).sort();
}

function relativeSd(v: Float64Array): number {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  if (v.length < 2) return 0;
  const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1));
  return sd / mean;
}
