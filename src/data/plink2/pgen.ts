// PLINK 2 .pgen reading, after plink-ng's pgen_spec: the header's record
// types and lengths, the 2-bit hard-call track in each of its encodings
// (plain, 1-bit, difflist, LD-compressed against the last non-LD record),
// the hard-call phase track (skipped) and the biallelic dosage track.
import { InputError, ShapeError } from '../../errors.js';
import { Matrix } from '../../linalg/matrix.js';
import { byteSource, type ByteInput, type ByteSource } from '../bytes.js';
import { BatchStorage, planBatches, type BatchOptions, type GenotypeBatch, type GenotypeQuirks, type GenotypeSource } from '../genotypes.js';
import { parseSourceLines } from '../lines.js';
import { decodePackedCalls, packedCallTable } from '../packed-calls.js';
import { standardizeInPlace } from '../preprocess.js';
import { takeVariants } from '../variants.js';
import { PsamParser, type PsamTable } from './psam.js';
import { PvarParser, type PvarTable } from './pvar.js';

/** Variants per header block (pgen_spec: variant blocks of 2^16). */
const BLOCK = 65536;

/** Where each record lies and how it is encoded, from a `.pgen` header. */
export interface PgenLayout {
  /** Storage mode (third byte): 0x02, 0x03, 0x04 fixed-width; 0x10, 0x11 variable-width. */
  mode: number;
  nVariants: number;
  nSamples: number;
  /** Record types, one byte per variant (pgen_spec's variant record type). */
  types: Uint8Array;
  /** Byte offset of each record, and of the end of the last one (nVariants + 1 entries). */
  offsets: Float64Array;
}

function hex(bytes: ArrayLike<number>): string {
  return bytes.length === 0 ? '(empty file)' : Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function hex2(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}

/**
 * Reads the header of the `.pgen` bytes `src`: magic, storage mode,
 * dimensions and every record's type and offset. The dimensions must equal
 * the `.pvar`'s variant and `.psam`'s sample counts (`variantIds`, the
 * `.pvar`'s ids, and `nSamples`; `pvarName` and `psamName` name the files).
 * Storage modes 0x02-0x04 and 0x10/0x11 are read; the PLINK 1 mode (0x01),
 * an external index (0x20/0x21) and unknown modes are refused.
 */
export async function readPgenLayout(
  src: ByteSource,
  variantIds: readonly string[],
  nSamples: number,
  pvarName: string,
  psamName: string,
): Promise<PgenLayout> {
  const nVariants = variantIds.length;
  const file = { file: src.name };
  const head = await src.read(0, Math.min(12, src.size));
  if (head.length < 3 || head[0] !== 0x6c || head[1] !== 0x1b) {
    throw new InputError(file, `not a PLINK 2 .pgen file: expected magic bytes 6c 1b, found ${hex(head.subarray(0, 3))}`);
  }
  const mode = head[2]!;
  if (mode === 0x01) throw new InputError(file, 'storage mode 0x01 (a PLINK 1 variant-major .bed) is not read as a .pgen: read it with --bfile');
  if (mode === 0x20 || mode === 0x21)
    throw new InputError(
      file,
      `storage mode ${hex2(mode)} (index in a separate .pgi file) is not supported: expected 0x02-0x04, 0x10 or 0x11; rewrite it with plink2 --make-pgen`,
    );
  if (!(mode >= 0x02 && mode <= 0x04) && mode !== 0x10 && mode !== 0x11) {
    throw new InputError(file, `unsupported storage mode ${hex2(mode)}: expected 0x02-0x04, 0x10 or 0x11 (pgen_spec)`);
  }
  if (head.length < 12) throw new InputError(file, `truncated header: expected 12 bytes, found ${head.length}`);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const m = dv.getUint32(3, true);
  const n = dv.getUint32(7, true);
  if (m !== nVariants) throw new InputError(file, `the header holds ${m} variants, but ${pvarName} lists ${nVariants}`);
  if (n !== nSamples) throw new InputError(file, `the header holds ${n} samples, but ${psamName} lists ${nSamples}`);
  const fmt = head[11]!;
  const types = new Uint8Array(m);
  const offsets = new Float64Array(m + 1);
  const mainBytes = Math.ceil(n / 4);
  if (mode <= 0x04) {
    // Fixed width: the record size follows from N; a provisional-REF bitarray may precede the records.
    const recordType = [0, 0, 0x00, 0x40, 0xc0][mode]!;
    const size = mainBytes + (mode >= 0x03 ? 2 * n : 0) + (mode === 0x04 ? 2 * n : 0);
    const start = 12 + (fmt >> 6 === 3 ? Math.ceil(m / 8) : 0);
    types.fill(recordType);
    for (let i = 0; i <= m; i++) offsets[i] = start + i * size;
  } else {
    const lay = fmt & 15;
    if (lay > 7) throw new InputError(file, `unsupported header format byte ${hex2(fmt)}: expected record-type/length layout 0-7, found ${lay}`);
    const typeBits = lay < 4 ? 4 : 8;
    const lenBytes = (lay & 3) + 1;
    const countBytes = (fmt >> 4) & 3;
    const provref = fmt >> 6 === 3;
    const blocks = Math.ceil(m / BLOCK);
    let headerSize = 12 + 8 * blocks;
    for (let b = 0; b < blocks; b++) {
      const k = Math.min(BLOCK, m - b * BLOCK);
      headerSize += Math.ceil((k * typeBits) / 8) + k * lenBytes + k * countBytes + (provref ? Math.ceil(k / 8) : 0);
    }
    if (src.size < headerSize) throw new InputError(file, `truncated header: ${m} variants need ${headerSize} header bytes, found ${src.size}`);
    const h = await src.read(0, headerSize);
    const hv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    let at = 12 + 8 * blocks;
    for (let b = 0; b < blocks; b++) {
      const k = Math.min(BLOCK, m - b * BLOCK);
      const first = b * BLOCK;
      const blockStart = hv.getUint32(12 + 8 * b, true) + hv.getUint32(16 + 8 * b, true) * 2 ** 32;
      if (b === 0 && blockStart < headerSize)
        throw new InputError(file, `corrupt header: records start at byte ${blockStart}, inside the ${headerSize}-byte header`);
      if (b > 0 && blockStart !== offsets[first]) {
        throw new InputError(
          file,
          `corrupt header: variant block ${b} starts at byte ${blockStart}, but the record lengths before it end at byte ${offsets[first]}`,
        );
      }
      for (let i = 0; i < k; i++) types[first + i] = typeBits === 8 ? h[at + i]! : (h[at + (i >> 1)]! >> (4 * (i & 1))) & 15;
      at += Math.ceil((k * typeBits) / 8);
      let off = blockStart;
      for (let i = 0; i < k; i++) {
        offsets[first + i] = off;
        let len = 0;
        for (let j = lenBytes - 1; j >= 0; j--) len = len * 256 + h[at + i * lenBytes + j]!;
        off += len;
      }
      offsets[first + k] = off;
      at += k * lenBytes + k * countBytes + (provref ? Math.ceil(k / 8) : 0);
    }
  }
  if (offsets[m]! > src.size) {
    let i = 0;
    while (offsets[i + 1]! <= src.size) i++;
    throw new InputError(
      file,
      `truncated .pgen: the record of variant '${variantIds[i]}' (${i + 1} of ${m}) ends at byte ${offsets[i + 1]}, past the file's ${src.size} bytes`,
    );
  }
  return { mode, nVariants: m, nSamples: n, types, offsets };
}

/** A record that does not decode: its problem, reported with the variant by the caller. */
class RecordError extends Error {}

/** ALT dosage of each 2-bit hard-call category (0 hom. REF, 1 het., 2 hom. ALT, 3 missing), and with REF and ALT swapped. */
const VALUES = Float64Array.of(0, 1, 2, Number.NaN);
const INVERTED = Float64Array.of(2, 1, 0, Number.NaN);

const PLAIN_LUT = packedCallTable(VALUES);
/** For LD records with REF and ALT inverted (record type 3): the reference record's calls, swapped. */
const INVERTED_LUT = packedCallTable(INVERTED);

/** Category pair codes of the 1-bit encoding (its first byte): low category in bits 0-1 of the index, high in bits 2-3. */
const ONE_BIT_PAIRS = new Int8Array(16).fill(-1);
for (const [code, lo, hi] of [
  [1, 0, 1],
  [2, 0, 2],
  [3, 0, 3],
  [5, 1, 2],
  [6, 1, 3],
  [9, 2, 3],
] as const)
  ONE_BIT_PAIRS[code] = lo | (hi << 2);

/**
 * Decodes `.pgen` records of `n` samples straight to ALT dosages (0..2, NaN
 * missing), one record at a time into a caller's column. Its scratch arrays
 * are allocated once per read, not per record or batch, and it keeps the last
 * non-LD record's calls packed (2 bits a sample: a plain record's own bytes,
 * or its own array for the other encodings) for the LD-compressed records
 * after it.
 */
class RecordDecoder {
  private bytes: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /**
   * The last non-LD record's calls, packed as a plain record; valid within variant block `refBlock`. A plain
   * record's bytes are referred to, not copied: they stay in place while the batch holding them decodes (`begin`).
   */
  private ref: Uint8Array;
  /** Where the calls of records in other encodings are unpacked for `ref`. */
  private readonly unpacked: Uint8Array;
  /** A 1-bit record's tables: the 4 dosages and the packed byte of each nibble of its bitarray (`oneBit`). */
  private readonly nibbleValues = new Float64Array(64);
  private readonly nibblePacked = new Uint8Array(16);
  private refBlock = -1;
  /** Difflist sample ids and 2-bit values. */
  private readonly ids: Int32Array;
  private readonly vals: Uint8Array;

  constructor(readonly n: number) {
    this.unpacked = new Uint8Array((n + 3) >> 2);
    this.ref = this.unpacked;
    this.ids = new Int32Array(n);
    this.vals = new Uint8Array(n);
  }

  /** Starts a batch: a reference record from an earlier batch is forgotten (its bytes may be overwritten by now). */
  begin(): void {
    this.refBlock = -1;
  }

  private need(k: number): void {
    if (this.pos + k > this.bytes.length)
      throw new RecordError(`record ends early: expected ${k} more bytes at record byte ${this.pos}, found ${this.bytes.length - this.pos}`);
  }

  private varint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      this.need(1);
      const b = this.bytes[this.pos++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
      if (scale > 2 ** 35) throw new RecordError(`varint longer than 5 bytes at record byte ${this.pos}`);
    }
  }

  /**
   * Reads a difflist (pgen_spec "Difflists") into `ids`, and with
   * `withValues` its 2-bit values into `vals`. Returns its length.
   */
  private difflist(withValues: boolean): number {
    const n = this.n;
    const len = this.varint();
    if (len === 0) return 0;
    if (len > n) throw new RecordError(`difflist of ${len} samples, more than the ${n} samples`);
    const groups = Math.ceil(len / 64);
    const idBytes = n <= 2 ** 8 ? 1 : n <= 2 ** 16 ? 2 : n <= 2 ** 24 ? 3 : 4;
    this.need(groups * idBytes + groups - 1);
    const startsAt = this.pos;
    this.pos += groups * idBytes + groups - 1;
    const bytes = this.bytes;
    if (withValues) {
      this.need((len + 3) >> 2);
      const valsAt = this.pos;
      this.pos += (len + 3) >> 2;
      const vals = this.vals;
      for (let k = 0; k < len; k++) vals[k] = (bytes[valsAt + (k >> 2)]! >> (2 * (k & 3))) & 3;
    }
    const ids = this.ids;
    let k = 0;
    for (let g = 0; g < groups; g++) {
      let id = 0;
      for (let j = idBytes - 1; j >= 0; j--) id = id * 256 + bytes[startsAt + g * idBytes + j]!;
      const end = Math.min(len, (g + 1) * 64);
      for (;;) {
        if (id >= n) throw new RecordError(`difflist names sample index ${id}, past the ${n} samples`);
        ids[k++] = id;
        if (k === end) break;
        id += this.varint();
      }
    }
    return len;
  }

  /**
   * Unpacks a 1-bit hard-call track (its bitarray from byte 1: a set bit is
   * category `hi`, a clear one `lo`) into `out` and, packed, into `unpacked`.
   * Four samples a step through tables of the 16 nibbles made for the pair:
   * a branch per sample on its bit mispredicted often enough to cost about
   * three times a plain record's decoding.
   */
  private oneBit(bytes: Uint8Array, lo: number, hi: number, out: Float64Array): void {
    const n = this.n;
    const { nibbleValues: values, nibblePacked: packed, unpacked: ref } = this;
    for (let q = 0; q < 16; q++) {
      let p = 0;
      for (let k = 0; k < 4; k++) {
        const v = (q >> k) & 1 ? hi : lo;
        values[4 * q + k] = VALUES[v]!;
        p |= v << (2 * k);
      }
      packed[q] = p;
    }
    const quads = n >> 2;
    for (let j = 0; j < quads; j++) {
      const q = (bytes[1 + (j >> 1)]! >> (4 * (j & 1))) & 15;
      const o = j << 2;
      const t = q << 2;
      out[o] = values[t]!;
      out[o + 1] = values[t + 1]!;
      out[o + 2] = values[t + 2]!;
      out[o + 3] = values[t + 3]!;
      ref[j] = packed[q]!;
    }
    const rest = n & 3;
    if (rest !== 0) {
      const q = (bytes[1 + (quads >> 1)]! >> (4 * (quads & 1))) & 15;
      for (let k = 0; k < rest; k++) out[4 * quads + k] = values[4 * q + k]!;
      // Past the last sample the packed byte is zero, as a plain record's padding.
      ref[quads] = packed[q]! & ((1 << (2 * rest)) - 1);
    }
  }

  /** Applies a difflist of `len` elements to `out` (dosages by `values`) and, for non-LD records, to the packed `ref`. */
  private patch(len: number, values: Float64Array, out: Float64Array, toRef: boolean): void {
    const { ids, vals, ref } = this;
    for (let k = 0; k < len; k++) {
      const id = ids[k]!;
      const v = vals[k]!;
      out[id] = values[v]!;
      if (toRef) {
        const shift = 2 * (id & 3);
        ref[id >> 2] = (ref[id >> 2]! & ~(3 << shift)) | (v << shift);
      }
    }
  }

  /**
   * Decodes the record `bytes` of record type `type`, in variant block
   * `block`, into `out` (length n): its hard calls, then its biallelic
   * dosages over them (samples without a dosage keep their hard call). The
   * hard-call phase track is skipped (a dosage ignores phase). Multi-allelic
   * hard calls are refused (the `.pvar` check lets none through in a
   * consistent file).
   */
  decode(bytes: Uint8Array, type: number, block: number, out: Float64Array): void {
    const n = this.n;
    const nb = (n + 3) >> 2;
    this.bytes = bytes;
    this.pos = 0;
    const main = type & 7;
    switch (main) {
      case 0:
        this.need(nb);
        decodePackedCalls(bytes, n, PLAIN_LUT, out);
        this.ref = bytes;
        this.refBlock = block;
        this.pos = nb;
        break;
      case 1: {
        this.need(1 + ((n + 7) >> 3));
        const pair = ONE_BIT_PAIRS[bytes[0]! & 15]!;
        if (bytes[0]! > 15 || pair < 0) throw new RecordError(`1-bit hard-call track names category pair code ${bytes[0]}, expected 1, 2, 3, 5, 6 or 9`);
        this.oneBit(bytes, pair & 3, pair >> 2, out);
        this.ref = this.unpacked;
        this.refBlock = block;
        this.pos = 1 + ((n + 7) >> 3);
        this.patch(this.difflist(true), VALUES, out, true);
        break;
      }
      case 2:
      case 3: {
        if (this.refBlock !== block) throw new RecordError('LD-compressed record with no earlier non-LD record in its block');
        // Type 3 patches the reference's calls and then swaps REF and ALT: both done through the swapped table.
        const values = main === 3 ? INVERTED : VALUES;
        decodePackedCalls(this.ref, n, main === 3 ? INVERTED_LUT : PLAIN_LUT, out);
        this.patch(this.difflist(true), values, out, false);
        break;
      }
      case 4:
      case 6:
      case 7:
        out.fill(VALUES[main - 4]!);
        this.unpacked.fill((main - 4) * 0x55);
        this.ref = this.unpacked;
        this.refBlock = block;
        this.patch(this.difflist(true), VALUES, out, true);
        break;
      default:
        throw new RecordError('hard-call encoding 5 is reserved by pgen_spec');
    }
    if (type & 0x08) throw new RecordError('multi-allelic hard calls are not supported');
    if (type & 0x10) this.skipPhase(out);
    const dosageMode = (type >> 5) & 3;
    if (dosageMode !== 0) this.dosages(dosageMode, out);
  }

  /** Steps over the hard-call phase track, whose length follows from the heterozygous calls (dosage 1 in `calls`). */
  private skipPhase(calls: Float64Array): void {
    const bytes = this.bytes;
    let het = 0;
    for (let i = 0; i < this.n; i++) if (calls[i] === 1) het++;
    this.need(1);
    const start = this.pos;
    const first = (1 + het + 7) >> 3;
    this.need(first);
    this.pos += first;
    if (bytes[start]! & 1) {
      let phased = 0;
      for (let j = 1; j <= het; j++) phased += (bytes[start + (j >> 3)]! >> (j & 7)) & 1;
      const rest = (phased + 7) >> 3;
      this.need(rest);
      this.pos += rest;
    }
  }

  /** Writes the biallelic dosage track (`mode` 1 difflist, 2 every sample, 3 bitarray) over `out`. */
  private dosages(mode: number, out: Float64Array): void {
    const n = this.n;
    const bytes = this.bytes;
    if (mode === 2) {
      this.need(2 * n);
      const at = this.pos;
      for (let i = 0; i < n; i++) {
        const v = bytes[at + 2 * i]! | (bytes[at + 2 * i + 1]! << 8);
        if (v <= 32768) out[i] = v * DOSAGE_UNIT;
        else if (v === 65535) out[i] = Number.NaN;
        else throw badDosage(v, i);
      }
      this.pos += 2 * n;
      return;
    }
    if (mode === 1) {
      const count = this.difflist(false);
      this.need(2 * count);
      const at = this.pos;
      const ids = this.ids;
      for (let k = 0; k < count; k++) {
        const v = bytes[at + 2 * k]! | (bytes[at + 2 * k + 1]! << 8);
        if (v > 32768) throw badDosage(v, ids[k]!);
        out[ids[k]!] = v * DOSAGE_UNIT;
      }
      this.pos += 2 * count;
      return;
    }
    // Bitarray of the samples with a dosage, then their dosages in sample order.
    const nb = (n + 7) >> 3;
    this.need(nb);
    const bits = this.pos;
    const start = bits + nb;
    let at = start;
    // The dosages are not counted first (a popcount pass over the bitarray cost ~12% of this track): reads past the
    // record's end give undefined (0 here), and the length is checked once after the walk.
    // 32 samples a step: one loop exit per word instead of per byte (a share of dosages makes the exits unpredictable).
    const words = nb >> 2;
    for (let w = 0; w < words; w++) {
      const b = bits + 4 * w;
      let x = bytes[b]! | (bytes[b + 1]! << 8) | (bytes[b + 2]! << 16) | (bytes[b + 3]! << 24);
      while (x !== 0) {
        const low = x & -x;
        const i = (w << 5) + 31 - Math.clz32(low);
        x ^= low;
        const v = bytes[at]! | (bytes[at + 1]! << 8);
        at += 2;
        if (v > 32768) throw badDosage(v, i);
        out[i] = v * DOSAGE_UNIT;
      }
    }
    for (let b = words << 2; b < nb; b++) {
      let x = bytes[bits + b]!;
      while (x !== 0) {
        const low = x & -x;
        const i = (b << 3) + 31 - Math.clz32(low);
        x ^= low;
        const v = bytes[at]! | (bytes[at + 1]! << 8);
        at += 2;
        if (v > 32768) throw badDosage(v, i);
        out[i] = v * DOSAGE_UNIT;
      }
    }
    this.pos = start;
    this.need(at - start);
    this.pos = at;
  }
}

/** 1 / 16384, a power of two: multiplying by it gives v / 16384 exactly, without a division per dosage. */
const DOSAGE_UNIT = 2 ** -14;

function badDosage(v: number, sample: number): RecordError {
  return new RecordError(`dosage value ${v} for sample index ${sample}, expected 0..32768 (2^15 = dosage 2)`);
}

/** The three files of a PLINK 2 fileset as a page has them (see `BedFiles`). */
export interface PgenFiles {
  pgen: ByteInput | ByteSource;
  pvar: ByteInput | ByteSource;
  psam: ByteInput | ByteSource;
  prefix?: string;
}

/**
 * Opens a PLINK 2 fileset from bytes: the `.pvar` and `.psam` read line by
 * line, the `.pgen` header at once and its records lazily by `batches`
 * (`openPgen` in lmmkit/node does the same for files on disk).
 */
export async function openPgenFiles(files: PgenFiles): Promise<PgenReader> {
  const prefix = files.prefix ?? 'bytes';
  const pgen = byteSource(files.pgen, `${prefix}.pgen`);
  try {
    const pvar = byteSource(files.pvar, `${prefix}.pvar`);
    const psam = byteSource(files.psam, `${prefix}.psam`);
    const pvarParser = new PvarParser(pvar.name);
    const [variants, samples] = await Promise.all([
      parseSourceLines(pvar, pvar.name, pvarParser),
      parseSourceLines(psam, psam.name, new PsamParser(psam.name)),
    ]);
    return await openPgenSource(pgen, samples, variants, pvar.name, psam.name, pvarParser.quirks);
  } catch (err) {
    await pgen.close();
    throw err;
  }
}

/**
 * A reader of the `.pgen` bytes `pgen` for the parsed `.psam` and `.pvar`
 * (named `pvarName`, `psamName` in messages). The reader owns `pgen`.
 */
export async function openPgenSource(
  pgen: ByteSource,
  samples: PsamTable,
  variants: PvarTable,
  pvarName: string,
  psamName: string,
  quirks: GenotypeQuirks = {},
): Promise<PgenReader> {
  try {
    const layout = await readPgenLayout(pgen, variants.id, samples.iid.length, pvarName, psamName);
    return new PgenReader(pgen, samples, variants, layout, quirks);
  } catch (err) {
    await pgen.close();
    throw err;
  }
}

/** Reads at most this many bytes of records at once; a wider gap between needed records splits the read. */
const MAX_READ = 32 << 20;
const MAX_GAP = 1 << 20;

/**
 * The records a set of variants needs: `columns` maps each record to the
 * output columns it fills (none for a record only LD records refer to),
 * `order` lists the records in file order, and `runs` ends each run of
 * `order` read at once (run r is order[runs[r - 1] .. runs[r]), from 0).
 */
interface ReadPlan {
  indices: Int32Array;
  columns: Map<number, number[]>;
  order: Int32Array;
  runs: number[];
}

/** A plan's bytes: one chunk per run, starting at its first record. */
interface FetchedRecords {
  plan: ReadPlan;
  chunks: Uint8Array[];
}

/** What the batches of one read reuse: the record decoder, and a column for records not decoded into the batch. */
interface DecodeScratch {
  decoder: RecordDecoder;
  column: Float64Array;
}

/** Byte storage for reads, reused from batch to batch (grown when a batch needs more). */
class ReadBuffer {
  private bytes = new Uint8Array(0);

  /** `length` bytes of storage, valid until the next `take`. */
  take(length: number): Uint8Array {
    if (this.bytes.length < length) this.bytes = new Uint8Array(length);
    return this.bytes.subarray(0, length);
  }
}

/**
 * A PLINK 2 `.pgen` opened for streaming (see `openPgenFiles`, `openPgen`).
 * Dosages count the ALT allele, which is the variant table's `a1` (the
 * `.bed` column-5 allele of a fileset plink2 converted), so a `.pgen` scan
 * equals the `.bed` scan it came from. Hard calls without a dosage are 0, 1,
 * 2 or missing; dosages are exact multiples of 1/16384.
 */
export class PgenReader implements GenotypeSource {
  readonly path: string;
  readonly samples: PsamTable;
  readonly variants: PvarTable;
  readonly layout: PgenLayout;
  readonly quirks: GenotypeQuirks;
  /** How the tables are matched to the samples: by IID alone when the `.psam` has no FID column. */
  readonly sampleKey: 'iid' | 'fid-iid';
  private readonly source: ByteSource;

  /** Use `openPgen` (lmmkit/node), `openPgenFiles` or `openPgenSource`. */
  constructor(source: ByteSource, samples: PsamTable, variants: PvarTable, layout: PgenLayout, quirks: GenotypeQuirks) {
    this.path = source.name;
    this.source = source;
    this.samples = samples;
    this.variants = variants;
    this.layout = layout;
    this.quirks = quirks;
    this.sampleKey = samples.hasFid ? 'fid-iid' : 'iid';
  }

  /** How many records have each record type (for reports and tests: which encodings a file uses). */
  recordTypeCounts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const t of this.layout.types) counts.set(t, (counts.get(t) ?? 0) + 1);
    return counts;
  }

  /**
   * Yields the selected variants in batches (N x b ALT dosages, NaN for
   * missing), reading each batch's records, and for LD-compressed ones the
   * record they refer to, in a few large reads. The next batch's bytes are
   * read while this one decodes and while the caller holds it, so that the
   * file's I/O overlaps the decoding instead of preceding it; two byte
   * buffers serve the reads in turn.
   */
  async *batches(opts: BatchOptions = {}): AsyncGenerator<GenotypeBatch> {
    const { size, recycle, indices, samples } = planBatches(opts, this.variants, this.samples.iid.length, this.path);
    const storage = new BatchStorage(samples?.length ?? this.samples.iid.length, recycle);
    const buffers = [new ReadBuffer(), new ReadBuffer()];
    const scratch = this.scratch();
    const fetchBatch = (start: number): Promise<FetchedRecords> => {
      const plan = this.plan(indices.subarray(start, Math.min(start + size, indices.length)));
      const fetched = this.fetch(plan, buffers[(start / size) & 1]!);
      // Handled here so that a read failing while unawaited (the caller stopped early) is no unhandled rejection; awaited below.
      fetched.catch(() => undefined);
      return fetched;
    };
    let pending = indices.length === 0 ? undefined : fetchBatch(0);
    for (let start = 0; pending !== undefined; start += size) {
      const records = await pending;
      pending = start + size < indices.length ? fetchBatch(start + size) : undefined;
      const idx = records.plan.indices;
      const dosages = this.decode(records, samples, storage.next(idx.length), scratch);
      const stats = opts.standardize === true ? standardizeInPlace(dosages) : undefined;
      yield { dosages, variants: takeVariants(this.variants, idx), indices: idx.slice(), ...(stats === undefined ? {} : { stats }) };
    }
  }

  /**
   * The ALT dosages of the variants `indices` (N x indices.length),
   * optionally for a subset of samples, into `out` when given (of that
   * shape; every element is written, so it may hold anything).
   */
  async read(indices: Int32Array, samples?: Int32Array, out?: Matrix): Promise<Matrix> {
    const n = this.samples.iid.length;
    const rows = samples === undefined ? n : samples.length;
    out ??= new Matrix(rows, indices.length);
    if (out.rows !== rows || out.cols !== indices.length) {
      throw new ShapeError(`PgenReader.read: expected a ${rows} x ${indices.length} output, found ${out.rows} x ${out.cols}`);
    }
    return this.decode(await this.fetch(this.plan(indices), new ReadBuffer()), samples, out, this.scratch());
  }

  /**
   * Which records the variants `indices` need, in file order (the selected
   * ones and the non-LD record each LD-compressed one refers to), and the
   * runs of them read at once: a run ends at a gap over `MAX_GAP` bytes or
   * at `MAX_READ` bytes.
   */
  private plan(indices: Int32Array): ReadPlan {
    const { types, offsets } = this.layout;
    const columns = new Map<number, number[]>();
    for (let k = 0; k < indices.length; k++) {
      const v = indices[k]!;
      const cols = columns.get(v);
      if (cols === undefined) columns.set(v, [k]);
      else cols.push(k);
      let r = v;
      while ((types[r]! & 7) === 2 || (types[r]! & 7) === 3) {
        if (r % BLOCK === 0) break;
        r--;
      }
      if (r !== v && !columns.has(r)) columns.set(r, []);
    }
    const order = Int32Array.from(columns.keys()).sort();
    const runs: number[] = [];
    let i = 0;
    while (i < order.length) {
      let j = i + 1;
      while (j < order.length && offsets[order[j]!]! - offsets[order[j - 1]! + 1]! <= MAX_GAP && offsets[order[j]! + 1]! - offsets[order[i]!]! <= MAX_READ) j++;
      runs.push(j);
      i = j;
    }
    return { indices, columns, order, runs };
  }

  /** Decoding scratch for one `batches` or `read` call (a batch's allocations would otherwise be ~70 kB per batch at N = 5000). */
  private scratch(): DecodeScratch {
    const n = this.samples.iid.length;
    return { decoder: new RecordDecoder(n), column: new Float64Array(n) };
  }

  /** Reads the byte runs of `plan` (into `buffer` where the source copies). */
  private async fetch(plan: ReadPlan, buffer: ReadBuffer): Promise<FetchedRecords> {
    const { offsets } = this.layout;
    const { order, runs } = plan;
    let total = 0;
    for (let r = 0, i = 0; r < runs.length; i = runs[r++]!) total += offsets[order[runs[r]! - 1]! + 1]! - offsets[order[i]!]!;
    const into = buffer.take(total);
    const reads: Promise<Uint8Array>[] = [];
    let at = 0;
    for (let r = 0, i = 0; r < runs.length; i = runs[r++]!) {
      const base = offsets[order[i]!]!;
      const length = offsets[order[runs[r]! - 1]! + 1]! - base;
      reads.push(this.source.read(base, length, into.subarray(at, at + length)));
      at += length;
    }
    return { plan, chunks: await Promise.all(reads) };
  }

  /** Decodes the records `records` into `out` (see `read`), with the scratch of one `batches` or `read` call. */
  private decode({ plan, chunks }: FetchedRecords, samples: Int32Array | undefined, out: Matrix, scratch: DecodeScratch): Matrix {
    const rows = out.rows;
    const { types, offsets } = this.layout;
    const { columns, order, runs } = plan;
    const { decoder, column } = scratch;
    decoder.begin();
    // Records decode to every sample: into their column when all are read, else here and then picked.
    const full = samples === undefined ? undefined : column;
    // Where records only referred to by LD records decode.
    const spare = column;
    const data = out.data;
    for (let c = 0, i = 0; c < runs.length; i = runs[c++]!) {
      const chunk = chunks[c]!;
      const base = offsets[order[i]!]!;
      for (let r = i; r < runs[c]!; r++) {
        const v = order[r]!;
        const type = types[v]!;
        const cols = columns.get(v)!;
        const first = cols.length === 0 ? -1 : cols[0]!;
        const col = full === undefined && first >= 0 ? data.subarray(first * rows, (first + 1) * rows) : spare;
        try {
          decoder.decode(chunk.subarray(offsets[v]! - base, offsets[v + 1]! - base), type, Math.floor(v / BLOCK), col);
        } catch (err) {
          if (!(err instanceof RecordError)) throw err;
          throw new InputError(
            { file: this.path },
            `variant '${this.variants.id[v]}' (record ${v + 1}, ${this.variants.chrom[v]}:${this.variants.pos[v]}, record type ${hex2(type)}): ${err.message}`,
          );
        }
        if (first < 0) continue;
        if (full !== undefined && samples !== undefined) {
          const o = first * rows;
          for (let s = 0; s < rows; s++) data[o + s] = full[samples[s]!]!;
        }
        for (let k = 1; k < cols.length; k++) data.copyWithin(cols[k]! * rows, first * rows, (first + 1) * rows);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}
