// `lmmkit plot` reads the results files of the field, each recognised by its
// header: plink2 --glm and GEMMA -lmm 4 outputs are generated here by the
// tools themselves on one simulated data set; regenie, GWAS-SSF and BOLT-LMM
// files are written from their documented headers (the tools are not
// installed) with the p-values of the plink2 run, so that every reader's
// -log10 p is checked against the tool's own column.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { ASSOC_DIALECTS, matchDialect, scaleOfColumn } from '../../src/plot/dialects.js';
import { log10OfTinyP, parseAssocTsv } from '../../src/plot/data.js';
import { readAssocFile } from '../../src/plot/node.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { lmmkit, scratchDir } from '../cli-support.js';
import { toolTest } from '../support.js';

const dir = scratchDir('lmmkit-dialects-');
const sim = simulateGwas({ samples: 240, variants: 300, seed: 11, causal: 2, h2Causal: 0.5, h2Population: 0.05, chromosomes: 3 });
const prefix = join(dir, 'g');

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: dir });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
}

/** A whitespace-separated table as header + rows of fields. */
function table(path: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  return { header: lines[0]!.trim().split(/\s+/), rows: lines.slice(1).map((l) => l.trim().split(/\s+/)) };
}

/** -log10 p by variant id as a reader parsed it (every id kept). */
async function readBack(path: string, column?: string) {
  const t = await readAssocFile(path, { keepIdsBelow: Infinity, column });
  const byId = new Map<string, number>();
  for (const [i, id] of t.id) byId.set(id, -t.log10p[i]!);
  return { t, byId };
}

before(async () => {
  await writeBed(prefix, sim.dosages, sim.samples, sim.variants, sim.phenotype);
  const covar = ['FID\tIID\tc1', ...sim.samples.iid.map((iid, i) => `${sim.samples.fid[i]}\t${iid}\t${Math.sin(i)}`)];
  writeFileSync(join(dir, 'covar.tsv'), `${covar.join('\n')}\n`);
});

describe('results files of the field', () => {
  toolTest('plink2 --glm (.glm.linear): P and LOG10_P, covariate rows skipped', 'plink2', async () => {
    run('plink2', ['--bfile', prefix, '--covar', join(dir, 'covar.tsv'), '--glm', '--out', join(dir, 'p2'), '--silent']);
    run('plink2', ['--bfile', prefix, '--glm', 'allow-no-covars', 'log10', '--out', join(dir, 'p2log'), '--silent']);
    const ref = table(join(dir, 'p2.PHENO1.glm.linear'));
    const add = ref.rows.filter((r) => r[ref.header.indexOf('TEST')] === 'ADD');
    const { t, byId } = await readBack(join(dir, 'p2.PHENO1.glm.linear'));
    assert.deepEqual([t.dialect, t.column, t.scale, t.test, t.rows, t.otherTests], ['plink2', 'P', 'p', 'ADD', add.length, ref.rows.length - add.length]);
    assert.ok(t.otherTests > 0, 'the covariate has rows');
    for (const r of add) {
      const p = Number(r[ref.header.indexOf('P')]);
      assert.ok(Math.abs(byId.get(r[ref.header.indexOf('ID')]!)! + Math.log10(p)) < 1e-9);
    }
    const lg = table(join(dir, 'p2log.PHENO1.glm.linear'));
    const l = await readBack(join(dir, 'p2log.PHENO1.glm.linear'));
    assert.deepEqual([l.t.dialect, l.t.column, l.t.scale], ['plink2', 'LOG10_P', 'neglog10']);
    for (const r of lg.rows) assert.equal(l.byId.get(r[lg.header.indexOf('ID')]!), Number(r[lg.header.indexOf('LOG10_P')]));
  });

  toolTest('GEMMA -lmm 4 (.assoc.txt): p_wald, or p_lrt / p_score with --column', 'gemma', async () => {
    run('gemma', ['-bfile', prefix, '-gk', '1', '-o', 'kin', '-outdir', dir]);
    run('gemma', ['-bfile', prefix, '-k', join(dir, 'kin.cXX.txt'), '-lmm', '4', '-o', 'lmm4', '-outdir', dir]);
    const path = join(dir, 'lmm4.assoc.txt');
    const ref = table(path);
    const { t, byId } = await readBack(path);
    assert.deepEqual([t.dialect, t.column, t.scale, t.rows], ['gemma', 'p_wald', 'p', ref.rows.length]);
    for (const r of ref.rows) assert.ok(Math.abs(byId.get(r[1]!)! + Math.log10(Number(r[ref.header.indexOf('p_wald')]))) < 1e-9);
    const lrt = await readBack(path, 'p_lrt');
    assert.equal(lrt.t.column, 'p_lrt');
    for (const r of ref.rows) assert.ok(Math.abs(lrt.byId.get(r[1]!)! + Math.log10(Number(r[ref.header.indexOf('p_lrt')]))) < 1e-9);
  });

  test('regenie (.regenie, documented header): positive LOG10P read as -log10 p', async () => {
    // regenie's step-2 layout (docs: "Output" of step 2), space-separated.
    const head = 'CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ INFO N TEST BETA SE CHISQ LOG10P EXTRA';
    const rows = [
      '1 1000 rs1 A G 0.3 1 500 ADD 0.1 0.02 25 6.24 NA',
      '1 1000 rs1 A G 0.3 1 500 DOM 0.1 0.02 25 3.5 NA',
      '2 2000 rs2 C T 0.2 1 500 ADD 0.01 0.02 0.25 0.21 NA',
      '3 3000 rs3 C T 0.2 1 500 ADD NA NA NA NA TEST_FAIL',
    ];
    const path = join(dir, 'step2_y1.regenie');
    writeFileSync(path, `${[head, ...rows].join('\n')}\n`);
    const { t, byId } = await readBack(path);
    assert.deepEqual([t.dialect, t.column, t.scale, t.test, t.rows, t.otherTests], ['regenie', 'LOG10P', 'neglog10', 'ADD', 3, 1]);
    assert.equal(byId.get('rs1'), 6.24);
    assert.equal(byId.get('rs2'), 0.21);
    assert.ok(Number.isNaN(byId.get('rs3')!));
    assert.throws(
      () => parseAssocTsv(`${head}\n1 5 rs9 A G 0.3 1 9 ADD 1 1 1 -2 NA\n`, { file: 'x.regenie' }),
      /x\.regenie:2: expected -log10 of a p-value \(>= 0\) in column 'LOG10P' \(regenie\), found '-2'/,
    );
  });

  test('GWAS-SSF (.tsv.gz, documented header): #NA missing, p_value or neg_log_10_p_value', async () => {
    const head = 'chromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tstandard_error\teffect_allele_frequency\tp_value\tvariant_id\trsid';
    const rows = [
      '1\t1000\tA\tG\t0.1\t0.02\t0.3\t2.5e-7\t1_1000_G_A\trs1',
      '2\t2000\tC\tT\t#NA\t#NA\t0.2\t#NA\t2_2000_T_C\trs2',
      '2\t3000\tC\tT\t0.9\t0.02\t0.2\t3.1e-412\t2_3000_T_C\trs3',
    ];
    const path = join(dir, 'GCST90000001.tsv.gz');
    writeFileSync(path, gzipSync(`${[head, ...rows].join('\n')}\n`));
    const { t, byId } = await readBack(path);
    assert.deepEqual([t.dialect, t.column, t.scale, t.rows], ['gwas-ssf', 'p_value', 'p', 3]);
    assert.ok(Math.abs(byId.get('rs1')! - (7 - Math.log10(2.5))) < 1e-12);
    assert.ok(Number.isNaN(byId.get('rs2')!));
    // Below the doubles' range the exponent is read from the text.
    assert.ok(Math.abs(byId.get('rs3')! - (412 - Math.log10(3.1))) < 1e-9);
    const neg = parseAssocTsv(`chromosome\tbase_pair_location\tp_value\tneg_log_10_p_value\tvariant_id\n1\t5\t1e-3\t3\tv1\n`, { keepIdsBelow: Infinity });
    assert.deepEqual([neg.column, neg.scale, neg.log10p[0]], ['neg_log_10_p_value', 'neglog10', -3]);
    assert.deepEqual([...neg.id.values()], ['v1'], 'variant_id when there is no rsid');
  });

  test('BOLT-LMM (.stats, documented header): P_BOLT_LMM before P_BOLT_LMM_INF, tiny p-values from the text', async () => {
    const head = 'SNP\tCHR\tBP\tGENPOS\tALLELE1\tALLELE0\tA1FREQ\tF_MISS\tBETA\tSE\tP_BOLT_LMM_INF\tP_BOLT_LMM';
    const rows = ['rs1\t1\t1000\t0.01\tA\tG\t0.3\t0\t0.1\t0.01\t1.2E-20\t3.4E-22', 'rs2\t1\t2000\t0.02\tA\tG\t0.3\t0\t0.9\t0.01\t5.0E-900\t2.1E-1000'];
    const path = join(dir, 'bolt.stats');
    writeFileSync(path, `${[head, ...rows].join('\n')}\n`);
    const { t, byId } = await readBack(path);
    assert.deepEqual([t.dialect, t.column, t.scale], ['bolt-lmm', 'P_BOLT_LMM', 'p']);
    assert.ok(Math.abs(byId.get('rs1')! - (22 - Math.log10(3.4))) < 1e-12);
    assert.ok(Math.abs(byId.get('rs2')! - (1000 - Math.log10(2.1))) < 1e-9);
    const inf = (await readBack(path, 'P_BOLT_LMM_INF')).byId;
    assert.ok(Math.abs(inf.get('rs2')! - (900 - Math.log10(5))) < 1e-9);
    // Without P_BOLT_LMM (--lmmInfOnly) the infinitesimal test is read.
    const only = parseAssocTsv('SNP\tCHR\tBP\tP_BOLT_LMM_INF\nrs1\t1\t5\t0.01\n');
    assert.deepEqual([only.dialect, only.column], ['bolt-lmm', 'P_BOLT_LMM_INF']);
  });

  test("lmmkit's own TSV: today's negative log10p, and a positive -log10 p column", () => {
    const old = parseAssocTsv('chrom\tpos\tid\ta1\ta2\taf\tn\tbeta\tse\tstat\tpvalue\tlog10p\n1\t5\tv1\tA\tG\t0.1\t9\t1\t1\t1\t0.001\t-3\n');
    assert.deepEqual([old.dialect, old.column, old.scale, old.log10p[0]], ['lmmkit', 'log10p', 'log10', -3]);
    for (const name of ['neg_log10_p', 'neg_log10p', 'mlog10p']) {
      const t = parseAssocTsv(
        `# lmmkit gwas: effect allele = counted allele\nchrom\tpos\tid\teffect_allele\tother_allele\tbeta\tse\tpvalue\t${name}\n1\t5\tv1\tA\tG\t1\t1\t0.001\t3\n`,
      );
      assert.deepEqual([t.dialect, t.column, t.scale, t.log10p[0]], ['lmmkit', name, 'neglog10', -3]);
    }
  });

  test('the table of dialects: each recognised by its header, scales of --column names', () => {
    const headers: [string, string[]][] = [
      ['regenie', ['CHROM', 'GENPOS', 'ID', 'ALLELE0', 'ALLELE1', 'A1FREQ', 'N', 'TEST', 'BETA', 'SE', 'CHISQ', 'LOG10P']],
      ['bolt-lmm', ['SNP', 'CHR', 'BP', 'GENPOS', 'ALLELE1', 'ALLELE0', 'A1FREQ', 'F_MISS', 'BETA', 'SE', 'P_BOLT_LMM_INF', 'P_BOLT_LMM']],
      ['gemma', ['chr', 'rs', 'ps', 'n_miss', 'allele1', 'allele0', 'af', 'beta', 'se', 'logl_H1', 'l_remle', 'l_mle', 'p_wald', 'p_lrt', 'p_score']],
      ['plink2', ['#CHROM', 'POS', 'ID', 'REF', 'ALT', 'A1', 'TEST', 'OBS_CT', 'BETA', 'SE', 'T_STAT', 'P', 'ERRCODE']],
      ['gwas-ssf', ['chromosome', 'base_pair_location', 'effect_allele', 'other_allele', 'beta', 'standard_error', 'effect_allele_frequency', 'p_value']],
      ['lmmkit', ['chrom', 'pos', 'id', 'a1', 'a2', 'af', 'n', 'beta', 'se', 'stat', 'pvalue', 'log10p']],
      ['plink1', ['CHR', 'SNP', 'BP', 'A1', 'TEST', 'NMISS', 'BETA', 'STAT', 'P']],
      ['generic', ['Chr', 'Position', 'MarkerName', 'Pval']],
    ];
    assert.deepEqual(
      headers.map(([, h]) => (matchDialect(h) as { dialect: { name: string } }).dialect.name),
      headers.map(([d]) => d),
    );
    assert.equal(ASSOC_DIALECTS.at(-1)!.name, 'generic');
    assert.deepEqual(['LOG10P', 'LOG10_P', 'neg_log10_p', 'log10p_lrt', 'p_lrt'].map(scaleOfColumn), ['neglog10', 'neglog10', 'neglog10', 'log10', 'p']);
    assert.equal(log10OfTinyP('1e-5'), -5);
    assert.ok(Number.isNaN(log10OfTinyP('0')));
  });

  test('lmmkit plot states the layout and p-value column it read', () => {
    const path = join(dir, 'cli.regenie');
    const rows = ['CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ N TEST BETA SE CHISQ LOG10P'];
    for (let j = 0; j < 200; j++) rows.push(`${1 + (j % 3)} ${1000 * (j + 1)} v${j} A G 0.3 500 ADD 0.1 0.1 1 ${j === 77 ? 12.5 : ((j * 7) % 13) / 10}`);
    writeFileSync(path, `${rows.join('\n')}\n`);
    const r = lmmkit('plot', 'manhattan', '--in', path, '--out', join(dir, 'cli.svg'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /cli\.regenie: regenie layout, 200 rows, p from column LOG10P \(-log10 p\), test ADD/);
    assert.match(r.stdout, /labelled v77/);
  });
});
