import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file through a temporary sibling that is renamed into place only
 * after `write` finished and the data was flushed, so that a crash or an
 * error never leaves a half-written output (and never clobbers an old one).
 * `write` receives an appender for strings or bytes.
 */
export async function writeAtomically(
  path: string,
  write: (append: (chunk: string | Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx');
  try {
    await write(async (chunk) => {
      if (typeof chunk === 'string') await handle.write(chunk);
      else await handle.write(chunk);
    });
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}
