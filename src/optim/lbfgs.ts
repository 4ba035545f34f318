import { ArgumentError, NumericalError } from '../errors.js';

/**
 * An objective for `minimizeLbfgs`: returns f(x) and writes its gradient
 * into `grad` (same length as x). It must not keep `x` or `grad`.
 */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

/** Options of `minimizeLbfgs`. */
export interface LbfgsOptions {
  /** Correction pairs kept (default 10, scipy's L-BFGS-B default). */
  memory?: number;
  /** Iterations (default 1000). */
  maxIterations?: number;
  /** Function evaluations (default 20 x maxIterations). */
  maxEvaluations?: number;
  /** Stop when max_i |g_i| <= gtol (default 1e-5, L-BFGS-B's pgtol). */
  gtol?: number;
  /**
   * Stop when an iteration lowers f by at most ftol max(|f_k|, |f_k+1|, 1)
   * (L-BFGS-B's factr x machine epsilon; default 1e7 eps ~ 2.2e-9, scipy's).
   * 0 disables it.
   */
  ftol?: number;
  /** Sufficient-decrease constant of the Wolfe conditions (default 1e-4). */
  c1?: number;
  /** Curvature constant of the strong Wolfe conditions (default 0.9). */
  c2?: number;
  /**
   * Relative noise level of f: a trial point whose f exceeds f(x) by at most
   * noise |f(x)| and that meets the strong curvature condition is accepted
   * (Hager and Zhang's approximate Wolfe conditions), which lets the method
   * go on where function differences drown in rounding but the gradient is
   * still informative. Default 0 (exact Wolfe conditions only).
   */
  noise?: number;
}

/** Why `minimizeLbfgs` stopped. */
export type LbfgsStop = 'gtol' | 'ftol' | 'maxIterations' | 'maxEvaluations' | 'lineSearch';

/** The result of `minimizeLbfgs`. */
export interface LbfgsResult {
  x: Float64Array;
  f: number;
  grad: Float64Array;
  /** Euclidean norm of the final gradient. */
  gradNorm: number;
  iterations: number;
  evaluations: number;
  /** True when stopped by gtol or ftol. */
  converged: boolean;
  reason: LbfgsStop;
}

const EPS = 2.220446049250313e-16;

/**
 * Unconstrained minimisation by limited-memory BFGS (Nocedal 1980; Liu and
 * Nocedal 1989) with the two-loop recursion, the initial Hessian scaled by
 * s'y / y'y, and a line search that meets the strong Wolfe conditions
 * (Nocedal and Wright, Numerical Optimization, algorithms 3.5 and 3.6,
 * bracketing then safeguarded cubic interpolation). When a search direction
 * is not a descent direction or the line search fails, the memory is cleared
 * and the iteration retried once along -g before giving up.
 */
export function minimizeLbfgs(fn: Objective, x0: ArrayLike<number>, opts: LbfgsOptions = {}): LbfgsResult {
  const n = x0.length;
  const memory = opts.memory ?? 10;
  const maxIterations = opts.maxIterations ?? 1000;
  const maxEvaluations = opts.maxEvaluations ?? 20 * maxIterations;
  const gtol = opts.gtol ?? 1e-5;
  const ftol = opts.ftol ?? 1e7 * EPS;
  const c1 = opts.c1 ?? 1e-4;
  const c2 = opts.c2 ?? 0.9;
  const noise = opts.noise ?? 0;
  if (!(memory >= 1) || !(c1 > 0 && c1 < c2 && c2 < 1)) {
    throw new ArgumentError(`minimizeLbfgs: need memory >= 1 and 0 < c1 < c2 < 1, found memory ${memory}, c1 ${c1}, c2 ${c2}`);
  }

  let evaluations = 0;
  const evaluate = (x: Float64Array, g: Float64Array): number => {
    evaluations++;
    const f = fn(x, g);
    return Number.isNaN(f) ? Infinity : f;
  };

  let x: Float64Array = Float64Array.from(x0);
  let g: Float64Array = new Float64Array(n);
  let f = evaluate(x, g);
  if (!Number.isFinite(f)) throw new NumericalError(`minimizeLbfgs: the objective is not finite at the starting point (${f})`);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const d = new Float64Array(n);
  const alpha = new Float64Array(memory);
  let iterations = 0;
  let reason: LbfgsStop = 'maxIterations';
  let retried = false;

  const done = (r: LbfgsStop): LbfgsResult => ({
    x,
    f,
    grad: g,
    gradNorm: Math.sqrt(dot(g, g)),
    iterations,
    evaluations,
    converged: r === 'gtol' || r === 'ftol',
    reason: r,
  });
  if (maxAbs(g) <= gtol) return done('gtol');

  while (iterations < maxIterations) {
    // Search direction d = -H g by the two-loop recursion.
    for (let i = 0; i < n; i++) d[i] = -g[i]!;
    const m = sList.length;
    for (let j = m - 1; j >= 0; j--) {
      const a = rhoList[j]! * dot(sList[j]!, d);
      alpha[j] = a;
      axpy(-a, yList[j]!, d);
    }
    if (m > 0) {
      const y = yList[m - 1]!;
      scale(d, dot(sList[m - 1]!, y) / dot(y, y));
    }
    for (let j = 0; j < m; j++) {
      const b = rhoList[j]! * dot(yList[j]!, d);
      axpy(alpha[j]! - b, sList[j]!, d);
    }
    let dg = dot(d, g);
    if (!(dg < 0)) {
      // Not a descent direction (rounding in the memory): restart along -g.
      sList.length = yList.length = rhoList.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i]!;
      dg = dot(d, g);
    }
    const step0 = sList.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(g, g))) : 1;
    const ls = lineSearch(evaluate, x, f, g, d, dg, step0, c1, c2, noise, maxEvaluations - evaluations);
    if (ls === null) {
      if (evaluations >= maxEvaluations) return done('maxEvaluations');
      if (sList.length > 0 && !retried) {
        sList.length = yList.length = rhoList.length = 0;
        retried = true;
        continue;
      }
      return done('lineSearch');
    }
    retried = false;
    iterations++;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = ls.x[i]! - x[i]!;
      y[i] = ls.g[i]! - g[i]!;
    }
    const fOld = f;
    x = ls.x;
    g = ls.g;
    f = ls.f;
    const sy = dot(s, y);
    if (sy > EPS * dot(y, y)) {
      if (sList.length === memory) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(y);
      rhoList.push(1 / sy);
    }
    if (maxAbs(g) <= gtol) return done('gtol');
    if (ftol > 0 && fOld - f <= ftol * Math.max(Math.abs(fOld), Math.abs(f), 1)) {
      reason = 'ftol';
      return done(reason);
    }
    if (evaluations >= maxEvaluations) return done('maxEvaluations');
  }
  return done(reason);
}

interface Trial {
  a: number;
  f: number;
  dphi: number;
  x: Float64Array;
  g: Float64Array;
}

/**
 * A step length meeting the strong Wolfe conditions along d from x
 * (Nocedal and Wright, algorithms 3.5 and 3.6), or null when none was found
 * within the evaluation budget.
 */
function lineSearch(
  evaluate: (x: Float64Array, g: Float64Array) => number,
  x: Float64Array,
  f0: number,
  g0: Float64Array,
  d: Float64Array,
  dphi0: number,
  a1: number,
  c1: number,
  c2: number,
  noise: number,
  budget: number,
): { x: Float64Array; f: number; g: Float64Array } | null {
  const n = x.length;
  let evals = 0;
  const at = (a: number): Trial => {
    evals++;
    const xt = new Float64Array(n);
    for (let i = 0; i < n; i++) xt[i] = x[i]! + a * d[i]!;
    const gt = new Float64Array(n);
    const f = evaluate(xt, gt);
    return { a, f, dphi: dot(gt, d), x: xt, g: gt };
  };
  const armijo = (t: Trial): boolean => t.f <= f0 + c1 * t.a * dphi0;
  const curvature = (t: Trial): boolean => Math.abs(t.dphi) <= -c2 * dphi0;
  // Approximate Wolfe (Hager and Zhang): f within the noise and the slope flattened.
  const approx = (t: Trial): boolean => noise > 0 && t.f <= f0 + noise * Math.abs(f0) && curvature(t);
  const accept = (t: Trial) => ({ x: t.x, f: t.f, g: t.g });
  const limit = Math.min(budget, 60);

  const zoom = (lo: Trial, hi: Trial): ReturnType<typeof accept> | null => {
    while (evals < limit) {
      const width = Math.abs(hi.a - lo.a);
      if (width <= EPS * Math.max(lo.a, hi.a)) break;
      let a = cubicMin(lo, hi);
      const lower = Math.min(lo.a, hi.a);
      const upper = Math.max(lo.a, hi.a);
      if (!(a > lower + 0.1 * width && a < upper - 0.1 * width)) a = 0.5 * (lo.a + hi.a);
      const t = at(a);
      if (!Number.isFinite(t.f)) {
        hi = t;
        continue;
      }
      if (!armijo(t) || t.f >= lo.f) {
        if (approx(t)) return accept(t);
        hi = t;
      } else {
        if (curvature(t)) return accept(t);
        if (t.dphi * (hi.a - lo.a) >= 0) hi = lo;
        lo = t;
      }
    }
    // Out of budget: keep the best point with sufficient decrease, if any.
    return lo.a > 0 && lo.f < f0 ? accept(lo) : null;
  };

  const start: Trial = { a: 0, f: f0, dphi: dphi0, x, g: g0 };
  let prev = start;
  let a = a1;
  while (evals < limit) {
    const t = at(a);
    if (!Number.isFinite(t.f)) {
      // Stepped out of the domain: shrink.
      a = 0.5 * (prev.a + a);
      if (a - prev.a <= EPS * a) return null;
      continue;
    }
    if (!armijo(t) || (prev.a > 0 && t.f >= prev.f)) {
      if (approx(t)) return accept(t);
      return zoom(prev, t);
    }
    if (curvature(t)) return accept(t);
    if (t.dphi >= 0) return zoom(t, prev);
    prev = t;
    a *= 4;
  }
  return null;
}

/** Minimiser of the cubic interpolating f and its slope at two trial points (NaN when it has none). */
function cubicMin(p: Trial, q: Trial): number {
  const d1 = p.dphi + q.dphi - (3 * (p.f - q.f)) / (p.a - q.a);
  const disc = d1 * d1 - p.dphi * q.dphi;
  if (!(disc >= 0)) return Number.NaN;
  const d2 = Math.sign(q.a - p.a) * Math.sqrt(disc);
  return q.a - ((q.a - p.a) * (q.dphi + d2 - d1)) / (q.dphi - p.dphi + 2 * d2);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i]! += alpha * x[i]!;
}

function scale(x: Float64Array, s: number): void {
  for (let i = 0; i < x.length; i++) x[i]! *= s;
}

function maxAbs(x: Float64Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}
