// A VCF given as bytes (a page's File, or memory) for the browser-safe
// reader of ./vcf.ts: each pass reads the bytes from the top in slices,
// gunzipped by fflate when they are gzip or BGZF (told by the magic bytes,
// not the name; fflate's streaming Gunzip reads BGZF's many members one
// after the other). ./node/vcf.ts does the same for a path with node:zlib.
import { Gunzip } from 'fflate';
import { type ByteInput, type ByteSource, byteSource } from './bytes.js';
import { openVcfStream, type VcfDosage, type VcfReader } from './vcf.js';

/** Bytes read from the source at a time: a 2 GB File is never held whole. */
const SLICE = 4 << 20;

/** The 28-byte empty block that ends every BGZF file (SAMv1 spec, 4.1.2). */
const BGZF_EOF = Uint8Array.from([
  0x1f, 0x8b, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x00, 0x42, 0x43, 0x02, 0x00, 0x1b, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00,
]);

/**
 * Opens the VCF `input` (plain, gzip or BGZF; `name` names it in messages
 * unless it is a `File`) as a `GenotypeSource` with the FORMAT field
 * `dosage` (default DS when the header declares it, else GT: see
 * `openVcfStream`, which says what is read and how). The whole file is
 * read on each pass: a page has no index to seek with. A BGZF file without
 * its end-of-file block fails at the end of the first pass (it was cut
 * short), as `lmmkit gwas --vcf` fails on it.
 */
export async function openVcfBytes(input: ByteInput | ByteSource, name: string, dosage?: VcfDosage): Promise<VcfReader> {
  const source = byteSource(input, name);
  const head = source.size >= 18 ? await source.read(0, 18) : await source.read(0, source.size);
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  // FEXTRA set, and its first subfield 'BC' (BGZF's block size).
  const bgzf = gzip && head.length === 18 && (head[3]! & 4) !== 0 && head[12] === 0x42 && head[13] === 0x43;
  const cut = bgzf && !(source.size >= BGZF_EOF.length && sameBytes(await source.read(source.size - BGZF_EOF.length, BGZF_EOF.length), BGZF_EOF));
  return openVcfStream(source.name, () => chunks(source, gzip, cut), dosage === undefined ? {} : { dosage });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The decompressed bytes of `source` from the top. */
async function* chunks(source: ByteSource, gzip: boolean, cut: boolean): AsyncGenerator<Uint8Array> {
  if (!gzip) {
    for (let at = 0; at < source.size; at += SLICE) yield await source.read(at, Math.min(SLICE, source.size - at));
    return;
  }
  const out: Uint8Array[] = [];
  const gunzip = new Gunzip((data) => out.push(data));
  for (let at = 0; at < source.size; at += SLICE) {
    const end = Math.min(source.size, at + SLICE);
    gunzip.push(await source.read(at, end - at), end === source.size);
    while (out.length > 0) yield out.shift()!;
  }
  if (cut) throw new Error('no BGZF end-of-file block: the file was cut short');
}
