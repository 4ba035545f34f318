// `lmmkit gwas` and `lmmkit demo`, run as a user runs them (the built CLI in
// a child process): outputs checked against the scan engine called directly,
// the demo against its own truth, and every bad input against exit status 2,
// a one-line message naming the culprit and an untouched output folder.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Matrix } from '../../src/linalg/matrix.js';
import { gaussianize } from '../../src/data/gaussianize.js';
import { kinship } from '../../src/data/kinship.js';
import { openBed } from '../../src/data/node/bed.js';
import { readTable } from '../../src/data/node/tables.js';
import { fitKinshipNull } from '../../src/nullmodel/fit-kinship.js';
import { fitLowRankNull } from '../../src/nullmodel/fit-lowrank.js';
import type { SingleTraitNullModel } from '../../src/nullmodel/null-model.js';
import { gwasScan } from '../../src/scan/gwas.js';
import { quickStartW as libQuickStartW } from '../../src/nullmodel/quick-start-w.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { assertRejected, column, fixturePaths, lmmkit, readTsv, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';
import { SHARED, sharedTest } from '../support.js';

const dir = scratchDir('lmmkit-gwas-');

/**
 * Asserts that the numbers written (NA = NaN) equal `expected` to their
 * rounding: 6 significant digits (relative 5e-6), or `abs` absolute
 * (lmmkit's neg_log10_p has 4 decimals).
 */
function assertClose(written: string[], expected: ArrayLike<number>, what: string, abs = 0): void {
  assert.equal(written.length, expected.length, `${what}: ${written.length} values written, ${expected.length} expected`);
  for (let i = 0; i < written.length; i++) {
    const w = written[i] === 'NA' ? Number.NaN : Number(written[i]);
    const e = expected[i]!;
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(w), `${what}[${i}]: wrote ${written[i]}, expected NaN`);
      continue;
    }
    assert.ok(Math.abs(w - e) <= 5.000001e-6 * Math.abs(e) + abs + 1e-300, `${what}[${i}]: wrote ${written[i]}, expected ${e}`);
  }
}

const SINGLE = ['chrom', 'pos', 'id', 'effect_allele', 'other_allele', 'eaf', 'n', 'beta', 'se', 'pvalue', 'neg_log10_p'];
const MULTI = ['chrom', 'pos', 'id', 'chrom_last', 'pos_last', 'id_last', 'variants', 'df', 'eaf', 'n', 'beta', 'se', 'stat', 'pvalue', 'neg_log10_p'];
const EXACT = [...SINGLE, 'lambda', 'p_wald', 'neg_log10_p_wald', 'p_lrt', 'neg_log10_p_lrt', 'p_score', 'neg_log10_p_score'];

/** -log10 of each log10 p (lmmkit's neg_log10_p column). */
const neg = (a: ArrayLike<number>): number[] => Array.from(a, (x) => -x);

const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';
const EXPR = 'data/structlmm/expr.csv';
const ENV = 'data/structlmm/env.txt';
const REGION = { chrom: '22', start: 17500000, end: 18000000 };
const REGION_TEXT = '22:17500000-18000000';
/** .fam positions where gene2 is set to NA. */
const NA_AT = [3, 10, 50, 200];

interface StructData {
  pheno: string;
  fam: { fid: string[]; iid: string[] };
  /** 274 x 2 (gene1, gene2 with NA). */
  values: Matrix;
}

let structData: StructData | undefined;
async function structPheno(): Promise<StructData> {
  if (structData !== undefined) return structData;
  const expr = await readTable(SHARED + EXPR, { transposed: true, key: 'iid', columns: ['gene1', 'gene2'] });
  const src = await openBed(SHARED + STRUCT);
  const fam = { fid: [...src.samples.fid], iid: [...src.samples.iid] };
  await src.close();
  const n = fam.iid.length;
  // expr.csv's columns are named by .fam position.
  assert.deepEqual(
    expr.ids.iid,
    Array.from({ length: n }, (_, i) => String(i)),
  );
  const values = expr.values.clone();
  for (const i of NA_AT) values.data[i + n] = Number.NaN;
  const lines = ['FID\tIID\tgene1\tgene2'];
  for (let i = 0; i < n; i++) lines.push([fam.fid[i], fam.iid[i], values.data[i], Number.isNaN(values.data[i + n]!) ? 'NA' : values.data[i + n]].join('\t'));
  const pheno = join(dir, 'struct-pheno.tsv');
  writeFileSync(pheno, `${lines.join('\n')}\n`);
  structData = { pheno, fam, values };
  return structData;
}

/** The samples with trait `t` observed, and the trait on them. */
function traitSamples(d: StructData, t: number): { samples: Int32Array; y: Float64Array } {
  const n = d.values.rows;
  const samples = Int32Array.from({ length: n }, (_, i) => i).filter((i) => !Number.isNaN(d.values.data[i + t * n]!));
  return { samples, y: Float64Array.from(samples, (i) => d.values.data[i + t * n]!) };
}

function ones(n: number): Matrix {
  return new Matrix(n, 1, new Float64Array(n).fill(1));
}

/** The quick start's W on the given rows of env.txt, computed here independently of the CLI. */
function quickStartW(env: Matrix, rows: Int32Array): Matrix {
  const cols: number[][] = [];
  for (let c = 0; c < env.cols; c++) {
    const v = Array.from(rows, (r) => env.data[r + c * env.rows]!);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    if (sd > 0) cols.push(v.map((x) => (x - mean) / sd));
  }
  const w = new Matrix(rows.length, cols.length);
  cols.forEach((col, c) => {
    col.forEach((x, i) => {
      w.data[i + c * rows.length] = x / Math.sqrt(cols.length);
    });
  });
  return w;
}

async function directScan(opts: {
  samples: Int32Array;
  y: Float64Array;
  nullModel?: SingleTraitNullModel;
  region?: boolean;
  step?: number;
  inter?: Matrix;
  test?: 'fixed' | 'exact';
}): Promise<{ ids: string[]; pv: number[]; log10pv: number[]; beta: number[]; lambda: number[]; pLrt: number[]; pScore: number[] }> {
  const source = await openBed(SHARED + STRUCT);
  const out = {
    ids: [] as string[],
    pv: [] as number[],
    log10pv: [] as number[],
    beta: [] as number[],
    lambda: [] as number[],
    pLrt: [] as number[],
    pScore: [] as number[],
  };
  try {
    for await (const b of gwasScan({
      source,
      samples: opts.samples,
      ...(opts.nullModel === undefined ? { y: opts.y, covariates: ones(opts.y.length) } : { null: opts.nullModel }),
      select: opts.region === true ? { region: REGION } : undefined,
      minMaf: 0.01,
      maxMissing: 0.05,
      step: opts.step,
      inter: opts.inter,
      test: opts.test,
    })) {
      if (b.exact !== undefined) {
        out.ids.push(...b.variants.id);
        out.pv.push(...b.exact.pWald);
        out.log10pv.push(...b.exact.log10pWald);
        out.beta.push(...b.exact.beta);
        out.lambda.push(...b.exact.lambdaReml);
        out.pLrt.push(...b.exact.pLrt);
        out.pScore.push(...b.exact.pScore);
      } else {
        const r = b.fixed!;
        const step = opts.step ?? 1;
        for (let t = 0; t < r.tests; t++) out.ids.push(b.variants.id[t * step]!);
        out.pv.push(...r.pv);
        out.log10pv.push(...r.log10pv);
        for (let t = 0; t < r.tests; t++) out.beta.push(r.beta.data[t * r.beta.rows]!);
      }
    }
  } finally {
    await source.close();
  }
  return out;
}

function regionCount(): number {
  return readFileSync(`${SHARED + STRUCT}.bim`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/))
    .filter((f) => f[0] === REGION.chrom && Number(f[3]) >= REGION.start && Number(f[3]) < REGION.end).length;
}

interface Report {
  traits: {
    trait: string;
    samples: number;
    output: string;
    nullModel: { model: string; wColumns?: number; wColumnsDropped?: number; lambda?: number; logLik: number };
    variants: { selected: number; tested: number; filtered: number; tests: number };
    match: { dropped: { fid: string; iid: string; source: string; reason: string }[] };
  }[];
}

describe('lmmkit gwas on the structlmm chr22 data', () => {
  sharedTest('--lowrank env.txt --gaussianize: two traits with their own samples, p-values equal to gwasScan', [`${STRUCT}.bed`, EXPR, ENV], async () => {
    const d = await structPheno();
    const out = join(dir, 'lr');
    const r = lmmkit('gwas', '--bfile', SHARED + STRUCT, '--pheno', d.pheno, '--lowrank', SHARED + ENV, '--gaussianize', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /trait 'gene2': observed in 270 of the kept samples/);
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Report;
    assert.deepEqual(
      report.traits.map((t) => [t.trait, t.samples]),
      [
        ['gene1', 274],
        ['gene2', 270],
      ],
    );
    assert.deepEqual(report.traits[0]!.match.dropped, []);
    const dropped2 = report.traits[1]!.match.dropped;
    assert.deepEqual(
      dropped2.map((x) => x.iid),
      NA_AT.map((i) => d.fam.iid[i]),
    );
    for (const x of dropped2) assert.equal(x.reason, `missing phenotype 'gene2' in ${d.pheno}`);
    const env = (await readTable(SHARED + ENV, { key: 'none' })).values;
    for (const [t, trait] of ['gene1', 'gene2'].entries()) {
      const rep = report.traits[t]!;
      assert.equal(rep.nullModel.model, 'lowrank');
      assert.equal(rep.nullModel.wColumns, 10, 'env.txt: 11 columns, one of zero variance');
      assert.equal(rep.nullModel.wColumnsDropped, 1);
      assert.equal(rep.variants.selected, 49008);
      const tsv = readTsv(`${out}.${trait}.tsv`);
      assert.deepEqual(tsv.header, SINGLE);
      assert.equal(tsv.rows.length, rep.variants.tests);
      assert.equal(tsv.rows.length, rep.variants.tested);
      const { samples, y } = traitSamples(d, t);
      assert.ok(column(tsv, 'n').every((v) => Number(v) === samples.length));
      const gy = gaussianize(y);
      // W as the CLI builds it (the quick start's recipe, checked against the
      // independent version here): the low-rank REML optimum is flat enough
      // that W's last-bit rounding moves p-values by ~1e-9.
      const raw = new Matrix(samples.length, env.cols);
      for (let c = 0; c < env.cols; c++) for (let i = 0; i < samples.length; i++) raw.data[i + c * samples.length] = env.data[samples[i]! + c * env.rows]!;
      const w = libQuickStartW(raw).m;
      const wRef = quickStartW(env, samples);
      assert.equal(w.cols, wRef.cols);
      for (let i = 0; i < w.data.length; i++) assert.ok(Math.abs(w.data[i]! - wRef.data[i]!) <= 1e-13, `W[${i}]`);
      const fit = fitLowRankNull({ y: gy, covariates: ones(gy.length), w });
      const direct = await directScan({ samples, y: gy, nullModel: fit });
      assert.deepEqual(column(tsv, 'id'), direct.ids);
      assertClose(column(tsv, 'pvalue'), direct.pv, `${trait} pvalue`);
      assertClose(column(tsv, 'neg_log10_p'), neg(direct.log10pv), `${trait} neg_log10_p`, 5.000001e-5);
      assertClose(column(tsv, 'beta'), direct.beta, `${trait} beta`);
    }
  });

  sharedTest(
    '--kinship-from-bfile --region --pheno-col gene2: only that trait, its kinship on its samples, p-values equal to gwasScan',
    [`${STRUCT}.bed`, EXPR],
    async () => {
      const d = await structPheno();
      const out = join(dir, 'kin');
      const r = lmmkit(
        'gwas',
        '--bfile',
        SHARED + STRUCT,
        '--pheno',
        d.pheno,
        '--pheno-col',
        'gene2',
        '--kinship-from-bfile',
        '--region',
        REGION_TEXT,
        '--out',
        out,
      );
      assert.equal(r.status, 0, r.stderr);
      assert.ok(!existsSync(`${out}.gene1.tsv`));
      const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Report;
      assert.equal(report.traits.length, 1);
      assert.equal(report.traits[0]!.samples, 270);
      assert.equal(report.traits[0]!.variants.selected, regionCount());
      const tsv = readTsv(`${out}.gene2.tsv`);
      assert.deepEqual(tsv.header, SINGLE);
      assert.equal(tsv.rows.length, regionCount(), 'no variant of this MAF >= 0.1 file is filtered');
      assert.ok(column(tsv, 'chrom').every((c) => c === '22'));
      assert.ok(column(tsv, 'pos').every((p) => Number(p) >= REGION.start && Number(p) < REGION.end));

      const { samples, y } = traitSamples(d, 1);
      const source = await openBed(SHARED + STRUCT);
      const k = await kinship(source, { method: 'standardized', samples }).finally(() => source.close());
      const fit = fitKinshipNull({ y, covariates: ones(y.length), kinship: k.k });
      assert.ok(Math.abs(report.traits[0]!.nullModel.logLik - fit.logLik) <= 1e-9 * Math.abs(fit.logLik));
      const direct = await directScan({ samples, y, nullModel: fit, region: true });
      assert.deepEqual(column(tsv, 'id'), direct.ids);
      assertClose(column(tsv, 'pvalue'), direct.pv, 'pvalue');
      assertClose(column(tsv, 'neg_log10_p'), neg(direct.log10pv), 'neg_log10_p', 5.000001e-5);

      // --test exact: GEMMA's per-variant tests, columns added.
      const ex = lmmkit(
        'gwas',
        '--bfile',
        SHARED + STRUCT,
        '--pheno',
        d.pheno,
        '--pheno-col',
        'gene2',
        '--kinship-from-bfile',
        '--region',
        REGION_TEXT,
        '--test',
        'exact',
        '--out',
        join(dir, 'exact'),
      );
      assert.equal(ex.status, 0, ex.stderr);
      const et = readTsv(join(dir, 'exact.gene2.tsv'));
      assert.deepEqual(et.header, EXACT);
      assert.equal(et.rows.length, regionCount());
      assert.deepEqual(column(et, 'pvalue'), column(et, 'p_wald'));
      const de = await directScan({ samples, y, nullModel: fit, region: true, test: 'exact' });
      assertClose(column(et, 'p_wald'), de.pv, 'p_wald');
      assertClose(column(et, 'p_lrt'), de.pLrt, 'p_lrt');
      assertClose(column(et, 'p_score'), de.pScore, 'p_score');
      assertClose(column(et, 'lambda'), de.lambda, 'lambda');

      // --exact-tests wald: GEMMA -lmm 1's test only; the same Wald results, LRT and score NA.
      const wald = lmmkit(
        'gwas',
        '--bfile',
        SHARED + STRUCT,
        '--pheno',
        d.pheno,
        '--pheno-col',
        'gene2',
        '--kinship-from-bfile',
        '--region',
        REGION_TEXT,
        '--test',
        'exact',
        '--exact-tests',
        'wald',
        '--out',
        join(dir, 'wald'),
      );
      assert.equal(wald.status, 0, wald.stderr);
      const wt = readTsv(join(dir, 'wald.gene2.tsv'));
      assert.deepEqual(wt.header, EXACT);
      assertClose(column(wt, 'p_wald'), column(et, 'p_wald').map(Number), 'Wald-only p_wald');
      assert.ok(column(wt, 'p_lrt').every((v) => v === 'NA') && column(wt, 'p_score').every((v) => v === 'NA'));
    },
  );

  sharedTest('--step 2 and --inter write one row per joint test with its df', [`${STRUCT}.bed`, EXPR, ENV], async () => {
    const d = await structPheno();
    const out = join(dir, 'step');
    const r = lmmkit('gwas', '--bfile', SHARED + STRUCT, '--pheno', d.pheno, '--pheno-col', 'gene1', '--region', REGION_TEXT, '--step', '2', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const tsv = readTsv(`${out}.gene1.tsv`);
    assert.deepEqual(tsv.header, MULTI);
    const count = regionCount();
    assert.equal(tsv.rows.length, Math.ceil(count / 2));
    assert.ok(
      column(tsv, 'df')
        .slice(0, Math.floor(count / 2))
        .every((x) => x === '2'),
    );
    const dfs = column(tsv, 'df');
    assert.ok(column(tsv, 'beta').every((b, i) => b.split(';').length === Number(dfs[i])));
    assert.ok(column(tsv, 'variants').every((v, i) => Number(v) === Number(dfs[i])));
    const { samples, y } = traitSamples(d, 0);
    const direct = await directScan({ samples, y, region: true, step: 2 });
    assert.deepEqual(column(tsv, 'id'), direct.ids);
    assertClose(column(tsv, 'pvalue'), direct.pv, 'step 2 pvalue');

    // Interaction with the first environment of env.txt, plus a column of ones (the variant itself).
    const env = (await readTable(SHARED + ENV, { key: 'none' })).values;
    const inter = join(dir, 'inter.tsv');
    writeFileSync(inter, `${['FID\tIID\tone\tenv1', ...d.fam.iid.map((id, i) => `${d.fam.fid[i]}\t${id}\t1\t${env.data[i]}`)].join('\n')}\n`);
    const ri = lmmkit(
      'gwas',
      '--bfile',
      SHARED + STRUCT,
      '--pheno',
      d.pheno,
      '--pheno-col',
      'gene1',
      '--region',
      REGION_TEXT,
      '--inter',
      inter,
      '--out',
      join(dir, 'inter'),
    );
    assert.equal(ri.status, 0, ri.stderr);
    const it = readTsv(join(dir, 'inter.gene1.tsv'));
    assert.deepEqual(it.header, MULTI);
    assert.equal(it.rows.length, count);
    assert.ok(column(it, 'df').every((x) => x === '2'));
    assert.ok(column(it, 'beta').every((b) => b.split(';').length === 2));
    const im = new Matrix(samples.length, 2);
    for (let i = 0; i < samples.length; i++) {
      im.data[i] = 1;
      im.data[i + samples.length] = env.data[samples[i]!]!;
    }
    const di = await directScan({ samples, y, region: true, inter: im });
    assertClose(column(it, 'pvalue'), di.pv, 'inter pvalue');
  });
});

describe('lmmkit demo', () => {
  test('simulates, scans and finds a causal variant at genome-wide significance', () => {
    const out = join(dir, 'demo');
    const r = lmmkit('demo', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    for (const f of [
      'demo.bed',
      'demo.bim',
      'demo.fam',
      'pheno.tsv',
      'causal.tsv',
      'results.tsv',
      'results.json',
      'manhattan.png',
      'manhattan.svg',
      'qq.png',
      'qq.svg',
    ]) {
      assert.ok(existsSync(join(out, f)), `${f} written`);
    }
    assert.match(r.stdout, /null model: kinship REML/);
    assert.match(r.stdout, /top 5:/);
    assert.match(r.stdout, /plots: manhattan\.png\/\.svg \(causal variants ringed\), qq\.png\/\.svg \(lambda_GC \d\.\d{3}\)/);
    assert.match(r.stdout, /causal variants: \d+ of 5 reach p < 5e-8/);
    const causal = column(readTsv(join(out, 'causal.tsv')), 'id');
    assert.equal(causal.length, 5);
    const res = readTsv(join(out, 'results.tsv'));
    assert.deepEqual(res.header, SINGLE);
    const ids = column(res, 'id');
    const log10p = column(res, 'neg_log10_p').map((v) => -Number(v));
    const hits = causal.filter((id) => log10p[ids.indexOf(id)]! < Math.log10(5e-8));
    assert.ok(hits.length >= 1, 'a causal variant reaches p < 5e-8');
    // The best test of the scan is a causal variant.
    const best = log10p.reduce((b, v, i) => (v < log10p[b]! ? i : b), 0);
    assert.ok(causal.includes(ids[best]!), `best hit ${ids[best]} is causal`);
    const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Report;
    assert.equal(report.traits[0]!.samples, 1000);
    assert.equal(report.traits[0]!.nullModel.model, 'kinship');
  });
});

describe('lmmkit gwas on bad input', () => {
  const { data, prefix, pheno, covar, kin } = fixturePaths(dir, 'small');
  const inter10 = join(data, 'inter10.txt');
  const sim = simulateGwas({ samples: 60, variants: 200, seed: 5 });
  const ready = (async () => {
    // t2 is observed in 4 samples only: with 3 covariates its fit has no degrees of freedom.
    writeSampleTable(pheno, sim.samples, ['t1', 't2'], (i, c) => (c === 0 || i < 4 ? sim.phenotype[i]! : 'NA'));
    writeSampleTable(covar, sim.samples, ['a', 'b', 'c'], (i, c) => [i % 3, (i * 7) % 5, (i * i) % 11][c]!);
    writeFileSync(inter10, `${Array.from({ length: 10 }, (_, i) => `1 ${i}`).join('\n')}\n`);
    await writeGenotypeFixture(sim, prefix, kin);
  })();

  const base = (): string[] => ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't1'];
  const cases: [string, () => string[], RegExp][] = [
    ['missing --bfile fileset', () => ['gwas', '--bfile', join(data, 'absent'), '--pheno', pheno], /absent\.(bim|fam|bed)/],
    [
      'missing --pheno file',
      () => ['gwas', '--bfile', prefix, '--pheno', join(data, 'nopheno.tsv')],
      /nopheno\.tsv: expected a readable text file, found no such file/,
    ],
    ['no --pheno', () => ['gwas', '--bfile', prefix], /--pheno/],
    ['missing --covar file', () => [...base(), '--covar', join(data, 'nocovar.tsv')], /nocovar\.tsv/],
    ['missing --kinship file', () => [...base(), '--kinship', join(data, 'nokin.tsv')], /nokin\.tsv/],
    ['missing --lowrank file', () => [...base(), '--lowrank', join(data, 'now.txt')], /now\.txt/],
    ['missing --inter file', () => [...base(), '--inter', join(data, 'nointer.txt')], /nointer\.txt/],
    ['unknown --pheno-col', () => ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 'nope'], /pheno\.tsv: expected a column named 'nope'/],
    ['--region without a colon', () => [...base(), '--region', '22-1-2'], /--region: expected CHR:START-END/],
    ['--region with letters', () => [...base(), '--region', '22:abc-5'], /--region: expected CHR:START-END/],
    ['--region START >= END', () => [...base(), '--region', '1:500-100'], /--region: expected START < END/],
    ['--region with no variant', () => [...base(), '--region', '9:1-1000'], /--region 9:1-1000: no analysed variant of .*g\.bed lies in 9:1-1000/],
    ['--step 0', () => [...base(), '--step', '0'], /--step: expected a positive integer, found 0/],
    [
      '--loco with --kinship',
      () => [...base(), '--loco', '--kinship', kin],
      /gwas --loco: does not take --kinship: a LOCO kinship is computed from the genotypes/,
    ],
    ['--loco with --chunk', () => [...base(), '--loco', '--chunk', '1/2'], /gwas --loco: does not take --chunk/],
    ['--step not a number', () => [...base(), '--step', 'two'], /--step: expected an integer, found 'two'/],
    ['--test exact without a kinship', () => [...base(), '--test', 'exact'], /--test exact: needs a kinship/],
    ['--test unknown', () => [...base(), '--test', 'wald'], /--test: expected fixed or exact, found 'wald'/],
    ['--maf out of range', () => [...base(), '--maf', '0.7'], /--maf: expected a frequency in \[0, 0\.5\]/],
    ['two null covariances', () => [...base(), '--kinship', kin, '--kinship-from-bfile'], /at most one null covariance/],
    [
      '--inter rows not matching the samples',
      () => [...base(), '--inter', inter10],
      /inter10\.txt: expected one row per genotype sample .* found 10 rows for the 60 samples/,
    ],
    [
      '--bfile and --bimbam',
      () => [...base(), '--bimbam', 'x.txt'],
      /exactly one of --bfile PREFIX, --bimbam FILE, --pfile PREFIX, --vcf FILE and --bgen FILE/,
    ],
    [
      'a trait that cannot be fitted, after another was scanned',
      () => ['gwas', '--bfile', prefix, '--pheno', pheno, '--covar', covar],
      /trait 't2': 4 samples for 4 covariates/,
    ],
  ];

  for (const [name, args, message] of cases) {
    test(`${name}: exit 2, one line naming it, nothing written`, async () => {
      await ready;
      const out = mkdtempSync(join(dir, 'out-'));
      assertRejected(lmmkit(...args(), '--out', join(out, 'res')), message, out);
    });
  }

  test('--out in a missing folder, or onto a folder: exit 2 and no output', async () => {
    await ready;
    const r = lmmkit(...base(), '--out', join(data, 'no-such-dir', 'res'));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--out .*the folder '.*no-such-dir' does not exist/);
    const out = mkdtempSync(join(dir, 'out-'));
    mkdirSync(join(out, 'res.json'));
    const f = lmmkit(...base(), '--out', join(out, 'res'));
    assert.equal(f.status, 2, f.stderr);
    assert.match(f.stderr, /res\.json exists and is not a regular file/);
    assert.deepEqual(readdirSync(out).sort(), ['res.json', 'res.log'], "no output but the failed run's log");
  });

  test('the same data without the faulty trait runs, with --covar and --kinship', async () => {
    await ready;
    const out = join(dir, 'small-ok');
    const r = lmmkit(...base(), '--covar', covar, '--kinship', kin, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Report & { traits: { covariates: string[] }[] };
    assert.deepEqual(report.traits[0]!.covariates, ['intercept', 'a', 'b', 'c']);
    assert.equal(readTsv(`${out}.t1.tsv`).rows.length, report.traits[0]!.variants.tested);
  });
});

describe('lmmkit gwas --help', () => {
  test('documents every option', () => {
    const r = lmmkit('gwas', '--help');
    assert.equal(r.status, 0);
    for (const opt of [
      '--bfile',
      '--bimbam',
      '--annotation',
      '--pheno',
      '--pheno-col',
      '--covar',
      '--kinship',
      '--kinship-from-bfile',
      '--loco',
      '--allow-non-psd-kinship',
      '--lowrank',
      '--inter',
      '--step',
      '--test',
      '--maf',
      '--max-missing',
      '--region',
      '--gaussianize',
      '--standardize',
      '--ids',
      '--batch-size',
      '--out',
    ]) {
      assert.match(r.stdout, new RegExp(`\\n  ${opt} `), `${opt} in --help`);
    }
    assert.match(r.stdout, /intercept is always added/);
    assert.match(r.stdout, /chrom pos id effect_allele other_allele eaf n beta se pvalue neg_log10_p/);
    const demo = lmmkit('demo', '--help');
    assert.equal(demo.status, 0);
    for (const opt of ['--out', '--samples', '--variants', '--seed']) assert.match(demo.stdout, new RegExp(`\\n  ${opt} `));
  });
});
