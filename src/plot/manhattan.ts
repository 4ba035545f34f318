// The Manhattan plot: -log10 p against genome position, chromosomes side by
// side in natural order with alternating colours (limix-lmm's
// plot_manhattan, drawn as SVG). Browser-safe.
import { ArgumentError } from '../errors.js';
import { compareChrom, toAssocData, type AssocData, type AssocInput } from './data.js';
import { DotLayer } from './thin.js';
import { esc, minusLog10Label, titleText, niceTicks, num, positive, svgOpen, text, textWidth, tickLabel, type PlotArea } from './svg.js';

/** One chromosome of a Manhattan plot, as the `callback` sees it. */
export interface ManhattanChromosome {
  name: string;
  /** Rank in the plot (0 = leftmost). */
  index: number;
  color: string;
  /** Pixel span of the chromosome on the x axis. */
  start: number;
  end: number;
  /** Smallest and largest position of its rows. */
  minPos: number;
  maxPos: number;
  /** The pixel x of a position on this chromosome. */
  x(pos: number): number;
  /** The pixel y of a -log10 p (clamped to the axis maximum). */
  y(minusLog10p: number): number;
  /** The rows (indices into the input) on this chromosome, computed on first call. */
  rows(): Int32Array;
  /** The whole input, normalised (positions, -log10 p, ids). */
  data: AssocData;
  area: PlotArea;
  /** Size of the whole picture. */
  width: number;
  height: number;
}

/** Options of `manhattanPlot`; every one has a default. */
export interface ManhattanOptions {
  /** Title above the plot (default none). */
  title?: string;
  /** SVG size in pixels (default 1100 x 480). */
  width?: number;
  height?: number;
  /**
   * limix-lmm's `pv_thr`: the p-value of the significance line, drawn solid
   * red (default 5e-8, genome-wide significance); `null` draws none.
   */
  pvThr?: number | null;
  /** The p-value of the suggestive line, drawn dashed (default 1e-5); `null` draws none. */
  suggestive?: number | null;
  /** Colours that alternate over the chromosomes (default two blues; limix-lmm's `colors`). */
  colors?: readonly string[];
  /**
   * limix-lmm's `offset`: the gap between chromosomes as a fraction of the
   * longest chromosome's span (default 0.05; limix-lmm's is 0.2).
   */
  offset?: number;
  /**
   * limix-lmm's `callback`, called once per chromosome in plot order after
   * the points and lines are drawn; the SVG markup it returns is drawn on top
   * (for example rings around chosen variants).
   */
  callback?: (chrom: ManhattanChromosome) => string | undefined;
  /** Label at most this many top hits with their ids, one per locus (default 5; 0: none). */
  labelTop?: number;
  /** Only hits with a p-value below this are labelled (default `pvThr`, or 5e-8). */
  labelBelow?: number;
  /** Hits closer than this many base pairs to a labelled one on the same chromosome are one locus (default 1e6). */
  labelWindow?: number;
  /**
   * Points with a p-value above this are thinned on a `thinCell`-pixel grid
   * (default 0.01); points below are all drawn. 1 thins nothing, 0 thins every point.
   */
  thinAbove?: number;
  /** Grid cell of the thinning, in pixels (default 1). */
  thinCell?: number;
  /** Point radius in pixels (default 2). */
  pointRadius?: number;
  /** Top of the y axis in -log10 p (default: from the data); larger values are drawn at the top. */
  yMax?: number;
  /** x-axis title (default 'Chromosome', or 'Chromosome C position (Mb)' for a single chromosome). */
  xLabel?: string;
  /** Colour of the significance line (default '#d62728'). */
  thresholdColor?: string;
  /** Colour of the suggestive line (default '#7f7f7f'). */
  suggestiveColor?: string;
  /** Background colour (default 'white'; 'none' for transparent). */
  background?: string;
  /**
   * Draw each point as a `<circle>` carrying its id, chromosome, position
   * and p-value (`data-*` attributes and a `<title>`, which viewers show on
   * hover), with the x ticks and labels in groups a script can redraw: the
   * SVG of the interactive page (`interactiveManhattanHtml`). Bigger files
   * (~130 bytes per drawn point instead of ~10), so off by default.
   */
  interactive?: boolean;
}

/** An SVG picture and where its plot area lies. */
export interface PlotResult {
  /** The standalone SVG document. */
  svg: string;
  width: number;
  height: number;
  /** The plot area (inside the axes), in SVG pixels. */
  area: PlotArea;
}

/** What `manhattanPlot` returns. */
export interface ManhattanResult extends PlotResult {
  /** The top of the y axis, in -log10 p. */
  yMax: number;
  /** The pixel y of a -log10 p. */
  y(minusLog10p: number): number;
  /** The pixel x of a position on a chromosome (NaN when the chromosome is not in the plot). */
  x(chrom: string, pos: number): number;
  /** Chromosomes in plot order, with their colour and pixel span; `x0` is the pixel of `minPos`, positions advance `bpPerPixel` per pixel. */
  chromosomes: { name: string; color: string; start: number; end: number; x0: number; minPos: number; maxPos: number }[];
  /** Base pairs per pixel along the x axis (the same on every chromosome). */
  bpPerPixel: number;
  /** With `interactive`: the rows (indices into the input) drawn as points, in drawing order. */
  drawnRows?: Int32Array;
  /** Rows in the input, points drawn, points dropped by the thinning, rows without a p-value. */
  points: { total: number; drawn: number; thinned: number; untested: number };
  /** The hits labelled, best first. */
  labels: { id: string; chrom: string; pos: number; minusLog10p: number }[];
}

/** The default colours of the Manhattan plot's chromosomes. */
export const MANHATTAN_COLORS: readonly string[] = ['#1f3a68', '#6f9bd1'];

const TITLE_SIZE = 16;
const AXIS_SIZE = 13;
const TICK_SIZE = 11;
const LABEL_SIZE = 10.5;
const TEXT_COLOR = '#222';

function probability(name: string, v: number): number {
  if (!(v > 0 && v <= 1)) throw new ArgumentError(`${name}: expected a p-value in (0, 1], found ${v}`);
  return v;
}

/**
 * Draws a Manhattan plot of association results (rows or columns with chrom,
 * pos, id and a p-value or its log10) as an SVG document: chromosomes in
 * natural order (1..22, X, Y, MT, then others), alternating colours,
 * -log10 p on the y axis, the genome-wide significance line (5e-8) and a
 * suggestive one (1e-5), the top hits labelled with their ids. Millions of
 * rows are fine: points with p > `thinAbove` are thinned on a pixel grid.
 */
export function manhattanPlot(rows: AssocInput | AssocData, options: ManhattanOptions = {}): ManhattanResult {
  const data = 'minusLog10p' in rows && rows.minusLog10p instanceof Float64Array ? (rows as AssocData) : toAssocData(rows as AssocInput);
  const width = positive('width', options.width ?? 1100);
  const height = positive('height', options.height ?? 480);
  const colors = options.colors ?? MANHATTAN_COLORS;
  if (colors.length === 0) throw new ArgumentError('colors: expected at least one colour');
  const offset = options.offset ?? 0.05;
  if (!(offset >= 0 && Number.isFinite(offset))) throw new ArgumentError(`offset: expected a fraction >= 0, found ${offset}`);
  const pvThr = options.pvThr === undefined ? 5e-8 : options.pvThr === null ? null : probability('pvThr', options.pvThr);
  const suggestive = options.suggestive === undefined ? 1e-5 : options.suggestive === null ? null : probability('suggestive', options.suggestive);
  const labelTop = options.labelTop ?? 5;
  if (!(Number.isInteger(labelTop) && labelTop >= 0)) throw new ArgumentError(`labelTop: expected an integer >= 0, found ${labelTop}`);
  const labelBelow = probability('labelBelow', options.labelBelow ?? pvThr ?? 5e-8);
  const labelWindow = options.labelWindow ?? 1e6;
  const thinAbove = options.thinAbove ?? 0.01;
  if (!(thinAbove >= 0 && thinAbove <= 1)) throw new ArgumentError(`thinAbove: expected a p-value in [0, 1], found ${thinAbove}`);
  const thinCell = positive('thinCell', options.thinCell ?? 1);
  const radius = positive('pointRadius', options.pointRadius ?? 2);
  const background = options.background ?? 'white';
  const thresholdColor = options.thresholdColor ?? '#d62728';
  const suggestiveColor = options.suggestiveColor ?? '#7f7f7f';

  const n = data.n;
  const mlp = data.minusLog10p;
  const code = data.chromCode;
  const pos = data.pos;
  const nChrom = data.chromNames.length;

  // Per chromosome: the position range and whether it has rows.
  const minPos = new Float64Array(nChrom).fill(Infinity);
  const maxPos = new Float64Array(nChrom).fill(-Infinity);
  let dataMax = 0;
  let untested = 0;
  for (let i = 0; i < n; i++) {
    const c = code[i]!;
    const p = pos[i]!;
    if (p < minPos[c]!) minPos[c] = p;
    if (p > maxPos[c]!) maxPos[c] = p;
    const v = mlp[i]!;
    if (Number.isNaN(v)) untested++;
    else if (v > dataMax && v !== Infinity) dataMax = v;
  }
  const order = Array.from({ length: nChrom }, (_, c) => c)
    .filter((c) => minPos[c]! <= maxPos[c]!)
    .sort((a, b) => compareChrom(data.chromNames[a]!, data.chromNames[b]!));
  // The chromosome's code when the plot shows only one, else undefined.
  const single = order.length === 1 ? order[0] : undefined;

  // Labels: the best hit per locus below labelBelow.
  const labelY = -Math.log10(labelBelow);
  const picked: number[] = [];
  if (labelTop > 0) {
    const cand: number[] = [];
    for (let i = 0; i < n; i++) if (mlp[i]! >= labelY) cand.push(i);
    cand.sort((a, b) => mlp[b]! - mlp[a]! || a - b);
    for (const i of cand) {
      if (picked.length === labelTop) break;
      if (picked.some((j) => code[j] === code[i] && Math.abs(pos[j]! - pos[i]!) < labelWindow)) continue;
      picked.push(i);
    }
  }

  // The y range.
  const lines = [pvThr, suggestive].filter((p): p is number => p !== null).map((p) => -Math.log10(p));
  let yMax: number;
  const top = Math.max(dataMax, ...lines, 1);
  const marginTop = options.title !== undefined && options.title !== '' ? 38 : 16;
  const marginBottom = 50;
  const areaH = height - marginTop - marginBottom;
  if (options.yMax !== undefined) yMax = positive('yMax', options.yMax);
  else {
    const reserve = picked.length > 0 ? 24 : 6;
    yMax = Math.max(top * 1.04, top / Math.max(0.2, 1 - reserve / areaH));
  }
  const yTicks = niceTicks(0, yMax, Math.max(3, Math.round(areaH / 60)));
  const tickW = Math.max(...yTicks.map((t) => textWidth(tickLabel(t), TICK_SIZE)));
  const area: PlotArea = { left: Math.round(22 + tickW + 12), top: marginTop, right: width - 16, bottom: height - marginBottom };
  if (area.right - area.left < 50 || area.bottom - area.top < 50) {
    throw new ArgumentError(`width x height ${width} x ${height}: too small for a plot`);
  }
  const PAD = 5;
  const yScale = (area.bottom - PAD - area.top) / yMax;
  const y = (v: number): number => area.bottom - PAD - (v < yMax ? v : yMax) * yScale;

  // The x layout: chromosome spans and gaps, in base pairs.
  const spans = order.map((c) => maxPos[c]! - minPos[c]!);
  const longest = Math.max(0, ...spans);
  const minSpan = Math.max(longest * 0.002, 1);
  const widths = spans.map((s) => Math.max(s, minSpan));
  const gap = offset * Math.max(longest, minSpan);
  const total = widths.reduce((a, b) => a + b, 0) + gap * Math.max(0, order.length - 1);
  const padBp = Math.max(total * 0.01, gap / 2);
  const sx = (area.right - area.left) / Math.max(total + 2 * padBp, 1e-300);
  const xStart = new Float64Array(nChrom).fill(Number.NaN);
  const rank = new Int32Array(nChrom).fill(-1);
  const chromosomes: ManhattanResult['chromosomes'] = [];
  let cum = padBp;
  order.forEach((c, k) => {
    rank[c] = k;
    const off = (widths[k]! - spans[k]!) / 2;
    xStart[c] = area.left + (cum + off) * sx;
    chromosomes.push({
      name: data.chromNames[c]!,
      color: colors[k % colors.length]!,
      start: area.left + cum * sx,
      end: area.left + (cum + widths[k]!) * sx,
      x0: xStart[c]!,
      minPos: minPos[c]!,
      maxPos: maxPos[c]!,
    });
    cum += widths[k]! + gap;
  });
  const xOf = (c: number, p: number): number => xStart[c]! + (p - minPos[c]!) * sx;

  // Points: one layer per colour.
  const layers = colors.map(() => new DotLayer(width, height, thinCell));
  const thinY = thinAbove <= 0 ? Infinity : -Math.log10(thinAbove);
  const interactive = options.interactive === true;
  const drawnByLayer: number[][] = colors.map(() => []);
  for (let i = 0; i < n; i++) {
    const v = mlp[i]!;
    if (Number.isNaN(v)) continue;
    const c = code[i]!;
    const k = rank[c]! % colors.length;
    if (layers[k]!.add(xStart[c]! + (pos[i]! - minPos[c]!) * sx, y(v), v < thinY) && interactive) drawnByLayer[k]!.push(i);
  }

  const out: string[] = [svgOpen(width, height, background)];
  if (options.title !== undefined && options.title !== '') {
    out.push(titleText(options.title, width, TITLE_SIZE, TEXT_COLOR));
  }
  // Axes, ticks, tick labels.
  const axis: string[] = [];
  for (const t of yTicks) {
    const ty = y(t);
    axis.push(`M${num(area.left - 5)} ${num(ty)}h5`);
    out.push(`${text(area.left - 8, ty + TICK_SIZE * 0.36, tickLabel(t), `font-size="${TICK_SIZE}" text-anchor="end" fill="${TEXT_COLOR}"`)}\n`);
  }
  out.push(`${minusLog10Label('', 16, (area.top + area.bottom) / 2, AXIS_SIZE, true)}\n`);
  const tickY = area.bottom + 5 + TICK_SIZE;
  // The interactive page redraws the x ticks when zoomed: their marks and labels in a group of their own.
  const xMarks = interactive ? ([] as string[]) : axis;
  if (interactive) out.push('<g class="lmk-xticks">\n');
  if (single !== undefined) {
    const c = single;
    const mb = niceTicks(minPos[c]! / 1e6, maxPos[c]! / 1e6, Math.max(3, Math.round((area.right - area.left) / 110)));
    for (const t of mb) {
      const tx = xOf(c, t * 1e6);
      if (tx < area.left - 0.5 || tx > area.right + 0.5) continue;
      xMarks.push(`M${num(tx)} ${area.bottom}v5`);
      out.push(`${text(tx, tickY, tickLabel(t), `font-size="${TICK_SIZE}" text-anchor="middle" fill="${TEXT_COLOR}"`)}\n`);
    }
  } else {
    let lastRight = -Infinity;
    for (const ch of chromosomes) {
      const cx = (ch.start + ch.end) / 2;
      const w = textWidth(ch.name, TICK_SIZE);
      xMarks.push(`M${num(cx)} ${area.bottom}v4`);
      if (cx - w / 2 < lastRight + 3) continue;
      lastRight = cx + w / 2;
      out.push(`${text(cx, tickY, esc(ch.name), `font-size="${TICK_SIZE}" text-anchor="middle" fill="${TEXT_COLOR}"`)}\n`);
    }
  }
  if (interactive) out.push(`<path fill="none" stroke="#444" stroke-width="1" d="${xMarks.join('')}"/>\n</g>\n`);
  const xLabel = options.xLabel ?? (single !== undefined ? `Chromosome ${data.chromNames[single]} position (Mb)` : 'Chromosome');
  const xLabelClass = interactive ? ' class="lmk-xlabel"' : '';
  out.push(
    `${text((area.left + area.right) / 2, height - 12, esc(xLabel), `font-size="${AXIS_SIZE}" text-anchor="middle" fill="${TEXT_COLOR}"${xLabelClass}`)}\n`,
  );
  out.push(`<path fill="none" stroke="#444" stroke-width="1" d="M${area.left} ${area.top}V${area.bottom}H${area.right}${axis.join('')}"/>\n`);

  // Points, then the lines over them.
  let drawn = 0;
  let thinned = 0;
  if (interactive) {
    out.push(
      `<defs><clipPath id="lmk-clip"><rect x="${area.left}" y="${area.top - radius}" width="${area.right - area.left}" height="${area.bottom - area.top + 2 * radius}"/></clipPath></defs>\n<g class="lmk-points" clip-path="url(#lmk-clip)">\n`,
    );
  }
  layers.forEach((l, k) => {
    if (interactive) out.push(pointCircles(drawnByLayer[k]!, colors[k]!, radius, data, (i) => xOf(code[i]!, pos[i]!), y));
    else out.push(l.svg(colors[k]!, radius));
    drawn += l.drawn;
    thinned += l.thinned;
  });
  if (interactive) out.push('</g>\n');
  if (suggestive !== null && -Math.log10(suggestive) <= yMax) {
    out.push(
      `<path stroke="${suggestiveColor}" stroke-width="1" stroke-dasharray="6 4" d="M${area.left} ${num(y(-Math.log10(suggestive)))}H${area.right}"/>\n`,
    );
  }
  if (pvThr !== null && -Math.log10(pvThr) <= yMax) {
    out.push(`<path stroke="${thresholdColor}" stroke-width="1" d="M${area.left} ${num(y(-Math.log10(pvThr)))}H${area.right}"/>\n`);
  }

  // The callback's decorations.
  if (options.callback !== undefined) {
    for (const [k, c] of order.entries()) {
      let cached: Int32Array | undefined;
      const res = options.callback({
        name: data.chromNames[c]!,
        index: k,
        color: colors[k % colors.length]!,
        start: chromosomes[k]!.start,
        end: chromosomes[k]!.end,
        minPos: minPos[c]!,
        maxPos: maxPos[c]!,
        x: (p) => xOf(c, p),
        y,
        rows: () => {
          if (cached === undefined) {
            const idx: number[] = [];
            for (let i = 0; i < n; i++) if (code[i] === c) idx.push(i);
            cached = Int32Array.from(idx);
          }
          return cached;
        },
        data,
        area,
        width,
        height,
      });
      if (typeof res === 'string' && res !== '') out.push(res.endsWith('\n') ? res : `${res}\n`);
    }
  }

  // Labels of the top hits, moved up when they would overlap.
  const labels: ManhattanResult['labels'] = [];
  const boxes: { l: number; r: number; t: number; b: number }[] = [];
  const lh = LABEL_SIZE + 2;
  if (interactive) out.push('<g class="lmk-labels">\n');
  for (const i of picked) {
    const c = code[i]!;
    const id = data.id(i) ?? `${data.chromNames[c]}:${pos[i]}`;
    labels.push({ id, chrom: data.chromNames[c]!, pos: pos[i]!, minusLog10p: mlp[i]! });
    const px = xOf(c, pos[i]!);
    const py = y(mlp[i]!);
    const w = textWidth(id, LABEL_SIZE);
    const cx = Math.min(Math.max(px, area.left + w / 2 + 2), area.right - w / 2 - 2);
    let base = py - radius - 4;
    const box = (b: number) => ({ l: cx - w / 2 - 1, r: cx + w / 2 + 1, t: b - LABEL_SIZE, b: b + 3 });
    for (let tries = 0; tries < 8 && boxes.some((o) => overlaps(o, box(base))); tries++) base -= lh;
    base = Math.max(base, area.top + LABEL_SIZE);
    boxes.push(box(base));
    if (py - radius - 4 - base > 1) {
      out.push(`<path stroke="#888" stroke-width="0.8" d="M${num(px)} ${num(py - radius - 1)}L${num(cx)} ${num(base + 2)}"/>\n`);
    }
    out.push(
      `${text(cx, base, esc(id), `font-size="${LABEL_SIZE}" text-anchor="middle" fill="${TEXT_COLOR}" stroke="white" stroke-width="3" stroke-linejoin="round" paint-order="stroke"`)}\n`,
    );
  }
  if (interactive) out.push('</g>\n');
  out.push('</svg>\n');

  return {
    svg: out.join(''),
    width,
    height,
    area,
    yMax,
    y,
    x: (chrom, p) => {
      const c = data.chromNames.indexOf(chrom);
      return c < 0 || rank[c]! < 0 ? Number.NaN : xOf(c, p);
    },
    chromosomes,
    bpPerPixel: 1 / sx,
    points: { total: n, drawn, thinned, untested },
    labels,
    ...(interactive ? { drawnRows: Int32Array.from(drawnByLayer.flat()) } : {}),
  };
}

/**
 * A p-value from its -log10, written with 3 significant digits, in
 * mantissa-exponent form from the log so that p-values below 1e-308 are
 * written right (`2.1e-1000`).
 */
export function formatMinusLog10p(v: number): string {
  if (v === Infinity) return '0';
  if (v < 4) return String(Number((10 ** -v).toPrecision(3)));
  let exp = Math.floor(-v);
  let mant = Number((10 ** (-v - exp)).toFixed(2));
  if (mant >= 10) {
    mant /= 10;
    exp += 1;
  }
  return `${mant}e${exp}`;
}

/** The points of one colour as circles with their id, chromosome, position and p-value (the interactive SVG). */
function pointCircles(rows: readonly number[], color: string, radius: number, data: AssocData, x: (i: number) => number, y: (v: number) => number): string {
  const out: string[] = [`<g fill="${color}">\n`];
  for (const i of rows) {
    const chrom = data.chromNames[data.chromCode[i]!]!;
    const p = data.pos[i]!;
    const pv = formatMinusLog10p(data.minusLog10p[i]!);
    const id = data.id(i) ?? `${chrom}:${p}`;
    out.push(
      `<circle cx="${num(x(i))}" cy="${num(y(data.minusLog10p[i]!))}" r="${radius}" data-id="${esc(id)}" data-chr="${esc(chrom)}" data-pos="${p}" data-p="${pv}"><title>${esc(id)} ${esc(chrom)}:${p} p=${pv}</title></circle>\n`,
    );
  }
  out.push('</g>\n');
  return out.join('');
}

function overlaps(a: { l: number; r: number; t: number; b: number }, b: { l: number; r: number; t: number; b: number }): boolean {
  return a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b;
}
