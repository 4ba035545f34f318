// The streaming kernel of the infinitesimal model (issue 18): seconds per
// operator pass with the model SNPs packed (decoded block by block) or held
// decoded (cache), decode speed, the gemms' GFLOP/s and the memory per
// sample per model SNP. Not part of `npm run bench`:
//   node dist/bench/inf-kernel.js
// Sizes: INF_N (5000 samples), INF_M (20000 SNPs), INF_R ("1,16,64"),
// INF_ROUNDS (3, interleaved packed / cached), INF_BLOCK (fixed block; default grmBlockSize(N, R)),
// INF_SWEEP ("": block sizes to time packed passes at, e.g. "32,64,128,256"),
// INF_CG (1: time one simultaneous CG solve, 16 columns, delta 1, cached).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGrmOperator, grmBlockSize, type StreamingGrmOperator } from '../src/infmodel/grm-operator.js';
import { solveShifted } from '../src/infmodel/cg.js';
import { packModelSnps } from '../src/infmodel/model-snps.js';
import { Matrix, getBackend, openBed, simulateGwas, writeBed } from '../src/node.js';
import { Rng } from '../src/sim/rng.js';
import { envInt, envOff, machineLine, secondsSince } from './common.js';

const n = envInt('INF_N', 5000);
const m = envInt('INF_M', 20000);
const rounds = envInt('INF_ROUNDS', 3);
const rs = (process.env.INF_R ?? '1,16,64').split(',').map(Number);
const sweep = (process.env.INF_SWEEP ?? '')
  .split(',')
  .filter((s) => s !== '')
  .map(Number);
const fixedBlock = process.env.INF_BLOCK === undefined ? undefined : envInt('INF_BLOCK', 1);
const decodeBlock = fixedBlock ?? grmBlockSize(n, 1);

interface Timing {
  wall: number;
  cpu: number;
}

/** Wall and CPU (user + system, all threads) seconds of `fn`. */
function timed(fn: () => void): Timing {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = secondsSince(t0);
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

async function main(): Promise<void> {
  const be = getBackend();
  console.log(
    `inf-kernel: N = ${n}, M = ${m}, block ${fixedBlock ?? `grmBlockSize(N, R): ${rs.map((r) => grmBlockSize(n, r)).join(', ')}`}, ${rounds} interleaved rounds; ${machineLine(be)}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'lmmkit-infbench-'));
  try {
    let t0 = performance.now();
    {
      const sim = simulateGwas({ samples: n, variants: m, chromosomes: 22, seed: 18, causal: 10 });
      await writeBed(join(dir, 'g'), sim.dosages, sim.samples, sim.variants);
    }
    console.log(`simulated and wrote the .bed in ${secondsSince(t0).toFixed(1)} s`);
    const bed = await openBed(join(dir, 'g'));
    t0 = performance.now();
    const snps = await packModelSnps(bed, { samples: Int32Array.from({ length: n }, (_, i) => i) });
    await bed.close();
    const packSeconds = secondsSince(t0);
    console.log(
      `packed ${snps.m} model SNPs (${snps.skipped} skipped) in ${packSeconds.toFixed(2)} s: ${((packSeconds / (n * snps.m)) * 1e9).toFixed(2)} ns per genotype read`,
    );

    // Decode: all model SNPs, block by block, into one buffer.
    const buf = new Matrix(n, decodeBlock);
    const dec: number[] = [];
    for (let r = 0; r < rounds; r++) {
      dec.push(
        timed(() => {
          for (let j = 0; j < snps.m; j += decodeBlock) snps.decode(j, Math.min(snps.m, j + decodeBlock), buf);
        }).wall,
      );
    }
    const decodeNs = (median(dec) / (n * snps.m)) * 1e9;
    console.log(`decode: ${decodeNs.toFixed(2)} ns per genotype (median of ${rounds}, blocks of ${decodeBlock})`);

    t0 = performance.now();
    const packed = createGrmOperator(snps, { blockSize: fixedBlock });
    const cached = createGrmOperator(snps, { cacheBytes: Number.POSITIVE_INFINITY });
    console.log(`cache filled in ${secondsSince(t0).toFixed(2)} s`);
    const perSnp = (bytes: number): string => (bytes / (n * snps.m)).toFixed(3);

    console.log('');
    console.log('   R  mode     pass s (wall)  cpu s  GFLOP/s (4 N M R / wall)');
    const rng = new Rng(7);
    for (const r of rs) {
      const v = new Matrix(n, r, rng.normals(n * r));
      const out = new Matrix(n, r);
      const leaveOut = Int32Array.from({ length: r }, (_, c) => (c % 23) - 1);
      const res: Record<string, Timing[]> = { packed: [], cached: [] };
      const ops: [string, StreamingGrmOperator][] = [
        ['packed', packed],
        ['cached', cached],
      ];
      for (let k = 0; k < rounds; k++) for (const [name, op] of ops) res[name]!.push(timed(() => op.apply(v, leaveOut, out)));
      for (const [name] of ops) {
        const wall = median(res[name]!.map((t) => t.wall));
        const cpu = median(res[name]!.map((t) => t.cpu));
        const gflops = (4 * n * snps.m * r) / wall / 1e9;
        console.log(`${String(r).padStart(4)}  ${name}   ${wall.toFixed(3).padStart(12)}  ${cpu.toFixed(3).padStart(5)}  ${gflops.toFixed(1).padStart(7)}`);
      }
    }
    console.log(
      `memory per sample per model SNP: packed ${perSnp(snps.bytes)} bytes (+ decode buffer ${perSnp(packed.bytes)}), cached ${perSnp(snps.bytes + cached.bytes)} bytes`,
    );
    if (!envOff('INF_CG')) {
      // delta = sigma_e^2 / sigma_g^2 = 1 (h2 = 0.5); half the columns leave a chromosome out.
      const r = 16;
      const b = new Matrix(n, r, rng.normals(n * r));
      const lo = Int32Array.from({ length: r }, (_, c) => (c % 2 === 0 ? -1 : c % snps.chromNames.length));
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const res = await solveShifted(cached, b, 1, lo);
      const c1 = process.cpuUsage(c0);
      const t = { wall: secondsSince(t0), cpu: (c1.user + c1.system) / 1e6 };
      console.log(`CG: ${r} columns, delta 1, tol 5e-4: ${res.iterations} passes, converged ${res.converged}`);
      console.log(`CG: ${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s cpu (cached)`);
    }
    if (sweep.length > 0) {
      console.log('');
      console.log('packed pass seconds by block size: median wall / cpu (interleaved)');
      const opsBy = sweep.map((b) => [b, createGrmOperator(snps, { blockSize: b })] as const);
      for (const r of rs) {
        const v = new Matrix(n, r, rng.normals(n * r));
        const out = new Matrix(n, r);
        const lo = new Int32Array(r).fill(-1);
        const times = new Map<number, Timing[]>(sweep.map((b) => [b, []]));
        for (let k = 0; k < rounds; k++) for (const [b, op] of opsBy) times.get(b)!.push(timed(() => op.apply(v, lo, out)));
        const cell = (b: number): string => {
          const t = times.get(b)!;
          return `B ${b} ${median(t.map((x) => x.wall)).toFixed(3)}/${median(t.map((x) => x.cpu)).toFixed(3)}`;
        };
        console.log(`R ${String(r).padStart(3)}: ${sweep.map(cell).join('  ')}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
