// The BIMBAM mean genotype reader: round trips through small written files
// (plain and gzip), selections, every kind of bad input, and the BXD example
// data of GEMMA checked against its own text.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InputError, LmmkitError } from '../../src/errors.js';
import { openBimbam, type OpenBimbamOptions } from '../../src/data/bimbam.js';
import type { BatchOptions } from '../../src/data/genotypes.js';
import { SHARED, sharedTest } from '../support.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bimbam-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function write(text: string, gzip = false): string {
  const path = join(dir, `f${fileNo++}${gzip ? '.gz' : '.txt'}`);
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
}

// Four samples, separators mixed as GEMMA's strtok(" ,\t") allows.
const GENO = `${['rs1, A, T, 0, 1, 2, NA', '', 'rs2 C\tG 0.5 1.5 2 0', ',rs3,G,A,2,2,2,1,', 'rs4, T, C, 1e-1, -0.25, +2, .5\r'].join('\n')}\n`;
const VALUES = [
  [0, 1, 2, Number.NaN],
  [0.5, 1.5, 2, 0],
  [2, 2, 2, 1],
  [0.1, -0.25, 2, 0.5],
];
const ANNO = 'rs1 100 1\nrs2,200,1\nrs3\t50\t2\nrs4 75 2 1.5\n';

/** Every selected variant's dosages as columns, with the indices. */
async function collect(path: string, open: OpenBimbamOptions = {}, opts: BatchOptions = {}) {
  const reader = await openBimbam(path, open);
  const cols: number[][] = [];
  const indices: number[] = [];
  const sizes: number[] = [];
  try {
    for await (const b of reader.batches(opts)) {
      sizes.push(b.indices.length);
      assert.equal(b.dosages.cols, b.indices.length);
      assert.deepEqual(
        b.variants.id,
        Array.from(b.indices, (i) => reader.variants.id[i]),
      );
      for (let j = 0; j < b.dosages.cols; j++) cols.push(Array.from(b.dosages.col(j)));
      indices.push(...b.indices);
    }
  } finally {
    await reader.close();
  }
  return { reader, cols, indices, sizes };
}

describe('BIMBAM round trip', () => {
  for (const gzip of [false, true]) {
    test(`${gzip ? 'gzip' : 'plain'} file: ids, alleles, dosages as written, NA -> NaN`, async () => {
      const path = write(GENO, gzip);
      const { reader, cols, indices, sizes } = await collect(path, { annotation: write(ANNO) }, { size: 3 });
      assert.equal(reader.gzip, gzip);
      assert.equal(reader.nSamples, 4);
      assert.deepEqual(reader.samples.iid, ['1', '2', '3', '4']);
      assert.deepEqual(reader.samples.fid, reader.samples.iid);
      assert.deepEqual(reader.variants.id, ['rs1', 'rs2', 'rs3', 'rs4']);
      assert.deepEqual(reader.variants.a1, ['A', 'C', 'G', 'T']);
      assert.deepEqual(reader.variants.a2, ['T', 'G', 'A', 'C']);
      assert.deepEqual(reader.variants.chrom, ['1', '1', '2', '2']);
      assert.deepEqual(Array.from(reader.variants.pos), [100, 200, 50, 75]);
      assert.deepEqual(Array.from(reader.variants.cm), [0, 0, 0, 1.5]);
      assert.deepEqual(sizes, [3, 1]);
      assert.deepEqual(indices, [0, 1, 2, 3]);
      assert.deepEqual(cols, VALUES);
    });
  }

  test('without annotation: chrom 0, pos 0', async () => {
    const { reader } = await collect(write(GENO));
    assert.deepEqual(reader.variants.chrom, ['0', '0', '0', '0']);
    assert.deepEqual(Array.from(reader.variants.pos), [0, 0, 0, 0]);
  });

  test('samples from a table or a count', async () => {
    const table = { fid: ['F1', 'F2', 'F3', 'F4'], iid: ['a', 'b', 'c', 'd'] };
    const withTable = await collect(write(GENO), { samples: table });
    assert.deepEqual(withTable.reader.samples, table);
    assert.deepEqual(withTable.cols, VALUES);
    const withCount = await collect(write(GENO), { samples: 4 });
    assert.deepEqual(withCount.reader.samples.iid, ['1', '2', '3', '4']);
  });

  test('an empty file has no variants', async () => {
    const { reader, cols } = await collect(write('\n'), { samples: 3 });
    assert.equal(reader.nVariants, 0);
    assert.equal(reader.nSamples, 3);
    assert.deepEqual(cols, []);
  });
});

describe('BIMBAM selections', () => {
  const open = { annotation: write(ANNO) };

  test('range, region and sample subsets', async () => {
    const path = write(GENO, true);
    const range = await collect(path, open, { select: { range: [1, 3] } });
    assert.deepEqual(range.indices, [1, 2]);
    assert.deepEqual(range.cols, VALUES.slice(1, 3));
    const region = await collect(path, open, { select: { region: { chrom: '2', start: 50, end: 75 } } });
    assert.deepEqual(region.indices, [2]);
    const samples = await collect(path, open, { samples: [3, 0], size: 1 });
    assert.deepEqual(samples.sizes, [1, 1, 1, 1]);
    assert.deepEqual(
      samples.cols,
      VALUES.map((v) => [v[3]!, v[0]!]),
    );
  });

  test('ids and indices out of file order, with repeats (the stream restarts)', async () => {
    const path = write(GENO);
    const ids = await collect(path, open, { select: { ids: ['rs4', 'rs1', 'rs3'] }, size: 1 });
    assert.deepEqual(ids.indices, [3, 0, 2]);
    assert.deepEqual(ids.cols, [VALUES[3], VALUES[0], VALUES[2]]);
    const idx = await collect(path, open, { select: { indices: [2, 2, 0, 3] }, size: 3 });
    assert.deepEqual(idx.sizes, [3, 1]);
    assert.deepEqual(idx.cols, [VALUES[2], VALUES[2], VALUES[0], VALUES[3]]);
  });

  test('unknown ids, bad sample indices and bad sizes are errors', async () => {
    const reader = await openBimbam(write(GENO));
    await assert.rejects(reader.batches({ select: { ids: ['nope'] } }).next(), /variant id 'nope' is not in the file/);
    await assert.rejects(reader.batches({ samples: [4] }).next(), /sample index 4 is outside the file's 4 samples/);
    await assert.rejects(reader.batches({ size: 0 }).next(), /size must be a positive integer/);
  });

  test('close() ends a stream left open by an abandoned generator', async () => {
    const reader = await openBimbam(write(GENO));
    const it = reader.batches({ size: 1 });
    assert.equal((await it.next()).done, false);
    await reader.close();
  });
});

describe('BIMBAM bad input', () => {
  async function readAll(geno: string, open: OpenBimbamOptions = {}): Promise<void> {
    const reader = await openBimbam(geno, open);
    for await (const b of reader.batches()) assert.ok(b);
  }
  const badInput = (re: RegExp) => (err: unknown) => err instanceof InputError && re.test(err.message);

  test('a wrong number of fields names the file and line', async () => {
    const first = write('rs1 A T 0 1 2\n');
    await assert.rejects(openBimbam(first, { samples: 4 }), badInput(new RegExp(`^${first}:1: expected 3 \\+ 4 = 7 fields .* found 6$`)));
    const later = write('rs1 A T 0 1 2 1\n\nrs2 A T 0 1 2\n');
    await assert.rejects(readAll(later), badInput(new RegExp(`^${later}:3: expected 3 \\+ 4 = 7 fields .* found 6$`)));
    await assert.rejects(openBimbam(write('rs1 A T 0\nrs2 A\n')), badInput(/:2: expected 3 \+ 1 = 4 fields .* found 2$/));
  });

  test('a non-numeric dosage names line and column (sample index + 4)', async () => {
    const path = write('rs1 A T 0 1 2 1\nrs2, A, T, 0, 1, x1, 2\n');
    await assert.rejects(
      readAll(path),
      badInput(new RegExp(`^${path}:2 \\(column 6\\): sample 3 \\('3'\\): expected a dosage \\(a number\\) or NA, found 'x1'$`)),
    );
    await assert.rejects(readAll(write('rs1 A T 0 nan\n')), badInput(/:1 \(column 5\): .* found 'nan'$/));
    await assert.rejects(readAll(write('rs1 A T 0 0x1\n')), badInput(/found '0x1'$/));
  });

  test('duplicate variant ids', async () => {
    await assert.rejects(openBimbam(write('rs1 A T 0\nrs2 A T 1\nrs1 A T 2\n')), badInput(/:3: duplicate variant id 'rs1' \(first on line 1\)$/));
  });

  test('annotation: order mismatch, missing row, extra row, bad fields', async () => {
    const geno = write('rs1 A T 0\nrs2 A T 1\n');
    const swapped = write('rs1 1 1\nrsX 2 1\n');
    await assert.rejects(
      openBimbam(geno, { annotation: swapped }),
      badInput(new RegExp(`^${swapped}:2: annotation row 2 is 'rsX' but variant 2 of the genotype file is 'rs2' \\(${geno}:2\\)`)),
    );
    await assert.rejects(openBimbam(geno, { annotation: write('rs1 1 1\n') }), badInput(/: no annotation row for variant 2 'rs2' \(.*:2\)/));
    await assert.rejects(
      openBimbam(geno, { annotation: write('rs1 1 1\nrs2 2 1\n\nrs3 3 1\n') }),
      badInput(/:4: extra annotation row 'rs3': the genotype file .* has only 2 variants$/),
    );
    await assert.rejects(openBimbam(geno, { annotation: write('rs1 1\n') }), badInput(/:1: expected 3 or 4 fields \(rsid pos chrom \[cM\]\), found 2$/));
    await assert.rejects(
      openBimbam(geno, { annotation: write('rs1 1 1\nrs2 p2 1\n') }),
      badInput(/:2 \(column 2\): position must be a number or NA, found 'p2'$/),
    );
    await assert.rejects(
      openBimbam(geno, { annotation: join(dir, 'absent.txt') }),
      badInput(/absent\.txt: expected a readable text file, found no such file$/),
    );
  });

  test('missing file, sample table of the wrong size, bad count', async () => {
    await assert.rejects(openBimbam(join(dir, 'absent.txt')), badInput(/absent\.txt: cannot open: ENOENT$/));
    await assert.rejects(openBimbam(write(GENO), { samples: { fid: ['a'], iid: ['a'] } }), badInput(/:1: expected 3 \+ 1 = 4 fields .* found 7$/));
    await assert.rejects(
      openBimbam(write(GENO), { samples: -1 }),
      (e: unknown) => e instanceof LmmkitError && /non-negative integer count, found -1/.test(e.message),
    );
  });

  test('a corrupt gzip stream is an error, not a silent truncation', async () => {
    const full = gzipSync(GENO);
    const path = join(dir, 'truncated.gz');
    writeFileSync(path, full.subarray(0, full.length - 12));
    await assert.rejects(
      openBimbam(path),
      badInput(/truncated\.gz:\d+: expected the file to go on after line \d+, found unexpected end of file \(Z_BUF_ERROR\)$/),
    );
  });
});

const BXD = 'data/bxd/';

sharedTest('BXD example (GEMMA): 7320 variants x 198 samples, values as in the text', [`${BXD}BXD_geno.txt.gz`, `${BXD}BXD_snps.txt`], async () => {
  const genoPath = `${SHARED}${BXD}BXD_geno.txt.gz`;
  const reader = await openBimbam(genoPath, { annotation: `${SHARED}${BXD}BXD_snps.txt` });
  assert.equal(reader.gzip, true);
  assert.equal(reader.nVariants, 7320);
  assert.equal(reader.nSamples, 198);
  const lines = gunzipSync(readFileSync(genoPath)).toString('utf8').trim().split('\n');
  const snps = readFileSync(`${SHARED}${BXD}BXD_snps.txt`, 'utf8').trim().split('\n');
  const checked = [0, 1, 2345, 7319];
  let seen = 0;
  const levels = new Set<number>();
  for await (const b of reader.batches({ size: 1000 })) {
    for (let j = 0; j < b.dosages.cols; j++) {
      const v = b.indices[j]!;
      for (const x of b.dosages.col(j)) levels.add(x);
      if (!checked.includes(v)) continue;
      const f = lines[v]!.split(', ');
      const [rsid, pos, chrom] = snps[v]!.split('\t');
      assert.equal(b.variants.id[j], f[0]);
      assert.equal(b.variants.id[j], rsid);
      assert.equal(b.variants.chrom[j], chrom);
      assert.equal(b.variants.pos[j], Number(pos));
      assert.deepEqual([b.variants.a1[j], b.variants.a2[j]], ['X', 'Y']);
      assert.deepEqual(Array.from(b.dosages.col(j)), f.slice(3).map(Number));
    }
    seen += b.dosages.cols;
  }
  assert.equal(seen, 7320);
  assert.deepEqual(
    [...levels].sort((a, b) => a - b),
    [0, 0.5, 1],
  );
  assert.equal(reader.variants.chrom[7319], snps[7319]!.split('\t')[2]);
});
