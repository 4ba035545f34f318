import { ShapeError } from '../errors.js';

/** Anything lmmkit accepts where a matrix is expected. */
export type MatrixLike = Matrix | number[][];

/**
 * A dense real matrix stored column-major in a `Float64Array`, as LAPACK
 * stores it: element (i, j) lives at `data[i + j * rows]`, and a column range
 * is one contiguous block. A genotype batch of N samples x S variants is
 * therefore S contiguous columns of length N, and `colView` hands a range of
 * them to the backend without copying.
 *
 * A `Matrix` always owns (or views) exactly `rows * cols` doubles: there is
 * no leading-dimension stride, which keeps every kernel call trivially safe.
 */
export class Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Column-major storage, length rows * cols. Mutating it mutates the matrix. */
  readonly data: Float64Array;

  /**
   * Wraps `data` (column-major, length rows * cols) without copying.
   * Use the static constructors for other layouts.
   */
  constructor(rows: number, cols: number, data?: Float64Array) {
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
      throw new ShapeError(`Matrix: rows and cols must be non-negative integers, found ${rows}x${cols}`);
    }
    const size = rows * cols;
    if (data !== undefined && data.length !== size) {
      throw new ShapeError(`Matrix: a ${rows}x${cols} matrix needs ${size} values, found ${data.length}`);
    }
    this.rows = rows;
    this.cols = cols;
    this.data = data ?? new Float64Array(size);
  }

  /** A rows x cols matrix of zeros. */
  static zeros(rows: number, cols: number): Matrix {
    return new Matrix(rows, cols);
  }

  /** The n x n identity. */
  static identity(n: number): Matrix {
    const m = new Matrix(n, n);
    for (let i = 0; i < n; i++) m.data[i + i * n] = 1;
    return m;
  }

  /** A square matrix with `d` on its diagonal. */
  static diag(d: ArrayLike<number>): Matrix {
    const n = d.length;
    const m = new Matrix(n, n);
    for (let i = 0; i < n; i++) m.data[i + i * n] = d[i]!;
    return m;
  }

  /**
   * Builds a matrix from row arrays (`rows[i][j]` is element (i, j)), copying.
   * Every row must have the same length.
   */
  static fromRows(rows: readonly (readonly number[])[]): Matrix {
    const r = rows.length;
    const c = rows[0]?.length ?? 0;
    const m = new Matrix(r, c);
    for (let i = 0; i < r; i++) {
      const row = rows[i]!;
      if (row.length !== c) {
        throw new ShapeError(`Matrix.fromRows: row 0 has ${c} values but row ${i} has ${row.length}`);
      }
      for (let j = 0; j < c; j++) m.data[i + j * r] = row[j]!;
    }
    return m;
  }

  /** Wraps a column-major array of length rows * cols without copying (a `number[]` is copied). */
  static fromColumnMajor(rows: number, cols: number, data: Float64Array | readonly number[]): Matrix {
    return new Matrix(rows, cols, data instanceof Float64Array ? data : Float64Array.from(data));
  }

  /** Copies a row-major array of length rows * cols (C/numpy order) into a new matrix. */
  static fromRowMajor(rows: number, cols: number, data: ArrayLike<number>): Matrix {
    if (data.length !== rows * cols) {
      throw new ShapeError(`Matrix.fromRowMajor: a ${rows}x${cols} matrix needs ${rows * cols} values, found ${data.length}`);
    }
    const m = new Matrix(rows, cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) m.data[i + j * rows] = data[i * cols + j]!;
    }
    return m;
  }

  /** A single column vector (n x 1) holding a copy of `v`. */
  static column(v: ArrayLike<number>): Matrix {
    return new Matrix(v.length, 1, Float64Array.from(v as ArrayLike<number>));
  }

  /** Accepts a `Matrix` (returned as is) or row arrays (copied). */
  static from(x: MatrixLike): Matrix {
    return x instanceof Matrix ? x : Matrix.fromRows(x);
  }

  /** "RxC", for messages. */
  get shape(): string {
    return `${this.rows}x${this.cols}`;
  }

  /** Element (i, j), zero-based; bounds are checked. */
  get(i: number, j: number): number {
    this.checkIndex('get', i, j);
    return this.data[i + j * this.rows]!;
  }

  /** Sets element (i, j), zero-based; bounds are checked. */
  set(i: number, j: number, value: number): void {
    this.checkIndex('set', i, j);
    this.data[i + j * this.rows] = value;
  }

  /** Column j as a zero-copy `Float64Array` view. */
  col(j: number): Float64Array {
    this.checkIndex('col', 0, j, true);
    return this.data.subarray(j * this.rows, (j + 1) * this.rows);
  }

  /**
   * Columns [start, end) as a zero-copy rows x (end - start) matrix: writes
   * through the view change this matrix.
   */
  colView(start: number, end: number = this.cols): Matrix {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > this.cols || start > end) {
      throw new ShapeError(`Matrix.colView: column range [${start}, ${end}) is outside a ${this.shape} matrix`);
    }
    return new Matrix(this.rows, end - start, this.data.subarray(start * this.rows, end * this.rows));
  }

  /** A deep copy. */
  clone(): Matrix {
    return new Matrix(this.rows, this.cols, this.data.slice());
  }

  /** The transpose, as a new matrix. */
  transpose(): Matrix {
    const { rows, cols } = this;
    const t = new Matrix(cols, rows);
    for (let j = 0; j < cols; j++) {
      const off = j * rows;
      for (let i = 0; i < rows; i++) t.data[j + i * cols] = this.data[off + i]!;
    }
    return t;
  }

  /** Row arrays (`out[i][j]` is element (i, j)), for printing and JSON. */
  toArray(): number[][] {
    const out: number[][] = [];
    for (let i = 0; i < this.rows; i++) {
      const row = new Array<number>(this.cols);
      for (let j = 0; j < this.cols; j++) row[j] = this.data[i + j * this.rows]!;
      out.push(row);
    }
    return out;
  }

  /** JSON form: `{rows, cols, data}` with `data` as row arrays. */
  toJSON(): { rows: number; cols: number; data: number[][] } {
    return { rows: this.rows, cols: this.cols, data: this.toArray() };
  }

  private checkIndex(op: string, i: number, j: number, colOnly = false): void {
    const rowOk = colOnly || (Number.isInteger(i) && i >= 0 && i < this.rows);
    if (!rowOk || !Number.isInteger(j) || j < 0 || j >= this.cols) {
      const what = colOnly ? `column ${j}` : `(${i}, ${j})`;
      throw new ShapeError(`Matrix.${op}: index ${what} is outside a ${this.shape} matrix`);
    }
  }
}
