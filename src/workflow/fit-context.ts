// The fitting code names the function that failed (`mmRotated: V = ... is
// not positive definite`), which is right for a library caller and
// meaningless to someone who ran a command: a workflow re-raises such a
// failure with the run's own terms in front (the file and the trait or
// response being fitted) and the internal name dropped.
import { DomainError, NotPositiveDefiniteError, NumericalError } from '../errors.js';

// `name: ` or `name(args): ` at the start of a message, repeated: a function, method or class name.
const INTERNAL_PREFIX = /^(?:[A-Za-z_$][\w$.]*(?:\([^()]*\))?: )+/;

/** `message` without its leading internal names (`mmRotated: `, `KinshipCovariance: `). */
export function withoutInternalNames(message: string): string {
  return message.replace(INTERNAL_PREFIX, '');
}

/**
 * A numerical failure (`NumericalError`, `DomainError`,
 * `NotPositiveDefiniteError`) as the same kind of failure whose message
 * starts with `context` ("--data d.tsv, response 'y': cannot fit the
 * model") instead of an internal name; any other error is returned as is.
 * A `NotPositiveDefiniteError` becomes a `NumericalError` (its message is
 * built from an operation name, which is what is being replaced).
 */
export function inContext(e: unknown, context: string): unknown {
  if (e instanceof DomainError) return new DomainError(`${context}: ${withoutInternalNames(e.message)}`);
  if (e instanceof NumericalError || e instanceof NotPositiveDefiniteError) return new NumericalError(`${context}: ${withoutInternalNames(e.message)}`);
  return e;
}

/** Runs `body`, re-raising its numerical failures in `context` (see `inContext`). */
export async function fitInContext<T>(context: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    throw inContext(e, context);
  }
}

/** `fitInContext` for a synchronous body. */
export function fitInContextSync<T>(context: string, body: () => T): T {
  try {
    return body();
  } catch (e) {
    throw inContext(e, context);
  }
}
