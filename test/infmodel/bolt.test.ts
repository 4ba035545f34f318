// `lmmkit gwas --method inf` against BOLT-LMM 2.4 itself (`bolt
// --lmmInfOnly`, and `bolt --reml` for h2's standard error), run here on the
// same seeded structured polygenic fileset (issue 18, "Agrees with
// BOLT-LMM"). Both estimators are randomised: lmmkit's Monte Carlo REML with
// its recorded seed, BOLT's with its own default seed, so the two h2 differ
// by their Monte Carlo errors (each about sqrt(2 / (N T)) relative to the
// REML solution's own spread) on top of nothing systematic: the test asks
// for h2 within BOLT-REML's standard error of both BOLT estimates, and for
// the chi-square statistics (BETA / SE squared, BOLT's six digits) to be
// correlated above 0.99. BOLT calibrates its statistic with one ratio,
// lmmkit with the top eigenpairs as well, which is most of what separates
// the two statistics on structured data.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { statAgreement } from '../../bench/agreement.js';
import { runBolt } from '../../bench/bolt-peer.js';
import { runGwas } from '../../src/workflow/gwas.js';
import { writePolygenicFileset } from '../../src/workflow/simulate.js';
import { requireTool } from '../support.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-bolt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('gwas --method inf agrees with bolt --lmmInfOnly: h2 within BOLT-REML se, chi2 correlated > 0.99', async (t) => {
  if (!requireTool(t, 'bolt')) return;
  if (!requireTool(t, '/usr/bin/time')) return;
  const fs = await writePolygenicFileset(join(dir, 'sim'), { samples: 1000, variants: 5000, seed: 17 });
  const report = await runGwas({ bfile: fs.bfile, pheno: fs.pheno, method: 'inf', out: join(dir, 'lmmkit') });
  const nul = report.traits[0]!.nullModel;
  assert.equal(nul.model, 'inf');
  const h2 = nul.model === 'inf' ? nul.h2 : Number.NaN;
  const rows = readFileSync(join(dir, 'lmmkit.y.tsv'), 'utf8').trimEnd().split('\n');
  const head = rows[0]!.split('\t');
  const [iId, iBeta, iSe] = ['id', 'beta', 'se'].map((c) => head.indexOf(c));
  const ours = new Map(
    rows
      .slice(1)
      .map((l) => l.split('\t'))
      .map((f) => [f[iId!]!, (Number(f[iBeta!]) / Number(f[iSe!])) ** 2] as const),
  );
  // lmmkit's default filters (MAF 0.01, as GEMMA) leave out a few rare variants that BOLT tests.
  assert.ok(ours.size > 4950 && ours.size <= 5000, `${ours.size} variants tested`);

  const bolt = runBolt({ bfile: fs.bfile, pheno: fs.pheno, phenoCol: 'y', dir, threads: 2, reml: true });
  const se = bolt.reml!.se;
  t.diagnostic(`h2: lmmkit ${h2.toFixed(4)}, bolt --lmmInfOnly ${bolt.h2}, bolt --reml ${bolt.reml!.h2} (se ${se})`);
  assert.ok(Math.abs(h2 - bolt.h2) <= se, `h2 ${h2} vs BOLT-LMM's ${bolt.h2}: more than BOLT-REML's se ${se} apart`);
  assert.ok(Math.abs(h2 - bolt.reml!.h2) <= se, `h2 ${h2} vs BOLT-REML's ${bolt.reml!.h2}: more than its se ${se} apart`);
  const c = statAgreement(ours, bolt.chi2);
  t.diagnostic(`chi2 correlation with BOLT-LMM-inf: ${c.corr.toFixed(5)} over ${c.n} SNPs`);
  assert.equal(c.n, ours.size);
  assert.ok(c.corr > 0.99, `chi2 correlation ${c.corr}`);
});
