// An output that would land on one of the run's inputs is refused before
// anything is computed, for every command that writes files (issue 13,
// item 4): exit 2, one line naming both paths, the input untouched and no
// temporary file left.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';
import { fixturePaths, lmmkit, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const dir = scratchDir('lmmkit-overwrite-');
const { data, prefix, pheno, covar, kin } = fixturePaths(dir, 'sim');
const sim = simulateGwas({ samples: 40, variants: 60, seed: 4 });
const ready = (async () => {
  writeSampleTable(pheno, sim.samples, ['t1', 't2'], (i, c) => sim.phenotype[i]! * (c + 1));
  writeSampleTable(covar, sim.samples, ['age'], (i) => i % 7);
  await writeGenotypeFixture(sim, prefix, kin);
  const rows = sim.samples.iid.map((id, i) => `${id},${sim.phenotype[i]}`);
  writeFileSync(join(data, 'd.csv'), `IID,y\n${rows.join('\n')}\n`);
  symlinkSync(pheno, join(data, 'link.tsv'));
})();

const cases: [string, () => string[], string][] = [
  ['kinship over the .bim it reads', () => ['kinship', '--bfile', prefix, '--out', `${prefix}.bim`], `${prefix}.bim`],
  ['mtgwas PREFIX.tsv over --pheno', () => ['mtgwas', '--bfile', prefix, '--pheno', pheno, '--kinship', kin, '--out', pheno.replace(/\.tsv$/, '')], pheno],
  [
    'gwas PREFIX.json over --covar',
    () => ['gwas', '--bfile', prefix, '--pheno', pheno, '--covar', join(data, 'res.json'), '--out', join(data, 'res')],
    join(data, 'res.json'),
  ],
  [
    'gwas PREFIX.<trait>.tsv over --pheno through a link',
    () => ['gwas', '--bfile', prefix, '--pheno', join(data, 'link.t1.tsv'), '--pheno-col', 't1', '--out', join(data, 'link')],
    join(data, 'link.t1.tsv'),
  ],
  ['varcomp fit over --data', () => ['varcomp', 'fit', '--data', join(data, 'd.csv'), '--y', 'y', '--out', join(data, 'd.csv')], join(data, 'd.csv')],
  ['null fit over --kinship', () => ['null', 'fit', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't1', '--kinship', kin, '--out', kin], kin],
];

for (const [name, args, input] of cases) {
  test(`${name}: refused, the input untouched`, async () => {
    await ready;
    if (input === join(data, 'res.json')) writeSampleTable(input, sim.samples, ['age'], (i) => i % 5);
    if (input === join(data, 'link.t1.tsv')) symlinkSync(pheno, input);
    const before = readFileSync(input);
    const r = lmmkit(...args());
    assert.equal(r.status, 2, `exit ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, /^lmmkit: [^\n]+\n$/);
    assert.match(r.stderr, /would overwrite the input/);
    assert.ok(readFileSync(input).equals(before), 'the input is unchanged');
    assert.deepEqual(
      readdirSync(data).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary file',
    );
  });
}
