// The infinitesimal model (`lmmkit gwas --method inf`, issue 18) against
// BOLT-LMM 2.4 (`bolt --lmmInfOnly`) in the same run, on seeded polygenic
// data with population structure written by lmmkit's own streaming
// simulator (PolygenicSimulation: 3 Balding-Nichols populations, F_ST 0.05,
// 10% of variants causal, h2 0.4, 22 chromosomes). Both run the whole
// analysis (variance components, LOCO, statistics for every variant) as
// separate processes with the same threads, each timed with GNU time (wall,
// CPU, peak resident memory). Prints the times and their ratio (target:
// lmmkit at least 3x faster), h2 of both, and how the chi-square statistics
// agree; asserts nothing.
//
// Sizes: N = 5000 x M = 20 000 (LMMKIT_BENCH_INF_N, LMMKIT_BENCH_INF_M);
// LMMKIT_BENCH_INF_BIG=1 adds N = 20 000 x 50 000 (BOLT-LMM takes the better
// part of an hour there on 2 cores); LMMKIT_BENCH_INF_STRETCH=1 adds
// N = 50 000 x 100 000, lmmkit only. LMMKIT_BENCH_INF_THREADS (default 2)
// sets BOLT's --numThreads and lmmkit's BLAS threads;
// LMMKIT_BENCH_INF_BOLT=0 skips BOLT; LMMKIT_BENCH_INF_EXACT=1 also times
// lmmkit's exact kinship path (`--loco --kinship-from-bfile`) on the first
// size, for the crossover; LMMKIT_BENCH_KEEP=1 keeps the files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBackend } from '../src/node.js';
import { writePolygenicFileset } from '../src/workflow/simulate.js';
import { statAgreement } from './agreement.js';
import { boltMissing, runBolt } from './bolt-peer.js';
import { envInt, envOff, machineLine, secondsSince } from './common.js';
import { reportSummary, type SummaryRow } from './summary-rows.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const THREADS = envInt('LMMKIT_BENCH_INF_THREADS', 2);
/** The target: the whole analysis at least 3x faster than bolt --lmmInfOnly with the same threads. */
const TARGET = 3;

/** A timed lmmkit process: wall, CPU, peak memory, and its outputs. */
interface LmmkitRun {
  seconds: number;
  cpu: number;
  maxRss: number;
  report: Record<string, unknown>;
  chi2: Map<string, number>;
}

/** Runs `lmmkit gwas ARGS --out DIR/NAME` under GNU time with THREADS BLAS threads. */
function runLmmkit(dir: string, name: string, args: string[]): LmmkitRun {
  const out = join(dir, name);
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'LMMKIT_TIME %U %S %M', process.execPath, join(REPO, 'bin', 'lmmkit.js'), 'gwas', ...args, '--out', out], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, OPENBLAS_NUM_THREADS: String(THREADS) },
  });
  const seconds = secondsSince(t0);
  if (r.status !== 0) throw new Error(`lmmkit gwas ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  const m = /LMMKIT_TIME (\S+) (\S+) (\d+)/.exec(r.stderr)!;
  const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>;
  const lines = readFileSync(`${out}.y.tsv`, 'utf8').trimEnd().split('\n');
  const head = lines[0]!.split('\t');
  const [iId, iBeta, iSe] = ['id', 'beta', 'se'].map((c) => head.indexOf(c));
  const chi2 = new Map<string, number>();
  for (const line of lines.slice(1)) {
    const f = line.split('\t');
    chi2.set(f[iId!]!, (Number(f[iBeta!]) / Number(f[iSe!])) ** 2);
  }
  return { seconds, cpu: Number(m[1]) + Number(m[2]), maxRss: Number(m[3]) * 1024, report, chi2 };
}

const gb = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GB`;

/** h2 of lmmkit's inf report (the first trait's). */
function infH2(report: Record<string, unknown>): number {
  const traits = report.traits as { nullModel?: { h2?: number } }[] | undefined;
  return traits?.[0]?.nullModel?.h2 ?? Number.NaN;
}

async function main(): Promise<void> {
  console.log(machineLine(getBackend()));
  const sizes: [number, number, boolean][] = [[envInt('LMMKIT_BENCH_INF_N', 5000), envInt('LMMKIT_BENCH_INF_M', 20_000), true]];
  if (process.env.LMMKIT_BENCH_INF_BIG === '1') sizes.push([20_000, 50_000, true]);
  if (process.env.LMMKIT_BENCH_INF_STRETCH === '1') sizes.push([50_000, 100_000, false]);
  const boltWhy = envOff('LMMKIT_BENCH_INF_BOLT') ? 'skipped (LMMKIT_BENCH_INF_BOLT=0)' : boltMissing();
  const rows: SummaryRow[] = [];
  for (const [n, m, withBolt] of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-inf-'));
    try {
      const t0 = performance.now();
      const sim = await writePolygenicFileset(join(dir, 'sim'), { samples: n, variants: m, seed: 11 });
      console.log(`\nN = ${n} x M = ${m} (${sim.causal} causal): simulated and written in ${secondsSince(t0).toFixed(1)} s; ${THREADS} threads each`);
      const lm = runLmmkit(dir, 'lmmkit', ['--bfile', sim.bfile, '--pheno', sim.pheno, '--method', 'inf']);
      console.log(
        `  lmmkit --method inf: ${lm.seconds.toFixed(1)} s wall, ${lm.cpu.toFixed(1)} s CPU, peak ${gb(lm.maxRss)}; h2 ${infH2(lm.report).toFixed(4)}`,
      );
      console.log(`    report: ${JSON.stringify((lm.report.traits as unknown[])?.[0] ?? {}).slice(0, 1500)}`);
      if (sizes[0]![0] === n && process.env.LMMKIT_BENCH_INF_EXACT === '1') {
        const ex = runLmmkit(dir, 'exact', ['--bfile', sim.bfile, '--pheno', sim.pheno, '--kinship-from-bfile', '--loco']);
        const a = statAgreement(lm.chi2, ex.chi2);
        console.log(
          `  lmmkit exact kinship path --loco: ${ex.seconds.toFixed(1)} s wall, peak ${gb(ex.maxRss)}; inf / exact chi2: correlation ${a.corr.toFixed(5)}, mean ratio ${a.meanRatio.toFixed(4)} (${a.n} variants)`,
        );
      }
      let peerTime: number | string = `BOLT-LMM ${boltWhy ?? 'not run at this size'}`;
      if (boltWhy === undefined && withBolt) {
        const bolt = runBolt({ bfile: sim.bfile, pheno: sim.pheno, phenoCol: 'y', dir, threads: THREADS });
        const a = statAgreement(lm.chi2, bolt.chi2);
        console.log(
          `  bolt --lmmInfOnly: ${bolt.seconds.toFixed(1)} s wall (variance components ${bolt.varianceSeconds.toFixed(1)} s, statistics ${bolt.statsSeconds.toFixed(1)} s), ${bolt.cpu.toFixed(1)} s CPU, peak ${gb(bolt.maxRss)}; h2 ${bolt.h2}; calibration ${bolt.calibration} (${bolt.calibrationSe})`,
        );
        console.log(`  lmmkit / BOLT chi2: correlation ${a.corr.toFixed(5)}, mean ratio ${a.meanRatio.toFixed(4)} (${a.n} variants)`);
        console.log(`  speed-up: ${(bolt.seconds / lm.seconds).toFixed(2)}x wall, ${(bolt.cpu / lm.cpu).toFixed(2)}x CPU (target >= ${TARGET}x wall)`);
        peerTime = bolt.seconds;
      }
      rows.push({
        bench: 'inf',
        job: `inf model, N = ${n} x ${m} SNPs (whole analysis)`,
        lmmkit: lm.seconds,
        peer: 'bolt --lmmInfOnly',
        peerTime,
        kind: 'speed-up',
        target: TARGET,
      });
    } finally {
      if (process.env.LMMKIT_BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    }
  }
  reportSummary(rows);
}

await main();
