/**
 * Divide and conquer for the symmetric tridiagonal eigenproblem (LAPACK
 * dstedc with compz = 'I', i.e. dlaed0/dlaed1/dlaed2/dlaed3), the solver
 * behind syevd.ts. No Node APIs are used.
 */
import { dgemmAt } from './blas.js';
import { maxAbs, normalizingExponent, scaleByPowerOfTwo } from './eig-scaling.js';
import { hypot, rotatePair } from './eig-rotation.js';
import { rankOneEigen } from './eig-secular.js';
import { tridiagonalQL } from './eig-tql2.js';

const EPS = 2 ** -52;
/** Blocks of at most this order go to the QL leaf solver (LAPACK's SMLSIZ). */
const LEAF = 25;
/** Where an eigenvector of a merged block may be non-zero: its top half, bottom half, or both. */
const TOP = 0;
const BOTH = 1;
const BOTTOM = 2;

/**
 * Eigendecomposition of the symmetric tridiagonal matrix T with diagonal
 * d[0:n] and subdiagonal e[0:n-1]. On return d holds the eigenvalues in
 * ascending order and z (n x n, column-major) the orthonormal eigenvectors as
 * columns; e is destroyed. Returns 0, or i > 0 when the iteration failed
 * (a QL leaf or a secular equation did not converge).
 *
 * T is split where an off-diagonal is negligible (|e_i| <= eps
 * sqrt(|d_i d_i+1|)), as dstedc does, and each unreduced block is solved at
 * unit scale. Each block is torn in two by a rank-one correction
 * (Cuppen, Numer. Math. 36, 1981), the halves are solved recursively down
 * to blocks of LEAF, and each pair is merged by solving the rank-one
 * modified problem, with deflation of negligible components and near-equal
 * eigenvalues (Dongarra & Sorensen, SIAM J. Sci. Stat. Comput. 8, 1987) and
 * Gu & Eisenstat's orthogonal eigenvectors (eig-secular.ts). The merges'
 * cost is in two matrix products that skip the known zero blocks; heavy
 * deflation (repeated eigenvalues, low-rank kinships) makes them cheap.
 */
export function tridiagonalEigen(n: number, d: Float64Array, e: Float64Array, z: Float64Array): number {
  z.fill(0, 0, n * n);
  const dc = new DivideAndConquer(n, d, e, z);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const split = i === n - 1 || Math.abs(e[i]!) <= EPS * Math.sqrt(Math.abs(d[i]!)) * Math.sqrt(Math.abs(d[i + 1]!));
    if (!split) continue;
    const info = solveAtUnitScale(dc, d, e, start, i + 1 - start);
    if (info > 0) return info;
    start = i + 1;
  }
  sortEigenpairs(n, d, z, 0, n);
  return 0;
}

/**
 * Solves the unreduced block at s of order len scaled to unit max-norm by a
 * power of two, as dstedc scales each block: the secular equation's squares
 * and products then stay in range, and blocks of very different magnitude
 * keep their own precision.
 */
function solveAtUnitScale(dc: DivideAndConquer, d: Float64Array, e: Float64Array, s: number, len: number): number {
  const exponent = normalizingExponent(Math.max(maxAbs(d, s, len), maxAbs(e, s, len - 1)));
  for (let i = s; i < s + len; i++) d[i] = scaleByPowerOfTwo(d[i]!, exponent);
  for (let i = s; i < s + len - 1; i++) e[i] = scaleByPowerOfTwo(e[i]!, exponent);
  const info = dc.solve(s, len);
  for (let i = s; i < s + len; i++) d[i] = scaleByPowerOfTwo(d[i]!, -exponent);
  return info;
}

/** The tridiagonal problem being solved and the workspace of its merges. */
class DivideAndConquer {
  /** Gathered eigenvectors of the two halves of a merge (len x len). */
  private readonly gathered: Float64Array;
  /** Eigenvectors of the rank-one modified problem (K x K). */
  private readonly rankOne: Float64Array;

  constructor(
    private readonly n: number,
    private readonly d: Float64Array,
    private readonly e: Float64Array,
    private readonly z: Float64Array,
  ) {
    this.gathered = new Float64Array(n * n);
    this.rankOne = new Float64Array(n * n);
  }

  /**
   * Solves the unreduced block of rows/columns s..s+len-1 into the same
   * diagonal block of z, eigenvalues ascending. Returns 0 or an info > 0.
   */
  solve(s: number, len: number): number {
    const { n, d, e, z } = this;
    if (len === 1) {
      z[s + s * n] = 1;
      return 0;
    }
    if (len <= LEAF) {
      const info = tridiagonalQL(len, d.subarray(s, s + len), e.subarray(s, s + len - 1), z, s + s * n, n);
      return info > 0 ? s + info : 0;
    }
    // Tear T = diag(T1, T2) + |beta| v v^T with v = (e_last; sign(beta) e_first).
    const n1 = len >> 1;
    const beta = e[s + n1 - 1]!;
    d[s + n1 - 1]! -= Math.abs(beta);
    d[s + n1]! -= Math.abs(beta);
    const info = this.solve(s, n1) || this.solve(s + n1, len - n1);
    return info > 0 ? info : this.merge(s, len, n1, beta);
  }

  /**
   * Merges the solved halves (orders n1 and len - n1) of the block at s, torn
   * at off-diagonal beta, into the eigendecomposition of the whole block
   * (dlaed1): deflate, solve the rank-one problem for the K survivors,
   * multiply their eigenvectors into place, then sort.
   */
  private merge(s: number, len: number, n1: number, beta: number): number {
    const { n, d, z } = this;
    const base = s + s * n;
    const m = this.deflate(s, len, n1, beta);
    const k = m.kept.length;
    const lambda = new Float64Array(k);
    const dk = new Float64Array(k);
    const zk = new Float64Array(k);
    for (let r = 0; r < k; r++) {
      dk[r] = m.values[m.kept[r]!]!;
      zk[r] = m.zs[m.kept[r]!]!;
    }
    const info = rankOneEigen(k, dk, zk, m.rho, lambda, this.rankOne);
    if (info > 0) return s + info;
    // Gather the surviving columns grouped TOP, BOTH, BOTTOM, then the deflated ones.
    const order = byType(m.kept, m.types);
    const g = this.gathered;
    const column = (r: number): Float64Array => z.subarray(base + m.cols[r]! * n, base + m.cols[r]! * n + len);
    order.forEach((idx, c) => {
      g.set(column(m.kept[idx]!), c * len);
    });
    m.deflated.forEach((r, q) => {
      g.set(column(r), (k + q) * len);
    });
    permuteRows(k, this.rankOne, order);
    this.multiply(base, len, n1, k, countTypes(m.kept, m.types));
    for (let q = 0; q < m.deflated.length; q++) {
      z.set(g.subarray((k + q) * len, (k + q + 1) * len), base + (k + q) * n);
      d[s + k + q] = m.values[m.deflated[q]!]!;
    }
    d.set(lambda, s);
    sortEigenpairs(len, d.subarray(s, s + len), z, base, n);
    return 0;
  }

  /**
   * Columns 0..K-1 of the block := gathered survivors times the rank-one
   * eigenvectors, as two products that skip the zero blocks: the top n1
   * rows use the TOP and BOTH columns, the bottom rows BOTH and BOTTOM.
   */
  private multiply(base: number, len: number, n1: number, k: number, counts: readonly number[]): void {
    const { n, z } = this;
    const [top, both, bottom] = counts as [number, number, number];
    for (let c = 0; c < k; c++) z.fill(0, base + c * n, base + c * n + len);
    const g = this.gathered;
    const q = this.rankOne;
    dgemmAt(false, false, n1, k, top + both, 1, g, 0, len, q, 0, k, 1, z, base, n);
    dgemmAt(false, false, len - n1, k, both + bottom, 1, g, n1 + top * len, len, q, top, k, 1, z, base + n1, n);
  }

  /**
   * Forms the rank-one problem of a merge and deflates it (dlaed2). The
   * eigenvalues of the halves are merged into ascending order; z = Q^T v is
   * scaled to unit norm (rho = 2|beta|). A component is deflated when
   * rho |z_j| <= tol, and of two eigenvalues closer than tol / |c s| the
   * earlier is deflated after a rotation that moves its z-weight onto the later
   * (the rotation is applied to the two eigenvector columns in z).
   * tol = 8 eps max(|d|, |z|), as LAPACK's: the perturbations are O(eps ||T||).
   */
  private deflate(s: number, len: number, n1: number, beta: number): Deflation {
    const { n, d, z } = this;
    const base = s + s * n;
    const rho = 2 * Math.abs(beta);
    const sign = beta < 0 ? -1 : 1;
    const cols = mergeOrder(d, s, n1, len);
    const values = new Float64Array(len);
    const zs = new Float64Array(len);
    const types = new Uint8Array(len);
    let dmax = 0,
      zmax = 0;
    for (let r = 0; r < len; r++) {
      const c = cols[r]!;
      values[r] = d[s + c]!;
      // Row n1-1 of Q1 and row n1 (= first of Q2) of the block-diagonal eigenvectors.
      zs[r] = c < n1 ? z[base + n1 - 1 + c * n]! * Math.SQRT1_2 : sign * z[base + n1 + c * n]! * Math.SQRT1_2;
      types[r] = c < n1 ? TOP : BOTTOM;
      dmax = Math.max(dmax, Math.abs(values[r]!));
      zmax = Math.max(zmax, Math.abs(zs[r]!));
    }
    const tol = 8 * EPS * Math.max(dmax, zmax);
    const kept: number[] = [];
    const deflated: number[] = [];
    let prev = -1;
    for (let r = 0; r < len; r++) {
      if (rho * Math.abs(zs[r]!) <= tol) {
        deflated.push(r);
        continue;
      }
      if (prev >= 0) {
        const t = hypot(zs[r]!, zs[prev]!);
        const c = zs[r]! / t;
        const sn = -zs[prev]! / t;
        if (Math.abs((values[r]! - values[prev]!) * c * sn) <= tol) {
          zs[r] = t;
          zs[prev] = 0;
          if (types[r] !== types[prev]) types[r] = BOTH;
          rotatePair(len, z, base + cols[prev]! * n, base + cols[r]! * n, c, sn);
          const dp = values[prev]!,
            dr = values[r]!;
          values[prev] = dp * c * c + dr * sn * sn;
          values[r] = dp * sn * sn + dr * c * c;
          deflated.push(prev);
        } else {
          kept.push(prev);
        }
      }
      prev = r;
    }
    if (prev >= 0) kept.push(prev);
    return { rho, cols, values, zs, types, kept, deflated };
  }
}

/** A deflated merge; positions r index the merged ascending order. */
interface Deflation {
  readonly rho: number;
  /** Column of the block holding the eigenvector at position r. */
  readonly cols: Int32Array;
  /** Eigenvalue at position r (after deflating rotations). */
  readonly values: Float64Array;
  /** Component of z at position r. */
  readonly zs: Float64Array;
  /** TOP, BOTH or BOTTOM for the eigenvector at position r. */
  readonly types: Uint8Array;
  /** Positions that enter the rank-one problem, ascending. */
  readonly kept: readonly number[];
  /** Positions whose eigenpair is final. */
  readonly deflated: readonly number[];
}

/** Block columns in ascending order of eigenvalue, merging the two sorted halves. */
function mergeOrder(d: Float64Array, s: number, n1: number, len: number): Int32Array {
  const out = new Int32Array(len);
  let i = 0,
    j = n1;
  for (let r = 0; r < len; r++) {
    if (j >= len || (i < n1 && d[s + i]! <= d[s + j]!)) out[r] = i++;
    else out[r] = j++;
  }
  return out;
}

/** Indices into `kept` (0..K-1) regrouped TOP, BOTH, BOTTOM, stable within each group. */
function byType(kept: readonly number[], types: Uint8Array): number[] {
  const order: number[] = [];
  for (const t of [TOP, BOTH, BOTTOM])
    kept.forEach((r, idx) => {
      if (types[r] === t) order.push(idx);
    });
  return order;
}

/** How many of the kept positions are TOP, BOTH and BOTTOM. */
function countTypes(kept: readonly number[], types: Uint8Array): number[] {
  const counts = [0, 0, 0];
  for (const r of kept) counts[types[r]!]!++;
  return counts;
}

/** Row r of the k x k matrix q becomes its row order[r], column by column. */
function permuteRows(k: number, q: Float64Array, order: readonly number[]): void {
  const tmp = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const col = c * k;
    for (let r = 0; r < k; r++) tmp[r] = q[col + order[r]!]!;
    q.set(tmp, col);
  }
}

/**
 * Sorts w[0:len] ascending and permutes the columns of the len x len block
 * of z at zOff (leading dimension ld) alike, following the permutation's
 * cycles so that each column moves once.
 */
function sortEigenpairs(len: number, w: Float64Array, z: Float64Array, zOff: number, ld: number): void {
  const perm = Array.from({ length: len }, (_, i) => i).sort((a, b) => w[a]! - w[b]!);
  const values = Float64Array.from(perm, (p) => w[p]!);
  w.set(values);
  const tmp = new Float64Array(len);
  const done = new Uint8Array(len);
  for (let c = 0; c < len; c++) {
    if (done[c] || perm[c] === c) continue;
    tmp.set(z.subarray(zOff + c * ld, zOff + c * ld + len));
    let j = c;
    while (perm[j] !== c) {
      const src = zOff + perm[j]! * ld;
      z.copyWithin(zOff + j * ld, src, src + len);
      done[j] = 1;
      j = perm[j]!;
    }
    z.set(tmp, zOff + j * ld);
    done[j] = 1;
  }
}
