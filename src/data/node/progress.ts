// Progress of a run's named stages (reading samples, kinship pass,
// eigendecomposition, null fit, scan) on a terminal or in a batch log (Node
// only: it writes to a stream). On a terminal one line redrawn in place
// with done/total, rate and ETA; elsewhere, and in PREFIX.log, a line every
// few seconds, so that a batch job's log says where the run is.
import type { GenoProgress } from '../geno-queue.js';

/** A stream progress can be written to; `isTTY` is set on terminals (`process.stderr`). */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

/** An `onProgress` callback that draws progress; `stop()` ends a line left unfinished. */
export interface ProgressReporter {
  (progress: GenoProgress): void;
  /** Ends the stage's display (idempotent); needed when a stage stops before its last step (an error). */
  stop(): void;
}

/** How a stage's progress is shown. */
export interface ProgressOptions {
  /** The stage's name as printed, e.g. "scan of trait 'gene1'". */
  stage: string;
  /** What is counted, plural (variants, traits, steps). */
  unit?: string;
  /** Seconds between two progress lines off a terminal and in `record` (0: every update). */
  intervalSeconds?: number;
  /** False: nothing on the stream (--quiet); `record` still gets its lines. */
  show?: boolean;
  /** Receives each progress line (the run's log), on a terminal too. */
  record?: (line: string) => void;
  /** The clock in milliseconds (tests). */
  now?: () => number;
}

/** Seconds between progress lines off a terminal unless a caller says otherwise. */
export const DEFAULT_PROGRESS_SECONDS = 5;

/** `seconds` as a short duration: 42s, 3m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A rate in units per second, with 3 significant digits at most (0.5/s, 812/s, 12400/s). */
function formatRate(r: number): string {
  if (!Number.isFinite(r)) return '?';
  return r >= 100 ? String(Math.round(r)) : String(Number(r.toPrecision(3)));
}

/**
 * One progress line: `scan of trait 'gene1': 12000 / 49008 variants (24.5%),
 * 3100 variants/s, ETA 12s` (`elapsed` in seconds; a finished stage says
 * `done in` instead of the ETA).
 */
export function stageLine(stage: string, unit: string, done: number, total: number, elapsed: number): string {
  const pct = total === 0 ? 100 : (100 * done) / total;
  const rate = elapsed > 0 ? done / elapsed : Number.NaN;
  const tail = done >= total ? `done in ${formatDuration(elapsed)}` : `ETA ${formatDuration(rate > 0 ? (total - done) / rate : Number.NaN)}`;
  return `${stage}: ${done} / ${total} ${unit} (${pct.toFixed(1)}%), ${formatRate(rate)} ${unit}/s, ${tail}`;
}

/**
 * An `onProgress` callback for one stage, written to `stream`: on a terminal
 * one line redrawn in place (at most 10 times a second, and when the stage
 * ends); off a terminal, a line when `intervalSeconds` passed since the
 * stage began or since the last line, and the stage's end once a line was
 * written (so that short stages stay silent). `record` gets the same lines
 * as a non-terminal would, on a terminal too.
 */
export function progressReporter(stream: ProgressStream, opts: ProgressOptions): ProgressReporter {
  const { stage, unit = 'steps', intervalSeconds = DEFAULT_PROGRESS_SECONDS, show = true, record } = opts;
  const now = opts.now ?? (() => performance.now());
  const tty = show && stream.isTTY === true;
  const start = now();
  let lastLine = start;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lines = 0;
  let drawn = false;
  let ended = false;
  const emit = (line: string): void => {
    lines++;
    record?.(line);
    if (show && !tty) stream.write(`lmmkit: ${line}\n`);
  };
  const stop = (): void => {
    if (drawn && !ended) stream.write('\n');
    ended = true;
  };
  const report = (p: GenoProgress): void => {
    if (ended) return;
    const t = now();
    const elapsed = (t - start) / 1000;
    const finished = p.variantsRead >= p.total;
    const line = stageLine(stage, unit, p.variantsRead, p.total, elapsed);
    if ((t - lastLine) / 1000 >= intervalSeconds || (finished && lines > 0)) {
      lastLine = t;
      emit(line);
    }
    if (tty && (finished || t - lastDraw >= 100)) {
      lastDraw = t;
      drawn = true;
      // \x1b[K clears what a longer previous line left.
      stream.write(`\r${line}\x1b[K`);
    }
    if (finished) stop();
  };
  return Object.assign(report, { stop });
}
