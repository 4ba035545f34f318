// The layers of DESIGN.md, read from the imports of src/ (type-only imports
// included: a type from a higher layer is a dependency too): front doors
// (cli) -> workflow -> the engine, and inside the engine downwards only,
// with no import cycle between modules.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';

const SRC = new URL('../../../src/', import.meta.url).pathname;

/** A layer's rank: a module may import modules of its own rank or lower. */
const RANK: Record<string, number> = {
  // non-empty: the NonEmpty<T> type and its guard, used by data and linalg; imports nothing.
  errors: 0,
  'non-empty': 0,
  stats: 1,
  linalg: 1,
  optim: 2,
  sim: 3,
  data: 3,
  nullmodel: 4,
  scan: 5,
  varcomp: 5,
  plot: 5,
  infmodel: 5,
  workflow: 6,
  cli: 7,
  index: 8,
  node: 8,
};

function layer(file: string): string {
  const top = file.split('/')[0]!;
  return top.replace(/\.ts$/, '');
}

function files(dir: string): string[] {
  return readdirSync(SRC + dir).flatMap((f) => {
    const rel = dir === '' ? f : `${dir}/${f}`;
    return statSync(SRC + rel).isDirectory() ? files(rel) : rel.endsWith('.ts') ? [rel] : [];
  });
}

/** The relative imports of a module (static, dynamic and re-exports), as paths under src/. */
function imports(file: string): string[] {
  const text = readFileSync(SRC + file, 'utf8');
  const out = new Set<string>();
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.[^'"]+)['"]/g)) {
    const target = normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
    if (existsSync(SRC + target)) out.add(relative('.', target));
  }
  return [...out];
}

const all = files('');
const graph = new Map(all.map((f) => [f, imports(f)]));

test('every module is in a known layer', () => {
  assert.deepEqual(
    all.filter((f) => RANK[layer(f)] === undefined),
    [],
  );
});

test('imports point down the layers: cli -> workflow -> engine, never up', () => {
  const up: string[] = [];
  for (const [f, deps] of graph) {
    for (const d of deps) {
      // The command line loads the native backend first, as lmmkit/node does.
      if (layer(f) === 'cli' && d === 'linalg/native/register.ts') continue;
      if (layer(f) === 'cli' && !['cli', 'workflow', 'errors'].includes(layer(d))) up.push(`${f} -> ${d} (cli calls workflows only)`);
      else if (RANK[layer(d)]! > RANK[layer(f)]!) up.push(`${f} -> ${d}`);
    }
  }
  assert.deepEqual(up, []);
});

test('no import cycle between modules', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const d of graph.get(f) ?? []) visit(d, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of all) visit(f, []);
  assert.deepEqual(cycles, []);
});
