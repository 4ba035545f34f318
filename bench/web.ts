// `npm run bench:web`: gemm/syrk GFLOP/s of the js and wasm kernels in a
// headless Chromium page (Debian's /usr/bin/chromium, driven by
// playwright-core), next to Node's js, wasm and native kernels on the same
// shapes; the kernels' seconds over a chr22-sized run (274 x 49 008); and
// whether splitting the scan's gemm over Web Workers pays. Prints figures
// and ratios; asserts no timings.
//
// Environment: WEB_BENCH_REPS (best of, default 3), WEB_BENCH_MAX_N (largest
// N of the gemm shapes, default 5000; syrk stops at 2000), WEB_BENCH_WORKERS
// (largest worker count, default 4).
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsKernels } from '../src/linalg/js/index.js';
import { loadBackend, nativeStatus } from '../src/linalg/select.js';
import '../src/linalg/native/register.js';
import { wasmKernels } from '../src/linalg/wasm/index.js';
import { envInt } from './common.js';
import { chr22Rows, type KernelSet, kernelRows, type Row } from './web-kernels.js';
import { openPage, serveStatic } from './web-server.js';

const reps = envInt('WEB_BENCH_REPS', 3);
const maxN = envInt('WEB_BENCH_MAX_N', 5000);
const maxWorkers = envInt('WEB_BENCH_WORKERS', 4);
const sizes = [274, 1000, 2000, 5000].filter((n) => n <= maxN);
const syrkSizes = [274, 1000, 2000].filter((n) => n <= maxN);
const workerCounts = [1, 2, 4, 8].filter((k) => k <= maxWorkers);
/** The repository root: the page imports dist/ from it. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The page's module (bench/web-page.ts), by its URL path on the server. */
const PAGE_MODULE = '/dist/bench/web-page.js';
type PageModule = typeof import('./web-page.js');

function nodeRows(): Row[] {
  const kernels: KernelSet = { js: jsKernels, wasm: wasmKernels };
  if (nativeStatus().available) kernels.native = loadBackend('native').kernels;
  return [...kernelRows(kernels, sizes, syrkSizes, reps), ...chr22Rows(kernels, reps)];
}

async function pageRows(): Promise<{ kernels: Row[]; parallel: Row[]; agent: string }> {
  const server = await serveStatic(root);
  const { browser, page } = await openPage(server.url);
  try {
    const agent = browser.version();
    const kernels = await page.evaluate(async ([mod, s, ss, r]) => ((await import(mod)) as PageModule).pageKernelRows(s, ss, r), [
      PAGE_MODULE,
      sizes,
      syrkSizes,
      reps,
    ] as const);
    const parallel = await page.evaluate(async ([mod, s, k, r]) => ((await import(mod)) as PageModule).parallelRows(s, k, r), [
      PAGE_MODULE,
      sizes,
      workerCounts,
      reps,
    ] as const);
    return { kernels, parallel, agent };
  } finally {
    await browser.close();
    await server.close();
  }
}

function fmt(row: Row, key: string): string {
  const v = row.values[key];
  if (v === undefined) return '-';
  return row.unit === 's' ? v.toFixed(3) : v.toFixed(2);
}

/** x / y as a speed-up: GFLOP/s ratio, or time ratio inverted for seconds. */
function speedup(row: Row, x: string, y: string): string {
  const a = row.values[x];
  const b = row.values[y];
  if (a === undefined || b === undefined) return '-';
  return `${(row.unit === 's' ? b / a : a / b).toFixed(2)}x`;
}

async function main(): Promise<void> {
  console.log(`bench:web: ${availableParallelism()} CPUs, Node ${process.version}, best of ${reps}; kernels alternate within each environment`);
  console.log('measuring in Node (js, wasm, native) ...');
  const node = nodeRows();
  console.log('measuring in Chromium (js, wasm; then workers) ...');
  const page = await pageRows();
  console.log(`Chromium ${page.agent}`);
  const head = ['operation', 'shape', 'unit', 'page js', 'page wasm', 'node js', 'node wasm', 'node native', 'page wasm/js', 'node wasm/js'];
  const out = [head.join('\t')];
  page.kernels.forEach((p, i) => {
    const n = node[i]!;
    const pv: Row = { ...p, values: { pjs: p.values.js!, pwasm: p.values.wasm! } };
    out.push(
      [
        p.what,
        p.shape,
        p.unit,
        fmt(p, 'js'),
        fmt(p, 'wasm'),
        fmt(n, 'js'),
        fmt(n, 'wasm'),
        fmt(n, 'native'),
        speedup(pv, 'pwasm', 'pjs'),
        speedup(n, 'wasm', 'js'),
      ].join('\t'),
    );
  });
  console.log(out.join('\n'));
  console.log('\nWeb Workers (wasm kernel in each, SharedArrayBuffer), GFLOP/s; speed-up over the main thread:');
  for (const row of page.parallel) {
    const cells = Object.keys(row.values).map((k) => `${k} ${fmt(row, k)}${k === 'main thread' ? '' : ` (${speedup(row, k, 'main thread')})`}`);
    console.log(`${row.shape}\t${cells.join('\t')}`);
  }
}

await main();
