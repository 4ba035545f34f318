// A reader that closes stdout early (`lmmkit gwas ... | head`) ends the
// report's lines, not the run (issue 13, item 7): the command exits 0, writes
// its outputs whole and leaves no temporary file; it crashed on EPIPE before.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';
import { fixturePaths, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const BIN = new URL('../../../bin/lmmkit.js', import.meta.url).pathname;
const dir = scratchDir('lmmkit-epipe-');
const { data, prefix, pheno, kin } = fixturePaths(dir, 'sim');
const sim = simulateGwas({ samples: 60, variants: 200, seed: 8 });

test('gwas with its stdout closed at once: exit 0, outputs whole, no temporary file', async () => {
  writeSampleTable(pheno, sim.samples, ['t1'], (i) => sim.phenotype[i]!);
  await writeGenotypeFixture(sim, prefix, kin);
  const out = join(data, 'res');
  // `| true` closes the pipe before the first line is written; bash reports lmmkit's own status.
  const r = spawnSync(
    'bash',
    ['-c', `"${process.execPath}" "${BIN}" gwas --bfile "${prefix}" --pheno "${pheno}" --kinship "${kin}" --out "${out}" | true; exit \${PIPESTATUS[0]}`],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|Error/);
  const files = readdirSync(data);
  assert.ok(files.includes('res.t1.tsv') && files.includes('res.json'), files.join(' '));
  assert.deepEqual(
    files.filter((f) => f.endsWith('.tmp')),
    [],
  );
});
