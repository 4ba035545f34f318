// Data benchmark: decoding throughput of a synthetic PLINK file (bed to
// standardised Float64) and kinship time, next to plink2 --make-rel and
// gemma -gk 1 on the same file when they are installed (the other formats:
// bench/formats.ts). Prints, with summary rows; asserts nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBackend, loadBackend, nativeStatus } from '../src/node.js';
import { genoQueue } from '../src/data/geno-queue.js';
import { kinship } from '../src/data/kinship.js';
import { compose, imputeMean, standardize } from '../src/data/preprocess.js';
import { openBed } from '../src/data/node/bed.js';
import { writeBed } from '../src/data/plink/write-bed.js';
import { simulateGenotypes } from '../src/sim/genotypes.js';
import { reportSummary } from './summary-rows.js';

const N = 2000;
const S = 50_000;

function commandSeconds(cmd: string, args: string[]): number | string {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return 'not installed';
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) return `failed: ${(r.stdout + r.stderr).trim().split('\n').slice(-2).join(' ')}`;
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-'));
  try {
    const prefix = join(dir, 'sim');
    console.log(`simulating ${N} samples x ${S} variants (seeded) ...`);
    const sim = simulateGenotypes({ samples: N, variants: S, chromosomes: 22, seed: 2026 });
    const pheno = Float64Array.from({ length: N }, (_, i) => Math.sin(i));
    await writeBed(prefix, sim.dosages, sim.samples, sim.variants, pheno);

    const bed = await openBed(prefix);
    const rate = async (label: string, batches: () => AsyncIterable<{ dosages: { data: Float64Array } }>): Promise<void> => {
      let best = Infinity;
      for (let rep = 0; rep < 2; rep++) {
        const t0 = performance.now();
        let decoded = 0;
        for await (const b of batches()) if (b.dosages.data.length > 0) decoded++;
        if (decoded === 0) throw new Error(`${label}: no batch decoded`);
        best = Math.min(best, (performance.now() - t0) / 1000);
      }
      console.log(`${label}: ${((N * S) / best / 1e6).toFixed(0)} M genotypes/s (${best.toFixed(2)} s)`);
    };
    await rate('decode bed -> Float64 dosages', () => bed.batches({ size: 1000 }));
    await rate('decode bed -> standardised Float64 (fused, standardize: true)', () => bed.batches({ size: 1000, standardize: true }));
    await rate('decode bed -> compose([imputeMean(), standardize()])', () =>
      genoQueue(bed, { size: 1000, preprocess: compose([imputeMean(), standardize()]) }),
    );

    const backends = nativeStatus().available ? (['native', 'js'] as const) : (['js'] as const);
    const ours = new Map<string, number>();
    for (const name of backends) {
      if (name === 'js' && process.env.LMMKIT_BENCH_JS_KINSHIP !== '1' && backends.length > 1) continue;
      const t0 = performance.now();
      await kinship(bed, { method: 'gcta', backend: loadBackend(name) });
      ours.set(name, (performance.now() - t0) / 1000);
    }
    await bed.close();
    const threads = String(getBackend().info().threads);
    const plink2 = commandSeconds('plink2', ['--bfile', prefix, '--make-rel', 'square', '--threads', threads, '--out', join(dir, 'p2')]);
    const gemma = commandSeconds('gemma', ['-bfile', prefix, '-gk', '1', '-outdir', dir, '-o', 'g']);
    const fmt = (v: number | string): string => (typeof v === 'number' ? `${v.toFixed(2)} s` : v);
    for (const [name, s] of ours) {
      const vsPlink = typeof plink2 === 'number' ? ` (${(plink2 / s).toFixed(2)}x plink2's speed)` : '';
      const vsGemma = typeof gemma === 'number' ? ` (${(gemma / s).toFixed(2)}x gemma's speed)` : '';
      console.log(`kinship N=${N} S=${S} lmmkit ${name}: ${fmt(s)}${vsPlink}${vsGemma}`);
    }
    console.log(`kinship plink2 --make-rel square (${threads} threads): ${fmt(plink2)}`);
    console.log(`kinship gemma -gk 1: ${fmt(gemma)}`);
    const native = ours.get(backends[0]);
    if (native !== undefined) {
      const job = `kinship, N ${N} x ${S} variants (${backends[0]})`;
      const why = (peer: string, v: number | string): number | string => (typeof v === 'number' ? v : `${peer}: ${v}`);
      reportSummary([
        { bench: 'data', job, lmmkit: native, peer: 'plink2 --make-rel', peerTime: why('plink2', plink2), kind: 'speed-up' },
        { bench: 'data', job, lmmkit: native, peer: 'gemma -gk 1', peerTime: why('gemma', gemma), kind: 'speed-up' },
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
