// The bytes of a BGZF VCF that a region query needs, through its .tbi or
// .csi index: the header from the top, then only the records of the index
// chunks overlapping the region, kept when their POS lies in it. The VCF
// reader (../vcf.ts) parses this as it parses a whole file, so that the
// variant table and the dosages of a region come from these records alone.
// Every chunk read is checked against the index's claims (each record on
// the sequence the index files it under, the chunk ending at a line end),
// so a stale index, one of another file, is refused rather than misread.
// Browser-safe.
import { InputError } from '../../errors.js';
import type { ByteSource } from '../bytes.js';
import { readBgzfBlock, readBgzfRange, type RawInflate } from './bgzf.js';
import { maxPosition, regionChunks, type TabixIndex } from './query.js';

/** The positions (1-based POS, [start, end)) to read on the index's sequence `name`; undefined to skip it. */
export type RegionQuery = (name: string) => { start: number; end: number } | undefined;

/** What a region read through an index covers (for the report). */
export interface IndexedReadPlan {
  /** The index file and its kind. */
  index: string;
  kind: 'tbi' | 'csi';
  /** The index's sequences the query reads, with their ranges (1-based POS, [start, end)). */
  sequences: { name: string; start: number; end: number }[];
  /** Chunks read per pass, and the compressed bytes from the first block of each to its last block's start. */
  chunks: number;
  compressedBytes: number;
}

/**
 * Plans a region read of `vcf` (a BGZF VCF) through `index`: which
 * sequences and chunks `query` selects. Sequences of the query not in the
 * index are simply not read (zero variants), as tabix answers them.
 */
export function planIndexedRead(index: TabixIndex, query: RegionQuery): { plan: IndexedReadPlan; parts: Part[] } {
  const parts: Part[] = [];
  const sequences: IndexedReadPlan['sequences'] = [];
  let compressedBytes = 0;
  index.names.forEach((name, ref) => {
    const range = query(name);
    if (range === undefined) return;
    // POS is 1-based; the index's coordinates are 0-based half-open, up to the scheme's limit.
    const start = Math.max(range.start, 1);
    const end = Math.min(range.end, maxPosition(index.minShift, index.depth) + 1);
    if (end <= start) return;
    sequences.push({ name, start, end });
    for (const chunk of regionChunks(index, ref, start - 1, end - 1)) {
      parts.push({ name, start, end, chunk });
      compressedBytes += Math.floor(chunk.end / 65536) - Math.floor(chunk.begin / 65536);
    }
  });
  return { plan: { index: index.file, kind: index.kind, sequences, chunks: parts.length, compressedBytes }, parts };
}

/** One chunk to read, with the sequence and positions its records must have to be kept. */
export interface Part {
  name: string;
  start: number;
  end: number;
  chunk: { begin: number; end: number };
}

/**
 * The decompressed bytes of the header of `vcf` (every line up to the first
 * that does not start with `#`), then the lines of the records `parts`
 * select, each ending in `\n`, in file order. A record of a chunk on
 * another sequence than the index says, a POS that is not a number, or a
 * chunk that does not end at a line end is an `InputError` naming the
 * index: it is not the index of this file.
 */
export async function* indexedVcfBytes(vcf: ByteSource, index: TabixIndex, parts: readonly Part[], inflate: RawInflate): AsyncGenerator<Uint8Array> {
  // The header, block by block from the top.
  let at = 0;
  let lineStart = true;
  header: for (;;) {
    if (at >= vcf.size) break;
    const blk = await readBgzfBlock(vcf, at, inflate);
    const d = blk.data;
    let p = 0;
    while (p < d.length) {
      if (lineStart && d[p] !== 35) {
        if (p > 0) yield d.subarray(0, p);
        break header;
      }
      const nl = d.indexOf(10, p);
      if (nl < 0) {
        lineStart = false;
        p = d.length;
      } else {
        lineStart = true;
        p = nl + 1;
      }
    }
    if (d.length > 0) yield d;
    at = blk.next;
  }
  const via = index.file;
  for (const part of parts) {
    const name = new TextEncoder().encode(part.name);
    let carry: Uint8Array | undefined;
    let first = true;
    let lastByte = -1;
    for await (const piece of readBgzfRange(vcf, part.chunk.begin, part.chunk.end, inflate, via)) {
      lastByte = piece[piece.length - 1]!;
      let p = 0;
      let runStart = -1;
      let runEnd = -1;
      const out: Uint8Array[] = [];
      const flush = (): void => {
        if (runStart >= 0) out.push(piece.subarray(runStart, runEnd));
        runStart = -1;
      };
      if (carry !== undefined) {
        const nl = piece.indexOf(10);
        const tail = piece.subarray(0, nl < 0 ? piece.length : nl + 1);
        const line = concat(carry, tail);
        carry = undefined;
        if (nl < 0) {
          carry = line;
          continue;
        }
        if (keep(line, 0, line.length - 1, name, part, first, vcf, index)) out.push(line);
        first = false;
        p = nl + 1;
      }
      while (p < piece.length) {
        const nl = piece.indexOf(10, p);
        if (nl < 0) {
          flush();
          carry = piece.slice(p);
          break;
        }
        if (keep(piece, p, nl, name, part, first, vcf, index)) {
          if (runStart < 0) runStart = p;
          runEnd = nl + 1;
        } else flush();
        first = false;
        p = nl + 1;
      }
      flush();
      for (const o of out) yield o;
    }
    if (carry !== undefined || (lastByte !== 10 && lastByte !== -1)) {
      throw new InputError(
        { file: index.file },
        `expected the chunk of sequence '${part.name}' at virtual offset ${part.chunk.begin} to end at the end of a record of ${vcf.name}, found it ending inside a line: the index is not of this file (stale?); re-index it or give --no-vcf-index`,
      );
    }
  }
}

/**
 * Whether the record in [a, b) of `buf` (no `\n`) has its POS in the part's
 * range; refuses a record on another sequence than the index files the
 * chunk under, which only a wrong index can give.
 */
function keep(buf: Uint8Array, a: number, b: number, name: Uint8Array, part: Part, first: boolean, vcf: ByteSource, index: TabixIndex): boolean {
  const tab = buf.indexOf(9, a);
  let same = tab === a + name.length && tab < b;
  for (let k = 0; same && k < name.length; k++) same = buf[a + k] === name[k];
  let pos = 0;
  let digits = 0;
  if (same) {
    for (let p = tab + 1; p < b && buf[p] !== 9; p++) {
      const c = buf[p]!;
      if (c < 48 || c > 57) {
        digits = -1;
        break;
      }
      pos = pos * 10 + (c - 48);
      digits++;
    }
  }
  if (!same || digits <= 0) {
    const shown = new TextDecoder().decode(buf.subarray(a, Math.min(b, a + 40)));
    throw new InputError(
      { file: index.file },
      `expected ${first ? 'the first record' : 'every record'} of the chunk at virtual offset ${part.chunk.begin} of ${vcf.name} to be on sequence '${part.name}' with a numeric POS, found '${shown}': the index is not of this file (stale?); re-index it or give --no-vcf-index`,
    );
  }
  return pos >= part.start && pos < part.end;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
