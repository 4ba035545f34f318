// The WebAssembly SIMD dgemm/dsyrk (src/linalg/wasm) in Node: bit for bit the
// js kernels' results (same packing, same order of sums, no fused
// multiply-add) on random matrices of every shape class the kernels meet
// (empty, 1-sized, odd, deeper than KC, taller than MC, wider than NC), every
// transpose flag and alpha/beta case; the BLAS rules on unread entries; the
// backend behind `loadBackend('wasm')` and selfcheck on it; and the committed
// module is what gemm.wat assembles to.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { LmmkitError } from '../../src/errors.js';
import { dgemm as jsDgemm, dsyrk as jsDsyrk } from '../../src/linalg/js/blas.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { loadBackend, wasmStatus } from '../../src/linalg/select.js';
import { dgemm, dsyrk, wasmUnavailableReason } from '../../src/linalg/wasm/gemm.js';
import { Rng } from '../../src/sim/rng.js';
import { runSelfCheck } from '../../src/workflow/selfcheck.js';

const BOOLS = [false, true];
const ALPHA_BETA = [
  [1, 0],
  [-0.7, 1],
  [2.5, -0.5],
] as const;

/** Index of the first element where x and y differ as bits (NaN equals NaN), or -1. */
function firstDifference(x: Float64Array, y: Float64Array): number {
  assert.equal(x.length, y.length);
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return i;
  return -1;
}

/**
 * (m, n, k): as in js-blas.test.ts, plus a product crossing MC, KC and NC at
 * once, and one so deep (k = 4100) that the wasm driver's packed panels of B
 * fill its budget before NC columns (blocks of 1020 columns).
 */
const GEMM_SHAPES: [number, number, number][] = [
  [0, 0, 0],
  [0, 3, 2],
  [3, 0, 2],
  [3, 2, 0],
  [1, 1, 1],
  [1, 7, 1],
  [7, 1, 1],
  [1, 2, 9],
  [2, 3, 5],
  [17, 16, 33],
  [65, 63, 67],
  [5, 300, 7],
  [6, 5, 600],
  [131, 129, 257],
  [5, 2100, 4],
  [133, 2051, 259],
  [9, 1030, 4100],
];

test('the wasm kernel runs here (Node has WebAssembly SIMD)', () => {
  assert.equal(wasmUnavailableReason(), undefined);
  assert.deepEqual(wasmStatus(), { available: true });
});

describe('wasm dgemm', () => {
  test('equals js dgemm bit for bit for every shape, transpose and alpha/beta', () => {
    const rng = new Rng(11);
    for (const [m, n, k] of GEMM_SHAPES) {
      for (const tA of BOOLS) {
        for (const tB of BOOLS) {
          // The deep product once per transpose pair: its size is in the blocking, not in alpha/beta.
          const scalings = m * n * k > 1e7 ? ALPHA_BETA.slice(1, 2) : ALPHA_BETA;
          for (const [alpha, beta] of scalings) {
            const a = rng.normals(m * k);
            const b = rng.normals(k * n);
            const expected = rng.normals(m * n);
            const c = Float64Array.from(expected);
            jsDgemm(tA, tB, m, n, k, alpha, a, b, beta, expected);
            dgemm(tA, tB, m, n, k, alpha, a, b, beta, c);
            const at = firstDifference(c, expected);
            assert.equal(at, -1, `gemm ${m}x${n}x${k} tA=${tA} tB=${tB} alpha=${alpha} beta=${beta}: C[${at}] = ${c[at]}, js ${expected[at]}`);
          }
        }
      }
    }
  });

  test('beta = 0 ignores NaN in C; alpha = 0 reads neither A nor B', () => {
    const rng = new Rng(12);
    const [m, n, k] = [37, 45, 29];
    const a = rng.normals(m * k);
    const b = rng.normals(k * n);
    const expected = new Float64Array(m * n);
    jsDgemm(false, false, m, n, k, 1, a, b, 0, expected);
    const c = new Float64Array(m * n).fill(NaN);
    dgemm(false, false, m, n, k, 1, a, b, 0, c);
    assert.equal(firstDifference(c, expected), -1);
    const c0 = rng.normals(m * n);
    const c1 = Float64Array.from(c0);
    dgemm(true, true, m, n, k, 0, new Float64Array(m * k).fill(NaN), new Float64Array(k * n).fill(NaN), 3, c1);
    assert.deepEqual(
      c1,
      c0.map((v) => 3 * v),
    );
  });
});

describe('wasm dsyrk', () => {
  test('equals js dsyrk bit for bit and leaves the strict upper triangle untouched', () => {
    const rng = new Rng(13);
    for (const [n, k] of [
      [0, 3],
      [3, 0],
      [1, 1],
      [1, 5],
      [5, 1],
      [7, 9],
      [33, 17],
      [130, 70],
      [150, 300],
      [260, 9],
      [2053, 3],
    ] as const) {
      for (const trans of BOOLS) {
        for (const [alpha, beta] of [
          [1, 0],
          [-1, 1],
          [0.3, 2],
        ] as const) {
          const a = rng.normals(n * k);
          const expected = rng.normals(n * n);
          // NaN above the diagonal: a write there, or a read that reached a sum, shows.
          for (let j = 0; j < n; j++) for (let i = 0; i < j; i++) expected[i + j * n] = NaN;
          const c = Float64Array.from(expected);
          jsDsyrk(trans, n, k, alpha, a, beta, expected);
          dsyrk(trans, n, k, alpha, a, beta, c);
          const at = firstDifference(c, expected);
          assert.equal(at, -1, `syrk n=${n} k=${k} trans=${trans} alpha=${alpha} beta=${beta}: C[${at}] = ${c[at]}, js ${expected[at]}`);
          for (let j = 0; j < n; j++) for (let i = 0; i < j; i++) assert.ok(Number.isNaN(c[i + j * n]), `upper (${i}, ${j}) written`);
        }
      }
    }
  });
});

describe('wasm backend', () => {
  test("loadBackend('wasm') gemm and syrk agree with the js backend", () => {
    const rng = new Rng(14);
    const a = Matrix.fromColumnMajor(70, 40, rng.normals(70 * 40));
    const b = Matrix.fromColumnMajor(70, 9, rng.normals(70 * 9));
    const wasm = loadBackend('wasm');
    const js = loadBackend('js');
    assert.equal(wasm.name, 'wasm');
    assert.match(wasm.info().blas, /WebAssembly SIMD/);
    assert.equal(firstDifference(wasm.gemm(a, b, { transA: true }).data, js.gemm(a, b, { transA: true }).data), -1);
    assert.equal(firstDifference(wasm.syrk(a).data, js.syrk(a).data), -1);
  });

  test('LMMKIT_BACKEND=wasm is accepted; a misspelt name lists wasm among the choices', async () => {
    const { availableBackends } = await import('../../src/linalg/select.js');
    const before = process.env.LMMKIT_BACKEND;
    try {
      process.env.LMMKIT_BACKEND = 'wasm';
      assert.deepEqual(
        availableBackends().map((be) => be.name),
        ['wasm'],
      );
      process.env.LMMKIT_BACKEND = 'wsam';
      assert.throws(
        () => availableBackends(),
        (e: unknown) => e instanceof LmmkitError && e.code === 'BAD_BACKEND' && /'js', 'native' or 'wasm'/.test(e.message),
      );
    } finally {
      if (before === undefined) delete process.env.LMMKIT_BACKEND;
      else process.env.LMMKIT_BACKEND = before;
    }
  });
});

test('selfcheck --backend wasm: the end-to-end fit passes its checks and equals js bit for bit', () => {
  const [wasm] = runSelfCheck('wasm', 5);
  const [js] = runSelfCheck('js', 5);
  assert.equal(wasm!.backend, 'wasm');
  assert.ok(wasm!.checks.length > 0 && wasm!.checks.every((c) => c.ok), JSON.stringify(wasm!.checks));
  assert.deepEqual(wasm!.betaHat, js!.betaHat);
  assert.deepEqual(wasm!.betaSe, js!.betaSe);
});

test('src/linalg/wasm/gemm-bytes.ts is what gemm.wat assembles to (npm run build:wasm)', () => {
  const run = spawnSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
});
