// The dummy coding of categorical covariates: plink2's natural order of
// category names and its reference (the most common level).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { factorColumn, naturalCompare } from '../../src/data/categorical.js';
import { parseTable } from '../../src/data/table.js';

test('natural order as plink2 sorts categories: digits by value, case ignored, then code units', () => {
  assert.deepEqual(['b', 'a10', 'B', 'a2', 'A3', 'x'].sort(naturalCompare), ['a2', 'A3', 'a10', 'B', 'b', 'x']);
  assert.deepEqual(['zeta', 'Beta', 'alpha', 'nine', 'ten'].sort(naturalCompare), ['alpha', 'Beta', 'nine', 'ten', 'zeta']);
  assert.ok(naturalCompare('x007', 'x7') < 0 || naturalCompare('x007', 'x7') > 0, 'a total order: equal values written apart differ');
});

test('the reference is the most common level; ties go to the first in natural order (plink2 2.0 --glm)', () => {
  // The levels and dummies plink2 printed for these counts (a10 and b tied at 34).
  const f = factorColumn(
    'site',
    new Map([
      ['b', 34],
      ['a10', 34],
      ['B', 33],
      ['a2', 33],
      ['A3', 33],
      ['x', 33],
    ]),
  );
  assert.equal(f.reference, 'a10');
  assert.deepEqual(f.columns, ['site=a2', 'site=A3', 'site=B', 'site=b', 'site=x']);
  assert.equal(
    factorColumn(
      's',
      new Map([
        ['M', 30],
        ['zz', 120],
        ['F', 50],
      ]),
    ).reference,
    'zz',
  );
});

test('parseTable categorical: dummies with NaN where missing, the numeric columns as before', () => {
  const t = parseTable('FID IID sex age\nf1 i1 M 30\nf2 i2 F 31\nf3 i3 NA 32\nf4 i4 M 33\n', 'c.txt', { categorical: true });
  assert.deepEqual(t.columns, ['sex=F', 'age']);
  assert.deepEqual(Array.from(t.values.data), [0, 1, Number.NaN, 0, 30, 31, 32, 33]);
  assert.equal(t.factors?.[0]?.reference, 'M');
  assert.throws(() => parseTable('FID IID sex\nf1 i1 M\n', 'c.txt'), /c\.txt:2 \(column 3 'sex'\): expected a number or a missing value/);
});
