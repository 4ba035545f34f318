// Plot benchmark: a Manhattan and a QQ plot of a simulated genome-wide scan
// of 10 million variants (22 autosomes with GRCh37's lengths, uniform
// p-values plus 12 associated loci), timing the SVG, the PNG rendering and
// their sizes, and the reading of a results TSV as `lmmkit plot` reads it.
// Prints figures; asserts nothing.
//
// Sizes: LMMKIT_BENCH_PLOT_VARIANTS (default 10 000 000),
// LMMKIT_BENCH_PLOT_TSV_ROWS (rows of the TSV read, default 1 000 000; 0 skips);
// LMMKIT_BENCH_PLOT_OUT=DIR also writes the four pictures into DIR.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manhattanPlot } from '../src/plot/manhattan.js';
import { qqPlot } from '../src/plot/qq.js';
import { svgToPng } from '../src/plot/png.js';
import { readAssocFile } from '../src/plot/node.js';
import { simulateAssoc } from '../src/plot/simulate.js';
import { envInt, secondsSince as seconds } from './common.js';

const S = envInt('LMMKIT_BENCH_PLOT_VARIANTS', 10_000_000, 0);
const TSV_ROWS = envInt('LMMKIT_BENCH_PLOT_TSV_ROWS', 1_000_000, 0);
const OUT = process.env.LMMKIT_BENCH_PLOT_OUT;

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;

async function main(): Promise<void> {
  console.log(`plot benchmark: ${S.toLocaleString('en-US')} simulated variants on 22 autosomes`);
  let t0 = performance.now();
  const sim = simulateAssoc({ variants: S, seed: 8 });
  console.log(`  simulate                 ${seconds(t0).toFixed(2)} s`);
  const cols = { chrom: { names: sim.names, codes: sim.codes }, pos: sim.pos, log10p: sim.log10p, id: sim.ids };

  t0 = performance.now();
  const m = manhattanPlot(cols, { title: `Manhattan plot, ${S.toLocaleString('en-US')} variants (simulated)` });
  const tm = seconds(t0);
  const svgBytes = new TextEncoder().encode(m.svg).length;
  console.log(
    `  manhattan svg            ${tm.toFixed(2)} s, ${mb(svgBytes)} (${m.points.drawn.toLocaleString('en-US')} points drawn, ${m.points.thinned.toLocaleString('en-US')} thinned)`,
  );
  t0 = performance.now();
  const mPng = svgToPng(m.svg);
  const tmp = seconds(t0);
  console.log(`  manhattan png (2x)       ${tmp.toFixed(2)} s, ${mb(mPng.length)}`);
  console.log(`  manhattan total          ${(tm + tmp).toFixed(2)} s`);

  t0 = performance.now();
  const q = qqPlot({ log10p: sim.log10p }, { title: `QQ plot, ${S.toLocaleString('en-US')} variants (simulated)` });
  const tq = seconds(t0);
  console.log(
    `  qq svg                   ${tq.toFixed(2)} s, ${mb(new TextEncoder().encode(q.svg).length)} (${q.points[0]!.drawn.toLocaleString('en-US')} points drawn; lambda_GC ${q.lambdas[0]!.toFixed(4)})`,
  );
  t0 = performance.now();
  const qPng = svgToPng(q.svg);
  console.log(`  qq png (2x)              ${seconds(t0).toFixed(2)} s, ${mb(qPng.length)}`);
  if (OUT !== undefined && OUT !== '') {
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, 'manhattan.svg'), m.svg);
    writeFileSync(join(OUT, 'manhattan.png'), mPng);
    writeFileSync(join(OUT, 'qq.svg'), q.svg);
    writeFileSync(join(OUT, 'qq.png'), qPng);
    console.log(`  wrote manhattan.svg/.png and qq.svg/.png in ${OUT}`);
  }

  if (TSV_ROWS > 0) {
    const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-plot-'));
    try {
      const path = join(dir, 'results.tsv');
      const fh = await open(path, 'w');
      await fh.write('chrom\tpos\tid\ta1\ta2\taf\tn\tbeta\tse\tstat\tpvalue\tlog10p\n');
      const rows = Math.min(TSV_ROWS, S);
      const chunk: string[] = [];
      for (let i = 0; i < rows; i++) {
        const l = sim.log10p[i]!;
        chunk.push(`${sim.names[sim.codes[i]!]}\t${sim.pos[i]}\trs${i + 1}\tA\tG\t0.25\t5000\t0.01\t0.02\t1.5\t${10 ** l}\t${l}\n`);
        if (chunk.length === 10000) {
          await fh.write(chunk.join(''));
          chunk.length = 0;
        }
      }
      await fh.write(chunk.join(''));
      await fh.close();
      t0 = performance.now();
      const t = await readAssocFile(path);
      const tr = seconds(t0);
      console.log(
        `  read results TSV         ${tr.toFixed(2)} s for ${t.rows.toLocaleString('en-US')} rows (${mb(statSync(path).size)}): ${(t.rows / tr / 1e6).toFixed(2)} M rows/s`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

await main();
