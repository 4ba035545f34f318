// Gzipped text inputs (told by their magic bytes, whatever their name) give
// the outputs the plain files give, byte for byte.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { simulateGwas } from '../../src/sim/gwas.js';
import { fixturePaths, lmmkit, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

test('gzip copies of the phenotype, covariate and kinship files (and .bim, .fam) give byte-identical outputs', async () => {
  const dir = scratchDir('lmmkit-gzip-');
  const { data, prefix, pheno, covar, kin } = fixturePaths(dir, 'd');
  const sim = simulateGwas({ samples: 80, variants: 120, seed: 11 });
  writeSampleTable(pheno, sim.samples, ['t1'], (i) => sim.phenotype[i]!);
  writeSampleTable(covar, sim.samples, ['a', 'b'], (i, c) => [i % 3, (i * 7) % 5][c]!);
  await writeGenotypeFixture(sim, prefix, kin);
  // The gzip copies keep the plain names (.tsv): the magic bytes, not the name, say gzip.
  const gz = join(dir, 'gz');
  const gzPrefix = join(gz, 'g');
  const zipped = fixturePaths(dir, 'gz');
  for (const [from, to] of [
    [pheno, zipped.pheno],
    [covar, zipped.covar],
    [kin, zipped.kin],
    [`${prefix}.bim`, `${gzPrefix}.bim`],
    [`${prefix}.fam`, `${gzPrefix}.fam`],
    [`${prefix}.bed`, `${gzPrefix}.bed`],
  ] as const) {
    const bytes = readFileSync(from);
    writeFileSync(to, from.endsWith('.bed') ? bytes : gzipSync(bytes));
  }
  assert.deepEqual([...readFileSync(zipped.pheno).subarray(0, 2)], [0x1f, 0x8b]);
  const run = (d: string, p: { prefix: string; pheno: string; covar: string; kin: string }): Map<string, Buffer> => {
    const out = join(dir, `out-${d}`);
    mkdirSync(out);
    const r = lmmkit('gwas', '--bfile', p.prefix, '--pheno', p.pheno, '--covar', p.covar, '--kinship', p.kin, '--out', join(out, 'res'));
    assert.equal(r.status, 0, r.stderr);
    // The .log differs by its paths and times.
    return new Map(
      readdirSync(out)
        .filter((name) => !name.endsWith('.log'))
        .map((name) => [name, readFileSync(join(out, name))]),
    );
  };
  const plain = run('plain', { prefix, pheno, covar, kin });
  const zippedOut = run('gz', { prefix: gzPrefix, pheno: zipped.pheno, covar: zipped.covar, kin: zipped.kin });
  assert.ok(plain.size > 0);
  assert.deepEqual([...zippedOut.keys()].sort(), [...plain.keys()].sort());
  for (const [name, bytes] of plain) {
    const other = zippedOut.get(name)!;
    // The report names the input and output files and says how long each step took: the same once folders and timings are.
    const same = (b: Buffer): string =>
      name.endsWith('.json')
        ? b
            .toString('utf8')
            .replaceAll(`${dir}/gz/`, `${data}/`)
            .replaceAll('out-gz', 'out-plain')
            .replace(/"seconds": [0-9.e-]+/g, '"seconds": 0')
            .replace(/\n {2}"run": \{\n[\s\S]*?\n {2}\},/, '')
        : b.toString('latin1');
    assert.equal(same(other), same(bytes), name);
  }
});

test('a corrupt gzip phenotype file is bad input naming the file', async () => {
  const dir = scratchDir('lmmkit-gzbad-');
  const { prefix, pheno, kin } = fixturePaths(dir, 'd');
  const sim = simulateGwas({ samples: 40, variants: 50, seed: 12 });
  await writeGenotypeFixture(sim, prefix, kin);
  writeSampleTable(pheno, sim.samples, ['t1'], (i) => sim.phenotype[i]!);
  const zipped = gzipSync(readFileSync(pheno));
  writeFileSync(pheno, zipped.subarray(0, zipped.length - 12));
  const out = join(dir, 'out');
  const r = lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--kinship', kin, '--out', out);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^lmmkit: \S*pheno\.tsv: expected a gzip stream, found corrupt or truncated data \(Z_[A-Z_]+\)\n$/);
});
