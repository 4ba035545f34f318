// GWAS scan benchmark: on a seeded synthetic PLINK file (N = 5000 samples,
// S = 20 000 variants by default) with a full-rank GEMMA-style kinship, times
// the null fit, the fixed-delta scan (limix's test), the exact per-variant
// test (GEMMA's: all three tests as `gemma -lmm 4`, and the Wald test alone
// as `gemma -lmm 1`), one gemm U^T G of the same shape (the machine's limit
// for the scan) and `gemma -lmm 1` and `gemma -lmm 4` on the same files when
// gemma is installed, and limix-lmm's LMM with the same covariance (the
// null fit's sigmaG2 K + sigmaE2 I, given through its eigendecomposition) when
// it is set up (scripts/setup-peers.sh), in the same run, with the peak RSS of
// the scans at S and S/4 variants. Prints figures and ratios and a summary
// table; asserts nothing.
//
// Sizes: LMMKIT_BENCH_N (samples, default 5000), LMMKIT_BENCH_S (variants,
// default 20000), LMMKIT_BENCH_BATCH (variants per scan batch, default 1000),
// LMMKIT_BENCH_GEMMA_VARIANTS (run gemma on the first that many variants only
// and extrapolate its per-variant time; default all), LMMKIT_BENCH_GEMMA=0
// skips gemma, LMMKIT_BENCH_GEMMA4=0 skips `gemma -lmm 4` only,
// LMMKIT_BENCH_LIMIX_S (run limix on the first that many variants only and
// scale its time to S; default all), LMMKIT_BENCH_LIMIX=0 skips limix,
// LMMKIT_BENCH_KEEP=1 keeps the temporary files.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Matrix, getBackend } from '../src/node.js';
import type { Eigen } from '../src/linalg/backend.js';
import { kinship } from '../src/data/kinship.js';
import { openBed } from '../src/data/node/bed.js';
import { writeBed } from '../src/data/plink/write-bed.js';
import { writeMatrixTsv } from '../src/data/write-tsv.js';
import type { GenotypeSource } from '../src/data/genotypes.js';
import type { VariantTable } from '../src/data/variants.js';
import { fitKinshipNull, type KinshipNullModel } from '../src/nullmodel/fit-kinship.js';
import type { ExactTestName } from '../src/scan/exact.js';
import { gwasScan } from '../src/scan/gwas.js';
import { simulateGwas } from '../src/sim/gwas.js';
import { envInt, machineLine, secondsSince as seconds } from './common.js';
import { limixStatus, pvAgreement, readRawF64, runLimix, writeRaw, type RawArray } from './peers.js';
import { reportSummary, type SummaryRow } from './summary-rows.js';

const N = envInt('LMMKIT_BENCH_N', 5000);
const S = envInt('LMMKIT_BENCH_S', 20_000);
const BATCH = envInt('LMMKIT_BENCH_BATCH', 1000);
const S_SMALL = Math.max(1, Math.floor(S / 4));
const GEMMA_S = Math.min(S, envInt('LMMKIT_BENCH_GEMMA_VARIANTS', S));
/** Variants of the short gemma run that measures its fixed cost (reading K, eigen, null fit). */
const GEMMA_TINY = Math.min(GEMMA_S, 100);
const LIMIX_S = Math.min(S, envInt('LMMKIT_BENCH_LIMIX_S', S));

// A callable gc, so that the peak RSS of a scan is not inflated by garbage of the previous step.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** CPU seconds of this process (all its threads, BLAS's included) so far: on a shared machine, steadier than wall time. */
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const log = (line: string): void => console.log(line);

/**
 * Runs `fn`, sampling `process.memoryUsage().rss` every 25 ms (between the
 * scan's awaits) and whenever `sample` is called; also reads the kernel's
 * high-water mark VmHWM after resetting it (Linux clear_refs 5), which sees
 * peaks that fall between samples.
 */
async function withPeakRss<T>(fn: (sample: () => void) => Promise<T>): Promise<{ value: T; base: number; peak: number; hwm?: number }> {
  gc();
  gc();
  let hwmOk = false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    hwmOk = true;
  } catch {
    // not Linux, or not allowed: rely on the samples
  }
  const base = process.memoryUsage().rss;
  let peak = base;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 25);
  try {
    const value = await fn(sample);
    sample();
    let hwm: number | undefined;
    if (hwmOk) {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m) hwm = Number(m[1]) * 1024;
    }
    return { value, base, peak, hwm };
  } finally {
    clearInterval(timer);
  }
}

interface ScanFigures {
  seconds: number;
  cpu: number;
  tested: number;
  base: number;
  peak: number;
  hwm?: number;
  /** -log10 p of the tested variants by id (the exact test's Wald p-value), when asked. */
  log10p?: Map<string, number>;
  minLog10p: number;
}

/**
 * limix-lmm's LMM on the first LIMIX_S variants with the null fit's
 * covariance, through bench/peers/limix_peer.py's 'fixed' job (in batches of
 * BATCH, like our scan): its time, and its p-values next to ours.
 */
function limixFixed(dir: string, g: RawArray, nullFit: KinshipNullModel, eigen: Eigen, ours: Map<string, number>, ids: readonly string[]): number | string {
  const limix = limixStatus();
  if (!limix.ok) return limix.line;
  if (process.env.LMMKIT_BENCH_LIMIX === '0') return 'limix-lmm: skipped (LMMKIT_BENCH_LIMIX=0)';
  log(`running ${limix.label}: LMM(y, 1, Ki_dot).process per batch of ${BATCH} on ${LIMIX_S} of ${S} variants ...`);
  const r = runLimix(dir, 'fixed', {
    batch: BATCH,
    sigmaG2: nullFit.sigmaG2,
    sigmaE2: nullFit.sigmaE2,
    arrays: { y: writeRaw(join(dir, 'y.f64'), nullFit.y), U: writeRaw(join(dir, 'U.f64'), eigen.vectors), s: writeRaw(join(dir, 's.f64'), eigen.values), G: g },
  });
  if (typeof r === 'string') return `limix-lmm: ${r}`;
  const t = r.seconds as number;
  const lp = Float64Array.from(ids.slice(0, LIMIX_S), (id) => -(ours.get(id) ?? Number.NaN));
  log(
    `limix-lmm (numpy ${r.numpy}, scipy ${r.scipy}): ${t.toFixed(2)} s for ${LIMIX_S} variants${LIMIX_S < S ? `, SCALED to ${S}: ${((t * S) / LIMIX_S).toFixed(2)} s` : ''}; p-values vs our fixed scan: ${pvAgreement(lp, readRawF64(r.pv as string))}`,
  );
  return (t * S) / LIMIX_S;
}

async function timeScan(source: GenotypeSource, nullFit: KinshipNullModel, test: 'fixed' | 'exact', keep = false, firstOnly?: number): Promise<ScanFigures> {
  const t0 = performance.now();
  const c0 = cpuNow();
  const r = await withPeakRss(async (sample) => {
    let tested = 0;
    let minLog10p = 0;
    const log10p = keep ? new Map<string, number>() : undefined;
    for await (const b of gwasScan({
      source,
      null: nullFit,
      test,
      batchSize: BATCH,
      select: firstOnly === undefined ? undefined : { range: [0, firstOnly] },
      onProgress: sample,
    })) {
      sample();
      const lp = test === 'fixed' ? b.fixed!.log10pv : b.exact!.log10pWald;
      tested += lp.length;
      for (let j = 0; j < lp.length; j++) {
        if (lp[j]! < minLog10p) minLog10p = lp[j]!;
        log10p?.set(b.variants.id[j]!, -lp[j]!);
      }
    }
    return { tested, minLog10p, log10p };
  });
  return {
    seconds: seconds(t0),
    cpu: cpuNow() - c0,
    tested: r.value.tested,
    base: r.base,
    peak: r.peak,
    hwm: r.hwm,
    log10p: r.value.log10p,
    minLog10p: r.value.minLog10p,
  };
}

/** What an exact-test scan reports per variant (-log10 p by id) and its search work. */
interface ExactFigures {
  seconds: number;
  cpu: number;
  tested: number;
  log10p: { wald: Map<string, number>; lrt: Map<string, number>; score: Map<string, number> };
  evaluations: number;
  passes: number;
}

/**
 * The exact test with a choice of tests (`gwasScan`'s `exactTests`; its
 * default runs all three): gwasScan's own steps per batch (read with the
 * reader's genotype counts, filter and mean-impute in place, rotate U^T G
 * into two reused buffers in turn, the next batch's rotation beside this
 * batch's searches, one ExactScan's test), so that the figure is the
 * library's path and not a copy of it.
 */
async function timeExact(source: GenotypeSource, nullFit: KinshipNullModel, tests: ExactTestName[], firstOnly?: number): Promise<ExactFigures> {
  const t0 = performance.now();
  const c0 = cpuNow();
  const f: ExactFigures = { seconds: 0, cpu: 0, tested: 0, log10p: { wald: new Map(), lrt: new Map(), score: new Map() }, evaluations: 0, passes: 0 };
  for await (const b of gwasScan({
    source,
    null: nullFit,
    test: 'exact',
    exactTests: tests,
    batchSize: BATCH,
    select: firstOnly === undefined ? undefined : { range: [0, firstOnly] },
  })) {
    const r = b.exact!;
    f.tested += r.log10pWald.length;
    f.evaluations += r.work.evaluations;
    f.passes += r.work.passes;
    for (let j = 0; j < r.log10pWald.length; j++) {
      const id = b.variants.id[j]!;
      f.log10p.wald.set(id, -r.log10pWald[j]!);
      f.log10p.lrt.set(id, -r.log10pLrt[j]!);
      f.log10p.score.set(id, -r.log10pScore[j]!);
    }
  }
  f.seconds = seconds(t0);
  f.cpu = cpuNow() - c0;
  return f;
}

function firstVariants(v: VariantTable, s: number): VariantTable {
  return { chrom: v.chrom.slice(0, s), id: v.id.slice(0, s), cm: v.cm.slice(0, s), pos: v.pos.slice(0, s), a1: v.a1.slice(0, s), a2: v.a2.slice(0, s) };
}

interface GemmaRun {
  wall: number;
  /** User + system CPU seconds of the gemma process (/usr/bin/time), when measured. */
  cpu?: number;
  variants: number;
  analysed?: number;
  /** GEMMA's own breakdown from its log: clock() CPU time of all threads (minutes there, seconds here), not wall time. */
  cpuTotal?: number;
  cpuEigen?: number;
  cpuUtx?: number;
  cpuOptimization?: number;
  /** -log10 p_wald by rs id (and p_lrt, p_score for -lmm 4). */
  log10p: Map<string, number>;
  log10pLrt: Map<string, number>;
  log10pScore: Map<string, number>;
}

function gemmaInstalled(): string | undefined {
  if (process.env.LMMKIT_BENCH_GEMMA === '0') return 'skipped (LMMKIT_BENCH_GEMMA=0)';
  if (spawnSync('sh', ['-c', 'command -v gemma']).status !== 0) return 'not installed';
  return undefined;
}

function runGemma(prefix: string, kfile: string, outdir: string, variants: number, lmm: 1 | 4 = 1): GemmaRun | string {
  const t0 = performance.now();
  const args = ['-bfile', prefix, '-k', kfile, '-lmm', String(lmm), '-outdir', outdir, '-o', 'bench'];
  // /usr/bin/time reports the child's CPU time on stderr's last line.
  const timed = existsSync('/usr/bin/time');
  const r = timed
    ? spawnSync('/usr/bin/time', ['-f', 'LMMKIT_CPU %U %S', 'gemma', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })
    : spawnSync('gemma', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = seconds(t0);
  if (r.status !== 0) return `failed: ${(r.stdout + r.stderr).trim().split('\n').slice(-3).join(' ')}`;
  const cpuLine = /LMMKIT_CPU ([0-9.]+) ([0-9.]+)/.exec(r.stderr ?? '');
  const cpu = cpuLine ? Number(cpuLine[1]) + Number(cpuLine[2]) : undefined;
  const logText = existsSync(join(outdir, 'bench.log.txt')) ? readFileSync(join(outdir, 'bench.log.txt'), 'utf8') : '';
  const minutes = (label: RegExp): number | undefined => {
    const m = label.exec(logText);
    return m ? Number(m[1]) * 60 : undefined;
  };
  const analysed = /number of analyzed SNPs(?:\/var)?\s*=\s*(\d+)/.exec(logText);
  const log10p = new Map<string, number>();
  const log10pLrt = new Map<string, number>();
  const log10pScore = new Map<string, number>();
  const assoc = join(outdir, 'bench.assoc.txt');
  if (existsSync(assoc)) {
    const lines = readFileSync(assoc, 'utf8').trim().split('\n');
    const head = lines[0]!.split('\t');
    const rs = head.indexOf('rs');
    const cols: [number, Map<string, number>][] = [
      [head.indexOf('p_wald'), log10p],
      [head.indexOf('p_lrt'), log10pLrt],
      [head.indexOf('p_score'), log10pScore],
    ];
    for (const line of lines.slice(1)) {
      const f = line.split('\t');
      for (const [c, m] of cols) if (c >= 0) m.set(f[rs]!, -Math.log10(Number(f[c])));
    }
  }
  return {
    wall,
    cpu,
    variants,
    analysed: analysed ? Number(analysed[1]) : undefined,
    cpuTotal: minutes(/total computation time\s*=\s*([0-9.eE+-]+)/),
    cpuEigen: minutes(/time on eigen-decomposition\s*=\s*([0-9.eE+-]+)/),
    cpuUtx: minutes(/time on calculating UtX\s*=\s*([0-9.eE+-]+)/),
    cpuOptimization: minutes(/time on optimization\s*=\s*([0-9.eE+-]+)/),
    log10p,
    log10pLrt,
    log10pScore,
  };
}

/** Aligned columns: the first left, the others right, or the last left too (a free-text note) with `noteLast`. */
function table(rows: string[][], noteLast = false): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const last = rows[0]!.length - 1;
  const pad = (cell: string, c: number): string => {
    if (c === last && noteLast) return cell;
    return c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!);
  };
  return rows.map((r) => r.map(pad).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  const tStart = performance.now();
  const be = getBackend();
  log(`lmmkit GWAS bench: N = ${N}, S = ${S} (and S/4 = ${S_SMALL} for memory), batch ${BATCH}; ${machineLine(be)}`);
  const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-gwas-'));
  try {
    const prefix = join(dir, 'sim');
    const prefixSmall = join(dir, 'sim_quarter');
    let t0 = performance.now();
    let sim: ReturnType<typeof simulateGwas> | undefined = simulateGwas({ samples: N, variants: S, seed: 2026 });
    const y = sim.phenotype;
    const tSim = seconds(t0);
    t0 = performance.now();
    await writeBed(prefix, sim.dosages, sim.samples, sim.variants, y);
    await writeBed(prefixSmall, sim.dosages.colView(0, S_SMALL), sim.samples, firstVariants(sim.variants, S_SMALL), y);
    const gemmaMissing = gemmaInstalled();
    let prefixGemma = prefix;
    const prefixTiny = join(dir, 'sim_tiny');
    if (gemmaMissing === undefined) {
      if (GEMMA_S < S) {
        prefixGemma = join(dir, 'sim_gemma');
        await writeBed(prefixGemma, sim.dosages.colView(0, GEMMA_S), sim.samples, firstVariants(sim.variants, GEMMA_S), y);
      }
      if (GEMMA_TINY < GEMMA_S) await writeBed(prefixTiny, sim.dosages.colView(0, GEMMA_TINY), sim.samples, firstVariants(sim.variants, GEMMA_TINY), y);
    }
    const written = [
      S,
      S_SMALL,
      ...(gemmaMissing === undefined && GEMMA_S < S ? [GEMMA_S] : []),
      ...(gemmaMissing === undefined && GEMMA_TINY < GEMMA_S ? [GEMMA_TINY] : []),
    ];
    log(
      `simulated (seed 2026, 3 populations, F_ST 0.05, 10 causal) in ${tSim.toFixed(1)} s; wrote .bed/.bim/.fam files of ${written.join(', ')} variants in ${seconds(t0).toFixed(1)} s`,
    );
    // limix reads float32 dosages (NaN = missing) of the variants it scans.
    const limixG = limixStatus().ok && process.env.LMMKIT_BENCH_LIMIX !== '0' ? writeRaw(join(dir, 'G.f32'), sim.dosages.colView(0, LIMIX_S), true) : undefined;
    sim = undefined; // the scans read the file; keep the N x S dosages out of their memory figures

    const bed = await openBed(prefix);
    const bedSmall = await openBed(prefixSmall);
    t0 = performance.now();
    let k: Matrix | undefined = (await kinship(bed, { method: 'centered' })).k;
    const tKin = seconds(t0);
    const kfile = join(dir, 'sim.cXX.txt');
    t0 = performance.now();
    await writeMatrixTsv(kfile, k);
    const tKwrite = seconds(t0);
    t0 = performance.now();
    const eigen: Eigen = be.syevd(k);
    const tEig = seconds(t0);
    k = undefined;
    const minEig = eigen.values[0]!;
    t0 = performance.now();
    const covariates = new Matrix(N, 1, new Float64Array(N).fill(1));
    const nullFit = fitKinshipNull({ y, covariates, kinship: eigen });
    const tFit = seconds(t0);
    const positive = eigen.values.reduce((c, v) => c + (v > 1e-8 * eigen.values[N - 1]! ? 1 : 0), 0);
    log(
      `kinship (centered, GEMMA -gk 1) ${tKin.toFixed(1)} s; written as GEMMA .cXX.txt in ${tKwrite.toFixed(1)} s; ${positive} of ${N} eigenvalues > 1e-8 max (smallest ${minEig.toExponential(2)}: the centred kinship has one null direction, the mean)`,
    );
    log(`null fit: REML lambda = ${nullFit.lambda.toPrecision(5)} (sigmaG2 ${nullFit.sigmaG2.toPrecision(4)}, sigmaE2 ${nullFit.sigmaE2.toPrecision(4)})`);

    // Warm-up (JIT, BLAS threads, the exact test's code paths) on a few batches.
    await timeScan(bed, nullFit, 'fixed', false, Math.min(S, 2 * BATCH));
    await timeScan(bed, nullFit, 'exact', false, Math.min(S, 200));
    await timeExact(bed, nullFit, ['wald'], Math.min(S, 200));

    // The machine's limit in the scan's shape: U^T G_b for ceil(S / batch)
    // batches N x batch (one batch's dosages reused: gemm's time does not
    // depend on the values), timed just before and just after the fixed scan
    // so that the ratio compares neighbouring moments on a shared machine.
    const u = eigen.vectors;
    const gb = await bed.read(Int32Array.from({ length: Math.min(S, BATCH) }, (_, j) => j));
    const batchedGemm = (): number => {
      const t = performance.now();
      for (let j = 0; j < S; j += BATCH) be.gemm(u, gb.colView(0, Math.min(S - j, BATCH)), { transA: true });
      return seconds(t);
    };
    be.gemm(u, gb, { transA: true }); // warm-up
    log('scanning ...');
    const tGemmBatchesBefore = batchedGemm();
    const fixed = await timeScan(bed, nullFit, 'fixed', true);
    const tGemmBatchesAfter = batchedGemm();
    const limixSeconds =
      limixG === undefined
        ? limixStatus().ok
          ? 'limix-lmm: skipped (LMMKIT_BENCH_LIMIX=0)'
          : (limixStatus() as { line: string }).line
        : limixFixed(dir, limixG, nullFit, eigen, fixed.log10p!, bed.variants.id);
    if (typeof limixSeconds === 'string') log(limixSeconds);
    const tGemmBatches = Math.min(tGemmBatchesBefore, tGemmBatchesAfter);
    const fixedSmall = await timeScan(bedSmall, nullFit, 'fixed');
    const exact = await timeScan(bed, nullFit, 'exact', true);
    const exactSmall = await timeScan(bedSmall, nullFit, 'exact');
    await bedSmall.close();
    // gwasScan with the tests chosen: Wald only (gemma -lmm 1's work) and all three (gemma -lmm 4's), with their search work.
    const exactWald = await timeExact(bed, nullFit, ['wald']);
    const exactAll = await timeExact(bed, nullFit, ['wald', 'lrt', 'score']);

    // The machine's limit: one U^T G for the whole N x S dosage matrix.
    log('timing the single gemm U^T G ...');
    gc();
    const g = await bed.read(Int32Array.from({ length: S }, (_, j) => j));
    await bed.close();
    t0 = performance.now();
    const cpuGemm0 = cpuNow();
    be.gemm(u, g, { transA: true });
    const tGemm = seconds(t0);
    const cpuGemm = cpuNow() - cpuGemm0;
    const gflop = (2 * N * N * S) / 1e9;

    // GEMMA's marginal wall time per variant (reading the bed, U^T X, the
    // lambda searches and the tests), from a full run minus a short one: wall
    // clock only, its eigendecomposition and K parsing cancel out.
    interface GemmaTiming {
      lmm: 1 | 4;
      full: GemmaRun | string;
      tiny: GemmaRun | string;
      perVariant?: number;
      /** Why there is no per-variant time though both runs succeeded. */
      noPerVariant?: string;
      fixedCost?: number;
      cpuPerVariant?: number;
    }
    const gemmaTiming = (lmm: 1 | 4, missing: string | undefined): GemmaTiming => {
      const t: GemmaTiming = { lmm, full: missing ?? '', tiny: missing ?? '' };
      if (missing !== undefined) return t;
      if (GEMMA_TINY < GEMMA_S) {
        log(`running gemma -lmm ${lmm} on ${GEMMA_TINY} variants (its fixed cost) ...`);
        t.tiny = runGemma(prefixTiny, kfile, join(dir, `gemma${lmm}_tiny`), GEMMA_TINY, lmm);
      }
      log(`running gemma -lmm ${lmm} on ${GEMMA_S} variants ...`);
      t.full = runGemma(prefixGemma, kfile, join(dir, `gemma${lmm}`), GEMMA_S, lmm);
      if (typeof t.full !== 'string' && typeof t.tiny !== 'string') {
        const perVariant = (t.full.wall - t.tiny.wall) / (t.full.variants - t.tiny.variants);
        // On a busy machine the short run can take longer than the full one: no per-variant time then.
        if (!(perVariant > 0))
          return { ...t, noPerVariant: `its ${t.tiny.variants}-variant run took longer than the ${t.full.variants}-variant one (a busy machine)` };
        t.perVariant = perVariant;
        t.fixedCost = t.tiny.wall - t.perVariant * t.tiny.variants;
        if (t.full.cpu !== undefined && t.tiny.cpu !== undefined) t.cpuPerVariant = (t.full.cpu - t.tiny.cpu) / (t.full.variants - t.tiny.variants);
      }
      return t;
    };
    const gemma1 = gemmaTiming(1, gemmaMissing);
    const gemma4 = gemmaTiming(4, gemmaMissing ?? (process.env.LMMKIT_BENCH_GEMMA4 === '0' ? 'skipped (LMMKIT_BENCH_GEMMA4=0)' : undefined));

    // The table.
    const rate = (n: number, s: number): string => `${(n / s).toFixed(0)}`;
    const rows: string[][] = [['step', 'seconds', 'variants/s', 'CPU s', 'note']];
    rows.push([`kinship K = X X^T / S (N ${N}, S ${S})`, tKin.toFixed(2), rate(S, tKin), '-', 'syrk per block of 2048']);
    rows.push([`eigendecomposition of K (syevd, N ${N})`, tEig.toFixed(2), '-', '-', 'once per kinship']);
    rows.push(['null fit (rotate y, REML over lambda)', tFit.toFixed(3), '-', '-', 'after the eigen']);
    rows.push([
      `fixed-delta scan, S = ${S}`,
      fixed.seconds.toFixed(2),
      rate(fixed.tested, fixed.seconds),
      fixed.cpu.toFixed(2),
      `${fixed.tested} tested; min p 1e${fixed.minLog10p.toFixed(1)}`,
    ]);
    rows.push([
      `exact test (Wald + LRT + score) in gwasScan, S = ${S}`,
      exact.seconds.toFixed(2),
      rate(exact.tested, exact.seconds),
      exact.cpu.toFixed(2),
      `${exact.tested} tested; min Wald p 1e${exact.minLog10p.toFixed(1)}`,
    ]);
    const work = (f: ExactFigures): string =>
      `${(f.evaluations / f.tested).toFixed(1)} likelihood evaluations / variant, ${(f.passes / f.tested).toFixed(2)} of them O(N) passes`;
    rows.push([
      `exact test, all three (gwasScan, search work), S = ${S}`,
      exactAll.seconds.toFixed(2),
      rate(exactAll.tested, exactAll.seconds),
      exactAll.cpu.toFixed(2),
      `like gemma -lmm 4; ${work(exactAll)}`,
    ]);
    rows.push([
      `exact test, Wald only (tests: ['wald']), S = ${S}`,
      exactWald.seconds.toFixed(2),
      rate(exactWald.tested, exactWald.seconds),
      exactWald.cpu.toFixed(2),
      `like gemma -lmm 1; ${work(exactWald)}`,
    ]);
    rows.push([`gemm U^T G, one ${N}x${N} by ${N}x${S}`, tGemm.toFixed(2), rate(S, tGemm), cpuGemm.toFixed(2), `${(gflop / tGemm).toFixed(1)} GFLOP/s`]);
    rows.push([
      `gemm U^T G, ${Math.ceil(S / BATCH)} batches of ${N}x${BATCH}`,
      tGemmBatches.toFixed(2),
      rate(S, tGemmBatches),
      '-',
      `${(gflop / tGemmBatches).toFixed(1)} GFLOP/s; best of ${tGemmBatchesBefore.toFixed(2)} s before and ${tGemmBatchesAfter.toFixed(2)} s after the fixed scan`,
    ]);
    const cpu = (g: GemmaRun): string =>
      `log (CPU s, all threads): eigen ${g.cpuEigen?.toFixed(1) ?? '?'}, UtX ${g.cpuUtx?.toFixed(1) ?? '?'}, optim. ${g.cpuOptimization?.toFixed(1) ?? '?'}, total ${g.cpuTotal?.toFixed(1) ?? '?'}`;
    for (const gt of [gemma1, gemma4]) {
      const name = `gemma -lmm ${gt.lmm}`;
      const { full, tiny } = gt;
      if (typeof tiny !== 'string') {
        rows.push([
          `${name}, wall, S = ${tiny.variants}`,
          tiny.wall.toFixed(2),
          '-',
          tiny.cpu?.toFixed(2) ?? '-',
          `reads K text, eigen, null fit; ${cpu(tiny)}`,
        ]);
      }
      if (typeof full !== 'string') {
        rows.push([
          `${name}, wall, S = ${full.variants}`,
          full.wall.toFixed(2),
          rate(full.variants, full.wall),
          full.cpu?.toFixed(2) ?? '-',
          `analysed ${full.analysed ?? '?'}; ${cpu(full)}`,
        ]);
        if (gt.perVariant !== undefined) {
          rows.push([
            `${name} per-variant part (S ${full.variants} - S ${GEMMA_TINY} run)`,
            (gt.perVariant * (full.variants - GEMMA_TINY)).toFixed(2),
            (1 / gt.perVariant).toFixed(0),
            gt.cpuPerVariant === undefined ? '-' : (gt.cpuPerVariant * (full.variants - GEMMA_TINY)).toFixed(2),
            `fixed cost ${gt.fixedCost!.toFixed(1)} s (K text, eigen, null fit)`,
          ]);
          if (full.variants < S) {
            rows.push([
              `EXTRAPOLATED ${name} wall at S = ${S}`,
              (gt.fixedCost! + gt.perVariant * S).toFixed(2),
              (1 / gt.perVariant).toFixed(0),
              '-',
              `fixed cost + ${S} x per-variant time measured on ${full.variants}`,
            ]);
          }
        }
      } else if (full !== '') {
        rows.push([name, '-', '-', '-', full]);
      }
      if (typeof tiny === 'string' && tiny !== '' && tiny !== full) rows.push([`${name} (short run)`, '-', '-', '-', tiny]);
    }
    log('');
    log(table(rows, true));

    log('');
    const mem: string[][] = [['peak RSS (process.memoryUsage sampled; VmHWM)', 'before', 'peak', 'peak - before', 'VmHWM']];
    for (const [label, f] of [
      [`fixed scan, S = ${S}`, fixed],
      [`fixed scan, S/4 = ${S_SMALL}`, fixedSmall],
      [`exact test, S = ${S}`, exact],
      [`exact test, S/4 = ${S_SMALL}`, exactSmall],
    ] as const) {
      mem.push([label, mib(f.base), mib(f.peak), mib(f.peak - f.base), f.hwm !== undefined ? mib(f.hwm) : '-']);
    }
    log(table(mem));
    log(
      `(the process holds U, ${mib(8 * N * N)}, throughout; one batch of ${BATCH} dosages is ${mib(8 * N * BATCH)}; the whole N x S matrix would be ${mib(8 * N * S)})`,
    );

    log('');
    log(`headline: fixed-delta scan / one gemm U^T G      = ${(fixed.seconds / tGemm).toFixed(2)}x   (target <= 1.5x: the distance to the machine's limit)`);
    // CPU seconds of all threads: the scan and the gemm are timed minutes apart, and on a shared machine a
    // neighbour's burst lengthens one wall time and not the other; their CPU seconds move far less.
    log(
      `          in CPU seconds: fixed-delta scan / one gemm = ${(fixed.cpu / cpuGemm).toFixed(2)}x, exact test (Wald) / one gemm = ${(exactWald.cpu / cpuGemm).toFixed(2)}x`,
    );
    log(`          fixed-delta scan / batched gemms U^T G = ${(fixed.seconds / tGemmBatches).toFixed(2)}x   (the same gemm in the scan's batches of ${BATCH})`);
    if (typeof limixSeconds === 'number')
      log(
        `          limix-lmm (${limixSeconds.toFixed(1)} s${LIMIX_S < S ? ` SCALED from ${LIMIX_S} variants` : ''}, this run) / fixed-delta scan = ${(limixSeconds / fixed.seconds).toFixed(2)}x   (target >= 2x)`,
      );
    log(
      `          peak RSS, S vs S/4: fixed ${mib(fixed.peak - fixed.base)} vs ${mib(fixedSmall.peak - fixedSmall.base)} above the baseline, exact ${mib(exact.peak - exact.base)} vs ${mib(exactSmall.peak - exactSmall.base)} (independent of S when equal)`,
    );
    const concordance = (ours: Map<string, number>, theirs: Map<string, number>): string => {
      let shared = 0;
      let maxDiff = 0;
      let maxAt = '';
      for (const [id, lp] of theirs) {
        const o = ours.get(id);
        if (o === undefined || !Number.isFinite(o) || !Number.isFinite(lp)) continue;
        shared++;
        const d = Math.abs(o - lp) / Math.max(1, lp);
        if (d > maxDiff) {
          maxDiff = d;
          maxAt = id;
        }
      }
      return `${shared} shared variants, max |difference| / max(1, -log10 p) = ${maxDiff.toExponential(2)}${maxAt ? ` (at ${maxAt})` : ''}`;
    };
    const pairs: [GemmaTiming, ExactFigures, string][] = [
      [gemma1, exactWald, 'Wald only'],
      [gemma4, exactAll, 'all three tests'],
    ];
    for (const [gt, ours, what] of pairs) {
      const { full } = gt;
      if (typeof full === 'string') continue;
      const name = `gemma -lmm ${gt.lmm}`;
      const perVariant = ours.seconds / ours.tested;
      if (gt.perVariant !== undefined) {
        log(
          `          ${name} / our exact test (${what}), per variant = ${(gt.perVariant / perVariant).toFixed(2)}x   (target >= 5x for -lmm 1; like with like: gemma's marginal wall time per variant, its fixed cost removed, vs our scan after the null fit: read, rotate, test)`,
        );
        if (gt.cpuPerVariant !== undefined)
          log(
            `          ${name} / our exact test (${what}), CPU time per variant = ${(gt.cpuPerVariant / (ours.cpu / ours.tested)).toFixed(2)}x   (the same in CPU seconds of all threads: steadier on a shared machine)`,
          );
        const gemmaAtS = gt.fixedCost! + gt.perVariant * S;
        const oursTotal = tEig + tFit + ours.seconds;
        log(
          `          ${name} total / ours (eigen + null fit + exact scan, ${what}) = ${(gemmaAtS / oursTotal).toFixed(2)}x   (gemma ${gemmaAtS.toFixed(1)} s${full.variants < S ? ' EXTRAPOLATED' : ''} incl. parsing K; ours ${oursTotal.toFixed(1)} s)`,
        );
      } else {
        log(
          `          ${name} wall / our exact test (${what}), per variant = ${(full.wall / full.variants / perVariant).toFixed(2)}x   (gemma's whole run, eigen and K parsing included)`,
        );
      }
      log(`          Wald -log10 p, ours (${what}) vs ${name}: ${concordance(ours.log10p.wald, full.log10p)}`);
      if (gt.lmm === 4) {
        log(`          LRT -log10 p, ours vs ${name}: ${concordance(ours.log10p.lrt, full.log10pLrt)}`);
        log(`          score -log10 p, ours vs ${name}: ${concordance(ours.log10p.score, full.log10pScore)}`);
      }
    }
    if (typeof gemma1.full !== 'string' && gemma1.perVariant !== undefined) {
      log(
        `          (gemma -lmm 1 / our exact test in gwasScan, all three tests, per variant = ${(gemma1.perVariant / (exact.seconds / exact.tested)).toFixed(2)}x: the figure before the tests could be chosen)`,
      );
    }
    const summary: SummaryRow[] = [
      {
        bench: 'gwas',
        job: `fixed-delta scan, N ${N} x ${S} variants${LIMIX_S < S ? ` (limix on ${LIMIX_S}, scaled)` : ''}`,
        lmmkit: fixed.seconds,
        peer: 'limix-lmm',
        peerTime: limixSeconds,
        kind: 'speed-up',
        target: 2,
      },
      { bench: 'gwas', job: 'fixed-delta scan vs one gemm U^T G', lmmkit: fixed.seconds, peer: 'gemm', peerTime: tGemm, kind: 'within', target: 1.2 },
    ];
    const gemmaRow = (gt: GemmaTiming, ours: ExactFigures, what: string, target?: number): SummaryRow => ({
      bench: 'gwas',
      job: `exact test (${what}), ${S} variants: per-variant part`,
      lmmkit: ours.seconds,
      peer: `gemma -lmm ${gt.lmm}`,
      peerTime:
        gt.perVariant !== undefined
          ? gt.perVariant * S
          : typeof gt.full === 'string'
            ? `gemma -lmm ${gt.lmm}: ${gt.full || 'no per-variant time'}`
            : `gemma -lmm ${gt.lmm}: no per-variant time (${gt.noPerVariant ?? 'LMMKIT_BENCH_GEMMA_VARIANTS too small'})`,
      kind: 'speed-up',
      target,
    });
    summary.push(gemmaRow(gemma1, exactWald, 'Wald', 5));
    summary.push({
      bench: 'gwas',
      job: 'exact test (Wald) vs one gemm U^T G',
      lmmkit: exactWald.seconds,
      peer: 'gemm',
      peerTime: tGemm,
      kind: 'within',
      target: 1.2,
    });
    summary.push(gemmaRow(gemma4, exactAll, 'Wald, LRT, score'));
    reportSummary(summary);
    log(`total bench wall time ${seconds(tStart).toFixed(1)} s`);
  } finally {
    if (process.env.LMMKIT_BENCH_KEEP === '1') log(`kept the files in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
