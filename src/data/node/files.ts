// Files on disk for the readers (Node only): a file as a `ByteSource`, a
// text file whole, and a text file (plain or gzip) streamed line by line
// into a parser, each failure an `InputError` naming the path.
import { createReadStream } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError } from '../../errors.js';
import { pastEnd, type ByteSource } from '../bytes.js';
import { LineSplitter, type LineParser } from '../lines.js';

/**
 * Opens `path` as a `ByteSource` that reads only the bytes asked for (one
 * positioned read each). Its size is the file's when opened.
 */
export async function openFileSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new InputError({ file: path }, `cannot open: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const { size } = await handle.stat();
    return new FileSource(path, handle, size);
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads a text file, turning a failure (ENOENT, EISDIR, EACCES, ...) into an `InputError` naming the path. */
export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw unreadable(path, e);
  }
}

function unreadable(path: string, e: unknown): InputError {
  const err = e as NodeJS.ErrnoException;
  const found = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'a directory' : `an error (${err.code ?? err.message})`;
  return new InputError({ file: path }, `expected a readable text file, found ${found}`);
}

/** The two bytes that open a gzip stream (RFC 1952). */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** Whether the file at `path` starts with the gzip magic bytes (the name is not looked at). */
export async function isGzipFile(path: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw unreadable(path, e);
  }
  try {
    const magic = new Uint8Array(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === GZIP_MAGIC[0] && magic[1] === GZIP_MAGIC[1];
  } catch (e) {
    throw unreadable(path, e);
  } finally {
    await handle.close();
  }
}

/**
 * Streams the text file at `path` line by line into `parser` (see
 * `LineParser`) and returns its result: memory holds one chunk and what the
 * parser keeps, never the whole text, so files past V8's 512 MiB string
 * limit read too. A gzip file (told by its magic bytes, not its name) is
 * decompressed on the way. An unreadable file or a corrupt gzip stream is
 * an `InputError` naming the path; the parser's own errors pass through,
 * and end the reading.
 */
export async function readLines<T>(path: string, parser: LineParser<T>): Promise<T> {
  const gzip = await isGzipFile(path);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  // The callback form: an error of either stream reaches the loop below as the gunzip stream's.
  const stream: Readable = gzip ? pipeline(file, createGunzip(), () => {}) : file;
  const split = new LineSplitter(parser);
  // Whether an error came from the parser (passed through) or from reading (named here).
  let parsing = false;
  try {
    for await (const chunk of stream) {
      parsing = true;
      split.push(chunk as Uint8Array);
      parsing = false;
    }
    parsing = true;
    return split.end();
  } catch (e) {
    if (parsing) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (gzip && code?.startsWith('Z_') === true) {
      throw new InputError({ file: path }, `expected a gzip stream, found corrupt or truncated data (${code})`);
    }
    throw unreadable(path, e);
  } finally {
    stream.destroy();
  }
}

class FileSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  private readonly handle: FileHandle;

  constructor(name: string, handle: FileHandle, size: number) {
    this.name = name;
    this.handle = handle;
    this.size = size;
  }

  async read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const buf = into !== undefined && into.length >= length ? into.subarray(0, length) : new Uint8Array(length);
    let done = 0;
    // A positioned read may return less than asked; a file cut short since it was opened returns 0.
    while (done < length) {
      const { bytesRead } = await this.handle.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw pastEnd(this.name, offset + done);
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
