/**
 * dgemm and dsyrk on the WebAssembly SIMD macro-kernel (gemm.wat): the packed,
 * cache-blocked algorithm of the js kernels (Goto & van de Geijn, ACM TOMS
 * 34(3), 2008), with the panels packed by js/blas.ts straight into the wasm
 * memory and the tile loop (js's MR x NR = 4 x 4 tiles) run in wasm.
 *
 * wasm cannot address the caller's arrays, so each mc x nc block of C is
 * copied into the wasm memory, updated over the whole depth k, and copied
 * back. For that the loops run jc, ic, pc (js runs jc, pc, ic) with every
 * kc-deep panel of op(B)'s nc columns packed up front and kept in the wasm
 * memory (nc is cut so that they fit in B_BUDGET): the copies are then 2 mc nc
 * against 2 mc nc k flops. Copying per kc step instead cost 20% of the time
 * (measured). Each element of C still gets its kc-blocks' sums in js's
 * order, so the results stay bit-identical to js's.
 *
 * Browser-safe: no Node APIs. The module is compiled synchronously (942
 * bytes, under the 4 KiB that Chromium allows on a page's main thread).
 */
import { dgemm as jsDgemm, KC, MC, NC, NO_TRIANGLE, NR, packA, packB, scaleBlock, scaleLower } from '../js/blas.js';
import { GEMM_WASM_HEX } from './gemm-bytes.js';

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
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Byte layout of the wasm memory: scratch tile, packed A, the C block, then the packed panels of B. */
const PA = 1024;
const PC = PA + MC * KC * 8;
const PB = PC + MC * NC * 8;
/** Bytes of packed B panels kept at once (bounds the wasm memory at ~35 MiB). */
const B_BUDGET = 32 << 20;

/** A live instance of the kernel with typed views on its regions. */
interface Instance {
  macroKernel: MacroKernel;
  memory: WasmMemory;
  pa: Float64Array;
  pc: Float64Array;
}

let instance: Instance | undefined;

/** The kernel's bytes, decoded from the hex of gemm-bytes.ts (generated from gemm.wat). */
export function gemmWasmBytes(): Uint8Array {
  const bytes = new Uint8Array(GEMM_WASM_HEX.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(GEMM_WASM_HEX.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Why this runtime cannot run the kernel, found once (undefined: it can). */
function checkWasm(): string | undefined {
  if (wasm === undefined || typeof wasm.validate !== 'function') return 'this runtime has no WebAssembly';
  if (!wasm.validate(gemmWasmBytes())) return 'this runtime lacks WebAssembly SIMD (simd128)';
  // A valid module can still be refused: a page whose Content-Security-Policy
  // lacks 'wasm-unsafe-eval' blocks compiling it. Compiling 942 bytes is cheap.
  try {
    new wasm.Module(gemmWasmBytes());
  } catch (err) {
    return `this runtime refuses to compile WebAssembly (${err instanceof Error ? err.message : String(err)})`;
  }
  return undefined;
}

let unavailable: { reason: string | undefined } | undefined;

/**
 * Why the wasm kernel cannot run here (no WebAssembly, no simd128, or a
 * page that forbids compiling it), or undefined when it can. Validating the
 * module itself is the SIMD test.
 */
export function wasmUnavailableReason(): string | undefined {
  unavailable ??= { reason: checkWasm() };
  return unavailable.reason;
}

/**
 * The kernel instance of this realm (worker, page or Node), made on first
 * use, with at least `bytes` of memory. Growing detaches the old views, so
 * they are made anew after each growth.
 */
function getInstance(bytes: number): Instance {
  if (instance === undefined) {
    if (wasm === undefined) throw new Error('wasm gemm: this runtime has no WebAssembly');
    const { exports } = new wasm.Instance(new wasm.Module(gemmWasmBytes()), {});
    instance = { macroKernel: exports.macroKernel, memory: exports.memory, pa: new Float64Array(0), pc: new Float64Array(0) };
  }
  const { memory } = instance;
  if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  if (instance.pa.buffer !== memory.buffer) {
    instance.pa = new Float64Array(memory.buffer, PA, MC * KC);
    instance.pc = new Float64Array(memory.buffer, PC, MC * NC);
  }
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
 * C += alpha op(A) op(B) (lower triangle only when `lowerOnly`, C square):
 * loops jc, ic, pc over js/blas.ts's blocks, the jr, ir loops in wasm.
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
  // Columns per jc block: as many as NC whose k-deep packed panels fit the budget.
  const ncMax = Math.min(NC, Math.max(NR, Math.floor(B_BUDGET / (8 * k * NR)) * NR));
  for (let jc = 0; jc < n; jc += ncMax) {
    const nc = Math.min(ncMax, n - jc);
    const panel = Math.ceil(nc / NR) * NR * KC;
    const w = getInstance(PB + Math.ceil(k / KC) * panel * 8);
    for (let pc = 0, q = 0; pc < k; pc += KC, q++) {
      packB(new Float64Array(w.memory.buffer, PB + q * panel * 8, panel), transB, b, 0, ldb, pc, jc, Math.min(KC, k - pc), nc);
    }
    for (let ic = lowerOnly ? jc : 0; ic < m; ic += MC) {
      const mc = Math.min(MC, m - ic);
      const diag = lowerOnly ? ic - jc : NO_TRIANGLE;
      copyBlock(c, ic + jc * m, m, w.pc, 0, mc, mc, nc);
      for (let pc = 0, q = 0; pc < k; pc += KC, q++) {
        const kc = Math.min(KC, k - pc);
        packA(w.pa, transA, alpha, a, 0, lda, ic, pc, mc, kc);
        w.macroKernel(mc, nc, kc, diag, PA, PB + q * panel * 8, PC, mc);
      }
      copyBlock(w.pc, 0, mc, c, ic + jc * m, m, mc, nc);
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
