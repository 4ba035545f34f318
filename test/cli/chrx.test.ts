// chrX and chrY in `lmmkit gwas` as `plink2 --glm` scans them by default:
// on a synthetic fileset with sexes (males haploid on X and Y, written as
// homozygous), lmmkit's OLS scan gives plink2's p-values on every
// chromosome under --xchr-model 2 and 1, with sex a covariate on chrX.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { Rng } from '../../src/sim/rng.js';
import { tCdf } from '../../src/stats/t.js';
import { assertRejected, column, lmmkit, readTsv, scratchDir } from '../cli-support.js';
import { toolTest } from '../support.js';

const N = 240;
const UNKNOWN = 7;
const CHROMS = ['1', '1', '1', '1', 'X', 'X', 'X', 'X', 'X', 'Y', 'Y', 'Y', 'XY', 'XY', '2', '2'];

/** PREFIX.bed/.bim/.fam with sexes in the .fam (the first UNKNOWN samples unknown), and a phenotype with a chrX effect and a sex effect. */
async function writeData(dir: string, sexes = true): Promise<{ prefix: string; pheno: string; sex: Int8Array }> {
  const rng = new Rng(14);
  const sex = Int8Array.from({ length: N }, (_, i) => (i < UNKNOWN ? 0 : rng.uniform() < 0.5 ? 1 : 2));
  const g = new Matrix(N, CHROMS.length);
  CHROMS.forEach((c, j) => {
    const p = 0.15 + 0.3 * rng.uniform();
    for (let i = 0; i < N; i++) {
      const haploid = (c === 'X' && sex[i] === 1) || c === 'Y';
      // Males carry one allele on X and Y (written 0/2); chrY of non-males is 0 (plink2 leaves them out).
      const d = c === 'Y' && sex[i] !== 1 ? 0 : haploid ? 2 * (rng.uniform() < p ? 1 : 0) : rng.dosage(p);
      g.data[i + j * N] = d;
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
  writeFileSync(`${prefix}.fam`, fid.map((f, i) => `${f} ${iid[i]} 0 0 ${sexes ? sex[i] : 0} -9\n`).join(''));
  const pheno = join(dir, 'pheno.txt');
  const y = Array.from({ length: N }, (_, i) => rng.normal() + 0.4 * g.data[i + 5 * N]! + (sex[i] === 1 ? 0.6 : 0));
  writeFileSync(pheno, `FID IID y\n${fid.map((f, i) => `${f} ${iid[i]} ${y[i]}`).join('\n')}\n`);
  return { prefix, pheno, sex };
}

/** plink2's -log10 p (and observations, beta) per variant id, from its .glm.linear ADD rows. */
function plink2Glm(prefix: string, pheno: string, model: number, out: string): Map<string, { log10p: number; printed: number; n: number; beta: number }> {
  const r = spawnSync('plink2', ['--bfile', prefix, '--pheno', pheno, '--glm', 'allow-no-covars', 'log10', '--xchr-model', String(model), '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const rows = readFileSync(`${out}.y.glm.linear`, 'utf8').trimEnd().split('\n');
  const header = rows[0]!.replace(/^#/, '').split('\t');
  const col = (name: string): number => header.indexOf(name);
  const m = new Map<string, { log10p: number; printed: number; n: number; beta: number }>();
  for (const line of rows.slice(1)) {
    const f = line.split('\t');
    if (f[col('TEST')] !== 'ADD') continue;
    // plink2 may count the other allele (A1): the sign of beta follows it.
    const flip = f[col('A1')] !== 'A' ? -1 : 1;
    const log10p = Number(f[col('LOG10_P')]);
    // plink2 prints 6 significant digits: half a unit of the last one is its rounding.
    const printed = log10p > 0 ? 0.5 * 10 ** (Math.floor(Math.log10(log10p)) - 5) : 0;
    m.set(f[col('ID')]!, { log10p, printed, n: Number(f[col('OBS_CT')]), beta: flip * Number(f[col('BETA')]) });
  }
  return m;
}

/**
 * plink2's t-test -log10 p from lmmkit's OLS row: the same regression gives
 * the same beta and se (the alternative's residual variance), and plink2
 * refers t = beta / se to Student's t with n - k - 1 degrees of freedom (k
 * covariates with the intercept); lmmkit's own p refers the Wald chi2 to
 * chi2(1), as limix does.
 */
function tTestLog10p(beta: number, se: number, n: number, k: number): number {
  return -Math.log10(2 * tCdf(-Math.abs(beta / se), n - k - 1));
}

for (const model of [2, 1]) {
  toolTest(
    `gwas --xchr-model ${model}: chrX, chrY and the autosomes equal plink2 --glm within 1e-6 in -log10 p (beyond its 6-digit print)`,
    'plink2',
    async () => {
      const dir = scratchDir('lmmkit-chrx-');
      const { prefix, pheno, sex } = await writeData(dir);
      const ref = plink2Glm(prefix, pheno, model, join(dir, 'plink2'));
      const out = join(dir, 'out');
      const r = lmmkit(
        'gwas',
        '--bfile',
        prefix,
        '--pheno',
        pheno,
        '--maf',
        '0',
        '--max-missing',
        '1',
        '--xchr-model',
        String(model),
        '--digits',
        '17',
        '--out',
        out,
      );
      assert.equal(r.status, 0, r.stderr);
      const tsv = readTsv(`${out}.y.tsv`);
      const ids = column(tsv, 'id');
      assert.deepEqual(
        ids,
        CHROMS.map((_, j) => `v${j}`),
        'every variant, in file order',
      );
      const report = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
      const sx = report.traits[0].sexChromosomes;
      const males = Array.from(sex).filter((s) => s === 1).length;
      assert.equal(sx.xchrModel, model);
      assert.deepEqual(sx.x.covariates, ['intercept', 'sex']);
      assert.equal(sx.x.samples, N - UNKNOWN);
      assert.equal(sx.x.samplesDropped, UNKNOWN);
      assert.equal(sx.y.samples, males);
      assert.deepEqual(sx.y.covariates, ['intercept']);
      const se = column(tsv, 'se').map(Number);
      const n = column(tsv, 'n').map(Number);
      const beta = column(tsv, 'beta').map(Number);
      let worst = 0;
      ids.forEach((id, j) => {
        const want = ref.get(id);
        assert.ok(want !== undefined, `plink2 tested ${id}`);
        const chrom = CHROMS[j]!;
        assert.equal(n[j], want.n, `${id} (${chrom}): observations`);
        const k = chrom === 'X' ? 2 : 1;
        const got = tTestLog10p(beta[j]!, se[j]!, n[j]!, k);
        // --digits 17: lmmkit's beta and se as computed, so only plink2's print rounds.
        assert.ok(Math.abs(got - want.log10p) <= 1e-6 + want.printed, `${id} (${chrom}): -log10 p ${got} vs plink2 ${want.log10p}`);
        worst = Math.max(worst, Math.abs(got - want.log10p));
        // plink2 prints 6 significant digits; the coding of males (0..1 or 0..2) shows in beta.
        assert.ok(Math.abs(beta[j]! - want.beta) <= 1e-5 * Math.abs(want.beta) + 1e-9, `${id} (${chrom}): beta ${beta[j]} vs plink2 ${want.beta}`);
      });
      console.log(`# --xchr-model ${model}: largest -log10 p difference from plink2's printed value: ${worst.toExponential(2)}`);
    },
  );
}

test('gwas: the autosomes of a fileset with chrX give the rows of the same scan without chrX', async () => {
  const dir = scratchDir('lmmkit-chrx-auto-');
  const { prefix, pheno } = await writeData(dir);
  const all = join(dir, 'all');
  const auto = join(dir, 'auto');
  assert.equal(lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--maf', '0', '--out', all).status, 0);
  assert.equal(lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--maf', '0', '--chr', '1,2,XY', '--out', auto).status, 0);
  const rowsAll = readTsv(`${all}.y.tsv`).rows.filter((r) => ['1', '2', 'XY'].includes(r[0]!));
  assert.deepEqual(rowsAll, readTsv(`${auto}.y.tsv`).rows);
  const report = JSON.parse(readFileSync(`${auto}.json`, 'utf8'));
  assert.equal(report.traits[0].sexChromosomes, undefined, 'no sexChromosomes entry without chrX/chrY variants');
});

test('gwas --xchr-model 0 skips chrX; a kinship null on chrX has the sex covariate', async () => {
  const dir = scratchDir('lmmkit-chrx-kin-');
  const { prefix, pheno } = await writeData(dir);
  const skip = join(dir, 'skip');
  assert.equal(lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--maf', '0', '--xchr-model', '0', '--out', skip).status, 0);
  const chroms = column(readTsv(`${skip}.y.tsv`), 'chrom');
  assert.ok(!chroms.includes('X') && chroms.includes('Y'), chroms.join(' '));
  assert.equal(JSON.parse(readFileSync(`${skip}.json`, 'utf8')).traits[0].sexChromosomes.xSkipped, 5);
  const kin = join(dir, 'kin');
  const r = lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--maf', '0', '--kinship-from-bfile', '--out', kin);
  assert.equal(r.status, 0, r.stderr);
  const x = JSON.parse(readFileSync(`${kin}.json`, 'utf8')).traits[0].sexChromosomes.x;
  assert.equal(x.nullModel.model, 'kinship');
  assert.deepEqual(Object.keys(x.nullModel.beta), ['intercept', 'sex']);
  assert.equal(x.samples, N - UNKNOWN);
});

test('gwas refuses --xchr-model 3, and chrX variants with no sex in the .fam', async () => {
  const dir = scratchDir('lmmkit-chrx-bad-');
  const { prefix, pheno } = await writeData(dir, false);
  const out = join(dir, 'out');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(out);
  assertRejected(
    lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--xchr-model', '3', '--out', join(out, 'r')),
    /--xchr-model: expected 0, 1 or 2.*found 3/,
    out,
  );
  assertRejected(
    lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--out', join(out, 'r')),
    /x\.fam: 5 chrX and 3 chrY variants selected: expected the sex of the samples.*found no sample of known sex/,
    out,
  );
  // Without chrX and chrY the same files run.
  assert.equal(lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--chr', '1', '--out', join(dir, 'ok')).status, 0);
});

test('mtgwas takes the sex-chromosome model of gwas (no warning that it scans them like the autosomes)', async () => {
  const dir = scratchDir('lmmkit-chrx-mt-');
  const { prefix } = await writeData(dir);
  const pheno = join(dir, 'pheno2.txt');
  const rng = new Rng(3);
  writeFileSync(pheno, `FID IID a b\n${Array.from({ length: N }, (_, i) => `F${i} I${i} ${rng.normal()} ${rng.normal()}`).join('\n')}\n`);
  const r = lmmkit('mtgwas', '--bfile', prefix, '--pheno', pheno, '--kinship-from-bfile', '--out', join(dir, 'mt'));
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /scanned like the autosomes/);
  const sx = JSON.parse(readFileSync(join(dir, 'mt.json'), 'utf8')).sexChromosomes;
  assert.equal(sx.x.samples, N - UNKNOWN);
  assert.deepEqual(sx.x.covariates, ['intercept', 'sex']);
});
