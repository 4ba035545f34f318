// The workflows called from code, as a TypeScript user runs what `lmmkit gwas`
// (and mtgwas, kinship) runs: one call returns the report and writes the
// outputs; bad input, or an error part way, leaves no output and no
// temporary file.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ArgumentError, LmmkitError } from '../../src/errors.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { runGwas, runKinship, runMtgwas } from '../../src/workflow/index.js';
import { fixturePaths, readTsv, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const dir = scratchDir('lmmkit-workflow-');
const sim = simulateGwas({ samples: 150, variants: 200, seed: 12, causal: 2, h2Causal: 0.4, h2Population: 0.05 });
const paths = fixturePaths(dir, 'data');

before(async () => {
  await writeGenotypeFixture(sim, paths.prefix, paths.kin);
  // A second trait, missing on the first ten samples.
  writeSampleTable(paths.pheno, sim.samples, ['a', 'b'], (i, c) => (c === 0 ? sim.phenotype[i]! : i < 10 ? 'NA' : sim.phenotype[(i * 7) % 150]!));
});

/** A fresh, empty output folder. */
function outDir(name: string): string {
  return fixturePaths(dir, name).data;
}

describe('runGwas', () => {
  test("one call returns the report and writes every trait's TSV and the JSON report", async () => {
    const out = outDir('gwas');
    const lines: string[] = [];
    const report = await runGwas({ bfile: paths.prefix, pheno: paths.pheno, kinship: paths.kin, out: join(out, 'res'), log: (l) => lines.push(l) });
    assert.equal(report.command, 'gwas');
    assert.deepEqual(
      report.traits.map((t) => [t.trait, t.samples, t.nullModel.model]),
      [
        ['a', 150, 'kinship'],
        ['b', 140, 'kinship'],
      ],
    );
    assert.deepEqual(readdirSync(out).sort(), ['res.a.tsv', 'res.b.tsv', 'res.json']);
    const written = JSON.parse(readFileSync(join(out, 'res.json'), 'utf8')) as unknown;
    assert.deepEqual(written, JSON.parse(JSON.stringify(report)), 'PREFIX.json is the returned report');
    for (const t of report.traits) {
      const tsv = readTsv(t.output);
      assert.equal(tsv.rows.length, t.variants.tests);
      assert.ok(t.variants.tested > 0 && t.top.length > 0);
    }
    assert.equal(lines.at(-1), `report -> ${join(out, 'res.json')}`);
    assert.ok(
      lines.some((l) => l.startsWith("trait 'b': 140 samples, null kinship REML")),
      lines.join('\n'),
    );
  });

  test('bad input: a typed error naming the file, no output and no temporary file', async () => {
    const out = outDir('gwas-bad');
    const pheno = join(out, '..', 'bad-pheno.tsv');
    writeSampleTable(pheno, sim.samples, ['a'], (i) => (i === 7 ? 'seven' : sim.phenotype[i]!));
    await assert.rejects(
      runGwas({ bfile: paths.prefix, pheno, kinship: paths.kin, out: join(out, 'res') }),
      (e: unknown) => e instanceof LmmkitError && e.code === 'BAD_INPUT' && e.message.includes('bad-pheno.tsv') && e.message.includes('seven'),
    );
    assert.deepEqual(readdirSync(out), []);
  });

  test('an error after a trait was scanned discards its staged TSV: all outputs or none', async () => {
    const out = outDir('gwas-late');
    const stop = new ArgumentError('stopped after the first trait');
    await assert.rejects(
      runGwas({
        bfile: paths.prefix,
        pheno: paths.pheno,
        out: join(out, 'res'),
        log: (l) => {
          if (l.startsWith("trait 'a'")) throw stop;
        },
      }),
      (e: unknown) => e === stop,
    );
    assert.deepEqual(readdirSync(out), [], 'no output and no temporary file');
  });

  test('options are checked before any file is read', async () => {
    await assert.rejects(
      runGwas({ bfile: paths.prefix, pheno: paths.pheno, test: 'exact', out: join(dir, 'never') }),
      (e: unknown) => e instanceof LmmkitError && e.code === 'BAD_ARGUMENT' && /--test exact: needs a kinship/.test(e.message),
    );
  });
});

describe('runMtgwas and runKinship', () => {
  test('runMtgwas: one call returns the report and writes PREFIX.tsv and PREFIX.json', async () => {
    const out = outDir('mt');
    const report = await runMtgwas({ bfile: paths.prefix, pheno: paths.pheno, kinship: paths.kin, test: 'common', out: join(out, 'mt') });
    assert.equal(report.samples, 140);
    assert.deepEqual(report.traits, ['a', 'b']);
    assert.deepEqual(readdirSync(out).sort(), ['mt.json', 'mt.tsv']);
    assert.equal(readTsv(join(out, 'mt.tsv')).rows.length, report.variants.tested);
  });

  test('runKinship: one call writes the kinship table and returns the fit', async () => {
    const out = outDir('kin');
    const progress: number[] = [];
    const res = await runKinship({ bfile: paths.prefix, out: join(out, 'k.tsv'), onProgress: (read, total) => progress.push(read / total) });
    assert.deepEqual([res.samples, res.method, res.output], [150, 'standardized', join(out, 'k.tsv')]);
    assert.equal(progress.at(-1), 1);
    assert.equal(readFileSync(join(out, 'k.tsv'), 'utf8'), readFileSync(paths.kin, 'utf8'), 'the kinship the fixture computed directly');
  });
});
