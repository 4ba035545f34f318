// Linear-algebra benchmark: dgemm GFLOP/s and syevd seconds for both
// backends, and numpy (through Debian's /usr/bin/python3) on the same shapes
// in the same run, with our/numpy ratios. The native syevd and numpy's eigh
// (both LAPACK dsyevd) then run on the very same matrices, interleaved in a
// random order per round with numpy kept in one worker process, so that the
// ratio compares neighbouring moments of a shared machine (best and median of
// the rounds, wall and CPU seconds, each side's BLAS threads said).
// It prints figures; it asserts nothing.
//
// LMMKIT_BENCH_EIGH_N: comma-separated sizes of the interleaved eigh
// comparison (default 1000,2000; the are 3000,5000),
// LMMKIT_BENCH_EIGH_ROUNDS: its rounds (default 5).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Backend, Matrix, availableBackends } from '../src/node.js';
import { Rng } from '../src/sim/rng.js';
import { backendLabel, bestOf, envInt } from './common.js';
import { reportSummary, type SummaryRow } from './summary-rows.js';

const GEMM_SIZES = [1000, 2000];
const EIGH_SIZES = [1000, 2000];
const PYTHON = process.env.LMMKIT_PYTHON || '/usr/bin/python3';

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
  if (!existsSync(PYTHON)) return `no ${PYTHON}`;
  const r = spawnSync(PYTHON, ['-c', NUMPY_SCRIPT], { encoding: 'utf8' });
  if (r.status !== 0) return `numpy unavailable (${(r.stderr || '').trim().split('\n').pop()})`;
  return JSON.parse(r.stdout) as NumpyFigures;
}

/**
 * numpy's eigh as a worker process: it loads each matrix once ('load N
 * PATH') and answers 'eigh N' with the wall and CPU seconds of one
 * np.linalg.eigh; its OpenBLAS thread count comes from the library numpy
 * loaded (ctypes finds the same libopenblas.so.0).
 */
const EIGH_WORKER = `
import ctypes, sys, time
import numpy as np
try:
    threads = ctypes.CDLL('libopenblas.so.0').openblas_get_num_threads()
except (OSError, AttributeError):
    threads = -1
print(np.__version__, threads, flush=True)
mats = {}
for line in sys.stdin:
    cmd, n, *rest = line.split()
    n = int(n)
    if cmd == 'load':
        mats[n] = np.fromfile(rest[0], dtype='<f8').reshape(n, n)
        print('ok', flush=True)
    else:
        c0 = time.process_time(); t0 = time.perf_counter()
        np.linalg.eigh(mats[n])
        print(time.perf_counter() - t0, time.process_time() - c0, flush=True)
`;

/** Wall and CPU seconds of one run. */
interface Timing {
  wall: number;
  cpu: number;
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const median = (x: readonly number[]): number => {
  const s = [...x].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The native syevd and numpy's eigh of the same symmetric matrices, `rounds`
 * rounds per size, the two in a random order in each round; one summary row
 * per size (best wall times). Returns the line that says why not, when numpy
 * or the native backend is missing.
 */
async function interleavedEigh(be: Backend, sizes: readonly number[], rounds: number): Promise<string | undefined> {
  if (!existsSync(PYTHON)) return `no ${PYTHON}`;
  const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-eigh-'));
  const py = spawn(PYTHON, ['-c', EIGH_WORKER], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  py.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const answer = async (request?: string): Promise<string> => {
    if (request !== undefined) py.stdin.write(`${request}\n`);
    const r = await lines.next();
    if (r.done === true) throw new Error(`the numpy worker (${PYTHON}) ended: ${stderr.trim().split('\n').pop() ?? ''}`);
    return r.value;
  };
  try {
    let head: string;
    try {
      head = await answer();
    } catch (err) {
      return (err as Error).message;
    }
    const [version, threads] = head.split(' ');
    console.log(`interleaved eigh: ${backendLabel(be)} vs numpy ${version} (${PYTHON}, ${threads} OpenBLAS threads), ${rounds} rounds, random order per round`);
    const rng = new Rng(11);
    const summary: SummaryRow[] = [];
    const rows = [['n', 'ours best', 'numpy best', 'ratio best', 'ratio median', 'CPU ratio best', 'CPU ratio median'].join('\t')];
    for (const n of sizes) {
      const a = symmetric(rng, n);
      const path = join(dir, `sym${n}.f64`);
      writeFileSync(path, a.data);
      await answer(`load ${n} ${path}`);
      const ours: Timing[] = [];
      const numpy: Timing[] = [];
      for (let r = 0; r < rounds; r++) {
        for (const side of Math.random() < 0.5 ? ['ours', 'numpy'] : ['numpy', 'ours']) {
          if (side === 'numpy') {
            const [wall, cpu] = (await answer(`eigh ${n}`)).split(' ').map(Number);
            numpy.push({ wall: wall!, cpu: cpu! });
          } else {
            const copy = a.clone(); // numpy's eigh copies its input too
            const c0 = cpuSeconds();
            const t0 = performance.now();
            be.syevdInPlace(copy);
            ours.push({ wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - c0 });
          }
        }
      }
      const best = (t: Timing[], k: keyof Timing): number => Math.min(...t.map((x) => x[k]));
      const med = (t: Timing[], k: keyof Timing): number => median(t.map((x) => x[k]));
      rows.push(
        [
          n,
          best(ours, 'wall').toFixed(3),
          best(numpy, 'wall').toFixed(3),
          (best(ours, 'wall') / best(numpy, 'wall')).toFixed(2),
          (med(ours, 'wall') / med(numpy, 'wall')).toFixed(2),
          (best(ours, 'cpu') / best(numpy, 'cpu')).toFixed(2),
          (med(ours, 'cpu') / med(numpy, 'cpu')).toFixed(2),
        ].join('\t'),
      );
      console.log(`  n ${n}: ours ${ours.map((t) => t.wall.toFixed(2)).join(' ')} s; numpy ${numpy.map((t) => t.wall.toFixed(2)).join(' ')} s`);
      summary.push({
        bench: 'linalg',
        job: `eigendecomposition (syevd), N ${n}, interleaved best of ${rounds}`,
        lmmkit: best(ours, 'wall'),
        peer: 'numpy eigh',
        peerTime: best(numpy, 'wall'),
        kind: 'within',
        target: 1.1,
      });
    }
    console.log(rows.join('\n'));
    reportSummary(summary);
    return undefined;
  } finally {
    py.stdin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
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
  const native = availableBackends().find((be) => be.name === 'native');
  if (native === undefined) console.log('interleaved eigh: skipped (no native backend)');
  else {
    const sizes = (process.env.LMMKIT_BENCH_EIGH_N || '1000,2000').split(',').map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1))
      throw new Error(`LMMKIT_BENCH_EIGH_N must be comma-separated positive integers, found '${process.env.LMMKIT_BENCH_EIGH_N}'`);
    const why = await interleavedEigh(native, sizes, envInt('LMMKIT_BENCH_EIGH_ROUNDS', 5));
    if (why !== undefined) console.log(`interleaved eigh: ${why}`);
  }
}

await main();
