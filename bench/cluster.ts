// Splitting a scan over machines: what `lmmkit gwas --chunk I/N` + `lmmkit
// merge` cost over one unsplit run. N samples x M variants made by plink2
// --dummy (as bench/formats.ts makes them), a null model fitted once
// (`lmmkit null fit`), then the fixed-test scan from the saved null:
//   - as one process;
//   - as CHUNKS processes (`--chunk I/CHUNKS`), WORKERS at a time, then
//     `lmmkit merge` (checked: the merged table is the one process's bytes).
// Every process runs with OPENBLAS_NUM_THREADS=1 (one BLAS thread each, as
// workers sharing a machine would). Printed: the one process's seconds, the
// sum of the chunks' seconds (each a whole process: start, null model load,
// scan, part manifest), the merge's seconds, and the overhead ratio
// (sum of chunks + merge) / one process - 1: what splitting costs in CPU
// time before any queue. One function per measurement, so that the queued
// figures (the BullMQ runner) can be added beside them.
// Sizes: LMMKIT_BENCH_CLUSTER_N (default 2000), LMMKIT_BENCH_CLUSTER_M
// (100000), LMMKIT_BENCH_CLUSTER_CHUNKS (8), LMMKIT_BENCH_CLUSTER_WORKERS (2).
// Run: node dist/bench/cluster.js
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envInt, secondsSince } from './common.js';

const n = envInt('LMMKIT_BENCH_CLUSTER_N', 2000);
const m = envInt('LMMKIT_BENCH_CLUSTER_M', 100000);
const chunks = envInt('LMMKIT_BENCH_CLUSTER_CHUNKS', 8);
const workers = envInt('LMMKIT_BENCH_CLUSTER_WORKERS', 2);
const BIN = new URL('../../bin/lmmkit.js', import.meta.url).pathname;
/** One BLAS thread per process: the workers share the machine's cores. */
const ENV = { ...process.env, OPENBLAS_NUM_THREADS: '1' };

/** The inputs of the scans: a PLINK fileset, a phenotype and its saved null model. */
interface Inputs {
  bfile: string;
  pheno: string;
  nullModel: string;
}

/** GNU time, for the CPU seconds of each process (on a shared machine its wall seconds depend on the neighbours' load). */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** The seconds of one process: wall, and CPU (user + system; undefined without GNU time). */
interface Timing {
  wall: number;
  cpu: number | undefined;
}

let timed = 0;

/** Runs `lmmkit ARGS` as its own process and times it (rejects on a non-zero exit, with its standard error). */
function lmmkit(args: readonly string[]): Promise<Timing> {
  const t0 = performance.now();
  const cpuFile = join(tmpdir(), `lmmkit-bench-cluster-time-${process.pid}-${timed++}`);
  const argv = [...(TIME === undefined ? [] : ['-f', '%U %S', '-o', cpuFile]), process.execPath, BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(TIME ?? argv.shift()!, argv, { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`lmmkit ${args.join(' ')}: exit ${code}\n${err}`));
      const wall = secondsSince(t0);
      if (TIME === undefined) return resolve({ wall, cpu: undefined });
      const [user, sys] = readFileSync(cpuFile, 'utf8').trim().split(/\s+/).map(Number);
      rmSync(cpuFile, { force: true });
      resolve({ wall, cpu: (user ?? Number.NaN) + (sys ?? Number.NaN) });
    });
  });
}

/** Seconds as printed: wall, and CPU when measured. */
const show = (t: Timing): string => `${t.wall.toFixed(2)} s wall${t.cpu === undefined ? '' : `, ${t.cpu.toFixed(2)} s CPU`}`;

/** The sum of timings. */
const total = (ts: readonly Timing[]): Timing => ({
  wall: ts.reduce((a, t) => a + t.wall, 0),
  cpu: ts.some((t) => t.cpu === undefined) ? undefined : ts.reduce((a, t) => a + t.cpu!, 0),
});

/** Makes the inputs: plink2 --dummy (hard calls), a phenotype, and the null model fitted once with the kinship from the genotypes. */
async function makeInputs(dir: string): Promise<Inputs> {
  const bfile = join(dir, 'g');
  const r = spawnSync('plink2', ['--dummy', String(n), String(m), '0.01', '--seed', '1', '--make-bed', '--out', bfile, '--silent', '--threads', '1'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`plink2 --dummy: ${r.stderr}`);
  const pheno = join(dir, 'pheno.tsv');
  const frac = (i: number): number => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453);
  writeFileSync(pheno, `FID\tIID\ty\n${Array.from({ length: n }, (_, i) => `0\tper${i}\t${frac(i)}`).join('\n')}\n`);
  const nullModel = join(dir, 'null');
  const s = await lmmkit(['null', 'fit', '--bfile', bfile, '--pheno', pheno, '--kinship-from-bfile', '--out', nullModel]);
  console.log(`  inputs: plink2 --dummy, null model fitted once in ${show(s)}`);
  return { bfile, pheno, nullModel };
}

/** The scan's arguments, writing under `out`. */
const scanArgs = (inp: Inputs, out: string): string[] => ['gwas', '--bfile', inp.bfile, '--pheno', inp.pheno, '--null', inp.nullModel, '--out', out];

/** Seconds of the unsplit scan, one process. */
async function oneProcess(inp: Inputs, dir: string): Promise<Timing> {
  mkdirSync(dir);
  return lmmkit(scanArgs(inp, join(dir, 'res')));
}

/** The chunks' seconds, each its own process, `workers` at a time (in chunk order), and the wall seconds of them all. */
async function chunkedScan(inp: Inputs, dir: string): Promise<{ each: Timing[]; wall: number }> {
  mkdirSync(dir);
  const each: Timing[] = new Array(chunks);
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < chunks) {
      const c = next++;
      each[c] = await lmmkit([...scanArgs(inp, join(dir, 'res')), '--chunk', `${c + 1}/${chunks}`]);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return { each, wall: secondsSince(t0) };
}

/**
 * The fixed cost of one chunk: seconds of a part that scans almost nothing
 * (chunk 1 of as many chunks as the file has batches of 1000 variants: one
 * batch), i.e. the process start, reading the samples, loading the null
 * model and writing the manifest; the scan's share is one batch's.
 */
async function chunkFixedCost(inp: Inputs, dir: string): Promise<Timing> {
  mkdirSync(dir);
  return lmmkit([...scanArgs(inp, join(dir, 'res')), '--batch-size', '1000', '--chunk', `1/${Math.ceil(m / 1000)}`]);
}

/** Seconds of `lmmkit merge` of the parts in `parts` into `dir`. */
async function merge(parts: string, dir: string): Promise<Timing> {
  mkdirSync(dir);
  return lmmkit(['merge', parts, '--out', join(dir, 'res')]);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-cluster-'));
  try {
    console.log(`split/merge: N = ${n} samples x ${m} variants, fixed test from a saved null; ${chunks} chunks, ${workers} at a time; OPENBLAS_NUM_THREADS=1`);
    const inp = await makeInputs(dir);
    const whole = await oneProcess(inp, join(dir, 'whole'));
    const split = await chunkedScan(inp, join(dir, 'parts'));
    const merged = await merge(join(dir, 'parts'), join(dir, 'merged'));
    const fixed = await chunkFixedCost(inp, join(dir, 'fixed'));
    const a = readFileSync(join(dir, 'whole', 'res.y.tsv'));
    const b = readFileSync(join(dir, 'merged', 'res.y.tsv'));
    if (!a.equals(b)) throw new Error('the merged table differs from the unsplit run');
    const sum = total(split.each);
    console.log(`  one process:            ${show(whole)}`);
    console.log(`  ${chunks} chunks (sum):         ${show(sum)}; ${split.wall.toFixed(2)} s wall for all on ${workers} workers`);
    console.log(`    each (wall):          ${split.each.map((t) => t.wall.toFixed(1)).join(', ')}`);
    console.log(`  merge:                  ${show(merged)}`);
    console.log(`  one chunk's fixed cost: ${show(fixed)} (a chunk of one batch of 1000 variants: start, inputs, null model load, manifest)`);
    // The one process pays the fixed cost once too: the split pays it chunks - 1 more times.
    for (const key of ['wall', 'cpu'] as const) {
      const [w, c, mg, f] = [whole[key], sum[key], merged[key], fixed[key]];
      if (w === undefined || c === undefined || mg === undefined || f === undefined) continue;
      console.log(
        `  overhead (${key}): ${(((c + mg) / w - 1) * 100).toFixed(1)}% ((sum of chunks + merge) / one process - 1); beyond ${chunks - 1} more fixed costs ${(((c + mg - (chunks - 1) * f) / w - 1) * 100).toFixed(1)}%`,
      );
    }
    console.log("  merged table = the one process's bytes");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
