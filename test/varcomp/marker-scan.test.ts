// mmEst's GWAS-mode scan (marker-scan.ts, mm-eigen-scan.ts): every marker
// model it fits has the bits, the NbIt and the design of a lone fit (the
// design R's qr() gives, then mmRotated on the same rotated data), markers
// aliased with the cofactors or near dqrdc2's cut included; the plans it
// refuses; mmEstParallel's workers agree; a bad marker fails as before,
// after the models of the batches before it (the next batch is rotated
// while a batch is scanned).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Matrix, getBackend } from '../../src/index.js';
import { Rng } from '../../src/sim/rng.js';
import { buildDesign, planDesign } from '../../src/varcomp/design.js';
import { clearlyKept, planMarkerScan } from '../../src/varcomp/marker-scan.js';
import { mmRotated, rotateTwo } from '../../src/varcomp/mm-eigen.js';
import { MmEstRun, mmEst, normaliseMarkers, type MmEstOptions, type MmEstResult } from '../../src/varcomp/mmest.js';
import { mmEstParallel } from '../../src/varcomp/mmest-parallel.js';

const N = 150;
const M = 40;

/** Random dosages with planted markers: aliased, near dqrdc2's cut on both sides, zero. */
function data() {
  const rng = new Rng(2027);
  const cof = new Matrix(N, 2, rng.normals(2 * N));
  const v1 = cof.col(0);
  const v2 = cof.col(1);
  const x = new Matrix(N, M);
  for (let i = 0; i < N * M; i++) x.data[i] = Math.floor(3 * rng.uniform());
  const put = (j: number, f: (i: number) => number) => {
    for (let i = 0; i < N; i++) x.data[j * N + i] = f(i);
  };
  put(3, () => 1); // the intercept
  put(7, (i) => v1[i]!); // cofactor V1
  put(11, (i) => 2 * v2[i]! + 1 + 1e-9 * Math.cos(i)); // aliased to dqrdc2 (residual 1e-9 of its norm)
  put(15, (i) => v2[i]! + 1e-6 * Math.cos(i)); // kept by dqrdc2, too close to the cut for the quick test
  put(19, () => 0);
  const g = new Matrix(
    N,
    60,
    Float64Array.from({ length: N * 60 }, () => Math.floor(3 * rng.uniform())),
  );
  const k = getBackend().gemm(g, g, { transB: true });
  for (let i = 0; i < N * N; i++) k.data[i]! /= 60;
  for (let i = 0; i < N; i++) k.data[i * N + i]! += 0.05;
  const y = Float64Array.from({ length: N }, (_, i) => 0.5 * x.data[20 * N + i]! + v1[i]! + rng.normal());
  const varList = [
    { name: 'Additive', r: k },
    { name: 'Error', r: Matrix.identity(N) },
  ];
  return { x, cof, y, varList };
}

/** Each model of `res` against its lone fit: R's design for the marker, and mmRotated on the same rotated columns. */
function assertLoneFits(res: MmEstResult, opts: MmEstOptions, x: Matrix, base: Matrix): void {
  const be = getBackend();
  const rot = rotateTwo(opts.varList.map((v) => ({ name: v.name, r: v.r })));
  const uty = be.gemm(rot.u, Matrix.column(Float64Array.from(opts.y)), { transA: true }).data;
  // The rotations mmEst makes: the base once, the markers of a batch with one gemm.
  const ub = be.gemm(rot.u, base, { transA: true });
  const ux = be.gemm(rot.u, x, { transA: true });
  const init = res.nullModel!.sigma2;
  assert.equal(res.models.length, x.cols);
  res.models.forEach((model, j) => {
    const d = buildDesign({ n: N, cofactor: opts.cofactor as Matrix | undefined, marker: x.colView(j, j + 1) });
    assert.deepEqual(model.columnNames, d.columnNames, `columns of model ${j + 1}`);
    assert.deepEqual(model.dropped, d.dropped, `dropped columns of model ${j + 1}`);
    assert.deepEqual(Array.from(model.attr), Array.from(d.attr), `attr of model ${j + 1}`);
    const utx = new Matrix(N, d.x.cols);
    d.source.forEach((s, c) => {
      utx.data.set(s >= 0 ? ub.data.subarray(s * N, (s + 1) * N) : ux.data.subarray(j * N, (j + 1) * N), c * N);
    });
    const lone = mmRotated(uty, utx, rot.eigenvalues, { method: 'reml', init });
    assert.deepEqual(Array.from(model.sigma2), Array.from(lone.sigma2), `sigma2 of model ${j + 1}`);
    assert.deepEqual(Array.from(model.beta), Array.from(lone.beta), `beta of model ${j + 1}`);
    assert.deepEqual(Array.from(model.varBeta.data), Array.from(lone.varBeta.data), `varBeta of model ${j + 1}`);
    assert.equal(model.logLik, lone.logLik, `logLik of model ${j + 1}`);
    assert.equal(model.nbIt, lone.nbIt, `NbIt of model ${j + 1}`);
    assert.equal(model.converged, lone.converged);
  });
}

test('GWAS scan: each model has the design and the bits of its lone fit (aliased and near-cut markers included)', () => {
  const { x, cof, y, varList } = data();
  const ones = new Float64Array(N).fill(1);
  // With cofactors: base = [intercept, V1, V2]; models 4, 8, 12 and 20 lose their marker.
  const withCof: MmEstOptions = { y, x, varList, cofactor: cof, batchSize: 16 };
  const a = mmEst(withCof);
  assertLoneFits(a, withCof, x, new Matrix(N, 3, Float64Array.from([...ones, ...cof.data])));
  for (const j of [3, 7, 11, 19]) assert.deepEqual(a.models[j]!.dropped, ['Xeffect'], `marker ${j + 1} is aliased`);
  assert.deepEqual(a.models[15]!.dropped, [], 'marker 16 is kept (residual 1e-6 of its norm, above the 1e-7 cut)');
  // MMEst's default cofactor: V1 = 1 next to the intercept, dropped by qr().
  const plain: MmEstOptions = { y, x, varList };
  const b = mmEst(plain);
  assertLoneFits(b, plain, x, new Matrix(N, 2, Float64Array.from([...ones, ...ones])));
  assert.deepEqual(b.models[0]!.columnNames, ['(Intercept)', 'Xeffect']);
});

test("GWAS scan: mmEstParallel's workers give mmEst's models exactly", async () => {
  const { x, cof, y, varList } = data();
  const opts: MmEstOptions = { y, x, varList, cofactor: cof, batchSize: 12 };
  const serial = mmEst(opts);
  const parallel = await mmEstParallel({ ...opts, threads: 2 });
  parallel.models.forEach((m, i) => {
    const s = serial.models[i]!;
    assert.deepEqual(Array.from(m.sigma2), Array.from(s.sigma2), `model ${i + 1}`);
    assert.deepEqual(Array.from(m.beta), Array.from(s.beta));
    assert.deepEqual(Array.from(m.varBeta.data), Array.from(s.varBeta.data));
    assert.equal(m.logLik, s.logLik);
    assert.equal(m.nbIt, s.nbIt);
    assert.deepEqual(m.columnNames, s.columnNames);
  });
});

test('GWAS scan: a non-finite marker value fails with its row, serial and on workers', async () => {
  const { x, y, varList } = data();
  const bad = x.clone();
  bad.data[25 * N + 4] = Number.NaN;
  const re = /marker 'Xeffect' has a non-finite value \(NaN\) in row 5/;
  assert.throws(() => mmEst({ y, x: bad, varList }), re);
  await assert.rejects(mmEstParallel({ y, x: bad, varList, threads: 2 }), re);
});

test('planMarkerScan: only markers that enter as one last numeric column', () => {
  const n = 20;
  const cof = { names: ['Trial'], columns: [Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 'a' : 'b'))] };
  const plan = (formula: string | undefined, kind: 'numeric' | 'character' = 'numeric') =>
    planMarkerScan(planDesign({ n, cofactor: cof, formula, markerKind: kind }));
  const ok = plan(undefined);
  assert.ok(ok !== undefined);
  assert.deepEqual(Array.from(ok.kept), [0, 1], 'intercept and TrialTrialb');
  assert.equal(plan('~ Trial + Xeffect + Xeffect:Trial'), undefined, 'an interaction with the marker');
  assert.equal(plan('~ Xeffect + Trial'), undefined, 'the marker before another term');
  assert.equal(plan(undefined, 'character'), undefined, 'a character marker');
});

test('clearlyKept: false for aliased, near-cut, zero and non-finite markers', () => {
  const n = 50;
  const sp = planMarkerScan(planDesign({ n, markerKind: 'numeric' }))!;
  const col = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
  assert.equal(
    clearlyKept(
      sp,
      col((i) => i % 3),
      0,
    ),
    true,
  );
  assert.equal(
    clearlyKept(
      sp,
      col(() => 2),
      0,
    ),
    false,
    'constant: the intercept',
  );
  assert.equal(
    clearlyKept(
      sp,
      col((i) => 2 + 1e-7 * (i % 2)),
      0,
    ),
    false,
    'residual 2.5e-8 of its norm: dqrdc2 decides',
  );
  assert.equal(
    clearlyKept(
      sp,
      col(() => 0),
      0,
    ),
    false,
  );
  assert.equal(
    clearlyKept(
      sp,
      col((i) => (i === 9 ? Number.NaN : 1)),
      0,
    ),
    false,
  );
  // The offset selects a column of a batch.
  const two = new Float64Array(2 * n);
  two.set(
    col((i) => i % 3),
    n,
  );
  assert.equal(clearlyKept(sp, two, 0), false);
  assert.equal(clearlyKept(sp, two, n), true);
});

test('GWAS scan: batches rotated beside the scan keep the order of models and errors', () => {
  const { x, cof, y, varList } = data();
  const opts: MmEstOptions = { y, x, varList, cofactor: cof, batchSize: 12 };
  const whole = mmEst(opts);
  // Markers whose columns are not side by side (copied to the gemm's input) give the same models.
  const copied = mmEst({ ...opts, x: { list: Array.from({ length: M }, (_, j) => x.colView(j, j + 1).clone()) }, xColumnNames: ['Xeffect'] });
  copied.models.forEach((m, i) => {
    const w = whole.models[i]!;
    assert.deepEqual(Array.from(m.beta), Array.from(w.beta), `model ${i + 1}`);
    assert.deepEqual(Array.from(m.sigma2), Array.from(w.sigma2));
    assert.equal(m.nbIt, w.nbIt);
  });
  // A bad marker in the third batch: the first two batches' models come first, then its error.
  const bad = x.clone();
  bad.data[30 * N + 2] = Number.POSITIVE_INFINITY;
  const run = new MmEstRun({ ...opts, x: bad });
  const batches = run.fitBatches(normaliseMarkers(bad, N, {}));
  for (const start of [0, 12]) {
    const b = batches.next();
    assert.equal(b.done, false);
    assert.equal(b.value!.start, start);
    for (const [k, m] of b.value!.models.entries()) assert.deepEqual(Array.from(m.beta), Array.from(whole.models[start + k]!.beta));
  }
  assert.throws(() => batches.next(), /marker 'Xeffect' has a non-finite value \(Infinity\) in row 3/);
});

test("clearlyKept: the one-pass answer is the residual pass's, from far off the cut to just beside it", () => {
  const n = 200;
  const rng = new Rng(31);
  const cof = new Matrix(n, 2, rng.normals(2 * n));
  for (const sp of [planMarkerScan(planDesign({ n, markerKind: 'numeric' }))!, planMarkerScan(planDesign({ n, cofactor: cof, markerKind: 'numeric' }))!]) {
    const { p0, q0 } = sp;
    /** The residual pass alone: ||x - Q0 Q0'x||^2 > CLEARLY_KEPT^2 ||x||^2. */
    const twoPass = (x: Float64Array): boolean => {
      const r = x.slice();
      let xx = 0;
      for (const v of x) xx += v * v;
      for (let k = 0; k < p0; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q0[k * n + i]! * x[i]!;
        for (let i = 0; i < n; i++) r[i]! -= dot * q0[k * n + i]!;
      }
      let rr = 0;
      for (const v of r) rr += v * v;
      return rr > 1e-10 * xx;
    };
    let kept = 0;
    // Markers in the base's span plus a residual of relative size 10^-8 .. 10^0, densest around the cut (1e-5).
    for (let t = 0; t < 400; t++) {
      const e = t < 200 ? -8 + (8 * t) / 200 : -5 + 0.02 * (rng.uniform() - 0.5);
      const x = new Float64Array(n);
      // A unit residual (about: its part in the span is small) and a unit part in the span.
      const noise = rng.normals(n);
      const w = rng.normals(p0);
      const norm = (a: Float64Array) => Math.sqrt(a.reduce((acc, v) => acc + v * v, 0));
      const sn = 10 ** e / norm(noise);
      const sw = 1 / norm(w);
      for (let i = 0; i < n; i++) {
        let v = sn * noise[i]!;
        for (let k = 0; k < p0; k++) v += sw * w[k]! * q0[k * n + i]!;
        x[i] = v;
      }
      const got = clearlyKept(sp, x, 0);
      assert.equal(got, twoPass(x), `p0 = ${p0}, residual 10^${e.toFixed(3)}`);
      if (got) kept++;
    }
    assert.ok(kept > 100 && kept < 300, `both answers are met (${kept} kept of 400)`);
  }
});
