/** Result of `brentMinimize`. */
export interface BrentResult {
  x: number;
  fx: number;
  iterations: number;
}

const GOLDEN = 0.3819660112501051; // (3 - sqrt 5) / 2

/**
 * Minimises a one-dimensional function on [a, b] by Brent's method (golden
 * section with parabolic interpolation; Brent 1973, "Algorithms for
 * minimization without derivatives", ch. 5, the `fmin` of Forsythe, Malcolm &
 * Moler). Converges to a local minimum within `tol` (absolute, in x) plus a
 * relative term sqrt(eps)|x|.
 */
export function brentMinimize(f: (x: number) => number, a: number, b: number, tol = 1e-10, maxIter = 200): BrentResult {
  const eps = Math.sqrt(2.220446049250313e-16);
  let x = a + GOLDEN * (b - a);
  let w = x;
  let v = x;
  let fx = f(x);
  let fw = fx;
  let fv = fx;
  let d = 0;
  let e = 0;
  let it = 0;
  for (; it < maxIter; it++) {
    const m = 0.5 * (a + b);
    const tol1 = eps * Math.abs(x) + tol / 3;
    const tol2 = 2 * tol1;
    if (Math.abs(x - m) <= tol2 - 0.5 * (b - a)) break;
    let golden = true;
    if (Math.abs(e) > tol1) {
      // Try a parabola through x, w, v.
      let r = (x - w) * (fx - fv);
      let q = (x - v) * (fx - fw);
      let p = (x - v) * q - (x - w) * r;
      q = 2 * (q - r);
      if (q > 0) p = -p;
      else q = -q;
      r = e;
      e = d;
      if (Math.abs(p) < Math.abs(0.5 * q * r) && p > q * (a - x) && p < q * (b - x)) {
        d = p / q;
        const u = x + d;
        if (u - a < tol2 || b - u < tol2) d = x < m ? tol1 : -tol1;
        golden = false;
      }
    }
    if (golden) {
      e = (x < m ? b : a) - x;
      d = GOLDEN * e;
    }
    const u = Math.abs(d) >= tol1 ? x + d : x + (d > 0 ? tol1 : -tol1);
    const fu = f(u);
    if (fu <= fx) {
      if (u < x) b = x;
      else a = x;
      v = w;
      fv = fw;
      w = x;
      fw = fx;
      x = u;
      fx = fu;
    } else {
      if (u < x) a = u;
      else b = u;
      if (fu <= fw || w === x) {
        v = w;
        fv = fw;
        w = u;
        fw = fu;
      } else if (fu <= fv || v === x || v === w) {
        v = u;
        fv = fu;
      }
    }
  }
  return { x, fx, iterations: it };
}
