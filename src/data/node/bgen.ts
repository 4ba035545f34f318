import { inflateSync } from 'node:zlib';
import { openBgenSource, type BgenReader, type BgenRef } from '../bgen/bgen.js';
import { parseOxfordSample } from '../bgen/sample.js';
import { openFileSource, readText } from './files.js';

/** Options of `openBgen`. */
export interface OpenBgenOptions {
  /** An Oxford `.sample` file naming the samples (see `OpenBgenSourceOptions.sample`). */
  sample?: string;
  /** Which allele is REF, plink2's `ref-first` / `ref-last` (default `'first'`; see `BgenRef`): `a1`, the counted allele, is the other. */
  ref?: BgenRef;
}

/**
 * Opens a BGEN file on disk (v1.1, v1.2 or v1.3; see `openBgenSource`),
 * with its samples from an Oxford `.sample` file when given. zlib blocks
 * are inflated by node:zlib (several times faster than the browser-safe
 * inflate); zstd blocks by fzstd.
 */
export async function openBgen(path: string, opts: OpenBgenOptions = {}): Promise<BgenReader> {
  const sample = opts.sample === undefined ? undefined : parseOxfordSample(await readText(opts.sample), opts.sample);
  return openBgenSource(await openFileSource(path), {
    sample,
    ref: opts.ref,
    decompress: { zlib: (data, size) => inflateSync(data, { maxOutputLength: Math.max(size, 1) }) },
  });
}
