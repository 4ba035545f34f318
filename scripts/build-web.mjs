// Builds the web app (web/) into dist/web: the page's script and its worker
// bundled by esbuild from web/src (which import lmmkit's TypeScript
// sources), minified, for browsers; index.html and style.css copied. Run
// after tsc by `npm run build` and `npm test`; prints each file's size and
// gzip size.
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const out = new URL('dist/web/', root);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, sourcemap: false, platform: 'browser', target: 'chrome110', absWorkingDir: root.pathname, logLevel: 'warning' };
await build({ ...common, entryPoints: ['web/src/main.ts'], outfile: 'dist/web/main.js', format: 'esm' });
// A classic worker script: new Worker('worker.js') needs no module support.
await build({ ...common, entryPoints: ['web/src/worker.ts'], outfile: 'dist/web/worker.js', format: 'iife' });
for (const f of ['index.html', 'style.css']) copyFileSync(new URL(`web/${f}`, root), new URL(f, out));
for (const f of ['index.html', 'style.css', 'main.js', 'worker.js']) {
  const bytes = readFileSync(new URL(f, out));
  console.log(`dist/web/${f}: ${(bytes.length / 1024).toFixed(1)} KiB, gzip ${(gzipSync(bytes, { level: 9 }).length / 1024).toFixed(1)} KiB`);
}
