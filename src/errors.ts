/**
 * Every error lmmkit raises on purpose is an `LmmkitError`, so callers can
 * tell bad input or numerical failure apart from bugs. The `code` is stable
 * and meant for programs; the message is meant for people and names what was
 * expected and what was found. Errors are thrown only through the classes
 * below, one per family, each fixing which codes it can carry.
 */

/** Every code an `LmmkitError` can carry. */
export type ErrorCode =
  | 'BAD_ARGUMENT'
  | 'BAD_INPUT'
  | 'BAD_OUTPUT'
  | 'BAD_NULL_MODEL'
  | 'SAMPLE_MISMATCH'
  | SelectionCode
  | DesignCode
  | BackendCode
  | 'SHAPE'
  | 'NOT_POSITIVE_DEFINITE'
  | 'NOT_POSITIVE_SEMIDEFINITE'
  | 'NUMERICAL'
  | 'DOMAIN'
  | 'WORKER';

/** The base of lmmkit's errors; construct one of its families. */
export class LmmkitError extends Error {
  /** Stable machine-readable error code, e.g. `'SHAPE'`, `'NOT_POSITIVE_DEFINITE'`. */
  readonly code: ErrorCode;

  protected constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'LmmkitError';
    this.code = code;
  }
}

/**
 * An argument of a function, or an option of a command or workflow, outside
 * what it accepts (the command line exits with status 2 on it).
 */
export class ArgumentError extends LmmkitError {
  constructor(message: string) {
    super('BAD_ARGUMENT', message);
    this.name = 'ArgumentError';
  }
}

/** Which samples or variants are left: none, or a selection that does not fit the file. */
export type SelectionCode = 'NO_SAMPLES' | 'NO_VARIANTS' | 'BAD_SELECTION';

/** Nothing left to analyse after matching or filtering, or a selection of variants or samples outside the file. */
export class SelectionError extends LmmkitError {
  constructor(code: SelectionCode, message: string) {
    super(code, message);
    this.name = 'SelectionError';
  }
}

/** What can be wrong with a fixed-effect design (MMEst's cofactors, formula and markers). */
export type DesignCode = 'BAD_FACTOR' | 'BAD_FORMULA' | 'BAD_MARKER' | 'EMPTY_DESIGN' | 'UNKNOWN_COLUMN' | 'SINGULAR_COVARIATES' | 'NON_FINITE';

/** A fixed-effect design that cannot be built: a bad formula or factor, an unknown column, a non-finite value, no column left. */
export class DesignError extends LmmkitError {
  constructor(code: DesignCode, message: string) {
    super(code, message);
    this.name = 'DesignError';
  }
}

/** Why a linear-algebra backend cannot be had. */
export type BackendCode = 'BAD_BACKEND' | 'NO_NATIVE_BACKEND' | 'NO_WASM_BACKEND';

/** An unknown backend name, or the native backend asked for where it did not load. */
export class BackendError extends LmmkitError {
  constructor(code: BackendCode, message: string) {
    super(code, message);
    this.name = 'BackendError';
  }
}

/** A worker thread failed (its error's message is kept). */
export class WorkerError extends LmmkitError {
  constructor(message: string) {
    super('WORKER', message);
    this.name = 'WorkerError';
  }
}

/** A symmetric matrix with a negative eigenvalue where a covariance (positive semidefinite) is needed. */
export class NotPositiveSemidefiniteError extends LmmkitError {
  /** Where known: how many eigenvalues are negative beyond rounding, the most negative and the largest (for callers that reword the message). */
  readonly spectrum: { clamped: number; mostNegative: number; largest: number } | undefined;

  constructor(message: string, spectrum?: { clamped: number; mostNegative: number; largest: number }) {
    super('NOT_POSITIVE_SEMIDEFINITE', message);
    this.name = 'NotPositiveSemidefiniteError';
    this.spectrum = spectrum;
  }
}

/** Matrix shapes that do not fit the operation; the message names the operation and the shapes. */
export class ShapeError extends LmmkitError {
  constructor(message: string) {
    super('SHAPE', message);
    this.name = 'ShapeError';
  }
}

/**
 * A Cholesky factorisation met a leading minor that is not positive definite
 * (LAPACK dpotrf's info > 0). `minor` is the 1-based order of that minor.
 */
export class NotPositiveDefiniteError extends LmmkitError {
  readonly minor: number | undefined;

  constructor(operation: string, n: number, minor?: number) {
    super(
      'NOT_POSITIVE_DEFINITE',
      `${operation}: the ${n}x${n} matrix is not positive definite${minor === undefined ? '' : ` (leading minor of order ${minor} is not positive)`}`,
    );
    this.name = 'NotPositiveDefiniteError';
    this.minor = minor;
  }
}

/** An iterative decomposition (eigen, SVD) did not converge, or a factor is exactly singular. */
export class NumericalError extends LmmkitError {
  constructor(message: string) {
    super('NUMERICAL', message);
    this.name = 'NumericalError';
  }
}

/** Where in an input file a problem was found (1-based line and column). */
export interface InputLocation {
  file: string;
  line?: number;
  column?: number | string;
}

/**
 * Bad input data: the message starts with `file:line` (and the column when
 * known) and says what was expected and what was found.
 */
export class InputError extends LmmkitError {
  readonly file: string | undefined;
  readonly line: number | undefined;

  /** `where` undefined: the message already names the input. */
  constructor(where: InputLocation | undefined, message: string) {
    const pos = where?.line !== undefined ? `:${where.line}` : '';
    const col = where?.column !== undefined ? ` (column ${where.column})` : '';
    super('BAD_INPUT', where === undefined ? message : `${where.file}${pos}${col}: ${message}`);
    this.name = 'InputError';
    this.file = where?.file;
    this.line = where?.line;
  }
}

/** A distribution parameter or probability outside its domain (df <= 0, p outside [0, 1], ...). */
export class DomainError extends LmmkitError {
  constructor(message: string) {
    super('DOMAIN', message);
    this.name = 'DomainError';
  }
}

/**
 * An output that cannot be written: its folder is missing or not a folder,
 * or the file system refused the temporary file or its rename. `path` is
 * the output; the message names it and what was found (the system's code).
 */
export class OutputError extends LmmkitError {
  readonly path: string;

  constructor(path: string, message: string) {
    super('BAD_OUTPUT', `${path}: ${message}`);
    this.name = 'OutputError';
    this.path = path;
  }
}

/** Why a null-model file was refused (see docs/null-model-format.md). */
export type NullModelFormatProblem = 'not-null-model' | 'version' | 'truncated' | 'checksum' | 'header';

/**
 * Bytes that are not a null model lmmkit can read: another file, another
 * format version, a truncated or altered (checksum) file, or a header that
 * does not describe its arrays. `problem` says which; the message names the
 * source, what was expected and what was found.
 */
export class NullModelFormatError extends LmmkitError {
  readonly problem: NullModelFormatProblem;

  constructor(source: string, problem: NullModelFormatProblem, message: string) {
    super('BAD_NULL_MODEL', `${source}: ${message}`);
    this.name = 'NullModelFormatError';
    this.problem = problem;
  }
}

/**
 * A null model's samples are not the scan's samples, in order. `position`
 * is the 0-based index of the first difference; `expected` is the null
 * model's sample there and `found` the scan's (undefined past the end of
 * the shorter list, i.e. when the counts differ).
 */
export class SampleMismatchError extends LmmkitError {
  readonly position: number;
  readonly expected: string | undefined;
  readonly found: string | undefined;

  constructor(source: string, position: number, expected: string | undefined, found: string | undefined, counts: { model: number; scan: number }) {
    const show = (id: string | undefined): string => (id === undefined ? '(no sample)' : `'${id}'`);
    const count = counts.model === counts.scan ? '' : `; the null model has ${counts.model} samples, the scan ${counts.scan}`;
    super(
      'SAMPLE_MISMATCH',
      `${source}: the null model was fitted on other samples than the scan's: at position ${position + 1} expected ${show(expected)} (null model), found ${show(found)} (scan)${count}`,
    );
    this.name = 'SampleMismatchError';
    this.position = position;
    this.expected = expected;
    this.found = found;
  }
}

/** Words for the system error codes a user can cause with a path, a disk or a permission. */
const SYSTEM_ERRORS: ReadonlyMap<string, string> = new Map([
  ['ENOSPC', 'the disk is full'],
  ['EDQUOT', 'the disk quota is used up'],
  ['EFBIG', 'the file is larger than the file system allows'],
  ['EROFS', 'the file system is read-only'],
  ['EISDIR', 'it is a folder'],
  ['ENOTDIR', 'a part of the path is not a folder'],
  ['ENOENT', 'no such file or folder'],
  ['ENAMETOOLONG', 'the name is too long'],
  ['ELOOP', 'too many symbolic links'],
  ['EMFILE', 'too many open files'],
  ['ENFILE', 'too many open files'],
  ['EIO', 'an input/output error of the device'],
  ['EBUSY', 'the file is busy'],
]);

/**
 * A system error (Node's `err.code`, e.g. ENOSPC) as words a user can act
 * on, the code in parentheses: `the disk is full (ENOSPC)`. `action` says
 * what was refused, for permission errors (`not allowed to write`). Errors
 * without a code keep their message.
 */
export function systemErrorText(e: unknown, action: 'read' | 'write'): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return e instanceof Error ? e.message : String(e);
  if (code === 'EACCES' || code === 'EPERM') return `not allowed to ${action} (${code})`;
  if (code === 'EROFS' && action === 'write') return `not allowed to write: the file system is read-only (${code})`;
  const words = SYSTEM_ERRORS.get(code);
  return words === undefined ? `system error ${code}` : `${words} (${code})`;
}
