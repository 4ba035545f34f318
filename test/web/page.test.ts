// The web app end to end: `lmmkit web --port 0` serves dist/web, Debian's
// chromium (headless, driven by playwright-core, no download) opens it,
// uploads the structlmm chr22 fileset and a phenotype file made from
// expr.csv's gene1, runs the fixed test with the kinship computed in the
// page, and the downloaded table must be `lmmkit gwas`'s on the same
// inputs; the same with "Try the example" against `lmmkit demo`; a bad file
// shows the CLI's one-line error and the page still runs; cancel stops the
// workers within a second; a PLINK 2 fileset (plink2 --make-pgen of chr22)
// gives `lmmkit gwas --pfile`'s table, an incomplete fileset is named before
// any run and a file of another format is the reader's one-line error.
// The .pgen and Cancel tests split the scan over 2 workers (?workers=2), the
// others run the page's default (one). Every request of the page is recorded and must be
// same-origin, and the main thread must have no task over 200 ms during a
// scan (Long Tasks API).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { writeBed } from '../../src/data/plink/write-bed.js';
import '../../src/linalg/native/register.js';
import { setBackend } from '../../src/linalg/select.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { runJob } from '../../src/workflow/web-job.js';
import { lmmkit, scratchDir } from '../cli-support.js';
import { hasTool, SHARED } from '../support.js';
import { assertSameTable, cliStructTable, STRUCT, writeGene1Pheno } from './web-support.js';
import { serveLmmkitWeb } from '../../bench/web-server.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/lmmkit.js');
const dir = scratchDir('lmmkit-web-page-');
// The screenshots go to docs/screenshots with LMMKIT_SCREENSHOTS=1 (they are committed), else to the scratch folder.
const SHOTS = process.env.LMMKIT_SCREENSHOTS === '1' ? join(ROOT, 'docs/screenshots') : dir;
const haveData = existsSync(`${STRUCT}.bed`) && existsSync(`${SHARED}data/structlmm/expr.csv`);

/** GET `path` as written (no normalisation), for the server's own checks. */
function get(url: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

interface Session {
  context: BrowserContext;
  page: Page;
  requests: string[];
  /** Uncaught errors in the page. */
  errors: string[];
}

/** The long tasks the page saw (start and duration, ms), recorded from its first script on. */
const LONG_TASKS = `window.__longTasks = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration }); })
  .observe({ type: 'longtask', buffered: true });`;

describe('lmmkit web in chromium', { skip: process.env.CI !== 'true' && !hasTool('chromium') ? 'chromium not installed' : false }, () => {
  let server: { url: string; stop(): void };
  let browser: Browser;

  before(async () => {
    assert.ok(existsSync(join(ROOT, 'dist/web/index.html')), 'dist/web is not built: run node scripts/build-web.mjs');
    server = await serveLmmkitWeb(BIN);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    server?.stop();
  });

  /** A fresh page of the app; `query` is added to its address (?workers=K). */
  async function open(query = ''): Promise<Session> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const requests: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    await context.addInitScript(LONG_TASKS);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}${query}`);
    return { context, page, requests, errors };
  }

  /** Every request went to the page's own origin (its own blob: URLs aside, which name that origin), and no script error. */
  function assertSameOrigin(s: Session): void {
    assert.deepEqual(s.errors, [], 'errors in the page');
    const origin = new URL(server.url).origin;
    const foreign = s.requests.filter((u) => !(u.startsWith(`${origin}/`) || u.startsWith(`blob:${origin}/`) || u.startsWith('data:')));
    assert.deepEqual(foreign, [], 'requests to another origin');
    assert.ok(s.requests.length >= 4, `recorded ${s.requests.length} requests`);
  }

  /**
   * Clicks `button` and waits for the results; returns the seconds from the
   * click to the results' arrival, the longest main-thread task meanwhile,
   * and the longest while drawing them.
   */
  async function runToResults(page: Page, button: string, timeout: number): Promise<{ seconds: number; longest: number; drawing: number }> {
    const t0 = await page.evaluate(() => performance.now());
    await page.click(button);
    await page.waitForSelector('#results[data-done]', { timeout });
    // The scan ends when the results reach the page; drawing them follows.
    const t1 = Number(await page.getAttribute('#results', 'data-received'));
    const tasks = (await page.evaluate('window.__longTasks')) as { start: number; duration: number }[];
    const during = tasks.filter((t) => t.start >= t0 && t.start < t1);
    const drawing = tasks.filter((t) => t.start >= t1);
    console.log(
      `# long tasks from the click (ms): ${tasks
        .filter((t) => t.start >= t0)
        .map((t) => `${(t.start - t0).toFixed(0)}+${t.duration.toFixed(0)}`)
        .join(' ')}; results at ${(t1 - t0).toFixed(0)}`,
    );
    return { seconds: (t1 - t0) / 1000, longest: Math.max(0, ...during.map((t) => t.duration)), drawing: Math.max(0, ...drawing.map((t) => t.duration)) };
  }

  async function download(page: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
    const [d] = await Promise.all([page.waitForEvent('download'), click()]);
    const path = await d.path();
    return { name: d.suggestedFilename(), bytes: readFileSync(path) };
  }

  test('lmmkit web serves dist/web with MIME types and isolation headers, and nothing outside it', async () => {
    const index = await get(server.url, '/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /^text\/html/);
    assert.equal(index.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(index.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.match(index.body, /Nothing leaves this machine/);
    const worker = await get(server.url, '/worker.js');
    assert.match(String(worker.headers['content-type']), /^text\/javascript/);
    assert.match(String((await get(server.url, '/style.css')).headers['content-type']), /^text\/css/);
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/..%2f..%2fpackage.json']) {
      const r = await get(server.url, p);
      assert.ok(r.status === 403 || r.status === 404, `${p}: ${r.status}`);
      assert.doesNotMatch(r.body, /"name": "lmmkit"/);
    }
    assert.equal((await get(server.url, '/nope.js')).status, 404);
  });

  test('chr22 in the page: the downloaded table is lmmkit gwas --kinship-from-bfile on the same inputs', {
    skip: !haveData && process.env.CI !== 'true' ? 'no ../shared data' : false,
  }, async () => {
    const pheno = await writeGene1Pheno(dir);
    const want = cliStructTable(dir, pheno);
    const s = await open();
    const { page } = s;
    const loaded = await page.evaluate(() => performance.now());
    await page.setInputFiles('#files', [`${STRUCT}.bed`, `${STRUCT}.bim`, `${STRUCT}.fam`, pheno]);
    await page.locator('#run:enabled').waitFor();
    assert.equal(await page.inputValue('#trait'), 'gene1');
    await page.screenshot({ path: join(SHOTS, 'web-before.png') });
    const t0 = await page.evaluate(() => performance.now());
    const run = runToResults(page, '#run', 50_000);
    // During the run: a screenshot once the scan is under way.
    await page.locator('#status', { hasText: /Scan of trait/ }).waitFor({ timeout: 50_000 });
    await page.screenshot({ path: join(SHOTS, 'web-during.png') });
    const { seconds, longest, drawing } = await run;
    const t1 = await page.evaluate(() => performance.now());
    console.log(
      `# chr22 in the page: ${seconds.toFixed(2)} s from Run to results (${((t1 - loaded) / 1000).toFixed(2)} s from page load to drawn results, files chosen in ${((t0 - loaded) / 1000).toFixed(2)} s); longest main-thread task during the run ${longest.toFixed(0)} ms, while drawing ${drawing.toFixed(0)} ms`,
    );
    assert.ok(longest <= 200, `a main-thread task of ${longest} ms during the scan`);
    assert.match((await page.textContent('#samples')) ?? '', /274/);
    assert.match((await page.textContent('#null')) ?? '', /h2/);
    assert.match((await page.textContent('#lambda')) ?? '', /lambda_GC = \d\.\d{4}/);
    await page.screenshot({ path: join(SHOTS, 'web-after.png') });

    const tsv = await download(page, () => page.click('#dl-table'));
    assert.equal(tsv.name, 'lmmkit-web.gene1.tsv');
    assertSameTable(tsv.bytes.toString('utf8'), want);
    assert.equal(tsv.bytes.toString('utf8'), want, 'byte for byte');
    await page.check('#gz');
    const gz = await download(page, () => page.click('#dl-table'));
    assert.equal(gz.name, 'lmmkit-web.gene1.tsv.gz');
    assert.equal(gunzipSync(gz.bytes).toString('utf8'), want);
    await page.uncheck('#gz');
    await page.selectOption('#format', 'plink2');
    const plink = await download(page, () => page.click('#dl-table'));
    assert.equal(plink.name, 'lmmkit-web.gene1.glm.linear');
    assert.equal(plink.bytes.toString('utf8').trimEnd().split('\n').length, want.trimEnd().split('\n').length);
    const json = JSON.parse((await download(page, () => page.click('#dl-json'))).bytes.toString('utf8'));
    assert.equal(json.nullModel.model, 'kinship');
    // The worker runs on the WebAssembly SIMD kernels: the server's CSP must allow compiling them.
    assert.equal(json.backend, 'wasm');
    assert.equal(json.scanWorkers, 1, 'the default: one worker');
    assert.equal(json.variants.tests, want.trimEnd().split('\n').length - 1);
    const png = await download(page, () => page.click('#dl-man-png'));
    assert.deepEqual([...png.bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const svg = await download(page, () => page.click('#dl-qq-svg'));
    assert.match(svg.bytes.toString('utf8'), /^<svg|^<\?xml/);

    // Hover on the top point: id, position and p from the plot page, alleles and beta from the app.
    const frame = page.frameLocator('#manhattan');
    const top = (await page.textContent('#hits tr:nth-of-type(2) td:nth-child(3)'))!;
    await frame.locator(`circle[data-id="${top}"]`).first().hover();
    const tip = (await frame.locator('#lmk-tip').textContent()) ?? '';
    assert.match(tip, new RegExp(`${top}.*p = .*[ACGT]+/[ACGT]+  beta = -?\\d`));

    // The hits table sorts by a column on a click.
    await page.click('#hits th:nth-child(2)');
    const pos = (await page.locator('#hits tr td:nth-child(2)').allTextContents()).map(Number);
    assert.deepEqual(
      pos,
      [...pos].sort((a, b) => a - b),
    );
    assertSameOrigin(s);
    await s.context.close();
  });

  test('Try the example: the table of the demo simulation, computed in the page', async () => {
    const s = await open();
    const { seconds, longest, drawing } = await runToResults(s.page, '#example', 110_000);
    const load = await s.page.evaluate(() => performance.now());
    console.log(
      `# example (1000 x 10 000) in the page: ${seconds.toFixed(2)} s from click to results (${(load / 1000).toFixed(2)} s from page load to drawn results); longest main-thread task during the run ${longest.toFixed(0)} ms, while drawing ${drawing.toFixed(0)} ms`,
    );
    assert.ok(longest <= 200, `a main-thread task of ${longest} ms during the scan`);
    const tsv = await download(s.page, () => s.page.click('#dl-table'));
    // The same simulation through the API on the native backend (fast; job.test.ts checks that this job's
    // table is lmmkit demo's byte for byte).
    setBackend('native');
    const want = (await runJob({ files: new Map(), genotypes: { example: { samples: 1000, variants: 10000, seed: 1 } } }, () => {})).tsv;
    assertSameTable(tsv.bytes.toString('utf8'), want);
    assertSameOrigin(s);
    await s.context.close();
  });

  test('a bad .bim shows the CLI one-line error, and the page then runs the corrected files', async () => {
    const sim = simulateGwas({ samples: 60, variants: 300, seed: 7, causal: 2 });
    const prefix = join(dir, 'small');
    await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
    const pheno = join(dir, 'small-pheno.tsv');
    writeFileSync(pheno, `FID\tIID\ty\n${sim.samples.iid.map((id, i) => `${sim.samples.fid[i]}\t${id}\t${sim.phenotype[i]}`).join('\n')}\n`);
    const good = readFileSync(`${prefix}.bim`, 'utf8');
    const lines = good.split('\n');
    lines[4] = lines[4]!.split('\t').slice(0, 3).join('\t');
    const badDir = join(dir, 'bad');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(badDir, { recursive: true });
    writeFileSync(join(badDir, 'small.bim'), lines.join('\n'));

    const s = await open();
    const { page } = s;
    await page.setInputFiles('#files', [`${prefix}.bed`, join(badDir, 'small.bim'), `${prefix}.fam`, pheno]);
    await page.click('#run');
    await page.waitForSelector('#error:not([hidden])', { timeout: 20_000 });
    const message = (await page.textContent('#error')) ?? '';
    assert.match(message, /^small\.bim:5: expected 6 whitespace-separated fields/);
    assert.doesNotMatch(message, /\n/);
    assert.equal(await page.isEnabled('#example'), true);
    // The good .bim replaces the bad one (same name); the run then completes.
    await page.setInputFiles('#files', [`${prefix}.bim`]);
    await page.locator('#run:enabled').waitFor();
    await runToResults(page, '#run', 30_000);
    assert.equal(await page.isHidden('#error'), true);
    assert.match((await page.textContent('#status')) ?? '', /^Done: 300 tests|^Done: \d+ tests/);
    assertSameOrigin(s);
    await s.context.close();
  });

  test('a PLINK 2 fileset in the page, its scan over 2 workers: the downloaded table is lmmkit gwas --pfile on the same files, byte for byte', {
    skip: !haveData && process.env.CI !== 'true' ? 'no ../shared data' : !hasTool('plink2') && process.env.CI !== 'true' ? 'plink2 not installed' : false,
  }, async () => {
    const pheno = await writeGene1Pheno(dir);
    const x = join(dir, 'p22');
    const made = spawnSync('plink2', ['--bfile', STRUCT, '--make-pgen', '--out', x, '--silent', '--threads', '1'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stdout + made.stderr);
    const out = join(dir, 'cli-pgen');
    const r = lmmkit('gwas', '--pfile', x, '--pheno', pheno, '--kinship-from-bfile', '--test', 'fixed', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const want = readFileSync(`${out}.gene1.tsv`, 'utf8');
    const s = await open('?workers=2');
    const { page } = s;
    // The .pgen and .psam alone: the missing .pvar is named, and nothing can run.
    await page.setInputFiles('#files', [`${x}.pgen`, `${x}.psam`, pheno]);
    await page.locator('#fileset', { hasText: 'p22.pgen needs p22.pvar' }).waitFor();
    assert.match((await page.textContent('#fileset')) ?? '', /^incomplete genotype fileset: p22\.pgen needs p22\.pvar beside it/);
    assert.equal(await page.isDisabled('#run'), true);
    await page.setInputFiles('#files', [`${x}.pvar`]);
    await page.locator('#run:enabled').waitFor();
    assert.equal(await page.textContent('#fileset'), 'Genotypes: PLINK 2 fileset p22 (.pgen .pvar .psam)');
    const { seconds, longest } = await runToResults(page, '#run', 50_000);
    console.log(`# chr22 .pgen in the page: ${seconds.toFixed(2)} s from Run to results; longest main-thread task ${longest.toFixed(0)} ms`);
    assert.ok(longest <= 200, `a main-thread task of ${longest} ms during the scan`);
    const tsv = await download(page, () => page.click('#dl-table'));
    assert.equal(tsv.bytes.toString('utf8'), want, 'byte for byte');
    const json = JSON.parse((await download(page, () => page.click('#dl-json'))).bytes.toString('utf8'));
    assert.equal(json.genotypes.format, 'pgen');
    assert.equal(json.scanWorkers, 2);
    assertSameOrigin(s);
    await s.context.close();
  });

  test("a .bgen that is not BGEN: the reader's one-line error naming the file, and the page still works", async () => {
    const bad = join(dir, 'notbgen.bgen');
    writeFileSync(bad, 'this is a text file, not BGEN\n');
    const pheno = join(dir, 'notbgen.tsv');
    writeFileSync(pheno, 'FID\tIID\ty\na\ta\t1\n');
    const s = await open();
    const { page } = s;
    await page.setInputFiles('#files', [bad, pheno]);
    await page.locator('#run:enabled').waitFor();
    assert.equal(await page.textContent('#fileset'), 'Genotypes: BGEN file notbgen.bgen (sample ids from the file)');
    assert.equal(await page.isVisible('#bgen-ref'), true);
    assert.equal(await page.isVisible('#vcf-dosage'), false);
    await page.click('#run');
    await page.waitForSelector('#error:not([hidden])', { timeout: 20_000 });
    const message = (await page.textContent('#error')) ?? '';
    assert.match(message, /^notbgen\.bgen: /);
    assert.doesNotMatch(message, /\n/);
    assert.equal(await page.isEnabled('#example'), true);
    assert.equal(await page.isEnabled('#run'), true);
    assertSameOrigin(s);
    await s.context.close();
  });

  test('Cancel stops the workers (2) within a second, and the page is ready again', {
    skip: !haveData && process.env.CI !== 'true' ? 'no ../shared data' : false,
  }, async () => {
    const s = await open('?workers=2');
    const { page } = s;
    await page.setInputFiles('#files', [`${STRUCT}.bed`, `${STRUCT}.bim`, `${STRUCT}.fam`, await writeGene1Pheno(dir)]);
    await page.locator('#run:enabled').waitFor();
    // The job's worker and the scan workers it starts, each with the time it closes.
    const workers: Promise<number>[] = [];
    page.on('worker', (w) => workers.push(new Promise<number>((ok) => w.once('close', () => ok(Date.now())))));
    await page.click('#run');
    await page.locator('#status', { hasText: /Scan of trait/ }).waitFor({ timeout: 30_000 });
    await page.locator('#eta', { hasText: / of / }).waitFor();
    // The job's worker scans a part itself, one scan worker the other.
    assert.equal(page.workers().length, 2, 'workers open during the scan');
    const closed = Promise.all(workers).then((times) => Math.max(...times));
    const before0 = Date.now();
    await page.click('#cancel');
    // From the click's dispatch (page.click returns once it is done; its actionability checks come before).
    const t0 = Date.now();
    console.log(`# page.click('#cancel') took ${t0 - before0} ms`);
    const at = await Promise.race([closed, new Promise<number>((ok) => setTimeout(() => ok(Number.NaN), 10000))]);
    console.log(`# the last of ${workers.length} workers closed ${at - t0} ms after Cancel; workers left ${page.workers().length}`);
    assert.ok(at - t0 <= 1000, `the last worker closed ${at - t0} ms after Cancel`);
    assert.equal(page.workers().length, 0);
    assert.equal(await page.textContent('#status'), 'Cancelled. Ready.');
    // No progress after the cancel: the bar and ETA stay as the cancel left them.
    const bar = "[document.getElementById('bar').style.width, document.getElementById('eta').textContent]";
    const before = await page.evaluate(bar);
    await page.waitForTimeout(1200);
    const later = await page.evaluate(bar);
    assert.deepEqual(later, before);
    assert.deepEqual(before, ['0px', '']);
    assert.equal(await page.isEnabled('#example'), true);
    assertSameOrigin(s);
    await s.context.close();
  });
});
