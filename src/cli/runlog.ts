// PREFIX.log, as plink2 and regenie write one: what ran (version, command
// line), when (start, end, elapsed), where (the machine, backend, BLAS and
// threads), every line the run printed on stdout and stderr (progress lines
// included, at the pace of a batch log), the warnings, and how it ended.
//
// It is written once, atomically, when the command ends, after the staged
// outputs were committed or discarded: a successful run's log sits beside
// its outputs; a failed run writes no output but still writes its log,
// which ends with the error (so a failed rerun at the same prefix replaces
// the log of an earlier run while its outputs stay; their PREFIX.json keeps
// the `run` block of the run that wrote them).
import { join } from 'node:path';
import { DEFAULT_PROGRESS_SECONDS, writeAtomically } from '../workflow/index.js';
import { localIsoTime, localTimeZone, machineInfo, type RunMetadata, shellQuote } from '../workflow/run-info.js';

/** Environment variable: seconds between progress lines off a terminal and in the log (0: every update; tests set it). */
export const PROGRESS_SECONDS_ENV = 'LMMKIT_PROGRESS_SECONDS';

/** One run's log while it runs: the transcript so far and the warnings. */
export class RunLog {
  private readonly transcript: string[] = [];
  private readonly warnings: string[] = [];

  /**
   * `path`: where the log goes; `argv`: the arguments after `lmmkit`;
   * `quiet`: --quiet (nothing on stderr but errors; the log records all).
   */
  constructor(
    readonly path: string,
    readonly version: string,
    readonly argv: readonly string[],
    readonly start: Date,
    readonly quiet: boolean,
  ) {}

  /** Records a line printed on (or, with --quiet, kept off) stdout or stderr. */
  line(stream: 'stdout' | 'stderr', text: string): void {
    for (const l of text.split('\n')) this.transcript.push(`[${stream}] ${l}`);
  }

  /** Records a warning (also a stderr line unless --quiet). */
  warning(text: string): void {
    this.warnings.push(text);
    this.line('stderr', `lmmkit: warning: ${text}`);
  }

  /** The `run` block of the JSON reports, with the end time now. */
  metadata(): RunMetadata {
    return {
      version: this.version,
      commandLine: shellQuote(['lmmkit', ...this.argv]),
      start: localIsoTime(this.start),
      end: localIsoTime(new Date()),
      timeZone: localTimeZone(),
      machine: machineInfo(),
    };
  }

  /** The log's text: the metadata, the transcript, the warnings and the outcome (`error`: the error line printed, if the run failed). */
  text(status: number, error: string | undefined): string {
    const m = this.metadata();
    const elapsed = (Date.now() - this.start.getTime()) / 1000;
    const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;
    const out = [
      `lmmkit ${m.version}`,
      `command line: ${m.commandLine}`,
      `working folder: ${process.cwd()}`,
      `start: ${m.start} (${m.timeZone})`,
      `end: ${m.end} (${m.timeZone})`,
      `elapsed: ${elapsed.toFixed(3)} s`,
      `machine: ${m.machine.cores} cores (${m.machine.cpu}), ${gib(m.machine.memoryBytes)} memory (${gib(m.machine.freeMemoryBytes)} free), ${m.machine.os}`,
      `node: ${m.machine.node}`,
      `backend: ${m.machine.backend}; BLAS: ${m.machine.blas}, ${m.machine.blasThreads} thread${m.machine.blasThreads === 1 ? '' : 's'}`,
      '',
      'output (stdout and stderr, in order):',
      ...this.transcript,
      '',
      `warnings: ${this.warnings.length}`,
      ...this.warnings.map((w) => `  ${w}`),
      '',
      error === undefined ? `exit status ${status}: success` : `exit status ${status}: failed: ${error}`,
    ];
    return `${out.join('\n')}\n`;
  }
}

let current: RunLog | undefined;

/** The run log of this process's command, once its options were parsed (undefined for commands without one, and before). */
export function currentRunLog(): RunLog | undefined {
  return current;
}

/**
 * Where `command`'s log goes given its --out: PREFIX.log for a prefix
 * (gwas, mtgwas), FOLDER/demo.log for demo's folder, and FILE.log for a
 * command whose --out is a file (kinship, null fit, varcomp fit, plot), the
 * name kept whole so that the log never replaces another output.
 */
export function runLogPath(command: string, out: string): string {
  return command === 'demo' ? join(out, 'demo.log') : `${out}.log`;
}

/** Starts the log of the command about to run (called once its options were parsed). */
export function startRunLog(path: string, version: string, argv: readonly string[], start: Date, quiet: boolean): RunLog {
  current = new RunLog(path, version, argv, start, quiet);
  return current;
}

/** Seconds between progress lines off a terminal and in the log: $LMMKIT_PROGRESS_SECONDS, else 5. */
export function progressSeconds(): number {
  const v = process.env[PROGRESS_SECONDS_ENV];
  const n = v === undefined || v.trim() === '' ? Number.NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_PROGRESS_SECONDS;
}

/**
 * Writes the current run's log (atomically) and forgets it; `error`: the
 * error line of a failed run. Returns the line to print when the log could
 * not be written, else undefined.
 */
export async function finishRunLog(status: number, error: string | undefined): Promise<string | undefined> {
  const log = current;
  current = undefined;
  if (log === undefined) return undefined;
  try {
    await writeAtomically(log.path, (append) => append(log.text(status, error)));
    return undefined;
  } catch (e) {
    return `cannot write the log ${log.path}: ${(e as Error).message}`;
  }
}
