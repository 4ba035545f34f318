// The rows of the bench summary (job | lmmkit | peer (same run) | ratio |
// target): each bench prints its own at its end and, when
// LMMKIT_BENCH_SUMMARY names a directory, appends them to rows.jsonl there
// for bench/summary.ts to print as one table after `npm run bench`.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One job of the summary: lmmkit's time next to a peer's from the same run. */
export interface SummaryRow {
  /** The bench file the row comes from, e.g. 'gwas'. */
  bench: string;
  job: string;
  /** lmmkit's time, in seconds. */
  lmmkit: number;
  /** The peer's name. */
  peer: string;
  /** The peer's time in seconds from this run, or the line that says why there is none. */
  peerTime: number | string;
  /**
   * 'speed-up': the ratio is peer / lmmkit, the target a least speed-up;
   * 'within': the ratio is lmmkit / peer, the target a most (e.g. 1.1x numpy's eigh).
   */
  kind: 'speed-up' | 'within';
  /** The target ratio, if the issue sets one. */
  target?: number;
}

const cell = (s: number): string => (s >= 100 ? s.toFixed(0) : s >= 0.01 ? s.toPrecision(3) : s.toPrecision(2));

/** The row's cells: job, lmmkit, peer, ratio, target (with met/missed). */
function cells(r: SummaryRow): string[] {
  const peer = typeof r.peerTime === 'number' ? `${r.peer} ${cell(r.peerTime)} s` : r.peerTime;
  let ratio = '-';
  let target = r.target === undefined ? '-' : `${r.kind === 'speed-up' ? '>=' : '<='} ${r.target}x`;
  if (typeof r.peerTime === 'number') {
    const x = r.kind === 'speed-up' ? r.peerTime / r.lmmkit : r.lmmkit / r.peerTime;
    ratio = `${x.toFixed(2)}x${r.kind === 'within' ? ` ${r.peer.split(' ')[0]}'s time` : ''}`;
    if (r.target !== undefined) target += (r.kind === 'speed-up' ? x >= r.target : x <= r.target) ? ' met' : ' MISSED';
  }
  return [r.job, `${cell(r.lmmkit)} s`, peer, ratio, target];
}

/** A Markdown table of `rows` (job | lmmkit | peer (same run) | ratio | target). */
export function summaryTable(rows: readonly SummaryRow[]): string {
  const all = [['job', 'lmmkit', 'peer (same run)', 'ratio', 'target'], ...rows.map(cells)];
  const widths = all[0]!.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]): string => `| ${r.map((x, c) => x.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(all[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...all.slice(1).map(line)].join('\n');
}

/** Prints the bench's rows as a table and appends them to $LMMKIT_BENCH_SUMMARY/rows.jsonl when set. */
export function reportSummary(rows: readonly SummaryRow[]): void {
  console.log('');
  console.log('summary (ratios from this run only):');
  console.log(summaryTable(rows));
  const dir = process.env.LMMKIT_BENCH_SUMMARY;
  if (dir) appendFileSync(join(dir, 'rows.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** The rows collected in `dir`/rows.jsonl, in the order the benches wrote them. */
export function collectedRows(dir: string): SummaryRow[] {
  const file = join(dir, 'rows.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SummaryRow);
}
