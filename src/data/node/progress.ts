// Progress of a genotype queue on a terminal or a log (Node only: the bar
// is cli-progress, which needs Node's readline and a writable stream).
import cliProgress from 'cli-progress';
import { progressLine, type GenoProgress } from '../geno-queue.js';

/** A stream progress can be written to; `isTTY` is set on terminals (`process.stderr`). */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

/** An `onProgress` callback that draws progress; `stop()` ends a bar left unfinished. */
export interface ProgressReporter {
  (progress: GenoProgress): void;
  /**
   * Ends the bar (idempotent; nothing to do off a terminal). Needed only when
   * a queue stops before its last variant: the bar redraws on a timer that
   * keeps the process alive until the bar is complete or stopped.
   */
  stop(): void;
}

/**
 * An `onProgress` callback for `genoQueue` that writes to `stream`: on a
 * terminal a cli-progress bar (stopped when every variant is read),
 * elsewhere (logs, pipes) one line per batch, `read 200 / 994 variants (20.12%)`.
 */
export function progressReporter(stream: ProgressStream): ProgressReporter {
  if (stream.isTTY !== true) {
    return Object.assign((p: GenoProgress) => void stream.write(`${progressLine(p)}\n`), { stop: () => {} });
  }
  let bar: cliProgress.SingleBar | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const report = (p: GenoProgress): void => {
    if (bar === undefined) {
      bar = new cliProgress.SingleBar({ stream, format: 'read {bar} {value} / {total} variants ({percentage}%)' }, cliProgress.Presets.shades_classic);
      bar.start(p.total, 0);
    }
    bar.update(p.variantsRead);
    if (p.variantsRead >= p.total) stop();
  };
  return Object.assign(report, { stop });
}
