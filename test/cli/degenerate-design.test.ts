// Designs that OLS and the GLS fits cannot identify (issue 13, item 11):
// covariates collinear with the intercept are left out, with a warning and
// a line in the report; a constant trait is refused, naming it and its file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';
import { assertRejected, fixturePaths, lmmkit, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const dir = scratchDir('lmmkit-degenerate-');

describe('degenerate designs under OLS and under a kinship', () => {
  const { prefix, pheno, covar, kin } = fixturePaths(dir, 'd');
  const constPheno = join(dir, 'd', 'const.tsv');
  const sim = simulateGwas({ samples: 60, variants: 100, seed: 3 });
  const ready = (async () => {
    writeSampleTable(pheno, sim.samples, ['t1'], (i) => sim.phenotype[i]!);
    writeSampleTable(constPheno, sim.samples, ['flat'], () => 5);
    // b = 1 - a: a dummy pair, collinear with the intercept; c varies freely.
    writeSampleTable(covar, sim.samples, ['a', 'b', 'c'], (i, c) => [i % 2, 1 - (i % 2), (i * 7) % 5][c]!);
    await writeGenotypeFixture(sim, prefix, kin);
  })();

  for (const withKinship of [false, true]) {
    test(`collinear covariates are left out and reported (${withKinship ? 'kinship' : 'OLS'})`, async () => {
      await ready;
      const out = mkdtempSync(join(dir, 'col-'));
      const r = lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--covar', covar, ...(withKinship ? ['--kinship', kin] : []), '--out', join(out, 'res'));
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /covar\.tsv: covariate 'b' left out for trait 't1': collinear with the intercept and a/);
      const report = JSON.parse(readFileSync(join(out, 'res.json'), 'utf8')) as {
        traits: { covariates: string[]; covariatesDropped: { name: string; reason: string }[] }[];
      };
      assert.deepEqual(report.traits[0]!.covariates, ['intercept', 'a', 'c']);
      assert.deepEqual(
        report.traits[0]!.covariatesDropped.map((d) => d.name),
        ['b'],
      );
    });
  }

  test('a constant trait is refused, naming the trait and the file', async () => {
    await ready;
    for (const more of [[], ['--kinship', kin]]) {
      const out = mkdtempSync(join(dir, 'const-'));
      assertRejected(
        lmmkit('gwas', '--bfile', prefix, '--pheno', constPheno, ...more, '--out', join(out, 'res')),
        /const\.tsv: trait 'flat': expected values that vary on the 60 analysed samples, found the constant 5/,
        out,
      );
    }
  });
});
