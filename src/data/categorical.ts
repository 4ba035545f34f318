// Categorical (non-numeric) covariate columns, dummy-coded as plink2's
// --covar codes them: one 0/1 column per level but the reference, the
// reference being the most common level. Browser-safe: strings in, no files.

/**
 * The most levels a categorical covariate column may have. Each level but
 * one becomes a covariate: a column with more distinct values is far more
 * likely a numeric column with a typo, or a column of ids, than a factor,
 * and 50 dummies would eat the degrees of freedom of most studies.
 */
export const MAX_LEVELS = 50;

/** A categorical covariate column as it was dummy-coded. */
export interface FactorColumn {
  /** The column's name in the table. */
  readonly name: string;
  /** Every level, in natural order (plink2's), with its count of rows. */
  readonly levels: readonly { level: string; rows: number }[];
  /** The level without a dummy column (the most common one). */
  readonly reference: string;
  /** The dummy columns, `NAME=LEVEL` (plink2's names), one per level but the reference, in natural order. */
  readonly columns: readonly string[];
}

const CHUNK = /(\d+)|(\D+)/g;

/**
 * Compares two strings in natural order, as plink2 sorts category names:
 * runs of digits by their value (`a2` before `a10`), other text without
 * regard to case (`alpha` before `Beta`); strings equal that way are ordered
 * by their code units (`B` before `b`), so the order is total.
 */
export function naturalCompare(a: string, b: string): number {
  const ca = a.match(CHUNK) ?? [];
  const cb = b.match(CHUNK) ?? [];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i]!;
    const y = cb[i]!;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      // Compared as digit strings (leading zeros off, then length): any length, no rounding.
      const nx = x.replace(/^0+(?=\d)/, '');
      const ny = y.replace(/^0+(?=\d)/, '');
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      continue;
    }
    if (dx !== dy) return dx ? -1 : 1;
    const lx = x.toLowerCase();
    const ly = y.toLowerCase();
    if (lx !== ly) return lx < ly ? -1 : 1;
  }
  if (ca.length !== cb.length) return ca.length - cb.length;
  return a === b ? 0 : a < b ? -1 : 1;
}

/**
 * The coding of a categorical column from its level counts (`counts`:
 * level -> rows, in any order): levels in natural order, the reference is
 * the most common level (ties: the first in natural order), the dummies
 * the other levels. plink2 2.0 (--glm with a non-numeric --covar column)
 * omits that same level, so the dummies are the columns it reports.
 */
export function factorColumn(name: string, counts: ReadonlyMap<string, number>): FactorColumn {
  const levels = [...counts.keys()].sort(naturalCompare).map((level) => ({ level, rows: counts.get(level)! }));
  let reference = levels[0]!;
  for (const l of levels) if (l.rows > reference.rows) reference = l;
  return {
    name,
    levels,
    reference: reference.level,
    columns: levels.filter((l) => l !== reference).map((l) => `${name}=${l.level}`),
  };
}
