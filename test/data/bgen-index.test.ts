// The bgenix .bgi index of a BGEN file: the variant table read from it
// equals the walk's, region reads touch only the selected records, and an
// index that is not the file's is refused naming the index. bgenix is not
// installed: `writeBgenixIndex` writes the index with sql.js in bgenix's schema.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openBgenSource, type BgenReader } from '../../src/data/bgen/bgen.js';
import { byteSource, type ByteSource } from '../../src/data/bytes.js';
import { readBgenIndex } from '../../src/data/node/bgi.js';
import { openBgen } from '../../src/data/node/bgen.js';
import type { VariantSelection } from '../../src/data/variants.js';
import { InputError } from '../../src/errors.js';
import { writeBgenixIndex, writeTestBgen, type BgenixEdit } from '../bgen-support.js';
import { scratchDir } from '../cli-support.js';
import { SHARED, sharedTest } from '../support.js';

const DIR = 'data/bgen/';
const dir = scratchDir('lmmkit-bgi-');

/** The selected variants' dosages, column after column. */
async function dosages(r: BgenReader, select?: VariantSelection): Promise<number[]> {
  const out: number[] = [];
  for await (const b of r.batches({ size: 13, select })) out.push(...b.dosages.data);
  return out;
}

/** `inner` counting the bytes read through it. */
function counting(inner: ByteSource): ByteSource & { bytesRead: number } {
  const c = {
    name: inner.name,
    size: inner.size,
    bytesRead: 0,
    read: async (offset: number, length: number) => {
      c.bytesRead += length;
      return inner.read(offset, length);
    },
    close: () => inner.close(),
  };
  return c;
}

/** A small BGEN (v1.2, zlib, 8 bits) of `m` variants on chromosome 3, written to `dir/name.bgen`. */
function smallBgen(name: string, m: number): string {
  const n = 4;
  const path = join(dir, `${name}.bgen`);
  const bytes = writeTestBgen({
    layout: 2,
    compression: 'zlib',
    nSamples: n,
    sampleIds: ['a', 'b', 'c', 'd'],
    variants: Array.from({ length: m }, (_, v) => ({
      rsid: `rs${v + 1}`,
      chrom: '3',
      pos: 1000 * (v + 1),
      alleles: ['A', 'G'],
      values: Array.from({ length: n }, (_, s) => [(v * 37 + s * 11) % 256, (v * 13 + s * 7) % (256 - ((v * 37 + s * 11) % 256))]),
    })),
  });
  writeFileSync(path, bytes);
  return path;
}

/** Opens `bgen` with an index written with `edit`, and reads every variant; the error it ends with. */
async function refusal(bgen: string, name: string, edit: BgenixEdit): Promise<InputError> {
  const bgi = await writeBgenixIndex(bgen, join(dir, `${name}.bgi`), edit);
  try {
    const r = await openBgen(bgen, { index: bgi });
    try {
      await dosages(r);
    } finally {
      await r.close();
    }
  } catch (err) {
    assert.ok(err instanceof InputError, String(err));
    assert.equal(err.file, bgi);
    assert.doesNotMatch(err.message, /\n/);
    return err;
  }
  assert.fail(`${name}: the index was accepted`);
}

describe('BGEN with its bgenix .bgi index', () => {
  for (const file of ['example.14bits.bgen', 'complex.23bits.bgen', 'zero_len_chrom_id.bgen']) {
    sharedTest(`${file}: the variant table, skipped variants and dosages equal the walk's`, DIR + file, async () => {
      const bgen = SHARED + DIR + file;
      const bgi = await writeBgenixIndex(bgen, join(dir, `${file}.bgi`));
      const walked = await openBgen(bgen, { index: false });
      const indexed = await openBgen(bgen, { index: bgi });
      try {
        assert.equal(walked.indexFile, undefined);
        assert.equal(indexed.indexFile, bgi);
        assert.deepEqual(indexed.variants, walked.variants);
        assert.deepEqual(indexed.quirks, walked.quirks);
        assert.deepEqual(await dosages(indexed), await dosages(walked));
        const v = walked.variants;
        const region = { chrom: v.chrom[0]!, start: v.pos[Math.floor(v.pos.length / 3)]!, end: v.pos[Math.floor((2 * v.pos.length) / 3)]! };
        assert.deepEqual(await dosages(indexed, { region }), await dosages(walked, { region }));
      } finally {
        await walked.close();
        await indexed.close();
      }
    });
  }

  sharedTest(
    'example.14bits.bgen: a region of a few variants reads about those records with the index, the whole file without',
    `${DIR}example.14bits.bgen`,
    async () => {
      const bytes = new Uint8Array(readFileSync(`${SHARED + DIR}example.14bits.bgen`));
      const index = await readBgenIndex(await writeBgenixIndex(`${SHARED + DIR}example.14bits.bgen`, join(dir, 'count.bgi')));
      const viaIndex = counting(byteSource(bytes, 'example.14bits.bgen'));
      const viaWalk = counting(byteSource(bytes, 'example.14bits.bgen'));
      const a = await openBgenSource(viaIndex, { index });
      const b = await openBgenSource(viaWalk);
      const pos = a.variants.pos;
      const region = { chrom: a.variants.chrom[100]!, start: pos[100]!, end: pos[105]! };
      const x = await dosages(a, { region });
      assert.deepEqual(x, await dosages(b, { region }));
      const selected = x.length / 500;
      assert.ok(selected >= 5 && selected <= 10, `${selected} variants selected`);
      const record = bytes.length / 199;
      // Header, sample ids, the first 1000 bytes, two header spot checks and the selected records.
      assert.ok(viaIndex.bytesRead < (selected + 4) * record + 30000, `${viaIndex.bytesRead} bytes read with the index`);
      assert.ok(viaWalk.bytesRead >= bytes.length - 4000, `${viaWalk.bytesRead} bytes read by the walk`);
    },
  );

  test('FILE.bgi is read when present; --no-bgen-index (index: false) walks the file', async () => {
    const bgen = smallBgen('auto', 30);
    const before = await openBgen(bgen);
    assert.equal(before.indexFile, undefined);
    await before.close();
    await writeBgenixIndex(bgen);
    const withIndex = await openBgen(bgen);
    const without = await openBgen(bgen, { index: false });
    try {
      assert.equal(withIndex.indexFile, `${bgen}.bgi`);
      assert.equal(without.indexFile, undefined);
      const select = { ids: ['rs7', 'rs21', 'rs30'] };
      assert.deepEqual(await dosages(withIndex, select), await dosages(without, select));
    } finally {
      await withIndex.close();
      await without.close();
    }
  });

  test("an index that is not the file's is refused, one line naming the index and what disagreed", async () => {
    const bgen = smallBgen('wrong', 30);
    const other = smallBgen('other', 31);
    const first = readFileSync(bgen).subarray(0, 1000);
    const flipped = new Uint8Array(first);
    flipped[40] = flipped[40]! ^ 0xff;
    const cases: [string, BgenixEdit, RegExp][] = [
      ['size', { fileSize: first.length + 999999 }, /expected Metadata\.file_size \d+ \(the size of .*wrong\.bgen\), found \d+/],
      [
        'bytes',
        { firstBytes: flipped },
        /expected Metadata\.first_1000_bytes equal to the first \d+ bytes of .*wrong\.bgen, found 0x\w+ at byte 40 where the file has 0x\w+/,
      ],
      ['count', { rows: (r) => r.slice(0, -1) }, /expected 30 Variant rows \(the variant count in the header of .*\), found 29/],
      [
        'offset',
        { rows: (r) => r.map((x, i) => (i === 12 ? { ...x, start: x.start + 1, size: x.size - 1 } : x)) },
        /Variant row 13 of 30 \('rs13' at 3:13000\): expected file_start_position \d+ \(where the previous variant's record ends\), found \d+/,
      ],
      [
        'last id',
        { rows: (r) => r.map((x, i) => (i === 29 ? { ...x, rsid: 'rsX' } : x)) },
        /Variant row 30 of 30 \('rsX' at 3:30000\): expected the variant header at byte \d+ to agree, found 'rs30' at 3:30000/,
      ],
      [
        'middle position',
        { rows: (r) => r.map((x, i) => (i === 14 ? { ...x, pos: 15001 } : x)) },
        /Variant row 15 of 30 \('rs15' at 3:15001\): expected the variant header .* found 'rs15' at 3:15000/,
      ],
      ['no Metadata', { noMetadata: true }, /expected a bgenix index .* found an error reading Metadata: no such table: Metadata/],
    ];
    for (const [name, edit, message] of cases) {
      const err = await refusal(bgen, name, edit);
      assert.match(err.message, message, name);
      if (name !== 'no Metadata') assert.match(err.message, /not a bgenix index of .*wrong\.bgen: .*--no-bgen-index/, name);
    }
    // Another file's index (both written the same way, one variant more).
    const otherIndex = await writeBgenixIndex(other, join(dir, 'other.bgi'));
    await assert.rejects(openBgen(bgen, { index: otherIndex }), (e: InputError) => e.file === otherIndex && /Metadata\.file_size/.test(e.message));
    const garbage = join(dir, 'garbage.bgi');
    writeFileSync(garbage, 'not a database, just text '.repeat(100));
    await assert.rejects(
      openBgen(bgen, { index: garbage }),
      (e: InputError) => e.file === garbage && /expected a bgenix index .*file is not a database/.test(e.message),
    );
    const missing = join(dir, 'missing.bgi');
    await assert.rejects(
      openBgen(bgen, { index: missing }),
      (e: InputError) => e.file === missing && /expected a bgenix index \(\.bgi\), found no such file/.test(e.message),
    );
  });
});
