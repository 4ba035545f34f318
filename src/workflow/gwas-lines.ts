// The lines of a result table in one dialect, with the keys they sort by
// (browser-safe: the web app writes its tables with them).
import { type Dialect, type GwasOutRow, gwasSsfChrom } from '../data/gwas-dialects.js';

/** A line of a result table and where it sorts. */
export interface OutLine {
  chrom: string;
  pos: number;
  line: string;
}

/** The lines of `rows` in `dialect` (each with its sort key). */
export function dialectLines(d: Dialect, rows: readonly GwasOutRow[]): OutLine[] {
  return rows.map((r) => ({ chrom: d.format === 'gwas-ssf' ? String(gwasSsfChrom(r.chrom) ?? r.chrom) : r.chrom, pos: r.pos, line: d.row(r) }));
}
