// Multi-trait LMM benchmark (issue: several traits at once): limix-lmm's
// quick start 2.2 data generator (generate_data) with a seeded Rng at
// N = 1000 samples, P = 4 traits, K = 2 covariates and S = 5000 variants;
// times the eigendecomposition of R, the GP2KronSum null fit from limix's
// starting point, and the MTLMM scans (any-effect, common-effect, both with
// one rotation); then, when limix-lmm is set up (scripts/setup-peers.sh),
// limix's GP2KronSum null fit (quick start 2.2: optimize(factr=10)) and its
// any-effect MTLMM scan on the same Y, F, G and eigendecomposition of R, in
// the same run, with the ratios. Asserts nothing.
//
// Sizes: LMMKIT_BENCH_MT_N (default 1000), LMMKIT_BENCH_MT_P (default 4),
// LMMKIT_BENCH_MT_S (default 5000); LMMKIT_BENCH_MT_REPS (default 3) repeats
// the timed steps and the rounds of ours and limix's, and reports the best.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix, getBackend } from '../src/node.js';
import { fitKronSumNull, type KronSumNullModel } from '../src/nullmodel/fit-kron-sum.js';
import { Mtlmm, traitTestDesign } from '../src/scan/mtlmm.js';
import { Rng } from '../src/sim/rng.js';
import { bestOf, envInt, machineLine, secondsSince } from './common.js';
import { limixStatus, pvAgreement, readRawF64, runLimix, writeRaw } from './peers.js';
import { reportSummary, type SummaryRow } from './summary-rows.js';

const N = envInt('LMMKIT_BENCH_MT_N', 1000);
const P = envInt('LMMKIT_BENCH_MT_P', 4);
const S = envInt('LMMKIT_BENCH_MT_S', 5000);
const REPS = envInt('LMMKIT_BENCH_MT_REPS', 3);
const K = 2;
/** The targets: lmmkit's null fit and any-effect scan at least this many times faster than limix's. */
const TARGET_NULL = 3;
const TARGET_SCAN = 10;

/** limix-lmm's quick-start `generate_data(N, P, K, S)`, with lmmkit's seeded Rng in place of numpy's. */
function generateData(rng: Rng): { y: Matrix; f: Matrix; g: Matrix } {
  const f = new Matrix(N, K, rng.normals(N * K));
  // B0 = 2 (arange(K P) % 2) - 1, reshaped K x P (row-major).
  const b0 = (k: number, p: number): number => 2 * ((k * P + p) % 2) - 1;
  const h2 = Float64Array.from({ length: P }, (_, p) => (P === 1 ? 0.1 : 0.1 + (0.4 * p) / (P - 1)));
  const g = new Matrix(N, S);
  for (let j = 0; j < S; j++) {
    const col = g.col(j);
    let mean = 0;
    for (let i = 0; i < N; i++) {
      col[i] = rng.uniform() < 0.2 ? 1 : 0;
      mean += col[i]!;
    }
    mean /= N;
    let ss = 0;
    for (let i = 0; i < N; i++) ss += (col[i]! - mean) ** 2;
    const sd = Math.sqrt(ss / N) || 1;
    for (let i = 0; i < N; i++) col[i] = (col[i]! - mean) / sd / Math.sqrt(S);
  }
  const wg = new Matrix(P, P, rng.normals(P * P));
  const wn = new Matrix(P, P, rng.normals(P * P));
  const be = getBackend();
  // Yg = G B Wg^T, Yn = E Wn^T, each centred and scaled to h2 and 1 - h2.
  const yg = be.gemm(be.gemm(g, new Matrix(S, P, rng.normals(S * P))), wg, { transB: true });
  const yn = be.gemm(new Matrix(N, P, rng.normals(N * P)), wn, { transB: true });
  const scale = (m: Matrix, v: Float64Array): void => {
    for (let p = 0; p < P; p++) {
      const col = m.col(p);
      const mean = col.reduce((a, b) => a + b, 0) / N;
      let ss = 0;
      for (let i = 0; i < N; i++) ss += (col[i]! - mean) ** 2;
      const s = Math.sqrt(v[p]! / (ss / N));
      for (let i = 0; i < N; i++) col[i] = (col[i]! - mean) * s;
    }
  };
  scale(yg, h2);
  scale(
    yn,
    h2.map((h) => 1 - h),
  );
  const y = new Matrix(N, P);
  for (let p = 0; p < P; p++) {
    for (let i = 0; i < N; i++) {
      let fb = 0;
      for (let k = 0; k < K; k++) fb += f.data[i + k * N]! * b0(k, p);
      y.data[i + p * N] = fb + yg.data[i + p * N]! + yn.data[i + p * N]!;
    }
  }
  return { y, f, g };
}

const best = <T>(fn: () => T): { value: T; seconds: number } => bestOf(REPS, fn);

const be = getBackend();
console.log(`mtlmm bench: N = ${N}, P = ${P}, K = ${K} covariates, S = ${S} variants; ${machineLine(be)}; best of ${REPS}`);
const { y, f, g } = generateData(new Rng(20260611));

// R = G G^T / mean(diag) + 1e-4 I and its eigendecomposition (done once, before limix's null fit too).
const eig = best(() => {
  const r = be.syrk(g);
  let md = 0;
  for (let i = 0; i < N; i++) md += r.data[i + i * N]!;
  md /= N;
  for (let i = 0; i < r.data.length; i++) r.data[i]! /= md;
  for (let i = 0; i < N; i++) r.data[i + i * N]! += 1e-4;
  return be.syevd(r);
});
console.log(`R = G G^T / mean(diag) + 1e-4 I, eigendecomposition: ${eig.seconds.toFixed(3)} s (given to both lmmkit and limix)`);

const nullFit = best((): KronSumNullModel => fitKronSumNull({ y, covariates: f, kinship: eig.value }));
const fit = nullFit.value;
console.log(
  `null fit (GP2KronSum, limix's start): ${nullFit.seconds.toFixed(3)} s; lml ${fit.lml.toFixed(6)}, gradient norm ${fit.gradNorm.toExponential(2)}, ` +
    `${fit.iterations} L-BFGS iterations, ${fit.evaluations} evaluations, stop: ${fit.reason}`,
);

// Warm-up (JIT) on a slice, untimed; then the three scans in rotation, best of REPS each,
// so that a busy spell of the machine does not land on one of them only.
new Mtlmm({ y, covariates: f, covariance: fit.covariance }).processDesigns(g.colView(0, Math.min(S, 200)), [
  traitTestDesign('any', P),
  traitTestDesign('common', P),
]);
const scans = {
  any: () => [new Mtlmm({ y, covariates: f, covariance: fit.covariance }).process(g, traitTestDesign('any', P))],
  common: () => [new Mtlmm({ y, covariates: f, covariance: fit.covariance }).process(g, traitTestDesign('common', P))],
  both: () => new Mtlmm({ y, covariates: f, covariance: fit.covariance }).processDesigns(g, [traitTestDesign('any', P), traitTestDesign('common', P)]),
  gemm: () => be.gemm(eig.value.vectors, g, { transA: true }),
};
const timed: Record<string, { value: unknown; seconds: number }> = {};
for (let r = 0; r < REPS; r++) {
  for (const [name, fn] of Object.entries(scans)) {
    const t0 = performance.now();
    const value = fn();
    const seconds = secondsSince(t0);
    if (timed[name] === undefined || seconds < timed[name]!.seconds) timed[name] = { value, seconds };
  }
}
type Res = ReturnType<typeof scans.any>;
const any = timed.any as { value: Res; seconds: number };
const common = timed.common as { value: Res; seconds: number };
const both = timed.both!;
const uRot = timed.gemm!;
const minP = (pv: Float64Array): number => pv.reduce((a, b) => (b < a ? b : a), 1);
console.log(
  `scan, any-effect test (Asnp = eye(P)):    ${any.seconds.toFixed(3)} s (${((any.seconds / S) * 1e6).toFixed(1)} us/variant), min p ${minP(any.value[0]!.pv).toExponential(2)}`,
);
console.log(`scan, common-effect test (Asnp = ones):   ${common.seconds.toFixed(3)} s, min p ${minP(common.value[0]!.pv).toExponential(2)}`);
console.log(`scan, both tests with one rotation:       ${both.seconds.toFixed(3)} s`);
console.log(`(one gemm U^T G of the same shape:        ${uRot.seconds.toFixed(3)} s)`);

// limix-lmm on the same Y, F, G and eigendecomposition of R, in this run:
// REPS rounds, each our null fit and any-effect scan then limix's (one
// process per round), so that both see the same spells of a shared machine.
const limix = limixStatus();
let limixNull: number | string = limix.ok ? Infinity : limix.line;
let limixScan: number | string = limixNull;
let oursNull = nullFit.seconds;
let oursScan = any.seconds;
if (limix.ok) {
  const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-mtlmm-'));
  try {
    const arrays = {
      Y: writeRaw(join(dir, 'Y.f64'), y),
      F: writeRaw(join(dir, 'F.f64'), f),
      G: writeRaw(join(dir, 'G.f64'), g),
      Sr: writeRaw(join(dir, 'Sr.f64'), eig.value.values),
      Ur: writeRaw(join(dir, 'Ur.f64'), eig.value.vectors),
    };
    console.log(`running ${limix.label} (GP2KronSum null fit, optimize(factr=10); MTLMM any-effect scan), ${REPS} rounds alternating with ours ...`);
    for (let r = 0; r < REPS && typeof limixNull === 'number'; r++) {
      oursNull = Math.min(oursNull, bestOf(1, () => fitKronSumNull({ y, covariates: f, kinship: eig.value })).seconds);
      oursScan = Math.min(oursScan, bestOf(1, scans.any).seconds);
      const run = runLimix(dir, 'mtlmm', { arrays });
      if (typeof run === 'string') {
        limixNull = limixScan = `limix-lmm: ${run}`;
        break;
      }
      limixNull = Math.min(limixNull, run.nullSeconds as number);
      limixScan = Math.min(limixScan as number, run.scanSeconds as number);
      if (r === 0) {
        const lp = Float64Array.from(any.value[0]!.pv, (p) => Math.log10(p));
        console.log(
          `limix-lmm (numpy ${run.numpy}, scipy ${run.scipy}): gp.LML() ${(run.lml as number).toFixed(6)} (ours ${fit.lml.toFixed(6)}); any-effect p-values, ours vs limix's (each with its own null fit): ${pvAgreement(lp, readRawF64(run.pv as string))}`,
        );
      }
    }
    if (typeof limixNull === 'number')
      console.log(
        `best of ${REPS} rounds: null fit ours ${oursNull.toFixed(3)} s, limix ${limixNull.toFixed(3)} s; any-effect scan ours ${oursScan.toFixed(3)} s, limix ${(limixScan as number).toFixed(3)} s`,
      );
    else console.log(limixNull);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else console.log(limix.line);

const rows: SummaryRow[] = [
  {
    bench: 'mtlmm',
    job: `MTLMM null fit, N ${N}, P ${P}`,
    lmmkit: oursNull,
    peer: 'limix-lmm',
    peerTime: limixNull,
    kind: 'speed-up',
    target: TARGET_NULL,
  },
  {
    bench: 'mtlmm',
    job: `MTLMM any-effect scan, ${S} variants`,
    lmmkit: oursScan,
    peer: 'limix-lmm',
    peerTime: limixScan,
    kind: 'speed-up',
    target: TARGET_SCAN,
  },
];
reportSummary(rows);
