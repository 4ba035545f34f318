import { DomainError, LmmkitError, NotPositiveDefiniteError, ShapeError } from '../errors.js';
import type { Backend, Eigen } from '../linalg/backend.js';
import { type GeneralisedEigen, generalisedEigen } from '../linalg/generalised-eigen.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { choleskyInverse, choleskyLower, choleskySolve, logdetCholesky, symmetriseAverage } from '../linalg/small.js';
import { FreeFormCov, FREEFORM_JITTER } from './freeform.js';
import { minimizeLbfgs, type LbfgsStop } from '../optim/lbfgs.js';
import { traitMatrix, type TraitInput } from './traits.js';

/**
 * The joint diagonalisation of two P x P covariances (limix-core's
 * `Cov2KronSum`): Lc = Uc^T Sn^-1/2 Un^T with Cn = Un Sn Un^T and
 * Sn^-1/2 Un^T Cg Un Sn^-1/2 = Uc diag(sc) Uc^T, so that
 * Lc Cn Lc^T = I and Lc Cg Lc^T = diag(sc).
 */
export interface JointDiagonalisation {
  /** P x P. */
  lc: Matrix;
  /** Eigenvalues of Cn^-1/2 Cg Cn^-1/2, ascending. */
  sc: Float64Array;
  /** log det Cn. */
  logdetCn: number;
}

/**
 * Joint diagonalisation of (Cg, Cn): the generalised eigenproblem
 * Cg v = sc Cn v with Cn whitened by its eigendecomposition, limix's order
 * of operations. Throws a DomainError when Cn is not positive definite (the
 * likelihood's objective reads that as +Infinity).
 */
export function jointDiagonalise(cg: Matrix, cn: Matrix, backend: Backend = getBackend()): JointDiagonalisation {
  const p = cn.rows;
  if (cn.cols !== p || cg.rows !== p || cg.cols !== p) throw new ShapeError(`jointDiagonalise: Cg ${cg.shape} and Cn ${cn.shape} must both be P x P`);
  let ge: GeneralisedEigen;
  try {
    ge = generalisedEigen(cg, cn, { whiten: 'eigen', backend });
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) throw new DomainError(`jointDiagonalise: Cn is not positive definite (${e.message})`);
    throw e;
  }
  return { lc: ge.vectors.transpose(), sc: ge.values, logdetCn: ge.logdetB };
}

/**
 * A fixed multi-trait covariance K = Cg (x) R + Cn (x) I over vec(Y), Y N x P
 * stacked by columns (limix-core's `Cov2KronSum`), with R = U diag(sr) U^T
 * eigendecomposed once. In the basis Lc (x) U^T it is diagonal:
 * (Lc (x) U^T) K (Lc (x) U^T)^T = diag(sc) (x) diag(sr) + I, so an N x P
 * matrix M is whitened by U^T M Lc^T and a scaling by d = 1 / (sc_p sr_n + 1).
 * This is what `Mtlmm` scans under.
 */
export class KronSumCovariance {
  readonly kind = 'kron-sum' as const;
  /** Samples N. */
  readonly n: number;
  /** Traits P. */
  readonly p: number;
  /** Cg and Cn (P x P, copies). */
  readonly cg: Matrix;
  readonly cn: Matrix;
  /** Eigenvalues of R (negatives from rounding clamped to 0), ascending. */
  readonly eigenvalues: Float64Array;
  /** Eigenvectors of R, N x N. */
  readonly eigenvectors: Matrix;
  /** The trait rotation Lc (P x P) and the eigenvalues sc of Cn^-1/2 Cg Cn^-1/2. */
  readonly lc: Matrix;
  readonly sc: Float64Array;
  /** d[n + p N] = 1 / (sc_p sr_n + 1): the inverse of the rotated covariance, N x P. */
  readonly d: Matrix;
  private readonly logdetCn: number;

  constructor(eigen: Eigen, cg: Matrix, cn: Matrix, private readonly backend: Backend = getBackend()) {
    const n = eigen.values.length;
    if (eigen.vectors.rows !== n || eigen.vectors.cols !== n) throw new ShapeError(`KronSumCovariance: ${n} eigenvalues but eigenvectors of shape ${eigen.vectors.shape}`);
    for (const [name, c] of [['Cg', cg], ['Cn', cn]] as const) {
      for (const v of c.data) if (!Number.isFinite(v)) throw new DomainError(`KronSumCovariance: ${name} has a non-finite entry`);
    }
    this.n = n;
    this.p = cg.rows;
    this.cg = cg.clone();
    this.cn = cn.clone();
    this.eigenvalues = eigen.values.map((s) => Math.max(s, 0));
    this.eigenvectors = eigen.vectors;
    const jd = jointDiagonalise(cg, cn, backend);
    this.lc = jd.lc;
    this.sc = jd.sc;
    this.logdetCn = jd.logdetCn;
    if (this.sc.some((s) => !(s >= -1e-12 * Math.max(1, Math.abs(this.sc[this.p - 1]!))))) {
      throw new DomainError(`KronSumCovariance: Cg is not positive semi-definite relative to Cn (eigenvalue ${Math.min(...this.sc)})`);
    }
    this.d = diagInverse(this.eigenvalues, this.sc);
  }

  /** U^T B for an N x b matrix B (a new matrix): the sample rotation. */
  rotate(b: Matrix): Matrix {
    if (b.rows !== this.n) throw new ShapeError(`KronSumCovariance.rotate: expected ${this.n} rows, found ${b.rows}`);
    return this.backend.gemm(this.eigenvectors, b, { transA: true });
  }

  /** K^-1 vec(Y) for an N x P matrix Y, returned as an N x P matrix. */
  kiDot(y: Matrix): Matrix {
    if (y.rows !== this.n || y.cols !== this.p) throw new ShapeError(`KronSumCovariance.kiDot: expected ${this.n}x${this.p}, found ${y.shape}`);
    const t = rightMulT(this.rotate(y), this.lc); // U^T Y Lc^T
    for (let i = 0; i < t.data.length; i++) t.data[i]! *= this.d.data[i]!;
    return this.backend.gemm(this.eigenvectors, rightMulT(t, this.lc.transpose())); // U (D .* .) Lc
  }

  /** log det K = N log det Cn + sum log(sc_p sr_n + 1). */
  logdet(): number {
    let s = this.n * this.logdetCn;
    for (const v of this.d.data) s -= Math.log(v);
    return s;
  }
}

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
        throw new LmmkitError('BAD_INPUT', `KronSumLikelihood: Y has a missing or non-finite value at sample ${i % n}, trait ${Math.floor(i / n)}: drop those samples first`);
      }
    }
    const f = opts.covariates ?? new Matrix(n, 1, new Float64Array(n).fill(1));
    if (f.rows !== n) throw new ShapeError(`KronSumLikelihood: Y has ${n} rows but the covariates have ${f.rows}`);
    if (f.data.some((v) => !Number.isFinite(v))) throw new LmmkitError('BAD_INPUT', 'KronSumLikelihood: the covariates have non-finite values');
    const a = opts.traitDesign ?? Matrix.identity(p);
    if (a.rows !== p) throw new ShapeError(`KronSumLikelihood: the trait design A must have P = ${p} rows (MTLMM's P x W layout; limix-core's GP2KronSum takes A^T), found ${a.shape}`);
    if (n * p <= f.cols * a.cols) throw new ShapeError(`KronSumLikelihood: ${n * p} observations cannot fit ${f.cols * a.cols} fixed effects`);
    let eigen: Eigen;
    if (opts.kinship instanceof Matrix) {
      if (opts.kinship.rows !== n || opts.kinship.cols !== n) throw new ShapeError(`KronSumLikelihood: Y has ${n} samples but R is ${opts.kinship.shape}`);
      eigen = backend.syevd(opts.kinship);
    } else {
      eigen = opts.kinship;
      if (eigen.values.length !== n) throw new ShapeError(`KronSumLikelihood: Y has ${n} samples but the eigendecomposition of R has ${eigen.values.length}`);
    }
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
            const v = dff.data[c + (llIndex(l1, l2)) * p]!;
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
        throw new LmmkitError('NUMERICAL', `KronSumLikelihood: the fixed-effect design A (x) F (${k} columns) is not of full rank: drop collinear covariates or trait-design columns`);
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

/** Options of `fitKronSumNull`. */
export interface FitKronSumOptions extends KronSumModelOptions {
  /**
   * Starting parameters (Cg's P(P+1)/2 Cholesky entries, then Cn's; limix's
   * order), or covariances to start from (limix's `setCovariance`). Default
   * limix-lmm's quick start: Cg = Cn = half the sample covariance of Y.
   */
  start?: ArrayLike<number> | { cg: Matrix; cn: Matrix };
  /** L-BFGS iterations (default 2000). */
  maxIterations?: number;
  /** Stop when the gradient's largest entry is at most this (default 1e-7). */
  gtol?: number;
}

/**
 * A fitted `GP2KronSum` null model vec(Y) ~ N(vec(F B A^T), Cg (x) R + Cn (x) I):
 * everything `Mtlmm` needs and what `saveNullModel` writes.
 */
export interface KronSumNullModel {
  readonly kind: 'kron-sum';
  /** Samples N and traits P. */
  readonly n: number;
  readonly p: number;
  /** The backend the model was made on (its covariance rotates with it). */
  readonly backend: Backend;
  /** Y (N x P), F (N x L) and A (P x W) the model was fitted to. */
  readonly y: Matrix;
  readonly covariates: Matrix;
  readonly traitDesign: Matrix;
  /** The fitted covariance, ready for `Mtlmm`. */
  readonly covariance: KronSumCovariance;
  /** The eigendecomposition of R. */
  readonly eigen: Eigen;
  /** Always REML (limix's objective). */
  readonly method: 'reml';
  /** Cg and Cn, each L L^T + jitter I (limix's `K()`). */
  readonly cg: Matrix;
  readonly cn: Matrix;
  /** Their Cholesky parameters (limix's `getParams()` order). */
  readonly cgParams: Float64Array;
  readonly cnParams: Float64Array;
  /** Per trait p: Cg_pp mean(diag R) / (Cg_pp mean(diag R) + Cn_pp), mean(diag R) as the mean clamped eigenvalue. */
  readonly h2: Float64Array;
  /** The restricted log-likelihood with its Gaussian constant (bigger is better): -lml - (NP - LW)/2 log(2 pi). */
  readonly logLik: number;
  /** limix's `gp.LML()` at the optimum: a NEGATIVE restricted log-likelihood without 2 pi (smaller is better). */
  readonly lml: number;
  /** GLS fixed effects B (L x W): mean F B A^T. */
  readonly beta: Matrix;
  /** Euclidean norm of d lml / d params at the optimum. */
  readonly gradNorm: number;
  readonly iterations: number;
  readonly evaluations: number;
  readonly converged: boolean;
  /** Why the optimiser stopped. */
  readonly reason: LbfgsStop | 'newton';
}

/** The parts of a Kronecker-sum null model from which `kronSumNullModel` assembles it. */
export interface KronSumNullParts {
  y: Matrix;
  covariates: Matrix;
  traitDesign: Matrix;
  eigen: Eigen;
  cg: Matrix;
  cn: Matrix;
  cgParams: Float64Array;
  cnParams: Float64Array;
  lml: number;
  beta: Matrix;
  gradNorm: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  reason: LbfgsStop | 'newton';
  backend: Backend;
}

/**
 * Assembles a `KronSumNullModel` from its fitted parameters: the covariance,
 * h2 and logLik are derived here, the one place, so that a model read back
 * from a file is the object `fitKronSumNull` made.
 */
export function kronSumNullModel(parts: KronSumNullParts): KronSumNullModel {
  const { y, covariates, traitDesign, eigen, cg, cn, backend } = parts;
  const n = y.rows;
  const p = y.cols;
  const covariance = new KronSumCovariance(eigen, cg, cn, backend);
  const meanDiag = covariance.eigenvalues.reduce((a, b) => a + b, 0) / n;
  const h2 = new Float64Array(p);
  for (let t = 0; t < p; t++) {
    const g2 = cg.data[t + t * p]! * meanDiag;
    h2[t] = g2 / (g2 + cn.data[t + t * p]!);
  }
  const df = n * p - covariates.cols * traitDesign.cols;
  return {
    kind: 'kron-sum', n, p, backend, y, covariates, traitDesign, covariance, eigen, method: 'reml', cg, cn,
    cgParams: parts.cgParams, cnParams: parts.cnParams, h2,
    logLik: -parts.lml - 0.5 * df * Math.log(2 * Math.PI),
    lml: parts.lml, beta: parts.beta, gradNorm: parts.gradNorm, iterations: parts.iterations, evaluations: parts.evaluations,
    converged: parts.converged, reason: parts.reason,
  };
}

/**
 * Fits limix-core's `GP2KronSum` null model by restricted maximum
 * likelihood: L-BFGS (strong Wolfe line search, approximate Wolfe where the
 * objective's differences drown in rounding) on the Cholesky parameters of Cg
 * and Cn with the analytic gradient, then, if the gradient is not yet below
 * `gtol`, a few Newton steps with a Hessian differenced from the analytic
 * gradient (accepted only when they lower the gradient without raising the
 * objective beyond rounding). Starts where limix-lmm's quick start starts.
 */
export function fitKronSumNull(opts: FitKronSumOptions): KronSumNullModel {
  const model = new KronSumLikelihood(opts);
  let x0: Float64Array;
  if (opts.start === undefined) x0 = model.limixStart();
  else if ('cg' in opts.start) {
    const s = opts.start as { cg: Matrix; cn: Matrix };
    x0 = Float64Array.of(
      ...FreeFormCov.fromCovariance(s.cg, { jitter: model.jitter }).getParams(),
      ...FreeFormCov.fromCovariance(s.cn, { jitter: model.jitter }).getParams(),
    );
  } else x0 = Float64Array.from(opts.start as ArrayLike<number>);
  if (x0.length !== model.nParams) throw new ShapeError(`fitKronSumNull: expected ${model.nParams} starting parameters, found ${x0.length}`);
  const gtol = opts.gtol ?? 1e-7;
  const objective = (x: Float64Array, g: Float64Array): number => {
    let e: KronSumEvaluation;
    try {
      e = model.evaluate(x, true);
    } catch (err) {
      if (err instanceof DomainError) return Infinity;
      throw err;
    }
    g.set(e.grad!);
    return e.lml;
  };
  const res = minimizeLbfgs(objective, x0, {
    maxIterations: opts.maxIterations ?? 2000,
    memory: 20,
    gtol,
    ftol: 1e-12,
    noise: 1e-13,
  });
  let x = res.x;
  let f = res.f;
  let g = res.grad;
  let reason: KronSumNullModel['reason'] = res.reason;
  let evaluations = res.evaluations;
  if (maxAbs(g) > gtol) {
    const polished = newtonPolish(model, x, f, g, gtol);
    evaluations += polished.evaluations;
    if (polished.improved) {
      x = polished.x;
      f = polished.f;
      g = polished.g;
      reason = 'newton';
    }
  }
  const h = model.nParams / 2;
  const { cg, cn } = model.covariances(x);
  const final = model.evaluate(x, false);
  return kronSumNullModel({
    y: model.y, covariates: model.covariates, traitDesign: model.traitDesign, eigen: model.eigen,
    cg: cg.K(), cn: cn.K(), cgParams: x.slice(0, h), cnParams: x.slice(h), lml: f, beta: final.beta,
    gradNorm: Math.sqrt(g.reduce((s, v) => s + v * v, 0)), iterations: res.iterations, evaluations,
    converged: maxAbs(g) <= gtol || res.converged, reason, backend: model.backend,
  });
}

/**
 * Up to 20 Newton steps x <- x - t H^-1 g with H the symmetric central
 * difference of the analytic gradient (2 n gradient evaluations), damped
 * (Levenberg) when H is not positive definite, and t halved from 1 until
 * the step lowers the objective, or lowers |g| without raising the
 * objective beyond its rounding.
 */
function newtonPolish(
  model: KronSumLikelihood, x0: Float64Array, f0: number, g0: Float64Array, gtol: number,
): { x: Float64Array; f: number; g: Float64Array; improved: boolean; evaluations: number } {
  const n = x0.length;
  let x = x0;
  let f = f0;
  let g = g0;
  let evaluations = 0;
  let improved = false;
  for (let it = 0; it < 20 && maxAbs(g) > gtol; it++) {
    const hess = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      const h = 1e-6 * Math.max(1, Math.abs(x[j]!));
      const xp = Float64Array.from(x);
      const xm = Float64Array.from(x);
      xp[j]! += h;
      xm[j]! -= h;
      const gp = model.evaluate(xp, true).grad!;
      const gm = model.evaluate(xm, true).grad!;
      evaluations += 2;
      for (let i = 0; i < n; i++) hess[i + j * n] = (gp[i]! - gm[i]!) / (2 * h);
    }
    symmetriseAverage(new Matrix(n, n, hess));
    let step: Float64Array | null = null;
    let mu = 0;
    const diagMax = Math.max(...Array.from({ length: n }, (_, i) => Math.abs(hess[i + i * n]!)));
    for (let tries = 0; tries < 20 && step === null; tries++) {
      const hm = Float64Array.from(hess);
      for (let i = 0; i < n; i++) hm[i + i * n]! += mu;
      const chol = choleskyLower(hm, n);
      if (chol !== null) step = choleskySolve(chol, n, g);
      else mu = mu === 0 ? 1e-10 * diagMax : mu * 10;
    }
    if (step === null) break;
    // Backtrack: keep the first step length that lowers f, or that lowers
    // |g| with f unchanged within rounding.
    let accepted = false;
    for (let t = 1; t > 1e-4 && !accepted; t *= 0.5) {
      const xn = Float64Array.from(x, (v, i) => v - t * step![i]!);
      let e: KronSumEvaluation;
      try {
        e = model.evaluate(xn, true);
      } catch (err) {
        if (err instanceof DomainError) continue;
        throw err;
      }
      evaluations++;
      const lower = e.lml < f - 1e-13 * Math.abs(f);
      const flat = e.lml <= f + 1e-13 * Math.abs(f) && maxAbs(e.grad!) < maxAbs(g);
      if (lower || flat) {
        x = xn;
        f = e.lml;
        g = e.grad!;
        improved = accepted = true;
      }
    }
    if (!accepted) break;
  }
  return { x, f, g, improved, evaluations };
}

// ---------------------------------------------------------------------------
// Small dense helpers (P x P and k x k work).

/** Index of the pair (l1, l2), l1 <= l2, in the order (0,0), (0,1), (1,1), (0,2), ... */
function llIndex(l1: number, l2: number): number {
  return (l2 * (l2 + 1)) / 2 + l1;
}

/** d[n + p N] = 1 / (sc_p sr_n + 1). */
function diagInverse(sr: Float64Array, sc: Float64Array): Matrix {
  const n = sr.length;
  const p = sc.length;
  const d = new Matrix(n, p);
  for (let c = 0; c < p; c++) {
    const s = sc[c]!;
    for (let i = 0; i < n; i++) d.data[i + c * n] = 1 / (s * sr[i]! + 1);
  }
  return d;
}

/** M B^T for M (r x p) and a small B (q x p): a new r x q matrix. */
export function rightMulT(m: Matrix, b: Matrix): Matrix {
  const r = m.rows;
  const p = m.cols;
  const q = b.rows;
  if (b.cols !== p) throw new ShapeError(`rightMulT: ${m.shape} times the transpose of ${b.shape}`);
  const out = new Matrix(r, q);
  for (let j = 0; j < q; j++) {
    const o = j * r;
    for (let c = 0; c < p; c++) {
      const v = b.data[j + c * q]!;
      if (v === 0) continue;
      const off = c * r;
      for (let i = 0; i < r; i++) out.data[o + i]! += m.data[off + i]! * v;
    }
  }
  return out;
}

/** B M for a small B (q x p) and M (p x w): a new q x w matrix. */
function leftMul(m: Matrix, b: Matrix): Matrix {
  const p = m.rows;
  const w = m.cols;
  const q = b.rows;
  if (b.cols !== p) throw new ShapeError(`leftMul: ${b.shape} times ${m.shape}`);
  const out = new Matrix(q, w);
  for (let j = 0; j < w; j++) {
    for (let i = 0; i < q; i++) {
      let s = 0;
      for (let c = 0; c < p; c++) s += b.data[i + c * q]! * m.data[c + j * p]!;
      out.data[i + j * q] = s;
    }
  }
  return out;
}

/** scale L^T G L for P x P L and G (column-major arrays). */
function congruence(l: Float64Array, g: Float64Array, p: number, scale: number): Matrix {
  const gl = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < p; i++) {
      let s = 0;
      for (let c = 0; c < p; c++) s += g[i + c * p]! * l[c + j * p]!;
      gl[i + j * p] = s;
    }
  }
  const out = new Matrix(p, p);
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < p; i++) {
      let s = 0;
      for (let c = 0; c < p; c++) s += l[c + i * p]! * gl[c + j * p]!;
      out.data[i + j * p] = scale * s;
    }
  }
  return out;
}

/** Sample covariance of the columns of Y (ddof 1, numpy's `cov(Y.T)`). */
export function sampleCovariance(y: Matrix): Matrix {
  const n = y.rows;
  const p = y.cols;
  const mean = new Float64Array(p);
  for (let c = 0; c < p; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += y.data[i + c * n]!;
    mean[c] = s / n;
  }
  const out = new Matrix(p, p);
  for (let b = 0; b < p; b++) {
    for (let a = 0; a <= b; a++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += (y.data[i + a * n]! - mean[a]!) * (y.data[i + b * n]! - mean[b]!);
      out.data[a + b * p] = out.data[b + a * p] = s / (n - 1);
    }
  }
  return out;
}

function maxAbs(x: Float64Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}
