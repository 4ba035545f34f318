// The MM engines of varcomp/ (dense, eigen/rotated, Henderson): against a
// brute-force optimum of the REML/ML likelihood (Fisher scoring on naive
// dense algebra), against each other on both backends, against MM4LMM 3.0.3
// (ex1, ex2, ex3 of its Rd examples, with its iteration path and NbIt), and
// on bad input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DomainError, LmmkitError, Matrix, ShapeError, getBackend, setBackend } from '../../src/node.js';
import type { Backend } from '../../src/linalg/backend.js';
import { Rng } from '../../src/sim/rng.js';
import { mmDense } from '../../src/varcomp/mm-dense.js';
import { mmRotated, rotateTwo } from '../../src/varcomp/mm-eigen.js';
import { mmHenderson } from '../../src/varcomp/mm-henderson.js';
import type { EngineFit, EngineOptions, VarComponent, VarMethod } from '../../src/varcomp/types.js';
import { SHARED, backendsUnderTest, relMaxDiff, sharedTest } from '../support.js';

const LOG_2PI = Math.log(2 * Math.PI);

// ---------------------------------------------------------------------------
// Naive dense reference (test-only; N <= ~80)

/** Row-major dense helpers on number[][] for the brute-force reference. */
function zeros(r: number, c: number): number[][] {
  return Array.from({ length: r }, () => new Array<number>(c).fill(0));
}
function toRows(m: Matrix): number[][] {
  return m.toArray();
}
function mul(a: number[][], b: number[][]): number[][] {
  const r = a.length;
  const k = b.length;
  const c = b[0]!.length;
  const out = zeros(r, c);
  for (let i = 0; i < r; i++)
    for (let l = 0; l < k; l++) {
      const ail = a[i]![l]!;
      if (ail === 0) continue;
      for (let j = 0; j < c; j++) out[i]![j]! += ail * b[l]![j]!;
    }
  return out;
}
function tr(a: number[][]): number[][] {
  return a[0]!.map((_, j) => a.map((row) => row[j]!));
}
/** Inverse and log-determinant of an SPD matrix by Cholesky. */
function spdInv(a: number[][]): { inv: number[][]; logdet: number } {
  const n = a.length;
  const l = zeros(n, n);
  let logdet = 0;
  for (let j = 0; j < n; j++) {
    let s = a[j]![j]!;
    for (let k = 0; k < j; k++) s -= l[j]![k]! ** 2;
    if (!(s > 0)) throw new Error('reference: not SPD');
    l[j]![j] = Math.sqrt(s);
    logdet += Math.log(s);
    for (let i = j + 1; i < n; i++) {
      let t = a[i]![j]!;
      for (let k = 0; k < j; k++) t -= l[i]![k]! * l[j]![k]!;
      l[i]![j] = t / l[j]![j]!;
    }
  }
  const inv = zeros(n, n);
  for (let c = 0; c < n; c++) {
    const z = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= l[i]![k]! * z[k]!;
      z[i] = s / l[i]![i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = z[i]!;
      for (let k = i + 1; k < n; k++) s -= l[k]![i]! * z[k]!;
      z[i] = s / l[i]![i]!;
    }
    for (let i = 0; i < n; i++) inv[i]![c] = z[i]!;
  }
  return { inv, logdet };
}

/** Z R Z' (or R) of a component as rows. */
function fullRows(c: VarComponent): number[][] {
  const r = toRows(c.r);
  return c.z === undefined ? r : mul(mul(toRows(c.z), r), tr(toRows(c.z)));
}

interface RefEval {
  logLik: number;
  score: number[];
  info: number[][];
  beta: number[];
  varBeta: number[][];
}

/** REML/ML log-likelihood (MM4LMM's convention), score and expected information. */
function refEval(y: number[], x: number[][], ks: number[][][], s: number[], method: VarMethod): RefEval {
  const n = y.length;
  const v = zeros(n, n);
  ks.forEach((k, c) => {
    k.forEach((row, i) => {
      row.forEach((val, j) => {
        v[i]![j]! += s[c]! * val;
      });
    });
  });
  const { inv: vi, logdet: ldv } = spdInv(v);
  const vix = mul(vi, x);
  const { inv: xvxi, logdet: ldx } = spdInv(mul(tr(x), vix));
  const beta = mul(
    xvxi,
    mul(
      tr(vix),
      y.map((t) => [t]),
    ),
  ).map((r) => r[0]!);
  // P = V^-1 - V^-1 X (X'V^-1X)^-1 X' V^-1 (REML), V^-1 (ML); P y is the same.
  const a = mul(vix, xvxi);
  const pm = method === 'reml' ? vi.map((row, i) => row.map((val, j) => val - a[i]!.reduce((t, aik, k) => t + aik * vix[j]![k]!, 0))) : vi;
  const r = y.map((t, i) => t - x[i]!.reduce((a, xv, k) => a + xv * beta[k]!, 0));
  const py = mul(
    vi,
    r.map((t) => [t]),
  ).map((q) => q[0]!);
  const yPy = r.reduce((a, t, i) => a + t * py[i]!, 0);
  const logLik = method === 'reml' ? -0.5 * (ldv + ldx + yPy) : -0.5 * (n * LOG_2PI + ldv + yPy);
  const pk = ks.map((k) => mul(pm, k));
  const score = ks.map((k, c) => {
    let trace = 0;
    for (let i = 0; i < n; i++) trace += pk[c]![i]![i]!;
    const kpy = mul(
      k,
      py.map((t) => [t]),
    ).map((q) => q[0]!);
    return -0.5 * trace + 0.5 * py.reduce((a, t, i) => a + t * kpy[i]!, 0);
  });
  const info = ks.map((_, a) =>
    ks.map((__, b) => {
      let t = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t += pk[a]![i]![j]! * pk[b]![j]![i]!;
      return 0.5 * t;
    }),
  );
  return { logLik, score, info, beta, varBeta: xvxi };
}

/** Solves a small dense system by Gaussian elimination with partial pivoting. */
function solveSmall(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[piv]![c]!)) piv = r;
    [m[c], m[piv]] = [m[piv]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  const out = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= m[r]![k]! * out[k]!;
    out[r] = s / m[r]![r]!;
  }
  return out;
}

/** Fisher scoring with step halving to the REML/ML optimum (interior). */
function bruteForce(y: Float64Array, x: Matrix, comps: VarComponent[], method: VarMethod, start: number[]): RefEval & { sigma: number[] } {
  const yy = Array.from(y);
  const xx = toRows(x);
  const ks = comps.map(fullRows);
  let s = start.slice();
  let cur = refEval(yy, xx, ks, s, method);
  for (let it = 0; it < 200; it++) {
    const step = solveSmall(cur.info, cur.score);
    let t = 1;
    let next: number[] = s;
    let ev: RefEval | undefined;
    for (let h = 0; h < 40; h++, t /= 2) {
      next = s.map((v, i) => v + t * step[i]!);
      if (next.every((v) => v > 0)) {
        ev = refEval(yy, xx, ks, next, method);
        if (ev.logLik >= cur.logLik - 1e-12) break;
      }
    }
    if (ev === undefined) throw new Error('reference: no admissible step');
    const moved = Math.max(...next.map((v, i) => Math.abs(v - s[i]!) / Math.abs(v)));
    s = next;
    cur = ev;
    if (moved < 1e-14) break;
  }
  return { ...cur, sigma: s };
}

// ---------------------------------------------------------------------------
// Random problems

function incidence(rng: Rng, n: number, q: number): Matrix {
  const z = new Matrix(n, q);
  for (let i = 0; i < n; i++) z.data[i + (i < q ? i : Math.floor(rng.uniform() * q)) * n] = 1;
  return z;
}

/** A kinship-like SPD matrix G G'/m + 0.05 I from standard normal G (q x m). */
function kinshipLike(rng: Rng, q: number, m: number, be: Backend): Matrix {
  const g = new Matrix(q, m, rng.normals(q * m));
  const k = be.syrk(g, { alpha: 1 / m });
  for (let i = 0; i < q; i++) k.data[i + i * q]! += 0.05;
  return k;
}

/** y = X b + sum_k Z_k u_k + e drawn from the model, with the true variances. */
function simulate(rng: Rng, x: Matrix, comps: VarComponent[], sig: number[], be: Backend): Float64Array {
  const n = x.rows;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = 1 + 0.5 * x.data[i + (x.cols - 1) * n]!;
  comps.forEach((c, k) => {
    const q = c.r.rows;
    const l = be.potrf(c.r);
    const u = be.gemv(l, rng.normals(q));
    const zu = c.z === undefined ? u : be.gemv(c.z, u);
    for (let i = 0; i < n; i++) y[i]! += Math.sqrt(sig[k]!) * zu[i]!;
  });
  return y;
}

function design(rng: Rng, n: number): Matrix {
  const x = new Matrix(n, 2);
  for (let i = 0; i < n; i++) {
    x.data[i] = 1;
    x.data[i + n] = rng.normal();
  }
  return x;
}

interface Problem {
  label: string;
  y: Float64Array;
  x: Matrix;
  comps: VarComponent[];
}

/** Three components with incidence matrices + error, and two (matrix + error) problems. */
function problems(be: Backend): Problem[] {
  const out: Problem[] = [];
  const rng = new Rng(20240601);
  {
    const n = 70;
    const x = design(rng, n);
    const comps: VarComponent[] = [
      { name: 'A', r: kinshipLike(rng, 14, 30, be), z: incidence(rng, n, 14) },
      { name: 'B', r: kinshipLike(rng, 11, 30, be), z: incidence(rng, n, 11) },
      { name: 'Error', r: Matrix.identity(n) },
    ];
    out.push({ label: 'three components with Z', y: simulate(rng, x, comps, [1.5, 1, 0.8], be), x, comps });
  }
  {
    const n = 60;
    const x = design(rng, n);
    const comps: VarComponent[] = [
      { name: 'K', r: kinshipLike(rng, n, 40, be) },
      { name: 'Error', r: Matrix.identity(n) },
    ];
    out.push({ label: 'kinship + error', y: simulate(rng, x, comps, [1.2, 0.6], be), x, comps });
  }
  {
    const n = 50;
    const x = design(rng, n);
    const w = new Matrix(n, n);
    for (let i = 0; i < n; i++) w.data[i + i * n] = 0.5 + rng.uniform();
    const comps: VarComponent[] = [
      { name: 'G', r: kinshipLike(rng, 12, 20, be), z: incidence(rng, n, 12) },
      { name: 'Error', r: w },
    ];
    out.push({ label: "Z K Z' + weighted error", y: simulate(rng, x, comps, [1.4, 0.7], be), x, comps });
  }
  {
    // A non-diagonal error (AR(1) correlation 0.4): Henderson's dense R^-1, rotateTwo's Cholesky path.
    const n = 45;
    const x = design(rng, n);
    const ar = new Matrix(n, n);
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) ar.data[i + j * n] = 0.4 ** Math.abs(i - j);
    const comps: VarComponent[] = [
      { name: 'G', r: kinshipLike(rng, 10, 20, be), z: incidence(rng, n, 10) },
      { name: 'Error', r: ar },
    ];
    out.push({ label: "Z K Z' + AR(1) error", y: simulate(rng, x, comps, [1.3, 0.8], be), x, comps });
  }
  return out;
}

const TIGHT: Omit<EngineOptions, 'method'> = { critVar: 1e-11, critLogLik: 1e-11, maxIter: 20000 };

/** mmRotated on a two-component problem (rotation done here). */
function rotatedFit(be: Backend, pb: Problem, opts: EngineOptions): EngineFit {
  const rot = rotateTwo(pb.comps, be);
  const uty = be.gemv(rot.u, pb.y, { trans: true });
  const utx = be.gemm(rot.u, pb.x, { transA: true });
  return mmRotated(uty, utx, rot.eigenvalues, { ...opts, logDetError: rot.logDetError } as EngineOptions);
}

function withBackend<T>(be: Backend, fn: () => T): T {
  const before = getBackend().name;
  setBackend(be.name);
  try {
    return fn();
  } finally {
    setBackend(before);
  }
}

function varOf(y: Float64Array): number {
  const n = y.length;
  const m = y.reduce((a, b) => a + b, 0) / n;
  return y.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
}

/** Fits a problem with every engine that applies. */
function allEngines(be: Backend, pb: Problem, opts: EngineOptions): { name: string; fit: EngineFit }[] {
  return withBackend(be, () => {
    const fits = [
      { name: 'dense', fit: mmDense(pb.y, pb.x, pb.comps, opts) },
      { name: 'henderson', fit: mmHenderson(pb.y, pb.x, pb.comps, opts) },
    ];
    if (pb.comps.length === 2) {
      const v = varOf(pb.y) / 2;
      fits.push({ name: 'eigen', fit: rotatedFit(be, pb, { ...opts, init: opts.init ?? [v, v] }) });
    }
    return fits;
  });
}

function flat(m: Matrix): number[] {
  return Array.from(m.data);
}

describe('MM engines reach the brute-force optimum', () => {
  const be = getBackend();
  for (const pb of problems(be)) {
    for (const method of ['reml', 'ml'] as VarMethod[]) {
      for (const accelerate of [false, true]) {
        test(`${pb.label}, ${method}${accelerate ? ', SQUAREM' : ''}`, () => {
          const v = varOf(pb.y) / pb.comps.length;
          const ref = bruteForce(
            pb.y,
            pb.x,
            pb.comps,
            method,
            pb.comps.map(() => v),
          );
          for (const { name, fit } of allEngines(be, pb, { method, ...TIGHT, accelerate } as EngineOptions)) {
            assert.ok(fit.converged, `${name}: converged (nbIt ${fit.nbIt})`);
            assert.ok(relMaxDiff(fit.sigma2, ref.sigma) < 1e-6, `${name} sigma2 ${Array.from(fit.sigma2)} vs ${ref.sigma}`);
            assert.ok(relMaxDiff(fit.beta, ref.beta) < 1e-6, `${name} beta ${Array.from(fit.beta)} vs ${ref.beta}`);
            assert.ok(relMaxDiff(flat(fit.varBeta), ref.varBeta.flat()) < 1e-6, `${name} varBeta`);
            assert.ok(Math.abs(fit.logLik - ref.logLik) < 1e-8, `${name} logLik ${fit.logLik} vs ${ref.logLik}`);
            assert.ok(fit.logLik <= ref.logLik + 1e-9, `${name}: logLik above the optimum`);
          }
        });
      }
    }
  }
});

describe('engines agree with each other on every backend', () => {
  for (const be of backendsUnderTest()) {
    for (const pb of problems(be)) {
      for (const method of ['reml', 'ml'] as VarMethod[]) {
        // SQUAREM converges to the rounding level; MM4LMM's own path (the
        // default) stalls earlier on the eigen engine's REML: its
        // log-likelihood safeguard fires on rounding noise once the
        // log-likelihood is flat to ~1e-14, which leaves sigma2 ~1e-7 away.
        for (const [accelerate, tol] of [
          [true, 1e-7],
          [false, 1e-6],
        ] as const) {
          test(`${be.name}: ${pb.label}, ${method}, ${accelerate ? 'SQUAREM' : "MM4LMM's path"}`, () => {
            const fits = allEngines(be, pb, { method, ...TIGHT, accelerate } as EngineOptions);
            const [first, ...rest] = fits;
            for (const { name, fit } of rest) {
              const d = relMaxDiff(fit.sigma2, first!.fit.sigma2);
              assert.ok(d < tol, `${name} vs dense sigma2: ${d}`);
              assert.ok(relMaxDiff(fit.beta, first!.fit.beta) < tol, `${name} vs dense beta`);
              assert.ok(relMaxDiff(flat(fit.varBeta), flat(first!.fit.varBeta)) < tol, `${name} vs dense varBeta`);
              assert.ok(Math.abs(fit.logLik - first!.fit.logLik) < 1e-9, `${name} vs dense logLik`);
            }
          });
        }
      }
      test(`${be.name}: ${pb.label}, Henderson = dense iterate by iterate (MM4LMM's path)`, () => {
        if (pb.comps.length < 3) return;
        for (const method of ['reml', 'ml'] as VarMethod[]) {
          const [d, h] = allEngines(be, pb, { method });
          assert.equal(h!.fit.nbIt, d!.fit.nbIt, `${method}: nbIt`);
          assert.ok(relMaxDiff(h!.fit.sigma2, d!.fit.sigma2) < 1e-9, `${method}: sigma2`);
          assert.ok(Math.abs(h!.fit.logLik - d!.fit.logLik) < 1e-9, `${method}: logLik`);
        }
      });
    }
  }
});

describe('one component: the closed form', () => {
  test('V = sigma2 K matches the brute-force optimum, REML and ML', () => {
    const be = getBackend();
    const rng = new Rng(7);
    const n = 40;
    const x = design(rng, n);
    const comp: VarComponent = { name: 'K', r: kinshipLike(rng, n, 60, be) };
    const y = simulate(rng, x, [comp], [2], be);
    for (const method of ['reml', 'ml'] as VarMethod[]) {
      const ref = bruteForce(y, x, [comp], method, [1]);
      for (const fit of [mmDense(y, x, [comp], { method }), mmHenderson(y, x, [comp], { method })]) {
        assert.ok(relMaxDiff(fit.sigma2, ref.sigma) < 1e-10, `${method} sigma2`);
        assert.ok(relMaxDiff(fit.beta, ref.beta) < 1e-10, `${method} beta`);
        assert.ok(relMaxDiff(flat(fit.varBeta), ref.varBeta.flat()) < 1e-10, `${method} varBeta`);
        assert.ok(Math.abs(fit.logLik - ref.logLik) < 1e-9, `${method} logLik`);
      }
    }
  });
});

// ---------------------------------------------------------------------------
// MM4LMM parity

const DATA = 'data/mm4lmm/';
const REFS = 'refs/mm4lmm/';

interface RefModel {
  Beta: number[];
  Sigma2: number[];
  VarBeta: number[][];
  LogLik: number;
  NbIt: number;
  BetaNames: string[];
}

function refModels(name: string): RefModel[] {
  return (JSON.parse(readFileSync(`${SHARED + REFS + name}.json`, 'utf8')) as { result: { models: RefModel[] } }).result.models;
}

function readCsv(rel: string): { header: string[]; rows: string[][] } {
  const unq = (s: string) => (s.startsWith('"') ? s.slice(1, -1) : s);
  const lines = readFileSync(SHARED + rel, 'utf8')
    .trim()
    .split('\n');
  return { header: lines[0]!.split(',').map(unq), rows: lines.slice(1).map((l) => l.split(',').map(unq)) };
}

function readKinship(rel: string): { names: string[]; m: Matrix } {
  const t = readCsv(rel);
  const q = t.rows.length;
  const m = new Matrix(q, q);
  t.rows.forEach((r, i) => {
    r.slice(1).forEach((v, j) => {
      m.data[i + j * q] = Number(v);
    });
  });
  return { names: t.rows.map((r) => r[0]!), m };
}

function incidenceFromCodes(codes: string[], names: string[]): Matrix {
  const n = codes.length;
  const z = new Matrix(n, names.length);
  codes.forEach((c, i) => {
    const j = names.indexOf(c);
    assert.ok(j >= 0, `code ${c} is not a kinship row name`);
    z.data[i + j * n] = 1;
  });
  return z;
}

/** Example 1 of MMEst: Trait ~ Trial, Flint (Zf KinF Zf'), Dent (Zd KinD Zd'), Error. */
function ex1() {
  const data = readCsv(`${DATA}vc_data.csv`);
  const n = data.rows.length;
  const y = Float64Array.from(data.rows, (r) => Number(r[4]));
  const trial2 = data.rows.map((r) => (r[0] === 'Trial2' ? 1 : 0));
  const x = new Matrix(n, 2);
  for (let i = 0; i < n; i++) {
    x.data[i] = 1;
    x.data[i + n] = trial2[i]!;
  }
  const kf = readKinship(`${DATA}vc_kinship_flint.csv`);
  const kd = readKinship(`${DATA}vc_kinship_dent.csv`);
  const zf = incidenceFromCodes(
    data.rows.map((r) => r[3]!),
    kf.names,
  );
  const zd = incidenceFromCodes(
    data.rows.map((r) => r[2]!),
    kd.names,
  );
  const comps: VarComponent[] = [
    { name: 'Flint', r: kf.m, z: zf },
    { name: 'Dent', r: kd.m, z: zd },
    { name: 'Error', r: Matrix.identity(n), z: Matrix.identity(n) }, // ZList's diag(1, N), as MMEst's example
  ];
  const markers = readCsv(`${DATA}vc_markers.csv`);
  return { n, y, x, trial2, comps, kf, kd, zf, zd, markers };
}

/** Example 3: QTL detection, Additive (Kinship) + Error, one model per SNP. */
function ex3() {
  const ph = readCsv(`${DATA}qtl_phenotype.csv`);
  const y = Float64Array.from(ph.rows, (r) => Number(r[1]));
  const n = y.length;
  const k = readKinship(`${DATA}qtl_kinship.csv`);
  const geno = readCsv(`${DATA}qtl_genotype.csv`);
  const comps: VarComponent[] = [
    { name: 'Additive', r: k.m },
    { name: 'Error', r: Matrix.identity(n) },
  ];
  return { n, y, comps, geno };
}

interface Worst {
  sigma2: number;
  beta: number;
  varBeta: number;
  logLik: number;
  nbItMismatches: number;
}

function compare(fit: EngineFit, ref: RefModel, what: string, worst: Worst): void {
  const s = relMaxDiff(fit.sigma2, ref.Sigma2);
  const b = relMaxDiff(fit.beta, ref.Beta);
  const vb = relMaxDiff(flat(fit.varBeta), ref.VarBeta.flat());
  const dl = fit.logLik - ref.LogLik;
  worst.sigma2 = Math.max(worst.sigma2, s);
  worst.beta = Math.max(worst.beta, b);
  worst.varBeta = Math.max(worst.varBeta, vb);
  worst.logLik = Math.max(worst.logLik, Math.abs(dl));
  if (fit.nbIt !== ref.NbIt) worst.nbItMismatches++;
  // The brief's floor (MM4LMM stops at its own tolerance) ...
  assert.ok(s < 1e-3 && b < 1e-3 && vb < 1e-3, `${what}: sigma2 ${s}, beta ${b}, varBeta ${vb}`);
  assert.ok(dl >= -1e-6, `${what}: logLik ${fit.logLik} below MM4LMM's ${ref.LogLik}`);
  // ... and what we actually achieve: MM4LMM's iteration path, iterate by iterate.
  assert.equal(fit.nbIt, ref.NbIt, `${what}: NbIt`);
  assert.ok(s < 1e-8 && b < 1e-8 && vb < 1e-8 && Math.abs(dl) < 1e-8, `${what}: sigma2 ${s}, beta ${b}, varBeta ${vb}, logLik ${dl}`);
}

function newWorst(): Worst {
  return { sigma2: 0, beta: 0, varBeta: 0, logLik: 0, nbItMismatches: 0 };
}

function report(t: { diagnostic: (s: string) => void }, w: Worst): void {
  t.diagnostic(
    `worst relative difference: sigma2 ${w.sigma2.toExponential(2)}, beta ${w.beta.toExponential(2)}, varBeta ${w.varBeta.toExponential(2)}; |logLik diff| ${w.logLik.toExponential(2)}; NbIt mismatches ${w.nbItMismatches}`,
  );
}

const EX1_FILES = [`${DATA}vc_data.csv`, `${DATA}vc_kinship_flint.csv`, `${DATA}vc_kinship_dent.csv`];

describe('MM4LMM parity', () => {
  for (const be of backendsUnderTest()) {
    sharedTest(`${be.name}: ex1 REML, Henderson on and off (MMEst defaults)`, [...EX1_FILES, `${REFS}ex1_vc_reml.json`], (t) => {
      withBackend(be, () => {
        const e = ex1();
        const w = newWorst();
        compare(mmHenderson(e.y, e.x, e.comps, { method: 'reml' }), refModels('ex1_vc_reml_henderson_true')[0]!, 'Henderson', w);
        compare(mmHenderson(e.y, e.x, e.comps, { method: 'reml' }), refModels('ex1_vc_reml')[0]!, 'Henderson (default)', w);
        compare(mmDense(e.y, e.x, e.comps, { method: 'reml' }), refModels('ex1_vc_reml_henderson_false')[0]!, 'dense', w);
        compare(mmDense(e.y, e.x, e.comps, { method: 'reml' }), refModels('ex1_vc_reml_formula')[0]!, 'dense (formula)', w);
        report(t, w);
      });
    });

    sharedTest(`${be.name}: ex1 ML (dense; Henderson ML follows the same path)`, [...EX1_FILES, `${REFS}ex1_vc_ml.json`], (t) => {
      withBackend(be, () => {
        const e = ex1();
        const w = newWorst();
        compare(mmDense(e.y, e.x, e.comps, { method: 'ml' }), refModels('ex1_vc_ml')[0]!, 'dense ML', w);
        compare(mmHenderson(e.y, e.x, e.comps, { method: 'ml' }), refModels('ex1_vc_ml_formula')[0]!, 'Henderson ML', w);
        report(t, w);
      });
    });

    for (const method of ['reml', 'ml'] as VarMethod[]) {
      const files = [`${DATA}qtl_phenotype.csv`, `${DATA}qtl_kinship.csv`, `${DATA}qtl_genotype.csv`, `${REFS}ex3_qtl_gwas_${method}.json`];
      sharedTest(`${be.name}: ex3 null model and 10 SNP models, ${method}, CritVar 1e-4 (eigen engine)`, files, (t) => {
        const e = ex3();
        const rot = rotateTwo(e.comps, be);
        const uty = be.gemv(rot.u, e.y, { trans: true });
        const v = varOf(e.y) / 2;
        const ones = new Matrix(e.n, 1, new Float64Array(e.n).fill(1));
        const w = newWorst();
        const opts = { method, critVar: 1e-4 };
        const nul = mmRotated(uty, be.gemm(rot.u, ones, { transA: true }), rot.eigenvalues, { ...opts, init: [v, v] });
        compare(nul, refModels(`ex3_qtl_nullmodel_${method}`)[0]!, 'null model', w);
        const refs = refModels(`ex3_qtl_gwas_${method}`);
        const g = new Matrix(e.n, 10);
        e.geno.rows.forEach((r, i) => {
          r.slice(1).forEach((val, j) => {
            g.data[i + j * e.n] = Number(val);
          });
        });
        const ug = be.gemm(rot.u, g, { transA: true });
        const utx = new Matrix(e.n, 2);
        utx.data.set(be.gemm(rot.u, ones, { transA: true }).data);
        refs.forEach((ref, j) => {
          utx.data.set(ug.col(j), e.n);
          compare(mmRotated(uty, utx, rot.eigenvalues, { ...opts, init: nul.sigma2 }), ref, `SNP${j + 1}`, w);
        });
        report(t, w);
      });
    }
  }
  sharedTest(
    `${getBackend().name}: ex2 marker x trial models (20 markers, null model first; default backend only)`,
    [...EX1_FILES, `${DATA}vc_markers.csv`, `${REFS}ex2_vc_markers_interaction_reml.json`],
    (t) => {
      const e = ex1();
      const w = newWorst();
      const cases: [string, VarMethod, boolean][] = [
        ['ex2_vc_markers_interaction_reml_henderson_true', 'reml', true],
        ['ex2_vc_markers_interaction_reml_henderson_false', 'reml', false],
        ['ex2_vc_markers_interaction_ml', 'ml', false],
      ];
      for (const [name, method, hen] of cases) {
        const engine = hen ? mmHenderson : mmDense;
        const nul = engine(e.y, e.x, e.comps, { method });
        const refs = refModels(name);
        refs.forEach((ref, j) => {
          // (Intercept), TrialTrial2, Xeffect11, TrialTrial2:Xeffect11, as model.matrix orders them.
          assert.equal(ref.Beta.length, 4, `${name} marker ${j + 1}: full rank`);
          const m = e.markers.rows.map((r) => (r[j + 1] === '11' ? 1 : 0));
          const x = new Matrix(e.n, 4);
          for (let i = 0; i < e.n; i++) {
            x.data[i] = 1;
            x.data[i + e.n] = e.trial2[i]!;
            x.data[i + 2 * e.n] = m[i]!;
            x.data[i + 3 * e.n] = e.trial2[i]! * m[i]!;
          }
          compare(engine(e.y, x, e.comps, { method, init: nul.sigma2 }), ref, `${name} marker ${j + 1}`, w);
        });
      }
      report(t, w);
    },
  );
});

// ---------------------------------------------------------------------------
// Bad input

describe('bad input gives typed errors', () => {
  const be = getBackend();
  const rng = new Rng(3);
  const n = 20;
  const x = design(rng, n);
  const k = kinshipLike(rng, 6, 10, be);
  const z = incidence(rng, n, 6);
  const good: VarComponent[] = [
    { name: 'G', r: k, z },
    { name: 'Error', r: Matrix.identity(n) },
  ];
  const y = simulate(rng, x, good, [1, 1], be);
  const engines = [
    ['mmDense', mmDense],
    ['mmHenderson', mmHenderson],
  ] as const;

  for (const [name, engine] of engines) {
    test(`${name}: Z and R of different sizes`, () => {
      const bad: VarComponent[] = [{ name: 'G', r: kinshipLike(rng, 5, 10, be), z }, good[1]!];
      assert.throws(
        () => engine(y, x, bad, { method: 'reml' }),
        (e: unknown) =>
          e instanceof ShapeError && /Incompatible dimensions between Zlist and VarList/.test(e.message) && /20x6/.test(e.message) && /5x5/.test(e.message),
      );
      const badZ: VarComponent[] = [{ name: 'G', r: k, z: new Matrix(n - 1, 6) }, good[1]!];
      assert.throws(
        () => engine(y, x, badZ, { method: 'reml' }),
        (e: unknown) => e instanceof ShapeError && /between Y and ZList/.test(e.message),
      );
      const badR: VarComponent[] = [{ name: 'G', r: k }, good[1]!];
      assert.throws(
        () => engine(y, x, badR, { method: 'reml' }),
        (e: unknown) => e instanceof ShapeError && /between Y and VarList/.test(e.message),
      );
    });
    test(`${name}: init of the wrong length or not positive`, () => {
      assert.throws(
        () => engine(y, x, good, { method: 'reml', init: [1, 1, 1] }),
        (e: unknown) => e instanceof ShapeError && /The length of Init and the number of variance are not compatible/.test(e.message),
      );
      assert.throws(() => engine(y, x, good, { method: 'ml', init: [1, 0] }), DomainError);
    });
    test(`${name}: non-symmetric or non-finite R`, () => {
      const ns = k.clone();
      ns.data[1] = ns.data[1]! + 0.1;
      assert.throws(
        () => engine(y, x, [{ name: 'G', r: ns, z }, good[1]!], { method: 'reml' }),
        (e: unknown) => e instanceof LmmkitError && e.code === 'BAD_INPUT' && /'G'.*not symmetric/.test(e.message),
      );
      const nf = k.clone();
      nf.data[7] = NaN;
      assert.throws(
        () => engine(y, x, [{ name: 'G', r: nf, z }, good[1]!], { method: 'reml' }),
        (e: unknown) => e instanceof LmmkitError && e.code === 'BAD_INPUT' && /non-finite/.test(e.message),
      );
    });
    test(`${name}: NaN in y says how many and where`, () => {
      const yb = y.slice();
      yb[3] = NaN;
      yb[11] = Infinity;
      assert.throws(
        () => engine(yb, x, good, { method: 'reml' }),
        (e: unknown) => e instanceof LmmkitError && e.code === 'BAD_INPUT' && /y has 2 missing or non-finite values \(at rows 4, 12/.test(e.message),
      );
    });
    test(`${name}: bad options`, () => {
      assert.throws(
        () => engine(y, x, good, { method: 'REML' as VarMethod }),
        (e: unknown) => e instanceof LmmkitError && e.code === 'BAD_ARGUMENT',
      );
      assert.throws(
        () => engine(y, x, good, { method: 'reml', maxIter: 0 }),
        (e: unknown) => e instanceof LmmkitError && e.code === 'BAD_ARGUMENT',
      );
      assert.throws(() => engine(y, new Matrix(n - 2, 2), good, { method: 'reml' }), ShapeError);
    });
  }

  test('mmRotated: shapes, NaN in uty or utx', () => {
    const rot = rotateTwo([{ name: 'G', r: k, z }, good[1]!], be);
    const uty = be.gemv(rot.u, y, { trans: true });
    const utx = be.gemm(rot.u, x, { transA: true });
    assert.throws(() => mmRotated(uty.subarray(1), utx, rot.eigenvalues, { method: 'reml' }), ShapeError);
    assert.throws(() => mmRotated(uty, utx, rot.eigenvalues, { method: 'reml', init: [1] }), ShapeError);
    const yb = uty.slice();
    yb[5] = NaN;
    assert.throws(
      () => mmRotated(yb, utx, rot.eigenvalues, { method: 'reml' }),
      (e: unknown) => e instanceof LmmkitError && e.code === 'BAD_INPUT' && /uty has 1 missing or non-finite value \(at row 6/.test(e.message),
    );
    const xb = utx.clone();
    xb.data[n + 2] = NaN;
    assert.throws(
      () => mmRotated(uty, xb, rot.eigenvalues, { method: 'ml' }),
      (e: unknown) => e instanceof LmmkitError && e.code === 'BAD_INPUT' && /utx has a non-finite value at row 3, column 2/.test(e.message),
    );
  });

  test('rotateTwo: exactly two components', () => {
    assert.throws(() => rotateTwo([good[0]!], be), ShapeError);
  });
});
