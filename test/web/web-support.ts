// What the web app's tests share: the structlmm chr22 inputs (the phenotype
// file made from expr.csv's gene1, as test/cli/gwas.test.ts makes it), and
// `lmmkit gwas` / `lmmkit demo` run in Node on the same inputs, whose tables
// the page's must equal.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBed } from '../../src/data/node/bed.js';
import { readTable } from '../../src/data/node/tables.js';
import { lmmkit } from '../cli-support.js';
import { SHARED } from '../support.js';

const BIN = new URL('../../../bin/lmmkit.js', import.meta.url).pathname;

/** The structlmm chr22 fileset's prefix (274 samples x 49 008 variants). */
export const STRUCT = `${SHARED}data/structlmm/chrom22_subsample20_maf0.10`;
/** expr.csv: traits x samples, its columns named by .fam position. */
export const EXPR = `${SHARED}data/structlmm/expr.csv`;

/** Writes DIR/gene1.tsv (FID IID gene1, from expr.csv's gene1 row) and returns its path. */
export async function writeGene1Pheno(dir: string): Promise<string> {
  const expr = await readTable(EXPR, { transposed: true, key: 'iid', columns: ['gene1'] });
  const src = await openBed(STRUCT);
  const { fid, iid } = src.samples;
  await src.close();
  assert.deepEqual(
    expr.ids.iid,
    Array.from({ length: iid.length }, (_, i) => String(i)),
  );
  const lines = ['FID\tIID\tgene1', ...iid.map((id, i) => `${fid[i]}\t${id}\t${expr.values.data[i]}`)];
  const path = join(dir, 'gene1.tsv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** `lmmkit gwas --bfile STRUCT --pheno PHENO --kinship-from-bfile` (fixed test) in Node: its gene1 table's text. */
export function cliStructTable(dir: string, pheno: string): string {
  const out = join(dir, 'cli');
  const r = lmmkit('gwas', '--bfile', STRUCT, '--pheno', pheno, '--kinship-from-bfile', '--test', 'fixed', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(`${out}.gene1.tsv`, 'utf8');
}

/** `lmmkit demo` in Node (1000 x 10 000, its default seed), run in the background: its results.tsv's text. */
export async function cliDemoTable(dir: string): Promise<string> {
  const out = join(dir, 'demo');
  const child = spawn(process.execPath, [BIN, 'demo', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, stderr);
  return readFileSync(join(out, 'results.tsv'), 'utf8');
}

/**
 * Asserts that the page's table `got` has every variant of the CLI's
 * `want` (same id, chromosome, position and alleles, in the same order)
 * and -log10 p within `tol` of it.
 */
export function assertSameTable(got: string, want: string, tol = 1e-9): void {
  const parse = (t: string) => {
    const [head, ...rows] = t.trimEnd().split('\n');
    const h = head!.split('\t');
    return { h, rows: rows.map((r) => r.split('\t')) };
  };
  const g = parse(got);
  const w = parse(want);
  assert.deepEqual(g.h, w.h, 'header');
  assert.equal(g.rows.length, w.rows.length, 'rows');
  const key = ['chrom', 'pos', 'id', 'effect_allele', 'other_allele'].map((c) => w.h.indexOf(c)).filter((i) => i >= 0);
  const lp = w.h.indexOf('neg_log10_p');
  assert.ok(key.length >= 3 && lp >= 0, `columns of ${w.h.join(',')}`);
  let worst = 0;
  for (let r = 0; r < w.rows.length; r++) {
    for (const k of key) assert.equal(g.rows[r]![k], w.rows[r]![k], `row ${r + 1} column ${w.h[k]}`);
    const a = Number(g.rows[r]![lp]);
    const b = Number(w.rows[r]![lp]);
    if (Number.isNaN(b)) assert.ok(Number.isNaN(a), `row ${r + 1}: log10p ${a}, CLI NA`);
    else worst = Math.max(worst, Math.abs(a - b));
  }
  assert.ok(worst <= tol, `largest -log10 p difference ${worst} > ${tol}`);
}
