// lmmkit's one way of writing files: every output goes to a temporary sibling
// and is renamed into place only when the whole run succeeded, so that an
// error or a crash never leaves a half-written output, never clobbers an old
// one, and never leaves some outputs of a run without the others.
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OutputError } from '../errors.js';

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

/** One output being written: appended to in a temporary sibling (`tmp`) until its `StagedOutputs` commits. */
export class StagedFile {
  private constructor(
    readonly path: string,
    readonly tmp: string,
    private handle: FileHandle | undefined,
  ) {}

  /**
   * Opens a fresh temporary sibling of `path`; an `OutputError` when the
   * folder is missing, is not a folder, or refuses the file.
   */
  static async open(path: string): Promise<StagedFile> {
    const dir = dirname(path);
    const found = await stat(dir).catch((e: unknown) => code(e));
    if (typeof found === 'string') throw new OutputError(path, `cannot write (${found}): the folder '${dir}' does not exist`);
    if (!found.isDirectory()) throw new OutputError(path, `cannot write (ENOTDIR): '${dir}' is not a folder`);
    const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      return new StagedFile(path, tmp, await open(tmp, 'wx'));
    } catch (e) {
      throw new OutputError(path, `cannot write (${code(e)}) in the folder '${dir}'`);
    }
  }

  /** Appends text (nothing for '') or bytes. */
  async write(content: string | Uint8Array): Promise<void> {
    if (this.handle === undefined) throw new OutputError(this.path, 'cannot write: the file was already closed');
    if (typeof content === 'string') {
      if (content !== '') await this.handle.write(content);
    } else await this.handle.write(content);
  }

  /** Flushes the data to disk and closes the temporary file (idempotent). */
  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h === undefined) return;
    await h.sync();
    await h.close();
  }

  /** Closes (without flushing) and removes the temporary file. */
  async discard(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await rm(this.tmp, { force: true });
  }
}

/**
 * The outputs of one run, staged together: `commit` renames every one into
 * place, `discard` removes every temporary file. Nothing appears at an
 * output path before `commit`.
 */
export class StagedOutputs {
  private readonly files: StagedFile[] = [];
  private committed = false;

  /** Starts a new output at `path` (see `StagedFile.open`). */
  async stage(path: string): Promise<StagedFile> {
    const f = await StagedFile.open(path);
    this.files.push(f);
    return f;
  }

  /** Stages a whole output at once: written and closed. */
  async whole(path: string, content: string | Uint8Array): Promise<StagedFile> {
    const f = await this.stage(path);
    await f.write(content);
    await f.close();
    return f;
  }

  /**
   * Flushes and renames every staged file into place, in staging order; if
   * one fails, the files not yet renamed are removed and an `OutputError`
   * names the one that failed.
   */
  async commit(): Promise<void> {
    if (this.committed) return;
    this.committed = true;
    for (const [i, f] of this.files.entries()) {
      try {
        await f.close();
        await rename(f.tmp, f.path);
      } catch (e) {
        await Promise.all(this.files.slice(i).map((g) => g.discard()));
        throw new OutputError(f.path, `cannot write (${code(e)})`);
      }
    }
  }

  /** Removes every temporary file not committed. */
  async discard(): Promise<void> {
    if (this.committed) return;
    this.committed = true;
    await Promise.all(this.files.map((f) => f.discard()));
  }
}

/**
 * Runs `body` with a fresh set of staged outputs and commits them when it
 * returns (unless it committed already); if it throws, every staged output
 * is discarded and the error passes on: all outputs or none.
 */
export async function withStagedOutputs<T>(body: (outputs: StagedOutputs) => Promise<T>): Promise<T> {
  const outputs = new StagedOutputs();
  try {
    const result = await body(outputs);
    await outputs.commit();
    return result;
  } catch (err) {
    await outputs.discard();
    throw err;
  }
}

/**
 * Writes one file atomically (a run of one staged output): `write` receives
 * an appender for strings or bytes; the file appears only after `write`
 * finished and the data was flushed. An `OutputError` when the folder is
 * missing or refuses the file.
 */
export async function writeAtomically(path: string, write: (append: (chunk: string | Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  await withStagedOutputs(async (outputs) => {
    const f = await outputs.stage(path);
    await write((chunk) => f.write(chunk));
  });
}
