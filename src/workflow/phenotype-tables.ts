// The phenotypes and covariates of the association workflows as users have
// them, read through a `LineReader` (browser-safe; ./phenotypes.ts reads
// them from disk): a --pheno table (samples in rows, or limix's traits x samples
// expression table), or without --pheno the .fam's or .psam's phenotype
// columns; a --covar table whose non-numeric columns are dummy-coded and
// whose columns --covar-name selects.
import type { FactorColumn } from '../data/categorical.js';
import type { LineParser, LineReader } from '../data/lines.js';
import type { KeyGenotypes } from '../data/table-key.js';
import { isNumberText, RecordSplitter, shortText, tableOfRecords, type NumericTable, type Records, type TableKey } from '../data/table.js';
import { ArgumentError, InputError } from '../errors.js';
import { readKeyedTableWith } from './input-tables.js';
import type { GenotypeInput } from './inputs.js';
import type { PhenoLayout, TableIds } from './options.js';

/** The phenotype and covariate options of gwas, mtgwas and null fit. */
export interface PhenotypeOptions extends GenotypeInput {
  /** Phenotype table; without it the phenotypes are the .fam's (column 6 on: PHENO1, PHENO2, ...) or the .psam's phenotype columns. */
  pheno?: string;
  /** The traits, in this order (default every trait of the table, .fam or .psam). */
  phenoCol?: readonly string[];
  /** Layout of --pheno (default 'samples-by-traits'). */
  phenoLayout?: PhenoLayout;
  /** Covariate table (an intercept is always added; non-numeric columns are dummy-coded). */
  covar?: string;
  /** The covariate columns used, in this order (default every column of --covar). */
  covarName?: readonly string[];
  /** A sex column (see `ScanRunOptions.sexCol`): read as text from --pheno or --covar, neither a trait nor a covariate. */
  sexCol?: string;
}

/** The .psam columns that are not phenotypes (plink2's reserved names). */
const PSAM_RESERVED = new Set(['FID', 'IID', 'SID', 'PAT', 'MAT', 'SEX']);

/**
 * Reads the run's phenotypes as a samples x traits table: the --pheno
 * table (in its layout; see `readTransposedPhenotypes`), or without one
 * the phenotype columns of the .fam (--bfile) or .psam (--pfile). A
 * BAD_ARGUMENT when there is no --pheno and the genotype format carries no
 * phenotype.
 */
export async function readPhenotypesWith(
  read: LineReader,
  opts: PhenotypeOptions,
  ids: TableIds,
  genotype: KeyGenotypes,
  log: (line: string) => void,
): Promise<NumericTable> {
  const cols = opts.phenoCol === undefined || opts.phenoCol.length === 0 ? undefined : opts.phenoCol;
  if (opts.pheno !== undefined) {
    if (opts.phenoLayout === 'traits-by-samples') return readTransposedPhenotypesWith(read, opts.pheno, ids, genotype, cols, log);
    return readKeyedTableWith(read, opts.pheno, ids, genotype, cols, false, sexText(opts));
  }
  if (opts.phenoLayout !== undefined) throw new ArgumentError('--pheno-layout: goes with --pheno FILE, found no --pheno');
  let table: NumericTable;
  if (opts.bfile !== undefined) {
    const fam = `${opts.bfile.replace(/\.(bed|bim|fam)$/, '')}.fam`;
    table = await read(fam, new SampleFileParser(fam, 'fam', cols));
  } else if (opts.pfile !== undefined) {
    const psam = `${opts.pfile.replace(/\.(pgen|pvar|psam)$/, '')}.psam`;
    table = await read(psam, new SampleFileParser(psam, 'psam', cols));
  } else {
    throw new ArgumentError(
      '--pheno: expected a phenotype table (required with --bimbam, --vcf and --bgen; with --bfile or --pfile the .fam or .psam phenotypes are read without it), found none',
    );
  }
  log(`phenotypes from ${table.file} (no --pheno): ${table.columns.join(', ')}`);
  return table;
}

/**
 * Reads the phenotype columns of a .fam or .psam as a table: a .fam's
 * column 6 is PHENO1, column 7 PHENO2, ... (plink2's name of column 6,
 * GEMMA's `-n 1`, `-n 2`, ...); a .psam's columns other than FID, IID, SID,
 * PAT, MAT and SEX keep their header names. -9 and NA are missing; a
 * selected column with no value is an `InputError` naming it.
 */
class SampleFileParser implements LineParser<NumericTable> {
  private records: RecordSplitter | undefined;
  private header: string[] | undefined;

  constructor(
    private readonly file: string,
    private readonly kind: 'fam' | 'psam',
    private readonly columns: readonly string[] | undefined,
  ) {}

  line(text: string, lineNumber: number): void {
    if (this.records === undefined) {
      const t = text.trim();
      if (t === '' || t.startsWith('##')) return;
      if (this.kind === 'psam' && t.startsWith('#')) this.header = t.slice(1).split(/\s+/);
      this.records = new RecordSplitter(this.file, 'whitespace');
    }
    this.records.line(text, lineNumber);
  }

  finish(): NumericTable {
    if (this.records === undefined) throw new InputError({ file: this.file }, 'expected one line per sample, found an empty file');
    const rec = this.records.finish();
    const header = this.header;
    if (header === undefined) return famTable(rec, this.file, this.columns);
    const key: TableKey = header[0]!.toUpperCase() === 'FID' ? 'fid-iid' : 'iid';
    // The reserved columns other than the ids are left out by their names.
    const names = header.slice(key === 'fid-iid' ? 2 : 1);
    const phenos = names.filter((n) => !PSAM_RESERVED.has(n.toUpperCase()));
    if (phenos.length === 0) {
      throw new InputError(
        { file: this.file, line: rec.lines[0] },
        `expected a phenotype column (a column other than ${[...PSAM_RESERVED].join(', ')}) or --pheno FILE, found the columns ${header.join(', ')}`,
      );
    }
    const table = tableOfRecords(rec, this.file, { key, header: true, minus9Missing: true, missing: ['NA'], columns: this.columns ?? phenos });
    checkObserved(table, (c) => `${header.indexOf(table.columns[c]!) + 1} '${table.columns[c]}'`);
    return table;
  }
}

function famTable(rec: Records, file: string, columns: readonly string[] | undefined): NumericTable {
  const width = rec.rows[0].length;
  const names = Array.from({ length: Math.max(0, width - 5) }, (_, k) => `PHENO${k + 1}`);
  // The .fam's columns 3..5 (parents, sex) are read as V3..V5 and never selected.
  const byName = new Map(names.map((n, k) => [n, `V${k + 6}`]));
  const wanted = (columns ?? names).map((c) => {
    const v = byName.get(c);
    if (v === undefined) {
      throw new InputError(
        { file },
        `expected a phenotype named ${names.join(', ')} (.fam columns 6 to ${width}, plink2's and GEMMA -n's order), found --pheno-name '${c}'`,
      );
    }
    return v;
  });
  const t = tableOfRecords(rec, file, { key: 'fid-iid', header: false, minus9Missing: true, missing: ['NA'], columns: wanted });
  const table: NumericTable = { ...t, columns: wanted.map((v) => names[Number(v.slice(1)) - 6]!) };
  checkObserved(table, (c) => `${Number(wanted[c]!.slice(1))} '${table.columns[c]}'`);
  return table;
}

/** Refuses a phenotype column of a .fam or .psam with every value missing (the usual -9 of a .fam written without phenotypes). */
function checkObserved(table: NumericTable, column: (c: number) => string): void {
  const n = table.values.rows;
  table.columns.forEach((name, c) => {
    for (let i = 0; i < n; i++) if (!Number.isNaN(table.values.data[i + c * n]!)) return;
    throw new InputError(
      { file: table.file, column: column(c) },
      `expected phenotype values for '${name}', found every one of the ${n} samples missing (-9 or NA); give the phenotypes with --pheno FILE`,
    );
  });
}

/**
 * Reads a traits x samples table (limix's `expr.csv`: a header row of
 * sample ids after a corner cell, then one row per trait, its name first)
 * as samples x traits. `ids`: `iid` matches the header's ids to the
 * genotype IIDs, `none` takes column k as genotype sample k; `auto` (the
 * default) does the first when more than half of the header's ids are
 * genotype IIDs and the second when the header reads 0..N-1 or 1..N for
 * the N genotype samples (limix's positions); anything else is refused.
 */
export async function readTransposedPhenotypesWith(
  read: LineReader,
  path: string,
  ids: TableIds,
  genotype: KeyGenotypes,
  columns: readonly string[] | undefined,
  log: (line: string) => void,
): Promise<NumericTable> {
  if (ids === 'fid-iid')
    throw new ArgumentError('--ids fid-iid: a --pheno-layout traits-by-samples table has one sample id per column; give --ids iid, none or auto');
  const rec = await read(path, new RecordSplitter(path, 'auto'));
  const key = ids === 'auto' ? transposedKey(rec, path, genotype) : ids;
  if (ids === 'auto' && key === 'none') log(`${path}: the header's sample ids are positions 0..N-1 or 1..N: column k is genotype sample k of ${genotype.file}`);
  return tableOfRecords(rec, path, { transposed: true, key, header: true, columns });
}

function transposedKey(rec: Records, file: string, genotype: KeyGenotypes): TableKey {
  const top = rec.rows[0];
  // R's write.table leaves out the corner cell: the header is then one field short.
  const header = rec.rows.length > 1 && rec.rows[1]!.length === top.length + 1 ? top : top.slice(1);
  const iids = new Set(genotype.samples.iid);
  const named = header.filter((h) => iids.has(h)).length;
  if (named * 2 > header.length) return 'iid';
  const n = genotype.samples.iid.length;
  const positions = (from: number): boolean => header.length === n && header.every((h, k) => isNumberText(h) && Number(h) === k + from);
  if (named === 0 && (positions(0) || positions(1))) return 'none';
  throw new InputError(
    { file, line: rec.lines[0] },
    `expected the header's sample ids to be IIDs of ${genotype.file} or the positions 0..${n - 1} (or 1..${n}), found ${named} of ${header.length} ids named there (the first: '${shortText(header[0] ?? '')}'); give --ids iid or none`,
  );
}

/**
 * Reads the --covar table with the --covar-name columns (default all),
 * non-numeric columns dummy-coded (see `factorColumn`), and logs each
 * categorical column with its levels and reference.
 */
export async function readCovariatesWith(
  read: LineReader,
  opts: PhenotypeOptions,
  ids: TableIds,
  genotype: KeyGenotypes,
  log: (line: string) => void,
): Promise<NumericTable | undefined> {
  if (opts.covar === undefined) {
    if (opts.covarName !== undefined && opts.covarName.length > 0) throw new ArgumentError('--covar-name: goes with --covar FILE, found no --covar');
    return undefined;
  }
  const covar = await readKeyedTableWith(read, opts.covar, ids, genotype, opts.covarName, true, sexText(opts));
  for (const f of covar.factors ?? []) log(`${covar.file}: ${describeFactor(f)}`);
  return covar;
}

/** The --sex-col column, read as text wherever a table names it. */
function sexText(opts: PhenotypeOptions): readonly string[] | undefined {
  return opts.sexCol === undefined ? undefined : [opts.sexCol];
}

/** A categorical covariate in one line: its levels with their counts, the reference and the dummy columns. */
export function describeFactor(f: FactorColumn): string {
  return (
    `column '${f.name}' is categorical: ${f.levels.length} levels (${f.levels.map((l) => `${l.level} ${l.rows}`).join(', ')}), ` +
    `reference '${f.reference}' (the most common, as plink2), dummy columns ${f.columns.join(', ')}`
  );
}

/** The report's `categoricalCovariates` entry (absent when the covariates have none). */
export function factorsReport(covar: NumericTable | undefined): { categoricalCovariates?: FactorColumn[] } {
  const f = covar?.factors;
  return f === undefined || f.length === 0
    ? {}
    : { categoricalCovariates: f.map((x) => ({ ...x, levels: x.levels.map((l) => ({ ...l })), columns: [...x.columns] })) };
}
