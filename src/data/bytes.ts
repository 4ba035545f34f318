// Random-access bytes for the readers, in memory or in a Blob (a browser
// File), so that the parsers that serve Node serve a page too. A file on
// disk is the same interface, in the Node-only `./node/files.ts`.
import { InputError } from '../errors.js';

/**
 * Bytes a reader can seek in: `read(offset, length)` resolves to exactly
 * `length` bytes from `offset` (an `InputError` naming `name` when the
 * source ends first). The result may be a view of the source's own memory:
 * read it, do not write to it. A caller that reads often may pass `into`,
 * storage of at least `length` bytes, which a file source fills and returns
 * a view of instead of allocating (storage too short is not used); the
 * sources here in memory or in a Blob leave it alone. A reader that is
 * handed a source owns it and closes it.
 */
export interface ByteSource {
  /** What the source is called in messages (a file name). */
  readonly name: string;
  /** Length in bytes. */
  readonly size: number;
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Whole contents as a page has them: an `ArrayBuffer`, a `Uint8Array`, or a `Blob` (a `File` from an `<input>`). */
export type ByteInput = ArrayBuffer | Uint8Array | Blob;

/**
 * A `ByteSource` over `input`: memory is read in place; a `Blob` is sliced
 * per read, so a large `File` is never held whole. `fallback` names it in
 * messages unless it is a `File`, which has a name of its own. A
 * `ByteSource` is returned as it is. The kinds are told apart by shape, not
 * `instanceof`, so that bytes from another realm (an iframe, a worker, a vm
 * context) are taken too.
 */
export function byteSource(input: ByteInput | ByteSource, fallback: string): ByteSource {
  if (ArrayBuffer.isView(input)) return new MemorySource(new Uint8Array(input.buffer, input.byteOffset, input.byteLength), fallback);
  if ('read' in input && typeof input.read === 'function') return input;
  if ('arrayBuffer' in input && typeof input.arrayBuffer === 'function') {
    const own = (input as { name?: unknown }).name;
    return new BlobSource(input, typeof own === 'string' && own !== '' ? own : fallback);
  }
  return new MemorySource(new Uint8Array(input as ArrayBuffer), fallback);
}

/**
 * The whole of `source` as text, decoded as Node's `readFile(path, 'utf8')`
 * does (a byte-order mark kept for the parsers to skip, malformed bytes as
 * U+FFFD), so that a table parses the same from bytes as from a path.
 * Closes the source.
 */
export async function sourceText(source: ByteSource): Promise<string> {
  try {
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(await source.read(0, source.size));
  } finally {
    await source.close();
  }
}

/** The text of `input` (see `sourceText`): `parseTable(await textOf(file), file.name)` reads a table a page was given. */
export async function textOf(input: ByteInput | ByteSource, name = 'bytes'): Promise<string> {
  return sourceText(byteSource(input, name));
}

/** The error of a read that met the end of the source `name` at byte `at`. */
export function pastEnd(name: string, at: number): InputError {
  return new InputError({ file: name }, `unexpected end of file at byte ${at}`);
}

class MemorySource implements ByteSource {
  readonly name: string;
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array, name: string) {
    this.bytes = bytes;
    this.name = name;
  }

  get size(): number {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.bytes.length) throw pastEnd(this.name, this.bytes.length);
    return this.bytes.subarray(offset, offset + length);
  }

  async close(): Promise<void> {}
}

class BlobSource implements ByteSource {
  readonly name: string;
  private readonly blob: Blob;

  constructor(blob: Blob, name: string) {
    this.blob = blob;
    this.name = name;
  }

  get size(): number {
    return this.blob.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.blob.size) throw pastEnd(this.name, this.blob.size);
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
  }

  async close(): Promise<void> {}
}
