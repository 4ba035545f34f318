// When GWAS mode's marker models can skip the per-marker design step: a
// numeric marker entering as one last column after fixed base columns (the
// default `~ <cofactors> + Xeffect`). Each such model's design is then the
// base columns plus the marker, unless R's qr() (dqrdc2, tol 1e-7) finds the
// marker aliased with the base; a cheap residual test settles every marker
// far from that cut, and the few near it take the exact per-marker path.
import { Matrix } from '../linalg/matrix.js';
import { rQr } from '../linalg/qr-dqrdc2.js';
import type { DesignPlan } from './design.js';

/**
 * Residual ratio ||(I - Q0 Q0')x|| / ||x|| above which a marker is kept for
 * certain: dqrdc2 cuts at 1e-7, and its downdated norms are accurate to far
 * better than the factor 100 between the two.
 */
const CLEARLY_KEPT = 1e-5;

/**
 * Bound, per row, on the relative difference between ||x||^2 - ||Q0'x||^2
 * and the residual pass's ||x - Q0 Q0'x||^2 (both computed): 16 eps, where
 * the rounding of the sums and of Q0'Q0 = I each give a few eps per row.
 */
const FAST_TOL = 16 * Number.EPSILON;

/** What the scan needs from a plan: the kept base columns and their orthonormal basis. */
export interface MarkerScanPlan {
  /** The base columns R's qr() keeps, in order (the marker follows them in every design). */
  kept: Int32Array;
  /** Their number. */
  p0: number;
  /** N x p0, an orthonormal basis of the kept base columns (column-major). */
  q0: Float64Array;
  /** p0 scratch values (the marker's coefficients on Q0). */
  scratch: Float64Array;
  /** N. */
  n: number;
}

/**
 * The scan plan of a GWAS-mode design plan, or undefined when its marker
 * models do not have the shape [base columns, marker]: a character or
 * multi-column marker, a marker in more than one term, in a term with other
 * variables or before another term, or p0 + 1 >= N.
 */
export function planMarkerScan(plan: DesignPlan): MarkerScanPlan | undefined {
  const { formula, markerTerm } = plan.layout;
  const n = plan.n;
  const last = formula.terms.length - 1;
  if (plan.markerKind !== 'numeric' || plan.markerColumns !== 1 || last < 0) return undefined;
  if (markerTerm.some((m, t) => m !== (t === last))) return undefined;
  const term = formula.terms[last]!;
  if (term.length !== 1 || term[0] !== plan.markerVariables[0]) return undefined;
  const base = plan.base;
  let kept = new Int32Array(0);
  if (base.cols > 0) {
    const qr = rQr(base);
    kept = qr.pivot.slice(0, qr.rank);
  }
  const p0 = kept.length;
  if (p0 + 1 >= n) return undefined;
  return { kept, p0, q0: orthonormalBasis(keptColumns(base, kept)), scratch: new Float64Array(p0), n };
}

/** The columns `kept` of `a`, as one N x kept.length matrix. */
export function keptColumns(a: Matrix, kept: Int32Array): Matrix {
  const n = a.rows;
  const out = new Matrix(n, kept.length);
  kept.forEach((j, k) => {
    out.data.set(a.data.subarray(j * n, (j + 1) * n), k * n);
  });
  return out;
}

/** Modified Gram-Schmidt, applied twice per column, of a full-rank N x p matrix. */
function orthonormalBasis(a: Matrix): Float64Array {
  const n = a.rows;
  const p = a.cols;
  const q = a.data.slice();
  for (let j = 0; j < p; j++) {
    const cj = j * n;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        const ck = k * n;
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[ck + i]! * q[cj + i]!;
        for (let i = 0; i < n; i++) q[cj + i]! -= dot * q[ck + i]!;
      }
    }
    let ss = 0;
    for (let i = 0; i < n; i++) ss += q[cj + i]! * q[cj + i]!;
    const inv = 1 / Math.sqrt(ss);
    for (let i = 0; i < n; i++) q[cj + i]! *= inv;
  }
  return q;
}

/**
 * Whether R's qr() certainly keeps the marker x[off .. off + N) after the
 * base: its values are finite and its residual off the base's span is above
 * CLEARLY_KEPT of its norm. False means "ask the exact per-marker path"
 * (aliased, near the cut, or non-finite). One pass over x for p0 <= 1
 * (p0 + 1 passes in general; one more near the cut).
 */
export function clearlyKept(sp: MarkerScanPlan, x: Float64Array, off: number): boolean {
  const { p0, q0, scratch: c } = sp;
  const n = sp.n;
  // One pass for ||x||^2 and the coefficients c = Q0'x, and near the cut one
  // for ||x - Q0 c||^2 (classical Gram-Schmidt: Q0 is orthonormal to
  // rounding, and the cut leaves a margin of 100 over the rounding of either).
  let xx = 0;
  let dot0 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[off + i]!;
    xx += v * v;
    if (p0 > 0) dot0 += q0[i]! * v;
  }
  // A non-finite value (or an overflow of the sum) fails here.
  if (!(xx > 0 && xx < Infinity)) return false;
  if (p0 > 0) c[0] = dot0;
  for (let k = 1; k < p0; k++) {
    let dot = 0;
    for (let i = 0; i < n; i++) dot += q0[k * n + i]! * x[off + i]!;
    c[k] = dot;
  }
  // ||x - Q0 c||^2 = ||x||^2 - ||c||^2 up to the rounding of the sums and of
  // Q0's orthonormality, a few N eps ||x||^2 at most (FAST_TOL, with a wide
  // margin): where that settles the test, the residual pass is spared (its
  // answer would be the same); within the margin of the cut, it decides.
  let cc = 0;
  for (let k = 0; k < p0; k++) cc += c[k]! * c[k]!;
  const cut = CLEARLY_KEPT * CLEARLY_KEPT * xx;
  const tol = FAST_TOL * (n + p0 + 2) * xx;
  const fast = xx - cc;
  if (fast - tol > cut) return true;
  if (fast + tol < cut) return false;
  let rr = 0;
  if (p0 === 1) {
    const c0 = c[0]!;
    for (let i = 0; i < n; i++) {
      const r = x[off + i]! - c0 * q0[i]!;
      rr += r * r;
    }
  } else {
    for (let i = 0; i < n; i++) {
      let r = x[off + i]!;
      for (let k = 0; k < p0; k++) r -= c[k]! * q0[k * n + i]!;
      rr += r * r;
    }
  }
  return rr > cut;
}
