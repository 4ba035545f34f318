// Reading a PLINK 2 .pgen to dosages (N = 5000, 20 000 variants, made by
// plink2 --dummy), next to reading the same genotypes from a .bed and next
// to plink2's own re-import (--pfile ... --make-pgen). Run: node dist/bench/pgen.js
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBed } from '../src/data/node/bed.js';
import { openPgen } from '../src/data/node/pgen.js';
import type { GenotypeSource } from '../src/data/genotypes.js';

function plink2(...args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync('plink2', [...args, '--silent', '--threads', '1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`plink2 ${args.join(' ')}: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

/** Seconds to read every variant of `open()` to dosages, best of `reps`. */
async function readAll(open: () => Promise<GenotypeSource>, reps = 3): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const src = await open();
    for await (const b of src.batches({ size: 1000 })) if (b.dosages.cols === 0) throw new Error('empty batch');
    await src.close();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-pgen-'));
try {
  const n = 5000;
  const m = 20000;
  for (const [label, extra] of [
    ['hard calls', [] as string[]],
    ['dosages (20% non-integer)', ['dosage-freq=0.2']],
  ] as const) {
    const p = join(dir, 'g');
    plink2('--dummy', String(n), String(m), '0.01', ...extra, '--seed', '1', '--make-pgen', '--out', p);
    plink2('--pfile', p, '--make-bed', '--out', p);
    const pgen = await readAll(() => openPgen(p));
    const bed = await readAll(() => openBed(p));
    let imp = Number.POSITIVE_INFINITY;
    for (let r = 0; r < 3; r++) imp = Math.min(imp, plink2('--pfile', p, '--make-pgen', '--out', join(dir, 'again')));
    console.log(
      `${label}, N=${n} x ${m}: lmmkit pgen -> dosages ${pgen.toFixed(2)} s; lmmkit .bed -> dosages ${bed.toFixed(2)} s; plink2 --pfile --make-pgen (1 thread) ${imp.toFixed(2)} s`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
