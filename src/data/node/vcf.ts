// A VCF on disk for the browser-safe reader of ../vcf.ts: the file's bytes
// streamed from the top, gunzipped when it is gzip or BGZF (BGZF is a series
// of gzip members, which Node's gunzip reads one after the other).
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError } from '../../errors.js';
import { openVcfStream, type OpenVcfOptions, type VcfReader } from '../vcf.js';

/** The 28-byte empty block that ends every BGZF file (SAMv1 spec, 4.1.2). */
const BGZF_EOF = Uint8Array.from([
  0x1f, 0x8b, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x00, 0x42, 0x43, 0x02, 0x00, 0x1b, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00,
]);

/** How the file is stored, told by its first bytes (not its name), and whether a BGZF file has its end-of-file block. */
interface Kind {
  gzip: boolean;
  bgzf: boolean;
  bgzfEof: boolean;
}

async function sniff(path: string): Promise<Kind> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      { file: path },
      `expected a readable VCF file, found ${code === 'ENOENT' ? 'no such file' : `an error (${code ?? (e as Error).message})`}`,
    );
  }
  try {
    const { size } = await handle.stat();
    const head = new Uint8Array(18);
    const { bytesRead } = await handle.read(head, 0, 18, 0);
    const gzip = bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    // FEXTRA set, and its first subfield 'BC' (BGZF's block size).
    const bgzf = gzip && bytesRead === 18 && (head[3]! & 4) !== 0 && head[12] === 0x42 && head[13] === 0x43;
    let bgzfEof = false;
    if (bgzf && size >= BGZF_EOF.length) {
      const tail = new Uint8Array(BGZF_EOF.length);
      await handle.read(tail, 0, tail.length, size - tail.length);
      bgzfEof = tail.every((b, k) => b === BGZF_EOF[k]);
    }
    return { gzip, bgzf, bgzfEof };
  } finally {
    await handle.close();
  }
}

/** The decompressed bytes of `path` from the top; a BGZF file without its end block fails at the end (it was cut short). */
async function* chunks(path: string, kind: Kind): AsyncGenerator<Uint8Array> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream: Readable = kind.gzip ? pipeline(file, createGunzip({ chunkSize: 1 << 18 }), () => {}) : file;
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } finally {
    stream.destroy();
  }
  if (kind.bgzf && !kind.bgzfEof) throw new Error('no BGZF end-of-file block: the file was cut short');
}

/**
 * Opens the VCF at `path` (plain, gzip or BGZF `.vcf.gz`, told by its
 * magic bytes) as a `GenotypeSource`; see `openVcfStream` for what is read
 * and how. Each pass streams the file from the top.
 */
export async function openVcf(path: string, opts: OpenVcfOptions = {}): Promise<VcfReader> {
  const kind = await sniff(path);
  return openVcfStream(path, () => chunks(path, kind), opts);
}
