// Plots and files, in Node: read an association table (plain or gzip) as a
// stream, write a plot as .svg or .png (through a temporary file renamed into
// place, so that a failure leaves nothing half-written).
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { ArgumentError, InputError, LmmkitError } from '../errors.js';
import { writeAtomically } from '../data/atomic.js';
import { AssocTsvParser, type AssocTable, type AssocTsvOptions } from './data.js';
import type { PngOptions } from './png.js';

export type { PngOptions };

/**
 * Reads an association table (the TSV of `lmmkit gwas`, or any table with
 * chrom, pos, id and p-value columns; gzip is recognised by its magic bytes)
 * into columns, streaming: 10 million rows take ~200 MB.
 */
export async function readAssocFile(path: string, opts: Omit<AssocTsvOptions, 'file'> = {}): Promise<AssocTable> {
  let gz = false;
  try {
    const fh = await open(path, 'r');
    try {
      const head = Buffer.alloc(2);
      const { bytesRead } = await fh.read(head, 0, 2, 0);
      gz = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new ArgumentError(`--in ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const parser = new AssocTsvParser({ ...opts, file: path });
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = gz ? raw.pipe(createGunzip()) : raw;
  const decoder = new TextDecoder('utf-8');
  try {
    for await (const chunk of stream) parser.push(decoder.decode(chunk as Uint8Array, { stream: true }));
  } catch (e) {
    if (e instanceof LmmkitError) throw e;
    throw new InputError(undefined, `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  } finally {
    raw.destroy();
  }
  parser.push(decoder.decode());
  return parser.finish();
}

/**
 * The format of a plot file from its extension: .svg, .png, or (where
 * `html` is set: the Manhattan plot) .html, the interactive page.
 */
export function plotFormat(path: string, html = false): 'svg' | 'png' | 'html' {
  const ext = (html ? /\.(svg|png|html?)$/i : /\.(svg|png)$/i).exec(path)?.[1]?.toLowerCase();
  if (ext === undefined) {
    throw new ArgumentError(`--out ${path}: expected a file name ending in .svg or .png${html ? ' (or .html: the interactive page)' : ''}`);
  }
  return ext === 'htm' ? 'html' : (ext as 'svg' | 'png' | 'html');
}

/**
 * Renders an SVG document to PNG bytes (resvg; `scale` PNG pixels per SVG
 * pixel, default 2). The renderer, a native module, is loaded on first use.
 */
export async function renderPng(svg: string, opts: PngOptions = {}): Promise<Uint8Array> {
  const { svgToPng } = await import('./png.js');
  return svgToPng(svg, opts);
}

/**
 * The bytes of a plot file: the SVG itself, or the PNG rendering (the
 * renderer, a native module, is loaded on the first PNG).
 */
export async function plotBytes(path: string, svg: string, opts: PngOptions = {}): Promise<Uint8Array> {
  return plotFormat(path) === 'svg' ? new TextEncoder().encode(svg) : renderPng(svg, opts);
}

/** Writes an SVG document as `path` (.svg as is, .png rendered), atomically; an `OutputError` when it cannot be written. */
export async function writePlot(path: string, svg: string, opts: PngOptions = {}): Promise<void> {
  const bytes = await plotBytes(path, svg, opts);
  await writeAtomically(path, (append) => append(bytes));
}
