// Low-rank (GP2KronSumLR) benchmark on limix-lmm's quick-start data (1000
// Genomes chromosome 22, N = 274, 49 008 variants; ../shared/data/structlmm):
// the null fit y ~ N(1 b, cr W W^T + cn I) with W the quick start's 10
// environment columns and y its gaussianized gene1 (both as recorded in
// ../shared/refs/limix/example_lmm_fullchrom), then the fixed-delta scan of
// the whole chromosome; and, when limix-lmm is set up
// (scripts/setup-peers.sh), limix's GP2KronSumLR optimize() and
// LMM(y, 1, gp.covar.solve).process(G) on the same data in the same run,
// with the ratios and the agreement of the p-values. Asserts nothing.
//
// LMMKIT_BENCH_LR_REPS (default 3): rounds of ours and limix's steps, the best of each reported.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix, getBackend } from '../src/node.js';
import { openBed } from '../src/data/node/bed.js';
import { fitLowRankNull, type LowRankNullModel } from '../src/nullmodel/fit-lowrank.js';
import { gwasScan } from '../src/scan/gwas.js';
import { bestOf, envInt, machineLine, secondsSince } from './common.js';
import { limixStatus, pvAgreement, type RawArray, readRawF64, runLimix, writeRaw } from './peers.js';
import { reportSummary } from './summary-rows.js';

const REPS = envInt('LMMKIT_BENCH_LR_REPS', 3);
const SHARED = new URL('../../../shared/', import.meta.url).pathname;
const BED = join(SHARED, 'data/structlmm/chrom22_subsample20_maf0.10');
const REF = join(SHARED, 'refs/limix/example_lmm_fullchrom');

/** The numeric cells of a CSV file, one row per line, skipping `skip` header lines and `from` leading columns. */
function csvNumbers(path: string, skip: number, from: number): number[][] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .slice(skip)
    .map((l, i) => {
      const row = l.split(',').slice(from).map(Number);
      if (row.some((x) => !Number.isFinite(x))) throw new Error(`${path}:${i + 1 + skip}: expected numbers, found '${l.slice(0, 60)}'`);
      return row;
    });
}

/** The fixed-delta scan of the whole file: -log10 p per variant (in file order) and seconds. */
async function scan(nullFit: LowRankNullModel): Promise<{ log10p: Float64Array; seconds: number }> {
  const bed = await openBed(BED);
  const t0 = performance.now();
  const out = new Float64Array(bed.variants.id.length);
  let at = 0;
  for await (const b of gwasScan({ source: bed, null: nullFit, test: 'fixed' })) {
    out.set(b.fixed!.log10pv, at);
    at += b.fixed!.log10pv.length;
  }
  const seconds = secondsSince(t0);
  await bed.close();
  if (at !== out.length) throw new Error(`scanned ${at} of ${out.length} variants`);
  return { log10p: out, seconds };
}

const be = getBackend();
const y = Float64Array.from(csvNumbers(join(REF, 'pheno.csv'), 1, 2), (r) => r[0]!);
const wRows = csvNumbers(join(REF, 'W_processed.csv'), 0, 0);
const n = y.length;
const w = new Matrix(n, wRows[0]!.length);
for (let i = 0; i < n; i++) for (let c = 0; c < w.cols; c++) w.data[i + c * n] = wRows[i]![c]!;
const ones = new Matrix(n, 1, new Float64Array(n).fill(1));
console.log(`low-rank bench: chr22 quick-start data, N = ${n}, W ${n} x ${w.cols}; ${machineLine(be)}; best of ${REPS}`);

// REPS rounds, each our null fit and scan then limix's (one process per
// round), so that both see the same spells of a shared machine.
const fitOnce = (): LowRankNullModel => fitLowRankNull({ y, covariates: ones, w });
const nullFit = fitOnce();
console.log(`null fit (fitLowRankNull): cr ${nullFit.cr.toPrecision(6)}, cn ${nullFit.cn.toPrecision(6)}, lml ${nullFit.lml.toFixed(6)}`);
await scan(nullFit); // warm-up (JIT)
const limix = limixStatus();
let limixNull: number | string = limix.ok ? Infinity : limix.line;
let limixScan: number | string = limixNull;
let oursNull = Infinity;
let ours: { log10p: Float64Array; seconds: number } = { log10p: new Float64Array(0), seconds: Infinity };
const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-lowrank-'));
try {
  let arrays: Record<string, RawArray> | undefined;
  if (limix.ok) {
    const bed = await openBed(BED);
    const g = await bed.read(Int32Array.from(bed.variants.id, (_, j) => j));
    await bed.close();
    arrays = { y: writeRaw(join(dir, 'y.f64'), y), W: writeRaw(join(dir, 'W.f64'), w), G: writeRaw(join(dir, 'G.f32'), g, true) };
    console.log(`${limix.label}: GP2KronSumLR optimize() and LMM(y, 1, gp.covar.solve).process(G), ${REPS} rounds alternating with ours`);
  } else console.log(limix.line);
  for (let r = 0; r < REPS; r++) {
    oursNull = Math.min(oursNull, bestOf(1, fitOnce).seconds);
    const again = await scan(nullFit);
    if (again.seconds < ours.seconds) ours = again;
    if (arrays === undefined || typeof limixNull === 'string') continue;
    const run = runLimix(dir, 'lowrank', { arrays });
    if (typeof run === 'string') {
      limixNull = limixScan = `limix-lmm: ${run}`;
      console.log(limixNull);
      continue;
    }
    limixNull = Math.min(limixNull, run.nullSeconds as number);
    limixScan = Math.min(limixScan as number, run.scanSeconds as number);
    if (r === 0) {
      console.log(
        `limix-lmm (numpy ${run.numpy}, scipy ${run.scipy}): cr ${(run.cr as number).toPrecision(6)}, cn ${(run.cn as number).toPrecision(6)}, gp.LML() ${(run.lml as number).toFixed(6)}; its scan imputes, standardises and tests G given as float32 in memory`,
      );
      console.log(`p-values, ours vs limix's (each with its own null fit): ${pvAgreement(ours.log10p, readRawF64(run.pv as string))}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`best of ${REPS}: null fit ours ${oursNull.toFixed(4)} s${typeof limixNull === 'number' ? `, limix ${limixNull.toFixed(4)} s` : ''}`);
console.log(
  `fixed-delta scan of ${ours.log10p.length} variants (read, impute, standardise, test): ours ${ours.seconds.toFixed(3)} s${typeof limixScan === 'number' ? `, limix ${limixScan.toFixed(3)} s` : ''}`,
);

reportSummary([
  {
    bench: 'lowrank',
    job: `low-rank null fit (GP2KronSumLR), N ${n}, rank ${w.cols}`,
    lmmkit: oursNull,
    peer: 'limix-lmm',
    peerTime: limixNull,
    kind: 'speed-up',
  },
  {
    bench: 'lowrank',
    job: `low-rank scan, chr22 ${ours.log10p.length} variants`,
    lmmkit: ours.seconds,
    peer: 'limix-lmm',
    peerTime: limixScan,
    kind: 'speed-up',
  },
]);
