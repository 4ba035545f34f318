// The js backend, Matrix, the Backend wrapper, backend selection, the
// distributions and the plots (SVG) must run in a browser: no static import of a Node built-in,
// no Buffer, no require. (The native loader reaches Node only through
// process.getBuiltinModule at run time.)
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

const SRC = new URL('../../src/', import.meta.url).pathname;

const files = [
  ...readdirSync(`${SRC}linalg/js`).map((f) => `linalg/js/${f}`),
  ...readdirSync(`${SRC}stats`).map((f) => `stats/${f}`),
  // The plots, less their Node-only modules (PNG rendering, fonts, files).
  ...readdirSync(`${SRC}plot`).filter((f) => !['png.ts', 'fonts.ts', 'node.ts'].includes(f)).map((f) => `plot/${f}`),
  'linalg/matrix.ts', 'linalg/backend.ts', 'linalg/kernels.ts', 'linalg/select.ts', 'linalg/native/load.ts', 'errors.ts', 'sim/rng.ts',
].filter((f) => f.endsWith('.ts'));

test('browser-facing modules import no Node built-in', () => {
  assert.ok(files.length > 8);
  for (const f of files) {
    const text = readFileSync(SRC + f, 'utf8');
    assert.doesNotMatch(text, /from\s+['"](node:|fs|path|os|child_process|module)['"]/, `${f} imports a Node built-in`);
    assert.doesNotMatch(text, /\brequire\(|\bBuffer\b/, `${f} uses require or Buffer`);
  }
});
