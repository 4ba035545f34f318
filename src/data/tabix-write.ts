// A tabix index (.tbi, the format of "The Tabix index file format" in
// htslib's tabix.pdf / SAM specification) for a sorted, BGZF-compressed
// text table, written without the tabix program. Browser-safe.
import { bgzfCompress, type RawDeflate } from './bgzf-write.js';

/** One data line of the table: its sequence name, 0-based half-open interval and the virtual offsets of its start and end. */
export interface TabixRecord {
  ref: string;
  /** 0-based start. */
  beg: number;
  /** 0-based end, exclusive (beg + 1 for a position). */
  end: number;
  /** Virtual offset of the line's first byte. */
  vbeg: number;
  /** Virtual offset just after the line's newline. */
  vend: number;
}

/** The columns and header rules the index records (tabix's -p/-s/-b/-e/-c/-S). */
export interface TabixConf {
  /** 1-based column of the sequence name. */
  seqCol: number;
  /** 1-based column of the start position. */
  begCol: number;
  /** 1-based column of the end position (the start's column for one position). */
  endCol: number;
  /** Lines starting with this character are skipped (default '#'). */
  meta?: string;
  /** Leading lines skipped (the header). */
  skip: number;
}

// The binning scheme of tabix and BAM (min_shift 14, depth 5).
function reg2bin(beg: number, end: number): number {
  const e = end - 1;
  if (beg >> 14 === e >> 14) return ((1 << 15) - 1) / 7 + (beg >> 14);
  if (beg >> 17 === e >> 17) return ((1 << 12) - 1) / 7 + (beg >> 17);
  if (beg >> 20 === e >> 20) return ((1 << 9) - 1) / 7 + (beg >> 20);
  if (beg >> 23 === e >> 23) return ((1 << 6) - 1) / 7 + (beg >> 23);
  if (beg >> 26 === e >> 26) return ((1 << 3) - 1) / 7 + (beg >> 26);
  return 0;
}

/** Little-endian writer that grows as needed. */
class Out {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  n = 0;
  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  i32(x: number): void {
    this.room(4);
    this.view.setInt32(this.n, x, true);
    this.n += 4;
  }
  u32(x: number): void {
    this.room(4);
    this.view.setUint32(this.n, x >>> 0, true);
    this.n += 4;
  }
  u64(x: number): void {
    this.room(8);
    this.view.setUint32(this.n, x % 0x100000000, true);
    this.view.setUint32(this.n + 4, Math.floor(x / 0x100000000), true);
    this.n += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

/**
 * The uncompressed bytes of a tabix index of `records` (in file order:
 * grouped by `ref`, each group sorted by `beg`), generic format: per
 * sequence the bins with their chunks of virtual offsets and the linear
 * index of 16 kb windows. `tabixFile` compresses it.
 */
export function tabixIndexBytes(records: readonly TabixRecord[], conf: TabixConf): Uint8Array {
  const refs: string[] = [];
  const perRef: { bins: Map<number, [number, number][]>; ioff: number[]; first: number; last: number; n: number }[] = [];
  let cur: (typeof perRef)[number] | undefined;
  let lastRef: string | undefined;
  for (const r of records) {
    if (r.ref !== lastRef) {
      if (refs.includes(r.ref)) throw new RangeError(`tabixIndexBytes: sequence '${r.ref}' appears in two separate runs (the table is not sorted)`);
      refs.push(r.ref);
      cur = { bins: new Map(), ioff: [], first: r.vbeg, last: r.vend, n: 0 };
      perRef.push(cur);
      lastRef = r.ref;
    }
    cur!.last = r.vend;
    cur!.n++;
    const bin = reg2bin(r.beg, r.end);
    let chunks = cur!.bins.get(bin);
    if (chunks === undefined) {
      chunks = [];
      cur!.bins.set(bin, chunks);
    }
    const last = chunks[chunks.length - 1];
    // Adjacent records of one bin make one chunk: a reader then decompresses each block once.
    if (last !== undefined && last[1] === r.vbeg) last[1] = r.vend;
    else chunks.push([r.vbeg, r.vend]);
    for (let w = r.beg >> 14; w <= (r.end - 1) >> 14; w++) {
      if (cur!.ioff[w] === undefined) cur!.ioff[w] = r.vbeg;
    }
  }
  const o = new Out();
  o.bytes(Uint8Array.from([0x54, 0x42, 0x49, 0x01])); // TBI\1
  o.i32(refs.length);
  o.i32(0); // generic format, 1-based closed coordinates in the file
  o.i32(conf.seqCol);
  o.i32(conf.begCol);
  o.i32(conf.endCol);
  o.i32((conf.meta ?? '#').charCodeAt(0));
  o.i32(conf.skip);
  const names = new TextEncoder().encode(refs.map((r) => `${r}\0`).join(''));
  o.i32(names.length);
  o.bytes(names);
  for (const ref of perRef) {
    // htslib's pseudo-bin 37450 follows the real ones: the sequence's offsets and its record counts (mapped, unmapped).
    o.i32(ref.bins.size + 1);
    for (const [bin, chunks] of [
      ...ref.bins,
      [
        37450,
        [
          [ref.first, ref.last],
          [ref.n, 0],
        ],
      ] as const,
    ]) {
      o.u32(bin);
      o.i32(chunks.length);
      for (const [b, e] of chunks) {
        o.u64(b);
        o.u64(e);
      }
    }
    // Windows before the first record, or without a record, take the offset of the window before (htslib fills them so).
    let prev = 0;
    o.i32(ref.ioff.length);
    for (let w = 0; w < ref.ioff.length; w++) {
      const v = ref.ioff[w];
      if (v !== undefined) prev = v;
      o.u64(prev);
    }
  }
  o.u64(0); // records without coordinates
  return o.done();
}

/** A tabix index file (.tbi): `tabixIndexBytes` compressed as BGZF; its blocks. */
export function tabixFile(records: readonly TabixRecord[], conf: TabixConf, deflateRaw: RawDeflate): Uint8Array[] {
  return bgzfCompress(tabixIndexBytes(records, conf), deflateRaw).blocks;
}
