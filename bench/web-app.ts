// The last part of `npm run bench:web`: the web app itself in headless
// Chromium, served by `lmmkit web`, with its scan on 1 worker (?workers=1,
// the page's default below 4 cores) and on K (?workers=K): the
// seconds from Run to results for the chr22 fileset (274 x 49 008, kinship
// computed in the page; needs ../shared) and for "Try the example"
// (1000 x 10 000). Each round runs every case once, in a random order;
// prints best and median per case and the ratios; asserts no timings, only
// that each case's downloaded table is the same bytes on every run. Each
// round also times the bare wasm gemm of a 1000-sample batch on the main
// thread and split over 2 workers (web-page.ts's parallelRows): the
// parallel speed the machine had to give during the run, which a loaded
// machine does not have.
//
// Environment: WEB_APP_REPS (rounds, default 3), WEB_APP_WORKERS (K,
// default 2).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { STRUCT, writeGene1Pheno } from '../test/web/web-support.js';
import { envInt } from './common.js';
import type { parallelRows } from './web-page.js';
import { CHROMIUM, serveLmmkitWeb, serveStatic } from './web-server.js';

const reps = envInt('WEB_APP_REPS', 3);
const many = envInt('WEB_APP_WORKERS', 2, 2);
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'lmmkit.js');

interface Case {
  name: string;
  workers: number;
  /** Prepares the page (files chosen) and returns the button that starts the run. */
  setup(page: Page): Promise<string>;
}

/** One run of `c` in a fresh page: seconds from the click to the results' arrival and of the scan stage, the table's text, and the scan workers used. */
async function runOnce(browser: Browser, url: string, c: Case): Promise<{ seconds: number; scan: number; tsv: string; workers: number }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  try {
    const page = await context.newPage();
    await page.goto(`${url}?workers=${c.workers}`);
    const button = await c.setup(page);
    const t0 = (await page.evaluate('performance.now()')) as number;
    await page.click(button);
    await page.waitForSelector('#results[data-done]', { timeout: 300_000 });
    const seconds = (Number(await page.getAttribute('#results', 'data-received')) - t0) / 1000;
    const [d] = await Promise.all([page.waitForEvent('download'), page.click('#dl-table')]);
    const tsv = readFileSync(await d.path(), 'utf8');
    const [j] = await Promise.all([page.waitForEvent('download'), page.click('#dl-json')]);
    const report = JSON.parse(readFileSync(await j.path(), 'utf8')) as { scanWorkers: number; stages: { stage: string; seconds: number }[] };
    const scan = report.stages.find((s) => s.stage.startsWith('scan of'))!.seconds;
    return { seconds, scan, tsv, workers: report.scanWorkers };
  } finally {
    await context.close();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-web-app-'));
  const cases: Case[] = [];
  if (existsSync(`${STRUCT}.bed`)) {
    const pheno = await writeGene1Pheno(dir);
    for (const workers of [1, many]) {
      cases.push({
        name: 'chr22 (274 x 49 008)',
        workers,
        setup: async (page) => {
          await page.setInputFiles('#files', [`${STRUCT}.bed`, `${STRUCT}.bim`, `${STRUCT}.fam`, pheno]);
          await page.locator('#run:enabled').waitFor();
          return '#run';
        },
      });
    }
  } else console.log('(no ../shared: the chr22 case is left out)');
  for (const workers of [1, many]) cases.push({ name: 'example (1000 x 10 000)', workers, setup: async () => '#example' });

  const server = await serveLmmkitWeb(BIN);
  const bare = await serveStatic(join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
  const splits: number[] = [];
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const seconds = new Map<Case, number[]>(cases.map((c) => [c, []]));
  const scans = new Map<Case, number[]>(cases.map((c) => [c, []]));
  const tables = new Map<string, string>();
  const used = new Map<Case, number>();
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    const cores = (await page.evaluate('navigator.hardwareConcurrency')) as number;
    await page.close();
    console.log(`the web app in Chromium ${browser.version()} (${cores} cores seen by the page), ${reps} rounds, cases in a random order per round`);
    const control = await browser.newPage();
    await control.goto(bare.url);
    for (let r = 0; r < reps; r++) {
      const [row] = (await control.evaluate(
        async ([mod]) => ((await import(mod!)) as { parallelRows: typeof parallelRows }).parallelRows([1000], [2], 3),
        ['/dist/bench/web-page.js'],
      )) as Awaited<ReturnType<typeof parallelRows>>;
      splits.push(row!.values['2 workers']! / row!.values['main thread']!);
      const order = [...cases].sort(() => Math.random() - 0.5);
      for (const c of order) {
        const got = await runOnce(browser, server.url, c);
        seconds.get(c)!.push(got.seconds);
        scans.get(c)!.push(got.scan);
        used.set(c, got.workers);
        const first = tables.get(c.name);
        if (first === undefined) tables.set(c.name, got.tsv);
        else assert.equal(got.tsv, first, `${c.name}: the table of ${got.workers} scan worker(s) differs from an earlier run's`);
      }
    }
  } finally {
    await browser.close();
    server.stop();
    await bare.close();
  }
  console.log("Run to results, and the scan stage alone (s); speed-up = one worker's median / this median");
  console.log('case\tscan workers\tbest\tmedian\tspeed-up\tscan best\tscan median\tscan speed-up');
  for (const c of cases) {
    const xs = seconds.get(c)!;
    const ss = scans.get(c)!;
    const one = cases.find((o) => o.name === c.name && o.workers === 1)!;
    console.log(
      [
        c.name,
        String(used.get(c)),
        Math.min(...xs).toFixed(2),
        median(xs).toFixed(2),
        `${(median(seconds.get(one)!) / median(xs)).toFixed(2)}x`,
        Math.min(...ss).toFixed(2),
        median(ss).toFixed(2),
        `${(median(scans.get(one)!) / median(ss)).toFixed(2)}x`,
      ].join('\t'),
    );
  }
  console.log('every case wrote the same table on each of its runs, whatever the scan workers');
  console.log(
    `control: the wasm gemm (1000 x 1000 x 1000) split over 2 workers ran ${splits.map((x) => `${x.toFixed(2)}x`).join(', ')} the main thread's GFLOP/s, one figure per round`,
  );
}

await main();
