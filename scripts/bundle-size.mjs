#!/usr/bin/env node
// Prints what `lmmkit` (the browser-safe `.` entry, as built in dist/) costs
// a page: the esbuild bundle for platform 'browser', minified, then gzipped.
// `npm run bundle-size` builds first; the README states the figure.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, version } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const entry = join(root, pkg.exports['.'].default);

const result = await build({ entryPoints: [entry], platform: 'browser', format: 'esm', bundle: true, minify: true, write: false });
const bytes = result.outputFiles[0].contents;
const gzipped = gzipSync(bytes, { level: 9 }).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`lmmkit browser bundle (esbuild ${version} --platform=browser --minify): ${kib(bytes.length)} minified, ${kib(gzipped)} gzipped`);
