// The .pgen read of bench/formats.ts in interleaved rounds, for a machine
// that other work shares: lmmkit's read of every variant to dosages
// (default batches in a ring of 2 buffers, as the scans read) next to
// plink2's import of the same file (`--make-pgen`, on 1 and on 2 threads),
// the three in a random order each round, so that load drifting over the
// run hits all alike. Prints best and median seconds, the median of the
// per-round ratios, and the load; asserts nothing. With
// LMMKIT_BENCH_PGEN_BASELINE set to another build's dist folder (main's, say)
// its reader joins the rounds, and the two readers' batches are checked
// bitwise equal (sha256) first.
// Sizes: LMMKIT_BENCH_FORMAT_N (default 5000), LMMKIT_BENCH_FORMAT_M (20000);
// rounds: LMMKIT_BENCH_ROUNDS (11). The file: plink2 --dummy N M 0.01
// dosage-freq=0.2 --seed 1 --make-pgen, as bench/formats.ts makes it.
// Run: node dist/bench/pgen-read.js
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GenotypeSource } from '../src/data/genotypes.js';
import { openPgen } from '../src/data/node/pgen.js';
import { envInt, secondsSince } from './common.js';

const n = envInt('LMMKIT_BENCH_FORMAT_N', 5000);
const m = envInt('LMMKIT_BENCH_FORMAT_M', 20000);
const rounds = envInt('LMMKIT_BENCH_ROUNDS', 11);
const baselineDist = process.env.LMMKIT_BENCH_PGEN_BASELINE;

type Open = (prefix: string) => Promise<GenotypeSource>;

/** Wall seconds to open `prefix` and read every variant, and the sha256 of the batches' bytes when `hash`. */
async function read(open: Open, prefix: string, hash = false): Promise<[number, string]> {
  const t0 = performance.now();
  const src = await open(prefix);
  const h = hash ? createHash('sha256') : undefined;
  let cols = 0;
  for await (const b of src.batches({ recycle: 1 })) {
    cols += b.dosages.cols;
    h?.update(new Uint8Array(b.dosages.data.buffer, b.dosages.data.byteOffset, b.dosages.data.byteLength));
  }
  await src.close();
  if (cols !== m) throw new Error(`read ${cols} variants, expected ${m}`);
  return [secondsSince(t0), h?.digest('hex') ?? ''];
}

/** Wall seconds of plink2 `args` on `threads` threads (quiet). */
function plink2(threads: number, ...args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync('plink2', [...args, '--silent', '--threads', String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`plink2 ${args.join(' ')}: ${r.stderr}`);
  return secondsSince(t0);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-pgen-'));
try {
  const g = join(dir, 'g');
  plink2(1, '--dummy', String(n), String(m), '0.01', 'dosage-freq=0.2', '--seed', '1', '--make-pgen', '--out', g);
  const runs: [string, () => Promise<number> | number][] = [
    ['lmmkit', async () => (await read(openPgen, g))[0]],
    ['plink2 --threads 1', () => plink2(1, '--pfile', g, '--make-pgen', '--out', join(dir, 'imported'))],
    ['plink2 --threads 2', () => plink2(2, '--pfile', g, '--make-pgen', '--out', join(dir, 'imported'))],
  ];
  if (baselineDist !== undefined) {
    const url = pathToFileURL(join(resolve(baselineDist), 'src/data/node/pgen.js')).href;
    const baseline = ((await import(url)) as { openPgen: Open }).openPgen;
    const [, want] = await read(baseline, g, true);
    const [, got] = await read(openPgen, g, true);
    if (got !== want) throw new Error(`the batches differ from the baseline's (${baselineDist}): sha256 ${got} vs ${want}`);
    console.log(`baseline ${baselineDist}: batches bitwise equal (sha256 ${got.slice(0, 16)})`);
    runs.push(['baseline', async () => (await read(baseline, g))[0]]);
  }
  const times = new Map<string, number[]>(runs.map(([k]) => [k, []]));
  const loads: number[] = [];
  // One untimed round: JIT warm-up and the file in the page cache for all.
  for (const [, run] of runs) await run();
  for (let r = 0; r < rounds; r++) {
    const order = [...runs].sort(() => Math.random() - 0.5);
    for (const [k, run] of order) times.get(k)!.push(await run());
    loads.push(loadavg()[0]!);
  }
  const lm = times.get('lmmkit')!;
  console.log(
    `pgen read: N = ${n} x ${m} variants (plink2 --dummy, 20% dosages), ${rounds} interleaved rounds in random order; ` +
      `load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} on ${availableParallelism()} CPUs`,
  );
  for (const [k, t] of times) {
    const ratios = lm.map((x, i) => x / t[i]!);
    console.log(
      `  ${k.padEnd(20)} best ${Math.min(...t).toFixed(3)} s, median ${median(t).toFixed(3)} s` +
        (k === 'lmmkit'
          ? ''
          : `; lmmkit / this: median of per-round ratios ${median(ratios).toFixed(3)}, of bests ${(Math.min(...lm) / Math.min(...t)).toFixed(3)}`),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
