// Text inputs past V8's 512 MiB string limit (a .bim of 15M variants, a
// kinship of N = 6000 as lmmkit writes it) read line by line, and the line
// cutting itself: bytes in any chunking give the lines a string gives.
import assert from 'node:assert/strict';
import { closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLines, LineSplitter, type LineParser } from '../../src/data/lines.js';
import { kinship } from '../../src/data/kinship.js';
import { openBed } from '../../src/data/node/bed.js';
import { readKinship } from '../../src/data/node/tables.js';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { lmmkit, scratchDir } from '../cli-support.js';
import { relMaxDiff } from '../support.js';

/** Collects the lines it is given, with their numbers. */
class Collect implements LineParser<string[]> {
  readonly out: string[] = [];
  line(text: string, n: number): void {
    this.out.push(`${n}:${text}`);
  }
  finish(): string[] {
    return this.out;
  }
}

test('bytes pushed in any chunks give the lines the string gives (BOM, CRLF, multi-byte characters across chunks)', () => {
  const text = '\ufeffid\tvalue\r\nα1\t2.5\r\n\n\u00e9t\u00e9\t\u4e2d\u6587\n\ud83d\ude00\tlast';
  const bytes = new TextEncoder().encode(text);
  const want = parseLines(text, new Collect());
  assert.equal(want[0], '1:id\tvalue\r');
  for (const size of [1, 2, 3, 5, 7, bytes.length]) {
    const split = new LineSplitter(new Collect());
    for (let at = 0; at < bytes.length; at += size) split.push(bytes.subarray(at, at + size));
    assert.deepEqual(split.end(), want, `chunks of ${size} bytes`);
  }
});

test('a .bim of 15M variants (more than 512 MiB) is read, with every variant', { timeout: 180_000 }, async () => {
  const dir = scratchDir('lmmkit-bigbim-');
  const prefix = join(dir, 'big');
  const S = 15_000_000;
  const fd = openSync(`${prefix}.bim`, 'w');
  const BLOCK = 100_000;
  for (let start = 0; start < S; start += BLOCK) {
    let chunk = '';
    for (let j = start; j < start + BLOCK; j++) {
      const chrom = 1 + Math.floor(j / 1_000_000);
      const pos = 10_000_000 + (j % 1_000_000) * 7;
      chunk += `${chrom}\tchr${chrom}:${pos}:A:G\t${(pos / 1e8).toFixed(6)}\t${pos}\tA\tG\n`;
    }
    writeSync(fd, chunk);
  }
  closeSync(fd);
  assert.ok(statSync(`${prefix}.bim`).size > 512 * 2 ** 20, 'the .bim is larger than the longest string V8 can hold');
  writeFileSync(`${prefix}.fam`, ['f1 s1 0 0 1 -9', 'f2 s2 0 0 2 -9', 'f3 s3 0 0 1 -9', 'f4 s4 0 0 2 -9', ''].join('\n'));
  // 4 samples: one byte per variant after the 3 magic bytes.
  writeFileSync(`${prefix}.bed`, new Uint8Array(3 + S).fill(0, 3).fill(0x6c, 0, 1).fill(0x1b, 1, 2).fill(0x01, 2, 3));
  const bed = await openBed(prefix);
  try {
    const v = bed.variants;
    assert.equal(bed.nVariants, S);
    const last = S - 1;
    const pos = 10_000_000 + (last % 1_000_000) * 7;
    assert.deepEqual(
      [v.chrom[last], v.id[last], v.cm[last], v.pos[last], v.a1[last], v.a2[last]],
      ['15', `chr15:${pos}:A:G`, Number((pos / 1e8).toFixed(6)), pos, 'A', 'G'],
    );
    assert.deepEqual([v.chrom[0], v.id[0], v.pos[0]], ['1', 'chr1:10000000:A:G', 10_000_000]);
  } finally {
    await bed.close();
  }
});

test('a kinship of N = 6000 written by lmmkit kinship (more than 512 MiB) is read back', { timeout: 300_000 }, async () => {
  const dir = scratchDir('lmmkit-bigkin-');
  const sim = simulateGwas({ samples: 6000, variants: 40, causal: 2, seed: 5 });
  const prefix = join(dir, 'g');
  await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
  const kinPath = join(dir, 'kin.tsv');
  const r = lmmkit('kinship', '--bfile', prefix, '--out', kinPath);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(statSync(kinPath).size > 512 * 2 ** 20, 'the kinship is larger than the longest string V8 can hold');
  const read = await readKinship(kinPath);
  const src = await openBed(prefix);
  const k = await kinship(src, { method: 'standardized' }).finally(() => src.close());
  assert.deepEqual(read.ids.iid, sim.samples.iid);
  assert.equal(read.k.rows, 6000);
  // As written: each value to the precision lmmkit writes.
  assert.ok(relMaxDiff(read.k.data, k.k.data) < 1e-12, `max relative difference ${relMaxDiff(read.k.data, k.k.data)}`);
});
