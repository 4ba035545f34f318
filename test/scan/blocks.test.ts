// Blocks of `step` variants across batch boundaries: the grouping, and the
// views that spare a copy when no block straddles two batches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DosageBatch } from '../../src/data/genotypes.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { stepBlocks } from '../../src/scan/blocks.js';

const N = 3;

/** Batches of the given widths over consecutive variants; variant v's dosages are all v. */
function batches(widths: number[]): DosageBatch[] {
  let next = 0;
  return widths.map((w) => {
    const idx = Int32Array.from({ length: w }, () => next++);
    const ids = Array.from(idx, (v) => `v${v}`);
    return {
      dosages: new Matrix(
        N,
        w,
        Float64Array.from({ length: N * w }, (_, i) => idx[Math.floor(i / N)]!),
      ),
      indices: idx,
      af: Float64Array.from(idx, (v) => v / 100),
      n: Int32Array.from(idx, () => N),
      variants: { chrom: ids.map(() => '1'), id: ids, cm: new Float64Array(w), pos: Float64Array.from(idx), a1: ids.map(() => 'A'), a2: ids.map(() => 'C') },
    };
  });
}

async function collect(step: number, input: DosageBatch[]): Promise<DosageBatch[]> {
  async function* stream(): AsyncGenerator<DosageBatch> {
    yield* input;
  }
  const out: DosageBatch[] = [];
  for await (const b of stepBlocks(stream(), step)) out.push(b);
  return out;
}

test('stepBlocks: whole blocks across batch boundaries, the remainder carried, a short last block', async () => {
  const input = batches([5, 0, 1, 7, 2, 2]);
  const out = await collect(3, input);
  assert.deepEqual(
    out.map((b) => b.dosages.cols),
    [3, 3, 6, 3, 2],
  );
  const all = out.flatMap((b) => Array.from(b.indices));
  assert.deepEqual(
    all,
    Array.from({ length: 17 }, (_, v) => v),
  );
  for (const b of out) {
    assert.deepEqual(
      b.variants.id,
      Array.from(b.indices, (v) => `v${v}`),
    );
    assert.deepEqual(
      Array.from(b.af),
      Array.from(b.indices, (v) => v / 100),
    );
    for (let j = 0; j < b.dosages.cols; j++)
      assert.ok(
        b.dosages.col(j).every((x) => x === b.indices[j]),
        `block column ${j}`,
      );
  }
  assert.equal(out[0]!.dosages.data.buffer, input[0]!.dosages.data.buffer, 'no carry: a view of the batch read');
  assert.equal(out[2]!.dosages.data.buffer, input[3]!.dosages.data.buffer, 'a batch that starts a block: a view');
});

test('stepBlocks with step 1: each non-empty batch as read', async () => {
  const input = batches([4, 0, 2]);
  const out = await collect(1, input);
  assert.deepEqual(out, [input[0], input[2]]);
});
