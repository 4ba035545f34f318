// The text-table readers: phenotype/covariate/expression tables (every
// option, every kind of bad input, the real example files) and kinship
// tables, plus fuzzing with random and mutated text.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { LmmkitError } from '../../src/errors.js';
import { parseKinship } from '../../src/data/kinship-table.js';
import { readKinship } from '../../src/data/node/tables.js';
import { parseTable, type NumericTable, type TableOptions } from '../../src/data/table.js';
import { readTable } from '../../src/data/node/tables.js';
import { SHARED, sharedTest } from '../support.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-table-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The values as row arrays, with NaN shown as null so deepEqual reads well. */
function rowsOf(t: NumericTable): (number | null)[][] {
  return t.values.toArray().map((r) => r.map((v) => (Number.isNaN(v) ? null : v)));
}

function bad(text: string, opts: TableOptions, message: RegExp, file = 'p.txt'): void {
  assert.throws(() => parseTable(text, file, opts), { name: 'InputError', message });
}

describe('parseTable', () => {
  test('reads a PLINK-style table with a header (FID IID and two traits)', () => {
    const t = parseTable('FID\tIID\theight\tbmi\nF1\tI1\t1.5\t20\nF2\tI2\tNA\t-3e-1\n', 'p.txt');
    assert.equal(t.file, 'p.txt');
    assert.equal(t.key, 'fid-iid');
    assert.deepEqual(t.ids, { fid: ['F1', 'F2'], iid: ['I1', 'I2'] });
    assert.deepEqual(t.columns, ['height', 'bmi']);
    assert.deepEqual(rowsOf(t), [
      [1.5, 20],
      [null, -0.3],
    ]);
    assert.equal(t.values.shape, '2x2');
  });

  test('sep: auto picks comma, then tab, then whitespace; each can be forced', () => {
    const csv = parseTable('id,a\ns1,1\n', 'x', { key: 'iid' });
    assert.deepEqual([csv.columns, rowsOf(csv)], [['a'], [[1]]]);
    // A comma anywhere in the first line wins over tabs.
    const both = parseTable('id\ta,b\ns1\t1,2\n', 'x', { key: 'iid' });
    assert.deepEqual([both.ids.iid, both.columns], [['s1\t1'], ['b']]);
    // With tabs, spaces are part of the fields (trimmed at the ends).
    const tsv = parseTable('id\tmy trait\ns 1\t2\n', 'x', { key: 'iid' });
    assert.deepEqual([tsv.ids.iid, tsv.columns], [['s 1'], ['my trait']]);
    const ws = parseTable('  id   a  b\ns1 \t 1   2\n', 'x', { key: 'iid' });
    assert.deepEqual([ws.columns, rowsOf(ws)], [['a', 'b'], [[1, 2]]]);
    const forced = parseTable('a,b 1\n', 'x', { key: 'iid', sep: 'whitespace', header: false });
    assert.deepEqual(forced.ids.iid, ['a,b']);
    assert.throws(() => parseTable('s1 1,5\n', 'x', { key: 'iid', sep: 'whitespace', header: false }), /found '1,5'$/);
    const tab = parseTable('a,b\t1\n', 'x', { key: 'iid', sep: 'tab', header: false });
    assert.deepEqual(tab.ids.iid, ['a,b']);
  });

  test('double quotes are stripped; quoted fields may hold the separator and "" for a quote', () => {
    const t = parseTable('"id","a, b","say ""hi"""\n"s,1", "1" ,2\n', 'x', { key: 'iid' });
    assert.deepEqual(t.columns, ['a, b', 'say "hi"']);
    assert.deepEqual(t.ids.iid, ['s,1']);
    assert.deepEqual(rowsOf(t), [[1, 2]]);
    const ws = parseTable('"id" "v"\n"s1" "3"\n', 'x', { key: 'iid' });
    assert.deepEqual([ws.columns, ws.ids.iid, rowsOf(ws)], [['v'], ['s1'], [[3]]]);
  });

  test('header: auto detects names, numeric first rows are data, FID/IID/#FID mark a header; explicit values win', () => {
    assert.deepEqual(parseTable('F1 I1 1 2\nF2 I2 3 4\n', 'x').columns, ['V3', 'V4']);
    assert.deepEqual(parseTable('F1 I1 NA .\nF2 I2 3 4\n', 'x').ids.iid, ['I1', 'I2']);
    for (const first of ['FID', 'fid', '#FID', 'IID']) {
      const t = parseTable(`${first} IID 1 2\nF1 I1 3 4\n`, 'x');
      assert.deepEqual([t.columns, t.ids.iid], [['1', '2'], ['I1']], first);
    }
    const forced = parseTable('F0 I0 7 8\nF1 I1 3 4\n', 'x', { header: true });
    assert.deepEqual([forced.columns, forced.ids.iid], [['7', '8'], ['I1']]);
    assert.deepEqual(parseTable('1 2\n3 4\n', 'x', { key: 'none', header: false }).columns, ['V1', 'V2']);
    bad('FID IID a\nF1 I1 1\n', { header: false }, /^p\.txt:1 \(column 3\): expected a number or a missing value .*, found 'a'$/);
  });

  test("key: 'fid-iid' uses two id fields, 'iid' one (fid = iid), 'none' none (empty ids, V1..Vk)", () => {
    const two = parseTable('F1 I1 5\nF1 I2 6\n', 'x', { key: 'fid-iid' });
    assert.deepEqual([two.ids, two.columns], [{ fid: ['F1', 'F1'], iid: ['I1', 'I2'] }, ['V3']]);
    const one = parseTable('I1 5 6\nI2 6 7\n', 'x', { key: 'iid' });
    assert.deepEqual([one.key, one.ids, one.columns], ['iid', { fid: ['I1', 'I2'], iid: ['I1', 'I2'] }, ['V2', 'V3']]);
    const none = parseTable('5 6\n6 7\nNA 8\n', 'x', { key: 'none' });
    assert.deepEqual(
      [none.key, none.ids, none.columns, rowsOf(none)],
      [
        'none',
        { fid: [], iid: [] },
        ['V1', 'V2'],
        [
          [5, 6],
          [6, 7],
          [null, 8],
        ],
      ],
    );
    const named = parseTable('y1 y2\n5 6\n', 'x', { key: 'none' });
    assert.deepEqual([named.columns, rowsOf(named)], [['y1', 'y2'], [[5, 6]]]);
  });

  test("an R write.table header without a name for the id column is accepted with key 'iid'", () => {
    const t = parseTable('"a" "b"\n"s1" 1 2\n"s2" 3 4\n', 'x', { key: 'iid' });
    assert.deepEqual(
      [t.columns, t.ids.iid, rowsOf(t)],
      [
        ['a', 'b'],
        ['s1', 's2'],
        [
          [1, 2],
          [3, 4],
        ],
      ],
    );
  });

  test('missing: NA . empty nan NaN by default, -9 only with minus9Missing, or a custom list', () => {
    const t = parseTable('id,a,b,c,d,e,f\ns1,NA,.,,nan,NaN,-9\n', 'x', { key: 'iid' });
    assert.deepEqual(rowsOf(t), [[null, null, null, null, null, -9]]);
    const m9 = parseTable('s1 -9 -9.0 -90 9\n', 'x', { key: 'iid', minus9Missing: true });
    assert.deepEqual(rowsOf(m9), [[null, null, -90, 9]]);
    const custom = parseTable('s1 NA 1 ?\n', 'x', { key: 'iid', missing: ['?'], header: false, columns: ['V3', 'V4'] });
    assert.deepEqual(rowsOf(custom), [[1, null]]);
    bad('s1 NA 1 ?\n', { key: 'iid', missing: ['?'], header: false }, /^p\.txt:1 \(column 2\): expected a number or a missing value \(\?\), found 'NA'$/);
  });

  test('columns selects by name in the given order and parses only those', () => {
    const t = parseTable('FID IID a b c\nF1 I1 1 x 3\n', 'x', { columns: ['c', 'a'] });
    assert.deepEqual([t.columns, rowsOf(t)], [['c', 'a'], [[3, 1]]]);
    bad('FID IID a b\nF1 I1 1 2\n', { columns: ['a', 'zz'] }, /^p\.txt: expected a column named 'zz', found none; the columns are: a, b$/);
    assert.throws(() => parseTable('FID IID a\nF1 I1 1\n', 'p.txt', { columns: [] }), {
      name: 'ArgumentError',
      code: 'BAD_ARGUMENT',
      message: /columns must name at least one column/,
    });
  });

  test('Windows line endings, a byte-order mark, blank lines and a trailing separator on every line are accepted', () => {
    const t = parseTable('\uFEFFFID\tIID\ty\r\n\r\nF1\tI1\t1\r\nF2\tI2\t2\r\n\r\n\r\n', 'x');
    assert.deepEqual([t.ids.fid, t.columns, rowsOf(t)], [['F1', 'F2'], ['y'], [[1], [2]]]);
    // GEMMA's covariate files end every line with a tab.
    const g = parseTable('-1.0\t-1.0\t\n1.0\t1.0\t\n', 'x', { key: 'none' });
    assert.deepEqual(
      [g.columns, rowsOf(g)],
      [
        ['V1', 'V2'],
        [
          [-1, -1],
          [1, 1],
        ],
      ],
    );
  });

  test('numbers must be plain decimals: no hex, no Infinity, no overflow', () => {
    for (const v of ['0x10', 'Infinity', '-Inf', '1e999', '--1', '1e', '1.2.3']) {
      assert.throws(() => parseTable(`I1 ${v}\n`, 'p.txt', { key: 'iid', header: false }), {
        message: `p.txt:1 (column 2): expected a number or a missing value (NA, ., an empty field, nan, NaN), found '${v}'`,
      });
    }
    assert.deepEqual(rowsOf(parseTable('I1 +1 .5 5. 1E3 -2e-2\n', 'x', { key: 'iid', header: false })), [[1, 0.5, 5, 1000, -0.02]]);
  });

  describe('bad input names the file, line, column, what was expected and what was found', () => {
    test('an empty or blank file', () => {
      bad('', {}, /^p\.txt: expected a table, found an empty file$/);
      bad(' \n\r\n\t\n', {}, /^p\.txt: expected a table, found an empty file$/);
    });
    test('a non-numeric value (column number and name)', () => {
      bad(
        'FID IID height bmi\nF1 I1 1 2\nF2 I2 1.7 abc\n',
        {},
        /^p\.txt:3 \(column 4 'bmi'\): expected a number or a missing value \(NA, \., an empty field, nan, NaN\), found 'abc'$/,
      );
      bad('F1 I1 1 2\nF2 I2 1.7 abc\n', {}, /^p\.txt:2 \(column 4\): expected a number or a missing value \(NA, \., an empty field, nan, NaN\), found 'abc'$/);
      bad(
        '1\n2\nx\n',
        { key: 'none', header: false, minus9Missing: true },
        /^p\.txt:3 \(column 1\): expected a number or a missing value \(NA, \., an empty field, nan, NaN, -9\), found 'x'$/,
      );
    });
    test('rows of different lengths', () => {
      bad('FID IID a b\nF1 I1 1 2\nF2 I2 1 2 3\n', {}, /^p\.txt:3: expected 4 fields \(as on line 1\), found 5$/);
      bad('a,b\n1,2\n3\n', { key: 'none' }, /^p\.txt:3: expected 2 fields \(as on line 1\), found 1$/);
    });
    test('duplicate sample ids name both lines', () => {
      bad('FID IID y\nF1 I1 1\nF1 I2 2\n\nF1 I1 3\n', {}, /^p\.txt:5: expected unique sample ids, found 'F1 I1' on lines 2 and 5$/);
      bad('s1 1\ns2 2\ns1 3\n', { key: 'iid' }, /^p\.txt:3: expected unique sample ids, found 's1' on lines 1 and 3$/);
    });
    test('duplicate column names, empty ids, only id columns, a header without data', () => {
      bad('FID IID y y\nF1 I1 1 2\n', {}, /^p\.txt:1: expected unique names, found 'y' twice \(fields 3 and 4\)$/);
      bad('F1,,1\n', { header: false }, /^p\.txt:1 \(column 2\): expected a sample id, found an empty field$/);
      bad('F1 I1\nF2 I2\n', {}, /^p\.txt:1: expected at least 3 fields \(FID, IID and a value\), found 2$/);
      bad('FID IID y\n', {}, /^p\.txt: expected at least one data row after the header, found none$/);
    });
    test('broken quoting', () => {
      bad('id,"a\ns1,1\n', {}, /^p\.txt:1 \(column 2\): expected a closing double quote, found the end of the line$/);
      bad('id,"a"b\ns1,1\n', {}, /^p\.txt:1 \(column 2\): expected a comma or the end of the line after a quoted field, found 'b'$/);
    });
    test("a blank line inside a table with key 'none' (rows are matched by order)", () => {
      bad('1\n2\n\n3\n', { key: 'none' }, /^p\.txt:3: expected one line per sample .*found a blank line$/);
    });
    test('an unreadable file', async () => {
      await assert.rejects(readTable(join(dir, 'nope.txt')), {
        name: 'InputError',
        message: new RegExp(`^${dir}/nope\\.txt: expected a readable text file, found no such file$`),
      });
      await assert.rejects(readTable(dir), { name: 'InputError', message: /: expected a readable text file, found a directory$/ });
    });
  });

  test('readTable reads a file and names it in messages', async () => {
    const path = join(dir, 'pheno.tsv');
    writeFileSync(path, 'FID\tIID\ty\nF1\tI1\t2.5\nF2\tI2\toops\n');
    await assert.rejects(readTable(path), {
      message: `${path}:3 (column 3 'y'): expected a number or a missing value (NA, ., an empty field, nan, NaN), found 'oops'`,
    });
    writeFileSync(path, 'FID\tIID\ty\nF1\tI1\t2.5\n');
    const t = await readTable(path);
    assert.deepEqual([t.file, rowsOf(t)], [path, [[2.5]]]);
  });
});

describe('parseTable, transposed (features as rows, samples as columns)', () => {
  const expr = ',s1,s2,s3\ngene1,1,2,3\ngene2,4,NA,6\n';

  test('a header of sample ids after a corner cell, feature names in the first column', () => {
    const t = parseTable(expr, 'e.csv', { transposed: true });
    assert.equal(t.key, 'iid');
    assert.deepEqual(t.ids, { fid: ['s1', 's2', 's3'], iid: ['s1', 's2', 's3'] });
    assert.deepEqual(t.columns, ['gene1', 'gene2']);
    assert.deepEqual(rowsOf(t), [
      [1, 4],
      [2, null],
      [3, 6],
    ]);
  });

  test('numeric sample ids (limix expr.csv), an R-style header without a corner, key none, selection', () => {
    assert.deepEqual(parseTable(',0,1\ng,1,2\n', 'e.csv', { transposed: true }).ids.iid, ['0', '1']);
    const r = parseTable('s1 s2\ng1 1 2\n', 'e.txt', { transposed: true });
    assert.deepEqual([r.ids.iid, r.columns, rowsOf(r)], [['s1', 's2'], ['g1'], [[1], [2]]]);
    const none = parseTable('g1 1 2\ng2 3 4\n', 'e.txt', { transposed: true, key: 'none' });
    assert.deepEqual(
      [none.ids, none.columns, rowsOf(none)],
      [
        { fid: [], iid: [] },
        ['g1', 'g2'],
        [
          [1, 3],
          [2, 4],
        ],
      ],
    );
    const sel = parseTable(expr, 'e.csv', { transposed: true, columns: ['gene2'] });
    assert.deepEqual([sel.columns, rowsOf(sel)], [['gene2'], [[4], [null], [6]]]);
  });

  test('bad transposed input and options', () => {
    bad(',s1,s1\ng,1,2\n', { transposed: true }, /^p\.txt:1: expected unique sample ids, found 's1' in columns 2 and 3$/);
    bad(',s1,s2\ng,1,2\nh,1\n', { transposed: true }, /^p\.txt:3: expected 3 fields \(a feature name and 2 values\), found 2$/);
    bad(',s1,s2\ng,1,x\n', { transposed: true }, /^p\.txt:2 \(column 3 's2'\): expected a number or a missing value .*, found 'x'$/);
    bad(',s1,s2\ng,1,2\ng,3,4\n', { transposed: true }, /^p\.txt:3: expected unique names, found 'g' twice \(lines 2 and 3\)$/);
    bad(',s1,s2\n', { transposed: true }, /^p\.txt: expected at least one feature row after the header, found none$/);
    bad(',s1,\ng,1,2\n', { transposed: true }, /^p\.txt:1 \(column 3\): expected a sample id, found an empty field$/);
    assert.throws(() => parseTable(expr, 'e.csv', { transposed: true, key: 'fid-iid' }), {
      name: 'ArgumentError',
      code: 'BAD_ARGUMENT',
      message: /use key 'iid' or 'none'/,
    });
    assert.throws(() => parseTable(expr, 'e.csv', { transposed: true, header: false }), {
      name: 'ArgumentError',
      code: 'BAD_ARGUMENT',
      message: /needs its header row/,
    });
  });
});

describe('parseKinship', () => {
  const K = [
    [1, 0.5, 0.25],
    [0.5, 1, 0],
    [0.25, 0, 2],
  ];
  const body = (ids?: string[]) => K.map((r, i) => [...(ids ? [ids[i]] : []), ...r].join('\t')).join('\n');

  test('a header with a corner cell and an id column (R write.csv)', () => {
    const kin = parseKinship(`"id","a","b","c"\n${K.map((r, i) => [`"${'abc'[i]}"`, ...r].join(',')).join('\n')}\n`, 'K.csv');
    assert.deepEqual([kin.key, kin.ids, kin.k.toArray()], ['iid', { fid: ['a', 'b', 'c'], iid: ['a', 'b', 'c'] }, K]);
  });

  test('a header without a corner, only a header, only an id column, numeric ids beside a header', () => {
    assert.deepEqual(parseKinship(`a\tb\tc\n${body(['a', 'b', 'c'])}\n`, 'K').ids.iid, ['a', 'b', 'c']);
    assert.deepEqual(parseKinship(`a\tb\tc\n${body()}\n`, 'K').k.toArray(), K);
    assert.deepEqual(parseKinship(`${body(['a', 'b', 'c'])}\n`, 'K').ids.iid, ['a', 'b', 'c']);
    assert.deepEqual(parseKinship(`\t1\t2\t3\n${body(['1', '2', '3'])}\n`, 'K').ids.iid, ['1', '2', '3']);
  });

  test("GEMMA's .cXX.txt (no ids, a tab after every value) takes the .fam ids", () => {
    const fam = { fid: ['F1', 'F2', 'F3'], iid: ['I1', 'I2', 'I3'] };
    const kin = parseKinship(`${K.map((r) => `${r.join('\t')}\t`).join('\n')}\n`, 'out.cXX.txt', { ids: fam });
    assert.deepEqual([kin.key, kin.ids, kin.k.toArray()], ['fid-iid', fam, K]);
  });

  test('symmetry is checked to 1e-6 of max |K|', () => {
    const near = parseKinship('a b\na 100 1\nb 1.00005 100\n', 'K');
    assert.equal(near.k.get(1, 0), 1.00005);
    assert.throws(() => parseKinship('a b\na 100 1\nb 1.0002 100\n', 'K'), {
      name: 'InputError',
      message: "K:2 (column 3): expected a symmetric matrix (to 0.000001 x max|K|), found K(1, 2) = 1 but K(2, 1) = 1.0002 (samples 'a' and 'b')",
    });
  });

  test('bad kinship input', () => {
    const badK = (text: string, message: RegExp, opts = {}) => assert.throws(() => parseKinship(text, 'K.txt', opts), { name: 'InputError', message });
    badK('1 0 0\n0 1 0\n', /^K\.txt: expected a square matrix, found 2 rows x 3 columns of values$/);
    badK('a b\na 1 0\nb 0 1\nc 0 0\n', /^K\.txt: expected a square matrix, found 3 rows x 2 columns of values \(besides the header row and the id column\)$/);
    badK(
      'a b c\na 1 0 0\nc 0 1 0\nb 0 0 1\n',
      /^K\.txt:3: expected the row ids to equal the header ids in the same order, found row 2 named 'c' but header column 2 named 'b'$/,
    );
    badK('1 0\n0 1\n', /^K\.txt: expected a 3x3 matrix \(one row per genotype sample\), found 2x2$/, { ids: { fid: ['a', 'b', 'c'], iid: ['a', 'b', 'c'] } });
    badK('1 0\n0 1\n', /^K\.txt: expected sample ids \(a header row or a first column\), found none; pass the genotype samples/);
    badK('1 0 0\n0 NA 0\n0 0 1\n', /^K\.txt:2 \(column 2\): expected a finite number, found 'NA'$/, { ids: { fid: ['a', 'b', 'c'], iid: ['a', 'b', 'c'] } });
    badK('a 1 0\na 0 1\n', /^K\.txt:2 \(column 1\): expected unique sample ids, found 'a' at positions 1 and 2$/);
    badK('a b\n1 0\n0 1 2\n', /^K\.txt:3: expected 2 fields \(as on line 2\), found 3$/);
    badK('a b\n', /^K\.txt: expected the rows of a square matrix after the header row, found none$/);
    badK('a b c d\n1 0\n0 1\n', /^K\.txt:1: expected 2 sample ids in the header row \(after an optional corner cell\), found 4 fields$/);
  });

  test('readKinship reads a file; a missing file is an InputError', async () => {
    const path = join(dir, 'K.txt');
    writeFileSync(path, `a\tb\tc\n${body()}\n`);
    assert.deepEqual((await readKinship(path)).k.toArray(), K);
    await assert.rejects(readKinship(join(dir, 'none.cXX.txt')), { name: 'InputError', message: /found no such file$/ });
  });
});

describe('the example data files', () => {
  sharedTest("limix's expr.csv: transposed, 1000 genes x 274 samples", 'data/structlmm/expr.csv', async () => {
    const path = `${SHARED}data/structlmm/expr.csv`;
    const t = await readTable(path, { transposed: true });
    assert.equal(t.values.shape, '274x1000');
    assert.deepEqual(
      t.ids.iid,
      Array.from({ length: 274 }, (_, i) => String(i)),
    );
    assert.deepEqual(
      t.columns,
      Array.from({ length: 1000 }, (_, i) => `gene${i + 1}`),
    );
    const lines = readFileSync(path, 'utf8').split('\n');
    for (const [gene, sample] of [
      [1, 0],
      [1, 273],
      [500, 100],
      [1000, 0],
      [1000, 273],
    ] as const) {
      const text = lines[gene]!.split(',')[sample + 1]!;
      assert.equal(t.values.get(sample, gene - 1), Number(text), `gene${gene}, sample ${sample}`);
    }
    assert.equal(t.values.get(0, 0), -3.75234514731);
    assert.ok(!t.values.data.some(Number.isNaN));
    const one = await readTable(path, { transposed: true, columns: ['gene1'] });
    assert.deepEqual(Array.from(one.values.data), Array.from(t.values.col(0)));
  });

  sharedTest("GEMMA's BXD_pheno.txt: key none, 198 rows, 131 NA", 'data/bxd/BXD_pheno.txt', async () => {
    const t = await readTable(`${SHARED}data/bxd/BXD_pheno.txt`, { key: 'none' });
    assert.deepEqual([t.values.shape, t.columns, t.ids], ['198x1', ['V1'], { fid: [], iid: [] }]);
    const obs = Array.from(t.values.data).filter((v) => !Number.isNaN(v));
    assert.equal(obs.length, 67);
    assert.equal(t.values.get(0, 0), 9.944);
    assert.ok(Math.abs(obs.reduce((s, v) => s + v, 0) / obs.length - 9.266) < 5e-4);
  });

  sharedTest("MM4LMM's qtl_kinship.csv: 259 x 259 with a header and an id column", 'data/mm4lmm/qtl_kinship.csv', async () => {
    const path = `${SHARED}data/mm4lmm/qtl_kinship.csv`;
    const kin = await readKinship(path);
    assert.deepEqual([kin.key, kin.k.shape], ['iid', '259x259']);
    assert.deepEqual(
      kin.ids.iid,
      Array.from({ length: 259 }, (_, i) => `Ind${i + 1}`),
    );
    const lines = readFileSync(path, 'utf8').split('\n');
    assert.equal(kin.k.get(0, 0), 0.90888377327756176);
    assert.equal(kin.k.get(258, 258), Number(lines[259]!.split(',')[259]));
    assert.equal(kin.k.get(0, 1), Number(lines[1]!.split(',')[2]));
  });
});

describe('fuzzing: random and mutated text either parses or throws an LmmkitError', () => {
  const unit = fc.constantFrom('0', '1', '9', '-', '.', 'e', 'N', 'A', 'a', 'F', 'I', 'D', '#', ',', '\t', ' ', '\n', '\r', '"', '', '\uFEFF');
  const options: fc.Arbitrary<TableOptions> = fc.record(
    {
      sep: fc.constantFrom('tab', 'comma', 'whitespace', 'auto'),
      header: fc.constantFrom(true, false, 'auto'),
      key: fc.constantFrom('fid-iid', 'iid', 'none'),
      transposed: fc.boolean(),
      minus9Missing: fc.boolean(),
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<TableOptions>;

  // Parses, checks the shape invariants when it succeeds, and lets only our typed errors through.
  function parsesOrTypedError(text: string, opts: TableOptions): void {
    try {
      const t = parseTable(text, 'fuzz.txt', opts);
      assert.equal(t.columns.length, t.values.cols);
      assert.equal(t.ids.fid.length, t.ids.iid.length);
      if (t.key !== 'none') assert.equal(t.ids.iid.length, t.values.rows);
      assert.ok(t.values.rows > 0 && t.values.cols > 0);
      assert.ok(Array.from(t.values.data).every((v) => Number.isNaN(v) || Number.isFinite(v)));
    } catch (e) {
      if (!(e instanceof LmmkitError)) throw e;
    }
  }

  function kinshipOrTypedError(text: string): void {
    try {
      const kin = parseKinship(text, 'fuzz.K', { ids: { fid: ['a', 'b'], iid: ['a', 'b'] } });
      assert.equal(kin.k.rows, kin.k.cols);
      assert.equal(kin.ids.iid.length, kin.k.rows);
    } catch (e) {
      if (!(e instanceof LmmkitError)) throw e;
    }
  }

  // A text edit at a random place: insert, delete or replace a character, or duplicate or drop a line.
  type Edit = { op: 'insert' | 'delete' | 'replace' | 'dupLine' | 'dropLine'; at: number; ch: string };
  const edit: fc.Arbitrary<Edit> = fc.record({ op: fc.constantFrom('insert', 'delete', 'replace', 'dupLine', 'dropLine'), at: fc.nat(), ch: unit });
  function mutate(text: string, edits: readonly Edit[]): string {
    let s = text;
    for (const { op, at, ch } of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      if (op === 'insert') s = s.slice(0, i) + ch + s.slice(i);
      else if (op === 'delete') s = s.slice(0, i) + s.slice(i + 1);
      else if (op === 'replace') s = s.slice(0, i) + ch + s.slice(i + 1);
      else {
        const lines = s.split('\n');
        const j = at % lines.length;
        lines.splice(j, 1, ...(op === 'dupLine' ? [lines[j]!, lines[j]!] : []));
        s = lines.join('\n');
      }
    }
    return s;
  }

  const valid = [
    'FID\tIID\ta\tb\nF1\tI1\t1.5\tNA\nF2\tI2\t-9\t2e3\n',
    'id,a,b\n"s1",1,2\ns2,.,4\n',
    ',s1,s2\ng1,1,2\ng2,3,NA\n',
    '1\n2\nNA\n',
    '"id","a","b"\n"a",1,0.5\n"b",0.5,1\n',
    '1\t0.5\t\n0.5\t1\t\n',
  ];

  test('random strings (parseTable and parseKinship)', () => {
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 80 }), options, (text, opts) => {
        parsesOrTypedError(text, opts);
        kinshipOrTypedError(text);
      }),
      { numRuns: 300 },
    );
  });

  test('random edits of valid tables (parseTable and parseKinship)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.array(edit, { minLength: 1, maxLength: 6 }), options, (text, edits, opts) => {
        const s = mutate(text, edits);
        parsesOrTypedError(s, opts);
        kinshipOrTypedError(s);
      }),
      { numRuns: 300 },
    );
  });
});
