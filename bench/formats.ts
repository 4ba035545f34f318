// Reading genotypes to dosages from each format lmmkit reads (.bed, .pgen,
// BGEN 1.2 8-bit zlib, VCF.gz with DS), next to
// plink2's import of the same file (`--make-pgen` from it: plink2's own
// read-and-re-encode, single-threaded), and a whole OLS scan from each
// format next to the same scan from the .bed. The files are made by
// plink2 --dummy in this run (hard calls with a share of non-integer
// dosages), so the figures compare like with like on this machine.
// Then the BGEN's bgenix index (written with sql.js in bgenix's schema):
// open time and a 1% region read with the index next to the single pass.
// Then a 1% region of the VCF.gz read through its .tbi (tabix -p vcf) next
// to a full pass selecting the same region, and next to `tabix FILE REGION
// | wc -l` (htslib's own region query). The variants are spread 1 kb apart
// (plink2 --dummy puts them 1 bp apart) so that a region spans index bins as
// it does in real data.
// Sizes: LMMKIT_BENCH_FORMAT_N (default 5000), LMMKIT_BENCH_FORMAT_M (20000).
// Run: node dist/bench/formats.js
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BATCH_BYTES, defaultBatchSize, type GenotypeSource } from '../src/data/genotypes.js';
import { openBed } from '../src/data/node/bed.js';
import { openBgen } from '../src/data/node/bgen.js';
import { openPgen } from '../src/data/node/pgen.js';
import { openVcf } from '../src/data/node/vcf.js';
import { runGwas, type GwasRunOptions } from '../src/workflow/gwas.js';
import { writeBgenixIndex } from '../test/bgen-support.js';
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
 * dosages, in the readers' default batches (`defaultBatchSize`), decoded
 * into a ring of 2 buffers (`recycle: 1`, as the scans and kinship read)
 * or, with `recycle` undefined, into fresh storage per batch.
 */
async function readAll(open: () => Promise<GenotypeSource>, recycle: number | undefined): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    const src = await open();
    let cols = 0;
    for await (const b of src.batches(recycle === undefined ? {} : { recycle })) cols += b.dosages.cols;
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

/** Best wall seconds (of REPS) of `fn`, and its last result. */
async function best<T>(fn: () => Promise<T>): Promise<[number, T]> {
  let t = Number.POSITIVE_INFINITY;
  let last: T | undefined;
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    last = await fn();
    t = Math.min(t, secondsSince(t0));
  }
  return [t, last as T];
}

/**
 * A 1% region (m / 100 variants mid-file) of `vcf` read to dosages through
 * its .tbi, by a full pass selecting the region, and by `tabix` (lines only).
 */
async function regionQuery(vcf: string): Promise<void> {
  const t0 = performance.now();
  const r = spawnSync('tabix', ['-f', '-p', 'vcf', vcf]);
  if (r.status !== 0) throw new Error(`tabix -p vcf: ${r.stderr}`);
  const indexing = secondsSince(t0);
  const start = 1000 * Math.floor(m / 2) + 1;
  const end = start + 1000 * Math.floor(m / 100);
  const query = () => (name: string) => (name === '1' ? { start, end } : undefined);
  const read = async (index: false | undefined): Promise<number> => {
    const src = await openVcf(vcf, { index, region: query });
    const keep: number[] = [];
    src.variants.pos.forEach((p, i) => {
      if (p >= start && p < end) keep.push(i);
    });
    let cols = 0;
    for await (const b of src.batches({ size: 1000, select: { indices: keep } })) cols += b.dosages.cols;
    await src.close();
    return cols;
  };
  const [viaIndex, a] = await best(() => read(undefined));
  const [full, b] = await best(() => read(false));
  const [openOnly] = await best(async () => (await openVcf(vcf, { region: query })).variants.id.length);
  const [tabix, lines] = await best(async () => {
    const q = spawnSync('sh', ['-c', `tabix '${vcf}' 1:${start}-${end - 1} | wc -l`], { encoding: 'utf8' });
    return Number(q.stdout.trim());
  });
  if (a !== b || a !== lines) throw new Error(`region: ${a} variants through the index, ${b} in a full pass, ${lines} from tabix`);
  console.log(
    `  .vcf.gz 1% region (${a} variants; tabix -p vcf took ${indexing.toFixed(2)} s): through the .tbi ${viaIndex.toFixed(3)} s to dosages ` +
      `(variant table alone ${openOnly.toFixed(3)} s), full pass ${full.toFixed(2)} s (${(full / viaIndex).toFixed(1)}x); tabix | wc -l ${tabix.toFixed(3)} s ` +
      `(lmmkit variant table / tabix ${(openOnly / tabix).toFixed(2)})`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bench-formats-'));
try {
  const g = join(dir, 'g');
  plink2('--dummy', String(n), String(m), '0.01', 'dosage-freq=0.2', '--seed', '1', '--make-pgen', '--out', g);
  // Variants 1 kb apart from position 1 (--dummy writes 0, 1, 2, ...).
  const pvar = readFileSync(`${g}.pvar`, 'utf8').split('\n');
  let k = 0;
  writeFileSync(`${g}.pvar`, pvar.map((l) => (l === '' || l.startsWith('#') ? l : l.replace(/\t\d+\t/, `\t${1000 * k++ + 1}\t`))).join('\n'));
  plink2('--pfile', g, '--make-bed', '--out', g);
  plink2('--pfile', g, '--export', 'vcf', 'bgz', 'vcf-dosage=DS', 'id-paste=iid', '--out', g);
  plink2('--pfile', g, '--export', 'bgen-1.2', 'bits=8', 'ref-first', 'id-paste=iid', '--out', g);
  const pheno = join(dir, 'pheno.tsv');
  writeFileSync(
    pheno,
    `FID\tIID\ty\n${Array.from({ length: n }, (_, i) => `0\tper${i}\t${Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453)}`).join('\n')}\n`,
  );
  console.log(`formats: N = ${n} samples x ${m} variants (plink2 --dummy, 20% non-integer dosages), best of ${REPS}; plink2 on 1 thread`);
  console.log(
    `  batches of ${defaultBatchSize(n)} variants (the default for N = ${n}: at most ${DEFAULT_BATCH_BYTES >> 20} MiB) in a ring of 2 buffers (recycle: 1, as the scans read); in brackets, fresh storage per batch`,
  );
  const opens: [string, () => Promise<GenotypeSource>, () => number, Partial<GwasRunOptions>][] = [
    ['.bed (hard calls)', () => openBed(g), () => plink2Import(dir, '--bfile', g), { bfile: g }],
    ['.pgen (dosages)', () => openPgen(g), () => plink2Import(dir, '--pfile', g), { pfile: g }],
    ['.bgen 1.2 (8 bits, zlib)', () => openBgen(`${g}.bgen`), () => plink2Import(dir, '--bgen', `${g}.bgen`, 'ref-first'), { bgen: `${g}.bgen` }],
    ['.vcf.gz (DS)', () => openVcf(`${g}.vcf.gz`), () => plink2Import(dir, '--vcf', `${g}.vcf.gz`, 'dosage=DS'), { vcf: `${g}.vcf.gz` }],
  ];
  const rows: [string, number, number, number, Partial<GwasRunOptions>][] = [];
  for (const [label, open, imp, geno] of opens) rows.push([label, await readAll(open, 1), await readAll(open, undefined), imp(), geno]);
  const bedScan = await scan(rows[0]![4], pheno, join(dir, 'scan-bed'));
  for (const [label, read, readFresh, imp, geno] of rows) {
    const s = geno.bfile !== undefined ? bedScan : await scan(geno, pheno, join(dir, 'scan'));
    console.log(
      `  ${label.padEnd(25)} read to dosages ${read.toFixed(2)} s (${readFresh.toFixed(2)} s); plink2 import ${imp.toFixed(2)} s (lmmkit / plink2 ${(read / imp).toFixed(2)}); ` +
        `OLS scan ${s.toFixed(2)} s (/ .bed scan ${(s / bedScan).toFixed(2)})`,
    );
  }
  await bgenIndex(`${g}.bgen`);
  await regionQuery(`${g}.vcf.gz`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Best wall seconds (of REPS) to open the BGEN `bgen` with its index or by
 * the single pass (`index: false`), and to open it and read the region
 * holding the middle 1% of its variants.
 */
async function bgenIndex(bgen: string): Promise<void> {
  await writeBgenixIndex(bgen);
  const probe = await openBgen(bgen, { index: false });
  const pos = probe.variants.pos;
  const k = Math.max(1, Math.round(pos.length / 100));
  const from = Math.floor((pos.length - k) / 2);
  // plink2 --dummy puts every variant on chromosome 1 at increasing positions.
  const region = { chrom: probe.variants.chrom[from]!, start: pos[from]!, end: pos[from + k - 1]! + 1 };
  await probe.close();
  const time = async (index: false | undefined, read: boolean): Promise<number> => {
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < REPS; r++) {
      const t0 = performance.now();
      const src = await openBgen(bgen, { index });
      let cols = 0;
      if (read) for await (const b of src.batches({ size: 1000, select: { region } })) cols += b.dosages.cols;
      await src.close();
      if (read && cols !== k) throw new Error(`region read ${cols} variants, expected ${k}`);
      best = Math.min(best, secondsSince(t0));
    }
    return best;
  };
  const [openIx, openWalk, regionIx, regionWalk] = [
    await time(undefined, false),
    await time(false, false),
    await time(undefined, true),
    await time(false, true),
  ];
  console.log(
    `  .bgen + .bgi index          open ${openIx.toFixed(3)} s (single pass ${openWalk.toFixed(3)} s, / ${(openIx / openWalk).toFixed(2)}); ` +
      `open + region of ${k} variants (1%) ${regionIx.toFixed(3)} s (single pass ${regionWalk.toFixed(3)} s, / ${(regionIx / regionWalk).toFixed(2)})`,
  );
}
