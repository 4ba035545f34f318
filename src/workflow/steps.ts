// One-step stages of a run's progress (browser-safe: the web app's worker
// names its stages through the same factory).
import type { ProgressReporter } from '../data/node/progress.js';

/**
 * Makes a fresh progress reporter for each stage of a run: `stage` names it
 * as printed (e.g. 'kinship pass', "scan of trait 'gene1'"), `unit` is what
 * its done/total count (default variants: the passes over the genotypes).
 */
export type ProgressFactory = (stage?: string, unit?: string) => ProgressReporter;

/**
 * Runs `fn` (synchronous: a decomposition, a fit) as a one-step stage of
 * `progress`, so that a long step is named on a terminal and, when it takes
 * longer than the progress interval, in a batch log.
 */
export function withStep<T>(progress: ProgressFactory | undefined, stage: string, fn: () => T): T {
  const bar = progress?.(stage, 'steps');
  try {
    bar?.({ variantsRead: 0, total: 1, fraction: 0 });
    const r = fn();
    bar?.({ variantsRead: 1, total: 1, fraction: 1 });
    return r;
  } finally {
    bar?.stop();
  }
}
