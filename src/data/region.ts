import { ArgumentError } from '../errors.js';

/** A genomic region, START inclusive, END exclusive. */
export interface Region {
  chrom: string;
  start: number;
  end: number;
}

/**
 * Parses `CHR:START-END` (START inclusive, END exclusive, positions in bp;
 * commas allowed), else a BAD_ARGUMENT naming the --region text.
 */
export function parseRegion(text: string): Region {
  const [, chrom, startText, endText] = /^([^:\s]+):([\d,]+)-([\d,]+)$/.exec(text.trim()) ?? [];
  const start = startText === undefined ? Number.NaN : Number(startText.replaceAll(',', ''));
  const end = endText === undefined ? Number.NaN : Number(endText.replaceAll(',', ''));
  if (chrom === undefined || !Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw new ArgumentError(`--region: expected CHR:START-END (e.g. 22:17500000-18000000), found '${text}'`);
  }
  if (start >= end) throw new ArgumentError(`--region: expected START < END, found '${text}'`);
  return { chrom, start, end };
}
