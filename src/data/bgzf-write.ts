// BGZF (blocked gzip, the SAM/BAM specification's section 4.1): gzip members
// of at most 64 KiB of data, each with a BC extra field giving its size, so
// that a reader (tabix, htslib) can seek to a block from a virtual offset.
// The deflate function is passed in, which keeps this module browser-safe:
// Node passes zlib's deflateRawSync, a browser fflate's deflateSync.

/** Raw DEFLATE (no zlib or gzip wrapper) of a block's data. */
export type RawDeflate = (data: Uint8Array) => Uint8Array;

/** Uncompressed bytes per block: htslib's choice (0xff00), which leaves room for incompressible data in 64 KiB. */
export const BGZF_BLOCK_DATA = 0xff00;

/** The empty block that ends every BGZF file (its end-of-file marker). */
export const BGZF_EOF = Uint8Array.from([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0, 0x1b, 0, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32 (gzip's, polynomial 0xEDB88320) of `data`. */
export function crc32(data: Uint8Array): number {
  let t = CRC_TABLE;
  if (t === undefined) {
    t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[n] = c >>> 0;
    }
    CRC_TABLE = t;
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One BGZF block of `data` (at most 64 KiB): gzip header with the BC field, raw deflate, CRC32 and size. */
export function bgzfBlock(data: Uint8Array, deflateRaw: RawDeflate): Uint8Array {
  if (data.length > 0x10000) throw new RangeError(`bgzfBlock: ${data.length} bytes, a block holds at most 65536`);
  const z = deflateRaw(data);
  const size = 18 + z.length + 8;
  if (size > 0x10000) throw new RangeError(`bgzfBlock: ${data.length} bytes deflate to a ${size}-byte block, more than 65536`);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out.set([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0]);
  v.setUint16(16, size - 1, true);
  out.set(z, 18);
  v.setUint32(18 + z.length, crc32(data), true);
  v.setUint32(22 + z.length, data.length, true);
  return out;
}

/** Bytes compressed as BGZF, and where each uncompressed byte went. */
export interface BgzfFile {
  /** The blocks, the EOF block last: the file is their concatenation. */
  blocks: Uint8Array[];
  /**
   * The virtual offset (compressed offset of the block * 65536 + offset
   * within its data) of uncompressed offset `u` (0..length; `length` gives
   * the EOF block's), as tabix indexes store them. A Number: exact up to
   * files of 128 GiB compressed.
   */
  virtualOffset(u: number): number;
}

/** Compresses `data` as a whole BGZF file (blocks of `BGZF_BLOCK_DATA` bytes, then the EOF block). */
export function bgzfCompress(data: Uint8Array, deflateRaw: RawDeflate): BgzfFile {
  const blocks: Uint8Array[] = [];
  const cstart: number[] = [];
  let c = 0;
  for (let u = 0; u < data.length; u += BGZF_BLOCK_DATA) {
    const b = bgzfBlock(data.subarray(u, Math.min(data.length, u + BGZF_BLOCK_DATA)), deflateRaw);
    cstart.push(c);
    blocks.push(b);
    c += b.length;
  }
  const eof = c;
  blocks.push(BGZF_EOF);
  return {
    blocks,
    virtualOffset(u: number): number {
      if (u >= data.length) return eof * 65536;
      const k = Math.floor(u / BGZF_BLOCK_DATA);
      return cstart[k]! * 65536 + (u - k * BGZF_BLOCK_DATA);
    },
  };
}
