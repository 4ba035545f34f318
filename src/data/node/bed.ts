import type { FamTable } from '../plink/fam.js';
import { openBedSource, type BedReader, type OpenBedOptions } from '../plink/bed.js';
import { BimParser } from '../plink/bim.js';
import { FamParser } from '../plink/fam.js';
import type { VariantTable } from '../variants.js';
import { openFileSource, readLines } from './files.js';
import type { ParsedFileCache } from './parsed-files.js';

/**
 * Opens a PLINK 1 binary fileset on disk (`PREFIX.bed`, `.bim`, `.fam`;
 * `prefix` may name any of the three), checking the variant-major magic
 * bytes and that the `.bed` holds exactly 3 + ceil(N / 4) * S bytes.
 * The `.bim` and `.fam` are streamed line by line (plain or gzip), so a
 * `.bim` past 512 MiB reads; genotypes are read lazily by `batches`, only
 * each batch's bytes. With `parsed` (a cluster worker's), the `.bim` and
 * `.fam` are parsed once per file, not once per call.
 */
export async function openBed(prefix: string, opts: OpenBedOptions = {}, parsed?: ParsedFileCache): Promise<BedReader> {
  const base = prefix.replace(/\.(bed|bim|fam)$/, '');
  const [bedPath, bimPath, famPath] = [`${base}.bed`, `${base}.bim`, `${base}.fam`];
  const readBimQuirks = async () => {
    const bim = new BimParser(bimPath);
    const variants = await readLines(bimPath, bim);
    return { variants, quirks: bim.quirks };
  };
  const [{ variants, quirks }, fam] = await Promise.all([
    parsed === undefined ? readBimQuirks() : parsed.get(bimPath, 'bim', readBimQuirks),
    parsed === undefined ? readFam(famPath) : parsed.get(famPath, 'fam', () => readFam(famPath)),
  ]);
  return openBedSource(await openFileSource(bedPath), fam, variants, opts, quirks);
}

/** Reads a `.bim` file on disk (see `parseBim`), streamed line by line; gzip is decompressed. */
export async function readBim(path: string): Promise<VariantTable> {
  return readLines(path, new BimParser(path));
}

/** Reads a `.fam` file on disk (see `parseFam`), streamed line by line; gzip is decompressed. */
export async function readFam(path: string): Promise<FamTable> {
  return readLines(path, new FamParser(path));
}
