// The PLINK-way selection options of every command that reads genotypes
// (--keep, --remove, --extract, --exclude, --chr, --from-bp, --to-bp): their
// checks, the lists read from their files, and the genotype source they
// leave (a view holding the selected variants; the samples left out are
// reported by the sample match with their reason).
import type { GenotypeSource } from '../data/genotypes.js';
import { readLines } from '../data/node/files.js';
import {
  IdListParser,
  parseChromList,
  SampleListParser,
  sampleExclusions,
  subsetVariants,
  variantFilter,
  type SelectionCounts,
  type VariantFilters,
} from '../data/selection.js';
import { ArgumentError } from '../errors.js';

/** The selection options, named after their flags. */
export interface SelectionOptions {
  /** Samples to keep: FID IID or IID per line (`#FID`/`#IID` header allowed). */
  keep?: string;
  /** Samples to leave out, in the same layout. */
  remove?: string;
  /** Variant ids to keep (one per line or separated by spaces). */
  extract?: string;
  /** Variant ids to leave out. */
  exclude?: string;
  /** Chromosomes to keep: codes and ranges separated by commas (`1-4,22,X`). */
  chr?: string;
  /** Lowest base-pair position kept on the one --chr chromosome (inclusive). */
  fromBp?: number;
  /** Highest base-pair position kept on the one --chr chromosome (inclusive). */
  toBp?: number;
}

/** The `selection` entry of a JSON report: present only when a selection option was given, each part only when one of its options was. */
export interface SelectionReport {
  samples?: SelectionCounts;
  variants?: SelectionCounts;
}

/** A run's genotypes after selection. */
export interface Selected {
  /** The genotype source holding the selected variants only (`source` itself when no variant filter was given). */
  source: GenotypeSource;
  /** Genotype samples left out by --keep/--remove, by index, with the reason. */
  excluded: ReadonlyMap<number, string>;
  /** Undefined when no selection option was given (reports stay as they were). */
  report: SelectionReport | undefined;
}

/** The file paths the selection options read (for the checks that no output overwrites an input). */
export function selectionFiles(opts: SelectionOptions): (string | undefined)[] {
  return [opts.keep, opts.remove, opts.extract, opts.exclude];
}

/**
 * Checks the options that need no file: --from-bp and --to-bp go with
 * exactly one --chr chromosome (checked again once the list is read) and
 * are non-negative whole numbers in order.
 */
export function checkSelectionOptions(opts: SelectionOptions): void {
  for (const [flag, v] of [
    ['--from-bp', opts.fromBp],
    ['--to-bp', opts.toBp],
  ] as const) {
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) throw new ArgumentError(`${flag}: expected a non-negative whole base-pair position, found ${v}`);
    if (opts.chr === undefined) throw new ArgumentError(`${flag}: needs exactly one chromosome given with --chr, found no --chr`);
  }
  if (opts.fromBp !== undefined && opts.toBp !== undefined && opts.fromBp > opts.toBp) {
    throw new ArgumentError(`--from-bp ${opts.fromBp} --to-bp ${opts.toBp}: expected --from-bp <= --to-bp`);
  }
}

/** Whether any selection option was given. */
export function hasSelection(opts: SelectionOptions): boolean {
  return [opts.keep, opts.remove, opts.extract, opts.exclude, opts.chr, opts.fromBp, opts.toBp].some((v) => v !== undefined);
}

/**
 * Applies the selection options to the opened `source` (whose samples are
 * matched to the lists by FID and IID, or by IID with `key: 'iid'`): reads
 * the lists, filters the variants (`variantFilter`, plink2's order) and
 * finds the samples left out (`sampleExclusions`); logs one line per part.
 * Bad lists and options are BAD_ARGUMENT/BAD_INPUT errors naming them.
 */
export async function applySelection(
  source: GenotypeSource,
  opts: SelectionOptions,
  key: 'fid-iid' | 'iid',
  log: (line: string) => void = () => {},
): Promise<Selected> {
  checkSelectionOptions(opts);
  if (!hasSelection(opts)) return { source, excluded: new Map(), report: undefined };
  const report: SelectionReport = {};
  let excluded: ReadonlyMap<number, string> = new Map();
  if (opts.keep !== undefined || opts.remove !== undefined) {
    const keep = opts.keep === undefined ? undefined : await readLines(opts.keep, new SampleListParser(opts.keep));
    const remove = opts.remove === undefined ? undefined : await readLines(opts.remove, new SampleListParser(opts.remove));
    const res = sampleExclusions(source.samples, key, { keep, remove });
    excluded = res.excluded;
    report.samples = res.counts;
    log(`samples: ${res.counts.after} of ${res.counts.before} selected (${describe(res.counts)})`);
  }
  let selected = source;
  if ([opts.extract, opts.exclude, opts.chr, opts.fromBp, opts.toBp].some((v) => v !== undefined)) {
    const filters: VariantFilters = {};
    if (opts.extract !== undefined) filters.extract = { file: opts.extract, ids: await readLines(opts.extract, new IdListParser(opts.extract)) };
    if (opts.exclude !== undefined) filters.exclude = { file: opts.exclude, ids: await readLines(opts.exclude, new IdListParser(opts.exclude)) };
    if (opts.chr !== undefined) {
      const names = parseChromList(opts.chr, new Set(source.variants.chrom), source.path);
      if ((opts.fromBp !== undefined || opts.toBp !== undefined) && names.size !== 1) {
        throw new ArgumentError(`--from-bp/--to-bp: need exactly one chromosome in --chr, found '${opts.chr}' (${names.size} chromosomes)`);
      }
      filters.chr = { text: opts.chr, names };
    }
    filters.fromBp = opts.fromBp;
    filters.toBp = opts.toBp;
    const res = variantFilter(source.variants, filters, source.path);
    if (res.keep.length === 0) throw new ArgumentError(`${source.path}: no variant is left by the selection (${describe(res.counts)})`);
    report.variants = res.counts;
    log(`variants: ${res.counts.after} of ${res.counts.before} selected (${describe(res.counts)})`);
    selected = res.keep.length === source.variants.id.length ? source : subsetVariants(source, res.keep);
  }
  return { source: selected, excluded, report };
}

/** `--keep k.txt removed 3, --remove r.txt removed 1`. */
function describe(c: SelectionCounts): string {
  return c.filters.map((f) => `${f.option} ${f.value} removed ${f.removed}`).join(', ');
}
