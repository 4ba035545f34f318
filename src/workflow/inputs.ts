// The inputs of the association workflows: the genotype file (opened for the
// length of a run whose outputs are staged), the variant selection, the
// keyed tables and the kinship computed from the genotypes.
import { openBimbam } from '../data/bimbam.js';
import type { ProgressReporter } from '../data/node/progress.js';
import type { GenotypeSource } from '../data/genotypes.js';
import { kinship as computeKinship, type KinshipResult } from '../data/kinship.js';
import { openBed } from '../data/node/bed.js';
import type { Region } from '../data/region.js';
import type { LineParser } from '../data/lines.js';
import { readLines } from '../data/node/files.js';
import { detectTableKey, TableParser, type NumericTable } from '../data/table.js';
import { resolveSelection, type VariantSelection } from '../data/variants.js';
import { withStagedOutputs, type StagedOutputs } from '../data/atomic.js';
import { SelectionError } from '../errors.js';
import { bad, type ProgressFactory, type TableIds } from './options.js';

/** Where the genotypes come from: a PLINK 1 fileset or a BIMBAM file (with its annotation). */
export interface GenotypeInput {
  bfile?: string;
  bimbam?: string;
  annotation?: string;
}

/** The files a genotype input reads: PREFIX.bed/.bim/.fam, or the BIMBAM file and its annotation. */
export function genotypeFiles(opts: GenotypeInput): string[] {
  if (opts.bfile !== undefined) return ['.bed', '.bim', '.fam'].map((e) => opts.bfile + e);
  return [opts.bimbam, opts.annotation].filter((f): f is string => f !== undefined);
}

/** Reads a sample table with the --ids layout (`auto`: `detectTableKey`), keeping `columns` (default all) in that order. */
export async function readKeyedTable(path: string, ids: TableIds, columns?: readonly string[]): Promise<NumericTable> {
  const cols = columns === undefined || columns.length === 0 ? undefined : columns;
  return readLines(path, new KeyedTableParser(path, ids, cols));
}

/**
 * A table parser that picks the key from the first non-blank line (`auto`:
 * `detectTableKey`) before the rows stream into `TableParser`.
 */
class KeyedTableParser implements LineParser<NumericTable> {
  private readonly path: string;
  private readonly ids: TableIds;
  private readonly columns: readonly string[] | undefined;
  private table: TableParser | undefined;
  private readonly leading: number[] = [];

  constructor(path: string, ids: TableIds, columns: readonly string[] | undefined) {
    this.path = path;
    this.ids = ids;
    this.columns = columns;
  }

  line(text: string, lineNumber: number): void {
    if (this.table === undefined) {
      if (text.trim() === '') {
        this.leading.push(lineNumber);
        return;
      }
      this.table = this.start(text);
    }
    this.table.line(text, lineNumber);
  }

  finish(): NumericTable {
    return (this.table ?? this.start('')).finish();
  }

  private start(firstLine: string): TableParser {
    const key = this.ids === 'auto' ? detectTableKey(firstLine, this.path) : this.ids;
    const table = new TableParser(this.path, { key, columns: this.columns });
    for (const n of this.leading) table.line('', n);
    return table;
  }
}

/** Opens the genotype file of --bfile PREFIX (PLINK 1) or --bimbam FILE (with its --annotation). */
export async function openGenotypes(opts: GenotypeInput): Promise<GenotypeSource> {
  return opts.bfile !== undefined ? await openBed(opts.bfile) : await openBimbam(opts.bimbam!, { annotation: opts.annotation });
}

/**
 * Runs the body of an association workflow on the opened genotype file with
 * its outputs staged: they are committed when the body returns (or when it
 * commits them itself) and all discarded if anything throws, so that an
 * error leaves no output, whole or partial. The genotype file is closed
 * either way.
 */
export async function withGenotypes<T>(opts: GenotypeInput, body: (source: GenotypeSource, outputs: StagedOutputs) => Promise<T>): Promise<T> {
  const source = await openGenotypes(opts);
  try {
    return await withStagedOutputs((outputs) => body(source, outputs));
  } finally {
    await source.close();
  }
}

/**
 * The variant selection of --region (none: every variant) and how many
 * variants it selects; a region that selects none is a BAD_ARGUMENT
 * quoting `regionText`, the option as given.
 */
export function selectRegion(
  source: GenotypeSource,
  region: Region | undefined,
  regionText: string | undefined,
): { select: VariantSelection | undefined; selected: number } {
  const select: VariantSelection | undefined = region === undefined ? undefined : { region };
  const selected = resolveSelection(source.variants, select, source.path).length;
  if (source.variants.id.length === 0) throw new SelectionError('NO_VARIANTS', `${source.path}: expected at least one variant, found none`);
  if (selected === 0 && region !== undefined) {
    throw bad(`--region ${regionText}: no variant of ${source.path} lies in ${region.chrom}:${region.start}-${region.end} (END is exclusive)`);
  }
  return { select, selected };
}

/** The `genotypes` entry of a JSON report. */
export interface GenotypesReport {
  format: 'bed' | 'bimbam';
  path: string;
  samples: number;
  variants: number;
  /** The dosages count the a1 allele. */
  countedAllele: 'a1';
}

/** The `genotypes` entry of a JSON report for `source`. */
export function genotypesReport(source: GenotypeSource, opts: { bfile?: string }): GenotypesReport {
  return {
    format: opts.bfile !== undefined ? 'bed' : 'bimbam',
    path: source.path,
    samples: source.samples.iid.length,
    variants: source.variants.id.length,
    countedAllele: 'a1',
  };
}

/**
 * Runs `fn` with a fresh progress reporter from `progress` (undefined when
 * none), stopping the reporter however `fn` ends.
 */
export async function withProgress<T>(progress: ProgressFactory | undefined, fn: (bar: ProgressReporter | undefined) => Promise<T>): Promise<T> {
  const bar = progress?.();
  try {
    return await fn(bar);
  } finally {
    bar?.stop();
  }
}

/**
 * The standardized kinship (limix) of `samples` from every variant of the
 * genotype file, reporting progress; logs one line.
 */
export async function standardizedKinship(
  source: GenotypeSource,
  samples: Int32Array,
  progress: ProgressFactory | undefined,
  log: (line: string) => void,
): Promise<KinshipResult> {
  const total = source.variants.id.length;
  const res = await withProgress(progress, (bar) =>
    computeKinship(source, {
      method: 'standardized',
      samples,
      onProgress: bar === undefined ? undefined : (read) => bar({ variantsRead: read, total, fraction: read / total }),
    }),
  );
  log(`kinship (standardized) of ${samples.length} samples from ${res.variantsUsed} variants of ${source.path}`);
  return res;
}
