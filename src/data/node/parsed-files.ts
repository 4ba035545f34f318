// Parsed text files kept across runs in one process: a cluster worker scans
// chunk after chunk of the same fileset, and re-parsing its variant table
// (.bim, .pvar) is a cost in the number of variants of the whole file, paid
// by every chunk however small (0.11 s a chunk at 100 000 variants, 11 s at
// 10 million). The cache hands every run the same parsed object, so its
// users must treat what they get as read-only (the readers do: a selection
// makes new tables, `takeVariants`).
import { stat } from 'node:fs/promises';

/** A file's identity on disk: a file replaced or rewritten in place gets a new one (size, mtime, ctime or inode change). */
async function identity(path: string): Promise<string> {
  const st = await stat(path);
  return [path, st.size, st.mtimeMs, st.ctimeMs, st.ino, st.dev].join('\u0000');
}

/**
 * Parsed files by path and identity, the `keep` most recently used: `get`
 * returns the value parsed before from the same file (same path, size,
 * mtime, ctime, inode), else parses it. A failed parse is not kept (the
 * next run reads the file again and meets the error itself).
 */
export class ParsedFileCache {
  private readonly entries = new Map<string, Promise<unknown>>();

  constructor(private readonly keep = 4) {}

  /** The value `parse` makes of `path` (a parser's result, treated as read-only), parsed once per file identity; `kind` tells parsers of one file apart. */
  async get<T>(path: string, kind: string, parse: () => Promise<T>): Promise<T> {
    // A file that cannot be stat'ed is the parser's to report, with its own message.
    const id = await identity(path).catch(() => undefined);
    if (id === undefined) return parse();
    const key = `${kind}\u0000${id}`;
    let p = this.entries.get(key) as Promise<T> | undefined;
    if (p === undefined) {
      p = parse();
      p.catch(() => this.entries.delete(key));
    }
    // Most recently used last: the oldest goes first.
    this.entries.delete(key);
    this.entries.set(key, p);
    while (this.entries.size > this.keep) this.entries.delete(this.entries.keys().next().value as string);
    return p;
  }
}
