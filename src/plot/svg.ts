// Small SVG helpers shared by the plots: escaping, number formatting, tick
// placement, a text width estimate for layout, and the document frame.
// Browser-safe: no Node built-in.
import { ArgumentError } from '../errors.js';

/**
 * The font families of every text: DejaVu Sans first (Debian's
 * fonts-dejavu-core, which the PNG renderer loads when present), then the
 * usual sans-serif fonts of other systems and browsers.
 */
export const FONT_FAMILY = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";

/** The plot area of a picture, in SVG pixels. */
export interface PlotArea {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Escapes text for SVG character data and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A coordinate rounded to 0.01 px, written short. */
export function num(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/**
 * Approximate advance width of `text` in DejaVu Sans at `size` px (per-class
 * widths of its glyphs; the other fonts of the list are narrower), for
 * layout decisions: label overlap, margins.
 */
export function textWidth(text: string, size: number): number {
  let w = 0;
  for (const ch of text) {
    if (/[0-9]/.test(ch)) w += 0.636;
    else if (/[ilj.,:;'|!]/.test(ch)) w += 0.3;
    else if (/[mwMW]/.test(ch)) w += 0.95;
    else if (/[A-Z]/.test(ch)) w += 0.72;
    else if (ch === ' ') w += 0.32;
    else w += 0.6;
  }
  return w * size;
}

/**
 * About `count` round tick values (steps of 1, 2, 2.5 or 5 times a power of
 * ten) covering [lo, hi].
 */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let k = first; k * step <= hi + 1e-9 * step; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** A tick value written short (no trailing zeros, no float noise). */
export function tickLabel(v: number): string {
  return String(Number(v.toPrecision(10)));
}

/** The opening of a standalone SVG document with a white background. */
export function svgOpen(width: number, height: number, background: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="${esc(FONT_FAMILY)}">\n` +
    (background === 'none' ? '' : `<rect width="${width}" height="${height}" fill="${esc(background)}"/>\n`)
  );
}

/** Text element; `attrs` are extra attributes written as given. */
export function text(x: number, y: number, content: string, attrs: string): string {
  return `<text x="${num(x)}" y="${num(y)}" ${attrs}>${content}</text>`;
}

/** A bold title centred at the top, its size reduced (down to 9 px) so that it fits the width. */
export function titleText(title: string, width: number, size: number, color: string): string {
  const fit = Math.max(9, Math.min(size, Math.floor(((width - 24) / textWidth(title, 1)) * 0.93 * 10) / 10));
  return `${text(width / 2, 24, esc(title), `font-size="${fit}" font-weight="bold" text-anchor="middle" fill="${color}"`)}\n`;
}

/** The y-axis label "−log10(p)" with a subscript 10, rotated about (x, y). */
export function minusLog10Label(prefix: string, x: number, y: number, size: number, rotate: boolean): string {
  const sub = Math.round(size * 0.75 * 10) / 10;
  const shift = Math.round(size * 0.25 * 10) / 10;
  const t = rotate ? ` transform="rotate(-90 ${num(x)} ${num(y)})"` : '';
  return `<text x="${num(x)}" y="${num(y)}" font-size="${size}" text-anchor="middle" fill="#222"${t}>${esc(prefix)}\u2212log<tspan font-size="${sub}" dy="${shift}">10</tspan><tspan dy="${-shift}">(p)</tspan></text>`;
}

/** Validates a positive finite number option. */
export function positive(name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) throw new ArgumentError(`${name}: expected a positive number, found ${v}`);
  return v;
}
