// What a genotype file holds that lmmkit analyses (or excludes) by rule, but
// says so: .bim variants with a negative position are excluded as PLINK 1.9
// excludes them (not tested, not in a kinship from the genotypes), repeated
// variant ids and BIMBAM dosages outside [0, 2] are analysed as plink2 and
// GEMMA do. Each is a warning on stderr and a `quirks` entry of the report;
// before, all three passed without a word.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openBed } from '../../src/data/node/bed.js';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { takeVariants, findDuplicateIds } from '../../src/data/variants.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { column, fixturePaths, lmmkit, readTsv, scratchDir, writeSampleTable } from '../cli-support.js';

interface QuirkReport {
  genotypes: { quirks?: Record<string, { count?: number; values?: number; variants?: number; first: Record<string, string | number> }> };
}

const dir = scratchDir('lmmkit-quirks-');
const sim = simulateGwas({ samples: 60, variants: 40, causal: 3, seed: 11 });
const S = sim.variants.id.length;
const { prefix, pheno } = fixturePaths(dir, 'all');
writeSampleTable(pheno, sim.samples, ['t1', 't2'], (i, c) => (sim.phenotype[i]! * (1 + c) + 0.3 * c * (i % 3)).toFixed(6));

/** The columns `keep` of `m`. */
function columns(m: Matrix, keep: readonly number[]): Matrix {
  const out = new Matrix(m.rows, keep.length);
  keep.forEach((j, k) => {
    out.data.set(m.col(j), k * m.rows);
  });
  return out;
}

const NEGATIVE = [5, 17];
const negPrefix = join(dir, 'neg');
const refPrefix = join(dir, 'ref');
const kept = Array.from({ length: S }, (_, j) => j).filter((j) => !NEGATIVE.includes(j));
const ready = (async () => {
  await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
  // The same fileset with two negative positions, and a copy without those variants.
  const pos = Float64Array.from(sim.variants.pos, (p, j) => (NEGATIVE.includes(j) ? -p : p));
  await writeBed(negPrefix, sim.dosages, sim.samples, { ...sim.variants, pos });
  await writeBed(refPrefix, columns(sim.dosages, kept), sim.samples, takeVariants(sim.variants, kept));
})();

function warnings(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('lmmkit: warning: '));
}

describe('negative .bim positions', () => {
  test('gwas: the variants are not tested nor in the kinship (output = the fileset without them); warned, counted 2', async () => {
    await ready;
    const out = join(dir, 'neg-gwas');
    const r = lmmkit('gwas', '--bfile', negPrefix, '--pheno', pheno, '--kinship-from-bfile', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const ref = join(dir, 'ref-gwas');
    const rr = lmmkit('gwas', '--bfile', refPrefix, '--pheno', pheno, '--kinship-from-bfile', '--out', ref);
    assert.equal(rr.status, 0, rr.stderr);
    assert.deepEqual(warnings(rr.stderr), []);
    for (const t of ['t1', 't2']) {
      const ids = column(readTsv(`${out}.${t}.tsv`), 'id');
      for (const j of NEGATIVE) assert.ok(!ids.includes(sim.variants.id[j]!), `${sim.variants.id[j]} is not tested`);
      assert.equal(readFileSync(`${out}.${t}.tsv`, 'utf8'), readFileSync(`${ref}.${t}.tsv`, 'utf8'));
    }
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as QuirkReport & { covariance: { variantsUsed: number } };
    const neg = report.genotypes.quirks?.negativePositions;
    assert.equal(neg?.count, 2);
    assert.deepEqual(neg?.first, { file: `${negPrefix}.bim`, line: 6, id: sim.variants.id[5]!, position: -sim.variants.pos[5]! });
    assert.equal(report.genotypes.quirks?.duplicateIds, undefined);
    const refReport = JSON.parse(readFileSync(`${ref}.json`, 'utf8')) as QuirkReport & { covariance: { variantsUsed: number } };
    assert.equal(refReport.genotypes.quirks, undefined, 'no quirks entry on an ordinary file');
    assert.equal(report.covariance.variantsUsed, refReport.covariance.variantsUsed);
    const w = warnings(r.stderr);
    assert.equal(w.length, 1, r.stderr);
    assert.match(w[0]!, new RegExp(`neg\\.bim: 2 variants with a negative base-pair position excluded.*'${sim.variants.id[5]}' on line 6`));
  });

  test('lmmkit kinship equals the kinship of the fileset without those variants; warned', async () => {
    await ready;
    const r = lmmkit('kinship', '--bfile', negPrefix, '--out', join(dir, 'neg-kin.tsv'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /lmmkit: warning: .*neg\.bim: 2 variants with a negative base-pair position excluded/);
    const rr = lmmkit('kinship', '--bfile', refPrefix, '--out', join(dir, 'ref-kin.tsv'));
    assert.equal(rr.status, 0, rr.stderr);
    assert.equal(readFileSync(join(dir, 'neg-kin.tsv'), 'utf8'), readFileSync(join(dir, 'ref-kin.tsv'), 'utf8'));
  });

  test('mtgwas and null fit: excluded, counted in the report, warned', async () => {
    await ready;
    const out = join(dir, 'neg-mt');
    const r = lmmkit('mtgwas', '--bfile', negPrefix, '--pheno', pheno, '--kinship-from-bfile', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const ids = column(readTsv(`${out}.tsv`), 'id');
    for (const j of NEGATIVE) assert.ok(!ids.includes(sim.variants.id[j]!), `${sim.variants.id[j]} is not tested`);
    const ref = join(dir, 'ref-mt');
    assert.equal(lmmkit('mtgwas', '--bfile', refPrefix, '--pheno', pheno, '--kinship-from-bfile', '--out', ref).status, 0);
    assert.equal(readFileSync(`${out}.tsv`, 'utf8'), readFileSync(`${ref}.tsv`, 'utf8'));
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as QuirkReport;
    assert.equal(report.genotypes.quirks?.negativePositions?.count, 2);
    assert.equal(warnings(r.stderr).length, 1, r.stderr);
    const nf = lmmkit('null', 'fit', '--bfile', negPrefix, '--pheno', pheno, '--pheno-col', 't1', '--kinship-from-bfile', '--out', join(dir, 'neg.null'));
    assert.equal(nf.status, 0, nf.stderr);
    assert.match(nf.stderr, /lmmkit: warning: .*2 variants with a negative base-pair position excluded/);
  });

  test('a fileset whose every position is negative has no variant to analyse: exit 2', async () => {
    await ready;
    const all = join(dir, 'allneg');
    await writeBed(all, sim.dosages, sim.samples, { ...sim.variants, pos: sim.variants.pos.map((p) => -1 - p) });
    const r = lmmkit('gwas', '--bfile', all, '--pheno', pheno, '--out', join(dir, 'allneg-out'));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /allneg\.bed: expected at least one variant with a non-negative position, found none/);
  });
});

describe('repeated variant ids', () => {
  test('counted, the first named with both lines, all variants analysed, warned', async () => {
    await ready;
    const dup = join(dir, 'dup');
    await writeBed(dup, sim.dosages, sim.samples, sim.variants);
    const lines = readFileSync(`${dup}.bim`, 'utf8').trimEnd().split('\n');
    const id = (j: number) => sim.variants.id[j]!;
    const rename = (j: number, to: string) => {
      lines[j] = lines[j]!.replace(`\t${id(j)}\t`, `\t${to}\t`);
    };
    rename(9, id(2));
    rename(30, id(2));
    rename(12, id(20));
    // '.' is "no id", however often it appears.
    rename(14, '.');
    rename(15, '.');
    // A blank line after the fifth variant: line numbers are the file's.
    lines.splice(5, 0, '');
    writeFileSync(`${dup}.bim`, `${lines.join('\n')}\n`);
    const out = join(dir, 'dup-gwas');
    const r = lmmkit('gwas', '--bfile', dup, '--pheno', pheno, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const base = join(dir, 'dup-base');
    assert.equal(lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--out', base).status, 0);
    // Every variant analysed: the same p-values as under the original ids.
    assert.deepEqual(column(readTsv(`${out}.t1.tsv`), 'pvalue'), column(readTsv(`${base}.t1.tsv`), 'pvalue'));
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as QuirkReport;
    const q = report.genotypes.quirks?.duplicateIds;
    assert.equal(q?.count, 3);
    assert.deepEqual(q?.first, { file: `${dup}.bim`, line: 11, id: id(2), firstLine: 3 });
    const w = warnings(r.stderr);
    assert.equal(w.length, 1, r.stderr);
    assert.match(w[0]!, new RegExp(`dup\\.bim: 3 variants repeating an earlier variant's id, all analysed.*'${id(2)}' on line 11, first seen on line 3`));
  });

  test('findDuplicateIds: exact on hash collisions and many repeats, `.` ignored', () => {
    // 200k ids: a few 32-bit hash collisions are likely, none of them a repeat.
    const ids = Array.from({ length: 200_000 }, (_, i) => `v${i}`);
    assert.equal(findDuplicateIds(ids, '.'), undefined);
    ids[150_000] = 'v7';
    ids[199_999] = 'v7';
    ids[100] = '.';
    ids[101] = '.';
    assert.deepEqual(findDuplicateIds(ids, '.'), { count: 2, id: 'v7', firstIndex: 7, index: 150_000 });
    assert.deepEqual(findDuplicateIds(['a', 'a', 'a', 'b', 'b'])?.count, 3);
  });

  test('the .bim reader reports them on openBed', async () => {
    await ready;
    const bed = await openBed(join(dir, 'dup'));
    try {
      assert.equal(bed.quirks.duplicateIds?.count, 3);
      assert.equal(bed.quirks.negativePositions, undefined);
    } finally {
      await bed.close();
    }
  });
});

describe('BIMBAM dosages outside [0, 2]', () => {
  test('kept as GEMMA keeps them, counted (values, variants, the first named), warned', async () => {
    await ready;
    const n = sim.samples.iid.length;
    const id = (j: number) => sim.variants.id[j]!;
    const value = (i: number, j: number): string => {
      if (j === 3 && i === 5) return '2.5';
      if (j === 3 && i === 7) return '-0.1';
      // Rounding alone: not counted.
      if (j === 20 && i === 1) return '2.0000001';
      if (j === 20 && i === 2) return '3';
      const d = sim.dosages.get(i, j);
      return Number.isNaN(d) ? 'NA' : String(d);
    };
    const geno = join(dir, 'geno.bimbam');
    const rows = sim.variants.id.map((_, j) => [id(j), sim.variants.a1[j], sim.variants.a2[j], ...Array.from({ length: n }, (_, i) => value(i, j))].join(', '));
    writeFileSync(geno, `${rows.join('\n')}\n`);
    const bbPheno = join(dir, 'bb-pheno.tsv');
    const numbered = Array.from({ length: n }, (_, i) => String(i + 1));
    writeSampleTable(bbPheno, { fid: numbered, iid: numbered }, ['t1'], (i) => sim.phenotype[i]!.toFixed(6));
    const out = join(dir, 'bb-gwas');
    const r = lmmkit('gwas', '--bimbam', geno, '--pheno', bbPheno, '--kinship-from-bfile', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(column(readTsv(`${out}.t1.tsv`), 'id').includes(id(20)), 'a variant with out-of-range dosages is analysed');
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as QuirkReport;
    const q = report.genotypes.quirks?.dosagesOutOfRange;
    // Read twice (kinship, then the scan) but counted once.
    assert.equal(q?.values, 3);
    assert.equal(q?.variants, 2);
    assert.deepEqual(q?.first, { file: geno, line: 4, id: id(3), sample: '6', value: 2.5 });
    const w = warnings(r.stderr);
    assert.equal(w.length, 1, r.stderr);
    assert.match(
      w[0]!,
      new RegExp(`geno\\.bimbam: 3 dosages in 2 variants outside \\[0, 2\\], kept as written.*2\\.5 for sample '6' at variant '${id(3)}' on line 4`),
    );
    const k = lmmkit('kinship', '--bimbam', geno, '--out', join(dir, 'bb-kin.tsv'));
    assert.equal(k.status, 0, k.stderr);
    assert.match(k.stderr, /lmmkit: warning: .*3 dosages in 2 variants outside \[0, 2\]/);
  });
});
