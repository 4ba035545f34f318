// `lmmkit plot manhattan|qq`: their options, help and the calls of the workflows.
import { Command } from 'commander';
import { runManhattanPlot, runQqPlot, runRegionalPlot } from '../workflow/index.js';
import { bad, integer, number, printLine, warnOnce } from './common.js';

/** A p-value option that also takes `none`. */
function pOrNone(flag: string): (v: string) => number | null {
  return (v) => {
    if (v === 'none') return null;
    const n = number(flag)(v);
    if (!(n > 0 && n <= 1)) throw bad(`${flag}: expected a p-value in (0, 1] or 'none', found '${v}'`);
    return n;
  };
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
    .option(
      '--column <name>',
      "p-value column as written (default: the layout's, e.g. LOG10P for regenie, p_wald for GEMMA; its scale is the layout's or read from the name)",
    )
    .option('--title <text>', "title (default: the input file name; '' for none)")
    .option('--width <px>', 'width of the picture in SVG pixels', number('--width'))
    .option('--height <px>', 'height of the picture in SVG pixels', number('--height'))
    .option('--scale <k>', 'PNG pixels per SVG pixel', number('--scale'), 2)
    .option('--thin-above <p>', 'thin points with p above this on a pixel grid (all below are drawn)', number('--thin-above'), 0.01)
    .option('--point-radius <px>', 'point radius', number('--point-radius'))
    .option('--font <file...>', 'font files (.ttf/.otf) for the PNG text (default: DejaVu Sans, Liberation Sans or Arial where installed)');
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

The input's layout is recognised from its header: lmmkit's TSV, regenie
(.regenie, LOG10P), GWAS-SSF (.tsv/.tsv.gz), BOLT-LMM (.stats), GEMMA
(.assoc.txt, p_wald), plink2 --glm (.glm.*, P or LOG10_P; ADD rows) and
plink 1.9; the layout and p-value column read are printed.

--out FILE.html writes the interactive page (one self-contained file, no
network): hover a point for its id, position and p-value; drag across the
plot or use the wheel to zoom into a region; double-click to reset.

Example:
  lmmkit plot manhattan --in res.trait.tsv --out res.manhattan.png res.manhattan.svg res.manhattan.html`;

const QQ_HELP = `
Observed against expected -log10 p with the 95% band of the order statistics
under the null (of the first series) and lambda_GC of each series (median
chi2_1 statistic / 0.4549); several --in files are drawn as several series.
--pv-thr 0.01 draws only the p-values below 0.01 against the uniform on
(0, 0.01) (limix-lmm's qqplot default).

Example:
  lmmkit plot qq --in res.trait1.tsv res.trait2.tsv --labels trait1 trait2 --out qq.png`;

const REGIONAL_HELP = `
LocusZoom-like, without genes: the variants of --region at their position
(Mb) and -log10 p, the lead (the smallest p-value, or --lead) a purple
diamond, the others coloured by their r^2 with it (0.8-1 red, 0.6-0.8
orange, 0.4-0.6 green, 0.2-0.4 light blue, below 0.2 blue), computed from
the genotype file when one is given (variants matched by id, else by
position; squared dosage correlation over the samples observed at both,
as plink's --r2); without one, or for variants not in it, grey. Only the
rows of the region are kept: a genome-wide file is fine.

Example:
  lmmkit plot regional --in res.trait.tsv --region 22:17500000-18500000 --bfile data --out locus.png locus.svg`;

/** `lmmkit plot manhattan|qq|regional`. */
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
    .action(
      async (
        opts: CommonOpts & {
          threshold: number | null;
          suggestive: number | null;
          colors?: string;
          offset: number;
          labelTop: number;
          labelBelow?: number;
          labelWindow: number;
          yMax?: number;
        },
      ) => {
        await runManhattanPlot({
          ...opts,
          colors:
            opts.colors === undefined
              ? undefined
              : opts.colors
                  .split(',')
                  .map((c) => c.trim())
                  .filter((c) => c !== ''),
          log: printLine,
          warn: warnOnce,
        });
      },
    );

  const qq = withCommon(new Command('qq'), 'association results, one series per file')
    .description('QQ plot: observed against expected -log10 p, with lambda_GC')
    .option('--labels <name...>', 'series names, one per --in file (default: the file names)')
    .option('--pv-thr <p>', 'plot only p-values below this (limix-lmm pv_thr; default 1: all)', number('--pv-thr'), 1)
    .option('--band <level>', 'confidence level of the null band, or none', (v: string) => (v === 'none' ? null : number('--band')(v)), 0.95)
    .option('--line', 'also join the points of each series by a line (limix-lmm line)')
    .addHelpText('after', QQ_HELP)
    .action(async (opts: CommonOpts & { labels?: string[]; pvThr: number; band: number | null; line?: boolean }) => {
      await runQqPlot({ ...opts, log: printLine, warn: warnOnce });
    });

  const regional = withCommon(new Command('regional'), 'association results (any layout lmmkit plot reads; plain or gzip)')
    .description('regional plot: -log10 p over one region, coloured by r^2 with the lead variant')
    .option('--region <chr:start-end>', 'the region, START inclusive, END exclusive (e.g. 22:17500000-18000000)')
    .option('--lead <id>', 'lead variant (default: the smallest p-value in the region)')
    .option('--threshold <p>', 'significance line, or none', pOrNone('--threshold'), 5e-8)
    .option('--bfile <prefix>', 'PLINK 1 fileset for the r^2 with the lead')
    .option('--pfile <prefix>', 'PLINK 2 fileset for the r^2')
    .option('--vcf <file>', 'VCF (plain or bgzipped) for the r^2')
    .option('--bgen <file>', 'BGEN file for the r^2 (with --sample when its ids are not in it)')
    .option('--sample <file>', 'Oxford .sample file of the --bgen samples')
    .option('--bimbam <file>', 'BIMBAM mean genotypes for the r^2 (with --annotation)')
    .option('--annotation <file>', 'BIMBAM SNP annotation (rsid pos chrom)')
    .addHelpText('after', REGIONAL_HELP)
    .action(async (opts: CommonOpts & { region?: string; lead?: string; threshold: number | null } & Record<string, string | undefined>) => {
      await runRegionalPlot({ ...opts, region: opts.region!, log: printLine, warn: warnOnce });
    });

  return plot.addCommand(manhattan).addCommand(qq).addCommand(regional);
}
