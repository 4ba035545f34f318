import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe } from 'node:test';
import { assertRejected, lmmkit, readTsv, scratchDir, type Tsv } from '../cli-support.js';
import { hasTool, requireTool, SHARED, sharedTest } from '../support.js';

const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';
const EXPR = 'data/structlmm/expr.csv';
const REGION = '22:17500000-18000000';
const dir = scratchDir('lmmkit-bgen-cli-');

/**
 * The BGEN exports of the chr22 .bed, made here by plink2: `alt-first`
 * files are plink2's default (ALT first, read with --bgen-ref last), the
 * others written with 'ref-first' (read with the default). v1.1 has no
 * sample ids in the file: its .sample names them.
 */
const EXPORTS = [
  { name: 'v12-8bit', args: ['bgen-1.2', 'bits=8'], ref: 'last', compression: 'zlib' },
  { name: 'v12-16bit', args: ['bgen-1.2', 'bits=16', 'ref-first'], ref: 'first', compression: 'zlib' },
  { name: 'v13', args: ['bgen-1.3', 'ref-first'], ref: 'first', compression: 'zstd' },
  { name: 'v11', args: ['bgen-1.1'], ref: 'last', compression: 'zlib' },
] as const;

let pheno = '';

before(() => {
  if (!hasTool('plink2')) return;
  const fam = readFileSync(`${SHARED + STRUCT}.fam`, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/\s+/));
  const expr = new Map(
    readFileSync(SHARED + EXPR, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => [l.split(',')[0]!, l.split(',').slice(1)] as const),
  );
  // expr.csv: one row per gene, its columns the .fam samples in order.
  const lines = ['FID\tIID\tgene1\tgene26'];
  for (const [i, f] of fam.entries()) lines.push([f[0], f[1], expr.get('gene1')![i], expr.get('gene26')![i]].join('\t'));
  pheno = join(dir, 'pheno.tsv');
  writeFileSync(pheno, `${lines.join('\n')}\n`);
  for (const e of EXPORTS) {
    const r = spawnSync('plink2', ['--bfile', SHARED + STRUCT, '--export', ...e.args, '--out', join(dir, e.name)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  }
});

function bgenArgs(e: (typeof EXPORTS)[number]): string[] {
  return ['--bgen', join(dir, `${e.name}.bgen`), '--sample', join(dir, `${e.name}.sample`), '--bgen-ref', e.ref];
}

/** Every column of `b` equal to `a`'s: text columns exactly, numbers within `rel` relative. */
function assertSameTsv(a: Tsv, b: Tsv, rel: number, what: string): void {
  assert.deepEqual(b.header, a.header);
  assert.equal(b.rows.length, a.rows.length);
  for (let i = 0; i < a.rows.length; i++) {
    for (let j = 0; j < a.header.length; j++) {
      const x = a.rows[i]![j]!;
      const y = b.rows[i]![j]!;
      const nx = Number(x);
      if (x === y || (Number.isFinite(nx) && Math.abs(nx - Number(y)) <= rel * Math.abs(nx))) continue;
      assert.fail(`${what}: row ${i + 1} column ${a.header[j]}: ${y} vs ${x}`);
    }
  }
}

/** Runs lmmkit and asserts it succeeded. */
function run(...args: string[]): void {
  const r = lmmkit(...args);
  assert.equal(r.status, 0, r.stderr);
}

describe('lmmkit on BGEN exports of the structlmm chr22 .bed (plink2 --export bgen-1.x)', () => {
  // Hard calls are exact at any bit depth (probabilities 0 and 1 are 0 and 2^B - 1),
  // so the dosages, and every output, equal the .bed scan's.
  sharedTest('gwas (fixed test, gene1 and gene26): the .bed scan within 1e-9, for v1.1, v1.2 8 and 16 bits, v1.3 zstd', [`${STRUCT}.bed`, EXPR], (t) => {
    if (!requireTool(t, 'plink2')) return;
    run('gwas', '--bfile', SHARED + STRUCT, '--pheno', pheno, '--out', join(dir, 'bed'));
    for (const e of EXPORTS) {
      run('gwas', ...bgenArgs(e), '--pheno', pheno, '--out', join(dir, e.name));
      for (const trait of ['gene1', 'gene26'])
        assertSameTsv(readTsv(join(dir, `bed.${trait}.tsv`)), readTsv(join(dir, `${e.name}.${trait}.tsv`)), 1e-9, `${e.name} ${trait}`);
      const report = JSON.parse(readFileSync(join(dir, `${e.name}.json`), 'utf8')) as { genotypes: { format: string; bgenRef: string; variants: number } };
      assert.deepEqual([report.genotypes.format, report.genotypes.bgenRef, report.genotypes.variants], ['bgen', e.ref, 49008]);
    }
  });

  sharedTest('gwas --test exact --kinship-from-bfile, mtgwas, kinship and null fit from the v1.3 file equal the .bed runs', [`${STRUCT}.bed`, EXPR], (t) => {
    if (!requireTool(t, 'plink2')) return;
    const e = EXPORTS[2];
    const runs: [string, string[]][] = [
      ['exact', ['gwas', '--pheno', pheno, '--pheno-col', 'gene26', '--kinship-from-bfile', '--test', 'exact', '--region', REGION]],
      ['mt', ['mtgwas', '--pheno', pheno, '--kinship-from-bfile', '--region', REGION]],
    ];
    for (const [name, args] of runs) {
      run(...args, '--bfile', SHARED + STRUCT, '--out', join(dir, `${name}-bed`));
      run(...args, ...bgenArgs(e), '--out', join(dir, `${name}-bgen`));
    }
    assertSameTsv(readTsv(join(dir, 'exact-bed.gene26.tsv')), readTsv(join(dir, 'exact-bgen.gene26.tsv')), 1e-9, 'exact');
    assertSameTsv(readTsv(join(dir, 'mt-bed.tsv')), readTsv(join(dir, 'mt-bgen.tsv')), 1e-9, 'mtgwas');
    run('kinship', '--bfile', SHARED + STRUCT, '--out', join(dir, 'k-bed.tsv'));
    run('kinship', ...bgenArgs(e), '--out', join(dir, 'k-bgen.tsv'));
    assert.equal(readFileSync(join(dir, 'k-bgen.tsv'), 'utf8'), readFileSync(join(dir, 'k-bed.tsv'), 'utf8'));
    run('null', 'fit', ...bgenArgs(e), '--pheno', pheno, '--pheno-col', 'gene1', '--kinship-from-bfile', '--out', join(dir, 'null-bgen.bin'));
    run('null', 'fit', '--bfile', SHARED + STRUCT, '--pheno', pheno, '--pheno-col', 'gene1', '--kinship-from-bfile', '--out', join(dir, 'null-bed.bin'));
    // The saved model (binary) does not name the genotype file: the same bytes.
    assert.ok(readFileSync(join(dir, 'null-bgen.bin')).equals(readFileSync(join(dir, 'null-bed.bin'))));
  });

  sharedTest('bad BGEN input: exit 2, one line naming the file (and variant or .sample line), nothing written', [`${STRUCT}.bed`, EXPR], (t) => {
    if (!requireTool(t, 'plink2')) return;
    const good = readFileSync(join(dir, 'v12-8bit.bgen'));
    const sample = join(dir, 'v12-8bit.sample');
    const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
      ['magic', (b) => Buffer.concat([b.subarray(0, 16), Buffer.from('BGEN'), b.subarray(20)]), /magic\.bgen: not a BGEN file: expected magic bytes 'bgen'/],
      [
        'truncated',
        (b) => b.subarray(0, b.length - 10),
        /truncated\.bgen: variant 49008 of 49008 'rs\w+' \(byte \d+\): the genotype block .* runs past the end of the file/,
      ],
      [
        'layout',
        (b) => {
          const c = Buffer.from(b);
          c.writeUInt32LE(((c.readUInt32LE(4 + 16) & ~0x3c) | (3 << 2)) >>> 0, 4 + 16);
          return c;
        },
        /layout\.bgen: unsupported layout 3 .*expected layout 1 \(BGEN v1\.1\) or 2/,
      ],
      [
        'compression',
        (b) => {
          const c = Buffer.from(b);
          c.writeUInt32LE((c.readUInt32LE(4 + 16) | 3) >>> 0, 4 + 16);
          return c;
        },
        /compression\.bgen: unsupported compression: .*found 3/,
      ],
    ];
    for (const [name, mutate, message] of cases) {
      const path = join(dir, `${name}.bgen`);
      writeFileSync(path, mutate(good));
      const out = join(dir, `out-${name}`);
      mkdirSync(out);
      assertRejected(lmmkit('gwas', '--bgen', path, '--sample', sample, '--pheno', pheno, '--out', join(out, 'x')), message, out);
    }
    // A .sample whose rows 2 and 3 are swapped, and one a row short.
    const rows = readFileSync(sample, 'utf8').trimEnd().split('\n');
    [rows[3], rows[4]] = [rows[4]!, rows[3]!];
    writeFileSync(join(dir, 'swapped.sample'), `${rows.join('\n')}\n`);
    writeFileSync(join(dir, 'short.sample'), `${rows.slice(0, -1).join('\n')}\n`);
    for (const [name, message] of [
      ['swapped', /swapped\.sample:4: sample 2 is 'HG00116' \(ID_2\) but .*v12-8bit\.bgen names its sample 2 'HG00112_HG00112'/],
      ['short', /short\.sample: expected 274 samples \(the count in .*v12-8bit\.bgen's header\), found 273/],
    ] as const) {
      const out = join(dir, `out-${name}`);
      mkdirSync(out);
      const r = lmmkit('gwas', '--bgen', join(dir, 'v12-8bit.bgen'), '--sample', join(dir, `${name}.sample`), '--pheno', pheno, '--out', join(out, 'x'));
      assertRejected(r, message, out);
    }
    const out = join(dir, 'out-opts');
    mkdirSync(out);
    assertRejected(
      lmmkit('gwas', '--bfile', SHARED + STRUCT, '--sample', sample, '--pheno', pheno, '--out', join(out, 'x')),
      /gwas: --sample goes with --bgen/,
      out,
    );
    assertRejected(
      lmmkit('gwas', '--bfile', SHARED + STRUCT, '--bgen', join(dir, 'v13.bgen'), '--pheno', pheno, '--out', join(out, 'x')),
      /gwas: give exactly one of --bfile PREFIX, --bimbam FILE, --pfile PREFIX, --vcf FILE and --bgen FILE/,
      out,
    );
    assertRejected(
      lmmkit('gwas', '--bgen', join(dir, 'v13.bgen'), '--bgen-ref', 'middle', '--pheno', pheno, '--out', join(out, 'x')),
      /--bgen-ref: expected first or last, found 'middle'/,
      out,
    );
  });

  sharedTest('multi-allelic variants of complex.23bits.bgen: skipped with one warning naming the first', 'data/bgen/complex.23bits.bgen', () => {
    const r = lmmkit('kinship', '--bgen', `${SHARED}data/bgen/complex.23bits.bgen`, '--out', join(dir, 'complex-k.tsv'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /of 4 samples from 5 variants/);
    assert.match(
      r.stderr,
      /warning: .*complex\.23bits\.bgen: 5 variants with other than two alleles skipped \(not tested, not in a kinship from the genotypes\), as plink2 does; the first is 'M4' \(variant 4, 3 alleles\)/,
    );
  });
});
