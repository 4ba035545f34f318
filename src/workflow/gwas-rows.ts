// The rows of a GWAS output (PREFIX.<trait>.tsv): one layout per kind of
// test, formatted from the scan's batches, the top hits noted on the way.
import { formatFreq, formatNegLog10, formatP, formatSig, type GwasOutRow, LMMKIT_EXACT_EXTRA, LMMKIT_HEADER } from '../data/gwas-dialects.js';
import type { GwasBatchResult } from '../scan/gwas.js';
import type { GwasHit } from './gwas-report.js';
import type { OutLine } from './gwas-lines.js';
import { noteHit } from './report.js';

/** The output layouts: one variant per row, joint tests of several columns, or the exact test's columns. */
export type GwasLayout = 'single' | 'multi' | 'exact';

/** lmmkit's header of the joint tests (one row per block of variants; the lmmkit dialect only). */
export const GWAS_MULTI_HEADER = [
  'chrom',
  'pos',
  'id',
  'chrom_last',
  'pos_last',
  'id_last',
  'variants',
  'df',
  'eaf',
  'n',
  'beta',
  'se',
  'stat',
  'pvalue',
  'neg_log10_p',
] as const;

/** What one batch gives the output tables: single-variant rows (every dialect formats them) or lmmkit's joint-test lines. */
export interface BatchRows {
  rows: GwasOutRow[];
  multi: OutLine[];
}

/**
 * The rows of one batch in `layout` (blocks of `step` variants for
 * 'multi'), counting tests and untestable ones into `counts` and noting the
 * best into `top`; `samples` is the trait's sample count (GEMMA's n_miss).
 */
export function formatBatch(
  batch: GwasBatchResult,
  layout: GwasLayout,
  step: number,
  samples: number,
  counts: { tests: number; untestable: number },
  top: GwasHit[],
): BatchRows {
  const v = batch.variants;
  const f = (x: number): string => formatSig(x);
  const rows: GwasOutRow[] = [];
  const multi: OutLine[] = [];
  if (layout === 'exact') {
    const e = batch.exact!;
    for (let j = 0; j < batch.indices.length; j++) {
      rows.push({
        chrom: v.chrom[j]!,
        pos: v.pos[j]!,
        id: v.id[j]!,
        a1: v.a1[j]!,
        a2: v.a2[j]!,
        af: batch.af[j]!,
        n: batch.n[j]!,
        samples,
        beta: e.beta[j]!,
        se: e.se[j]!,
        stat: e.fWald[j]!,
        pvalue: e.pWald[j]!,
        log10p: e.log10pWald[j]!,
        exact: {
          lambdaReml: e.lambdaReml[j]!,
          lambdaMl: e.lambdaMl[j]!,
          logLikH1: e.logLikH1[j]!,
          pWald: e.pWald[j]!,
          log10pWald: e.log10pWald[j]!,
          pLrt: e.pLrt[j]!,
          log10pLrt: e.log10pLrt[j]!,
          pScore: e.pScore[j]!,
          log10pScore: e.log10pScore[j]!,
        },
      });
      if (Number.isNaN(e.pWald[j]!)) counts.untestable++;
      noteHit(top, { chrom: v.chrom[j]!, pos: v.pos[j]!, id: v.id[j]!, idLast: v.id[j]!, beta: e.beta[j]!, pvalue: e.pWald[j]!, log10p: e.log10pWald[j]! });
    }
    counts.tests += batch.indices.length;
  } else {
    const r = batch.fixed!;
    const m = r.beta.rows;
    for (let t = 0; t < r.tests; t++) {
      const j0 = t * step;
      const j1 = Math.min(batch.indices.length, j0 + step) - 1;
      const beta0 = r.beta.data[t * m]!;
      if (layout === 'single') {
        rows.push({
          chrom: v.chrom[j0]!,
          pos: v.pos[j0]!,
          id: v.id[j0]!,
          a1: v.a1[j0]!,
          a2: v.a2[j0]!,
          af: batch.af[j0]!,
          n: batch.n[j0]!,
          samples,
          beta: beta0,
          se: r.betaSte.data[t * m]!,
          stat: r.lrt[t]!,
          pvalue: r.pv[t]!,
          log10p: r.log10pv[t]!,
        });
      } else {
        const df = r.df[t]!;
        const list = (a: Float64Array, from: number): string => Array.from(a.subarray(from, from + df), f).join(';');
        const line = [
          v.chrom[j0],
          String(v.pos[j0]!),
          v.id[j0],
          v.chrom[j1],
          String(v.pos[j1]!),
          v.id[j1],
          String(j1 - j0 + 1),
          String(df),
          Array.from({ length: j1 - j0 + 1 }, (_, k) => formatFreq(batch.af[j0 + k]!, batch.n[j0 + k]!)).join(';'),
          Array.from({ length: j1 - j0 + 1 }, (_, k) => String(batch.n[j0 + k]!)).join(';'),
          list(r.beta.data, t * m),
          list(r.betaSte.data, t * m),
          f(r.lrt[t]!),
          formatP(r.pv[t]!, r.log10pv[t]!),
          formatNegLog10(r.log10pv[t]!, 'NA', 4),
        ].join('\t');
        multi.push({ chrom: v.chrom[j0]!, pos: v.pos[j0]!, line });
      }
      if (Number.isNaN(r.pv[t]!)) counts.untestable++;
      noteHit(top, { chrom: v.chrom[j0]!, pos: v.pos[j0]!, id: v.id[j0]!, idLast: v.id[j1]!, beta: beta0, pvalue: r.pv[t]!, log10p: r.log10pv[t]! });
    }
    counts.tests += r.tests;
  }
  return { rows, multi };
}

/** lmmkit's TSV header of each output layout (the default dialect). */
export const GWAS_TSV_HEADERS: { readonly [k in GwasLayout]: readonly string[] } = {
  single: LMMKIT_HEADER,
  multi: GWAS_MULTI_HEADER,
  exact: [...LMMKIT_HEADER, ...LMMKIT_EXACT_EXTRA],
};
