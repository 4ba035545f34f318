/**
 * GSL's root solvers as GEMMA calls them (gsl roots/brent.c, newton.c,
 * convergence.c), ported step for step so that a search stops where
 * GEMMA's stops; the Newton step itself is written out by the caller
 * (nullmodel/lambda-search.ts), which also owns the derivative.
 */

const DBL_EPSILON = 2.220446049250313e-16;

/** gsl_errno status codes. */
export const GSL_SUCCESS = 0;
export const GSL_CONTINUE = -2;
export const GSL_FAILURE = -1;

/** The state of gsl_root_fsolver_brent. */
export interface BrentState {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  fa: number;
  fb: number;
  fc: number;
  root: number;
  lower: number;
  upper: number;
}

/** gsl_root_fsolver_set with brent_init: the root starts at the midpoint (f at the ends given or evaluated). */
export function brentInit(f: (x: number) => number, lo: number, hi: number, flo = f(lo), fhi = f(hi)): BrentState | null {
  if (!Number.isFinite(flo) || !Number.isFinite(fhi)) return null;
  return { a: lo, fa: flo, b: hi, fb: fhi, c: hi, fc: fhi, d: hi - lo, e: hi - lo, root: 0.5 * (lo + hi), lower: lo, upper: hi };
}

/** brent_iterate: one step of Brent's method (inverse quadratic interpolation or bisection). */
export function brentIterate(st: BrentState, f: (x: number) => number): number {
  let { a, b, c, d, e, fa, fb, fc } = st;
  let acEqual = false;
  if ((fb < 0 && fc < 0) || (fb > 0 && fc > 0)) {
    acEqual = true;
    c = a;
    fc = fa;
    d = b - a;
    e = b - a;
  }
  if (Math.abs(fc) < Math.abs(fb)) {
    acEqual = true;
    a = b;
    b = c;
    c = a;
    fa = fb;
    fb = fc;
    fc = fa;
  }
  const tol = 0.5 * DBL_EPSILON * Math.abs(b);
  const m = 0.5 * (c - b);
  if (fb === 0) {
    st.root = b;
    st.lower = b;
    st.upper = b;
    return GSL_SUCCESS;
  }
  if (Math.abs(m) <= tol) {
    st.root = b;
    if (b < c) {
      st.lower = b;
      st.upper = c;
    } else {
      st.lower = c;
      st.upper = b;
    }
    return GSL_SUCCESS;
  }
  if (Math.abs(e) < tol || Math.abs(fa) <= Math.abs(fb)) {
    d = m;
    e = m;
  } else {
    let p: number;
    let q: number;
    const s = fb / fa;
    if (acEqual) {
      p = 2 * m * s;
      q = 1 - s;
    } else {
      q = fa / fc;
      const r = fb / fc;
      p = s * (2 * m * q * (q - r) - (b - a) * (r - 1));
      q = (q - 1) * (r - 1) * (s - 1);
    }
    if (p > 0) q = -q;
    else p = -p;
    if (2 * p < Math.min(3 * m * q - Math.abs(tol * q), Math.abs(e * q))) {
      e = d;
      d = p / q;
    } else {
      d = m;
      e = m;
    }
  }
  a = b;
  fa = fb;
  if (Math.abs(d) > tol) b += d;
  else b += m > 0 ? +tol : -tol;
  fb = f(b);
  // GSL's SAFE_FUNC_CALL: a non-finite value is an error, before the state is updated.
  if (!Number.isFinite(fb)) return GSL_FAILURE;
  Object.assign(st, { a, b, c, d, e, fa, fb, fc });
  st.root = b;
  if ((fb < 0 && fc < 0) || (fb > 0 && fc > 0)) c = a;
  if (b < c) {
    st.lower = b;
    st.upper = c;
  } else {
    st.lower = c;
    st.upper = b;
  }
  return GSL_SUCCESS;
}

/** gsl_root_test_interval(lo, hi, epsabs, epsrel). */
export function testInterval(lo: number, hi: number, epsabs: number, epsrel: number): number {
  const minAbs = (lo > 0 && hi > 0) || (lo < 0 && hi < 0) ? Math.min(Math.abs(lo), Math.abs(hi)) : 0;
  return Math.abs(hi - lo) < epsabs + epsrel * minAbs ? GSL_SUCCESS : GSL_CONTINUE;
}

/** gsl_root_test_delta(x1, x0, epsabs, epsrel). */
export function testDelta(x1: number, x0: number, epsabs: number, epsrel: number): number {
  return Math.abs(x1 - x0) < epsabs + epsrel * Math.abs(x1) || x1 === x0 ? GSL_SUCCESS : GSL_CONTINUE;
}

/** Brent's method on a sign-changing interval until it is a few ulps wide (lmmkit's fallback). */
export function brentToConvergence(f: (x: number) => number, lo: number, hi: number): { root: number; iterations: number } {
  const st = brentInit(f, lo, hi);
  if (st === null) return { root: Number.NaN, iterations: 0 };
  let root = st.root;
  let it = 0;
  while (it < 200) {
    it++;
    if (brentIterate(st, f) !== GSL_SUCCESS) break;
    root = st.root;
    if (testInterval(st.lower, st.upper, 0, 4 * DBL_EPSILON) === GSL_SUCCESS) break;
  }
  return { root, iterations: it };
}
