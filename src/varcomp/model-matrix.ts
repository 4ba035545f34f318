// R's model.matrix(terms(formula, keep.order = TRUE), data) over encoded
// variables: treatment contrasts, full dummy coding where R's no-intercept
// rule says so, and R's column names (`a:b`, the first variable fastest).
import type { EncodedVar } from './design-frame.js';
import { deparseName, type Formula } from './formula.js';

/** Columns of one variable in one term: numeric as is, factors by treatment contrasts (code 1) or dummies (code 2). */
function variableColumns(v: EncodedVar, code: 1 | 2, n: number): { names: string[]; cols: Float64Array[] } {
  // R names columns after the deparsed variable (`my var`B for a non-syntactic name).
  const label = deparseName(v.name);
  if (v.kind === 'numeric') return { names: [label], cols: [v.values] };
  const first = code === 1 ? 1 : 0;
  const names: string[] = [];
  const cols: Float64Array[] = [];
  for (let k = first; k < v.levels.length; k++) {
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) if (v.index[i] === k) c[i] = 1;
    names.push(label + v.levels[k]);
    cols.push(c);
  }
  return { names, cols };
}

/** The columns of one term: the product of its variables' columns, the first variable varying fastest (R's order and a:b names). */
export function termColumns(vars: EncodedVar[], codes: readonly (1 | 2)[], n: number): { names: string[]; cols: Float64Array[] } {
  let acc = variableColumns(vars[0]!, codes[0]!, n);
  for (let v = 1; v < vars.length; v++) {
    const next = variableColumns(vars[v]!, codes[v]!, n);
    const names: string[] = [];
    const cols: Float64Array[] = [];
    for (let b = 0; b < next.cols.length; b++) {
      const right = next.cols[b]!;
      for (let a = 0; a < acc.cols.length; a++) {
        const left = acc.cols[a]!;
        const c = new Float64Array(n);
        for (let i = 0; i < n; i++) c[i] = left[i]! * right[i]!;
        names.push(`${acc.names[a]}:${next.names[b]}`);
        cols.push(c);
      }
    }
    acc = { names, cols };
  }
  return acc;
}

/**
 * model.matrix's contrast codes: the formula's TermCode pattern, except that
 * without an intercept the first factor (in term order, then variable order)
 * is coded by dummies, so that its full set of levels replaces the intercept.
 */
export function adjustedCodes(f: Formula, isFactor: (name: string) => boolean): (1 | 2)[][] {
  const codes = f.codes.map((c) => [...c]);
  if (!f.intercept) {
    const vars = f.variables;
    outer: for (let t = 0; t < f.terms.length; t++) {
      // R scans the variables in variable order within the term.
      const inTerm = vars.filter((v) => f.terms[t]!.includes(v));
      for (const v of inTerm) {
        if (isFactor(v)) {
          codes[t]![f.terms[t]!.indexOf(v)] = 2;
          break outer;
        }
      }
    }
  }
  return codes;
}

/** A model matrix: its columns, their names and R's `assign` (term index per column, 0 = intercept). */
export interface ModelMatrix {
  names: string[];
  cols: Float64Array[];
  assign: number[];
}

/** model.matrix(terms(formula, keep.order = TRUE), data) for encoded variables. */
export function modelMatrix(f: Formula, lookup: (name: string) => EncodedVar, n: number, codes: (1 | 2)[][]): ModelMatrix {
  const out: ModelMatrix = { names: [], cols: [], assign: [] };
  if (f.intercept) {
    out.names.push('(Intercept)');
    out.cols.push(new Float64Array(n).fill(1));
    out.assign.push(0);
  }
  f.terms.forEach((term, t) => {
    const tc = termColumns(term.map(lookup), codes[t]!, n);
    out.names.push(...tc.names);
    out.cols.push(...tc.cols);
    for (let k = 0; k < tc.cols.length; k++) out.assign.push(t + 1);
  });
  return out;
}
