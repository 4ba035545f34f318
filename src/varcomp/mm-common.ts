// What the three MM engines (dense, eigen, Henderson) share: option
// resolution, input checks with MM4LMM's wording, and the iteration drivers.
//
// The drivers reproduce MM4LMM 3.0.3's iteration path (its C++ loops, read
// for their semantics; this is an independent implementation):
//
// - `driveRemlPath` is the loop of MM4LMM's dense REML, Henderson REML and
//   two-matrix ML engines: evaluate at the current variances; if the
//   log-likelihood fell below the previous one by more than rounding
//   (`fellBelow`), go back to the last plain MM
//   step and re-evaluate there; take the MM step; every second step replace
//   it by a squared extrapolation (SQUAREM's SqS3 step length, clamped to
//   <= -1, falling back to the plain step when a variance would not be
//   positive). The loop runs while (max |change of sigma2| > critVar or the
//   log-likelihood gain > critLogLik) and fewer than maxIter passes, and it
//   never stops right after an extrapolation. What it reports is MM4LMM's:
//   sigma2 = the last proposal (one MM step, or an extrapolation, beyond the
//   last evaluated point), beta, varBeta and logLik at the last evaluated
//   point, nbIt = the number of passes.
// - `driveMlPath` is the loop of MM4LMM's dense ML engine: the same
//   extrapolation on a different phase (at passes 2, 4, 6, ...), no
//   log-likelihood safeguard, and no "never stop after an extrapolation".
// - `driveSquarem` is the `accelerate` option: a textbook SQUAREM cycle
//   (Varadhan & Roland 2008, SqS3) with a monotone safeguard: the
//   extrapolated point is kept only when its log-likelihood is at least that
//   of the plain MM step it replaces, else the plain step is taken. It
//   reports everything at one point (the last accepted one) and counts every
//   evaluation in nbIt.
//
// The log-likelihood gain is only measured from the second pass on (MM4LMM
// 3.0.3 guards it with `iteration > 0`), so no loop stops after one pass.
// Where MM4LMM's step length is 0/0 or x/0 (two identical MM steps) it
// produces NaN; we take the plain step instead.
import { ArgumentError, DomainError, InputError, NumericalError, ShapeError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import type { EngineFit, EngineOptions, VarComponent, VarMethod } from './types.js';

/** MM4LMM's defaults: CritVar = CritLogLik = 1e-3, MaxIter = 100. */
export const DEFAULT_CRIT_VAR = 1e-3;
export const DEFAULT_CRIT_LOGLIK = 1e-3;
export const DEFAULT_MAX_ITER = 100;

/** EngineOptions plus the options the engines read beyond the shared type. */
export type MmOptions = EngineOptions & {
  /** SQUAREM acceleration with a monotone safeguard (default false: MM4LMM's iteration path). */
  accelerate?: boolean;
};

/** Options after defaults and checks. */
export interface ResolvedOptions {
  method: VarMethod;
  critVar: number;
  critLogLik: number;
  maxIter: number;
  accelerate: boolean;
  init: Float64Array;
}

/**
 * Applies MM4LMM's defaults and checks every option. `y` gives the default
 * start var(y)/K (sample variance, n - 1 denominator, as R's var).
 */
export function resolveOptions(opts: MmOptions, nComp: number, y: ArrayLike<number>, who: string): ResolvedOptions {
  if (opts === null || typeof opts !== 'object') {
    throw new ArgumentError(`${who}: options must be an object with at least a method ('reml' or 'ml')`);
  }
  const method = opts.method;
  if (method !== 'reml' && method !== 'ml') {
    throw new ArgumentError(`${who}: method must be 'reml' or 'ml', found '${String(method)}'`);
  }
  const critVar = positiveOption(who, 'critVar', opts.critVar, DEFAULT_CRIT_VAR);
  const critLogLik = positiveOption(who, 'critLogLik', opts.critLogLik, DEFAULT_CRIT_LOGLIK);
  const maxIter = opts.maxIter ?? DEFAULT_MAX_ITER;
  if (!Number.isInteger(maxIter) || maxIter < 1) {
    throw new ArgumentError(`${who}: maxIter must be a positive integer, found ${String(maxIter)}`);
  }
  let init: Float64Array;
  if (opts.init !== undefined && opts.init !== null) {
    if (opts.init.length !== nComp) {
      throw new ShapeError(
        `${who}: The length of Init and the number of variance are not compatible: init has ${opts.init.length} values for ${nComp} variance components`,
      );
    }
    init = Float64Array.from(opts.init);
    for (let k = 0; k < nComp; k++) {
      if (!(init[k]! > 0) || !Number.isFinite(init[k]!)) {
        throw new DomainError(`${who}: init[${k}] = ${init[k]}: every starting variance must be finite and > 0 (the MM update is multiplicative)`);
      }
    }
  } else {
    const v = sampleVariance(y);
    if (!(v > 0)) throw new DomainError(`${who}: y is constant (variance ${v}); give init explicitly or check the trait`);
    init = new Float64Array(nComp).fill(v / nComp);
  }
  return { method, critVar, critLogLik, maxIter, accelerate: opts.accelerate === true, init };
}

/**
 * The checks every MM engine starts with: y and x (`checkResponseAndDesign`),
 * the components against N (`checkComponents`), then the options with
 * MM4LMM's defaults (`resolveOptions`), all worded for `who`.
 */
export function checkEngineInputs(
  who: string,
  y: Float64Array,
  x: Matrix,
  components: readonly VarComponent[],
  opts: EngineOptions,
): { comps: CheckedComponent[]; o: ResolvedOptions } {
  checkResponseAndDesign(who, y, x);
  const comps = checkComponents(who, components, y.length);
  const o = resolveOptions(opts as MmOptions, comps.length, y, who);
  return { comps, o };
}

function positiveOption(who: string, name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) {
    throw new ArgumentError(`${who}: ${name} must be a finite number >= 0, found ${String(v)}`);
  }
  return v;
}

/** R's var(): sum (y - mean)^2 / (n - 1). */
export function sampleVariance(y: ArrayLike<number>): number {
  const n = y.length;
  if (n < 2) return NaN;
  let m = 0;
  for (let i = 0; i < n; i++) m += y[i]!;
  m /= n;
  let s = 0;
  for (let i = 0; i < n; i++) s += (y[i]! - m) ** 2;
  return s / (n - 1);
}

/** Throws a BAD_INPUT error naming how many values of `v` are not finite and where (1-based). */
export function requireFiniteVector(who: string, what: string, v: ArrayLike<number>): void {
  let count = 0;
  const where: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) {
      count++;
      if (where.length < 10) where.push(i + 1);
    }
  }
  if (count > 0) {
    const more = count > where.length ? `, ...` : '';
    throw new InputError(
      undefined,
      `${who}: ${what} has ${count} missing or non-finite value${count > 1 ? 's' : ''} (at ${count > 1 ? 'rows' : 'row'} ${where.join(', ')}${more}; 1-based): drop or impute those samples first`,
    );
  }
}

/** Checks y and x: finite, x has N rows and fewer than N columns. */
export function checkResponseAndDesign(who: string, y: Float64Array, x: Matrix): void {
  if (!(y instanceof Float64Array)) throw new ShapeError(`${who}: y must be a Float64Array`);
  const n = y.length;
  if (n === 0) throw new ShapeError(`${who}: y is empty`);
  requireFiniteVector(who, 'y', y);
  if (x.rows !== n) throw new ShapeError(`${who}: Incompatible dimension between Y and X: y has ${n} values but x is ${x.shape}`);
  if (x.cols < 1) throw new ShapeError(`${who}: x has no column (give at least an intercept)`);
  if (x.cols >= n) throw new ShapeError(`${who}: x is ${x.shape}: as many fixed effects as observations leaves no degrees of freedom`);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i]!)) {
      if (bad === 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    throw new InputError(
      undefined,
      `${who}: x has ${bad} missing or non-finite value${bad > 1 ? 's' : ''} (first at row ${(first % n) + 1}, column ${Math.floor(first / n) + 1})`,
    );
  }
}

/** A component after checks: its N x N matrix is Z R Z' (or R when z is absent). */
export interface CheckedComponent {
  name: string;
  r: Matrix;
  z: Matrix | undefined;
  /** Number of random effects (columns of Z, or N). */
  q: number;
  /** R is exactly the identity (and Z is absent): the component is I_N. */
  identity: boolean;
  /** R is exactly diagonal. */
  diagonal: boolean;
}

/**
 * Checks the components against N: Z is N x q_k and R is q_k x q_k
 * (MM4LMM: 'Incompatible dimensions between Zlist and VarList' / 'between Y
 * and ZList' / 'between Y and VarList'), R symmetric and finite.
 */
export function checkComponents(who: string, components: readonly VarComponent[], n: number): CheckedComponent[] {
  if (!Array.isArray(components) || components.length === 0) {
    throw new ShapeError(`${who}: at least one variance component is needed (the last one is usually the error)`);
  }
  return components.map((c, k) => {
    const name = c.name ?? `component ${k + 1}`;
    const label = `component ${k + 1} ('${name}')`;
    const r = c.r;
    if (r === undefined || r === null || typeof r.rows !== 'number') throw new ShapeError(`${who}: ${label} has no covariance matrix r`);
    if (r.rows !== r.cols) throw new ShapeError(`${who}: ${label}: R must be square, found ${r.shape}`);
    const z = c.z ?? undefined;
    if (z !== undefined) {
      if (z.cols !== r.rows) {
        throw new ShapeError(
          `${who}: Incompatible dimensions between Zlist and VarList: ${label} has Z ${z.shape} and R ${r.shape} (Z needs ${r.rows} columns)`,
        );
      }
      if (z.rows !== n) {
        throw new ShapeError(`${who}: Incompatible dimensions between Y and ZList: ${label} has Z ${z.shape} but y has ${n} values`);
      }
      for (let i = 0; i < z.data.length; i++) {
        if (!Number.isFinite(z.data[i]!)) {
          throw new InputError(undefined, `${who}: ${label}: Z has a non-finite value at (${(i % z.rows) + 1}, ${Math.floor(i / z.rows) + 1})`);
        }
      }
    } else if (r.rows !== n) {
      throw new ShapeError(`${who}: Incompatible dimensions between Y and VarList: ${label} has R ${r.shape} and no Z, but y has ${n} values`);
    }
    const { identity, diagonal } = checkSymmetric(who, label, r);
    // MM4LMM's examples pass the error with ZList = diag(N): an identity Z is no Z.
    const zz = z !== undefined && isIdentity(z) ? undefined : z;
    return { name, r, z: zz, q: r.rows, identity: identity && zz === undefined, diagonal };
  });
}

function isIdentity(z: Matrix): boolean {
  if (z.rows !== z.cols) return false;
  const n = z.rows;
  const d = z.data;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) if (d[i + j * n] !== (i === j ? 1 : 0)) return false;
  }
  return true;
}

/** Finite and symmetric to 1e-10 relative; returns whether R is exactly I or exactly diagonal. */
function checkSymmetric(who: string, label: string, r: Matrix): { identity: boolean; diagonal: boolean } {
  const q = r.rows;
  const d = r.data;
  let maxAbs = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (!Number.isFinite(v)) {
      throw new InputError(undefined, `${who}: ${label}: R has a non-finite value (${v}) at (${(i % q) + 1}, ${Math.floor(i / q) + 1})`);
    }
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
  }
  const tol = 1e-10 * maxAbs;
  let diagonal = true;
  for (let j = 0; j < q; j++) {
    for (let i = j + 1; i < q; i++) {
      const a = d[i + j * q]!;
      const b = d[j + i * q]!;
      if (Math.abs(a - b) > tol) {
        throw new InputError(undefined, `${who}: ${label}: R is not symmetric: R(${i + 1},${j + 1}) = ${a} but R(${j + 1},${i + 1}) = ${b}`);
      }
      if (a !== 0 || b !== 0) diagonal = false;
    }
  }
  let identity = diagonal;
  if (identity) for (let i = 0; i < q; i++) if (d[i + i * q] !== 1) identity = false;
  return { identity, diagonal };
}

/** A one-entry memo of what an engine derives from its components alone. */
export interface ComponentCache<T> {
  key?: readonly unknown[];
  value?: T;
}

/**
 * The value `build` derives from the components (and the backend), reused
 * while the same R and Z objects come back: a GWAS loop calls an engine once
 * per marker with the same components. Components are taken as immutable.
 */
export function cachedForComponents<T>(cache: ComponentCache<T>, be: unknown, comps: readonly CheckedComponent[], build: () => T): T {
  const key: unknown[] = [be];
  for (const c of comps) key.push(c.r, c.z);
  const old = cache.key;
  if (old !== undefined && cache.value !== undefined && old.length === key.length && old.every((k, i) => k === key[i])) return cache.value;
  cache.key = undefined;
  const value = build();
  cache.key = key;
  cache.value = value;
  return value;
}

/** What one evaluation of the MM map at sigma2 gives the drivers. */
export interface MmEval {
  /** Log-likelihood at the evaluated point (MM4LMM's convention). */
  logLik: number;
  /** The MM update M(sigma2) (a fresh array the driver may keep). */
  next: Float64Array;
}

/** What a driver returns: the reported variances and the state of the last evaluated point. */
export interface DriverResult<S extends MmEval> {
  sigma: Float64Array;
  last: S;
  nbIt: number;
  converged: boolean;
}

/**
 * How many units in the last place of the log-likelihood a fall in it must
 * exceed to count as a fall (see `fellBelow`). The log-likelihood is a sum
 * over N observations of logs and squares, each rounded, so two evaluations
 * at points that are equal as far as the arithmetic can tell differ by a
 * few ulps of |logLik| times a factor that grows with N (1e-13 at N = 259
 * and |logLik| = 200, about 3 ulps, on the MM4LMM QTL data). 2^10 ulps
 * (2.3e-13 relative) leaves a wide margin over that noise, and is still far
 * below any criterion a fit is stopped at (1e-3 by default): a real fall
 * smaller than that costs nothing to miss.
 */
export const LOGLIK_ROUNDING_ULPS = 1024;

/**
 * MM4LMM's "the log-likelihood went down, go back" test, minus rounding:
 * true when `ll` is below `llPrev` by more than the arithmetic resolves
 * (LOGLIK_ROUNDING_ULPS x eps x max(1, |ll|, |llPrev|)). A plain `ll <
 * llPrev` fires on a -1e-13 fall on flat surfaces, where the variances still
 * move but the log-likelihood no longer does; the fall-back then jumps to an
 * earlier iterate and the fit stops up to 1e-5 below the optimum, on a
 * marker that depends on the backend and the BLAS thread count.
 */
export function fellBelow(ll: number, llPrev: number): boolean {
  const scale = Math.max(1, Math.abs(ll), Math.abs(llPrev));
  return llPrev - ll > LOGLIK_ROUNDING_ULPS * Number.EPSILON * scale;
}

/** Evaluations of `evaluate` must return finite log-likelihoods; this names where it failed. */
function checked<S extends MmEval>(evaluate: (s: Float64Array, rejected?: S) => S, who: string): (s: Float64Array, rejected?: S) => S {
  return (s, rejected) => {
    const st = evaluate(s, rejected);
    if (!Number.isFinite(st.logLik)) {
      throw new NumericalError(`${who}: the log-likelihood is not finite at sigma2 = [${Array.from(s).join(', ')}]`);
    }
    for (let k = 0; k < st.next.length; k++) {
      if (!Number.isFinite(st.next[k]!) || st.next[k]! < 0) {
        throw new NumericalError(`${who}: the MM update is not finite at sigma2 = [${Array.from(s).join(', ')}]`);
      }
    }
    return st;
  };
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > m || Number.isNaN(d)) m = d;
  }
  return m;
}

/**
 * MM4LMM's squared extrapolation from anc -> old -> cur (two MM steps):
 * r = old - anc, v = cur - old - r, alpha = min(-|r|/|v|, -1),
 * anc - 2 alpha r + alpha^2 v; the plain step cur when a value is not > 0.
 */
export function extrapolate(anc: Float64Array, old: Float64Array, cur: Float64Array): Float64Array {
  const k = anc.length;
  let rr = 0;
  let vv = 0;
  for (let i = 0; i < k; i++) {
    const r = old[i]! - anc[i]!;
    const v = cur[i]! - old[i]! - r;
    rr += r * r;
    vv += v * v;
  }
  let alpha = -Math.sqrt(rr / vv);
  if (!Number.isFinite(alpha)) return cur.slice();
  if (alpha > -1) alpha = -1;
  const out = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const r = old[i]! - anc[i]!;
    const v = cur[i]! - old[i]! - r;
    out[i] = anc[i]! - 2 * alpha * r + alpha * alpha * v;
    if (!(out[i]! > 0)) return cur.slice();
  }
  return out;
}

/**
 * MM4LMM's REML loop (dense REML, Henderson REML, two-matrix ML); see the
 * file comment. On a fall-back, `evaluate` also receives the rejected
 * point's state, for engines that reproduce what MM4LMM carries over from it
 * (its two-matrix ML keeps the rejected point's MM numerators).
 */
export function driveRemlPath<S extends MmEval>(
  init: Float64Array,
  evaluate0: (s: Float64Array, rejected?: S) => S,
  o: { critVar: number; critLogLik: number; maxIter: number },
  who: string,
): DriverResult<S> {
  const evaluate = checked(evaluate0, who);
  let sNew: Float64Array = init.slice();
  let sBis: Float64Array = init.slice();
  let sAnc: Float64Array = init.slice();
  let sOld = init;
  let llPrev = 0;
  let crit = Infinity;
  let critLL = Infinity;
  let iter = 0;
  let it = 0;
  let st: S | undefined;
  while (((crit > o.critVar || critLL > o.critLogLik) && iter < o.maxIter) || it === 0) {
    st = evaluate(sNew);
    if (iter > 0 && fellBelow(st.logLik, llPrev)) {
      sNew = sBis.slice();
      st = evaluate(sNew, st);
    }
    sOld = sNew;
    sNew = st.next;
    crit = maxAbsDiff(sNew, sOld);
    if (iter > 0) critLL = st.logLik - llPrev;
    llPrev = st.logLik;
    it++;
    if (it === 2) {
      sBis = sNew.slice();
      sNew = extrapolate(sAnc, sOld, sNew);
      crit = maxAbsDiff(sNew, sOld);
      it = 0;
    }
    sAnc = sOld;
    iter++;
  }
  return { sigma: sNew, last: st!, nbIt: iter, converged: !(crit > o.critVar || critLL > o.critLogLik) };
}

/** MM4LMM's dense ML loop; see the file comment. */
export function driveMlPath<S extends MmEval>(
  init: Float64Array,
  evaluate0: (s: Float64Array) => S,
  o: { critVar: number; critLogLik: number; maxIter: number },
  who: string,
): DriverResult<S> {
  const evaluate = checked(evaluate0, who);
  let sNew: Float64Array = init.slice();
  let sAnc: Float64Array = init.slice();
  let llPrev = 0;
  let crit = Infinity;
  let critLL = Infinity;
  let iter = 0;
  let it = 0;
  let st: S | undefined;
  while ((crit > o.critVar || critLL > o.critLogLik) && iter < o.maxIter) {
    st = evaluate(sNew);
    const sOld = sNew;
    sNew = st.next;
    crit = maxAbsDiff(sNew, sOld);
    if (it === 2) {
      sNew = extrapolate(sAnc, sOld, sNew);
      crit = maxAbsDiff(sNew, sOld);
      it = 0;
    }
    sAnc = sOld;
    if (iter > 0) critLL = st.logLik - llPrev;
    llPrev = st.logLik;
    it++;
    iter++;
  }
  return { sigma: sNew, last: st!, nbIt: iter, converged: !(crit > o.critVar || critLL > o.critLogLik) };
}

/**
 * SQUAREM (SqS3) with a monotone safeguard; reports the last accepted point
 * (sigma = the evaluated point, consistent with beta, varBeta and logLik).
 * Stops at a point x when max |M(x) - x| <= critVar and the log-likelihood
 * gained over its predecessor is <= critLogLik, or after maxIter evaluations.
 * `stepSize` measures the MM step at x in the units of critVar (default
 * max |M(x) - x|).
 */
export function driveSquarem<S extends MmEval>(
  init: Float64Array,
  evaluate0: (s: Float64Array) => S,
  o: { critVar: number; critLogLik: number; maxIter: number },
  who: string,
  stepSize: (x: Float64Array, s: S) => number = (x, s) => maxAbsDiff(s.next, x),
): DriverResult<S> {
  const evaluate = checked(evaluate0, who);
  let x: Float64Array = init.slice();
  let sx = evaluate(x);
  let evals = 1;
  const done = (pt: Float64Array, s: S, llPred: number): boolean => stepSize(pt, s) <= o.critVar && s.logLik - llPred <= o.critLogLik;
  while (evals < o.maxIter) {
    const x1 = sx.next;
    const s1 = evaluate(x1);
    evals++;
    if (done(x1, s1, sx.logLik) || evals >= o.maxIter) {
      const conv = done(x1, s1, sx.logLik);
      return { sigma: x1, last: s1, nbIt: evals, converged: conv };
    }
    const x2 = s1.next;
    const k = x.length;
    let rr = 0;
    let vv = 0;
    for (let i = 0; i < k; i++) {
      const r = x1[i]! - x[i]!;
      const v = x2[i]! - 2 * x1[i]! + x[i]!;
      rr += r * r;
      vv += v * v;
    }
    let alpha = -Math.sqrt(rr / vv);
    if (!Number.isFinite(alpha) || alpha > -1) alpha = -1;
    let xp: Float64Array = new Float64Array(k);
    for (let tries = 0; ; tries++) {
      let ok = true;
      for (let i = 0; i < k; i++) {
        const r = x1[i]! - x[i]!;
        const v = x2[i]! - 2 * x1[i]! + x[i]!;
        xp[i] = x[i]! - 2 * alpha * r + alpha * alpha * v;
        if (!(xp[i]! > 0)) ok = false;
      }
      if (ok) break;
      if (alpha === -1 || tries > 30) {
        xp = x2.slice();
        alpha = -1;
        break;
      }
      alpha = (alpha - 1) / 2;
      if (alpha > -1.01) alpha = -1;
    }
    let sp = evaluate(xp);
    evals++;
    if (alpha !== -1 && !(sp.logLik >= s1.logLik)) {
      xp = x2.slice();
      sp = evaluate(xp);
      evals++;
    }
    const conv = done(xp, sp, s1.logLik);
    x = xp;
    sx = sp;
    if (conv) return { sigma: x, last: sx, nbIt: evals, converged: true };
  }
  return { sigma: x, last: sx, nbIt: evals, converged: false };
}

/** An MM evaluation that also gives the GLS fixed effects at the evaluated point. */
export interface GlsEval extends MmEval {
  beta: Float64Array;
  varBeta: Matrix;
}

/**
 * Runs the iteration the options ask for and reports it as an EngineFit:
 * `driveSquarem` with `accelerate`, else MM4LMM's path, `driveRemlPath`
 * (loop 'reml': its REML engines and two-matrix ML) or `driveMlPath`
 * (loop 'ml': its dense ML). sigma2, nbIt and converged are the driver's;
 * beta, varBeta and logLik those of the last evaluated point.
 */
export function runMmFit<S extends GlsEval>(o: ResolvedOptions, evaluate: (s: Float64Array, rejected?: S) => S, loop: 'reml' | 'ml', who: string): EngineFit {
  const run: DriverResult<S> = o.accelerate
    ? driveSquarem(o.init, evaluate, o, who)
    : loop === 'reml'
      ? driveRemlPath(o.init, evaluate, o, who)
      : driveMlPath(o.init, evaluate, o, who);
  return {
    sigma2: run.sigma,
    beta: run.last.beta,
    varBeta: run.last.varBeta,
    logLik: run.last.logLik,
    nbIt: run.nbIt,
    converged: run.converged,
  };
}

/** log(2 pi). */
export const LOG_2PI = Math.log(2 * Math.PI);
