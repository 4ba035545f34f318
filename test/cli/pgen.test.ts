// PLINK 2 filesets (--pfile): .pgen files made here by plink2 itself from the
// shared chr22 .bed (hard calls, plink2's own choice of LD/difflist
// compression) and by plink2 --dummy (dosages, phase), read back and compared
// with plink2's --export A and with the .bed; then lmmkit gwas from the pgen
// against the .bed scan, and each kind of bad file against exit status 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'node:test';
import { InputError } from '../../src/errors.js';
import { openBed } from '../../src/data/node/bed.js';
import { openPgen } from '../../src/data/node/pgen.js';
import type { PgenReader } from '../../src/data/plink2/pgen.js';
import { readTable } from '../../src/data/node/tables.js';
import { assertRejected, column, lmmkit, readTsv, scratchDir } from '../cli-support.js';
import { writeBed } from '../../src/data/plink/write-bed.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { requireTool, SHARED, sharedTest, syntheticVariants, toolTest } from '../support.js';

const dir = scratchDir('lmmkit-pgen-');
const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';
const EXPR = 'data/structlmm/expr.csv';

function plink2(...args: string[]): void {
  const r = spawnSync('plink2', [...args, '--silent'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `plink2 ${args.join(' ')}: ${r.stderr}${r.stdout}`);
}

/** plink2's .raw (--export A): per variant, the counted allele and N values (NaN for NA). */
function readRaw(path: string): { alleles: string[]; values: Float64Array[] } {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  const head = lines[0]!.split('\t').slice(6);
  const alleles = head.map((h) => h.slice(h.lastIndexOf('_') + 1));
  const n = lines.length - 1;
  const values = head.map(() => new Float64Array(n));
  for (let s = 0; s < n; s++) {
    const f = lines[s + 1]!.split('\t');
    for (let v = 0; v < head.length; v++) values[v]![s] = f[v + 6] === 'NA' ? Number.NaN : Number(f[v + 6]);
  }
  return { alleles, values };
}

/** All dosages of `r`, one Float64Array (N) per variant. */
async function allDosages(r: { batches: PgenReader['batches']; samples: { iid: readonly string[] } }): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  const n = r.samples.iid.length;
  for await (const b of r.batches({ size: 777 })) for (let j = 0; j < b.indices.length; j++) out.push(b.dosages.data.slice(j * n, (j + 1) * n));
  return out;
}

/**
 * Asserts that `got` (counting a1 = ALT) equals plink2's export, which
 * counts the allele its header names (REF by default in plink2 2.00a3):
 * flipped to 2 - x where that allele is a2. `tol` bounds plink2's printing.
 */
function assertMatchesRaw(got: Float64Array[], raw: ReturnType<typeof readRaw>, a1: readonly string[], tol: number): void {
  assert.equal(got.length, raw.values.length);
  for (let v = 0; v < got.length; v++) {
    const flip = raw.alleles[v] !== a1[v];
    const e = raw.values[v]!;
    const g = got[v]!;
    for (let s = 0; s < g.length; s++) {
      const x = flip ? 2 - g[s]! : g[s]!;
      if (Number.isNaN(e[s]!)) assert.ok(Number.isNaN(x), `variant ${v} sample ${s}: read ${x}, plink2 NA`);
      else assert.ok(Math.abs(x - e[s]!) <= tol, `variant ${v} sample ${s}: read ${x}, plink2 ${e[s]}`);
    }
  }
}

function typeCounts(r: PgenReader): Record<string, number> {
  return Object.fromEntries([...r.recordTypeCounts()].sort((a, b) => a[0] - b[0]).map(([t, c]) => [`0x${t.toString(16).padStart(2, '0')}`, c]));
}

describe('PLINK 2 .pgen/.pvar/.psam (--pfile)', () => {
  const hc = join(dir, 'hc');
  const dum = join(dir, 'dum');

  sharedTest('hard calls: plink2 --make-pgen of the chr22 .bed reads back as the .bed and as plink2 --export A', `${STRUCT}.bed`, async (t) => {
    if (!requireTool(t, 'plink2')) return;
    plink2('--bfile', SHARED + STRUCT, '--make-pgen', '--out', hc);
    plink2('--pfile', hc, '--export', 'A', '--out', hc);
    const r = await openPgen(hc);
    const bed = await openBed(SHARED + STRUCT);
    try {
      const types = typeCounts(r);
      t.diagnostic(`record types of ${hc}.pgen: ${JSON.stringify(types)}`);
      // plink2 chose LD compression (2, 3) and the 1-bit/difflist encodings for this file: all are exercised.
      assert.ok((types['0x02'] ?? 0) > 1000 && (types['0x03'] ?? 0) > 0 && (types['0x01'] ?? 0) > 1000 && (types['0x00'] ?? 0) > 0, JSON.stringify(types));
      assert.equal(r.layout.mode, 0x10);
      assert.deepEqual(r.variants.id, bed.variants.id);
      assert.deepEqual(r.variants.a1, bed.variants.a1, 'a1 = ALT = the .bim column-5 allele');
      assert.deepEqual([...r.samples.iid], [...bed.samples.iid]);
      assert.equal(r.sampleKey, 'fid-iid');
      const got = await allDosages(r);
      const want = await allDosages(bed);
      for (let v = 0; v < got.length; v++) assert.deepEqual(got[v], want[v], `variant ${v}`);
      assertMatchesRaw(got, readRaw(`${hc}.raw`), r.variants.a1, 0);

      // A selection in any order, with LD records whose reference record is not selected, and a sample subset.
      const m = r.variants.id.length;
      const idx = Int32Array.from({ length: 500 }, (_, k) => (k * 7919 + 13) % m);
      const samples = Int32Array.from([5, 0, 273, 100, 100, 42]);
      let k = 0;
      for await (const b of r.batches({ select: { indices: idx }, samples, size: 64 })) {
        for (let j = 0; j < b.indices.length; j++, k++) {
          assert.equal(b.indices[j], idx[k]);
          const col = Array.from(b.dosages.data.subarray(j * samples.length, (j + 1) * samples.length));
          assert.deepEqual(
            col,
            Array.from(samples, (s) => want[idx[k]!]![s]!),
            `selected variant ${idx[k]}`,
          );
        }
      }
      assert.equal(k, idx.length);
    } finally {
      await r.close();
      await bed.close();
    }
  });

  sharedTest(
    'a .pgen cut short after it was opened: the batches before the cut, then an error naming it; stopping early hides no failed read',
    `${STRUCT}.bed`,
    async (t) => {
      if (!requireTool(t, 'plink2')) return;
      const cut = join(dir, 'cut');
      for (const e of ['pgen', 'pvar', 'psam']) copyFileSync(`${hc}.${e}`, `${cut}.${e}`);
      const r = await openPgen(cut);
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown): void => {
        unhandled.push(e);
      };
      process.on('unhandledRejection', onUnhandled);
      try {
        // Cut inside the third batch of 1000: its read (started while the second one decodes) fails.
        truncateSync(`${cut}.pgen`, r.layout.offsets[2500]!);
        const firsts: number[] = [];
        await assert.rejects(
          async () => {
            for await (const b of r.batches({ size: 1000 })) firsts.push(b.indices[0]!);
          },
          (e: unknown) => e instanceof InputError && e.message === `${cut}.pgen: unexpected end of file at byte ${r.layout.offsets[2500]}`,
        );
        assert.deepEqual(firsts, [0, 1000]);
        // A caller that stops at the batch before the cut never awaits the failed read of the next one: that must not surface as an unhandled rejection.
        const from = Int32Array.from({ length: 3000 }, (_, k) => 1000 + k);
        for await (const b of r.batches({ size: 1000, select: { indices: from } })) {
          assert.equal(b.indices[0], 1000);
          break;
        }
        await r.close();
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.deepEqual(unhandled, []);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    },
  );

  sharedTest('dosages and phase: plink2 --dummy filesets read as plink2 --export A prints them', `${STRUCT}.bed`, async (t) => {
    if (!requireTool(t, 'plink2')) return;
    // 300 samples (2-byte sample ids in difflists) and 200 (1-byte), each with dosages, phased calls and 2% missing.
    for (const [n, seed] of [
      [300, '1'],
      [200, '2'],
    ] as const) {
      plink2('--dummy', String(n), '3000', '0.02', 'phase-freq=0.3', 'dosage-freq=0.2', '--seed', seed, '--make-pgen', '--out', dum);
      plink2('--pfile', dum, '--export', 'A', '--out', dum);
      const r = await openPgen(dum);
      try {
        const types = typeCounts(r);
        t.diagnostic(`record types of the ${n}-sample --dummy .pgen: ${JSON.stringify(types)}`);
        const withDosage = [...r.recordTypeCounts()].filter(([ty]) => ty & 0x60).reduce((a, [, c]) => a + c, 0);
        const withPhase = [...r.recordTypeCounts()].filter(([ty]) => ty & 0x10).reduce((a, [, c]) => a + c, 0);
        assert.ok(withDosage > 1000 && withPhase > 1000, JSON.stringify(types));
        assert.equal(r.sampleKey, 'iid', '#IID-only .psam');
        const got = await allDosages(r);
        let fractional = 0;
        for (const g of got) for (const x of g) if (x !== Math.round(x) && !Number.isNaN(x)) fractional++;
        assert.ok(fractional > 10000, `${fractional} non-integer dosages`);
        for (const g of got) for (const x of g) assert.ok(Number.isNaN(x) || Number.isInteger(x * 16384), `dosage ${x} is not a multiple of 1/16384`);
        // plink2 prints at most 5 decimals of a value on the 1/16384 grid it rounded from 1/32768 units: within 1/32768.
        assertMatchesRaw(got, readRaw(`${dum}.raw`), r.variants.a1, 1 / 32768 + 1e-9);
      } finally {
        await r.close();
      }
    }
  });

  toolTest('dosages with a sample subset and a selection in any order (repeats included) equal the full read, odd N', 'plink2', async (t) => {
    // 301 samples: the dosage bitarray ends mid-word and the hard calls mid-byte; LD records whose reference is not selected.
    const odd = join(dir, 'odd');
    plink2('--dummy', '301', '2000', '0.02', 'phase-freq=0.3', 'dosage-freq=0.2', '--seed', '3', '--make-pgen', '--out', odd);
    plink2('--pfile', odd, '--export', 'A', '--out', odd);
    const r = await openPgen(odd);
    try {
      t.diagnostic(`record types: ${JSON.stringify(typeCounts(r))}`);
      const full = await allDosages(r);
      assertMatchesRaw(full, readRaw(`${odd}.raw`), r.variants.a1, 1 / 32768 + 1e-9);
      const m = r.variants.id.length;
      const idx = Int32Array.from({ length: 700 }, (_, k) => (k * 7919 + 5) % m);
      idx[1] = idx[0]!;
      const samples = Int32Array.from([300, 0, 17, 17, 150, 299, 1]);
      let k = 0;
      for await (const b of r.batches({ select: { indices: idx }, samples, size: 50 })) {
        for (let j = 0; j < b.indices.length; j++, k++) {
          const col = Array.from(b.dosages.data.subarray(j * samples.length, (j + 1) * samples.length));
          assert.deepEqual(
            col,
            Array.from(samples, (s) => full[idx[k]!]![s]!),
            `selected variant ${idx[k]}`,
          );
        }
      }
      assert.equal(k, idx.length);
    } finally {
      await r.close();
    }
  });

  toolTest('sparse variants: plink2 stores them as difflists (record types 4, 6, 7), read back as the .bed', 'plink2', async (t) => {
    // Mostly one genotype (hom. a1, hom. a2 or missing) with a few others at scattered samples.
    const n = 300;
    const m = 240;
    const d = new Matrix(n, m);
    for (let v = 0; v < m; v++) {
      const base = [0, 2, Number.NaN][v % 3]!;
      const col = d.data.subarray(v * n, (v + 1) * n);
      col.fill(base);
      for (let k = 0; k < (v * 7) % 90; k++) col[(k * 37 + v * 11) % n] = [1, 2, 0, Number.NaN][(k + v) % 4]!;
    }
    const sparse = join(dir, 'sparse');
    const ids = Array.from({ length: n }, (_, i) => `s${i}`);
    await writeBed(sparse, d, { fid: ids, iid: ids }, syntheticVariants(m));
    plink2('--bfile', sparse, '--make-pgen', '--out', sparse);
    const r = await openPgen(sparse);
    const bed = await openBed(sparse);
    try {
      const types = typeCounts(r);
      t.diagnostic(`record types of the sparse .pgen: ${JSON.stringify(types)}`);
      for (const ty of ['0x04', '0x06', '0x07']) assert.ok((types[ty] ?? 0) > 0, `no record of type ${ty}: ${JSON.stringify(types)}`);
      const want = await allDosages(bed);
      assert.deepEqual(await allDosages(r), want);

      // Storage mode 0x02 (fixed-width 2-bit records, pgen_spec): the .bed's bytes with PLINK 1's codes
      // (0 hom. A1, 1 missing, 2 het., 3 hom. A2) recoded to PLINK 2's (2 hom. ALT, 3 missing, 1 het., 0 hom. REF).
      const bedBytes = readFileSync(`${sparse}.bed`).subarray(3);
      const recode = [2, 3, 1, 0];
      const fixed = Buffer.alloc(12 + bedBytes.length);
      fixed.set([0x6c, 0x1b, 0x02]);
      fixed.writeUInt32LE(m, 3);
      fixed.writeUInt32LE(n, 7);
      for (let i = 0; i < bedBytes.length; i++) {
        let b = 0;
        for (let k = 0; k < 4; k++) b |= recode[(bedBytes[i]! >> (2 * k)) & 3]! << (2 * k);
        fixed[12 + i] = b;
      }
      const fw = join(dir, 'fixed');
      writeFileSync(`${fw}.pgen`, fixed);
      copyFileSync(`${sparse}.bim`, `${fw}.pvar`);
      copyFileSync(`${sparse}.fam`, `${fw}.psam`);
      const f = await openPgen(fw);
      try {
        assert.equal(f.layout.mode, 0x02);
        assert.deepEqual(await allDosages(f), want);
      } finally {
        await f.close();
      }
    } finally {
      await r.close();
      await bed.close();
    }
  });

  sharedTest('.pvar without a header (.bim layout) and with INFO, .psam as a .fam: the same fileset', `${STRUCT}.bed`, async (t) => {
    if (!requireTool(t, 'plink2')) return;
    const alt = join(dir, 'alt');
    copyFileSync(`${hc}.pgen`, `${alt}.pgen`);
    copyFileSync(`${SHARED + STRUCT}.bim`, `${alt}.pvar`);
    copyFileSync(`${SHARED + STRUCT}.fam`, `${alt}.psam`);
    const a = await openPgen(alt);
    const b = await openPgen(hc);
    const ids = b.variants.id;
    try {
      assert.deepEqual(a.variants.id, b.variants.id);
      assert.deepEqual(a.variants.a1, b.variants.a1);
      assert.deepEqual(a.variants.a2, b.variants.a2);
      assert.deepEqual(Array.from(a.variants.pos), Array.from(b.variants.pos));
      assert.deepEqual([...a.samples.fid], [...b.samples.fid]);
      assert.deepEqual(await allDosages(a), await allDosages(b));
    } finally {
      await a.close();
      await b.close();
    }
    // INFO (and QUAL, FILTER, CM) columns, ## lines before the header.
    const pvar = readFileSync(`${hc}.pvar`, 'utf8').trimEnd().split('\n');
    const withInfo = ['##fileformat=VCFv4.3', '##INFO=<ID=K,Number=1,Type=Integer,Description="k">', `${pvar[0]}\tQUAL\tFILTER\tINFO\tCM`];
    for (let i = 1; i < pvar.length; i++) withInfo.push(`${pvar[i]}\t.\t.\tK=${i};X=a,b\t0.5`);
    writeFileSync(`${alt}.pvar`, `${withInfo.join('\n')}\n`);
    const c = await openPgen(alt);
    try {
      assert.deepEqual(c.variants.id, ids);
      assert.equal(c.variants.cm[0], 0.5);
      assert.equal(c.variants.line[0], 4);
    } finally {
      await c.close();
    }
  });

  sharedTest('lmmkit gwas gene1 from the pgen equals the .bed scan (fixed and exact tests)', [`${STRUCT}.bed`, EXPR], async (t) => {
    if (!requireTool(t, 'plink2')) return;
    const expr = await readTable(SHARED + EXPR, { transposed: true, key: 'iid', columns: ['gene1'] });
    const fam = readFileSync(`${SHARED + STRUCT}.fam`, 'utf8')
      .trimEnd()
      .split('\n');
    const pheno = join(dir, 'pheno.tsv');
    writeFileSync(pheno, `FID\tIID\tgene1\n${fam.map((l, i) => `${l.split(/\s+/).slice(0, 2).join('\t')}\t${expr.values.data[i]}`).join('\n')}\n`);
    for (const test of ['fixed', 'exact']) {
      const outs = ['bfile', 'pfile'].map((opt) => {
        const out = join(dir, `gwas-${opt}-${test}`);
        const src = opt === 'bfile' ? SHARED + STRUCT : hc;
        const region = test === 'exact' ? ['--region', '22:17000000-19000000'] : [];
        const r = lmmkit('gwas', `--${opt}`, src, '--pheno', pheno, '--kinship-from-bfile', '--test', test, ...region, '--out', out);
        assert.equal(r.status, 0, r.stderr);
        return { tsv: readTsv(`${out}.gene1.tsv`), report: JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { genotypes: { format: string } } };
      });
      const [bed, pgen] = outs as [(typeof outs)[0], (typeof outs)[0]];
      assert.equal(pgen.report.genotypes.format, 'pgen');
      assert.ok(bed.tsv.rows.length > 1000 || test === 'exact', `${bed.tsv.rows.length} rows`);
      assert.deepEqual(pgen.tsv.header, bed.tsv.header);
      for (const name of ['id', 'effect_allele', 'other_allele', 'n', 'eaf']) assert.deepEqual(column(pgen.tsv, name), column(bed.tsv, name), name);
      for (const name of bed.tsv.header.filter((h) => /^(beta|se|stat|pvalue|neg_log10_p|p_|lambda)/.test(h))) {
        const a = column(pgen.tsv, name).map(Number);
        const b = column(bed.tsv, name).map(Number);
        for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-9 * Math.abs(b[i]!), `${test} ${name}[${i}]: pgen ${a[i]}, bed ${b[i]}`);
      }
    }
  });

  describe('bad .pgen filesets: exit 2, one line naming the file and the variant', () => {
    const bad = join(dir, 'bad');
    const out = join(dir, 'bad-out');
    /** A copy of the hard-call fileset with `edit` applied to the named file's bytes. */
    function variant(name: string, file: 'pgen' | 'pvar' | 'psam', edit: (b: Buffer) => Buffer): string {
      const p = join(bad, name);
      for (const e of ['pgen', 'pvar', 'psam']) copyFileSync(`${hc}.${e}`, `${p}.${e}`);
      writeFileSync(`${p}.${file}`, edit(readFileSync(`${p}.${file}`)));
      return p;
    }
    function run(prefix: string): ReturnType<typeof lmmkit> {
      mkdirSync(out, { recursive: true });
      return lmmkit('kinship', '--pfile', prefix, '--out', join(out, 'k.tsv'));
    }
    const cases: [string, () => string, RegExp][] = [
      [
        'wrong magic',
        () =>
          variant('magic', 'pgen', (b) => {
            b[1] = 0x1c;
            return b;
          }),
        /magic\.pgen: not a PLINK 2 \.pgen file: expected magic bytes 6c 1b, found 6c 1c 10/,
      ],
      [
        'truncated records',
        () => variant('trunc', 'pgen', (b) => b.subarray(0, b.length - 5000)),
        /trunc\.pgen: truncated \.pgen: the record of variant 'rs\w+' \(\d+ of 49008\) ends at byte/,
      ],
      [
        'truncated header',
        () => variant('trunch', 'pgen', (b) => b.subarray(0, 100)),
        /trunch\.pgen: truncated header: 49008 variants need \d+ header bytes, found 100/,
      ],
      [
        'storage mode with a separate index',
        () =>
          variant('mode', 'pgen', (b) => {
            b[2] = 0x20;
            return b;
          }),
        /mode\.pgen: storage mode 0x20 \(index in a separate \.pgi file\) is not supported/,
      ],
      [
        'unknown storage mode',
        () =>
          variant('mode2', 'pgen', (b) => {
            b[2] = 0x07;
            return b;
          }),
        /mode2\.pgen: unsupported storage mode 0x07/,
      ],
      [
        '.pvar with a variant fewer',
        () => variant('pvar', 'pvar', (b) => Buffer.from(b.toString('utf8').replace(/\n[^\n]*\n$/, '\n'))),
        /pvar\.pgen: the header holds 49008 variants, but .*pvar\.pvar lists 49007/,
      ],
      [
        '.psam with a sample more',
        () => variant('psam', 'psam', (b) => Buffer.concat([b, Buffer.from('X1\tX1\tNA\n')])),
        /psam\.pgen: the header holds 274 samples, but .*psam\.psam lists 275/,
      ],
      [
        'reserved record type',
        () =>
          variant('type', 'pgen', (b) => {
            // The first record's type nibble (4-bit types, one block: the types start at byte 20) set to 5.
            b[20] = (b[20]! & 0xf0) | 5;
            return b;
          }),
        /type\.pgen: variant 'rs146752890' \(record 1, 22:16050612, record type 0x05\): hard-call encoding 5 is reserved/,
      ],
      [
        'multi-allelic variant',
        () => variant('multi', 'pvar', (b) => Buffer.from(b.toString('utf8').replace('rs62224610\tG\tC', 'rs62224610\tG\tC,T'))),
        /multi\.pvar:3: expected biallelic variants \(one ALT allele\), found 1 multi-allelic variant, the first 'rs62224610'/,
      ],
    ];
    for (const [name, make, message] of cases) {
      sharedTest(name, `${STRUCT}.bed`, (t) => {
        if (!requireTool(t, 'plink2')) return;
        mkdirSync(bad, { recursive: true });
        const prefix = make();
        assertRejected(run(prefix), message, out);
      });
    }
  });
});
