// A small BGEN writer for the tests, written from the specification
// (https://www.well.ox.ac.uk/~gav/bgen_format/spec/latest.html) apart from
// the reader: bit packing through BigInt, so that probabilities of any depth
// 1-32, ploidy, phasing and missingness can be checked against formulas.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import initSqlJs from 'sql.js';

/** One variant to write: its header fields and, per sample, ploidy, missingness and the stored integers. */
export interface TestVariant {
  snpid?: string;
  rsid: string;
  chrom: string;
  pos: number;
  alleles: string[];
  /** Layout 2 only. */
  bits?: number;
  phased?: boolean;
  /** Per sample (layout 2; layout 1 is diploid). */
  ploidy?: number[];
  missing?: boolean[];
  /** Per sample, the stored integers (layout 1: the three 16-bit AA, AB, BB values). */
  values: number[][];
}

/** What to write. */
export interface TestBgen {
  layout: 1 | 2;
  compression: 'none' | 'zlib';
  nSamples: number;
  sampleIds?: string[];
  variants: TestVariant[];
  /** Flags to write instead of the ones implied (for unsupported-flag tests). */
  flags?: number;
  /** Magic bytes instead of 'bgen'. */
  magic?: number[];
}

class Out {
  parts: number[] = [];
  u8(x: number): void {
    this.parts.push(x & 0xff);
  }
  u16(x: number): void {
    this.u8(x);
    this.u8(x >>> 8);
  }
  u32(x: number): void {
    for (let k = 0; k < 4; k++) this.u8(Math.floor(x / 2 ** (8 * k)));
  }
  bytes(b: ArrayLike<number>): void {
    for (let i = 0; i < b.length; i++) this.u8(b[i]!);
  }
  str16(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u16(b.length);
    this.bytes(b);
  }
  str32(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u32(b.length);
    this.bytes(b);
  }
}

/** The bytes of a BGEN file as `spec` describes. */
export function writeTestBgen(spec: TestBgen): Uint8Array {
  const n = spec.nSamples;
  const comp = spec.compression === 'zlib' ? 1 : 0;
  const flags = spec.flags ?? comp | (spec.layout << 2) | (spec.sampleIds !== undefined ? 0x80000000 : 0);
  const head = new Out();
  head.u32(20);
  head.u32(spec.variants.length);
  head.u32(n);
  head.bytes(spec.magic ?? [0x62, 0x67, 0x65, 0x6e]);
  head.u32(flags >>> 0);
  const ids = new Out();
  if (spec.sampleIds !== undefined) {
    const body = new Out();
    for (const id of spec.sampleIds) body.str16(id);
    ids.u32(8 + body.parts.length);
    ids.u32(spec.sampleIds.length);
    ids.bytes(body.parts);
  }
  const out = new Out();
  out.u32(head.parts.length + ids.parts.length);
  out.bytes(head.parts);
  out.bytes(ids.parts);
  for (const v of spec.variants) {
    if (spec.layout === 1) out.u32(n);
    out.str16(v.snpid ?? '');
    out.str16(v.rsid);
    out.str16(v.chrom);
    out.u32(v.pos);
    if (spec.layout === 2) out.u16(v.alleles.length);
    for (const a of v.alleles) out.str32(a);
    const data = spec.layout === 1 ? layout1(v) : layout2(v, n);
    if (comp === 0) {
      if (spec.layout === 2) out.u32(data.length);
      out.bytes(data);
    } else {
      const z = deflateSync(data);
      if (spec.layout === 2) {
        out.u32(z.length + 4);
        out.u32(data.length);
      } else out.u32(z.length);
      out.bytes(z);
    }
  }
  return Uint8Array.from(out.parts);
}

function layout1(v: TestVariant): Uint8Array {
  const o = new Out();
  for (const s of v.values) for (const x of s) o.u16(x);
  return Uint8Array.from(o.parts);
}

function layout2(v: TestVariant, n: number): Uint8Array {
  const bits = v.bits ?? 8;
  const ploidy = v.ploidy ?? Array.from({ length: n }, () => 2);
  const o = new Out();
  o.u32(n);
  o.u16(v.alleles.length);
  o.u8(Math.min(...ploidy));
  o.u8(Math.max(...ploidy));
  for (let s = 0; s < n; s++) o.u8(ploidy[s]! | (v.missing?.[s] === true ? 0x80 : 0));
  o.u8(v.phased === true ? 1 : 0);
  o.u8(bits);
  let acc = 0n;
  let at = 0n;
  for (const s of v.values) {
    for (const x of s) {
      acc |= BigInt(x) << at;
      at += BigInt(bits);
    }
  }
  const nBytes = Number((at + 7n) / 8n);
  for (let k = 0; k < nBytes; k++) o.u8(Number((acc >> BigInt(8 * k)) & 0xffn));
  return Uint8Array.from(o.parts);
}

/** One row of a bgenix index's Variant table, as `bgenixRows` finds it. */
export interface BgenixRow {
  chrom: string;
  pos: number;
  rsid: string;
  alleles: string[];
  /** Byte offset of the variant's identifying data. */
  start: number;
  /** Bytes of the identifying data and the genotype block together. */
  size: number;
}

/**
 * The Variant rows bgenix would write for the BGEN bytes `b`, found by a
 * walk of its own over the variant headers (following the specification,
 * apart from the reader), in file order.
 */
export function bgenixRows(b: Uint8Array): BgenixRow[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (at: number): number => dv.getUint16(at, true);
  const u32 = (at: number): number => dv.getUint32(at, true);
  const offset = u32(0);
  const m = u32(8);
  const n = u32(12);
  const flags = u32(20);
  const comp = flags & 3;
  const layout = (flags >>> 2) & 0xf;
  const rows: BgenixRow[] = [];
  let at = 4 + offset;
  const text = (from: number, len: number): string => Buffer.from(b.subarray(from, from + len)).toString('utf8');
  for (let v = 0; v < m; v++) {
    const start = at;
    if (layout === 1) at += 4;
    const strs: string[] = [];
    for (let k = 0; k < 3; k++) {
      const len = u16(at);
      strs.push(text(at + 2, len));
      at += 2 + len;
    }
    const pos = u32(at);
    at += 4;
    let k = 2;
    if (layout === 2) {
      k = u16(at);
      at += 2;
    }
    const alleles: string[] = [];
    for (let a = 0; a < k; a++) {
      const len = u32(at);
      alleles.push(text(at + 4, len));
      at += 4 + len;
    }
    at += layout === 1 && comp === 0 ? 6 * n : 4 + u32(at);
    rows.push({ chrom: strs[2]!, pos, rsid: strs[1]!, alleles, start, size: at - start });
  }
  return rows;
}

/** Changes to make to an index `writeBgenixIndex` writes (for the tests of wrong indexes). */
export interface BgenixEdit {
  rows?: (rows: BgenixRow[]) => BgenixRow[];
  fileSize?: number;
  firstBytes?: Uint8Array;
  /** Leave the Metadata table out (as bgenix before 1.0.2 did). */
  noMetadata?: boolean;
}

/**
 * Writes the bgenix index of the BGEN file `bgen` to `out` (default
 * `bgen + '.bgi'`) with sql.js. bgenix is not installed here, so the
 * tables follow its schema exactly (the `CREATE TABLE` statements of
 * bgenix's documentation, "The bgenix index file format"): Metadata(filename,
 * file_size, last_write_time, first_1000_bytes, index_creation_time) and
 * Variant(chromosome, position, rsid, number_of_alleles, allele1, allele2,
 * file_start_position, size_in_bytes) WITHOUT ROWID, where
 * file_start_position is the offset of a variant's identifying data and
 * size_in_bytes covers it and its genotype block; allele2 is the second
 * allele (NULL for a single-allele variant), as bgenix writes them.
 */
export async function writeBgenixIndex(bgen: string, out = `${bgen}.bgi`, edit: BgenixEdit = {}): Promise<string> {
  const SQL = await initSqlJs();
  const bytes = readFileSync(bgen);
  const db = new SQL.Database();
  db.run(
    'CREATE TABLE Variant (chromosome TEXT NOT NULL, position INT NOT NULL, rsid TEXT NOT NULL, number_of_alleles INT NOT NULL, ' +
      'allele1 TEXT NOT NULL, allele2 TEXT NULL, file_start_position INT NOT NULL, size_in_bytes INT NOT NULL, ' +
      'PRIMARY KEY (chromosome, position, rsid, allele1, allele2, file_start_position)) WITHOUT ROWID',
  );
  if (edit.noMetadata !== true) {
    db.run(
      'CREATE TABLE Metadata (filename TEXT NOT NULL, file_size INT NOT NULL, last_write_time INT NOT NULL, first_1000_bytes BLOB NOT NULL, index_creation_time INT NOT NULL)',
    );
    const now = Math.floor(Date.now() / 1000);
    db.run('INSERT INTO Metadata VALUES (?, ?, ?, ?, ?)', [
      bgen,
      edit.fileSize ?? bytes.length,
      Math.floor(statSync(bgen).mtimeMs / 1000),
      edit.firstBytes ?? new Uint8Array(bytes.subarray(0, 1000)),
      now,
    ]);
  }
  const rows = (edit.rows ?? ((r) => r))(bgenixRows(bytes));
  const insert = db.prepare('INSERT INTO Variant VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  for (const r of rows) insert.run([r.chrom, r.pos, r.rsid, r.alleles.length, r.alleles[0] ?? '', r.alleles[1] ?? null, r.start, r.size]);
  insert.free();
  writeFileSync(out, db.export());
  db.close();
  return out;
}
