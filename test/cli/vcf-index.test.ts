// `--vcf` with a region and a .tbi/.csi index: the scan reads only the
// index chunks of the region, and its results are byte for byte those of
// the same scan reading the whole file (--no-vcf-index), for a region of
// chr22, --chr over two of three chromosomes, and an empty region (the
// same error either way).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openBed } from '../../src/data/node/bed.js';
import { readTable } from '../../src/data/node/tables.js';
import { assertRejected, lmmkit, scratchDir } from '../cli-support.js';
import { requireTool, SHARED, sharedTest } from '../support.js';

const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';
const EXPR = 'data/structlmm/expr.csv';
const dir = scratchDir('lmmkit-cli-vcf-index-');

function run(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
}

/** gene1 of expr.csv keyed by the .fam's FID IID. */
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

/** Runs a gwas and returns its results file's bytes and its report, or the failed run. */
function gwas(out: string, ...args: string[]): { tsv: string; report: { genotypes: { vcfIndex?: { kind: string; chunks: number } } } } {
  const r = lmmkit('gwas', ...args, '--pheno-col', 'gene1', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  return { tsv: readFileSync(`${out}.gene1.tsv`, 'utf8'), report: JSON.parse(readFileSync(`${out}.json`, 'utf8')) };
}

sharedTest('gwas --region/--chr through a .tbi and a .csi equals the whole-file scan byte for byte', [`${STRUCT}.bed`, EXPR], async (t) => {
  if (!requireTool(t, 'plink2') || !requireTool(t, 'tabix') || !requireTool(t, 'bcftools')) return;
  const pheno = await gene1Pheno();
  const kin = join(dir, 'kin.tsv');
  const k = lmmkit('kinship', '--bfile', SHARED + STRUCT, '--out', kin);
  assert.equal(k.status, 0, k.stderr);
  const common = ['--pheno', pheno, '--kinship', kin];
  const hc = join(dir, 'hc');
  run('plink2', '--bfile', SHARED + STRUCT, '--export', 'vcf', 'bgz', 'id-paste=iid', '--out', hc);
  const csi = join(dir, 'csi.vcf.gz');
  copyFileSync(`${hc}.vcf.gz`, csi);
  run('tabix', '-p', 'vcf', `${hc}.vcf.gz`);
  run('bcftools', 'index', '-c', csi);

  const region = ['--region', '22:20000000-21000000'];
  const whole = gwas(join(dir, 'whole'), '--vcf', `${hc}.vcf.gz`, '--no-vcf-index', ...region, ...common);
  assert.equal(whole.report.genotypes.vcfIndex, undefined);
  const tbi = gwas(join(dir, 'tbi'), '--vcf', `${hc}.vcf.gz`, ...region, ...common);
  const viaCsi = gwas(join(dir, 'csi'), '--vcf', csi, ...region, ...common);
  const named = gwas(join(dir, 'named'), '--vcf', csi, '--vcf-index', `${hc}.vcf.gz.tbi`, ...region, ...common);
  assert.ok(whole.tsv.split('\n').length > 500);
  for (const [name, r, kind] of [
    ['tbi', tbi, 'tbi'],
    ['csi', viaCsi, 'csi'],
    ['--vcf-index', named, 'tbi'],
  ] as const) {
    assert.equal(r.tsv, whole.tsv, `${name}: results differ from the whole-file scan`);
    assert.equal(r.report.genotypes.vcfIndex?.kind, kind);
    assert.ok(r.report.genotypes.vcfIndex.chunks >= 1);
  }

  // Three chromosomes (the .bim's thirds renamed 20, 21, 22): --chr over two of them, with and without the index.
  const bim = readFileSync(`${SHARED + STRUCT}.bim`, 'utf8')
    .trimEnd()
    .split('\n');
  const third = Math.ceil(bim.length / 3);
  const three = join(dir, 'three');
  writeFileSync(`${three}.bim`, `${bim.map((l, i) => l.replace(/^\S+/, String(20 + Math.floor(i / third)))).join('\n')}\n`);
  symlinkSync(`${SHARED + STRUCT}.bed`, `${three}.bed`);
  symlinkSync(`${SHARED + STRUCT}.fam`, `${three}.fam`);
  run('plink2', '--bfile', three, '--export', 'vcf', 'bgz', 'id-paste=iid', '--out', `${three}-vcf`);
  run('tabix', '-p', 'vcf', `${three}-vcf.vcf.gz`);
  for (const chr of ['21-22', '20,22', 'chr21']) {
    const a = gwas(join(dir, `chr-${chr}-whole`), '--vcf', `${three}-vcf.vcf.gz`, '--no-vcf-index', '--chr', chr, ...common);
    const b = gwas(join(dir, `chr-${chr}-tbi`), '--vcf', `${three}-vcf.vcf.gz`, '--chr', chr, ...common);
    assert.equal(b.tsv, a.tsv, `--chr ${chr}`);
    assert.equal(b.report.genotypes.vcfIndex?.kind, 'tbi');
  }
  // A region across the 20/21 boundary by --chr 21 --from-bp/--to-bp, and --region on 21.
  const at = bim[third]!.split(/\s+/)[3]!;
  const bounded = ['--chr', '21', '--from-bp', at, '--to-bp', String(Number(at) + 2_000_000)];
  assert.equal(
    gwas(join(dir, 'bp-tbi'), '--vcf', `${three}-vcf.vcf.gz`, ...bounded, ...common).tsv,
    gwas(join(dir, 'bp-whole'), '--vcf', `${three}-vcf.vcf.gz`, '--no-vcf-index', ...bounded, ...common).tsv,
  );

  // An empty region, before the first record: the same error with and without the index.
  const empty = ['--region', '22:100-200', ...common];
  const e1 = lmmkit('gwas', '--vcf', `${hc}.vcf.gz`, ...empty, '--pheno-col', 'gene1', '--out', join(dir, 'e1'));
  const e2 = lmmkit('gwas', '--vcf', `${hc}.vcf.gz`, '--no-vcf-index', ...empty, '--pheno-col', 'gene1', '--out', join(dir, 'e2'));
  assert.equal(e1.status, 2, e1.stderr);
  assert.equal(e1.stderr, e2.stderr);
  assert.match(e1.stderr, /--region 22:100-200: no analysed variant of .*hc\.vcf\.gz lies in 22:100-200/);
});

test('--vcf-index and --no-vcf-index without --vcf are refused', () => {
  const out = join(dir, 'no-vcf');
  mkdirSync(out);
  for (const flag of [['--vcf-index', 'x.tbi'], ['--no-vcf-index']]) {
    assertRejected(lmmkit('kinship', '--bfile', 'x', ...flag, '--out', join(out, 'k.tsv')), /kinship: --vcf-index and --no-vcf-index go with --vcf/, out);
  }
});
