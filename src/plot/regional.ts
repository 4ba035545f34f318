// The regional plot (LocusZoom-like, gene-free): -log10 p against position
// over one region of one chromosome, each point coloured by its r^2 with the
// lead variant (LocusZoom's five bins), the lead a purple diamond with its
// id. Browser-safe: the r^2 values come from the caller (the workflow
// computes them from the genotype file).
import { sameChrom } from '../data/chrom.js';
import { ArgumentError } from '../errors.js';
import { toAssocData, type AssocData, type AssocInput } from './data.js';
import { formatMinusLog10p, type PlotResult } from './manhattan.js';
import { esc, minusLog10Label, niceTicks, num, positive, svgOpen, text, textWidth, tickLabel, titleText, type PlotArea } from './svg.js';

/** LocusZoom's r^2 bins, lowest first: [lower bound, colour]. */
export const R2_BINS: readonly (readonly [number, string])[] = [
  [0, '#357ebd'],
  [0.2, '#46b8da'],
  [0.4, '#5cb85c'],
  [0.6, '#eea236'],
  [0.8, '#d43f3a'],
];
/** The colour of points without an r^2 (not in the genotype file, or none given). */
export const R2_MISSING_COLOR = '#b8b8b8';
/** The colour of the lead variant's diamond. */
export const LEAD_COLOR = '#9632b8';

/** Options of `regionalPlot`. */
export interface RegionalOptions {
  /** The region: rows on `chrom` (`chr22` = `22`) with start <= pos < end are drawn. */
  region: { chrom: string; start: number; end: number };
  /** The lead variant, as a row of the input (default: the smallest p-value in the region). */
  lead?: number;
  /** r^2 of each input row with the lead (NaN: unknown, drawn grey); none: every point grey. */
  r2?: ArrayLike<number>;
  title?: string;
  /** SVG size in pixels (default 800 x 450). */
  width?: number;
  height?: number;
  /** Significance line (default 5e-8), null for none. */
  pvThr?: number | null;
  /** Point radius in pixels (default 4). */
  pointRadius?: number;
}

/** What `regionalPlot` returns. */
export interface RegionalResult extends PlotResult {
  /** The lead variant (its input row, id, position and -log10 p). */
  lead: { row: number; id: string; chrom: string; pos: number; minusLog10p: number };
  /** Rows drawn (in the region with a p-value), and how many have an r^2. */
  points: { inRegion: number; drawn: number; withR2: number };
  /** Points per r^2 bin (`R2_BINS` order), then the count without r^2. */
  bins: number[];
  /** The pixel x of a position, the pixel y of a -log10 p. */
  x(pos: number): number;
  y(minusLog10p: number): number;
}

const TEXT = '#222';

/**
 * Draws the regional plot of association results over one region: points
 * at (position in Mb, -log10 p), coloured by r^2 with the lead variant in
 * LocusZoom's bins (0.8-1 red ... below 0.2 blue, unknown grey), higher r^2
 * drawn on top, the lead a purple diamond labelled with its id, the
 * genome-wide line, an r^2 legend. Each point carries its id, position and
 * p-value (`<title>`, shown on hover by SVG viewers).
 */
export function regionalPlot(rows: AssocInput | AssocData, options: RegionalOptions): RegionalResult {
  const data = 'minusLog10p' in rows && rows.minusLog10p instanceof Float64Array ? (rows as AssocData) : toAssocData(rows as AssocInput);
  const { chrom, start, end } = options.region;
  if (!(end > start)) throw new ArgumentError(`region: expected start < end, found ${start}-${end}`);
  const width = positive('width', options.width ?? 800);
  const height = positive('height', options.height ?? 450);
  const radius = positive('pointRadius', options.pointRadius ?? 4);
  const pvThr = options.pvThr === undefined ? 5e-8 : options.pvThr;
  const r2 = options.r2;
  if (r2 !== undefined && r2.length !== data.n) throw new ArgumentError(`r2: ${r2.length} values for ${data.n} rows`);

  const chromOk = data.chromNames.map((c) => sameChrom(c, chrom));
  const rowsIn: number[] = [];
  for (let i = 0; i < data.n; i++) {
    const p = data.pos[i]!;
    if (chromOk[data.chromCode[i]!] && p >= start && p < end && !Number.isNaN(data.minusLog10p[i]!)) rowsIn.push(i);
  }
  if (rowsIn.length === 0) throw new ArgumentError(`region ${chrom}:${start}-${end}: no tested variant lies in it`);
  let lead = options.lead ?? -1;
  if (lead < 0) {
    for (const i of rowsIn) if (lead < 0 || data.minusLog10p[i]! > data.minusLog10p[lead]!) lead = i;
  } else if (!rowsIn.includes(lead)) throw new ArgumentError(`lead: row ${lead} is not a tested variant of the region`);
  const leadY = data.minusLog10p[lead]!;

  // Axes: x in Mb over the region, y from 0 to above the lead (and the line).
  let top = 1;
  for (const i of rowsIn) if (data.minusLog10p[i]! !== Infinity) top = Math.max(top, data.minusLog10p[i]!);
  if (pvThr !== null && -Math.log10(pvThr) < top * 1.5) top = Math.max(top, -Math.log10(pvThr));
  const yMax = top * 1.12;
  const marginTop = options.title !== undefined && options.title !== '' ? 40 : 18;
  const areaH = height - marginTop - 50;
  const yTicks = niceTicks(0, yMax, Math.max(3, Math.round(areaH / 60)));
  const tickW = Math.max(...yTicks.map((t) => textWidth(tickLabel(t), 11)));
  const area: PlotArea = { left: Math.round(22 + tickW + 12), top: marginTop, right: width - 16, bottom: height - 50 };
  if (area.right - area.left < 80 || area.bottom - area.top < 60) throw new ArgumentError(`width x height ${width} x ${height}: too small for a plot`);
  const PAD = radius + 2;
  const x = (p: number): number => area.left + PAD + ((p - start) / (end - start)) * (area.right - area.left - 2 * PAD);
  const y = (v: number): number => area.bottom - PAD - (Math.min(v, yMax) / yMax) * (area.bottom - area.top - 2 * PAD);

  const out: string[] = [svgOpen(width, height, 'white')];
  if (options.title !== undefined && options.title !== '') out.push(titleText(options.title, width, 16, TEXT));
  const marks: string[] = [];
  for (const t of yTicks) {
    marks.push(`M${num(area.left - 5)} ${num(y(t))}h5`);
    out.push(`${text(area.left - 8, y(t) + 4, tickLabel(t), `font-size="11" text-anchor="end" fill="${TEXT}"`)}\n`);
  }
  const mb = niceTicks(start / 1e6, end / 1e6, Math.max(3, Math.round((area.right - area.left) / 100)));
  for (const t of mb) {
    const tx = x(t * 1e6);
    if (tx < area.left - 0.5 || tx > area.right + 0.5) continue;
    marks.push(`M${num(tx)} ${area.bottom}v5`);
    out.push(`${text(tx, area.bottom + 16, tickLabel(t), `font-size="11" text-anchor="middle" fill="${TEXT}"`)}\n`);
  }
  out.push(`${minusLog10Label('', 16, (area.top + area.bottom) / 2, 13, true)}\n`);
  const chromName = data.chromNames[data.chromCode[lead]!]!;
  out.push(
    `${text((area.left + area.right) / 2, height - 12, esc(`Chromosome ${chromName} position (Mb)`), `font-size="13" text-anchor="middle" fill="${TEXT}"`)}\n`,
  );
  out.push(`<path fill="none" stroke="#444" stroke-width="1" d="M${area.left} ${area.top}V${area.bottom}H${area.right}${marks.join('')}"/>\n`);
  if (pvThr !== null && -Math.log10(pvThr) <= yMax) {
    out.push(`<path stroke="#d62728" stroke-width="1" stroke-dasharray="6 4" d="M${area.left} ${num(y(-Math.log10(pvThr)))}H${area.right}"/>\n`);
  }

  // Points: grey first, then by increasing r^2, so that the lead's LD block is on top.
  const bin = (i: number): number => {
    const v = r2 === undefined ? Number.NaN : r2[i]!;
    if (!(v >= 0)) return -1;
    let b = 0;
    while (b + 1 < R2_BINS.length && v >= R2_BINS[b + 1]![0]) b++;
    return b;
  };
  const bins = new Array<number>(R2_BINS.length + 1).fill(0);
  const order = rowsIn.filter((i) => i !== lead).map((i) => [bin(i), i] as const);
  order.sort((a, b) => a[0] - b[0] || (r2 === undefined ? 0 : r2[a[1]]! - r2[b[1]]!) || a[1] - b[1]);
  let withR2 = 0;
  const point = (i: number, b: number): string => {
    const id = data.id(i) ?? `${chromName}:${data.pos[i]}`;
    const r = r2 === undefined || !(r2[i]! >= 0) ? '' : ` r2=${Number(r2[i]!.toFixed(3))}`;
    const title = `<title>${esc(id)} ${esc(chromName)}:${data.pos[i]} p=${formatMinusLog10p(data.minusLog10p[i]!)}${r}</title>`;
    const fill = b < 0 ? R2_MISSING_COLOR : R2_BINS[b]![1];
    return `<circle cx="${num(x(data.pos[i]!))}" cy="${num(y(data.minusLog10p[i]!))}" r="${radius}" fill="${fill}" stroke="#333" stroke-width="0.5" data-id="${esc(id)}">${title}</circle>\n`;
  };
  for (const [b, i] of order) {
    bins[b < 0 ? R2_BINS.length : b]!++;
    if (b >= 0) withR2++;
    out.push(point(i, b));
  }
  const leadId = data.id(lead) ?? `${chromName}:${data.pos[lead]}`;
  const lx = x(data.pos[lead]!);
  const ly = y(leadY);
  const d = radius * 1.8;
  out.push(
    `<path d="M${num(lx)} ${num(ly - d)}L${num(lx + d)} ${num(ly)}L${num(lx)} ${num(ly + d)}L${num(lx - d)} ${num(ly)}Z" fill="${LEAD_COLOR}" stroke="#222" stroke-width="0.8" data-id="${esc(leadId)}"><title>${esc(leadId)} ${esc(chromName)}:${data.pos[lead]} p=${formatMinusLog10p(leadY)} (lead)</title></path>\n`,
  );
  const lw = textWidth(leadId, 11);
  const labelX = Math.min(Math.max(lx, area.left + lw / 2 + 2), area.right - lw / 2 - 2);
  out.push(
    `${text(labelX, Math.max(ly - d - 5, area.top + 11), esc(leadId), `font-size="11" font-weight="bold" text-anchor="middle" fill="${TEXT}" stroke="white" stroke-width="3" stroke-linejoin="round" paint-order="stroke"`)}\n`,
  );

  // The legend, top right: r^2 bins high to low, then unknown when there is any.
  const entries: [string, string][] = R2_BINS.map(
    ([lo, c], k) => [`${lo}\u2013${k + 1 < R2_BINS.length ? R2_BINS[k + 1]![0] : 1}`, c] as [string, string],
  ).reverse();
  if (bins[R2_BINS.length]! > 0) entries.push(['no r\u00b2', R2_MISSING_COLOR]);
  const lgW = 74;
  const lgX = area.right - lgW - 6;
  const lgY = area.top + 6;
  out.push(`<rect x="${num(lgX)}" y="${num(lgY)}" width="${lgW}" height="${20 + entries.length * 15}" fill="white" fill-opacity="0.85" stroke="#bbb"/>\n`);
  out.push(`${text(lgX + 8, lgY + 14, 'r<tspan font-size="8" dy="-4">2</tspan>', `font-size="11" font-weight="bold" fill="${TEXT}"`)}\n`);
  entries.forEach(([label, c], k) => {
    const ey = lgY + 22 + k * 15;
    out.push(`<rect x="${num(lgX + 8)}" y="${num(ey)}" width="10" height="10" fill="${c}" stroke="#333" stroke-width="0.5"/>\n`);
    out.push(`${text(lgX + 24, ey + 9, esc(label), `font-size="10.5" fill="${TEXT}"`)}\n`);
  });
  out.push('</svg>\n');

  return {
    svg: out.join(''),
    width,
    height,
    area,
    lead: { row: lead, id: leadId, chrom: chromName, pos: data.pos[lead]!, minusLog10p: leadY },
    points: { inRegion: rowsIn.length, drawn: rowsIn.length, withR2 },
    bins,
    x,
    y,
  };
}

/**
 * The squared Pearson correlation of two dosage vectors (r^2, as plink's
 * --r2 computes it from dosages) over the samples where both are observed
 * (NaN = missing); NaN when fewer than 3 such samples or when either is
 * constant over them.
 */
export function dosageR2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new ArgumentError(`dosageR2: ${a.length} and ${b.length} samples`);
  let n = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    n++;
    sa += x;
    sb += y;
  }
  if (n < 3) return Number.NaN;
  const ma = sa / n;
  const mb = sb / n;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    const dx = x - ma;
    const dy = y - mb;
    saa += dx * dx;
    sbb += dy * dy;
    sab += dx * dy;
  }
  if (!(saa > 0 && sbb > 0)) return Number.NaN;
  return Math.min(1, (sab * sab) / (saa * sbb));
}
