// Variance-component benchmark (MM4LMM's MMEst): on seeded synthetic data,
// times lmmkit's `mmEst`:
//
// 1. in GWAS mode: N = 1000 samples, M = 10 000 markers, kinship + error,
//    REML, one model per marker (the marker as fixed effect, the null
//    model's variances as start), split into the eigendecomposition, the
//    null fit and the marker models, with markers per second; then MM4LMM's
//    MMEst (NbCores = 1) on the same y, kinship and markers when it is set
//    up (scripts/setup-peers.sh), with the ratio (target 40x) and the
//    agreement of the markers' Wald statistics;
// 2. a three-kinship + error REML fit at N = 2000: the dense path (V formed
//    and factorised), Henderson's mixed-model equations, and both again with
//    SQUAREM (`accelerate`), with iterations, times and log-likelihoods, and
//    MM4LMM's MMEst on the same data in the same run;
// 3. the GWAS mode of 1. on the pure-TypeScript (js) backend at a reduced
//    size, for information.
//
// Prints figures, ratios and a summary table; asserts nothing. The kinships are the
// project's `kinship` (standardized, K = X X'/p) of `simulateGwas` dosages.
//
// Sizes and repetitions:
//   LMMKIT_BENCH_VC_N (GWAS samples, default 1000), LMMKIT_BENCH_VC_M
//   (markers, default 10000), LMMKIT_BENCH_VC_REPS (GWAS-mode runs, the best
//   is reported, default 5; runs with and without SQUAREM alternate);
//   LMMKIT_BENCH_VC3_N (three-kinship samples, default 2000),
//   LMMKIT_BENCH_VC3_P (variants per kinship, default 3000),
//   LMMKIT_BENCH_VC3_REPS (dense-path runs, default 2, the best is
//   reported), LMMKIT_BENCH_VC3=0 skips part 2;
//   LMMKIT_BENCH_VC3_HENDERSON: Henderson's equations are (3N + 1)-square
//   here, O((3N)^3) per evaluation (3 to 10 s at N = 2000, minutes a fit),
//   so by default ('short') they are timed on one fit capped at
//   LMMKIT_BENCH_VC3_HEN_ITERS iterations (default 3), which gives the
//   set-up and per-evaluation costs, and the full fits are extrapolated from
//   the dense path's evaluation counts (Henderson follows the same
//   iterates); 'full' runs the two full fits (MM4LMM path, SQUAREM); '0'
//   skips them;
//   LMMKIT_BENCH_VC_JS_N (default 500), LMMKIT_BENCH_VC_JS_M (default 2000),
//   LMMKIT_BENCH_VC_JS=0 skips part 3; LMMKIT_BENCH_MM4LMM=0 skips MM4LMM.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix, getBackend, loadBackend } from '../src/node.js';
import type { Backend } from '../src/linalg/backend.js';
import { kinship } from '../src/data/kinship.js';
import { planBatches, type BatchOptions, type GenotypeBatch, type GenotypeSource } from '../src/data/genotypes.js';
import type { SampleTable } from '../src/data/samples.js';
import type { VariantTable } from '../src/data/variants.js';
import { simulateGwas } from '../src/sim/gwas.js';
import { Rng } from '../src/sim/rng.js';
import { mmEst, type MmEstOptions, type MmEstResult } from '../src/varcomp/mmest.js';
import { mmEstParallel } from '../src/varcomp/mmest-parallel.js';
import { envInt, envOff, machineLine } from './common.js';
import { mm4lmmStatus, readRawF64, runMm4lmm, writeRaw } from './peers.js';
import { reportSummary, type SummaryRow } from './summary-rows.js';

const N = envInt('LMMKIT_BENCH_VC_N', 1000);
const M = envInt('LMMKIT_BENCH_VC_M', 10_000);
const REPS = envInt('LMMKIT_BENCH_VC_REPS', 5);
const N3 = envInt('LMMKIT_BENCH_VC3_N', 2000);
const P3 = envInt('LMMKIT_BENCH_VC3_P', 3000);
const REPS3 = envInt('LMMKIT_BENCH_VC3_REPS', 2);
const HENDERSON = process.env.LMMKIT_BENCH_VC3_HENDERSON || 'short';
const HEN_ITERS = envInt('LMMKIT_BENCH_VC3_HEN_ITERS', 3);
const JS_N = envInt('LMMKIT_BENCH_VC_JS_N', 500);
const JS_M = envInt('LMMKIT_BENCH_VC_JS_M', 2000);

/** The issue's target for the GWAS mode: at least 40x MM4LMM's time in the same run. */
const TARGET_GWAS = 40;
/** Ridge added to the three kinships (rank N - 1 after centring) so that Henderson's R_k^-1 exists. */
const RIDGE = 0.01;

const log = (line: string): void => console.log(line);
const now = (): number => performance.now();
/** CPU time of this process, all threads, in ms (load-robust where the BLAS runs one thread). */
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const sec = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
const fmt = (x: number, d = 4): string => x.toPrecision(d);

/** A dense dosage matrix as a `GenotypeSource`, so that the project's streaming `kinship` can read it. */
function memorySource(dosages: Matrix, samples: SampleTable, variants: VariantTable): GenotypeSource {
  const path = '<simulated>';
  return {
    path,
    samples,
    variants,
    async *batches(opts: BatchOptions = {}): AsyncGenerator<GenotypeBatch> {
      const plan = planBatches(opts, variants, dosages.rows, path);
      const rows = plan.samples ?? Int32Array.from({ length: dosages.rows }, (_, i) => i);
      const n = dosages.rows;
      for (let s = 0; s < plan.indices.length; s += plan.size) {
        const idx = plan.indices.subarray(s, Math.min(plan.indices.length, s + plan.size));
        const out = new Matrix(rows.length, idx.length);
        idx.forEach((v, j) => {
          const src = dosages.data.subarray(v * n, (v + 1) * n);
          const dst = out.data.subarray(j * rows.length, (j + 1) * rows.length);
          for (let i = 0; i < rows.length; i++) dst[i] = src[rows[i]!]!;
        });
        const pick = <T>(a: ArrayLike<T>): T[] => Array.from(idx, (i) => a[i]!);
        yield {
          dosages: out,
          indices: idx,
          variants: {
            chrom: pick(variants.chrom),
            id: pick(variants.id),
            cm: Float64Array.from(idx, (i) => variants.cm[i]!),
            pos: Float64Array.from(idx, (i) => variants.pos[i]!),
            a1: pick(variants.a1),
            a2: pick(variants.a2),
          },
        };
      }
    },
    async close(): Promise<void> {},
  };
}

/**
 * The backend with its syevd calls timed: mmEst's only syevd in the
 * two-component path is the joint diagonalisation.
 */
function timedBackend(be: Backend): { backend: Backend; syevd: { t0: number; t1: number }[] } {
  const syevd: { t0: number; t1: number }[] = [];
  const backend = new Proxy(be, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'syevd' && typeof v === 'function') {
        return (a: Matrix) => {
          const t0 = now();
          const r = (v as (a: Matrix) => unknown).call(receiver, a);
          syevd.push({ t0, t1: now() });
          return r;
        };
      }
      return v;
    },
  });
  return { backend, syevd };
}

/** A marker matrix that notes when mmEst first reads a marker (the null fit is done by then). */
class WatchedMarkers extends Matrix {
  firstRead: number | undefined;
  firstReadCpu = 0;
  override colView(start: number, end?: number): Matrix {
    if (this.firstRead === undefined) this.firstReadCpu = cpuNow();
    this.firstRead ??= now();
    return super.colView(start, end);
  }
}

interface GwasRun {
  total: number;
  /** Design planning and input checks, before the eigendecomposition. */
  setup: number;
  eigen: number;
  /** The cofactor-only fit (plus the rotation of y, a gemv-sized gemm). */
  nullFit: number;
  markers: number;
  /** The marker models' CPU time (ms, all threads). */
  markersCpu: number;
  result: MmEstResult;
}

function gwasOnce(y: Float64Array, x: WatchedMarkers, k: Matrix, be: Backend, extra: Partial<MmEstOptions> = {}): GwasRun {
  const n = y.length;
  const t = timedBackend(be);
  x.firstRead = undefined;
  const t0 = now();
  const result = mmEst({
    y,
    x,
    varList: [
      { name: 'Additive', r: k },
      { name: 'Error', r: Matrix.identity(n) },
    ],
    method: 'reml',
    backend: t.backend,
    ...extra,
  });
  const t1 = now();
  const c1 = cpuNow();
  const e = t.syevd[0];
  if (e === undefined || x.firstRead === undefined || t.syevd.length !== 1) throw new Error(`unexpected mmEst call pattern (${t.syevd.length} syevd calls)`);
  return {
    total: t1 - t0,
    setup: e.t0 - t0,
    eigen: e.t1 - e.t0,
    nullFit: x.firstRead - e.t1,
    markers: t1 - x.firstRead,
    markersCpu: c1 - x.firstReadCpu,
    result,
  };
}

/** Wald chi2 of the marker coefficient (the last column) of each model. */
function waldStats(r: MmEstResult): Float64Array {
  return Float64Array.from(r.models, (m) => {
    const p = m.beta.length;
    const v = m.varBeta.data[p * p - 1]!;
    return m.columnNames[p - 1] === 'Xeffect' && v > 0 ? m.beta[p - 1]! ** 2 / v : Number.NaN;
  });
}

function iterationSummary(r: MmEstResult): string {
  let sum = 0;
  let max = 0;
  let conv = 0;
  for (const m of r.models) {
    sum += m.nbIt;
    max = Math.max(max, m.nbIt);
    if (m.converged) conv++;
  }
  return `iterations per marker: mean ${(sum / r.models.length).toFixed(2)}, max ${max}; converged ${conv}/${r.models.length}`;
}

/**
 * The rotation's share of a GWAS-mode run (issue 19, item 2): U' times the
 * marker columns, in mmEst's batches of 512 (one gemm each, reading the
 * columns in place into one reused output, as mmEst does), timed alone,
 * best of `reps`, in ms. On the native backend mmEst runs the rotation of
 * batch b + 1 beside the MM iterations of batch b (gemmStart), so the marker
 * models take less than the sum of the two. Also its best CPU time (all threads), in ms.
 */
function rotationShare(x: Matrix, k: Matrix, be: Backend, reps: number): { wall: number; cpu: number } {
  const n = x.rows;
  const u = be.syevd(k).vectors;
  let best = Infinity;
  let cpu = Infinity;
  const out = new Matrix(n, Math.min(512, x.cols));
  for (let r = 0; r < reps; r++) {
    const t0 = now();
    const c0 = cpuNow();
    for (let m0 = 0; m0 < x.cols; m0 += 512) {
      const m1 = Math.min(x.cols, m0 + 512);
      be.gemm(u, new Matrix(n, m1 - m0, x.data.subarray(m0 * n, m1 * n)), { transA: true, c: m1 - m0 === out.cols ? out : undefined });
    }
    best = Math.min(best, now() - t0);
    cpu = Math.min(cpu, cpuNow() - c0);
  }
  return { wall: best, cpu };
}

/**
 * GWAS mode on worker threads (issue 19, item 2): `mmEstParallel` with
 * `threads` workers scanning the batches while this thread rotates the next
 * ones, best total of `reps` runs in ms, and whether its models are mmEst's
 * (sigma2, logLik and NbIt of every model).
 */
async function parallelRun(
  y: Float64Array,
  x: Matrix,
  k: Matrix,
  be: Backend,
  threads: number,
  reps: number,
  serial: MmEstResult,
): Promise<{ best: number; same: boolean }> {
  const n = y.length;
  let best = Infinity;
  let same = true;
  for (let r = 0; r < reps; r++) {
    const t0 = now();
    const res = await mmEstParallel({
      y,
      x,
      varList: [
        { name: 'Additive', r: k },
        { name: 'Error', r: Matrix.identity(n) },
      ],
      method: 'reml',
      backend: be,
      threads,
    });
    best = Math.min(best, now() - t0);
    same &&= res.models.every((m, i) => {
      const s = serial.models[i]!;
      return m.nbIt === s.nbIt && m.logLik === s.logLik && m.sigma2[0] === s.sigma2[0] && m.sigma2[1] === s.sigma2[1];
    });
  }
  return { best, same };
}

async function gwasData(n: number, m: number, be: Backend, seed: number) {
  const t0 = now();
  const sim = simulateGwas({ samples: n, variants: m, seed });
  const tSim = now() - t0;
  const markers = new WatchedMarkers(n, m, sim.dosages.data.slice());
  const t1 = now();
  const kin = await kinship(memorySource(sim.dosages, sim.samples, sim.variants), { method: 'standardized', backend: be });
  const tKin = now() - t1;
  return { sim, markers, k: kin.k, variantsUsed: kin.variantsUsed, tSim, tKin };
}

/** MM4LMM, or the line that says why it does not run. */
function mm4lmm(): { ok: true; label: string } | { ok: false; line: string } {
  if (envOff('LMMKIT_BENCH_MM4LMM')) return { ok: false, line: 'MM4LMM: skipped (LMMKIT_BENCH_MM4LMM=0)' };
  return mm4lmmStatus();
}

/** A temporary directory for the peer's files, removed after `fn`. */
function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-varcomp-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * MM4LMM's MMEst in GWAS mode on the same y, kinship and markers: its time
 * (seconds) and how its markers' Wald chi2 agree with ours, or why it did not run.
 */
function mm4lmmGwas(y: Float64Array, k: Matrix, x: Matrix, ours: MmEstResult): number | string {
  const peer = mm4lmm();
  if (!peer.ok) return peer.line;
  return withTempDir((dir) => {
    writeRaw(join(dir, 'y.f64'), y);
    writeRaw(join(dir, 'K.f64'), k);
    writeRaw(join(dir, 'X.f64'), x);
    log(`running ${peer.label}: MMEst(y, X, VarList = (Additive = K, Error = I), Reml, NbCores = 1) on ${x.cols} markers ...`);
    const r = runMm4lmm(dir, 'gwas', y.length, x.cols);
    if (typeof r === 'string') return `MM4LMM: ${r}`;
    const theirs = readRawF64(join(dir, 'wald.f64'));
    const wald = waldStats(ours);
    let worst = 0;
    for (let i = 0; i < wald.length; i++) if (Number.isFinite(wald[i]!)) worst = Math.max(worst, Math.abs(wald[i]! - theirs[i]!) / Math.max(1, theirs[i]!));
    const t = r.seconds as number;
    log(
      `MM4LMM: ${t.toFixed(2)} s (${(x.cols / t).toFixed(0)} markers/s, ${r.models} models, mean NbIt ${(r.meanNbIt as number).toFixed(2)}); markers' Wald chi2, ours vs MM4LMM: max |diff| / max(1, chi2) = ${worst.toExponential(2)}`,
    );
    return t;
  });
}

async function gwasMode(
  be: Backend,
  n: number,
  m: number,
  reps: number,
  brief = false,
  withPeer = !brief,
): Promise<{ best: GwasRun; mm4lmm?: number | string }> {
  const d = await gwasData(n, m, be, 2024);
  if (!brief)
    log(
      `data: simulateGwas(N = ${n}, ${m} markers, 3 populations, 10 causal; seed 2024) ${sec(d.tSim)}; kinship (standardized, ${d.variantsUsed} variants) ${sec(d.tKin)}`,
    );
  // Warm-up (JIT of the engine, BLAS threads) on a slice: 200 markers.
  gwasOnce(d.sim.phenotype, new WatchedMarkers(n, Math.min(m, 200), d.markers.data.slice(0, n * Math.min(m, 200))), d.k, be);
  // Only the best run of each kind is kept (the others' 10 000 models would weigh on the GC).
  const times: number[] = [];
  const accTimes: number[] = [];
  let best: GwasRun | undefined;
  let acc: GwasRun | undefined;
  for (let r = 0; r < reps; r++) {
    const a = gwasOnce(d.sim.phenotype, d.markers, d.k, be);
    times.push(a.total);
    if (best === undefined || a.total < best.total) best = a;
    const b = gwasOnce(d.sim.phenotype, d.markers, d.k, be, { accelerate: true });
    accTimes.push(b.total);
    if (acc === undefined || b.total < acc.total) acc = b;
  }
  if (best === undefined || acc === undefined) throw new Error('no run');
  const res = best.result;
  const nm = res.nullModel!;
  if (!brief) {
    log(
      `mmEst path '${res.path}'; null model: sigma2 (Additive, Error) = (${fmt(nm.sigma2[0]!)}, ${fmt(nm.sigma2[1]!)}), ${nm.logLikName} = ${nm.logLik.toFixed(4)}, ${nm.nbIt} iterations`,
    );
    log(iterationSummary(res));
    const wald = waldStats(res);
    const order = Array.from(wald.keys()).sort((a, b) => (wald[b]! || 0) - (wald[a]! || 0));
    const causal = new Set(d.sim.causal.map((c) => c.index));
    const top = order.slice(0, 10);
    log(
      `top 10 markers by Wald chi2: ${top.map((i) => `X${i + 1}${causal.has(i) ? '*' : ''} ${wald[i]!.toFixed(1)}`).join(', ')}  (* causal; ${top.filter((i) => causal.has(i)).length}/${causal.size} causal in the top 10)`,
    );
  }
  log(`runs (total s): ${times.map((t) => (t / 1000).toFixed(3)).join(', ')}; best of ${reps}:`);
  log(`  setup (design plan, checks)  ${sec(best.setup)}`);
  log(`  eigendecomposition (syevd)   ${sec(best.eigen)}`);
  log(`  null fit                     ${sec(best.nullFit)}`);
  log(`  ${`${m} marker models`.padEnd(29)}${sec(best.markers)}  (${((best.markers / m) * 1000).toFixed(1)} us per marker)`);
  const rotTimes = rotationShare(d.markers, d.k, be, reps);
  const rot = rotTimes.wall;
  log(
    `    of which the rotation gemm U'X, timed alone: ${sec(rot)} (${((rot / m) * 1000).toFixed(1)} us per marker); the marker models less that (MM iterations, bookkeeping, less what ran beside the rotation): ${(((best.markers - rot) / m) * 1000).toFixed(1)} us per marker`,
  );
  const usPer = (ms: number): string => `${((ms / m) * 1000).toFixed(1)} us`;
  log(
    `    CPU time (all threads; load-robust with one BLAS thread): ${usPer(best.markersCpu)} per marker, of which the rotation gemm alone ${usPer(rotTimes.cpu)}, the rest ${usPer(best.markersCpu - rotTimes.cpu)}`,
  );
  log(`  total                        ${sec(best.total)}`);
  const mps = m / (best.total / 1000);
  log(`markers per second: ${mps.toFixed(0)} overall, ${(m / (best.markers / 1000)).toFixed(0)} in the marker loop`);
  const par = await parallelRun(d.sim.phenotype, d.markers, d.k, be, 2, reps, res);
  log(
    `mmEstParallel, 2 worker threads (the MM iterations beside the rotation): best total ${sec(par.best)} (${(m / (par.best / 1000)).toFixed(0)} markers/s); models identical to mmEst's: ${par.same ? 'yes' : 'NO'}`,
  );
  // SQUAREM in GWAS mode, for information.
  let maxDiff = 0;
  acc.result.models.forEach((mod, i) => {
    maxDiff = Math.max(maxDiff, Math.abs(mod.logLik - res.models[i]!.logLik));
  });
  log(
    `with accelerate (SQUAREM): runs ${accTimes.map((t) => (t / 1000).toFixed(3)).join(', ')}; best total ${sec(acc.total)} (marker models ${sec(acc.markers)}, ${(m / (acc.total / 1000)).toFixed(0)} markers/s); ${iterationSummary(acc.result)}; max |logLik difference| over markers ${maxDiff.toExponential(2)}`,
  );
  if (!withPeer) return { best };
  const peer = mm4lmmGwas(d.sim.phenotype, d.k, d.markers, res);
  if (typeof peer === 'string') log(peer);
  else log(`speed-up vs MM4LMM (this run): ${(peer / (best.total / 1000)).toFixed(1)}x (target ${TARGET_GWAS}x)`);
  return { best, mm4lmm: peer };
}

/** Three kinships from three disjoint variant sets of one simulated sample, and y drawn with all three. */
async function threeKinshipData(n: number, p: number, be: Backend) {
  const t0 = now();
  const sim = simulateGwas({ samples: n, variants: 3 * p, seed: 77, causal: 0, h2Causal: 0, h2Population: 0 });
  const src = memorySource(sim.dosages, sim.samples, sim.variants);
  const ks: Matrix[] = [];
  for (let k = 0; k < 3; k++) {
    const kin = await kinship(src, { method: 'standardized', select: { range: [k * p, (k + 1) * p] }, backend: be });
    for (let i = 0; i < n; i++) kin.k.data[i + i * n]! += RIDGE;
    ks.push(kin.k);
  }
  // y = 1 + g1 + g2 + g3 + e with g_k = X_k w_k, w_k ~ N(0, s_k / p) i.i.d. (so Cov g_k = s_k K_k without the ridge).
  const truth = [0.3, 0.2, 0.1, 0.4];
  const rng = new Rng(78);
  const y = new Float64Array(n).fill(1);
  for (let k = 0; k < 3; k++) {
    const xk = sim.dosages.colView(k * p, (k + 1) * p).clone();
    for (let j = 0; j < p; j++) {
      const col = xk.col(j);
      const mean = col.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / n) || 1;
      for (let i = 0; i < n; i++) col[i] = (col[i]! - mean) / sd;
    }
    const w = rng.normals(p).map((v) => v * Math.sqrt(truth[k]! / p));
    be.gemv(xk, w, { beta: 1, y });
  }
  const e = rng.normals(n);
  for (let i = 0; i < n; i++) y[i]! += Math.sqrt(truth[3]!) * e[i]!;
  return { ks, y, truth, seconds: (now() - t0) / 1000 };
}

interface FitRun {
  seconds: number;
  result: MmEstResult;
  /** Start times (ms, from the call) of the Cholesky factorisations of V (dense) or of Henderson's C: one per evaluation. */
  factorisations: number[];
}

function fit3(y: Float64Array, ks: Matrix[], extra: Partial<MmEstOptions>): FitRun {
  const n = y.length;
  // The dense and Henderson engines use getBackend(): count their big
  // Cholesky factorisations (V is N-square, C is (3N + p)-square; the
  // once-only factorisations of the kinships are N-square too but come
  // before the first evaluation and are told apart by size for Henderson).
  const be = getBackend();
  const factorisations: number[] = [];
  const potrf = be.potrf;
  const henderson = extra.henderson === true;
  let t0 = 0;
  (be as { potrf: Backend['potrf'] }).potrf = function (this: Backend, a: Matrix): Matrix {
    if (henderson ? a.rows > n : a.rows === n) factorisations.push(now() - t0);
    return potrf.call(this, a);
  };
  try {
    t0 = now();
    const result = mmEst({
      y,
      method: 'reml',
      varList: [
        { name: 'K1', r: ks[0]! },
        { name: 'K2', r: ks[1]! },
        { name: 'K3', r: ks[2]! },
        { name: 'Error', r: Matrix.identity(n) },
      ],
      ...extra,
    });
    return { seconds: (now() - t0) / 1000, result, factorisations };
  } finally {
    delete (be as { potrf?: unknown }).potrf;
  }
}

function describeFit(label: string, runs: FitRun[], ref?: FitRun): FitRun {
  const best = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const m = best.result.models[0]!;
  const times = runs.length > 1 ? ` (best of ${runs.map((r) => r.seconds.toFixed(2)).join(', ')})` : '';
  const dl = ref === undefined ? '' : `, logLik - MM4LMM path's ${(m.logLik - ref.result.models[0]!.logLik).toExponential(2)}`;
  const ev = best.factorisations.length;
  log(
    `${label.padEnd(24)} path ${best.result.path.padEnd(9)} ${best.seconds.toFixed(2).padStart(6)} s${times}; ${String(m.nbIt).padStart(3)} iterations, ${ev} evaluations (${(best.seconds / Math.max(1, ev)).toFixed(3)} s each), converged ${m.converged}; ` +
      `${m.logLikName} ${m.logLik.toFixed(4)}${dl}; sigma2 = (${Array.from(m.sigma2, (s) => fmt(s)).join(', ')})`,
  );
  return best;
}

async function threeKinships(): Promise<{ dense: FitRun; mm4lmm: number | string }> {
  const be = getBackend();
  const d = await threeKinshipData(N3, P3, be);
  log(
    `data: simulateGwas(N = ${N3}, 3 x ${P3} variants, seed 77), three standardized kinships + ${RIDGE} I (disjoint variant sets), y with sigma2 = (${d.truth.join(', ')}); ${d.seconds.toFixed(2)} s`,
  );
  // MM4LMM's rule ('auto'): Henderson for REML when N > sum of the random effects' dims + ncol(Cofactor).
  const dims = 3 * N3;
  const probe = fit3(d.y, d.ks, { maxIter: 1 });
  log(`MM4LMM's rule: N = ${N3} > ${dims} + 1? ${N3 > dims + 1 ? 'yes -> Henderson' : 'no -> dense'}; mmEst's 'auto' picks '${probe.result.path}'`);
  const plain: FitRun[] = [];
  const squarem: FitRun[] = [];
  for (let r = 0; r < REPS3; r++) {
    plain.push(fit3(d.y, d.ks, { henderson: false }));
    squarem.push(fit3(d.y, d.ks, { henderson: false, accelerate: true }));
  }
  const dense = describeFit('dense (MM4LMM path)', plain);
  const denseAcc = describeFit('dense + SQUAREM', squarem, dense);
  if (HENDERSON === '0') {
    log('Henderson: skipped (LMMKIT_BENCH_VC3_HENDERSON=0)');
  } else if (HENDERSON === 'full') {
    describeFit('Henderson (MM4LMM path)', [fit3(d.y, d.ks, { henderson: true })], dense);
    describeFit('Henderson + SQUAREM', [fit3(d.y, d.ks, { henderson: true, accelerate: true })], dense);
  } else {
    // A capped fit (maxIter HEN_ITERS): the set-up (R_k^-1, W'R^-1W) ends
    // at the first factorisation of C; each evaluation costs about the same.
    const few = fit3(d.y, d.ks, { henderson: true, maxIter: HEN_ITERS });
    const f = few.factorisations;
    const setup = f[0]! / 1000;
    const perEval = (few.seconds - setup) / f.length;
    const evD = dense.factorisations.length;
    const evA = denseAcc.factorisations.length;
    const full = (ev: number): number => setup + ev * perEval;
    log(
      `Henderson, capped at maxIter ${HEN_ITERS} (path '${few.result.path}', C is ${3 * N3 + 1}-square): ${few.seconds.toFixed(2)} s = set-up ${setup.toFixed(2)} s + ${f.length} evaluations x ${perEval.toFixed(2)} s`,
    );
    log(
      `  extrapolated full fits (Henderson follows the dense path's iterates): MM4LMM path (${evD} evaluations) about ${full(evD).toFixed(0)} s; + SQUAREM (${evA} evaluations) about ${full(evA).toFixed(0)} s (LMMKIT_BENCH_VC3_HENDERSON=full runs them)`,
    );
  }
  const peer = mm4lmm();
  if (!peer.ok) {
    log(peer.line);
    return { dense, mm4lmm: peer.line };
  }
  const t = withTempDir((dir): number | string => {
    writeRaw(join(dir, 'y.f64'), d.y);
    for (const [i, k] of d.ks.entries()) writeRaw(join(dir, `K${i + 1}.f64`), k);
    log(`running ${peer.label}: MMEst(y, VarList = (K1, K2, K3, Error = I), Reml) ...`);
    const r = runMm4lmm(dir, 'three', N3);
    if (typeof r === 'string') return `MM4LMM: ${r}`;
    const m = dense.result.models[0]!;
    log(
      `MM4LMM: ${(r.seconds as number).toFixed(2)} s, ${r.nbIt} iterations, LogLik ${(r.logLik as number).toFixed(4)} (ours, its path: ${m.nbIt} iterations, ${m.logLik.toFixed(4)}); sigma2 = (${(r.sigma2 as number[]).map((s) => fmt(s)).join(', ')}); speed-up of our dense path ${((r.seconds as number) / dense.seconds).toFixed(2)}x`,
    );
    return r.seconds as number;
  });
  if (typeof t === 'string') log(t);
  return { dense, mm4lmm: t };
}

async function main(): Promise<void> {
  const be = getBackend();
  const load = (): string => `load average ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} CPUs`;
  log(`lmmkit varcomp benchmark (mmEst): ${machineLine(be)}`);
  const tAll = now();

  log('');
  log(`== 1. GWAS mode: N = ${N}, ${M} markers, kinship + error, REML (${be.name} backend; ${load()}) ==`);
  const gwas = await gwasMode(be, N, M, REPS);
  const summary: SummaryRow[] = [
    {
      bench: 'varcomp',
      job: `mmEst GWAS mode, N ${N} x ${M} markers`,
      lmmkit: gwas.best.total / 1000,
      peer: 'MM4LMM',
      peerTime: gwas.mm4lmm ?? 'MM4LMM: not run',
      kind: 'speed-up',
      target: TARGET_GWAS,
    },
  ];

  log('');
  if (envOff('LMMKIT_BENCH_VC3')) log('== 2. three kinships + error: skipped (LMMKIT_BENCH_VC3=0) ==');
  else {
    log(`== 2. three kinships + error, REML, N = ${N3} (${be.name} backend; ${load()}) ==`);
    const three = await threeKinships();
    summary.push({
      bench: 'varcomp',
      job: `three-kinship REML fit, N ${N3}`,
      lmmkit: three.dense.seconds,
      peer: 'MM4LMM',
      peerTime: three.mm4lmm,
      kind: 'speed-up',
    });
  }

  log('');
  if (envOff('LMMKIT_BENCH_VC_JS')) log('== 3. GWAS mode on the js backend: skipped (LMMKIT_BENCH_VC_JS=0) ==');
  else if (be.name === 'js') log('== 3. the backend above is already js: nothing more to run ==');
  else {
    log(`== 3. GWAS mode on the js backend (for information): N = ${JS_N}, ${JS_M} markers (${load()}) ==`);
    await gwasMode(loadBackend('js'), JS_N, JS_M, 1, false, false);
    log(`(same size on ${be.name}, for the ratio:)`);
    await gwasMode(be, JS_N, JS_M, 1, true);
  }
  reportSummary(summary);
  log('');
  log(`benchmark wall time ${((now() - tAll) / 1000).toFixed(1)} s`);
}

await main();
