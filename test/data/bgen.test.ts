import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openBgenSource, type BgenReader } from '../../src/data/bgen/bgen.js';
import { parseOxfordSample } from '../../src/data/bgen/sample.js';
import { byteSource } from '../../src/data/bytes.js';
import { openBgen } from '../../src/data/node/bgen.js';
import { InputError } from '../../src/errors.js';
import { writeTestBgen, type TestVariant } from '../bgen-support.js';
import { scratchDir } from '../cli-support.js';
import { requireTool, SHARED, sharedTest } from '../support.js';

const DIR = 'data/bgen/';
const dir = scratchDir('lmmkit-bgen-');

/** Every variant's dosages, N x S column-major, and the reader's tables. */
async function readAll(r: BgenReader, opts: { samples?: number[]; size?: number } = {}): Promise<Float64Array[]> {
  const cols: Float64Array[] = [];
  for await (const b of r.batches({ size: opts.size ?? 7, samples: opts.samples })) {
    for (let j = 0; j < b.dosages.cols; j++) cols.push(b.dosages.data.slice(j * b.dosages.rows, (j + 1) * b.dosages.rows));
  }
  return cols;
}

/** plink2's `--export A` of a BGEN: sample ids, per column the variant id and counted allele, and the dosages (NaN for NA). */
function plink2Raw(bgen: string, mode: string, extra: string[] = []): { iid: string[]; id: string[]; allele: string[]; x: number[][] } {
  const out = join(dir, `raw-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('plink2', ['--bgen', bgen, mode, ...extra, '--export', 'A', '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const lines = readFileSync(`${out}.raw`, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => l.split('\t'));
  const cols = lines[0]!.slice(6);
  return {
    iid: lines.slice(1).map((l) => l[1]!),
    id: cols.map((c) => c.slice(0, c.lastIndexOf('_'))),
    allele: cols.map((c) => c.slice(c.lastIndexOf('_') + 1)),
    x: lines.slice(1).map((l) => l.slice(6).map((v) => (v === 'NA' ? Number.NaN : Number(v)))),
  };
}

/**
 * plink2 stores a dosage in units of 1/16384 (its import rounds the two
 * probabilities it combines, so up to one unit off; 0.82 units seen on
 * example.14bits) and prints at most 5 decimals: one unit plus half the
 * last printed digit.
 */
const PLINK2_DOSAGE = 1 / 16384 + 0.5e-5;

/** lmmkit's dosages of `bgen` with `ref` equal plink2's with the REF mode that counts the same allele. */
async function assertEqualsPlink2(bgen: string, ref: 'first' | 'last', extra: string[] = [], sample?: string): Promise<void> {
  // plink2's --export A counts REF; lmmkit counts a1, the allele that is not REF under its own mode.
  const raw = plink2Raw(bgen, ref === 'first' ? 'ref-last' : 'ref-first', extra);
  const r = await openBgen(bgen, { ref, sample });
  try {
    assert.deepEqual([...r.samples.iid], raw.iid);
    assert.deepEqual([...r.variants.id], raw.id);
    assert.deepEqual([...r.variants.a1], raw.allele, 'the counted allele is the one plink2 counts');
    const cols = await readAll(r);
    let worst = 0;
    for (let j = 0; j < cols.length; j++) {
      for (let s = 0; s < raw.iid.length; s++) {
        const a = cols[j]![s]!;
        const b = raw.x[s]![j]!;
        assert.equal(Number.isNaN(a), Number.isNaN(b), `${raw.id[j]} sample ${s}: missing in one only (${a} vs ${b})`);
        if (!Number.isNaN(a)) worst = Math.max(worst, Math.abs(a - b));
      }
    }
    assert.ok(worst <= PLINK2_DOSAGE, `largest difference ${worst}`);
  } finally {
    await r.close();
  }
}

describe('BGEN dosages equal plink2 --export A on the BGEN project example files', () => {
  for (const ref of ['first', 'last'] as const) {
    sharedTest(`example.14bits.bgen (v1.2, zlib, 14 bits, missing samples), ref-${ref}`, `${DIR}example.14bits.bgen`, async (t) => {
      if (!requireTool(t, 'plink2')) return;
      await assertEqualsPlink2(`${SHARED + DIR}example.14bits.bgen`, ref);
    });
    sharedTest(`haplotypes.bgen (phased), ref-${ref}`, `${DIR}haplotypes.bgen`, async (t) => {
      if (!requireTool(t, 'plink2')) return;
      await assertEqualsPlink2(`${SHARED + DIR}haplotypes.bgen`, ref);
    });
  }
  sharedTest('example.14bits.bgen with --sample example.sample: the same ids and dosages', [`${DIR}example.14bits.bgen`, `${DIR}example.sample`], async (t) => {
    if (!requireTool(t, 'plink2')) return;
    await assertEqualsPlink2(`${SHARED + DIR}example.14bits.bgen`, 'first', ['--sample', `${SHARED + DIR}example.sample`], `${SHARED + DIR}example.sample`);
  });
  sharedTest('zero_len_chrom_id.bgen reads (empty chromosome as 0), dosages as plink2 --oxford-single-chr', `${DIR}zero_len_chrom_id.bgen`, async (t) => {
    if (!requireTool(t, 'plink2')) return;
    const path = `${SHARED + DIR}zero_len_chrom_id.bgen`;
    await assertEqualsPlink2(path, 'first', ['--oxford-single-chr', '22']);
    const r = await openBgen(path);
    assert.equal(r.variants.id.length, 50);
    assert.ok(r.variants.chrom.every((c) => c === '0'));
    await r.close();
  });
});

describe('complex.23bits.bgen checked by hand against the specification', () => {
  sharedTest('ploidy 1-4, phased and unphased, 5 multi-allelic variants skipped and counted', `${DIR}complex.23bits.bgen`, async () => {
    const r = await openBgen(`${SHARED + DIR}complex.23bits.bgen`);
    // The blocks as decoded by hand (ploidy per sample; 23-bit values / (2^23 - 1), all 0 or 1 here):
    // V1 unphased, ploidy 1,2,2,2: [1] [1,0] [1,0] [0,1] -> G copies 0, 0, 0, 1 (the last is AG)
    // V2 phased, ploidy 1 each: P(hap = A) 1,1,1,0 -> 0, 0, 0, 1
    // V3 phased, ploidy 1,2,2,2: [1] [0,0] [1,1] [1,0] -> 0, 2, 0, 1
    // M5 phased, ploidy 1,3,3,2: [1] [1,1,1] [1,1,0] [1,0] -> 0, 0, 1, 1
    // M10 unphased, ploidy 4: P(i copies of G) one-hot at i = 0, 1, 2, 3 -> 0, 1, 2, 3
    // M4, M6-M9 have 3 to 8 alleles.
    assert.deepEqual([...r.variants.id], ['V1', 'V2', 'V3', 'M5', 'M10']);
    assert.deepEqual([...r.variants.a1], ['G', 'G', 'G', 'G', 'G'], 'ref-first: a1 is the second allele');
    const cols = await readAll(r);
    assert.deepEqual(
      cols.map((c) => [...c]),
      [
        [0, 0, 0, 1],
        [0, 0, 0, 1],
        [0, 2, 0, 1],
        [0, 0, 1, 1],
        [0, 1, 2, 3],
      ],
    );
    assert.deepEqual(r.quirks.multiAllelic, { count: 5, first: { file: `${SHARED + DIR}complex.23bits.bgen`, id: 'M4', variant: 4, alleles: 3 } });
    await r.close();
    const last = await openBgen(`${SHARED + DIR}complex.23bits.bgen`, { ref: 'last' });
    // Counting the first allele: ploidy minus the above.
    assert.deepEqual(
      (await readAll(last)).map((c) => [...c]),
      [
        [1, 2, 2, 1],
        [1, 1, 1, 0],
        [1, 0, 2, 1],
        [1, 3, 2, 1],
        [4, 3, 2, 1],
      ],
    );
    await last.close();
  });
});

/** A deterministic stream of integers below 2^bits. */
function ints(seed: number): (bits: number) => number {
  let x = seed >>> 0;
  return (bits) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const y = (Math.imul(x ^ (x >>> 15), 2246822519) >>> 0) / 2 ** 32;
    return Math.floor(y * 2 ** bits);
  };
}

/**
 * Random biallelic variants of every bit depth 1-32, phased and unphased,
 * ploidy 0-3 with missing samples, and the expected count of the second
 * allele of each sample computed from the spec's definitions: unphased,
 * sum over genotypes of (copies) x P(genotype), the last probability being
 * one minus the others; phased, sum over haplotypes of 1 - P(first allele).
 */
function randomVariants(n: number): { variants: TestVariant[]; expected: number[][] } {
  const next = ints(7);
  const variants: TestVariant[] = [];
  const expected: number[][] = [];
  for (let bits = 1; bits <= 32; bits++) {
    for (const phased of [false, true]) {
      const max = 2 ** bits - 1;
      const ploidy = Array.from({ length: n }, (_, s) => (s === 1 ? 0 : s % 5 === 2 ? 1 : s % 7 === 3 ? 3 : 2));
      const missing = Array.from({ length: n }, (_, s) => s % 6 === 5);
      const values: number[][] = [];
      const exp: number[] = [];
      for (let s = 0; s < n; s++) {
        const z = ploidy[s]!;
        const v: number[] = [];
        if (missing[s]) {
          for (let i = 0; i < z; i++) v.push(0);
          exp.push(Number.NaN);
        } else if (z === 0) exp.push(Number.NaN);
        else if (phased) {
          for (let i = 0; i < z; i++) v.push(next(bits));
          exp.push(v.reduce((a, x) => a + (1 - x / max), 0));
        } else {
          // Probabilities of 0..z-1 copies that sum to at most 1: each below what is left.
          let left = max;
          for (let i = 0; i < z; i++) {
            const x = Math.floor(next(bits) * (left / (max + 1)));
            v.push(x);
            left -= x;
          }
          const p = v.map((x) => x / max);
          p.push(1 - p.reduce((a, b) => a + b, 0));
          exp.push(p.reduce((a, pi, i) => a + i * pi, 0));
        }
        values.push(v);
      }
      variants.push({
        rsid: `b${bits}${phased ? 'p' : 'u'}`,
        chrom: '3',
        pos: 100 * bits + (phased ? 1 : 0),
        alleles: ['C', 'T'],
        bits,
        phased,
        ploidy,
        missing,
        values,
      });
      expected.push(exp);
    }
  }
  return { variants, expected };
}

describe('BGEN layouts, compression and bit depths written here from the specification', () => {
  const n = 13;
  const ids = Array.from({ length: n }, (_, s) => `s${s}`);
  const { variants, expected } = randomVariants(n);

  for (const compression of ['none', 'zlib'] as const) {
    test(`layout 2, ${compression}: 1-32 bits, phased and unphased, ploidy 0-3, missing samples`, async () => {
      const bytes = writeTestBgen({ layout: 2, compression, nSamples: n, sampleIds: ids, variants });
      // The browser-safe path: fflate inflates.
      const r = await openBgenSource(byteSource(bytes, 'mem.bgen'));
      assert.equal(r.version, '1.2');
      assert.deepEqual(
        [...r.variants.a1],
        variants.map(() => 'T'),
      );
      const cols = await readAll(r);
      cols.forEach((col, j) => {
        const bits = variants[j]!.bits!;
        for (let s = 0; s < n; s++) {
          const e = expected[j]![s]!;
          if (Number.isNaN(e)) assert.ok(Number.isNaN(col[s]!), `${variants[j]!.rsid} sample ${s}: expected missing, found ${col[s]}`);
          else assert.ok(Math.abs(col[s]! - e) <= 1e-12 * 4, `${variants[j]!.rsid} (${bits} bits) sample ${s}: ${col[s]} vs ${e}`);
        }
      });
      // A subset of samples, out of order, and a selection of variants read by seeking.
      const pick = [12, 0, 4];
      const sel = [40, 3, 63];
      const sub: Float64Array[] = [];
      for await (const b of r.batches({ select: { indices: sel }, samples: pick, size: 2 })) {
        for (let j = 0; j < b.dosages.cols; j++) sub.push(b.dosages.data.slice(j * 3, j * 3 + 3));
      }
      for (const [k, c] of sub.entries()) {
        for (const [i, s] of pick.entries()) assert.ok(Object.is(c[i], cols[sel[k]!]![s]!), `variant ${sel[k]} sample ${s}`);
      }
      await r.close();
    });
  }

  for (const compression of ['none', 'zlib'] as const) {
    test(`layout 1 (v1.1), ${compression}: three 16-bit probabilities, all zero = missing, sums below 1 renormalised`, async () => {
      const next = ints(3);
      const v1: TestVariant[] = Array.from({ length: 4 }, (_, j) => ({
        rsid: `r${j}`,
        snpid: `s${j}`,
        chrom: '1',
        pos: j,
        alleles: ['A', 'G'],
        values: Array.from({ length: n }, (_, s) => (s === j ? [0, 0, 0] : [next(14), next(14), next(14)])),
      }));
      const sample = join(dir, `v11-${compression}.sample`);
      writeFileSync(sample, `ID_1 ID_2 missing\n0 0 0\n${ids.map((id) => `F${id} ${id} 0`).join('\n')}\n`);
      const path = join(dir, `v11-${compression}.bgen`);
      writeFileSync(path, writeTestBgen({ layout: 1, compression, nSamples: n, variants: v1 }));
      const r = await openBgen(path, { sample, ref: 'last' });
      assert.equal(r.version, '1.1');
      assert.deepEqual(
        [...r.samples.fid],
        ids.map((id) => `F${id}`),
      );
      assert.deepEqual([...r.variants.a1], ['A', 'A', 'A', 'A'], 'ref-last: a1 is the first allele');
      const cols = await readAll(r);
      cols.forEach((col, j) => {
        for (let s = 0; s < n; s++) {
          const [aa, ab, bb] = v1[j]!.values[s]! as [number, number, number];
          if (s === j) assert.ok(Number.isNaN(col[s]!));
          else assert.ok(Math.abs(col[s]! - (2 * aa + ab) / (aa + ab + bb)) < 1e-14);
        }
      });
      await r.close();
    });
  }

  test('a file without sample ids needs a .sample; a .sample that disagrees is refused', async () => {
    const v = variants.slice(0, 2);
    const noIds = await openBgenSource(byteSource(writeTestBgen({ layout: 2, compression: 'none', nSamples: n, variants: v }), 'noids.bgen')).catch(
      (e: unknown) => e,
    );
    assert.ok(noIds instanceof InputError);
    assert.match(noIds.message, /^noids\.bgen: expected sample identifiers in the file .* or an Oxford \.sample file/);
    const bytes = writeTestBgen({ layout: 2, compression: 'none', nSamples: n, sampleIds: ids, variants: v });
    const short = parseOxfordSample(
      `ID_1 ID_2 missing\n0 0 0\n${ids
        .slice(1)
        .map((id) => `${id} ${id} 0`)
        .join('\n')}\n`,
      'short.sample',
    );
    await assert.rejects(
      openBgenSource(byteSource(bytes, 'a.bgen'), { sample: short }),
      /^InputError: short\.sample: expected 13 samples \(the count in a\.bgen's header\), found 12$/,
    );
    const swapped = [...ids];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    const other = parseOxfordSample(`ID_1 ID_2 missing\n0 0 0\n${swapped.map((id) => `${id} ${id} 0`).join('\n')}\n`, 'other.sample');
    await assert.rejects(
      openBgenSource(byteSource(bytes, 'a.bgen'), { sample: other }),
      /other\.sample:6: sample 4 is 's4' \(ID_2\) but a\.bgen names its sample 4 's3'/,
    );
    // plink2's own pasted ids (FID_IID) agree with its .sample.
    const pasted = parseOxfordSample(`ID_1 ID_2 missing\n0 0 0\n${ids.map((id) => `${id.slice(0, 1)} ${id.slice(1)} 0`).join('\n')}\n`, 'pasted.sample');
    const ok = await openBgenSource(
      byteSource(writeTestBgen({ layout: 2, compression: 'none', nSamples: n, sampleIds: ids.map((id) => `${id[0]}_${id.slice(1)}`), variants: v }), 'p.bgen'),
      { sample: pasted },
    );
    assert.deepEqual(
      [...ok.samples.iid],
      ids.map((id) => id.slice(1)),
    );
    await ok.close();
  });

  test('unsupported flags, a wrong magic and a truncated block are refused, naming the file and variant', async () => {
    const v = variants.slice(0, 3);
    const open = (spec: Parameters<typeof writeTestBgen>[0], cut = 0) => {
      const b = writeTestBgen(spec);
      return openBgenSource(byteSource(b.subarray(0, b.length - cut), 'bad.bgen'));
    };
    const base = { layout: 2 as const, compression: 'zlib' as const, nSamples: n, sampleIds: ids, variants: v };
    await assert.rejects(
      open({ ...base, magic: [0x62, 0x67, 0x65, 0x4e] }),
      /bad\.bgen: not a BGEN file: expected magic bytes 'bgen' \(62 67 65 6e\) at byte 16, found 62 67 65 4e/,
    );
    await assert.rejects(
      open({ ...base, flags: 0x80000000 | 3 | (2 << 2) }),
      /bad\.bgen: unsupported compression: expected flag bits 0-1 of 0 \(none\), 1 \(zlib\) or 2 \(zstd\), found 3/,
    );
    await assert.rejects(open({ ...base, flags: 0x80000000 | 1 }), /bad\.bgen: unsupported layout 0 .*deprecated v1\.0/);
    await assert.rejects(open({ ...base, flags: 0x80000000 | 1 | (3 << 2) }), /bad\.bgen: unsupported layout 3/);
    await assert.rejects(open({ ...base, layout: 1, flags: 0x80000000 | 2 | (1 << 2) }), /zstd compression \(v1\.3\) with layout 1/);
    await assert.rejects(
      open(base, 5),
      /bad\.bgen: variant 3 of 3 'b2u' \(byte \d+\): the genotype block of \d+ bytes at byte \d+ runs past the end of the file .*truncated/,
    );
    // Faults inside a block are found when it is read: the bits byte of the last block (b2u: 2 bits) changed.
    const plain = writeTestBgen({ ...base, compression: 'none' });
    const stored = v[2]!.ploidy!.reduce((a, z) => a + z, 0);
    const bitsAt = plain.length - Math.ceil((stored * 2) / 8) - 1;
    assert.equal(plain[bitsAt], 2);
    for (const [bits, message] of [
      [0, /bits\.bgen: variant 3 of 3 'b2u' \(byte \d+\): unsupported bits per probability: expected 1 to 32, found 0$/],
      [33, /unsupported bits per probability: expected 1 to 32, found 33$/],
      [3, /variant 3 of 3 'b2u' \(byte \d+\): expected \d+ bytes of genotype data \(\d+ probabilities of 3 bits\), found \d+$/],
    ] as const) {
      const b = plain.slice();
      b[bitsAt] = bits;
      const r = await openBgenSource(byteSource(b, 'bits.bgen'));
      await assert.rejects(readAll(r), message);
      await r.close();
    }
  });
});
