// The genotype files of a web job by name: which fileset a set of file
// names holds (PLINK 1, PLINK 2, BGEN with its optional .sample, VCF plain
// or gzip), told by their extensions, and what the CLI calls it. No reader
// is imported: the page's own script recognises the files it is given with
// it; web-genotypes.ts opens them in the worker.
import type { BgenRef } from '../data/bgen/bgen.js';
import type { ByteInput } from '../data/bytes.js';
import type { VcfDosage } from '../data/vcf.js';
import type { GenotypeInput } from './inputs.js';

/** The files of a job (chosen or dropped in the page), by the name its messages use. */
export type JobFiles = ReadonlyMap<string, ByteInput>;

/** A genotype fileset by the names of its files: `lmmkit gwas --bfile`, `--pfile`, `--bgen [--sample]` or `--vcf`. */
export type GenotypeFileset =
  | { bed: string; bim: string; fam: string }
  | { pgen: string; pvar: string; psam: string }
  | { bgen: string; sample?: string; ref?: BgenRef }
  | { vcf: string; dosage?: VcfDosage };

/** Extensions of genotype files (never offered as tables); .bgi is taken and ignored: the page walks the BGEN file instead. */
export const GENOTYPE_FILE = /\.(bed|bim|fam|pgen|pvar|psam|bgen|bgi|sample|vcf|vcf\.gz|vcf\.bgz)$/i;

/** What `recogniseGenotypes` found: a complete fileset, or why there is none (undefined when no genotype file was given). */
export interface Recognised {
  fileset?: GenotypeFileset;
  /** The fileset in words ("PLINK 2 fileset chr22 (.pgen .pvar .psam)"). */
  label?: string;
  /** One line: the files missing, or the several filesets given. */
  problem?: string;
}

const SETS = [
  { kind: 'PLINK 1 fileset', main: 'bed', others: ['bim', 'fam'] },
  { kind: 'PLINK 2 fileset', main: 'pgen', others: ['pvar', 'psam'] },
] as const;

/**
 * The one genotype fileset among `names` (file names, by extension, case
 * ignored): a .bed with its .bim and .fam, a .pgen with its .pvar and
 * .psam, a .bgen (with the .sample of the same prefix when given) or a
 * .vcf / .vcf.gz. A fileset missing a file, a lone .bim or .pvar, or
 * several filesets are a `problem` saying which files were expected.
 */
export function recogniseGenotypes(names: readonly string[]): Recognised {
  const lower = new Map(names.map((n) => [n.toLowerCase(), n]));
  const ext = (n: string): string => /\.(vcf\.gz|vcf\.bgz|[a-z0-9]+)$/i.exec(n)?.[1]?.toLowerCase() ?? '';
  const stem = (n: string): string => n.slice(0, n.length - ext(n).length - 1);
  const found: Recognised[] = [];
  const problems: string[] = [];
  for (const s of SETS) {
    const mains = names.filter((n) => ext(n) === s.main);
    for (const m of mains) {
      const prefix = stem(m);
      const got = s.others.map((e) => lower.get(`${prefix}.${e}`.toLowerCase()));
      const missing = s.others.filter((_, k) => got[k] === undefined).map((e) => `${prefix}.${e}`);
      if (missing.length > 0) {
        problems.push(
          `${m} needs ${missing.join(' and ')} beside it (a ${s.kind}: ${[s.main, ...s.others].map((e) => `.${e}`).join(' ')}), found none of that name`,
        );
        continue;
      }
      const fileset = s.main === 'bed' ? { bed: m, bim: got[0]!, fam: got[1]! } : { pgen: m, pvar: got[0]!, psam: got[1]! };
      found.push({ fileset, label: `${s.kind} ${prefix} (${[s.main, ...s.others].map((e) => `.${e}`).join(' ')})` });
    }
    // A .bim or .pvar without its .bed or .pgen says what is missing too.
    for (const n of names) {
      const e = ext(n);
      if (s.others.includes(e as never) && !mains.some((m) => stem(m).toLowerCase() === stem(n).toLowerCase())) {
        problems.push(
          `${n} needs ${stem(n)}.${s.main} beside it (a ${s.kind}: ${[s.main, ...s.others].map((x) => `.${x}`).join(' ')}), found none of that name`,
        );
      }
    }
  }
  for (const n of names.filter((x) => ext(x) === 'bgen')) {
    const sample = lower.get(`${stem(n)}.sample`.toLowerCase());
    found.push({
      fileset: sample === undefined ? { bgen: n } : { bgen: n, sample },
      label: `BGEN file ${n}${sample === undefined ? ' (sample ids from the file)' : ` with ${sample}`}`,
    });
  }
  for (const n of names.filter((x) => ['vcf', 'vcf.gz', 'vcf.bgz'].includes(ext(x)))) found.push({ fileset: { vcf: n }, label: `VCF ${n}` });
  // A fam/psam problem repeats its .bed/.pgen one: say each once.
  const unique = [...new Set(problems)];
  if (unique.length > 0) return { problem: `incomplete genotype fileset: ${unique[0]}` };
  if (found.length > 1)
    return {
      problem: `expected one genotype fileset, found ${found.length} (${found.map((f) => f.label!).join('; ')}): remove all but one`,
    };
  return found[0] ?? {};
}

/** The names of a fileset's files, in the CLI's order. */
export function filesetFiles(set: GenotypeFileset): string[] {
  if ('bed' in set) return [set.bed, set.bim, set.fam];
  if ('pgen' in set) return [set.pgen, set.pvar, set.psam];
  if ('bgen' in set) return set.sample === undefined ? [set.bgen] : [set.bgen, set.sample];
  return [set.vcf];
}

/** The report's name of a fileset's format (`lmmkit gwas`'s genotypes.format). */
export function filesetFormat(set: GenotypeFileset): 'bed' | 'pgen' | 'bgen' | 'vcf' {
  return 'bed' in set ? 'bed' : 'pgen' in set ? 'pgen' : 'bgen' in set ? 'bgen' : 'vcf';
}

/** The CLI option naming the fileset (--bfile PREFIX, --pfile PREFIX, --bgen FILE, --vcf FILE), as the workflow's options carry it. */
export function filesetOption(set: GenotypeFileset): GenotypeInput {
  if ('bed' in set) return { bfile: set.bed.replace(/\.bed$/i, '') };
  if ('pgen' in set) return { pfile: set.pgen.replace(/\.pgen$/i, '') };
  if ('bgen' in set) return { bgen: set.bgen, ...(set.sample === undefined ? {} : { sample: set.sample }), bgenRef: set.ref ?? 'first' };
  return { vcf: set.vcf, ...(set.dosage === undefined ? {} : { vcfDosage: set.dosage }) };
}
