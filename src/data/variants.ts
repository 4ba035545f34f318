import { SelectionError } from '../errors.js';
import { chromMatcher } from './chrom.js';

/**
 * Per-variant annotation in columnar form, as a `.bim` holds it: chromosome,
 * id, genetic position (cM), base-pair position and the two alleles. `a1` is
 * the `.bim` column-5 allele (PLINK's A1), `a2` the column-6 allele.
 */
export interface VariantTable {
  readonly chrom: readonly string[];
  readonly id: readonly string[];
  readonly cm: Float64Array;
  readonly pos: Float64Array;
  readonly a1: readonly string[];
  readonly a2: readonly string[];
}

/**
 * The rows `indices` of a variant table, as a new table. An index that is
 * not a row of `v` is a BAD_SELECTION error (it would otherwise give
 * undefined ids and NaN positions).
 */
export function takeVariants(v: VariantTable, indices: ArrayLike<number>): VariantTable {
  const n = indices.length;
  const size = v.id.length;
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    if (i === undefined || !Number.isInteger(i) || i < 0 || i >= size) {
      throw new SelectionError('BAD_SELECTION', `takeVariants: index ${String(i)} (position ${k}) is not a row of the table's ${size} variants`);
    }
  }
  // Every index is a row from here on.
  // A push loop, not Array.from({ length }, fn): that goes through the iteration protocol and a call per element,
  // ~2% of a .pgen read when every batch picks its variants' columns.
  const pick = <T>(xs: readonly T[]): T[] => {
    const out: T[] = [];
    for (let k = 0; k < n; k++) out.push(xs[indices[k]!]!);
    return out;
  };
  const cm = new Float64Array(n);
  const pos = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    cm[k] = v.cm[indices[k]!]!;
    pos[k] = v.pos[indices[k]!]!;
  }
  return { chrom: pick(v.chrom), id: pick(v.id), cm, pos, a1: pick(v.a1), a2: pick(v.a2) };
}

/** start, start + 1, ..., end - 1 (a plain loop: `Int32Array.from` with a mapping function is ten times slower, and a cluster chunk resolves the whole file's selection). */
function consecutive(start: number, end: number): Int32Array {
  const out = new Int32Array(end - start);
  for (let i = 0; i < out.length; i++) out[i] = start + i;
  return out;
}

/** Which variants to read: all, an index range, a region, a list of ids, or explicit indices. */
export type VariantSelection =
  | { range: readonly [start: number, end: number] }
  | { region: { chrom: string; start: number; end: number } }
  | { ids: readonly string[] }
  | { indices: ArrayLike<number> };

/**
 * Resolves a selection to variant indices in file order (for `ids`, in the
 * order given). A region keeps `chrom == region.chrom && start <= pos < end`,
 * limix's `is_in` rule, chromosomes compared as plink2 codes them
 * (`sameChrom`: `chr22` is `22`, `X` is `23`). Unknown ids and out-of-range indices are errors that
 * name `file`.
 */
export function resolveSelection(v: VariantTable, sel: VariantSelection | undefined, file: string): Int32Array {
  const n = v.id.length;
  if (sel === undefined) return consecutive(0, n);
  if ('range' in sel) {
    const [start, end] = sel.range;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
      throw new SelectionError('BAD_SELECTION', `${file}: variant range [${start}, ${end}) is outside the file's ${n} variants`);
    }
    return consecutive(start, end);
  }
  if ('region' in sel) {
    const { chrom, start, end } = sel.region;
    const onChrom = chromMatcher(chrom);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      if (v.pos[i]! >= start && v.pos[i]! < end && onChrom(v.chrom[i]!)) out.push(i);
    }
    return Int32Array.from(out);
  }
  if ('ids' in sel) {
    const where = new Map<string, number>();
    for (let i = n - 1; i >= 0; i--) where.set(v.id[i]!, i);
    return Int32Array.from(sel.ids, (id) => {
      const i = where.get(id);
      if (i === undefined) throw new SelectionError('BAD_SELECTION', `${file}: variant id '${id}' is not in the file`);
      return i;
    });
  }
  const idx = Int32Array.from(sel.indices as ArrayLike<number>);
  for (const i of idx) {
    if (i < 0 || i >= n) throw new SelectionError('BAD_SELECTION', `${file}: variant index ${i} is outside the file's ${n} variants`);
  }
  return idx;
}

/** The first repeated id of a list and how many entries repeat an earlier one (see `findDuplicateIds`). */
export interface DuplicateIds {
  /** Entries whose id equals an earlier entry's id. */
  count: number;
  /** The id that repeats first in list order. */
  id: string;
  /** Index of that id's first entry. */
  firstIndex: number;
  /** Index of its first repeat (the smallest index of any repeat). */
  index: number;
}

/**
 * Finds repeated ids in `ids`, skipping those equal to `ignore` (a .bim's
 * `.`, "no id"); undefined when there are none. A JS Map or Set holds at
 * most 2^24 entries and a .bim can list more variants, so ids are first
 * told apart by a 32-bit hash in typed arrays (a sorted copy of the hashes
 * finds the values that occur twice: 4 bytes per id, released on return),
 * and only the ids whose hash occurs twice (a few ten thousand collisions
 * among 15M ids, plus the true repeats) are compared as strings. `hashes[i]`,
 * when given, is `idHash(ids[i])`, computed by a parser while the id was
 * fresh in cache.
 */
export function findDuplicateIds(ids: readonly string[], ignore?: string, hashes?: Uint32Array): DuplicateIds | undefined {
  const n = ids.length;
  if (n < 2) return undefined;
  const hash = hashes?.subarray(0, n) ?? Uint32Array.from(ids, idHash);
  const sorted = hash.slice().sort();
  // A bitmap of the top 24 bits of each repeated hash: a cheap first test.
  const repeated = new Uint8Array(1 << 21);
  let any = false;
  for (let k = 1; k < n; k++) {
    if (sorted[k] === sorted[k - 1]) {
      const top = sorted[k]! >>> 8;
      repeated[top >>> 3]! |= 1 << (top & 7);
      any = true;
    }
  }
  if (!any) return undefined;
  // The exact repeated hash values, for the ids the bitmap lets through.
  const values = new Set<number>();
  for (let k = 1; k < n; k++) if (sorted[k] === sorted[k - 1]) values.add(sorted[k]!);
  const firstIndex = new Map<string, number>();
  let count = 0;
  let first: DuplicateIds | undefined;
  for (let i = 0; i < n; i++) {
    const h = hash[i]!;
    const top = h >>> 8;
    if ((repeated[top >>> 3]! & (1 << (top & 7))) === 0 || !values.has(h)) continue;
    const id = ids[i]!;
    if (id === ignore) continue;
    const seen = firstIndex.get(id);
    if (seen === undefined) firstIndex.set(id, i);
    else {
      count++;
      first ??= { count: 0, id, firstIndex: seen, index: i };
    }
  }
  return first === undefined ? undefined : { ...first, count };
}

/** The hash `findDuplicateIds` sorts by: 32-bit FNV-1a of the UTF-16 code units of `s`. */
export function idHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
