// Manhattan and QQ plots, checked on the picture: the plots are rendered to
// PNG files (as the CLI writes them), decoded here, and their pixels looked
// at: image size, point colours in the expected regions, the significance
// line at the height of its p-value, text where the title and labels are,
// thinning that leaves the picture unchanged to the eye. Plus the parser of
// results tables, the natural chromosome order, lambda_GC and the QQ band
// against closed forms, and `lmmkit plot` / `lmmkit gwas --plot` run as a
// user runs them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync, inflateSync } from 'node:zlib';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { writeTsv } from '../../src/data/write-tsv.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { Rng } from '../../src/sim/rng.js';
import { chi2Isf, chi2Sf } from '../../src/stats/chi2.js';
import { AssocTsvParser, compareChrom, parseAssocTsv, toAssocData } from '../../src/plot/data.js';
import { MANHATTAN_COLORS, manhattanPlot, type ManhattanResult } from '../../src/plot/manhattan.js';
import { readAssocFile, writePlot } from '../../src/plot/node.js';
import { plotFontFiles } from '../../src/plot/fonts.js';
import { QQ_COLORS, lambdaGc, lambdaGcLog10, qqBand, qqPlot } from '../../src/plot/qq.js';
import { simulateAssoc } from '../../src/plot/simulate.js';

const BIN = new URL('../../../bin/lmmkit.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lmmkit-plot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function lmmkit(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env } });
}

// ---------------------------------------------------------------------------
// A PNG decoder (8-bit RGB/RGBA, not interlaced: what resvg writes), so that
// the tests read the files the users get.

interface Image {
  width: number;
  height: number;
  /** RGBA, row by row. */
  rgba: Uint8Array;
}

function decodePng(bytes: Uint8Array): Image {
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), sig, 'PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Uint8Array[] = [];
  while (off < bytes.length) {
    const len = view.getUint32(off);
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    const body = bytes.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = view.getUint32(off + 8);
      height = view.getUint32(off + 12);
      assert.equal(body[8], 8, 'bit depth 8');
      colorType = body[9]!;
      assert.ok(colorType === 6 || colorType === 2, `colour type ${colorType}`);
      assert.equal(body[12], 0, 'not interlaced');
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = px.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? px.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? row[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      let v = src[i]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      row[i] = v & 255;
    }
  }
  if (bpp === 4) return { width, height, rgba: px };
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(px.subarray(i * 3, i * 3 + 3), i * 4);
    rgba[i * 4 + 3] = 255;
  }
  return { width, height, rgba };
}

function hex(c: string): [number, number, number] {
  const n = Number.parseInt(c.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function pixel(img: Image, x: number, y: number): [number, number, number] {
  const i = (Math.round(y) * img.width + Math.round(x)) * 4;
  return [img.rgba[i]!, img.rgba[i + 1]!, img.rgba[i + 2]!];
}

function near(p: readonly number[], c: readonly number[], tol = 16): boolean {
  return Math.abs(p[0]! - c[0]!) <= tol && Math.abs(p[1]! - c[1]!) <= tol && Math.abs(p[2]! - c[2]!) <= tol;
}

/** Pixels of colour `c` in the box [x0, x1) x [y0, y1) (image pixels). */
function countColor(img: Image, c: readonly number[], x0: number, x1: number, y0: number, y1: number, tol = 16): number {
  let n = 0;
  for (let y = Math.max(0, Math.floor(y0)); y < Math.min(img.height, Math.ceil(y1)); y++) {
    for (let x = Math.max(0, Math.floor(x0)); x < Math.min(img.width, Math.ceil(x1)); x++) if (near(pixel(img, x, y), c, tol)) n++;
  }
  return n;
}

/** Dark pixels (text, axes) in a box. */
function countDark(img: Image, x0: number, x1: number, y0: number, y1: number): number {
  let n = 0;
  for (let y = Math.max(0, Math.floor(y0)); y < Math.min(img.height, Math.ceil(y1)); y++) {
    for (let x = Math.max(0, Math.floor(x0)); x < Math.min(img.width, Math.ceil(x1)); x++) {
      const p = pixel(img, x, y);
      if (p[0] < 110 && p[1] < 110 && p[2] < 110) n++;
    }
  }
  return n;
}

async function renderPng(svg: string, name: string): Promise<Image> {
  const path = join(dir, name);
  await writePlot(path, svg);
  return decodePng(readFileSync(path));
}

const RED = hex('#d62728');
const WHITE = [255, 255, 255];
const fontTest = {
  skip: plotFontFiles().length === 0 && process.env.CI !== 'true' ? 'no DejaVu/Liberation/Arial font here (Debian: fonts-dejavu-core)' : false,
};

// ---------------------------------------------------------------------------

describe('manhattanPlot', () => {
  // 200 000 simulated variants on 22 autosomes, plus one known hit (p = 1e-20 on chromosome 3).
  const sim = simulateAssoc({ variants: 200_000, seed: 11, loci: 4 });
  const known = sim.codes.findIndex((c, i) => c === 2 && sim.pos[i]! > 100e6);
  sim.log10p[known] = -20;
  sim.ids.set(known, 'rsKNOWN');
  const cols = { chrom: { names: sim.names, codes: sim.codes }, pos: sim.pos, log10p: sim.log10p, id: sim.ids };
  let res: ManhattanResult;
  let img: Image;

  test('renders to a PNG of twice the SVG size', async () => {
    res = manhattanPlot(cols, { title: 'Seeded scan, 200 000 variants', labelTop: 3 });
    assert.doesNotMatch(res.svg, /NaN|undefined|Infinity/);
    img = await renderPng(res.svg, 'manhattan.png');
    assert.equal(img.width, 2 * 1100);
    assert.equal(img.height, 2 * 480);
    assert.equal(res.points.total, 200_000);
    assert.equal(res.points.drawn + res.points.thinned, 200_000);
    assert.deepEqual(
      res.chromosomes.map((c) => c.name),
      sim.names,
    );
  });

  test('the genome-wide line is at the height of p = 5e-8, the suggestive one at 1e-5', () => {
    const { area } = res;
    const yLine = 2 * res.y(-Math.log10(5e-8));
    // The line's own height from the axis: area.bottom - 5 px is -log10 p = 0.
    const expected = 2 * (area.bottom - 5 - (-Math.log10(5e-8) / res.yMax) * (area.bottom - 5 - area.top));
    assert.ok(Math.abs(yLine - expected) < 1e-9);
    // Red pixels across the whole width at that row, none a few pixels away.
    for (const xf of [0.05, 0.3, 0.5, 0.7, 0.95]) {
      const x = 2 * (area.left + xf * (area.right - area.left));
      const rows = [-3, -2, -1, 0, 1, 2, 3].filter((d) => near(pixel(img, x, yLine + d), RED, 40));
      assert.ok(rows.length >= 1 && rows.every((d) => Math.abs(d) <= 1.5), `red line at x=${x}: rows ${rows} around ${yLine}`);
      assert.ok(!near(pixel(img, x, yLine - 8), RED, 60) && !near(pixel(img, x, yLine + 8), RED, 60));
    }
    // The suggestive line (dashed grey) at p = 1e-5: grey pixels on its row.
    const ySug = 2 * res.y(5);
    const grey = countColor(img, hex('#7f7f7f'), 2 * area.left, 2 * area.right, ySug - 1.5, ySug + 1.5, 30);
    assert.ok(grey > 0.4 * 2 * (area.right - area.left), `dashed line: ${grey} grey pixels`);
  });

  test("points of alternating colours in each chromosome's span, the bulk near the axis", () => {
    const colors = MANHATTAN_COLORS.map(hex);
    const y0 = 2 * res.y(0);
    const y2 = 2 * res.y(2);
    res.chromosomes.forEach((ch, k) => {
      const own = colors[k % 2]!;
      const other = colors[(k + 1) % 2]!;
      const x0 = 2 * ch.start + 4;
      const x1 = 2 * ch.end - 4;
      const area = (x1 - x0) * (y0 - y2);
      const mine = countColor(img, own, x0, x1, y2, y0);
      assert.ok(mine > 0.3 * area, `chromosome ${ch.name}: ${mine} of ${area} pixels in its colour`);
      assert.equal(countColor(img, other, x0, x1, y2, y0, 10), 0, `chromosome ${ch.name}: no pixel of the other colour`);
      assert.equal(ch.color, MANHATTAN_COLORS[k % 2]);
    });
    // Between -log10 p = 3.2 and 4.5 points are sparse (only the few loci): under a quarter of the ink per row of the bulk.
    const ink = (a: number, b: number): number =>
      colors.reduce((s, c) => s + countColor(img, c, 2 * res.area.left, 2 * res.area.right, 2 * res.y(b), 2 * res.y(a)), 0) / (2 * res.y(a) - 2 * res.y(b));
    assert.ok(ink(3.2, 4.5) < 0.25 * ink(0, 2), `${ink(3.2, 4.5)} vs ${ink(0, 2)} per row`);
  });

  test('the known hit is a point at its position and -log10 p, and is labelled', () => {
    const x = 2 * res.x('3', sim.pos[known]!);
    const y = 2 * res.y(20);
    const k = res.chromosomes.findIndex((c) => c.name === '3');
    assert.ok(near(pixel(img, x, y), hex(MANHATTAN_COLORS[k % 2]!), 24), `pixel at the hit: ${pixel(img, x, y)}`);
    assert.ok(
      res.labels.some((l) => l.id === 'rsKNOWN'),
      JSON.stringify(res.labels),
    );
    assert.ok(res.labels.length <= 3);
    // Labels are the best hit of distinct loci, best first.
    for (let i = 1; i < res.labels.length; i++) assert.ok(res.labels[i - 1]!.minusLog10p >= res.labels[i]!.minusLog10p);
  });

  test('text renders: title, axis titles, chromosome numbers, hit labels', fontTest, () => {
    assert.ok(
      plotFontFiles().length > 0,
      'no DejaVu Sans, Liberation Sans or Arial font file found: PNG text cannot render (Debian: apt-get install fonts-dejavu-core)',
    );
    const w = img.width;
    assert.ok(countDark(img, 0.25 * w, 0.75 * w, 0, 2 * 34) > 1500, 'title pixels');
    assert.ok(countDark(img, 0, 2 * 24, 2 * 150, 2 * 330) > 200, 'y-axis title pixels');
    assert.ok(countDark(img, 0.4 * w, 0.6 * w, img.height - 2 * 26, img.height) > 300, 'x-axis title pixels');
    const ch1 = res.chromosomes[0]!;
    assert.ok(countDark(img, 2 * ch1.start, 2 * ch1.end, 2 * (res.area.bottom + 6), 2 * (res.area.bottom + 20)) > 30, 'chromosome label 1');
    const lx = 2 * res.x('3', sim.pos[known]!);
    const ly = 2 * res.y(20);
    assert.ok(countDark(img, lx - 80, lx + 80, ly - 60, ly - 6) > 100, 'label of the known hit');
    // Nothing is clipped: the outermost 4 pixels are background.
    for (const [x0, x1, y0, y1] of [
      [0, w, 0, 4],
      [0, w, img.height - 4, img.height],
      [0, 4, 0, img.height],
      [w - 4, w, 0, img.height],
    ]) {
      assert.equal(countColor(img, WHITE, x0!, x1!, y0!, y1!, 0), (x1! - x0!) * (y1! - y0!));
    }
  });

  test('thinning leaves the picture unchanged to the eye and keeps the file small', async () => {
    const all = manhattanPlot(cols, { thinAbove: 1, labelTop: 0 });
    const thin = manhattanPlot(cols, { labelTop: 0 });
    assert.ok(thin.points.drawn < 0.25 * all.points.drawn, `${thin.points.drawn} vs ${all.points.drawn}`);
    assert.ok(thin.svg.length < 0.3 * all.svg.length);
    const a = await renderPng(all.svg, 'all.png');
    const b = await renderPng(thin.svg, 'thin.png');
    let ink = 0;
    let differ = 0;
    for (let i = 0; i < a.rgba.length; i += 4) {
      if (a.rgba[i]! < 250 || a.rgba[i + 2]! < 250) ink++;
      const d = Math.max(Math.abs(a.rgba[i]! - b.rgba[i]!), Math.abs(a.rgba[i + 1]! - b.rgba[i + 1]!), Math.abs(a.rgba[i + 2]! - b.rgba[i + 2]!));
      if (d > 64) differ++;
    }
    assert.ok(differ < 0.02 * ink, `${differ} of ${ink} ink pixels differ`);
    // Every point with p < 0.01 is drawn: its centre has its chromosome's colour.
    const colors = MANHATTAN_COLORS.map(hex);
    const sig = [];
    for (let i = 0; i < sim.log10p.length; i++) if (sim.log10p[i]! < -2) sig.push(i);
    const rng = new Rng(5);
    let checked = 0;
    for (let t = 0; t < 400; t++) {
      const i = sig[Math.floor(rng.uniform() * sig.length)]!;
      const name = sim.names[sim.codes[i]!]!;
      const k = thin.chromosomes.findIndex((c) => c.name === name);
      const x = thin.x(name, sim.pos[i]!);
      const y = thin.y(-sim.log10p[i]!);
      const ch = thin.chromosomes[k]!;
      if (x < ch.start + 3 || x > ch.end - 3 || [5, -Math.log10(5e-8)].some((v) => Math.abs(thin.y(v) - y) < 3)) continue;
      assert.ok(near(pixel(b, 2 * x, 2 * y), colors[k % 2]!, 24), `point ${i} (${name}:${sim.pos[i]}, ${-sim.log10p[i]!}) not drawn`);
      checked++;
    }
    assert.ok(checked > 300);
  });

  test("limix-lmm's options: pvThr, colors, offset, callback", async () => {
    const calls: string[] = [];
    const r = manhattanPlot(cols, {
      pvThr: 1e-6,
      suggestive: null,
      colors: ['#000000', '#808080', '#00aa00'],
      offset: 0.2,
      labelTop: 0,
      callback: (ch) => {
        calls.push(ch.name);
        assert.ok(ch.rows().every((i) => sim.codes[i] === Number(ch.name) - 1));
        return ch.index === 0 ? `<rect x="${ch.start}" y="${ch.area.top}" width="${ch.end - ch.start}" height="10" fill="#ff00ff"/>` : undefined;
      },
    });
    assert.deepEqual(calls, sim.names);
    assert.deepEqual(
      r.chromosomes.slice(0, 4).map((c) => c.color),
      ['#000000', '#808080', '#00aa00', '#000000'],
    );
    // Gap = 0.2 x the longest chromosome's span.
    const spans = r.chromosomes.map((c) => c.end - c.start);
    const gap = r.chromosomes[1]!.start - r.chromosomes[0]!.end;
    assert.ok(Math.abs(gap - 0.2 * Math.max(...spans)) < 1e-6 * gap);
    const im = await renderPng(r.svg, 'options.png');
    const yThr = 2 * r.y(6);
    assert.ok(near(pixel(im, (2 * (r.area.left + r.area.right)) / 2, yThr), RED, 40) || near(pixel(im, r.area.left + r.area.right, yThr + 1), RED, 40));
    assert.ok(
      countColor(im, hex('#ff00ff'), 2 * r.chromosomes[0]!.start, 2 * r.chromosomes[0]!.end, 2 * r.area.top, 2 * r.area.top + 20, 2) > 100,
      "the callback's markup is drawn",
    );
    assert.ok(countColor(im, [0, 0xaa, 0], 2 * r.chromosomes[2]!.start, 2 * r.chromosomes[2]!.end, 0, im.height, 20) > 100);
  });

  test('rows, p-values, a single chromosome, p = 0, empty input', async () => {
    const rows = [
      { chrom: 'chr2', pos: 1_500_000, id: 'a', pvalue: 0.3 },
      { chrom: 'chr2', pos: 2_500_000, id: 'b', pvalue: 1e-9 },
      { chrom: 'chr2', pos: 3_000_000, id: 'c', pvalue: 0 },
      { chrom: 'chr2', pos: 3_200_000, id: 'd', pvalue: Number.NaN },
    ];
    const r = manhattanPlot(rows, { labelWindow: 100_000 });
    assert.match(r.svg, /Chromosome chr2 position \(Mb\)/);
    assert.doesNotMatch(r.svg, /NaN|undefined/);
    assert.deepEqual(
      r.labels.map((l) => l.id),
      ['c', 'b'],
    );
    assert.equal(r.points.untested, 1);
    assert.equal(r.points.drawn, 3);
    // p = 0 sits at the top of the axis.
    assert.equal(r.y(Infinity), r.y(r.yMax));
    const e = manhattanPlot([], { title: 'empty' });
    assert.doesNotMatch(e.svg, /NaN|undefined/);
    const im = await renderPng(e.svg, 'empty.png');
    assert.equal(im.width, 2200);
    assert.throws(() => manhattanPlot([{ chrom: 1, pos: 1, pvalue: 2 }]), /pvalue: expected a p-value in \[0, 1\], found 2/);
    assert.throws(() => manhattanPlot({ chrom: ['1'], pos: [1, 2], log10p: [-1, -2] }), /chrom: 1 values for 2 positions/);
    assert.throws(() => manhattanPlot({ chrom: ['1'], pos: [1], log10p: [0.5] }), /log10p\[0\]: expected log10 of a p-value/);
  });
});

describe('qqPlot', () => {
  const rng = new Rng(3);
  const n = 50_000;
  const null1 = Float64Array.from({ length: n }, () => rng.uniform());
  const null2 = Float64Array.from({ length: n }, () => rng.uniform());
  // Inflated: chi2 statistics scaled by 1.3.
  const inflated = Float64Array.from({ length: n }, () => chi2Sf(1.3 * chi2Isf(rng.uniform(), 1), 1));

  test('lambda_GC is the median chi-square over 0.4549 (exact on a grid)', () => {
    const m = 10_001;
    const grid = Float64Array.from({ length: m }, (_, i) => (i + 1) / (m + 1));
    assert.ok(Math.abs(lambdaGc(grid) - 1) < 1e-12);
    const scaled = Float64Array.from(grid, (p) => chi2Sf(1.3 * chi2Isf(p, 1), 1));
    assert.ok(Math.abs(lambdaGc(scaled) - 1.3) < 1e-9, String(lambdaGc(scaled)));
    assert.ok(Math.abs(lambdaGcLog10(Float64Array.from(scaled, Math.log10)) - 1.3) < 1e-9);
    // Even count: the mean of the two middle statistics; NaN skipped.
    const two = lambdaGc([0.2, 0.6, Number.NaN]);
    assert.ok(Math.abs(two - (chi2Isf(0.2, 1) + chi2Isf(0.6, 1)) / 2 / 0.454936423119572) < 1e-12);
    // Where p underflows, the log10 variant still ranks.
    assert.ok(Number.isFinite(lambdaGcLog10([-400, -500, -600])));
    // Large inputs (the bucket sort path) agree with a plain sort.
    const big = Float64Array.from({ length: 300_001 }, () => rng.uniform() ** 3);
    const sorted = big.slice().sort();
    assert.ok(Math.abs(lambdaGc(big) - chi2Isf(sorted[150_000]!, 1) / 0.454936423119572) < 1e-12);
  });

  test("the band is the order statistics' Beta quantiles", () => {
    const b1 = qqBand(1, 0.95);
    assert.ok(Math.abs(b1.upper[0]! + Math.log10(0.025)) < 1e-12 && Math.abs(b1.lower[0]! + Math.log10(0.975)) < 1e-12);
    const b = qqBand(10, 0.9);
    // Smallest of 10 uniforms: P(U(1) <= x) = 1 - (1 - x)^10.
    assert.equal(b.expected[0], -Math.log10(1 / 11));
    assert.ok(Math.abs(b.upper[0]! + Math.log10(1 - 0.95 ** 0.1)) < 1e-10);
    assert.ok(Math.abs(b.lower[0]! + Math.log10(1 - 0.05 ** 0.1)) < 1e-10);
    const big = qqBand(10_000_000, 0.95);
    assert.ok(big.expected.length > 50 && big.expected.length < 200);
    for (let k = 0; k < big.expected.length; k++) assert.ok(big.lower[k]! < big.expected[k]! + 1e-9 && big.expected[k]! < big.upper[k]!);
  });

  test('three series in one plot: colours, band, diagonal, lambdas, legend', async () => {
    const r = qqPlot(
      [
        { pvalues: null1, label: 'null 1' },
        { pvalues: null2, label: 'null 2' },
        { pvalues: inflated, label: 'inflated' },
      ],
      { title: 'QQ, three series' },
    );
    assert.doesNotMatch(r.svg, /NaN|undefined/);
    assert.ok(Math.abs(r.lambdas[0]! - 1) < 0.05 && Math.abs(r.lambdas[1]! - 1) < 0.05, String(r.lambdas));
    assert.ok(Math.abs(r.lambdas[2]! - 1.3) < 0.06, String(r.lambdas));
    const img = await renderPng(r.svg, 'qq.png');
    assert.equal(img.width, 1040);
    assert.equal(img.height, 1040);
    for (const [k, c] of QQ_COLORS.slice(0, 3).entries()) {
      assert.ok(countColor(img, hex(c), 2 * r.area.left, 2 * r.area.right, 2 * r.area.top, 2 * r.area.bottom) > 200, `series ${k} drawn`);
    }
    // The inflated series lies above the diagonal: at expected 1.5, its point is at ~1.3 x the chi2.
    const e = 1.5;
    const oInfl = -Math.log10(chi2Sf(1.3 * chi2Isf(10 ** -e, 1), 1));
    assert.ok(countColor(img, hex(QQ_COLORS[2]!), 2 * r.x(e) - 6, 2 * r.x(e) + 6, 2 * r.y(oInfl) - 8, 2 * r.y(oInfl) + 8) > 10);
    // The band around the diagonal near the top of the expected range, where no null point is.
    const eb = r.xMax - 0.15;
    const band = qqBand(n, 0.95);
    const k = band.expected.findIndex((v) => v >= eb - 0.05);
    const yb = 2 * r.y((band.upper[k]! + band.expected[k]!) / 2 + 0.1);
    assert.ok(countColor(img, [225, 225, 225], 2 * r.x(band.expected[k]!) - 3, 2 * r.x(band.expected[k]!) + 3, yb - 3, yb + 3, 12) > 5, 'band');
  });

  test('lambda text and legend render', fontTest, async () => {
    const r = qqPlot({ pvalues: null1 }, { title: 'One series' });
    const img = await renderPng(r.svg, 'qq1.png');
    assert.ok(countDark(img, 2 * r.area.left + 10, 2 * r.area.left + 200, 2 * r.area.top, 2 * r.area.top + 50) > 150, 'lambda text');
    assert.ok(countDark(img, 300, 740, 0, 2 * 34) > 800, 'title');
    assert.ok(countDark(img, 300, 740, img.height - 2 * 28, img.height) > 300, 'x-axis title');
    assert.match(r.svg, /\u03bb<tspan[^>]*>GC<\/tspan><tspan[^>]*> = 1\.0\d\d/);
  });

  test("limix-lmm's pv_thr, plot_method and line", () => {
    const count = null1.filter((p) => p < 0.01).length;
    let seen = 0;
    const r = qqPlot(null1, {
      pvThr: 0.01,
      plotMethod: (x, y, s) => {
        seen = x.length;
        assert.equal(x.length, y.length);
        for (let i = 1; i < y.length; i++) assert.ok(y[i]! <= y[i - 1]! && x[i]! <= x[i - 1]!);
        assert.ok(x.every((v) => v >= 2 - 1e-12));
        return `<circle cx="${s.x(x[0]!)}" cy="${s.y(y[0]!)}" r="3"/>`;
      },
    });
    assert.equal(r.xMin, 2);
    assert.ok(Math.abs(r.xMax - (2 + Math.log10(count + 1))) < 1e-12);
    assert.ok(seen > 0 && seen <= count);
    assert.equal(r.points[0]!.total, n);
    const l = qqPlot(null1, { line: true, band: null, plotXyline: false, xyLabels: false, showLambda: false });
    assert.match(l.svg, /<path fill="none" stroke="#1f3a68" stroke-width="1\.2" d="M[^"]+L/);
    assert.doesNotMatch(l.svg, /Expected|\u03bb/);
  });
});

describe('association tables', () => {
  const gwasTsv = `${[
    'chrom\tpos\tid\ta1\ta2\taf\tn\tbeta\tse\tstat\tpvalue\tlog10p',
    '1\t100\trs1\tA\tG\t0.2\t100\t0.1\t0.1\t1\t0.5\t-0.30103',
    '1\t200\trs2\tA\tG\t0.2\t100\t0.1\t0.1\t1\t0\t-400.5',
    'X\t300\trs3\tA\tG\t0.2\t100\tNA\tNA\tNA\tNA\tNA',
    '2\t50\trs4\tA\tG\t0.2\t100\t0.1\t0.1\t1\t1e-6\t-6',
  ].join('\n')}\n`;

  test('parses the gwas TSV, from any chunking, with log10p and ids of hits only', () => {
    const t = parseAssocTsv(gwasTsv);
    assert.equal(t.rows, 4);
    assert.equal(t.column, 'log10p');
    assert.deepEqual(t.chrom.names, ['1', 'X', '2']);
    assert.deepEqual(Array.from(t.chrom.codes), [0, 0, 1, 2]);
    assert.deepEqual(Array.from(t.pos), [100, 200, 300, 50]);
    assert.equal(t.log10p[1], -400.5);
    assert.ok(Number.isNaN(t.log10p[2]!));
    assert.deepEqual(
      [...t.id.entries()],
      [
        [1, 'rs2'],
        [3, 'rs4'],
      ],
    );
    const rng = new Rng(1);
    const crlf = gwasTsv.replaceAll('\n', '\r\n');
    for (let trial = 0; trial < 20; trial++) {
      const p = new AssocTsvParser({ keepIdsBelow: Infinity });
      let at = 0;
      while (at < crlf.length) {
        const step = 1 + Math.floor(rng.uniform() * 20);
        p.push(crlf.slice(at, at + step));
        at += step;
      }
      const c = p.finish();
      assert.deepEqual(Array.from(c.log10p).map(String), Array.from(t.log10p).map(String));
      assert.equal(c.id.size, 4);
    }
    const pv = parseAssocTsv(gwasTsv, { column: 'pvalue' });
    assert.equal(pv.log10p[1], -Infinity);
    assert.ok(Math.abs(pv.log10p[3]! + 6) < 1e-12);
  });

  test('the multi-variant layout and PLINK-style tables', () => {
    const multi =
      'chrom\tpos\tid\tchrom_last\tpos_last\tid_last\tvariants\tdf\taf\tn\tbeta\tse\tstat\tpvalue\tlog10p\n' +
      '22\t10\tv1\t22\t30\tv3\t3\t3\t0.1;0.2;0.3\t9;9;9\t1;2;3\t1;1;1\t20\t1e-4\t-4\n';
    const m = parseAssocTsv(multi, { keepIdsBelow: 1 });
    assert.deepEqual([...m.id.values()], ['v1']);
    assert.equal(m.log10p[0], -4);
    const plink =
      ' CHR        SNP         BP   A1      TEST    NMISS       BETA         STAT            P \n' +
      '   1   rs3094315     752566    G       ADD      100    0.1         1.2       0.23\n';
    const p = parseAssocTsv(plink, { keepIdsBelow: Infinity });
    assert.equal(p.column, 'P');
    assert.deepEqual([...p.id.values()], ['rs3094315']);
    assert.equal(p.pos[0], 752566);
  });

  test('bad tables name the file and line', () => {
    assert.throws(() => parseAssocTsv('a\tb\n', { file: 'x.tsv' }), /x\.tsv:1: expected a header with a chromosome column/);
    assert.throws(
      () => parseAssocTsv(`${gwasTsv}3\tnope\trs9\tA\tG\t0.1\t1\t1\t1\t1\t0.1\t-1\n`, { file: 'x.tsv' }),
      /x\.tsv:6: expected a position, found 'nope'/,
    );
    assert.throws(() => parseAssocTsv(`${gwasTsv}3\t5\trs9\tA\tG\t0.1\t1\t1\t1\t1\t0.1\t0.5\n`, { file: 'x.tsv' }), /x\.tsv:6: expected log10 of a p-value/);
    assert.throws(() => parseAssocTsv('chrom\tpos\tpvalue\n1\t2\t1.5\n', { file: 'y' }), /y:2: expected a p-value in \[0, 1\]/);
    assert.throws(() => parseAssocTsv('chrom\tpos\tpvalue\n1\t2\n', { file: 'y' }), /y:2: expected at least 3 tab-separated fields, found 2/);
    assert.throws(() => parseAssocTsv('', { file: 'e' }), /e: expected a header line/);
    assert.throws(() => parseAssocTsv(gwasTsv, { column: 'p_lrt' }), /expected a column 'p_lrt'/);
  });

  test('reads plain and gzip files', async () => {
    const plain = join(dir, 'r.tsv');
    const gz = join(dir, 'r.tsv.gz');
    writeFileSync(plain, gwasTsv);
    writeFileSync(gz, gzipSync(gwasTsv));
    const a = await readAssocFile(plain);
    const b = await readAssocFile(gz);
    assert.deepEqual(Array.from(a.log10p).map(String), Array.from(b.log10p).map(String));
    await assert.rejects(readAssocFile(join(dir, 'missing.tsv')), /cannot read \(ENOENT\)/);
  });

  test('natural chromosome order', () => {
    const names = ['chr10', 'Y', '2', 'X', '1', 'MT', 'GL000192.1', '22', 'chr3', 'XY', 'HLA'];
    assert.deepEqual([...names].sort(compareChrom), ['1', '2', 'chr3', 'chr10', '22', 'X', 'Y', 'XY', 'MT', 'GL000192.1', 'HLA']);
    const d = toAssocData({ chrom: [1, 1, 2], pos: [1, 2, 3], pvalue: [0.5, 0.1, 1] });
    assert.deepEqual(d.chromNames, ['1', '2']);
    assert.deepEqual(
      Array.from(d.minusLog10p).map((v) => Number(v.toFixed(6))),
      [0.30103, 1, 0],
    );
  });
});

describe('lmmkit plot and gwas --plot', () => {
  const sim = simulateAssoc({ variants: 30_000, seed: 4, loci: 2 });
  const tsv = join(dir, 'res.tsv');
  const lines = ['chrom\tpos\tid\ta1\ta2\taf\tn\tbeta\tse\tstat\tpvalue\tlog10p'];
  for (let i = 0; i < sim.pos.length; i++) {
    lines.push(`${sim.names[sim.codes[i]!]}\t${sim.pos[i]}\trs${i + 1}\tA\tG\t0.3\t500\t0.1\t0.1\t1\t${10 ** sim.log10p[i]!}\t${sim.log10p[i]}`);
  }
  writeFileSync(tsv, `${lines.join('\n')}\n`);

  test('plot manhattan and qq write .png and .svg', () => {
    const m = lmmkit('plot', 'manhattan', '--in', tsv, '--out', join(dir, 'm.png'), join(dir, 'm.svg'), '--title', 'CLI test');
    assert.equal(m.status, 0, m.stderr);
    assert.match(m.stdout, /manhattan: 30000 tests on 22 chromosomes .* -> .*m\.png, .*m\.svg/);
    const img = decodePng(readFileSync(join(dir, 'm.png')));
    assert.equal(img.width, 2200);
    assert.match(readFileSync(join(dir, 'm.svg'), 'utf8'), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="1100" height="480"/);
    const q = lmmkit('plot', 'qq', '--in', tsv, tsv, '--labels', 'a', 'b', '--out', join(dir, 'q.png'), '--scale', '1', '--width', '400', '--height', '400');
    assert.equal(q.status, 0, q.stderr);
    assert.match(q.stdout, /qq: a: lambda_GC 1\.\d+ \(30000 p-values\); b: lambda_GC/);
    const qi = decodePng(readFileSync(join(dir, 'q.png')));
    assert.deepEqual([qi.width, qi.height], [400, 400]);
  });

  test('plot rejects bad arguments with exit status 2 and writes nothing', () => {
    const cases: [string[], RegExp][] = [
      [['manhattan', '--in', tsv, '--out', join(dir, 'x.pdf')], /--out .*x\.pdf: expected a file name ending in \.svg or \.png/],
      [['manhattan', '--in', tsv], /--out FILE is required/],
      [['qq', '--out', join(dir, 'x.svg')], /--in FILE is required/],
      [['manhattan', '--in', join(dir, 'nope.tsv'), '--out', join(dir, 'x.svg')], /--in .*nope\.tsv: cannot read \(ENOENT\)/],
      [['manhattan', '--in', tsv, '--out', join(dir, 'x.svg'), '--threshold', '3'], /--threshold: expected a p-value in \(0, 1\] or 'none'/],
      [['qq', '--in', tsv, tsv, '--labels', 'a', '--out', join(dir, 'x.svg')], /--labels: expected 2 names/],
      [['manhattan', '--in', tsv, '--out', join(dir, 'no-such-dir', 'x.svg')], /cannot write \(ENOENT\)/],
    ];
    for (const [args, msg] of cases) {
      const r = lmmkit('plot', ...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.ok(!existsSync(join(dir, 'x.svg')) && !existsSync(join(dir, 'x.pdf')));
  });

  test('gwas --plot writes both plots of each trait next to its TSV', async () => {
    const g = simulateGwas({ samples: 200, variants: 600, seed: 7, causal: 2, h2Causal: 0.4, h2Population: 0.05 });
    const prefix = join(dir, 'g');
    await writeBed(prefix, g.dosages, g.samples, g.variants);
    const pheno = join(dir, 'g-pheno.tsv');
    await writeTsv(pheno, [
      { name: 'FID', values: g.samples.fid },
      { name: 'IID', values: g.samples.iid },
      { name: 'my trait', values: g.phenotype },
    ]);
    const out = join(dir, 'gout');
    const r = lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--kinship-from-bfile', '--out', out, '--plot');
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['manhattan.png', 'manhattan.svg', 'qq.png', 'qq.svg']) assert.ok(existsSync(`${out}.my_trait.${f}`), f);
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { traits: { plots: string[]; lambdaGc: number }[] };
    assert.equal(report.traits[0]!.plots.length, 4);
    assert.ok(report.traits[0]!.lambdaGc > 0.5 && report.traits[0]!.lambdaGc < 2);
    const img = decodePng(readFileSync(`${out}.my_trait.manhattan.png`));
    assert.deepEqual([img.width, img.height], [2200, 960]);
    assert.match(readFileSync(`${out}.my_trait.manhattan.svg`, 'utf8'), /my trait: 600 tests, 200 samples|my trait: \d+ tests, 200 samples/);
    assert.match(r.stdout, /plots \(lambda_GC [\d.]+\) -> .*manhattan\.png/);
  });
});
