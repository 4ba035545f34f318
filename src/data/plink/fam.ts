import { InputError } from '../../errors.js';
import { sampleKey, type SampleTable } from '../samples.js';

/** A `.fam` file: the samples plus their parents, sex and phenotype columns. */
export interface FamTable extends SampleTable {
  readonly father: readonly string[];
  readonly mother: readonly string[];
  /** 1 = male, 2 = female, 0 = unknown. */
  readonly sex: Int8Array;
  /** Column 6, with `-9` and `NA` as missing (NaN). */
  readonly phenotype: Float64Array;
}

/**
 * Parses the text of a PLINK `.fam` file: six whitespace-separated fields
 * `FID IID father mother sex phenotype` per line. Duplicate FID+IID pairs
 * are an error (a sample must be identifiable). `-9` and `NA` phenotypes
 * are missing (NaN).
 */
export function parseFam(text: string, file: string): FamTable {
  const fid: string[] = [];
  const iid: string[] = [];
  const father: string[] = [];
  const mother: string[] = [];
  const sex: number[] = [];
  const phenotype: number[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const f = line.split(/\s+/);
    const where = { file, line: i + 1 };
    if (f.length !== 6) {
      throw new InputError(where, `expected 6 whitespace-separated fields (FID IID father mother sex phenotype), found ${f.length}`);
    }
    const key = sampleKey(f[0]!, f[1]!);
    const first = seen.get(key);
    if (first !== undefined) throw new InputError(where, `duplicate sample '${f[0]} ${f[1]}' (first on line ${first})`);
    seen.set(key, i + 1);
    const s = f[4] === '1' ? 1 : f[4] === '2' ? 2 : 0;
    const ph = f[5] === '-9' || f[5] === 'NA' ? Number.NaN : Number(f[5]);
    if (Number.isNaN(ph) && f[5] !== '-9' && f[5] !== 'NA') {
      throw new InputError({ ...where, column: 6 }, `phenotype must be a number, -9 or NA, found '${f[5]}'`);
    }
    fid.push(f[0]!);
    iid.push(f[1]!);
    father.push(f[2]!);
    mother.push(f[3]!);
    sex.push(s);
    phenotype.push(ph);
  }
  return { fid, iid, father, mother, sex: Int8Array.from(sex), phenotype: Float64Array.from(phenotype) };
}
