// The bitarray dosage track (record types 0x60-0x63) of a .pgen built by
// hand: the dosages land on the samples its bits name, over the hard calls,
// in the 32-sample words and the tail byte alike; a track cut short or a
// value past 2^15 is one error naming the variant. (The plink2 filesets in
// test/cli/pgen.test.ts cover the track at scale; these pin its edges.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPgenFiles } from '../../src/data/plink2/pgen.js';

const N = 40;
/** Samples with a dosage (bits of the track's bitarray) and their values in 1/16384 units. */
const DOSAGES: [number, number][] = [
  [0, 0],
  [5, 16384],
  [31, 32768],
  [33, 1],
  [39, 12345],
];

/**
 * A one-variant fileset: a plain hard-call track of heterozygous calls, then
 * the bitarray dosage track of `dosages`, the record cut to `length` bytes
 * (storage mode 0x10, 8-bit record types, 1-byte record lengths).
 */
function fileset(dosages: [number, number][], length?: number) {
  const main = new Uint8Array(N / 4).fill(0x55);
  const bits = new Uint8Array(N / 8);
  for (const [s] of dosages) bits[s >> 3]! |= 1 << (s & 7);
  const values = dosages.flatMap(([, v]) => [v & 255, v >> 8]);
  const record = Uint8Array.from([...main, ...bits, ...values]).subarray(0, length);
  const header = [0x6c, 0x1b, 0x10, 1, 0, 0, 0, N, 0, 0, 0, 0x04, 22, 0, 0, 0, 0, 0, 0, 0, 0x60, record.length];
  const enc = new TextEncoder();
  return {
    pgen: Uint8Array.from([...header, ...record]),
    pvar: enc.encode('#CHROM\tPOS\tID\tREF\tALT\n1\t100\tv1\tA\tC\n'),
    psam: enc.encode(`#IID\n${Array.from({ length: N }, (_, i) => `s${i}`).join('\n')}\n`),
    prefix: 'hand',
  };
}

async function column(files: ReturnType<typeof fileset>): Promise<Float64Array> {
  const r = await openPgenFiles(files);
  try {
    return (await r.read(Int32Array.of(0))).data;
  } finally {
    await r.close();
  }
}

test('bitarray dosage track: dosages over the hard calls, in the full words and the tail byte', async () => {
  const want = new Float64Array(N).fill(1);
  for (const [s, v] of DOSAGES) want[s] = v / 16384;
  assert.deepEqual(await column(fileset(DOSAGES)), want);
});

test('bitarray dosage track cut short by a byte: one error naming the variant and the bytes missing', async () => {
  const full = N / 4 + N / 8 + 2 * DOSAGES.length;
  await assert.rejects(
    column(fileset(DOSAGES, full - 1)),
    /hand\.pgen: variant 'v1' \(record 1, 1:100, record type 0x60\): record ends early: expected 10 more bytes at record byte 15, found 9$/,
  );
});

test('bitarray dosage track with a value past 2^15: one error naming the sample', async () => {
  const bad = DOSAGES.map(([s, v]): [number, number] => [s, s === 33 ? 40000 : v]);
  await assert.rejects(column(fileset(bad)), /variant 'v1' .*: dosage value 40000 for sample index 33, expected 0\.\.32768/);
});
