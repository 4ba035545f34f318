// First, so that backend selection can load the native backend (lmmkit/node does the same).
import { mergeCommand } from './merge.js';
import '../linalg/native/register.js';
import { Command, CommanderError } from 'commander';
import { ArgumentError, LmmkitError, systemErrorText } from '../errors.js';
import { afterCommits, formatInfo, formatSelfCheck, infoReport, removeTemporaryFiles, runSelfCheck } from '../workflow/index.js';
import { demoCommand } from './demo.js';
import { gwasCommand } from './gwas.js';
import { kinshipCommand } from './kinship.js';
import { plotCommand } from './plot.js';
import { mtgwasCommand } from './mtgwas.js';
import { nullCommand } from './null.js';
import { varcompCommand } from './varcomp.js';
import { packageVersion } from './version.js';
import { addThreadsOption, guardStdout, printError, printLine, signalTaker } from './common.js';
import { clusterCommand } from './cluster.js';
import { webCommand } from './web.js';
import { simulateCommand } from './simulate.js';
import { finishRunLog, runLogPath, startRunLog } from './runlog.js';

const VERSION = packageVersion();

/**
 * Runs the `lmmkit` command line with `argv` (without node and the script)
 * and returns the exit status: 0 only on success. Errors that lmmkit raises on
 * purpose are printed as one line; anything else is a bug and keeps its stack.
 */
export async function main(argv: string[]): Promise<number> {
  const start = new Date();
  guardStdout();
  handleSignals();
  const program = new Command()
    .name('lmmkit')
    .description('Linear mixed models for genetics: GWAS scans and variance-component fits')
    .version(VERSION)
    .exitOverride();

  const info = program
    .command('info')
    .description('print the linear-algebra backend in use, its BLAS library and threads, and the Node version')
    .option('--json', 'print JSON instead of text')
    .action((opts: { json?: boolean }) => {
      const report = infoReport(VERSION);
      printLine(opts.json ? JSON.stringify(report, null, 2) : formatInfo(report));
    });
  addThreadsOption(info);

  const selfcheck = program
    .command('selfcheck')
    .description('simulate a small data set and fit it by generalised least squares two ways, checking that they agree')
    .option('--backend <name>', 'js, native, wasm or all (default: the backend in use)')
    .option('--seed <n>', 'simulation seed', (v) => parseInteger('--seed', v), 20261124)
    .option('--json', 'print JSON instead of text')
    .action((opts: { backend?: string; seed: number; json?: boolean }) => {
      const results = runSelfCheck(opts.backend, opts.seed);
      printLine(opts.json ? JSON.stringify(results, null, 2) : results.map(formatSelfCheck).join('\n'));
      if (results.some((r) => r.checks.some((c) => !c.ok))) process.exitCode = 1;
    });
  addThreadsOption(selfcheck);

  program.addCommand(kinshipCommand());
  program.addCommand(nullCommand());
  program.addCommand(gwasCommand());
  program.addCommand(mtgwasCommand());
  program.addCommand(mergeCommand());
  program.addCommand(clusterCommand());
  program.addCommand(plotCommand());
  program.addCommand(webCommand());
  program.addCommand(demoCommand());
  program.addCommand(simulateCommand());
  program.addCommand(varcompCommand());

  // Commands built apart (addCommand) do not inherit exitOverride: without it
  // commander would exit(1) on a usage error from inside a subcommand. A
  // usage error is bad input like any other: one line, in lmmkit's words,
  // with where to look (the help itself would bury the line).
  const override = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({ outputError: (text, write) => write(usageLine(c, text)) });
    c.commands.forEach(override);
  };
  override(program);
  addRunLog(program, argv, start);

  // The status and error line of the run, for its log (see runlog.ts).
  let status = 0;
  let error: string | undefined;
  try {
    await program.parseAsync(argv, { from: 'user' });
    status = typeof process.exitCode === 'number' ? process.exitCode : 0;
    return status;
  } catch (err) {
    status = 2;
    // Help and version exit 0; a usage error (unknown option, bad choice,
    // missing argument) is bad input like any other: exit 2.
    if (err instanceof CommanderError) {
      status = err.exitCode === 0 ? 0 : 2;
      return status;
    }
    if (err instanceof LmmkitError) {
      error = `lmmkit: ${err.message}`;
      printError(error);
      return 2;
    }
    // A refusal of the system (a file, a disk, a permission) that no reader
    // or writer turned into an lmmkit error is still the user's to fix, not
    // a bug: one line naming the path and the cause.
    const sys = err as NodeJS.ErrnoException;
    if (typeof sys.code === 'string' && typeof sys.syscall === 'string') {
      const action = /write|open|rename|mkdir|unlink|sync|copy/.test(sys.syscall) ? 'write' : 'read';
      error = `lmmkit: ${sys.path ?? '(no path)'}: cannot ${sys.syscall}: ${systemErrorText(sys, action)}`;
      printError(error);
      return 2;
    }
    status = 1;
    error = `internal error: ${(err as Error)?.stack ?? String(err)}`;
    throw err;
  } finally {
    const problem = await finishRunLog(status, error);
    // A failed run already said what went wrong: a log that could not be written beside it adds nothing.
    if (problem !== undefined && error === undefined) console.error(`lmmkit: warning: ${problem}`);
  }
}

/**
 * Gives every command with --out a log (PREFIX.log, see runlog.ts) and
 * --quiet: the log starts once the command's options are parsed, with the
 * time `main` started.
 */
function addRunLog(program: Command, argv: readonly string[], start: Date): void {
  const withOut = (c: Command): Command[] => [...(c.options.some((o) => o.long === '--out') ? [c] : []), ...c.commands.flatMap(withOut)];
  for (const c of withOut(program)) {
    c.option('--quiet', 'nothing on stderr but errors: no progress, no warnings (the .log records them)');
  }
  program.hook('preAction', (_root, action) => {
    const opts = action.opts() as { out?: unknown; quiet?: boolean };
    if (typeof opts.out !== 'string' || !action.options.some((o) => o.long === '--out')) return;
    startRunLog(runLogPath(action.name(), opts.out), VERSION, argv, start, opts.quiet === true);
  });
}

/** Exit statuses of the signals a user sends to stop a run (128 + the signal's number, as shells report). */
const SIGNAL_STATUS: ReadonlyMap<NodeJS.Signals, number> = new Map([
  ['SIGHUP', 129],
  ['SIGINT', 130],
  ['SIGTERM', 143],
]);

let signalsHandled = false;

/**
 * Stops the run on SIGINT, SIGTERM (and SIGHUP) without leaving its hidden
 * temporary files behind: removes them, says so on stderr in one line and
 * exits with 128 + the signal's number. A signal that arrives while the
 * outputs are being renamed into place waits for that (milliseconds) so
 * that they appear all or none; a second signal does not wait. Exiting
 * ends the worker threads and the BLAS threads with the process.
 */
function handleSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  let stopping = false;
  for (const [signal, status] of SIGNAL_STATUS) {
    process.on(signal, () => {
      const taker = signalTaker();
      if (taker !== undefined) return taker(signal);
      const stop = (waited: boolean): void => {
        const removed = removeTemporaryFiles();
        const what = waited
          ? 'its outputs were already complete'
          : `no output written${removed > 0 ? `, ${removed} temporary file${removed === 1 ? '' : 's'} removed` : ''}`;
        process.stderr.write(`${process.stderr.isTTY === true ? '\n' : ''}lmmkit: stopped by ${signal}: ${what}\n`);
        process.exit(status);
      };
      if (stopping) stop(false);
      stopping = true;
      afterCommits(stop);
    });
  }
}

/** Parses an integer, else a BAD_ARGUMENT naming `flag`. */
function parseInteger(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ArgumentError(`${flag}: expected an integer, found '${v}'`);
  return n;
}

/** Commander's usage error `text` ("error: unknown option '--x'") as lmmkit's one line, naming the help to read. */
function usageLine(c: Command, text: string): string {
  const path: string[] = [];
  for (let k: Command | null = c; k !== null; k = k.parent) path.unshift(k.name());
  return `lmmkit: ${text.trim().replace(/^error: /, '')} (see '${path.join(' ')} --help')\n`;
}
