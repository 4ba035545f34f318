// The interactive Manhattan page: every point drawn carries its id (thinning
// or not: points drawn == ids), the page needs no network, and in Debian's
// chromium (headless, driven by playwright-core) hovering the top hit shows
// its id and dragging across the plot zooms into a region. With
// LMMKIT_SHOTS=DIR the browser test leaves screenshots there.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { interactiveManhattanHtml } from '../../src/plot/interactive.js';
import { formatMinusLog10p, manhattanPlot } from '../../src/plot/manhattan.js';
import { simulateAssoc } from '../../src/plot/simulate.js';
import { lmmkit, scratchDir } from '../cli-support.js';
import { toolTest } from '../support.js';

const dir = scratchDir('lmmkit-interactive-');
const sim = simulateAssoc({ variants: 40_000, seed: 5, loci: 3 });
const ids = Array.from({ length: sim.pos.length }, (_, i) => `rs${i + 1}`);
const cols = { chrom: { names: sim.names, codes: sim.codes }, pos: sim.pos, id: ids, log10p: sim.log10p };

/** The circles of an SVG with their data attributes. */
function circles(svg: string): { id: string; chr: string; pos: number; p: string }[] {
  return [...svg.matchAll(/<circle [^>]*data-id="([^"]*)" data-chr="([^"]*)" data-pos="([^"]*)" data-p="([^"]*)"/g)].map((m) => ({
    id: m[1]!,
    chr: m[2]!,
    pos: Number(m[3]),
    p: m[4]!,
  }));
}

describe('interactive Manhattan plot', () => {
  test('one id per drawn point, thinned or not; the static SVG is unchanged', () => {
    for (const thinAbove of [0.01, 1]) {
      const r = manhattanPlot(cols, { interactive: true, thinAbove });
      const c = circles(r.svg);
      assert.equal(c.length, r.points.drawn, `thinAbove ${thinAbove}: circles == points drawn`);
      assert.equal(r.drawnRows!.length, r.points.drawn);
      assert.equal((r.svg.match(/<circle /g) ?? []).length, r.points.drawn, 'no circle without its data');
      assert.equal((r.svg.match(/<title>/g) ?? []).length, r.points.drawn);
      // Each circle names its own row: id, chromosome, position and p-value agree with the input.
      r.drawnRows!.forEach((i, k) => {
        assert.deepEqual(c[k], { id: ids[i]!, chr: sim.names[sim.codes[i]!]!, pos: sim.pos[i]!, p: formatMinusLog10p(-sim.log10p[i]!) });
      });
      assert.equal(new Set(r.drawnRows).size, r.drawnRows!.length, 'no row drawn twice');
    }
    const thinned = manhattanPlot(cols, { interactive: true });
    assert.ok(thinned.points.thinned > 10_000 && thinned.points.drawn < 30_000, `${thinned.points.drawn} drawn`);
    const plain = manhattanPlot(cols);
    assert.equal(plain.svg, manhattanPlot(cols, { interactive: false }).svg);
    assert.doesNotMatch(plain.svg, /<circle|lmk-/);
    assert.equal(plain.points.drawn, thinned.points.drawn);
  });

  test('p-values from -log10 p, below the doubles too', () => {
    assert.deepEqual([0.30103, 2, 7.3, 1000 - Math.log10(2.1), Infinity].map(formatMinusLog10p), ['0.5', '0.01', '5.01e-8', '2.1e-1000', '0']);
  });

  test('lmmkit plot manhattan --out x.html writes a self-contained page', () => {
    const tsv = join(dir, 'res.tsv');
    const lines = ['chrom\tpos\tid\tpvalue\tlog10p'];
    for (let i = 0; i < sim.pos.length; i++) lines.push(`${sim.names[sim.codes[i]!]}\t${sim.pos[i]}\t${ids[i]}\t${10 ** sim.log10p[i]!}\t${sim.log10p[i]}`);
    writeFileSync(tsv, `${lines.join('\n')}\n`);
    const r = lmmkit('plot', 'manhattan', '--in', tsv, '--out', join(dir, 'm.html'), join(dir, 'm.svg'));
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(join(dir, 'm.html'), 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    // No network: the only URL is the SVG namespace.
    assert.deepEqual([...new Set(html.match(/https?:\/\/[^"' )]+/g))], ['http://www.w3.org/2000/svg']);
    assert.doesNotMatch(html, /<script [^>]*src=|<link /);
    const c = circles(html);
    assert.ok(c.length > 1000);
    assert.ok(
      c.every((x) => /^rs\d+$/.test(x.id)),
      'every point has its id from the file',
    );
    assert.doesNotMatch(readFileSync(join(dir, 'm.svg'), 'utf8'), /<circle/, 'the .svg beside it is the static plot');
    const q = lmmkit('plot', 'qq', '--in', tsv, '--out', join(dir, 'q.html'));
    assert.equal(q.status, 2);
    assert.match(q.stderr, /--out .*q\.html: expected a file name ending in \.svg or \.png\n$/);
  });

  toolTest('in chromium: hover on the top hit shows its id; drag zooms into a region', 'chromium', async () => {
    const { chromium } = await import('playwright-core');
    const plot = manhattanPlot(cols, { interactive: true, title: 'Simulated scan (40 000 variants)' });
    const page = join(dir, 'page.html');
    writeFileSync(page, interactiveManhattanHtml(plot, { title: 'simulated' }));
    const top = plot.labels[0]!;
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const tab = await browser.newPage({ viewport: { width: 1200, height: 620 } });
      const errors: string[] = [];
      tab.on('pageerror', (e) => errors.push(String(e)));
      await tab.goto(`file://${page}`);
      const dot = tab.locator(`circle[data-id="${top.id}"]`);
      assert.equal(await dot.count(), 1);
      await dot.hover({ force: true });
      const tip = tab.locator('#lmk-tip');
      await tip.waitFor({ state: 'visible', timeout: 5000 });
      const text = await tip.textContent();
      assert.ok(text!.startsWith(`${top.id}  ${top.chrom}:`), `tooltip '${text}'`);
      assert.match(text!, new RegExp(`p = ${formatMinusLog10p(top.minusLog10p).replace('.', '\\.')}$`));
      const shots = process.env.LMMKIT_SHOTS;
      if (shots !== undefined && shots !== '') {
        mkdirSync(shots, { recursive: true });
        await tab.screenshot({ path: join(shots, 'interactive-manhattan-hover.png') });
      }
      // Drag across the top hit's chromosome: the view shows only it, the hit moves but keeps its id.
      const ch = plot.chromosomes.find((c) => c.name === top.chrom)!;
      const box = (await tab.locator('#lmk-plot svg').boundingBox())!;
      const y = box.y + (plot.area.top + plot.area.bottom) / 2;
      const before = Number(await dot.getAttribute('cx'));
      await tab.mouse.move(box.x + ch.start + 1, y);
      await tab.mouse.down();
      await tab.mouse.move(box.x + (ch.start + ch.end) / 2, y, { steps: 4 });
      await tab.mouse.move(box.x + ch.end - 1, y, { steps: 4 });
      await tab.mouse.up();
      assert.match((await tab.locator('#lmk-range').textContent())!, new RegExp(`^${top.chrom}:[\\d,]+-[\\d,]+ \\(ticks in Mb\\)$`));
      const after = Number(await dot.getAttribute('cx'));
      assert.ok(Math.abs(after - before) > 5, `cx ${before} -> ${after}`);
      assert.ok((await tab.locator('.lmk-zoomticks text').count()) >= 2, 'Mb ticks when zoomed');
      await dot.hover({ force: true });
      assert.ok((await tip.textContent())!.startsWith(top.id));
      if (shots !== undefined && shots !== '') await tab.screenshot({ path: join(shots, 'interactive-manhattan-zoomed.png') });
      await tab.dblclick('#lmk-plot svg', { position: { x: plot.area.left + 10, y: plot.area.top + 10 } });
      assert.equal(await tab.locator('#lmk-range').textContent(), 'whole genome');
      assert.equal(Number(await dot.getAttribute('cx')), before);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
