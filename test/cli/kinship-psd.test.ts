// A kinship that is not positive semidefinite (issue 13, item 5): a negative
// eigenvalue beyond rounding is refused with the kinship's name and that
// eigenvalue (exit 2), unless --allow-non-psd-kinship, which proceeds with
// it set to 0 and records it in the report; negatives of rounding size pass
// as before, without a word.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeMatrixTsv } from '../../src/data/write-tsv.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { getBackend } from '../../src/linalg/select.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { assertRejected, fixturePaths, lmmkit, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const dir = scratchDir('lmmkit-psd-');

/**
 * U diag(s) U^T of K with its second smallest eigenvalue replaced by
 * `smallest(largest)`. Not the smallest: a standardized kinship's is 0 along
 * the ones vector, which the exact test's double-centring removes.
 */
function withSmallest(k: Matrix, smallest: (largest: number) => number): Matrix {
  const { values, vectors } = getBackend().syevd(k);
  const n = k.rows;
  const s = Float64Array.from(values);
  s[1] = smallest(s[n - 1]!);
  const out = new Matrix(n, n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i <= j; i++) {
      let v = 0;
      for (let l = 0; l < n; l++) v += vectors.data[i + l * n]! * s[l]! * vectors.data[j + l * n]!;
      out.data[i + j * n] = v;
      out.data[j + i * n] = v;
    }
  }
  return out;
}

interface NonPsd {
  eigenvaluesClamped: number;
  mostNegative: number;
}

describe('a kinship that is not positive semidefinite', () => {
  const { data, prefix, pheno } = fixturePaths(dir, 'psd');
  const kinGood = join(data, 'kin.tsv');
  const kinBad = join(data, 'kin-neg10.tsv');
  const kinRound = join(data, 'kin-rounding.tsv');
  const sim = simulateGwas({ samples: 60, variants: 200, seed: 11 });
  const ready = (async () => {
    writeSampleTable(pheno, sim.samples, ['t1', 't2'], (i, c) => (c === 0 ? sim.phenotype[i]! : sim.phenotype[(i * 7) % 60]! + i / 60));
    const k = await writeGenotypeFixture(sim, prefix, kinGood);
    await writeMatrixTsv(
      kinBad,
      withSmallest(k, () => -10),
      sim.samples.iid,
    );
    await writeMatrixTsv(
      kinRound,
      withSmallest(k, (largest) => -1e-11 * largest),
      sim.samples.iid,
    );
  })();
  const gwas = (kin: string, out: string, ...more: string[]) =>
    lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't1', '--kinship', kin, '--out', out, ...more);
  const refused =
    /kin-neg10\.tsv: expected a positive semidefinite kinship, found the most negative eigenvalue -(9\.\d+|10(\.0+)?)\d* on the 60 analysed samples .*--allow-non-psd-kinship/;

  test('gwas, gwas --test exact, null fit and mtgwas refuse it, naming the file and the eigenvalue', async () => {
    await ready;
    for (const args of [
      ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't1', '--kinship', kinBad],
      ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't1', '--kinship', kinBad, '--test', 'exact'],
      ['null', 'fit', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't1', '--kinship', kinBad],
      ['mtgwas', '--bfile', prefix, '--pheno', pheno, '--kinship', kinBad],
    ]) {
      const out = mkdtempSync(join(dir, 'out-'));
      assertRejected(lmmkit(...args, '--out', join(out, 'res')), refused, out);
    }
  });

  test('--allow-non-psd-kinship proceeds and the report records how many eigenvalues were set to 0', async () => {
    await ready;
    const out = mkdtempSync(join(dir, 'allow-'));
    const r = gwas(kinBad, join(out, 'res'), '--allow-non-psd-kinship');
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(join(out, 'res.json'), 'utf8')) as { traits: { nullModel: { nonPsdKinship?: NonPsd } }[] };
    const rec = report.traits[0]!.nullModel.nonPsdKinship;
    assert.ok(rec !== undefined, 'the report records the clamping');
    assert.equal(rec.eigenvaluesClamped, 1);
    assert.ok(Math.abs(rec.mostNegative + 10) < 1e-6, `most negative ${rec.mostNegative}`);

    const mt = mkdtempSync(join(dir, 'allow-mt-'));
    const m = lmmkit('mtgwas', '--bfile', prefix, '--pheno', pheno, '--kinship', kinBad, '--out', join(mt, 'res'), '--allow-non-psd-kinship');
    assert.equal(m.status, 0, m.stderr);
    const mr = JSON.parse(readFileSync(join(mt, 'res.json'), 'utf8')) as { kinship: { nonPsdKinship?: NonPsd } };
    assert.equal(mr.kinship.nonPsdKinship?.eigenvaluesClamped, 1);

    const nf = mkdtempSync(join(dir, 'allow-null-'));
    const n = lmmkit(
      'null',
      'fit',
      '--bfile',
      prefix,
      '--pheno',
      pheno,
      '--pheno-col',
      't1',
      '--kinship',
      kinBad,
      '--out',
      join(nf, 'm.lmmnull'),
      '--allow-non-psd-kinship',
    );
    assert.equal(n.status, 0, n.stderr);
  });

  test('negative eigenvalues of rounding size pass without a word in the report', async () => {
    await ready;
    for (const kin of [kinGood, kinRound]) {
      const out = mkdtempSync(join(dir, 'round-'));
      const r = gwas(kin, join(out, 'res'));
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(readFileSync(join(out, 'res.json'), 'utf8')) as { traits: { nullModel: Record<string, unknown> }[] };
      assert.equal('nonPsdKinship' in report.traits[0]!.nullModel, false);
    }
  });
});
