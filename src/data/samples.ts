/**
 * The samples of a genotype file, in file order: family and individual ids
 * (`fid` equals `iid` for formats that have only one id).
 */
export interface SampleTable {
  readonly fid: readonly string[];
  readonly iid: readonly string[];
  /**
   * Sex per sample where the format records it (.fam column 5, .psam SEX):
   * 1 male, 2 female, 0 unknown. The gwas scan of chrX and chrY needs it.
   */
  readonly sex?: Int8Array;
}

/** The PLINK-style key `FID IID` that identifies a sample across files. */
export function sampleKey(fid: string, iid: string): string {
  return `${fid}\u0000${iid}`;
}
