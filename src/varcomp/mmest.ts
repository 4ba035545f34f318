import { LmmkitError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { buildDesign, designFor, markerDesign, planDesign, type CofactorTable, type DesignPlan, type FixedDesign } from './design.js';
import { checkComponents, sampleVariance } from './mm-common.js';
import { mmDense } from './mm-dense.js';
import { mmRotated, rotateTwo, type TwoRotation } from './mm-eigen.js';
import { mmHenderson } from './mm-henderson.js';
import type { EngineFit, EngineOptions, VarComponent, VarMethod } from './types.js';

/**
 * The marker models of `mmEst`: a numeric matrix (one model per column,
 * the column entering as `Xeffect`), a character matrix given column-wise
 * (one model per column, each a factor `Xeffect`), or a list of numeric
 * matrices (one model per element, its columns named by `xColumnNames`).
 */
export type MarkerInput = Matrix | readonly (readonly string[])[] | { readonly list: readonly Matrix[] };

/** Options of `mmEst`: MM4LMM's `MMEst` arguments in TypeScript form. */
export interface MmEstOptions {
  /** The response Y, length N (no missing values). */
  y: ArrayLike<number>;
  /** Fixed-effect cofactors: numeric matrix (columns V1, V2, ...), a table (string columns are factors) or a character matrix (columns). Default: none (an intercept). */
  cofactor?: Matrix | CofactorTable | readonly string[][];
  /** Marker models (MMEst's X): GWAS mode, one model per marker. */
  x?: MarkerInput;
  /** Model names (default: MM4LMM's: X1, X2, ... for a matrix; none for an unnamed list). */
  xNames?: readonly string[];
  /** Column names of the list elements (MM4LMM takes colnames(X[[1]]); default X1, X2, ...). */
  xColumnNames?: readonly string[];
  /** R-style fixed-effect formula, `Xeffect` standing for the marker (default: every cofactor plus the marker). */
  formula?: string;
  /** The variance components in order, the error usually last (MMEst's VarList, with names). */
  varList: readonly { name: string; r: Matrix }[];
  /** Incidence matrices, one per component (MMEst's ZList); absent: identity. */
  zList?: readonly (Matrix | undefined)[];
  method?: VarMethod;
  /** Henderson's mixed-model equations: true, false or 'auto' (MM4LMM's rule, the default). */
  henderson?: boolean | 'auto';
  init?: ArrayLike<number>;
  critVar?: number;
  critLogLik?: number;
  maxIter?: number;
  /** SQUAREM acceleration with a monotone safeguard (default false: MM4LMM's path). */
  accelerate?: boolean;
  /** Markers rotated per gemm in GWAS mode (default 512). */
  batchSize?: number;
  /** Called after each batch of marker models with (done, total). */
  onProgress?: (done: number, total: number) => void;
  backend?: Backend;
}

/** One fitted model, named as MM4LMM names its parts. */
export interface MmEstModel {
  beta: Float64Array;
  /** MM4LMM's BetaNames (empty when MM4LMM leaves a single coefficient unnamed). */
  betaNames: string[];
  /** The model-matrix names of the coefficients, never blank. */
  columnNames: string[];
  sigma2: Float64Array;
  sigma2Names: string[];
  /** p x p covariance of beta. */
  varBeta: Matrix;
  /** Log-likelihood, MM4LMM's convention: REML without the -(N-p)/2 log(2 pi) constant; ML with it. */
  logLik: number;
  logLikName: 'LogLik (Reml)' | 'LogLik (ML)';
  /**
   * The same log-likelihood on lme4's scale: REML with -(N-p)/2 log(2 pi)
   * added (lme4's `logLik(fit)` for a REML fit); ML as is.
   */
  logLikLme4: number;
  method: VarMethod;
  nbIt: number;
  converged: boolean;
  /** Term index of each coefficient (0 = intercept). */
  attr: Int32Array;
  /** Term labels. */
  factors: string[];
  /** Model-matrix columns dropped as aliased (R's pivoted QR). */
  dropped: string[];
}

/** What `mmEst` returns: one model, or one per marker. */
export interface MmEstResult {
  models: MmEstModel[];
  /** MM4LMM's names(Res): 'NullModel' without X; the marker names in GWAS mode (possibly none). */
  modelNames: string[];
  /** The computational path taken. */
  path: 'one-matrix' | 'eigen' | 'dense' | 'henderson';
  /** The cofactor-only fit that started every marker model (GWAS mode without init). */
  nullModel?: MmEstModel;
  /** MM4LMM's informational messages (e.g. Henderson requested where it is not used). */
  messages: string[];
}

/**
 * Fits Y = X b + sum_k Z_k u_k, u_k ~ N(0, sigma2_k R_k) by REML or ML with
 * the Min-Max algorithm, MM4LMM's `MMEst`
 * (`../shared/seeds/MM4LMM-3.0.3-reference-manual.txt`; Laporte, Charcosset
 * & Mary-Huard 2022; Hunter & Lange 2004; Zhou et al. 2015): one model, or
 * one per marker (GWAS mode), with MM4LMM's three computational paths:
 *
 * - one component: closed form;
 * - two components: one joint diagonalisation, after which each iteration
 *   and each marker model costs O(N p^2); in GWAS mode the markers of a
 *   batch are rotated with one gemm;
 * - more: the dense MM algorithm (V formed and factorised) or Henderson's
 *   mixed-model equations (REML only), chosen as MM4LMM does: 'auto' takes
 *   Henderson for REML when N > sum of the random effects' dimensions
 *   (all but the last component) + ncol(Cofactor).
 *
 * In GWAS mode without `init`, the cofactor-only model is fitted first and
 * its variances start every marker model (MM4LMM's behaviour).
 */
export function mmEst(opts: MmEstOptions): MmEstResult {
  const backend = opts.backend ?? getBackend();
  const y = Float64Array.from(opts.y);
  const n = y.length;
  checkY(y);
  const method: VarMethod = opts.method ?? 'reml';
  if (method !== 'reml' && method !== 'ml') throw new LmmkitError('BAD_ARGUMENT', `mmEst: method must be 'reml' or 'ml', found '${String(method)}'`);
  const varList = opts.varList;
  if (!Array.isArray(varList) || varList.length === 0) throw new LmmkitError('BAD_ARGUMENT', 'mmEst: varList needs at least one component (the error, usually last)');
  if (opts.zList !== undefined && opts.zList.length !== varList.length) {
    throw new ShapeError(`mmEst: Lists ZList and VarList should have the same number of elements (ZList has ${opts.zList.length}, VarList ${varList.length})`);
  }
  const components: VarComponent[] = varList.map((v, k) => ({ name: v.name, r: v.r, z: opts.zList?.[k] }));
  const sigma2Names = components.map((c) => c.name);
  const nComp = components.length;
  if (opts.init !== undefined && opts.init.length !== nComp) {
    throw new ShapeError(`mmEst: The length of Init and the number of variance are not compatible (init has ${opts.init.length} values for ${nComp} components)`);
  }
  const messages: string[] = [];

  // Designs: the cofactor-only model, and the plan of the marker models.
  const markers = opts.x === undefined ? undefined : normaliseMarkers(opts.x, n, opts);
  let plan: DesignPlan | undefined;
  let nullDesign: FixedDesign;
  if (markers === undefined) {
    nullDesign = buildDesign({ n, cofactor: opts.cofactor, formula: opts.formula });
  } else {
    plan = planDesign({ n, cofactor: opts.cofactor, formula: opts.formula, markerKind: markers.kind, markerColumns: markers.columns, markerNames: markers.columnNames });
    nullDesign = plan.nullDesign;
  }
  checkComponents('mmEst', components, n);

  // The computational path, MM4LMM's rule.
  const dims = components.slice(0, -1).reduce((s, c) => s + c.r.cols, 0);
  let henderson = opts.henderson ?? 'auto';
  if (henderson === 'auto') henderson = method === 'reml' && n > dims + nullDesign.cofactorNcol;
  let path: MmEstResult['path'];
  if (nComp === 1) path = 'one-matrix';
  else if (nComp === 2) {
    if (opts.henderson === true) messages.push("Henderson's trick is not implemented for 2 variance components, joint diagonalization trick is used");
    path = 'eigen';
  } else if (method === 'ml') {
    if (opts.henderson === true) messages.push("Henderson's trick is not available for ML inference, classical MM is used");
    path = 'dense';
  } else path = henderson ? 'henderson' : 'dense';

  const engineOpts = (init: ArrayLike<number> | undefined): EngineOptions & { accelerate?: boolean } => ({
    method, init, critVar: opts.critVar, critLogLik: opts.critLogLik, maxIter: opts.maxIter, accelerate: opts.accelerate,
  });
  let rotation: TwoRotation | undefined;
  let uty: Float64Array | undefined;
  const fitDesign = (x: Matrix, init: ArrayLike<number> | undefined, utx?: Matrix): EngineFit => {
    switch (path) {
      case 'eigen': {
        if (rotation === undefined) {
          rotation = rotateTwo(components, backend);
          uty = backend.gemm(rotation.u, Matrix.column(y), { transA: true }).data;
        }
        const rx = utx ?? backend.gemm(rotation.u, x, { transA: true });
        return mmRotated(uty!, rx, rotation.eigenvalues, { ...engineOpts(init), logDetError: rotation.logDetError } as EngineOptions);
      }
      case 'henderson':
        return mmHenderson(y, x, components, engineOpts(init));
      default:
        return mmDense(y, x, components, engineOpts(init));
    }
  };
  const toModel = (fit: EngineFit, design: FixedDesign): MmEstModel => {
    const p = design.x.cols;
    return {
      beta: fit.beta,
      betaNames: design.names.length === 1 && design.names[0] === '' ? [] : design.names.slice(),
      columnNames: design.columnNames.slice(),
      sigma2: fit.sigma2,
      sigma2Names: sigma2Names.slice(),
      varBeta: fit.varBeta,
      logLik: fit.logLik,
      logLikName: method === 'reml' ? 'LogLik (Reml)' : 'LogLik (ML)',
      logLikLme4: method === 'reml' ? fit.logLik - 0.5 * (n - p) * Math.log(2 * Math.PI) : fit.logLik,
      method,
      nbIt: fit.nbIt,
      converged: fit.converged,
      attr: design.attr,
      factors: design.factors.slice(),
      dropped: design.dropped.slice(),
    };
  };

  if (markers === undefined || plan === undefined) {
    const fit = fitDesign(nullDesign.x, opts.init ?? defaultInit(y, nComp));
    return { models: [toModel(fit, nullDesign)], modelNames: ['NullModel'], path, messages };
  }

  // GWAS mode: the null model first (unless init is given) starts every marker model.
  let init: ArrayLike<number> = opts.init ?? defaultInit(y, nComp);
  let nullModel: MmEstModel | undefined;
  if (opts.init === undefined) {
    const fit = fitDesign(nullDesign.x, init);
    nullModel = toModel(fit, nullDesign);
    init = fit.sigma2;
  }
  const total = markers.count;
  const models: MmEstModel[] = new Array(total);
  const batch = opts.batchSize ?? 512;
  let rotatedBase: Matrix | undefined;
  for (let m0 = 0; m0 < total; m0 += batch) {
    const m1 = Math.min(total, m0 + batch);
    const designs: FixedDesign[] = [];
    for (let m = m0; m < m1; m++) designs.push(designFor(plan, markers.get(m)));
    if (path === 'eigen') {
      // One gemm for the marker-dependent columns of the whole batch.
      if (rotation === undefined) {
        rotation = rotateTwo(components, backend);
        uty = backend.gemm(rotation.u, Matrix.column(y), { transA: true }).data;
      }
      rotatedBase ??= plan.base.cols > 0 ? backend.gemm(rotation.u, plan.base, { transA: true }) : new Matrix(n, 0);
      const parts = designs.map((_, k) => markerDesign(plan!, markers.get(m0 + k)).x);
      const width = parts.reduce((s, p) => s + p.cols, 0);
      const stacked = new Matrix(n, width);
      const offsets: number[] = [];
      let off = 0;
      for (const part of parts) {
        offsets.push(off);
        stacked.data.set(part.data, off * n);
        off += part.cols;
      }
      const rotated = width > 0 ? backend.gemm(rotation.u, stacked, { transA: true }) : stacked;
      designs.forEach((d, k) => {
        const utx = new Matrix(n, d.x.cols);
        d.source.forEach((s, j) => {
          const src = s >= 0 ? rotatedBase!.data.subarray(s * n, (s + 1) * n) : rotated.data.subarray((offsets[k]! - s - 1) * n, (offsets[k]! - s) * n);
          utx.data.set(src, j * n);
        });
        models[m0 + k] = toModel(fitDesign(d.x, init, utx), d);
      });
    } else {
      designs.forEach((d, k) => {
        models[m0 + k] = toModel(fitDesign(d.x, init), d);
      });
    }
    opts.onProgress?.(m1, total);
  }
  return { models, modelNames: markers.names, path, nullModel, messages };
}

/** MM4LMM's default start: var(Y) / K for every component. */
function defaultInit(y: Float64Array, k: number): Float64Array {
  return new Float64Array(k).fill(sampleVariance(y) / k);
}

function checkY(y: Float64Array): void {
  const bad: number[] = [];
  for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i]!)) bad.push(i);
  if (bad.length > 0) {
    const shown = bad.slice(0, 10).map((i) => i + 1).join(', ');
    throw new LmmkitError('BAD_INPUT', `mmEst: y has ${bad.length} missing or non-finite value${bad.length > 1 ? 's' : ''} (observation${bad.length > 1 ? 's' : ''} ${shown}${bad.length > 10 ? ', ...' : ''}, counting from 1): remove those observations from y, the cofactors, X and Z first`);
  }
  if (y.length < 2) throw new ShapeError(`mmEst: y needs at least 2 observations, found ${y.length}`);
}

interface Markers {
  kind: 'numeric' | 'character';
  count: number;
  columns: number;
  columnNames?: readonly string[];
  names: string[];
  get(m: number): Matrix | readonly string[];
}

/** The marker models in one shape, with MM4LMM's names and dimension checks. */
function normaliseMarkers(x: MarkerInput, n: number, opts: MmEstOptions): Markers {
  const named = (count: number, fallback: (i: number) => string): string[] => {
    if (opts.xNames !== undefined) {
      if (opts.xNames.length !== count) throw new ShapeError(`mmEst: xNames has ${opts.xNames.length} names for ${count} marker models`);
      return opts.xNames.slice();
    }
    return Array.from({ length: count }, (_, i) => fallback(i));
  };
  if (x instanceof Matrix) {
    if (x.rows !== n) throw new ShapeError(`mmEst: Incompatible dimension between Y and X (y has ${n} values, X has ${x.rows} rows)`);
    return { kind: 'numeric', count: x.cols, columns: 1, names: named(x.cols, (i) => `X${i + 1}`), get: (m) => x.colView(m, m + 1) };
  }
  if ('list' in x) {
    const list = x.list;
    if (list.length === 0) throw new LmmkitError('BAD_ARGUMENT', 'mmEst: the list of marker matrices is empty');
    const q = list[0]!.cols;
    list.forEach((mat, i) => {
      if (mat.rows !== n) throw new ShapeError(`mmEst: Incompatible dimension between Y and a matrix in the list X (element ${i + 1} has ${mat.rows} rows, y has ${n} values)`);
      if (mat.cols !== q) throw new ShapeError(`mmEst: the matrices of the list X must have the same number of columns (element 1 has ${q}, element ${i + 1} has ${mat.cols})`);
    });
    const names = opts.xNames !== undefined ? named(list.length, () => '') : [];
    return { kind: 'numeric', count: list.length, columns: q, columnNames: opts.xColumnNames ?? Array.from({ length: q }, (_, i) => `X${i + 1}`), names, get: (m) => list[m]! };
  }
  const cols = x as readonly (readonly string[])[];
  cols.forEach((c) => {
    if (c.length !== n) throw new ShapeError(`mmEst: Incompatible dimension between Y and X (y has ${n} values, X has ${c.length} rows)`);
  });
  return { kind: 'character', count: cols.length, columns: 1, names: named(cols.length, (i) => `X${i + 1}`), get: (m) => cols[m]! };
}
