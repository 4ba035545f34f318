// The column layouts ("dialects") a GWAS result table is written in: lmmkit's
// own and those of the tools the field reads (GWAS-SSF, regenie, plink2
// --glm, GEMMA). One row record per test, formatted by each dialect.
// Browser-safe (no node: imports).
import { chromCode } from './chrom.js';

/** The output dialects of `lmmkit gwas --out-format`. */
export const OUT_FORMATS = ['lmmkit', 'gwas-ssf', 'regenie', 'plink2', 'gemma'] as const;
/** One output dialect. */
export type OutFormat = (typeof OUT_FORMATS)[number];

/** GEMMA's exact tests of each row, per variant (present for `--test exact`). */
export interface ExactRowParts {
  lambdaReml: number;
  lambdaMl: number;
  logLikH1: number;
  pWald: number;
  log10pWald: number;
  pLrt: number;
  log10pLrt: number;
  pScore: number;
  log10pScore: number;
}

/**
 * One single-variant test as every dialect needs it. `a1` is the counted
 * allele (the dosage counts it) and so the effect allele; `log10p` is log10
 * of the p-value (<= 0, finite where `pvalue` underflows to 0).
 */
export interface GwasOutRow {
  chrom: string;
  pos: number;
  id: string;
  a1: string;
  a2: string;
  /** Frequency of a1 among the trait's samples with a genotype. */
  af: number;
  /** Samples with a genotype. */
  n: number;
  /** The trait's samples (n + missing genotypes). */
  samples: number;
  beta: number;
  se: number;
  /** The test statistic: the LRT chi-square (`--test fixed`) or the Wald F (`--test exact`). */
  stat: number;
  pvalue: number;
  log10p: number;
  exact?: ExactRowParts;
}

/**
 * A number with 6 significant digits, trailing zeros dropped (C's `%g`, as
 * plink2 writes): 6 digits carry a statistic far beyond its sampling error,
 * and cost half the bytes of the 17 that round-trip a double. `na` for NaN.
 */
export function formatSig(x: number, na = 'NA', digits = 6): string {
  if (Number.isNaN(x)) return na;
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return String(Number(x.toPrecision(digits)));
}

/**
 * An allele frequency among `n` samples (2n allele copies) to the precision
 * the sample gives: as many significant digits as 2n has (at most 6), which
 * is enough to recover the allele count k = round(eaf * 2n) from the text
 * (the rounding error stays below half an allele, 0.5 / 2n), and no more:
 * digits beyond one allele in 2n are noise a compressor cannot remove (they
 * were a twelfth of the --gz bytes of the chr22 scan). Dosage data give a
 * frequency between counts, to the same resolution.
 */
export function formatFreq(eaf: number, n: number, na = 'NA'): string {
  if (!(n > 0)) return formatSig(eaf, na);
  return formatSig(eaf, na, Math.min(6, String(Math.round(2 * n)).length));
}

/** The smallest p-value written as a number; below it the text comes from log10 p. */
export const SMALLEST_PRINTED_P = 1e-300;

/**
 * A p-value as text with 6 (or `digits`) significant digits: the number itself down to
 * 1e-300, and below that (where doubles lose precision, then underflow to
 * 0) the mantissa and exponent computed from `log10p`, e.g. `1.23e-412`, as
 * regenie and plink2 do. `na` when both are NaN.
 */
export function formatP(p: number, log10p: number, na = 'NA', digits = 6): string {
  if (p >= SMALLEST_PRINTED_P || (Number.isNaN(log10p) && !Number.isNaN(p))) return formatSig(p, na, digits);
  if (Number.isNaN(log10p)) return na;
  if (log10p === -Infinity) return '0';
  let e = Math.floor(log10p);
  let m = Number((10 ** (log10p - e)).toPrecision(Math.min(digits, 15)));
  if (m >= 10) {
    m /= 10;
    e += 1;
  }
  return `${String(m)}e${e}`;
}

/**
 * -log10 p (0, never -0, for p = 1): with 6 (or `digits`) significant digits, or with
 * `decimals` given, that many decimal places, trailing zeros dropped
 * (lmmkit's column, a plotting and ranking aid beside the p-value's 6
 * digits, takes 4: -log10 p to 1e-4 is p to 0.023%).
 */
export function formatNegLog10(log10p: number, na = 'NA', decimals?: number, digits = 6): string {
  if (Number.isNaN(log10p)) return na;
  if (log10p === 0) return '0';
  if (decimals === undefined) return formatSig(-log10p, na, digits);
  return formatDecimals(-log10p, decimals, na);
}

/**
 * A number to `decimals` decimal places, trailing zeros dropped, never -0:
 * for quantities whose absolute precision matters, such as a
 * log-likelihood that is differenced into a likelihood-ratio statistic.
 */
export function formatDecimals(x: number, decimals: number, na = 'NA'): string {
  if (Number.isNaN(x)) return na;
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const s = x.toFixed(decimals);
  const t = s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  return t === '-0' ? '0' : t;
}

/** lmmkit's -log10 p column: 4 decimal places (see `formatNegLog10`). */
const nlp = (log10p: number): string => formatNegLog10(log10p, 'NA', 4);

/** C's `%.{digits}e` (GEMMA's number format): a two-digit exponent at least. */
function formatExp(x: number, digits: number, na: string): string {
  if (Number.isNaN(x)) return na;
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const s = x.toExponential(digits);
  const k = s.indexOf('e');
  const sign = s[k + 1]!;
  const exp = s.slice(k + 2);
  return `${s.slice(0, k)}e${sign}${exp.length < 2 ? `0${exp}` : exp}`;
}

/** How a dialect writes one table: its file name suffix, header and rows. */
export interface Dialect {
  format: OutFormat;
  /** PREFIX.<trait> + this: the file name (before any `.gz`). */
  suffix: string;
  /** The header line (no newline). */
  header: string;
  /** One row (no newline). */
  row(r: GwasOutRow): string;
}

/** Which of lmmkit's test layouts a dialect is asked for (see `dialect`). */
export type DialectLayout = 'single' | 'exact';

/** What the choice of a layout needs to know about the run. */
export interface DialectOptions {
  layout: DialectLayout;
  /** With `layout` 'exact': whether only the Wald test ran (GEMMA -lmm 1) or all three (-lmm 4). */
  exactTests?: 'all' | 'wald';
  /**
   * Significant digits of lmmkit's own table (default 6, with eaf to one
   * allele in 2n and -log10 p to 4 decimals); 17 writes every number so
   * that it reads back as the same double, for checks against another
   * tool at any precision. The other dialects print as their tools do.
   */
  digits?: number;
}

/** The most significant digits a double needs to read back unchanged. */
export const MAX_DIGITS = 17;

/** lmmkit's own single-variant header (the effect allele is the counted a1). */
export const LMMKIT_HEADER = ['chrom', 'pos', 'id', 'effect_allele', 'other_allele', 'eaf', 'n', 'beta', 'se', 'pvalue', 'neg_log10_p'] as const;
/** The columns the exact test adds to lmmkit's header. */
export const LMMKIT_EXACT_EXTRA = ['lambda', 'p_wald', 'neg_log10_p_wald', 'p_lrt', 'neg_log10_p_lrt', 'p_score', 'neg_log10_p_score'] as const;
/** GWAS-SSF v1.0's mandatory columns in order, then the encouraged ones lmmkit fills. */
export const GWAS_SSF_HEADER = [
  'chromosome',
  'base_pair_location',
  'effect_allele',
  'other_allele',
  'beta',
  'standard_error',
  'effect_allele_frequency',
  'p_value',
  'variant_id',
  'rsid',
  'n',
] as const;
/** regenie's step 2 columns (its documentation, without the EXTRA column). */
export const REGENIE_HEADER = ['CHROM', 'GENPOS', 'ID', 'ALLELE0', 'ALLELE1', 'A1FREQ', 'N', 'TEST', 'BETA', 'SE', 'CHISQ', 'LOG10P'] as const;
/** plink2 2.00a's default `--glm` columns for a quantitative trait (.glm.linear), with A1_FREQ added. */
export const PLINK2_HEADER = ['#CHROM', 'POS', 'ID', 'REF', 'ALT', 'A1', 'A1_FREQ', 'TEST', 'OBS_CT', 'BETA', 'SE', 'T_STAT', 'P', 'ERRCODE'] as const;
/** GEMMA 0.98's `.assoc.txt` columns of `-lmm 1` (Wald) and `-lmm 4` (all tests). */
export const GEMMA_HEADERS = {
  wald: ['chr', 'rs', 'ps', 'n_miss', 'allele1', 'allele0', 'af', 'beta', 'se', 'logl_H1', 'l_remle', 'p_wald'],
  all: ['chr', 'rs', 'ps', 'n_miss', 'allele1', 'allele0', 'af', 'beta', 'se', 'logl_H1', 'l_remle', 'l_mle', 'p_wald', 'p_lrt', 'p_score'],
} as const;

/**
 * GWAS-SSF's chromosome: 1..22, X = 23, Y = 24, MT = 25 (the pseudo-autosomal
 * XY, plink2's 25, is written as X, 23); undefined for any other contig,
 * which GWAS-SSF has no code for.
 */
export function gwasSsfChrom(name: string): number | undefined {
  const c = chromCode(name);
  if (c === undefined) return undefined;
  if (c === 25) return 23;
  if (c === 26) return 25;
  return c;
}

const RSID = /^rs[0-9]+$/;

/**
 * The writer of `format` for a run's layout. The multi-variant layout
 * (`--step`, `--inter`) exists in lmmkit's dialect only; GEMMA's files hold
 * its exact tests only (`--test exact`): callers check this with
 * `dialectRefusal` first.
 */
export function dialect(format: OutFormat, o: DialectOptions): Dialect {
  const exact = o.layout === 'exact';
  switch (format) {
    case 'lmmkit': {
      const d = o.digits;
      const sig = d === undefined ? (x: number) => formatSig(x) : (x: number) => formatSig(x, 'NA', d);
      const freq = d === undefined ? (x: number, n: number) => formatFreq(x, n) : (x: number) => formatSig(x, 'NA', d);
      const pval = (p: number, lp: number) => formatP(p, lp, 'NA', d ?? 6);
      const nl = d === undefined ? nlp : (lp: number) => formatNegLog10(lp, 'NA', undefined, d);
      return {
        format,
        suffix: '.tsv',
        header: (exact ? [...LMMKIT_HEADER, ...LMMKIT_EXACT_EXTRA] : LMMKIT_HEADER).join('\t'),
        row: (r) => {
          const base = [r.chrom, String(r.pos), r.id, r.a1, r.a2, freq(r.af, r.n), String(r.n), sig(r.beta), sig(r.se), pval(r.pvalue, r.log10p), nl(r.log10p)];
          const e = r.exact;
          if (e === undefined) return base.join('\t');
          return [
            ...base,
            sig(e.lambdaReml),
            pval(e.pWald, e.log10pWald),
            nl(e.log10pWald),
            pval(e.pLrt, e.log10pLrt),
            nl(e.log10pLrt),
            pval(e.pScore, e.log10pScore),
            nl(e.log10pScore),
          ].join('\t');
        },
      };
    }
    case 'gwas-ssf': {
      const na = '#NA';
      return {
        format,
        suffix: '.gwas-ssf.tsv',
        header: GWAS_SSF_HEADER.join('\t'),
        row: (r) =>
          [
            String(gwasSsfChrom(r.chrom) ?? na),
            String(r.pos),
            r.a1,
            r.a2,
            formatSig(r.beta, na),
            formatSig(r.se, na),
            formatFreq(r.af, r.n, na),
            formatP(r.pvalue, r.log10p, na),
            r.id === '' || r.id === '.' ? na : r.id,
            RSID.test(r.id) ? r.id : na,
            String(r.n),
          ].join('\t'),
      };
    }
    case 'regenie':
      // regenie writes space-separated columns, the effect allele as ALLELE1.
      return {
        format,
        suffix: '.regenie',
        header: REGENIE_HEADER.join(' '),
        row: (r) => {
          const chisq = exact ? (r.beta / r.se) ** 2 : r.stat;
          return [
            r.chrom,
            String(r.pos),
            r.id,
            r.a2,
            r.a1,
            formatSig(r.af),
            String(r.n),
            'ADD',
            formatSig(r.beta),
            formatSig(r.se),
            formatSig(chisq),
            formatNegLog10(r.log10p),
          ].join(' ');
        },
      };
    case 'plink2':
      // plink2 reads a .bed's A1 (our a1, counted) as ALT and A2 as REF; its A1 column is the counted allele.
      return {
        format,
        suffix: '.glm.linear',
        header: PLINK2_HEADER.join('\t'),
        row: (r) =>
          [
            r.chrom,
            String(r.pos),
            r.id,
            r.a2,
            r.a1,
            r.a1,
            formatSig(r.af),
            'ADD',
            String(r.n),
            formatSig(r.beta),
            formatSig(r.se),
            formatSig(r.beta / r.se),
            formatP(r.pvalue, r.log10p),
            Number.isNaN(r.pvalue) ? 'UNFINISHED' : '.',
          ].join('\t'),
      };
    case 'gemma': {
      const all = o.exactTests !== 'wald';
      const e6 = (x: number) => formatExp(x, 6, 'nan');
      return {
        format,
        suffix: '.assoc.txt',
        header: GEMMA_HEADERS[all ? 'all' : 'wald'].join('\t'),
        row: (r) => {
          const e = r.exact!;
          const head = [
            r.chrom,
            r.id,
            String(r.pos),
            String(r.samples - r.n),
            r.a1,
            r.a2,
            Number.isNaN(r.af) ? 'nan' : r.af.toFixed(3),
            e6(r.beta),
            e6(r.se),
            e6(e.logLikH1),
            e6(e.lambdaReml),
          ];
          return (all ? [...head, e6(e.lambdaMl), e6(e.pWald), e6(e.pLrt), e6(e.pScore)] : [...head, e6(e.pWald)]).join('\t');
        },
      };
    }
  }
}

/**
 * Why `format` cannot hold this run's results, or undefined when it can:
 * the joint tests (`--step`, `--inter`) exist in lmmkit's layout only, and
 * GEMMA's `.assoc.txt` holds its exact tests only.
 */
export function dialectRefusal(format: OutFormat, layout: 'single' | 'multi' | 'exact'): string | undefined {
  if (layout === 'multi' && format !== 'lmmkit')
    return `${format} has one variant per row: joint tests (--step > 1, --inter) are written in the lmmkit format only`;
  if (format === 'gemma' && layout !== 'exact')
    return "gemma's .assoc.txt columns are those of its tests, which re-estimate lambda per variant: use --test exact (GEMMA -lmm 4, or -lmm 1 with --exact-tests wald)";
  return undefined;
}

/**
 * Parses a `--out-format` value: one or several dialects, comma-separated,
 * each once; throws the message for an `ArgumentError` (via `bad`) on
 * anything else.
 */
export function parseOutFormats(text: string): OutFormat[] | string {
  const parts = text.split(',').map((s) => s.trim());
  const out: OutFormat[] = [];
  for (const p of parts) {
    if (!(OUT_FORMATS as readonly string[]).includes(p))
      return `--out-format: expected a comma-separated list of ${OUT_FORMATS.join(', ')}, found '${p}' in '${text}'`;
    if (out.includes(p as OutFormat)) return `--out-format: '${p}' given twice in '${text}'`;
    out.push(p as OutFormat);
  }
  return out;
}
