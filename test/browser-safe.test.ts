// What must run in a browser: the js backend, Matrix, the Backend wrapper,
// backend selection, the distributions, the plots (SVG), and the statistical
// engine (null models, scans, variance-component fits). None of these modules,
// nor anything they import, may statically import a Node built-in, use
// Buffer or require. (The native loader reaches Node only through
// process.getBuiltinModule at run time.) Node-only modules are listed below.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';

const SRC = new URL('../../src/', import.meta.url).pathname;

/** Node-only by design: PNG rendering, fonts and files for plots; null-model files; worker threads for mmEstParallel. */
const NODE_ONLY = new Set(['plot/png.ts', 'plot/fonts.ts', 'plot/node.ts', 'nullmodel/node.ts', 'varcomp/mm-worker.ts', 'varcomp/mmest-parallel.ts']);

const entries = [
  ...['linalg/js', 'stats', 'plot', 'nullmodel', 'scan', 'varcomp'].flatMap((d) => readdirSync(`${SRC}${d}`).map((f) => `${d}/${f}`)),
  'linalg/matrix.ts', 'linalg/backend.ts', 'linalg/kernels.ts', 'linalg/select.ts', 'linalg/native/load.ts', 'errors.ts', 'sim/rng.ts', 'sim/gwas.ts',
].filter((f) => f.endsWith('.ts') && !NODE_ONLY.has(f));

/** The relative imports of a module (type-only imports excluded: they vanish at run time). */
function imports(file: string): string[] {
  const text = readFileSync(SRC + file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+['"](\.[^'"]+)['"]/gms)) {
    const target = normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
    if (existsSync(SRC + target)) out.push(relative('.', target));
  }
  return out;
}

test('browser-facing modules and everything they import use no Node built-in', () => {
  assert.ok(entries.length > 40);
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const f = queue.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    assert.ok(!NODE_ONLY.has(f), `${f} is Node-only but is imported by a browser-facing module`);
    const text = readFileSync(SRC + f, 'utf8');
    assert.doesNotMatch(text, /from\s+['"](node:|fs|path|os|child_process|module|worker_threads)['"]/, `${f} imports a Node built-in`);
    assert.doesNotMatch(text, /\brequire\(|\bBuffer\b/, `${f} uses require or Buffer`);
    queue.push(...imports(f));
  }
  assert.ok(seen.size >= entries.length);
});
