// Blocks of `step` consecutive variants across batch boundaries: which
// columns of the streamed, filtered batches a scan tests together.
import type { DosageBatch } from '../data/genotypes.js';
import { Matrix } from '../linalg/matrix.js';

/**
 * Groups the filtered batches of a stream into whole blocks of `step`
 * variants, in file order: for each batch that completes at least one
 * block, yields one batch of whole blocks. A batch's trailing variants that
 * do not fill a block (fewer than `step`) are carried, as a view of its
 * storage, into the next batch's first block; after the last batch they
 * are yielded as a last, smaller block.
 *
 * Without a carry (always with `step` 1) the yielded batch is a view of
 * the batch read, no copy. With one, the carried columns and this batch's
 * columns are copied side by side into one matrix, rather than testing the
 * straddling block on its own: a gemm's last bits depend on how many
 * columns it multiplies (OpenBLAS), and a scan's results do not change
 * with this code.
 */
export async function* stepBlocks(
  batches: AsyncIterable<DosageBatch>,
  step: number,
  resume: { carry?: DosageBatch; dropTail?: boolean } = {},
): AsyncGenerator<DosageBatch> {
  // A chunk of a split scan starts with the carry the variants before it
  // leave and hands its own to the next chunk (dropTail): the blocks, and
  // the matrices they are tested in, are those of the unsplit scan.
  let carry: DosageBatch | undefined = resume.carry !== undefined && resume.carry.dosages.cols > 0 ? resume.carry : undefined;
  for await (const batch of batches) {
    const cols = batch.dosages.cols;
    const carried = carry?.dosages.cols ?? 0;
    // Columns of this batch that complete whole blocks (negative: not even the first).
    const used = Math.floor((carried + cols) / step) * step - carried;
    if (used <= 0) {
      if (cols > 0) carry = carry === undefined ? batch : joinBatches(carry, batch);
      continue;
    }
    const head = used === cols ? batch : sliceBatch(batch, 0, used);
    const block = carry === undefined ? head : joinBatches(carry, head);
    carry = used === cols ? undefined : sliceBatch(batch, used, cols);
    yield block;
  }
  if (carry !== undefined && resume.dropTail !== true) yield carry;
}

/**
 * The variants `stepBlocks` would carry past the end of `batches` (fewer
 * than `step`, copied out of the batches' storage), or undefined when the
 * stream ends on a whole block: what a chunk of a split scan resumes with.
 */
export async function stepCarry(batches: AsyncIterable<DosageBatch>, step: number): Promise<DosageBatch | undefined> {
  let carry: DosageBatch | undefined;
  for await (const batch of stepBlocks(batches, step)) {
    // Only the trailing, partial block is carried; the readers reuse their storage.
    carry = batch.dosages.cols < step ? copyBatch(batch) : undefined;
  }
  return carry;
}

function copyBatch(b: DosageBatch): DosageBatch {
  return joinBatches(b, sliceBatch(b, b.dosages.cols, b.dosages.cols));
}

/** Batch `a` followed by batch `b`, in new arrays (dosages copied side by side). */
function joinBatches(a: DosageBatch, b: DosageBatch): DosageBatch {
  const [va, vb] = [a.variants, b.variants];
  return {
    dosages: new Matrix(a.dosages.rows, a.dosages.cols + b.dosages.cols, concat(a.dosages.data, b.dosages.data, Float64Array)),
    indices: concat(a.indices, b.indices, Int32Array),
    af: concat(a.af, b.af, Float64Array),
    n: concat(a.n, b.n, Int32Array),
    variants: {
      chrom: [...va.chrom, ...vb.chrom],
      id: [...va.id, ...vb.id],
      cm: concat(va.cm, vb.cm, Float64Array),
      pos: concat(va.pos, vb.pos, Float64Array),
      a1: [...va.a1, ...vb.a1],
      a2: [...va.a2, ...vb.a2],
    },
  };
}

/** Columns [start, end) of a batch, as views of its storage. */
function sliceBatch(b: DosageBatch, start: number, end: number): DosageBatch {
  const v = b.variants;
  return {
    dosages: b.dosages.colView(start, end),
    indices: b.indices.subarray(start, end),
    af: b.af.subarray(start, end),
    n: b.n.subarray(start, end),
    variants: {
      chrom: v.chrom.slice(start, end),
      id: v.id.slice(start, end),
      cm: v.cm.subarray(start, end),
      pos: v.pos.subarray(start, end),
      a1: v.a1.slice(start, end),
      a2: v.a2.slice(start, end),
    },
  };
}

/** `a` then `b` in a new array of the given kind. */
function concat<T extends Float64Array | Int32Array>(a: T, b: T, make: new (length: number) => T): T {
  const out = new make(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
