// The VCF reader: a VCF written here from simulated genotype probabilities
// (DS, GP, HDS and GT, with missing and haploid calls and a multi-allelic
// record), read plain and BGZF, against its own fields as bcftools query
// prints them and against plink2's reading of it (--export A).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BatchOptions } from '../../src/data/genotypes.js';
import { openVcf } from '../../src/data/node/vcf.js';
import { openVcfStream, type VcfDosage } from '../../src/data/vcf.js';
import { InputError } from '../../src/errors.js';
import { Rng } from '../../src/sim/rng.js';
import { scratchDir } from '../cli-support.js';
import { hasTool, requireTool } from '../support.js';

const dir = scratchDir('lmmkit-vcf-');
const N = 25;
const M = 30;
/** The record (0-based, among the biallelic ones) whose first 5 samples are haploid. */
const HAPLOID = 4;
/** The multi-allelic record is written before this biallelic record. */
const MULTI_BEFORE = 10;

/**
 * A VCF of N samples and M biallelic records (plus one multi-allelic) with
 * GT:DS:GP:HDS in thousandths, so that every field is exact in 3 decimals:
 * GP sums to 1, DS = GP1 + 2 GP2 and HDS sums to DS. About 1 genotype in 20
 * is missing. `fields` picks the FORMAT fields written; `multi` whether to
 * write the multi-allelic record.
 */
function simulatedVcf(fields: string[] = ['GT', 'DS', 'GP', 'HDS'], multi = true): string {
  const rng = new Rng(14);
  const declared: Record<string, string> = {
    GT: 'Number=1,Type=String',
    DS: 'Number=A,Type=Float',
    GP: 'Number=G,Type=Float',
    HDS: 'Number=.,Type=Float',
  };
  const lines = ['##fileformat=VCFv4.2', '##contig=<ID=1>'];
  for (const f of fields) lines.push(`##FORMAT=<ID=${f},${declared[f]},Description="${f}">`);
  const samples = Array.from({ length: N }, (_, i) => `S${i + 1}`);
  lines.push(['#CHROM', 'POS', 'ID', 'REF', 'ALT', 'QUAL', 'FILTER', 'INFO', 'FORMAT', ...samples].join('\t'));
  const th = (k: number): string => String(k / 1000);
  for (let j = 0; j < M; j++) {
    if (j === MULTI_BEFORE && multi) {
      const cols = samples.map(() => ['0/2', '1', '0,0,0,1,0,0', '0.5,0.5'].slice(0, 1).concat(['.', '.', '.']).slice(0, fields.length).join(':'));
      lines.push(['1', 1000 + 100 * j - 50, 'multi', 'A', 'C,G', '.', '.', '.', fields.join(':'), ...cols].join('\t'));
    }
    const cols = samples.map((_, i) => {
      if (rng.uniform() < 0.05) return fields.map((f) => (f === 'GT' ? './.' : '.')).join(':');
      const haploid = j === HAPLOID && i < 5;
      const values: Record<string, string> = {};
      if (haploid) {
        const p1 = Math.floor(rng.uniform() * 1001);
        values.GT = p1 > 500 ? '1' : '0';
        values.DS = th(p1);
        values.GP = `${th(1000 - p1)},${th(p1)}`;
        values.HDS = th(p1);
      } else {
        const a = Math.floor(rng.uniform() * 1001);
        const b = Math.floor(rng.uniform() * (1001 - a));
        const gp = [a, b, 1000 - a - b];
        const best = gp.indexOf(Math.max(...gp));
        const ds = gp[1]! + 2 * gp[2]!;
        const h1 = Math.min(1000, Math.floor(ds / 2));
        values.GT = ['0/0', '0/1', '1|1'][best]!;
        values.DS = th(ds);
        values.GP = gp.map(th).join(',');
        values.HDS = `${th(h1)},${th(ds - h1)}`;
      }
      return fields.map((f) => values[f]).join(':');
    });
    lines.push(['1', 1000 + 100 * j, `v${j}`, 'A', 'T', '.', '.', '.', fields.join(':'), ...cols].join('\t'));
  }
  return `${lines.join('\n')}\n`;
}

let fileNo = 0;
/** Writes `text` as a VCF, plain or BGZF (bgzip, when installed). */
function writeVcf(text: string, bgzf = false): string {
  const path = join(dir, `f${fileNo++}.vcf`);
  writeFileSync(path, text);
  if (!bgzf) return path;
  const r = spawnSync('bgzip', ['-f', path]);
  assert.equal(r.status, 0, r.stderr.toString());
  return `${path}.gz`;
}

/** Every selected variant's dosages, one array per variant. */
async function read(
  path: string,
  dosage?: VcfDosage,
  opts: BatchOptions = {},
): Promise<{ ids: string[]; cols: number[][]; reader: Awaited<ReturnType<typeof openVcf>> }> {
  const reader = await openVcf(path, { dosage });
  const cols: number[][] = [];
  const ids: string[] = [];
  for await (const b of reader.batches(opts)) {
    for (let c = 0; c < b.dosages.cols; c++) cols.push(Array.from(b.dosages.data.subarray(c * b.dosages.rows, (c + 1) * b.dosages.rows)));
    ids.push(...b.variants.id);
  }
  await reader.close();
  return { ids, cols, reader };
}

function assertClose(actual: number[][], expected: number[][], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: variant count`);
  actual.forEach((col, j) => {
    assert.equal(col.length, expected[j]!.length);
    col.forEach((x, i) => {
      const e = expected[j]![i]!;
      if (Number.isNaN(e) || Number.isNaN(x)) assert.ok(Number.isNaN(e) && Number.isNaN(x), `${what}: variant ${j} sample ${i}: ${x} vs ${e}`);
      else assert.ok(Math.abs(x - e) <= tol, `${what}: variant ${j} sample ${i}: ${x} vs ${e} (tolerance ${tol})`);
    });
  });
}

/**
 * The fields of the biallelic records as `bcftools query` prints them, per
 * variant and sample: [GT, DS, GP, HDS].
 */
function bcftoolsFields(path: string): string[][][] {
  const r = spawnSync('bcftools', ['query', '-f', '%ALT[\t%GT;%DS;%GP;%HDS]\n', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => !f[0]!.includes(','))
    .map((f) => f.slice(1).map((s) => s.split(';')));
}

/** The documented rules applied to bcftools' text: a haploid GT (one allele) doubles DS, HDS and GP. */
function expectedFrom(fields: string[][][], dosage: VcfDosage): number[][] {
  const num = (s: string): number[] => (s === '.' ? [] : s.split(',').map(Number));
  return fields.map((samples) =>
    samples.map(([gt, ds, gp, hds]) => {
      const alleles = gt!.split(/[/|]/);
      const haploid = alleles.length === 1 && gt !== '.';
      if (dosage === 'gt') return alleles.includes('.') ? Number.NaN : alleles.reduce((s, a) => s + Number(a), 0) * (haploid ? 2 : 1);
      if (dosage === 'ds') return ds === '.' ? Number.NaN : Number(ds) * (haploid ? 2 : 1);
      if (dosage === 'hds') {
        const h = num(hds!);
        return h.length === 0 ? Number.NaN : h.length === 1 ? 2 * h[0]! : h[0]! + h[1]!;
      }
      const p = num(gp!);
      return p.length === 0 ? Number.NaN : p.length === 2 ? 2 * p[1]! : p[1]! + 2 * p[2]!;
    }),
  );
}

test('DS, GP, HDS and GT dosages equal the fields bcftools query prints (plain and BGZF), ALT counted', async (t) => {
  if (!requireTool(t, 'bcftools') || !requireTool(t, 'bgzip')) return;
  const text = simulatedVcf();
  for (const path of [writeVcf(text), writeVcf(text, true)]) {
    const fields = bcftoolsFields(path);
    assert.equal(fields.length, M);
    for (const dosage of ['ds', 'gp', 'hds', 'gt'] as const) {
      const { cols, ids, reader } = await read(path, dosage, { size: 7 });
      assert.deepEqual(
        ids,
        Array.from({ length: M }, (_, j) => `v${j}`),
      );
      assertClose(cols, expectedFrom(fields, dosage), 1e-12, `${path} ${dosage}`);
      assert.deepEqual(reader.variants.a1.slice(0, 2), ['T', 'T'], 'a1 is ALT');
      assert.deepEqual(reader.variants.a2.slice(0, 2), ['A', 'A'], 'a2 is REF');
      assert.deepEqual(reader.samples.iid.slice(0, 2), ['S1', 'S2']);
      assert.deepEqual(reader.samples.fid, reader.samples.iid);
      assert.equal(reader.quirks.multiAllelicSkipped?.count, 1);
      assert.equal(reader.quirks.multiAllelicSkipped?.first.id, 'multi');
      assert.equal(reader.quirks.multiAllelicSkipped?.first.line, 7 + MULTI_BEFORE + 1);
    }
    // The default: DS, declared in the header.
    const def = await read(path);
    assert.equal(def.reader.dosage, 'ds');
    assertClose(def.cols, expectedFrom(fields, 'ds'), 1e-12, 'default');
  }
});

test('bytes in chunks of any size (the browser-safe entry) read as the file does, CRLF lines too', async () => {
  const text = simulatedVcf();
  const path = writeVcf(text);
  const expected = (await read(path, 'gp')).cols;
  const bytes = new TextEncoder().encode(text.replaceAll('\n', '\r\n'));
  for (const size of [1, 7, 4096]) {
    const reader = await openVcfStream(
      'mem.vcf',
      async function* () {
        for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
      },
      { dosage: 'gp' },
    );
    const cols: number[][] = [];
    for await (const b of reader.batches({ size: 4 })) {
      for (let c = 0; c < b.dosages.cols; c++) cols.push(Array.from(b.dosages.data.subarray(c * N, (c + 1) * N)));
    }
    assertClose(cols, expected, 0, `chunks of ${size}`);
  }
});

test('selections: samples, out of order and repeated variants, a region, standardized', async () => {
  const path = writeVcf(simulatedVcf());
  const all = (await read(path, 'ds')).cols;
  const samples = [24, 0, 3, 3];
  const picked = await read(path, 'ds', { select: { indices: [20, 2, 2, 29] }, samples, size: 3 });
  assert.deepEqual(picked.ids, ['v20', 'v2', 'v2', 'v29']);
  assertClose(
    picked.cols,
    [20, 2, 2, 29].map((j) => samples.map((i) => all[j]![i]!)),
    0,
    'picked',
  );
  const region = await read(path, 'ds', { select: { region: { chrom: '1', start: 1500, end: 1800 } } });
  assert.deepEqual(region.ids, ['v5', 'v6', 'v7']);
  const reader = await openVcf(path);
  for await (const b of reader.batches({ standardize: true, size: 100 })) {
    assert.ok(b.stats !== undefined);
    assert.ok(b.dosages.data.every((x) => Number.isFinite(x)));
  }
});

test('plink2 --vcf ... --export A reads the same dosages (DS, HDS, GP, GT; haploid calls as plink2 counts them)', async (t) => {
  if (!requireTool(t, 'plink2')) return;
  // plink2 2.00a3.5 fails on the multi-allelic record ("multiallelic dosage size request"), --max-alleles 2 or not.
  const full = writeVcf(simulatedVcf(undefined, false));
  // plink2 reads GP only from a file without DS; GT alone with no dosage= option.
  const gpOnly = writeVcf(simulatedVcf(['GT', 'GP'], false));
  const gtOnly = writeVcf(simulatedVcf(['GT'], false));
  const cases: [string, VcfDosage, string[]][] = [
    [full, 'ds', ['dosage=DS']],
    [full, 'hds', ['dosage=HDS']],
    [gpOnly, 'gp', ['dosage=GP']],
    [gtOnly, 'gt', []],
  ];
  for (const [path, dosage, modifier] of cases) {
    const out = join(dir, `plink2-${dosage}`);
    const r = spawnSync('plink2', ['--vcf', path, ...modifier, '--export', 'A', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const rows = readFileSync(`${out}.raw`, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => l.split('\t'));
    const header = rows[0]!;
    // plink2 2.00a3 counts REF in --export A (the column is named ID_REF); lmmkit counts ALT.
    assert.equal(header[6], 'v0_A');
    const plink = Array.from({ length: M }, (_, j) => rows.slice(1).map((row) => (row[6 + j] === 'NA' ? Number.NaN : 2 - Number(row[6 + j]))));
    const ours = (await read(path, dosage)).cols;
    // plink2 keeps dosages in 1/16384 steps and prints them to 3 decimals (a hard call exactly).
    assertClose(ours, plink, dosage === 'gt' ? 0 : 5e-4 + 1 / 16384, `plink2 ${dosage}`);
  }
});

test('bad input: one InputError naming the file, line and variant', async () => {
  const text = simulatedVcf();
  const lines = text.split('\n');
  const cases: [string, RegExp, VcfDosage?][] = [
    ['hello\tworld\n', /:1: expected a VCF file \(a first line '##fileformat=VCFv4\.x'\), found 'hello\tworld'/],
    ['##fileformat=VCFv4.2\n1\t100\tv\tA\tT\t.\t.\t.\tGT\t0/1\n', /:2: expected the header line '#CHROM/],
    ['##fileformat=VCFv4.2\n', /expected a VCF header ending in a '#CHROM/],
    // Record v3 (line 7 + 3 + 1) loses its last sample.
    [
      lines.map((l, k) => (k === 10 ? l.slice(0, l.lastIndexOf('\t')) : l)).join('\n'),
      /:11: variant 'v3': expected 9 \+ 25 = 34 tab-separated columns \(the #CHROM line's\), found 33/,
    ],
    [lines.map((l, k) => (k === 10 ? `${l}\t0/1` : l)).join('\n'), /:11: variant 'v3': expected 9 \+ 25 = 34 .*found 35/],
    [simulatedVcf(['GT', 'DS']), /:6: variant 'v0': expected the FORMAT field GP \(--vcf-dosage gp\), found FORMAT 'GT:DS'/, 'gp'],
    [lines.map((l, k) => (k === 12 ? l.replace('\tGT:DS:GP:HDS\t', '\tGT:GP:HDS\t') : l)).join('\n'), /:13: variant 'v5': expected the FORMAT field DS/],
    [
      lines.map((l, k) => (k === 9 ? l.replace(/\t[^\t]*$/, '\t0/1:2.5:0,0,1:1,1') : l)).join('\n'),
      /:10: variant 'v2', sample 'S25': expected a dosage in \[0, 2\] \(DS\) or \., found '2\.5'/,
    ],
    [
      lines.map((l, k) => (k === 9 ? l.replace(/\t[^\t]*$/, '\t./1:1:0,0,1:1,1') : l)).join('\n'),
      /:10: variant 'v2', sample 'S25': expected .*half-calls.*found '\.\/1'/,
      'gt',
    ],
  ];
  for (const [content, message, dosage] of cases) {
    const path = writeVcf(content);
    await assert.rejects(
      async () => read(path, dosage),
      (e: unknown) => e instanceof InputError && message.test(e.message) && e.message.startsWith(path) && !e.message.includes('\n'),
      String(message),
    );
  }
});

test('a truncated .vcf.gz: inside a block, and at a block boundary (no BGZF end block)', async (t) => {
  if (!hasTool('bgzip') && !requireTool(t, 'bgzip')) return;
  const gz = readFileSync(writeVcf(simulatedVcf(), true));
  const cut = join(dir, 'cut.vcf.gz');
  writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
  await assert.rejects(
    async () => read(cut),
    (e: unknown) =>
      e instanceof InputError && /cut\.vcf\.gz:\d+: expected the file to go on after line \d+ \(variant 'v\d+'\), found unexpected end of file/.test(e.message),
  );
  const noEnd = join(dir, 'noend.vcf.gz');
  writeFileSync(noEnd, gz.subarray(0, gz.length - 28));
  await assert.rejects(
    async () => read(noEnd),
    (e: unknown) =>
      e instanceof InputError &&
      /noend\.vcf\.gz:38: expected the file to go on after line 38 \(variant 'v29'\), found no BGZF end-of-file block/.test(e.message),
  );
});
