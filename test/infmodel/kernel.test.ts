// The streaming kernel of the infinitesimal model (issue 18) against a
// dense oracle: Z from the reader's own standardised batches, K = Z Z^T / M
// formed explicitly, P = I - C (C^T C)^-1 C^T from a Cholesky solve.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { GenotypeBatch, GenotypeSource } from '../../src/data/genotypes.js';
import type { BedReader } from '../../src/data/plink/bed.js';
import { DesignError, InputError } from '../../src/errors.js';
import { solveShifted } from '../../src/infmodel/cg.js';
import { createGrmOperator, grmBlockSize } from '../../src/infmodel/grm-operator.js';
import { packModelSnps, type PackedModelSnps } from '../../src/infmodel/model-snps.js';
import { topEigenpairs } from '../../src/infmodel/top-eigen.js';
import type { GrmOperator, ModelSnps } from '../../src/infmodel/types.js';
import type { Backend } from '../../src/linalg/backend.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { getBackend } from '../../src/linalg/select.js';
import { openBed, writeBed } from '../../src/node.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { Rng } from '../../src/sim/rng.js';
import { backendsUnderTest } from '../support.js';

const N_FILE = 300;
const S = 2000;
let dir: string;
let bed: BedReader;
/** 290 of the 300 samples, shuffled: the model's rows are not the file's. */
let samples: Int32Array;
let snps: PackedModelSnps;
/** Dense N x M standardised model SNPs from `batches({ standardize: true })`. */
let z: Matrix;
/** First model SNP of each chromosome group, then M. */
let groupStart: number[];
let covariates: Matrix;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmmkit-infkernel-'));
  const sim = simulateGwas({ samples: N_FILE, variants: S, chromosomes: 4, seed: 18, causal: 5, populations: 4, fst: 0.1 });
  const rng = new Rng(5);
  const d = sim.dosages.data;
  for (let i = 0; i < d.length; i++) if (rng.uniform() < 0.02) d[i] = Number.NaN;
  sim.dosages.col(10).fill(0); // constant
  sim.dosages.col(700).fill(Number.NaN); // all missing
  await writeBed(join(dir, 's'), sim.dosages, sim.samples, sim.variants);
  bed = await openBed(join(dir, 's'));
  const order = Array.from({ length: N_FILE }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  samples = Int32Array.from(order.slice(0, 290));
  snps = await packModelSnps(bed, { samples, batchSize: 300 });
  const cols: Float64Array[] = [];
  for await (const b of bed.batches({ samples, standardize: true, size: 256 })) {
    for (let j = 0; j < b.dosages.cols; j++) if (b.stats!.sd[j]! > 0) cols.push(b.dosages.col(j).slice());
  }
  const n = samples.length;
  z = new Matrix(n, cols.length);
  for (const [j, c] of cols.entries()) z.data.set(c, j * n);
  groupStart = [0];
  for (const c of snps.countByGroup) groupStart.push(groupStart.at(-1)! + c);
  covariates = new Matrix(n, 3);
  for (let i = 0; i < n; i++) {
    covariates.data[i] = 1;
    covariates.data[n + i] = rng.normal();
    covariates.data[2 * n + i] = sim.population[samples[i]!] === 0 ? 1 : 0;
  }
});

after(async () => {
  await bed.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Dense K_{-g} = Z_{-g} Z_{-g}^T / M_{-g} (g = -1: all of Z). */
function denseK(be: Backend, g: number): Matrix {
  const m = z.cols;
  const [s, e] = g < 0 ? [m, m] : [groupStart[g]!, groupStart[g + 1]!];
  const k = be.syrk(z.colView(0, s));
  if (e < m) be.syrk(z.colView(e, m), { beta: 1, c: k });
  const scale = 1 / (m - (e - s));
  for (let i = 0; i < k.data.length; i++) k.data[i]! *= scale;
  return k;
}

/** Dense P = I - C (C^T C)^-1 C^T. */
function denseP(be: Backend, c: Matrix): Matrix {
  const l = be.potrf(be.gemm(c, c, { transA: true }));
  const h = be.gemm(c, be.potrs(l, c.transpose()));
  const p = Matrix.identity(c.rows);
  for (let i = 0; i < p.data.length; i++) p.data[i]! -= h.data[i]!;
  return p;
}

/** P K_{-g} P + delta I, dense. */
function denseA(be: Backend, p: Matrix, g: number, delta: number): Matrix {
  const a = be.gemm(p, be.gemm(denseK(be, g), p));
  for (let i = 0; i < a.rows; i++) a.data[i + i * a.rows]! += delta;
  return a;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

function relErr(got: Matrix, want: Matrix): number {
  assert.equal(got.shape, want.shape);
  const diff = got.data.map((v, i) => v - want.data[i]!);
  return maxAbs(diff) / maxAbs(want.data);
}

function randomBlock(seed: number, r: number, c: number): Matrix {
  return new Matrix(r, c, new Rng(seed).normals(r * c));
}

test('packModelSnps: groups, skipped variants and decode equal the reader standardised batches to 1e-12', async () => {
  assert.equal(snps.n, 290);
  assert.equal(snps.skipped, 2);
  assert.equal(snps.rounded, 0);
  assert.equal(snps.m, S - 2);
  assert.deepEqual(snps.chromNames, ['1', '2', '3', '4']);
  assert.deepEqual([...snps.countByGroup], [499, 499, 500, 500]);
  assert.equal(snps.fileIndex[10], 11);
  assert.equal(snps.fileIndex[698], 699);
  assert.equal(snps.fileIndex[699], 701);
  for (let j = 1; j < snps.m; j++) assert.ok(snps.group[j]! >= snps.group[j - 1]!);
  assert.equal(snps.groupOf('3'), 2);
  assert.equal(snps.groupOf('X'), -1);
  assert.equal(z.cols, snps.m);
  const out = new Matrix(snps.n, snps.m);
  snps.decode(0, snps.m, out);
  assert.ok(maxAbs(out.data.map((v, i) => v - z.data[i]!)) < 1e-12);
  // A range into a wider buffer: only the first columns are written.
  const part = new Matrix(snps.n, 10, new Float64Array(snps.n * 10).fill(7));
  snps.decode(995, 998, part);
  assert.ok(maxAbs(part.colView(0, 3).data.map((v, i) => v - z.data[995 * snps.n + i]!)) < 1e-12);
  assert.equal(part.get(0, 3), 7);
  assert.ok(snps.bytes >= snps.m * Math.ceil(snps.n / 4));
  assert.ok(snps.bytes < snps.m * (snps.n / 4 + 100));
});

test('packModelSnps: refuses a file whose chromosomes are not contiguous, naming the file and the chromosome', async () => {
  const sim = simulateGwas({ samples: 20, variants: 30, chromosomes: 3, seed: 2 });
  const chrom = sim.variants.chrom.slice();
  chrom[25] = '1';
  const prefix = join(dir, 'mixed');
  await writeBed(prefix, sim.dosages, sim.samples, { ...sim.variants, chrom });
  const src = await openBed(prefix);
  try {
    await assert.rejects(packModelSnps(src, { samples: Int32Array.from({ length: 20 }, (_, i) => i) }), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /mixed\.bed/);
      assert.match(err.message, /chromosome 1 is not contiguous/);
      return true;
    });
  } finally {
    await src.close();
  }
});

test('packModelSnps: non-integer dosages are rounded to calls and standardised as rounded', async () => {
  const n = 8;
  const cols = [
    [0, 1, 2, 0.2, 1.6, Number.NaN, 2, 0], // rounded: 0 1 2 0 2 NaN 2 0
    [0, 1, 2, 1, 1, 0, 2, 0], // calls already
    [0.1, 0.2, 0, 0, 0.4, 0, 0, 0], // rounds to all 0: skipped
  ];
  const dosages = new Matrix(n, 3, Float64Array.from(cols.flat()));
  const source: GenotypeSource = {
    path: 'fake.dosages',
    samples: { fid: [], iid: Array.from({ length: n }, (_, i) => `s${i}`) },
    variants: { chrom: ['1', '1', '2'], id: ['a', 'b', 'c'], cm: new Float64Array(3), pos: new Float64Array(3), a1: ['A', 'A', 'A'], a2: ['C', 'C', 'C'] },
    async *batches(): AsyncGenerator<GenotypeBatch> {
      yield { dosages: dosages.clone(), variants: this.variants, indices: Int32Array.from([0, 1, 2]) };
    },
    async close() {},
  };
  const p = await packModelSnps(source, { samples: Int32Array.from({ length: n }, (_, i) => i) });
  assert.equal(p.m, 2);
  assert.equal(p.rounded, 2);
  assert.equal(p.skipped, 1);
  assert.deepEqual(p.chromNames, ['1']);
  const out = new Matrix(n, 2);
  p.decode(0, 2, out);
  const calls = [0, 1, 2, 0, 2, Number.NaN, 2, 0];
  const obs = calls.filter((v) => !Number.isNaN(v));
  const mu = obs.reduce((s, v) => s + v, 0) / obs.length;
  const sd = Math.sqrt(obs.reduce((s, v) => s + (v - mu) ** 2, 0) / n);
  for (const [i, v] of calls.entries()) assert.ok(Math.abs(out.get(i, 0) - (Number.isNaN(v) ? 0 : (v - mu) / sd)) < 1e-14);
  assert.ok(Math.abs(p.mean[0]! - mu) < 1e-15);
});

for (const be of backendsUnderTest()) {
  test(`createGrmOperator (${be.name}): apply with LOCO masks and covariates equals P K_-g P v, packed and cached`, async () => {
    const n = snps.n;
    const p = denseP(be, covariates);
    const leaveOut = Int32Array.from([-1, 0, 1, 2, 3, 0, -1]);
    const v = randomBlock(3, n, leaveOut.length);
    const want = new Matrix(n, leaveOut.length);
    for (let r = 0; r < leaveOut.length; r++) {
      const col = be.gemm(p, be.gemm(denseK(be, leaveOut[r]!), be.gemm(p, new Matrix(n, 1, v.col(r).slice()))));
      want.data.set(col.data, r * n);
    }
    for (const opts of [{}, { blockSize: 64 }, { blockSize: 500 }, { cacheBytes: 1e9 }]) {
      const op = createGrmOperator(snps, { covariates, backend: be, ...opts });
      assert.equal(op.cached, opts.cacheBytes !== undefined);
      const out = new Matrix(n, leaveOut.length);
      const vCopy = v.clone();
      op.apply(v, leaveOut, out);
      assert.deepEqual(v.data, vCopy.data, 'apply leaves v alone');
      assert.ok(relErr(out, want) < 1e-11, `${JSON.stringify(opts)}: ${relErr(out, want)}`);
      // Every column leaving out chromosome 2: its blocks are skipped, the rest still counts.
      const one = new Matrix(n, 2);
      op.apply(v.colView(0, 2), Int32Array.from([1, 1]), one);
      const k1 = be.gemm(p, be.gemm(denseK(be, 1), be.gemm(p, v.colView(0, 2))));
      assert.ok(relErr(one, k1) < 1e-11);
      assert.equal(op.passes, 2);
      // Without covariates: no projection.
      const bare = createGrmOperator(snps, { backend: be, ...opts });
      assert.equal(bare.q, undefined);
      const o2 = new Matrix(n, 1);
      bare.apply(v.colView(0, 1), Int32Array.from([-1]), o2);
      assert.ok(relErr(o2, be.gemm(denseK(be, -1), v.colView(0, 1))) < 1e-11);
    }
  });
}

test('grmBlockSize: 4R within 2 MiB to 32 MiB of decoded Z, a multiple of 8', async () => {
  assert.equal(grmBlockSize(5000, 1), 48);
  assert.equal(grmBlockSize(5000, 64), 256);
  assert.equal(grmBlockSize(5000, 10_000), 832);
  assert.equal(grmBlockSize(500_000, 64), 8);
  assert.equal(grmBlockSize(290, 1), 896);
});

test('createGrmOperator: zt and z against Z^T P v and P Z b', async () => {
  const be = getBackend();
  const n = snps.n;
  const m = snps.m;
  const p = denseP(be, covariates);
  const v = randomBlock(4, n, 3);
  const b = randomBlock(5, m, 3);
  const wantZt = be.gemm(z, be.gemm(p, v), { transA: true });
  const wantZ = be.gemm(p, be.gemm(z, b));
  for (const opts of [{ blockSize: 96 }, { cacheBytes: 1e9 }]) {
    const op = createGrmOperator(snps, { covariates, ...opts });
    const zt = new Matrix(m, 3);
    op.zt(v, zt);
    assert.ok(relErr(zt, wantZt) < 1e-11);
    const zb = new Matrix(n, 3);
    op.z(b, zb);
    assert.ok(relErr(zb, wantZ) < 1e-11);
    assert.equal(op.passes, 2);
    // project: P v and idempotent.
    const pv = v.clone();
    op.project(pv);
    assert.ok(relErr(pv, be.gemm(p, v)) < 1e-12);
  }
});

test('createGrmOperator: refuses rank-deficient covariates with a clear message', async () => {
  const n = snps.n;
  const c = new Matrix(n, 3);
  for (let i = 0; i < n; i++) {
    c.data[i] = 1;
    c.data[n + i] = i % 2;
    c.data[2 * n + i] = 3 - 2 * (i % 2);
  }
  assert.throws(
    () => createGrmOperator(snps, { covariates: c }),
    (err: unknown) => err instanceof DesignError && err.code === 'SINGULAR_COVARIATES' && /column 3 .*linear combination/.test(err.message),
  );
});

test('solveShifted: CG per column with its own LOCO group matches a dense Cholesky solve', async () => {
  const be = getBackend();
  const n = snps.n;
  const p = denseP(be, covariates);
  const delta = 0.7;
  const leaveOut = Int32Array.from([-1, 0, 1, 2, 3]);
  const b = randomBlock(6, n, leaveOut.length);
  b.col(4).fill(0);
  const op = createGrmOperator(snps, { covariates, blockSize: 128 });
  for (const tol of [5e-4, 1e-9]) {
    const before = op.passes;
    const res = await solveShifted(op, b, delta, leaveOut, { tol });
    assert.ok(res.converged);
    assert.equal(op.passes - before, res.iterations);
    assert.ok(res.iterations < 60, `${res.iterations} passes`);
    assert.equal(res.relResidual[4], 0);
    assert.deepEqual([...res.x.col(4)], new Array(n).fill(0));
    for (let r = 0; r < 4; r++) {
      const a = denseA(be, p, leaveOut[r]!, delta);
      const pb = be.gemm(p, new Matrix(n, 1, b.col(r).slice()));
      const x = new Matrix(n, 1, res.x.col(r).slice());
      const resid = be.gemm(a, x);
      for (let i = 0; i < n; i++) resid.data[i] = pb.data[i]! - resid.data[i]!;
      const rel = Math.hypot(...resid.data) / Math.hypot(...pb.data);
      assert.ok(rel < tol * 1.01, `column ${r}: true residual ${rel}`);
      assert.ok(Math.abs(rel - res.relResidual[r]!) < 1e-3 * tol + 1e-12);
      const exact = be.potrs(be.potrf(a), pb);
      const err = Math.hypot(...x.data.map((v, i) => v - exact.data[i]!)) / Math.hypot(...exact.data);
      assert.ok(err < tol / delta, `column ${r}: error ${err}`);
    }
  }
  // A warm start at the solution converges at once; too few passes say so.
  const exact = await solveShifted(op, b, delta, leaveOut, { tol: 1e-10 });
  const warm = await solveShifted(op, b, delta, leaveOut, { tol: 1e-6, x0: exact.x });
  assert.ok(warm.converged);
  assert.equal(warm.iterations, 1);
  const short = await solveShifted(op, b, delta, leaveOut, { tol: 1e-10, maxIter: 2 });
  assert.equal(short.converged, false);
  assert.equal(short.iterations, 2);
  assert.ok(short.relResidual[0]! > 1e-10);
});

test('topEigenpairs: the leading eigenvalues and vectors of P K P equal the full eigendecomposition', async () => {
  const be = getBackend();
  const p = denseP(be, covariates);
  const a = be.gemm(p, be.gemm(denseK(be, -1), p));
  const full = be.syevd(a);
  const n = snps.n;
  const op = createGrmOperator(snps, { covariates });
  // Four populations, one indicator among the covariates: two structure
  // eigenvalues (about 13) stand far above the Marchenko-Pastur bulk (< 1.7),
  // where the next ones sit in a near-continuum and converge slowly.
  const k = 4;
  const res = await topEigenpairs(op, k, { seed: 3, oversample: 10, iterations: 4 });
  assert.equal(res.passes, 6);
  assert.equal(op.passes, 6);
  assert.ok(full.values[n - 2]! > 5 * full.values[n - 3]!);
  for (let i = 0; i < k; i++) {
    const want = full.values[n - 1 - i]!;
    const rel = Math.abs(res.values[i]! - want) / want;
    if (i < 2) assert.ok(rel < 1e-6, `value ${i}: ${res.values[i]} vs ${want}`);
    // In the bulk, Ritz values interlace: never above the true value.
    else assert.ok(res.values[i]! <= want * (1 + 1e-12) && res.values[i]! > 0.8 * want, `value ${i}: ${res.values[i]} vs ${want}`);
    if (i > 0) assert.ok(res.values[i]! <= res.values[i - 1]!);
  }
  // The top two eigenvectors to 1e-6, up to sign.
  for (let i = 0; i < 2; i++) {
    const u = full.vectors.col(n - 1 - i);
    const v = res.vectors.col(i);
    let dot = 0;
    for (let r = 0; r < n; r++) dot += u[r]! * v[r]!;
    assert.ok(1 - Math.abs(dot) < 1e-6, `vector ${i}: |cos| ${Math.abs(dot)}`);
  }
});

test('solveShifted: converged columns leave the active set, later passes carry only the running ones', async () => {
  const n = snps.n;
  const inner = createGrmOperator(snps, { covariates });
  const widths: number[] = [];
  const op: GrmOperator = {
    snps: inner.snps,
    q: inner.q,
    get passes() {
      return inner.passes;
    },
    apply(v, leaveOut, out) {
      widths.push(v.cols);
      inner.apply(v, leaveOut, out);
    },
    project: (v) => inner.project(v),
    zt: (v, out) => inner.zt(v, out),
    z: (b, out) => inner.z(b, out),
  };
  // Column 0 starts near its solution (a 1e-4 solve) and stops early; column 1 starts at 0.
  const b = randomBlock(9, n, 2);
  const leaveOut = Int32Array.from([2, -1]);
  const rough = await solveShifted(inner, b, 0.5, leaveOut, { tol: 1e-4 });
  const x0 = new Matrix(n, 2);
  x0.data.set(rough.x.col(0), 0);
  const res = await solveShifted(op, b, 0.5, leaveOut, { tol: 1e-9, x0 });
  assert.ok(res.converged);
  assert.equal(widths.length, res.iterations);
  assert.deepEqual(widths.slice(0, 2), [2, 2]);
  assert.equal(widths.at(-1), 1, `widths ${widths.join(',')}`);
  for (let k = 1; k < widths.length; k++) assert.ok(widths[k]! <= widths[k - 1]!);
  // Column 1 alone takes the same passes (less the x0 pass) to the same x: each column's CG is its own.
  const alone = await solveShifted(inner, b.colView(1, 2), 0.5, leaveOut.subarray(1), { tol: 1e-9 });
  assert.equal(alone.iterations, res.iterations - 1);
  const diff = Math.hypot(...alone.x.data.map((v, i) => v - res.x.col(1)[i]!)) / Math.hypot(...alone.x.data);
  assert.ok(diff < 1e-8, `column 1: ${diff}`);
});

test('createGrmOperator: blocks of a chromosome every column leaves out are not decoded', async () => {
  let decoded = 0;
  const counting: ModelSnps = {
    n: snps.n,
    m: snps.m,
    chromNames: snps.chromNames,
    group: snps.group,
    countByGroup: snps.countByGroup,
    fileIndex: snps.fileIndex,
    bytes: snps.bytes,
    decode(j0, j1, out) {
      decoded += j1 - j0;
      snps.decode(j0, j1, out);
    },
  };
  const op = createGrmOperator(counting, { blockSize: 100 });
  const v = randomBlock(10, snps.n, 2);
  op.apply(v, Int32Array.from([3, 3]), new Matrix(snps.n, 2));
  assert.equal(decoded, snps.m - snps.countByGroup[3]!);
  op.apply(v, Int32Array.from([3, 0]), new Matrix(snps.n, 2));
  assert.equal(decoded, 2 * snps.m - snps.countByGroup[3]!);
});
