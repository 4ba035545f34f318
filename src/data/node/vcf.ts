// A VCF on disk for the browser-safe reader of ../vcf.ts: the file's bytes
// streamed from the top, gunzipped when it is gzip or BGZF (BGZF is a series
// of gzip members, which Node's gunzip reads one after the other).
import { createReadStream } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip, inflateRawSync } from 'node:zlib';
import { InputError } from '../../errors.js';
import type { RawInflate } from '../tabix/bgzf.js';
import { readTabixIndex } from '../tabix/index-file.js';
import type { TabixIndex } from '../tabix/query.js';
import { indexedVcfBytes, planIndexedRead, type RegionQuery } from '../tabix/region-stream.js';
import { openVcfStream, type OpenVcfOptions, type VcfReader } from '../vcf.js';
import { openFileSource } from './files.js';

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

/** node:zlib's inflate of one BGZF member (several times faster than fflate's). */
const nodeInflate: RawInflate = (data, size) => inflateRawSync(data, { maxOutputLength: Math.max(size, 1) });

/** Options of `openVcf`: those of `openVcfStream`, and the region query that an index may answer. */
export interface OpenVcfFileOptions extends Omit<OpenVcfOptions, 'indexed'> {
  /**
   * The index: a path, or false to read the whole file. By default
   * `PATH.tbi`, else `PATH.csi`, when one exists.
   */
  index?: string | false;
  /**
   * The region to read, as a function of the index's sequence names (a
   * --chr list is read against them); without it the whole file is read.
   */
  region?: (names: readonly string[]) => RegionQuery;
}

/**
 * Opens the VCF at `path` (plain, gzip or BGZF `.vcf.gz`, told by its
 * magic bytes) as a `GenotypeSource`; see `openVcfStream` for what is read
 * and how. Each pass streams the file from the top; with a `region` and an
 * index (see `OpenVcfFileOptions`), each pass reads the header and only the
 * index chunks that overlap the region, and the variant table holds the
 * records in the region only. An index of a file that is not BGZF, or that
 * is not a .tbi or .csi, is refused naming it.
 */
export async function openVcf(path: string, opts: OpenVcfFileOptions = {}): Promise<VcfReader> {
  const kind = await sniff(path);
  const indexPath = opts.region === undefined || opts.index === false ? undefined : (opts.index ?? (await defaultIndex(path)));
  if (indexPath === undefined || opts.region === undefined) return openVcfStream(path, () => chunks(path, kind), { dosage: opts.dosage });
  if (!kind.bgzf) {
    throw new InputError(
      { file: indexPath },
      `expected ${path} to be BGZF-compressed (bgzip) for its index to be used, found ${kind.gzip ? 'plain gzip' : 'an uncompressed file'}; bgzip it and re-index, or give --no-vcf-index`,
    );
  }
  const index = await readIndex(indexPath);
  const { plan, parts } = planIndexedRead(index, opts.region(index.names));
  async function* pass(): AsyncGenerator<Uint8Array> {
    const source = await openFileSource(path);
    try {
      yield* indexedVcfBytes(source, index, parts, nodeInflate);
    } finally {
      await source.close();
    }
  }
  return openVcfStream(path, pass, { dosage: opts.dosage, indexed: plan });
}

/** `PATH.tbi`, else `PATH.csi`, when one exists. */
async function defaultIndex(path: string): Promise<string | undefined> {
  for (const ext of ['.tbi', '.csi']) {
    try {
      await access(path + ext);
      return path + ext;
    } catch {}
  }
  return undefined;
}

/** Reads a .tbi or .csi index (told by its magic, not its name). */
export async function readIndex(path: string): Promise<TabixIndex> {
  return readTabixIndex(await openFileSource(path), nodeInflate);
}
