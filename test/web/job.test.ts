// The web app's job (src/workflow/web-job.ts) run in Node on the files as bytes:
// its table must be `lmmkit gwas`'s byte for byte (the same workflow code)
// for every genotype format the page takes, the example's `lmmkit demo`'s,
// the scan split over a pool of workers the one-worker scan's, and a bad
// file an error naming it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { bedFileset } from '../../src/data/plink/bed-bytes.js';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { runJob, type JobEvent, type JobRequest } from '../../src/workflow/web-job.js';
import type { GenotypeSource } from '../../src/data/genotypes.js';
import type { GenotypeFileset } from '../../src/workflow/web-filesets.js';
import { openFileset } from '../../src/workflow/web-genotypes.js';
import type { JobFiles } from '../../src/workflow/web-job.js';
import { type ScanPart, type ScanPool, scanPart } from '../../src/workflow/web-scan.js';
import { lmmkit, scratchDir } from '../cli-support.js';
import { requireTool, SHARED, sharedTest } from '../support.js';
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

/**
 * A pool of `size` scan workers run in this process (the job's own is
 * worker 0): each message goes through structuredClone, as postMessage
 * sends it between Web Workers, so what cannot cross a worker boundary
 * fails here too; each worker opens the genotypes when told to, before its
 * part comes, as the page's do.
 */
function inProcessPool(size: number): ScanPool & { parts: number; closed: boolean } {
  const opened = new Map<number, Promise<GenotypeSource>>();
  const pool = {
    size,
    parts: 0,
    closed: false,
    open(files: JobFiles, genotypes: GenotypeFileset) {
      for (let w = 1; w < size; w++) opened.set(w, openFileset(structuredClone(genotypes), structuredClone(files)));
    },
    async *run(w: number, part: ScanPart) {
      pool.parts++;
      for await (const b of scanPart(structuredClone(part), opened.get(w))) yield structuredClone(b);
    },
    close() {
      pool.closed = true;
    },
  };
  return pool;
}

/** plink2 with `args`, asserting it succeeded. */
function plink2(...args: string[]): void {
  const r = spawnSync('plink2', [...args, '--silent', '--threads', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}

sharedTest(
  'PLINK 2, BGEN and VCF.gz exports of chr22: the job writes the table of lmmkit gwas on the same files, and a pool of 3 scan workers the same bytes',
  ['data/structlmm/expr.csv', `${STRUCT.slice(SHARED.length)}.bed`],
  async (t) => {
    if (!requireTool(t, 'plink2')) return;
    const pheno = await writeGene1Pheno(dir);
    const x = join(dir, 'x22');
    plink2('--bfile', STRUCT, '--make-pgen', '--out', x);
    plink2('--bfile', STRUCT, '--export', 'bgen-1.2', 'ref-first', '--out', x);
    plink2('--bfile', STRUCT, '--export', 'vcf', 'bgz', 'id-paste=iid', '--out', x);
    const bytes = (...names: string[]): Map<string, Uint8Array> => new Map(names.map((n): [string, Uint8Array] => [n, readFileSync(join(dir, n))]));
    const cases: { name: string; genotypes: JobRequest['genotypes']; files: Map<string, Uint8Array>; cli: string[]; format: string }[] = [
      {
        name: 'pgen',
        genotypes: { pgen: 'x22.pgen', pvar: 'x22.pvar', psam: 'x22.psam' },
        files: bytes('x22.pgen', 'x22.pvar', 'x22.psam'),
        cli: ['--pfile', x],
        format: 'pgen',
      },
      {
        name: 'bgen',
        genotypes: { bgen: 'x22.bgen', sample: 'x22.sample' },
        files: bytes('x22.bgen', 'x22.sample'),
        cli: ['--bgen', `${x}.bgen`, '--sample', `${x}.sample`],
        format: 'bgen',
      },
      { name: 'vcf', genotypes: { vcf: 'x22.vcf.gz' }, files: bytes('x22.vcf.gz'), cli: ['--vcf', `${x}.vcf.gz`], format: 'vcf' },
    ];
    for (const c of cases) {
      const out = join(dir, `cli-${c.name}`);
      const r = lmmkit('gwas', ...c.cli, '--pheno', pheno, '--kinship-from-bfile', '--test', 'fixed', '--out', out);
      assert.equal(r.status, 0, r.stderr);
      const want = readFileSync(`${out}.gene1.tsv`, 'utf8');
      const files = new Map([...c.files, ['gene1.tsv', readFileSync(pheno)]]);
      const req: JobRequest = { files, genotypes: c.genotypes, pheno: 'gene1.tsv', test: 'fixed' };
      const res = await runJob(req, () => {});
      assert.equal(res.tsv, want, c.name);
      assert.equal(res.report.genotypes.format, c.format);
      assert.equal(res.report.scanWorkers, 1);
      if (c.name === 'pgen') {
        const pool = inProcessPool(3);
        const split = await runJob(req, () => {}, { pool });
        assert.equal(split.tsv, want, `${c.name}, 3 scan workers`);
        assert.equal(split.report.scanWorkers, 3);
        assert.equal(pool.parts, 2, 'parts 1 and 2 on the pool, part 0 in the job');
        assert.equal(pool.closed, true);
      }
    }
  },
);

test('a pool of scan workers: the one-worker table byte for byte, with the exact test, filters and a batch the filters empty', async () => {
  const sim = simulateGwas({ samples: 90, variants: 2600, seed: 5, causal: 3 });
  // Variants 1000..1999 (the second batch of 1000) monomorphic: the MAF filter drops the whole batch.
  for (let j = 1000; j < 2000; j++) sim.dosages.col(j).fill(0);
  const set = bedFileset(sim.dosages, sim.samples, sim.variants);
  const pheno = `FID\tIID\ty\n${sim.samples.iid.map((id, i) => `${sim.samples.fid[i]}\t${id}\t${sim.phenotype[i]}`).join('\n')}\n`;
  const files = new Map<string, Uint8Array>([
    ['s.bed', set.bed],
    ['s.bim', set.bim],
    ['s.fam', set.fam],
    ['p.tsv', new TextEncoder().encode(pheno)],
  ]);
  for (const test of ['fixed', 'exact'] as const) {
    const req: JobRequest = { files, genotypes: { bed: 's.bed', bim: 's.bim', fam: 's.fam' }, pheno: 'p.tsv', test, maf: 0.05 };
    const one = await runJob(req, () => {});
    const progress: number[] = [];
    const split = await runJob(req, (e) => e.type === 'progress' && progress.push(e.done), { pool: inProcessPool(2) });
    assert.equal(split.tsv, one.tsv, test);
    assert.equal(split.report.scanWorkers, 2);
    assert.deepEqual(split.report.variants, one.report.variants);
    assert.deepEqual(split.report.top, one.report.top);
    assert.ok(one.report.variants.filtered >= 1000, `filtered ${one.report.variants.filtered}`);
    // Progress after each batch taken, the empty one included, in order.
    assert.deepEqual(progress.slice(-3), [1000, 2000, 2600]);
  }
});

test('a .pgen without its .pvar or a truncated .vcf.gz: the one-line error naming the file', async () => {
  const { recogniseGenotypes } = await import('../../src/workflow/web-filesets.js');
  assert.match(recogniseGenotypes(['a.pgen', 'a.psam', 'p.tsv']).problem ?? '', /^incomplete genotype fileset: a\.pgen needs a\.pvar beside it/);
  const vcf = new TextEncoder().encode(
    '##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\n22\t10\trs1\tA\tG\t.\t.\t.\tGT\t0/1\n',
  );
  const { gzipSync } = await import('node:zlib');
  const gz = gzipSync(vcf).subarray(0, 40);
  await assert.rejects(
    runJob(
      {
        files: new Map([
          ['cut.vcf.gz', gz],
          ['p.tsv', new TextEncoder().encode('FID\tIID\tt\ns1\ts1\t1\n')],
        ]),
        genotypes: { vcf: 'cut.vcf.gz' },
        pheno: 'p.tsv',
      },
      () => {},
    ),
    (e: Error) => {
      assert.match(e.message, /^cut\.vcf\.gz/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    },
  );
});
