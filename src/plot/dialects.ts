// The association-result files of the field, recognised by their header: one
// table row per tool, saying where chromosome, position, id and the p-value
// are and on which scale the p-value is written. Browser-safe.
//
// Order matters: the first dialect whose `detect` accepts the header wins,
// so the tools with distinctive names come before the generic fallbacks
// (BOLT-LMM's header has GENPOS like regenie's, but CHR where regenie has
// CHROM; lmmkit's `log10p` is negative where regenie's `LOG10P` is positive).

/** How a p-value column is written: the p-value, its log10 (<= 0), or -log10 p (>= 0). */
export type PScale = 'p' | 'log10' | 'neglog10';

/** A p-value column a dialect may have, and its scale. */
export interface PColumn {
  name: string;
  scale: PScale;
}

/** One results-file layout. */
export interface AssocDialect {
  /** Short name, stated in the plot's report. */
  name: string;
  /** The tool and file that writes it (for messages and the README). */
  source: string;
  /** Whether a header (its fields, as written) is this dialect's. */
  detect(fields: readonly string[]): boolean;
  chrom: readonly string[];
  pos: readonly string[];
  id: readonly string[];
  /** The p-value columns in order of preference (the first present is read). */
  p: readonly PColumn[];
  /**
   * The column naming the test of each row (plink's ADD and covariate rows,
   * regenie's ADD/DOM/REC): only rows of the first row's test are plotted.
   */
  test?: string;
  /** Whether names are matched ignoring case (the generic fallbacks). */
  anyCase?: boolean;
}

const has = (fields: readonly string[], ...names: string[]): boolean => names.every((n) => fields.includes(n));
const hasAny = (fields: readonly string[], ...names: string[]): boolean => names.some((n) => fields.includes(n));

/** The names lmmkit writes or wrote for -log10 p (positive) beside today's negative `log10p`. */
const LMMKIT_NEGLOG = ['neg_log10_p', 'neg_log10p', 'neg_log10_pvalue', 'neg_log_10_p_value', 'mlog10p', 'minus_log10_p', 'minus_log10p'];

/** The dialects `lmmkit plot` reads, in detection order. */
export const ASSOC_DIALECTS: readonly AssocDialect[] = [
  {
    name: 'regenie',
    source: 'regenie --step 2 (.regenie: CHROM GENPOS ID ... LOG10P, -log10 p)',
    detect: (f) => has(f, 'CHROM', 'GENPOS', 'ID') && hasAny(f, 'LOG10P'),
    chrom: ['CHROM'],
    pos: ['GENPOS'],
    id: ['ID'],
    p: [{ name: 'LOG10P', scale: 'neglog10' }],
    test: 'TEST',
  },
  {
    name: 'bolt-lmm',
    source: 'BOLT-LMM --statsFile (.stats: SNP CHR BP ... P_BOLT_LMM_INF P_BOLT_LMM)',
    detect: (f) => has(f, 'SNP', 'CHR', 'BP') && hasAny(f, 'P_BOLT_LMM', 'P_BOLT_LMM_INF'),
    chrom: ['CHR'],
    pos: ['BP'],
    id: ['SNP'],
    // The non-infinitesimal test is the one BOLT-LMM recommends when it ran it.
    p: [
      { name: 'P_BOLT_LMM', scale: 'p' },
      { name: 'P_BOLT_LMM_INF', scale: 'p' },
      { name: 'P_LINREG', scale: 'p' },
    ],
  },
  {
    name: 'gemma',
    source: 'GEMMA -lmm/-lm (.assoc.txt: chr rs ps ... p_wald p_lrt p_score)',
    detect: (f) => has(f, 'chr', 'rs', 'ps') && hasAny(f, 'p_wald', 'p_lrt', 'p_score'),
    chrom: ['chr'],
    pos: ['ps'],
    id: ['rs'],
    p: [
      { name: 'p_wald', scale: 'p' },
      { name: 'p_lrt', scale: 'p' },
      { name: 'p_score', scale: 'p' },
    ],
  },
  {
    name: 'plink2',
    source: 'plink2 --glm (.glm.linear/.glm.logistic[.hybrid]: #CHROM POS ID ... P or LOG10_P)',
    detect: (f) => f[0] === '#CHROM' && has(f, 'POS') && hasAny(f, 'P', 'LOG10_P'),
    chrom: ['#CHROM'],
    pos: ['POS'],
    id: ['ID'],
    p: [
      { name: 'LOG10_P', scale: 'neglog10' },
      { name: 'P', scale: 'p' },
    ],
    test: 'TEST',
  },
  {
    name: 'gwas-ssf',
    source: 'GWAS-SSF v1.0 (.tsv[.gz]: chromosome base_pair_location ... p_value or neg_log_10_p_value)',
    detect: (f) => has(f, 'chromosome', 'base_pair_location') && hasAny(f, 'p_value', 'neg_log_10_p_value'),
    chrom: ['chromosome'],
    pos: ['base_pair_location'],
    id: ['rsid', 'variant_id'],
    p: [
      { name: 'neg_log_10_p_value', scale: 'neglog10' },
      { name: 'p_value', scale: 'p' },
    ],
  },
  {
    name: 'lmmkit',
    source: 'lmmkit gwas (.tsv: chrom pos id ... pvalue log10p, or a positive -log10 p column)',
    detect: (f) => has(f, 'chrom', 'pos') && hasAny(f, ...LMMKIT_NEGLOG, 'log10p', 'pvalue'),
    chrom: ['chrom'],
    pos: ['pos'],
    id: ['id'],
    p: [...LMMKIT_NEGLOG.map((name) => ({ name, scale: 'neglog10' as const })), { name: 'log10p', scale: 'log10' }, { name: 'pvalue', scale: 'p' }],
  },
  {
    name: 'plink1',
    source: 'plink 1.9 --assoc/--linear/--logistic (CHR SNP BP ... P)',
    detect: (f) => has(f, 'CHR', 'SNP', 'BP', 'P'),
    chrom: ['CHR'],
    pos: ['BP'],
    id: ['SNP'],
    p: [{ name: 'P', scale: 'p' }],
    test: 'TEST',
  },
  {
    name: 'generic',
    source: 'any table with chromosome, position and p-value columns (names matched ignoring case)',
    detect: () => true,
    anyCase: true,
    chrom: ['chrom', 'chr', '#chrom', '#chr', 'chromosome'],
    pos: ['pos', 'bp', 'position', 'base_pair_location', 'genpos', 'ps'],
    id: ['id', 'snp', 'rsid', 'variant_id', 'marker', 'rs'],
    p: [
      { name: 'log10p', scale: 'log10' },
      { name: 'pvalue', scale: 'p' },
      { name: 'p', scale: 'p' },
      { name: 'p_value', scale: 'p' },
      { name: 'p-value', scale: 'p' },
      { name: 'pval', scale: 'p' },
    ],
  },
];

/** Where a header's needed columns are (0-based; id -1 and test -1 when absent). */
export interface DialectMatch {
  dialect: AssocDialect;
  chrom: number;
  pos: number;
  id: number;
  p: number;
  /** The p-value column read and its scale. */
  column: string;
  scale: PScale;
  test: number;
}

/**
 * The scale of a p-value column named by the user (`--column`) when the
 * dialect does not list it: -log10 p for names like LOG10P, LOG10_P,
 * neg_log10_p, mlog10p; log10 p (negative) for other names starting with
 * log10; else p-values.
 */
export function scaleOfColumn(name: string): PScale {
  if (/^(neg|minus|m)_?log_?10/i.test(name) || name === 'LOG10P' || name === 'LOG10_P') return 'neglog10';
  if (/^log_?10/i.test(name)) return 'log10';
  return 'p';
}

/**
 * Recognises a header (its fields as written): the first dialect of
 * `ASSOC_DIALECTS` that accepts it and has its columns, with the p-value
 * column `column` when given (matched as written). Returns a string saying
 * what is missing when no dialect fits.
 */
export function matchDialect(fields: readonly string[], column?: string): DialectMatch | string {
  const lower = fields.map((f) => f.toLowerCase());
  let why = '';
  for (const d of ASSOC_DIALECTS) {
    if (!d.detect(fields)) continue;
    const find = (names: readonly string[]): number => {
      for (const nm of names) {
        const j = d.anyCase === true ? lower.indexOf(nm) : fields.indexOf(nm);
        if (j >= 0) return j;
      }
      return -1;
    };
    const chrom = find(d.chrom);
    const pos = find(d.pos);
    if (chrom < 0 || pos < 0) {
      why = `a header with a ${chrom < 0 ? `chromosome column (${d.chrom.join(', ')})` : `position column (${d.pos.join(', ')})`}`;
      continue;
    }
    let p: number;
    let scale: PScale;
    if (column !== undefined) {
      p = fields.indexOf(column);
      if (p < 0) return `a column '${column}' (--column)`;
      scale = d.p.find((c) => c.name === column)?.scale ?? scaleOfColumn(column);
    } else {
      const pc = d.p.find((c) => find([c.name]) >= 0);
      if (pc === undefined) {
        why = `a header with a p-value column (${d.p.map((c) => c.name).join(', ')})`;
        continue;
      }
      p = find([pc.name]);
      scale = pc.scale;
    }
    const test = d.test === undefined ? -1 : fields.indexOf(d.test);
    return { dialect: d, chrom, pos, id: find(d.id), p, column: fields[p]!, scale, test };
  }
  return why;
}
