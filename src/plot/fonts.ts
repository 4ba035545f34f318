// The font files the PNG renderer loads (Node only).
import { existsSync } from 'node:fs';

// Fonts of FONT_FAMILY (svg.ts) where Debian (fonts-dejavu-core,
// fonts-liberation), Fedora, Arch, macOS and Windows put them.
const CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf',
  '/System/Library/Fonts/Supplemental/Arial.ttf',
  '/System/Library/Fonts/Supplemental/Arial Bold.ttf',
  '/Library/Fonts/Arial.ttf',
  'C:\\Windows\\Fonts\\arial.ttf',
  'C:\\Windows\\Fonts\\arialbd.ttf',
];

let found: string[] | undefined;

/**
 * The font files the PNG renderer loads: those of the plots' font list found
 * at their usual places, plus `LMMKIT_FONT` (a path) when set. Empty means
 * that resvg falls back to the system's fonts, if any: on a bare Debian,
 * install fonts-dejavu-core or the PNGs have no text.
 */
export function plotFontFiles(): string[] {
  if (found === undefined) {
    const env = process.env.LMMKIT_FONT;
    found = [...(env !== undefined && env !== '' && existsSync(env) ? [env] : []), ...CANDIDATES.filter((f) => existsSync(f))];
  }
  return [...found];
}
