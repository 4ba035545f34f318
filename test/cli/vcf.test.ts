// `--vcf` on the command line: the structlmm chr22 .bed exported by plink2 to
// VCF (BGZF hard calls, BGZF with DS, plain) scans as the .bed does, and bad
// VCFs are refused with one line naming the file, line and variant.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openBed } from '../../src/data/node/bed.js';
import { readTable } from '../../src/data/node/tables.js';
import { assertRejected, column, lmmkit, readTsv, scratchDir } from '../cli-support.js';
import { requireTool, SHARED, sharedTest } from '../support.js';

const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';
const EXPR = 'data/structlmm/expr.csv';
const dir = scratchDir('lmmkit-cli-vcf-');

/** gene1 of expr.csv (columns named by .fam position) keyed by the .fam's FID IID. */
async function gene1Pheno(): Promise<string> {
  const expr = await readTable(SHARED + EXPR, { transposed: true, key: 'iid', columns: ['gene1'] });
  const src = await openBed(SHARED + STRUCT);
  const lines = ['FID\tIID\tgene1'];
  src.samples.iid.forEach((iid, i) => {
    lines.push(`${src.samples.fid[i]}\t${iid}\t${expr.values.data[i]}`);
  });
  await src.close();
  const path = join(dir, 'pheno.tsv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Runs plink2 on the shared .bed; `id-paste=iid` writes the .fam IIDs as the VCF's sample ids (its default pastes FID_IID). */
function plink2Export(out: string, ...exportArgs: string[]): void {
  const r = spawnSync('plink2', ['--bfile', SHARED + STRUCT, '--export', ...exportArgs, 'id-paste=iid', '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}

function scan(pheno: string, out: string, ...genotypes: string[]): { beta: number[]; p: number[]; ids: string[]; report: Record<string, unknown> } {
  const r = lmmkit('gwas', ...genotypes, '--pheno', pheno, '--pheno-col', 'gene1', '--kinship-from-bfile', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const tsv = readTsv(`${out}.gene1.tsv`);
  return {
    beta: column(tsv, 'beta').map(Number),
    p: column(tsv, 'pvalue').map(Number),
    ids: column(tsv, 'id'),
    report: JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>,
  };
}

function assertRelClose(a: number[], b: number[], tol: number, what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => {
    assert.ok(Math.abs(x - b[i]!) <= tol * Math.abs(b[i]!), `${what} ${i}: ${x} vs ${b[i]} (relative ${tol})`);
  });
}

sharedTest('gwas on plink2 VCF exports of the chr22 .bed (BGZF, BGZF with DS, plain) equals the .bed scan', `${STRUCT}.bed`, async (t) => {
  if (!requireTool(t, 'plink2')) return;
  const pheno = await gene1Pheno();
  plink2Export(join(dir, 'hc'), 'vcf', 'bgz');
  // DS-force: plink2 writes DS for hard calls too, as 0, 1 or 2 exactly, so the bound is the hard calls' 1e-9.
  plink2Export(join(dir, 'ds'), 'vcf', 'bgz', 'vcf-dosage=DS-force');
  plink2Export(join(dir, 'plain'), 'vcf');
  const bed = scan(pheno, join(dir, 'bed'), '--bfile', SHARED + STRUCT);
  for (const [name, args] of [
    ['hc', ['--vcf', join(dir, 'hc.vcf.gz')]],
    ['ds', ['--vcf', join(dir, 'ds.vcf.gz')]],
    ['plain', ['--vcf', join(dir, 'plain.vcf'), '--vcf-dosage', 'gt']],
  ] as const) {
    const vcf = scan(pheno, join(dir, `run-${name}`), ...args);
    assert.deepEqual(vcf.ids, bed.ids);
    assertRelClose(vcf.beta, bed.beta, 1e-9, `${name} beta`);
    assertRelClose(vcf.p, bed.p, 1e-9, `${name} p`);
    const genotypes = vcf.report.genotypes as { format: string; vcfDosage: string; countedAllele: string };
    assert.equal(genotypes.format, 'vcf');
    assert.equal(genotypes.vcfDosage, name === 'ds' ? 'ds' : 'gt');
  }
});

test('bad VCFs: exit 2, one line naming the file, line and variant', async () => {
  const pheno = join(dir, 'small-pheno.tsv');
  writeFileSync(pheno, 'IID\ty\nS1\t1\nS2\t2\nS3\t0.5\n');
  const head = [
    '##fileformat=VCFv4.2',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">',
    '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3',
  ];
  const rec = (id: string, ...gt: string[]): string => ['1', '100', id, 'A', 'T', '.', '.', '.', 'GT', ...gt].join('\t');
  const cases: [string, string, RegExp, string[]][] = [
    ['notvcf.vcf', 'FID IID y\n', /notvcf\.vcf:1: expected a VCF file/, []],
    [
      'columns.vcf',
      [...head, rec('r1', '0/1', '1/1', '0/0'), rec('r2', '0/1', '1/1')].join('\n'),
      /columns\.vcf:5: variant 'r2': expected 9 \+ 3 = 12 tab-separated columns/,
      [],
    ],
    [
      'nofield.vcf',
      [...head, rec('r1', '0/1', '1/1', '0/0')].join('\n'),
      /nofield\.vcf:4: variant 'r1': expected the FORMAT field DS \(--vcf-dosage ds\), found FORMAT 'GT'/,
      ['--vcf-dosage', 'ds'],
    ],
  ];
  for (const [name, content, message, extra] of cases) {
    const path = join(dir, name);
    writeFileSync(path, content);
    const out = join(dir, `out-${name}`);
    mkdirSync(out);
    assertRejected(lmmkit('gwas', '--vcf', path, ...extra, '--pheno', pheno, '--kinship-from-bfile', '--out', join(out, 'x')), message, out);
  }
  const out = join(dir, 'out-both');
  mkdirSync(out);
  assertRejected(
    lmmkit('gwas', '--vcf', 'a.vcf', '--bfile', 'b', '--pheno', pheno, '--out', join(out, 'x')),
    /exactly one of --bfile PREFIX, --bimbam FILE, --pfile PREFIX, --vcf FILE and --bgen FILE/,
    out,
  );
});

sharedTest('a truncated .vcf.gz: exit 2, one line naming the file, line and variant', `${STRUCT}.bed`, async (t) => {
  if (!requireTool(t, 'plink2')) return;
  const pheno = await gene1Pheno();
  plink2Export(join(dir, 'whole'), 'vcf', 'bgz');
  const gz = readFileSync(join(dir, 'whole.vcf.gz'));
  const cut = join(dir, 'cut.vcf.gz');
  writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 3)));
  const out = join(dir, 'out-cut');
  mkdirSync(out);
  assertRejected(
    lmmkit('kinship', '--vcf', cut, '--out', join(out, 'k.tsv')),
    /cut\.vcf\.gz:\d+: expected the file to go on after line \d+ \(variant 'rs\d+'\), found unexpected end of file/,
    out,
  );
  assertRejected(
    lmmkit('gwas', '--vcf', cut, '--pheno', pheno, '--kinship-from-bfile', '--out', join(out, 'x')),
    /cut\.vcf\.gz:\d+: expected the file to go on after line \d+ \(variant 'rs\d+'\)/,
    out,
  );
});
