// The parts of the workflows' reports that the commands share: dropped
// samples (as the JSON holds them and as the text report groups them) and
// the top hits of a scan.
import type { DroppedSample } from '../data/match.js';

/** One dropped sample, as the JSON reports hold it. */
export interface DroppedSampleReport {
  fid: string;
  iid: string;
  /** The input responsible: genotype, phenotype, covariates, kinship, lowrank or inter. */
  source: string;
  reason: string;
}

/** A dropped sample of `matchSamples` as the JSON report holds it. */
export function droppedReport(d: DroppedSample): DroppedSampleReport {
  return { fid: d.fid, iid: d.iid, source: d.source, reason: d.reason };
}

/**
 * The dropped samples grouped by reason (and by source with `withSource`),
 * one line per group: the count and the first five ids.
 */
export function groupReasons(dropped: readonly DroppedSampleReport[], withSource = false): string[] {
  const groups = new Map<string, DroppedSampleReport[]>();
  for (const d of dropped) {
    const k = withSource ? `${d.reason} [${d.source}]` : d.reason;
    groups.set(k, [...(groups.get(k) ?? []), d]);
  }
  return [...groups].map(
    ([k, ds]) =>
      `${k}: ${ds.length} (${ds
        .slice(0, 5)
        .map((d) => (d.fid === d.iid ? d.iid : `${d.fid} ${d.iid}`))
        .join(', ')}${ds.length > 5 ? `, ... (${ds.length - 5} more)` : ''})`,
  );
}

/** How many top hits a report keeps per trait or test. */
export const TOP_HITS = 10;

/**
 * Inserts `hit` into `top`, kept sorted by log10 p (best first) and at most
 * TOP_HITS long; untestable hits (NaN) are skipped, ties keep the earlier hit.
 */
export function noteHit<T extends { log10p: number }>(top: T[], hit: T): void {
  if (Number.isNaN(hit.log10p)) return;
  if (top.length === TOP_HITS && !(hit.log10p < top[TOP_HITS - 1]!.log10p)) return;
  let i = top.length;
  while (i > 0 && top[i - 1]!.log10p > hit.log10p) i--;
  top.splice(i, 0, hit);
  if (top.length > TOP_HITS) top.pop();
}
