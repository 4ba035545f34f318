// The web app's worker: runs the whole job (src/workflow/web-job.ts) off the main
// thread, posting its stages and progress, then draws the plots and keeps
// the rows to write the downloads in any of the CLI's dialects. The scan's
// batches go to scan workers it starts from this same script
// (scan-pool.ts), which open the genotypes on an 'open' message and scan
// their part on a 'scan' one (web-scan.ts's scanPart).
import { gzipSync } from 'fflate';
import { dialect, dialectRefusal, OUT_FORMATS, type OutFormat } from '../../src/data/gwas-dialects.js';
import { interactiveManhattanHtml } from '../../src/plot/interactive.js';
import { manhattanPlot } from '../../src/plot/manhattan.js';
import { qqPlot } from '../../src/plot/qq.js';
import { esc } from '../../src/plot/svg.js';
import { type JobResult, runJob } from '../../src/workflow/web-job.js';
import { dialectLines } from '../../src/workflow/gwas-lines.js';
import { pickKernels } from './kernels.js';
import type { GenotypeSource } from '../../src/data/genotypes.js';
import { openFileset } from '../../src/workflow/web-genotypes.js';
import { scanPart } from '../../src/workflow/web-scan.js';
import type { FromScanWorker, FromWorker, RunSummary, ToScanWorker, ToWorker } from './protocol.js';
import { workerPool } from './scan-pool.js';

/** Hits listed in the page's table. */
const HITS = 200;

const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void =>
  (self as unknown as { postMessage(m: FromWorker, t: ArrayBuffer[]): void }).postMessage(m, transfer);
let last: JobResult | undefined;

/** The next task of this worker's event loop: terminate() takes effect there (Chromium forces it only after 2 s). */
const turn = (): Promise<void> => new Promise((ok) => setTimeout(ok, 0));

/** A scan worker's genotypes, opened when the job's worker says which (before its part comes). */
let opened: Promise<GenotypeSource> | undefined;

self.onmessage = async (e: MessageEvent<ToWorker | ToScanWorker>) => {
  const m = e.data;
  if (m.type === 'open') {
    pickKernels();
    opened = openFileset(m.genotypes, m.files);
    // A failure to open is reported with the part, by scanPart.
    opened.catch(() => {});
    return;
  }
  if (m.type === 'scan') return scan(m);
  try {
    if (m.type === 'run') {
      last = undefined;
      pickKernels();
      const pool = m.workers > 1 ? workerPool(m.workers, self.location.href) : undefined;
      const res = await runJob(m.req, (event) => post({ type: 'event', event }), pool === undefined ? {} : { pool });
      last = res;
      const summary = summarize(res);
      post({ type: 'done', summary }, [summary.manhattanHtml.buffer, summary.manhattanSvg.buffer, summary.qqSvg.buffer]);
    } else if (m.type === 'table') {
      post({ type: 'file', ...table(needResult(), m.format, m.gz) });
    } else {
      const r = needResult();
      post({ type: 'file', name: `lmmkit-web.${r.trait}.json`, blob: new Blob([`${JSON.stringify(r.report, null, 2)}\n`], { type: 'application/json' }) });
    }
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};

/** A scan worker's part: its batches posted as they are scanned, one event-loop turn apart so that a terminate() stops it between two. */
async function scan(m: Extract<ToScanWorker, { type: 'scan' }>): Promise<void> {
  const send = (r: FromScanWorker): void => (self as unknown as { postMessage(m: FromScanWorker): void }).postMessage(r);
  try {
    pickKernels();
    for await (const batch of scanPart(m.part, opened)) {
      send({ type: 'batch', batch });
      await turn();
    }
    send({ type: 'end' });
  } catch (err) {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
  self.close();
}

const utf8 = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;

function needResult(): JobResult {
  if (last === undefined) throw new Error('no results yet: run a scan first');
  return last;
}

function summarize(res: JobResult): RunSummary {
  const rows = res.rows;
  const cols = {
    chrom: rows.map((r) => r.chrom),
    pos: rows.map((r) => r.pos),
    id: rows.map((r) => r.id),
    log10p: Float64Array.from(rows, (r) => r.log10p),
  };
  const title = `${res.trait}: ${res.report.variants.tests} tests, ${res.report.samples} samples`;
  // The page's plots fit its columns at 1280 x 800; the downloads keep the CLI's sizes.
  const page = manhattanPlot(cols, { title, interactive: true, width: 800, height: 220 });
  const still = manhattanPlot(cols, { title });
  const qqShown = qqPlot({ log10p: cols.log10p }, { title: res.trait, width: 230, height: 220 });
  const qq = qqPlot({ log10p: cols.log10p }, { title });
  // Each point of the interactive page also carries its alleles and beta (the page adds them to the hover text).
  const drawn = page.drawnRows ?? new Int32Array(0);
  let k = 0;
  const manhattanHtml = interactiveManhattanHtml(page, { title }).replace(/ data-id="/g, (m) => {
    const r = rows[drawn[k++]!]!;
    return ` data-more="${esc(`${r.a1}/${r.a2}  beta = ${r.beta.toPrecision(4)}`)}"${m}`;
  });
  if (k !== drawn.length) throw new Error(`the Manhattan page has ${k} points for ${drawn.length} drawn rows`);
  const order = rows.map((_, i) => i).filter((i) => !Number.isNaN(rows[i]!.log10p));
  order.sort((a, b) => rows[a]!.log10p - rows[b]!.log10p);
  const hits = order.slice(0, HITS).map((i) => {
    const r = rows[i]!;
    return { chrom: r.chrom, pos: r.pos, id: r.id, idLast: r.id, beta: r.beta, pvalue: r.pvalue, log10p: r.log10p, a1: r.a1, a2: r.a2, se: r.se, af: r.af };
  });
  return {
    trait: res.trait,
    report: res.report,
    manhattanHtml: utf8(manhattanHtml),
    manhattanSvg: utf8(still.svg),
    qqSvg: utf8(qq.svg),
    qqShown: qqShown.svg,
    lambdaGc: qq.lambdas[0]!,
    hits,
    formats: OUT_FORMATS.filter((f) => dialectRefusal(f, res.layout) === undefined),
  };
}

/** The run's table in `format` (gzip-compressed with `gz`) as the CLI names it, PREFIX.<trait><suffix>. */
function table(res: JobResult, format: OutFormat, gz: boolean): { name: string; blob: Blob } {
  const d = dialect(format, { layout: res.layout });
  const text = format === 'lmmkit' ? res.tsv : `${[d.header, ...dialectLines(d, res.rows).map((l) => l.line)].join('\n')}\n`;
  const name = `lmmkit-web.${res.trait.replace(/[^A-Za-z0-9._-]/g, '_')}${d.suffix}`;
  const bytes = new TextEncoder().encode(text);
  return gz ? { name: `${name}.gz`, blob: new Blob([gzipSync(bytes, { level: 6 })], { type: 'application/gzip' }) } : { name, blob: new Blob([bytes], { type: 'text/tab-separated-values' }) };
}
