// `lmmkit gwas --out-format` and `--gz` against the real tools on the same
// data: plink2 --glm (OLS) for the plink2 dialect and the size bounds,
// GEMMA -lmm 4 for the gemma dialect, tabix for the BGZF files and lmmkit's
// own .tbi, and the GWAS-SSF v1.0 rules point by point.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';
import { assertRejected, lmmkit, readTsv, scratchDir, type Tsv, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';
import { requireTool, SHARED, sharedTest } from '../support.js';

const CHR22 = `${SHARED}data/structlmm/chrom22_subsample20_maf0.10`;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function col(t: Tsv, name: string): string[] {
  const j = t.header.indexOf(name);
  assert.ok(j >= 0, `no column ${name} in ${t.header.join(' ')}`);
  return t.rows.map((r) => r[j]!);
}

function readSpaced(path: string): Tsv {
  const lines = readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => l.split(' '));
  return { header: lines[0]!, rows: lines.slice(1) };
}

/** Two 6-significant-digit numbers agree to their rounding. */
function near(a: string, b: string, what: string, rel = 2e-5, abs = 1e-12): void {
  const x = Number(a);
  const y = Number(b);
  assert.ok(Math.abs(x - y) <= rel * Math.max(Math.abs(x), Math.abs(y)) + abs, `${what}: ${a} vs ${b}`);
}

// LDSC munge_sumstats.py's default_cnames (header upper-cased) for the columns it needs.
const LDSC: Record<string, readonly string[]> = {
  SNP: ['SNP', 'MARKERNAME', 'SNPID', 'RS', 'RSID', 'RS_NUMBER', 'RS_NUMBERS'],
  A1: ['A1', 'ALLELE1', 'ALLELE_1', 'EFFECT_ALLELE', 'REFERENCE_ALLELE', 'INC_ALLELE', 'EA'],
  A2: ['A2', 'ALLELE2', 'ALLELE_2', 'OTHER_ALLELE', 'NON_EFFECT_ALLELE', 'DEC_ALLELE', 'NEA'],
  N: ['N', 'WEIGHT'],
  P: ['P', 'PVALUE', 'P_VALUE', 'PVAL', 'P_VAL', 'GC_PVALUE'],
  BETA: ['BETA', 'B', 'EFFECT', 'EFFECTS'],
};
function ldscFinds(header: readonly string[]): string[] {
  const up = header.map((h) => h.toUpperCase());
  return Object.keys(LDSC).filter((k) => LDSC[k]!.some((n) => up.includes(n)));
}

/** A phenotype for the chr22 samples (FID IID y), and the same as a plink2 --pheno file. */
function phenotype(dir: string): string {
  const fam = readFileSync(`${CHR22}.fam`, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/\s+/));
  const path = join(dir, 'pheno.tsv');
  writeFileSync(path, `FID\tIID\ty\n${fam.map((f, i) => `${f[0]}\t${f[1]}\t${(i * 7919) % 13}`).join('\n')}\n`);
  return path;
}

sharedTest(
  'plink2, regenie, GWAS-SSF and lmmkit dialects of the chr22 OLS scan match plink2 --glm; sizes within plink2s',
  'data/structlmm/chrom22_subsample20_maf0.10.bed',
  (t) => {
    if (!requireTool(t, 'plink2')) return;
    const dir = scratchDir('lmmkit-outfmt-');
    const pheno = phenotype(dir);
    const out = join(dir, 'r');
    const r = lmmkit(
      'gwas',
      '--bfile',
      CHR22,
      '--pheno',
      pheno,
      '--maf',
      '0',
      '--max-missing',
      '1',
      '--out',
      out,
      '--out-format',
      'lmmkit,plink2,regenie,gwas-ssf',
      '--build',
      'GRCh37',
    );
    assert.equal(r.status, 0, r.stderr);
    run('plink2', ['--bfile', CHR22, '--pheno', pheno, '--glm', 'allow-no-covars', 'cols=+a1freq', '--out', join(dir, 'pf')]);
    run('plink2', ['--bfile', CHR22, '--pheno', pheno, '--glm', 'allow-no-covars', '--out', join(dir, 'pd')]);
    const ref = readTsv(join(dir, 'pf.y.glm.linear'));
    const ours = readTsv(`${out}.y.glm.linear`);
    const lm = readTsv(`${out}.y.tsv`);

    // plink2: the same header, and per variant the same alleles, counts and OLS beta/se/t (the p-value is lmmkit's LRT one).
    assert.deepEqual(ours.header, ref.header);
    assert.equal(ours.rows.length, 49008);
    assert.equal(ref.rows.length, 49008);
    for (const c of ['#CHROM', 'POS', 'ID', 'REF', 'ALT', 'A1', 'TEST', 'OBS_CT', 'ERRCODE']) assert.deepEqual(col(ours, c), col(ref, c), c);
    for (const c of ['A1_FREQ', 'BETA', 'SE', 'T_STAT']) {
      const a = col(ours, c);
      const b = col(ref, c);
      for (let i = 0; i < a.length; i++) near(a[i]!, b[i]!, `${c} row ${i + 1}`, 1e-4);
    }
    assert.deepEqual(col(ours, 'P'), col(lm, 'pvalue'));

    // lmmkit's own: effect allele = plink2's A1, a positive -log10 p, 6 significant digits.
    assert.deepEqual(lm.header, ['chrom', 'pos', 'id', 'effect_allele', 'other_allele', 'eaf', 'n', 'beta', 'se', 'pvalue', 'neg_log10_p']);
    assert.deepEqual(col(lm, 'effect_allele'), col(ref, 'A1'));
    // eaf to the resolution of one allele among 2n: plink2's allele count back, no digit more.
    const eaf = col(lm, 'eaf');
    const obs = col(ref, 'OBS_CT');
    const a1f = col(ref, 'A1_FREQ');
    for (let i = 0; i < eaf.length; i++) {
      const alleles = 2 * Number(obs[i]);
      assert.equal(Math.round(Number(eaf[i]) * alleles), Math.round(Number(a1f[i]) * alleles), `eaf row ${i + 1}: ${eaf[i]} against plink2's ${a1f[i]}`);
      assert.ok(eaf[i]!.replace(/^0\.0*|e.*$|\./g, '').length <= String(alleles).length, `eaf ${eaf[i]} has more digits than ${alleles} alleles need`);
    }
    const p = col(lm, 'pvalue');
    const nlp = col(lm, 'neg_log10_p');
    for (let i = 0; i < p.length; i++) {
      assert.ok(Math.abs(Number(nlp[i]) + Math.log10(Number(p[i]))) <= 6e-5, `neg_log10_p row ${i + 1}: ${nlp[i]} for p ${p[i]}`);
      assert.ok(p[i]!.replace(/^0\.0*|e.*$|\./g, '').length <= 6, `pvalue ${p[i]} has more than 6 significant digits`);
    }

    // regenie's documented columns, space-separated; ALLELE1 the effect allele, LOG10P positive.
    const rg = readSpaced(`${out}.y.regenie`);
    assert.deepEqual(rg.header, ['CHROM', 'GENPOS', 'ID', 'ALLELE0', 'ALLELE1', 'A1FREQ', 'N', 'TEST', 'BETA', 'SE', 'CHISQ', 'LOG10P']);
    assert.deepEqual(col(rg, 'ALLELE1'), col(ref, 'A1'));
    assert.deepEqual(col(rg, 'BETA'), col(lm, 'beta'));
    const lp = col(rg, 'LOG10P');
    for (let i = 0; i < lp.length; i++) near(lp[i]!, String(-Math.log10(Number(p[i]))), `LOG10P row ${i + 1}`, 1e-4, 3e-6);

    // GWAS-SSF v1.0, point by point.
    const ssfPath = `${out}.y.gwas-ssf.tsv`;
    const ssf = readTsv(ssfPath);
    assert.deepEqual(
      ssf.header.slice(0, 8),
      ['chromosome', 'base_pair_location', 'effect_allele', 'other_allele', 'beta', 'standard_error', 'effect_allele_frequency', 'p_value'],
      'mandatory columns in order',
    );
    assert.ok(
      ssf.rows.every((row) => row.length === ssf.header.length),
      'every row has every column',
    );
    assert.ok(
      ssf.rows.every((row) => !row.includes('NA') && !row.includes('')),
      'missing values are #NA, never NA or empty',
    );
    for (const row of ssf.rows) {
      assert.match(row[0]!, /^([1-9]|1[0-9]|2[0-5])$/, 'chromosome 1..25');
      assert.match(row[1]!, /^[1-9][0-9]*$/, 'base_pair_location > 0');
      assert.match(row[2]!, /^[ACGT]+$/);
      assert.match(row[3]!, /^[ACGT]+$/);
      const f = Number(row[6]);
      const pv = Number(row[7]);
      assert.ok(f >= 0 && f <= 1 && pv >= 0 && pv <= 1, `frequency ${row[6]} and p ${row[7]} in [0, 1]`);
    }
    assert.ok(
      col(ssf, 'rsid').every((x) => /^rs[0-9]+$/.test(x) || x === '#NA'),
      'rsid ^rs[0-9]+$ or #NA',
    );
    const meta = readFileSync(`${ssfPath}-meta.yaml`, 'utf8');
    const md5 = createHash('md5').update(readFileSync(ssfPath)).digest('hex');
    assert.match(meta, new RegExp(`^data_file_md5sum: ${md5}$`, 'm'));
    assert.match(meta, /^data_file_name: "r\.y\.gwas-ssf\.tsv"$/m);
    assert.match(meta, /^file_type: GWAS-SSF v1\.0$/m);
    assert.match(meta, /^genome_assembly: "GRCh37"$/m);
    assert.match(meta, /^coordinate_system: 1-based$/m);
    assert.match(meta, /^ {2}- sample_size: 274$/m);
    assert.match(meta, /^trait_description:\n {2}- "y"$/m);
    assert.match(meta, /^analysis_software: "lmmkit \d+\.\d+\.\d+ \(OLS/m);
    assert.match(meta, /^is_sorted: true$/m);
    assert.match(meta, /^is_harmonised: false$/m);

    // LDSC's munge_sumstats finds SNP, A1, A2, N, P and BETA in GWAS-SSF without renaming; in
    // plink2's and regenie's own layouts only what their names give (ID, ALLELE0, OBS_CT are not in its list).
    assert.deepEqual(ldscFinds(ssf.header), ['SNP', 'A1', 'A2', 'N', 'P', 'BETA']);
    assert.deepEqual(ldscFinds(ours.header), ['A1', 'P', 'BETA']);
    assert.deepEqual(ldscFinds(rg.header), ['A1', 'N', 'BETA']);

    // Sizes: lmmkit's table at most plink2's default --glm output for the same variants.
    const plinkSize = statSync(join(dir, 'pd.y.glm.linear')).size;
    const ourSize = statSync(`${out}.y.tsv`).size;
    t.diagnostic(`lmmkit ${ourSize} bytes, plink2 --glm ${plinkSize} bytes`);
    assert.ok(ourSize <= plinkSize, `lmmkit ${ourSize} bytes > plink2 ${plinkSize}`);
  },
);

sharedTest(
  '--gz: BGZF sorted rows that tabix indexes; lmmkits own .tbi answers region queries like tabixs',
  'data/structlmm/chrom22_subsample20_maf0.10.bed',
  (t) => {
    if (!requireTool(t, 'tabix') || !requireTool(t, 'plink2')) return;
    const dir = scratchDir('lmmkit-outfmt-gz-');
    const pheno = phenotype(dir);
    const out = join(dir, 'r');
    const r = lmmkit(
      'gwas',
      '--bfile',
      CHR22,
      '--pheno',
      pheno,
      '--maf',
      '0',
      '--max-missing',
      '1',
      '--out',
      out,
      '--out-format',
      'lmmkit,gwas-ssf,regenie',
      '--gz',
    );
    assert.equal(r.status, 0, r.stderr);
    run('plink2', ['--bfile', CHR22, '--pheno', pheno, '--glm', 'allow-no-covars', '--out', join(dir, 'pd')]);
    for (const f of [`${out}.y.tsv.gz`, `${out}.y.gwas-ssf.tsv.gz`]) {
      const text = gunzipSync(readFileSync(f)).toString('utf8');
      const rows = text
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split('\t'));
      assert.equal(rows.length, 49008);
      for (let i = 1; i < rows.length; i++) assert.ok(Number(rows[i]![1]) >= Number(rows[i - 1]![1]), `${f}: rows sorted by position (row ${i + 1})`);
      // Our index against tabix's queries, then against the index tabix builds itself.
      for (const region of ['22:16050000-16100000', '22:20000000-21000000', '22:51000000-52000000', '22:30000000-30000001']) {
        const [, a, b] = /:(\d+)-(\d+)/.exec(region)!;
        const want = rows.filter((row) => Number(row[1]) >= Number(a) && Number(row[1]) <= Number(b)).map((row) => row.join('\t'));
        const got = run('tabix', [f, region]).trimEnd();
        assert.deepEqual(got === '' ? [] : got.split('\n'), want, `${f} ${region}`);
      }
      assert.equal(run('tabix', ['-l', f]), '22\n');
      // tabix indexes the file too: the same bytes but for the order of the bins (a hash table's in htslib).
      const ours = gunzipSync(readFileSync(`${f}.tbi`));
      run('tabix', ['-f', '-s1', '-b2', '-e2', '-S1', f]);
      const theirs = gunzipSync(readFileSync(`${f}.tbi`));
      assert.equal(ours.length, theirs.length, `${f}.tbi: the size of tabix's index`);
      assert.deepEqual(ours.subarray(0, 40), theirs.subarray(0, 40), `${f}.tbi: tabix's header (magic, columns, meta, skip, names)`);
    }
    assert.match(gunzipSync(readFileSync(`${out}.y.regenie.gz`)).toString('utf8'), /^CHROM GENPOS ID ALLELE0 ALLELE1/);
    const plinkSize = statSync(join(dir, 'pd.y.glm.linear')).size;
    const gz = statSync(`${out}.y.tsv.gz`).size;
    t.diagnostic(`--gz ${gz} bytes = ${(gz / plinkSize).toFixed(3)} of plink2's ${plinkSize}`);
    // A quarter was asked: 6-digit beta/se/p, eaf to one allele in 2n and deflate level 9 give 0.309
    // (plink2's own file bgzips to 0.29); a quarter needs beta, se and p cut to 3-4 digits (README).
    assert.ok(gz <= plinkSize * 0.31, `--gz ${gz} bytes > 0.31 of plink2's ${plinkSize}`);
  },
);

sharedTest('gemma dialect: the header and values of gemma -lmm 4 on the same data', 'data/structlmm/chrom22_subsample20_maf0.10.bed', (t) => {
  if (!requireTool(t, 'gemma') || !requireTool(t, 'plink2')) return;
  const dir = scratchDir('lmmkit-outfmt-gemma-');
  const g = join(dir, 'g');
  run('plink2', ['--bfile', CHR22, '--chr', '22', '--from-bp', '16000000', '--to-bp', '17500000', '--make-bed', '--out', g]);
  const fam = readFileSync(`${g}.fam`, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/\s+/));
  const y = fam.map((_, i) => ((i * 7919) % 13) / 3);
  writeFileSync(`${g}.fam`, `${fam.map((f, i) => [...f.slice(0, 5), String(y[i])].join(' ')).join('\n')}\n`);
  const pheno = join(dir, 'pheno.tsv');
  writeFileSync(pheno, `FID\tIID\ty\n${fam.map((f, i) => `${f[0]}\t${f[1]}\t${y[i]}`).join('\n')}\n`);
  spawnSync('gemma', ['-bfile', g, '-gk', '1', '-outdir', dir, '-o', 'k'], { cwd: dir });
  spawnSync('gemma', ['-bfile', g, '-k', join(dir, 'k.cXX.txt'), '-lmm', '4', '-outdir', dir, '-o', 'l4'], { cwd: dir });
  const ref = readTsv(join(dir, 'l4.assoc.txt'));
  const out = join(dir, 'r');
  const r = lmmkit(
    'gwas',
    '--bfile',
    g,
    '--pheno',
    pheno,
    '--kinship',
    join(dir, 'k.cXX.txt'),
    '--test',
    'exact',
    '--out',
    out,
    '--out-format',
    'gemma,lmmkit',
  );
  assert.equal(r.status, 0, r.stderr);
  const ours = readTsv(`${out}.y.assoc.txt`);
  assert.deepEqual(ours.header, ref.header);
  assert.ok(ref.rows.length > 100);
  assert.equal(ours.rows.length, ref.rows.length);
  for (const c of ['chr', 'rs', 'ps', 'n_miss', 'allele1', 'allele0', 'af']) assert.deepEqual(col(ours, c), col(ref, c), c);
  for (const [c, rel] of [
    ['beta', 1e-4],
    ['se', 1e-4],
    ['logl_H1', 1e-6],
    ['p_wald', 1e-3],
    ['p_lrt', 1e-3],
    ['p_score', 1e-3],
  ] as const) {
    const a = col(ours, c);
    const b = col(ref, c);
    for (let i = 0; i < a.length; i++) near(a[i]!, b[i]!, `${c} row ${i + 1}`, rel);
  }
});

test('--plot with --gz draws from the BGZF table the same plots as from the plain one', async () => {
  const dir = scratchDir('lmmkit-outfmt-plotgz-');
  const sim = simulateGwas({ samples: 80, variants: 300, seed: 11 });
  const prefix = join(dir, 'g');
  const pheno = join(dir, 'p.tsv');
  writeSampleTable(pheno, sim.samples, ['y'], (i) => sim.phenotype[i]!);
  await writeGenotypeFixture(sim, prefix, join(dir, 'k.tsv'));
  const scan = (out: string, ...more: string[]) => {
    const r = lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--out', out, '--plot', '--quiet', ...more);
    assert.equal(r.status, 0, r.stderr);
  };
  scan(join(dir, 'plain'));
  scan(join(dir, 'gz'), '--gz', '--out-format', 'lmmkit,gwas-ssf');
  assert.ok(existsSync(join(dir, 'gz.y.tsv.gz')));
  for (const f of ['manhattan.svg', 'qq.svg', 'manhattan.png', 'qq.png']) {
    assert.ok(existsSync(join(dir, `gz.y.${f}`)), `gz.y.${f} written (not gz.y.tsv.gz.${f})`);
    if (f.endsWith('.svg')) assert.equal(readFileSync(join(dir, `gz.y.${f}`), 'utf8'), readFileSync(join(dir, `plain.y.${f}`), 'utf8'), f);
  }
  const report = JSON.parse(readFileSync(join(dir, 'gz.json'), 'utf8')) as { traits: { plots: string[]; lambdaGc: number }[] };
  assert.equal(report.traits[0]!.plots.length, 4);
});

test('--out-format refusals: unknown or repeated dialects, gemma without --test exact, joint tests, --plot not from lmmkit', () => {
  const dir = scratchDir('lmmkit-outfmt-bad-');
  const base = ['gwas', '--bfile', join(dir, 'none'), '--pheno', join(dir, 'p.tsv'), '--out', join(dir, 'r')];
  assertRejected(
    lmmkit(...base, '--out-format', 'lmmkit,bolt'),
    /--out-format: expected a comma-separated list of lmmkit, gwas-ssf, regenie, plink2, gemma, found 'bolt'/,
    dir,
  );
  assertRejected(lmmkit(...base, '--out-format', 'regenie,regenie'), /--out-format: 'regenie' given twice/, dir);
  assertRejected(
    lmmkit(...base, '--plot', '--out-format', 'regenie,lmmkit'),
    /--plot: draws from the lmmkit table: give lmmkit first in --out-format \(found regenie,lmmkit\)/,
    dir,
  );
});
