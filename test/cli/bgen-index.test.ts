// lmmkit on plink2's BGEN exports of the chr22 .bed with a bgenix index next
// to them (written by `writeBgenixIndex` with sql.js: bgenix is not
// installed): region, --chr/--from-bp/--to-bp and --extract scans give the
// same bytes as without the index, and a stale index is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe } from 'node:test';
import { writeBgenixIndex } from '../bgen-support.js';
import { assertRejected, lmmkit, scratchDir } from '../cli-support.js';
import { hasTool, requireTool, SHARED, sharedTest } from '../support.js';

const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';
const dir = scratchDir('lmmkit-bgi-cli-');
const EXPORTS = [
  { name: 'v12-8bit', args: ['bgen-1.2', 'bits=8', 'ref-first'] },
  { name: 'v13', args: ['bgen-1.3', 'ref-first'] },
] as const;
let pheno = '';

before(async () => {
  if (!hasTool('plink2')) return;
  const fam = readFileSync(`${SHARED + STRUCT}.fam`, 'utf8')
    .trimEnd()
    .split('\n');
  // Any trait does: the point is equal outputs with and without the index.
  pheno = join(dir, 'pheno.tsv');
  writeFileSync(pheno, `FID\tIID\ty\n${fam.map((l, i) => `${l.split(/\s+/).slice(0, 2).join('\t')}\t${((i * 7919) % 101) / 10}`).join('\n')}\n`);
  for (const e of EXPORTS) {
    const r = spawnSync('plink2', ['--bfile', SHARED + STRUCT, '--export', ...e.args, '--out', join(dir, e.name)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    await writeBgenixIndex(join(dir, `${e.name}.bgen`));
  }
  const bim = readFileSync(`${SHARED + STRUCT}.bim`, 'utf8')
    .trimEnd()
    .split('\n');
  writeFileSync(
    join(dir, 'extract.txt'),
    `${bim
      .filter((_, i) => i % 97 === 0)
      .map((l) => l.split('\t')[1])
      .join('\n')}\n`,
  );
});

function run(...args: string[]): void {
  const r = lmmkit(...args);
  assert.equal(r.status, 0, r.stderr);
}

describe('lmmkit with a bgenix .bgi index next to the BGEN', () => {
  sharedTest('gwas --region, --chr/--from-bp/--to-bp and --extract: the same bytes with the index as without, v1.2 8 bits and v1.3', `${STRUCT}.bed`, (t) => {
    if (!requireTool(t, 'plink2')) return;
    const selections: [string, string[]][] = [
      ['region', ['--region', '22:17500000-18000000']],
      ['chr', ['--chr', '22', '--from-bp', '30000000', '--to-bp', '30400000']],
      ['extract', ['--extract', join(dir, 'extract.txt')]],
    ];
    for (const e of EXPORTS) {
      const bgen = ['--bgen', join(dir, `${e.name}.bgen`), '--sample', join(dir, `${e.name}.sample`)];
      for (const [name, sel] of selections) {
        const a = join(dir, `${e.name}-${name}-indexed`);
        const b = join(dir, `${e.name}-${name}-walked`);
        run('gwas', ...bgen, ...sel, '--pheno', pheno, '--out', a);
        run('gwas', ...bgen, ...sel, '--no-bgen-index', '--pheno', pheno, '--out', b);
        const tsv = readFileSync(`${a}.y.tsv`, 'utf8');
        assert.ok(tsv.split('\n').length > 10, `${e.name} ${name}: some variants tested`);
        assert.equal(tsv, readFileSync(`${b}.y.tsv`, 'utf8'), `${e.name} ${name}`);
      }
    }
    // An index named with --bgen-index, for kinship.
    const e = EXPORTS[0];
    const bgen = ['--bgen', join(dir, `${e.name}.bgen`), '--sample', join(dir, `${e.name}.sample`)];
    run(
      'kinship',
      ...bgen,
      '--bgen-index',
      join(dir, `${e.name}.bgen.bgi`),
      '--chr',
      '22',
      '--from-bp',
      '17000000',
      '--to-bp',
      '19000000',
      '--out',
      join(dir, 'k1.tsv'),
    );
    run('kinship', ...bgen, '--no-bgen-index', '--chr', '22', '--from-bp', '17000000', '--to-bp', '19000000', '--out', join(dir, 'k2.tsv'));
    assert.equal(readFileSync(join(dir, 'k1.tsv'), 'utf8'), readFileSync(join(dir, 'k2.tsv'), 'utf8'));
  });

  sharedTest("another file's index is refused: exit 2, one line naming the index, nothing written", `${STRUCT}.bed`, (t) => {
    if (!requireTool(t, 'plink2')) return;
    const out = join(dir, 'refused');
    mkdirSync(out);
    const r = lmmkit(
      'gwas',
      '--bgen',
      join(dir, 'v12-8bit.bgen'),
      '--sample',
      join(dir, 'v12-8bit.sample'),
      '--bgen-index',
      join(dir, 'v13.bgen.bgi'),
      '--pheno',
      pheno,
      '--out',
      join(out, 'x'),
    );
    assertRejected(r, /v13\.bgen\.bgi: not a bgenix index of .*v12-8bit\.bgen: expected Metadata\.file_size \d+ .*--no-bgen-index/, out);
    assertRejected(
      lmmkit('gwas', '--bfile', SHARED + STRUCT, '--no-bgen-index', '--pheno', pheno, '--out', join(out, 'x')),
      /--no-bgen-index goes with --bgen/,
      out,
    );
    // A refused run leaves only its log (see the README's run log).
    assert.deepEqual(
      readdirSync(out).filter((f) => !f.endsWith('.log')),
      [],
    );
  });
});
