// VCF region reads through a .tbi (tabix -p vcf) and a .csi (bcftools
// index) of plink2's BGZF export of the chr22 data: the variants and the
// dosages read through either index equal those of the whole file in the
// region, for regions inside the data, before its first record, past its
// end and on a sequence the index does not have; wrong indexes are refused
// with one line naming the index.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../../src/errors.js';
import { openVcf } from '../../src/data/node/vcf.js';
import type { RegionQuery } from '../../src/data/tabix/region-stream.js';
import { regionBins } from '../../src/data/tabix/query.js';
import { fflateInflate, readBgzfWhole } from '../../src/data/tabix/bgzf.js';
import { indexedVcfBytes, planIndexedRead } from '../../src/data/tabix/region-stream.js';
import { parseTbi } from '../../src/data/tabix/tbi.js';
import { byteSource } from '../../src/data/bytes.js';
import type { VcfReader } from '../../src/data/vcf.js';
import { scratchDir } from '../cli-support.js';
import { requireTool, SHARED, sharedTest } from '../support.js';
import { test } from 'node:test';

const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';
const dir = scratchDir('lmmkit-tabix-');

function run(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** plink2's BGZF VCF of the chr22 .bed, with a .tbi (tabix) and, on a copy, a .csi (bcftools). */
function makeIndexed(): { tbiVcf: string; csiVcf: string } {
  const out = join(dir, 'hc');
  run('plink2', '--bfile', SHARED + STRUCT, '--export', 'vcf', 'bgz', 'id-paste=iid', '--out', out);
  const tbiVcf = `${out}.vcf.gz`;
  const csiVcf = join(dir, 'hc-csi.vcf.gz');
  copyFileSync(tbiVcf, csiVcf);
  run('tabix', '-f', '-p', 'vcf', tbiVcf);
  run('bcftools', 'index', '-f', '-c', csiVcf);
  return { tbiVcf, csiVcf };
}

const one =
  (chrom: string, start: number, end: number): (() => RegionQuery) =>
  () =>
  (name) =>
    name === chrom ? { start, end } : undefined;

/** Every dosage of `reader`'s variants, in order. */
async function dosages(reader: VcfReader, indices?: Int32Array): Promise<number[]> {
  const out: number[] = [];
  for await (const b of reader.batches({ size: 300, ...(indices === undefined ? {} : { select: { indices } }) })) out.push(...b.dosages.data);
  await reader.close();
  return out;
}

test('regionBins: the bins of the tabix scheme holding a position (SAMv1 5.3 reg2bins)', () => {
  // [0, 1): bin 0 and the first bin of each level (1, 9, 73, 585, 4681).
  assert.deepEqual(regionBins(0, 1, 14, 5), [0, 1, 9, 73, 585, 4681]);
  // A 16 kb window at 2^26: level 5 offset 4681 + 4096, and its parents.
  assert.deepEqual(regionBins(1 << 26, (1 << 26) + 1, 14, 5), [0, 1 + 1, 9 + 8, 73 + 64, 585 + 512, 4681 + 4096]);
  // Two adjacent 16 kb windows at the finest level, one bin above.
  assert.deepEqual(regionBins(16383, 16385, 14, 5), [0, 1, 9, 73, 585, 4681, 4682]);
});

sharedTest('a region read through the .tbi and the .csi equals the whole file in the region', `${STRUCT}.bed`, async (t) => {
  if (!requireTool(t, 'plink2') || !requireTool(t, 'tabix') || !requireTool(t, 'bcftools')) return;
  const { tbiVcf, csiVcf } = makeIndexed();
  const whole = await openVcf(tbiVcf);
  const first = whole.variants.pos[0]!;
  const last = whole.variants.pos[whole.variants.id.length - 1]!;
  const regions: [string, number, number][] = [
    ['22', 20_000_000, 21_000_000],
    ['22', 1, first + 50_000], // starting before the first record
    ['22', first - 1000, first], // before the first record: empty
    ['22', last, last + 1], // the last record alone
    ['22', 35_123_457, 35_123_999], // small, likely empty
    ['5', 1, 1_000_000], // a sequence the index does not have: empty
    ['22', 1, 2 ** 29], // the whole scheme
  ];
  for (const [chrom, start, end] of regions) {
    const keep: number[] = [];
    whole.variants.pos.forEach((p, i) => {
      if (whole.variants.chrom[i] === chrom && p >= start && p < end) keep.push(i);
    });
    const expectIds = keep.map((i) => whole.variants.id[i]);
    const expectDosages = keep.length === 0 ? [] : await dosages(await openVcf(tbiVcf, { index: false }), Int32Array.from(keep));
    // tabix's own answer for the same region (records overlapping it, kept by POS as lmmkit keeps them).
    const tabixLines =
      chrom === '22'
        ? run('tabix', tbiVcf, `${chrom}:${start}-${end - 1}`)
            .split('\n')
            .filter((l) => l !== '' && Number(l.split('\t')[1]) >= start).length
        : 0;
    assert.equal(tabixLines, keep.length, `tabix ${chrom}:${start}-${end - 1}`);
    for (const [vcf, kind] of [
      [tbiVcf, 'tbi'],
      [csiVcf, 'csi'],
    ] as const) {
      const r = await openVcf(vcf, { region: one(chrom, start, end) });
      assert.equal(r.index?.kind, kind);
      assert.deepEqual(r.variants.id, expectIds, `${kind} ${chrom}:${start}-${end}`);
      assert.deepEqual(
        Array.from(r.variants.pos),
        keep.map((i) => whole.variants.pos[i]),
      );
      assert.deepEqual(r.samples.iid, whole.samples.iid);
      assert.deepEqual(keep.length === 0 ? [] : await dosages(r), expectDosages, `${kind} dosages ${chrom}:${start}-${end}`);
    }
  }
  await whole.close();
});

sharedTest('wrong indexes are refused with one line naming the index', `${STRUCT}.bed`, async (t) => {
  if (!requireTool(t, 'plink2') || !requireTool(t, 'tabix') || !requireTool(t, 'bgzip')) return;
  const { tbiVcf } = makeIndexed();
  const region = one('22', 20_000_000, 30_000_000);
  const refused = async (index: string, message: RegExp, vcf = tbiVcf): Promise<void> => {
    await assert.rejects(openVcf(vcf, { index, region }), (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.match(e.message, message);
      assert.ok(e.message.startsWith(index), e.message);
      assert.ok(!e.message.includes('\n'), e.message);
      return true;
    });
  };
  const inflated = gunzipSync(readFileSync(`${tbiVcf}.tbi`));
  // Bad magic: a BGZF file that is not an index, and a file that is not BGZF.
  writeFileSync(join(dir, 'magic'), 'not an index at all\n');
  run('bgzip', '-f', join(dir, 'magic'));
  await refused(join(dir, 'magic.gz'), /expected a tabix \(\.tbi\) index \(magic 'TBI\\1'\), found 'not '/);
  writeFileSync(join(dir, 'raw.tbi'), inflated);
  await refused(join(dir, 'raw.tbi'), /expected a BGZF block at byte 0 .*found bytes 54 42 49 01/);
  // Truncated: the BGZF cut short, and a whole BGZF of half the index.
  const tbi = readFileSync(`${tbiVcf}.tbi`);
  writeFileSync(join(dir, 'cut.tbi'), tbi.subarray(0, tbi.length >> 1));
  await refused(join(dir, 'cut.tbi'), /expected the BGZF block at byte 0 to end by byte \d+, found the end of the file/);
  writeFileSync(join(dir, 'half'), inflated.subarray(0, inflated.length >> 1));
  run('bgzip', '-f', join(dir, 'half'));
  await refused(join(dir, 'half.gz'), /expected the chunk count of a bin .* at byte \d+, found \d+: truncated/);
  // Stale: the index of another file (the DS export: other offsets, a larger file).
  const ds = join(dir, 'ds');
  run('plink2', '--bfile', SHARED + STRUCT, '--export', 'vcf', 'bgz', 'vcf-dosage=DS-force', 'id-paste=iid', '--out', ds);
  run('tabix', '-f', '-p', 'vcf', `${ds}.vcf.gz`);
  await refused(`${ds}.vcf.gz.tbi`, /(not of this file|expected a BGZF block at byte \d+ of .*hc\.vcf\.gz)/);
  // Stale, with valid blocks: chunks moved 5 bytes into a record (the browser-safe path: bytes in memory, fflate).
  const parsed = parseTbi(await readBgzfWhole(byteSource(readFileSync(`${tbiVcf}.tbi`), 'moved.tbi')), 'moved.tbi');
  for (const bins of parsed.refs[0]!.bins.values()) for (const c of bins) c.begin += 5;
  const { parts } = planIndexedRead(parsed, region());
  await assert.rejects(
    (async () => {
      for await (const _ of indexedVcfBytes(byteSource(readFileSync(tbiVcf), 'hc.vcf.gz'), parsed, parts, fflateInflate));
    })(),
    /^InputError: moved\.tbi: expected the first record of the chunk at virtual offset \d+ of hc\.vcf\.gz to be on sequence '22' with a numeric POS, found '.*': the index is not of this file/,
  );
  // A plain VCF with an index.
  const plain = join(dir, 'plain.vcf');
  writeFileSync(plain, gunzipSync(readFileSync(tbiVcf)));
  await refused(`${tbiVcf}.tbi`, /expected .*plain\.vcf to be BGZF-compressed \(bgzip\) for its index to be used, found an uncompressed file/, plain);
});
