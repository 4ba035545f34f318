// Helpers for the tests that run the built CLI as a user runs it (a child
// process): running `lmmkit`, a scratch folder, writing the inputs of a
// simulated data set, reading the TSV outputs, and the bad-input contract
// (exit 2, one line, nothing written).
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { kinship } from '../src/data/kinship.js';
import { openBed } from '../src/data/node/bed.js';
import { writeBed } from '../src/data/plink/write-bed.js';
import { writeMatrixTsv } from '../src/data/write-tsv.js';
import type { Matrix } from '../src/linalg/matrix.js';
import type { SimulatedGwas } from '../src/sim/gwas.js';

const BIN = new URL('../../bin/lmmkit.js', import.meta.url).pathname;

/** Runs `lmmkit ARGS...` (bin/lmmkit.js under this Node) and waits for it. */
export function lmmkit(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env } });
}

/** A fresh folder under the system's temporary folder, removed after the test file. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A tab-separated file with a header line. */
export interface Tsv {
  header: string[];
  rows: string[][];
}

/** Reads a tab-separated file with a header line. */
export function readTsv(path: string): Tsv {
  const lines = readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => l.split('\t'));
  return { header: lines[0]!, rows: lines.slice(1) };
}

/** The values of column `name` (asserting that it exists). */
export function column(t: Tsv, name: string): string[] {
  const j = t.header.indexOf(name);
  assert.ok(j >= 0, `no column ${name} in ${t.header.join(' ')}`);
  return t.rows.map((r) => r[j]!);
}

/**
 * Asserts the bad-input contract of a run: exit status 2, exactly one line
 * on stderr (`lmmkit: ...`) matching `message`, and nothing (no output, no
 * temporary file) in the folder `out`.
 */
export function assertRejected(r: SpawnSyncReturns<string>, message: RegExp, out: string): void {
  assert.equal(r.status, 2, `exit ${r.status}: ${r.stderr}`);
  assert.match(r.stderr, /^lmmkit: [^\n]+\n$/, r.stderr);
  assert.match(r.stderr, message);
  // The run's log (runlog.ts) is written even when it fails.
  assert.deepEqual(
    readdirSync(out).filter((f) => !f.endsWith('.log')),
    [],
    'no output and no temporary file',
  );
}

/** The input files of a simulated data set, in a new folder `name` of `dir` (nothing written yet). */
export function fixturePaths(dir: string, name: string): { data: string; prefix: string; pheno: string; covar: string; kin: string } {
  const data = join(dir, name);
  mkdirSync(data);
  return { data, prefix: join(data, 'g'), pheno: join(data, 'pheno.tsv'), covar: join(data, 'covar.tsv'), kin: join(data, 'kin.tsv') };
}

/**
 * Writes a simulated data set as the PLINK fileset PREFIX.bed/.bim/.fam and
 * its standardized kinship (over every sample and variant) as the TSV
 * `kinPath` (`lmmkit kinship`'s layout); returns the kinship.
 */
export async function writeGenotypeFixture(sim: SimulatedGwas, prefix: string, kinPath: string): Promise<Matrix> {
  await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
  const src = await openBed(prefix);
  const k = await kinship(src, { method: 'standardized' }).finally(() => src.close());
  await writeMatrixTsv(kinPath, k.k, sim.samples.iid);
  return k.k;
}

/**
 * Writes a sample table: a header FID IID and `columns`, then one row per
 * sample with cell(i, c) (e.g. 'NA') in column c.
 */
export function writeSampleTable(
  path: string,
  samples: { fid: readonly string[]; iid: readonly string[] },
  columns: readonly string[],
  cell: (i: number, c: number) => string | number,
): void {
  const rows = samples.iid.map((id, i) => [samples.fid[i]!, id, ...columns.map((_, c) => `${cell(i, c)}`)].join('\t'));
  writeFileSync(path, `${[['FID', 'IID', ...columns].join('\t'), ...rows].join('\n')}\n`);
}
