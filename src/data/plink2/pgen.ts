// PLINK 2 .pgen reading, after plink-ng's pgen_spec: the header's record
// types and lengths, the 2-bit hard-call track in each of its encodings
// (plain, 1-bit, difflist, LD-compressed against the last non-LD record),
// the hard-call phase track (skipped) and the biallelic dosage track.
import { InputError } from '../../errors.js';
import { Matrix } from '../../linalg/matrix.js';
import { byteSource, type ByteInput, type ByteSource } from '../bytes.js';
import { planBatches, type BatchOptions, type GenotypeBatch, type GenotypeQuirks, type GenotypeSource } from '../genotypes.js';
import { parseSourceLines } from '../lines.js';
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

/** Bounds-checked reading of one record's bytes. */
class Cursor {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  need(k: number): void {
    if (this.pos + k > this.bytes.length)
      throw new RecordError(`record ends early: expected ${k} more bytes at record byte ${this.pos}, found ${this.bytes.length - this.pos}`);
  }

  varint(): number {
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
}

/**
 * Reads a difflist at `c` (pgen_spec "Difflists") for `n` samples into
 * `ids` (grown as needed); with `genovals`, calls `set(id, value)` for each
 * element instead. Returns the number of elements.
 */
function readDifflist(c: Cursor, n: number, set: ((id: number, value: number) => void) | undefined, ids?: Int32Array[]): number {
  const len = c.varint();
  if (len === 0) return 0;
  if (len > n) throw new RecordError(`difflist of ${len} samples, more than the ${n} samples`);
  const groups = Math.ceil(len / 64);
  const idBytes = n <= 2 ** 8 ? 1 : n <= 2 ** 16 ? 2 : n <= 2 ** 24 ? 3 : 4;
  c.need(groups * idBytes + groups - 1);
  const startsAt = c.pos;
  c.pos += groups * idBytes + groups - 1;
  let valsAt = -1;
  if (set !== undefined) {
    c.need(Math.ceil(len / 4));
    valsAt = c.pos;
    c.pos += Math.ceil(len / 4);
  }
  const out = ids?.[0];
  const bytes = c.bytes;
  let k = 0;
  for (let g = 0; g < groups; g++) {
    let id = 0;
    for (let j = idBytes - 1; j >= 0; j--) id = id * 256 + bytes[startsAt + g * idBytes + j]!;
    const end = Math.min(len, (g + 1) * 64);
    for (;;) {
      if (id >= n) throw new RecordError(`difflist names sample index ${id}, past the ${n} samples`);
      if (set !== undefined) set(id, (bytes[valsAt + (k >> 2)]! >> (2 * (k & 3))) & 3);
      else out![k] = id;
      k++;
      if (k === end) break;
      id += c.varint();
    }
  }
  return len;
}

/** Category pairs of the 1-bit encoding, by its first byte (low category, high category). */
const ONE_BIT_PAIRS: Record<number, readonly [number, number]> = { 1: [0, 1], 2: [0, 2], 3: [0, 3], 5: [1, 2], 6: [1, 3], 9: [2, 3] };

/**
 * Decodes one record's hard calls into `geno` (one category per sample:
 * 0 hom. REF, 1 het., 2 hom. ALT, 3 missing), patching `ref` (the last non-LD
 * record's calls) for the LD-compressed types 2 and 3, and then its
 * biallelic dosages (ALT dosage, 0..2) into `dosage` at the samples listed
 * in `has` (those without a dosage keep their hard call). Returns how many
 * samples have a dosage. Multi-allelic hard calls are refused (the `.pvar`
 * check lets none through in a consistent file).
 */
function decodeRecord(
  bytes: Uint8Array,
  type: number,
  n: number,
  ref: Uint8Array | undefined,
  geno: Uint8Array,
  dosage: Float64Array,
  has: Int32Array[],
): number {
  const c = new Cursor(bytes);
  const main = type & 7;
  const set = (id: number, v: number): void => {
    geno[id] = v;
  };
  switch (main) {
    case 0: {
      const nb = Math.ceil(n / 4);
      c.need(nb);
      const full = n >> 2;
      for (let b = 0; b < full; b++) {
        const x = bytes[b]!;
        const o = b << 2;
        geno[o] = x & 3;
        geno[o + 1] = (x >> 2) & 3;
        geno[o + 2] = (x >> 4) & 3;
        geno[o + 3] = x >> 6;
      }
      for (let i = full << 2; i < n; i++) geno[i] = (bytes[i >> 2]! >> (2 * (i & 3))) & 3;
      c.pos = nb;
      break;
    }
    case 1: {
      c.need(1 + Math.ceil(n / 8));
      const pair = ONE_BIT_PAIRS[bytes[0]!];
      if (pair === undefined) throw new RecordError(`1-bit hard-call track names category pair code ${bytes[0]}, expected 1, 2, 3, 5, 6 or 9`);
      const [lo, hi] = pair;
      for (let i = 0; i < n; i++) geno[i] = (bytes[1 + (i >> 3)]! >> (i & 7)) & 1 ? hi : lo;
      c.pos = 1 + Math.ceil(n / 8);
      readDifflist(c, n, set);
      break;
    }
    case 2:
    case 3:
      if (ref === undefined) throw new RecordError('LD-compressed record with no earlier non-LD record in its block');
      geno.set(ref);
      readDifflist(c, n, set);
      if (main === 3) for (let i = 0; i < n; i++) if (geno[i] !== 1 && geno[i] !== 3) geno[i] = 2 - geno[i]!;
      break;
    case 4:
    case 6:
    case 7:
      geno.fill(main - 4);
      readDifflist(c, n, set);
      break;
    default:
      throw new RecordError('hard-call encoding 5 is reserved by pgen_spec');
  }
  if (type & 0x08) throw new RecordError('multi-allelic hard calls are not supported');
  if (type & 0x10) {
    // Hard-call phase: skipped (a dosage ignores phase), but its length must be known to reach the dosages.
    let het = 0;
    for (let i = 0; i < n; i++) if (geno[i] === 1) het++;
    c.need(1);
    if (bytes[c.pos]! & 1) {
      const start = c.pos;
      c.need(Math.ceil((1 + het) / 8));
      let phased = 0;
      for (let j = 1; j <= het; j++) phased += (bytes[start + (j >> 3)]! >> (j & 7)) & 1;
      c.pos += Math.ceil((1 + het) / 8);
      c.need(Math.ceil(phased / 8));
      c.pos += Math.ceil(phased / 8);
    } else {
      c.need(Math.ceil((1 + het) / 8));
      c.pos += Math.ceil((1 + het) / 8);
    }
  }
  const dosageMode = (type >> 5) & 3;
  if (dosageMode === 0) return 0;
  let count: number;
  const ids = has[0]!;
  if (dosageMode === 1) {
    count = readDifflist(c, n, undefined, has);
  } else if (dosageMode === 2) {
    count = n;
    for (let i = 0; i < n; i++) ids[i] = i;
  } else {
    const nb = Math.ceil(n / 8);
    c.need(nb);
    count = 0;
    for (let i = 0; i < n; i++) if ((bytes[c.pos + (i >> 3)]! >> (i & 7)) & 1) ids[count++] = i;
    c.pos += nb;
  }
  c.need(2 * count);
  for (let k = 0; k < count; k++) {
    const v = bytes[c.pos + 2 * k]! | (bytes[c.pos + 2 * k + 1]! << 8);
    if (v === 65535 && dosageMode === 2) dosage[k] = Number.NaN;
    else if (v > 32768) throw new RecordError(`dosage value ${v} for sample index ${ids[k]}, expected 0..32768 (2^15 = dosage 2)`);
    else dosage[k] = v / 16384;
  }
  return count;
}

/** 256 x 4 table: the ALT dosages of the four 2-bit calls packed in each byte. */
const PLAIN_LUT = (() => {
  const values = [0, 1, 2, Number.NaN];
  const lut = new Float64Array(1024);
  for (let b = 0; b < 256; b++) for (let k = 0; k < 4; k++) lut[4 * b + k] = values[(b >> (2 * k)) & 3]!;
  return lut;
})();

/** Decodes an uncompressed 2-bit hard-call track of `n` samples into `out` (ALT dosages). */
function decodePlain(src: Uint8Array, n: number, out: Float64Array): void {
  const full = n >> 2;
  for (let b = 0; b < full; b++) {
    const base = src[b]! << 2;
    const o = b << 2;
    out[o] = PLAIN_LUT[base]!;
    out[o + 1] = PLAIN_LUT[base + 1]!;
    out[o + 2] = PLAIN_LUT[base + 2]!;
    out[o + 3] = PLAIN_LUT[base + 3]!;
  }
  for (let i = full << 2; i < n; i++) out[i] = PLAIN_LUT[(src[i >> 2]! << 2) + (i & 3)]!;
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
   * record they refer to, in a few large reads.
   */
  async *batches(opts: BatchOptions = {}): AsyncGenerator<GenotypeBatch> {
    const { size, indices, samples } = planBatches(opts, this.variants, this.samples.iid.length, this.path);
    for (let start = 0; start < indices.length; start += size) {
      const idx = indices.subarray(start, Math.min(start + size, indices.length));
      const dosages = await this.read(idx, samples);
      const stats = opts.standardize === true ? standardizeInPlace(dosages) : undefined;
      yield { dosages, variants: takeVariants(this.variants, idx), indices: idx.slice(), ...(stats === undefined ? {} : { stats }) };
    }
  }

  /** The ALT dosages of the variants `indices` (N x indices.length), optionally for a subset of samples. */
  async read(indices: Int32Array, samples?: Int32Array): Promise<Matrix> {
    const n = this.samples.iid.length;
    const rows = samples === undefined ? n : samples.length;
    const out = new Matrix(rows, indices.length);
    const { types, offsets } = this.layout;
    // The records to decode, in file order: the selected ones and the non-LD record each LD-compressed one refers to.
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
    const geno = new Uint8Array(n);
    let ref: Uint8Array | undefined;
    let refBlock = -1;
    const dosage = new Float64Array(n);
    const has = [new Int32Array(n)];
    const values = Float64Array.of(0, 1, 2, Number.NaN);
    let i = 0;
    while (i < order.length) {
      // One read for a run of needed records with small gaps.
      let j = i + 1;
      while (j < order.length && offsets[order[j]!]! - offsets[order[j - 1]! + 1]! <= MAX_GAP && offsets[order[j]! + 1]! - offsets[order[i]!]! <= MAX_READ) j++;
      const base = offsets[order[i]!]!;
      const chunk = await this.source.read(base, offsets[order[j - 1]! + 1]! - base);
      for (let r = i; r < j; r++) {
        const v = order[r]!;
        const type = types[v]!;
        const bytes = chunk.subarray(offsets[v]! - base, offsets[v + 1]! - base);
        const isLd = (type & 7) === 2 || (type & 7) === 3;
        const cols0 = columns.get(v)!;
        const nextType = v + 1 < types.length ? types[v + 1]! & 7 : 0;
        if (type === 0 && samples === undefined && cols0.length === 1 && nextType !== 2 && nextType !== 3 && bytes.length >= (n + 3) >> 2) {
          // Plain 2-bit record that no LD record refers to: decoded straight into its column, four calls per byte.
          decodePlain(bytes, n, out.data.subarray(cols0[0]! * rows, (cols0[0]! + 1) * rows));
          continue;
        }
        let count: number;
        try {
          count = decodeRecord(bytes, type, n, isLd && refBlock === Math.floor(v / BLOCK) ? ref : undefined, geno, dosage, has);
        } catch (err) {
          if (!(err instanceof RecordError)) throw err;
          throw new InputError(
            { file: this.path },
            `variant '${this.variants.id[v]}' (record ${v + 1}, ${this.variants.chrom[v]}:${this.variants.pos[v]}, record type ${hex2(type)}): ${err.message}`,
          );
        }
        if (!isLd) {
          ref ??= new Uint8Array(n);
          ref.set(geno);
          refBlock = Math.floor(v / BLOCK);
        }
        const cols = columns.get(v)!;
        if (cols.length === 0) continue;
        const first = cols[0]!;
        const col = out.data.subarray(first * rows, (first + 1) * rows);
        if (samples === undefined) {
          for (let s = 0; s < n; s++) col[s] = values[geno[s]!]!;
          const ids = has[0]!;
          for (let k = 0; k < count; k++) col[ids[k]!] = dosage[k]!;
        } else {
          if (count > 0) {
            // Dosages by sample, so a subset reads them as the hard calls.
            const full = new Float64Array(n);
            for (let s = 0; s < n; s++) full[s] = values[geno[s]!]!;
            const ids = has[0]!;
            for (let k = 0; k < count; k++) full[ids[k]!] = dosage[k]!;
            for (let s = 0; s < rows; s++) col[s] = full[samples[s]!]!;
          } else {
            for (let s = 0; s < rows; s++) col[s] = values[geno[samples[s]!]!]!;
          }
        }
        for (let c = 1; c < cols.length; c++) out.data.copyWithin(cols[c]! * rows, first * rows, (first + 1) * rows);
      }
      i = j;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}
