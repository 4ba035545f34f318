// Chromosome codes as plink2 reads them (human default): a `chr` prefix is
// ignored, X = 23, Y = 24, XY = 25 (the pseudo-autosomal region), MT = M =
// 26, letters in any case. Files keep their own spelling; these codes are
// only how names are compared and sorted, so that `--region chr22:...` finds
// the variants of a .bim that says 22. Browser-safe.

/** The named human chromosomes and their plink2 numbers. */
const NAMED: ReadonlyMap<string, number> = new Map([
  ['X', 23],
  ['Y', 24],
  ['XY', 25],
  ['M', 26],
  ['MT', 26],
]);

/** The plink2 name of each code above 22 (what messages and the report print). */
const NAME_OF: ReadonlyMap<number, string> = new Map([
  [23, 'X'],
  [24, 'Y'],
  [25, 'XY'],
  [26, 'MT'],
]);

/** The largest code plink2 knows for a human data set (MT). */
export const MAX_CHROM_CODE = 26;

/**
 * The plink2 number of a chromosome name: `1`..`26`,
 * `X`/`Y`/`XY`/`MT`/`M` as 23..26, each
 * with or without a `chr` prefix, in any case; undefined for any other
 * name (a contig such as `GL000192.1`, or a number above 26), which is
 * then compared as written.
 */
export function chromCode(name: string): number | undefined {
  const bare = name.length > 3 && name.slice(0, 3).toLowerCase() === 'chr' ? name.slice(3) : name;
  if (/^[1-9][0-9]?$/.test(bare)) {
    const n = Number(bare);
    return n >= 1 && n <= MAX_CHROM_CODE ? n : undefined;
  }
  return NAMED.get(bare.toUpperCase());
}

/**
 * The canonical form of a chromosome name, for comparing names written
 * differently: the plink2 number as text (`chr1` -> `1`; `x`, `chrX`,
 * `23` -> `23`) when `chromCode` knows the name, else the name as written.
 */
export function canonicalChrom(name: string): string {
  const code = chromCode(name);
  return code === undefined ? name : String(code);
}

/** Whether two chromosome names denote the same chromosome (`chr22` and `22`, `X` and `23`). */
export function sameChrom(a: string, b: string): boolean {
  return a === b || canonicalChrom(a) === canonicalChrom(b);
}

/** The plink2 display name of a code: `1`..`22`, then X, Y, XY, MT. */
export function chromName(code: number): string {
  return NAME_OF.get(code) ?? String(code);
}

/**
 * Sort key of a chromosome name: the known codes in plink2's order (1..22,
 * X, Y, XY, MT; a `chr` prefix and the spelling ignored), then other whole
 * numbers ascending (other species' autosomes), then the other names
 * lexically; ties (`22` and `chr22`) are broken by the name as written.
 */
export function chromSortKey(name: string): [group: number, rank: number, name: string] {
  const code = chromCode(name);
  if (code !== undefined) return [0, code, name];
  const bare = name.replace(/^chr/i, '');
  if (/^\d+$/.test(bare)) return [0, Number(bare), name];
  return [1, 0, name];
}

/** Compares chromosome names in the order of `chromSortKey` (for `Array.prototype.sort`). */
export function compareChromNames(a: string, b: string): number {
  const ka = chromSortKey(a);
  const kb = chromSortKey(b);
  if (ka[0] !== kb[0]) return ka[0] - kb[0];
  if (ka[1] !== kb[1]) return ka[1] - kb[1];
  return ka[2] < kb[2] ? -1 : ka[2] > kb[2] ? 1 : 0;
}

/**
 * A test of whether a variant's chromosome name is `target` (see
 * `sameChrom`), caching the answer for the last name seen: the variants of
 * a file come in runs of one chromosome, so a scan of millions of names
 * canonicalises a few dozen.
 */
export function chromMatcher(target: string): (name: string) => boolean {
  const want = canonicalChrom(target);
  let last: string | undefined;
  let lastAnswer = false;
  return (name) => {
    if (name !== last) {
      last = name;
      lastAnswer = name === target || canonicalChrom(name) === want;
    }
    return lastAnswer;
  };
}
