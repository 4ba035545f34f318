// lmmkit's one way of writing files: every output goes to a temporary sibling
// and is renamed into place only when the whole run succeeded, so that an
// error or a crash never leaves a half-written output, never clobbers an old
// one, and never leaves some outputs of a run without the others.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { lstat, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OutputError, systemErrorText } from '../errors.js';

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

// The temporary files this process has open or not yet renamed, so that a
// signal handler can remove them synchronously (`removeTemporaryFiles`): an
// interrupted run must not leave hidden files of up to the output's size.
const live = new Set<string>();
// Commits in progress, and what to run once none is (`afterCommits`).
let committing = 0;
const waiting: (() => void)[] = [];

/**
 * Removes, synchronously, every temporary file of this process's staged
 * outputs that was not renamed into place yet; returns how many it removed.
 * Meant for signal handlers (SIGINT, SIGTERM), where no await can be
 * counted on; the handles stay open until the process exits.
 */
export function removeTemporaryFiles(): number {
  let n = 0;
  for (const tmp of live) {
    try {
      rmSync(tmp, { force: true });
      n++;
    } catch {
      // Best effort: the process is about to exit, and other files must still go.
    }
  }
  live.clear();
  return n;
}

/**
 * Runs `fn` now when no `StagedOutputs.commit` is in progress, else once the
 * commits in progress ended (`fn(true)`): a signal handler that waits for
 * this never leaves a run with some outputs renamed and others removed.
 */
export function afterCommits(fn: (waited: boolean) => void): void {
  if (committing === 0) fn(false);
  else waiting.push(() => fn(true));
}

/** The name pattern of the temporary siblings of `path` (`.<basename>.<12 hex>.tmp`). */
function temporaryName(path: string): RegExp {
  const name = basename(path).replace(/[.*+?^$|()[\]{}\\]/g, '\\$&');
  return new RegExp(`^\\.${name}\\.[0-9a-f]{12}\\.tmp$`);
}

/**
 * Removes the temporary siblings of `path` left by an earlier run that was
 * killed (SIGKILL, a crash, a power cut): regular files named
 * `.<basename>.<12 hex>.tmp` in its folder, except those this process has
 * open. Nothing else is touched. Returns the names removed.
 */
export async function removeStaleTemporaryFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const pattern = temporaryName(path);
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const full = join(dir, name);
    if (!pattern.test(name) || live.has(full)) continue;
    const s = await lstat(full).catch(() => undefined);
    if (s?.isFile() !== true) continue;
    await rm(full, { force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Checks, before a run's computation, that `path`'s folder takes a new
 * file: removes the stale temporary siblings of `path` (see
 * `StagedFile.open`), then creates a temporary sibling, writes a
 * byte to it and removes it. An `OutputError` naming `path` and the cause
 * (the folder missing or read-only, the disk full, ...) otherwise.
 */
export async function checkWritable(path: string): Promise<void> {
  const probe = await StagedFile.open(path);
  try {
    await probe.write('\n');
    await probe.close();
  } finally {
    await probe.discard();
  }
}

/** One output being written: appended to in a temporary sibling (`tmp`) until its `StagedOutputs` commits. */
export class StagedFile {
  private constructor(
    readonly path: string,
    readonly tmp: string,
    private handle: FileHandle | undefined,
  ) {}

  /**
   * Opens a fresh temporary sibling of `path`, after removing the stale ones
   * a killed run left (`removeStaleTemporaryFiles`); an `OutputError` when
   * the folder is missing, is not a folder, or refuses the file.
   */
  static async open(path: string): Promise<StagedFile> {
    const dir = dirname(path);
    const found = await stat(dir).catch((e: unknown) => code(e));
    if (typeof found === 'string') throw new OutputError(path, `cannot write (${found}): the folder '${dir}' does not exist`);
    if (!found.isDirectory()) throw new OutputError(path, `cannot write (ENOTDIR): '${dir}' is not a folder`);
    await removeStaleTemporaryFiles(path);
    const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    // Known before it exists: a signal arriving while it is being created still removes it.
    live.add(tmp);
    try {
      return new StagedFile(path, tmp, await open(tmp, 'wx'));
    } catch (e) {
      live.delete(tmp);
      throw new OutputError(path, `cannot write in the folder '${dir}': ${systemErrorText(e, 'write')}`);
    }
  }

  /**
   * Appends text (UTF-8; nothing for '') or bytes, all of them: a write
   * the file system cut short (a disk filling up) is carried on until it
   * fails, an `OutputError` naming the output and the cause.
   */
  async write(content: string | Uint8Array): Promise<void> {
    const h = this.handle;
    if (h === undefined) throw new OutputError(this.path, 'cannot write: the file was already closed');
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    try {
      for (let done = 0; done < bytes.length; ) {
        const { bytesWritten } = await h.write(bytes, done, bytes.length - done);
        if (bytesWritten === 0) throw Object.assign(new Error('no byte written'), { code: 'ENOSPC' });
        done += bytesWritten;
      }
    } catch (e) {
      throw new OutputError(this.path, `cannot write: ${systemErrorText(e, 'write')}`);
    }
  }

  /** Flushes the data to disk and closes the temporary file (idempotent); an `OutputError` when the disk refuses the data. */
  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h === undefined) return;
    try {
      await h.sync();
      await h.close();
    } catch (e) {
      await h.close().catch(() => undefined);
      throw new OutputError(this.path, `cannot write: ${systemErrorText(e, 'write')}`);
    }
  }

  /** Closes (without flushing) and removes the temporary file. */
  async discard(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await rm(this.tmp, { force: true });
    live.delete(this.tmp);
  }

  /** Renames the closed temporary file to `path`. */
  async rename(): Promise<void> {
    await rename(this.tmp, this.path);
    live.delete(this.tmp);
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
    committing++;
    try {
      for (const [i, f] of this.files.entries()) {
        try {
          await f.close();
          await f.rename();
        } catch (e) {
          await Promise.all(this.files.slice(i).map((g) => g.discard()));
          throw e instanceof OutputError ? e : new OutputError(f.path, `cannot write: ${systemErrorText(e, 'write')}`);
        }
      }
    } finally {
      committing--;
      if (committing === 0) for (const fn of waiting.splice(0)) fn();
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
