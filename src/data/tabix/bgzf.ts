// BGZF (SAMv1 spec, 4.1): a series of gzip members of at most 64 KiB each,
// each naming its own compressed size, so that a reader can start at any
// member. A "virtual offset" is (compressed offset of a member << 16) | offset
// within its inflated bytes; tabix and CSI indexes point into a file with
// them. Browser-safe: members are inflated by fflate unless the caller hands
// a faster inflate (node:zlib).
import { inflateSync } from 'fflate';
import { InputError } from '../../errors.js';
import type { ByteSource } from '../bytes.js';

/** Inflates one member's raw deflate data to the `size` bytes its trailer declares. */
export type RawInflate = (data: Uint8Array, size: number) => Uint8Array;

/** The browser-safe inflate. */
export const fflateInflate: RawInflate = (data, size) => inflateSync(data, { out: new Uint8Array(size) });

/** A virtual offset split into its parts: `block` (bytes into the compressed file) and `within` (bytes into that block's inflated data). */
export interface VirtualOffset {
  block: number;
  within: number;
}

/**
 * Reads the unsigned 64-bit little-endian virtual offset at `at` of `view`
 * as one double (block * 65536 + within), exact while the block offset is
 * under 2^37 (128 GiB of compressed file); a larger one is refused naming
 * `name` (the index).
 */
export function readVirtualOffset(view: DataView, at: number, name: string): number {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  if (hi >= 1 << 21) {
    throw new InputError({ file: name }, `expected a virtual offset below 2^53 (a file under 128 GiB) at byte ${at}, found high word ${hi}`);
  }
  return hi * 0x100000000 + lo;
}

/** The parts of a virtual offset read by `readVirtualOffset`. */
export function splitVirtualOffset(v: number): VirtualOffset {
  return { block: Math.floor(v / 65536), within: v % 65536 };
}

/** One inflated BGZF member: its data and where the next member starts. */
export interface BgzfBlock {
  data: Uint8Array;
  /** Compressed offset of the next member. */
  next: number;
}

/**
 * Reads and inflates the BGZF member at compressed offset `offset` of
 * `source`. A member that is not one (no gzip magic, no `BC` subfield), or
 * that runs past the file, is an `InputError` naming the file and the
 * offset and, as `via`, what pointed there (an index).
 */
export async function readBgzfBlock(source: ByteSource, offset: number, inflate: RawInflate = fflateInflate, via?: string): Promise<BgzfBlock> {
  // A member an index points at that is not one means a wrong index: the message names the index.
  const file = via ?? source.name;
  const from = via === undefined ? '' : ` of ${source.name} (an offset read from the index)`;
  if (offset + 18 > source.size) {
    throw new InputError({ file }, `expected a BGZF block at byte ${offset}${from}, found the end of the file (${source.size} bytes)`);
  }
  const head = await source.read(offset, 18);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  // gzip magic, deflate, FEXTRA; XLEN 6 with the 'BC' subfield of length 2 (BSIZE).
  if (head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== 8 || (head[3]! & 4) === 0 || head[12] !== 0x42 || head[13] !== 0x43) {
    throw new InputError(
      { file },
      `expected a BGZF block at byte ${offset}${from} (gzip magic 1f 8b with a 'BC' field), found bytes ${hex(head.subarray(0, 4))}`,
    );
  }
  const xlen = view.getUint16(10, true);
  const bsize = view.getUint16(16, true) + 1;
  if (offset + bsize > source.size) {
    throw new InputError(
      { file },
      `expected the BGZF block at byte ${offset}${from} to end by byte ${offset + bsize}, found the end of the file at ${source.size}`,
    );
  }
  const block = await source.read(offset, bsize);
  const bv = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const isize = bv.getUint32(bsize - 4, true);
  let data: Uint8Array;
  try {
    data = isize === 0 ? new Uint8Array(0) : inflate(block.subarray(12 + xlen, bsize - 8), isize);
  } catch (e) {
    throw new InputError({ file }, `expected deflate data in the BGZF block at byte ${offset}${from}, found an error: ${(e as Error).message}`);
  }
  if (data.length !== isize) {
    throw new InputError({ file }, `expected the BGZF block at byte ${offset}${from} to inflate to ${isize} bytes, found ${data.length}`);
  }
  return { data, next: offset + bsize };
}

/** The whole inflated contents of a BGZF (or single-member gzip of the same layout) `source`: what an index file holds. */
export async function readBgzfWhole(source: ByteSource, inflate: RawInflate = fflateInflate): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let at = 0; at < source.size; ) {
    const b = await readBgzfBlock(source, at, inflate);
    parts.push(b.data);
    total += b.data.length;
    at = b.next;
  }
  const out = new Uint8Array(total);
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
}

/**
 * The inflated bytes from virtual offset `begin` to virtual offset `end`
 * (exclusive) of `source`, member by member: what one index chunk covers.
 * `via` names what gave the offsets (the index) in messages; an offset
 * within a member past its data is refused.
 */
export async function* readBgzfRange(source: ByteSource, begin: number, end: number, inflate: RawInflate, via: string): AsyncGenerator<Uint8Array> {
  const b = splitVirtualOffset(begin);
  const e = splitVirtualOffset(end);
  let at = b.block;
  let first = true;
  while (at <= e.block && at < source.size) {
    const blk = await readBgzfBlock(source, at, inflate, via);
    const from = first ? b.within : 0;
    const to = at === e.block ? e.within : blk.data.length;
    if (from > blk.data.length || to > blk.data.length) {
      throw new InputError(
        { file: via },
        `expected virtual offsets within the ${blk.data.length} inflated bytes of the BGZF block at byte ${at} of ${source.name}, found offset ${first ? from : to}`,
      );
    }
    if (to > from) yield blk.data.subarray(from, to);
    first = false;
    at = blk.next;
  }
  if (at <= e.block && e.within > 0) {
    throw new InputError({ file: via }, `expected a chunk ending within ${source.name} (${source.size} bytes), found one ending in a block at byte ${e.block}`);
  }
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}
