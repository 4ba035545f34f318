// The GWAS scan's WebAssembly kernel (mm-scan-wasm.ts, wasm/mm-scan.wat):
// remlScan with it gives every model the bits, NbIt and convergence flag of
// remlScan in TypeScript, over cases that reach each branch of the kernel
// and of the scan's loop: an odd model left without a partner, MM4LMM's
// fall-backs, the stop at maxIter (final evaluations beside running ones),
// the running product of V's diagonal rescaled by logs, and V not positive
// definite.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NumericalError } from '../../src/errors.js';
import { Rng } from '../../src/sim/rng.js';
import { makeWorkspace, sharedStart } from '../../src/varcomp/mm-eigen-gls.js';
import { remlScan, type ScanFits, type ScanOptions, scanFits } from '../../src/varcomp/mm-eigen-scan.js';
import { ScanKernel } from '../../src/varcomp/mm-scan-wasm.js';

interface Case {
  n: number;
  count: number;
  /** Eigenvalues drawn uniformly in [lo, hi]. */
  lo: number;
  hi: number;
  init: [number, number];
  maxIter: number;
  seed: number;
}

function scanData(c: Case) {
  const rng = new Rng(c.seed);
  const d = Float64Array.from({ length: c.n }, () => c.lo + (c.hi - c.lo) * rng.uniform());
  const x0 = Float64Array.from(rng.normals(c.n), (v) => 1 + 0.3 * v);
  const xb = Float64Array.from({ length: c.n * c.count }, () => Math.floor(3 * rng.uniform()) + 0.1 * rng.normal());
  // y with a genetic part scaled by d and a marker effect, so that the variances differ between models.
  const y = Float64Array.from({ length: c.n }, (_, i) => 0.5 * x0[i]! + 0.2 * xb[i]! + Math.sqrt(0.6 * Math.abs(d[i]!) + 0.4) * rng.normal());
  return { d, x0, xb, y };
}

function run(c: Case, wasm: boolean): ScanFits {
  const { d, x0, xb, y } = scanData(c);
  const o: ScanOptions = { init: Float64Array.from(c.init), critVar: 1e-3, critLogLik: 1e-3, maxIter: c.maxIter, wasm };
  const fits = scanFits(c.count, 2);
  remlScan(makeWorkspace(c.n, 2), y, d, { xa: x0, pa: 1, xb, pb: 1, count: c.count }, o, 0, fits);
  return fits;
}

function assertSameFits(a: ScanFits, b: ScanFits, label: string): void {
  for (const key of ['sigma2', 'beta', 'varBeta', 'logLik', 'nbIt', 'converged'] as const) {
    const x = a[key];
    const y = b[key];
    assert.equal(x.length, y.length);
    for (let i = 0; i < x.length; i++) assert.ok(Object.is(x[i], y[i]), `${label}: ${key}[${i}] wasm ${x[i]} vs js ${y[i]}`);
  }
}

test('the scan kernel runs here (Node has WebAssembly SIMD)', () => {
  const ones = new Float64Array(4).fill(1);
  const start = sharedStart(ones, ones, ones, 1, 1);
  assert.ok(start !== undefined && ScanKernel.make(ones, ones, ones, start, 1) !== undefined);
});

test('remlScan on the wasm kernel: the bits, NbIt and flags of the TypeScript scan', () => {
  const cases: [string, Case][] = [
    // 37 models: a full chunk of 32, then 5 (one left without a partner each
    // pass); models that stop are evaluated beside models that run on.
    ['typical', { n: 200, count: 37, lo: 0, hi: 4, init: [0.3, 0.6], maxIter: 5000, seed: 1 }],
    // A start far from the optimum: extrapolations that lower the log-likelihood, MM4LMM's fall-backs (32 here).
    ['fall-backs', { n: 150, count: 33, lo: 0, hi: 1, init: [5, 5], maxIter: 5000, seed: 7 }],
    // maxIter = 3: models stop unconverged, their final evaluations paired with running ones.
    ['maxIter 3', { n: 120, count: 21, lo: 0, hi: 3, init: [0.1, 1], maxIter: 3, seed: 3 }],
    // Large eigenvalues: the product of V's diagonal passes 1e150 within the rows (logs split off, ~900 times).
    ['large d', { n: 400, count: 9, lo: 1e3, hi: 1e5, init: [1, 1], maxIter: 5000, seed: 4 }],
  ];
  let fitted = 0;
  for (const [label, c] of cases) {
    const wasm = run(c, true);
    const js = run(c, false);
    assertSameFits(wasm, js, label);
    fitted += c.count;
  }
  assert.equal(fitted, 100);
});

test('remlScan on the wasm kernel: V not positive definite fails as in TypeScript', () => {
  // Negative eigenvalues: V~ = delta D + I loses positive definiteness at the start delta (2 / 0.5 = 4).
  const c: Case = { n: 60, count: 4, lo: -0.5, hi: 2, init: [2, 0.5], maxIter: 100, seed: 5 };
  assert.throws(
    () => run(c, true),
    (e: unknown) => e instanceof NumericalError && /is not positive definite/.test(e.message),
  );
  assert.throws(
    () => run(c, false),
    (e: unknown) => e instanceof NumericalError && /is not positive definite/.test(e.message),
  );
});
