// The genetic relationship operator of the infinitesimal model: products
// with K = Z Z^T / M streamed block by block from the packed model SNPs,
// never forming the N x N kinship (Loh et al. 2015, BOLT-LMM, Online
// Methods). Per block of B model SNPs: decode Z_b (N x B, O(N B) in
// TypeScript), then two backend gemms (O(N B R) each).
import { ArgumentError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { orthonormalCovariates } from './orthonormal.js';
import type { GrmOperator, ModelSnps } from './types.js';

/** Options of `createGrmOperator`. */
export interface GrmOperatorOptions {
  /** N x p covariates, raw (an intercept column included if wanted); orthonormalised inside. */
  covariates?: Matrix;
  backend?: Backend;
  /**
   * Model SNPs decoded per block, fixed (default: `grmBlockSize(N, R)` per
   * call, wider for more columns); blocks never straddle chromosomes.
   */
  blockSize?: number;
  /**
   * Keep all of Z decoded (N x M doubles) when that takes at most this many
   * bytes (default 0: never), so that passes skip decoding.
   */
  cacheBytes?: number;
}

/** `GrmOperator` as `createGrmOperator` builds it, with its configuration. */
export interface StreamingGrmOperator extends GrmOperator {
  /** Model SNPs decoded per block when fixed by the options; undefined: `grmBlockSize(N, R)` per call. */
  readonly blockSize: number | undefined;
  /** Whether Z is held decoded (see `GrmOperatorOptions.cacheBytes`). */
  readonly cached: boolean;
  /** Bytes of the decoded cache when cached, else of the decode buffer (grown to the widest block a pass has used). */
  readonly bytes: number;
}

/**
 * Bytes of decoded Z a block holds at least: 2 MiB, within a core's share
 * of the last-level cache, so that the second gemm reads Z_b from cache.
 */
export const MIN_BLOCK_BYTES = 2 << 20;

/** Bytes of decoded Z a block holds at most: 32 MiB (the decode buffer). */
export const MAX_BLOCK_BYTES = 32 << 20;

/**
 * The model SNPs per block for N samples and R right-hand sides: 4R
 * (the rank-B update out += Z_b T reads and writes the N x R output once
 * per block, so B must grow with R to stay compute-bound), at least what
 * fills `MIN_BLOCK_BYTES` and at most `MAX_BLOCK_BYTES` (N x B doubles),
 * a multiple of 8 and at least 8. bench/inf-kernel.ts at N = 5000 on a
 * shared 2-core machine (CPU seconds per pass): R = 1 flat for B 16-128,
 * R = 16 for B 32-256, R = 64 for B 64-256; B 16 doubled R = 64's time and
 * B 512 cost 10-50% at every R.
 */
export function grmBlockSize(n: number, r: number): number {
  const lo = Math.floor(MIN_BLOCK_BYTES / (8 * Math.max(1, n)));
  const hi = Math.max(8, Math.floor(MAX_BLOCK_BYTES / (8 * Math.max(1, n))));
  const b = Math.min(hi, Math.max(lo, 4 * r));
  return Math.max(8, b - (b % 8));
}

/**
 * The operator v -> P K_{-g(r)} P v of `types.ts` over `snps`:
 * K_{-g} = Z_{-g} Z_{-g}^T / M_{-g}, Z the standardised model SNPs,
 * P = I - Q Q^T with Q an orthonormal basis of `covariates` (thin Cholesky
 * QR; rank-deficient covariates are refused with a DesignError).
 *
 * `apply` on an N x R block costs one pass: per block of model SNPs,
 * T = Z_b^T V (B x R), the columns whose LOCO group is the block's zeroed,
 * out += Z_b T; then column r is scaled by 1 / M_{-g(r)} and projected.
 * A block whose group every column leaves out is not decoded.
 */
export function createGrmOperator(snps: ModelSnps, opts: GrmOperatorOptions = {}): StreamingGrmOperator {
  const be = opts.backend ?? getBackend();
  const { n, m } = snps;
  if (m === 0) throw new ArgumentError('createGrmOperator: no model SNPs (all were constant or missing); the kinship is undefined');
  const blockSize = opts.blockSize;
  if (blockSize !== undefined && (!Number.isInteger(blockSize) || blockSize < 1))
    throw new ArgumentError(`createGrmOperator: blockSize must be a positive integer, found ${blockSize}`);
  const cacheBytes = opts.cacheBytes ?? 0;
  if (!(cacheBytes >= 0)) throw new ArgumentError(`createGrmOperator: cacheBytes must be >= 0, found ${cacheBytes}`);
  let q: Matrix | undefined;
  if (opts.covariates !== undefined) {
    const c = opts.covariates;
    if (c.rows !== n) throw new ShapeError(`createGrmOperator: the covariates have ${c.rows} rows but the model SNPs ${n} samples`);
    if (c.cols > 0) q = orthonormalCovariates(c, be, 'createGrmOperator');
  }
  return new Streaming(snps, be, q, blockSize, cacheBytes > 0 && n * m * 8 <= cacheBytes);
}

/** A partition of the model SNPs into blocks: block b is [start[b], start[b + 1]) of group group[b]. */
interface Blocks {
  start: Int32Array;
  group: Int32Array;
  /** The widest block. */
  width: number;
}

class Streaming implements StreamingGrmOperator {
  passes = 0;
  /** First model SNP of each group, and m at the end. */
  private readonly groupStart: Int32Array;
  /** Partitions by block width. */
  private readonly plans = new Map<number, Blocks>();
  /** N x M decoded Z when cached. */
  private readonly full: Matrix | undefined;
  /** The decode buffer when not cached, grown to the widest block asked for. */
  private buf: Float64Array = new Float64Array(0);

  constructor(
    readonly snps: ModelSnps,
    private readonly be: Backend,
    readonly q: Matrix | undefined,
    readonly blockSize: number | undefined,
    readonly cached: boolean,
  ) {
    const { n, m, countByGroup } = snps;
    const groups = countByGroup.length;
    this.groupStart = new Int32Array(groups + 1);
    for (let g = 0; g < groups; g++) this.groupStart[g + 1] = this.groupStart[g]! + countByGroup[g]!;
    if (this.groupStart[groups] !== m) throw new ShapeError(`createGrmOperator: countByGroup sums to ${this.groupStart[groups]} but there are ${m} model SNPs`);
    if (cached) {
      this.full = new Matrix(n, m);
      // In slices, so that decode's indices stay small integers (V8 Smis) however large N x M.
      const full = this.full;
      for (let j = 0; j < m; j += 1024) snps.decode(j, Math.min(m, j + 1024), full.colView(j, Math.min(m, j + 1024)));
    }
  }

  /** Bytes of the decoded cache, or of the decode buffer. */
  get bytes(): number {
    return this.full !== undefined ? this.full.data.byteLength : this.buf.byteLength;
  }

  /** The blocks for a pass over R columns (the whole of each group when cached). */
  private blocks(r: number): Blocks {
    const width = this.full !== undefined ? this.snps.m : (this.blockSize ?? grmBlockSize(this.snps.n, r));
    let plan = this.plans.get(width);
    if (plan === undefined) {
      const starts: number[] = [];
      const bg: number[] = [];
      const gs = this.groupStart;
      for (let g = 0; g + 1 < gs.length; g++) {
        for (let j = gs[g]!; j < gs[g + 1]!; j += width) {
          starts.push(j);
          bg.push(g);
        }
      }
      starts.push(this.snps.m);
      plan = { start: Int32Array.from(starts), group: Int32Array.from(bg), width: 0 };
      for (let b = 0; b < bg.length; b++) plan.width = Math.max(plan.width, starts[b + 1]! - starts[b]!);
      this.plans.set(width, plan);
    }
    return plan;
  }

  /** Z_b for model SNPs [j0, j1): a view of the cache, or decoded into the buffer. */
  private block(j0: number, j1: number): Matrix {
    if (this.full !== undefined) return this.full.colView(j0, j1);
    const n = this.snps.n;
    const len = n * (j1 - j0);
    if (this.buf.length < len) this.buf = new Float64Array(len);
    const zb = new Matrix(n, j1 - j0, this.buf.subarray(0, len));
    this.snps.decode(j0, j1, zb);
    return zb;
  }

  project(v: Matrix): void {
    const q = this.q;
    if (q === undefined) return;
    if (v.rows !== q.rows) throw new ShapeError(`GrmOperator.project: v has ${v.rows} rows, expected ${q.rows}`);
    if (v.cols === 0) return;
    const t = this.be.gemm(q, v, { transA: true });
    this.be.gemm(q, t, { alpha: -1, beta: 1, c: v });
  }

  /** P v as a new matrix. */
  private projected(v: Matrix, op: string): Matrix {
    if (v.rows !== this.snps.n) throw new ShapeError(`GrmOperator.${op}: the input is ${v.shape}, expected ${this.snps.n} rows (samples)`);
    const w = v.clone();
    this.project(w);
    return w;
  }

  apply(v: Matrix, leaveOut: Int32Array, out: Matrix): void {
    const { n, m, countByGroup } = this.snps;
    const r = v.cols;
    if (leaveOut.length !== r) throw new ShapeError(`GrmOperator.apply: leaveOut has ${leaveOut.length} entries for ${r} columns`);
    if (out.rows !== n || out.cols !== r) throw new ShapeError(`GrmOperator.apply: out is ${out.shape}, expected ${n}x${r}`);
    const groups = countByGroup.length;
    const scale = new Float64Array(r);
    for (let c = 0; c < r; c++) {
      const g = leaveOut[c]!;
      if (!(Number.isInteger(g) && g >= -1 && g < groups)) {
        throw new ArgumentError(`GrmOperator.apply: leaveOut[${c}] = ${g} is not a chromosome group (0..${groups - 1}) or -1`);
      }
      const mg = g < 0 ? m : m - countByGroup[g]!;
      if (mg === 0) throw new ArgumentError(`GrmOperator.apply: leaving out chromosome ${this.snps.chromNames[g]} (column ${c}) leaves no model SNP`);
      scale[c] = 1 / mg;
    }
    const w = this.projected(v, 'apply');
    const be = this.be;
    if (this.full !== undefined) {
      // One gemm each way over all of Z, the LOCO groups masked in between.
      const t = be.gemm(this.full, w, { transA: true });
      for (let c = 0; c < r; c++) {
        const g = leaveOut[c]!;
        if (g >= 0) t.data.fill(0, c * m + this.groupStart[g]!, c * m + this.groupStart[g + 1]!);
      }
      be.gemm(this.full, t, { c: out });
    } else {
      out.data.fill(0);
      this.streamApply(w, leaveOut, out);
    }
    for (let c = 0; c < r; c++) {
      const s = scale[c]!;
      const col = out.data.subarray(c * n, (c + 1) * n);
      for (let i = 0; i < n; i++) col[i]! *= s;
    }
    this.project(out);
    this.passes++;
  }

  /** The streaming pass of `apply`: out += Z_b (mask (Z_b^T W)) over the blocks, LOCO-masked per column. */
  private streamApply(w: Matrix, leaveOut: Int32Array, out: Matrix): void {
    const r = w.cols;
    const be = this.be;
    const { start, group, width } = this.blocks(r);
    const tbuf = new Float64Array(width * r);
    for (let b = 0; b < group.length; b++) {
      const g = group[b]!;
      let live = 0;
      for (let c = 0; c < r; c++) if (leaveOut[c] !== g) live++;
      if (live === 0) continue;
      const zb = this.block(start[b]!, start[b + 1]!);
      const t = new Matrix(zb.cols, r, tbuf.subarray(0, zb.cols * r));
      be.gemm(zb, w, { transA: true, c: t });
      if (live < r) for (let c = 0; c < r; c++) if (leaveOut[c] === g) t.data.fill(0, c * zb.cols, (c + 1) * zb.cols);
      be.gemm(zb, t, { beta: 1, c: out });
    }
  }

  zt(v: Matrix, out: Matrix): void {
    const { m } = this.snps;
    const r = v.cols;
    if (out.rows !== m || out.cols !== r) throw new ShapeError(`GrmOperator.zt: out is ${out.shape}, expected ${m}x${r}`);
    const w = this.projected(v, 'zt');
    if (this.full !== undefined) {
      this.be.gemm(this.full, w, { transA: true, c: out });
    } else {
      const { start, width } = this.blocks(r);
      const tbuf = new Float64Array(width * r);
      for (let b = 0; b + 1 < start.length; b++) {
        const j0 = start[b]!;
        const zb = this.block(j0, start[b + 1]!);
        const bw = zb.cols;
        const t = new Matrix(bw, r, tbuf.subarray(0, bw * r));
        this.be.gemm(zb, w, { transA: true, c: t });
        for (let c = 0; c < r; c++) out.data.set(t.data.subarray(c * bw, (c + 1) * bw), c * m + j0);
      }
    }
    this.passes++;
  }

  z(b: Matrix, out: Matrix): void {
    const { n, m } = this.snps;
    const r = b.cols;
    if (b.rows !== m) throw new ShapeError(`GrmOperator.z: b is ${b.shape}, expected ${m} rows (model SNPs)`);
    if (out.rows !== n || out.cols !== r) throw new ShapeError(`GrmOperator.z: out is ${out.shape}, expected ${n}x${r}`);
    if (this.full !== undefined) {
      this.be.gemm(this.full, b, { c: out });
    } else {
      out.data.fill(0);
      const { start, width } = this.blocks(r);
      const tbuf = new Float64Array(width * r);
      for (let k = 0; k + 1 < start.length; k++) {
        const j0 = start[k]!;
        const j1 = start[k + 1]!;
        const bw = j1 - j0;
        const t = new Matrix(bw, r, tbuf.subarray(0, bw * r));
        for (let c = 0; c < r; c++) t.data.set(b.data.subarray(c * m + j0, c * m + j1), c * bw);
        this.be.gemm(this.block(j0, j1), t, { beta: 1, c: out });
      }
    }
    this.project(out);
    this.passes++;
  }
}
