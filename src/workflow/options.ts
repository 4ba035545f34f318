// The options every association workflow (`runGwas`, `runMtgwas`) takes, and
// their checks. Options are named after the command-line flags, and so are
// the messages of their errors: the workflows are what the commands run.
import type { BgenRef } from '../data/bgen/bgen.js';
import type { ParsedFileCache } from '../data/node/parsed-files.js';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkWritable } from '../data/atomic.js';
import { bad } from './options-check.js';
import { progressReporter, type ProgressOptions, type ProgressStream } from '../data/node/progress.js';
import type { RunMetadata } from './run-info.js';
import { parseRegion, type Region } from '../data/region.js';
import type { VcfDosage } from '../data/vcf.js';
import { isNumberText } from '../data/table.js';
import { checkSelectionOptions, type SelectionOptions } from './selection.js';

/** How a --pheno table is laid out: samples in rows (default), or traits in rows and samples in columns (limix's `expr.csv`). */
export type PhenoLayout = 'samples-by-traits' | 'traits-by-samples';

/**
 * Progress drawn on `stream` (see `progressReporter`: a line redrawn in
 * place on a terminal, a line every few seconds elsewhere), fresh for each
 * stage; `opts` as `progressReporter` takes them, for every stage.
 */
export function streamProgress(stream: ProgressStream, opts: Omit<ProgressOptions, 'stage' | 'unit'> = {}): ProgressFactory {
  return (stage = 'read', unit = 'variants') => progressReporter(stream, { ...opts, stage, unit });
}

export { type ProgressFactory, withStep } from './steps.js';
import type { ProgressFactory } from './steps.js';
import type { TableIds } from './options-check.js';
export { bad, checkFilterOptions, type FilterOptions, missingPhenotypeCode, type TableIds } from './options-check.js';

/** A number written as the tables write them (no hex, no empty text, no Infinity), else NaN: options given as text read the same. */
export function parseNumberText(text: string): number {
  return isNumberText(text.trim()) ? Number(text) : Number.NaN;
}

/** Where a workflow reports: text lines, warnings and progress (each optional, default silent). */
export interface WorkflowOutput {
  /** The text report, one line per call (the command line prints them on stdout). */
  log?: (line: string) => void;
  /** Warnings that do not stop the run (the command line prints them on stderr). */
  warn?: (line: string) => void;
  /** Progress of each stage (passes over the genotypes, null fits). */
  progress?: ProgressFactory;
  /** The run's metadata for the JSON report's `run` block, called when the report is written (the command line gives it; absent: no block). */
  run?: () => RunMetadata;
}

/** The options every association workflow (`runGwas`, `runMtgwas`) takes. */
export interface ScanRunOptions extends WorkflowOutput, SelectionOptions {
  /** PLINK 1 fileset prefix (exactly one genotype input). */
  bfile?: string;
  /** BIMBAM mean genotype file. */
  bimbam?: string;
  /** PLINK 2 fileset prefix (PREFIX.pgen/.pvar/.psam). */
  pfile?: string;
  /** BIMBAM SNP annotation (rsid pos chrom), needed for --region with BIMBAM. */
  annotation?: string;
  /** VCF file, plain or BGZF (see `openVcf`). */
  vcf?: string;
  /** The VCF FORMAT field the dosages are read from (default DS when declared, else GT). */
  vcfDosage?: VcfDosage;
  /** The VCF's index for a region read (--vcf-index), false to read the whole file (--no-vcf-index); see `GenotypeInput`. */
  vcfIndex?: string | false;
  /** BGEN file, its Oxford .sample and which allele is REF (see `GenotypeInput`). */
  bgen?: string;
  sample?: string;
  bgenRef?: BgenRef;
  /** The BGEN file's bgenix index (see `GenotypeInput`). */
  bgenIndex?: string | false;
  /** Parsed variant and sample tables kept across runs (see `GenotypeInput`): a cluster worker passes its own. */
  parsedFiles?: ParsedFileCache;
  /** Phenotype table; without it the .fam's or .psam's phenotypes (see `readPhenotypes`). */
  pheno?: string;
  /** The traits, in this order (default every value column of the phenotype table). */
  phenoCol?: readonly string[];
  /** Layout of --pheno: samples in rows (default) or limix's traits x samples (see `readTransposedPhenotypes`). */
  phenoLayout?: PhenoLayout;
  /** Covariate table (an intercept is always added; non-numeric columns dummy-coded as plink2 does). */
  covar?: string;
  /** The --covar columns used, in this order (default all). */
  covarName?: readonly string[];
  /**
   * A column of the phenotype (else covariate) table holding each sample's
   * sex as plink2 codes it (1/M/m, 2/F/f, 0/NA/-9 unknown), read instead of
   * the genotype file's for chrX and chrY; neither a trait nor a covariate.
   */
  sexCol?: string;
  /** Kinship table file. */
  kinship?: string;
  /** Compute a standardized kinship from the genotype file. */
  kinshipFromGenotypes?: boolean;
  /**
   * Leave one chromosome out: each chromosome's variants tested under a null
   * model on the kinship of the other chromosomes' variants (loco.ts);
   * implies `kinshipFromGenotypes`.
   */
  loco?: boolean;
  /**
   * Proceed with a kinship that has negative eigenvalues beyond rounding
   * (below -1e-8 x the largest), set to 0; the report records them. Default
   * false: such a kinship is refused.
   */
  allowNonPsdKinship?: boolean;
  /** Minimum minor allele frequency (default 0.01). */
  maf?: number;
  /** Maximum fraction of missing genotypes (default 0.05). */
  maxMissing?: number;
  /** `CHR:START-END`, START inclusive, END exclusive. */
  region?: string;
  /** Rank-based inverse normal transform of each trait on its analysed samples. */
  gaussianize?: boolean;
  /** Test standardised dosages (betas per sd) instead of allele counts. */
  standardize?: boolean;
  /** Variants read per batch (default `defaultBatchSize`: 1000, fewer when N x 1000 doubles pass 8 MiB). */
  batchSize?: number;
  /** Default 'auto'. */
  ids?: TableIds;
  /**
   * The value read as missing in the phenotype and covariate tables
   * (default -9, as PLINK 1.9 and 2); `false` reads every number as a value.
   */
  inputMissingPhenotype?: number | false;
  /** Output prefix. */
  out: string;
  /** The --threads the command line set (`useThreads`): recorded in the report's `threads` (absent when not given). */
  threads?: number;
}

/**
 * Checks the genotype options of `command`: exactly one genotype file
 * (--bfile, --bimbam, --pfile, --vcf or --bgen), and --annotation,
 * --vcf-dosage, --vcf-index, --sample, --bgen-ref and --bgen-index only with theirs.
 */
export function checkGenotypeOptions(
  command: string,
  opts: {
    bfile?: string;
    bimbam?: string;
    pfile?: string;
    annotation?: string;
    vcf?: string;
    vcfDosage?: string;
    vcfIndex?: string | false;
    bgen?: string;
    sample?: string;
    bgenRef?: string;
    bgenIndex?: string | false;
  },
): void {
  const given = [opts.bfile, opts.bimbam, opts.pfile, opts.vcf, opts.bgen].filter((f) => f !== undefined).length;
  if (given !== 1) throw bad(`${command}: give exactly one of --bfile PREFIX, --bimbam FILE, --pfile PREFIX, --vcf FILE and --bgen FILE`);
  if (opts.annotation !== undefined && opts.bimbam === undefined) throw bad(`${command}: --annotation goes with --bimbam`);
  if (opts.vcfDosage !== undefined && opts.vcf === undefined) throw bad(`${command}: --vcf-dosage goes with --vcf`);
  if (opts.vcfIndex !== undefined && opts.vcf === undefined) throw bad(`${command}: --vcf-index and --no-vcf-index go with --vcf`);
  if (opts.sample !== undefined && opts.bgen === undefined) throw bad(`${command}: --sample goes with --bgen`);
  if (opts.bgenRef !== undefined && opts.bgen === undefined) throw bad(`${command}: --bgen-ref goes with --bgen`);
  if (opts.bgenIndex !== undefined && opts.bgen === undefined) throw bad(`${command}: --${opts.bgenIndex === false ? 'no-' : ''}bgen-index goes with --bgen`);
  if (opts.bgenRef !== undefined && opts.bgenRef !== 'first' && opts.bgenRef !== 'last')
    throw bad(`--bgen-ref: expected first or last, found '${opts.bgenRef}'`);
}

/** Checks the genotype file (`checkGenotypeOptions`), --pheno-layout and --out of `command` (--pheno is optional: see `readPhenotypes`). */
export function checkInputOptions(command: string, opts: ScanRunOptions): void {
  checkGenotypeOptions(command, opts);
  if (opts.phenoLayout !== undefined && opts.phenoLayout !== 'samples-by-traits' && opts.phenoLayout !== 'traits-by-samples') {
    throw bad(`--pheno-layout: expected samples-by-traits or traits-by-samples, found '${String(opts.phenoLayout)}'`);
  }
  if (opts.out === undefined) throw bad(`${command}: --out PREFIX is required`);
  checkSelectionOptions(opts);
  if (opts.sexCol !== undefined && (opts.sexCol === '' || opts.phenoCol?.includes(opts.sexCol) === true)) {
    throw bad(`--sex-col: expected the name of a column that is not a trait (--pheno-col), found '${opts.sexCol}'`);
  }
}

/** The trait and region options, checked. */
export interface TraitOptions {
  region: Region | undefined;
  gaussianize: boolean;
}

/** Checks that --pheno-col names each trait once and --covar-name each covariate once, and parses --region. */
export function checkTraitOptions(opts: { phenoCol?: readonly string[]; covarName?: readonly string[]; region?: string; gaussianize?: boolean }): TraitOptions {
  const cols = opts.phenoCol ?? [];
  const dup = cols.find((c, i) => cols.indexOf(c) !== i);
  if (dup !== undefined) throw bad(`--pheno-col: '${dup}' is given twice`);
  const covs = opts.covarName ?? [];
  const dupCov = covs.find((c, i) => covs.indexOf(c) !== i);
  if (dupCov !== undefined) throw bad(`--covar-name: '${dupCov}' is given twice`);
  return {
    region: opts.region === undefined ? undefined : parseRegion(opts.region),
    gaussianize: opts.gaussianize === true,
  };
}

/**
 * Checks, before any heavy work, that every output goes to an existing
 * folder, is not a folder itself, is not named twice, is none of `inputs`,
 * and that its folder takes a new file (`checkWritable`: a read-only
 * folder or a full disk fails here, not after the computation). Stale
 * temporary files of the outputs, left by a killed run, are removed.
 */
export async function checkOutputs(paths: readonly string[], inputs: readonly (string | undefined)[] = []): Promise<void> {
  const seen = new Set<string>();
  for (const path of paths) {
    if (seen.has(path)) throw bad(`--out: two outputs would both be written to ${path}`);
    seen.add(path);
    const dir = dirname(path);
    const dirStat = await stat(dir).catch(() => undefined);
    if (dirStat?.isDirectory() !== true) throw bad(`--out ${path}: the folder '${dir}' does not exist`);
    const own = await stat(path).catch(() => undefined);
    if (own !== undefined && !own.isFile()) throw bad(`--out: ${path} exists and is not a regular file`);
  }
  await refuseOverwritingInputs(paths, inputs);
  for (const path of paths) await checkWritable(path);
}

/**
 * Refuses an output that is one of the run's inputs (after resolving links
 * and relative paths: `--out p` beside `--pheno p.tsv`, a kinship written
 * over the .bim it is computed from), naming both: the rename that puts the
 * output in place would destroy the input.
 */
export async function refuseOverwritingInputs(outputs: readonly string[], inputs: readonly (string | undefined)[]): Promise<void> {
  const real = new Map<string, string>();
  for (const input of inputs) {
    if (input === undefined) continue;
    const r = await realpath(input).catch(() => undefined);
    if (r !== undefined) real.set(r, input);
  }
  for (const out of outputs) {
    const r = (await realpath(out).catch(() => undefined)) ?? join(await realpath(dirname(out)).catch(() => dirname(out)), basename(out));
    const input = real.get(r);
    if (input !== undefined) throw bad(`--out ${out}: would overwrite the input ${input}; write the output elsewhere`);
  }
}
