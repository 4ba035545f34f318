// The inputs of the association workflows: the genotype file (opened for the
// length of a run whose outputs are staged), the variant selection, the
// keyed tables and the kinship computed from the genotypes.
import { openBimbam } from '../data/bimbam.js';
import { analysedSelection, type GenotypeQuirks, type GenotypeSource } from '../data/genotypes.js';
import { openBed } from '../data/node/bed.js';
import type { ParsedFileCache } from '../data/node/parsed-files.js';
import { openPgen } from '../data/node/pgen.js';
import { openVcf } from '../data/node/vcf.js';
import { VcfReader, type VcfDosage } from '../data/vcf.js';
import type { BgenQuirks, BgenRef } from '../data/bgen/bgen.js';
import { openBgen } from '../data/node/bgen.js';
import { parseRegion, type Region } from '../data/region.js';
import { canonicalChrom, sameChrom } from '../data/chrom.js';
import { parseChromList } from '../data/selection.js';
import type { IndexedReadPlan, RegionQuery } from '../data/tabix/region-stream.js';
import { readLines } from '../data/node/files.js';
import type { NumericTable } from '../data/table.js';
import type { KeyGenotypes } from '../data/table-key.js';
import { resolveSelection, type VariantSelection } from '../data/variants.js';
import { withStagedOutputs, type StagedOutputs } from '../data/atomic.js';
import { SelectionError } from '../errors.js';
import { bad, type TableIds } from './options.js';
import { applySelection, type SelectionOptions, type SelectionReport } from './selection.js';
import { genotypeSide, noteSampleExclusions, readKeyedTableWith } from './input-tables.js';

export {
  applyMissingPhenotype,
  genotypeSide,
  type MissingCodeReport,
  standardizedKinship,
  withProgress,
} from './input-tables.js';

/** Where the genotypes come from: a PLINK 1 fileset, a BIMBAM file (with its annotation), a PLINK 2 fileset, a VCF (with the FORMAT field read) or a BGEN file (with its .sample). */
export interface GenotypeInput {
  bfile?: string;
  bimbam?: string;
  pfile?: string;
  annotation?: string;
  vcf?: string;
  vcfDosage?: VcfDosage;
  /** The VCF's .tbi/.csi index (--vcf-index), or false to read the whole file (--no-vcf-index); default FILE.tbi, else FILE.csi, when one exists. */
  vcfIndex?: string | false;
  /** BGEN file (v1.1-1.3), its Oxford .sample (`sample`) and which allele is REF (`bgenRef`, default 'first'; see `BgenRef`). */
  bgen?: string;
  sample?: string;
  bgenRef?: BgenRef;
  /** The BGEN file's bgenix index: a path, `false` for none (--no-bgen-index), default FILE.bgi when it exists (see `bgenIndexPath`). */
  bgenIndex?: string | false;
  /** Parsed variant and sample tables kept across runs (a cluster worker's: each chunk would re-parse the whole .bim); PLINK 1 and 2 filesets. */
  parsedFiles?: ParsedFileCache;
}

/** The files a genotype input reads: PREFIX.bed/.bim/.fam, or the BIMBAM file and its annotation. */
export function genotypeFiles(opts: GenotypeInput): string[] {
  if (opts.bfile !== undefined) return ['.bed', '.bim', '.fam'].map((e) => opts.bfile + e);
  if (opts.pfile !== undefined) return ['.pgen', '.pvar', '.psam'].map((e) => opts.pfile + e);
  if (opts.vcf !== undefined) return typeof opts.vcfIndex === 'string' ? [opts.vcf, opts.vcfIndex] : [opts.vcf];
  if (opts.bgen !== undefined) return [opts.bgen, opts.sample, opts.bgenIndex].filter((f): f is string => typeof f === 'string');
  return [opts.bimbam, opts.annotation].filter((f): f is string => f !== undefined);
}

/**
 * Reads a sample table from disk (plain or gzip) with the --ids layout,
 * keeping `columns` (default all) in that order: see `readKeyedTableWith`.
 */
export async function readKeyedTable(
  path: string,
  ids: TableIds,
  genotype: KeyGenotypes,
  columns?: readonly string[],
  categorical = false,
  textColumns?: readonly string[],
): Promise<NumericTable> {
  return readKeyedTableWith(readLines, path, ids, genotype, columns, categorical, textColumns);
}

/** Opens the genotype file of --bfile PREFIX (PLINK 1), --bimbam FILE (with its --annotation), --pfile PREFIX (PLINK 2), --vcf FILE (with --vcf-dosage) or --bgen FILE (with its --sample). */
export async function openGenotypes(opts: GenotypeInput & VcfRegionOptions): Promise<GenotypeSource> {
  if (opts.pfile !== undefined) return await openPgen(opts.pfile, opts.parsedFiles);
  if (opts.vcf !== undefined) return await openVcf(opts.vcf, { dosage: opts.vcfDosage, index: opts.vcfIndex, region: vcfRegion(opts, opts.vcf) });
  if (opts.bgen !== undefined) return await openBgen(opts.bgen, { sample: opts.sample, ref: opts.bgenRef, index: opts.bgenIndex });
  return opts.bfile !== undefined ? await openBed(opts.bfile, {}, opts.parsedFiles) : await openBimbam(opts.bimbam!, { annotation: opts.annotation });
}

/** The options that restrict a run to a region: what a VCF's index can answer. */
type VcfRegionOptions = {
  /** The --region a VCF's index may answer: given only when the run reads no variant outside it (no kinship from the genotypes). */
  vcfRegion?: string;
} & Pick<SelectionOptions, 'chr' | 'fromBp' | 'toBp'>;

/**
 * The positions of each index sequence that --region and --chr (with
 * --from-bp/--to-bp) keep, both when both are given (they are applied one
 * after the other); undefined when neither is given (the whole file is
 * read). The selection is applied again to the variants read, so this only
 * has to cover it: plink2's names (`chr22` is `22`) match as the filters match.
 */
function vcfRegion(opts: VcfRegionOptions, path: string): ((names: readonly string[]) => RegionQuery) | undefined {
  if (opts.vcfRegion === undefined && opts.chr === undefined) return undefined;
  const region = opts.vcfRegion === undefined ? undefined : parseRegion(opts.vcfRegion);
  return (names) => {
    const chr = opts.chr === undefined ? undefined : parseChromList(opts.chr, names, path);
    return (name) => {
      let start = 0;
      let end = Number.POSITIVE_INFINITY;
      if (region !== undefined) {
        if (!sameChrom(name, region.chrom)) return undefined;
        start = region.start;
        end = region.end;
      }
      if (chr !== undefined) {
        if (!chr.has(canonicalChrom(name))) return undefined;
        start = Math.max(start, opts.fromBp ?? 0);
        end = Math.min(end, opts.toBp === undefined ? Number.POSITIVE_INFINITY : opts.toBp + 1);
      }
      return { start, end };
    };
  };
}

/**
 * Runs the body of an association workflow on the opened genotype file with
 * its outputs staged: they are committed when the body returns (or when it
 * commits them itself) and all discarded if anything throws, so that an
 * error leaves no output, whole or partial. The genotype file is closed
 * either way. The selection options (--keep, --extract, --chr, ...) are
 * applied first: the body gets the source holding the selected variants
 * (`genotypeSide` of it knows the samples left out) and the report's
 * `selection` entry (undefined when no such option was given).
 */
export async function withGenotypes<T>(
  opts: GenotypeInput & SelectionOptions & { vcfRegion?: string; log?: (line: string) => void },
  body: (source: GenotypeSource, outputs: StagedOutputs, selection: SelectionReport | undefined) => Promise<T>,
): Promise<T> {
  const opened = await openGenotypes(opts);
  try {
    const sel = await applySelection(opened, opts, genotypeSide(opened, opts).key, opts.log);
    noteSampleExclusions(sel.source, sel.excluded);
    return await withStagedOutputs((outputs) => body(sel.source, outputs, sel.report));
  } finally {
    await opened.close();
  }
}

/**
 * The variant selection of --region (none: every variant), less the
 * variants the file excludes (a `.bim`'s negative positions, see
 * `analysedSelection`), and how many variants it selects; a region that
 * selects none is a BAD_ARGUMENT quoting `regionText`, the option as given.
 */
export function selectRegion(
  source: GenotypeSource,
  region: Region | undefined,
  regionText: string | undefined,
): { select: VariantSelection | undefined; selected: number } {
  const select = analysedSelection(source, region === undefined ? undefined : { region });
  const selected = resolveSelection(source.variants, select, source.path).length;
  // A region read through a VCF's index holds only the region's records: none there is the region's error, not the file's.
  const indexed = source instanceof VcfReader && source.index !== undefined;
  if (source.variants.id.length === 0 && !(indexed && region !== undefined))
    throw new SelectionError('NO_VARIANTS', `${source.path}: expected at least one variant, found none`);
  if (selected === 0 && region !== undefined) {
    throw bad(`--region ${regionText}: no analysed variant of ${source.path} lies in ${region.chrom}:${region.start}-${region.end} (END is exclusive)`);
  }
  if (selected === 0) {
    throw new SelectionError(
      'NO_VARIANTS',
      `${source.path}: expected at least one variant with a non-negative position, found none (a negative position excludes a variant)`,
    );
  }
  return { select, selected };
}

/** The `genotypes` entry of a JSON report. */
export interface GenotypesReport {
  format: 'bed' | 'bimbam' | 'pgen' | 'vcf' | 'bgen';
  /** The FORMAT field the dosages were read from (VCF only). */
  vcfDosage?: VcfDosage;
  path: string;
  /** BGEN only: which allele is REF (`a1`, the counted allele, is the other). */
  bgenRef?: BgenRef;
  samples: number;
  variants: number;
  /** The dosages count the a1 allele. */
  countedAllele: 'a1';
  /** What the file holds that was analysed or excluded by rule (absent when nothing). */
  quirks?: GenotypeQuirks;
  /** VCF read through its index (a region): the index and what it read; `variants` then counts the records read, not the file's. */
  vcfIndex?: IndexedReadPlan;
}

/**
 * The `genotypes` entry of a JSON report for `source`, with its `quirks`
 * only when there are some (a report on an ordinary file is unchanged).
 * Built once the genotypes have been read: BIMBAM dosages are checked as
 * they are parsed.
 */
export function genotypesReport(
  source: GenotypeSource,
  opts: { bfile?: string; pfile?: string; vcf?: string; bgen?: string; bgenRef?: BgenRef },
): GenotypesReport {
  const quirks = source.quirks;
  return {
    format: opts.bfile !== undefined ? 'bed' : opts.pfile !== undefined ? 'pgen' : opts.vcf !== undefined ? 'vcf' : opts.bgen !== undefined ? 'bgen' : 'bimbam',
    ...(source instanceof VcfReader ? { vcfDosage: source.dosage } : {}),
    path: source.path,
    ...(opts.bgen === undefined ? {} : { bgenRef: opts.bgenRef ?? 'first' }),
    samples: source.samples.iid.length,
    variants: source.variants.id.length,
    countedAllele: 'a1',
    ...(quirks === undefined || Object.keys(quirks).length === 0 ? {} : { quirks }),
    ...(source instanceof VcfReader && source.index !== undefined ? { vcfIndex: source.index } : {}),
  };
}

/**
 * One warning line per kind of quirk `source` met (see `GenotypeQuirks`),
 * each with its count, its first occurrence and what lmmkit did about it;
 * call once the genotypes have been read.
 */
export function quirkWarnings(source: GenotypeSource): string[] {
  const q = source.quirks;
  if (q === undefined) return [];
  const lines: string[] = [];
  const neg = q.negativePositions;
  if (neg !== undefined) {
    lines.push(
      `${neg.first.file}: ${plural(neg.count, 'variant')} with a negative base-pair position excluded, as PLINK 1.9 does (not tested, not in a kinship from the genotypes); ` +
        `the first is '${neg.first.id}' on line ${neg.first.line} (position ${neg.first.position})`,
    );
  }
  const dup = q.duplicateIds;
  if (dup !== undefined) {
    lines.push(
      `${dup.first.file}: ${plural(dup.count, 'variant')} repeating an earlier variant's id, all analysed (as plink2 does); ` +
        `the first is '${dup.first.id}' on line ${dup.first.line}, first seen on line ${dup.first.firstLine}`,
    );
  }
  const multi = q.multiAllelicSkipped;
  if (multi !== undefined) {
    lines.push(
      `${multi.first.file}: ${plural(multi.count, 'record')} with several ALT alleles skipped (not analysed; split them with bcftools norm -m- to analyse them); ` +
        `the first is '${multi.first.id}' on line ${multi.first.line} (ALT ${multi.first.alt})`,
    );
  }
  const out = q.dosagesOutOfRange;
  if (out !== undefined) {
    lines.push(
      `${out.first.file}: ${plural(out.values, 'dosage')} in ${plural(out.variants, 'variant')} outside [0, 2], kept as written (as GEMMA does); ` +
        `the first is ${out.first.value} for sample '${out.first.sample}' at variant '${out.first.id}' on line ${out.first.line}`,
    );
  }
  const bgenMulti = (q as BgenQuirks).multiAllelic;
  if (bgenMulti !== undefined) {
    lines.push(
      `${bgenMulti.first.file}: ${plural(bgenMulti.count, 'variant')} with other than two alleles skipped (not tested, not in a kinship from the genotypes), as plink2 does; ` +
        `the first is '${bgenMulti.first.id}' (variant ${bgenMulti.first.variant}, ${bgenMulti.first.alleles} alleles)`,
    );
  }
  return lines;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
