// numericTableKey (a header-less table of numbers: FID IID columns or
// values only, decided against the genotype samples) and applyMissingCode.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InputError } from '../../src/errors.js';
import { applyMissingCode, detectTableKeyFor, numericTableKey, type KeyGenotypes } from '../../src/data/table-key.js';
import { parseTable } from '../../src/data/table.js';

const N = 20;
const plink: KeyGenotypes = {
  file: 'g.fam',
  samples: { fid: Array.from({ length: N }, (_, i) => String(100 + (i % 3))), iid: Array.from({ length: N }, (_, i) => String(i + 1)) },
  key: 'fid-iid',
};
// BIMBAM: one id per sample, numbered 1..N.
const bimbam: KeyGenotypes = { file: 'g.txt', samples: { fid: plink.samples.iid, iid: plink.samples.iid }, key: 'iid' };

const key = (rows: string[][], g: KeyGenotypes): ReturnType<typeof numericTableKey> =>
  numericTableKey(
    rows,
    rows.map((_, r) => r + 1),
    'p.txt',
    g,
  );
const idRows = (order: number[], g: KeyGenotypes): string[][] => order.map((i) => [g.samples.fid[i]!, g.samples.iid[i]!, String(i * 0.37 - 2)]);
const all = Array.from({ length: N }, (_, i) => i);

describe('numericTableKey', () => {
  test('rows that start with the FID IID of genotype samples are keyed fid-iid, in any order', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(all, { minLength: N, maxLength: N }), (order) => {
        assert.equal(key(idRows(order, plink), plink), 'fid-iid');
        assert.equal(key(idRows(order, bimbam), bimbam), 'fid-iid');
      }),
    );
  });

  test('a minority of rows naming samples the genotypes lack is accepted (extra samples)', () => {
    const rows = [...idRows(all.slice(0, 12), plink), ['7', '900', '1.5'], ['7', '901', '2.5']];
    assert.equal(key(rows, plink), 'fid-iid');
  });

  test('values only, one row per sample, are keyed none (GEMMA)', () => {
    const rows = all.map((i) => [String(i * 0.1 + 0.05), String(-i), String(i)]);
    assert.equal(key(rows, plink), 'none');
    // Two fields: never FID IID and a value.
    assert.equal(
      key(
        all.map((i) => [String(i + 1), String(i + 1)]),
        bimbam,
      ),
      'none',
    );
  });

  test('ambiguous rows are refused, naming --ids and a line of each kind', () => {
    const rows = all.map((i) => (i < 5 ? idRows([i], plink)[0]! : [String(i + 50), String(i + 60), '0.5']));
    assert.throws(
      () => key(rows, plink),
      (e: unknown) =>
        e instanceof InputError &&
        /^p\.txt: cannot tell how the rows name their samples: .*5 of its 20 rows start with the FID and IID .*\(line 1: '100 1'\), 15 do not \(line 6: '55 65'\); give --ids fid-iid/.test(
          e.message,
        ),
    );
    // Whole-number rows that name no sample, and are not one per genotype sample.
    assert.throws(() => key([['5', '6', '2']], plink), /no row starts with the FID and IID .*its 1 rows are not one per genotype sample \(20\)/);
    // Values only, whatever their count, are matched by order (which then checks the count).
    assert.equal(key([['0.5', '1.5', '2']], plink), 'none');
    // Duplicate pairs cannot be ids, but some rows name samples: refused, not read by order.
    assert.throws(() => key([...idRows(all.slice(1), plink), idRows([1], plink)[0]!], plink), /cannot all be unique whole-number ids/);
  });

  test('detectTableKeyFor: a header or non-numeric ids decide on their own', () => {
    assert.equal(detectTableKeyFor('FID IID t\n100 1 0.5\n', 'p', plink), 'fid-iid');
    assert.equal(detectTableKeyFor('IID t\n1 0.5\n', 'p', plink), 'iid');
    assert.equal(detectTableKeyFor('f1 i1 0.5\n', 'p', plink), 'fid-iid');
    assert.equal(
      detectTableKeyFor(
        `${idRows(all, plink)
          .map((r) => r.join(' '))
          .join('\n')}\n`,
        'p',
        plink,
      ),
      'fid-iid',
    );
  });
});

describe('applyMissingCode', () => {
  test('reads values equal to the code as missing and counts them per column; null changes nothing', () => {
    const text = 'FID IID a b\n1 1 -9 2\n1 2 -9.0 -9\n1 3 NA -90\n';
    const t = parseTable(text, 'p');
    assert.deepEqual(applyMissingCode(t, -9), {
      file: 'p',
      code: -9,
      values: 3,
      columns: [
        { name: 'a', values: 2 },
        { name: 'b', values: 1 },
      ],
    });
    assert.deepEqual(Array.from(t.values.data), [Number.NaN, Number.NaN, Number.NaN, 2, Number.NaN, -90]);
    const u = parseTable(text, 'p');
    assert.equal(applyMissingCode(u, null).values, 0);
    assert.equal(u.values.data[0], -9);
  });
});
