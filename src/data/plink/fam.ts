import { InputError } from '../../errors.js';
import { parseLines, type LineParser } from '../lines.js';
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
 * `FID IID father mother sex phenotype` per line, or more (further
 * phenotypes, as GEMMA's `-n` reads them; every line as wide as the first;
 * not parsed here, see `famPhenotypes` in the workflows). Duplicate FID+IID pairs
 * are an error (a sample must be identifiable). `-9` and `NA` phenotypes
 * are missing (NaN).
 */
export function parseFam(text: string, file: string): FamTable {
  return parseLines(text, new FamParser(file));
}

/** The `.fam` parser as a `LineParser` (see `parseFam`), for a reader that streams the file line by line. */
export class FamParser implements LineParser<FamTable> {
  private readonly file: string;
  private readonly fid: string[] = [];
  private readonly iid: string[] = [];
  private readonly father: string[] = [];
  private readonly mother: string[] = [];
  private readonly sex: number[] = [];
  private readonly phenotype: number[] = [];
  private readonly seen = new Map<string, number>();
  private width: { fields: number; line: number } | undefined;

  constructor(file: string) {
    this.file = file;
  }

  line(text: string, lineNumber: number): void {
    const line = text.trim();
    if (line === '') return;
    const f = line.split(/\s+/);
    const where = { file: this.file, line: lineNumber };
    if (f.length < 6) {
      throw new InputError(
        where,
        `expected 6 whitespace-separated fields (FID IID father mother sex phenotype) or more (further phenotypes), found ${f.length}`,
      );
    }
    this.width ??= { fields: f.length, line: lineNumber };
    if (f.length !== this.width.fields) {
      throw new InputError(where, `expected ${this.width.fields} whitespace-separated fields (as on line ${this.width.line}), found ${f.length}`);
    }
    const key = sampleKey(f[0]!, f[1]!);
    const first = this.seen.get(key);
    if (first !== undefined) throw new InputError(where, `duplicate sample '${f[0]} ${f[1]}' (first on line ${first})`);
    this.seen.set(key, lineNumber);
    const s = f[4] === '1' ? 1 : f[4] === '2' ? 2 : 0;
    const ph = f[5] === '-9' || f[5] === 'NA' ? Number.NaN : Number(f[5]);
    if (Number.isNaN(ph) && f[5] !== '-9' && f[5] !== 'NA') {
      throw new InputError({ ...where, column: 6 }, `phenotype must be a number, -9 or NA, found '${f[5]}'`);
    }
    this.fid.push(f[0]!);
    this.iid.push(f[1]!);
    this.father.push(f[2]!);
    this.mother.push(f[3]!);
    this.sex.push(s);
    this.phenotype.push(ph);
  }

  finish(): FamTable {
    const { fid, iid, father, mother } = this;
    return { fid, iid, father, mother, sex: Int8Array.from(this.sex), phenotype: Float64Array.from(this.phenotype) };
  }
}
