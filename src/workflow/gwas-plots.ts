// --plot of `runGwas`: each trait's Manhattan and QQ plots, drawn from its
// TSV once written and staged with it.
import type { StagedOutputs } from '../data/atomic.js';

/** The plot files of a trait's TSV: X.tsv or X.tsv.gz -> X.manhattan.png/.svg, X.qq.png/.svg (none unless `on`). */
export function plotFiles(tsv: string, on: boolean): { manhattan: string[]; qq: string[] } {
  if (!on) return { manhattan: [], qq: [] };
  const base = tsv.replace(/\.tsv(\.gz)?$/i, '');
  return { manhattan: [`${base}.manhattan.png`, `${base}.manhattan.svg`], qq: [`${base}.qq.png`, `${base}.qq.svg`] };
}

/**
 * Reads the staged TSV `tsv` back (plain or BGZF, streaming, ids kept for the hits only),
 * draws the Manhattan and QQ plots titled `title`, and stages their files;
 * returns them and lambda_GC. The plot modules (and the PNG renderer, a
 * native module) are loaded only here.
 */
export async function stagePlots(
  tsv: string,
  paths: { manhattan: string[]; qq: string[] },
  title: string,
  outputs: StagedOutputs,
  warn: ((line: string) => void) | undefined,
): Promise<{ files: string[]; lambda: number }> {
  const [{ readAssocFile, plotBytes }, { manhattanPlot }, { qqPlot }, { missingFontWarning }] = await Promise.all([
    import('../plot/node.js'),
    import('../plot/manhattan.js'),
    import('../plot/qq.js'),
    import('./plot.js'),
  ]);
  const table = await readAssocFile(tsv);
  const m = manhattanPlot(table, { title });
  const q = qqPlot({ log10p: table.log10p }, { title: `QQ plot: ${title}` });
  const files: [string, string][] = [...paths.manhattan.map((p): [string, string] => [p, m.svg]), ...paths.qq.map((p): [string, string] => [p, q.svg])];
  const w = missingFontWarning(files.map(([p]) => p));
  if (w !== undefined) warn?.(w);
  for (const [path, svg] of files) await outputs.whole(path, await plotBytes(path, svg));
  return { files: files.map(([p]) => p), lambda: q.lambdas[0]! };
}
