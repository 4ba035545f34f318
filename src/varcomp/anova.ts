// Tests of the fixed effects after an mmEst fit: MM4LMM's AnovaTest (Type I,
// Type III, Wald tests of contrasts) and Kenward-Roger F tests that run in
// every case MM4LMM's KR does not (see `anovaTest`).
import { ArgumentError, NotPositiveDefiniteError, NumericalError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { chi2Log10Sf, chi2Sf } from '../stats/index.js';
import { buildDesign, designFor, planDesign, type FixedDesign } from './design.js';
import type { CofactorTable } from './design-frame.js';
import { normaliseMarkers } from './mmest.js';
import { covarianceInverse, fullRowRank, glsAt, krCovariance, krModel, krTest, quadForm, symInverse, type CovarianceInverse, type KrCovariance } from './kr.js';
import type { VarComponent, VarMethod } from './types.js';

const WHO = 'anovaTest';

/** 'I': sequential Wald tests; 'III': each term given all others; 'KR': Kenward-Roger F tests of the Type III terms (or of the contrasts). */
export type AnovaType = 'I' | 'III' | 'KR';

/** One contrast matrix L (rows = restrictions, one column per coefficient of beta): a Matrix, rows, or one row. */
export type ContrastInput = Matrix | readonly (readonly number[])[] | readonly number[];

/** One contrast, several (a list), or several named (`{ name: L }`). */
export type ContrastsInput = ContrastInput | readonly ContrastInput[] | Readonly<Record<string, ContrastInput>>;

/** What anovaTest reads from each model of a fit (an `MmEstModel` has all of it). */
export interface AnovaModelInput {
  beta: ArrayLike<number>;
  /** p x p covariance of beta. */
  varBeta: Matrix;
  /** The variance estimates (needed for Kenward-Roger). */
  sigma2?: ArrayLike<number>;
  /** Term index of each coefficient (0 = intercept). */
  attr: ArrayLike<number>;
  /** Term labels. */
  factors: readonly string[];
  /** Model-matrix names of the coefficients (checked against the design rebuilt from `data`). */
  columnNames?: readonly string[];
  method?: VarMethod;
}

/** A fit: `mmEst`'s result, or any object with the same parts (e.g. a reference fit). */
export interface AnovaFitInput {
  models: readonly AnovaModelInput[];
  modelNames?: readonly string[];
}

/**
 * The data of the fit, for Kenward-Roger and for re-evaluation at other
 * variances: the same fields as `mmEst`'s options (pass the very object
 * given to mmEst). The fixed-effect design of each model is rebuilt from
 * them exactly as mmEst builds it.
 */
export interface AnovaData {
  y: ArrayLike<number>;
  cofactor?: Matrix | CofactorTable | readonly string[][];
  x?: Matrix | readonly (readonly string[])[] | { readonly list: readonly Matrix[] };
  xColumnNames?: readonly string[];
  formula?: string;
  /** The variance components in the order of sigma2 (MMEst's VarList). */
  varList?: readonly { name: string; r: Matrix }[];
  /** Incidence matrices, one per component (MMEst's ZList); absent: identity. */
  zList?: readonly (Matrix | undefined)[];
}

/** Options of `anovaTest`. */
export interface AnovaOptions {
  /** Default 'III'. With `contrasts`, 'I' and 'III' are ignored (Wald tests of the contrasts) and 'KR' tests the contrasts by Kenward-Roger. */
  type?: AnovaType;
  /** Contrast matrices, each tested jointly at 0 (MM4LMM's TestedCombination). */
  contrasts?: ContrastsInput;
  /** The fit's data: required for 'KR' and for `sigma2`. */
  data?: AnovaData;
  /**
   * Evaluate at these variances instead of the fit's (one vector for every
   * model, or one per model): beta and its covariance are then recomputed by
   * GLS at them (needs `data`). Use it to test at a reference fit's variances.
   */
  sigma2?: ArrayLike<number> | readonly ArrayLike<number>[];
  /** Test only these models (0-based indices into fit.models; default all). */
  models?: readonly number[];
  /** Called after each model with (done, total) when Kenward-Roger or `sigma2` makes the work O(N^3). */
  onProgress?: (done: number, total: number) => void;
  backend?: Backend;
}

/** One line of a table: a term or a contrast. */
export interface AnovaRow {
  /** Term label ('(Intercept)', a factor, an interaction) or contrast name. */
  name: string;
  /** Wald chi-square, or Kenward-Roger's scaled F (lambda * F). */
  statistic: number;
  /** Degrees of freedom (chi-square), numerator degrees of freedom (F). */
  df: number;
  /** Kenward-Roger: denominator degrees of freedom. */
  ddf?: number;
  /** Kenward-Roger: the unscaled F and the scale lambda. */
  fUnscaled?: number;
  scaling?: number;
  /** Upper-tail p-value (never 1 - cdf: it stays right down to 1e-300). */
  pValue: number;
  /** log10 of the p-value, finite where the p-value underflows. */
  log10PValue: number;
  /** Why this line was not computed (its numbers are then NaN). */
  error?: string;
}

/** The label of a table's statistic, MM4LMM's column name for the Wald tests. */
export type AnovaTestName = 'Wald (Type I)' | 'Wald (Type III)' | 'Wald' | 'KR (Type III)' | 'KR';

/** The tests of one model. */
export interface AnovaTable {
  /** Model name (fit.modelNames; '' when the fit has none). */
  model: string;
  /** Index of the model in fit.models. */
  index: number;
  test: AnovaTestName;
  rows: AnovaRow[];
  /** The variances the tests were evaluated at (KR, or with the `sigma2` option). */
  sigma2?: number[];
  /** Kenward-Roger's adjusted covariance of beta (Phi_A), in beta order. */
  varBetaAdj?: Matrix;
}

/** What `anovaTest` returns. */
export interface AnovaResult {
  type: AnovaType;
  tables: AnovaTable[];
  /** Informational messages (contrasts reduced to full rank, tests not performed). */
  messages: string[];
}

interface NamedContrast {
  name: string;
  l: Matrix;
}

/** A term as a contrast: the identity rows at its coefficients. */
interface TermContrast extends NamedContrast {
  cols: number[];
}

/**
 * Tests the fixed effects of one model or of every model of a GWAS-mode
 * fit: MM4LMM's `AnovaTest(ResMMEst, TestedCombination, Type)`
 * (`../shared/seeds/MM4LMM-3.0.3-reference-manual.txt`).
 *
 * - `type: 'I'` (sequential): with R the upper Cholesky factor of
 *   varBeta^-1 (beta in its order, pivoted columns included), each term's
 *   statistic is the sum of (R beta)_j^2 over its coefficients; chi-square
 *   with as many df as coefficients. Sequential in beta order, as MM4LMM.
 * - `type: 'III'` (default): beta_T' varBeta_TT^-1 beta_T for the
 *   coefficients T of each term, given all others.
 * - `contrasts`: each L is tested jointly, (L b)' (L varBeta L')^-1 (L b),
 *   chi-square with rank(L) df. A contrast whose rows are not independent is
 *   reduced to an independent subset of its rows (message). A contrast with
 *   a number of columns that no model has is an error (ShapeError naming it:
 *   MM4LMM returns NA silently); one that fits some models but not others
 *   (a GWAS model whose marker column was dropped as aliased) has, in the
 *   models it does not fit, a line with NaN numbers and an `error` saying why.
 * - `type: 'KR'`: Kenward-Roger F tests (see ./kr.ts) of the Type III terms,
 *   or of the contrasts when given; needs `data` (the fit's y, design and
 *   components) and a REML fit. Unlike MM4LMM's, it works without a
 *   contrast, with any number of fixed effects and of variance components,
 *   without X, and with incidence matrices (ZList). As MM4LMM, it takes
 *   beta and varBeta from the fit and the variances from its sigma2; with
 *   the `sigma2` option all three are evaluated at the given variances.
 *
 * Rows are named '(Intercept)' for term 0 and by the term labels otherwise
 * (MM4LMM names the first group '(Intercept)' even in a model without an
 * intercept; we do not). p-values are upper tails with their log10.
 * Errors with MM4LMM's wording: "ResMMEst should be the output of the
 * function MMEst", "VarList should be provided when using the KR option".
 */
export function anovaTest(fit: AnovaFitInput, options: AnovaOptions = {}): AnovaResult {
  checkFit(fit);
  const be = options.backend ?? getBackend();
  const type: AnovaType = options.type ?? 'III';
  if (type !== 'I' && type !== 'III' && type !== 'KR') {
    throw new ArgumentError(`${WHO}: type must be 'I', 'III' or 'KR', found '${String(type)}'`);
  }
  const messages: string[] = [];
  const contrasts = options.contrasts === undefined ? undefined : normaliseContrasts(options.contrasts, messages);
  const nModels = fit.models.length;
  const indices = options.models === undefined ? Array.from({ length: nModels }, (_, i) => i) : options.models.slice();
  indices.forEach((i) => {
    if (!Number.isInteger(i) || i < 0 || i >= nModels)
      throw new ArgumentError(`${WHO}: models: ${i} is not a model index (the fit has ${nModels} models, 0-based)`);
  });
  const name = (i: number): string => fit.modelNames?.[i] ?? '';
  const label = (i: number): string => (name(i) !== '' ? `model '${name(i)}'` : `model ${i + 1}`);

  // A contrast no model fits is an error, not a table of NA.
  if (contrasts !== undefined) {
    const widths = new Set(indices.map((i) => fit.models[i]!.beta.length));
    for (const c of contrasts) {
      if (!widths.has(c.l.cols)) {
        // No model index (models: []) leaves no width and no names to show.
        const columnNames = fit.models[indices[0] ?? 0]?.columnNames;
        const names = columnNames !== undefined ? `: ${columnNames.join(', ')}` : '';
        throw new ShapeError(
          `${WHO}: contrast '${c.name}' has ${c.l.cols} columns, but ${widths.size === 1 ? `the models have ${[...widths][0]} coefficients${names}` : `the models have ${[...widths].sort((a, b) => a - b).join(' or ')} coefficients`}; a contrast needs one column per coefficient of beta`,
        );
      }
    }
  }

  // Data: KR and re-evaluation need the design and the components.
  const override = options.sigma2 === undefined ? undefined : normaliseSigma2(options.sigma2, nModels);
  const needData = type === 'KR' || override !== undefined;
  let data: ResolvedData | undefined;
  if (needData) {
    if (options.data === undefined || options.data.varList === undefined) {
      if (type === 'KR')
        throw new ArgumentError(
          `${WHO}: VarList should be provided when using the KR option (give data: the y, cofactor, x, formula, varList and zList the fit was made with)`,
        );
      throw new ArgumentError(`${WHO}: the sigma2 option needs data (the y, cofactor, x, formula, varList and zList the fit was made with)`);
    }
    data = resolveData(options.data, options.data.varList, nModels);
  }
  if (type === 'KR') {
    indices.forEach((i) => {
      if (fit.models[i]!.method === 'ml') {
        throw new ArgumentError(`${WHO}: Kenward-Roger needs a REML fit, ${label(i)} was fitted by ML (refit with method 'reml')`);
      }
    });
  }

  let lastInverse: CovarianceInverse | undefined;
  let lastKr: KrCovariance | undefined;
  const inverseAt = (d: ResolvedData, s: Float64Array): CovarianceInverse => {
    if (lastInverse === undefined || !sameValues(lastInverse.sigma2, s)) {
      lastInverse = covarianceInverse(d.components, s, d.n, be);
      lastKr = undefined;
    }
    return lastInverse;
  };
  const krAt = (d: ResolvedData, s: Float64Array): KrCovariance => {
    const inv = inverseAt(d, s);
    lastKr ??= krCovariance(d.components, s, d.n, be, inv);
    return lastKr;
  };

  let notPerformed = 0;
  const tables: AnovaTable[] = [];
  indices.forEach((i, done) => {
    const model = fit.models[i]!;
    const p = model.beta.length;
    let beta: Float64Array = Float64Array.from(model.beta);
    let varBeta = model.varBeta;
    // The model re-evaluated from data (given for KR and sigma2, as checked above).
    let refit: { d: ResolvedData; design: FixedDesign; sigma2: Float64Array } | undefined;
    if (data !== undefined) {
      const design = data.design(i);
      checkDesign(design, model, label(i));
      let sigma2: Float64Array;
      if (override !== undefined) sigma2 = Float64Array.from(override[i]!);
      else {
        if (model.sigma2 === undefined) throw new ArgumentError(`${WHO}: ${label(i)} has no sigma2`);
        sigma2 = Float64Array.from(model.sigma2);
      }
      if (sigma2.length !== data.components.length) {
        throw new ShapeError(`${WHO}: ${label(i)}: ${sigma2.length} variances for ${data.components.length} components in varList`);
      }
      refit = { d: data, design, sigma2 };
    }
    const needRefit = (): NonNullable<typeof refit> => {
      if (refit === undefined) throw new ArgumentError(`${WHO}: ${type === 'KR' ? 'Kenward-Roger' : 'the sigma2 option'} needs data`);
      return refit;
    };

    if (type === 'KR') {
      const { d, design, sigma2 } = needRefit();
      const kr = krModel({
        x: design.x,
        components: d.components,
        sigma2,
        y: d.y,
        beta: override === undefined ? beta : undefined,
        varBeta: override === undefined ? varBeta : undefined,
        covariance: krAt(d, sigma2),
        backend: be,
      });
      const tests: NamedContrast[] = contrasts ?? termContrasts(model, p);
      const rows = tests.map((c): AnovaRow => {
        if (c.l.cols !== p) {
          notPerformed++;
          return badRow(
            c.name,
            `contrast '${c.name}' has ${c.l.cols} columns, ${label(i)} has ${p} coefficients${model.columnNames ? ` (${model.columnNames.join(', ')})` : ''}`,
          );
        }
        const t = krTest(kr, c.l, be);
        return {
          name: c.name,
          statistic: t.statistic,
          df: t.df,
          ddf: t.ddf,
          fUnscaled: t.fUnscaled,
          scaling: t.scaling,
          pValue: t.pValue,
          log10PValue: t.log10PValue,
        };
      });
      tables.push({
        model: name(i),
        index: i,
        test: contrasts === undefined ? 'KR (Type III)' : 'KR',
        rows,
        sigma2: Array.from(sigma2),
        varBetaAdj: kr.varBetaAdj,
      });
      options.onProgress?.(done + 1, indices.length);
      return;
    }

    if (override !== undefined) {
      const { d, design, sigma2 } = needRefit();
      const at = glsAt(inverseAt(d, sigma2).vInv, design.x, d.y, be, sigma2);
      beta = at.beta;
      varBeta = at.varBeta;
      options.onProgress?.(done + 1, indices.length);
    }
    let rows: AnovaRow[];
    let test: AnovaTestName;
    if (contrasts !== undefined) {
      test = 'Wald';
      rows = contrasts.map((c) => {
        if (c.l.cols !== p) {
          notPerformed++;
          return badRow(
            c.name,
            `contrast '${c.name}' has ${c.l.cols} columns, ${label(i)} has ${p} coefficients${model.columnNames ? ` (${model.columnNames.join(', ')})` : ''}`,
          );
        }
        return waldContrast(c, beta, varBeta, be);
      });
    } else if (type === 'I') {
      test = 'Wald (Type I)';
      rows = typeI(model, beta, varBeta, be, label(i));
    } else {
      test = 'Wald (Type III)';
      rows = termContrasts(model, p).map((c) => waldSubset(c, beta, varBeta));
    }
    tables.push({ model: name(i), index: i, test, rows, ...(refit !== undefined && override !== undefined ? { sigma2: Array.from(refit.sigma2) } : {}) });
  });
  if (notPerformed > 0) messages.push(`${notPerformed} test${notPerformed > 1 ? 's were' : ' was'} not performed because of incompatible dimension`);
  return { type, tables, messages };
}

// ---------------------------------------------------------------------------

interface ResolvedData {
  n: number;
  y: Float64Array;
  components: VarComponent[];
  design(i: number): FixedDesign;
}

function checkFit(fit: AnovaFitInput): void {
  const bad = (why: string): never => {
    throw new ArgumentError(`${WHO}: ResMMEst should be the output of the function MMEst (${why})`);
  };
  if (fit === null || typeof fit !== 'object' || !Array.isArray(fit.models)) bad("expected mmEst's result, an object with models[]");
  if (fit.models.length === 0) bad('it has no model');
  fit.models.forEach((m, i) => {
    if (m === null || typeof m !== 'object') bad(`model ${i + 1} is not an object`);
    const p = m.beta?.length;
    if (typeof p !== 'number' || p === 0) bad(`model ${i + 1} has no beta`);
    if (!(m.varBeta instanceof Matrix) || m.varBeta.rows !== p || m.varBeta.cols !== p) bad(`model ${i + 1} has no ${p} x ${p} varBeta`);
    if (m.attr === undefined || m.attr.length !== p || !Array.isArray(m.factors))
      bad(`model ${i + 1} has no attr (one term index per coefficient) and factors`);
  });
}

/** Contrasts as named matrices, reduced to full row rank. */
function normaliseContrasts(input: ContrastsInput, messages: string[]): NamedContrast[] {
  const toMatrix = (c: ContrastInput, what: string): Matrix => {
    if (c instanceof Matrix) return c;
    if (Array.isArray(c) && c.length > 0 && c.every((v) => typeof v === 'number')) return Matrix.fromRows([c as number[]]);
    if (Array.isArray(c) && c.length > 0 && c.every((r) => Array.isArray(r) && r.every((v) => typeof v === 'number'))) {
      const w = (c[0] as number[]).length;
      if ((c as number[][]).some((r) => r.length !== w)) throw new ShapeError(`${WHO}: ${what}: rows of different lengths`);
      return Matrix.fromRows(c as number[][]);
    }
    throw new ArgumentError(`${WHO}: ${what} should be a matrix (a Matrix, rows of numbers, or one row)`);
  };
  let list: [string, ContrastInput][];
  if (input instanceof Matrix) list = [['C1', input]];
  else if (Array.isArray(input)) {
    const isSingle =
      input.length > 0 && (input.every((v) => typeof v === 'number') || input.every((r) => Array.isArray(r) && r.every((v: unknown) => typeof v === 'number')));
    list = isSingle ? [['C1', input as ContrastInput]] : (input as ContrastInput[]).map((c, k) => [`C${k + 1}`, c]);
  } else if (input !== null && typeof input === 'object') list = Object.entries(input as Record<string, ContrastInput>);
  else throw new ArgumentError(`${WHO}: contrasts should be either a list of matrices or a matrix`);
  if (list.length === 0) throw new ArgumentError(`${WHO}: contrasts is empty`);
  return list.map(([name, c], k) => {
    const l = toMatrix(c, `contrast '${name}'`);
    for (let t = 0; t < l.data.length; t++) {
      if (!Number.isFinite(l.data[t]!)) throw new ArgumentError(`${WHO}: contrast '${name}' has a non-finite value`);
    }
    const r = fullRowRank(l);
    if (r.rows.length === 0) throw new ArgumentError(`${WHO}: contrast '${name}' is zero`);
    if (r.rows.length !== l.rows) {
      messages.push(
        `Contrast matrix number ${k + 1} was not full rank and has been reduced (contrast '${name}': rows ${r.rows.map((x) => x + 1).join(', ')} of ${l.rows} kept).`,
      );
    }
    return { name, l: r.matrix };
  });
}

function normaliseSigma2(s: ArrayLike<number> | readonly ArrayLike<number>[], nModels: number): ArrayLike<number>[] {
  const first = (s as ArrayLike<unknown>)[0];
  if (typeof first === 'number') return Array.from({ length: nModels }, () => s as ArrayLike<number>);
  const list = s as readonly ArrayLike<number>[];
  if (list.length !== nModels) throw new ShapeError(`${WHO}: sigma2 has ${list.length} vectors for ${nModels} models (give one vector, or one per model)`);
  return list.slice();
}

/** The components and a per-model design builder, rebuilt as mmEst builds them. */
function resolveData(d: AnovaData, varList: NonNullable<AnovaData['varList']>, nModels: number): ResolvedData {
  const y = Float64Array.from(d.y);
  const n = y.length;
  if (d.zList !== undefined && d.zList.length !== varList.length) {
    throw new ShapeError(`${WHO}: Lists ZList and VarList should have the same number of elements (ZList has ${d.zList.length}, VarList ${varList.length})`);
  }
  const components: VarComponent[] = varList.map((v, k) => ({ name: v.name, r: v.r, z: d.zList?.[k] }));
  let design: (i: number) => FixedDesign;
  if (d.x === undefined) {
    const fd = buildDesign({ n, cofactor: d.cofactor, formula: d.formula });
    if (nModels !== 1) throw new ShapeError(`${WHO}: the fit has ${nModels} models but data has no x (one model)`);
    design = () => fd;
  } else {
    const markers = normaliseMarkers(d.x, n, d);
    const plan = planDesign({
      n,
      cofactor: d.cofactor,
      formula: d.formula,
      markerKind: markers.kind,
      markerColumns: markers.columns,
      markerNames: markers.columnNames,
    });
    const count = markers.count;
    const get = (i: number) => markers.get(i);
    if (count !== nModels) throw new ShapeError(`${WHO}: the fit has ${nModels} models but data.x gives ${count}`);
    design = (i) => designFor(plan, get(i));
  }
  return { n, y, components, design };
}

function checkDesign(design: FixedDesign, model: AnovaModelInput, label: string): void {
  const p = model.beta.length;
  const names = model.columnNames;
  if (design.x.cols !== p || names?.some((s, j) => s !== design.columnNames[j])) {
    throw new ShapeError(
      `${WHO}: data does not match the fit: ${label} has ${p} coefficients${names ? ` (${names.join(', ')})` : ''}, the data give ${design.x.cols} (${design.columnNames.join(', ')})`,
    );
  }
}

/** One contrast per term: the rows of the identity at its coefficients, named as the term. */
function termContrasts(model: AnovaModelInput, p: number): TermContrast[] {
  return termGroups(model).map((g) => {
    const l = new Matrix(g.cols.length, p);
    g.cols.forEach((c, r) => {
      l.set(r, c, 1);
    });
    return { name: g.name, l, cols: g.cols };
  });
}

/** Coefficients grouped by term, terms in order of first appearance in beta. */
function termGroups(model: AnovaModelInput): { name: string; cols: number[] }[] {
  const groups = new Map<number, number[]>();
  Array.from(model.attr).forEach((a, j) => {
    const g = groups.get(a);
    if (g === undefined) groups.set(a, [j]);
    else g.push(j);
  });
  return [...groups.entries()].map(([a, cols]) => ({ name: a === 0 ? '(Intercept)' : (model.factors[a - 1] ?? `term ${a}`), cols }));
}

function chi2Row(name: string, stat: number, df: number): AnovaRow {
  return { name, statistic: stat, df, pValue: chi2Sf(stat, df), log10PValue: chi2Log10Sf(stat, df) };
}

function badRow(name: string, error: string): AnovaRow {
  return { name, statistic: NaN, df: NaN, pValue: NaN, log10PValue: NaN, error };
}

/** Type III: beta_T' varBeta_TT^-1 beta_T. */
function waldSubset(c: TermContrast, beta: Float64Array, varBeta: Matrix): AnovaRow {
  const cols = c.cols;
  const k = cols.length;
  const sub = new Matrix(k, k);
  cols.forEach((a, i) => {
    cols.forEach((b, j) => {
      sub.set(i, j, varBeta.get(a, b));
    });
  });
  const b = Float64Array.from(cols, (a) => beta[a]!);
  return chi2Row(c.name, quadForm(symInverse(sub).data, b), k);
}

/** (L b)' (L varBeta L')^-1 (L b), rank(L) df. */
function waldContrast(c: NamedContrast, beta: Float64Array, varBeta: Matrix, be: Backend): AnovaRow {
  const lb = be.gemv(c.l, beta);
  const lvl = be.gemm(be.gemm(c.l, varBeta), c.l, { transB: true });
  return chi2Row(c.name, quadForm(symInverse(lvl).data, lb), c.l.rows);
}

/** Type I as MM4LMM: R = chol(varBeta^-1) (upper), (R beta)_j^2 summed per term. */
function typeI(model: AnovaModelInput, beta: Float64Array, varBeta: Matrix, be: Backend, label: string): AnovaRow[] {
  let z: Float64Array;
  try {
    const inv = be.potri(be.potrf(varBeta));
    const l = be.potrf(inv); // L L' = varBeta^-1, R = L'
    z = be.gemv(l, beta, { trans: true });
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) throw new NumericalError(`${WHO}: the covariance of beta of ${label} is not positive definite`);
    throw e;
  }
  return termGroups(model).map((g) => {
    let s = 0;
    for (const j of g.cols) s += z[j]! * z[j]!;
    return chi2Row(g.name, s, g.cols.length);
  });
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
