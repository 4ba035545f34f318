/**
 * dgemm and dsyrk on the WebAssembly SIMD macro-kernel (gemm.wat): the packed,
 * cache-blocked algorithm of the js kernels (Goto & van de Geijn, ACM TOMS
 * 34(3), 2008), with the panels packed by js/blas.ts straight into the wasm
 * memory and the tile loop run in wasm (its tiles are js's MR x NR = 4 x 4). Each C block is copied into the wasm
 * memory and back around the macro-kernel: 2 mc nc copies against 2 mc nc kc
 * flops, under 1% of the work.
 *
 * Browser-safe: no Node APIs. The module is compiled synchronously (942
 * bytes, under the 4 KiB that Chromium allows on a page's main thread).
 */
import { dgemm as jsDgemm, KC, MC, NC, NO_TRIANGLE, packA, packB, scaleBlock, scaleLower } from '../js/blas.js';
import { GEMM_WASM_BASE64 } from './gemm-bytes.js';

/** What `macroKernel` of gemm.wat computes; see there. */
type MacroKernel = (mc: number, nc: number, kc: number, diag: number, pa: number, pb: number, c: number, ldc: number) => void;

/** The part of the WebAssembly API used here (lib ES2022 does not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: { memory: WasmMemory; macroKernel: MacroKernel } };
}

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** This runtime's WebAssembly, if any. */
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** Byte layout of the wasm memory: scratch tile, packed A, packed B, C block. */
const PA = 1024;
const PB = PA + MC * KC * 8;
const PC = PB + KC * NC * 8;
const BYTES = PC + MC * NC * 8;

/** A live instance of the kernel with typed views on its regions. */
interface Instance {
  macroKernel: MacroKernel;
  pa: Float64Array;
  pb: Float64Array;
  pc: Float64Array;
}

let instance: Instance | undefined;

/** The kernel's bytes, decoded from the generated base64 module. */
export function gemmWasmBytes(): Uint8Array {
  const bin = atob(GEMM_WASM_BASE64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/**
 * Why the wasm kernel cannot run here (no WebAssembly, or no simd128), or
 * undefined when it can. Validating the module itself is the SIMD test.
 */
export function wasmUnavailableReason(): string | undefined {
  if (wasm === undefined || typeof wasm.validate !== 'function') return 'this runtime has no WebAssembly';
  if (!wasm.validate(gemmWasmBytes())) return 'this runtime lacks WebAssembly SIMD (simd128)';
  return undefined;
}

/** The kernel instance of this realm (worker, page or Node), made on first use. */
function getInstance(): Instance {
  if (instance !== undefined) return instance;
  if (wasm === undefined) throw new Error('wasm gemm: this runtime has no WebAssembly');
  const { exports } = new wasm.Instance(new wasm.Module(gemmWasmBytes()), {});
  const memory = exports.memory;
  // Grown once, so the views below never detach.
  memory.grow(Math.ceil((BYTES - memory.buffer.byteLength) / 65536));
  instance = {
    macroKernel: exports.macroKernel,
    pa: new Float64Array(memory.buffer, PA, MC * KC),
    pb: new Float64Array(memory.buffer, PB, KC * NC),
    pc: new Float64Array(memory.buffer, PC, MC * NC),
  };
  return instance;
}

/**
 * C = alpha op(A) op(B) + beta C, with the `Kernels.dgemm` contract
 * (kernels.ts): op(A) m x k, op(B) k x n, column-major, leading dimensions
 * the row counts; beta = 0 means C is not read. A single column goes to the
 * js kernel's matrix-vector path, as js does. The sums are formed in the js
 * kernel's order without fused multiply-adds, so C is bit-identical to
 * js's `dgemm`.
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
  if (n <= 1 || m === 0) {
    jsDgemm(transA, transB, m, n, k, alpha, a, b, beta, c);
    return;
  }
  scaleBlock(m, n, beta, c, 0, m);
  if (alpha === 0 || k === 0) return;
  packedGemm(transA, transB, m, n, k, alpha, a, transA ? k : m, b, transB ? n : k, c, false);
}

/**
 * Lower triangle of C (n x n) = alpha op(A) op(A)^T + beta C, with the
 * `Kernels.dsyrk` contract: op(A) is A (n x k) or, when trans, A^T (A stored
 * k x n); the strict upper triangle is untouched; beta = 0 means C is not
 * read. Bit-identical to js's `dsyrk`.
 */
export function dsyrk(trans: boolean, n: number, k: number, alpha: number, a: Float64Array, beta: number, c: Float64Array): void {
  if (n === 0) return;
  scaleLower(n, beta, c, 0, n);
  if (alpha === 0 || k === 0) return;
  const lda = trans ? k : n;
  packedGemm(trans, !trans, n, n, k, alpha, a, lda, a, lda, c, true);
}

/**
 * C += alpha op(A) op(B) (lower triangle only when `lowerOnly`), the loops
 * jc, pc, ic of js/blas.ts's packedGemm with the jr, ir loops in wasm.
 */
function packedGemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  lda: number,
  b: Float64Array,
  ldb: number,
  c: Float64Array,
  lowerOnly: boolean,
): void {
  const w = getInstance();
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packB(w.pb, transB, b, 0, ldb, pc, jc, kc, nc);
      for (let ic = lowerOnly ? jc : 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packA(w.pa, transA, alpha, a, 0, lda, ic, pc, mc, kc);
        const diag = lowerOnly ? ic - jc : NO_TRIANGLE;
        copyBlock(c, ic + jc * m, m, w.pc, 0, mc, mc, nc);
        w.macroKernel(mc, nc, kc, diag, PA, PB, PC, mc);
        copyBlock(w.pc, 0, mc, c, ic + jc * m, m, mc, nc);
      }
    }
  }
}

/** Copies an mr x nc column-major block between arrays of leading dimensions ldFrom, ldTo. */
function copyBlock(from: Float64Array, fromOff: number, ldFrom: number, to: Float64Array, toOff: number, ldTo: number, mr: number, nc: number): void {
  for (let j = 0; j < nc; j++) {
    const src = fromOff + j * ldFrom;
    to.set(from.subarray(src, src + mr), toOff + j * ldTo);
  }
}
