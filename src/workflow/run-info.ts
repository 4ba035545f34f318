// What a run records about itself so that its outputs can be audited (the
// `run` block of the JSON reports and the head of PREFIX.log, as plink2's and
// regenie's logs start): the version, the command line, when, and on what.
import { availableParallelism, cpus, freemem, release, totalmem, type as osType } from 'node:os';
import { getBackend } from '../linalg/select.js';

/** The machine a run ran on: what makes its timings (and the native backend's last bits) what they are. */
export interface MachineInfo {
  /** Logical cores Node sees (`os.availableParallelism`), and the processor's model name. */
  cores: number;
  cpu: string;
  /** Physical memory and the part free at the start, in bytes. */
  memoryBytes: number;
  freeMemoryBytes: number;
  /** e.g. 'Linux 6.1.0-18-amd64 (x64)'. */
  os: string;
  node: string;
  /** The linear-algebra backend (js, native or wasm), its BLAS and the BLAS threads in use. */
  backend: string;
  blas: string;
  blasThreads: number;
}

/** The `run` block of a JSON report: who ran what, when and where. */
export interface RunMetadata {
  version: string;
  /** The command line as a POSIX shell would need it typed (see `shellQuote`). */
  commandLine: string;
  /** ISO 8601 local times with the zone offset, e.g. 2025-03-01T14:02:11.250+01:00, and the IANA zone. */
  start: string;
  end: string;
  timeZone: string;
  machine: MachineInfo;
}

/** The machine as the running process sees it (backend: the one `getBackend` selects now). */
export function machineInfo(): MachineInfo {
  const info = getBackend().info();
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    os: `${osType()} ${release()} (${process.arch})`,
    node: process.version,
    backend: info.name,
    blas: info.blas,
    blasThreads: info.threads,
  };
}

/**
 * `date` as ISO 8601 in the local zone with its offset (`toISOString` gives
 * UTC only): a log read on the machine that wrote it shows local times, and
 * the offset keeps them unambiguous elsewhere.
 */
export function localIsoTime(date: Date): string {
  const pad = (n: number, w = 2): string => String(Math.trunc(Math.abs(n))).padStart(w, '0');
  const off = -date.getTimezoneOffset();
  const zone = `${off >= 0 ? '+' : '-'}${pad(off / 60)}:${pad(off % 60)}`;
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}${zone}`
  );
}

/** The IANA name of the local time zone (e.g. Europe/Paris), 'UTC' when the runtime has none. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
}

/**
 * `argv` as a POSIX shell would need it typed: words of safe characters
 * bare, anything else in single quotes (a quote inside as '\''), so that the
 * logged line pastes back into a shell and runs the same command.
 */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}

/**
 * The `run` entry of a workflow's JSON report, `{ run: ... }` with the end
 * time set now, or nothing when the caller gave no `run` (library use: the
 * report then stays as the library always wrote it).
 */
export function runEntry(run: (() => RunMetadata) | undefined): { run?: RunMetadata } {
  return run === undefined ? {} : { run: run() };
}
