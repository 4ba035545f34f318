// `lmmkit plot manhattan|qq` as calls: read association tables, draw, and
// write every requested file (.svg as is, .png rendered) all or none.
import { basename } from 'node:path';
import { withStagedOutputs } from '../data/atomic.js';
import type { AssocTable } from '../plot/data.js';
import { plotFontFiles } from '../plot/fonts.js';
import { interactiveManhattanHtml } from '../plot/interactive.js';
import { manhattanPlot, type ManhattanOptions, type ManhattanResult } from '../plot/manhattan.js';
import { plotBytes, plotFormat, readAssocFile } from '../plot/node.js';
import type { PngOptions } from '../plot/png.js';
import { qqPlot, type QqOptions, type QqResult, type QqSeries } from '../plot/qq.js';
import { bad, refuseOverwritingInputs } from './options.js';

/**
 * The warning due when PNG files are among `paths` and no font of the plots
 * (DejaVu Sans, Liberation Sans, Arial) is installed nor given; else undefined.
 */
export function missingFontWarning(paths: readonly string[], fontFiles: readonly string[] = []): string | undefined {
  if (fontFiles.length > 0 || !paths.some((p) => plotFormat(p) === 'png') || plotFontFiles().length > 0) return undefined;
  return (
    'no DejaVu Sans, Liberation Sans or Arial font found; PNG text uses any system font resvg finds, or none ' +
    '(Debian: apt-get install fonts-dejavu-core; or set LMMKIT_FONT=FILE.ttf or --font FILE)'
  );
}

/** Writes one SVG document to every path (svg as is, png rendered), all or none; warns through `warn` when PNG text has no font. */
export async function writePlots(svg: string, paths: readonly string[], png: PngOptions = {}, warn?: (line: string) => void): Promise<void> {
  const w = missingFontWarning(paths, png.fontFiles);
  if (w !== undefined) warn?.(w);
  await withStagedOutputs(async (outputs) => {
    for (const p of paths) await outputs.whole(p, await plotBytes(p, svg, png));
  });
}

/** The Manhattan and QQ plots of one results table, written to the given files. */
export async function writeResultPlots(opts: {
  table: AssocTable;
  title?: string;
  manhattan: readonly string[];
  qq: readonly string[];
  manhattanOptions?: ManhattanOptions;
  qqOptions?: QqOptions;
  png?: PngOptions;
  warn?: (line: string) => void;
}): Promise<{ manhattan: ManhattanResult; qq: QqResult }> {
  const { table } = opts;
  const manhattan = manhattanPlot(table, { title: opts.title, ...opts.manhattanOptions });
  await writePlots(manhattan.svg, opts.manhattan, opts.png, opts.warn);
  const qq = qqPlot({ log10p: table.log10p }, { title: opts.title === undefined ? undefined : `QQ plot: ${opts.title}`, ...opts.qqOptions });
  await writePlots(qq.svg, opts.qq, opts.png, opts.warn);
  return { manhattan, qq };
}

/** What the plot read from a results file: which tool's layout, which p-value column and its scale. */
export interface PlotInputReport {
  file: string;
  /** The layout recognised from the header (regenie, gwas-ssf, bolt-lmm, gemma, plink2, lmmkit, plink1, generic). */
  dialect: string;
  /** The p-value column read, and how it is written (p, log10 p or -log10 p). */
  column: string;
  scale: 'p' | 'log10' | 'neglog10';
  rows: number;
  /** The test plotted, when the file has a test column, and the rows of other tests skipped. */
  test?: string;
  otherTests: number;
}

/** The input entry of a plot's report, from the table read. */
export function plotInputReport(t: AssocTable): PlotInputReport {
  return {
    file: t.file,
    dialect: t.dialect,
    column: t.column,
    scale: t.scale,
    rows: t.rows,
    ...(t.test === undefined ? {} : { test: t.test }),
    otherTests: t.otherTests,
  };
}

/** The report's input entry as one line for the log. */
export function describePlotInput(r: PlotInputReport): string {
  const scale = r.scale === 'p' ? 'p-values' : r.scale === 'log10' ? 'log10 p' : '-log10 p';
  const tests = r.test === undefined ? '' : `, test ${r.test}${r.otherTests > 0 ? ` (${r.otherTests} rows of other tests skipped)` : ''}`;
  return `${r.file}: ${r.dialect} layout, ${r.rows} rows, p from column ${r.column} (${scale})${tests}`;
}

/** A plot's default title: the input file name without its extension. */
function defaultTitle(path: string): string {
  return basename(path)
    .replace(/\.gz$/i, '')
    .replace(/\.(tsv|txt|csv|stats|regenie|assoc(\.linear|\.logistic)?)$/i, '')
    .replace(/\.assoc$/i, '');
}

/** The options of both plots (the flags of `lmmkit plot`). */
export interface PlotRunOptions {
  /** Association tables (the TSV of `lmmkit gwas`; one for a Manhattan plot, one series each for a QQ plot). */
  in: readonly string[];
  /** Output files, .svg or .png (and, for the Manhattan plot, .html: the interactive page). */
  out: readonly string[];
  /** The p-value column (default log10p, else pvalue, p, P). */
  column?: string;
  /** Default: the input file name ('' for none). */
  title?: string;
  width?: number;
  height?: number;
  /** PNG pixels per SVG pixel (default 2). */
  scale?: number;
  /** Thin points with p above this on a pixel grid (default 0.01). */
  thinAbove?: number;
  pointRadius?: number;
  /** Font files for the PNG text. */
  font?: readonly string[];
  /** The summary line (default silent). */
  log?: (line: string) => void;
  /** The missing-font warning (default silent). */
  warn?: (line: string) => void;
}

/** Checks --in and --out (at least one of each; outputs .svg or .png, or .html where `html`; none twice) and gathers the PNG options. */
function checkPlotOptions(opts: PlotRunOptions, html = false): { outs: string[]; png: PngOptions } {
  if (opts.in === undefined || opts.in.length === 0) throw bad('plot: --in FILE is required (the TSV of lmmkit gwas)');
  const outs = opts.out;
  if (outs === undefined || outs.length === 0) throw bad('plot: --out FILE is required (.svg or .png; several allowed)');
  for (const o of outs) plotFormat(o, html);
  const dup = outs.find((o, i) => outs.indexOf(o) !== i);
  if (dup !== undefined) throw bad(`--out: ${dup} is given twice`);
  return { outs: [...outs], png: { scale: opts.scale ?? 2, fontFiles: opts.font === undefined ? undefined : [...opts.font] } };
}

/** Options of `runManhattanPlot` (`lmmkit plot manhattan`). */
export interface ManhattanRunOptions extends PlotRunOptions {
  /** Significance line (default 5e-8), null for none. */
  threshold?: number | null;
  /** Suggestive line (default 1e-5), null for none. */
  suggestive?: number | null;
  colors?: readonly string[];
  offset?: number;
  labelTop?: number;
  labelBelow?: number;
  labelWindow?: number;
  yMax?: number;
}

/** Draws the Manhattan plot of one association table and writes it to every --out file; logs the input read and one line. */
export async function runManhattanPlot(opts: ManhattanRunOptions): Promise<ManhattanResult & { input: PlotInputReport }> {
  const { outs, png } = checkPlotOptions(opts, true);
  if (opts.in.length > 1) throw bad('plot manhattan: expected one --in file');
  const pages = outs.filter((o) => plotFormat(o, true) === 'html');
  const pictures = outs.filter((o) => plotFormat(o, true) !== 'html');
  const t0 = performance.now();
  const threshold = opts.threshold === undefined ? 5e-8 : opts.threshold;
  // The interactive page names every point drawn: all ids are kept then (~60 bytes a row).
  const keepIdsBelow = pages.length > 0 ? Infinity : Math.max(opts.labelBelow ?? 0, threshold ?? 5e-8, 1e-5);
  const table = await readAssocFile(opts.in[0]!, { column: opts.column, keepIdsBelow });
  const input = plotInputReport(table);
  opts.log?.(`read ${describePlotInput(input)}`);
  const title = opts.title ?? defaultTitle(opts.in[0]!);
  const plotOptions: ManhattanOptions = {
    title,
    width: opts.width,
    height: opts.height,
    pvThr: threshold,
    suggestive: opts.suggestive === undefined ? 1e-5 : opts.suggestive,
    colors: opts.colors === undefined ? undefined : [...opts.colors],
    offset: opts.offset ?? 0.05,
    labelTop: opts.labelTop ?? 5,
    labelBelow: opts.labelBelow,
    labelWindow: opts.labelWindow ?? 1e6,
    thinAbove: opts.thinAbove ?? 0.01,
    pointRadius: opts.pointRadius,
    yMax: opts.yMax,
  };
  const res = manhattanPlot(table, plotOptions);
  const page = pages.length === 0 ? undefined : manhattanPlot(table, { ...plotOptions, interactive: true });
  await refuseOverwritingInputs(outs, opts.in);
  const w = missingFontWarning(pictures, png.fontFiles);
  if (w !== undefined) opts.warn?.(w);
  await withStagedOutputs(async (outputs) => {
    for (const o of pictures) await outputs.whole(o, await plotBytes(o, res.svg, png));
    if (page !== undefined) {
      const html = new TextEncoder().encode(interactiveManhattanHtml(page, { title: title === '' ? basename(opts.in[0]!) : title }));
      for (const o of pages) await outputs.whole(o, html);
    }
  });
  const p = res.points;
  opts.log?.(
    `manhattan: ${p.total} tests on ${res.chromosomes.length} chromosomes (${p.untested} without a p-value), ${p.drawn} points drawn` +
      `${res.labels.length > 0 ? `, labelled ${res.labels.map((l) => l.id).join(', ')}` : ''} in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${outs.join(', ')}`,
  );
  return { ...res, input };
}

/** Options of `runQqPlot` (`lmmkit plot qq`). */
export interface QqRunOptions extends PlotRunOptions {
  /** Series names, one per --in file (default: the file names). */
  labels?: readonly string[];
  /** Plot only p-values below this (default 1: all). */
  pvThr?: number;
  /** Confidence level of the null band (default 0.95), null for none. */
  band?: number | null;
  /** Join the points of each series by a line. */
  line?: boolean;
}

/** Draws the QQ plot of one or more association tables (one series each) and writes it to every --out file; logs one line. */
export async function runQqPlot(opts: QqRunOptions): Promise<QqResult & { inputs: PlotInputReport[] }> {
  const { outs, png } = checkPlotOptions(opts);
  if (opts.labels !== undefined && opts.labels.length !== opts.in.length) {
    throw bad(`--labels: expected ${opts.in.length} names (one per --in file), found ${opts.labels.length}`);
  }
  const t0 = performance.now();
  const series: QqSeries[] = [];
  const inputs: PlotInputReport[] = [];
  for (const [k, f] of opts.in.entries()) {
    const table = await readAssocFile(f, { column: opts.column, keepIdsBelow: 0 });
    inputs.push(plotInputReport(table));
    opts.log?.(`read ${describePlotInput(inputs[k]!)}`);
    series.push({ log10p: table.log10p, label: opts.labels?.[k] ?? (opts.in.length > 1 ? defaultTitle(f) : undefined) });
  }
  const res = qqPlot(series, {
    title: opts.title ?? (opts.in.length === 1 ? `QQ plot: ${defaultTitle(opts.in[0]!)}` : 'QQ plot'),
    width: opts.width,
    height: opts.height,
    pvThr: opts.pvThr ?? 1,
    band: opts.band === undefined ? 0.95 : opts.band,
    line: opts.line === true,
    thinAbove: opts.thinAbove ?? 0.01,
    pointRadius: opts.pointRadius,
  });
  await refuseOverwritingInputs(outs, opts.in);
  await writePlots(res.svg, outs, png, opts.warn);
  const lam = res.lambdas.map((l, k) => `${series.length > 1 ? `${series[k]!.label}: ` : ''}lambda_GC ${l.toFixed(4)} (${res.points[k]!.total} p-values)`);
  opts.log?.(`qq: ${lam.join('; ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${outs.join(', ')}`);
  return { ...res, inputs };
}
