// The QQ plot: observed against expected -log10 p, with the 95% band of the
// order statistics under the null and the genomic inflation factor
// (limix-lmm's qqplot, drawn as SVG). Browser-safe.
import { ArgumentError } from '../errors.js';
import { betaIncInverse } from '../stats/beta-inc.js';
import { chi2IsfLog10 } from '../stats/chi2.js';
import type { PlotResult } from './manhattan.js';
import { DotLayer } from './thin.js';
import { esc, minusLog10Label, titleText, niceTicks, num, positive, svgOpen, text, textWidth, tickLabel, type PlotArea } from './svg.js';

/** One series of p-values. */
export interface QqSeries {
  /** p-values (give this or `log10p`; NaN = untested, skipped). */
  pvalues?: ArrayLike<number>;
  /** log10 p (negative; finite where p underflows), preferred over `pvalues`. */
  log10p?: ArrayLike<number>;
  /** Name in the legend (default 'series k' when there are several). */
  label?: string;
  /** Colour of its points (default from `colors`). */
  color?: string;
}

/** How `plotMethod` sees a series. */
export interface QqSeriesContext {
  index: number;
  label: string;
  color: string;
  /** Pixel x of an expected -log10 p. */
  x(expected: number): number;
  /** Pixel y of an observed -log10 p. */
  y(observed: number): number;
  area: PlotArea;
}

/** Options of `qqPlot`; every one has a default. */
export interface QqOptions {
  title?: string;
  /** SVG size in pixels (default 520 x 520). */
  width?: number;
  height?: number;
  /** limix-lmm's `color`: the colour of a single series (default '#1f3a68'). */
  color?: string;
  /** Colours of several series, in order (default matplotlib's C0, C1, ...). */
  colors?: readonly string[];
  /**
   * limix-lmm's `plot_method`: draws a series instead of the default dots.
   * It gets the expected and observed -log10 p of the points (after the
   * thinning, in rank order) and returns SVG markup.
   */
  plotMethod?: (expected: Float64Array, observed: Float64Array, series: QqSeriesContext) => string;
  /** limix-lmm's `line`: also join each series' points by a line. Default false. */
  line?: boolean;
  /**
   * limix-lmm's `pv_thr`: plot only the p-values below this, against the
   * uniform quantiles on (0, pvThr) (limix-lmm's default 0.01 zooms on the
   * tail). Default 1: every p-value.
   */
  pvThr?: number;
  /** limix-lmm's `plot_xyline`: draw the line observed = expected (default true). */
  plotXyline?: boolean;
  /** limix-lmm's `xy_labels`: the axis titles (default true). */
  xyLabels?: boolean;
  /** limix-lmm's `xyline_color` (default '#d62728', a red). */
  xylineColor?: string;
  /** Confidence level of the band of the order statistics under the null (default 0.95; null: none). */
  band?: number | null;
  /** Fill of the band (default '#d9d9d9'). */
  bandColor?: string;
  /** Print lambda_GC of each series (default true). */
  showLambda?: boolean;
  /** Points with a p-value above this are thinned on a pixel grid (default 0.01). */
  thinAbove?: number;
  /** Grid cell of the thinning in pixels (default 1). */
  thinCell?: number;
  /** Point radius in pixels (default 2). */
  pointRadius?: number;
  /** Background colour (default 'white'; 'none' for transparent). */
  background?: string;
}

/** What `qqPlot` returns. */
export interface QqResult extends PlotResult {
  /** lambda_GC of each series (from all its p-values, whatever `pvThr`). */
  lambdas: number[];
  /** Axis ranges in -log10 p. */
  xMin: number;
  xMax: number;
  yMax: number;
  /** Pixel x of an expected -log10 p, pixel y of an observed one. */
  x(expected: number): number;
  y(observed: number): number;
  /** Per series: p-values, points drawn, points dropped by the thinning. */
  points: { total: number; drawn: number; thinned: number }[];
}

/** matplotlib's default colour cycle (C0, C1, ...), as in limix-lmm's example. */
export const QQ_COLORS: readonly string[] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Median of the 1-df chi-square distribution, chi2_1.isf(0.5). */
export const CHI2_1_MEDIAN = 0.454936423119572;

const TITLE_SIZE = 16;
const AXIS_SIZE = 13;
const TICK_SIZE = 11;
const LEGEND_SIZE = 11.5;
const TEXT_COLOR = '#222';

/** log10 p of the values that have one (NaN dropped), sorted ascending: most significant first. */
function sortedLog10(s: QqSeries, k: number): Float64Array {
  let out: Float64Array;
  let m = 0;
  if (s.log10p !== undefined) {
    const l = s.log10p;
    out = new Float64Array(l.length);
    for (let i = 0; i < l.length; i++) {
      const v = l[i]!;
      if (Number.isNaN(v)) continue;
      if (v > 1e-9) throw new ArgumentError(`series ${k + 1}: log10p[${i}]: expected log10 of a p-value (<= 0), found ${v}`);
      out[m++] = v > 0 ? 0 : v;
    }
  } else if (s.pvalues !== undefined) {
    const p = s.pvalues;
    out = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      const v = p[i]!;
      if (Number.isNaN(v)) continue;
      if (!(v >= 0 && v <= 1)) throw new ArgumentError(`series ${k + 1}: pvalues[${i}]: expected a p-value in [0, 1], found ${v}`);
      out[m++] = Math.log10(v);
    }
  } else {
    throw new ArgumentError(`series ${k + 1}: expected pvalues or log10p`);
  }
  return sortLog10(m === out.length ? out : out.subarray(0, m));
}

/**
 * Sorts log10 p-values ascending in O(n) on average: a bucket pass on the
 * p-value itself (uniform under the null, so ~16 values per bucket; the tail
 * below 1 / buckets shares bucket 0), then each bucket sorted. About twice
 * as fast as a typed-array sort on 10 million values.
 */
function sortLog10(l: Float64Array): Float64Array {
  const n = l.length;
  if (n < 100_000) return l.slice().sort();
  const buckets = Math.min(1 << 21, n >>> 4);
  const key = new Int32Array(n);
  const start = new Int32Array(buckets + 1);
  for (let i = 0; i < n; i++) {
    let b = Math.floor(Math.exp(l[i]! * Math.LN10) * buckets);
    if (b >= buckets) b = buckets - 1;
    key[i] = b;
    start[b + 1]!++;
  }
  for (let b = 0; b < buckets; b++) start[b + 1]! += start[b]!;
  const next = start.slice(0, buckets);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[next[key[i]!]!++] = l[i]!;
  for (let b = 0; b < buckets; b++) {
    const lo = start[b]!;
    const hi = start[b + 1]!;
    if (hi - lo < 2) continue;
    if (hi - lo <= 64) {
      for (let i = lo + 1; i < hi; i++) {
        const v = out[i]!;
        let j = i - 1;
        while (j >= lo && out[j]! > v) {
          out[j + 1] = out[j]!;
          j--;
        }
        out[j + 1] = v;
      }
    } else out.subarray(lo, hi).sort();
  }
  return out;
}

/** lambda_GC of log10 p-values sorted ascending. */
function lambdaOfSorted(l: Float64Array): number {
  const m = l.length;
  if (m === 0) return Number.NaN;
  const chi = (v: number): number => (v === -Infinity ? Infinity : chi2IsfLog10(Math.min(v, 0), 1));
  const med = m % 2 === 1 ? chi(l[(m - 1) / 2]!) : 0.5 * (chi(l[m / 2 - 1]!) + chi(l[m / 2]!));
  return med / CHI2_1_MEDIAN;
}

/**
 * The genomic inflation factor lambda_GC of p-values: the median of their
 * 1-df chi-square statistics, chi2_1.isf(p), over its null value 0.4549364.
 * NaN values are skipped; NaN when none is left.
 */
export function lambdaGc(pvalues: ArrayLike<number>): number {
  return lambdaOfSorted(sortedLog10({ pvalues }, 0));
}

/** lambda_GC from log10 p-values (see `lambdaGc`); right where p underflows. */
export function lambdaGcLog10(log10p: ArrayLike<number>): number {
  return lambdaOfSorted(sortedLog10({ log10p }, 0));
}

/** -log10 of a quantile x of a Beta distribution given x and 1 - x. */
function minusLog10Of(x: number, oneMinusX: number): number {
  return x < 0.5 ? -Math.log10(x) : -Math.log1p(-oneMinusX) / Math.LN10;
}

/**
 * The pointwise band of the i-th smallest of m uniform p-values on (0, scale):
 * scale x the (1 -+ level)/2 quantiles of Beta(i, m - i + 1), at about `count`
 * ranks spread evenly on the -log10 scale. Returns -log10 values.
 */
export function qqBand(m: number, level: number, scale = 1, count = 120): { expected: Float64Array; lower: Float64Array; upper: Float64Array } {
  if (!(level > 0 && level < 1)) throw new ArgumentError(`band: expected a level in (0, 1), found ${level}`);
  const ranks: number[] = [];
  if (m >= 1) {
    const top = Math.log10(m + 1);
    let last = 0;
    for (let k = 0; k <= count; k++) {
      const r = Math.min(m, Math.max(1, Math.round(10 ** ((k / count) * top))));
      if (r > last) ranks.push(r);
      last = Math.max(last, r);
    }
    if (ranks[ranks.length - 1] !== m) ranks.push(m);
  }
  const q = (1 - level) / 2;
  const ls = -Math.log10(scale);
  const expected = Float64Array.from(ranks, (i) => ls - Math.log10(i / (m + 1)));
  const upper = new Float64Array(ranks.length);
  const lower = new Float64Array(ranks.length);
  ranks.forEach((i, k) => {
    const [a, b] = betaIncInverse(i, m - i + 1, q, 1 - q);
    const [c, d] = betaIncInverse(i, m - i + 1, 1 - q, q);
    upper[k] = ls + minusLog10Of(a, b);
    lower[k] = ls + minusLog10Of(c, d);
  });
  return { expected, lower, upper };
}

/**
 * Draws a QQ plot of one or several series of p-values (several in one
 * plot, as in limix-lmm's example) as an SVG document: observed against
 * expected -log10 p, the 95% band of the null order statistics around the
 * line observed = expected, and lambda_GC of each series. Millions of
 * p-values are fine: points with p > `thinAbove` are thinned on a pixel grid.
 */
export function qqPlot(pvalues: ArrayLike<number> | QqSeries | readonly QqSeries[], options: QqOptions = {}): QqResult {
  const series: readonly QqSeries[] = Array.isArray(pvalues)
    ? pvalues.length > 0 && typeof pvalues[0] === 'object'
      ? (pvalues as readonly QqSeries[])
      : [{ pvalues: pvalues as ArrayLike<number> }]
    : isSeries(pvalues)
      ? [pvalues]
      : [{ pvalues: pvalues as ArrayLike<number> }];
  if (series.length === 0) throw new ArgumentError('qqPlot: expected at least one series');
  const width = positive('width', options.width ?? 520);
  const height = positive('height', options.height ?? 520);
  const pvThr = options.pvThr ?? 1;
  if (!(pvThr > 0 && pvThr <= 1)) throw new ArgumentError(`pvThr: expected a p-value in (0, 1], found ${pvThr}`);
  const thinAbove = options.thinAbove ?? 0.01;
  if (!(thinAbove >= 0 && thinAbove <= 1)) throw new ArgumentError(`thinAbove: expected a p-value in [0, 1], found ${thinAbove}`);
  const thinCell = positive('thinCell', options.thinCell ?? 1);
  const radius = positive('pointRadius', options.pointRadius ?? 2);
  const band = options.band === undefined ? 0.95 : options.band;
  const palette = options.colors ?? (series.length === 1 ? [options.color ?? '#1f3a68'] : QQ_COLORS);
  const background = options.background ?? 'white';
  const showLambda = options.showLambda ?? true;
  const xyLabels = options.xyLabels ?? true;

  // Sorted log10 p, lambda, the plotted part (p < pvThr).
  const logThr = Math.log10(pvThr);
  const data = series.map((s, k) => {
    const l = sortedLog10(s, k);
    let m = l.length;
    if (pvThr < 1) {
      // Count of p < pvThr: binary search in the ascending log10 p.
      let lo = 0;
      let hi = l.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (l[mid]! < logThr) lo = mid + 1;
        else hi = mid;
      }
      m = lo;
    }
    return {
      l,
      m,
      lambda: lambdaOfSorted(l),
      label: s.label ?? (series.length > 1 ? `series ${k + 1}` : ''),
      color: s.color ?? palette[k % palette.length]!,
    };
  });

  // Axis ranges.
  const xMin = -logThr;
  const xMax = Math.max(xMin + 1, ...data.map((d) => xMin + Math.log10(d.m + 1)));
  let obsMax = xMin;
  for (const d of data) {
    for (let i = 0; i < d.m; i++) {
      const v = -d.l[i]!;
      if (v !== Infinity) {
        obsMax = Math.max(obsMax, v);
        break;
      }
    }
  }
  const first = data[0]; // series is not empty (checked above)
  const bandData = band === null || first === undefined || first.m === 0 ? undefined : qqBand(first.m, band, pvThr);
  const yTopData = Math.max(obsMax, xMax);
  const marginTop = options.title !== undefined && options.title !== '' ? 38 : 16;
  const marginBottom = 50;
  const areaH = height - marginTop - marginBottom;
  const yMax = xMin + (yTopData - xMin) * 1.05;
  const yTicks = niceTicks(xMin, yMax, Math.max(3, Math.round(areaH / 60)));
  const xTicks = niceTicks(xMin, xMax, Math.max(3, Math.round((width - 100) / 70)));
  const tickW = Math.max(...yTicks.map((t) => textWidth(tickLabel(t), TICK_SIZE)));
  const area: PlotArea = { left: Math.round((xyLabels ? 22 : 4) + tickW + 12), top: marginTop, right: width - 16, bottom: height - marginBottom };
  if (area.right - area.left < 50 || area.bottom - area.top < 50) {
    throw new ArgumentError(`width x height ${width} x ${height}: too small for a plot`);
  }
  const PAD = 5;
  const sxs = (area.right - PAD - (area.left + PAD)) / (xMax - xMin);
  const sys = (area.bottom - PAD - area.top) / (yMax - xMin);
  const x = (e: number): number => area.left + PAD + (Math.min(e, xMax) - xMin) * sxs;
  const y = (o: number): number => area.bottom - PAD - (Math.min(o, yMax) - xMin) * sys;

  const out: string[] = [svgOpen(width, height, background)];
  if (options.title !== undefined && options.title !== '') {
    out.push(titleText(options.title, width, TITLE_SIZE, TEXT_COLOR));
  }

  // The band, then the diagonal, under the points.
  if (bandData !== undefined && bandData.expected.length > 0) {
    const pts: string[] = [];
    const { expected, lower, upper } = bandData;
    for (let k = 0; k < expected.length; k++) pts.push(`${num(x(expected[k]!))} ${num(y(upper[k]!))}`);
    for (let k = expected.length - 1; k >= 0; k--) pts.push(`${num(x(expected[k]!))} ${num(y(lower[k]!))}`);
    out.push(`<path fill="${options.bandColor ?? '#d9d9d9'}" fill-opacity="0.8" stroke="none" d="M${pts.join('L')}Z"/>\n`);
  }
  if (options.plotXyline ?? true) {
    const e = Math.min(xMax, yMax);
    out.push(`<path stroke="${options.xylineColor ?? '#d62728'}" stroke-width="1.2" d="M${num(x(xMin))} ${num(y(xMin))}L${num(x(e))} ${num(y(e))}"/>\n`);
  }

  // Axes.
  const axis: string[] = [];
  for (const t of yTicks) {
    axis.push(`M${num(area.left - 5)} ${num(y(t))}h5`);
    out.push(`${text(area.left - 8, y(t) + TICK_SIZE * 0.36, tickLabel(t), `font-size="${TICK_SIZE}" text-anchor="end" fill="${TEXT_COLOR}"`)}\n`);
  }
  for (const t of xTicks) {
    axis.push(`M${num(x(t))} ${area.bottom}v5`);
    out.push(`${text(x(t), area.bottom + 5 + TICK_SIZE, tickLabel(t), `font-size="${TICK_SIZE}" text-anchor="middle" fill="${TEXT_COLOR}"`)}\n`);
  }
  out.push(`<path fill="none" stroke="#444" stroke-width="1" d="M${area.left} ${area.top}V${area.bottom}H${area.right}${axis.join('')}"/>\n`);
  if (xyLabels) {
    out.push(`${minusLog10Label('Expected ', (area.left + area.right) / 2, height - 12, AXIS_SIZE, false)}\n`);
    out.push(`${minusLog10Label('Observed ', 16, (area.top + area.bottom) / 2, AXIS_SIZE, true)}\n`);
  }

  // Points, series by series.
  const thinY = thinAbove <= 0 ? Infinity : -Math.log10(thinAbove);
  const counts: QqResult['points'] = [];
  data.forEach((d, k) => {
    const layer = new DotLayer(width, height, thinCell);
    const keep = options.plotMethod !== undefined || options.line === true;
    const ex: number[] = [];
    const ob: number[] = [];
    const scale = Math.log10(d.m + 1) - logThr;
    for (let i = 0; i < d.m; i++) {
      const o = -d.l[i]!;
      const e = scale - Math.log10(i + 1);
      if (layer.add(x(e), y(o), o < thinY) && keep) {
        ex.push(e);
        ob.push(o);
      }
    }
    counts.push({ total: d.l.length, drawn: layer.drawn, thinned: layer.thinned });
    if (options.line === true && ex.length > 1) {
      out.push(`<path fill="none" stroke="${d.color}" stroke-width="1.2" d="M${ex.map((e, j) => `${num(x(e))} ${num(y(ob[j]!))}`).join('L')}"/>\n`);
    }
    if (options.plotMethod !== undefined) {
      const res = options.plotMethod(Float64Array.from(ex), Float64Array.from(ob), { index: k, label: d.label, color: d.color, x, y, area });
      if (res !== '') out.push(res.endsWith('\n') ? res : `${res}\n`);
    } else out.push(layer.svg(d.color, radius));
  });

  // Legend / lambda, top left inside the plot.
  const lam = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : 'NA');
  const lambdaText = (v: number): string => `\u03bb<tspan font-size="${LEGEND_SIZE * 0.75}" dy="3">GC</tspan><tspan dy="-3"> = ${lam(v)}</tspan>`;
  const lx = area.left + 12;
  let ly = area.top + 8 + LEGEND_SIZE;
  for (const d of data) {
    if (data.length === 1 && d.label === '' && !showLambda) break;
    const parts: string[] = [];
    let tx = lx;
    if (data.length > 1 || d.label !== '') {
      out.push(`<circle cx="${num(lx)}" cy="${num(ly - LEGEND_SIZE * 0.35)}" r="${Math.max(radius, 3)}" fill="${d.color}"/>\n`);
      tx = lx + 10;
      parts.push(esc(d.label));
    }
    const attrs = `font-size="${LEGEND_SIZE}" fill="${TEXT_COLOR}" stroke="white" stroke-width="3" stroke-linejoin="round" paint-order="stroke"`;
    if (showLambda) parts.push(`${parts.length > 0 ? '  ' : ''}${lambdaText(d.lambda)}`);
    out.push(`${text(tx, ly, parts.join(''), `${attrs} xml:space="preserve"`)}\n`);
    ly += LEGEND_SIZE + 7;
  }
  out.push('</svg>\n');
  return { svg: out.join(''), width, height, area, lambdas: data.map((d) => d.lambda), xMin, xMax, yMax, x, y, points: counts };
}

function isSeries(v: unknown): v is QqSeries {
  return typeof v === 'object' && v !== null && !('length' in v) && ('pvalues' in v || 'log10p' in v);
}
