// What the association commands (`lmmkit gwas`, `lmmkit mtgwas`, and the
// option parsers of `lmmkit plot`) share: option parsers and checks, reading
// the keyed tables, opening and selecting the genotypes, the covariate
// design, the kinship from the genotypes, the sample-drop report, the top
// hits, and outputs staged in temporary files until the whole run succeeded.
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LmmkitError } from '../errors.js';
import { openBimbam } from '../data/bimbam.js';
import { progressReporter, type ProgressReporter } from '../data/node/progress.js';
import type { GenotypeSource } from '../data/genotypes.js';
import { kinship as computeKinship, type KinshipResult } from '../data/kinship.js';
import type { DroppedSample } from '../data/match.js';
import { openBed } from '../data/node/bed.js';
import { readText } from '../data/node/files.js';
import { DEFAULT_MISSING, isNumberText, parseTable, splitRecords, type NumericTable, type TableKey } from '../data/table.js';
import { resolveSelection, type VariantSelection } from '../data/variants.js';
import { Matrix } from '../linalg/matrix.js';

/** How the rows of the phenotype, covariate, low-rank and interaction tables name their samples. */
export type TableIds = 'auto' | TableKey;

/** A genomic region, START inclusive, END exclusive. */
export interface Region {
  chrom: string;
  start: number;
  end: number;
}

/** One dropped sample, as the JSON reports hold it. */
export interface DroppedSampleReport {
  fid: string;
  iid: string;
  /** The input responsible: genotype, phenotype, covariates, kinship, lowrank or inter. */
  source: string;
  reason: string;
}

/** A BAD_ARGUMENT error (exit status 2, one line naming the option). */
export function bad(message: string): LmmkitError {
  return new LmmkitError('BAD_ARGUMENT', message);
}

// ---------------------------------------------------------------------------
// Option parsers (commander's `argParser`s) and checks.

/** Parses a finite number (the table syntax: no hex, no empty text), else a BAD_ARGUMENT naming `flag`. */
export function number(flag: string): (v: string) => number {
  return (v) => {
    const n = isNumberText(v.trim()) ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw bad(`${flag}: expected a number, found '${v}'`);
    return n;
  };
}

/** Parses an integer, else a BAD_ARGUMENT naming `flag`. */
export function integer(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n)) throw bad(`${flag}: expected an integer, found '${v}'`);
    return n;
  };
}

/** Accepts one of `values`, else a BAD_ARGUMENT naming `flag` and listing them (`a, b or c`). */
export function oneOf<T extends string>(flag: string, values: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(values as readonly string[]).includes(v)) throw bad(`${flag}: expected ${values.join(', ').replace(/, ([^,]*)$/, ' or $1')}, found '${v}'`);
    return v as T;
  };
}

/** Parses `CHR:START-END` (START inclusive, END exclusive, positions in bp; commas allowed). */
export function parseRegion(text: string): Region {
  const m = /^([^:\s]+):([\d,]+)-([\d,]+)$/.exec(text.trim());
  const start = m === null ? Number.NaN : Number(m[2]!.replaceAll(',', ''));
  const end = m === null ? Number.NaN : Number(m[3]!.replaceAll(',', ''));
  if (m === null || !Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw bad(`--region: expected CHR:START-END (e.g. 22:17500000-18000000), found '${text}'`);
  }
  if (start >= end) throw bad(`--region: expected START < END, found '${text}'`);
  return { chrom: m[1]!, start, end };
}

/** The options every association command (`runGwas`, `runMtgwas`) takes. */
export interface ScanRunOptions {
  /** PLINK 1 fileset prefix (exactly one of `bfile` and `bimbam`). */
  bfile?: string;
  /** BIMBAM mean genotype file. */
  bimbam?: string;
  /** BIMBAM SNP annotation (rsid pos chrom), needed for --region with BIMBAM. */
  annotation?: string;
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
  /** Variants read per batch (default 1000). */
  batchSize?: number;
  /** Default 'auto'. */
  ids?: TableIds;
  /** Output prefix. */
  out: string;
  /** Draw a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Where the text report goes, one line per call (default console.log). */
  log?: (line: string) => void;
}

/** Checks the genotype file (exactly one of --bfile and --bimbam), --annotation, --pheno and --out of `command`. */
export function checkInputOptions(command: string, opts: ScanRunOptions): void {
  if ((opts.bfile === undefined) === (opts.bimbam === undefined)) throw bad(`${command}: give exactly one of --bfile PREFIX and --bimbam FILE`);
  if (opts.annotation !== undefined && opts.bimbam === undefined) throw bad(`${command}: --annotation goes with --bimbam`);
  if (opts.pheno === undefined) throw bad(`${command}: --pheno FILE is required`);
  if (opts.out === undefined) throw bad(`${command}: --out PREFIX is required`);
}

/** The variant filters and reading options, defaults applied. */
export interface FilterOptions {
  maf: number;
  maxMissing: number;
  batchSize: number;
  ids: TableIds;
}

/** Applies the defaults (--maf 0.01, --max-missing 0.05, --batch-size 1000, --ids auto) and checks each. */
export function checkFilterOptions(opts: { maf?: number; maxMissing?: number; batchSize?: number; ids?: TableIds }): FilterOptions {
  const maf = opts.maf ?? 0.01;
  if (!(maf >= 0 && maf <= 0.5)) throw bad(`--maf: expected a frequency in [0, 0.5], found ${maf}`);
  const maxMissing = opts.maxMissing ?? 0.05;
  if (!(maxMissing >= 0 && maxMissing <= 1)) throw bad(`--max-missing: expected a fraction in [0, 1], found ${maxMissing}`);
  const batchSize = opts.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw bad(`--batch-size: expected a positive integer, found ${batchSize}`);
  const ids = opts.ids ?? 'auto';
  if (!['auto', 'fid-iid', 'iid', 'none'].includes(ids)) throw bad(`--ids: expected auto, fid-iid, iid or none, found '${String(ids)}'`);
  return { maf, maxMissing, batchSize, ids };
}

/** The trait and run options, checked. */
export interface TraitOptions {
  region: Region | undefined;
  gaussianize: boolean;
  progress: boolean;
}

/** Checks that --pheno-col names each trait once, parses --region, and defaults --progress to whether stderr is a terminal. */
export function checkTraitOptions(opts: { phenoCol?: readonly string[]; region?: string; gaussianize?: boolean; progress?: boolean }): TraitOptions {
  const cols = opts.phenoCol ?? [];
  const dup = cols.find((c, i) => cols.indexOf(c) !== i);
  if (dup !== undefined) throw bad(`--pheno-col: '${dup}' is given twice`);
  return {
    region: opts.region === undefined ? undefined : parseRegion(opts.region),
    gaussianize: opts.gaussianize === true,
    progress: opts.progress ?? process.stderr.isTTY === true,
  };
}

/** Every output must go to an existing folder, and must not be a folder itself or named twice. */
export async function checkOutputs(paths: readonly string[]): Promise<void> {
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
}

// ---------------------------------------------------------------------------
// Inputs.

/**
 * How a table names its samples when `--ids auto`: a header starting with
 * FID (or #FID) -> FID IID; IID or ID -> one id; a first line of numbers
 * and NA only -> no ids (row i is genotype sample i, GEMMA's convention);
 * anything else -> FID IID without a header (PLINK's convention).
 */
export function detectTableKey(text: string, file: string): TableKey {
  const first = text.split('\n').find((l) => l.trim() !== '');
  if (first === undefined) return 'fid-iid';
  const fields = splitRecords(first, file, 'auto').rows[0]!;
  const f0 = fields[0]!.replace(/^#/, '');
  if (/^fid$/i.test(f0)) return 'fid-iid';
  if (/^(iid|id)$/i.test(f0)) return 'iid';
  if (fields.every((f) => isNumberText(f) || DEFAULT_MISSING.includes(f))) return 'none';
  return 'fid-iid';
}

/** Reads a sample table with the --ids layout (`auto`: `detectTableKey`), keeping `columns` (default all) in that order. */
export async function readKeyedTable(path: string, ids: TableIds, columns?: readonly string[]): Promise<NumericTable> {
  const text = await readText(path);
  const key = ids === 'auto' ? detectTableKey(text, path) : ids;
  return parseTable(text, path, { key, columns: columns === undefined || columns.length === 0 ? undefined : columns });
}

/**
 * Runs the body of an association command on the opened genotype file: the
 * body stages its outputs in `staged` and commits them when it is done; if
 * anything throws, every staged output is discarded (an error leaves no
 * output, whole or partial). The genotype file is closed either way.
 */
export async function runStaged<T>(
  opts: { bfile?: string; bimbam?: string; annotation?: string },
  body: (source: GenotypeSource, staged: Staged[]) => Promise<T>,
): Promise<T> {
  const staged: Staged[] = [];
  let source: GenotypeSource | undefined;
  try {
    source = await openGenotypes(opts);
    return await body(source, staged);
  } catch (err) {
    await Promise.all(staged.map((s) => s.discard()));
    throw err;
  } finally {
    await source?.close();
  }
}

/** Opens the genotype file of --bfile PREFIX (PLINK 1) or --bimbam FILE (with its --annotation). */
export async function openGenotypes(opts: { bfile?: string; bimbam?: string; annotation?: string }): Promise<GenotypeSource> {
  return opts.bfile !== undefined ? await openBed(opts.bfile) : await openBimbam(opts.bimbam!, { annotation: opts.annotation });
}

/**
 * The variant selection of --region (none: every variant) and how many
 * variants it selects; a region that selects none is a BAD_ARGUMENT
 * quoting `regionText`, the option as given.
 */
export function selectRegion(source: GenotypeSource, region: Region | undefined, regionText: string | undefined): { select: VariantSelection | undefined; selected: number } {
  const select: VariantSelection | undefined = region === undefined ? undefined : { region };
  const selected = resolveSelection(source.variants, select, source.path).length;
  if (selected === 0) {
    throw bad(`--region ${regionText}: no variant of ${source.path} lies in ${region!.chrom}:${region!.start}-${region!.end} (END is exclusive)`);
  }
  return { select, selected };
}

/** The `genotypes` entry of a JSON report; the dosages count the a1 allele. */
export function genotypesReport(source: GenotypeSource, opts: { bfile?: string }): {
  format: 'bed' | 'bimbam'; path: string; samples: number; variants: number; countedAllele: 'a1';
} {
  return { format: opts.bfile !== undefined ? 'bed' : 'bimbam', path: source.path, samples: source.samples.iid.length, variants: source.variants.id.length, countedAllele: 'a1' };
}

/**
 * The covariate design of the analysed samples: an intercept, then each
 * column of `covar` (its values at table rows `rows`, one per sample) that
 * varies on these samples; the constant ones are reported as dropped.
 */
export function covariateDesign(n: number, covar: NumericTable | undefined, rows: () => Int32Array): {
  names: string[];
  f: Matrix;
  covariatesDropped: { name: string; reason: string }[];
} {
  const names = ['intercept'];
  const cols: Float64Array[] = [new Float64Array(n).fill(1)];
  const covariatesDropped: { name: string; reason: string }[] = [];
  if (covar !== undefined) {
    const crow = rows();
    covar.columns.forEach((name, c) => {
      const v = Float64Array.from(crow, (r) => covar.values.data[r + c * covar.values.rows]!);
      if (v.every((x) => x === v[0])) covariatesDropped.push({ name, reason: 'constant on the analysed samples (the intercept is always included)' });
      else {
        names.push(name);
        cols.push(v);
      }
    });
  }
  const f = new Matrix(n, cols.length);
  cols.forEach((c, j) => f.data.set(c, j * n));
  return { names, f, covariatesDropped };
}

/** The rows and columns `idx` of a square matrix. */
export function subMatrix(k: Matrix, idx: Int32Array): Matrix {
  const n = idx.length;
  const out = new Matrix(n, n);
  for (let j = 0; j < n; j++) {
    const off = idx[j]! * k.rows;
    for (let i = 0; i < n; i++) out.data[i + j * n] = k.data[idx[i]! + off]!;
  }
  return out;
}

/**
 * Runs `fn` with a progress reporter on stderr when `on` (else undefined),
 * stopping the reporter however `fn` ends.
 */
export async function withProgress<T>(on: boolean, fn: (bar: ProgressReporter | undefined) => Promise<T>): Promise<T> {
  const bar = on ? progressReporter(process.stderr) : undefined;
  try {
    return await fn(bar);
  } finally {
    bar?.stop();
  }
}

/**
 * The standardized kinship (limix) of `samples` from every variant of the
 * genotype file, with a progress bar when `progress`; logs one line.
 */
export async function standardizedKinship(source: GenotypeSource, samples: Int32Array, progress: boolean, log: (line: string) => void): Promise<KinshipResult> {
  const total = source.variants.id.length;
  const res = await withProgress(progress, (bar) => computeKinship(source, {
    method: 'standardized',
    samples,
    onProgress: bar === undefined ? undefined : (read) => bar({ variantsRead: read, total, fraction: read / total }),
  }));
  log(`kinship (standardized) of ${samples.length} samples from ${res.variantsUsed} variants of ${source.path}`);
  return res;
}

// ---------------------------------------------------------------------------
// Reports.

/** A dropped sample of `matchSamples` as the JSON report holds it. */
export function droppedReport(d: DroppedSample): DroppedSampleReport {
  return { fid: d.fid, iid: d.iid, source: d.source, reason: d.reason };
}

/**
 * The dropped samples grouped by reason (and by source with `withSource`),
 * one line per group: the count and the first five ids.
 */
export function groupReasons(dropped: readonly DroppedSampleReport[], withSource = false): string[] {
  const groups = new Map<string, DroppedSampleReport[]>();
  for (const d of dropped) {
    const k = withSource ? `${d.reason} [${d.source}]` : d.reason;
    groups.set(k, [...(groups.get(k) ?? []), d]);
  }
  return [...groups].map(([k, ds]) => `${k}: ${ds.length} (${ds.slice(0, 5).map((d) => (d.fid === d.iid ? d.iid : `${d.fid} ${d.iid}`)).join(', ')}${ds.length > 5 ? `, ... (${ds.length - 5} more)` : ''})`);
}

/** How many top hits a report keeps per trait or test. */
export const TOP_HITS = 10;

/**
 * Inserts `hit` into `top`, kept sorted by log10 p (best first) and at most
 * TOP_HITS long; untestable hits (NaN) are skipped, ties keep the earlier hit.
 */
export function noteHit<T extends { log10p: number }>(top: T[], hit: T): void {
  if (Number.isNaN(hit.log10p)) return;
  if (top.length === TOP_HITS && !(hit.log10p < top[TOP_HITS - 1]!.log10p)) return;
  let i = top.length;
  while (i > 0 && top[i - 1]!.log10p > hit.log10p) i--;
  top.splice(i, 0, hit);
  if (top.length > TOP_HITS) top.pop();
}

// ---------------------------------------------------------------------------
// Staged outputs: a temporary sibling per output, renamed when all are done.

/** An output staged in a temporary sibling (`tmp`), renamed into place by `commit`. */
export class Staged {
  private constructor(readonly path: string, readonly tmp: string, private handle: FileHandle | undefined) {}

  /** Opens a fresh temporary sibling of `path`; BAD_ARGUMENT when its folder is missing or not writable. */
  static async create(path: string): Promise<Staged> {
    const dir = dirname(path);
    let isDir = false;
    try {
      isDir = (await stat(dir)).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw bad(`--out ${path}: the folder '${dir}' does not exist`);
    const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      return new Staged(path, tmp, await open(tmp, 'wx'));
    } catch (e) {
      throw bad(`--out ${path}: cannot write in '${dir}' (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }

  /** Stages a whole output at once: created, added to `staged`, written and closed. */
  static async whole(staged: Staged[], path: string, content: string | Uint8Array): Promise<Staged> {
    const s = await Staged.create(path);
    staged.push(s);
    await s.write(content);
    await s.close();
    return s;
  }

  /** Appends text (nothing for '') or bytes. */
  async write(content: string | Uint8Array): Promise<void> {
    if (typeof content === 'string') {
      if (content !== '') await this.handle!.write(content);
    } else await this.handle!.writeFile(content);
  }

  /** Flushes and closes the temporary file. */
  async close(): Promise<void> {
    const h = this.handle!;
    this.handle = undefined;
    await h.sync();
    await h.close();
  }

  /** Renames the temporary file into place. */
  async commit(): Promise<void> {
    await rename(this.tmp, this.path);
  }

  /** Closes and removes the temporary file. */
  async discard(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await rm(this.tmp, { force: true });
  }
}
