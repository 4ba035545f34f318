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
 * Relative size below which what is left of a column after projecting out
 * the kept ones counts as 0: a covariate that is a combination of the
 * intercept and earlier covariates (two dummies summing to 1, a total and its
 * parts) gives a residual of rounding size, 1e-15 relative; any covariate
 * of real data is far above 1e-8.
 */
const COLLINEAR_TOLERANCE = 1e-8;

function norm2(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}

/**
 * Whether `v` lies (to COLLINEAR_TOLERANCE relative) in the span of `cols`
 * (the intercept first): modified Gram-Schmidt of v against an orthonormal
 * basis of the columns, rebuilt per call (covariates are few). Without this,
 * OLS and the GLS fits take an arbitrary solution of a singular system and
 * report arbitrary betas.
 */
function inSpan(v: Float64Array, cols: readonly Float64Array[]): boolean {
  const basis: Float64Array[] = [];
  const orthonormal = (x: Float64Array): Float64Array | undefined => {
    const r = Float64Array.from(x);
    const norm0 = norm2(r);
    for (const q of basis) {
      let d = 0;
      for (let i = 0; i < r.length; i++) d += q[i]! * r[i]!;
      for (let i = 0; i < r.length; i++) r[i]! -= d * q[i]!;
    }
    const norm = norm2(r);
    if (!(norm > COLLINEAR_TOLERANCE * norm0)) return undefined;
    for (let i = 0; i < r.length; i++) r[i]! /= norm;
    return r;
  };
  for (const c of cols) {
    const q = orthonormal(c);
    if (q !== undefined) basis.push(q);
  }
  return orthonormal(v) === undefined;
}

/**
 * The covariate design of `n` analysed samples: an intercept, then each
 * column of `covar` (its values at table rows `rows()`, one per sample) that
 * varies on these samples; the constant ones are reported as dropped, since
 * the intercept already spans them, and so are those collinear with the
 * intercept and the covariates kept before them.
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
      else if (inSpan(v, cols)) {
        covariatesDropped.push({
          name,
          reason: `collinear with the intercept and ${names.length > 1 ? names.slice(1).join(', ') : 'no other covariate'} on the analysed samples`,
        });
      } else {
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
