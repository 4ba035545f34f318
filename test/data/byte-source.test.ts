// Readers over bytes (what a page has) give what the readers over paths
// give: the same PLINK batches from a Uint8Array, an ArrayBuffer or a File
// as from the files, the same tables from the bytes of a file as from its
// path, and the same errors, naming the source.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  InputError,
  openBed,
  openBedFiles,
  openFileSource,
  parseKinship,
  parseTable,
  readKinship,
  readTable,
  simulateGenotypes,
  textOf,
  writeBed,
  type BatchOptions,
  type BedReader,
  type GenotypeBatch,
} from '../../src/node.js';
import { SHARED, sharedTest } from '../support.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bytes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function batchesOf(reader: BedReader, opts: BatchOptions): Promise<GenotypeBatch[]> {
  const out: GenotypeBatch[] = [];
  for await (const b of reader.batches(opts)) out.push(b);
  await reader.close();
  return out;
}

describe('PLINK fileset from bytes', () => {
  const sim = simulateGenotypes({ samples: 23, variants: 57, chromosomes: 2, missingRate: 0.1, seed: 11 });
  const prefix = join(dir, 'sim');
  const file = (ext: string): Uint8Array => new Uint8Array(readFileSync(`${prefix}.${ext}`));
  const selections: BatchOptions[] = [
    { size: 1000 },
    { size: 7, samples: [22, 0, 5, 5, 13] },
    { size: 5, select: { indices: [40, 3, 4, 5, 56, 0] }, standardize: true },
    { size: 9, standardize: true, samples: [1, 2, 3, 20] },
  ];

  test('gives the batches that the files give, from a Uint8Array, an ArrayBuffer and a File, counting either allele', async () => {
    await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
    for (const count of ['a1', 'a2'] as const) {
      for (const opts of selections) {
        const want = await batchesOf(await openBed(prefix, { count }), opts);
        const inputs = [
          { bed: file('bed'), bim: file('bim'), fam: file('fam') },
          { bed: file('bed').slice().buffer, bim: file('bim').slice().buffer, fam: file('fam').slice().buffer },
          { bed: new File([file('bed')], 'sim.bed'), bim: new File([file('bim')], 'sim.bim'), fam: new File([file('fam')], 'sim.fam') },
        ];
        for (const files of inputs) {
          const got = await batchesOf(await openBedFiles(files, { count }), opts);
          assert.deepEqual(got, want, `${count} ${JSON.stringify(opts)}`);
        }
      }
    }
  });

  test('a File keeps its name for messages, bare bytes take the prefix', async () => {
    const fromFile = await openBedFiles({ bed: new File([file('bed')], 'mine.bed'), bim: file('bim'), fam: file('fam') });
    assert.equal(fromFile.path, 'mine.bed');
    await fromFile.close();
    const bare = await openBedFiles({ bed: file('bed'), bim: file('bim'), fam: file('fam'), prefix: 'upload' });
    assert.equal(bare.path, 'upload.bed');
    await bare.close();
  });

  test('refuses truncated, foreign and mismatched bytes as the files are refused, naming the source', async () => {
    const bed = file('bed');
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated', bed.subarray(0, bed.length - 1), /^x\.bed: truncated \.bed: 23 samples \(\.fam\) x 57 variants/],
      ['foreign', new Uint8Array([1, 2, 3, 4]), /^x\.bed: not a PLINK \.bed file: expected magic bytes 6c 1b, found 01 02 03$/],
      ['empty', new Uint8Array(0), /^x\.bed: not a PLINK \.bed file: .*found \(empty file\)$/],
    ];
    for (const [label, bytes, message] of cases) {
      await assert.rejects(openBedFiles({ bed: bytes, bim: file('bim'), fam: file('fam'), prefix: 'x' }), (e: unknown) => {
        assert.ok(e instanceof InputError, label);
        assert.match(e.message, message, label);
        return true;
      });
    }
    const badBim = new TextEncoder().encode('1 rs1 0 100 A\n');
    await assert.rejects(openBedFiles({ bed, bim: badBim, fam: file('fam'), prefix: 'x' }), /^InputError: x\.bim:1: expected 6 whitespace-separated fields/);
  });

  test('a file source reads exactly what is asked, and says where a file cut short ends', async () => {
    const src = await openFileSource(`${prefix}.bed`);
    assert.equal(src.size, file('bed').length);
    assert.deepEqual(await src.read(3, 10), file('bed').subarray(3, 13));
    // Storage handed in is filled and returned (a view of it); storage too short for the read is not used.
    const into = new Uint8Array(16).fill(0xee);
    const got = await src.read(3, 10, into);
    assert.equal(got.buffer, into.buffer);
    assert.deepEqual(got, file('bed').subarray(3, 13));
    assert.deepEqual(into.subarray(10), new Uint8Array(6).fill(0xee));
    const short = new Uint8Array(4);
    assert.deepEqual(await src.read(3, 10, short), file('bed').subarray(3, 13));
    assert.deepEqual(short, new Uint8Array(4));
    await assert.rejects(
      src.read(src.size - 2, 5),
      (e: unknown) => e instanceof InputError && e.message === `${prefix}.bed: unexpected end of file at byte ${src.size}`,
    );
    await src.close();
    await assert.rejects(openFileSource(join(dir, 'absent.bed')), /absent\.bed: cannot open: ENOENT$/);
  });
});

describe('shared data from bytes', () => {
  const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';
  sharedTest('the structLMM fileset gives the same batches from Files as from its paths', [`${STRUCT}.bed`, 'data/structlmm/expr.csv'], async () => {
    const prefix = SHARED + STRUCT;
    const asFile = (ext: string): File => new File([readFileSync(`${prefix}.${ext}`)], `chrom22.${ext}`);
    for (const opts of [{ size: 100 }, { size: 64, standardize: true, samples: [5, 1, 2, 3, 8] }]) {
      const want = await batchesOf(await openBed(prefix, { count: 'a2' }), opts);
      const got = await batchesOf(await openBedFiles({ bed: asFile('bed'), bim: asFile('bim'), fam: asFile('fam') }, { count: 'a2' }), opts);
      assert.deepEqual(got, want);
    }
    const expr = `${SHARED}data/structlmm/expr.csv`;
    const opts = { transposed: true, key: 'iid' } as const;
    assert.deepEqual(parseTable(await textOf(new File([readFileSync(expr)], 'expr.csv')), expr, opts), await readTable(expr, opts));
  });
});

describe('tables from bytes', () => {
  test('parse to what readTable and readKinship give from the path, byte-order mark and CRLF included', async () => {
    const pheno = join(dir, 'pheno.csv');
    writeFileSync(pheno, '\ufeffFID,IID,y1,y2\r\nf1,a,1.5,NA\r\nf2,b,-2,3e-4\r\nf3,c,"7",.\r\n');
    const bytes = new Uint8Array(readFileSync(pheno));
    assert.deepEqual(parseTable(await textOf(bytes), pheno), await readTable(pheno));
    assert.deepEqual(parseTable(await textOf(new Blob([bytes])), pheno, { columns: ['y2'] }), await readTable(pheno, { columns: ['y2'] }));
    const kin = join(dir, 'k.tsv');
    writeFileSync(kin, 'id\ta\tb\na\t1\t0.25\nb\t0.25\t1\n');
    assert.deepEqual(parseKinship(await textOf(new Uint8Array(readFileSync(kin)).buffer), kin), await readKinship(kin));
  });

  test('decode malformed UTF-8 as Node reads a file, and name the source in parse errors', async () => {
    const odd = new Uint8Array([0x61, 0xff, 0x62, 0x0a]);
    assert.equal(await textOf(odd), Buffer.from(odd).toString('utf8'));
    await assert.rejects(
      async () => parseTable(await textOf(new File(['FID IID y\nf a x\n'], 'p.txt')), 'p.txt'),
      /^InputError: p\.txt:2 \(column 3 'y'\): expected a number.*found 'x'$/,
    );
  });
});
