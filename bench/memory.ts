// Memory benchmark of the kinship path: `lmmkit gwas --kinship-from-bfile
// --test exact` (runGwas, as the command runs it) on a seeded synthetic
// PLINK file, with the peak resident memory of each stage (kinship pass,
// eigendecomposition, null fit, scan) in bytes and in units of N x N x 8
// bytes, and the whole run's time and peak. Each stage's peak is the
// kernel's high-water mark VmHWM, reset (Linux clear_refs 5) whenever a
// stage starts or ends, so a stage's figure is the most the process held
// while it ran; a nested stage (the eigendecomposition inside a null fit)
// is counted apart from its parent. Garbage is collected at each cut, so
// that a stage is not charged with the dead arrays of the one before. Prints figures; asserts nothing.
//
// Each size runs in two child processes: one simulates and writes the
// data (its N x S dosages are not the run's), one runs the scan and reports.
//
// Sizes: LMMKIT_BENCH_MEM_N (samples, default 10000), LMMKIT_BENCH_MEM_S
// (variants, default 10000). LMMKIT_BENCH_MEM_BIG=1 also runs N = 20 000 x
// 20 000 variants (about 12 GB and 30 to 60 minutes on 2 cores);
// LMMKIT_BENCH_KEEP=1 keeps the temporary files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ProgressReporter } from '../src/data/node/progress.js';
import { writeBed } from '../src/data/plink/write-bed.js';
import { writeTsv } from '../src/data/write-tsv.js';
import { getBackend } from '../src/node.js';
import { simulateGwas } from '../src/sim/gwas.js';
import { runGwas } from '../src/workflow/gwas.js';
import { envInt, machineLine } from './common.js';

/** One stage's figures: its peak resident bytes and its wall seconds. */
interface StageFigure {
  stage: string;
  peak: number;
  seconds: number;
}

/** What a measuring child reports. */
interface RunFigures {
  n: number;
  s: number;
  base: number;
  peak: number;
  seconds: number;
  stages: StageFigure[];
}

// A callable gc: each stage's peak is then what it holds, not garbage of the stage before.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The kernel's resident high-water mark of this process, in bytes. */
function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (m === null) throw new Error('memory bench: /proc/self/status has no VmHWM (needs Linux)');
  return Number(m[1]) * 1024;
}

/** Resets VmHWM to the current resident size (Linux clear_refs 5). */
function resetHwm(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}

/**
 * A progress factory that splits the run at every stage start and end and
 * charges each piece's VmHWM to the innermost stage open then (outside any
 * stage: 'between stages').
 */
class StagePeaks {
  private readonly open: { stage: string; t0: number }[] = [];
  private readonly figures = new Map<string, StageFigure>();
  peak = 0;

  /** The `progress` option of runGwas. */
  readonly progress = (stage = 'read'): ProgressReporter => {
    this.cut();
    const entry = { stage: stageName(stage), t0: performance.now() };
    this.open.push(entry);
    let stopped = false;
    const reporter = (() => {}) as unknown as ProgressReporter;
    reporter.stop = () => {
      if (stopped) return;
      stopped = true;
      this.cut();
      this.open.splice(this.open.indexOf(entry), 1);
      const f = this.figure(entry.stage);
      f.seconds += (performance.now() - entry.t0) / 1000;
      // As it goes, for a long run stopped before its end.
      process.stderr.write(`  [${new Date().toISOString()}] ${f.stage}: peak ${f.peak} bytes so far, ${f.seconds.toFixed(1)} s\n`);
    };
    return reporter;
  };

  /** Ends the current piece: its VmHWM goes to the innermost open stage. */
  cut(): void {
    const hwm = vmHwm();
    gc();
    this.peak = Math.max(this.peak, hwm);
    const f = this.figure(this.open.at(-1)?.stage ?? 'between stages');
    f.peak = Math.max(f.peak, hwm);
    resetHwm();
  }

  stages(): StageFigure[] {
    return [...this.figures.values()];
  }

  private figure(stage: string): StageFigure {
    let f = this.figures.get(stage);
    if (f === undefined) {
      f = { stage, peak: 0, seconds: 0 };
      this.figures.set(stage, f);
    }
    return f;
  }
}

/** A stage's name without its trait or size ('null fit of trait 'y'' -> 'null fit'). */
function stageName(stage: string): string {
  return stage.replace(/ of trait .*$/, '').replace(/ \(\d+ x \d+\)$/, '');
}

/** Child: simulates N samples x S variants and writes DIR/geno.{bed,bim,fam} and DIR/pheno.tsv. */
async function makeData(dir: string, n: number, s: number): Promise<void> {
  const sim = simulateGwas({ samples: n, variants: s, seed: 11, causal: 5, h2Causal: 0.25, h2Population: 0.1 });
  await writeBed(join(dir, 'geno'), sim.dosages, sim.samples, sim.variants);
  await writeTsv(join(dir, 'pheno.tsv'), [
    { name: 'FID', values: sim.samples.fid },
    { name: 'IID', values: sim.samples.iid },
    { name: 'trait', values: sim.phenotype },
  ]);
}

/** Child: `lmmkit gwas --kinship-from-bfile --test exact` on DIR's data, its figures as JSON on stdout. */
async function measure(dir: string, n: number, s: number): Promise<void> {
  getBackend();
  const base = process.memoryUsage().rss;
  const peaks = new StagePeaks();
  resetHwm();
  const t0 = performance.now();
  await runGwas({
    bfile: join(dir, 'geno'),
    pheno: join(dir, 'pheno.tsv'),
    kinshipFromGenotypes: true,
    test: 'exact',
    out: join(dir, 'out'),
    progress: peaks.progress,
    log: () => {},
  });
  const seconds = (performance.now() - t0) / 1000;
  peaks.cut();
  const figures: RunFigures = { n, s, base, peak: peaks.peak, seconds, stages: peaks.stages() };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

/** Runs this file as a child in `mode`; its stdout. */
function child(mode: 'make' | 'measure', dir: string, n: number, s: number): string {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), mode, dir, String(n), String(s)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`memory bench: the ${mode} child for N = ${n} exited with ${r.status ?? r.signal}`);
  return r.stdout;
}

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(2)} GB`;

/** Prints one size's figures. */
function report(f: RunFigures): void {
  const unit = f.n * f.n * 8;
  const units = (bytes: number): string => `${(bytes / unit).toFixed(2)} N^2x8`;
  console.log(`N = ${f.n}, S = ${f.s}: N^2 x 8 = ${gb(unit)}; process baseline ${gb(f.base)}`);
  for (const st of f.stages) {
    console.log(
      `  ${st.stage.padEnd(20)} peak ${String(st.peak).padStart(12)} bytes = ${gb(st.peak).padStart(8)} = ${units(st.peak)} ` +
        `(above baseline ${units(st.peak - f.base)}), ${st.seconds.toFixed(1)} s`,
    );
  }
  console.log(`  whole run: ${f.seconds.toFixed(1)} s, peak ${f.peak} bytes = ${gb(f.peak)} = ${units(f.peak)} (above baseline ${units(f.peak - f.base)})`);
}

/** Parent: each size, data then measure, in children. */
function main(): void {
  const sizes: [number, number][] = [[envInt('LMMKIT_BENCH_MEM_N', 10_000), envInt('LMMKIT_BENCH_MEM_S', 10_000)]];
  if (process.env.LMMKIT_BENCH_MEM_BIG === '1') sizes.push([20_000, 20_000]);
  console.log(`memory of the kinship path (lmmkit gwas --kinship-from-bfile --test exact); ${machineLine(getBackend())}`);
  for (const [n, s] of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-mem-'));
    try {
      child('make', dir, n, s);
      report(JSON.parse(child('measure', dir, n, s)) as RunFigures);
    } finally {
      if (process.env.LMMKIT_BENCH_KEEP === '1') console.log(`  kept ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    }
  }
}

const [mode, dirArg, nArg, sArg] = process.argv.slice(2);
if (mode === 'make') await makeData(dirArg!, Number(nArg), Number(sArg));
else if (mode === 'measure') await measure(dirArg!, Number(nArg), Number(sArg));
else main();
