// Sex from a phenotype or covariate column (--sex-col), mtgwas's chrX/chrY
// model and MT coded haploid, on a synthetic fileset with sexes: MT and the
// other chromosomes against plink2 --glm, --sex-col against the .fam's
// sexes, and mtgwas on chrX against the same model built by hand.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { Rng } from '../../src/sim/rng.js';
import { assertRejected, column, lmmkit, readTsv, scratchDir } from '../cli-support.js';
import { toolTest } from '../support.js';

const N = 200;
const UNKNOWN = 6;
const CHROMS = ['1', '1', '1', 'X', 'X', 'X', 'X', 'Y', 'Y', 'XY', 'XY', 'MT', 'MT', 'MT', '2', '2'];
const SEX_TEXT = ['NA', 'M', 'F'] as const;

interface Data {
  prefix: string;
  /** FID IID y z sex (sex as M, F, NA). */
  pheno: string;
  sex: Int8Array;
}

/**
 * PREFIX.bed/.bim/.fam (`famSex` gives the .fam's sex column) and a
 * phenotype table with two traits and a sex column. Males carry one allele
 * on X and Y (written 0/2); MT holds heterozygous calls too (plink2 keeps
 * them, halved).
 */
async function writeData(dir: string, famSex: (sex: number) => number = (s) => s): Promise<Data> {
  const rng = new Rng(26);
  const sex = Int8Array.from({ length: N }, (_, i) => (i < UNKNOWN ? 0 : rng.uniform() < 0.5 ? 1 : 2));
  const g = new Matrix(N, CHROMS.length);
  CHROMS.forEach((c, j) => {
    const p = 0.15 + 0.3 * rng.uniform();
    for (let i = 0; i < N; i++) {
      const haploid = (c === 'X' && sex[i] === 1) || c === 'Y';
      g.data[i + j * N] = c === 'Y' && sex[i] !== 1 ? 0 : haploid ? 2 * (rng.uniform() < p ? 1 : 0) : rng.dosage(p);
    }
  });
  const fid = Array.from({ length: N }, (_, i) => `F${i}`);
  const iid = Array.from({ length: N }, (_, i) => `I${i}`);
  const prefix = join(dir, 'x');
  await writeBed(
    prefix,
    g,
    { fid, iid },
    {
      chrom: CHROMS,
      id: CHROMS.map((_, j) => `v${j}`),
      cm: Float64Array.from(CHROMS, () => 0),
      pos: Float64Array.from(CHROMS, (_, j) => 1000 + j),
      a1: CHROMS.map(() => 'A'),
      a2: CHROMS.map(() => 'C'),
    },
  );
  writeFileSync(`${prefix}.fam`, fid.map((f, i) => `${f} ${iid[i]} 0 0 ${famSex(sex[i]!)} -9\n`).join(''));
  const pheno = join(dir, 'pheno.txt');
  const rows = fid.map((f, i) => {
    const y = rng.normal() + 0.4 * g.data[i + 4 * N]! + 0.3 * g.data[i + 12 * N]! + (sex[i] === 1 ? 0.6 : 0);
    const z = rng.normal() + 0.5 * y;
    return `${f} ${iid[i]} ${y} ${z} ${SEX_TEXT[sex[i]!]}`;
  });
  writeFileSync(pheno, `FID IID y z sex\n${rows.join('\n')}\n`);
  return { prefix, pheno, sex };
}

/** plink2's beta (sign for allele A) and OBS_CT per variant id, from its .glm.linear ADD rows. */
function plink2Betas(prefix: string, pheno: string, out: string): Map<string, { beta: number; n: number }> {
  const r = spawnSync('plink2', ['--bfile', prefix, '--pheno', pheno, '--pheno-name', 'y', '--glm', 'allow-no-covars', '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const rows = readFileSync(`${out}.y.glm.linear`, 'utf8').trimEnd().split('\n');
  const header = rows[0]!.replace(/^#/, '').split('\t');
  const col = (name: string): number => header.indexOf(name);
  const m = new Map<string, { beta: number; n: number }>();
  for (const line of rows.slice(1)) {
    const f = line.split('\t');
    if (f[col('TEST')] !== 'ADD') continue;
    m.set(f[col('ID')]!, { beta: (f[col('A1')] === 'A' ? 1 : -1) * Number(f[col('BETA')]), n: Number(f[col('OBS_CT')]) });
  }
  return m;
}

toolTest('gwas: MT, XY, chrX, chrY and autosome betas equal plink2 --glm (6 digits), sexes from .fam or from --sex-col', 'plink2', async () => {
  const dir = scratchDir('lmmkit-sexmodel-mt-');
  const { prefix, pheno } = await writeData(dir);
  // plink2 reads sex from the .fam; the --sex-col run reads a .fam without sexes.
  const ref = plink2Betas(prefix, pheno, join(dir, 'plink2'));
  const noSex = join(dir, 'nosex');
  for (const ext of ['bed', 'bim']) copyFileSync(`${prefix}.${ext}`, `${noSex}.${ext}`);
  writeFileSync(`${noSex}.fam`, readFileSync(`${prefix}.fam`, 'utf8').replace(/ [012] -9$/gm, ' 0 -9'));
  for (const [name, args] of [
    ['fam', ['--bfile', prefix]],
    ['sexcol', ['--bfile', noSex, '--sex-col', 'sex']],
  ] as const) {
    const out = join(dir, name);
    const r = lmmkit('gwas', ...args, '--pheno', pheno, '--pheno-col', 'y', '--maf', '0', '--max-missing', '1', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const tsv = readTsv(`${out}.y.tsv`);
    const ids = column(tsv, 'id');
    const beta = column(tsv, 'beta').map(Number);
    const n = column(tsv, 'n').map(Number);
    assert.equal(ids.length, CHROMS.length);
    ids.forEach((id, j) => {
      const want = ref.get(id);
      assert.ok(want !== undefined, `plink2 tested ${id}`);
      assert.equal(n[j], want.n, `${name} ${id} (${CHROMS[j]}): observations`);
      assert.ok(Math.abs(beta[j]! - want.beta) <= 5e-6 * Math.abs(want.beta) + 1e-9, `${name} ${id} (${CHROMS[j]}): beta ${beta[j]} vs plink2 ${want.beta}`);
    });
    const sx = JSON.parse(readFileSync(`${out}.json`, 'utf8')).traits[0].sexChromosomes;
    assert.deepEqual(sx.mt, { variants: 3, coding: 'haploid' });
    if (name === 'sexcol') assert.deepEqual(sx.sexColumn, { file: pheno, column: 'sex', known: N - UNKNOWN, changed: N - UNKNOWN });
  }
});

test('gwas --sex-col: overrides the .fam sexes (the scan of the true sexes), from --pheno or --covar, never a trait or covariate', async () => {
  const dir = scratchDir('lmmkit-sexmodel-col-');
  mkdirSync(join(dir, 'truth'));
  mkdirSync(join(dir, 'flipped'));
  const truth = await writeData(join(dir, 'truth'));
  // Every known sex of the .fam swapped and the unknown ones made male: --sex-col must win.
  const flipped = await writeData(join(dir, 'flipped'), (s) => (s === 1 ? 2 : 1));
  const base = join(dir, 'base');
  assert.equal(lmmkit('gwas', '--bfile', truth.prefix, '--pheno', truth.pheno, '--pheno-col', 'y', 'z', '--maf', '0', '--out', base).status, 0);
  const viaPheno = join(dir, 'viapheno');
  const r = lmmkit('gwas', '--bfile', flipped.prefix, '--pheno', flipped.pheno, '--sex-col', 'sex', '--maf', '0', '--out', viaPheno);
  assert.equal(r.status, 0, r.stderr);
  for (const t of ['y', 'z']) assert.equal(readFileSync(`${viaPheno}.${t}.tsv`, 'utf8'), readFileSync(`${base}.${t}.tsv`, 'utf8'), `trait ${t}`);
  const report = JSON.parse(readFileSync(`${viaPheno}.json`, 'utf8'));
  assert.deepEqual(
    report.traits.map((t: { trait: string }) => t.trait),
    ['y', 'z'],
    'the sex column is not a trait',
  );
  assert.deepEqual(report.traits[0].sexChromosomes.sexColumn, { file: flipped.pheno, column: 'sex', known: N - UNKNOWN, changed: N });
  assert.deepEqual(report.traits[0].sexChromosomes.x.covariates, ['intercept', 'sex']);
  // The same column in the covariate table: read as sex, not as a covariate.
  const covar = join(dir, 'covar.txt');
  const lines = readFileSync(flipped.pheno, 'utf8').trimEnd().split('\n');
  writeFileSync(
    covar,
    `${lines
      .map((l) =>
        l
          .split(' ')
          .filter((_, c) => c !== 2 && c !== 3)
          .join(' '),
      )
      .join('\n')}\n`,
  );
  // The phenotype table's column comes first: this one has none.
  const phenoOnly = join(dir, 'pheno-only.txt');
  writeFileSync(phenoOnly, `${lines.map((l) => l.split(' ').slice(0, 4).join(' ')).join('\n')}\n`);
  const viaCovar = join(dir, 'viacovar');
  const rc = lmmkit('gwas', '--bfile', flipped.prefix, '--pheno', phenoOnly, '--covar', covar, '--sex-col', 'sex', '--maf', '0', '--out', viaCovar);
  assert.equal(rc.status, 0, rc.stderr);
  assert.equal(readFileSync(`${viaCovar}.y.tsv`, 'utf8'), readFileSync(`${base}.y.tsv`, 'utf8'));
  const rep = JSON.parse(readFileSync(`${viaCovar}.json`, 'utf8'));
  assert.deepEqual(rep.traits[0].covariates, ['intercept']);
  assert.equal(rep.traits[0].sexChromosomes.sexColumn.file, covar);
});

test('gwas --sex-col refuses a bad sex code (file, line, column, sample, what was found) and a missing column', async () => {
  const dir = scratchDir('lmmkit-sexmodel-bad-');
  const { prefix, pheno } = await writeData(dir);
  const out = join(dir, 'out');
  mkdirSync(out);
  const bad = join(dir, 'bad.txt');
  const lines = readFileSync(pheno, 'utf8').split('\n');
  lines[7] = lines[7]!.replace(/ \S+$/, ' male');
  writeFileSync(bad, lines.join('\n'));
  assertRejected(
    lmmkit('gwas', '--bfile', prefix, '--pheno', bad, '--sex-col', 'sex', '--out', join(out, 'r')),
    /bad\.txt:8 \(column 5 'sex'\): sample 'F6 I6': expected a sex code \(1, M or m male; 2, F or f female; 0, NA, -9, \., N, U or u unknown\), found 'male'/,
    out,
  );
  // Sexes coded 1/2/0 (numbers: the table reads without --sex-col), asked for under another name.
  const numeric = join(dir, 'numeric.txt');
  writeFileSync(numeric, readFileSync(pheno, 'utf8').replace(/ M$/gm, ' 1').replace(/ F$/gm, ' 2').replace(/ NA$/gm, ' 0'));
  assertRejected(
    lmmkit('gwas', '--bfile', prefix, '--pheno', numeric, '--sex-col', 'gender', '--out', join(out, 'r')),
    /numeric\.txt: --sex-col gender: expected a column named 'gender' in the header of .*numeric\.txt, found none \(columns: y, z, sex\)/,
    out,
  );
  assertRejected(
    lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 'sex', '--sex-col', 'sex', '--out', join(out, 'r')),
    /--sex-col: .*found 'sex'/,
    out,
  );
});

/** The pvalue_any and beta_any columns of an mtgwas TSV. */
function mtColumns(path: string): { id: string[]; p: number[]; beta: number[] } {
  const t = readTsv(path);
  return { id: column(t, 'id'), p: column(t, 'pvalue_any').map(Number), beta: column(t, 'beta_any').map(Number) };
}

test('mtgwas on chrX: one trait equals the same model built by hand (1e-9) and gwas (kinship null); two traits report their sex nulls', async () => {
  const dir = scratchDir('lmmkit-sexmodel-mt-');
  const { prefix, pheno, sex } = await writeData(dir);
  const kin = join(dir, 'k.tsv');
  assert.equal(lmmkit('kinship', '--bfile', prefix, '--out', kin).status, 0);
  const mt = join(dir, 'mt');
  const r = lmmkit(
    'mtgwas',
    '--bfile',
    prefix,
    '--pheno',
    pheno,
    '--pheno-col',
    'y',
    '--sex-col',
    'sex',
    '--kinship',
    kin,
    '--test',
    'any',
    '--maf',
    '0',
    '--chr',
    'X',
    '--out',
    mt,
  );
  assert.equal(r.status, 0, r.stderr);
  // By hand: the chrX variants renamed to chromosome 3, the samples of unknown sex removed, sex a covariate.
  const hand = join(dir, 'hand');
  copyFileSync(`${prefix}.bed`, `${hand}.bed`);
  copyFileSync(`${prefix}.fam`, `${hand}.fam`);
  writeFileSync(`${hand}.bim`, readFileSync(`${prefix}.bim`, 'utf8').replace(/^X\t/gm, '3\t'));
  const remove = join(dir, 'unknown.txt');
  writeFileSync(remove, `${Array.from({ length: UNKNOWN }, (_, i) => `F${i} I${i}`).join('\n')}\n`);
  const covar = join(dir, 'sexcov.txt');
  writeFileSync(covar, `FID IID sex\n${Array.from(sex, (s, i) => `F${i} I${i} ${s === 0 ? 'NA' : s}`).join('\n')}\n`);
  const h = lmmkit(
    'mtgwas',
    '--bfile',
    hand,
    '--pheno',
    pheno,
    '--pheno-col',
    'y',
    '--remove',
    remove,
    '--covar',
    covar,
    '--kinship',
    kin,
    '--test',
    'any',
    '--maf',
    '0',
    '--chr',
    '3',
    '--out',
    join(dir, 'handout'),
  );
  assert.equal(h.status, 0, h.stderr);
  const got = mtColumns(`${mt}.tsv`);
  const want = mtColumns(join(dir, 'handout.tsv'));
  assert.deepEqual(got.id, want.id);
  assert.equal(got.id.length, 4);
  // Equal to 1e-9 before printing: the same 6 significant digits but for a rounding boundary between them.
  got.p.forEach((p, j) => {
    assert.ok(Math.abs(p - want.p[j]!) <= 1e-5 * want.p[j]!, `${got.id[j]}: p ${p} vs ${want.p[j]}`);
    assert.ok(Math.abs(got.beta[j]! - want.beta[j]!) <= 1e-5 * Math.abs(want.beta[j]!), `${got.id[j]}: beta ${got.beta[j]} vs ${want.beta[j]}`);
  });
  // gwas fits the same REML null with its own optimiser: the same p-values to its convergence.
  const gw = join(dir, 'gw');
  assert.equal(
    lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 'y', '--sex-col', 'sex', '--kinship', kin, '--maf', '0', '--chr', 'X', '--out', gw)
      .status,
    0,
  );
  const gp = column(readTsv(`${gw}.y.tsv`), 'pvalue').map(Number);
  let worst = 0;
  got.p.forEach((p, j) => {
    worst = Math.max(worst, Math.abs(Math.log10(p) - Math.log10(gp[j]!)));
  });
  // The same comparison on the autosomes: what the two optimisers leave apart anyway.
  const mtAuto = join(dir, 'mtauto');
  const gwAuto = join(dir, 'gwauto');
  const common = ['--pheno', pheno, '--pheno-col', 'y', '--kinship', kin, '--maf', '0', '--chr', '1,2'];
  assert.equal(lmmkit('mtgwas', '--bfile', prefix, ...common, '--test', 'any', '--out', mtAuto).status, 0);
  assert.equal(lmmkit('gwas', '--bfile', prefix, ...common, '--out', gwAuto).status, 0);
  const ga = column(readTsv(`${gwAuto}.y.tsv`), 'pvalue').map(Number);
  let worstAuto = 0;
  mtColumns(`${mtAuto}.tsv`).p.forEach((p, j) => {
    worstAuto = Math.max(worstAuto, Math.abs(Math.log10(p) - Math.log10(ga[j]!)));
  });
  console.log(`# one-trait mtgwas vs gwas, largest |log10 p| difference: chrX ${worst.toExponential(2)}, autosomes ${worstAuto.toExponential(2)}`);
  assert.ok(worst <= 1e-5 && worstAuto <= 1e-5, `mtgwas vs gwas: chrX ${worst}, autosomes ${worstAuto}`);

  // Two traits, every class: the report says what was done.
  const two = join(dir, 'two');
  const r2 = lmmkit('mtgwas', '--bfile', prefix, '--pheno', pheno, '--sex-col', 'sex', '--kinship', kin, '--maf', '0', '--out', two);
  assert.equal(r2.status, 0, r2.stderr);
  const rep = JSON.parse(readFileSync(`${two}.json`, 'utf8'));
  const males = Array.from(sex).filter((s) => s === 1).length;
  assert.deepEqual(rep.traits, ['y', 'z']);
  const sx = rep.sexChromosomes;
  assert.equal(sx.xchrModel, 2);
  assert.equal(sx.x.variants, 4);
  assert.equal(sx.x.samples, N - UNKNOWN);
  assert.deepEqual(sx.x.covariates, ['intercept', 'sex']);
  assert.equal(sx.y.samples, males);
  assert.deepEqual(sx.y.covariates, ['intercept']);
  assert.deepEqual(sx.mt, { variants: 3, coding: 'haploid' });
  assert.equal(column(readTsv(`${two}.tsv`), 'id').length, CHROMS.length);
  const n = column(readTsv(`${two}.tsv`), 'n').map(Number);
  assert.deepEqual([n[3], n[7], n[0]], [N - UNKNOWN, males, N]);
});

toolTest('gwas --vcf --sex-col: the VCF export of the fileset (no sex in it) scans chrX, chrY and MT as the .bed with its .fam sexes', 'plink2', async () => {
  const dir = scratchDir('lmmkit-sexmodel-vcf-');
  const { prefix, pheno } = await writeData(dir);
  const vcf = join(dir, 'x');
  const e = spawnSync('plink2', ['--bfile', prefix, '--export', 'vcf', 'bgz', 'id-paste=iid', '--out', vcf], { encoding: 'utf8' });
  assert.equal(e.status, 0, e.stderr + e.stdout);
  const bed = join(dir, 'bed');
  const fromVcf = join(dir, 'vcf');
  const common = ['--pheno', pheno, '--pheno-col', 'y', '--maf', '0', '--max-missing', '1'];
  assert.equal(lmmkit('gwas', '--bfile', prefix, ...common, '--out', bed).status, 0);
  const r = lmmkit('gwas', '--vcf', `${vcf}.vcf.gz`, ...common, '--sex-col', 'sex', '--out', fromVcf);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /scanned like the autosomes/);
  const a = readTsv(`${bed}.y.tsv`);
  const b = readTsv(`${fromVcf}.y.tsv`);
  assert.deepEqual(column(b, 'id'), column(a, 'id'));
  assert.deepEqual(column(b, 'n'), column(a, 'n'));
  for (const name of ['beta', 'pvalue']) {
    const x = column(a, name).map(Number);
    const y = column(b, name).map(Number);
    for (let j = 0; j < x.length; j++) {
      assert.ok(Math.abs(y[j]! - x[j]!) <= 1e-9 * Math.abs(x[j]!), `${column(a, 'id')[j]} (${CHROMS[j]}): ${name} ${y[j]} vs ${x[j]}`);
    }
  }
  const sx = JSON.parse(readFileSync(`${fromVcf}.json`, 'utf8')).traits[0].sexChromosomes;
  assert.deepEqual(sx.sexColumn, { file: pheno, column: 'sex', known: N - UNKNOWN });
});
