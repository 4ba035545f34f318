import type { NumericTable } from './table.js';
import { Matrix } from '../linalg/matrix.js';

/** The covariate design of the analysed samples, and the covariate columns left out. */
export interface CovariateDesign {
  /** Column names of `f`: 'intercept', then the covariates kept. */
  names: string[];
  /** N x (1 + kept) design, column-major. */
  f: Matrix;
  covariatesDropped: { name: string; reason: string }[];
}

/**
 * The covariate design of `n` analysed samples: an intercept, then each
 * column of `covar` (its values at table rows `rows()`, one per sample) that
 * varies on these samples; the constant ones are reported as dropped, since
 * the intercept already spans them.
 */
export function covariateDesign(n: number, covar: NumericTable | undefined, rows: () => Int32Array): CovariateDesign {
  const names = ['intercept'];
  const cols: Float64Array[] = [new Float64Array(n).fill(1)];
  const covariatesDropped: { name: string; reason: string }[] = [];
  if (covar !== undefined) {
    const crow = rows();
    covar.columns.forEach((name, c) => {
      const v = Float64Array.from(crow, (r) => covar.values.data[r + c * covar.values.rows]!);
      if (v.every((x) => x === v[0])) covariatesDropped.push({ name, reason: 'constant on the analysed samples (the intercept is always included)' });
      else {
        names.push(name);
        cols.push(v);
      }
    });
  }
  const f = new Matrix(n, cols.length);
  cols.forEach((c, j) => {
    f.data.set(c, j * n);
  });
  return { names, f, covariatesDropped };
}
