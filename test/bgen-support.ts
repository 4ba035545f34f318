// A small BGEN writer for the tests, written from the specification
// (https://www.well.ox.ac.uk/~gav/bgen_format/spec/latest.html) apart from
// the reader: bit packing through BigInt, so that probabilities of any depth
// 1-32, ploidy, phasing and missingness can be checked against formulas.
import { deflateSync } from 'node:zlib';

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
