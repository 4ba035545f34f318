import { ShapeError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import { columnSquaredNorms, resultMatrix, type NullCovariance } from './covariance.js';

/**
 * K = I (N x N): no random effect, so a scan under it is ordinary least
 * squares with limix's statistics. The scan code is the same for every
 * covariance; this one only copies.
 */
export class IdentityCovariance implements NullCovariance {
  readonly kind = 'none' as const;
  readonly whitenedRows: number;
  readonly params: Readonly<Record<string, number>> = {};

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1) throw new ShapeError(`IdentityCovariance: n must be a positive integer, found ${n}`);
    this.whitenedRows = n;
  }

  /** I^-1 B = B (a copy). */
  kiDot(b: Matrix): Matrix {
    requireRows('kiDot', b, this.n);
    return b.clone();
  }

  /** I B = B (a copy, into `into` when given; see `NullCovariance.whiten`). */
  whiten(b: Matrix, into?: Float64Array, norms?: Float64Array): Matrix {
    requireRows('whiten', b, this.n);
    let out: Matrix;
    if (into === undefined) out = b.clone();
    else {
      out = resultMatrix('whiten', b.rows, b.cols, into);
      out.data.set(b.data);
    }
    if (norms !== undefined) columnSquaredNorms(out, norms);
    return out;
  }

  logdet(): number {
    return 0;
  }
}

/** Throws a ShapeError unless `b` has `n` rows. */
export function requireRows(op: string, b: Matrix, n: number): void {
  if (b.rows !== n) throw new ShapeError(`${op}: expected a matrix with ${n} rows (one per sample), found ${b.shape}`);
}
