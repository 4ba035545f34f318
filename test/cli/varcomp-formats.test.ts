// lmmkit varcomp fit's GWAS mode streamed from every genotype format: a
// simulated .bed exported by plink2 to pgen, VCF and BGEN gives the same TSV
// as the .bed; the variant selection options select as plink2 --make-bed
// does; --keep/--remove and two genotype inputs are refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe } from 'node:test';
import { assertRejected, lmmkit, readTsv, scratchDir, type Tsv } from '../cli-support.js';
import { hasTool, toolTest } from '../support.js';

const dir = scratchDir('lmmkit-varcomp-formats-');
const prefix = join(dir, 'sim');
const data = join(dir, 'data.tsv');
const kin = join(dir, 'sim.kin');

function plink2(...args: string[]): void {
  const r = spawnSync('plink2', [...args, '--silent'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `plink2 ${args.join(' ')}: ${r.stderr}${r.stdout}`);
}

/** Runs varcomp fit in GWAS mode on the simulated data with the genotype arguments `geno`; returns the TSV. */
function fit(name: string, ...geno: string[]): Tsv {
  const out = join(dir, `${name}.tsv`);
  const r = lmmkit(
    'varcomp',
    'fit',
    '--data',
    data,
    '--y',
    'y',
    '--kinship',
    `Additive=${kin}`,
    '--incidence',
    'Additive=iid',
    '--ids',
    'iid',
    ...geno,
    '--out',
    out,
  );
  assert.equal(r.status, 0, r.stderr);
  return readTsv(out);
}

/** Every column of `b` equal to `a`'s: text exactly, numbers within `rel` relative. */
function assertSameTsv(a: Tsv, b: Tsv, rel: number, what: string): void {
  assert.deepEqual(b.header, a.header, what);
  assert.equal(b.rows.length, a.rows.length, what);
  for (let i = 0; i < a.rows.length; i++) {
    for (let j = 0; j < a.header.length; j++) {
      const x = a.rows[i]![j]!;
      const y = b.rows[i]![j]!;
      if (x === y) continue;
      // beta and se are lists separated by semicolons.
      const xs = x.split(';').map(Number);
      const ys = y.split(';').map(Number);
      const close = xs.length === ys.length && xs.every((v, k) => Number.isFinite(v) && Math.abs(v - ys[k]!) <= rel * Math.abs(v));
      if (!close) assert.fail(`${what}: row ${i + 1} column ${a.header[j]}: ${y} vs ${x}`);
    }
  }
}

describe('varcomp fit GWAS mode from pgen, VCF and BGEN exports of a .bed', () => {
  before(async () => {
    const { simulateGwas, writeBed, openBed, kinship, writeMatrixTsv } = await import('../../src/node.js');
    const sim = simulateGwas({ samples: 120, variants: 60, causal: 2, h2Causal: 0.3, seed: 9 });
    await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
    const bed = await openBed(prefix);
    const { k } = await kinship(bed, { method: 'standardized' });
    await bed.close();
    for (let i = 0; i < 120; i++) k.data[i + i * 120]! += 1e-3;
    await writeMatrixTsv(kin, k, sim.samples.iid);
    // Rows in reverse sample order: --ids matches them by IID.
    const order = sim.samples.iid.map((_, i) => 119 - i);
    writeFileSync(data, `${['iid\ty', ...order.map((i) => `${sim.samples.iid[i]}\t${sim.phenotype[i]}`)].join('\n')}\n`);
    if (!hasTool('plink2')) return;
    plink2('--bfile', prefix, '--make-pgen', '--out', prefix);
    // The FIDs are not 0: id-paste=iid names the VCF and BGEN samples by IID alone.
    plink2('--bfile', prefix, '--export', 'vcf', 'bgz', 'id-paste=iid', '--out', prefix);
    plink2('--bfile', prefix, '--export', 'bgen-1.2', 'bits=8', 'id-paste=iid', '--out', join(dir, 'v12'));
    plink2('--bfile', prefix, '--export', 'bgen-1.3', 'ref-first', 'id-paste=iid', '--out', join(dir, 'v13'));
  });

  toolTest('--pfile, --vcf, --bgen (v1.2 8 bits zlib, v1.3 zstd) give the TSV of --bfile', 'plink2', () => {
    const bed = fit('bed', '--bfile', prefix);
    assert.ok(bed.rows.length > 40, `${bed.rows.length} variants tested`);
    const runs: [string, string[]][] = [
      ['pgen', ['--pfile', prefix]],
      ['vcf', ['--vcf', `${prefix}.vcf.gz`]],
      ['vcf-gt', ['--vcf', `${prefix}.vcf.gz`, '--vcf-dosage', 'gt']],
      ['bgen12', ['--bgen', join(dir, 'v12.bgen'), '--sample', join(dir, 'v12.sample'), '--bgen-ref', 'last']],
      ['bgen13', ['--bgen', join(dir, 'v13.bgen')]],
    ];
    for (const [name, args] of runs) assertSameTsv(bed, fit(name, ...args), 1e-9, name);
    const json = JSON.parse(readFileSync(join(dir, 'bgen12.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(json.bgen, join(dir, 'v12.bgen'));
    assert.equal(json.bgenRef, 'last');
  });

  toolTest('--extract, --chr, --from-bp/--to-bp select the variants of plink2 --make-bed with the same options', 'plink2', () => {
    const ids = readFileSync(`${prefix}.bim`, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => l.split('\t'));
    const list = join(dir, 'extract.txt');
    writeFileSync(
      list,
      `${ids
        .filter((_, j) => j % 3 !== 0)
        .map((f) => f[1])
        .join('\n')}\n`,
    );
    plink2('--bfile', prefix, '--extract', list, '--chr', '2-3,5', '--make-bed', '--out', join(dir, 'sub'));
    const want = fit('sub', '--bfile', join(dir, 'sub'));
    assert.ok(want.rows.length > 10 && want.rows.length < 40, `${want.rows.length} variants`);
    assertSameTsv(want, fit('sel-bed', '--bfile', prefix, '--extract', list, '--chr', '2-3,5'), 0, 'bed --extract --chr');
    assertSameTsv(want, fit('sel-pgen', '--pfile', prefix, '--extract', list, '--chr', '2-3,5'), 1e-9, 'pgen --extract --chr');
    const json = JSON.parse(readFileSync(join(dir, 'sel-pgen.json'), 'utf8')) as { selection?: { variants?: { before: number; after: number } } };
    assert.equal(json.selection?.variants?.before, ids.length);
    assert.equal(json.selection?.variants?.after, readFileSync(join(dir, 'sub.bim'), 'utf8').trimEnd().split('\n').length);
    // A window of chromosome 4: the positions of its 3rd to 8th variants.
    const chr4 = ids.filter((f) => f[0] === '4').map((f) => f[3]!);
    plink2('--bfile', prefix, '--chr', '4', '--from-bp', chr4[2]!, '--to-bp', chr4[7]!, '--make-bed', '--out', join(dir, 'win'));
    assertSameTsv(
      fit('win', '--bfile', join(dir, 'win')),
      fit('win-vcf', '--vcf', `${prefix}.vcf.gz`, '--chr', '4', '--from-bp', chr4[2]!, '--to-bp', chr4[7]!),
      1e-9,
      'vcf --chr --from-bp --to-bp',
    );
  });

  toolTest('bad input: --keep/--remove, two genotype inputs, --extract without genotypes, an IID two families share', 'plink2', () => {
    const out = join(dir, 'bad');
    mkdirSync(out);
    const base = [
      'varcomp',
      'fit',
      '--data',
      data,
      '--y',
      'y',
      '--kinship',
      `Additive=${kin}`,
      '--incidence',
      'Additive=iid',
      '--ids',
      'iid',
      '--out',
      join(out, 'x.tsv'),
    ];
    assertRejected(
      lmmkit(...base, '--pfile', prefix, '--keep', data),
      /varcomp fit: expected no --keep, found --keep .*data\.tsv: the rows analysed are those of --data/,
      out,
    );
    assertRejected(lmmkit(...base, '--bfile', prefix, '--remove', data), /expected no --remove/, out);
    assertRejected(
      lmmkit(...base, '--bfile', prefix, '--pfile', prefix),
      /varcomp fit: give exactly one of --bfile PREFIX, --bimbam FILE, --pfile PREFIX/,
      out,
    );
    assertRejected(lmmkit(...base, '--vcf', `${prefix}.vcf.gz`, '--sample', join(dir, 'v12.sample')), /varcomp fit: --sample goes with --bgen/, out);
    assertRejected(lmmkit(...base, '--chr', '1'), /varcomp fit: --chr selects variants of a genotype file: expected one of --bfile, .* found none/, out);
    assertRejected(lmmkit(...base, '--pfile', prefix, '--ids', 'y'), /data\.tsv:2: sample '.*' of column 'y' is not in .*sim\.psam/, out);
    // Two families with the same IID: --ids cannot tell which sample a row means.
    const fam = readFileSync(`${prefix}.fam`, 'utf8').trimEnd().split('\n');
    const first = fam[0]!.split(/\s+/)[1]!;
    const gone = fam[1]!.split(/\s+/)[1]!;
    fam[1] = ['otherfam', first, ...fam[1]!.split(/\s+/).slice(2)].join('\t');
    const dup = join(dir, 'dup');
    writeFileSync(`${dup}.fam`, `${fam.join('\n')}\n`);
    copyFileSync(`${prefix}.bed`, `${dup}.bed`);
    copyFileSync(`${prefix}.bim`, `${dup}.bim`);
    // Without the row of the sample renamed (its IID is gone).
    const dupData = join(dir, 'dup-data.tsv');
    writeFileSync(
      dupData,
      readFileSync(data, 'utf8')
        .split('\n')
        .filter((l) => l.split('\t')[0] !== gone)
        .join('\n'),
    );
    assertRejected(
      lmmkit(...base.map((a) => (a === data ? dupData : a)), '--bfile', dup),
      new RegExp(`dup-data\\.tsv:\\d+: sample '${first}' of column 'iid': expected one sample of .*dup\\.fam with that IID, found several`),
      out,
    );
  });
});
