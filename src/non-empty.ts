/**
 * An array with at least one element. With `noUncheckedIndexedAccess`,
 * `a[0]` of a `NonEmpty<T>` is typed `T`, so code that has checked the
 * length once (with `isNonEmpty`) needs no assertion afterwards.
 */
export type NonEmpty<T> = [T, ...T[]];

/** Whether `a` has at least one element (narrows it to `NonEmpty<T>`). */
export function isNonEmpty<T>(a: T[]): a is NonEmpty<T> {
  return a.length > 0;
}
