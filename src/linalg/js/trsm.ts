/**
 * Triangular solves (BLAS dtrsm) for the pure TypeScript backend: recursive
 * blocking that sends almost every flop through the packed gemm of blas.ts,
 * with substitution on triangles of at most TRSM_LEAF. No Node APIs.
 */
import { dgemmAt, MR, scaleBlock } from './blas.js';

/** Triangles at most this large are solved directly, not split recursively. */
const TRSM_LEAF = 32;

/**
 * Triangular solve with many right-hand sides, in place in B (m x n):
 * left: op(A) X = alpha B with A m x m; right: X op(A) = alpha B with A n x n.
 * A is lower triangular when `lower`, upper otherwise; its other triangle is
 * not read, nor its diagonal when `unitDiag`.
 *
 * Recursive: the triangle is halved, the off-diagonal block is applied with
 * gemm, and only triangles of at most 32 are solved by substitution, so
 * almost all flops run in the packed gemm (Elmroth, Gustavson, Jonsson &
 * Kågström, "Recursive blocked algorithms and hybrid data structures for
 * dense matrix library software", SIAM Review 46(1), 2004). Substitution is
 * backward stable (Higham, "Accuracy and Stability of Numerical Algorithms",
 * 2nd ed., 2002, ch. 8), and so is this blocked form.
 */
export function dtrsm(
  left: boolean,
  lower: boolean,
  transA: boolean,
  unitDiag: boolean,
  m: number,
  n: number,
  alpha: number,
  a: Float64Array,
  b: Float64Array,
): void {
  dtrsmAt(left, lower, transA, unitDiag, m, n, alpha, a, 0, left ? m : n, b, 0, m);
}

/** `dtrsm` on sub-blocks given as (array, offset, leading dimension). */
export function dtrsmAt(
  left: boolean,
  lower: boolean,
  transA: boolean,
  unitDiag: boolean,
  m: number,
  n: number,
  alpha: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  b: Float64Array,
  bOff: number,
  ldb: number,
): void {
  if (m === 0 || n === 0) return;
  scaleBlock(m, n, alpha, b, bOff, ldb);
  if (alpha === 0) return;
  // op(A) is lower triangular exactly when A is lower xor transposed.
  const opLower = lower !== transA;
  if (left) solveLeft(opLower, transA, unitDiag, m, n, a, aOff, lda, b, bOff, ldb);
  else solveRight(opLower, transA, unitDiag, m, n, a, aOff, lda, b, bOff, ldb);
}

/**
 * Split point of a triangle of order n > TRSM_LEAF: about half, rounded down
 * to a multiple of MR so that the gemm between the halves has full tiles.
 */
function splitPoint(n: number): number {
  return (n >> 1) & ~(MR - 1);
}

/**
 * op(A) X = B in place, op(A) m x m triangular (lower when opLower). op(A)'s
 * element (i, j) is a[aOff + i rs + j cs] with (rs, cs) = (1, lda), or
 * (lda, 1) when transA.
 */
function solveLeft(
  opLower: boolean,
  transA: boolean,
  unit: boolean,
  m: number,
  n: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  b: Float64Array,
  bOff: number,
  ldb: number,
): void {
  if (m <= TRSM_LEAF) {
    substituteLeft(opLower, transA, unit, m, n, a, aOff, lda, b, bOff, ldb);
    return;
  }
  const rs = transA ? lda : 1;
  const cs = transA ? 1 : lda;
  const m1 = splitPoint(m);
  const m2 = m - m1;
  const a22 = aOff + m1 * (rs + cs);
  if (opLower) {
    solveLeft(opLower, transA, unit, m1, n, a, aOff, lda, b, bOff, ldb);
    dgemmAt(transA, false, m2, n, m1, -1, a, aOff + m1 * rs, lda, b, bOff, ldb, 1, b, bOff + m1, ldb);
    solveLeft(opLower, transA, unit, m2, n, a, a22, lda, b, bOff + m1, ldb);
  } else {
    solveLeft(opLower, transA, unit, m2, n, a, a22, lda, b, bOff + m1, ldb);
    dgemmAt(transA, false, m1, n, m2, -1, a, aOff + m1 * cs, lda, b, bOff + m1, ldb, 1, b, bOff, ldb);
    solveLeft(opLower, transA, unit, m1, n, a, aOff, lda, b, bOff, ldb);
  }
}

/** X op(A) = B in place, op(A) n x n triangular; strides as in solveLeft. */
function solveRight(
  opLower: boolean,
  transA: boolean,
  unit: boolean,
  m: number,
  n: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  b: Float64Array,
  bOff: number,
  ldb: number,
): void {
  if (n <= TRSM_LEAF) {
    substituteRight(opLower, transA, unit, m, n, a, aOff, lda, b, bOff, ldb);
    return;
  }
  const rs = transA ? lda : 1;
  const cs = transA ? 1 : lda;
  const n1 = splitPoint(n);
  const n2 = n - n1;
  const a22 = aOff + n1 * (rs + cs);
  const b2 = bOff + n1 * ldb;
  if (opLower) {
    solveRight(opLower, transA, unit, m, n2, a, a22, lda, b, b2, ldb);
    dgemmAt(false, transA, m, n1, n2, -1, b, b2, ldb, a, aOff + n1 * rs, lda, 1, b, bOff, ldb);
    solveRight(opLower, transA, unit, m, n1, a, aOff, lda, b, bOff, ldb);
  } else {
    solveRight(opLower, transA, unit, m, n1, a, aOff, lda, b, bOff, ldb);
    dgemmAt(false, transA, m, n2, n1, -1, b, bOff, ldb, a, aOff + n1 * cs, lda, 1, b, b2, ldb);
    solveRight(opLower, transA, unit, m, n2, a, a22, lda, b, b2, ldb);
  }
}

/**
 * Forward or back substitution for op(A) X = B, one column of B at a time.
 * Each solved x_i is eliminated from the rest of its column at once (axpy
 * form), which keeps the inner loop on a contiguous column of B.
 */
function substituteLeft(
  opLower: boolean,
  transA: boolean,
  unit: boolean,
  m: number,
  n: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  b: Float64Array,
  bOff: number,
  ldb: number,
): void {
  const rs = transA ? lda : 1;
  const cs = transA ? 1 : lda;
  for (let j = 0; j < n; j++) {
    const col = bOff + j * ldb;
    for (let step = 0; step < m; step++) {
      const i = opLower ? step : m - 1 - step;
      let x = b[col + i]!;
      if (!unit) x /= a[aOff + i * (rs + cs)]!;
      b[col + i] = x;
      const ai = aOff + i * cs;
      const lo = opLower ? i + 1 : 0;
      const hi = opLower ? m : i;
      for (let r = lo; r < hi; r++) b[col + r]! -= x * a[ai + r * rs]!;
    }
  }
}

/**
 * Substitution for X op(A) = B, one column of X at a time in the order the
 * triangle allows; each column update is an axpy over a column of B.
 */
function substituteRight(
  opLower: boolean,
  transA: boolean,
  unit: boolean,
  m: number,
  n: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  b: Float64Array,
  bOff: number,
  ldb: number,
): void {
  const rs = transA ? lda : 1;
  const cs = transA ? 1 : lda;
  for (let step = 0; step < n; step++) {
    // Column j of X depends on the columns p with op(A)(p, j) != 0, p != j.
    const j = opLower ? n - 1 - step : step;
    const colj = bOff + j * ldb;
    const lo = opLower ? j + 1 : 0;
    const hi = opLower ? n : j;
    for (let p = lo; p < hi; p++) {
      const t = a[aOff + p * rs + j * cs]!;
      const colp = bOff + p * ldb;
      for (let i = 0; i < m; i++) b[colj + i]! -= t * b[colp + i]!;
    }
    if (!unit) {
      const d = a[aOff + j * (rs + cs)]!;
      for (let i = 0; i < m; i++) b[colj + i]! /= d;
    }
  }
}
