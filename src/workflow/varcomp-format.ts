// What `runVarcompFit` writes and prints of a fit: the rows of its TSV
// outputs, the JSON of a model, and the readable summaries.
import { formatDecimals, formatSig } from '../data/gwas-dialects.js';
import type { AnovaTable } from '../varcomp/anova.js';
import type { MmEstModel } from '../varcomp/mmest.js';

/** A readable AnovaTest table. */
export function formatAnova(t: AnovaTable): string {
  const w = Math.max(...t.rows.map((r) => r.name.length), 8);
  const kr = t.rows.some((r) => r.ddf !== undefined);
  const out = [
    `${t.test}:`,
    `  ${'term'.padEnd(w)}  ${'statistic'.padStart(12)}  ${'df'.padStart(4)}${kr ? `  ${'ddf'.padStart(9)}` : ''}  ${'p-value'.padStart(11)}`,
  ];
  for (const r of t.rows) {
    out.push(
      `  ${r.name.padEnd(w)}  ${r.statistic.toPrecision(6).padStart(12)}  ${String(r.df).padStart(4)}${kr ? `  ${(r.ddf ?? NaN).toFixed(2).padStart(9)}` : ''}  ${formatP(r.pValue, r.log10PValue).padStart(11)}${r.error === undefined ? '' : `  (${r.error})`}`,
    );
  }
  return out.join('\n');
}

/** A p-value as text, from its log10 where the double underflows. */
function formatP(p: number, log10p: number): string {
  if (p > 0) return p.toExponential(3);
  if (!Number.isFinite(log10p)) return String(p);
  const e = Math.floor(log10p);
  return `${(10 ** (log10p - e)).toFixed(3)}e${e}`;
}

/**
 * One model's TSV fields: a placeholder name, nbit, converged, loglik,
 * sigma2..., beta names, beta, se. Numbers as `lmmkit gwas` writes them (6
 * significant digits) but the log-likelihood, which is differenced between
 * models (an LRT of 2 x the difference): 6 decimal places, whatever its size.
 */
export function markerRow(m: MmEstModel): string[] {
  const se = Array.from(m.beta, (_, k) => Math.sqrt(m.varBeta.get(k, k)));
  const f = (x: number): string => formatSig(x);
  return [
    '',
    String(m.nbIt),
    m.converged ? 'true' : 'false',
    formatDecimals(m.logLik, 6),
    ...Array.from(m.sigma2, f),
    m.columnNames.join(';'),
    Array.from(m.beta, f).join(';'),
    se.map(f).join(';'),
  ];
}

/** One model as the JSON outputs hold it. */
export function modelJson(m: MmEstModel): Record<string, unknown> {
  return {
    betaNames: m.columnNames,
    beta: Array.from(m.beta),
    sigma2Names: m.sigma2Names,
    sigma2: Array.from(m.sigma2),
    varBeta: m.varBeta.toArray(),
    logLikName: m.logLikName,
    logLik: m.logLik,
    logLikLme4: m.logLikLme4,
    method: m.method,
    nbIt: m.nbIt,
    converged: m.converged,
    attr: Array.from(m.attr),
    factors: m.factors,
    dropped: m.dropped,
  };
}

/** A readable summary of one fit. */
export function formatModel(m: MmEstModel, path: string, seconds: number): string {
  const w = Math.max(...m.columnNames.map((s) => s.length), ...m.sigma2Names.map((s) => s.length), 8);
  const out = [
    `${m.method === 'reml' ? 'REML' : 'ML'} fit (${path} path): ${m.nbIt} iterations${m.converged ? '' : ' (not converged)'}, ${m.logLikName} = ${m.logLik.toFixed(4)}, ${seconds.toFixed(2)} s`,
  ];
  out.push('variance components:');
  m.sigma2Names.forEach((nm, k) => {
    out.push(`  ${nm.padEnd(w)}  ${m.sigma2[k]!.toPrecision(6)}`);
  });
  out.push('fixed effects:                 estimate        s.e.');
  m.columnNames.forEach((nm, k) => {
    out.push(`  ${nm.padEnd(w)}  ${m.beta[k]!.toPrecision(6).padStart(12)}  ${Math.sqrt(m.varBeta.get(k, k)).toPrecision(4).padStart(10)}`);
  });
  if (m.dropped.length > 0) out.push(`aliased columns dropped: ${m.dropped.join(', ')}`);
  return out.join('\n');
}
