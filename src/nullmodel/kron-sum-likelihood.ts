// The restricted likelihood of limix-core's GP2KronSum null model and its
// analytic gradient in the Cholesky parameters of Cg and Cn.
import { InputError, NumericalError, ShapeError } from '../errors.js';
import type { Backend, Eigen } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { choleskyInverse, choleskyLower, logdetCholesky } from '../linalg/small.js';
import { FreeFormCov, FREEFORM_JITTER } from './freeform.js';
import { jointDiagonalise, KronSumCovariance } from './kron-sum-covariance.js';
import { checkKinshipSpectrum } from './psd.js';
import { congruence, diagInverse, leftMul, rightMulT, sampleCovariance } from './kron-sum-dense.js';
import { traitMatrix, type TraitInput } from './traits.js';

/** Options of `new KronSumLikelihood` and `fitKronSumNull`. */
export interface KronSumModelOptions {
  /** Traits: an N x P Matrix, or a vector of length N for one trait (no NaN). */
  y: TraitInput;
  /** N x L sample design F of the fixed effects (default a column of ones; 0 columns: no fixed effects). */
  covariates?: Matrix;
  /**
   * P x W trait design A of the fixed effects, mean F B A^T with B L x W
   * (default the P x P identity: one effect per covariate and trait). This is
   * limix-lmm MTLMM's `A`; limix-core's `GP2KronSum` takes its transpose.
   */
  traitDesign?: Matrix;
  /** The N x N relatedness matrix R, or its eigendecomposition. */
  kinship: Matrix | Eigen;
  /**
   * Proceed when R has eigenvalues below -1e-8 x its largest, setting them to
   * 0 like the rounding-size ones (default false: a NotPositiveSemidefiniteError).
   */
  allowNonPsd?: boolean;
  /** FreeFormCov jitter of Cg and Cn (default 1e-4, limix's). */
  jitter?: number;
  backend?: Backend;
}

/** One evaluation of the objective. */
export interface KronSumEvaluation {
  /** limix-core's `gp.LML()`: the negative restricted log-likelihood without the 2 pi constant. */
  lml: number;
  /** d lml / d params: Cg's P(P+1)/2 parameters, then Cn's. */
  grad?: Float64Array;
  /** GLS fixed effects B (L x W), mean F B A^T. */
  beta: Matrix;
}

/**
 * The restricted likelihood of limix-core's `GP2KronSum` null model,
 *
 *   vec(Y) ~ N(vec(F B A^T), Cg (x) R + Cn (x) I),
 *
 * with Cg and Cn free-form (`FreeFormCov`, parametrised by their Cholesky
 * factors). Its `lml` is limix's `gp.LML()`:
 *
 *   0.5 [log|K| + y^T K^-1 y + log|W^T K^-1 W| - y^T K^-1 W b],  W = A (x) F,
 *
 * the negative REML log-likelihood without the (NP - LW)/2 log(2 pi) constant.
 * R is eigendecomposed once and Y, F rotated once (O(N^2 (P + L))); then each
 * evaluation works in the jointly diagonalising basis, where K is diagonal,
 * at O(N P^2 + N P^2 L^2 + (LW)^3) with the analytic gradient (the REML
 * correction's gradient contracted through P x P matrices, so never forming
 * anything NP x NP).
 */
export class KronSumLikelihood {
  readonly n: number;
  readonly p: number;
  readonly nCovariates: number;
  readonly nTraitDesign: number;
  readonly eigen: Eigen;
  readonly jitter: number;
  /** Eigenvalues of R, clamped at 0. */
  private readonly sr: Float64Array;
  /** U^T Y (N x P), U^T F (N x L), A (P x W). */
  private readonly uy: Matrix;
  private readonly uf: Matrix;
  /**
   * N x (2 nLL + 2), nLL = L (L + 1) / 2: the products Ft_l1 .* Ft_l2 (l1 <= l2),
   * the same times sr, then sr and ones, so that every weighted Gram the
   * objective and its gradient need, Ft^T diag(w) Ft, is one gemm w^T ff.
   */
  private readonly ff: Matrix;
  private readonly nLL: number;
  private readonly a: Matrix;
  /** The backend of the products. */
  readonly backend: Backend;
  /** Y as an N x P matrix (for the default start). */
  readonly y: Matrix;
  /** F (N x L) and A (P x W) as used (the defaults filled in). */
  readonly covariates: Matrix;
  readonly traitDesign: Matrix;

  constructor(opts: KronSumModelOptions) {
    const backend = opts.backend ?? getBackend();
    this.backend = backend;
    const y = traitMatrix(opts.y);
    const n = y.rows;
    const p = y.cols;
    if (p < 1 || n < 2) throw new ShapeError(`KronSumLikelihood: Y must be N x P with N >= 2 and P >= 1, found ${y.shape}`);
    for (let i = 0; i < y.data.length; i++) {
      if (!Number.isFinite(y.data[i]!)) {
        throw new InputError(
          undefined,
          `KronSumLikelihood: Y has a missing or non-finite value at sample ${i % n}, trait ${Math.floor(i / n)}: drop those samples first`,
        );
      }
    }
    const f = opts.covariates ?? new Matrix(n, 1, new Float64Array(n).fill(1));
    if (f.rows !== n) throw new ShapeError(`KronSumLikelihood: Y has ${n} rows but the covariates have ${f.rows}`);
    if (f.data.some((v) => !Number.isFinite(v))) throw new InputError(undefined, 'KronSumLikelihood: the covariates have non-finite values');
    const a = opts.traitDesign ?? Matrix.identity(p);
    if (a.rows !== p)
      throw new ShapeError(
        `KronSumLikelihood: the trait design A must have P = ${p} rows (MTLMM's P x W layout; limix-core's GP2KronSum takes A^T), found ${a.shape}`,
      );
    if (n * p <= f.cols * a.cols) throw new ShapeError(`KronSumLikelihood: ${n * p} observations cannot fit ${f.cols * a.cols} fixed effects`);
    let eigen: Eigen;
    if (opts.kinship instanceof Matrix) {
      if (opts.kinship.rows !== n || opts.kinship.cols !== n) throw new ShapeError(`KronSumLikelihood: Y has ${n} samples but R is ${opts.kinship.shape}`);
      eigen = backend.syevd(opts.kinship);
    } else {
      eigen = opts.kinship;
      if (eigen.values.length !== n) throw new ShapeError(`KronSumLikelihood: Y has ${n} samples but the eigendecomposition of R has ${eigen.values.length}`);
    }
    checkKinshipSpectrum(eigen.values, { allowNonPsd: opts.allowNonPsd });
    this.eigen = eigen;
    this.n = n;
    this.p = p;
    this.y = y;
    this.nCovariates = f.cols;
    this.nTraitDesign = a.cols;
    this.jitter = opts.jitter ?? FREEFORM_JITTER;
    this.sr = eigen.values.map((s) => Math.max(s, 0));
    this.uy = backend.gemm(eigen.vectors, y, { transA: true });
    this.uf = f.cols > 0 ? backend.gemm(eigen.vectors, f, { transA: true }) : new Matrix(n, 0);
    const l = f.cols;
    this.nLL = (l * (l + 1)) / 2;
    this.ff = new Matrix(n, 2 * this.nLL + 2);
    for (let l2 = 0, j = 0; l2 < l; l2++) {
      for (let l1 = 0; l1 <= l2; l1++, j++) {
        const a1 = l1 * n;
        const a2 = l2 * n;
        for (let i = 0; i < n; i++) {
          const v = this.uf.data[a1 + i]! * this.uf.data[a2 + i]!;
          this.ff.data[i + j * n] = v;
          this.ff.data[i + (this.nLL + j) * n] = v * this.sr[i]!;
        }
      }
    }
    this.ff.data.set(this.sr, 2 * this.nLL * n);
    this.ff.data.fill(1, (2 * this.nLL + 1) * n);
    this.a = a.clone();
    this.covariates = f;
    this.traitDesign = this.a;
  }

  /** Number of parameters: P(P+1)/2 for Cg, then as many for Cn. */
  get nParams(): number {
    return this.p * (this.p + 1);
  }

  /** The two FreeFormCov of a parameter vector (Cg's parameters first). */
  covariances(params: ArrayLike<number>): { cg: FreeFormCov; cn: FreeFormCov } {
    const h = this.nParams / 2;
    if (params.length !== 2 * h) throw new ShapeError(`KronSumLikelihood: expected ${2 * h} parameters (Cg then Cn), found ${params.length}`);
    const arr = Array.from(params);
    return {
      cg: new FreeFormCov(this.p, { jitter: this.jitter, params: arr.slice(0, h) }),
      cn: new FreeFormCov(this.p, { jitter: this.jitter, params: arr.slice(h) }),
    };
  }

  /** limix's starting point: Cg and Cn set (limix `setCovariance`) to half the sample covariance of Y (ddof 1). */
  limixStart(): Float64Array {
    const half = sampleCovariance(this.y);
    for (let i = 0; i < half.data.length; i++) half.data[i]! *= 0.5;
    const cg = FreeFormCov.fromCovariance(half, { jitter: this.jitter });
    const cn = FreeFormCov.fromCovariance(half, { jitter: this.jitter });
    return Float64Array.of(...cg.getParams(), ...cn.getParams());
  }

  /** The objective (and its gradient when `gradient` is true) at `params`. */
  evaluate(params: ArrayLike<number>, gradient = true): KronSumEvaluation {
    const { cg, cn } = this.covariances(params);
    const { n, p, sr } = this;
    const l = this.nCovariates;
    const w = this.nTraitDesign;
    const k = l * w;
    const jd = jointDiagonalise(cg.K(), cn.K(), this.backend);
    const lc = jd.lc.data;
    const sc = jd.sc;
    // Rotated traits Yt = U^T Y Lc^T and the inverse rotated covariance D.
    const yt = rightMulT(this.uy, jd.lc).data;
    const d = diagInverse(sr, sc).data;
    let logdetK = n * jd.logdetCn;
    let yKiy = 0;
    const x = new Float64Array(n * p); // D .* Yt = rotated K^-1 y
    for (let i = 0; i < n * p; i++) {
      logdetK -= Math.log(d[i]!);
      x[i] = d[i]! * yt[i]!;
      yKiy += x[i]! * yt[i]!;
    }
    // y^T K^-1 y - y^T K^-1 W b is computed as the residual form r^T K^-1 r
    // (r = y - W b): the two terms can be many orders larger than their
    // difference (a trait combination of small noise variance carries the
    // mean), and their rounding would make the objective too noisy to
    // optimise (limix's gp.LML() carries ~1e-8 of it on example_mtlmm, where
    // y^T K^-1 y is 1168 times the residual form).
    let lml = 0.5 * logdetK;
    if (k === 0) lml += 0.5 * yKiy;
    // D^T ff: Ft^T diag(D_c) Ft (and the sums of D_c sr and D_c the gradient needs).
    const dMat = new Matrix(n, p, d);
    const dff = this.backend.gemm(dMat, this.ff, { transA: true });
    const nLL = this.nLL;
    const beta = new Matrix(l, w);
    // REML pieces: At = Lc A, Areml = sum_c (At_c At_c^T) (x) (Ft^T D_c Ft), WKiy = vec(Ft^T X At).
    let at: Float64Array = new Float64Array(0);
    let ainv: Float64Array = new Float64Array(0);
    let xr: Float64Array = x;
    const ft = this.uf.data;
    if (k > 0) {
      at = leftMul(this.a, jd.lc).data; // P x W
      const tc = new Float64Array(p * l * l); // Ft^T diag(D_c) Ft
      for (let c = 0; c < p; c++) {
        for (let l2 = 0; l2 < l; l2++) {
          for (let l1 = 0; l1 <= l2; l1++) {
            const v = dff.data[c + llIndex(l1, l2) * p]!;
            tc[c * l * l + l1 + l2 * l] = v;
            tc[c * l * l + l2 + l1 * l] = v;
          }
        }
      }
      const areml = new Float64Array(k * k);
      for (let w2 = 0; w2 < w; w2++) {
        for (let w1 = 0; w1 < w; w1++) {
          for (let c = 0; c < p; c++) {
            const coef = at[c + w1 * p]! * at[c + w2 * p]!;
            if (coef === 0) continue;
            const off = c * l * l;
            for (let l2 = 0; l2 < l; l2++) {
              for (let l1 = 0; l1 < l; l1++) areml[w1 * l + l1 + (w2 * l + l2) * k]! += coef * tc[off + l1 + l2 * l]!;
            }
          }
        }
      }
      const fx = new Float64Array(l * p); // Ft^T X
      for (let c = 0; c < p; c++) {
        for (let a = 0; a < l; a++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += ft[a * n + i]! * x[c * n + i]!;
          fx[a + c * l] = s;
        }
      }
      const wkiy = new Float64Array(k);
      for (let ww = 0; ww < w; ww++) {
        for (let a = 0; a < l; a++) {
          let s = 0;
          for (let c = 0; c < p; c++) s += at[c + ww * p]! * fx[a + c * l]!;
          wkiy[ww * l + a] = s;
        }
      }
      const chol = choleskyLower(areml, k);
      if (chol === null) {
        throw new NumericalError(
          `KronSumLikelihood: the fixed-effect design A (x) F (${k} columns) is not of full rank: drop collinear covariates or trait-design columns`,
        );
      }
      const logdetA = logdetCholesky(chol, k);
      ainv = choleskyInverse(chol, k);
      const b = new Float64Array(k);
      for (let i = 0; i < k; i++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += ainv[i + j * k]! * wkiy[j]!;
        b[i] = s;
      }
      beta.data.set(b); // b index w L + l = column-major B (L x W)
      let rKir = 0;
      {
        // Rotated residual Xr = D .* (Yt - Ft B At^T).
        const fb = new Float64Array(n * w);
        for (let ww = 0; ww < w; ww++) {
          for (let a = 0; a < l; a++) {
            const bv = b[ww * l + a]!;
            if (bv === 0) continue;
            for (let i = 0; i < n; i++) fb[i + ww * n]! += ft[i + a * n]! * bv;
          }
        }
        xr = new Float64Array(n * p);
        for (let c = 0; c < p; c++) {
          for (let i = 0; i < n; i++) {
            let s = yt[i + c * n]!;
            for (let ww = 0; ww < w; ww++) s -= fb[i + ww * n]! * at[c + ww * p]!;
            xr[i + c * n] = d[i + c * n]! * s;
            rKir += d[i + c * n]! * s * s;
          }
        }
      }
      lml += 0.5 * (logdetA + rKir);
    }
    if (!gradient) return { lml, beta };

    // d lml / d Ctilde (Ctilde = Lc dC Lc^T), separately for Cg (weights sr) and Cn (weights 1):
    // 0.5 [diag(sum_n D w) - Xr^T diag(w) Xr - Z], Z_pq = <Q_pq, Ft^T diag(w D_p D_q) Ft>.
    const gg = new Float64Array(p * p);
    const gn = new Float64Array(p * p);
    for (let c = 0; c < p; c++) {
      gg[c + c * p] = dff.data[c + 2 * nLL * p]!;
      gn[c + c * p] = dff.data[c + (2 * nLL + 1) * p]!;
    }
    // Xr^T [diag(sr) Xr, Xr].
    const xs = new Matrix(n, 2 * p);
    for (let c = 0; c < p; c++) {
      for (let i = 0; i < n; i++) {
        const v = xr[i + c * n]!;
        xs.data[i + c * n] = v * sr[i]!;
        xs.data[i + (p + c) * n] = v;
      }
    }
    const xx = this.backend.gemm(new Matrix(n, p, xr), xs, { transA: true }); // P x 2P
    for (let q = 0; q < p; q++) {
      for (let c = 0; c < p; c++) {
        gg[c + q * p]! -= xx.data[c + q * p]!;
        gn[c + q * p]! -= xx.data[c + (p + q) * p]!;
      }
    }
    if (k > 0) {
      // Ft^T diag(w D_c D_q) Ft for every pair c <= q: one gemm of the pair weights with ff.
      const npairs = (p * (p + 1)) / 2;
      const wp = new Matrix(n, npairs);
      for (let q = 0, j = 0; q < p; q++) {
        for (let c = 0; c <= q; c++, j++) {
          const o = j * n;
          for (let i = 0; i < n; i++) wp.data[o + i] = d[i + c * n]! * d[i + q * n]!;
        }
      }
      const tt = this.backend.gemm(wp, this.ff, { transA: true }); // npairs x (2 nLL + 2)
      const qpq = new Float64Array(l * l);
      for (let q = 0, j = 0; q < p; q++) {
        for (let c = 0; c <= q; c++, j++) {
          // Q_cq[l1, l2] = sum_{w1, w2} At[c, w1] At[q, w2] Ainv[(w1, l1), (w2, l2)].
          qpq.fill(0);
          for (let w2 = 0; w2 < w; w2++) {
            for (let w1 = 0; w1 < w; w1++) {
              const coef = at[c + w1 * p]! * at[q + w2 * p]!;
              if (coef === 0) continue;
              for (let l2 = 0; l2 < l; l2++) {
                for (let l1 = 0; l1 < l; l1++) qpq[l1 + l2 * l]! += coef * ainv[w1 * l + l1 + (w2 * l + l2) * k]!;
              }
            }
          }
          let zg = 0;
          let zn = 0;
          for (let l2 = 0; l2 < l; l2++) {
            for (let l1 = 0; l1 <= l2; l1++) {
              const qv = l1 === l2 ? qpq[l1 + l2 * l]! : qpq[l1 + l2 * l]! + qpq[l2 + l1 * l]!;
              const ll = llIndex(l1, l2);
              zn += qv * tt.data[j + ll * npairs]!;
              zg += qv * tt.data[j + (nLL + ll) * npairs]!;
            }
          }
          gg[c + q * p]! -= zg;
          gn[c + q * p]! -= zn;
          if (c !== q) {
            gg[q + c * p]! -= zg;
            gn[q + c * p]! -= zn;
          }
        }
      }
    }
    // Back to the trait space: H = Lc^T (0.5 G) Lc = d lml / d C.
    const hg = congruence(lc, gg, p, 0.5);
    const hn = congruence(lc, gn, p, 0.5);
    const grad = new Float64Array(this.nParams);
    grad.set(cg.paramGradient(hg), 0);
    grad.set(cn.paramGradient(hn), this.nParams / 2);
    return { lml, grad, beta };
  }

  /** Covariance of the fixed model at `params`, for scans. */
  covarianceAt(params: ArrayLike<number>): KronSumCovariance {
    const { cg, cn } = this.covariances(params);
    return new KronSumCovariance(this.eigen, cg.K(), cn.K(), this.backend);
  }
}

/** Index of the pair (l1, l2), l1 <= l2, in the order (0,0), (0,1), (1,1), (0,2), ... */
function llIndex(l1: number, l2: number): number {
  return (l2 * (l2 + 1)) / 2 + l1;
}
