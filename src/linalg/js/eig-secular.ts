/**
 * The rank-one modified diagonal eigenproblem D + rho z z^T at the heart of
 * divide and conquer (LAPACK dlaed3/dlaed4): its eigenvalues are the roots
 * of the secular equation and its eigenvectors follow from them in closed
 * form. No Node APIs are used.
 */

const EPS = 2 ** -52;
/** Iterations allowed per root; the safeguarded rational iteration needs a handful. */
const MAX_ITER = 100;

/**
 * Eigendecomposition of D + rho z z^T (k x k) for strictly increasing
 * d[0:k], rho > 0 and z with no zero entry (what deflation leaves). Writes the
 * eigenvalues, ascending, to lambda[0:k] and the orthonormal eigenvectors to
 * the columns of q (k x k, leading dimension k). Returns 0, or i + 1 when
 * root i failed to converge.
 *
 * Each root is found to full accuracy relative to its distance from the
 * nearer pole (secularRoot), and the eigenvectors use the z-hat that makes
 * those roots exact eigenvalues of a nearby problem (Gu & Eisenstat, "A
 * divide-and-conquer algorithm for the symmetric tridiagonal eigenproblem",
 * SIAM J. Matrix Anal. Appl. 16(1), 1995), which is what keeps them
 * numerically orthogonal however close the roots are.
 */
export function rankOneEigen(k: number, d: Float64Array, z: Float64Array, rho: number, lambda: Float64Array, q: Float64Array): number {
  if (k === 1) {
    lambda[0] = d[0]! + rho * z[0]! * z[0]!;
    q[0] = 1;
    return 0;
  }
  // Column i of q first holds delta_j = d_j - lambda_i, computed without cancellation.
  for (let i = 0; i < k; i++) {
    const root = secularRoot(k, i, d, z, rho, q, i * k);
    if (Number.isNaN(root)) return i + 1;
    lambda[i] = root;
  }
  const zhat = loewnerZ(k, d, z, q);
  for (let i = 0; i < k; i++) {
    const col = i * k;
    let ss = 0;
    for (let j = 0; j < k; j++) {
      const x = zhat[j]! / q[col + j]!;
      q[col + j] = x;
      ss += x * x;
    }
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < k; j++) q[col + j]! *= inv;
  }
  return 0;
}

/**
 * The vector z-hat for which the computed roots are the exact eigenvalues of
 * D + rho z-hat z-hat^T (Loewner's formula, up to the factor rho, which the
 * normalisation of the eigenvectors removes):
 * z-hat_i^2 = prod_j (lambda_j - d_i) / prod_{j != i} (d_j - d_i),
 * with the signs of z. `delta` holds d_j - lambda_i in column i.
 */
function loewnerZ(k: number, d: Float64Array, z: Float64Array, delta: Float64Array): Float64Array {
  const w = new Float64Array(k);
  for (let i = 0; i < k; i++) w[i] = delta[i + i * k]!;
  for (let j = 0; j < k; j++) {
    const col = j * k;
    for (let i = 0; i < k; i++) {
      if (i !== j) w[i]! *= delta[col + i]! / (d[i]! - d[j]!);
    }
  }
  for (let i = 0; i < k; i++) {
    const mag = Math.sqrt(Math.abs(w[i]!));
    w[i] = z[i]! >= 0 ? mag : -mag;
  }
  return w;
}

/**
 * Root i (0-based, ascending) of the secular equation
 * f(lambda) = 1/rho + sum_j z_j^2 / (d_j - lambda) = 0, k >= 2. Returns
 * lambda_i, or NaN if the iteration failed, and writes d_j - lambda_i to
 * delta[off + j].
 *
 * As in LAPACK dlaed4 (Ren-Cang Li, "Solving secular equations stably and
 * efficiently", LAPACK Working Note 89, 1993), lambda is represented as
 * d_org + tau with d_org the pole nearer to the root, so that every
 * d_j - lambda = (d_j - d_org) - tau is accurate to a few ulps even when the
 * root almost coincides with d_org. tau is found with the rational model of
 * the "middle way": each of the two partial sums (psi over d_0..d_split,
 * the poles below the root or all but the last, and phi over the rest) is
 * replaced by a constant plus one term with its pole at the sum's pole
 * nearest the root, matched in value and slope. The iteration is safeguarded by a bracket
 * on which f changes sign, and bisects when the model step leaves it.
 */
function secularRoot(k: number, i: number, d: Float64Array, z: Float64Array, rho: number, delta: Float64Array, off: number): number {
  const rhoinv = 1 / rho;
  const last = i === k - 1;
  let org = i;
  let lo = 0;
  let hi: number;
  if (last) {
    // f(d_{k-1} + rho z^T z) >= 0, so the last root lies in (d_{k-1}, d_{k-1} + rho z^T z].
    let zz = 0;
    for (let j = 0; j < k; j++) zz += z[j]! * z[j]!;
    hi = rho * zz;
  } else {
    const half = (d[i + 1]! - d[i]!) / 2;
    let fmid = rhoinv;
    for (let j = 0; j < k; j++) fmid += (z[j]! * z[j]!) / (d[j]! - d[i]! - half);
    hi = half;
    if (fmid < 0) {
      org = i + 1;
      lo = -half;
      hi = 0;
    }
  }
  // The two poles of the model: psi sums the terms up to `split`, phi the rest.
  const split = last ? i - 1 : i;
  const dOrg = d[org]!;
  for (let j = 0; j < k; j++) delta[off + j] = d[j]! - dOrg;
  // Start from the bracket end where f is finite.
  let tau = org === i ? hi : lo;
  for (let iter = 0; ; iter++) {
    if (iter === MAX_ITER) return Number.NaN;
    const s = evaluate(k, split, z, rhoinv, delta, off, tau);
    if (Math.abs(s.f) <= EPS * s.err) break;
    if (s.f < 0) lo = tau;
    else hi = tau;
    const eta = modelStep(delta[off + split]! - tau, delta[off + split + 1]! - tau, s, lo - tau, hi - tau);
    const next = Number.isNaN(eta) ? 0.5 * (lo + hi) : tau + eta;
    // Stop when tau can no longer move: the bracket is down to a few ulps.
    const stalled = next === tau || hi - lo <= 2 * EPS * Math.max(Math.abs(lo), Math.abs(hi));
    tau = next;
    if (stalled) break;
  }
  for (let j = 0; j < k; j++) delta[off + j]! -= tau;
  return dOrg + tau;
}

/** The secular function at a point, split into its two sides, with a bound on its rounding error. */
interface SecularValue {
  /** f = 1/rho + psi + phi. */
  readonly f: number;
  /** d psi / d lambda and d phi / d lambda (both positive). */
  readonly dpsi: number;
  readonly dphi: number;
  /** A bound on the rounding error of f, in units of eps (after dlaed4's ERRETM). */
  readonly err: number;
}

/**
 * f(d_org + tau) with poles[off + j] = d_j - d_org: psi sums the terms
 * j <= split (in increasing order, smallest terms first), phi the terms
 * j > split (from the far end inwards).
 */
function evaluate(k: number, split: number, z: Float64Array, rhoinv: number, poles: Float64Array, off: number, tau: number): SecularValue {
  let psi = 0,
    dpsi = 0,
    err = 0;
  for (let j = 0; j <= split; j++) {
    const t = z[j]! / (poles[off + j]! - tau);
    psi += z[j]! * t;
    dpsi += t * t;
    err += Math.abs(psi);
  }
  let phi = 0,
    dphi = 0;
  for (let j = k - 1; j > split; j--) {
    const t = z[j]! / (poles[off + j]! - tau);
    phi += z[j]! * t;
    dphi += t * t;
    err += Math.abs(phi);
  }
  const f = rhoinv + psi + phi;
  err += 8 * (Math.abs(psi) + Math.abs(phi)) + 2 * rhoinv + Math.abs(tau) * (dpsi + dphi);
  return { f, dpsi, dphi, err };
}

/**
 * The step eta to the root of the model
 * c + delta1^2 dpsi / (delta1 - eta) + delta2^2 dphi / (delta2 - eta),
 * which matches f and f' at the current point with poles at the two nearest
 * d_j (at distances delta1 < delta2 from it). Clearing denominators gives
 * c eta^2 - a eta + b = 0. Returns its root strictly inside (lo, hi), the
 * bracket relative to the current point, or NaN when there is none (the
 * caller then bisects). The bracket lies between the model's poles, or
 * beyond both for the last root, so at most one root is inside it.
 */
function modelStep(delta1: number, delta2: number, s: SecularValue, lo: number, hi: number): number {
  const { f, dpsi, dphi } = s;
  const c = f - delta1 * dpsi - delta2 * dphi;
  const a = (delta1 + delta2) * f - delta1 * delta2 * (dpsi + dphi);
  const b = delta1 * delta2 * f;
  const inside = (eta: number): boolean => eta > lo && eta < hi;
  if (c === 0) {
    const eta = b / a;
    return inside(eta) ? eta : Number.NaN;
  }
  const disc = a * a - 4 * b * c;
  if (disc < 0) return Number.NaN;
  // Both roots without cancellation: q/c and b/q.
  const q = 0.5 * (a + (a >= 0 ? Math.sqrt(disc) : -Math.sqrt(disc)));
  const r1 = q / c;
  if (inside(r1)) return r1;
  const r2 = b / q;
  return inside(r2) ? r2 : Number.NaN;
}
