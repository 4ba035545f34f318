// `lmmkit simulate`: the files it writes, and one clear line for each kind of
// bad option, with nothing written.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openBed } from '../../src/data/node/bed.js';
import { assertRejected, lmmkit, readTsv, scratchDir } from '../cli-support.js';

test('lmmkit simulate writes a PLINK fileset and a phenotype table that lmmkit reads', async () => {
  const dir = scratchDir('lmmkit-simulate-');
  const out = join(dir, 'sim');
  const r = lmmkit('simulate', '--out', out, '--samples', '120', '--variants', '300', '--chromosomes', '3', '--seed', '4');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /120 samples x 300 variants \(\d+ causal\)/);
  assert.deepEqual(
    readdirSync(dir)
      .filter((f) => !f.endsWith('.log'))
      .sort(),
    ['sim.bed', 'sim.bim', 'sim.fam', 'sim.pheno.tsv'],
  );
  const src = await openBed(out);
  try {
    assert.equal(src.samples.iid.length, 120);
    assert.deepEqual([...new Set(src.variants.chrom)], ['1', '2', '3']);
  } finally {
    await src.close();
  }
  const t = readTsv(`${out}.pheno.tsv`);
  assert.deepEqual(t.header, ['FID', 'IID', 'y']);
  assert.equal(t.rows.length, 120);
});

test('lmmkit simulate refuses bad options with one line and writes nothing', () => {
  const cases: [string[], RegExp][] = [
    [['--samples', 'many'], /--samples: expected a number, found 'many'/],
    [['--samples', '2'], /--samples: expected an integer >= 4, found 2/],
    [['--variants', '10.5'], /--variants: expected an integer >= 1, found 10.5/],
    [['--variants', '5', '--chromosomes', '22'], /--chromosomes: 22 chromosomes need at least as many variants, found --variants 5/],
    [['--h2', '1.5'], /--h2: expected a number in \[0, 1\], found 1.5/],
    [['--h2', '0.98'], /--h2 0.98 and --h2-population 0.05: their sum must be at most 1/],
    [['--fst', '0'], /--fst: expected a number in \(0, 1\), found 0/],
    [['--missing-rate', '0.9'], /--missing-rate: expected a number in \[0, 0.5\], found 0.9/],
  ];
  for (const [args, message] of cases) {
    const dir = scratchDir('lmmkit-simulate-bad-');
    assertRejected(lmmkit('simulate', '--out', join(dir, 'x'), ...args), message, dir);
  }
});
