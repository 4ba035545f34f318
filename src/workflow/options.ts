// The options every association workflow (`runGwas`, `runMtgwas`) takes, and
// their checks. Options are named after the command-line flags, and so are
// the messages of their errors: the workflows are what the commands run.
import type { BgenRef } from '../data/bgen/bgen.js';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkWritable } from '../data/atomic.js';
import { ArgumentError, type LmmkitError } from '../errors.js';
import { progressReporter, type ProgressReporter, type ProgressStream } from '../data/node/progress.js';
import { parseRegion, type Region } from '../data/region.js';
import type { VcfDosage } from '../data/vcf.js';
import { isNumberText, type TableKey } from '../data/table.js';
import { checkSelectionOptions, type SelectionOptions } from './selection.js';

/** How the rows of the phenotype, covariate, low-rank and interaction tables name their samples. */
export type TableIds = 'auto' | TableKey;

/** Makes a fresh progress reporter for each pass over the genotypes (a kinship, a scan). */
export type ProgressFactory = () => ProgressReporter;

/** Progress drawn on `stream` (a bar on a terminal, a line per batch elsewhere), fresh for each pass. */
export function streamProgress(stream: ProgressStream): ProgressFactory {
  return () => progressReporter(stream);
}

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
  /** Progress of each pass over the genotypes. */
  progress?: ProgressFactory;
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
  /** BGEN file, its Oxford .sample and which allele is REF (see `GenotypeInput`). */
  bgen?: string;
  sample?: string;
  bgenRef?: BgenRef;
  /** Phenotype table. */
  pheno: string;
  /** The traits, in this order (default every value column of the phenotype table). */
  phenoCol?: readonly string[];
  /** Covariate table (an intercept is always added). */
  covar?: string;
  /** Kinship table file. */
  kinship?: string;
  /** Compute a standardized kinship from the genotype file. */
  kinshipFromGenotypes?: boolean;
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

/** A BAD_ARGUMENT error naming the option. */
export function bad(message: string): LmmkitError {
  return new ArgumentError(message);
}

/**
 * Checks the genotype options of `command`: exactly one genotype file
 * (--bfile, --bimbam, --pfile, --vcf or --bgen), and --annotation,
 * --vcf-dosage, --sample and --bgen-ref only with theirs.
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
    bgen?: string;
    sample?: string;
    bgenRef?: string;
  },
): void {
  const given = [opts.bfile, opts.bimbam, opts.pfile, opts.vcf, opts.bgen].filter((f) => f !== undefined).length;
  if (given !== 1) throw bad(`${command}: give exactly one of --bfile PREFIX, --bimbam FILE, --pfile PREFIX, --vcf FILE and --bgen FILE`);
  if (opts.annotation !== undefined && opts.bimbam === undefined) throw bad(`${command}: --annotation goes with --bimbam`);
  if (opts.vcfDosage !== undefined && opts.vcf === undefined) throw bad(`${command}: --vcf-dosage goes with --vcf`);
  if (opts.sample !== undefined && opts.bgen === undefined) throw bad(`${command}: --sample goes with --bgen`);
  if (opts.bgenRef !== undefined && opts.bgen === undefined) throw bad(`${command}: --bgen-ref goes with --bgen`);
  if (opts.bgenRef !== undefined && opts.bgenRef !== 'first' && opts.bgenRef !== 'last')
    throw bad(`--bgen-ref: expected first or last, found '${opts.bgenRef}'`);
}

/** Checks the genotype file (`checkGenotypeOptions`), --pheno and --out of `command`. */
export function checkInputOptions(command: string, opts: ScanRunOptions): void {
  checkGenotypeOptions(command, opts);
  if (opts.pheno === undefined) throw bad(`${command}: --pheno FILE is required`);
  if (opts.out === undefined) throw bad(`${command}: --out PREFIX is required`);
  checkSelectionOptions(opts);
}

/** The variant filters and reading options, defaults applied. */
export interface FilterOptions {
  maf: number;
  maxMissing: number;
  /** Undefined: the readers' default (`defaultBatchSize` of the analysed samples). */
  batchSize: number | undefined;
  ids: TableIds;
  /** The value read as missing in phenotype and covariate tables (null: none). */
  missingCode: number | null;
}

/** Applies the defaults (--maf 0.01, --max-missing 0.05, --batch-size by N (`defaultBatchSize`), --ids auto, --input-missing-phenotype -9) and checks each. */
export function checkFilterOptions(opts: {
  maf?: number;
  maxMissing?: number;
  batchSize?: number;
  ids?: TableIds;
  inputMissingPhenotype?: number | false;
}): FilterOptions {
  const maf = opts.maf ?? 0.01;
  if (!(maf >= 0 && maf <= 0.5)) throw bad(`--maf: expected a frequency in [0, 0.5], found ${maf}`);
  const maxMissing = opts.maxMissing ?? 0.05;
  if (!(maxMissing >= 0 && maxMissing <= 1)) throw bad(`--max-missing: expected a fraction in [0, 1], found ${maxMissing}`);
  const batchSize = opts.batchSize;
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) throw bad(`--batch-size: expected a positive integer, found ${batchSize}`);
  const ids = opts.ids ?? 'auto';
  if (!['auto', 'fid-iid', 'iid', 'none'].includes(ids)) throw bad(`--ids: expected auto, fid-iid, iid or none, found '${String(ids)}'`);
  return { maf, maxMissing, batchSize, ids, missingCode: missingPhenotypeCode(opts.inputMissingPhenotype) };
}

/** The missing-phenotype code of a run: -9 by default (PLINK), another number, or none (`false`); a BAD_ARGUMENT if not a finite number. */
export function missingPhenotypeCode(value: number | false | undefined): number | null {
  if (value === false) return null;
  const code = value ?? -9;
  if (typeof code !== 'number' || !Number.isFinite(code)) throw bad(`--input-missing-phenotype: expected a number, found '${String(code)}'`);
  return code;
}

/** The trait and region options, checked. */
export interface TraitOptions {
  region: Region | undefined;
  gaussianize: boolean;
}

/** Checks that --pheno-col names each trait once and parses --region. */
export function checkTraitOptions(opts: { phenoCol?: readonly string[]; region?: string; gaussianize?: boolean }): TraitOptions {
  const cols = opts.phenoCol ?? [];
  const dup = cols.find((c, i) => cols.indexOf(c) !== i);
  if (dup !== undefined) throw bad(`--pheno-col: '${dup}' is given twice`);
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
