// The inputs of the association workflows that need no file system: the
// keyed tables read through a `LineReader` (a file on disk in Node, a
// `File` in a page), the genotype samples the tables are matched to, the
// missing-phenotype code, and the kinship computed from the genotypes.
// Browser-safe: the web app's worker runs these as the CLI does.
import { analysedSelection, type GenotypeSource } from '../data/genotypes.js';
import { kinship as computeKinship, type KinshipResult } from '../data/kinship.js';
import type { LineParser, LineReader } from '../data/lines.js';
import type { ProgressReporter } from '../data/node/progress.js';
import { RecordSplitter, tableOfRecords, type NumericTable } from '../data/table.js';
import { applyMissingCode, recordsTableKey, type KeyGenotypes, type MissingCodeCount } from '../data/table-key.js';
import { resolveSelection } from '../data/variants.js';
import type { ProgressFactory, TableIds } from './options.js';

/** What `genotypeSide` reads of the genotype options: the formats that name a sample by its IID alone. */
export interface GenotypeKeyInput {
  bimbam?: string;
  bgen?: string;
}

/**
 * Reads a sample table with the --ids layout, keeping `columns` (default
 * all) in that order. `auto` reads the layout from the first line
 * (`detectTableKey`) and, for a header-less table of numbers only, from
 * the `genotype` samples its first two fields do or do not name
 * (`numericTableKey`): the answer never depends on the order of the rows.
 * `categorical` (covariates): non-numeric columns are dummy-coded (see
 * `TableOptions.categorical`).
 * `read` reads the file line by line (any size): from disk in Node
 * (`readLines`), from a `File` in a page.
 */
export async function readKeyedTableWith(
  read: LineReader,
  path: string,
  ids: TableIds,
  genotype: KeyGenotypes,
  columns?: readonly string[],
  categorical = false,
  textColumns?: readonly string[],
): Promise<NumericTable> {
  const cols = columns === undefined || columns.length === 0 ? undefined : columns;
  return read(path, new KeyedTableParser(path, ids, genotype, cols, categorical, textColumns));
}

/** Splits the rows, then settles the key on all of them (see `readKeyedTable`) and builds the table. */
class KeyedTableParser implements LineParser<NumericTable> {
  private readonly records: RecordSplitter;

  constructor(
    private readonly path: string,
    private readonly ids: TableIds,
    private readonly genotype: KeyGenotypes,
    private readonly columns: readonly string[] | undefined,
    private readonly categorical: boolean,
    private readonly textColumns: readonly string[] | undefined,
  ) {
    this.records = new RecordSplitter(path, 'auto');
  }

  line(text: string, lineNumber: number): void {
    this.records.line(text, lineNumber);
  }

  finish(): NumericTable {
    const rec = this.records.finish();
    const key = this.ids === 'auto' ? recordsTableKey(rec, this.path, this.genotype) : this.ids;
    return tableOfRecords(rec, this.path, {
      key,
      columns: this.columns,
      categorical: this.categorical,
      ...(this.textColumns === undefined ? {} : { textColumns: this.textColumns }),
    });
  }
}

// The samples --keep/--remove leave out of each selected source of a run
// (see withGenotypes), for the match to report with their reason.
const sampleExclusions = new WeakMap<GenotypeSource, ReadonlyMap<number, string>>();

/** Records the samples the selection options left out of `source` (see `genotypeSide`). */
export function noteSampleExclusions(source: GenotypeSource, excluded: ReadonlyMap<number, string>): void {
  sampleExclusions.set(source, excluded);
}

/**
 * The genotype samples as the tables are matched to them (by IID when the
 * format names a sample by one id: BIMBAM, BGEN, VCF, a .psam without FID), with the
 * samples the selection options left out (`excluded`, absent when none)
 * when `source` came from `withGenotypes`.
 */
export function genotypeSide(source: GenotypeSource, opts: GenotypeKeyInput): KeyGenotypes & { excluded?: ReadonlyMap<number, string> } {
  const excluded = sampleExclusions.get(source);
  return {
    file: source.path,
    samples: source.samples,
    key: opts.bimbam !== undefined || opts.bgen !== undefined || source.sampleKey === 'iid' ? 'iid' : 'fid-iid',
    ...(excluded === undefined || excluded.size === 0 ? {} : { excluded }),
  };
}

/** The `inputMissingPhenotype` entry of a JSON report: the code and what it turned into missing values, per file. */
export interface MissingCodeReport {
  /** The value read as missing in phenotype and covariate tables (null: none, --no-input-missing-phenotype). */
  code: number | null;
  files: { source: 'phenotype' | 'covariates'; file: string; values: number; columns: { name: string; values: number }[] }[];
}

/**
 * Reads the values equal to `code` in the phenotype and covariate tables
 * as missing (in place, PLINK's convention) and logs how many per file,
 * 0 included; returns the report's entry. The low-rank and interaction
 * tables are not phenotypes and keep every value.
 */
export function applyMissingPhenotype(
  code: number | null,
  tables: { pheno: NumericTable; covar: NumericTable | undefined },
  log: (line: string) => void,
): MissingCodeReport {
  const counted: [MissingCodeReport['files'][number]['source'], MissingCodeCount][] = [['phenotype', applyMissingCode(tables.pheno, code)]];
  if (tables.covar !== undefined) counted.push(['covariates', applyMissingCode(tables.covar, code)]);
  if (code !== null) {
    for (const [, c] of counted)
      log(`${c.file}: ${c.values} ${c.values === 1 ? 'value' : 'values'} equal to ${code} read as missing (--input-missing-phenotype)`);
  }
  return {
    code,
    files: counted.map(([source, c]) => ({ source, file: c.file, values: c.values, columns: c.columns.filter((x) => x.values > 0).map((x) => ({ ...x })) })),
  };
}

/**
 * Runs `fn` with a fresh progress reporter from `progress` for the stage
 * `stage` counting `unit` (undefined when no progress is shown), stopping
 * the reporter however `fn` ends.
 */
export async function withProgress<T>(
  progress: ProgressFactory | undefined,
  fn: (bar: ProgressReporter | undefined) => Promise<T>,
  stage?: string,
  unit?: string,
): Promise<T> {
  const bar = progress?.(stage, unit);
  try {
    return await fn(bar);
  } finally {
    bar?.stop();
  }
}

/**
 * The standardized kinship (limix) of `samples` from every analysed variant
 * of the genotype file (not those it excludes, see `analysedSelection`),
 * reporting progress; logs one line.
 */
export async function standardizedKinship(
  source: GenotypeSource,
  samples: Int32Array,
  progress: ProgressFactory | undefined,
  log: (line: string) => void,
): Promise<KinshipResult> {
  const select = analysedSelection(source, undefined);
  const total = select === undefined ? source.variants.id.length : resolveSelection(source.variants, select, source.path).length;
  const res = await withProgress(
    progress,
    (bar) =>
      computeKinship(source, {
        method: 'standardized',
        samples,
        select,
        onProgress: bar === undefined ? undefined : (read) => bar({ variantsRead: read, total, fraction: read / total }),
      }),
    'kinship pass',
  );
  log(`kinship (standardized) of ${samples.length} samples from ${res.variantsUsed} variants of ${source.path}`);
  return res;
}
