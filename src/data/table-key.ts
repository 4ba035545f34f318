// What the text of a phenotype or covariate table cannot say on its own:
// whether a header-less table of numbers starts with numeric FID IID
// columns (PLINK) or holds values only (GEMMA, row i = genotype sample i),
// decided against the genotype samples; and the phenotype missing-value
// code (PLINK's -9). Browser-safe: text and tables in, no files.
import { InputError } from '../errors.js';
import { sampleKey, type SampleTable } from './samples.js';
import { firstRowKey, splitRecords, type NumericTable, type Records, type TableKey } from './table.js';

/** The genotype samples a table is matched to; `key: 'iid'` when the format has one id per sample (BIMBAM). */
export interface KeyGenotypes {
  readonly file: string;
  readonly samples: SampleTable;
  readonly key: 'fid-iid' | 'iid';
}

// How ids are written when a whole line is numbers: digits only (no sign,
// point or exponent). A value column rarely looks like that on every row.
const ID_TEXT = /^[0-9]+$/;

/**
 * `detectTableKey` with the genotype samples at hand: the same answer,
 * except for a table whose first line is numbers only, where the text
 * cannot tell "FID IID value..." (PLINK, no header) from "value value..."
 * (GEMMA). That case is settled by `numericTableKey` on the table's rows.
 */
export function detectTableKeyFor(text: string, file: string, genotype: KeyGenotypes): TableKey {
  return recordsTableKey(splitRecords(text, file, 'auto'), file, genotype);
}

/** `detectTableKeyFor` on a table's split records (a reader that streams the file). */
export function recordsTableKey(rec: Records, file: string, genotype: KeyGenotypes): TableKey {
  const key = firstRowKey(rec.rows[0]);
  return key !== 'none' ? key : numericTableKey(rec.rows, rec.lines, file, genotype);
}

/**
 * How the rows of a header-less all-numeric table name their samples,
 * decided from the rows (their fields, and their 1-based line numbers for
 * messages) and the genotype samples. A row "names a genotype sample" when
 * it has at least 3 fields and its first two are the FID and IID of a
 * genotype sample (the IID alone when the genotype file has one id per
 * sample). The rows "can be ids" when every row has at least 3 fields, its
 * first two fields are written as whole numbers (digits only) and no two
 * rows share them. Then:
 * - `'fid-iid'` when the rows can be ids and more than half of them name a
 *   genotype sample (the others are samples the genotypes lack, as PLINK
 *   phenotype files often list; the match reports them as dropped);
 * - `'none'` when no row names a genotype sample and there is one row per
 *   genotype sample, or the rows cannot be ids (values only, whose row
 *   count the match then checks);
 * - otherwise an `InputError` saying what is ambiguous and to give `--ids`.
 * Values that pass for ids on most rows by chance would need more than
 * half the rows to repeat a genotype sample's pair of ids exactly, so the
 * answer does not depend on row order and never silently pairs values
 * with the wrong samples.
 */
export function numericTableKey(rows: readonly (readonly string[])[], lines: readonly number[], file: string, genotype: KeyGenotypes): TableKey {
  const { fid, iid } = genotype.samples;
  const known = new Set<string>();
  for (let i = 0; i < iid.length; i++) known.add(genotype.key === 'iid' ? iid[i]! : sampleKey(fid[i]!, iid[i]!));
  let named = 0;
  let firstNamed = -1;
  let firstOther = -1;
  let canBeIds = true;
  const seen = new Set<string>();
  rows.forEach((row, r) => {
    const f = row[0] ?? '';
    const i = row[1] ?? '';
    const names = row.length >= 3 && known.has(genotype.key === 'iid' ? i : sampleKey(f, i));
    if (names) {
      named++;
      if (firstNamed < 0) firstNamed = r;
    } else if (firstOther < 0) firstOther = r;
    const pair = sampleKey(f, i);
    if (row.length < 3 || !ID_TEXT.test(f) || !ID_TEXT.test(i) || seen.has(pair)) canBeIds = false;
    seen.add(pair);
  });
  const n = rows.length;
  const nGeno = iid.length;
  if (canBeIds && named > n / 2) return 'fid-iid';
  // Rows that name no sample and cannot be ids are values: matched by order,
  // where a row count other than the genotype's is refused with its own message.
  if (named === 0 && (n === nGeno || !canBeIds)) return 'none';
  const ids = genotype.key === 'iid' ? 'the IID (second field)' : 'the FID and IID (first two fields)';
  const show = (r: number): string => `line ${lines[r]}: '${rows[r]![0]} ${rows[r]![1] ?? ''}'`;
  const found =
    named === 0
      ? `no row starts with ${ids} of a sample of ${genotype.file}, and its ${n} rows are not one per genotype sample (${nGeno})`
      : `${named} of its ${n} rows start with ${ids} of a sample of ${genotype.file} (${show(firstNamed)})` +
        (firstOther < 0 ? '' : `, ${n - named} do not (${show(firstOther)})`) +
        (canBeIds ? '' : ', and the first two fields cannot all be unique whole-number ids');
  throw new InputError(
    { file },
    `cannot tell how the rows name their samples: the table has no header and numbers only, ${found}; ` +
      'give --ids fid-iid (FID IID columns), --ids iid (one id column) or --ids none (row i is genotype sample i)',
  );
}

/** How many values of a table the missing-value code turned into missing, in all and per column. */
export interface MissingCodeCount {
  readonly file: string;
  /** The code (e.g. -9); null when no code was applied. */
  readonly code: number | null;
  /** Values read as missing because they equal the code. */
  readonly values: number;
  /** The same per column, in the table's column order. */
  readonly columns: readonly { readonly name: string; readonly values: number }[];
}

/**
 * Reads every value of `table` equal to `code` (compared as numbers: -9,
 * -9.0 and -9e0 alike) as missing, in place, as PLINK 1.9 and 2 read -9 in
 * phenotype and covariate files; `code` null changes nothing. Returns the
 * counts, which a run reports (a silent -9 taken as a value, or a value
 * taken as missing, changes the fit).
 */
export function applyMissingCode(table: NumericTable, code: number | null): MissingCodeCount {
  const { rows, data } = table.values;
  const columns = table.columns.map((name, c) => {
    let values = 0;
    if (code !== null) {
      for (let r = 0; r < rows; r++) {
        if (data[r + c * rows] === code) {
          data[r + c * rows] = Number.NaN;
          values++;
        }
      }
    }
    return { name, values };
  });
  return { file: table.file, code, values: columns.reduce((s, c) => s + c.values, 0), columns };
}
