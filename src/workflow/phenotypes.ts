// The phenotypes and covariates of the association workflows read from disk
// (plain or gzip): phenotype-tables.ts over `readLines`.
import { readLines } from '../data/node/files.js';
import type { KeyGenotypes } from '../data/table-key.js';
import type { NumericTable } from '../data/table.js';
import type { TableIds } from './options.js';
import { type PhenotypeOptions, readCovariatesWith, readPhenotypesWith } from './phenotype-tables.js';

export { describeFactor, factorsReport, type PhenotypeOptions } from './phenotype-tables.js';

/** The run's phenotypes from disk: see `readPhenotypesWith`. */
export function readPhenotypes(opts: PhenotypeOptions, ids: TableIds, genotype: KeyGenotypes, log: (line: string) => void): Promise<NumericTable> {
  return readPhenotypesWith(readLines, opts, ids, genotype, log);
}

/** The --covar table from disk: see `readCovariatesWith`. */
export function readCovariates(opts: PhenotypeOptions, ids: TableIds, genotype: KeyGenotypes, log: (line: string) => void): Promise<NumericTable | undefined> {
  return readCovariatesWith(readLines, opts, ids, genotype, log);
}
