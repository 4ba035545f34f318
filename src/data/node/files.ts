// Files on disk for the readers (Node only): a file as a `ByteSource`, and
// a text file whole, each failure an `InputError` naming the path.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { pastEnd, type ByteSource } from '../bytes.js';

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
    const err = e as NodeJS.ErrnoException;
    const found = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'a directory' : `an error (${err.code ?? err.message})`;
    throw new InputError({ file: path }, `expected a readable text file, found ${found}`);
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

  async read(offset: number, length: number): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
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
