// BLUPs of the random components of a fitted variance-component model,
// MM4LMM's `MMBlup`, and the input resolution `mmVcov` shares with it.
//
// MM4LMM 3.0.3's R code was read for its semantics (what is computed, which
// beta, which errors); nothing here is copied from it (GPL).
import { ArgumentError, InputError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { buildDesign } from './design.js';
import type { CofactorTable } from './design-frame.js';
import { modelAt, type ModelAt } from './model-at.js';
import { normaliseMarkers, type MarkerInput, type MmEstModel, type MmEstResult } from './mmest.js';
import type { VarComponent, VarListEntry, VarMethod } from './types.js';

/**
 * The parts of a fit that `mmBlup` and `mmVcov` read: an `MmEstModel` is
 * one, and so is a hand-made `{ sigma2, method, beta }` (to evaluate at a
 * reference's variances, or at any).
 */
export interface MmFitInput {
  /** The variances, one per component, in `data.varList` order. */
  readonly sigma2: ArrayLike<number>;
  /** The fit's method: it chooses the expected information of `mmVcov` (REML: P; ML: V^-1). */
  readonly method: VarMethod;
  /** The fixed effects the fit reported (MMBlup's residual Y - X beta uses them; absent: the GLS beta at sigma2). */
  readonly beta?: ArrayLike<number>;
  /** The component names of the fit; when given they must be `data.varList`'s, in order. */
  readonly sigma2Names?: readonly string[];
  /** The fit's fixed-effect column names; when given the rebuilt design must have the same. */
  readonly columnNames?: readonly string[];
}

/** A fit as `mmBlup` and `mmVcov` take it: what `mmEst` returns, one of its models, or the bare parts. */
export type MmFit = MmEstResult | MmEstModel | MmFitInput;

/** One variance component of `data.varList` (the `VarListEntry` that `mmEst` takes). */
export type MmDataComponent = VarListEntry;

/**
 * The data a fit was made from, as `mmEst` took it (MMBlup's and MMVcov's
 * Y, Cofactor, formula, ZList, VarList). The fixed-effect design is rebuilt
 * from `cofactor`/`formula` (and the marker of the chosen model, `x`)
 * exactly as `mmEst` builds it, or given directly as `design`.
 */
export interface MmData {
  readonly y: ArrayLike<number>;
  /** The N x p fixed-effect design, columns in the fit's beta order (instead of cofactor/formula/x). */
  readonly design?: Matrix;
  readonly cofactor?: Matrix | CofactorTable | readonly string[][];
  readonly formula?: string;
  /** The marker models of a GWAS-mode fit (mmEst's `x`); the one of `opts.model` joins the design. */
  readonly x?: MarkerInput;
  /** Column names of the list elements of `x` (mmEst's `xColumnNames`). */
  readonly xColumnNames?: readonly string[];
  /** The components in the fit's order (mmEst's varList; `ids` may be added). */
  readonly varList: readonly MmDataComponent[];
  /** Incidence matrices, one per component (mmEst's zList); absent: identity. */
  readonly zList?: readonly (Matrix | undefined)[];
}

/** Options shared by `mmBlup` and `mmVcov`. */
export interface MmInferenceOptions {
  /**
   * Which model of an `MmEstResult` (0-based). Needed when it holds more
   * than one (GWAS mode); then the marker of that model is `data.x`'s
   * model-th (or give the whole design as `data.design`).
   */
  model?: number;
  backend?: Backend;
}

/** Everything the inference functions need, resolved and checked. */
export interface ResolvedInference {
  y: Float64Array;
  /** N x p fixed-effect design. */
  x: Matrix;
  components: VarComponent[];
  ids: (readonly string[] | undefined)[];
  names: string[];
  sigma2: Float64Array;
  method: VarMethod;
  /** The fit's reported beta, when it has one. */
  beta?: Float64Array;
  backend: Backend;
}

/**
 * Resolves a fit and its data into one model: the chosen model's variances
 * (and reported beta), the components, and the fixed-effect design, with
 * checks that they belong together. `who` names the caller in messages.
 */
export function resolveInference(who: string, fit: MmFit, data: MmData, opts: MmInferenceOptions = {}): ResolvedInference {
  if (fit === null || typeof fit !== 'object') throw new ArgumentError(`${who}: fit must be what mmEst returns (or one of its models, or { sigma2, method })`);
  if (data === null || typeof data !== 'object') throw new ArgumentError(`${who}: data must be an object { y, varList, ... }`);
  const backend = opts.backend ?? getBackend();
  const { model, index } = pickModel(who, fit, data, opts.model);

  const y = Float64Array.from(data.y ?? []);
  const n = y.length;
  if (n < 2) throw new ShapeError(`${who}: y needs at least 2 observations, found ${n}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(y[i]!)) throw new InputError(undefined, `${who}: y has a missing or non-finite value at observation ${i + 1} (counting from 1)`);
  }

  const varList = data.varList;
  if (!Array.isArray(varList) || varList.length === 0) throw new ArgumentError(`${who}: data.varList needs at least one component (the error, usually last)`);
  if (data.zList !== undefined && data.zList.length !== varList.length) {
    throw new ShapeError(`${who}: Lists ZList and VarList should have the same number of elements (ZList has ${data.zList.length}, VarList ${varList.length})`);
  }
  const names = varList.map((v, k) => v.name ?? `component ${k + 1}`);
  if (new Set(names).size !== names.length) throw new ArgumentError(`${who}: the component names must be distinct, found ${names.join(', ')}`);
  const sigma2 = Float64Array.from(model.sigma2 ?? []);
  if (sigma2.length !== varList.length) {
    throw new ShapeError(`${who}: the fit has ${sigma2.length} variances but data.varList has ${varList.length} components (${names.join(', ')})`);
  }
  for (let k = 0; k < sigma2.length; k++) {
    if (!Number.isFinite(sigma2[k]!) || sigma2[k]! < 0)
      throw new InputError(undefined, `${who}: sigma2[${k}] = ${sigma2[k]} ('${names[k]}'): every variance must be finite and >= 0`);
  }
  if (model.sigma2Names !== undefined && model.sigma2Names.length > 0) {
    // MM4LMM's MMBlup means to check this ('Not all random effects are shared by VarList and ResMM') but never stops.
    const same = model.sigma2Names.length === names.length && model.sigma2Names.every((s, k) => s === names[k]);
    if (!same) {
      throw new ArgumentError(
        `${who}: Not all random effects are shared by VarList and the fit: the fit has components (${model.sigma2Names.join(', ')}), data.varList has (${names.join(', ')}), in this order`,
      );
    }
  }
  const method = model.method;
  if (method !== 'reml' && method !== 'ml') throw new ArgumentError(`${who}: the fit's method must be 'reml' or 'ml', found '${String(method)}'`);
  const ids = varList.map((v, k) => {
    if (v.ids === undefined) return undefined;
    if (v.ids.length !== v.r.rows) throw new ShapeError(`${who}: component ${k + 1} ('${names[k]}') has ${v.ids.length} ids for a ${v.r.shape} R`);
    return v.ids;
  });
  const components: VarComponent[] = varList.map((v, k) => ({ name: names[k]!, r: v.r, z: data.zList?.[k] }));

  const x = fixedDesign(who, data, n, model, index);
  let beta: Float64Array | undefined;
  if (model.beta !== undefined) {
    beta = Float64Array.from(model.beta);
    if (beta.length !== x.cols) throw new ShapeError(`${who}: the fit has ${beta.length} fixed effects but the design has ${x.cols} columns`);
  }
  return { y, x, components, ids, names, sigma2, method, beta, backend };
}

/** The model of `fit` the caller means, and its index among the marker models of data.x (when known). */
function pickModel(who: string, fit: MmFit, data: MmData, model: number | undefined): { model: MmFitInput; index: number | undefined } {
  if (model !== undefined && (!Number.isInteger(model) || model < 0))
    throw new ArgumentError(`${who}: model must be a 0-based model index, found ${String(model)}`);
  if (!('models' in fit)) {
    if (model !== undefined && data.x === undefined) {
      throw new ArgumentError(`${who}: model = ${model} is given with a single fitted model; it selects the marker of data.x, which is absent`);
    }
    return { model: fit, index: model };
  }
  const res = fit as MmEstResult;
  if (!Array.isArray(res.models) || res.models.length === 0) throw new ArgumentError(`${who}: the fit holds no model`);
  const nullFit = res.models.length === 1 && res.modelNames.length === 1 && res.modelNames[0] === 'NullModel';
  if (nullFit && data.x !== undefined) {
    throw new ArgumentError(
      `${who}: This function does not handle cases where X is not NULL...: the fit is a null model (mmEst without x) but data.x is given; give the data the fit was made from`,
    );
  }
  if (model === undefined) {
    if (res.models.length > 1) {
      throw new ArgumentError(
        `${who}: the fit holds ${res.models.length} models (GWAS mode); say which with opts.model (0-based) and give the markers as data.x (MM4LMM's ${who === 'mmBlup' ? 'MMBlup' : 'MMVcov'} handles the null model only)`,
      );
    }
    model = 0;
  }
  const chosen = res.models[model];
  if (chosen === undefined) throw new ArgumentError(`${who}: model = ${model} but the fit holds ${res.models.length} model${res.models.length > 1 ? 's' : ''}`);
  if (data.x !== undefined) {
    const count = markerCount(data.x);
    if (count !== res.models.length)
      throw new ShapeError(`${who}: data.x holds ${count} marker models but the fit holds ${res.models.length}: give the x the fit was made with`);
  }
  return { model: chosen, index: model };
}

/** The chosen model's fixed-effect design, as mmEst built it (or data.design), checked against the fit. */
function fixedDesign(who: string, data: MmData, n: number, model: MmFitInput, index: number | undefined): Matrix {
  if (data.design !== undefined) {
    if (data.cofactor !== undefined || data.formula !== undefined || data.x !== undefined) {
      throw new ArgumentError(`${who}: give the fixed effects either as data.design or as data.cofactor/formula/x, not both`);
    }
    const d = data.design;
    if (!(d instanceof Matrix)) throw new ArgumentError(`${who}: data.design must be a Matrix`);
    if (d.rows !== n) throw new ShapeError(`${who}: Incompatible dimension between Y and the design: y has ${n} values, the design ${d.rows} rows`);
    for (let i = 0; i < d.data.length; i++) {
      if (!Number.isFinite(d.data[i]!))
        throw new InputError(undefined, `${who}: data.design has a non-finite value at (${(i % n) + 1}, ${Math.floor(i / n) + 1})`);
    }
    return d;
  }
  let marker: Matrix | readonly string[] | undefined;
  let markerNames: readonly string[] | undefined;
  if (data.x !== undefined) {
    const markers = normaliseMarkers(data.x, n, data);
    if (index === undefined && markers.count > 1) {
      throw new ArgumentError(`${who}: data.x holds ${markers.count} marker models; say which one the fit is with opts.model (0-based)`);
    }
    const m = index ?? 0;
    if (m >= markers.count) throw new ShapeError(`${who}: model = ${m} but data.x has ${markers.count} marker models`);
    // normaliseMarkers checked every marker's rows against y.
    marker = markers.get(m);
    markerNames = markers.columnNames;
  }
  const design = buildDesign({ n, cofactor: data.cofactor, formula: data.formula, marker, markerNames });
  if (model.columnNames !== undefined) {
    const same = model.columnNames.length === design.columnNames.length && model.columnNames.every((c, j) => c === design.columnNames[j]);
    if (!same) {
      throw new ShapeError(
        `${who}: the fixed effects of the data (${design.columnNames.join(', ')}) are not those of the fit (${model.columnNames.join(', ')}): give the cofactor, formula and x the fit was made with`,
      );
    }
  }
  return design.x;
}

/** The number of marker models in mmEst's x. */
function markerCount(x: MarkerInput): number {
  if (x instanceof Matrix) return x.cols;
  if ('list' in x) return x.list.length;
  return (x as readonly (readonly string[])[]).length;
}

/** One component's BLUP: its random effects' names and predicted values. */
export interface BlupComponent {
  names: string[];
  values: Float64Array;
}

/** What `mmBlup` returns: one entry per component, the error included, in varList order. */
export type MmBlupResult = Record<string, BlupComponent>;

/** Options of `mmBlup`. */
export interface MmBlupOptions extends MmInferenceOptions {
  /**
   * Which fixed effects form the residual Y - X beta:
   * - 'fit' (default when the fit has a beta): the beta the fit reported,
   *   as MM4LMM's MMBlup does (`ResMM$NullModel$Beta`). MMEst reports its
   *   variances one MM step beyond the point where its Beta was computed,
   *   so this beta is not exactly the GLS beta at the reported sigma2.
   * - 'gls': the GLS beta (X' V^-1 X)^-1 X' V^-1 Y at sigma2, so the BLUPs
   *   are exactly sigma2_k R_k Z_k' P Y and sum_k Z_k u_k = Y - X beta.
   *   The two agree to the fit's convergence (about 1e-6 relative for
   *   MM4LMM's default criteria on its examples).
   */
  beta?: 'fit' | 'gls';
}

/**
 * The BLUP of each random component, the error included, MM4LMM's `MMBlup`:
 * u_k = sigma2_k R_k Z_k' V^-1 (Y - X beta), with V = sum_k sigma2_k Z_k R_k Z_k',
 * named by the component's `ids` (default '1'..'q_k'; MM4LMM uses R_k's row
 * names, so its identity error has none).
 *
 * Unlike MMBlup (which stops on X), a GWAS-mode fit is accepted: choose the
 * model with `opts.model` and give the markers as `data.x`. O(N^3) (V is
 * formed and inverted).
 */
export function mmBlup(fit: MmFit, data: MmData, opts: MmBlupOptions = {}): MmBlupResult {
  const who = 'mmBlup';
  const r = resolveInference(who, fit, data, opts);
  const which = opts.beta ?? (r.beta !== undefined ? 'fit' : 'gls');
  if (which !== 'fit' && which !== 'gls') throw new ArgumentError(`${who}: beta must be 'fit' or 'gls', found '${String(which)}'`);
  const fitBeta = which === 'fit' ? r.beta : undefined;
  if (which === 'fit' && fitBeta === undefined) throw new ArgumentError(`${who}: beta = 'fit' but the fit has no beta`);
  const at = modelAt(r.y, r.x, r.components, r.sigma2, r.method, r.backend);
  return blupsAt(r, at, fitBeta ?? at.beta);
}

/** sigma2_k R_k Z_k' V^-1 (y - X beta) for every component. */
function blupsAt(r: ResolvedInference, at: ModelAt, beta: Float64Array): MmBlupResult {
  const be = r.backend;
  const resid = Float64Array.from(r.y);
  be.gemv(r.x, beta, { alpha: -1, beta: 1, y: resid });
  const w = be.gemv(at.vInv, resid);
  // fromEntries defines own properties: a component named __proto__ stays a key.
  return Object.fromEntries(
    r.components.map((c, k) => {
      const zw = c.z === undefined ? w : be.gemv(c.z, w, { trans: true });
      const values = be.gemv(c.r, zw, { alpha: r.sigma2[k]! });
      const names = r.ids[k]?.slice() ?? Array.from({ length: c.r.rows }, (_, i) => String(i + 1));
      return [c.name, { names, values }];
    }),
  );
}
