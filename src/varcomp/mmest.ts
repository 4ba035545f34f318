import { ArgumentError, InputError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { buildDesign, designFromColumns, markerDesign, planDesign, type DesignPlan, type FixedDesign, type MarkerColumns } from './design.js';
import type { CofactorTable } from './design-frame.js';
import { clearlyKept, keptColumns, planMarkerScan, type MarkerScanPlan } from './marker-scan.js';
import { type CheckedComponent, checkComponents, resolveOptions, sampleVariance } from './mm-common.js';
import { mmDense } from './mm-dense.js';
import { mmRotated, rotateTwo, RotatedWorkspace, type TwoRotation } from './mm-eigen.js';
import { remlScan, type ScanDesigns, type ScanFits, type ScanOptions, scanFits } from './mm-eigen-scan.js';
import { mmHenderson } from './mm-henderson.js';
import type { EngineFit, EngineOptions, VarComponent, VarListEntry, VarMethod } from './types.js';

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
  /** The variance components in order, the error usually last (MMEst's VarList, with names; `ids` name the BLUPs of mmBlup). */
  varList: readonly VarListEntry[];
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
  /**
   * Print MM4LMM's informational messages (Henderson not used, a covariance
   * that is not positive definite) to stderr as they arise, as MMEst's
   * Verbose = TRUE does (default false; they are always in `messages`).
   */
  verbose?: boolean;
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
  return fitInThisThread(new MmEstRun(opts), opts.onProgress);
}

/** Fits a prepared run's models in this thread, in batches. @internal */
export function fitInThisThread(run: MmEstRun, onProgress?: (done: number, total: number) => void): MmEstResult {
  const markers = run.markers;
  if (markers === undefined) return run.single();
  const models: MmEstModel[] = new Array(markers.count);
  for (const b of run.fitBatches(markers)) {
    b.models.forEach((m, k) => {
      models[b.start + k] = m;
    });
    onProgress?.(b.start + b.models.length, markers.count);
  }
  return run.result(models);
}

/** What the scans of a run share (see `MmEstRun.scanContext`). @internal */
export interface ScanContext {
  uty: Float64Array;
  eigenvalues: Float64Array;
  /** The kept base columns rotated, N x p0. */
  base: Float64Array;
  p0: number;
  options: ScanOptions;
  logDetError: number;
}

/** A batch of markers prepared for the scan (see `MmEstRun.prepareScan`). @internal */
export interface ScanBatch {
  start: number;
  count: number;
  /** 1 for the markers the scan fits. */
  kept: Uint8Array;
  nKept: number;
  /** Their rotated columns, N x nKept. */
  xb: Float64Array;
  /** Every rotated marker column of the batch, N x count. */
  rotated: Float64Array;
  /** The exact designs of the markers the scan leaves to the per-model path, by index in the batch. */
  others: Map<number, FixedDesign>;
}

/** A batch whose rotation may still be running (see `MmEstRun.startScan`): `wait()` gives it. @internal */
export interface PendingScan {
  wait(): ScanBatch;
}

/** The scan's designs for a prepared batch. @internal */
export function scanDesigns(ctx: ScanContext, batch: ScanBatch): ScanDesigns {
  return { xa: ctx.base, pa: ctx.p0, xb: batch.xb, pb: 1, count: batch.nKept };
}

/** A batch of fitted marker models, from marker `start` on. */
export interface FittedBatch {
  start: number;
  models: MmEstModel[];
}

/** A batch of marker models: their designs and, on the eigen path, their rotated designs. */
export interface MarkerBatch {
  start: number;
  designs: FixedDesign[];
  /** U' X per model (eigen path only), the marker columns of the batch rotated with one gemm. */
  utx?: Matrix[];
}

/**
 * One mmEst call taken apart (checks, designs, path, the null model, batches
 * of marker designs) so that the marker models can be fitted here or on
 * worker threads (`mmEstParallel`).
 * @internal
 */
export class MmEstRun {
  readonly n: number;
  readonly y: Float64Array;
  readonly method: VarMethod;
  readonly components: VarComponent[];
  /** The components as `checkComponents` gave them (checked once per run). */
  private readonly checked: CheckedComponent[];
  readonly path: MmEstResult['path'];
  readonly messages: string[] = [];
  readonly markers: Markers | undefined;
  /** Starting variances of the marker models (the null model's estimates unless init was given). */
  readonly init: Float64Array;
  readonly nullModel: MmEstModel | undefined;
  private readonly backend: Backend;
  private readonly plan: DesignPlan | undefined;
  private readonly nullDesign: FixedDesign;
  private rotatedCache: { rotation: TwoRotation; uty: Float64Array } | undefined;
  /** The scratch space of this run's rotated fits. */
  private readonly workspace = new RotatedWorkspace();
  private rotatedBase: Matrix | undefined;
  /**
   * The batched REML scan of the marker models (see `fitBatches`): its plan
   * and the design every kept marker's model shares; null when this run's
   * models do not qualify, undefined until decided.
   */
  private scan: { plan: MarkerScanPlan; design: FixedDesign | undefined } | null | undefined;
  private scanInput: Matrix | undefined;

  constructor(private readonly opts: MmEstOptions) {
    this.backend = opts.backend ?? getBackend();
    const y = Float64Array.from(opts.y);
    this.y = y;
    const n = y.length;
    this.n = n;
    checkY(y);
    const method: VarMethod = opts.method ?? 'reml';
    if (method !== 'reml' && method !== 'ml') throw new ArgumentError(`mmEst: method must be 'reml' or 'ml', found '${String(method)}'`);
    this.method = method;
    const varList = opts.varList;
    if (!Array.isArray(varList) || varList.length === 0) throw new ArgumentError('mmEst: varList needs at least one component (the error, usually last)');
    if (opts.zList !== undefined && opts.zList.length !== varList.length) {
      throw new ShapeError(
        `mmEst: Lists ZList and VarList should have the same number of elements (ZList has ${opts.zList.length}, VarList ${varList.length})`,
      );
    }
    const components: VarComponent[] = varList.map((v, k) => ({ name: v.name, r: v.r, z: opts.zList?.[k] }));
    this.components = components;
    const nComp = components.length;
    if (opts.init !== undefined && opts.init.length !== nComp) {
      throw new ShapeError(
        `mmEst: The length of Init and the number of variance are not compatible (init has ${opts.init.length} values for ${nComp} components)`,
      );
    }

    // Designs: the cofactor-only model, and the plan of the marker models.
    this.markers = opts.x === undefined ? undefined : normaliseMarkers(opts.x, n, opts);
    if (this.markers === undefined) {
      this.nullDesign = buildDesign({ n, cofactor: opts.cofactor, formula: opts.formula });
    } else {
      const m = this.markers;
      this.plan = planDesign({ n, cofactor: opts.cofactor, formula: opts.formula, markerKind: m.kind, markerColumns: m.columns, markerNames: m.columnNames });
      this.nullDesign = this.plan.nullDesign;
    }
    this.checked = checkComponents('mmEst', components, n);

    // The computational path, MM4LMM's rule.
    const dims = components.slice(0, -1).reduce((s, c) => s + c.r.cols, 0);
    let henderson = opts.henderson ?? 'auto';
    if (henderson === 'auto') henderson = method === 'reml' && n > dims + this.nullDesign.cofactorNcol;
    if (nComp === 1) this.path = 'one-matrix';
    else if (nComp === 2) {
      if (opts.henderson === true) this.note("Henderson's trick is not implemented for 2 variance components, joint diagonalization trick is used");
      this.path = 'eigen';
    } else if (method === 'ml') {
      if (opts.henderson === true) this.note("Henderson's trick is not available for ML inference, classical MM is used");
      this.path = 'dense';
    } else this.path = henderson ? 'henderson' : 'dense';

    // GWAS mode: the null model first (unless init is given) starts every marker model.
    let init = opts.init !== undefined ? Float64Array.from(opts.init) : defaultInit(y, nComp);
    if (this.markers !== undefined && opts.init === undefined) {
      const fit = this.fitDesign(this.nullDesign.x, undefined, init);
      this.nullModel = this.toModel(fit, this.nullDesign);
      init = fit.sigma2;
    }
    this.init = init;
  }

  /** Records an informational message (and prints it with `verbose`). */
  private note(message: string): void {
    this.messages.push(message);
    if (this.opts.verbose === true) console.warn(`mmEst: ${message}`);
  }

  /** The engine options for a fit from `init`. */
  engineOptions(init: ArrayLike<number> = this.init): EngineOptions & { accelerate?: boolean; logDetError?: number } {
    const o = this.opts;
    return {
      method: this.method,
      init,
      critVar: o.critVar,
      critLogLik: o.critLogLik,
      maxIter: o.maxIter,
      accelerate: o.accelerate,
      backend: this.backend,
      logDetError: this.path === 'eigen' ? this.rotated().rotation.logDetError : undefined,
    };
  }

  /** The joint diagonalisation of the two components and U'y (eigen path), computed once. */
  rotated(): { rotation: TwoRotation; uty: Float64Array } {
    if (this.rotatedCache === undefined) {
      const rotation = rotateTwo(this.components, this.backend, this.checked);
      if (rotation.eigenvalues.some((d) => d < 0)) {
        this.note('Matrices are not positive definite. Results can be wrong or NaN can be produced.');
      }
      const uty = this.backend.gemm(rotation.u, Matrix.column(this.y), { transA: true }).data;
      this.rotatedCache = { rotation, uty };
    }
    return this.rotatedCache;
  }

  /** Fits one design by the run's path (`utx`: its rotation, when already done). */
  fitDesign(x: Matrix, utx?: Matrix, init: ArrayLike<number> = this.init): EngineFit {
    switch (this.path) {
      case 'eigen': {
        const { rotation, uty } = this.rotated();
        const rx = utx ?? this.backend.gemm(rotation.u, x, { transA: true });
        return mmRotated(uty, rx, rotation.eigenvalues, this.engineOptions(init) as EngineOptions, this.workspace);
      }
      case 'henderson':
        return mmHenderson(this.y, x, this.components, this.engineOptions(init));
      default:
        return mmDense(this.y, x, this.components, this.engineOptions(init));
    }
  }

  /** An engine fit with the design's names, as mmEst returns it. */
  toModel(fit: EngineFit, design: FixedDesign): MmEstModel {
    const p = design.x.cols;
    const method = this.method;
    return {
      beta: fit.beta,
      betaNames: design.names.length === 1 && design.names[0] === '' ? [] : design.names.slice(),
      columnNames: design.columnNames.slice(),
      sigma2: fit.sigma2,
      sigma2Names: this.components.map((c) => c.name),
      varBeta: fit.varBeta,
      logLik: fit.logLik,
      logLikName: method === 'reml' ? 'LogLik (Reml)' : 'LogLik (ML)',
      logLikLme4: method === 'reml' ? fit.logLik - 0.5 * (this.n - p) * Math.log(2 * Math.PI) : fit.logLik,
      method,
      nbIt: fit.nbIt,
      converged: fit.converged,
      attr: design.attr.slice(),
      factors: design.factors.slice(),
      dropped: design.dropped.slice(),
    };
  }

  /** The single model of a call without markers. */
  single(): MmEstResult {
    const fit = this.fitDesign(this.nullDesign.x);
    return { models: [this.toModel(fit, this.nullDesign)], modelNames: ['NullModel'], path: this.path, messages: this.messages };
  }

  /**
   * The marker models fitted in batches of `batchSize`, in marker order. On
   * the eigen path with REML, MM4LMM's iteration (no `accelerate`) and
   * markers that enter as one numeric column after the base columns (see
   * marker-scan.ts), a batch is fitted as one structure-of-arrays scan: its
   * marker columns rotated with one gemm, then every model iterated
   * together (`remlScan`), each stopping where its lone fit would, with the
   * same bits. Other models take the per-model path of `batches`.
   */
  *fitBatches(markers: Markers, from = 0): Generator<FittedBatch> {
    const ctx = this.scanContext(markers);
    const size = this.opts.batchSize ?? 512;
    let m0 = from;
    if (ctx !== undefined) {
      // Batch b + 1 is rotated (beside this thread where the backend can,
      // see gemmStart) while batch b is scanned here: two buffers for their
      // rotated columns, in turn.
      const outs: Matrix[] = [];
      let slot = 0;
      const start = (at: number): PendingScan | undefined => {
        const count = Math.min(size, markers.count - at);
        slot = 1 - slot;
        if (outs[slot]?.cols !== count) outs[slot] = new Matrix(this.n, count);
        return this.startScan(ctx, markers, at, count, outs[slot]);
      };
      let next = m0 < markers.count ? start(m0) : undefined;
      try {
        while (next !== undefined) {
          const batch = next.wait();
          const m1 = batch.start + batch.count;
          next = undefined;
          // A bad marker of the next batch throws after this batch's models, as without the overlap.
          let failure: { error: unknown } | undefined;
          try {
            if (m1 < markers.count) next = start(m1);
          } catch (error) {
            failure = { error };
          }
          yield { start: batch.start, models: this.finishScan(batch, this.scanHere(ctx, batch)) };
          if (failure !== undefined) throw failure.error;
          m0 = m1;
        }
      } finally {
        // Ended early (a model failed, the caller stopped): the next batch's gemm is over before this returns.
        next?.wait();
      }
    }
    // Models the scan does not take (or all from the first batch whose shared design is not the planned one).
    for (const b of this.batches(markers, m0)) {
      yield { start: b.start, models: b.designs.map((d, k) => this.toModel(this.fitDesign(d.x, b.utx?.[k]), d)) };
    }
  }

  /**
   * What the scans of this run's marker models share, or undefined when
   * they do not qualify for the scan (see `fitBatches`).
   * @internal
   */
  scanContext(markers: Markers): ScanContext | undefined {
    const plan = this.plan;
    if (plan === undefined) return undefined;
    if (this.scan === undefined) {
      const o = this.opts;
      const qualifies = this.path === 'eigen' && this.method === 'reml' && o.accelerate !== true;
      const sp = qualifies ? planMarkerScan(plan) : undefined;
      this.scan = sp === undefined ? null : { plan: sp, design: undefined };
    }
    if (this.scan === null || markers.kind !== 'numeric' || markers.columns !== 1) return undefined;
    const { rotation, uty } = this.rotated();
    this.workspace.checkInputs(uty, rotation.eigenvalues);
    const { init, critVar, critLogLik, maxIter } = resolveOptions(this.engineOptions(), 2, uty, 'mmRotated');
    const sp = this.scan.plan;
    return {
      uty,
      eigenvalues: rotation.eigenvalues,
      base: keptColumns(this.baseRotated(plan, rotation), sp.kept).data,
      p0: sp.p0,
      // The scan's WebAssembly kernel gives the bits of its TypeScript loops; the js backend keeps to TypeScript.
      options: { init, critVar, critLogLik, maxIter, wasm: this.backend.name !== 'js' },
      logDetError: rotation.logDetError,
    };
  }

  /**
   * The batch of markers [m0, m0 + count) ready for the scan: their columns
   * rotated with one gemm, those that certainly keep the design [base,
   * marker] gathered for `remlScan`, the exact designs of the others.
   * Undefined when the shared design is not the one planned (never seen):
   * the caller then takes the per-model path from m0 on. `out` (N x count),
   * when given, receives the rotated columns (the batch's `rotated` is then
   * a view of it, valid until `out` is reused); else they go to a new array.
   * @internal
   */
  prepareScan(ctx: ScanContext, markers: Markers, m0: number, count: number, out?: Matrix): ScanBatch | undefined {
    return this.startScan(ctx, markers, m0, count, out)?.wait();
  }

  /**
   * `prepareScan` with the rotation left running: the gemm starts first
   * (`Backend.gemmStart`, on a thread of its own on the native backend), the
   * markers are checked and the others' designs built beside it, and
   * `wait()` gives the batch once the gemm is done. Nothing may write the
   * markers or `out` before then.
   * @internal
   */
  startScan(ctx: ScanContext, markers: Markers, m0: number, count: number, out?: Matrix): PendingScan | undefined {
    const scan = this.scan;
    const plan = this.plan;
    if (scan === null || scan === undefined || plan === undefined) return undefined;
    const n = this.n;
    const p = ctx.p0 + 1;
    // The gemm's input: the markers' own columns where they lie side by side
    // (a matrix, a streamed batch), else a copy reused from batch to batch
    // (no batch keeps it, and a batch's gemm is over before the next copy).
    let stacked = markers.block?.(m0, count);
    if (stacked === undefined) {
      if (this.scanInput?.cols !== count) this.scanInput = new Matrix(n, count);
      stacked = this.scanInput;
      for (let k = 0; k < count; k++) stacked.data.set((markers.get(m0 + k) as Matrix).data, k * n);
    }
    const c = out?.rows === n && out.cols === count ? out : undefined;
    const rotation = this.backend.gemmStart(this.rotated().rotation.u, stacked, { transA: true, c });
    const columns = stacked.data;
    const kept = new Uint8Array(count);
    // The exact designs of the others, built in marker order (a bad marker throws as in `batches`).
    const others = new Map<number, FixedDesign>();
    let nKept = 0;
    try {
      for (let k = 0; k < count; k++) {
        if (!clearlyKept(scan.plan, columns, k * n)) {
          others.set(k, designFromColumns(plan, markerDesign(plan, markers.get(m0 + k))));
          continue;
        }
        kept[k] = 1;
        nKept++;
        if (scan.design === undefined) {
          // The shared design, built once the exact way; it must be [kept base columns, marker].
          const d = designFromColumns(plan, markerDesign(plan, markers.get(m0 + k)));
          if (d.rank !== p || d.source.some((src, j) => src !== (j < ctx.p0 ? scan.plan.kept[j] : -1))) {
            this.scan = null;
            rotation.wait();
            return undefined;
          }
          scan.design = d;
        }
      }
    } catch (e) {
      // The gemm still writes `out`: the caller may reuse it once this returns.
      rotation.wait();
      throw e;
    }
    return {
      wait: (): ScanBatch => {
        const rotated = rotation.wait().data;
        // The scan reads the kept markers' rotated columns contiguously.
        let xb = rotated;
        if (nKept < count) {
          xb = new Float64Array(nKept * n);
          let at = 0;
          for (let k = 0; k < count; k++) if (kept[k] === 1) xb.set(rotated.subarray(k * n, (k + 1) * n), n * at++);
        }
        return { start: m0, count, kept, nKept, xb, rotated, others };
      },
    };
  }

  /**
   * `remlScan` of a prepared batch in this thread. When a model fails, the
   * batch's models are fitted one by one in marker order, so that the error
   * thrown is the first model's, as in `batches`.
   * @internal
   */
  scanHere(ctx: ScanContext, batch: ScanBatch): ScanFits {
    const p = ctx.p0 + 1;
    const fits = scanFits(batch.nKept, p);
    try {
      remlScan(this.workspace.get(this.n, p), ctx.uty, ctx.eigenvalues, scanDesigns(ctx, batch), ctx.options, ctx.logDetError, fits);
    } catch (e) {
      const design = this.scan?.design;
      for (let k = 0; k < batch.count; k++) {
        const d = batch.others.get(k) ?? design;
        if (d !== undefined) this.fitDesign(d.x, this.rotatedDesign(d, batch.rotated, k));
      }
      throw e;
    }
    return fits;
  }

  /** The models of a scanned batch: the scan's fits, and the others fitted here by the per-model path. @internal */
  finishScan(batch: ScanBatch, fits: ScanFits): MmEstModel[] {
    const design = this.scan?.design;
    const models: MmEstModel[] = new Array(batch.count);
    let j = 0;
    for (let k = 0; k < batch.count; k++) {
      const other = batch.others.get(k);
      if (other !== undefined) {
        models[k] = this.toModel(this.fitDesign(other.x, this.rotatedDesign(other, batch.rotated, k)), other);
        continue;
      }
      if (design === undefined) throw new ShapeError('mmEst: a scanned batch without its shared design');
      const p = design.x.cols;
      const fit = {
        sigma2: fits.sigma2.slice(2 * j, 2 * j + 2),
        beta: fits.beta.slice(p * j, p * (j + 1)),
        varBeta: new Matrix(p, p, fits.varBeta.slice(p * p * j, p * p * (j + 1))),
        logLik: fits.logLik[j]!,
        nbIt: fits.nbIt[j]!,
        converged: fits.converged[j] === 1,
      };
      models[k] = this.toModel(fit, design);
      j++;
    }
    return models;
  }

  /** U' times the plan's base columns, once per run. */
  private baseRotated(plan: DesignPlan, rotation: TwoRotation): Matrix {
    this.rotatedBase ??= plan.base.cols > 0 ? this.backend.gemm(rotation.u, plan.base, { transA: true }) : new Matrix(this.n, 0);
    return this.rotatedBase;
  }

  /** U'X of a design from the rotated base and its marker-dependent columns, column `k` on of `rotated` (N rows per column). */
  private rotatedDesign(d: FixedDesign, rotated: Float64Array, k: number): Matrix {
    const n = this.n;
    const base = this.rotatedBase!.data;
    const out = new Matrix(n, d.x.cols);
    d.source.forEach((s, j) => {
      out.data.set(s >= 0 ? base.subarray(s * n, (s + 1) * n) : rotated.subarray((k - s - 1) * n, (k - s) * n), j * n);
    });
    return out;
  }

  /**
   * The marker models in batches of `batchSize`: their designs and, on the
   * eigen path, their rotated designs, the marker-dependent columns of the
   * whole batch rotated with one gemm (the base columns once per run).
   */
  *batches(markers: Markers | undefined = this.markers, from = 0): Generator<MarkerBatch> {
    const plan = this.plan;
    if (markers === undefined || plan === undefined) return;
    const n = this.n;
    const size = this.opts.batchSize ?? 512;
    for (let m0 = from; m0 < markers.count; m0 += size) {
      const m1 = Math.min(markers.count, m0 + size);
      const parts: MarkerColumns[] = [];
      for (let m = m0; m < m1; m++) parts.push(markerDesign(plan, markers.get(m)));
      const designs = parts.map((md) => designFromColumns(plan, md));
      if (this.path !== 'eigen') {
        yield { start: m0, designs };
        continue;
      }
      const { rotation } = this.rotated();
      this.baseRotated(plan, rotation);
      const width = parts.reduce((s, p) => s + p.x.cols, 0);
      const stacked = new Matrix(n, width);
      const offsets: number[] = [];
      let off = 0;
      for (const part of parts) {
        offsets.push(off);
        stacked.data.set(part.x.data, off * n);
        off += part.x.cols;
      }
      const rotated = width > 0 ? this.backend.gemm(rotation.u, stacked, { transA: true }) : stacked;
      const utx = designs.map((d, k) => this.rotatedDesign(d, rotated.data, offsets[k]!));
      yield { start: m0, designs, utx };
    }
  }

  /** The result of a GWAS-mode run from its fitted models. */
  result(models: MmEstModel[]): MmEstResult {
    return { models, modelNames: this.markers?.names ?? [], path: this.path, nullModel: this.nullModel, messages: this.messages };
  }
}

/** MM4LMM's default start: var(Y) / K for every component. */
function defaultInit(y: Float64Array, k: number): Float64Array {
  return new Float64Array(k).fill(sampleVariance(y) / k);
}

function checkY(y: Float64Array): void {
  const bad: number[] = [];
  for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i]!)) bad.push(i);
  if (bad.length > 0) {
    const shown = bad
      .slice(0, 10)
      .map((i) => i + 1)
      .join(', ');
    throw new InputError(
      undefined,
      `mmEst: y has ${bad.length} missing or non-finite value${bad.length > 1 ? 's' : ''} (observation${bad.length > 1 ? 's' : ''} ${shown}${bad.length > 10 ? ', ...' : ''}, counting from 1): remove those observations from y, the cofactors, X and Z first`,
    );
  }
  if (y.length < 2) throw new ShapeError(`mmEst: y needs at least 2 observations, found ${y.length}`);
}

/** @internal The marker models in one shape. */
export interface Markers {
  kind: 'numeric' | 'character';
  count: number;
  columns: number;
  columnNames?: readonly string[];
  names: string[];
  get(m: number): Matrix | readonly string[];
  /**
   * The numeric markers [m0, m0 + count) as one N x count view of their
   * storage, where their columns lie side by side (no copy); absent otherwise.
   */
  block?(m0: number, count: number): Matrix;
}

/**
 * mmEst's `x` in one shape (numeric matrix, character columns or a list of
 * matrices), with MM4LMM's names and its dimension checks. @internal
 */
export function normaliseMarkers(x: MarkerInput, n: number, opts: { xNames?: readonly string[]; xColumnNames?: readonly string[] }): Markers {
  const named = (count: number, fallback: (i: number) => string): string[] => {
    if (opts.xNames !== undefined) {
      if (opts.xNames.length !== count) throw new ShapeError(`mmEst: xNames has ${opts.xNames.length} names for ${count} marker models`);
      return opts.xNames.slice();
    }
    return Array.from({ length: count }, (_, i) => fallback(i));
  };
  if (x instanceof Matrix) {
    if (x.rows !== n) throw new ShapeError(`mmEst: Incompatible dimension between Y and X (y has ${n} values, X has ${x.rows} rows)`);
    return {
      kind: 'numeric',
      count: x.cols,
      columns: 1,
      names: named(x.cols, (i) => `X${i + 1}`),
      get: (m) => x.colView(m, m + 1),
      block: (m0, count) => x.colView(m0, m0 + count),
    };
  }
  if ('list' in x) {
    const list = x.list;
    const [first] = list;
    if (first === undefined) throw new ArgumentError('mmEst: the list of marker matrices is empty');
    const q = first.cols;
    list.forEach((mat, i) => {
      if (mat.rows !== n)
        throw new ShapeError(`mmEst: Incompatible dimension between Y and a matrix in the list X (element ${i + 1} has ${mat.rows} rows, y has ${n} values)`);
      if (mat.cols !== q)
        throw new ShapeError(`mmEst: the matrices of the list X must have the same number of columns (element 1 has ${q}, element ${i + 1} has ${mat.cols})`);
    });
    const names = opts.xNames !== undefined ? named(list.length, () => '') : [];
    return {
      kind: 'numeric',
      count: list.length,
      columns: q,
      columnNames: opts.xColumnNames ?? Array.from({ length: q }, (_, i) => `X${i + 1}`),
      names,
      get: (m) => list[m]!,
    };
  }
  const cols = x as readonly (readonly string[])[];
  cols.forEach((c) => {
    if (c.length !== n) throw new ShapeError(`mmEst: Incompatible dimension between Y and X (y has ${n} values, X has ${c.length} rows)`);
  });
  return { kind: 'character', count: cols.length, columns: 1, names: named(cols.length, (i) => `X${i + 1}`), get: (m) => cols[m]! };
}
