// Phenotypes and covariates as users have them: the .fam's phenotype
// columns (6, 7, ... as GEMMA's -n reads them) without --pheno, categorical
// covariates dummy-coded as plink2 --glm codes them (same p-values), limix's
// traits x samples expression table, and the bad input of each.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openBed } from '../../src/data/node/bed.js';
import { readTable } from '../../src/data/node/tables.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { tCdf } from '../../src/stats/t.js';
import { assertRejected, column, fixturePaths, lmmkit, readTsv, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';
import { SHARED, sharedTest, toolTest } from '../support.js';

const dir = scratchDir('lmmkit-phenos-');
const { prefix, kin, data } = fixturePaths(dir, 'sim');
const N = 160;
const base = simulateGwas({ samples: N, variants: 300, causal: 3, h2Causal: 0.3, seed: 11 });
const samples = { fid: Array.from({ length: N }, (_, i) => `F${i}`), iid: Array.from({ length: N }, (_, i) => `S${i}`) };
const sim = { ...base, samples };
const ready = writeGenotypeFixture(sim, prefix, kin);

// Three traits: y1 the simulated one, y2 with -9 and NA, y3 another.
const y = (i: number, t: number): number => base.phenotype[i]! * (t + 1) + (t === 2 ? Math.cos(i) : t === 1 ? Math.sin(i) : 0);
const famCell = (i: number, t: number): string => (t === 1 && i % 11 === 0 ? (i % 2 === 0 ? '-9' : 'NA') : String(y(i, t)));
// Site levels, first seen 'north' but 'south' the most common: plink2's reference is 'south'.
const SITES = ['north', 'south', 'south', 'East', 'south', 'west'];
const site = (i: number): string => SITES[i % SITES.length]!;

function ok(args: string[]): { stdout: string; stderr: string } {
  const r = lmmkit(...args);
  assert.equal(r.status, 0, r.stderr);
  return r;
}

function freshDir(name: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  return d;
}

/** A copy of the fileset whose .fam has `traits` phenotype columns (6, 7, ...). */
async function famWithPhenotypes(name: string, traits: number): Promise<string> {
  await ready;
  const p = join(data, name);
  for (const ext of ['.bed', '.bim']) writeFileSync(p + ext, readFileSync(prefix + ext));
  const lines = samples.iid.map((id, i) => [samples.fid[i], id, 0, 0, 1 + (i % 2), ...Array.from({ length: traits }, (_, t) => famCell(i, t))].join(' '));
  writeFileSync(`${p}.fam`, `${lines.join('\n')}\n`);
  return p;
}

describe('phenotypes from the .fam without --pheno', () => {
  test('a .fam with columns 6-8: PHENO1..PHENO3 equal a --pheno table of the same values, -9 and NA missing', async () => {
    const fam = await famWithPhenotypes('fam8', 3);
    const pheno = join(data, 'fam8-pheno.tsv');
    writeSampleTable(pheno, samples, ['PHENO1', 'PHENO2', 'PHENO3'], (i, t) => famCell(i, t));
    const out = freshDir('fam8');
    const r = ok(['gwas', '--bfile', fam, '--kinship', kin, '--out', join(out, 'fam')]);
    assert.match(r.stdout, /phenotypes from .*fam8\.fam \(no --pheno\): PHENO1, PHENO2, PHENO3/);
    ok(['gwas', '--bfile', fam, '--kinship', kin, '--pheno', pheno, '--out', join(out, 'table')]);
    for (const t of ['PHENO1', 'PHENO2', 'PHENO3']) {
      assert.equal(readFileSync(join(out, `fam.${t}.tsv`), 'utf8'), readFileSync(join(out, `table.${t}.tsv`), 'utf8'), t);
    }
    const report = JSON.parse(readFileSync(join(out, 'fam.json'), 'utf8'));
    assert.equal(report.traits[1].samples, N - Math.ceil(N / 11), 'PHENO2 without its -9 and NA samples');
  });

  test('--pheno-name PHENO2 (GEMMA -n 2) selects column 7; null fit and mtgwas read the .fam too', async () => {
    const fam = await famWithPhenotypes('fam7', 2);
    const out = freshDir('fam7');
    ok(['gwas', '--bfile', fam, '--pheno-name', 'PHENO2', '--out', join(out, 'g')]);
    const rows = readTsv(join(out, 'g.PHENO2.tsv')).rows.length;
    assert.equal(rows, 300 - Number(JSON.parse(readFileSync(join(out, 'g.json'), 'utf8')).traits[0].variants.filtered));
    ok(['null', 'fit', '--bfile', fam, '--kinship', kin, '--pheno-name', 'PHENO1', '--out', join(out, 'n.lmmnull')]);
    ok(['mtgwas', '--bfile', fam, '--kinship', kin, '--out', join(out, 'mt')]);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'mt.json'), 'utf8')).traits, ['PHENO1', 'PHENO2']);
  });

  test('bad .fam phenotypes and selections: one line naming the file and column', async () => {
    const fam6 = await famWithPhenotypes('fam-missing', 0);
    // A .fam of six columns whose phenotype is -9 everywhere (0 traits above: add the column).
    writeFileSync(`${fam6}.fam`, samples.iid.map((id, i) => `${samples.fid[i]} ${id} 0 0 1 -9`).join('\n'));
    const cases: [string, string[], RegExp][] = [
      [
        'all missing',
        ['--bfile', fam6],
        /fam-missing\.fam \(column 6 'PHENO1'\): expected phenotype values for 'PHENO1', found every one of the 160 samples missing \(-9 or NA\); give the phenotypes with --pheno FILE/,
      ],
      [
        'unknown --pheno-name',
        ['--bfile', await famWithPhenotypes('fam-name', 2), '--pheno-name', 'PHENO3'],
        /fam-name\.fam: expected a phenotype named PHENO1, PHENO2 .*found --pheno-name 'PHENO3'/,
      ],
      [
        'both spellings',
        ['--bfile', prefix, '--pheno-name', 'PHENO1', '--pheno-col', 'PHENO1'],
        /--pheno-name: the same option as --pheno-col; give one of them/,
      ],
    ];
    for (const [name, args, message] of cases) {
      const out = freshDir(`bad-fam-${name.replace(/\W/g, '')}`);
      assertRejected(lmmkit('gwas', ...args, '--out', join(out, 'o')), message, out);
    }
    const fam = await famWithPhenotypes('fam-text', 2);
    writeFileSync(`${fam}.fam`, readFileSync(`${fam}.fam`, 'utf8').replace(/^(F3 S3 \S+ \S+ \S+ \S+) \S+/m, '$1 tall'));
    const out = freshDir('bad-fam-text');
    assertRejected(
      lmmkit('gwas', '--bfile', fam, '--out', join(out, 'o')),
      /fam-text\.fam:4 \(column 7\): expected a number or a missing value \(NA, -9\), found 'tall'/,
      out,
    );
  });
});

/** The covariate table: a categorical site, a numeric age. */
function writeCovar(path: string, cell: (i: number) => string = site): void {
  writeSampleTable(path, samples, ['site', 'age'], (i, c) => (c === 0 ? cell(i) : String(20 + ((i * 7) % 31))));
}

/** plink2 --glm's ADD rows (-log10 p, beta, observations) and its covariate test names. */
function plink2Glm(
  bfile: string,
  pheno: string,
  covar: string,
  out: string,
  extra: string[] = [],
): { rows: Map<string, { log10p: number; beta: number; n: number }>; covariates: string[] } {
  const r = spawnSync('plink2', ['--bfile', bfile, '--pheno', pheno, '--covar', covar, ...extra, '--glm', 'log10', '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const lines = readFileSync(`${out}.y.glm.linear`, 'utf8').trimEnd().split('\n');
  const header = lines[0]!.replace(/^#/, '').split('\t');
  const col = (name: string): number => header.indexOf(name);
  const rows = new Map<string, { log10p: number; beta: number; n: number }>();
  const covariates: string[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split('\t');
    const testName = f[col('TEST')]!;
    if (testName !== 'ADD') {
      if (!covariates.includes(testName)) covariates.push(testName);
      continue;
    }
    const flip = f[col('A1')] === f[col('ALT')] ? 1 : -1;
    rows.set(f[col('ID')]!, { log10p: Number(f[col('LOG10_P')]), beta: flip * Number(f[col('BETA')]), n: Number(f[col('OBS_CT')]) });
  }
  return { rows, covariates };
}

describe('categorical covariates', () => {
  for (const covarName of [undefined, ['site']]) {
    const label = covarName === undefined ? 'site and age' : '--covar-name site';
    toolTest(`${label}: the OLS scan gives plink2 --glm's betas and -log10 p within 1e-6, the same dummy columns and reference`, 'plink2', async () => {
      await ready;
      const out = freshDir(`cat-${covarName === undefined ? 'all' : 'name'}`);
      const pheno = join(out, 'pheno.txt');
      writeSampleTable(pheno, samples, ['y'], (i) => base.phenotype[i]! + (site(i) === 'west' ? 0.8 : site(i) === 'East' ? -0.5 : 0));
      const covar = join(out, 'covar.txt');
      writeCovar(covar);
      const names = covarName === undefined ? [] : ['--covar-name', ...covarName];
      const ref = plink2Glm(prefix, pheno, covar, join(out, 'plink2'), names);
      // --digits 17: beta and se as computed, so that only plink2's print rounds.
      ok([
        'gwas',
        '--bfile',
        prefix,
        '--pheno',
        pheno,
        '--covar',
        covar,
        ...names,
        '--maf',
        '0',
        '--max-missing',
        '1',
        '--digits',
        '17',
        '--out',
        join(out, 'o'),
      ]);
      const report = JSON.parse(readFileSync(join(out, 'o.json'), 'utf8'));
      const cat = report.categoricalCovariates;
      assert.equal(cat.length, 1);
      assert.equal(cat[0].name, 'site');
      assert.equal(cat[0].reference, 'south', 'the most common level, not the first seen');
      assert.deepEqual(
        cat[0].levels.map((l: { level: string }) => l.level),
        ['East', 'north', 'south', 'west'],
      );
      // plink2 names the dummies SITE=LEVEL and omits the same level.
      assert.deepEqual(report.traits[0].covariates.slice(1), ref.covariates);
      const tsv = readTsv(join(out, 'o.y.tsv'));
      const k = report.traits[0].covariates.length;
      const beta = column(tsv, 'beta').map(Number);
      const se = column(tsv, 'se').map(Number);
      const n = column(tsv, 'n').map(Number);
      let worst = 0;
      column(tsv, 'id').forEach((id, j) => {
        const want = ref.rows.get(id);
        assert.ok(want !== undefined, `plink2 tested ${id}`);
        assert.equal(n[j], want.n);
        // plink2's t-test from the same regression (see chrx.test.ts); it prints 6 significant digits.
        const got = -Math.log10(2 * tCdf(-Math.abs(beta[j]! / se[j]!), n[j]! - k - 1));
        const printed = want.log10p > 0 ? 0.5 * 10 ** (Math.floor(Math.log10(want.log10p)) - 5) : 0;
        assert.ok(Math.abs(got - want.log10p) <= 1e-6 + printed, `${id}: -log10 p ${got} vs plink2 ${want.log10p}`);
        assert.ok(Math.abs(beta[j]! - want.beta) <= 1e-5 * Math.abs(want.beta) + 1e-9, `${id}: beta ${beta[j]} vs plink2 ${want.beta}`);
        worst = Math.max(worst, Math.abs(got - want.log10p));
      });
      console.log(`# ${label}: ${ref.rows.size} variants, largest -log10 p difference from plink2's printed value ${worst.toExponential(2)}`);
    });
  }

  test('bad categorical columns and --covar-name: one line naming the file, column, expected and found', async () => {
    await ready;
    const pheno = join(data, 'cat-pheno.tsv');
    writeSampleTable(pheno, samples, ['y'], (i) => base.phenotype[i]!);
    const one = join(data, 'cat-one.tsv');
    writeCovar(one, (i) => (i % 3 === 0 ? 'NA' : 'F'));
    const many = join(data, 'cat-many.tsv');
    // Sixty batches of a few samples each: a column of ids more than a factor.
    writeCovar(many, (i) => `batch${i % 60}`);
    const typo = join(data, 'cat-typo.tsv');
    // A numeric column with one typo.
    writeCovar(typo, (i) => (i === 5 ? '1.2.3' : String(i % 4)));
    const good = join(data, 'cat-good.tsv');
    writeCovar(good);
    const cases: [string, string[], RegExp][] = [
      [
        'one level',
        ['--covar', one],
        /cat-one\.tsv:3 \(column 3 'site'\): expected a number, or at least two levels of a categorical covariate, found the one level 'F' on every row with a value/,
      ],
      [
        'too many levels',
        ['--covar', many],
        /cat-many\.tsv:2 \(column 3 'site'\): expected a number, or at most 50 levels of a categorical covariate, found more than 50 distinct names, the first 'batch0' here/,
      ],
      [
        'numbers and a name',
        ['--covar', typo],
        /cat-typo\.tsv:7 \(column 3 'site'\): expected a number, found '1\.2\.3' \(the column holds numbers, '0' on line 2; the levels of a categorical covariate may not be numbers, as in plink2\)/,
      ],
      [
        'unknown --covar-name',
        ['--covar', good, '--covar-name', 'site', 'height'],
        /cat-good\.tsv: expected a column named 'height', found none; the columns are: site, age/,
      ],
      ['--covar-name without --covar', ['--covar-name', 'site'], /--covar-name: goes with --covar FILE, found no --covar/],
    ];
    for (const [name, args, message] of cases) {
      const out = freshDir(`bad-cat-${name.replace(/\W/g, '')}`);
      assertRejected(lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, ...args, '--out', join(out, 'o')), message, out);
    }
  });
});

const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';
const EXPR = 'data/structlmm/expr.csv';

describe("limix's traits x samples expression table", () => {
  sharedTest('--pheno-layout traits-by-samples: gene1 and gene26 as the samples x traits table the library reads', [`${STRUCT}.bed`, EXPR], async () => {
    const out = freshDir('expr');
    const expr = await readTable(SHARED + EXPR, { transposed: true, key: 'iid', columns: ['gene1', 'gene26'] });
    const src = await openBed(SHARED + STRUCT);
    const fam = { fid: [...src.samples.fid], iid: [...src.samples.iid] };
    await src.close();
    // expr.csv's columns are .fam positions 0..273.
    const n = fam.iid.length;
    const pheno = join(out, 'pheno.tsv');
    writeSampleTable(pheno, fam, ['gene1', 'gene26'], (i, c) => expr.values.data[Number(expr.ids.iid[i]) + c * n]!);
    const region = ['--region', '22:17500000-18000000'];
    const r = ok([
      'gwas',
      '--bfile',
      SHARED + STRUCT,
      '--pheno',
      SHARED + EXPR,
      '--pheno-layout',
      'traits-by-samples',
      '--pheno-name',
      'gene1',
      'gene26',
      ...region,
      '--out',
      join(out, 't'),
    ]);
    assert.match(r.stdout, /positions 0\.\.N-1 or 1\.\.N: column k is genotype sample k/);
    ok(['gwas', '--bfile', SHARED + STRUCT, '--pheno', pheno, ...region, '--out', join(out, 'r')]);
    for (const g of ['gene1', 'gene26']) {
      const t = readFileSync(join(out, `t.${g}.tsv`), 'utf8');
      assert.ok(t.split('\n').length > 100, `${g}: variants tested`);
      assert.equal(t, readFileSync(join(out, `r.${g}.tsv`), 'utf8'), g);
    }
  });

  test('a traits-by-samples table whose header names no genotype sample is refused; --ids iid matches by id', async () => {
    await ready;
    const t = join(data, 'expr-ids.csv');
    const cols = samples.iid.map((_, i) => i);
    writeFileSync(t, `,${cols.map((i) => samples.iid[(i * 7) % N]).join(',')}\ngeneA,${cols.map((i) => y((i * 7) % N, 0)).join(',')}\n`);
    const out = freshDir('expr-ids');
    ok(['gwas', '--bfile', prefix, '--pheno', t, '--pheno-layout', 'traits-by-samples', '--out', join(out, 'a')]);
    const pheno = join(data, 'expr-ids-rows.tsv');
    writeSampleTable(pheno, samples, ['geneA'], (i) => y(i, 0));
    ok(['gwas', '--bfile', prefix, '--pheno', pheno, '--out', join(out, 'b')]);
    assert.equal(readFileSync(join(out, 'a.geneA.tsv'), 'utf8'), readFileSync(join(out, 'b.geneA.tsv'), 'utf8'), 'matched by id, shuffled columns');
    const bad = join(data, 'expr-bad.csv');
    writeFileSync(bad, `,${cols.map((i) => `X${i}`).join(',')}\ngeneA,${cols.map((i) => y(i, 0)).join(',')}\n`);
    const o2 = freshDir('expr-bad');
    assertRejected(
      lmmkit('gwas', '--bfile', prefix, '--pheno', bad, '--pheno-layout', 'traits-by-samples', '--out', join(o2, 'o')),
      /expr-bad\.csv:1: expected the header's sample ids to be IIDs of .*g\.bed or the positions 0\.\.159 \(or 1\.\.160\), found 0 of 160 ids named there \(the first: 'X0'\); give --ids iid or none/,
      o2,
    );
  });
});

toolTest(
  'a .psam (plink2 --make-pgen of a .fam with a phenotype): --pfile without --pheno reads PHENO1 as a --pheno table of its values',
  'plink2',
  async () => {
    const fam = await famWithPhenotypes('fam-psam', 1);
    const out = freshDir('psam');
    const p = join(out, 'p');
    const r = spawnSync('plink2', ['--bfile', fam, '--make-pgen', '--out', p], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(readFileSync(`${p}.psam`, 'utf8'), /^#FID\tIID\tSEX\tPHENO1\n/);
    ok(['gwas', '--pfile', p, '--out', join(out, 'psam')]);
    // plink2 rounds the phenotype it writes: the table holds the .psam's own text.
    const pheno = join(out, 'pheno.txt');
    const rows = readFileSync(`${p}.psam`, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'));
    writeFileSync(pheno, `FID IID y\n${rows.map((f) => `${f[0]} ${f[1]} ${f[3]}`).join('\n')}\n`);
    ok(['gwas', '--pfile', p, '--pheno', pheno, '--out', join(out, 'table')]);
    assert.equal(readFileSync(join(out, 'psam.PHENO1.tsv'), 'utf8'), readFileSync(join(out, 'table.y.tsv'), 'utf8'));
  },
);
