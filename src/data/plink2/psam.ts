import { InputError } from '../../errors.js';
import type { LineParser } from '../lines.js';
import { sampleKey, type SampleTable } from '../samples.js';

/**
 * A `.psam` (or `.fam`) parsed: the samples, their sex (1 male, 2 female,
 * 0 unknown) and whether the file has family ids. Without a FID column
 * `fid` repeats `iid` and tables are matched to the samples by IID alone,
 * as for BIMBAM.
 */
export interface PsamTable extends SampleTable {
  readonly sex: Int8Array;
  readonly hasFid: boolean;
}

/**
 * The `.psam` parser as a `LineParser`: a header line `#FID IID ...` or
 * `#IID ...` names the columns (SEX optional; other columns ignored); a file
 * without one is read in the `.fam` layout (FID IID father mother sex
 * phenotype, then any further phenotypes), as plink2 does. Repeated samples are an error.
 */
export class PsamParser implements LineParser<PsamTable> {
  private readonly file: string;
  private readonly fid: string[] = [];
  private readonly iid: string[] = [];
  private readonly sex: number[] = [];
  private readonly seen = new Map<string, number>();
  private cols: { fid: number; iid: number; sex: number; n: number } | undefined;

  constructor(file: string) {
    this.file = file;
  }

  line(text: string, lineNumber: number): void {
    const line = text.trim();
    if (line === '' || (this.cols === undefined && line.startsWith('##'))) return;
    const where = { file: this.file, line: lineNumber };
    if (this.cols === undefined) {
      if (line.startsWith('#')) {
        const names = line
          .slice(1)
          .split(/\s+/)
          .map((s) => s.toUpperCase());
        if (names[0] !== 'FID' && names[0] !== 'IID') throw new InputError(where, `expected a header line starting #FID or #IID, found '${line.slice(0, 80)}'`);
        const iid = names.indexOf('IID');
        if (iid < 0) throw new InputError(where, `expected an IID column in the header line, found '${line.slice(0, 80)}'`);
        this.cols = { fid: names[0] === 'FID' ? 0 : -1, iid, sex: names.indexOf('SEX'), n: names.length };
        return;
      }
      // A .fam may carry further phenotype columns (GEMMA's -n): as wide as its first line.
      this.cols = { fid: 0, iid: 1, sex: 4, n: Math.max(6, line.split(/\s+/).length) };
    }
    const c = this.cols;
    const f = line.split(/\s+/);
    if (f.length !== c.n) {
      throw new InputError(
        where,
        `expected ${c.n} whitespace-separated fields${c.fid === 0 && c.iid === 1 && c.n === 6 ? ' (FID IID father mother sex phenotype)' : ''}, found ${f.length}`,
      );
    }
    const iid = f[c.iid]!;
    const fid = c.fid >= 0 ? f[c.fid]! : iid;
    const key = sampleKey(fid, iid);
    const first = this.seen.get(key);
    if (first !== undefined) throw new InputError(where, `duplicate sample '${c.fid >= 0 ? `${fid} ${iid}` : iid}' (first on line ${first})`);
    this.seen.set(key, lineNumber);
    const s = c.sex >= 0 ? f[c.sex]! : '0';
    this.fid.push(fid);
    this.iid.push(iid);
    this.sex.push(s === '1' || s === 'M' || s === 'm' ? 1 : s === '2' || s === 'F' || s === 'f' ? 2 : 0);
  }

  finish(): PsamTable {
    return { fid: this.fid, iid: this.iid, sex: Int8Array.from(this.sex), hasFid: this.cols === undefined || this.cols.fid >= 0 };
  }
}
