// One-step stages of a run's progress (browser-safe: the web app's worker
// names its stages through the same factory).
import type { ProgressFactory } from './options.js';

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
