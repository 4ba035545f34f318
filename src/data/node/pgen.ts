import { openPgenSource, type PgenReader } from '../plink2/pgen.js';
import { PsamParser } from '../plink2/psam.js';
import { PvarParser } from '../plink2/pvar.js';
import { openFileSource, readLines } from './files.js';
import type { ParsedFileCache } from './parsed-files.js';

/**
 * Opens a PLINK 2 fileset on disk (`PREFIX.pgen`, `.pvar`, `.psam`; `prefix`
 * may name any of the three), as plink2 writes it by default: the `.pvar` and
 * `.psam` are streamed line by line (plain or gzip), the `.pgen` header is
 * read at once and its records lazily by `batches`. Dosages count ALT (`a1`).
 * With `parsed` (a cluster worker's), the `.pvar` and `.psam` are parsed
 * once per file, not once per call.
 */
export async function openPgen(prefix: string, parsed?: ParsedFileCache): Promise<PgenReader> {
  const base = prefix.replace(/\.(pgen|pvar|psam)$/, '');
  const [pgenPath, pvarPath, psamPath] = [`${base}.pgen`, `${base}.pvar`, `${base}.psam`];
  const readPvar = async () => {
    const pvar = new PvarParser(pvarPath);
    const variants = await readLines(pvarPath, pvar);
    return { variants, quirks: pvar.quirks };
  };
  const readPsam = () => readLines(psamPath, new PsamParser(psamPath));
  const [{ variants, quirks }, samples] = await Promise.all([
    parsed === undefined ? readPvar() : parsed.get(pvarPath, 'pvar', readPvar),
    parsed === undefined ? readPsam() : parsed.get(psamPath, 'psam', readPsam),
  ]);
  return openPgenSource(await openFileSource(pgenPath), samples, variants, pvarPath, psamPath, quirks);
}
