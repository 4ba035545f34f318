// Reading genotypes to dosages from each format lmmkit reads (.bed, .pgen,
// BGEN 1.2 8-bit zlib, VCF.gz with DS), next to
// plink2's import of the same file (`--make-pgen` from it: plink2's own
// read-and-re-encode, single-threaded), and a whole OLS scan from each
// format next to the same scan from the .bed. The files are made by
// plink2 --dummy in this run (hard calls with a share of non-integer
// dosages), so the figures compare like with like on this machine.
// Sizes: LMMKIT_BENCH_FORMAT_N (default 5000), LMMKIT_BENCH_FORMAT_M (20000).
// Run: node dist/bench/formats.js
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BATCH_BYTES, defaultBatchSize, type GenotypeSource } from '../src/data/genotypes.js';
import { openBed } from '../src/data/node/bed.js';
import { openBgen } from '../src/data/node/bgen.js';
import { openPgen } from '../src/data/node/pgen.js';
import { openVcf } from '../src/data/node/vcf.js';
import { runGwas, type GwasRunOptions } from '../src/workflow/gwas.js';
import { envInt, secondsSince } from './common.js';

const n = envInt('LMMKIT_BENCH_FORMAT_N', 5000);
const m = envInt('LMMKIT_BENCH_FORMAT_M', 20000);
const REPS = 3;

/** Seconds plink2 takes for `args` (one thread, quiet). */
function plink2(...args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync('plink2', [...args, '--silent', '--threads', '1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`plink2 ${args.join(' ')}: ${r.stderr}`);
  return secondsSince(t0);
}

/**
 * Best wall seconds (of REPS) to open a source and read every variant to
 * dosages, in batches of `size` variants (default: the readers' default,
 * `defaultBatchSize`, as the scans read them).
 */
async function readAll(open: () => Promise<GenotypeSource>, size?: number): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    const src = await open();
    let cols = 0;
    for await (const b of src.batches({ size })) cols += b.dosages.cols;
    await src.close();
    if (cols !== m) throw new Error(`read ${cols} variants, expected ${m}`);
    best = Math.min(best, secondsSince(t0));
  }
  return best;
}

/** Best wall seconds (of REPS) of plink2 importing a file (`args` name it) to a .pgen. */
function plink2Import(dir: string, ...args: string[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < REPS; r++) best = Math.min(best, plink2(...args, '--make-pgen', '--out', join(dir, 'imported')));
  return best;
}

/** Wall seconds of one OLS `lmmkit gwas` scan (every variant kept) from the genotype input `geno`. */
async function scan(geno: Partial<GwasRunOptions>, pheno: string, out: string): Promise<number> {
  const t0 = performance.now();
  await runGwas({ ...geno, pheno, maf: 0, maxMissing: 1, out });
  return secondsSince(t0);
}

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-formats-'));
try {
  const g = join(dir, 'g');
  plink2('--dummy', String(n), String(m), '0.01', 'dosage-freq=0.2', '--seed', '1', '--make-pgen', '--out', g);
  plink2('--pfile', g, '--make-bed', '--out', g);
  plink2('--pfile', g, '--export', 'vcf', 'bgz', 'vcf-dosage=DS', 'id-paste=iid', '--out', g);
  plink2('--pfile', g, '--export', 'bgen-1.2', 'bits=8', 'ref-first', 'id-paste=iid', '--out', g);
  const pheno = join(dir, 'pheno.tsv');
  writeFileSync(
    pheno,
    `FID\tIID\ty\n${Array.from({ length: n }, (_, i) => `0\tper${i}\t${Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453)}`).join('\n')}\n`,
  );
  console.log(`formats: N = ${n} samples x ${m} variants (plink2 --dummy, 20% non-integer dosages), best of ${REPS}; plink2 on 1 thread`);
  console.log(`  batches of ${defaultBatchSize(n)} variants (the default for N = ${n}: at most ${DEFAULT_BATCH_BYTES >> 20} MiB); in brackets, of 1000`);
  const opens: [string, () => Promise<GenotypeSource>, () => number, Partial<GwasRunOptions>][] = [
    ['.bed (hard calls)', () => openBed(g), () => plink2Import(dir, '--bfile', g), { bfile: g }],
    ['.pgen (dosages)', () => openPgen(g), () => plink2Import(dir, '--pfile', g), { pfile: g }],
    ['.bgen 1.2 (8 bits, zlib)', () => openBgen(`${g}.bgen`), () => plink2Import(dir, '--bgen', `${g}.bgen`, 'ref-first'), { bgen: `${g}.bgen` }],
    ['.vcf.gz (DS)', () => openVcf(`${g}.vcf.gz`), () => plink2Import(dir, '--vcf', `${g}.vcf.gz`, 'dosage=DS'), { vcf: `${g}.vcf.gz` }],
  ];
  const rows: [string, number, number, number, Partial<GwasRunOptions>][] = [];
  for (const [label, open, imp, geno] of opens) rows.push([label, await readAll(open), await readAll(open, 1000), imp(), geno]);
  const bedScan = await scan(rows[0]![4], pheno, join(dir, 'scan-bed'));
  for (const [label, read, read1000, imp, geno] of rows) {
    const s = geno.bfile !== undefined ? bedScan : await scan(geno, pheno, join(dir, 'scan'));
    console.log(
      `  ${label.padEnd(25)} read to dosages ${read.toFixed(2)} s (${read1000.toFixed(2)} s); plink2 import ${imp.toFixed(2)} s (lmmkit / plink2 ${(read / imp).toFixed(2)}); ` +
        `OLS scan ${s.toFixed(2)} s (/ .bed scan ${(s / bedScan).toFixed(2)})`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
