// Region -> chunk list: the binning scheme shared by tabix (.tbi) and CSI
// indexes (SAMv1 spec 5.3, CSIv1): a bin per 2^minShift-bp window at the
// finest of `depth + 1` levels, each level's bins 8 times larger; a record
// is filed in the smallest bin that holds it, and each bin lists the
// chunks (virtual-offset ranges) of its records. Browser-safe.

/** A range of virtual offsets [begin, end) of the data file (see ./bgzf.ts). */
export interface Chunk {
  begin: number;
  end: number;
}

/** The index of one reference sequence. */
export interface RefIndex {
  /** Chunks of each bin (the pseudo-bin of counts left out). */
  bins: Map<number, Chunk[]>;
  /** CSI: the smallest virtual offset of the records overlapping each bin. */
  loffset?: Map<number, number>;
  /** Tabix: the smallest virtual offset of the records overlapping each 16 kb window. */
  linear?: Float64Array;
  /** Records placed on this sequence, from the pseudo-bin (undefined when the index has none). */
  mapped?: number;
}

/** A parsed .tbi or .csi index of a text file (a VCF.gz). */
export interface TabixIndex {
  /** The index file, for messages. */
  file: string;
  kind: 'tbi' | 'csi';
  minShift: number;
  depth: number;
  /** Sequence names, in the index's order. */
  names: string[];
  refs: RefIndex[];
  /** The tabix header: 0 generic, 1 SAM, 2 VCF (+ 0x10000 for 0-based); column numbers (1-based); meta character; header lines to skip. */
  format: number;
  colSeq: number;
  colBeg: number;
  colEnd: number;
  meta: number;
  skip: number;
}

/** The pseudo-bin number of an index of `depth` levels (it holds counts, not records). */
export function pseudoBin(depth: number): number {
  return ((1 << ((depth + 1) * 3)) - 1) / 7 + 1;
}

/** The largest position (exclusive, 0-based) a scheme of `minShift` and `depth` can index. */
export function maxPosition(minShift: number, depth: number): number {
  return 2 ** (minShift + depth * 3);
}

/** The bins that may hold records overlapping the 0-based half-open [beg, end) (htslib's reg2bins). */
export function regionBins(beg: number, end: number, minShift: number, depth: number): number[] {
  const out: number[] = [];
  const last = end - 1;
  let t = 0;
  for (let l = 0, s = minShift + depth * 3; l <= depth; l++, s -= 3) {
    const b = t + Math.floor(beg / 2 ** s);
    const e = t + Math.floor(last / 2 ** s);
    for (let i = b; i <= e; i++) out.push(i);
    t += 2 ** (l * 3);
  }
  return out;
}

/** The bin holding [beg, beg+1) at level `level` (0 the root). */
function binAt(beg: number, level: number, minShift: number, depth: number): number {
  const t = ((1 << (level * 3)) - 1) / 7;
  return t + Math.floor(beg / 2 ** (minShift + (depth - level) * 3));
}

/**
 * The chunks to read for the records of reference `ref` overlapping the
 * 0-based half-open [beg, end): the chunks of the overlapping bins that end
 * after the smallest offset a record overlapping `beg` can have (the tabix
 * linear index, or the CSI loffset of the smallest existing bin holding
 * `beg`), sorted and merged so that no byte is read twice. Empty for an
 * empty range. The records read still need checking against the range:
 * chunks hold the whole of their bins.
 */
export function regionChunks(index: TabixIndex, ref: number, beg: number, end: number): Chunk[] {
  const r = index.refs[ref];
  const limit = maxPosition(index.minShift, index.depth);
  const b = Math.max(0, beg);
  const e = Math.min(end, limit);
  if (r === undefined || e <= b) return [];
  let minOff = 0;
  if (r.linear !== undefined && r.linear.length > 0) {
    minOff = r.linear[Math.min(Math.floor(b / 2 ** index.minShift), r.linear.length - 1)]!;
  } else if (r.loffset !== undefined) {
    for (let level = index.depth; level >= 0; level--) {
      const off = r.loffset.get(binAt(b, level, index.minShift, index.depth));
      if (off !== undefined) {
        minOff = off;
        break;
      }
    }
  }
  const chunks: Chunk[] = [];
  for (const bin of regionBins(b, e, index.minShift, index.depth)) {
    for (const c of r.bins.get(bin) ?? []) if (c.end > minOff) chunks.push({ begin: Math.max(c.begin, minOff), end: c.end });
  }
  chunks.sort((x, y) => x.begin - y.begin);
  const merged: Chunk[] = [];
  for (const c of chunks) {
    const top = merged[merged.length - 1];
    if (top !== undefined && c.begin <= top.end) top.end = Math.max(top.end, c.end);
    else merged.push({ ...c });
  }
  return merged;
}
