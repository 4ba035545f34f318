import { LmmkitError } from '../errors.js';

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
  const m = /^([^:\s]+):([\d,]+)-([\d,]+)$/.exec(text.trim());
  const start = m === null ? Number.NaN : Number(m[2]!.replaceAll(',', ''));
  const end = m === null ? Number.NaN : Number(m[3]!.replaceAll(',', ''));
  if (m === null || !Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw new LmmkitError('BAD_ARGUMENT', `--region: expected CHR:START-END (e.g. 22:17500000-18000000), found '${text}'`);
  }
  if (start >= end) throw new LmmkitError('BAD_ARGUMENT', `--region: expected START < END, found '${text}'`);
  return { chrom: m[1]!, start, end };
}
