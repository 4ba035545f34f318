import { access } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { openBgenSource, type BgenReader, type BgenRef } from '../bgen/bgen.js';
import { parseOxfordSample } from '../bgen/sample.js';
import { readBgenIndex } from './bgi.js';
import { openFileSource, readText } from './files.js';

/** Options of `openBgen`. */
export interface OpenBgenOptions {
  /** An Oxford `.sample` file naming the samples (see `OpenBgenSourceOptions.sample`). */
  sample?: string;
  /** Which allele is REF, plink2's `ref-first` / `ref-last` (default `'first'`; see `BgenRef`): `a1`, the counted allele, is the other. */
  ref?: BgenRef;
  /**
   * The bgenix index to take the variant table from: a path (which must
   * exist), `false` for none, or undefined (the default) for `PATH.bgi`
   * when that file exists. See `bgenIndexPath`.
   */
  index?: string | false;
}

/**
 * The index `openBgen` reads for the BGEN file `path`: `index` when a path,
 * none when `false`, else `path + '.bgi'` if it exists (bgenix's name for it).
 */
export async function bgenIndexPath(path: string, index: string | false | undefined): Promise<string | undefined> {
  if (index === false) return undefined;
  if (index !== undefined) return index;
  try {
    await access(`${path}.bgi`);
    return `${path}.bgi`;
  } catch {
    return undefined;
  }
}

/**
 * Opens a BGEN file on disk (v1.1, v1.2 or v1.3; see `openBgenSource`),
 * with its samples from an Oxford `.sample` file when given, and its
 * variant table from its bgenix index when there is one (`opts.index`):
 * then opening reads the index, not every variant header of the file, and
 * an index that does not match the file is refused. zlib blocks
 * are inflated by node:zlib (several times faster than the browser-safe
 * inflate); zstd blocks by fzstd.
 */
export async function openBgen(path: string, opts: OpenBgenOptions = {}): Promise<BgenReader> {
  const sample = opts.sample === undefined ? undefined : parseOxfordSample(await readText(opts.sample), opts.sample);
  const indexPath = await bgenIndexPath(path, opts.index);
  const index = indexPath === undefined ? undefined : await readBgenIndex(indexPath);
  return openBgenSource(await openFileSource(path), {
    sample,
    ref: opts.ref,
    index,
    decompress: { zlib: (data, size) => inflateSync(data, { maxOutputLength: Math.max(size, 1) }) },
  });
}
