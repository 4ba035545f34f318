// The fixed-effect design of MM4LMM's MMEst: how Cofactor, one marker model's
// X and the formula become the fixed-effect matrix, its Beta names, `attr`
// and `Factors`, as MM4LMM 3.0.3 does it:
//
//   1. Cofactor becomes a data frame: NULL -> one all-ones column; a matrix ->
//      columns V1, V2, ... (R's as.data.frame); a data frame keeps its names.
//   2. The marker joins it: a column of X is bound as `Xeffect` (MMEst's
//      matrix X), or a list element's columns keep their own names.
//   3. Without a formula the model is `~ <every cofactor column> + <marker>`;
//      with one, MMEst deparses it, splits the text on " + " (that is
//      `Factors`) and rebuilds `~p1+~p2+...` from the pieces.
//   4. model.matrix(terms(formula, keep.order = TRUE), data) with treatment
//      contrasts, then R's qr() (LINPACK dqrdc2, tol 1e-7): the columns it
//      moves to the end as aliased are dropped, the others keep their order.
//
// Steps 1 and 2 live in design-frame.ts, 3 in design-formulas.ts, and 4 in
// model-matrix.ts and here; this module holds the design types, the rank
// drop, the GWAS-mode plan and the per-marker designs.
//
// R code and behaviour were read to reproduce the semantics; nothing here is
// copied from MM4LMM (GPL).
import { DesignError, ShapeError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import { rQr } from '../linalg/qr-dqrdc2.js';
import type { Formula } from './formula.js';
import { cofactorFrame, dimError, encodeCofactors, encodeColumn, markerSpec, type CofactorTable, type EncodedVar, type Frame } from './design-frame.js';
import { mm4lmmFormulas } from './design-formulas.js';
import { adjustedCodes, modelMatrix, termColumns, type ModelMatrix } from './model-matrix.js';

/** The inputs of one MMEst model's fixed effects. */
export interface DesignInput {
  /** Number of observations (length of Y). */
  n: number;
  /**
   * A numeric Matrix (columns named V1, V2... as R's as.data.frame does), a
   * table (a data frame: names kept), or a character matrix given
   * column-wise (string[][], columns; named V1, V2...). Absent: MMEst's
   * NULL, one all-ones column V1.
   */
  cofactor?: Matrix | CofactorTable | readonly string[][];
  /** One marker model's X: numeric columns (Matrix N x q) or a character column (string[]); becomes `Xeffect` in the formula. */
  marker?: Matrix | readonly string[];
  /** Column names of a multi-column marker matrix (MM4LMM names them from X's colnames). */
  markerNames?: readonly string[];
  /** An R model formula over the cofactor columns and the marker (`~ Trial + Xeffect + Xeffect:Trial`). */
  formula?: string;
}

/** One model's fixed-effect design after MM4LMM's rank reduction. */
export interface FixedDesign {
  /** N x p, kept columns only, in Beta order (R's `Tmp[, qr$pivot[1:qr$rank]]`). */
  x: Matrix;
  /**
   * MM4LMM's BetaNames. When a single column is kept MM4LMM's Beta has no
   * names (R's `cbind(Tmp[, j])` drops them): then `names` is `['']`
   * (`columnNames` still holds the model-matrix name).
   */
  names: string[];
  /** Model-matrix names of the kept columns, never blanked. */
  columnNames: string[];
  /** Term index per kept column, 0 = intercept (R's `attr(Tmp, 'assign')[pivot[1:rank]]`). */
  attr: Int32Array;
  /** MM4LMM's Factors (term labels as MMEst derives them from the formula text). */
  factors: string[];
  /** Names of columns removed as aliased by the pivoted QR, in pivot order, for reporting. */
  dropped: string[];
  rank: number;
  /** R's `qr(Tmp)$pivot - 1` over all model-matrix columns (0-based). */
  pivot: Int32Array;
  /**
   * Where each kept column comes from, for callers that rotate the parts
   * separately: `s >= 0` is column s of the plan's `base`; `s < 0` is column
   * `-s - 1` of `markerDesign(plan, marker).x`.
   */
  source: Int32Array;
  /** ncol(Cofactor) of MMEst's data frame (its Henderson rule uses it). */
  cofactorNcol: number;
}

/** Marker-dependent model-matrix columns of one marker (see `markerDesign`). */
export interface MarkerColumns {
  /** N x m, in model-matrix order. */
  x: Matrix;
  names: string[];
  /** Term index of each column (same numbering as `attr`). */
  assign: Int32Array;
}

/**
 * A GWAS-mode plan: everything that does not depend on the marker, computed
 * once. `base` holds the model-matrix columns of the terms free of the
 * marker (the intercept included) and is the same for every marker, so a
 * caller rotates it once; `markerDesign(plan, marker)` gives the
 * marker-dependent columns (rotate those of a batch with one gemm), and
 * `designFor(plan, marker)` the full reduced design, whose `source` says
 * which base or marker column each kept column is.
 */
export interface DesignPlan {
  readonly n: number;
  readonly markerKind: 'numeric' | 'character';
  readonly markerColumns: number;
  /** Names the marker columns get in the data frame: `['Xeffect']` (MMEst's matrix X) or the list element's column names. */
  readonly markerVariables: readonly string[];
  /** MM4LMM's Factors for the marker models. */
  readonly factors: readonly string[];
  /** Whether the formula uses the marker at all (MMEst accepts X with a formula that ignores it: every model is then the null model). */
  readonly usesMarker: boolean;
  /** Marker-free model-matrix columns, N x p0, in model-matrix order. */
  readonly base: Matrix;
  readonly baseNames: readonly string[];
  readonly baseAssign: Int32Array;
  /**
   * The cofactor-only model MMEst fits first to get Init for every marker
   * model (its `formulaCof`: the formula pieces that do not mention the
   * marker, or `~ 1`).
   */
  readonly nullDesign: FixedDesign;
  /** @internal term layout and encoded cofactor variables. */
  readonly layout: PlanLayout;
}

/** @internal */
export interface PlanLayout {
  readonly formula: Formula;
  /** Per term and variable: the contrast code after model.matrix's no-intercept rule. */
  readonly codes: (1 | 2)[][];
  readonly markerTerm: boolean[];
  /** For marker-free terms: first column in `base`. */
  readonly baseStart: number[];
  readonly baseCount: number[];
  readonly cofactorVars: ReadonlyMap<string, EncodedVar>;
  readonly listMode: boolean;
  readonly cofactorNcol: number;
}

// ---------------------------------------------------------------------------
// Reduction to the kept columns.

function reduce(mm: ModelMatrix, source: Int32Array, factors: readonly string[], n: number, cofactorNcol: number, formula: Formula): FixedDesign {
  const p = mm.cols.length;
  if (p === 0) {
    throw new DesignError('EMPTY_DESIGN', `the formula "${formula.text}" gives no fixed-effect column (no intercept and no term); MMEst needs at least one`);
  }
  const full = new Matrix(n, p);
  mm.cols.forEach((c, j) => {
    full.data.set(c, j * n);
  });
  const { rank, pivot } = rQr(full);
  if (rank === 0) {
    throw new DesignError('EMPTY_DESIGN', `every fixed-effect column of "${formula.text}" is zero (${mm.names.join(', ')}): the design has rank 0`);
  }
  const kept = pivot.subarray(0, rank);
  const x = new Matrix(n, rank);
  kept.forEach((j, k) => {
    x.data.set(mm.cols[j]!, k * n);
  });
  const columnNames = Array.from(kept, (j) => mm.names[j]!);
  return {
    x,
    names: rank === 1 ? [''] : [...columnNames],
    columnNames,
    attr: Int32Array.from(kept, (j) => mm.assign[j]!),
    factors: [...factors],
    dropped: Array.from(pivot.subarray(rank), (j) => mm.names[j]!),
    rank,
    pivot,
    source: Int32Array.from(kept, (j) => source[j]!),
    cofactorNcol,
  };
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`the number of observations must be a positive integer, found ${n}`);
}

/** The design of a model without marker (formula over the cofactors only). */
function cofactorOnlyDesign(n: number, frame: Frame, f: Formula, factors: readonly string[], cofactorNcol: number): FixedDesign {
  const vars = encodeCofactors(frame, f.variables, new Set(), frame.names, f);
  const codes = adjustedCodes(f, (v) => vars.get(v)!.kind === 'factor');
  const mm = modelMatrix(f, (v) => vars.get(v)!, n, codes);
  return reduce(
    mm,
    Int32Array.from(mm.cols, (_, j) => j),
    factors,
    n,
    cofactorNcol,
    f,
  );
}

/**
 * Plans the designs of every marker model of a GWAS-mode MMEst call (one
 * model per marker column, or per list element): the marker-free columns
 * (`base`, N x p0) are built once, the null model MMEst fits for Init is
 * built once (`nullDesign`), and `designFor` / `markerDesign` then do only
 * the per-marker work (the marker's own columns, one dqrdc2 on N x p).
 * `markerKind` fixes how the marker enters model.matrix (numeric, or a
 * factor with sorted levels); `markerColumns` (default 1) is q of a list
 * element (`markerNames` names its columns, as MMEst takes them from X's
 * colnames; a single column without names is MMEst's `Xeffect`).
 * Throws on a bad formula, unknown columns, wrong cofactor rows, non-finite
 * numeric or degenerate factor cofactors.
 */
export function planDesign(input: Omit<DesignInput, 'marker'> & { markerKind: 'numeric' | 'character'; markerColumns?: number }): DesignPlan {
  const { n } = input;
  checkN(n);
  const frame = cofactorFrame(n, input.cofactor);
  const spec = markerSpec(input.markerKind, input.markerColumns ?? 1, input.markerNames);
  if (spec.listMode) {
    const clash = spec.variables.find((v) => frame.names.includes(v));
    if (clash !== undefined) {
      throw new DesignError('BAD_MARKER', `the marker column '${clash}' has the name of a cofactor column; rename one of them`);
    }
  }
  const { comp, cof, factors } = mm4lmmFormulas(frame.names, spec.variables, input.formula);
  const markerSet = new Set(spec.variables);
  // In matrix mode MMEst's `Mat$Xeffect <- X[, i]` replaces a cofactor named Xeffect.
  const available = [...frame.names.filter((v) => !markerSet.has(v)), ...spec.variables];
  const cofactorVars = encodeCofactors(frame, comp.variables, markerSet, available, comp);
  const isFactor = (v: string): boolean => (markerSet.has(v) ? spec.kind === 'character' : cofactorVars.get(v)!.kind === 'factor');
  const codes = adjustedCodes(comp, isFactor);
  const markerTerm = comp.terms.map((t) => t.some((v) => markerSet.has(v)));

  // The marker-free part of the model matrix, built once.
  const baseCols: Float64Array[] = [];
  const baseNames: string[] = [];
  const baseAssign: number[] = [];
  if (comp.intercept) {
    baseCols.push(new Float64Array(n).fill(1));
    baseNames.push('(Intercept)');
    baseAssign.push(0);
  }
  const baseStart: number[] = [];
  const baseCount: number[] = [];
  comp.terms.forEach((term, t) => {
    baseStart.push(baseCols.length);
    if (markerTerm[t]) {
      baseCount.push(0);
      return;
    }
    const tc = termColumns(
      term.map((v) => cofactorVars.get(v)!),
      codes[t]!,
      n,
    );
    baseCols.push(...tc.cols);
    baseNames.push(...tc.names);
    for (let k = 0; k < tc.cols.length; k++) baseAssign.push(t + 1);
    baseCount.push(tc.cols.length);
  });
  const base = new Matrix(n, baseCols.length);
  baseCols.forEach((c, j) => {
    base.data.set(c, j * n);
  });

  const cofactorNcol = frame.names.length;
  const nullDesign = cofactorOnlyDesign(n, frame, cof, factors, cofactorNcol);
  return {
    n,
    markerKind: spec.kind,
    markerColumns: spec.columns,
    markerVariables: spec.variables,
    factors,
    usesMarker: markerTerm.some((m) => m),
    base,
    baseNames,
    baseAssign: Int32Array.from(baseAssign),
    nullDesign,
    layout: { formula: comp, codes, markerTerm, baseStart, baseCount, cofactorVars, listMode: spec.listMode, cofactorNcol },
  };
}

/** Validates one marker against its plan and encodes its columns as model.matrix variables. */
function encodeMarker(plan: DesignPlan, marker: Matrix | readonly string[]): Map<string, EncodedVar> {
  const out = new Map<string, EncodedVar>();
  const n = plan.n;
  if (marker instanceof Matrix) {
    if (plan.markerKind !== 'numeric') throw new DesignError('BAD_MARKER', 'this plan is for character markers, found a numeric marker');
    if (marker.rows !== n) throw dimError('X', n, marker.rows);
    if (marker.cols !== plan.markerColumns) {
      throw new ShapeError(`this plan is for markers of ${plan.markerColumns} column(s), found ${marker.cols}`);
    }
    plan.markerVariables.forEach((v, j) => {
      out.set(v, encodeColumn(v, { kind: 'numeric', values: marker.col(j) }, 'marker'));
    });
    return out;
  }
  if (plan.markerKind !== 'character') throw new DesignError('BAD_MARKER', 'this plan is for numeric markers, found a character marker');
  if (marker.length !== n) throw dimError('X', n, marker.length);
  const v = plan.markerVariables[0]!;
  out.set(v, encodeColumn(v, { kind: 'character', values: marker, levels: undefined }, 'marker'));
  return out;
}

/**
 * The marker-dependent model-matrix columns of one marker (the columns of
 * every term that involves the marker, e.g. `Xeffect11` and
 * `TrialTrial2:Xeffect11`), in model-matrix order, before any rank
 * reduction. N x m; m can vary between character markers with different
 * numbers of levels.
 */
export function markerDesign(plan: DesignPlan, marker: Matrix | readonly string[]): MarkerColumns {
  const mv = encodeMarker(plan, marker);
  const { formula, codes, markerTerm, cofactorVars } = plan.layout;
  const lookup = (v: string): EncodedVar => mv.get(v) ?? cofactorVars.get(v)!;
  const names: string[] = [];
  const cols: Float64Array[] = [];
  const assign: number[] = [];
  formula.terms.forEach((term, t) => {
    if (!markerTerm[t]) return;
    const tc = termColumns(term.map(lookup), codes[t]!, plan.n);
    names.push(...tc.names);
    cols.push(...tc.cols);
    for (let k = 0; k < tc.cols.length; k++) assign.push(t + 1);
  });
  const x = new Matrix(plan.n, cols.length);
  cols.forEach((c, j) => {
    x.data.set(c, j * plan.n);
  });
  return { x, names, assign: Int32Array.from(assign) };
}

/**
 * One marker model's reduced design from a plan: the base columns and the
 * marker's columns interleaved in model-matrix (term) order, then R's qr()
 * and MM4LMM's `Tmp[, pivot[1:rank]]`. Identical to `buildDesign` with the
 * same inputs; `source` maps each kept column back to `plan.base` or to
 * `markerDesign(plan, marker).x`.
 */
export function designFor(plan: DesignPlan, marker: Matrix | readonly string[]): FixedDesign {
  return designFromColumns(plan, markerDesign(plan, marker));
}

/**
 * `designFor` from a marker's columns already built by `markerDesign` (GWAS
 * mode builds them once, to rotate them, and reuses them here).
 */
export function designFromColumns(plan: DesignPlan, md: MarkerColumns): FixedDesign {
  const n = plan.n;
  const { formula, markerTerm, baseStart, baseCount } = plan.layout;
  const mm: ModelMatrix = { names: [], cols: [], assign: [] };
  const source: number[] = [];
  const baseCol = (j: number): Float64Array => plan.base.data.subarray(j * n, (j + 1) * n);
  if (formula.intercept) {
    mm.names.push('(Intercept)');
    mm.cols.push(baseCol(0));
    mm.assign.push(0);
    source.push(0);
  }
  let m = 0;
  formula.terms.forEach((_, t) => {
    if (markerTerm[t]) {
      while (m < md.assign.length && md.assign[m] === t + 1) {
        mm.names.push(md.names[m]!);
        mm.cols.push(md.x.data.subarray(m * n, (m + 1) * n));
        mm.assign.push(t + 1);
        source.push(-m - 1);
        m++;
      }
      return;
    }
    for (let j = baseStart[t]!; j < baseStart[t]! + baseCount[t]!; j++) {
      mm.names.push(plan.baseNames[j]!);
      mm.cols.push(baseCol(j));
      mm.assign.push(t + 1);
      source.push(j);
    }
  });
  return reduce(mm, Int32Array.from(source), plan.factors, n, plan.layout.cofactorNcol, formula);
}

/**
 * The fixed-effect design of one MMEst model, exactly as MM4LMM 3.0.3
 * builds it: Cofactor as R's data frame (NULL -> all-ones `V1`; matrix
 * columns `V1, V2, ...`; table names kept), the marker bound as `Xeffect`
 * (or under `markerNames`), the formula (default: every cofactor column plus
 * the marker) through MMEst's text round trip, R's
 * `model.matrix(terms(f, keep.order = TRUE))` with treatment contrasts
 * (character columns are factors with sorted levels; interaction columns
 * `a:b` with the first variable varying fastest; full dummy coding where
 * R's margin rule says so), and R's pivoted `qr()`, whose aliased columns
 * are dropped (`dropped`). Without a marker this is MMEst's null model.
 * Errors: `ShapeError` "Incompatible dimension between Y and Cofactor / X"
 * with the sizes; `LmmkitError` codes BAD_FORMULA, UNKNOWN_COLUMN (lists the
 * available names), NON_FINITE, BAD_FACTOR (missing or '' level, a single
 * level), BAD_MARKER, EMPTY_DESIGN (no column, or rank 0).
 */
export function buildDesign(input: DesignInput): FixedDesign {
  checkN(input.n);
  const { marker } = input;
  if (marker === undefined) {
    if (input.markerNames !== undefined) throw new DesignError('BAD_MARKER', 'markerNames is given without a marker');
    const frame = cofactorFrame(input.n, input.cofactor);
    const { comp, factors } = mm4lmmFormulas(frame.names, undefined, input.formula);
    return cofactorOnlyDesign(input.n, frame, comp, factors, frame.names.length);
  }
  // Cofactor rows are checked (in planDesign) before X rows (in designFor), as MMEst does.
  const { marker: _m, ...rest } = input;
  const plan = planDesign({
    ...rest,
    markerKind: marker instanceof Matrix ? 'numeric' : 'character',
    markerColumns: marker instanceof Matrix ? marker.cols : 1,
  });
  return designFor(plan, marker);
}

/**
 * The cofactor-only design MMEst fits first, when X is given and Init is
 * not, to start every marker model (its `formulaCof`). Without a marker it
 * is `buildDesign(input)`.
 */
export function buildNullDesign(input: DesignInput): FixedDesign {
  const { marker } = input;
  if (marker === undefined) return buildDesign(input);
  const { marker: _m, ...rest } = input;
  const plan = planDesign({
    ...rest,
    markerKind: marker instanceof Matrix ? 'numeric' : 'character',
    markerColumns: marker instanceof Matrix ? marker.cols : 1,
  });
  const rows = marker instanceof Matrix ? marker.rows : marker.length;
  if (rows !== input.n) throw dimError('X', input.n, rows);
  return plan.nullDesign;
}
