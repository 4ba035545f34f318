/**
 * The samples of a genotype file, in file order: family and individual ids
 * (`fid` equals `iid` for formats that have only one id).
 */
export interface SampleTable {
  readonly fid: readonly string[];
  readonly iid: readonly string[];
}

/** The PLINK-style key `FID IID` that identifies a sample across files. */
export function sampleKey(fid: string, iid: string): string {
  return `${fid}\u0000${iid}`;
}
