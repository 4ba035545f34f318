import { InputError, ShapeError } from '../../errors.js';
import { Matrix } from '../../linalg/matrix.js';
import { byteSource, type ByteInput, type ByteSource } from '../bytes.js';
import { parseSourceLines } from '../lines.js';
import { BatchStorage, planBatches, type BatchOptions, type GenotypeBatch, type GenotypeQuirks, type GenotypeSource } from '../genotypes.js';
import type { DosageStats } from '../preprocess.js';
import { takeVariants, type VariantTable } from '../variants.js';
import { decodePackedCalls, packedCallTable } from '../packed-calls.js';
import { BimParser } from './bim.js';
import { FamParser, type FamTable } from './fam.js';

/** Which `.bim` allele a dosage counts. */
export type CountedAllele = 'a1' | 'a2';

/** Options of `openBed`. */
export interface OpenBedOptions {
  /**
   * `'a1'` (default) counts the `.bim` column-5 allele, as PLINK
   * (`--recode A --keep-allele-order`) and GEMMA do; `'a2'` counts the
   * column-6 allele, as limix-lmm through pandas_plink and `plink2 --export A` do.
   */
  count?: CountedAllele;
}

const MAGIC = [0x6c, 0x1b, 0x01];

/**
 * 2-bit code -> dosage for each counted allele. PLINK's codes (low-order
 * bits first within a byte): 00 hom. column-5 allele, 01 missing,
 * 10 heterozygous, 11 hom. column-6 allele.
 */
const CODE_VALUES: Record<CountedAllele, readonly number[]> = {
  a1: [2, Number.NaN, 1, 0],
  a2: [0, Number.NaN, 1, 2],
};

/** 256 x 4 table: the four dosages packed in each possible byte. */
function byteTable(count: CountedAllele): Float64Array {
  return packedCallTable(CODE_VALUES[count]);
}

/**
 * The three files of a PLINK 1 fileset as a page has them: bytes, a `Blob`
 * or `File`, or any `ByteSource`. `prefix` names them in messages when an
 * input carries no name of its own (default `'bytes'`: `bytes.bed`, ...).
 */
export interface BedFiles {
  bed: ByteInput | ByteSource;
  bim: ByteInput | ByteSource;
  fam: ByteInput | ByteSource;
  prefix?: string;
}

/**
 * Opens a PLINK 1 fileset from bytes (see `BedFiles`): the `.bim` and `.fam`
 * are read line by line, the `.bed` lazily by `batches`, as `openBed` does with
 * files in Node (lmmkit/node).
 */
export async function openBedFiles(files: BedFiles, opts: OpenBedOptions = {}): Promise<BedReader> {
  const prefix = files.prefix ?? 'bytes';
  const bed = byteSource(files.bed, `${prefix}.bed`);
  let variants: VariantTable;
  let samples: FamTable;
  let bimParser: BimParser;
  try {
    const bim = byteSource(files.bim, `${prefix}.bim`);
    const fam = byteSource(files.fam, `${prefix}.fam`);
    bimParser = new BimParser(bim.name);
    // Line by line, a few MiB at a time: a .bim File past 512 MiB reads too.
    [variants, samples] = await Promise.all([parseSourceLines(bim, bim.name, bimParser), parseSourceLines(fam, fam.name, new FamParser(fam.name))]);
  } catch (err) {
    await bed.close();
    throw err;
  }
  return openBedSource(bed, samples, variants, opts, bimParser.quirks);
}

/**
 * A reader of the `.bed` bytes `bed` for the parsed `.fam` and `.bim`,
 * checking the variant-major magic bytes and that `bed` holds exactly
 * 3 + ceil(N / 4) * S bytes. The reader owns `bed` (closed on failure here,
 * else by `close`). `quirks` are the `.bim` parser's (`BimParser.quirks`).
 */
export async function openBedSource(
  bed: ByteSource,
  fam: FamTable,
  variants: VariantTable,
  opts: OpenBedOptions = {},
  quirks: GenotypeQuirks = {},
): Promise<BedReader> {
  try {
    const head = await bed.read(0, Math.min(3, bed.size));
    if (head.length < 3 || head[0] !== MAGIC[0] || head[1] !== MAGIC[1]) {
      throw new InputError({ file: bed.name }, `not a PLINK .bed file: expected magic bytes 6c 1b, found ${hex(head)}`);
    }
    if (head[2] !== MAGIC[2]) {
      throw new InputError(
        { file: bed.name },
        `sample-major .bed (mode byte ${hex(head.subarray(2, 3))}) is not supported: expected variant-major (01); convert it with plink --make-bed`,
      );
    }
    const bytesPerVariant = Math.ceil(fam.iid.length / 4);
    const expected = 3 + bytesPerVariant * variants.id.length;
    if (bed.size !== expected) {
      throw new InputError(
        { file: bed.name },
        `${bed.size < expected ? 'truncated' : 'oversized'} .bed: ${fam.iid.length} samples (.fam) x ${variants.id.length} variants (.bim) need 3 + ${bytesPerVariant} x ${variants.id.length} = ${expected} bytes, found ${bed.size}`,
      );
    }
    return new BedReader(bed, fam, variants, opts.count ?? 'a1', quirks);
  } catch (err) {
    await bed.close();
    throw err;
  }
}

/** A PLINK 1 `.bed` opened for streaming; see `openBed`. */
export class BedReader implements GenotypeSource {
  readonly path: string;
  readonly samples: FamTable;
  readonly variants: VariantTable;
  readonly count: CountedAllele;
  /** The `.bim`'s negative positions and repeated ids (see `GenotypeQuirks`). */
  readonly quirks: GenotypeQuirks;
  private readonly source: ByteSource;
  private readonly lut: Float64Array;
  private readonly bytesPerVariant: number;

  /** Use `openBed` (lmmkit/node), `openBedFiles` or `openBedSource`. */
  constructor(source: ByteSource, fam: FamTable, variants: VariantTable, count: CountedAllele, quirks: GenotypeQuirks = {}) {
    this.path = source.name;
    this.quirks = quirks;
    this.source = source;
    this.samples = fam;
    this.variants = variants;
    this.count = count;
    this.lut = byteTable(count);
    this.bytesPerVariant = Math.ceil(fam.iid.length / 4);
  }

  get nSamples(): number {
    return this.samples.iid.length;
  }

  get nVariants(): number {
    return this.variants.id.length;
  }

  /**
   * Yields the selected variants in batches of `size` (N x b dosage matrices,
   * NaN for missing), reading only each batch's bytes from the source.
   */
  async *batches(opts: BatchOptions = {}): AsyncGenerator<GenotypeBatch> {
    const { size, recycle, indices, samples } = planBatches(opts, this.variants, this.nSamples, this.path);
    const storage = new BatchStorage(samples?.length ?? this.nSamples, recycle);
    for (let start = 0; start < indices.length; start += size) {
      const idx = indices.subarray(start, Math.min(start + size, indices.length));
      const variants = takeVariants(this.variants, idx);
      if (opts.standardize === true) {
        const { dosages, stats } = await this.readStandardized(idx, samples, storage.next(idx.length));
        yield { dosages, variants, indices: idx.slice(), stats };
      } else {
        const counts = { observed: new Int32Array(idx.length), sum: new Float64Array(idx.length) };
        yield { dosages: await this.read(idx, samples, storage.next(idx.length), counts), variants, indices: idx.slice(), counts };
      }
    }
  }

  /**
   * The dosages of the variants `indices` (N x indices.length), optionally
   * for a subset of samples, into `out` when given (of that shape; every
   * element is written, so it may hold anything). With `counts` (arrays of
   * indices.length), also each variant's observed genotypes and dosage sum
   * (see `GenotypeBatch.counts`), from the counts of its 2-bit codes.
   */
  async read(indices: Int32Array, samples?: Int32Array, out?: Matrix, counts?: { observed: Int32Array; sum: Float64Array }): Promise<Matrix> {
    const n = samples === undefined ? this.nSamples : samples.length;
    out = checkedOutput(out, n, indices.length);
    const codes = CODE_VALUES[this.count];
    const c = new Float64Array(4);
    await this.forEachVariant(indices, (src, j) => {
      const col = out.data.subarray(j * n, (j + 1) * n);
      if (samples === undefined) decodePackedCalls(src, col.length, this.lut, col);
      else decodeSubset(src, this.lut, samples, col);
      if (counts === undefined) return;
      if (samples === undefined) countCodes(src, n, c);
      else countCodesSubset(src, samples, c);
      counts.observed[j] = c[0]! + c[2]! + c[3]!;
      counts.sum[j] = c[0]! * codes[0]! + c[2]! * codes[2]! + c[3]! * codes[3]!;
    });
    return out;
  }

  /**
   * The variants `indices` mean-imputed and standardised as they are decoded
   * (see `BatchOptions.standardize`). Mean and sd come from the counts of the
   * three genotype codes, so each genotype is touched once, through a
   * four-entry table of standardised values per variant. Into `into` when
   * given (N x indices.length; every element is written).
   */
  async readStandardized(indices: Int32Array, samples?: Int32Array, into?: Matrix): Promise<{ dosages: Matrix; stats: DosageStats }> {
    const n = samples === undefined ? this.nSamples : samples.length;
    const out = checkedOutput(into, n, indices.length);
    const mean = new Float64Array(indices.length);
    const sd = new Float64Array(indices.length);
    const codes = CODE_VALUES[this.count];
    const counts = new Float64Array(4);
    const values = new Float64Array(4);
    await this.forEachVariant(indices, (src, j) => {
      if (samples === undefined) countCodes(src, this.nSamples, counts);
      else countCodesSubset(src, samples, counts);
      const observed = counts[0]! + counts[2]! + counts[3]!;
      const m = observed > 0 ? (counts[0]! * codes[0]! + counts[2]! * codes[2]! + counts[3]! * codes[3]!) / observed : Number.NaN;
      let ss = 0;
      for (const k of [0, 2, 3]) ss += counts[k]! * (codes[k]! - m) * (codes[k]! - m);
      const s = observed > 0 ? Math.sqrt(ss / n) : 0;
      const inv = s > 0 ? 1 / s : 0;
      for (const k of [0, 2, 3]) values[k] = (codes[k]! - m) * inv;
      values[1] = 0;
      mean[j] = m;
      sd[j] = s;
      const col = out.data.subarray(j * n, (j + 1) * n);
      if (samples === undefined) decodeCodes(src, values, col);
      else for (let k = 0; k < samples.length; k++) col[k] = values[(src[samples[k]! >> 2]! >> (2 * (samples[k]! & 3))) & 3]!;
    });
    return { dosages: out, stats: { mean, sd } };
  }

  async close(): Promise<void> {
    await this.source.close();
  }

  /** Calls `fn(bytes, k)` for each variant `indices[k]`, with one read per run of consecutive variants. */
  private async forEachVariant(indices: Int32Array, fn: (bytes: Uint8Array, k: number) => void): Promise<void> {
    const bpv = this.bytesPerVariant;
    let k = 0;
    while (k < indices.length) {
      let run = 1;
      while (k + run < indices.length && indices[k + run] === indices[k]! + run) run++;
      const bytes = await this.source.read(3 + indices[k]! * bpv, run * bpv);
      for (let r = 0; r < run; r++) fn(bytes.subarray(r * bpv, (r + 1) * bpv), k + r);
      k += run;
    }
  }
}

/** `out`, checked to be rows x cols, or a new rows x cols matrix. */
function checkedOutput(out: Matrix | undefined, rows: number, cols: number): Matrix {
  if (out === undefined) return new Matrix(rows, cols);
  if (out.rows !== rows || out.cols !== cols) throw new ShapeError(`BedReader.read: expected a ${rows} x ${cols} output, found ${out.rows} x ${out.cols}`);
  return out;
}

/** Counts of each 2-bit code in each byte, packed 8 bits per code. */
const BYTE_CODE_COUNTS = Uint32Array.from({ length: 256 }, (_, b) => {
  let packed = 0;
  for (let k = 0; k < 4; k++) packed += 1 << (8 * ((b >> (2 * k)) & 3));
  return packed;
});

/** Counts of the codes 00, 01, 10, 11 among the first `n` genotypes of one variant. */
function countCodes(src: Uint8Array, n: number, counts: Float64Array): void {
  const full = n >> 2;
  counts.fill(0);
  // Packed 8-bit counters absorb at most 63 bytes (4 x 63 < 256) before spilling.
  for (let b0 = 0; b0 < full; b0 += 63) {
    let acc = 0;
    const b1 = Math.min(full, b0 + 63);
    for (let b = b0; b < b1; b++) acc += BYTE_CODE_COUNTS[src[b]!]!;
    counts[0]! += acc & 0xff;
    counts[1]! += (acc >>> 8) & 0xff;
    counts[2]! += (acc >>> 16) & 0xff;
    counts[3]! += acc >>> 24;
  }
  for (let i = full << 2; i < n; i++) counts[(src[i >> 2]! >> (2 * (i & 3))) & 3]!++;
}

function countCodesSubset(src: Uint8Array, idx: Int32Array, counts: Float64Array): void {
  counts.fill(0);
  for (let k = 0; k < idx.length; k++) counts[(src[idx[k]! >> 2]! >> (2 * (idx[k]! & 3))) & 3]!++;
}

/** Writes values[code] for each of the out.length genotypes of one variant. */
function decodeCodes(src: Uint8Array, values: Float64Array, out: Float64Array): void {
  const n = out.length;
  const full = n >> 2;
  for (let b = 0; b < full; b++) {
    const byte = src[b]!;
    const o = b << 2;
    out[o] = values[byte & 3]!;
    out[o + 1] = values[(byte >> 2) & 3]!;
    out[o + 2] = values[(byte >> 4) & 3]!;
    out[o + 3] = values[byte >> 6]!;
  }
  for (let i = full << 2; i < n; i++) out[i] = values[(src[i >> 2]! >> (2 * (i & 3))) & 3]!;
}

/** Decodes the samples `idx` of one variant's packed bytes into `out`. */
function decodeSubset(src: Uint8Array, lut: Float64Array, idx: Int32Array, out: Float64Array): void {
  for (let k = 0; k < idx.length; k++) {
    const s = idx[k]!;
    out[k] = lut[(src[s >> 2]! << 2) + (s & 3)]!;
  }
}

function hex(bytes: Uint8Array): string {
  return bytes.length === 0 ? '(empty file)' : Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
