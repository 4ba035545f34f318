import { ArgumentError, InputError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { invertTestBlock, pinvSymmetric } from '../linalg/small.js';
import type { NullCovariance } from '../nullmodel/covariance.js';
import { IdentityCovariance } from '../nullmodel/identity.js';
import { chi2IsfLog10, chi2Log10Sf, chi2Sf } from '../stats/index.js';

/** Options of `new LmmCore`. */
export interface LmmCoreOptions {
  /** Trait, length N (no NaN: drop or impute missing samples first). */
  y: ArrayLike<number>;
  /** N x k covariates F (default a column of ones). */
  covariates?: Matrix;
  /** The null covariance K learnt under the null (default I: ordinary least squares). */
  covariance?: NullCovariance;
  backend?: Backend;
}

/** Options of `LmmCore.process`. */
export interface ProcessOptions {
  /**
   * N x i interaction factors: each variant g enters as the i columns
   * inter_l * g (default one column of ones: the variant itself).
   */
  inter?: Matrix;
  /** Number of consecutive variants tested jointly (default 1). */
  step?: number;
}

/**
 * What every association scan returns, one column per test (limix's
 * layout: `beta` is m x tests, m the columns of a test's design).
 */
export interface TestColumns {
  /** Number of tests. */
  tests: number;
  /** Degrees of freedom of each test. */
  df: Int32Array;
  /** Chi-square p-value of the likelihood-ratio statistic (limix's `pv`, `getPv`). */
  pv: Float64Array;
  /** log10 of `pv`, finite far beyond double underflow. */
  log10pv: Float64Array;
  /** lrt = -df log(s2 / s20), df the residual degrees of freedom of the null (limix's `getLRT`). */
  lrt: Float64Array;
  /** m x tests effect sizes (limix's `getBetaSNP`, `beta_g`). */
  beta: Matrix;
  /**
   * m x tests Wald standard errors from the joint covariance of the effects,
   * with the null covariance held fixed.
   */
  betaSte: Matrix;
}

/** An empty `TestColumns` for `tests` tests of m design columns. */
export function emptyTestColumns(m: number, tests: number): TestColumns {
  return {
    tests,
    df: new Int32Array(tests),
    pv: new Float64Array(tests),
    log10pv: new Float64Array(tests),
    lrt: new Float64Array(tests),
    beta: new Matrix(m, tests),
    betaSte: new Matrix(m, tests),
  };
}

/**
 * Results of a scan, one column per test (limix's layout: `beta` is m x tests).
 * A test is `step` consecutive variants (the last one may hold fewer, see `df`):
 * df is m = ncol(inter) x variants in the block, lrt = -(N - k) log(s2 / s20),
 * rows of `beta` beyond a short last block are NaN, and `betaSte` is
 * sqrt(diag((X' P X)^-1) s2), s2 = RSS1 / (N - k - m).
 */
export interface ScanResult extends TestColumns {
  /**
   * limix's `getBetaSNPste`: |beta| / sqrt(chi2_1.isf(pv)). Equal to |beta| / sqrt(lrt)
   * when m = 1 (an LRT-based standard error); not a standard error when m > 1.
   */
  betaSteLimix: Matrix;
  /**
   * k x tests covariate effects under the alternative (limix's `getBetaCov`,
   * which returns betas of the covariates, not a covariance; it crashes in
   * limix's LMMCore and works here).
   */
  betaCov: Matrix;
}

/**
 * Association scans under a fixed null covariance, limix-lmm's `LMMCore`
 * (`../shared/seeds/limix-lmm-0.1.2-documentation.txt`, LMMCORE): for each
 * test with design X (N x m), compares y ~ F b + X beta against y ~ F b under
 * y ~ N(., s2 K) by
 *
 *   lrt = -df log(s2 / s20),  df = N - k,  pv = chi2_m.sf(lrt),
 *
 * where s20 and s2 are the residual variances (RSS / df) of the null and the
 * alternative generalised least squares fits.
 *
 * Everything is computed on the whitened data L^-1 y, L^-1 F, L^-1 X
 * (K^-1 = L^-T L^-1): per batch one `whiten` (a gemm) and one projection of
 * the covariates out of the batch (two thin gemms), then O(N m^2) per test.
 */
export class LmmCore {
  readonly n: number;
  readonly k: number;
  /** Residual degrees of freedom N - k (limix's `df`). */
  readonly dfResidual: number;
  /** Null covariate effects (limix's `beta_F0`). */
  readonly nullBeta: Float64Array;
  /** Null residual variance RSS0 / (N - k) (limix's `s20`). */
  readonly s20: number;
  private readonly backend: Backend;
  private readonly covariance: NullCovariance;
  /** Whitened covariates L^-1 F. */
  private readonly fw: Matrix;
  /** (F' K^-1 F)^+, k x k. */
  private readonly aInv: Matrix;
  /** Whitened null residual L^-1 y - L^-1 F b0. */
  private readonly yr: Float64Array;
  private readonly rss0: number;
  /**
   * Storage of the whitened chunk, kept for the next: a chunk's results hold
   * none of it, and a fresh N x chunk array per batch costs its zeroing, its
   * page faults and the collector's time.
   */
  private scratch = new Float64Array(0);

  constructor(opts: LmmCoreOptions) {
    this.backend = opts.backend ?? getBackend();
    const n = opts.y.length;
    this.n = n;
    this.covariance = opts.covariance ?? new IdentityCovariance(n);
    if (this.covariance.n !== n) throw new ShapeError(`LmmCore: y has ${n} samples but the covariance is for ${this.covariance.n}`);
    const f = opts.covariates ?? new Matrix(n, 1, new Float64Array(n).fill(1));
    if (f.rows !== n) throw new ShapeError(`LmmCore: y has ${n} samples but covariates have ${f.rows} rows`);
    const y = Float64Array.from(opts.y);
    const bad = countNonFinite(y);
    if (bad.count > 0) {
      throw new InputError(
        undefined,
        `LmmCore: y has ${bad.count} missing or non-finite values (first at sample ${bad.first}): drop or impute them before the scan`,
      );
    }
    const fBad = countNonFinite(f.data);
    if (fBad.count > 0) throw new InputError(undefined, `LmmCore: covariates have ${fBad.count} non-finite values`);
    this.k = f.cols;
    this.dfResidual = n - this.k;
    if (this.dfResidual < 1) throw new ShapeError(`LmmCore: ${n} samples leave no residual degrees of freedom for ${this.k} covariates`);
    const yw = this.covariance.whiten(Matrix.column(y));
    this.fw = this.covariance.whiten(f);
    const a = this.backend.gemm(this.fw, this.fw, { transA: true });
    this.aInv = new Matrix(this.k, this.k, pinvSymmetric(a.data, this.k).inv);
    const fy = this.backend.gemm(this.fw, yw, { transA: true });
    this.nullBeta = this.backend.gemm(this.aInv, fy).data;
    const yr = Float64Array.from(yw.data);
    const nw = yw.rows;
    for (let c = 0; c < this.k; c++) {
      const b = this.nullBeta[c]!;
      const off = c * nw;
      for (let i = 0; i < nw; i++) yr[i]! -= this.fw.data[off + i]! * b;
    }
    this.yr = yr;
    let rss0 = 0;
    for (const v of yr) rss0 += v * v;
    this.rss0 = rss0;
    this.s20 = rss0 / this.dfResidual;
  }

  /**
   * Tests the variants of G (N x S, one column per variant), `step` at a
   * time, each entering as ncol(inter) columns inter_l * g. Column order of
   * a test's design (limix's): [inter_1 g_1, ..., inter_1 g_step, inter_2 g_1, ...].
   * Trailing variants that do not fill a block are tested as a last, smaller
   * block (limix drops them silently).
   */
  process(g: Matrix, opts: ProcessOptions = {}): ScanResult {
    const step = opts.step ?? 1;
    if (!Number.isInteger(step) || step < 1) throw new ArgumentError(`LmmCore.process: step must be a positive integer, found ${step}`);
    if (g.rows !== this.n) throw new ShapeError(`LmmCore.process: G has ${g.rows} rows but the model has ${this.n} samples`);
    const inter = opts.inter;
    if (inter !== undefined) {
      if (inter.rows !== this.n) throw new ShapeError(`LmmCore.process: inter has ${inter.rows} rows but the model has ${this.n} samples`);
      if (inter.cols < 1) throw new ShapeError('LmmCore.process: inter has no columns');
      if (countNonFinite(inter.data).count > 0) throw new InputError(undefined, 'LmmCore.process: inter has non-finite values');
    }
    const nInter = inter?.cols ?? 1;
    const s = g.cols;
    const tests = Math.ceil(s / step);
    const m = nInter * step;
    const out: ScanResult = {
      ...emptyTestColumns(m, tests),
      betaSteLimix: new Matrix(m, tests),
      betaCov: new Matrix(this.k, tests),
    };
    // Chunks of whole blocks bound the memory of the expanded design.
    const chunk = step * Math.max(1, Math.floor(4096 / (step * nInter)));
    for (let start = 0; start < s; start += chunk) {
      const end = Math.min(s, start + chunk);
      this.testChunk(g.colView(start, end), inter, step, start / step, out);
    }
    return out;
  }

  private testChunk(g: Matrix, inter: Matrix | undefined, step: number, firstTest: number, out: ScanResult): void {
    const n = this.n;
    const s = g.cols;
    const nInter = inter?.cols ?? 1;
    let design = g;
    if (inter !== undefined) {
      design = new Matrix(n, nInter * s);
      for (let l = 0; l < nInter; l++) {
        const il = inter.col(l);
        for (let j = 0; j < s; j++) {
          const src = g.col(j);
          const off = (l * s + j) * n;
          for (let i = 0; i < n; i++) design.data[off + i] = il[i]! * src[i]!;
        }
      }
    }
    const size = this.covariance.whitenedRows * design.cols;
    if (this.scratch.length < size) this.scratch = new Float64Array(size);
    // Squared norms before projecting out F: the yardstick for "collinear with F".
    const norm0 = new Float64Array(design.cols);
    const xw = this.covariance.whiten(design, this.scratch, norm0);
    const nw = xw.rows;
    const fx = this.backend.gemm(this.fw, xw, { transA: true }); // k x (i S)
    const t = this.backend.gemm(this.aInv, fx); // (F'K^-1F)^+ F'K^-1 X
    this.backend.gemm(this.fw, t, { c: xw, beta: 1, alpha: -1 }); // xw := P_F-residual of X
    const r = xw;
    const ry = this.backend.gemv(r, this.yr, { trans: true });
    const k = this.k;
    const df = this.dfResidual;
    const rows = out.beta.rows;
    const tests = Math.ceil(s / step);
    for (let tt = 0; tt < tests; tt++) {
      const v0 = tt * step;
      const vs = Math.min(step, s - v0);
      const m = nInter * vs;
      const cols = new Int32Array(m);
      for (let l = 0, c = 0; l < nInter; l++) for (let j = 0; j < vs; j++) cols[c++] = l * s + v0 + j;
      const gram = new Float64Array(m * m);
      for (let b = 0; b < m; b++) {
        const cb = cols[b]! * nw;
        for (let a = 0; a <= b; a++) {
          const ca = cols[a]! * nw;
          let dot = 0;
          for (let i = 0; i < nw; i++) dot += r.data[ca + i]! * r.data[cb + i]!;
          gram[a + b * m] = dot;
          gram[b + a * m] = dot;
        }
      }
      const d = Float64Array.from(cols, (c) => ry[c]!);
      const inv = invertTestBlock(
        gram,
        m,
        Float64Array.from(cols, (c) => norm0[c]!),
      );
      const beta = new Float64Array(m);
      let q = 0;
      for (let a = 0; a < m; a++) {
        let sum = 0;
        for (let b = 0; b < m; b++) sum += inv.inv[a + b * m]! * d[b]!;
        beta[a] = sum;
        q += sum * d[a]!;
      }
      const test = firstTest + tt;
      const o = test * rows;
      out.df[test] = m;
      if (inv.rank === 0) {
        // A constant variant (zero after projecting out F): nothing to test.
        out.pv[test] = NaN;
        out.log10pv[test] = NaN;
        out.lrt[test] = NaN;
        for (let a = 0; a < rows; a++) {
          out.beta.data[o + a] = NaN;
          out.betaSte.data[o + a] = NaN;
          out.betaSteLimix.data[o + a] = NaN;
        }
        for (let c = 0; c < k; c++) out.betaCov.data[test * k + c] = NaN;
        continue;
      }
      const ratio = Math.min(Math.max(q / this.rss0, 0), 1);
      const lrt = -df * Math.log1p(-ratio);
      const rss1 = this.rss0 - q;
      const dof = inv.rank;
      const pv = chi2Sf(lrt, dof);
      const log10pv = chi2Log10Sf(lrt, dof);
      out.lrt[test] = lrt;
      out.pv[test] = pv;
      out.log10pv[test] = log10pv;
      const s2 = rss1 / Math.max(nw - k - inv.rank, 1);
      // chi2_1.isf(pv): the lrt itself when m = 1; from log10 p when m > 1 (pv may underflow).
      const z2 = m === 1 ? lrt : chi2IsfLog10(log10pv, 1);
      for (let a = 0; a < rows; a++) {
        if (a >= m) {
          out.beta.data[o + a] = NaN;
          out.betaSte.data[o + a] = NaN;
          out.betaSteLimix.data[o + a] = NaN;
          continue;
        }
        out.beta.data[o + a] = beta[a]!;
        out.betaSte.data[o + a] = Math.sqrt(inv.inv[a + a * m]! * s2);
        out.betaSteLimix.data[o + a] = Math.abs(beta[a]!) / Math.sqrt(z2);
      }
      for (let c = 0; c < k; c++) {
        let sum = this.nullBeta[c]!;
        for (let a = 0; a < m; a++) sum -= t.data[c + cols[a]! * k]! * beta[a]!;
        out.betaCov.data[test * k + c] = sum;
      }
    }
  }
}

/** How many values of `a` are NaN or infinite, and the index of the first (-1 when none). */
export function countNonFinite(a: ArrayLike<number>): { count: number; first: number } {
  let count = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) {
      if (count === 0) first = i;
      count++;
    }
  }
  return { count, first };
}
