// The rows of a GWAS output (PREFIX.<trait>.tsv): one layout per kind of
// test, formatted from the scan's batches, the top hits noted on the way.
import { formatNumber } from '../data/write-tsv.js';
import type { GwasBatchResult } from '../scan/gwas.js';
import type { GwasHit } from './gwas-report.js';
import { noteHit } from './report.js';

/** The output layouts: one variant per row, joint tests of several columns, or the exact test's columns. */
export type GwasLayout = 'single' | 'multi' | 'exact';

const HEADERS = {
  single: ['chrom', 'pos', 'id', 'a1', 'a2', 'af', 'n', 'beta', 'se', 'stat', 'pvalue', 'log10p'],
  multi: ['chrom', 'pos', 'id', 'chrom_last', 'pos_last', 'id_last', 'variants', 'df', 'af', 'n', 'beta', 'se', 'stat', 'pvalue', 'log10p'],
  exact: [
    'chrom',
    'pos',
    'id',
    'a1',
    'a2',
    'af',
    'n',
    'beta',
    'se',
    'stat',
    'pvalue',
    'log10p',
    'lambda',
    'p_wald',
    'log10p_wald',
    'p_lrt',
    'log10p_lrt',
    'p_score',
    'log10p_score',
  ],
} as const;

/** The TSV header of each output layout. */
export const GWAS_TSV_HEADERS: { readonly [k in keyof typeof HEADERS]: readonly string[] } = HEADERS;

/**
 * The TSV rows of one batch in `layout` (blocks of `step` variants for
 * 'multi'), counting tests and untestable ones into `counts` and noting the
 * best into `top`.
 */
export function formatBatch(batch: GwasBatchResult, layout: GwasLayout, step: number, counts: { tests: number; untestable: number }, top: GwasHit[]): string {
  const v = batch.variants;
  const f = formatNumber;
  const lines: string[] = [];
  if (layout === 'exact') {
    const e = batch.exact!;
    for (let j = 0; j < batch.indices.length; j++) {
      lines.push(
        [
          v.chrom[j],
          f(v.pos[j]!),
          v.id[j],
          v.a1[j],
          v.a2[j],
          f(batch.af[j]!),
          String(batch.n[j]!),
          f(e.beta[j]!),
          f(e.se[j]!),
          f(e.fWald[j]!),
          f(e.pWald[j]!),
          f(e.log10pWald[j]!),
          f(e.lambdaReml[j]!),
          f(e.pWald[j]!),
          f(e.log10pWald[j]!),
          f(e.pLrt[j]!),
          f(e.log10pLrt[j]!),
          f(e.pScore[j]!),
          f(e.log10pScore[j]!),
        ].join('\t'),
      );
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
        lines.push(
          [
            v.chrom[j0],
            f(v.pos[j0]!),
            v.id[j0],
            v.a1[j0],
            v.a2[j0],
            f(batch.af[j0]!),
            String(batch.n[j0]!),
            f(beta0),
            f(r.betaSte.data[t * m]!),
            f(r.lrt[t]!),
            f(r.pv[t]!),
            f(r.log10pv[t]!),
          ].join('\t'),
        );
      } else {
        const df = r.df[t]!;
        const list = (a: Float64Array, from: number): string => Array.from(a.subarray(from, from + df), f).join(';');
        const range = (a: ArrayLike<number>): string => Array.from({ length: j1 - j0 + 1 }, (_, k) => f(a[j0 + k]!)).join(';');
        lines.push(
          [
            v.chrom[j0],
            f(v.pos[j0]!),
            v.id[j0],
            v.chrom[j1],
            f(v.pos[j1]!),
            v.id[j1],
            String(j1 - j0 + 1),
            String(df),
            range(batch.af),
            range(batch.n),
            list(r.beta.data, t * m),
            list(r.betaSte.data, t * m),
            f(r.lrt[t]!),
            f(r.pv[t]!),
            f(r.log10pv[t]!),
          ].join('\t'),
        );
      }
      if (Number.isNaN(r.pv[t]!)) counts.untestable++;
      noteHit(top, { chrom: v.chrom[j0]!, pos: v.pos[j0]!, id: v.id[j0]!, idLast: v.id[j1]!, beta: beta0, pvalue: r.pv[t]!, log10p: r.log10pv[t]! });
    }
    counts.tests += r.tests;
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
