#!/usr/bin/env node
// Builds the native OpenBLAS/LAPACKE backend at `npm install` when the system
// has the headers and libraries, and otherwise leaves lmmkit on its pure
// TypeScript backend. It never fails the install: a missing fast backend is
// a slower lmmkit, not a broken one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOWTO =
  'lmmkit: native backend not built (%s); using the pure TypeScript backend. ' +
  'For the fast one: apt-get install libopenblas-dev liblapacke-dev, then npm rebuild lmmkit';

const includeDirs = ['/usr/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu'];
const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib', '/usr/lib64'];
const has = (dirs, file) => dirs.some((d) => existsSync(join(d, file)));

const missing = [
  ['cblas.h', includeDirs],
  ['lapacke.h', includeDirs],
  ['libopenblas.so', libDirs],
  ['liblapacke.so', libDirs],
]
  .filter(([f, dirs]) => !has(dirs, f))
  .map(([f]) => f);

if (process.env.LMMKIT_SKIP_NATIVE === '1') {
  console.log(HOWTO.replace('%s', 'LMMKIT_SKIP_NATIVE=1'));
} else if (missing.length > 0) {
  console.log(HOWTO.replace('%s', `missing ${missing.join(', ')}`));
} else {
  build();
}

/** The node-gyp that npm brings (npm sets npm_config_node_gyp for install scripts), else one installed beside lmmkit. */
function nodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

function build() {
  const gyp = nodeGyp();
  if (gyp === undefined) {
    console.log(HOWTO.replace('%s', 'node-gyp not found: run the install through npm'));
    return;
  }
  const args = [gyp, 'rebuild'];
  // Build against the running Node's own headers: nothing is downloaded.
  const prefix = dirname(dirname(process.execPath));
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) {
    args.push(`--nodedir=${prefix}`);
  }
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) {
    console.log('lmmkit: native OpenBLAS/LAPACKE backend built');
  } else {
    const log = (r.stdout ?? '') + (r.stderr ?? '');
    process.stderr.write(`${log.split('\n').slice(-40).join('\n')}\n`);
    console.log(HOWTO.replace('%s', 'the compiler failed, see above'));
  }
}
