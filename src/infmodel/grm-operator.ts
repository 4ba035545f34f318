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
  /** Model SNPs decoded per block (default `defaultGrmBlockSize(N)`); blocks never straddle chromosomes. */
  blockSize?: number;
  /**
   * Keep all of Z decoded (N x M doubles) when that takes at most this many
   * bytes (default 0: never), so that passes skip decoding.
   */
  cacheBytes?: number;
}

/** `GrmOperator` as `createGrmOperator` builds it, with its configuration. */
export interface StreamingGrmOperator extends GrmOperator {
  /** Model SNPs decoded per block. */
  readonly blockSize: number;
  /** Whether Z is held decoded (see `GrmOperatorOptions.cacheBytes`). */
  readonly cached: boolean;
  /** Bytes of the decoded cache (0 when not cached) and the decode buffer. */
  readonly bytes: number;
}

/** Bytes of decoded Z a default block holds: 2 MiB, within a core's share of the last-level cache, so the second gemm reads Z_b from cache. */
export const DEFAULT_BLOCK_BYTES = 2 << 20;

/**
 * The default model SNPs per block for N samples: as many as fit
 * `DEFAULT_BLOCK_BYTES` (N x B doubles), a multiple of 8, between 16 and 1024.
 */
export function defaultGrmBlockSize(n: number): number {
  const fit = Math.floor(DEFAULT_BLOCK_BYTES / (8 * Math.max(1, n)));
  return Math.min(1024, Math.max(16, fit - (fit % 8)));
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
  const blockSize = opts.blockSize ?? defaultGrmBlockSize(n);
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new ArgumentError(`createGrmOperator: blockSize must be a positive integer, found ${blockSize}`);
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

class Streaming implements StreamingGrmOperator {
  passes = 0;
  readonly bytes: number;
  /** Block b covers model SNPs [start[b], start[b + 1]) of group blockGroup[b]. */
  private readonly start: Int32Array;
  private readonly blockGroup: Int32Array;
  /** First model SNP of each group, and m at the end. */
  private readonly groupStart: Int32Array;
  /** N x M decoded Z when cached. */
  private readonly full: Matrix | undefined;
  /** N x blockSize decode buffer when not cached. */
  private readonly buf: Matrix | undefined;

  constructor(
    readonly snps: ModelSnps,
    private readonly be: Backend,
    readonly q: Matrix | undefined,
    readonly blockSize: number,
    readonly cached: boolean,
  ) {
    const { n, m, countByGroup } = snps;
    const groups = countByGroup.length;
    this.groupStart = new Int32Array(groups + 1);
    for (let g = 0; g < groups; g++) this.groupStart[g + 1] = this.groupStart[g]! + countByGroup[g]!;
    if (this.groupStart[groups] !== m) throw new ShapeError(`createGrmOperator: countByGroup sums to ${this.groupStart[groups]} but there are ${m} model SNPs`);
    const starts: number[] = [];
    const bg: number[] = [];
    for (let g = 0; g < groups; g++) {
      for (let j = this.groupStart[g]!; j < this.groupStart[g + 1]!; j += blockSize) {
        starts.push(j);
        bg.push(g);
      }
    }
    starts.push(m);
    this.start = Int32Array.from(starts);
    this.blockGroup = Int32Array.from(bg);
    if (cached) {
      this.full = new Matrix(n, m);
      snps.decode(0, m, this.full);
      this.bytes = this.full.data.byteLength;
    } else {
      this.buf = new Matrix(n, Math.min(blockSize, m));
      this.bytes = this.buf.data.byteLength;
    }
  }

  /** Z_b for block b: a view of the cache, or decoded into the buffer. */
  private block(b: number): Matrix {
    const j0 = this.start[b]!;
    const j1 = this.start[b + 1]!;
    if (this.full !== undefined) return this.full.colView(j0, j1);
    const buf = this.buf!;
    this.snps.decode(j0, j1, buf);
    return j1 - j0 === buf.cols ? buf : buf.colView(0, j1 - j0);
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
      const tbuf = new Float64Array(this.blockSize * r);
      for (let b = 0; b + 1 < this.start.length; b++) {
        const g = this.blockGroup[b]!;
        let live = 0;
        for (let c = 0; c < r; c++) if (leaveOut[c] !== g) live++;
        if (live === 0) continue;
        const zb = this.block(b);
        const t = new Matrix(zb.cols, r, tbuf.subarray(0, zb.cols * r));
        be.gemm(zb, w, { transA: true, c: t });
        if (live < r) for (let c = 0; c < r; c++) if (leaveOut[c] === g) t.data.fill(0, c * zb.cols, (c + 1) * zb.cols);
        be.gemm(zb, t, { beta: 1, c: out });
      }
    }
    for (let c = 0; c < r; c++) {
      const s = scale[c]!;
      const col = out.data.subarray(c * n, (c + 1) * n);
      for (let i = 0; i < n; i++) col[i]! *= s;
    }
    this.project(out);
    this.passes++;
  }

  zt(v: Matrix, out: Matrix): void {
    const { m } = this.snps;
    const r = v.cols;
    if (out.rows !== m || out.cols !== r) throw new ShapeError(`GrmOperator.zt: out is ${out.shape}, expected ${m}x${r}`);
    const w = this.projected(v, 'zt');
    if (this.full !== undefined) {
      this.be.gemm(this.full, w, { transA: true, c: out });
    } else {
      const tbuf = new Float64Array(this.blockSize * r);
      for (let b = 0; b + 1 < this.start.length; b++) {
        const j0 = this.start[b]!;
        const zb = this.block(b);
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
      const tbuf = new Float64Array(this.blockSize * r);
      for (let k = 0; k + 1 < this.start.length; k++) {
        const j0 = this.start[k]!;
        const j1 = this.start[k + 1]!;
        const bw = j1 - j0;
        const t = new Matrix(bw, r, tbuf.subarray(0, bw * r));
        for (let c = 0; c < r; c++) t.data.set(b.data.subarray(c * m + j0, c * m + j1), c * bw);
        this.be.gemm(this.block(k), t, { beta: 1, c: out });
      }
    }
    this.project(out);
    this.passes++;
  }
}
