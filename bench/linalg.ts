// Linear-algebra benchmark: dgemm GFLOP/s and syevd seconds for both
// backends, and numpy (through Debian's /usr/bin/python3) on the same shapes
// in the same run, with our/numpy ratios. It prints figures; it asserts nothing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Backend, Matrix, availableBackends } from '../src/node.js';
import { Rng } from '../src/sim/rng.js';
import { backendLabel, bestOf } from './common.js';

const GEMM_SIZES = [1000, 2000];
const EIGH_SIZES = [1000, 2000];

interface Figures {
  gemmGflops: Map<number, number>;
  syevdSeconds: Map<number, number>;
}

/** Best wall time of `reps` runs of `fn`, in seconds. */
const best = (reps: number, fn: () => void): number => bestOf(reps, fn).seconds;

function randomMatrix(rng: Rng, n: number): Matrix {
  return new Matrix(n, n, rng.normals(n * n));
}

function symmetric(rng: Rng, n: number): Matrix {
  const a = randomMatrix(rng, n);
  const t = a.transpose();
  for (let i = 0; i < a.data.length; i++) a.data[i]! += t.data[i]!;
  return a;
}

function measure(be: Backend): Figures {
  const rng = new Rng(7);
  const slow = be.name === 'js';
  const gemmGflops = new Map<number, number>();
  for (const n of GEMM_SIZES) {
    const a = randomMatrix(rng, n);
    const b = randomMatrix(rng, n);
    const c = new Matrix(n, n);
    be.gemm(a, b, { c }); // warm-up: JIT, packing buffers, BLAS threads
    const s = best(slow ? 2 : 5, () => be.gemm(a, b, { c }));
    gemmGflops.set(n, (2 * n ** 3) / s / 1e9);
  }
  const syevdSeconds = new Map<number, number>();
  for (const n of EIGH_SIZES) {
    const a = symmetric(rng, n);
    if (!slow) be.syevd(a);
    syevdSeconds.set(
      n,
      best(slow ? 1 : 3, () => be.syevd(a)),
    );
  }
  return { gemmGflops, syevdSeconds };
}

const NUMPY_SCRIPT = `
import json, sys, time
import numpy as np
rng = np.random.default_rng(7)
def best(reps, f):
    t = float('inf')
    for _ in range(reps):
        t0 = time.perf_counter(); f(); t = min(t, time.perf_counter() - t0)
    return t
out = {"version": np.__version__, "gemm": {}, "eigh": {}}
for n in ${JSON.stringify(GEMM_SIZES)}:
    a = np.asfortranarray(rng.standard_normal((n, n))); b = np.asfortranarray(rng.standard_normal((n, n)))
    a @ b
    out["gemm"][n] = 2 * n**3 / best(5, lambda: a @ b) / 1e9
for n in ${JSON.stringify(EIGH_SIZES)}:
    g = rng.standard_normal((n, n)); s = np.asfortranarray(g + g.T)
    np.linalg.eigh(s)
    out["eigh"][n] = best(3, lambda: np.linalg.eigh(s))
json.dump(out, sys.stdout)
`;

interface NumpyFigures {
  version: string;
  gemm: Record<string, number>;
  eigh: Record<string, number>;
}

function numpyFigures(): NumpyFigures | string {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return 'no /usr/bin/python3';
  const r = spawnSync(python, ['-c', NUMPY_SCRIPT], { encoding: 'utf8' });
  if (r.status !== 0) return `numpy unavailable (${(r.stderr || '').trim().split('\n').pop()})`;
  return JSON.parse(r.stdout) as NumpyFigures;
}

function main(): void {
  const rows: string[] = [];
  const results = new Map<string, Figures>();
  for (const be of availableBackends()) {
    console.log(`measuring ${backendLabel(be)} ...`);
    results.set(be.name, measure(be));
  }
  console.log('measuring numpy ...');
  const np = numpyFigures();
  const npOk = typeof np !== 'string';
  console.log(npOk ? `numpy ${np.version} (/usr/bin/python3)` : `numpy: ${np}`);
  rows.push(['backend', 'operation', 'n', 'figure', 'numpy', 'ratio'].join('\t'));
  for (const [name, f] of results) {
    for (const [n, g] of f.gemmGflops) {
      const ref = npOk ? np.gemm[String(n)] : undefined;
      rows.push([name, 'dgemm GFLOP/s', n, g.toFixed(2), ref?.toFixed(2) ?? '-', ref ? `${(g / ref).toFixed(2)}x numpy` : '-'].join('\t'));
    }
    for (const [n, s] of f.syevdSeconds) {
      const ref = npOk ? np.eigh[String(n)] : undefined;
      rows.push([name, 'syevd seconds', n, s.toFixed(3), ref?.toFixed(3) ?? '-', ref ? `${(s / ref).toFixed(2)}x numpy time` : '-'].join('\t'));
    }
  }
  console.log(rows.join('\n'));
}

main();
