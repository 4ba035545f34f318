// MMEst's data frame: Cofactor as R's as.data.frame makes it, the marker's
// columns bound to it (`Xeffect` or a list element's names), and each column
// a formula uses encoded as model.matrix sees it (numeric, or a factor with
// its levels), with the checks R would fail on.
import { DesignError, InputError, type LmmkitError, ShapeError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import type { Formula } from './formula.js';

/** A cofactor table: named columns, numeric or character (character = factor). */
export interface CofactorTable {
  names: readonly string[];
  columns: readonly (Float64Array | readonly string[])[];
  /**
   * Optional factor levels per column, in R's order (the first is the
   * reference level), as an R factor carries them; levels with no row give
   * all-zero columns that the QR then drops, as in R. Without them a
   * character column's levels are its sorted distinct values (C-locale
   * order, what R's factor() gives for these data).
   */
  levels?: readonly (readonly string[] | undefined)[];
}

type RawColumn = { kind: 'numeric'; values: Float64Array } | { kind: 'character'; values: readonly string[]; levels: readonly string[] | undefined };

/** A variable as model.matrix uses it: numeric values, or a factor (level index per row). */
export type EncodedVar = { kind: 'numeric'; name: string; values: Float64Array } | { kind: 'factor'; name: string; levels: string[]; index: Int32Array };

/** MMEst's data frame: its column names and raw columns. */
export interface Frame {
  names: string[];
  columns: RawColumn[];
}

function isCofactorTable(c: unknown): c is CofactorTable {
  return typeof c === 'object' && c !== null && !(c instanceof Matrix) && !Array.isArray(c) && 'names' in c && 'columns' in c;
}

/** MMEst's `names(Cofactor) <- gsub('([[:punct:]])|\\s+', '', names)` for matrix cofactors. */
function cleanMatrixName(name: string): string {
  return name.replace(/[!-/:-@[-`{-~]|\s+/g, '');
}

/** MMEst's error when Cofactor or X has not one row per observation of Y. */
export function dimError(what: 'Cofactor' | 'X', n: number, found: number, detail = ''): ShapeError {
  return new ShapeError(`Incompatible dimension between Y and ${what}: Y has ${n} values but ${what}${detail} has ${found} rows`);
}

/** Turns MMEst's Cofactor argument into its data frame (names and raw columns), checking the row count. */
export function cofactorFrame(n: number, cofactor: Matrix | CofactorTable | readonly string[][] | undefined): Frame {
  if (cofactor === undefined) {
    // MMEst: Cofactor <- matrix(1, N, 1), named V1 by as.data.frame.
    return { names: ['V1'], columns: [{ kind: 'numeric', values: new Float64Array(n).fill(1) }] };
  }
  if (cofactor instanceof Matrix) {
    if (cofactor.rows !== n) throw dimError('Cofactor', n, cofactor.rows);
    const names: string[] = [];
    const columns: RawColumn[] = [];
    for (let j = 0; j < cofactor.cols; j++) {
      names.push(cleanMatrixName(`V${j + 1}`));
      columns.push({ kind: 'numeric', values: cofactor.col(j) });
    }
    return { names, columns };
  }
  if (isCofactorTable(cofactor)) {
    if (cofactor.names.length !== cofactor.columns.length) {
      throw new ShapeError(`Cofactor table: ${cofactor.names.length} names for ${cofactor.columns.length} columns`);
    }
    const seen = new Set<string>();
    const columns: RawColumn[] = cofactor.columns.map((c, j) => {
      const name = cofactor.names[j]!;
      if (seen.has(name)) throw new InputError(undefined, `Cofactor table: the column name '${name}' appears twice`);
      seen.add(name);
      if (c.length !== n) throw dimError('Cofactor', n, c.length, ` (column '${name}')`);
      return c instanceof Float64Array ? { kind: 'numeric', values: c } : { kind: 'character', values: c, levels: cofactor.levels?.[j] };
    });
    return { names: [...cofactor.names], columns };
  }
  // A character matrix given column-wise.
  const cols = cofactor as readonly string[][];
  const names: string[] = [];
  const columns: RawColumn[] = [];
  cols.forEach((c, j) => {
    if (c.length !== n) throw dimError('Cofactor', n, c.length, ` (column ${j + 1})`);
    names.push(cleanMatrixName(`V${j + 1}`));
    columns.push({ kind: 'character', values: c, levels: undefined });
  });
  return { names, columns };
}

/** R's sort() of character values in the C locale: by code unit. */
function compareC(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const MISSING = new Set(['', 'NA']);

/** Encodes a raw column as model.matrix sees it, with the checks R would fail on (or silently mishandle). */
export function encodeColumn(name: string, col: RawColumn, role: string): EncodedVar {
  if (col.kind === 'numeric') {
    for (let i = 0; i < col.values.length; i++) {
      const v = col.values[i]!;
      if (!Number.isFinite(v)) {
        throw new DesignError('NON_FINITE', `${role} '${name}' has a non-finite value (${v}) in row ${i + 1}; MMEst needs complete numeric data`);
      }
    }
    return { kind: 'numeric', name, values: col.values };
  }
  const values = col.values;
  for (let i = 0; i < values.length; i++) {
    if (MISSING.has(values[i]!)) {
      throw new DesignError('BAD_FACTOR', `${role} '${name}' has an empty or missing level ('${values[i]}') in row ${i + 1}; every row needs a level`);
    }
  }
  let levels: string[];
  if (col.levels !== undefined) {
    levels = [...col.levels];
    const dup = levels.find((l, i) => levels.indexOf(l) !== i);
    if (dup !== undefined) throw new DesignError('BAD_FACTOR', `${role} '${name}': the level '${dup}' is listed twice`);
    const empty = levels.find((l) => MISSING.has(l));
    if (empty !== undefined) throw new DesignError('BAD_FACTOR', `${role} '${name}': '${empty}' is not a valid level`);
  } else {
    levels = [...new Set(values)].sort(compareC);
  }
  if (levels.length < 2) {
    // R's model.matrix: "contrasts can be applied only to factors with 2 or more levels".
    throw new DesignError(
      'BAD_FACTOR',
      `${role} '${name}' has ${levels.length === 1 ? `a single level ('${levels[0]}')` : 'no level'}; contrasts can be applied only to factors with 2 or more levels (R's model.matrix fails the same way)`,
    );
  }
  const pos = new Map(levels.map((l, i) => [l, i]));
  const index = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const k = pos.get(values[i]!);
    if (k === undefined) throw new DesignError('BAD_FACTOR', `${role} '${name}' row ${i + 1}: '${values[i]}' is not one of its levels (${levels.join(', ')})`);
    index[i] = k;
  }
  return { kind: 'factor', name, levels, index };
}

/** How one marker model's X joins the data frame. */
export interface MarkerSpec {
  kind: 'numeric' | 'character';
  columns: number;
  /** Data-frame names of the marker columns. */
  variables: string[];
  /** MMEst's list-X mode (columns keep their names) vs matrix-X mode (`Xeffect`). */
  listMode: boolean;
}

export function markerSpec(kind: 'numeric' | 'character', columns: number, markerNames: readonly string[] | undefined): MarkerSpec {
  if (!Number.isInteger(columns) || columns < 1) throw new ShapeError(`the marker needs at least one column, found ${columns}`);
  if (kind === 'character' && columns !== 1) throw new ShapeError(`a character marker is one column, found ${columns}`);
  if (markerNames !== undefined) {
    if (markerNames.length !== columns) {
      throw new ShapeError(`markerNames has ${markerNames.length} names for a marker of ${columns} column(s)`);
    }
    const dup = markerNames.find((m, i) => markerNames.indexOf(m) !== i);
    if (dup !== undefined) throw new DesignError('BAD_MARKER', `markerNames lists '${dup}' twice`);
    return { kind, columns, variables: [...markerNames], listMode: true };
  }
  // A matrix X column is bound as `Xeffect`; a multi-column list element
  // without colnames gets X1..Xq, the names MMEst means to give it.
  if (columns === 1) return { kind, columns, variables: ['Xeffect'], listMode: false };
  return { kind, columns, variables: Array.from({ length: columns }, (_, j) => `X${j + 1}`), listMode: true };
}

function unknownColumn(name: string, available: readonly string[], formula: Formula): LmmkitError {
  return new DesignError(
    'UNKNOWN_COLUMN',
    `the formula "${formula.text}" names '${name}', which is not a column of the model data; available: ${available.map((a) => `'${a}'`).join(', ') || '(none)'}`,
  );
}

/** Encodes every cofactor variable the formulas use, listing the available names when one is unknown. */
export function encodeCofactors(
  frame: Frame,
  names: readonly string[],
  skip: ReadonlySet<string>,
  available: readonly string[],
  f: Formula,
): Map<string, EncodedVar> {
  const out = new Map<string, EncodedVar>();
  for (const v of names) {
    if (skip.has(v) || out.has(v)) continue;
    const j = frame.names.indexOf(v);
    if (j < 0) throw unknownColumn(v, available, f);
    out.set(v, encodeColumn(v, frame.columns[j]!, 'cofactor'));
  }
  return out;
}
