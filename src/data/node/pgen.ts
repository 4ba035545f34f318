import { openPgenSource, type PgenReader } from '../plink2/pgen.js';
import { PsamParser } from '../plink2/psam.js';
import { PvarParser } from '../plink2/pvar.js';
import { openFileSource, readLines } from './files.js';

/**
 * Opens a PLINK 2 fileset on disk (`PREFIX.pgen`, `.pvar`, `.psam`; `prefix`
 * may name any of the three), as plink2 writes it by default: the `.pvar` and
 * `.psam` are streamed line by line (plain or gzip), the `.pgen` header is
 * read at once and its records lazily by `batches`. Dosages count ALT (`a1`).
 */
export async function openPgen(prefix: string): Promise<PgenReader> {
  const base = prefix.replace(/\.(pgen|pvar|psam)$/, '');
  const [pgenPath, pvarPath, psamPath] = [`${base}.pgen`, `${base}.pvar`, `${base}.psam`];
  const pvar = new PvarParser(pvarPath);
  const [variants, samples] = await Promise.all([readLines(pvarPath, pvar), readLines(psamPath, new PsamParser(psamPath))]);
  return openPgenSource(await openFileSource(pgenPath), samples, variants, pvarPath, psamPath, pvar.quirks);
}
