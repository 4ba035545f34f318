import { basename } from 'node:path';
import { Command } from 'commander';
import type { AssocTable } from '../plot/data.js';
import { manhattanPlot, type ManhattanOptions, type ManhattanResult } from '../plot/manhattan.js';
import { plotFormat, readAssocFile, writePlot } from '../plot/node.js';
import { plotFontFiles } from '../plot/fonts.js';
import type { PngOptions } from '../plot/png.js';
import { qqPlot, type QqOptions, type QqResult, type QqSeries } from '../plot/qq.js';
import { bad, integer, number } from './common.js';

/** A p-value option that also takes `none`. */
function pOrNone(flag: string): (v: string) => number | null {
  return (v) => {
    if (v === 'none') return null;
    const n = number(flag)(v);
    if (!(n > 0 && n <= 1)) throw bad(`${flag}: expected a p-value in (0, 1] or 'none', found '${v}'`);
    return n;
  };
}

let warned = false;
/** One line on stderr when a PNG is written and none of the plots' fonts is installed. */
export function warnIfNoFont(paths: readonly string[], fontFiles: readonly string[] = []): void {
  if (warned || fontFiles.length > 0 || !paths.some((p) => plotFormat(p) === 'png') || plotFontFiles().length > 0) return;
  warned = true;
  console.error('lmmkit: warning: no DejaVu Sans, Liberation Sans or Arial font found; PNG text uses any system font resvg finds, or none ' +
    '(Debian: apt-get install fonts-dejavu-core; or set LMMKIT_FONT=FILE.ttf or --font FILE)');
}

/** Checks the --out list: at least one, each .svg or .png, no duplicates. */
function checkOuts(outs: readonly string[] | undefined): string[] {
  if (outs === undefined || outs.length === 0) throw bad('plot: --out FILE is required (.svg or .png; several allowed)');
  for (const o of outs) plotFormat(o);
  const dup = outs.find((o, i) => outs.indexOf(o) !== i);
  if (dup !== undefined) throw bad(`--out: ${dup} is given twice`);
  return [...outs];
}

/** Writes one SVG document to every path (svg as is, png rendered). */
export async function writePlots(svg: string, paths: readonly string[], png: PngOptions = {}): Promise<void> {
  warnIfNoFont(paths, png.fontFiles);
  for (const p of paths) await writePlot(p, svg, png);
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
}): Promise<{ manhattan: ManhattanResult; qq: QqResult }> {
  const { table } = opts;
  const manhattan = manhattanPlot(table, { title: opts.title, ...opts.manhattanOptions });
  await writePlots(manhattan.svg, opts.manhattan, opts.png);
  const qq = qqPlot({ log10p: table.log10p }, { title: opts.title === undefined ? undefined : `QQ plot: ${opts.title}`, ...opts.qqOptions });
  await writePlots(qq.svg, opts.qq, opts.png);
  return { manhattan, qq };
}

function defaultTitle(path: string): string {
  return basename(path).replace(/\.gz$/i, '').replace(/\.(tsv|txt|csv|assoc(\.linear|\.logistic)?)$/i, '');
}

interface CommonOpts {
  in: string[];
  out: string[];
  column?: string;
  title?: string;
  width?: number;
  height?: number;
  scale: number;
  thinAbove: number;
  pointRadius?: number;
  font?: string[];
}

function withCommon(cmd: Command, inHelp: string): Command {
  return cmd
    .option('--in <file...>', inHelp)
    .option('--out <file...>', 'output files, .svg or .png (several allowed: --out a.svg a.png)')
    .option('--column <name>', 'p-value column: a log10 p column when its name starts with log10 (default: log10p, else pvalue, p, P)')
    .option('--title <text>', 'title (default: the input file name; \'\' for none)')
    .option('--width <px>', 'width of the picture in SVG pixels', number('--width'))
    .option('--height <px>', 'height of the picture in SVG pixels', number('--height'))
    .option('--scale <k>', 'PNG pixels per SVG pixel', number('--scale'), 2)
    .option('--thin-above <p>', 'thin points with p above this on a pixel grid (all below are drawn)', number('--thin-above'), 0.01)
    .option('--point-radius <px>', 'point radius', number('--point-radius'))
    .option('--font <file...>', 'font files (.ttf/.otf) for the PNG text (default: DejaVu Sans, Liberation Sans or Arial where installed)');
}

function need(opts: CommonOpts): { outs: string[]; png: PngOptions } {
  if (opts.in === undefined || opts.in.length === 0) throw bad('plot: --in FILE is required (the TSV of lmmkit gwas)');
  return { outs: checkOuts(opts.out), png: { scale: opts.scale, fontFiles: opts.font } };
}

const MANHATTAN_HELP = `
Reads the TSV that 'lmmkit gwas' writes (columns chrom, pos, id and log10p,
any layout; other tables with CHR/BP/SNP/P columns too, plain or gzip) and
draws chromosomes in natural order (1..22, X, Y, MT, others) with alternating
colours, -log10 p on the y axis (from log10p, so p-values below 1e-308 are
placed right), the genome-wide line at 5e-8 (red), the suggestive line at
1e-5 (dashed), and the ids of the best hit of each locus below the
threshold. Points with p above --thin-above are thinned on a pixel grid: the
picture looks the same, 10 million variants render in about a second and
the SVG stays ~1 MB.

Example:
  lmmkit plot manhattan --in res.trait.tsv --out res.manhattan.png res.manhattan.svg`;

const QQ_HELP = `
Observed against expected -log10 p with the 95% band of the order statistics
under the null (of the first series) and lambda_GC of each series (median
chi2_1 statistic / 0.4549); several --in files are drawn as several series.
--pv-thr 0.01 draws only the p-values below 0.01 against the uniform on
(0, 0.01) (limix-lmm's qqplot default).

Example:
  lmmkit plot qq --in res.trait1.tsv res.trait2.tsv --labels trait1 trait2 --out qq.png`;

/** `lmmkit plot manhattan|qq`. */
export function plotCommand(): Command {
  const plot = new Command('plot').description('Manhattan and QQ plots of association results, as SVG or PNG');

  const manhattan = withCommon(new Command('manhattan'), 'association results (the TSV of lmmkit gwas)')
    .description('Manhattan plot: -log10 p along the genome')
    .option('--threshold <p>', 'significance line (limix-lmm pv_thr), or none', pOrNone('--threshold'), 5e-8)
    .option('--suggestive <p>', 'suggestive line, or none', pOrNone('--suggestive'), 1e-5)
    .option('--colors <list>', 'comma-separated colours that alternate over the chromosomes (CSS colours)')
    .option('--offset <f>', 'gap between chromosomes, as a fraction of the longest', number('--offset'), 0.05)
    .option('--label-top <n>', 'label this many top hits (one per locus) with their ids', integer('--label-top'), 5)
    .option('--label-below <p>', 'label only hits with p below this (default: --threshold)', number('--label-below'))
    .option('--label-window <bp>', 'hits closer than this to a labelled one are the same locus', number('--label-window'), 1e6)
    .option('--y-max <y>', 'top of the y axis in -log10 p (larger values are drawn at the top)', number('--y-max'))
    .addHelpText('after', MANHATTAN_HELP)
    .action(async (opts: CommonOpts & {
      threshold: number | null; suggestive: number | null; colors?: string; offset: number;
      labelTop: number; labelBelow?: number; labelWindow: number; yMax?: number;
    }) => {
      const { outs, png } = need(opts);
      if (opts.in.length > 1) throw bad('plot manhattan: expected one --in file');
      const t0 = performance.now();
      const table = await readAssocFile(opts.in[0]!, { column: opts.column, keepIdsBelow: Math.max(opts.labelBelow ?? 0, opts.threshold ?? 5e-8, 1e-5) });
      const res = manhattanPlot(table, {
        title: opts.title ?? defaultTitle(opts.in[0]!), width: opts.width, height: opts.height,
        pvThr: opts.threshold, suggestive: opts.suggestive,
        colors: opts.colors === undefined ? undefined : opts.colors.split(',').map((c) => c.trim()).filter((c) => c !== ''),
        offset: opts.offset, labelTop: opts.labelTop, labelBelow: opts.labelBelow, labelWindow: opts.labelWindow,
        thinAbove: opts.thinAbove, pointRadius: opts.pointRadius, yMax: opts.yMax,
      });
      await writePlots(res.svg, outs, png);
      const p = res.points;
      console.log(`manhattan: ${p.total} tests on ${res.chromosomes.length} chromosomes (${p.untested} without a p-value), ${p.drawn} points drawn` +
        `${res.labels.length > 0 ? `, labelled ${res.labels.map((l) => l.id).join(', ')}` : ''} in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${outs.join(', ')}`);
    });

  const qq = withCommon(new Command('qq'), 'association results, one series per file')
    .description('QQ plot: observed against expected -log10 p, with lambda_GC')
    .option('--labels <name...>', 'series names, one per --in file (default: the file names)')
    .option('--pv-thr <p>', 'plot only p-values below this (limix-lmm pv_thr; default 1: all)', number('--pv-thr'), 1)
    .option('--band <level>', 'confidence level of the null band, or none', (v: string) => (v === 'none' ? null : number('--band')(v)), 0.95)
    .option('--line', 'also join the points of each series by a line (limix-lmm line)')
    .addHelpText('after', QQ_HELP)
    .action(async (opts: CommonOpts & { labels?: string[]; pvThr: number; band: number | null; line?: boolean }) => {
      const { outs, png } = need(opts);
      if (opts.labels !== undefined && opts.labels.length !== opts.in.length) {
        throw bad(`--labels: expected ${opts.in.length} names (one per --in file), found ${opts.labels.length}`);
      }
      const t0 = performance.now();
      const series: QqSeries[] = [];
      for (const [k, f] of opts.in.entries()) {
        const table = await readAssocFile(f, { column: opts.column, keepIdsBelow: 0 });
        series.push({ log10p: table.log10p, label: opts.labels?.[k] ?? (opts.in.length > 1 ? defaultTitle(f) : undefined) });
      }
      const res = qqPlot(series, {
        title: opts.title ?? (opts.in.length === 1 ? `QQ plot: ${defaultTitle(opts.in[0]!)}` : 'QQ plot'),
        width: opts.width, height: opts.height, pvThr: opts.pvThr, band: opts.band, line: opts.line === true,
        thinAbove: opts.thinAbove, pointRadius: opts.pointRadius,
      });
      await writePlots(res.svg, outs, png);
      const lam = res.lambdas.map((l, k) => `${series.length > 1 ? `${series[k]!.label}: ` : ''}lambda_GC ${l.toFixed(4)} (${res.points[k]!.total} p-values)`);
      console.log(`qq: ${lam.join('; ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${outs.join(', ')}`);
    });

  return plot.addCommand(manhattan).addCommand(qq);
}
