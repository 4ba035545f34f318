// Sample matching across genotype, phenotype, covariates and kinship: the
// keys (FID+IID, IID, row order), the reasons for every dropped sample, the
// per-trait masks, the report, the errors, and a fuzz of random id sets.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { LmmkitError } from '../../src/errors.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { parseKinship } from '../../src/data/kinship-table.js';
import { formatMatchReport, matchSamples, NoSamplesError, type GenotypeSamples } from '../../src/data/match.js';
import { parseTable, type NumericTable } from '../../src/data/table.js';
import { readTable } from '../../src/data/node/tables.js';
import { SHARED, sharedTest } from '../support.js';

const geno: GenotypeSamples = { file: 'g.fam', samples: { fid: ['F1', 'F2', 'F3', 'F4', 'F5'], iid: ['I1', 'I2', 'I3', 'I4', 'I5'] } };

describe('matchSamples', () => {
  test('keeps the samples every source has, in genotype order, with each source row', () => {
    const pheno = parseTable('FID IID y\nF4 I4 4\nF2 I2 2\nF1 I1 1\nF9 I9 9\n', 'p.txt');
    const cov = parseTable('F1 I1 1\nF2 I2 1\nF3 I3 1\nF4 I4 1\n', 'c.txt');
    const kin = parseKinship(',I4,I1,I2\nI4,1,0,0\nI1,0,1,0\nI2,0,0,1\n', 'K.csv');
    const m = matchSamples({ genotype: geno, phenotype: pheno, covariates: cov, kinship: kin });
    assert.deepEqual(Array.from(m.keep), [0, 1, 3]);
    assert.deepEqual(Array.from(m.index.phenotype!), [2, 1, 0]);
    assert.deepEqual(Array.from(m.index.covariates!), [0, 1, 3]);
    assert.deepEqual(Array.from(m.index.kinship!), [1, 2, 0]);
    assert.deepEqual(m.dropped, [
      { fid: 'F3', iid: 'I3', source: 'phenotype', reason: 'missing in p.txt' },
      { fid: 'F5', iid: 'I5', source: 'phenotype', reason: 'missing in p.txt' },
      { fid: 'F9', iid: 'I9', source: 'genotype', reason: 'missing in g.fam' },
    ]);
    assert.deepEqual(m.counts, [
      { source: 'genotype', file: 'g.fam', samples: 5, matched: 3 },
      { source: 'phenotype', file: 'p.txt', samples: 4, matched: 3 },
      { source: 'covariates', file: 'c.txt', samples: 4, matched: 3 },
      { source: 'kinship', file: 'K.csv', samples: 3, matched: 3 },
    ]);
  });

  test('FID+IID must both match when both tables have FIDs; IID alone when either has one id', () => {
    const other = parseTable('X1 I1 1\nF2 I2 2\n', 'p.txt');
    assert.deepEqual(Array.from(matchSamples({ genotype: geno, phenotype: other }).keep), [1]);
    const byIid = parseTable('I1 1\nI2 2\n', 'p.txt', { key: 'iid' });
    assert.deepEqual(Array.from(matchSamples({ genotype: geno, phenotype: byIid }).keep), [0, 1]);
    const oneId = { ...geno, key: 'iid' as const };
    assert.deepEqual(Array.from(matchSamples({ genotype: oneId, phenotype: other }).keep), [0, 1]);
  });

  test("key 'none' matches by row order and needs one row per genotype sample", () => {
    const pheno = parseTable('1\nNA\n3\n4\n5\n', 'p.txt', { key: 'none' });
    const m = matchSamples({ genotype: geno, phenotype: pheno });
    assert.deepEqual(Array.from(m.keep), [0, 2, 3, 4]);
    assert.deepEqual(Array.from(m.index.phenotype!), [0, 2, 3, 4]);
    assert.deepEqual(m.dropped, [{ fid: 'F2', iid: 'I2', source: 'phenotype', reason: 'missing every phenotype in p.txt' }]);
    assert.throws(() => matchSamples({ genotype: geno, phenotype: parseTable('1\n2\n', 'short.txt', { key: 'none' }) }), {
      name: 'InputError',
      message: 'short.txt: expected one row per genotype sample (rows are matched by order), found 2 rows for the 5 samples of g.fam',
    });
  });

  test('per-trait missingness is kept in the masks; only a sample with no trait at all is dropped', () => {
    const pheno = parseTable('FID IID a b\nF1 I1 1 NA\nF2 I2 NA NA\nF3 I3 NA 3\nF4 I4 4 4\nF5 I5 5 .\n', 'p.txt');
    const m = matchSamples({ genotype: geno, phenotype: pheno });
    assert.deepEqual(Array.from(m.keep), [0, 2, 3, 4]);
    assert.deepEqual(m.phenotypeColumns, ['a', 'b']);
    assert.deepEqual(
      m.phenotypeMask.map((x) => Array.from(x)),
      [
        [1, 0, 1, 1],
        [0, 1, 1, 0],
      ],
    );
    assert.deepEqual(m.dropped, [{ fid: 'F2', iid: 'I2', source: 'phenotype', reason: 'missing every phenotype in p.txt' }]);
  });

  test('a sample with a missing covariate is dropped, naming the covariate', () => {
    const cov = parseTable('FID IID age sex\nF1 I1 30 1\nF2 I2 NA 1\nF3 I3 40 NA\nF4 I4 1 1\nF5 I5 1 1\n', 'c.txt');
    const m = matchSamples({ genotype: geno, covariates: cov });
    assert.deepEqual(Array.from(m.keep), [0, 3, 4]);
    assert.deepEqual(
      m.dropped.map((d) => d.reason),
      ["missing covariate 'age' in c.txt", "missing covariate 'sex' in c.txt"],
    );
    assert.deepEqual(m.phenotypeMask, []);
  });

  test('a sample listed twice in a source is dropped as a duplicate', () => {
    const twice: NumericTable = {
      file: 'p.txt',
      key: 'fid-iid',
      ids: { fid: ['F1', 'F2', 'F1'], iid: ['I1', 'I2', 'I1'] },
      columns: ['y'],
      values: Matrix.column([1, 2, 3]),
    };
    const m = matchSamples({ genotype: geno, phenotype: twice });
    assert.deepEqual(Array.from(m.keep), [1]);
    assert.deepEqual(m.dropped[0], { fid: 'F1', iid: 'I1', source: 'phenotype', reason: 'duplicate id in p.txt' });
  });

  test('genotype ids that would make matching ambiguous are an error', () => {
    const dupIid = { file: 'g.fam', samples: { fid: ['A', 'B'], iid: ['I1', 'I1'] } };
    const byIid = parseTable('I1 1\n', 'p.txt', { key: 'iid' });
    assert.throws(() => matchSamples({ genotype: dupIid, phenotype: byIid }), {
      name: 'InputError',
      message: "g.fam: expected unique sample ids, found IID 'I1' (samples are matched by IID alone) at samples 1 and 2",
    });
    // The same genotype is fine when matched on FID+IID.
    assert.deepEqual(Array.from(matchSamples({ genotype: dupIid, phenotype: parseTable('B I1 1\n', 'p.txt') }).keep), [1]);
  });

  test('no sample left is a NoSamplesError (code NO_SAMPLES) listing the per-source counts and reasons', () => {
    const pheno = parseTable('FID IID y\nF1 I1 NA\nF8 I8 1\n', 'p.txt');
    let caught: unknown;
    try {
      matchSamples({ genotype: geno, phenotype: pheno });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof NoSamplesError && caught instanceof LmmkitError);
    assert.equal(caught.code, 'NO_SAMPLES');
    assert.equal(
      caught.message,
      'no samples left after matching (genotype g.fam: 5 samples; phenotype p.txt: 2 samples); dropped: 1 missing every phenotype in p.txt, 4 missing in p.txt, 1 missing in g.fam',
    );
    assert.equal(caught.match.keep.length, 0);
    assert.throws(() => matchSamples({ genotype: { file: 'empty.fam', samples: { fid: [], iid: [] } } }), {
      name: 'NoSamplesError',
      message: /dropped: none$/,
    });
  });

  test('formatMatchReport: a line per source, the kept count, the traits, the reasons with examples', () => {
    const ids = Array.from({ length: 9 }, (_, i) => `s${i + 1}`);
    const g = { file: 'g.fam', samples: { fid: ids, iid: ids } };
    const pheno = parseTable(`id a\n${ids.map((id, i) => `${id} ${i < 7 ? 'NA' : i}`).join('\n')}\nx1 1\n`, 'p.txt', { key: 'iid' });
    const report = formatMatchReport(matchSamples({ genotype: g, phenotype: pheno }));
    assert.equal(
      report,
      [
        'genotype g.fam: 9 samples, 2 matched',
        'phenotype p.txt: 10 samples, 2 matched',
        'kept 2 of 9 genotype samples',
        "trait 'a': observed in 2 of the kept samples",
        'dropped 8:',
        '  missing every phenotype in p.txt [phenotype]: 7 (s1, s2, s3, s4, s5, ... (2 more))',
        '  missing in g.fam [genotype]: 1 (x1)',
        '',
      ].join('\n'),
    );
    const two = formatMatchReport(matchSamples({ genotype: geno, phenotype: parseTable('F1 I1 1\nF2 I2 2\nF3 I3 3\nF4 I4 4\nF5 I5 5\n', 'p.txt') }));
    assert.match(two, /kept 5 of 5 genotype samples\ntrait 'V3': observed in 5 of the kept samples\ndropped none\n$/);
  });

  test('many traits are summarised in one line', () => {
    const cols = Array.from({ length: 12 }, (_, j) => `t${j}`);
    const pheno = parseTable(
      `FID IID ${cols.join(' ')}\nF1 I1 ${cols.map((_, j) => (j === 0 ? 'NA' : 1)).join(' ')}\nF2 I2 ${cols.map(() => 1).join(' ')}\n`,
      'p.txt',
    );
    const m = matchSamples({ genotype: geno, phenotype: pheno });
    assert.match(formatMatchReport(m), /\n12 traits, each observed in 1 to 2 of the kept samples\n/);
  });

  sharedTest(
    "GEMMA's BXD example: phenotype and covariates by row order keep the 67 phenotyped samples",
    ['data/bxd/BXD_pheno.txt', 'data/bxd/BXD_covariates2.txt'],
    async () => {
      const pheno = await readTable(`${SHARED}data/bxd/BXD_pheno.txt`, { key: 'none' });
      const cov = await readTable(`${SHARED}data/bxd/BXD_covariates2.txt`, { key: 'none' });
      const ids = Array.from({ length: 198 }, (_, i) => String(i + 1));
      const m = matchSamples({ genotype: { file: 'BXD_geno.txt.gz', samples: { fid: ids, iid: ids }, key: 'iid' }, phenotype: pheno, covariates: cov });
      assert.equal(m.keep.length, 67);
      assert.equal(m.dropped.length, 131);
      assert.ok(m.dropped.every((d) => d.source === 'phenotype' && d.reason.startsWith('missing every phenotype in ')));
      assert.deepEqual(Array.from(m.index.phenotype!), Array.from(m.keep));
      assert.match(formatMatchReport(m), /^genotype BXD_geno\.txt\.gz: 198 samples, 67 matched\nphenotype .*BXD_pheno\.txt: 198 samples, 67 matched\n/);
    },
  );
});

describe('fuzzing matchSamples with random id sets', () => {
  test('every genotype sample is kept or dropped once, kept rows point to the same ids, or a typed error', () => {
    const id = fc.constantFrom('a', 'b', 'c', 'd', 'e');
    const rowsArb = fc.array(fc.record({ fid: fc.constantFrom('F', 'G'), iid: id, y: fc.constantFrom(1, Number.NaN) }), { maxLength: 7 });
    fc.assert(
      fc.property(rowsArb, rowsArb, fc.constantFrom('fid-iid' as const, 'iid' as const), (g, p, key) => {
        const genotype = { file: 'g', samples: { fid: g.map((r) => r.fid), iid: g.map((r) => r.iid) } };
        const fid = key === 'iid' ? p.map((r) => r.iid) : p.map((r) => r.fid);
        const phenotype: NumericTable = { file: 'p', key, ids: { fid, iid: p.map((r) => r.iid) }, columns: ['y'], values: Matrix.column(p.map((r) => r.y)) };
        try {
          const m = matchSamples({ genotype, phenotype });
          const fromGenotype = m.dropped.filter((d) => d.source !== 'genotype').length;
          assert.equal(m.keep.length + fromGenotype, g.length);
          for (let k = 0; k < m.keep.length; k++) {
            const i = m.keep[k]!;
            const r = m.index.phenotype![k]!;
            assert.equal(phenotype.ids.iid[r], genotype.samples.iid[i]);
            if (key === 'fid-iid') assert.equal(phenotype.ids.fid[r], genotype.samples.fid[i]);
            assert.ok(!Number.isNaN(phenotype.values.data[r]!));
            if (k > 0) assert.ok(i > m.keep[k - 1]!);
          }
        } catch (e) {
          if (!(e instanceof LmmkitError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });
});
