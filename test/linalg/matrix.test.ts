import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Matrix, ShapeError } from '../../src/index.js';

describe('Matrix', () => {
  test('is column-major: fromRows, get, data layout and toArray round-trip', () => {
    const m = Matrix.fromRows([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.equal(m.rows, 2);
    assert.equal(m.cols, 3);
    assert.deepEqual(Array.from(m.data), [1, 4, 2, 5, 3, 6]);
    assert.equal(m.get(1, 2), 6);
    assert.deepEqual(m.toArray(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(m)), {
      rows: 2,
      cols: 3,
      data: [
        [1, 2, 3],
        [4, 5, 6],
      ],
    });
  });

  test('fromRowMajor and fromColumnMajor agree; a Float64Array is wrapped without copying', () => {
    const a = Matrix.fromRowMajor(2, 3, [1, 2, 3, 4, 5, 6]);
    const buf = new Float64Array([1, 4, 2, 5, 3, 6]);
    const b = Matrix.fromColumnMajor(2, 3, buf);
    assert.deepEqual(a.data, b.data);
    buf[0] = 42;
    assert.equal(b.get(0, 0), 42);
    assert.deepEqual(
      Matrix.from([
        [1, 2],
        [3, 4],
      ]).toArray(),
      [
        [1, 2],
        [3, 4],
      ],
    );
    assert.equal(Matrix.from(a), a);
  });

  test('colView is zero-copy and contiguous; col gives one column', () => {
    const m = Matrix.fromRows([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    const v = m.colView(1, 3);
    assert.equal(v.shape, '2x2');
    assert.deepEqual(v.toArray(), [
      [2, 3],
      [6, 7],
    ]);
    v.set(1, 1, -7);
    assert.equal(m.get(1, 2), -7);
    assert.equal(v.data.buffer, m.data.buffer);
    assert.deepEqual(Array.from(m.col(3)), [4, 8]);
    assert.equal(m.colView(4).cols, 0);
  });

  test('set, clone, transpose, identity, diag, column', () => {
    const m = Matrix.zeros(2, 3);
    m.set(0, 2, 9);
    const c = m.clone();
    c.set(0, 2, 1);
    assert.equal(m.get(0, 2), 9);
    assert.deepEqual(m.transpose().toArray(), [
      [0, 0],
      [0, 0],
      [9, 0],
    ]);
    assert.deepEqual(Matrix.identity(2).toArray(), [
      [1, 0],
      [0, 1],
    ]);
    assert.deepEqual(Matrix.diag([2, 3]).toArray(), [
      [2, 0],
      [0, 3],
    ]);
    assert.deepEqual(Matrix.column([1, 2]).toArray(), [[1], [2]]);
    assert.equal(new Matrix(0, 5).data.length, 0);
  });

  test('bad shapes and indices are ShapeErrors that name the operation and the shapes', () => {
    assert.throws(() => new Matrix(2, 2, new Float64Array(3)), /Matrix: a 2x2 matrix needs 4 values, found 3/);
    assert.throws(() => new Matrix(-1, 2), ShapeError);
    assert.throws(() => new Matrix(1.5, 2), ShapeError);
    assert.throws(() => Matrix.fromRows([[1, 2], [3]]), /row 0 has 2 values but row 1 has 1/);
    assert.throws(() => Matrix.fromRowMajor(2, 2, [1, 2, 3]), /needs 4 values, found 3/);
    const m = Matrix.zeros(2, 3);
    assert.throws(() => m.get(2, 0), /Matrix.get: index \(2, 0\) is outside a 2x3 matrix/);
    assert.throws(() => m.set(0, -1, 1), /Matrix.set: index \(0, -1\) is outside a 2x3 matrix/);
    assert.throws(() => m.col(3), /Matrix.col: index column 3 is outside a 2x3 matrix/);
    assert.throws(() => m.colView(2, 4), /Matrix.colView: column range \[2, 4\) is outside a 2x3 matrix/);
  });
});
