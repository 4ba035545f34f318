// `lmmkit web`'s server: the built web app (dist/web) as static files on
// 127.0.0.1 only, with the MIME types a browser needs, cross-origin
// isolation (COOP/COEP, for SharedArrayBuffer and WebAssembly threads) and
// a content security policy that lets the page reach its own origin only.
// A path outside the folder is refused.
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built page's folder: dist/web, beside dist/src (this module is dist/src/workflow/web-server.js). */
export const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** The headers of every answer: nothing but this origin (and the page's own blobs and inline plot page) may be loaded. */
const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy':
    "default-src 'self' blob: data: 'unsafe-inline'; script-src 'self' blob: 'unsafe-inline' 'wasm-unsafe-eval'; frame-ancestors 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

/** A running server: its URL and how to stop it. */
export interface WebServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Serves `root` (default dist/web) on 127.0.0.1:`port` (0: a free port);
 * GET and HEAD only; `/` is index.html. Resolves once listening.
 */
export async function startWebServer(opts: { port?: number; root?: string } = {}): Promise<WebServer> {
  const root = resolve(opts.root ?? WEB_ROOT);
  const server = createServer((req, res) => {
    void answer(root, req.method ?? 'GET', req.url ?? '/').then(({ status, type, body }) => {
      res.writeHead(status, { ...HEADERS, 'Content-Type': type, 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

const text = (status: number, message: string) => ({ status, type: 'text/plain; charset=utf-8', body: Buffer.from(`${message}\n`) });

/** The answer to one request: the file under `root`, or 404/403/405. */
async function answer(root: string, method: string, url: string): Promise<{ status: number; type: string; body: Buffer }> {
  if (method !== 'GET' && method !== 'HEAD') return text(405, 'only GET and HEAD');
  let path: string;
  try {
    path = decodeURIComponent(new URL(url, 'http://x').pathname);
  } catch {
    return text(400, 'bad path');
  }
  if (path.includes('\0')) return text(400, 'bad path');
  const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
  if (file !== root && !file.startsWith(root + sep)) return text(403, 'outside the web app');
  const st = await stat(file).catch(() => undefined);
  if (st === undefined || !st.isFile()) return text(404, 'not found');
  return { status: 200, type: MIME[extname(file).toLowerCase()] ?? 'application/octet-stream', body: await readFile(file) };
}
