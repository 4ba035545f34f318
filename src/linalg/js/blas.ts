/**
 * Pure TypeScript BLAS kernels (level 2 and 3) on dense column-major
 * `Float64Array`s, with the semantics of the `Kernels` contract (kernels.ts).
 *
 * The public routines take whole matrices whose leading dimension is their
 * row count. The `*At` variants take an offset and a leading dimension per
 * operand so that blocked algorithms (Cholesky, recursive solves) can work on
 * sub-blocks in place; they are exported for cholesky.ts and trsm.ts.
 *
 * No Node APIs are used: this module runs unchanged in a browser.
 */

/** Micro-tile height: rows of C held in registers by the micro-kernel. */
export const MR = 4;
/** Micro-tile width: columns of C held in registers by the micro-kernel. */
export const NR = 4;
/** Depth of a packed panel; a 4 x KC sliver of A and of B (8 KiB each) stay in L1. */
export const KC = 256;
/** Rows of a packed block of A; MC x KC doubles (256 KiB) stay in L2. */
export const MC = 128;
/** Columns of a packed panel of B; KC x NC doubles (4 MiB) live in L3. */
export const NC = 2048;

/** Diagonal offset meaning "every element of the tile is stored" (general gemm). */
export const NO_TRIANGLE = 1 << 30;

// Grow-only packing buffers shared by every call; JS is single-threaded and
// no routine here re-enters gemm while a packed panel is live.
let packedA = new Float64Array(0);
let packedB = new Float64Array(0);
/** The MR x NR result of the last micro-kernel call, column-major. */
const tile = new Float64Array(MR * NR);

/**
 * General matrix product C = alpha op(A) op(B) + beta C, with op(A) m x k,
 * op(B) k x n and C m x n. A is stored m x k (k x m when transA), B is stored
 * k x n (n x k when transB). When beta is 0, C is not read.
 *
 * Packed, cache-blocked algorithm of Goto & van de Geijn, "Anatomy of
 * high-performance matrix multiplication", ACM TOMS 34(3), 2008: panels of
 * op(A) and op(B) are copied into contiguous buffers (absorbing the
 * transposes and alpha), and a 4 x 4 register-blocked micro-kernel runs over them.
 */
export function dgemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  b: Float64Array,
  beta: number,
  c: Float64Array,
): void {
  dgemmAt(transA, transB, m, n, k, alpha, a, 0, transA ? k : m, b, 0, transB ? n : k, beta, c, 0, m);
}

/**
 * `dgemm` on sub-blocks: each operand is given as (array, offset of its first
 * element, leading dimension), exactly as in Fortran BLAS. The regions of C
 * and of A, B must not overlap.
 */
export function dgemmAt(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  b: Float64Array,
  bOff: number,
  ldb: number,
  beta: number,
  c: Float64Array,
  cOff: number,
  ldc: number,
): void {
  if (m === 0 || n === 0) return;
  scaleBlock(m, n, beta, c, cOff, ldc);
  if (alpha === 0 || k === 0) return;
  // A single column is a matrix-vector product: packing A would cost as much
  // as the product itself (measured 3x slower than gemv; from 2 columns on,
  // packing breaks even or wins).
  if (n === 1) {
    gemvAdd(transA, transA ? k : m, transA ? m : k, alpha, a, aOff, lda, b, bOff, transB ? ldb : 1, c, cOff);
  } else {
    packedGemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, false);
  }
}

/**
 * Symmetric rank-k update of the lower triangle of C (n x n):
 * C = alpha op(A) op(A)^T + beta C, where op(A) is A (stored n x k) or, when
 * trans, A^T (A stored k x n). The strict upper triangle is not touched and
 * beta = 0 means C is not read.
 *
 * Runs the packed gemm machinery, skipping micro-tiles above the diagonal, so
 * it costs about half a gemm.
 */
export function dsyrk(trans: boolean, n: number, k: number, alpha: number, a: Float64Array, beta: number, c: Float64Array): void {
  dsyrkAt(trans, n, k, alpha, a, 0, trans ? k : n, beta, c, 0, n);
}

/** `dsyrk` on sub-blocks given as (array, offset, leading dimension). */
export function dsyrkAt(
  trans: boolean,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  beta: number,
  c: Float64Array,
  cOff: number,
  ldc: number,
): void {
  if (n === 0) return;
  scaleLower(n, beta, c, cOff, ldc);
  if (alpha === 0 || k === 0) return;
  // op(A) op(A)^T is the gemm whose second operand is A with the other transpose.
  packedGemm(trans, !trans, n, n, k, alpha, a, aOff, lda, a, aOff, lda, c, cOff, ldc, true);
}

/**
 * Matrix-vector product y = alpha op(A) x + beta y, with A stored m x n; x has
 * length n (m when trans) and y length m (n when trans). When beta is 0, y is
 * not read (Golub & Van Loan, "Matrix Computations", 4th ed., 2013, sec. 1.1:
 * the column-oriented saxpy and dot-product forms).
 */
export function dgemv(trans: boolean, m: number, n: number, alpha: number, a: Float64Array, x: Float64Array, beta: number, y: Float64Array): void {
  scaleBlock(trans ? n : m, 1, beta, y, 0, 1);
  if (alpha === 0) return;
  gemvAdd(trans, m, n, alpha, a, 0, m, x, 0, 1, y, 0);
}

/** C = beta C on an m x n block; beta = 0 writes zeros without reading C. */
export function scaleBlock(m: number, n: number, beta: number, c: Float64Array, cOff: number, ldc: number): void {
  if (beta === 1) return;
  for (let j = 0; j < n; j++) {
    const col = cOff + j * ldc;
    if (beta === 0) c.fill(0, col, col + m);
    else for (let i = 0; i < m; i++) c[col + i]! *= beta;
  }
}

/** beta C on the lower triangle (diagonal included) of an n x n block. */
export function scaleLower(n: number, beta: number, c: Float64Array, cOff: number, ldc: number): void {
  for (let j = 0; j < n; j++) scaleBlock(n - j, 1, beta, c, cOff + j + j * ldc, ldc);
}

/**
 * y += alpha op(A) x, A stored m x n at aOff with leading dimension lda, x
 * with stride incx, y contiguous. Both forms read A's columns contiguously:
 * axpy updates for A x, dot products for A^T x.
 */
function gemvAdd(
  trans: boolean,
  m: number,
  n: number,
  alpha: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  x: Float64Array,
  xOff: number,
  incx: number,
  y: Float64Array,
  yOff: number,
): void {
  for (let j = 0; j < n; j++) {
    const col = aOff + j * lda;
    if (trans) {
      let s = 0;
      for (let i = 0; i < m; i++) s += a[col + i]! * x[xOff + i * incx]!;
      y[yOff + j]! += alpha * s;
    } else {
      const t = alpha * x[xOff + j * incx]!;
      for (let i = 0; i < m; i++) y[yOff + i]! += t * a[col + i]!;
    }
  }
}

/**
 * C += alpha op(A) op(B) through packed panels (Goto & van de Geijn 2008,
 * loop order jc, pc, ic, jr, ir). With `lowerOnly`, C is square and only its
 * lower triangle is updated: blocks and micro-tiles wholly above the diagonal
 * are skipped, which is what makes dsyrk half the cost of gemm.
 */
function packedGemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  b: Float64Array,
  bOff: number,
  ldb: number,
  c: Float64Array,
  cOff: number,
  ldc: number,
  lowerOnly: boolean,
): void {
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packB(reserveB(Math.ceil(nc / NR) * NR * kc), transB, b, bOff, ldb, pc, jc, kc, nc);
      // In the triangular case, rows above jc lie wholly above the diagonal.
      for (let ic = lowerOnly ? jc : 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packA(reserveA(Math.ceil(mc / MR) * MR * kc), transA, alpha, a, aOff, lda, ic, pc, mc, kc);
        const diag = lowerOnly ? ic - jc : NO_TRIANGLE;
        macroKernel(mc, nc, kc, c, cOff + ic + jc * ldc, ldc, diag);
      }
    }
  }
}

/** Grows the packing buffer of A to at least `size` doubles. */
function reserveA(size: number): Float64Array {
  if (packedA.length < size) packedA = new Float64Array(size);
  return packedA;
}

/** Grows the packing buffer of B to at least `size` doubles. */
function reserveB(size: number): Float64Array {
  if (packedB.length < size) packedB = new Float64Array(size);
  return packedB;
}

/**
 * Packs alpha op(A)[i0:i0+mc, p0:p0+kc] into `pa` (at least ceil(mc / MR) MR kc
 * long) as slivers of MR rows: sliver s holds,
 * for each p, the MR values op(A)[i0 + s MR + r, p0 + p] contiguously, so the
 * micro-kernel reads A with unit stride. The rows of a last, partial sliver
 * past mc keep stale values: they only reach tile entries that are never
 * stored, so edge tiles run the same kernel without zero padding.
 */
export function packA(
  pa: Float64Array,
  trans: boolean,
  alpha: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  i0: number,
  p0: number,
  mc: number,
  kc: number,
): void {
  let dst = 0;
  for (let i = 0; i < mc; i += MR) {
    const rows = Math.min(MR, mc - i);
    if (trans) {
      // Row i of op(A) is column i of A: read contiguously, write with stride MR.
      for (let r = 0; r < rows; r++) {
        const src = aOff + p0 + (i0 + i + r) * lda;
        for (let p = 0; p < kc; p++) pa[dst + p * MR + r] = alpha * a[src + p]!;
      }
    } else if (rows === MR) {
      let src = aOff + i0 + i + p0 * lda;
      for (let p = 0; p < kc; p++, src += lda) {
        const d = dst + p * MR;
        pa[d] = alpha * a[src]!;
        pa[d + 1] = alpha * a[src + 1]!;
        pa[d + 2] = alpha * a[src + 2]!;
        pa[d + 3] = alpha * a[src + 3]!;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const src = aOff + i0 + i + (p0 + p) * lda;
        for (let r = 0; r < rows; r++) pa[dst + p * MR + r] = alpha * a[src + r]!;
      }
    }
    dst += MR * kc;
  }
}

/**
 * Packs op(B)[p0:p0+kc, j0:j0+nc] into `pb` (at least ceil(nc / NR) NR kc long)
 * as slivers of NR columns: sliver s holds,
 * for each p, the NR values op(B)[p0 + p, j0 + s NR + c] contiguously.
 * Columns past nc keep stale values, as in packA.
 */
export function packB(pb: Float64Array, trans: boolean, b: Float64Array, bOff: number, ldb: number, p0: number, j0: number, kc: number, nc: number): void {
  let dst = 0;
  for (let j = 0; j < nc; j += NR) {
    const cols = Math.min(NR, nc - j);
    if (!trans) {
      // Column j of op(B) is column j of B: read contiguously, write with stride NR.
      for (let s = 0; s < cols; s++) {
        const src = bOff + p0 + (j0 + j + s) * ldb;
        for (let p = 0; p < kc; p++) pb[dst + p * NR + s] = b[src + p]!;
      }
    } else if (cols === NR) {
      let src = bOff + j0 + j + p0 * ldb;
      for (let p = 0; p < kc; p++, src += ldb) {
        const d = dst + p * NR;
        pb[d] = b[src]!;
        pb[d + 1] = b[src + 1]!;
        pb[d + 2] = b[src + 2]!;
        pb[d + 3] = b[src + 3]!;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const src = bOff + j0 + j + (p0 + p) * ldb;
        for (let s = 0; s < cols; s++) pb[dst + p * NR + s] = b[src + s]!;
      }
    }
    dst += NR * kc;
  }
}

/**
 * Runs the micro-kernel over every MR x NR tile of an mc x nc block of C
 * (starting at cOff) from the packed buffers. `diag` is the row index minus
 * the column index of the block's first element relative to the diagonal of
 * a triangular C; NO_TRIANGLE for a general C.
 */
function macroKernel(mc: number, nc: number, kc: number, c: Float64Array, cOff: number, ldc: number, diag: number): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = Math.min(NR, nc - jr);
    for (let ir = 0; ir < mc; ir += MR) {
      const mr = Math.min(MR, mc - ir);
      const d = diag + ir - jr;
      // Every element of the tile is above the diagonal.
      if (d + mr - 1 < 0) continue;
      microKernel(kc, packedA, ir * kc, packedB, jr * kc);
      const ci = cOff + ir + jr * ldc;
      if (mr === MR && nr === NR && d >= NR - 1) addTile(c, ci, ldc);
      else addPartialTile(c, ci, ldc, mr, nr, d);
    }
  }
}

/**
 * tile = A_sliver B_sliver over kc steps, the 16 sums held in locals so that
 * V8 keeps them in registers; each step loads 8 values for 32 flops.
 */
function microKernel(kc: number, pa: Float64Array, ia: number, pb: Float64Array, ib: number): void {
  let c00 = 0,
    c10 = 0,
    c20 = 0,
    c30 = 0;
  let c01 = 0,
    c11 = 0,
    c21 = 0,
    c31 = 0;
  let c02 = 0,
    c12 = 0,
    c22 = 0,
    c32 = 0;
  let c03 = 0,
    c13 = 0,
    c23 = 0,
    c33 = 0;
  for (let p = 0; p < kc; p++, ia += MR, ib += NR) {
    const a0 = pa[ia]!,
      a1 = pa[ia + 1]!,
      a2 = pa[ia + 2]!,
      a3 = pa[ia + 3]!;
    const b0 = pb[ib]!;
    c00 += a0 * b0;
    c10 += a1 * b0;
    c20 += a2 * b0;
    c30 += a3 * b0;
    const b1 = pb[ib + 1]!;
    c01 += a0 * b1;
    c11 += a1 * b1;
    c21 += a2 * b1;
    c31 += a3 * b1;
    const b2 = pb[ib + 2]!;
    c02 += a0 * b2;
    c12 += a1 * b2;
    c22 += a2 * b2;
    c32 += a3 * b2;
    const b3 = pb[ib + 3]!;
    c03 += a0 * b3;
    c13 += a1 * b3;
    c23 += a2 * b3;
    c33 += a3 * b3;
  }
  tile[0] = c00;
  tile[1] = c10;
  tile[2] = c20;
  tile[3] = c30;
  tile[4] = c01;
  tile[5] = c11;
  tile[6] = c21;
  tile[7] = c31;
  tile[8] = c02;
  tile[9] = c12;
  tile[10] = c22;
  tile[11] = c32;
  tile[12] = c03;
  tile[13] = c13;
  tile[14] = c23;
  tile[15] = c33;
}

/** C[ci..] += tile for a full MR x NR tile. */
function addTile(c: Float64Array, ci: number, ldc: number): void {
  for (let s = 0; s < NR; s++, ci += ldc) {
    const t = s * MR;
    c[ci]! += tile[t]!;
    c[ci + 1]! += tile[t + 1]!;
    c[ci + 2]! += tile[t + 2]!;
    c[ci + 3]! += tile[t + 3]!;
  }
}

/**
 * C[ci..] += the leading mr x nr part of tile, restricted to elements on or
 * below the diagonal; d is the row minus column index of the tile's first element.
 */
function addPartialTile(c: Float64Array, ci: number, ldc: number, mr: number, nr: number, d: number): void {
  for (let s = 0; s < nr; s++) {
    for (let r = Math.max(0, s - d); r < mr; r++) c[ci + r + s * ldc]! += tile[r + s * MR]!;
  }
}
