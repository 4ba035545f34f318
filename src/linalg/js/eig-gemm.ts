/**
 * Register-blocked matrix products on column-major sub-blocks, for the
 * eigenvalue and singular value routines (syevd.ts, gesdd.ts). They are
 * self-contained on purpose: the eigen solvers must not depend on the
 * general BLAS (blas.ts), and only need the two shapes below, which stream
 * contiguous columns without packing.
 *
 * Every operand is given as (array, offset of its first element, leading
 * dimension), as in Fortran BLAS. No Node APIs are used.
 */

/** Rows of C per block of gemmNN: 2 columns of C and 4 of A (6 x 4 KiB) stay in L1. */
const ROW_BLOCK = 512;
/** Depth per block of gemmNN, so that a ROW_BLOCK x DEPTH_BLOCK slab of A (1 MiB) stays in L2. */
const DEPTH_BLOCK = 256;

/**
 * C += alpha A B with A m x k, B k x n and C m x n (column-major sub-blocks).
 *
 * Axpy form: each pass over a column of C adds four columns of A, and two
 * columns of C share every load of A, so a step loads 6 values for 16 flops.
 * Rows and depth are blocked so that the slab of A being reused stays in cache.
 */
export function gemmNN(
  m: number, n: number, k: number, alpha: number,
  a: Float64Array, aOff: number, lda: number,
  b: Float64Array, bOff: number, ldb: number,
  c: Float64Array, cOff: number, ldc: number,
): void {
  if (alpha === 0) return;
  for (let i0 = 0; i0 < m; i0 += ROW_BLOCK) {
    const i1 = Math.min(m, i0 + ROW_BLOCK);
    for (let p0 = 0; p0 < k; p0 += DEPTH_BLOCK) {
      const p1 = Math.min(k, p0 + DEPTH_BLOCK);
      let j = 0;
      for (; j + 2 <= n; j += 2) {
        nnTwoColumns(i0, i1, p0, p1, alpha, a, aOff, lda, b, bOff + j * ldb, ldb, c, cOff + j * ldc, ldc);
      }
      if (j < n) nnOneColumn(i0, i1, p0, p1, alpha, a, aOff, lda, b, bOff + j * ldb, c, cOff + j * ldc);
    }
  }
}

/** C[i0:i1, 0:2] += alpha A[i0:i1, p0:p1] B[p0:p1, 0:2]; `bj`, `cj` point at column 0. */
function nnTwoColumns(
  i0: number, i1: number, p0: number, p1: number, alpha: number,
  a: Float64Array, aOff: number, lda: number, b: Float64Array, bj: number, ldb: number,
  c: Float64Array, cj: number, ldc: number,
): void {
  const c0 = cj, c1 = cj + ldc;
  const bk = bj + ldb;
  let p = p0;
  for (; p + 4 <= p1; p += 4) {
    const a0 = aOff + p * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
    const b00 = alpha * b[bj + p], b10 = alpha * b[bj + p + 1], b20 = alpha * b[bj + p + 2], b30 = alpha * b[bj + p + 3];
    const b01 = alpha * b[bk + p], b11 = alpha * b[bk + p + 1], b21 = alpha * b[bk + p + 2], b31 = alpha * b[bk + p + 3];
    for (let i = i0; i < i1; i++) {
      const x0 = a[a0 + i], x1 = a[a1 + i], x2 = a[a2 + i], x3 = a[a3 + i];
      c[c0 + i] += x0 * b00 + x1 * b10 + x2 * b20 + x3 * b30;
      c[c1 + i] += x0 * b01 + x1 * b11 + x2 * b21 + x3 * b31;
    }
  }
  for (; p < p1; p++) {
    const a0 = aOff + p * lda;
    const b00 = alpha * b[bj + p], b01 = alpha * b[bk + p];
    for (let i = i0; i < i1; i++) {
      const x0 = a[a0 + i];
      c[c0 + i] += x0 * b00;
      c[c1 + i] += x0 * b01;
    }
  }
}

/** C[i0:i1, 0] += alpha A[i0:i1, p0:p1] B[p0:p1, 0]. */
function nnOneColumn(
  i0: number, i1: number, p0: number, p1: number, alpha: number,
  a: Float64Array, aOff: number, lda: number, b: Float64Array, bj: number,
  c: Float64Array, c0: number,
): void {
  let p = p0;
  for (; p + 4 <= p1; p += 4) {
    const a0 = aOff + p * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
    const b0 = alpha * b[bj + p], b1 = alpha * b[bj + p + 1], b2 = alpha * b[bj + p + 2], b3 = alpha * b[bj + p + 3];
    for (let i = i0; i < i1; i++) c[c0 + i] += a[a0 + i] * b0 + a[a1 + i] * b1 + a[a2 + i] * b2 + a[a3 + i] * b3;
  }
  for (; p < p1; p++) {
    const a0 = aOff + p * lda;
    const b0 = alpha * b[bj + p];
    for (let i = i0; i < i1; i++) c[c0 + i] += a[a0 + i] * b0;
  }
}

/**
 * C += alpha A^T B with A stored k x m, B k x n and C m x n (column-major
 * sub-blocks).
 *
 * Dot form: a 4 x 2 tile of C is accumulated in registers over the whole
 * depth, reading four columns of A and two of B contiguously (6 loads for 16
 * flops). Used with a short m (a block of Householder vectors), so the
 * columns of A stay in cache while B streams.
 */
export function gemmTN(
  m: number, n: number, k: number, alpha: number,
  a: Float64Array, aOff: number, lda: number,
  b: Float64Array, bOff: number, ldb: number,
  c: Float64Array, cOff: number, ldc: number,
): void {
  if (alpha === 0) return;
  let j = 0;
  for (; j + 2 <= n; j += 2) {
    let i = 0;
    for (; i + 4 <= m; i += 4) tnTile(i, j, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
    for (; i < m; i++) {
      tnDot(i, j, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
      tnDot(i, j + 1, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
    }
  }
  if (j < n) for (let i = 0; i < m; i++) tnDot(i, j, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
}

/** C[i:i+4, j:j+2] += alpha A[:, i:i+4]^T B[:, j:j+2]. */
function tnTile(
  i: number, j: number, k: number, alpha: number,
  a: Float64Array, aOff: number, lda: number, b: Float64Array, bOff: number, ldb: number,
  c: Float64Array, cOff: number, ldc: number,
): void {
  const a0 = aOff + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
  const b0 = bOff + j * ldb, b1 = b0 + ldb;
  let s00 = 0, s10 = 0, s20 = 0, s30 = 0, s01 = 0, s11 = 0, s21 = 0, s31 = 0;
  for (let p = 0; p < k; p++) {
    const y0 = b[b0 + p], y1 = b[b1 + p];
    const x0 = a[a0 + p], x1 = a[a1 + p], x2 = a[a2 + p], x3 = a[a3 + p];
    s00 += x0 * y0; s10 += x1 * y0; s20 += x2 * y0; s30 += x3 * y0;
    s01 += x0 * y1; s11 += x1 * y1; s21 += x2 * y1; s31 += x3 * y1;
  }
  const c0 = cOff + i + j * ldc, c1 = c0 + ldc;
  c[c0] += alpha * s00; c[c0 + 1] += alpha * s10; c[c0 + 2] += alpha * s20; c[c0 + 3] += alpha * s30;
  c[c1] += alpha * s01; c[c1 + 1] += alpha * s11; c[c1 + 2] += alpha * s21; c[c1 + 3] += alpha * s31;
}

/** C[i, j] += alpha A[:, i] . B[:, j]. */
function tnDot(
  i: number, j: number, k: number, alpha: number,
  a: Float64Array, aOff: number, lda: number, b: Float64Array, bOff: number, ldb: number,
  c: Float64Array, cOff: number, ldc: number,
): void {
  const ai = aOff + i * lda, bj = bOff + j * ldb;
  let s = 0;
  for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
  c[cOff + i + j * ldc] += alpha * s;
}
