// Which genotype fileset the page recognises among the files it is given
// (src/workflow/web-genotypes.ts): by extension, one complete set, or one
// line saying what is missing or that there are several.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recogniseGenotypes } from '../../src/workflow/web-filesets.js';

test('complete filesets of each format, tables and a .bgi beside them ignored', () => {
  assert.deepEqual(recogniseGenotypes(['chr22.BED', 'chr22.bim', 'chr22.fam', 'p.tsv']).fileset, { bed: 'chr22.BED', bim: 'chr22.bim', fam: 'chr22.fam' });
  assert.deepEqual(recogniseGenotypes(['x.pgen', 'x.pvar', 'x.psam', 'p.tsv']).fileset, { pgen: 'x.pgen', pvar: 'x.pvar', psam: 'x.psam' });
  assert.deepEqual(recogniseGenotypes(['x.bgen', 'x.sample', 'x.bgen.bgi']).fileset, { bgen: 'x.bgen', sample: 'x.sample' });
  assert.deepEqual(recogniseGenotypes(['x.bgen']).fileset, { bgen: 'x.bgen' });
  assert.deepEqual(recogniseGenotypes(['x.vcf.gz', 'p.tsv']).fileset, { vcf: 'x.vcf.gz' });
  assert.deepEqual(recogniseGenotypes(['x.vcf']).fileset, { vcf: 'x.vcf' });
  assert.match(recogniseGenotypes(['x.pgen', 'x.pvar', 'x.psam']).label ?? '', /^PLINK 2 fileset x \(\.pgen \.pvar \.psam\)$/);
  assert.deepEqual(recogniseGenotypes(['p.tsv']), {});
});

test('an incomplete or doubled fileset is one line saying which files', () => {
  const r = recogniseGenotypes(['x.pgen', 'x.psam']);
  assert.equal(r.fileset, undefined);
  assert.equal(r.problem, 'incomplete genotype fileset: x.pgen needs x.pvar beside it (a PLINK 2 fileset: .pgen .pvar .psam), found none of that name');
  assert.match(recogniseGenotypes(['x.bim', 'x.fam']).problem ?? '', /^incomplete genotype fileset: x\.bim needs x\.bed beside it/);
  assert.match(
    recogniseGenotypes(['a.bed', 'a.bim', 'a.fam', 'b.vcf.gz']).problem ?? '',
    /^expected one genotype fileset, found 2 \(PLINK 1 fileset a \(\.bed \.bim \.fam\); VCF b\.vcf\.gz\): remove all but one$/,
  );
  for (const p of [r.problem!]) assert.doesNotMatch(p, /\n/);
});
