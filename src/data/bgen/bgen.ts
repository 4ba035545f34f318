// BGEN v1.1-v1.3 (https://www.well.ox.ac.uk/~gav/bgen_format/spec/latest.html,
// enkre.net/cgi-bin/code/bgen/doc/trunk/doc/wiki/bgen_format.md) read from a
// ByteSource: opening walks the variant headers once, skipping each genotype
// block by its length, or takes the variant table from a bgenix `.bgi` index
// that the caller read (`BgenIndex`; the Node opener reads it with sql.js),
// and `batches` reads the selected blocks by seeking.
// Browser-safe: zlib through fflate and zstd through fzstd, unless the caller
// hands faster decompressors (the Node opener passes node:zlib).
import { unzlibSync } from 'fflate';
import { decompress as zstdDecompress } from 'fzstd';
import { InputError } from '../../errors.js';
import type { ByteSource } from '../bytes.js';
import { BatchStorage, planBatches, type BatchOptions, type GenotypeBatch, type GenotypeQuirks, type GenotypeSource } from '../genotypes.js';
import { standardizeInPlace } from '../preprocess.js';
import type { SampleTable } from '../samples.js';
import { takeVariants, type VariantTable } from '../variants.js';
import type { OxfordSample } from './sample.js';

/**
 * Which BGEN allele is REF, as plink2's `--bgen FILE ref-first|ref-last`.
 * lmmkit's dosages count `a1`, which it takes to be ALT (as a `.bim`'s
 * column 5 is to plink2): with `'first'` (the default: BGEN's own
 * convention, UK Biobank's files) `a1` is the second allele and the dosage
 * counts it; with `'last'` `a1` is the first allele (plink2's
 * `--export bgen-1.x` without `ref-first` writes ALT first).
 */
export type BgenRef = 'first' | 'last';

/** Decompressors of genotype blocks: each returns the inflated bytes of `data` (`size` is what the block declares). */
export interface BgenDecompressors {
  zlib(data: Uint8Array, size: number): Uint8Array;
  zstd(data: Uint8Array, size: number): Uint8Array;
}

/** Options of `openBgenSource`. */
export interface OpenBgenSourceOptions {
  /**
   * An Oxford `.sample` (see `parseOxfordSample`): its ids win over the
   * file's own, as plink2's `--sample` does; it must list as many samples
   * as the header and, where the file has ids too, the same ones (each
   * file id equal to the row's ID_2, or to `ID_1_ID_2` as plink2 writes them).
   */
  sample?: OxfordSample;
  /** Which allele is REF (default `'first'`; see `BgenRef`). */
  ref?: BgenRef;
  /** Replacements for the browser-safe decompressors. */
  decompress?: Partial<BgenDecompressors>;
  /**
   * The rows of the file's bgenix index (see `BgenIndex`): when given, the
   * variant table comes from it instead of a walk through the file, after
   * checks that it belongs to the file (size, first bytes, variant count,
   * contiguous records); each variant header read later is checked against
   * its row.
   */
  index?: BgenIndex;
}

/**
 * What a bgenix `.bgi` index says (https://enkre.net/cgi-bin/code/bgen/wiki/The_bgenix_index_file_format):
 * its `Metadata` row and its `Variant` rows, in file order. A row's record
 * is the variant's identifying data and genotype block together:
 * `start` is the byte offset of its header, `size` the bytes of both.
 */
export interface BgenIndex {
  /** The index file (for messages). */
  file: string;
  /** `Metadata.file_size`: the BGEN file's size when indexed. */
  fileSize: number;
  /** `Metadata.first_1000_bytes`: the BGEN file's first min(1000, size) bytes when indexed. */
  firstBytes: Uint8Array;
  /** `Variant` columns, one entry per row, rows sorted by `file_start_position`. */
  chrom: string[];
  pos: number[];
  rsid: string[];
  alleles: number[];
  allele1: string[];
  /** NULL in the index (a single-allele variant) reads as ''. */
  allele2: string[];
  start: number[];
  size: number[];
}
/** What the header of a BGEN file declares. */
export interface BgenHeader {
  /** Variant blocks start at byte `4 + offset`. */
  offset: number;
  nVariants: number;
  nSamples: number;
  compression: 'none' | 'zlib' | 'zstd';
  /** 1 (v1.1 probabilities) or 2 (v1.2/v1.3). */
  layout: 1 | 2;
  /** Whether a sample identifier block follows the header. */
  sampleIds: boolean;
}

/** Variants a BGEN reader skipped: those with other than two alleles. */
export interface BgenQuirks extends GenotypeQuirks {
  /**
   * Variants with K != 2 alleles (multi-allelic, or a single allele): not
   * in the variant table, never read (plink2 skips them too), counted with
   * the first one met.
   */
  multiAllelic?: { count: number; first: { file: string; id: string; variant: number; alleles: number } };
}

const COMPRESSION = ['none', 'zlib', 'zstd'] as const;
/** Bytes read at a time while walking the variant headers (less when blocks are big: see `HeaderWalk`). */
const WINDOW = 1 << 20;
/** Largest span of the file one read of `batches` covers. */
const SPAN = 32 << 20;

/**
 * Opens the BGEN bytes `source`: reads the header, the sample identifier
 * block and every variant header (one pass, each genotype block skipped by
 * its declared length), so that the variant table and each block's offset
 * are known. Variants with other than two alleles are skipped and counted
 * (`quirks.multiAllelic`). A file without sample ids needs `opts.sample`.
 * Faults are `InputError`s naming the file, the variant (1-based number and
 * id) and the byte. The reader owns `source` (closed on failure here, else
 * by `close`).
 */
export async function openBgenSource(source: ByteSource, opts: OpenBgenSourceOptions = {}): Promise<BgenReader> {
  try {
    const header = await readHeader(source);
    const fileIds = header.sampleIds ? await readSampleIds(source, header) : undefined;
    const samples = chooseSamples(source.name, header, fileIds, opts.sample);
    const walk = opts.index === undefined ? await walkVariants(source, header) : await indexedVariants(source, header, opts.index);
    const decompress: BgenDecompressors = {
      zlib: opts.decompress?.zlib ?? ((d) => unzlibSync(d)),
      zstd: opts.decompress?.zstd ?? ((d) => zstdDecompress(d)),
    };
    return new BgenReader(source, header, samples, walk, opts.ref ?? 'first', decompress);
  } catch (err) {
    await source.close();
    throw err;
  }
}

function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

const LATIN = new TextDecoder('utf-8');

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

async function readHeader(source: ByteSource): Promise<BgenHeader> {
  const file = source.name;
  if (source.size < 24) throw new InputError({ file }, `not a BGEN file: expected at least 24 bytes (offset and header block), found ${source.size}`);
  const b = await source.read(0, 24);
  const magic = b.subarray(16, 20);
  const isBgen = magic[0] === 0x62 && magic[1] === 0x67 && magic[2] === 0x65 && magic[3] === 0x6e;
  // The spec lets old writers leave the magic as four zero bytes.
  if (!isBgen && !magic.every((x) => x === 0)) {
    throw new InputError({ file }, `not a BGEN file: expected magic bytes 'bgen' (62 67 65 6e) at byte 16, found ${hex(magic)}`);
  }
  const offset = u32(b, 0);
  const lh = u32(b, 4);
  if (lh < 20 || lh > offset) {
    throw new InputError({ file }, `expected a header block of 20 to ${offset} bytes (the offset of the first variant), found a length of ${lh}`);
  }
  if (4 + offset > source.size)
    throw new InputError({ file }, `the first variant block is at byte ${4 + offset}, past the end of the file (${source.size} bytes)`);
  const flags = u32(await source.read(lh, 4), 0);
  const comp = flags & 3;
  const layout = (flags >>> 2) & 0xf;
  if (comp === 3)
    throw new InputError(
      { file },
      `unsupported compression: expected flag bits 0-1 of 0 (none), 1 (zlib) or 2 (zstd), found 3 (flags 0x${flags.toString(16)})`,
    );
  if (layout !== 1 && layout !== 2) {
    throw new InputError(
      { file },
      `unsupported layout ${layout} (flags 0x${flags.toString(16)}): expected layout 1 (BGEN v1.1) or 2 (v1.2, v1.3)${layout === 0 ? '; layout 0 is the deprecated v1.0 format' : ''}`,
    );
  }
  if (layout === 1 && comp === 2)
    throw new InputError({ file }, 'unsupported flags: zstd compression (v1.3) with layout 1; the specification allows zstd with layout 2 only');
  return {
    offset,
    nVariants: u32(b, 8),
    nSamples: u32(b, 12),
    compression: COMPRESSION[comp]!,
    layout,
    sampleIds: (flags & 0x80000000) !== 0,
  };
}

async function readSampleIds(source: ByteSource, h: BgenHeader): Promise<string[]> {
  const file = source.name;
  const start = 4 + u32(await source.read(4, 4), 0);
  if (start + 8 > 4 + h.offset) throw new InputError({ file }, `expected a sample identifier block at byte ${start}, found the first variant block there`);
  const head = await source.read(start, 8);
  const length = u32(head, 0);
  const n = u32(head, 4);
  if (n !== h.nSamples)
    throw new InputError({ file }, `sample identifier block (byte ${start}): expected ${h.nSamples} samples (the header's count), found ${n}`);
  if (start + length > 4 + h.offset) {
    throw new InputError({ file }, `sample identifier block (byte ${start}): its length ${length} runs past the first variant block at byte ${4 + h.offset}`);
  }
  const b = await source.read(start, length);
  const ids: string[] = [];
  let at = 8;
  for (let k = 0; k < n; k++) {
    if (at + 2 > length) throw new InputError({ file }, `sample identifier block (byte ${start}): ends before sample ${k + 1} of ${n}`);
    const len = u16(b, at);
    if (at + 2 + len > length)
      throw new InputError({ file }, `sample identifier block (byte ${start}): sample ${k + 1}'s id of ${len} bytes runs past the block's ${length} bytes`);
    ids.push(LATIN.decode(b.subarray(at + 2, at + 2 + len)));
    at += 2 + len;
  }
  return ids;
}

/** The reader's samples: the .sample's when given (checked against the file's ids), else the file's. */
function chooseSamples(file: string, h: BgenHeader, fileIds: string[] | undefined, sample: OxfordSample | undefined): SampleTable {
  if (sample === undefined) {
    if (fileIds === undefined) {
      throw new InputError({ file }, 'expected sample identifiers in the file (flag bit 31) or an Oxford .sample file (--sample FILE), found neither');
    }
    return { fid: fileIds, iid: fileIds };
  }
  if (sample.iid.length !== h.nSamples) {
    throw new InputError({ file: sample.file }, `expected ${h.nSamples} samples (the count in ${file}'s header), found ${sample.iid.length}`);
  }
  if (fileIds !== undefined) {
    for (let k = 0; k < fileIds.length; k++) {
      const id = fileIds[k]!;
      const fid = sample.fid[k]!;
      const iid = sample.iid[k]!;
      if (id !== iid && id !== `${fid}_${iid}`) {
        throw new InputError(
          { file: sample.file, line: sample.lines[k] },
          `sample ${k + 1} is '${iid}' (ID_2) but ${file} names its sample ${k + 1} '${id}': the .sample must list the .bgen's samples, in its order`,
        );
      }
    }
  }
  return { fid: sample.fid, iid: sample.iid };
}

/** The variant table of the biallelic variants and where each one's genotype block lies. */
interface VariantWalk {
  variants: VariantTable;
  /** Byte offset of each kept variant's genotype block (its length fields included). */
  blockStart: Float64Array;
  /** Byte length of each kept variant's genotype block. */
  blockLength: Float64Array;
  /** 1-based number of each kept variant among all the file's variants (for messages). */
  number: Int32Array;
  quirks: BgenQuirks;
  /**
   * Set when the table came from an index: `blockStart`/`blockLength` then
   * span the whole record (header included), whose header is parsed and
   * checked against the table as each block is read.
   */
  index?: BgenIndex;
}

/**
 * Reads the variant headers: one window of the file at a time, so that a
 * header costs no read of its own, except where genotype blocks are larger
 * than a window (then each header gets a small read of its own).
 */
async function walkVariants(source: ByteSource, h: BgenHeader): Promise<VariantWalk> {
  const file = source.name;
  const m = h.nVariants;
  const chrom: string[] = [];
  const id: string[] = [];
  const pos: number[] = [];
  const a1: string[] = [];
  const a2: string[] = [];
  const starts: number[] = [];
  const lengths: number[] = [];
  const numbers: number[] = [];
  const quirks: BgenQuirks = {};
  let winStart = 0;
  let win: Uint8Array = new Uint8Array(0);
  let at = 4 + h.offset;
  let window = WINDOW;
  for (let v = 0; v < m; v++) {
    let parsed: ParsedHeader | number;
    for (;;) {
      const rel = at - winStart;
      parsed = rel >= 0 && rel < win.length ? parseVariantHeader(win, rel, h) : 64;
      if (typeof parsed !== 'number') break;
      // The header runs past the window: read one from `at` big enough for it.
      if (at >= source.size) {
        throw new InputError({ file }, `variant ${v + 1} of ${m}: expected a variant header at byte ${at}, found the end of the file (truncated)`);
      }
      if (rel >= 0 && winStart + win.length === source.size && rel + parsed > win.length) {
        throw new InputError({ file }, `variant ${v + 1} of ${m} (byte ${at}): the variant header runs past the end of the file (truncated)`);
      }
      const need = Math.max(window, parsed * 2);
      winStart = at;
      win = await source.read(at, Math.min(need, source.size - at));
    }
    const p = parsed;
    const where = `variant ${v + 1} of ${m} '${p.id}' (byte ${at})`;
    if (p.nSamples !== undefined && p.nSamples !== h.nSamples) {
      throw new InputError({ file }, `${where}: expected ${h.nSamples} samples (the header's count), found ${p.nSamples}`);
    }
    const blockStart = at + p.headerLength;
    const end = blockStart + p.blockLength;
    if (end > source.size) {
      throw new InputError(
        { file },
        `${where}: the genotype block of ${p.blockLength} bytes at byte ${blockStart} runs past the end of the file (${source.size} bytes; truncated)`,
      );
    }
    if (p.alleles.length !== 2) {
      if (quirks.multiAllelic === undefined) quirks.multiAllelic = { count: 0, first: { file, id: p.id, variant: v + 1, alleles: p.alleles.length } };
      quirks.multiAllelic.count++;
    } else {
      chrom.push(p.chrom === '' ? '0' : p.chrom);
      id.push(p.id);
      pos.push(p.pos);
      starts.push(blockStart);
      lengths.push(p.blockLength);
      numbers.push(v + 1);
      a1.push(p.alleles[0]!);
      a2.push(p.alleles[1]!);
    }
    // Blocks bigger than a window would make every header a window's read: read headers alone then.
    if (p.blockLength > WINDOW / 4) window = 4096;
    at = end;
  }
  return {
    // a1/a2 are the first/second allele here; the reader swaps them for ref-first.
    variants: { chrom, id, cm: new Float64Array(id.length), pos: Float64Array.from(pos), a1, a2 },
    blockStart: Float64Array.from(starts),
    blockLength: Float64Array.from(lengths),
    number: Int32Array.from(numbers),
    quirks,
  };
}

/**
 * The variant table from a bgenix index instead of a walk through the file,
 * once the index is shown to belong to `source`: its recorded size and
 * first bytes are the file's, it has a row per variant of the header's
 * count, and its records tile the file from the first variant block on,
 * each right after the previous one. Headers are read only where a row's
 * rsid is empty (the SNP id then names the variant, as in the walk).
 * Multi-allelic rows are skipped and counted as the walk does. Each
 * refusal is an `InputError` naming the index file and what disagreed.
 */
async function indexedVariants(source: ByteSource, h: BgenHeader, ix: BgenIndex): Promise<VariantWalk> {
  const file = source.name;
  const refuse = (what: string): InputError => indexError(ix, file, what);
  if (ix.fileSize !== source.size) {
    throw refuse(`expected Metadata.file_size ${source.size} (the size of ${file}), found ${ix.fileSize} (the file changed since it was indexed?)`);
  }
  const n = Math.min(1000, source.size);
  if (ix.firstBytes.length !== n) throw refuse(`expected Metadata.first_1000_bytes of ${n} bytes, found ${ix.firstBytes.length}`);
  const first = await source.read(0, n);
  for (let k = 0; k < n; k++) {
    if (first[k] !== ix.firstBytes[k]) {
      throw refuse(
        `expected Metadata.first_1000_bytes equal to the first ${n} bytes of ${file}, found 0x${hex(ix.firstBytes.subarray(k, k + 1))} at byte ${k} where the file has 0x${hex(first.subarray(k, k + 1))}`,
      );
    }
  }
  const m = ix.start.length;
  if (m !== h.nVariants) throw refuse(`expected ${h.nVariants} Variant rows (the variant count in the header of ${file}), found ${m}`);
  let at = 4 + h.offset;
  for (let r = 0; r < m; r++) {
    const start = ix.start[r]!;
    const size = ix.size[r]!;
    if (start !== at) {
      throw refuse(
        `Variant row ${r + 1} of ${m} (${rowText(ix, r)}): expected file_start_position ${at} (${r === 0 ? "the first variant's offset in the file" : "where the previous variant's record ends"}), found ${start}`,
      );
    }
    if (!(Number.isSafeInteger(size) && size > 0) || start + size > source.size) {
      throw refuse(
        `Variant row ${r + 1} of ${m} (${rowText(ix, r)}): expected a size_in_bytes from 1 to ${source.size - start} (the rest of the file), found ${size}`,
      );
    }
    at = start + size;
  }
  const chrom: string[] = [];
  const id: string[] = [];
  const pos: number[] = [];
  const a1: string[] = [];
  const a2: string[] = [];
  const starts: number[] = [];
  const lengths: number[] = [];
  const numbers: number[] = [];
  const quirks: BgenQuirks = {};
  for (let r = 0; r < m; r++) {
    const kept = ix.alleles[r] === 2;
    if (!kept && quirks.multiAllelic !== undefined) {
      quirks.multiAllelic.count++;
      continue;
    }
    let name = ix.rsid[r]!;
    if (name === '') {
      // The index keeps the rsid only: the SNP id, which then names the variant, is in the header.
      const p = await readVariantHeader(source, h, ix.start[r]!, ix.size[r]!);
      const wrong = p === undefined ? 'a variant header longer than its record' : rowMismatch(ix, r, p);
      if (wrong !== undefined)
        throw refuse(`Variant row ${r + 1} of ${m} (${rowText(ix, r)}): expected its header at byte ${ix.start[r]} to agree, found ${wrong}`);
      name = p!.id;
    }
    if (!kept) {
      quirks.multiAllelic = { count: 1, first: { file, id: name, variant: r + 1, alleles: ix.alleles[r]! } };
      continue;
    }
    chrom.push(ix.chrom[r] === '' ? '0' : ix.chrom[r]!);
    id.push(name);
    pos.push(ix.pos[r]!);
    a1.push(ix.allele1[r]!);
    a2.push(ix.allele2[r]!);
    starts.push(ix.start[r]!);
    lengths.push(ix.size[r]!);
    numbers.push(r + 1);
  }
  return {
    variants: { chrom, id, cm: new Float64Array(id.length), pos: Float64Array.from(pos), a1, a2 },
    blockStart: Float64Array.from(starts),
    blockLength: Float64Array.from(lengths),
    number: Int32Array.from(numbers),
    quirks,
    index: ix,
  };
}

/** The refusal of index `ix` for the BGEN file `file`, saying how to go on. */
function indexError(ix: BgenIndex, file: string, what: string): InputError {
  return new InputError(
    { file: ix.file },
    `not a bgenix index of ${file}: ${what}; rebuild it (bgenix -g ${file} -index -clobber) or read the file without it (--no-bgen-index)`,
  );
}

/** Index row `r` as a message quotes it. */
function rowText(ix: BgenIndex, r: number): string {
  return `'${ix.rsid[r]}' at ${ix.chrom[r]}:${ix.pos[r]}`;
}

/** What in the parsed variant header `p` disagrees with index row `r`, or undefined. */
function rowMismatch(ix: BgenIndex, r: number, p: ParsedHeader): string | undefined {
  const rsid = ix.rsid[r]!;
  const header = `'${p.id}' at ${p.chrom}:${p.pos} with ${p.alleles.length} alleles in ${p.headerLength + p.blockLength} bytes`;
  if (
    (rsid !== '' && p.id !== rsid) ||
    p.chrom !== ix.chrom[r] ||
    p.pos !== ix.pos[r] ||
    p.alleles.length !== ix.alleles[r] ||
    p.headerLength + p.blockLength !== ix.size[r] ||
    (p.alleles.length === 2 && (p.alleles[0] !== ix.allele1[r] || p.alleles[1] !== ix.allele2[r]))
  ) {
    return `${header} where the index has '${rsid}' at ${ix.chrom[r]}:${ix.pos[r]} with ${ix.alleles[r]} alleles in ${ix.size[r]} bytes`;
  }
  return undefined;
}

/**
 * Reads and parses the variant header at byte `at` of a record of `limit`
 * bytes: a small read, grown while the header needs more; undefined when
 * the header would run past the record.
 */
async function readVariantHeader(source: ByteSource, h: BgenHeader, at: number, limit: number): Promise<ParsedHeader | undefined> {
  let want = Math.min(limit, 4096);
  for (;;) {
    const b = await source.read(at, want);
    const p = parseVariantHeader(b, 0, h);
    if (typeof p !== 'number') return p;
    const next = Math.min(limit, Math.max(p, 2 * b.length));
    if (next <= b.length) return undefined;
    want = next;
  }
}

interface ParsedHeader {
  /** Layout 1 repeats the sample count in each variant. */
  nSamples: number | undefined;
  id: string;
  chrom: string;
  pos: number;
  alleles: string[];
  /** Bytes of the identifying data. */
  headerLength: number;
  /** Bytes of the genotype block, its length fields included. */
  blockLength: number;
}

/**
 * Parses the variant header at `b[at]`; a number when `b` ends first: how
 * many bytes from `at` are needed at least.
 */
function parseVariantHeader(b: Uint8Array, at: number, h: BgenHeader): ParsedHeader | number {
  let p = at;
  const need = (n: number): boolean => p + n <= b.length;
  let nSamples: number | undefined;
  if (h.layout === 1) {
    if (!need(4)) return p - at + 4;
    nSamples = u32(b, p);
    p += 4;
  }
  const strings: string[] = [];
  for (let k = 0; k < 3; k++) {
    if (!need(2)) return p - at + 2;
    const len = u16(b, p);
    if (!need(2 + len)) return p - at + 2 + len;
    strings.push(LATIN.decode(b.subarray(p + 2, p + 2 + len)));
    p += 2 + len;
  }
  if (!need(4)) return p - at + 4;
  const pos = u32(b, p);
  p += 4;
  let k = 2;
  if (h.layout === 2) {
    if (!need(2)) return p - at + 2;
    k = u16(b, p);
    p += 2;
  }
  const alleles: string[] = [];
  for (let a = 0; a < k; a++) {
    if (!need(4)) return p - at + 4;
    const len = u32(b, p);
    if (!need(4 + len)) return p - at + 4 + len;
    alleles.push(LATIN.decode(b.subarray(p + 4, p + 4 + len)));
    p += 4 + len;
  }
  const headerLength = p - at;
  let blockLength: number;
  if (h.layout === 1 && h.compression === 'none') blockLength = 6 * h.nSamples;
  else {
    if (!need(4)) return p - at + 4;
    blockLength = 4 + u32(b, p);
  }
  const [snpid, rsid, chrom] = strings as [string, string, string];
  // plink2 takes the rsid as the variant id; the SNP id stands in when the rsid is empty.
  const id = rsid !== '' ? rsid : snpid !== '' ? snpid : '.';
  return { nSamples, id, chrom, pos, alleles, headerLength, blockLength };
}

/** A BGEN file opened for batches of dosages; see `openBgenSource`. */
export class BgenReader implements GenotypeSource {
  readonly path: string;
  readonly samples: SampleTable;
  /** The biallelic variants; `a1` is the counted allele (see `BgenRef`). */
  readonly variants: VariantTable;
  readonly header: BgenHeader;
  readonly ref: BgenRef;
  /** The variants skipped for having other than two alleles. */
  readonly quirks: BgenQuirks;
  /** The bgenix index the variant table came from, or undefined when the file was walked. */
  readonly indexFile: string | undefined;
  private readonly source: ByteSource;
  private readonly walk: VariantWalk;
  private readonly decompress: BgenDecompressors;
  private readonly countFirst: boolean;

  /** Use `openBgenSource` or `openBgen` (lmmkit/node). */
  constructor(source: ByteSource, header: BgenHeader, samples: SampleTable, walk: VariantWalk, ref: BgenRef, decompress: BgenDecompressors) {
    this.path = source.name;
    this.source = source;
    this.header = header;
    this.samples = samples;
    this.walk = walk;
    this.ref = ref;
    this.decompress = decompress;
    this.quirks = walk.quirks;
    this.indexFile = walk.index?.file;
    this.countFirst = ref === 'last';
    const v = walk.variants;
    this.variants = ref === 'last' ? v : { ...v, a1: v.a2, a2: v.a1 };
  }

  get nSamples(): number {
    return this.samples.iid.length;
  }

  /** BGEN version the flags imply: 1.1 (layout 1), 1.3 (zstd) or 1.2. */
  get version(): '1.1' | '1.2' | '1.3' {
    return this.header.layout === 1 ? '1.1' : this.header.compression === 'zstd' ? '1.3' : '1.2';
  }

  /**
   * Yields the selected variants in batches of `size` (N x b dosages, the
   * expected count of `a1`; NaN where a sample is missing or has ploidy 0),
   * reading the batch's genotype blocks in spans of consecutive blocks.
   */
  async *batches(opts: BatchOptions = {}): AsyncGenerator<GenotypeBatch> {
    const { size, recycle, indices, samples } = planBatches(opts, this.variants, this.nSamples, this.path);
    // An index that disagrees with the file is refused before any work, not midway.
    if (this.walk.index !== undefined && indices.length > 0) {
      await this.checkRecord(indices[0]!);
      await this.checkRecord(indices[indices.length - 1]!);
    }
    const scratch = samples === undefined ? undefined : new Float64Array(this.nSamples);
    const storage = new BatchStorage(samples?.length ?? this.nSamples, recycle);
    for (let start = 0; start < indices.length; start += size) {
      const idx = indices.subarray(start, Math.min(start + size, indices.length));
      const n = samples?.length ?? this.nSamples;
      const out = storage.next(idx.length);
      await this.forEachBlock(idx, (block, v, j) => {
        const col = out.data.subarray(j * n, (j + 1) * n);
        this.decode(block, v, scratch ?? col);
        if (scratch !== undefined && samples !== undefined) for (let k = 0; k < n; k++) col[k] = scratch[samples[k]!]!;
      });
      const stats = opts.standardize === true ? standardizeInPlace(out) : undefined;
      yield { dosages: out, variants: takeVariants(this.variants, idx), indices: idx.slice(), stats };
    }
  }

  async close(): Promise<void> {
    await this.source.close();
  }

  /** Calls `fn(block, v, k)` for each variant `v = indices[k]`, reading runs of nearby blocks in one span. */
  private async forEachBlock(indices: Int32Array, fn: (block: Uint8Array, v: number, k: number) => void): Promise<void> {
    const { blockStart, blockLength } = this.walk;
    let k = 0;
    while (k < indices.length) {
      const first = indices[k]!;
      const from = blockStart[first]!;
      let end = from + blockLength[first]!;
      let run = 1;
      // Later variants of the file whose blocks follow closely (their headers, or skipped variants, between).
      while (k + run < indices.length) {
        const v = indices[k + run]!;
        const s = blockStart[v]!;
        const e = s + blockLength[v]!;
        if (s < end || s - end > 65536 || e - from > SPAN) break;
        end = e;
        run++;
      }
      const bytes = await this.source.read(from, end - from);
      for (let r = 0; r < run; r++) {
        const v = indices[k + r]!;
        const s = blockStart[v]! - from;
        const record = bytes.subarray(s, s + blockLength[v]!);
        fn(this.walk.index === undefined ? record : this.recordBlock(record, v), v, k + r);
      }
      k += run;
    }
  }

  /** Checks the header of indexed variant `v` against its index row (see `rowMismatch`), reading only the header. */
  private async checkRecord(v: number): Promise<void> {
    const p = await readVariantHeader(this.source, this.header, this.walk.blockStart[v]!, this.walk.blockLength[v]!);
    this.matchRecord(v, p);
  }

  /** The genotype block of indexed variant `v` in its `record`, once the header agrees with the index. */
  private recordBlock(record: Uint8Array, v: number): Uint8Array {
    const p = parseVariantHeader(record, 0, this.header);
    this.matchRecord(v, typeof p === 'number' ? undefined : p);
    return record.subarray((p as ParsedHeader).headerLength);
  }

  private matchRecord(v: number, p: ParsedHeader | undefined): void {
    const ix = this.walk.index!;
    const r = this.walk.number[v]! - 1;
    const wrong = p === undefined ? 'a variant header longer than its record' : rowMismatch(ix, r, p);
    if (wrong !== undefined) {
      throw indexError(
        ix,
        this.path,
        `Variant row ${r + 1} of ${this.header.nVariants} (${rowText(ix, r)}): expected the variant header at byte ${ix.start[r]} to agree, found ${wrong}`,
      );
    }
  }

  private where(v: number): string {
    return `variant ${this.walk.number[v]} of ${this.header.nVariants} '${this.variants.id[v]}' (byte ${this.walk.blockStart[v]})`;
  }

  private fail(v: number, what: string): InputError {
    return new InputError({ file: this.path }, `${this.where(v)}: ${what}`);
  }

  /** Inflates `data` with `method`, checking it gives `size` bytes. */
  private inflate(data: Uint8Array, size: number, v: number): Uint8Array {
    const method = this.header.compression === 'zstd' ? 'zstd' : 'zlib';
    let out: Uint8Array;
    try {
      out = this.decompress[method](data, size);
    } catch (err) {
      throw this.fail(v, `expected ${method} data in the genotype block, found corrupt or truncated data (${(err as Error).message})`);
    }
    if (out.length !== size) throw this.fail(v, `expected the genotype block to inflate to ${size} bytes, found ${out.length}`);
    return out;
  }

  /** Decodes variant `v`'s genotype block into `out` (all N samples). */
  private decode(block: Uint8Array, v: number, out: Float64Array): void {
    const n = this.nSamples;
    if (this.header.layout === 1) {
      const data = this.header.compression === 'none' ? block : this.inflate(block.subarray(4), 6 * n, v);
      decodeLayout1(data, n, this.countFirst, out);
      return;
    }
    let data: Uint8Array;
    if (this.header.compression === 'none') data = block.subarray(4);
    else {
      if (block.length < 8) throw this.fail(v, `expected a genotype block of at least 8 bytes, found ${block.length}`);
      data = this.inflate(block.subarray(8), u32(block, 4), v);
    }
    const fault = decodeLayout2(data, n, this.countFirst, out);
    if (fault !== undefined) throw this.fail(v, fault);
  }
}

/** Layout 1: three 16-bit probabilities per sample (AA, AB, BB, / 32768), all zero when missing. */
function decodeLayout1(d: Uint8Array, n: number, countFirst: boolean, out: Float64Array): void {
  for (let s = 0; s < n; s++) {
    const q = 6 * s;
    const aa = d[q]! | (d[q + 1]! << 8);
    const ab = d[q + 2]! | (d[q + 3]! << 8);
    const bb = d[q + 4]! | (d[q + 5]! << 8);
    const sum = aa + ab + bb;
    // The expected count given a call: v1.1 lets probabilities sum to less than 1 (a NULL call).
    out[s] = sum === 0 ? Number.NaN : (countFirst ? 2 * aa + ab : ab + 2 * bb) / sum;
  }
}

/**
 * Layout 2 (biallelic): N, K, min and max ploidy, a ploidy/missingness byte
 * per sample, the phased flag, the bits per probability B, then Z packed
 * B-bit values per sample of ploidy Z (unphased: P(i copies of the second
 * allele), i < Z; phased: P(haplotype h carries the first allele)), missing
 * samples' values stored as zeros. Returns what is wrong, or undefined.
 */
function decodeLayout2(d: Uint8Array, n: number, countFirst: boolean, out: Float64Array): string | undefined {
  if (d.length < 10 + n) return `expected at least ${10 + n} bytes of genotype data (${n} samples), found ${d.length}`;
  const nn = u32(d, 0);
  if (nn !== n) return `expected ${n} samples in the genotype data (the header's count), found ${nn}`;
  const k = u16(d, 4);
  if (k !== 2) return `expected 2 alleles in the genotype data (as in the variant header), found ${k}`;
  const pmax = d[7]!;
  const phased = d[8 + n]!;
  const bits = d[9 + n]!;
  if (phased > 1) return `expected a phased flag of 0 or 1, found ${phased}`;
  if (bits < 1 || bits > 32) return `unsupported bits per probability: expected 1 to 32, found ${bits}`;
  const scale = 1 / (2 ** bits - 1);
  if (d[6] === 2 && pmax === 2 && phased === 0 && (bits === 8 || bits === 16)) {
    // Every sample diploid (the block's minimum and maximum): 2 values each, whatever the ploidy bytes say.
    const need = 10 + n + 2 * n * (bits >>> 3);
    if (d.length !== need) return `expected ${need} bytes of genotype data (${2 * n} probabilities of ${bits} bits), found ${d.length}`;
    diploid(d, n, bits >>> 3, scale, countFirst, out);
    return undefined;
  }
  let values = 0;
  for (let s = 0; s < n; s++) {
    const z = d[8 + s]! & 0x3f;
    if (z > pmax) return `sample ${s + 1}: expected a ploidy of at most ${pmax} (the block's maximum), found ${z}`;
    values += z;
  }
  const p0 = 10 + n;
  const need = p0 + Math.ceil((values * bits) / 8);
  if (d.length !== need) return `expected ${need} bytes of genotype data (${values} probabilities of ${bits} bits), found ${d.length}`;
  if (bits === 8 || bits === 16) byteAligned(d, n, bits >>> 3, phased === 1, scale, countFirst, out);
  else packed(d, n, bits, phased === 1, scale, countFirst, out);
  return undefined;
}

// The decoders below are split by case so that each stays small and
// monomorphic for the JIT: the diploid 8/16-bit case is UK Biobank's and plink2's.

/** Unphased, every sample diploid, 8 or 16 bits (`w` bytes): dosage from P(AA) and P(AB). */
function diploid(d: Uint8Array, n: number, w: number, scale: number, countFirst: boolean, out: Float64Array): void {
  const p0 = 10 + n;
  const first = countFirst ? scale : -scale;
  const base = countFirst ? 0 : 2;
  if (w === 1) {
    for (let s = 0, q = p0; s < n; s++, q += 2) out[s] = (d[8 + s]! & 0x80) !== 0 ? Number.NaN : base + first * (2 * d[q]! + d[q + 1]!);
    return;
  }
  for (let s = 0; s < n; s++) {
    const q = p0 + 2 * w * s;
    const aa = w === 1 ? d[q]! : d[q]! | (d[q + 1]! << 8);
    const ab = w === 1 ? d[q + 1]! : d[q + 2]! | (d[q + 3]! << 8);
    out[s] = (d[8 + s]! & 0x80) !== 0 ? Number.NaN : base + first * (2 * aa + ab);
  }
}

/** 8 or 16 bits (`w` bytes), any ploidy, phased or not. */
function byteAligned(d: Uint8Array, n: number, w: number, phased: boolean, scale: number, countFirst: boolean, out: Float64Array): void {
  let q = 10 + n;
  for (let s = 0; s < n; s++) {
    const code = d[8 + s]!;
    const z = code & 0x3f;
    let c1 = 0;
    for (let i = 0; i < z; i++, q += w) {
      const x = w === 1 ? d[q]! : d[q]! | (d[q + 1]! << 8);
      c1 += phased ? x : (z - i) * x;
    }
    c1 *= scale;
    out[s] = (code & 0x80) !== 0 || z === 0 ? Number.NaN : countFirst ? c1 : z - c1;
  }
}

/** Any depth of 1 to 32 bits, packed least significant bit first. */
function packed(d: Uint8Array, n: number, bits: number, phased: boolean, scale: number, countFirst: boolean, out: Float64Array): void {
  const p0 = 10 + n;
  const mask = bits >= 32 ? 0 : (1 << bits) >>> 0;
  let bit = 0;
  for (let s = 0; s < n; s++) {
    const code = d[8 + s]!;
    const z = code & 0x3f;
    let c1 = 0;
    for (let i = 0; i < z; i++, bit += bits) {
      const byte = p0 + Math.floor(bit / 8);
      const shift = bit & 7;
      let x: number;
      if (bits + shift <= 31) {
        const word = (d[byte] ?? 0) | ((d[byte + 1] ?? 0) << 8) | ((d[byte + 2] ?? 0) << 16) | ((d[byte + 3] ?? 0) << 24);
        x = (word >>> shift) & (mask - 1);
      } else {
        const word = (d[byte] ?? 0) + (d[byte + 1] ?? 0) * 2 ** 8 + (d[byte + 2] ?? 0) * 2 ** 16 + (d[byte + 3] ?? 0) * 2 ** 24 + (d[byte + 4] ?? 0) * 2 ** 32;
        x = Math.floor(word / 2 ** shift) % 2 ** bits;
      }
      c1 += phased ? x : (z - i) * x;
    }
    c1 *= scale;
    out[s] = (code & 0x80) !== 0 || z === 0 ? Number.NaN : countFirst ? c1 : z - c1;
  }
}
