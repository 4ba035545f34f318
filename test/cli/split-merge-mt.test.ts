// `lmmkit mtgwas --chunk I/N` and `lmmkit varcomp fit --bfile|--markers ...
// --chunk I/N` then `lmmkit merge`, N in {1, 2, 7, 50}: the parts, run out of
// order (two at a time), merge into the bytes one unsplit run writes.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runDemo, runMerge, runMtgwas, runVarcompFit, type MtgwasRunOptions, type VarcompFitOptions } from '../../src/workflow/index.js';
import { lmmkit, scratchDir } from '../cli-support.js';

const dir = scratchDir('lmmkit-split-mt-');
let mt: Omit<MtgwasRunOptions, 'out'>;
let vc: Omit<VarcompFitOptions, 'out'>;

before(async () => {
  await runDemo({ out: join(dir, 'demo'), samples: 200, variants: 600, seed: 11 });
  // A second trait for mtgwas: the first, permuted (correlated with nothing, but a trait).
  const lines = readFileSync(join(dir, 'demo/pheno.tsv'), 'utf8').trimEnd().split('\n');
  const values = lines.slice(1).map((l) => l.split('\t')[2]!);
  const two = [`${lines[0]}\tt2`, ...lines.slice(1).map((l, i) => `${l}\t${values[(i * 7 + 3) % values.length]}`)];
  writeFileSync(join(dir, 'pheno2.tsv'), `${two.join('\n')}\n`);
  const k = lmmkit('kinship', '--bfile', join(dir, 'demo/demo'), '--out', join(dir, 'kin.tsv'));
  assert.equal(k.status, 0, k.stderr);
  mt = { bfile: join(dir, 'demo/demo'), pheno: join(dir, 'pheno2.tsv'), kinship: join(dir, 'kin.tsv'), batchSize: 16 };
  vc = { data: join(dir, 'demo/pheno.tsv'), y: 'trait', kinship: [`A=${join(dir, 'kin.tsv')}`], bfile: join(dir, 'demo/demo'), ids: 'IID', batchSize: 16 };
});

/** A deterministic shuffle (the chunks run out of order). */
function shuffled(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i + 1);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Files of a folder, the JSON reports with their run block and seconds left out and their folder renamed. */
function outputsOf(folder: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(folder).sort()) {
    const text = readFileSync(join(folder, f), 'utf8');
    out.set(
      f,
      f.endsWith('.json') ? JSON.stringify(JSON.parse(text.split(folder).join('FOLDER'), (k, v) => (k === 'run' || k === 'seconds' ? undefined : v))) : text,
    );
  }
  return out;
}

/** Runs `run` whole and in `n` chunks (shuffled, two at a time), merges, and checks the merged files are the unsplit run's bytes. */
async function splitEqualsWhole(name: string, n: number, run: (out: string, chunk?: { index: number; count: number }) => Promise<unknown>): Promise<void> {
  const [whole, parts, merged] = ['whole', 'parts', 'merged'].map((d) => join(dir, `${name}-${n}-${d}`)) as [string, string, string];
  for (const d of [whole, parts, merged]) mkdirSync(d);
  await run(join(whole, 'res'));
  const order = shuffled(n, n * 17 + name.length);
  for (let i = 0; i < order.length; i += 2) {
    await Promise.all(order.slice(i, i + 2).map((c) => run(join(parts, 'res'), { index: c, count: n })));
  }
  await runMerge({ parts: [parts], out: join(merged, 'res') });
  const a = outputsOf(whole);
  const b = outputsOf(merged);
  assert.deepEqual([...b.keys()], [...a.keys()], `${name} N=${n}: the files`);
  for (const [f, text] of a) assert.ok(b.get(f) === text, `${name} N=${n}: ${f} differs from the unsplit run's`);
  // The table is the whole one, not a subset: every selected variant tested once.
  assert.ok(a.get('res.tsv')!.split('\n').length > 30, `${name}: the table has its rows`);
}

describe('mtgwas --chunk + merge = one run', () => {
  for (const n of [1, 2, 7, 50]) {
    test(`both tests, N = ${n}`, async () => splitEqualsWhole('mt', n, (out, chunk) => runMtgwas({ ...mt, out, chunk })));
  }
  test('common test with --maf 0.2 (filtered variants counted per part), N = 7', async () =>
    splitEqualsWhole('mt-maf', 7, (out, chunk) => runMtgwas({ ...mt, test: 'common', maf: 0.2, out, chunk })));
});

describe('varcomp fit --bfile --chunk + merge = one run', () => {
  for (const n of [1, 2, 7, 50]) {
    test(`one kinship component, N = ${n}`, async () => splitEqualsWhole('vc', n, (out, chunk) => runVarcompFit({ ...vc, out: `${out}.tsv`, chunk })));
  }
});

describe('varcomp fit --markers --chunk + merge = one run', () => {
  /** 40 markers of 200 rows (as --data's rows), numbers 0/1/2 or, with `factor`, codes. */
  const markers = (factor: boolean): string => {
    const file = join(dir, factor ? 'markers-factor.tsv' : 'markers.tsv');
    const rows = Array.from({ length: 200 }, (_, i) =>
      Array.from({ length: 40 }, (_, j) => {
        const g = (i * 7 + j * 13 + ((i * j) % 5)) % 3;
        return factor ? ['AA', 'AB', 'BB'][g] : String(g);
      }).join('\t'),
    );
    writeFileSync(file, `${Array.from({ length: 40 }, (_, j) => `m${j + 1}`).join('\t')}\n${rows.join('\n')}\n`);
    return file;
  };
  const mk = (): Omit<VarcompFitOptions, 'out'> => ({
    data: join(dir, 'demo/pheno.tsv'),
    y: 'trait',
    kinship: [`A=${join(dir, 'kin.tsv')}`],
    ids: 'IID',
    batchSize: 4,
  });
  // N = 50 over 10 batches of 4 markers: 40 chunks have no marker (a header-only table and ANOVA table each).
  for (const n of [1, 2, 7, 50]) {
    test(`numeric markers with --anova III (the ANOVA table joined too), N = ${n}`, async () => {
      const file = markers(false);
      await splitEqualsWhole('vcm', n, (out, chunk) => runVarcompFit({ ...mk(), markers: file, anova: 'III', out: `${out}.tsv`, chunk }));
    });
  }
  test('factor markers, N = 7', async () => {
    const file = markers(true);
    await splitEqualsWhole('vcf', 7, (out, chunk) => runVarcompFit({ ...mk(), markers: file, out: `${out}.tsv`, chunk }));
  });
});

test('varcomp parts reading the kinship at another path (another mount) still merge', async () => {
  const copy = join(dir, 'elsewhere');
  mkdirSync(copy);
  writeFileSync(join(copy, 'kin.tsv'), readFileSync(join(dir, 'kin.tsv')));
  await splitEqualsWhole('vc-moved', 2, (out, chunk) =>
    runVarcompFit({ ...vc, ...(chunk?.index === 2 ? { kinship: [`A=${join(copy, 'kin.tsv')}`] } : {}), out: `${out}.tsv`, chunk }),
  );
});

describe('--chunk refusals', () => {
  test('varcomp fit --chunk of a single model (no markers, no genotypes): exit 2', async () => {
    const r = lmmkit(
      'varcomp',
      'fit',
      '--data',
      join(dir, 'demo/pheno.tsv'),
      '--y',
      'trait',
      '--kinship',
      `A=${join(dir, 'kin.tsv')}`,
      '--ids',
      'IID',
      '--chunk',
      '1/2',
      '--out',
      join(dir, 'refused.json'),
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--chunk: splits GWAS mode .*expected --markers FILE or one of --bfile.*found neither/);
  });
  test('mtgwas --chunk 3/2: exit 2', () => {
    const r = lmmkit(
      'mtgwas',
      '--bfile',
      join(dir, 'demo/demo'),
      '--pheno',
      join(dir, 'pheno2.tsv'),
      '--kinship-from-bfile',
      '--chunk',
      '3/2',
      '--out',
      join(dir, 'x'),
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--chunk: expected I in 1\.\.2, found 3/);
  });
  test('mtgwas --chunk with --gz: exit 2 (a BGZF table is sorted over the whole scan)', () => {
    const r = lmmkit(
      'mtgwas',
      '--bfile',
      join(dir, 'demo/demo'),
      '--pheno',
      join(dir, 'pheno2.tsv'),
      '--kinship-from-bfile',
      '--chunk',
      '1/2',
      '--gz',
      '--out',
      join(dir, 'y'),
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /mtgwas --chunk: writes plain parts; give --gz to neither/);
  });
  test('merge refuses a part of another command (an mtgwas and a varcomp part)', async () => {
    const a = join(dir, 'mixed');
    mkdirSync(a);
    await runMtgwas({ ...mt, out: join(a, 'res'), chunk: { index: 1, count: 2 } });
    await runVarcompFit({ ...vc, out: join(a, 'res.tsv'), chunk: { index: 2, count: 2 } });
    const r = lmmkit('merge', a, '--out', join(dir, 'mixed-out'));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /foreign part: expected the command of .*found "varcomp"/);
  });
});
