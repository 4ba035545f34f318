import { readFile } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { openBedSource, type BedReader, type OpenBedOptions } from '../plink/bed.js';
import { parseBim } from '../plink/bim.js';
import { parseFam } from '../plink/fam.js';
import { openFileSource } from './files.js';

/**
 * Opens a PLINK 1 binary fileset on disk (`PREFIX.bed`, `.bim`, `.fam`;
 * `prefix` may name any of the three), checking the variant-major magic
 * bytes and that the `.bed` holds exactly 3 + ceil(N / 4) * S bytes.
 * Genotypes are read lazily by `batches`, only each batch's bytes.
 */
export async function openBed(prefix: string, opts: OpenBedOptions = {}): Promise<BedReader> {
  const base = prefix.replace(/\.(bed|bim|fam)$/, '');
  const [bedPath, bimPath, famPath] = [`${base}.bed`, `${base}.bim`, `${base}.fam`];
  const [bimText, famText] = await Promise.all([readWhole(bimPath), readWhole(famPath)]);
  const variants = parseBim(bimText, bimPath);
  const fam = parseFam(famText, famPath);
  return openBedSource(await openFileSource(bedPath), fam, variants, opts);
}

async function readWhole(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError({ file: path }, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
