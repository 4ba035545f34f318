/**
 * The WebAssembly kernel of the GWAS-mode scan (wasm/mm-scan.wat): the two
 * passes over N of a profiled REML evaluation for the design [x0, x1]
 * (mm-eigen-gls.ts), run for two models at once in the lanes of f64x2.
 * Each lane does the js loops' operations in their order, without fused
 * multiply-adds, so each model gets its js bits; the scan (mm-eigen-scan.ts)
 * does the p x p algebra between the passes in js.
 *
 * Browser-safe: no Node APIs. The module (under 1 KiB) is compiled
 * synchronously, once per realm, on first use.
 */
import type { SharedStart, Sums, Workspace } from './mm-eigen-gls.js';
import { MM_SCAN_WASM_HEX } from './wasm/mm-scan-bytes.js';

/** pass0 of mm-scan.wat (byte offsets; see there). */
type Pass0 = (n: number, pd: number, py: number, px0: number, pxa: number, pxb: number, pw: number, pw0: number, pwx0: number, pout: number) => void;
/** pass1 of mm-scan.wat (byte offsets; see there). */
type Pass1 = (n: number, pd: number, py: number, px0: number, pxa: number, pxb: number, pw: number, da: number, db: number, pout: number, plog: number) => void;
/** pass2 of mm-scan.wat (byte offsets; see there). */
type Pass2 = (n: number, pd: number, py: number, px0: number, pxa: number, pxb: number, pw: number, pbeta: number, pout: number) => void;

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The part of the WebAssembly API used here (lib ES2022 does not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: ScanExports };
}

const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/**
 * Byte layout: pass0's 5 or pass1's 12 f64x2 and 2 i32 of output (room for
 * 14 f64x2), pass2's 2, the betas (2 f64x2), then d, y, x0, the weights
 * (2N), the products set aside (2N), the start's w and w x0 (N each) and the columns.
 */
const OUT1 = 0;
const OUT2 = 14 * 16;
const BETA = OUT2 + 2 * 16;
const DATA = 512;

type ScanExports = { memory: WasmMemory; pass0: Pass0; pass1: Pass1; pass2: Pass2 };

/**
 * The kernel's instance of this realm: undefined before the first use, null
 * where it cannot run. One per realm, its memory grown as scans need: scans
 * run one at a time (remlScan is synchronous), and one memory reused spares
 * a wasm memory reservation per batch.
 */
let instance: ScanExports | null | undefined;

function scanInstance(): ScanExports | null {
  if (instance !== undefined) return instance;
  instance = null;
  if (wasm === undefined || typeof wasm.validate !== 'function') return instance;
  const bytes = new Uint8Array(MM_SCAN_WASM_HEX.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(MM_SCAN_WASM_HEX.slice(2 * i, 2 * i + 2), 16);
  // No simd128, or a page whose Content-Security-Policy forbids compiling: the scan stays in js.
  if (!wasm.validate(bytes)) return instance;
  try {
    instance = new wasm.Instance(new wasm.Module(bytes), {}).exports;
  } catch {
    instance = null;
  }
  return instance;
}

/**
 * One scan's kernel: N, the shared y, d and x0 and up to `slots` own
 * columns in the realm's wasm memory. Made per scan (it loads that scan's
 * data, so a scan must not run while another's kernel is in use); `columns`
 * loads the models of a chunk.
 */
export class ScanKernel {
  private readonly pass0Fn: Pass0;
  private readonly pass1Fn: Pass1;
  private readonly pass2Fn: Pass2;
  private readonly f: Float64Array;
  private readonly pd: number;
  private readonly py: number;
  private readonly px0: number;
  private readonly pw: number;
  private readonly plog: number;
  private readonly pw0: number;
  private readonly pcols: number;
  private readonly counts: Int32Array;

  private constructor(
    exports: ScanExports,
    private readonly n: number,
    slots: number,
  ) {
    this.pass0Fn = exports.pass0;
    this.pass1Fn = exports.pass1;
    this.pass2Fn = exports.pass2;
    this.pd = DATA;
    this.py = this.pd + 8 * n;
    this.px0 = this.py + 8 * n;
    this.pw = this.px0 + 8 * n;
    this.plog = this.pw + 16 * n;
    this.pw0 = this.plog + 16 * n;
    this.pcols = this.pw0 + 16 * n;
    const bytes = this.pcols + 8 * n * slots;
    const memory = exports.memory;
    if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
    this.f = new Float64Array(memory.buffer);
    this.counts = new Int32Array(memory.buffer, OUT1 + 192, 2);
  }

  /**
   * A kernel for N rows and `slots` own columns with y, d, x0 and the
   * start's weights loaded, or undefined where this runtime cannot run it
   * (no WebAssembly or no simd128).
   */
  static make(y: Float64Array, d: Float64Array, x0: Float64Array, start: SharedStart, slots: number): ScanKernel | undefined {
    const exports = scanInstance();
    if (exports === null) return undefined;
    const n = y.length;
    const k = new ScanKernel(exports, n, slots);
    k.f.set(d, k.pd / 8);
    k.f.set(y, k.py / 8);
    k.f.set(x0.subarray(0, n), k.px0 / 8);
    k.f.set(start.w, k.pw0 / 8);
    k.f.set(start.wx0, k.pw0 / 8 + n);
    return k;
  }

  /**
   * The first pass for the models in slots a and b at the start they share
   * (`start`, the one given to `make`): what markerPass leaves in the
   * workspace, into wsA and wsB, and log det V into sA and sB.
   */
  pass0(a: number, b: number, start: SharedStart, wsA: Workspace, sA: Sums, wsB: Workspace, sB: Sums): void {
    const { n, f } = this;
    this.pass0Fn(n, this.pd, this.py, this.px0, this.pcols + 8 * n * a, this.pcols + 8 * n * b, this.pw, this.pw0, this.pw0 + 8 * n, OUT1);
    const o = OUT1 / 8;
    startLane(f, o, 0, start, wsA, sA);
    startLane(f, o, 1, start, wsB, sB);
  }

  /** Loads `count` own columns (N doubles each) from xb[off ..] into slots 0 .. count - 1. */
  columns(xb: Float64Array, off: number, count: number): void {
    this.f.set(xb.subarray(off, off + count * this.n), this.pcols / 8);
  }

  /**
   * The first pass at V~ = delta D + I for the models in slots a and b
   * (lanes A and B; a = b is allowed): the sums of glsSums (p = 2, 'reml')
   * into wsA and wsB (M, G, b, y'Wy, sum d w; sum w set to 0) and log det V
   * into sA.logdetV and sB.logdetV. Returns 0, or bit 1 (lane A) and bit 2
   * (lane B) where V is not positive definite (the lane's sums are then meaningless).
   */
  pass1(a: number, deltaA: number, b: number, deltaB: number, wsA: Workspace, sA: Sums, wsB: Workspace, sB: Sums): number {
    const { n, f } = this;
    this.pass1Fn(n, this.pd, this.py, this.px0, this.pcols + 8 * n * a, this.pcols + 8 * n * b, this.pw, deltaA, deltaB, OUT1, this.plog);
    const o = OUT1 / 8;
    const logs = this.plog / 8;
    lane(f, o, 0, logs, this.counts[0]!, wsA, sA);
    lane(f, o, 1, logs + n, this.counts[1]!, wsB, sB);
    return (f[o + 22] !== 0 ? 1 : 0) | (f[o + 23] !== 0 ? 2 : 0);
  }

  /**
   * The second pass, after `pass1` on the same slots, at the betas of wsA
   * and wsB: B = e'De and E = e'e with e = W (y - X beta) into sA and sB.
   */
  pass2(a: number, b: number, wsA: Workspace, sA: Sums, wsB: Workspace, sB: Sums): void {
    const { n, f } = this;
    const o = BETA / 8;
    f[o] = wsA.beta[0]!;
    f[o + 1] = wsB.beta[0]!;
    f[o + 2] = wsA.beta[1]!;
    f[o + 3] = wsB.beta[1]!;
    this.pass2Fn(n, this.pd, this.py, this.px0, this.pcols + 8 * n * a, this.pcols + 8 * n * b, this.pw, BETA, OUT2);
    const r = OUT2 / 8;
    sA.b = f[r]!;
    sB.b = f[r + 1]!;
    sA.e = f[r + 2]!;
    sB.e = f[r + 3]!;
  }
}

/** Lane `l` of pass0's output at f[o ..] and the shared sums of `st` into a workspace and its sums, as markerPass leaves them. */
function startLane(f: Float64Array, o: number, l: number, st: SharedStart, ws: Workspace, s: Sums): void {
  const { m, g, b } = ws;
  m[0] = st.m00;
  m[1] = f[o + l]!;
  m[2] = 0;
  m[3] = f[o + 2 + l]!;
  b[0] = st.b0;
  b[1] = f[o + 4 + l]!;
  g[0] = st.g00;
  g[1] = f[o + 6 + l]!;
  g[2] = 0;
  g[3] = f[o + 8 + l]!;
  ws.yWy = st.yWy;
  ws.sdw = st.sdw;
  ws.sw = 0;
  s.logdetV = st.logdetV;
}

/**
 * Lane `l` of pass1's output at f[o ..] into a workspace and its sums (the
 * layout of mm-scan.wat's pass1), with the lane's `count` products set aside at f[logs ..].
 */
function lane(f: Float64Array, o: number, l: number, logs: number, count: number, ws: Workspace, s: Sums): void {
  const { m, g, b } = ws;
  m[0] = f[o + l]!;
  m[1] = f[o + 2 + l]!;
  m[2] = 0;
  m[3] = f[o + 4 + l]!;
  b[0] = f[o + 6 + l]!;
  b[1] = f[o + 8 + l]!;
  ws.yWy = f[o + 10 + l]!;
  ws.sdw = f[o + 12 + l]!;
  ws.sw = 0;
  g[0] = f[o + 14 + l]!;
  g[1] = f[o + 16 + l]!;
  g[2] = 0;
  g[3] = f[o + 18 + l]!;
  // glsSums' log det V: the logs of the products set aside, summed in order, plus the log of what remains.
  let logAcc = 0;
  for (let k = 0; k < count; k++) logAcc += Math.log(f[logs + k]!);
  s.logdetV = logAcc + Math.log(f[o + 20 + l]!);
}
