// A static file server for pages that run lmmkit's compiled modules (dist/)
// in Chromium, and the headless browser that opens them: shared by
// `npm run bench:web` and the in-page tests.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import type { Browser, Page } from 'playwright-core';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.map': 'application/json',
  '.html': 'text/html',
};

/** A running server: its base URL (http://127.0.0.1:PORT) and how to stop it. */
export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the files under `root` on 127.0.0.1 (a free port) and an empty page
 * at '/', with the cross-origin isolation headers (COOP same-origin, COEP
 * require-corp) that SharedArrayBuffer needs, so workers can share memory.
 */
export async function serveStatic(root: string): Promise<StaticServer> {
  const base = normalize(root) + sep;
  const server: Server = createServer(async (req, res) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/') {
      res.setHeader('Content-Type', 'text/html');
      res.end('<!doctype html><meta charset="utf-8"><title>lmmkit</title><body></body>');
      return;
    }
    const file = normalize(join(base, path));
    if (!file.startsWith(base)) {
      res.statusCode = 403;
      res.end();
      return;
    }
    try {
      const body = await readFile(file);
      res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
      res.end(body);
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Debian's Chromium, as .ci/run installs it (playwright-core downloads no browser). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium with one page opened at `url`, and the page's uncaught
 * errors as they come (`errors`). Close the returned browser when done.
 */
export async function openPage(url: string): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { browser, page, errors };
}

/**
 * `lmmkit web --port 0` (the CLI at `bin`) as a child process, and the URL it
 * printed once it listens; `stop` kills it. Its stderr is kept for the
 * error when it exits before serving.
 */
export async function serveLmmkitWeb(bin: string): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [bin, 'web', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((ok, fail) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m !== null) ok(m[1]!);
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => fail(new Error(`lmmkit web exited (${code}): ${out}`)));
  });
  return { url, stop: () => child.kill() };
}
