// What the commands share: option parsers (commander's `argParser`s) that turn
// a bad value into a BAD_ARGUMENT naming the flag, and the terminal side of
// the workflows' reporting (progress on stderr, warnings once).
import type { Command } from 'commander';
import { ArgumentError, type LmmkitError } from '../errors.js';
import { parseNumberText, streamProgress, useThreads, type ProgressFactory } from '../workflow/index.js';
import type { RunMetadata } from '../workflow/run-info.js';
import { currentRunLog, progressSeconds } from './runlog.js';

/** A BAD_ARGUMENT error (exit status 2, one line naming the option). */
export function bad(message: string): LmmkitError {
  return new ArgumentError(message);
}

/** Parses a finite number (the table syntax: no hex, no empty text), else a BAD_ARGUMENT naming `flag`. */
export function number(flag: string): (v: string) => number {
  return (v) => {
    const n = parseNumberText(v);
    if (!Number.isFinite(n)) throw bad(`${flag}: expected a number, found '${v}'`);
    return n;
  };
}

/** Parses an integer, else a BAD_ARGUMENT naming `flag`. */
export function integer(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n)) throw bad(`${flag}: expected an integer, found '${v}'`);
    return n;
  };
}

/** Accepts one of `values`, else a BAD_ARGUMENT naming `flag` and listing them (`a, b or c`). */
export function oneOf<T extends string>(flag: string, values: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(values as readonly string[]).includes(v)) throw bad(`${flag}: expected ${values.join(', ').replace(/, ([^,]*)$/, ' or $1')}, found '${v}'`);
    return v as T;
  };
}

/** Parses a positive integer, else a BAD_ARGUMENT naming `flag`. */
export function positiveInteger(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw bad(`${flag}: expected a positive integer, found '${v}'`);
    return n;
  };
}

/**
 * Adds the PLINK-way selection options every command that reads genotypes
 * takes (--keep, --remove, --extract, --exclude, --chr, --from-bp, --to-bp;
 * `SelectionOptions` in workflow/selection.ts) to `cmd`.
 */
export function addSelectionOptions(cmd: Command): Command {
  return cmd
    .option('--keep <file>', 'analyse only these samples: FID IID (or IID) per line, #FID/#IID header allowed (plink2 --keep)')
    .option('--remove <file>', 'leave out these samples (same layout as --keep)')
    .option('--extract <file>', 'analyse only these variant ids (one per line or separated by spaces)')
    .option('--exclude <file>', 'leave out these variant ids')
    .option('--chr <list>', "only these chromosomes: codes and ranges separated by commas, e.g. 1-4,22,X ('chr' prefixes, X=23 Y=24 XY=25 MT=26)")
    .option('--from-bp <pos>', 'with one --chr: only variants at this base-pair position or after', integer('--from-bp'))
    .option('--to-bp <pos>', 'with one --chr: only variants at this base-pair position or before', integer('--to-bp'));
}

/**
 * Adds --threads N to `cmd`: the BLAS threads, set before the command runs
 * (OpenBLAS reads them when it loads), and the worker threads of commands
 * that have them. Without it, OpenBLAS picks its own default (the cores).
 */
export function addThreadsOption(cmd: Command, help = 'threads of the linear algebra (BLAS); default: one per core'): Command {
  return cmd.option('--threads <n>', help, positiveInteger('--threads')).hook('preAction', (c) => {
    const n = (c.opts() as { threads?: number }).threads;
    if (n !== undefined) useThreads(n);
  });
}

/** The help of --sex-col (gwas, mtgwas). */
export const SEX_COL_HELP =
  "column of --pheno (else --covar) with each sample's sex for chrX/chrY, coded as plink2 codes sex (1/M/m male, 2/F/f female, 0/NA/-9/./N/U/u unknown; other codes refused); overrides the genotype file's sex, is neither a trait nor a covariate";

/** The help of --xchr-model (gwas, mtgwas). */
export const XCHR_MODEL_HELP =
  'chrX as plink2 --glm: 2 (default) codes males 0..2, 1 codes males 0..1, 0 skips chrX; on chrX sex (.fam/.psam or --sex-col) is a covariate and samples of unknown sex are left out, on chrY only males are used, MT is coded 0..1';

/** The help of --input-missing-phenotype and --no-input-missing-phenotype (gwas, mtgwas, null fit). */
export const MISSING_PHENOTYPE_HELP = {
  code: 'value read as missing in the --pheno and --covar tables, as PLINK 1.9/2 read them (counts in the log and the report)',
  none: 'read every number of the --pheno and --covar tables as a value (-9 included)',
} as const;

/**
 * The progress of the workflows' stages on stderr: a line redrawn in place
 * on a terminal, a line every few seconds ($LMMKIT_PROGRESS_SECONDS, 5)
 * elsewhere; none with --quiet. Each stage's lines go to the run's log too.
 */
export function terminalProgress(): ProgressFactory | undefined {
  const log = currentRunLog();
  return streamProgress(process.stderr, {
    show: log?.quiet !== true,
    intervalSeconds: progressSeconds(),
    record: log === undefined ? undefined : (line) => log.line('stderr', `lmmkit: ${line}`),
  });
}

const warned = new Set<string>();
/** Prints a workflow's warning on stderr (not with --quiet), each text once per process; the log records it. */
export function warnOnce(line: string): void {
  if (warned.has(line)) return;
  warned.add(line);
  const log = currentRunLog();
  log?.warning(line);
  if (log?.quiet !== true) console.error(`lmmkit: warning: ${line}`);
}

/** Prints an error line on stderr (--quiet too) and records it in the run's log. */
export function printError(line: string): void {
  currentRunLog()?.line('stderr', line);
  console.error(line);
}

/** The `run` block of the JSON report of the command running, undefined for commands without a log. */
export function runMetadata(): (() => RunMetadata) | undefined {
  const log = currentRunLog();
  return log === undefined ? undefined : () => log.metadata();
}

let stdoutOpen = true;

/**
 * Keeps a run going when its reader closes stdout (`lmmkit gwas ... | head`):
 * the report's lines stop there (EPIPE), the work and the output files do
 * not. Any other stdout error is rethrown.
 */
export function guardStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || !stdoutOpen) {
      stdoutOpen = false;
      return;
    }
    throw e;
  });
}

/** Prints one line of a workflow's text report on stdout (nothing once stdout was closed by its reader); the log records it. */
export function printLine(line: string): void {
  currentRunLog()?.line('stdout', line);
  if (stdoutOpen) console.log(line);
}

/**
 * Adds the phenotype and covariate selection options of gwas, mtgwas and
 * null fit to `cmd`: --pheno-name (plink2's name of --pheno-col; either
 * one, folded into `phenoCol` before the command runs), --covar-name and
 * --pheno-layout.
 */
export function addPhenotypeOptions(cmd: Command): Command {
  return cmd
    .option(
      '--pheno-name <name...>',
      "the traits by name, as plink2's --pheno-name (same as --pheno-col; the .fam's columns 6, 7, ... are PHENO1, PHENO2, ..., GEMMA's -n 1, 2, ...)",
    )
    .option('--covar-name <name...>', "the --covar columns used, in this order (plink2's --covar-name; default all)")
    .option(
      '--pheno-layout <layout>',
      "samples-by-traits (default) or traits-by-samples (limix's expr.csv: a header of sample ids or positions 0..N-1, one row per trait)",
      oneOf('--pheno-layout', ['samples-by-traits', 'traits-by-samples'] as const),
    )
    .hook('preAction', (c) => {
      const o = c.opts() as { phenoCol?: string[]; phenoName?: string[] };
      if (o.phenoName === undefined) return;
      if (o.phenoCol !== undefined) throw bad('--pheno-name: the same option as --pheno-col; give one of them');
      c.setOptionValue('phenoCol', o.phenoName);
      c.setOptionValue('phenoName', undefined);
    });
}

let signalHandler: ((signal: NodeJS.Signals) => void) | undefined;

/** Hands SIGINT/SIGTERM/SIGHUP to `handler` instead of the default stop (a cluster worker finishes its jobs first). */
export function takeSignals(handler: (signal: NodeJS.Signals) => void): void {
  signalHandler = handler;
}

/** The handler a command took the signals with (see `takeSignals`), if any. */
export function signalTaker(): ((signal: NodeJS.Signals) => void) | undefined {
  return signalHandler;
}
