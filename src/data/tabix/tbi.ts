// The tabix index (.tbi, the tabix spec of htslib's samtools/hts-specs):
// BGZF-compressed; magic `TBI\1`, the sequence count, the tabix header
// (format, columns, meta character, lines to skip, the sequence names),
// then per sequence its bins (each a list of chunks) and its linear index
// of 16 kb windows. Browser-safe: it parses the inflated bytes.
import { InputError } from '../../errors.js';
import { readVirtualOffset } from './bgzf.js';
import { pseudoBin, type Chunk, type RefIndex, type TabixIndex } from './query.js';

/** A reader of little-endian fields of an index's inflated bytes that refuses to run past their end, naming the index. */
export class IndexCursor {
  at = 0;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(n: number, what: string): void {
    if (n < 0 || this.at + n > this.bytes.length) {
      throw new InputError(
        { file: this.file },
        `expected ${what} at byte ${this.at} of the inflated index, found the end of the index (${this.bytes.length} bytes): truncated`,
      );
    }
  }

  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.at, true);
    this.at += 4;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }

  voff(what: string): number {
    this.need(8, what);
    const v = readVirtualOffset(this.view, this.at, this.file);
    this.at += 8;
    return v;
  }

  /** A count that must be non-negative and fit in what is left (each item at least `itemBytes`). */
  count(what: string, itemBytes: number): number {
    const at = this.at;
    const n = this.i32(what);
    if (n < 0 || n * itemBytes > this.bytes.length - this.at) {
      throw new InputError(
        { file: this.file },
        `expected ${what} (a count that fits the ${this.bytes.length - this.at} bytes left) at byte ${at}, found ${n}: truncated or not an index`,
      );
    }
    return n;
  }

  bytesOf(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
}

/** Checks the 4-byte magic of an inflated index. */
export function checkMagic(c: IndexCursor, magic: string, kind: string): void {
  const got = c.bytes.subarray(0, 4);
  const want = [...magic].map((ch) => ch.charCodeAt(0));
  if (got.length < 4 || want.some((b, k) => got[k] !== b)) {
    const shown = [...got].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    throw new InputError({ file: c.file }, `expected a ${kind} index (magic '${magic.slice(0, 3)}\\1'), found '${shown}'`);
  }
  c.at = 4;
}

/** The tabix header fields (format .. names) shared by .tbi and the aux data of a VCF's .csi. */
export function readTabixHeader(c: IndexCursor, nRef: number): Pick<TabixIndex, 'format' | 'colSeq' | 'colBeg' | 'colEnd' | 'meta' | 'skip' | 'names'> {
  const format = c.i32('the format');
  const colSeq = c.i32('col_seq');
  const colBeg = c.i32('col_beg');
  const colEnd = c.i32('col_end');
  const meta = c.i32('the meta character');
  const skip = c.i32('the lines to skip');
  const lNm = c.count('the length of the sequence names', 1);
  const raw = c.bytesOf(lNm, 'the sequence names');
  const names = new TextDecoder().decode(raw).split('\0');
  if (names[names.length - 1] === '') names.pop();
  if (names.length !== nRef) {
    throw new InputError({ file: c.file }, `expected ${nRef} sequence names (n_ref), found ${names.length}`);
  }
  return { format, colSeq, colBeg, colEnd, meta, skip, names };
}

/** Reads one bin's chunk list. */
export function readChunks(c: IndexCursor): Chunk[] {
  const n = c.count('the chunk count of a bin', 16);
  const chunks: Chunk[] = [];
  for (let k = 0; k < n; k++) {
    const begin = c.voff('a chunk start');
    const end = c.voff('a chunk end');
    chunks.push({ begin, end });
  }
  return chunks;
}

/**
 * Parses the inflated bytes of a tabix index `file`. Bad magic, a count
 * that does not fit, and an end before the last sequence are refused with
 * one line naming the file.
 */
export function parseTbi(bytes: Uint8Array, file: string): TabixIndex {
  const c = new IndexCursor(bytes, file);
  checkMagic(c, 'TBI\x01', 'tabix (.tbi)');
  const nRef = c.count('the number of sequences (n_ref)', 8);
  const header = readTabixHeader(c, nRef);
  const minShift = 14;
  const depth = 5;
  const pseudo = pseudoBin(depth);
  const refs: RefIndex[] = [];
  for (let r = 0; r < nRef; r++) {
    const nBin = c.count(`the bin count of sequence '${header.names[r]}'`, 8);
    const bins = new Map<number, Chunk[]>();
    let mapped: number | undefined;
    for (let k = 0; k < nBin; k++) {
      const bin = c.u32('a bin number');
      const chunks = readChunks(c);
      if (bin === pseudo) {
        // The pseudo-bin's second "chunk" holds the mapped and unmapped record counts.
        mapped = chunks[1]?.begin;
        continue;
      }
      bins.set(bin, chunks);
    }
    const nIntv = c.count('the linear index size', 8);
    const linear = new Float64Array(nIntv);
    for (let k = 0; k < nIntv; k++) linear[k] = c.voff('a linear index offset');
    refs.push({ bins, linear, ...(mapped === undefined ? {} : { mapped }) });
  }
  return { file, kind: 'tbi', minShift, depth, refs, ...header };
}
