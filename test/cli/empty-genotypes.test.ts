// A genotype file with no variant (an empty .bim) is bad input for every
// scan: exit 2 with one line naming the file, nothing written (it crashed
// with a TypeError in the region check before).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';
import { assertRejected, fixturePaths, lmmkit, scratchDir, writeSampleTable } from '../cli-support.js';

const dir = scratchDir('lmmkit-empty-');
const { prefix, pheno } = fixturePaths(dir, 'empty');
const sim = simulateGwas({ samples: 20, variants: 10, seed: 3 });
writeFileSync(`${prefix}.bed`, Uint8Array.from([0x6c, 0x1b, 0x01]));
writeFileSync(`${prefix}.bim`, '');
writeFileSync(`${prefix}.fam`, `${sim.samples.iid.map((id, i) => `${sim.samples.fid[i]} ${id} 0 0 0 -9`).join('\n')}\n`);
writeSampleTable(pheno, sim.samples, ['t1', 't2'], (i, c) => sim.phenotype[i]! + c);

for (const [name, args] of [
  ['gwas', ['gwas', '--bfile', prefix, '--pheno', pheno]],
  ['gwas --region', ['gwas', '--bfile', prefix, '--pheno', pheno, '--region', '1:0-100']],
  ['mtgwas', ['mtgwas', '--bfile', prefix, '--pheno', pheno, '--kinship-from-bfile']],
] as const) {
  test(`${name} on a genotype file with no variant: exit 2, one line naming it, nothing written`, () => {
    const out = scratchDir('lmmkit-empty-out-');
    assertRejected(lmmkit(...args, '--out', join(out, 'res')), /empty\/g\.(bed|bim)?: expected at least one variant, found none|g\.bim: .*no variant/, out);
  });
}
