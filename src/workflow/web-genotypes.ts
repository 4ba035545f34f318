// The genotype fileset of a web job (web-filesets.ts) opened from bytes by
// the browser-safe readers the CLI's Node openers wrap (src/data/node/*).
import { openBgenSource } from '../data/bgen/bgen.js';
import { parseOxfordSample } from '../data/bgen/sample.js';
import { type ByteInput, byteSource, textOf } from '../data/bytes.js';
import type { GenotypeSource } from '../data/genotypes.js';
import { openBedFiles } from '../data/plink/bed.js';
import { openPgenFiles } from '../data/plink2/pgen.js';
import { openVcfBytes } from '../data/vcf-bytes.js';
import { InputError } from '../errors.js';
import type { GenotypeFileset } from './web-filesets.js';

/**
 * Opens `set` from `files` (by name) with the browser-safe readers, as
 * `openGenotypes` opens the same files on disk for the CLI (a BGEN file is
 * walked: a page reads no .bgi). A file missing from `files` is an
 * `InputError` naming it.
 */
export async function openFileset(set: GenotypeFileset, files: ReadonlyMap<string, ByteInput>): Promise<GenotypeSource> {
  const need = (name: string): ByteInput => {
    const f = files.get(name);
    if (f === undefined) throw new InputError({ file: name }, `expected the genotype file '${name}' among the files chosen, found none of that name`);
    return f;
  };
  if ('bed' in set) return openBedFiles({ bed: need(set.bed), bim: need(set.bim), fam: need(set.fam), prefix: set.bed.replace(/\.bed$/i, '') });
  if ('pgen' in set) return openPgenFiles({ pgen: need(set.pgen), pvar: need(set.pvar), psam: need(set.psam), prefix: set.pgen.replace(/\.pgen$/i, '') });
  if ('bgen' in set) {
    const sample = set.sample === undefined ? undefined : parseOxfordSample(await textOf(need(set.sample), set.sample), set.sample);
    return openBgenSource(byteSource(need(set.bgen), set.bgen), { ...(sample === undefined ? {} : { sample }), ref: set.ref ?? 'first' });
  }
  return openVcfBytes(need(set.vcf), set.vcf, set.dosage);
}
