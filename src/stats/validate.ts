import { DomainError } from '../errors.js';

/**
 * Parameter checks shared by the distribution functions. Each throws a
 * DomainError that names the function, the parameter and the value found, so a
 * bad degrees-of-freedom deep inside a scan is easy to trace.
 */

/** Throws unless `value` is finite and > 0 (degrees of freedom). */
export function checkPositive(fn: string, name: string, value: number): void {
  if (!(value > 0 && value < Infinity)) {
    throw new DomainError(`${fn}: ${name} must be a finite number > 0, got ${value}`);
  }
}

/** Throws unless `p` is in [0, 1]. */
export function checkProbability(fn: string, name: string, p: number): void {
  if (!(p >= 0 && p <= 1)) {
    throw new DomainError(`${fn}: ${name} must be a probability in [0, 1], got ${p}`);
  }
}

/** Throws unless `log10p` is the log10 of a probability, i.e. in [-Infinity, 0]. */
export function checkLog10Probability(fn: string, name: string, log10p: number): void {
  if (!(log10p <= 0)) {
    throw new DomainError(`${fn}: ${name} must be log10 of a probability (<= 0), got ${log10p}`);
  }
}
