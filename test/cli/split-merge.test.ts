// `lmmkit gwas --chunk I/N` then `lmmkit merge`: the parts of a split scan,
// run in any order (two at a time), merge into the bytes one unsplit run
// writes; every inconsistent set of parts is refused, naming the part.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runDemo, runGwas, runMerge, type GwasRunOptions } from '../../src/workflow/index.js';
import { assertRejected, lmmkit, scratchDir } from '../cli-support.js';

const dir = scratchDir('lmmkit-split-');
let base: Omit<GwasRunOptions, 'out'>;

before(async () => {
  await runDemo({ out: join(dir, 'demo'), samples: 300, variants: 1200, seed: 7 });
  const r = lmmkit(
    'null',
    'fit',
    '--bfile',
    join(dir, 'demo/demo'),
    '--pheno',
    join(dir, 'demo/pheno.tsv'),
    '--kinship-from-bfile',
    '--out',
    join(dir, 'null'),
  );
  assert.equal(r.status, 0, r.stderr);
  const e = lmmkit(
    'null',
    'fit',
    '--bfile',
    join(dir, 'demo/demo'),
    '--pheno',
    join(dir, 'demo/pheno.tsv'),
    '--kinship-from-bfile',
    '--test',
    'exact',
    '--out',
    join(dir, 'null-exact'),
  );
  assert.equal(e.status, 0, e.stderr);
  base = { bfile: join(dir, 'demo/demo'), pheno: join(dir, 'demo/pheno.tsv'), nullModel: join(dir, 'null'), batchSize: 16 };
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

/** Files of a folder, the JSON report with its run block and seconds left out and its folder renamed. */
function outputsOf(folder: string, rename: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(folder).sort()) {
    if (f.endsWith('.log')) continue;
    const buf = readFileSync(join(folder, f));
    if (f.endsWith('.json')) {
      const text = buf.toString('utf8').split(rename).join('FOLDER');
      out.set(
        f,
        JSON.stringify(
          JSON.parse(text, (k, v) => (k === 'run' || k === 'seconds' ? undefined : v)),
          null,
          1,
        ),
      );
    } else out.set(f, buf.toString('base64'));
  }
  return out;
}

/** Runs the scan whole and in `n` chunks (shuffled, two at a time), merges, and checks the outputs are the same bytes. */
async function splitEqualsWhole(name: string, opts: Partial<GwasRunOptions>, n: number): Promise<void> {
  const whole = join(dir, `${name}-${n}-whole`);
  const parts = join(dir, `${name}-${n}-parts`);
  const merged = join(dir, `${name}-${n}-merged`);
  for (const d of [whole, parts, merged]) mkdirSync(d);
  await runGwas({ ...base, ...opts, out: join(whole, 'res') });
  const order = shuffled(n, n * 31 + name.length);
  for (let i = 0; i < order.length; i += 2) {
    await Promise.all(order.slice(i, i + 2).map((c) => runGwas({ ...base, ...opts, out: join(parts, 'res'), chunk: { index: c, count: n } })));
  }
  await runMerge({ parts: [parts], out: join(merged, 'res') });
  const a = outputsOf(whole, whole);
  const b = outputsOf(merged, merged);
  assert.deepEqual([...b.keys()], [...a.keys()], `${name} N=${n}: the files`);
  for (const [f, bytes] of a) assert.ok(b.get(f) === bytes, `${name} N=${n}: ${f} differs from the unsplit run's`);
}

describe('gwas --chunk + merge = one run', () => {
  for (const n of [1, 2, 7, 50]) {
    test(`fixed test, N = ${n}`, async () => splitEqualsWhole('fixed', {}, n));
  }
  test('--step 3 with filters (the partial block carried over chunk bounds), N = 7 and 50', async () => {
    await splitEqualsWhole('step', { step: 3, maf: 0.2 }, 7);
    await splitEqualsWhole('step', { step: 3, maf: 0.2 }, 50);
  });
  test('exact test with the gemma dialect, N = 7', async () =>
    splitEqualsWhole('exact', { test: 'exact', nullModel: join(dir, 'null-exact'), outFormat: ['lmmkit', 'gemma'] }, 7));
  test('every dialect with --gz (sorted, BGZF, .tbi, GWAS-SSF metadata), N = 7', async () =>
    splitEqualsWhole('gz', { outFormat: ['lmmkit', 'gwas-ssf', 'regenie', 'plink2'], gz: true, build: 'GRCh38' }, 7));
  test('--plot: drawn at merge from the merged table, N = 2', async () => splitEqualsWhole('plot', { plot: true }, 2));
  test('without --null each part fits the same null model, N = 2', async () =>
    splitEqualsWhole('nonull', { nullModel: undefined, kinshipFromGenotypes: true }, 2));
});

describe('lmmkit merge refuses inconsistent parts (exit 2, nothing written)', () => {
  const cli = (folder: string, n: number, extra: string[] = []): void => {
    mkdirSync(folder, { recursive: true });
    for (let c = 1; c <= n; c++) {
      const r = lmmkit(
        'gwas',
        '--bfile',
        join(dir, 'demo/demo'),
        '--pheno',
        join(dir, 'demo/pheno.tsv'),
        '--null',
        join(dir, 'null'),
        '--batch-size',
        '64',
        ...extra,
        '--chunk',
        `${c}/${n}`,
        '--out',
        join(folder, 'res'),
      );
      assert.equal(r.status, 0, r.stderr);
    }
  };
  const refused = (args: string[], message: RegExp): void => {
    const out = join(dir, `refused-${Math.random().toString(36).slice(2)}`);
    mkdirSync(out);
    assertRejected(lmmkit('merge', ...args, '--out', join(out, 'res')), message, out);
  };
  let p3: string;
  before(() => {
    p3 = join(dir, 'cli3');
    cli(p3, 3);
  });
  const manifest = (folder: string, c: number, n: number): string =>
    join(folder, `res.part-${String(c).padStart(4, '0')}-of-${String(n).padStart(4, '0')}.manifest.json`);

  test('the CLI parts merge', () => {
    const out = join(dir, 'cli3-merged');
    mkdirSync(out);
    const r = lmmkit('merge', p3, '--out', join(out, 'res'));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(out, 'res.trait.tsv')) && existsSync(join(out, 'res.json')));
  });
  test('a missing chunk', () => refused([manifest(p3, 1, 3), manifest(p3, 3, 3)], /expected chunks 1\.\.3 .*1 missing: 2/));
  test('a chunk given twice', () => refused([p3, manifest(p3, 2, 3)], /chunk 2\/3 given twice: .*part-0002-of-0003\.manifest\.json and/));
  test('a foreign part (other options)', () => {
    const other = join(dir, 'cli3-maf');
    cli(other, 3, ['--maf', '0.2']);
    refused(
      [manifest(p3, 1, 3), manifest(p3, 2, 3), manifest(other, 3, 3)],
      /cli3-maf\/res\.part-0003-of-0003\.manifest\.json.*foreign part: expected the options of .*maf = 0\.2 where it is 0\.01/,
    );
  });
  test('a part of another split (chunk count)', () => {
    const other = join(dir, 'cli2');
    cli(other, 2);
    refused(
      [manifest(p3, 1, 3), manifest(other, 2, 2), manifest(p3, 3, 3)],
      /part-0002-of-0002\.manifest\.json.*foreign part: expected the chunk count of .*found 2/,
    );
  });
  test('an overlap', () => {
    const bad = join(dir, 'cli3-overlap');
    cli(bad, 3);
    const m = JSON.parse(readFileSync(manifest(bad, 2, 3), 'utf8'));
    m.spans[0].span[0] -= 1;
    writeFileSync(manifest(bad, 2, 3), JSON.stringify(m));
    refused([bad], /part-0002-of-0003\.manifest\.json.*chunk 2\/3 of 'trait': expected variants from ordinal \d+, found .*an overlap with the chunk before/);
  });
  test('a corrupted part (checksum)', () => {
    const bad = join(dir, 'cli3-corrupt');
    cli(bad, 3);
    const tsv = join(bad, 'res.part-0002-of-0003.trait.tsv');
    const text = readFileSync(tsv, 'utf8');
    writeFileSync(tsv, text.replace(/\t0\./, '\t1.'));
    refused([bad], /res\.part-0002-of-0003\.trait\.tsv.*corrupted part: expected sha256 [0-9a-f]{64}/);
  });
  test('no parts, or not a manifest', () => {
    refused([join(dir, 'nowhere')], /expected a part manifest, part prefix or folder, found no file/);
    refused([join(dir, 'demo/pheno.tsv')], /pheno\.tsv.*expected a part manifest \(JSON\)/);
  });
  test('--chunk refuses a bad I/N', () => {
    const r = lmmkit('gwas', '--bfile', join(dir, 'demo/demo'), '--pheno', join(dir, 'demo/pheno.tsv'), '--chunk', '4/3', '--out', join(dir, 'x'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--chunk: expected I in 1\.\.3, found 4/);
  });
});
