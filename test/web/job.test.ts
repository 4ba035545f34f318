// The web app's job (src/workflow/web-job.ts) run in Node on the files as bytes:
// its table must be `lmmkit gwas`'s byte for byte (the same workflow code),
// the example's `lmmkit demo`'s, and a bad file an error naming it.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { runJob, type JobEvent } from '../../src/workflow/web-job.js';
import { lmmkit, scratchDir } from '../cli-support.js';
import { sharedTest } from '../support.js';
import { cliDemoTable, cliStructTable, STRUCT, writeGene1Pheno } from './web-support.js';

const dir = scratchDir('lmmkit-web-job-');

sharedTest('the job on chr22 bytes writes the table of lmmkit gwas --kinship-from-bfile, byte for byte', 'data/structlmm/expr.csv', async () => {
  const pheno = await writeGene1Pheno(dir);
  const files = new Map<string, Uint8Array>([
    ['chr22.bed', readFileSync(`${STRUCT}.bed`)],
    ['chr22.bim', readFileSync(`${STRUCT}.bim`)],
    ['chr22.fam', readFileSync(`${STRUCT}.fam`)],
    ['gene1.tsv', readFileSync(pheno)],
  ]);
  const events: JobEvent[] = [];
  const res = await runJob({ files, genotypes: { bed: 'chr22.bed', bim: 'chr22.bim', fam: 'chr22.fam' }, pheno: 'gene1.tsv', test: 'fixed' }, (e) =>
    events.push(e),
  );
  assert.equal(res.tsv, cliStructTable(dir, pheno));
  assert.equal(res.rows.length, res.report.variants.tests);
  // The stages come in the CLI's order, the sample report before the scan.
  const stages = events.filter((e) => e.type === 'stage').map((e) => (e as { stage: string }).stage);
  assert.deepEqual(
    stages.filter((s, i) => stages.indexOf(s) === i),
    ['reading samples', 'kinship pass', "null fit of trait 'gene1'", "scan of trait 'gene1'"],
  );
  const kinds = events.map((e) => e.type);
  assert.ok(kinds.indexOf('samples') < kinds.lastIndexOf('progress'));
  assert.equal(res.report.nullModel.model, 'kinship');
});

test('the example is lmmkit demo: the same simulation, the same table', async () => {
  const res = await runJob({ files: new Map(), genotypes: { example: { samples: 1000, variants: 10000, seed: 1 } } }, () => {});
  assert.equal(res.tsv, await cliDemoTable(dir));
});

test('a .bim with a short line is the CLI error naming the file and line', async () => {
  const bim = new TextEncoder().encode('1\trs1\t0\t100\tA\tG\n1\trs2\t0\n');
  const fam = new TextEncoder().encode('f1 i1 0 0 1 -9\nf2 i2 0 0 2 -9\nf3 i3 0 0 0 -9\n');
  const files = new Map<string, Uint8Array>([
    ['x.bed', new Uint8Array([0x6c, 0x1b, 0x01, 0x38, 0x0d])],
    ['x.bim', bim],
    ['x.fam', fam],
    ['p.tsv', new TextEncoder().encode('FID\tIID\tt\nf1\ti1\t1\nf2\ti2\t2\nf3\ti3\t3\n')],
  ]);
  await assert.rejects(
    runJob({ files, genotypes: { bed: 'x.bed', bim: 'x.bim', fam: 'x.fam' }, pheno: 'p.tsv' }, () => {}),
    (e: Error) => {
      assert.match(e.message, /^x\.bim:2: expected 6 whitespace-separated fields/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    },
  );
});

test('covariates, a kinship file and the exact test: the table of lmmkit gwas on the same files', async () => {
  const sim = simulateGwas({ samples: 80, variants: 400, seed: 11, causal: 2 });
  const prefix = join(dir, 'cov');
  await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
  const pheno = join(dir, 'cov-pheno.tsv');
  const covar = join(dir, 'cov-covar.tsv');
  const ids = sim.samples.iid.map((id, i) => `${sim.samples.fid[i]}\t${id}`);
  // Sample 3 has no phenotype (NA) and sample 5 the missing code -9 as its covariate: both are dropped as the CLI drops them.
  writeFileSync(pheno, `FID\tIID\ty\n${ids.map((k, i) => `${k}\t${i === 3 ? 'NA' : sim.phenotype[i]}`).join('\n')}\n`);
  writeFileSync(covar, `FID\tIID\tage\tsite\n${ids.map((k, i) => `${k}\t${i === 5 ? -9 : 20 + (i % 17)}\t${i % 3 === 0 ? 'a' : 'b'}`).join('\n')}\n`);
  const kin = join(dir, 'cov-kin.tsv');
  const k = lmmkit('kinship', '--bfile', prefix, '--method', 'standardized', '--out', kin);
  assert.equal(k.status, 0, k.stderr);
  const files = new Map<string, Uint8Array>(
    [`${prefix}.bed`, `${prefix}.bim`, `${prefix}.fam`, pheno, covar, kin].map((f): [string, Uint8Array] => [basename(f), readFileSync(f)]),
  );
  for (const test of ['fixed', 'exact'] as const) {
    const res = await runJob(
      {
        files,
        genotypes: { bed: 'cov.bed', bim: 'cov.bim', fam: 'cov.fam' },
        pheno: 'cov-pheno.tsv',
        covar: 'cov-covar.tsv',
        kinship: 'cov-kin.tsv',
        test,
        maf: 0.05,
      },
      () => {},
    );
    const out = join(dir, `cov-${test}`);
    const r = lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--covar', covar, '--kinship', kin, '--test', test, '--maf', '0.05', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(res.tsv, readFileSync(`${out}.y.tsv`, 'utf8'), `--test ${test}`);
    assert.equal(res.report.samples, 78);
    assert.deepEqual(res.report.covariates, JSON.parse(readFileSync(`${out}.json`, 'utf8')).traits[0].covariates);
  }
});
