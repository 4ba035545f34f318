// SVG -> PNG with resvg (Rust, through @resvg/resvg-js). Node only: the CLI
// and `./node.js` load it; the browser draws the SVG itself.
import { existsSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { ArgumentError } from '../errors.js';
import { plotFontFiles } from './fonts.js';

/** Options of `svgToPng`. */
export interface PngOptions {
  /** Pixels per SVG pixel (default 2: sharp on high-density screens and in print). */
  scale?: number;
  /** Extra font files (.ttf/.otf) to load; the DejaVu/Liberation/Arial files found on the system are loaded anyway. */
  fontFiles?: readonly string[];
}

function render(svg: string, opts: PngOptions): { width: number; height: number; pixels: Buffer; asPng(): Buffer } {
  const scale = opts.scale ?? 2;
  if (!(scale > 0 && scale <= 20)) throw new ArgumentError(`scale: expected a number in (0, 20], found ${scale}`);
  for (const f of opts.fontFiles ?? []) {
    if (!existsSync(f)) throw new ArgumentError(`font ${f}: no such file`);
  }
  const files = [...(opts.fontFiles ?? []), ...plotFontFiles()];
  return new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: {
      fontFiles: files,
      // Scanning every system font is slow on some machines: only when none of ours is there.
      loadSystemFonts: files.length === 0,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
    logLevel: 'off',
  }).render();
}

/** Renders an SVG document to PNG bytes. */
export function svgToPng(svg: string, opts: PngOptions = {}): Uint8Array {
  return render(svg, opts).asPng();
}

/**
 * Renders an SVG document to raw pixels (RGBA, 4 bytes per pixel, row by
 * row), for checks and for callers that encode images themselves.
 */
export function svgToPixels(svg: string, opts: PngOptions = {}): { width: number; height: number; rgba: Uint8Array } {
  const img = render(svg, opts);
  return { width: img.width, height: img.height, rgba: new Uint8Array(img.pixels) };
}
