// The option checks a run shares with the web app's worker (browser-safe):
// the filters' defaults and ranges, the missing-phenotype code, and the
// BAD_ARGUMENT error they throw.
import { ArgumentError, type LmmkitError } from '../errors.js';
import type { TableKey } from '../data/table.js';

/** How the rows of the phenotype, covariate, low-rank and interaction tables name their samples. */
export type TableIds = 'auto' | TableKey;

/** A BAD_ARGUMENT error naming the option. */
export function bad(message: string): LmmkitError {
  return new ArgumentError(message);
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
