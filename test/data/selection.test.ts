// Chromosome codes as plink2 reads them, and the selection lists and filters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalChrom, chromCode, compareChromNames, sameChrom } from '../../src/data/chrom.js';
import { parseLines } from '../../src/data/lines.js';
import { parseChromList, SampleListParser, sampleExclusions, variantFilter } from '../../src/data/selection.js';
import { resolveSelection, type VariantTable } from '../../src/data/variants.js';

test('chromosome codes: chr prefixes, X/Y/XY/MT and 23-26, any case', () => {
  assert.equal(chromCode('chr1'), 1);
  assert.equal(chromCode('CHR22'), 22);
  for (const [names, code] of [
    [['X', 'x', 'chrX', '23'], 23],
    [['Y', 'chrY', '24'], 24],
    [['XY', 'chrxy', '25'], 25],
    [['MT', 'M', 'chrM', 'chrMT', 'mt', '26'], 26],
  ] as const) {
    for (const n of names) assert.equal(chromCode(n), code, n);
  }
  assert.equal(chromCode('GL000192.1'), undefined);
  assert.equal(chromCode('27'), undefined);
  assert.equal(canonicalChrom('chr7'), '7');
  assert.ok(sameChrom('chr22', '22') && sameChrom('X', '23') && !sameChrom('1', '11'));
  assert.deepEqual(['MT', 'chr10', 'X', '2', 'HLA', '23', 'chr1'].sort(compareChromNames), ['chr1', '2', 'chr10', '23', 'X', 'MT', 'HLA']);
});

const variants: VariantTable = {
  chrom: ['1', '1', 'chr2', '22', 'X', 'MT', 'GL1'],
  id: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
  cm: new Float64Array(7),
  pos: Float64Array.from([10, 20, 30, 40, 50, 60, 70]),
  a1: Array(7).fill('A'),
  a2: Array(7).fill('C'),
};

test('--region chr22 selects the variants of chromosome 22, --region 23 those of X', () => {
  assert.deepEqual([...resolveSelection(variants, { region: { chrom: 'chr22', start: 0, end: 100 } }, 'f')], [3]);
  assert.deepEqual([...resolveSelection(variants, { region: { chrom: '23', start: 0, end: 100 } }, 'f')], [4]);
});

test('--chr lists and ranges, the file contigs, and unknown codes', () => {
  assert.deepEqual([...parseChromList('1-2,22,chrX', variants.chrom, 'f')].sort(), ['1', '2', '22', '23']);
  assert.deepEqual([...parseChromList('22-MT', variants.chrom, 'f')], ['22', '23', '24', '25', '26']);
  assert.deepEqual([...parseChromList('GL1', variants.chrom, 'f')], ['GL1']);
  assert.throws(() => parseChromList('1,Q', variants.chrom, 'f'), /--chr: unknown chromosome code 'Q'/);
  const res = variantFilter(variants, { chr: { text: '1-2', names: parseChromList('1-2', variants.chrom, 'f') }, toBp: 20 }, 'f');
  assert.deepEqual([...res.keep], [0, 1]);
  assert.deepEqual(res.counts.filters, [
    { option: '--chr', value: '1-2', removed: 4 },
    { option: '--to-bp', value: '20', removed: 1 },
  ]);
});

test('--keep lists: #FID/#IID headers, FID IID or IID rows; an IID-only list names FID 0 (plink2)', () => {
  const samples = { fid: ['f1', '0', 'f3'], iid: ['s1', 's2', 's3'] };
  const fidIid = parseLines('#FID IID SEX\nf1 s1 1\n\nf3 s3 2\n', new SampleListParser('k'));
  assert.deepEqual(fidIid.iid, ['s1', 's3']);
  assert.deepEqual([...sampleExclusions(samples, 'fid-iid', { keep: fidIid }).excluded], [[1, 'not in --keep k']]);
  const iidOnly = parseLines('s1\ns2\n', new SampleListParser('r'));
  assert.equal(iidOnly.key, 'iid');
  // s1 has FID f1: an IID-only list does not name it; s2 (FID 0) it does.
  assert.deepEqual([...sampleExclusions(samples, 'fid-iid', { remove: iidOnly }).excluded], [[1, 'removed by --remove r']]);
  // A genotype file of IIDs only (BIMBAM) matches on IID.
  assert.equal(sampleExclusions(samples, 'iid', { remove: iidOnly }).excluded.size, 2);
  assert.throws(() => parseLines('#IID\n', new SampleListParser('e')), /e: expected at least one sample/);
  assert.throws(() => parseLines('#FID IID\nonlyone\n', new SampleListParser('e')), /e:2: expected FID and IID \(2 fields\), found 1 field/);
});
