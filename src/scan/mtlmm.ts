import { ArgumentError, InputError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { invertTestBlock, invSpd, pinvSymmetric } from '../linalg/small.js';
import { checkVariantFilter, inclusiveFilteredBatches, type GenotypeStreamOptions } from '../data/variant-filter.js';
import type { VariantTable } from '../data/variants.js';
import type { KronSumCovariance } from '../nullmodel/kron-sum-covariance.js';
import { rightMulT } from '../nullmodel/kron-sum-dense.js';
import { countNonFinite, emptyTestColumns, type TestColumns } from './lmm-core.js';
import { chi2Log10Sf, chi2Sf } from '../stats/index.js';

/** The two trait designs of limix-lmm's quick start. */
export type TraitTest = 'any' | 'common';

/**
 * The trait design Asnp of a test: 'any' -> eye(P) (an effect per trait, P
 * degrees of freedom: is there an effect on any trait?), 'common' ->
 * ones(P, 1) (one effect shared by all traits, 1 degree of freedom).
 */
export function traitTestDesign(test: TraitTest, p: number): Matrix {
  if (test === 'any') return Matrix.identity(p);
  if (test === 'common') return new Matrix(p, 1, new Float64Array(p).fill(1));
  throw new ArgumentError(`traitTestDesign: expected 'any' or 'common', found '${String(test)}'`);
}

/** Options of `new Mtlmm`. */
export interface MtlmmOptions {
  /** N x P traits (no NaN). */
  y: Matrix;
  /** N x L sample design F of the covariates (default a column of ones). */
  covariates?: Matrix;
  /** P x W trait design A of the covariates (default eye(P)), mean F B A^T. */
  traitDesign?: Matrix;
  /** The null covariance Cg (x) R + Cn (x) I, learnt once (e.g. `fitKronSumNull(...).covariance`). */
  covariance: KronSumCovariance;
  backend?: Backend;
}

/**
 * Results of a multi-trait scan, one column per variant (limix's layout):
 * df is ncol(Asnp), less when the design is degenerate for that variant;
 * lrt = -df log(s2 / s20) with limix's df = N P - W L; `beta` holds the
 * ncol(Asnp) x S effects b of Asnp (x) g (limix's `beta_g`); `betaSte` the
 * Wald standard errors sqrt(diag(S^-1) s2_1), s2_1 = RSS1 / (N P - W L - m)
 * (not a limix output).
 */
export type MtlmmResult = TestColumns;

/**
 * Multi-trait association scans under a fixed null covariance, limix-lmm's
 * `MTLMM` (`../shared/seeds/limix-lmm-0.1.2-documentation.txt`, quick start
 * 2.2): with Y (N x P) and vec(Y) ~ N(vec(F B A^T) + (Asnp (x) g) b,
 * s2 (Cg (x) R + Cn (x) I)), each variant g is tested by
 *
 *   lrt = -df log(s2 / s20),  df = N P - W L,  pv = chi2_m.sf(lrt),  m = ncol(Asnp),
 *
 * where s20 and s2 are the generalised residual variances without and with
 * the variant. In the basis that diagonalises the covariance (U^T on samples,
 * Lc on traits; D = 1 / (sc (x) sr + 1)) every quantity is a weighted sum
 * over samples: per batch one gemm U^T G rotates the variants, two thin
 * gemms give, per variant, the cross products with the null residual, with
 * the covariates per trait and the weighted squares, and what remains per
 * variant is m x m algebra on the Schur complement of the covariates,
 * never an N-length loop.
 */
export class Mtlmm {
  readonly n: number;
  readonly p: number;
  /** Covariate columns L and trait-design columns W. */
  readonly nCovariates: number;
  readonly nTraitDesign: number;
  /** limix's df = N P - W L. */
  readonly df: number;
  /** Null fixed effects B (L x W) (limix's `beta_F0`, vec(B) column-major). */
  readonly nullBeta: Matrix;
  /** Null residual variance (limix's `s20`). */
  readonly s20: number;
  private readonly rss0: number;
  private readonly backend: Backend;
  private readonly covariance: KronSumCovariance;
  /** [Xr0 | Z] (N x (P + P L)): null rotated residual D .* (Yt - Ft B At^T), then Ft_l .* D_c at column P + c L + l. */
  private readonly cross: Matrix;
  /** At = Lc A (P x W), (W^T K^-1 W)^+ (k x k). */
  private readonly at: Float64Array;
  private readonly a0i: Float64Array;

  constructor(opts: MtlmmOptions) {
    this.backend = opts.backend ?? getBackend();
    const cov = opts.covariance;
    this.covariance = cov;
    const y = opts.y;
    const n = y.rows;
    const p = y.cols;
    if (cov.n !== n || cov.p !== p) throw new ShapeError(`Mtlmm: Y is ${y.shape} but the covariance is for ${cov.n} samples and ${cov.p} traits`);
    const yBad = countNonFinite(y.data).first;
    if (yBad >= 0)
      throw new InputError(
        undefined,
        `Mtlmm: Y has a missing or non-finite value at sample ${yBad % n}, trait ${Math.floor(yBad / n)}: drop those samples first`,
      );
    const f = opts.covariates ?? new Matrix(n, 1, new Float64Array(n).fill(1));
    if (f.rows !== n) throw new ShapeError(`Mtlmm: Y has ${n} rows but the covariates have ${f.rows}`);
    if (countNonFinite(f.data).count > 0) throw new InputError(undefined, 'Mtlmm: the covariates have non-finite values');
    const a = opts.traitDesign ?? Matrix.identity(p);
    if (a.rows !== p) throw new ShapeError(`Mtlmm: the trait design A must be P x W with P = ${p}, found ${a.shape}`);
    const l = f.cols;
    const w = a.cols;
    const k = l * w;
    this.n = n;
    this.p = p;
    this.nCovariates = l;
    this.nTraitDesign = w;
    this.df = n * p - k;
    if (this.df < 1) throw new ShapeError(`Mtlmm: ${n * p} observations leave no degrees of freedom for ${k} fixed effects`);

    const lc = cov.lc;
    const d = cov.d.data;
    const yf = new Matrix(n, p + l);
    yf.data.set(y.data, 0);
    yf.data.set(f.data, n * p);
    const rot = cov.rotate(yf);
    const yt = rightMulT(rot.colView(0, p), lc).data; // U^T Y Lc^T
    const ft = rot.data.subarray(n * p); // U^T F
    const at = new Float64Array(p * w); // Lc A
    for (let j = 0; j < w; j++) {
      for (let i = 0; i < p; i++) {
        let s = 0;
        for (let c = 0; c < p; c++) s += lc.data[i + c * p]! * a.data[c + j * p]!;
        at[i + j * p] = s;
      }
    }
    this.at = at;
    // W^T K^-1 W = sum_c (At_c^T At_c) (x) (Ft^T D_c Ft); W^T K^-1 y = vec(Ft^T (D .* Yt) At).
    const wkiw = new Float64Array(k * k);
    const wkiy = new Float64Array(k);
    for (let c = 0; c < p; c++) {
      const dc = d.subarray(c * n, (c + 1) * n);
      const t = new Float64Array(l * l);
      const fx = new Float64Array(l);
      for (let b = 0; b < l; b++) {
        const fb = ft.subarray(b * n, (b + 1) * n);
        let sy = 0;
        for (let i = 0; i < n; i++) sy += fb[i]! * dc[i]! * yt[i + c * n]!;
        fx[b] = sy;
        for (let a2 = 0; a2 <= b; a2++) {
          const fa = ft.subarray(a2 * n, (a2 + 1) * n);
          let s = 0;
          for (let i = 0; i < n; i++) s += fa[i]! * dc[i]! * fb[i]!;
          t[a2 + b * l] = t[b + a2 * l] = s;
        }
      }
      for (let w2 = 0; w2 < w; w2++) {
        const a2c = at[c + w2 * p]!;
        for (let b = 0; b < l; b++) wkiy[w2 * l + b]! += a2c * fx[b]!;
        for (let w1 = 0; w1 < w; w1++) {
          const coef = at[c + w1 * p]! * a2c;
          if (coef === 0) continue;
          for (let l2 = 0; l2 < l; l2++) for (let l1 = 0; l1 < l; l1++) wkiw[w1 * l + l1 + (w2 * l + l2) * k]! += coef * t[l1 + l2 * l]!;
        }
      }
    }
    // limix takes pinv of W^T K^-1 W.
    this.a0i = k === 0 ? new Float64Array(0) : (invSpd(wkiw, k) ?? pinvSymmetric(wkiw, k).inv);
    const b0 = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += this.a0i[i + j * k]! * wkiy[j]!;
      b0[i] = s;
    }
    this.nullBeta = new Matrix(l, w, b0);
    // Null residual in the rotated basis; RSS0 as its weighted square (not yKiy - b'W'Kiy, which cancels).
    const cross = new Matrix(n, p + p * l);
    let rss0 = 0;
    for (let c = 0; c < p; c++) {
      for (let i = 0; i < n; i++) {
        let r = yt[i + c * n]!;
        for (let ww = 0; ww < w; ww++) {
          const acw = at[c + ww * p]!;
          if (acw === 0) continue;
          let fb = 0;
          for (let b = 0; b < l; b++) fb += ft[i + b * n]! * b0[ww * l + b]!;
          r -= fb * acw;
        }
        const dr = d[i + c * n]! * r;
        cross.data[i + c * n] = dr;
        rss0 += dr * r;
      }
      for (let b = 0; b < l; b++) {
        const off = (p + c * l + b) * n;
        for (let i = 0; i < n; i++) cross.data[off + i] = ft[i + b * n]! * d[i + c * n]!;
      }
    }
    this.cross = cross;
    this.rss0 = rss0;
    this.s20 = rss0 / this.df;
  }

  /** Tests every column of G (N x S) with the trait design Asnp (P x m, default eye(P): the any-effect test). */
  process(g: Matrix, asnp?: Matrix): MtlmmResult {
    return this.processDesigns(g, [asnp ?? Matrix.identity(this.p)])[0]!;
  }

  /**
   * Tests every column of G under each trait design in `asnps` (e.g. the
   * any-effect and the common-effect test), rotating G once.
   */
  processDesigns(g: Matrix, asnps: readonly Matrix[]): MtlmmResult[] {
    const { n, p } = this;
    if (g.rows !== n) throw new ShapeError(`Mtlmm.process: G has ${g.rows} rows but the model has ${n} samples`);
    for (const a of asnps) {
      if (a.rows !== p || a.cols < 1) throw new ShapeError(`Mtlmm.process: Asnp must be P x m with P = ${p} and m >= 1, found ${a.shape}`);
      if (countNonFinite(a.data).count > 0) throw new InputError(undefined, 'Mtlmm.process: Asnp has non-finite values');
    }
    const gBad = countNonFinite(g.data).first;
    if (gBad >= 0)
      throw new InputError(
        undefined,
        `Mtlmm.process: G has a missing or non-finite value (sample ${gBad % n}, variant ${Math.floor(gBad / n)}): impute it first`,
      );
    const s = g.cols;
    const out = asnps.map((a) => emptyTestColumns(a.cols, s));
    // Chunks bound the memory of the rotated batch (N x 2048 doubles) and keep the gemm large.
    const chunk = 2048;
    for (let start = 0; start < s; start += chunk) {
      const end = Math.min(s, start + chunk);
      this.testChunk(g.colView(start, end), asnps, start, out);
    }
    return out;
  }

  private testChunk(g: Matrix, asnps: readonly Matrix[], first: number, out: MtlmmResult[]): void {
    const { p, nCovariates: l, nTraitDesign: w } = this;
    const k = l * w;
    const s = g.cols;
    const gt = this.covariance.rotate(g); // U^T G
    const cross = this.backend.gemm(this.cross, gt, { transA: true }); // (P + P L) x S
    const gd = gt.data;
    for (let i = 0; i < gd.length; i++) gd[i] = gd[i]! * gd[i]!; // g~^2, in place
    const quad = this.backend.gemm(this.covariance.d, gt, { transA: true }); // P x S: sum_n D_c g~^2
    const rows = p + p * l;
    const lc = this.covariance.lc.data;
    for (let t = 0; t < asnps.length; t++) {
      const asnp = asnps[t]!;
      const m = asnp.cols;
      const res = out[t]!;
      // At = Lc Asnp (P x m); E[c, w, i] = At[c, w] Asnpt[c, i].
      const asn = new Float64Array(p * m);
      for (let j = 0; j < m; j++) {
        for (let i = 0; i < p; i++) {
          let v = 0;
          for (let c = 0; c < p; c++) v += lc[i + c * p]! * asnp.data[c + j * p]!;
          asn[i + j * p] = v;
        }
      }
      const c12 = new Float64Array(k * m);
      const t12 = new Float64Array(k * m); // A0^-1 c12
      const sch = new Float64Array(m * m);
      const r = new Float64Array(m);
      const norm0 = new Float64Array(m);
      for (let j = 0; j < s; j++) {
        const col = cross.data.subarray(j * rows, (j + 1) * rows);
        const q = quad.data.subarray(j * p, (j + 1) * p);
        // r = Asnpt^T (Xr0^T g~): the variant's cross product with the null residual.
        for (let i = 0; i < m; i++) {
          let v = 0;
          for (let c = 0; c < p; c++) v += asn[c + i * p]! * col[c]!;
          r[i] = v;
        }
        // c22 = sum_c Asnpt_c^T Asnpt_c q_c.
        for (let i2 = 0; i2 < m; i2++) {
          for (let i1 = 0; i1 <= i2; i1++) {
            let v = 0;
            for (let c = 0; c < p; c++) v += asn[c + i1 * p]! * asn[c + i2 * p]! * q[c]!;
            sch[i1 + i2 * m] = sch[i2 + i1 * m] = v;
          }
          norm0[i2] = sch[i2 + i2 * m]!;
        }
        if (k > 0) {
          // c12[(w, l), i] = sum_c At[c, w] Asnpt[c, i] (Ft_l^T D_c g~).
          for (let i = 0; i < m; i++) {
            for (let ww = 0; ww < w; ww++) {
              for (let b = 0; b < l; b++) {
                let v = 0;
                for (let c = 0; c < p; c++) v += this.at[c + ww * p]! * asn[c + i * p]! * col[p + c * l + b]!;
                c12[ww * l + b + i * k] = v;
              }
            }
          }
          for (let i = 0; i < m; i++) {
            for (let a = 0; a < k; a++) {
              let v = 0;
              for (let b = 0; b < k; b++) v += this.a0i[a + b * k]! * c12[b + i * k]!;
              t12[a + i * k] = v;
            }
          }
          // Schur complement c22 - c12^T A0^-1 c12.
          for (let i2 = 0; i2 < m; i2++) {
            for (let i1 = 0; i1 <= i2; i1++) {
              let v = 0;
              for (let a = 0; a < k; a++) v += c12[a + i1 * k]! * t12[a + i2 * k]!;
              sch[i1 + i2 * m]! -= v;
              if (i1 !== i2) sch[i2 + i1 * m]! -= v;
            }
          }
        }
        this.finish(sch, r, norm0, m, first + j, res);
      }
    }
  }

  /** beta = S^+ r, lrt and p-value of one variant. */
  private finish(sch: Float64Array, r: Float64Array, norm0: Float64Array, m: number, j: number, res: MtlmmResult): void {
    // limix uses pinv; the Cholesky path needs every pivot above 1e-10 of its column's norm before projection.
    const inv = invertTestBlock(sch, m, norm0, 1e-10);
    const o = j * m;
    res.df[j] = inv.rank;
    if (inv.rank === 0) {
      // Constant (or collinear with the covariates): nothing to test.
      res.pv[j] = res.log10pv[j] = res.lrt[j] = Number.NaN;
      for (let a = 0; a < m; a++) res.beta.data[o + a] = res.betaSte.data[o + a] = Number.NaN;
      return;
    }
    let qf = 0;
    for (let a = 0; a < m; a++) {
      let v = 0;
      for (let b = 0; b < m; b++) v += inv.inv[a + b * m]! * r[b]!;
      res.beta.data[o + a] = v;
      qf += v * r[a]!;
    }
    const ratio = Math.min(Math.max(qf / this.rss0, 0), 1);
    const lrt = -this.df * Math.log1p(-ratio);
    res.lrt[j] = lrt;
    res.pv[j] = chi2Sf(lrt, inv.rank);
    res.log10pv[j] = chi2Log10Sf(lrt, inv.rank);
    const s2 = (this.rss0 - qf) / Math.max(this.df - inv.rank, 1);
    for (let a = 0; a < m; a++) res.betaSte.data[o + a] = Math.sqrt(Math.max(inv.inv[a + a * m]!, 0) * s2);
  }
}

// ---------------------------------------------------------------------------
// Streaming a genotype file.

/** Options of `mtlmmScan`: the genotype stream (samples in the row order of the model's Y), the model and the designs. */
export interface MtlmmScanOptions extends GenotypeStreamOptions {
  /** The fitted multi-trait model. */
  model: Mtlmm;
  /** Trait designs to test (default the any-effect test eye(P)). */
  designs?: readonly Matrix[];
}

/** The variants a batch tested and their tests, one result per design. */
export interface MtlmmBatchResult {
  variants: VariantTable;
  indices: Int32Array;
  /** Frequency of the counted allele among the samples with a genotype. */
  af: Float64Array;
  /** Samples with an observed genotype, per variant. */
  n: Int32Array;
  results: MtlmmResult[];
}

/**
 * Streams a genotype file through a multi-trait scan: per batch the
 * missingness and MAF filters and the mean imputation of `filterInclusive`
 * (as in `gwasScan`; the batch compacted in place), then one
 * `Mtlmm.processDesigns` (one rotation gemm for all designs) on the kept
 * columns where they lie. Yields one result per batch, in file order.
 */
export async function* mtlmmScan(opts: MtlmmScanOptions): AsyncGenerator<MtlmmBatchResult> {
  const { source, model } = opts;
  const n = model.n;
  const nSamples = opts.samples?.length ?? source.samples.iid.length;
  if (nSamples !== n) throw new ShapeError(`mtlmmScan: the model has ${n} samples but ${nSamples} genotyped samples were selected`);
  checkVariantFilter('mtlmmScan', opts);
  const designs = opts.designs ?? [Matrix.identity(model.p)];
  // A batch is used up before the next is asked for, and a result holds no
  // dosages: the reader may decode every batch into one buffer.
  for await (const batch of inclusiveFilteredBatches({ ...opts, recycle: 0 })) {
    if (batch.dosages.cols === 0) continue;
    const { variants, indices, af, n: observed } = batch;
    yield { variants, indices, af, n: observed, results: model.processDesigns(batch.dosages, designs) };
  }
}
