// File-system faults a user can cause (issue 13, item 9): a missing output
// folder, a read-only one (a read-only mount; a folder without write
// permission), an output that is a folder, a disk that fills up during the
// run, and unreadable inputs. Each is exit 2 and one line naming the path
// and the cause in words, before the computation where it can be known
// then, and leaves no output and no temporary file. Before, a full disk was
// a stack trace (gwas, mtgwas) or, for the kinship, a silently truncated
// file with exit 0; a read-only folder was found only after the kinship was
// computed.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';
import { scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const BIN = new URL('../../../bin/lmmkit.js', import.meta.url).pathname;
const dir = scratchDir('lmmkit-fs-errors-');
// The folder is read by the unprivileged user of the permission cases.
chmodSync(dir, 0o755);
const prefix = join(dir, 'g');
const pheno = join(dir, 'pheno.tsv');
const kin = join(dir, 'kin.tsv');
const sim = simulateGwas({ samples: 200, variants: 2000, seed: 13 });
const ready = (async () => {
  writeSampleTable(pheno, sim.samples, ['t1', 't2'], (i, c) => (c === 0 ? sim.phenotype[i]! : sim.phenotype[(i * 7) % 200]!));
  await writeGenotypeFixture(sim, prefix, kin);
})();

const ROOT = process.getuid?.() === 0;

/**
 * Runs `lmmkit ARGS`; with `unprivileged`, as the user nobody when this is
 * root (root ignores permission bits, users do not).
 */
function lmmkit(args: string[], unprivileged = false): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', ...(unprivileged && ROOT ? { uid: 65534, gid: 65534 } : {}) });
}

/** Each command that writes files, with its outputs in folder `o`. */
const COMMANDS: Record<string, (o: string) => string[]> = {
  gwas: (o) => ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't1', '--kinship', kin, '--out', join(o, 'res')],
  mtgwas: (o) => ['mtgwas', '--bfile', prefix, '--pheno', pheno, '--kinship', kin, '--out', join(o, 'res')],
  kinship: (o) => ['kinship', '--bfile', prefix, '--out', join(o, 'k.tsv')],
  varcomp: (o) => ['varcomp', 'fit', '--data', pheno, '--y', 't1', '--kinship', `A=${kin}`, '--bfile', prefix, '--ids', 'IID', '--out', join(o, 'vc.tsv')],
};

/**
 * Asserts a refused run: exit 2, one `lmmkit:` line matching `message` (the
 * kinship's progress lines aside; none at all with `before`, the fault
 * being found before the computation), no stack trace, and `folder` as it
 * was (`left`: no output, no temporary file).
 */
function assertFault(r: SpawnSyncReturns<string>, message: RegExp, folder: string, left: string[] = [], before = false): void {
  assert.equal(r.status, 2, `exit ${r.status}: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const errors = lines.filter((l) => l.startsWith('lmmkit:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, message);
  assert.deepEqual(
    lines.filter((l) => !l.startsWith('lmmkit:') && !/^read \d+ \/ \d+ variants/.test(l)),
    [],
    r.stderr,
  );
  if (before) assert.doesNotMatch(r.stderr, /^read /m, 'found only after the computation');
  // The run's log (runlog.ts) is written even when it fails, where the folder takes it.
  assert.deepEqual(
    readdirSync(folder)
      .filter((f) => !f.endsWith('.log') || left.includes(f))
      .sort(),
    [...left].sort(),
    'no output and no temporary file',
  );
}

/** Mounts a tmpfs with `options` on a new folder for `fn`, unmounted after; skipped where mounting is not allowed (not root), failed under CI=true. */
async function withTmpfs(t: TestContext, options: string, fn: (mount: string) => Promise<void> | void): Promise<void> {
  const mount = join(dir, `mnt-${options.replace(/\W/g, '')}-${Math.random().toString(16).slice(2, 8)}`);
  mkdirSync(mount);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mount], { encoding: 'utf8' });
  if (m.status !== 0) {
    rmdirSync(mount);
    if (process.env.CI === 'true') assert.fail(`cannot mount a tmpfs (${options}): ${m.stderr || m.error}`);
    t.skip(`cannot mount a tmpfs here: ${m.stderr || m.error}`);
    return;
  }
  try {
    await fn(mount);
  } finally {
    spawnSync('umount', [mount]);
    rmdirSync(mount);
  }
}

for (const [name, args] of Object.entries(COMMANDS)) {
  test(`${name}: --out in a missing folder: one line naming it, before the computation`, async () => {
    await ready;
    const o = join(dir, `missing-${name}`);
    mkdirSync(o);
    assertFault(lmmkit(args(join(o, 'no-such-dir'))), /no-such-dir.* does not exist/, o, [], true);
  });

  test(`${name}: --out on a read-only file system: "not allowed to write", before the computation`, async (t) => {
    await ready;
    await withTmpfs(t, 'ro', (ro) =>
      assertFault(lmmkit(args(ro)), new RegExp(`${ro}/\\S+: cannot write .*not allowed to write: the file system is read-only \\(EROFS\\)`), ro, [], true),
    );
  });

  test(`${name}: --out in a folder without write permission: "not allowed to write", before the computation`, async () => {
    await ready;
    const o = join(dir, `locked-${name}`);
    mkdirSync(o);
    chmodSync(o, 0o555);
    assertFault(lmmkit(args(o), true), new RegExp(`${o}/\\S+: cannot write .*not allowed to write \\(EACCES\\)`), o, [], true);
  });

  test(`${name}: the disk fills up during the run: one line naming the output and "the disk is full", no temporary file`, async (t) => {
    await ready;
    // 64 KiB: the probe's byte fits, the outputs (hundreds of KiB) do not.
    await withTmpfs(t, 'size=64k', (full) => assertFault(lmmkit(args(full)), new RegExp(`${full}/\\S+: cannot write: the disk is full \\(ENOSPC\\)`), full));
  });
}

for (const [name, out] of [
  ['kinship', (o: string) => COMMANDS.kinship!(o).slice(0, -1).concat(o)],
  ['varcomp', (o: string) => COMMANDS.varcomp!(o).slice(0, -1).concat(o)],
] as const) {
  test(`${name}: --out is a folder: one line naming it, before the computation`, async () => {
    await ready;
    const o = join(dir, `isdir-${name}`);
    mkdirSync(join(o, 'out'), { recursive: true });
    assertFault(lmmkit(out(join(o, 'out'))), /out exists and is not a regular file/, o, ['out'], true);
  });
}

test('an input that is a folder or that cannot be read: one line naming the file', async () => {
  await ready;
  const o = join(dir, 'inputs');
  mkdirSync(o);
  // Writable by the unprivileged user: only the input is refused.
  chmodSync(o, 0o777);
  const folder = join(dir, 'a-folder');
  mkdirSync(folder);
  const gwas = (p: string, k: string) => ['gwas', '--bfile', prefix, '--pheno', p, '--kinship', k, '--out', join(o, 'res')];
  assertFault(lmmkit(gwas(folder, kin)), new RegExp(`${folder}: .*a directory`), o);
  assertFault(lmmkit(gwas(pheno, folder)), new RegExp(`${folder}: .*a directory`), o);
  assertFault(lmmkit(['varcomp', 'fit', '--data', folder, '--y', 't1', '--out', join(o, 'vc.json')]), new RegExp(`${folder}: .*a directory`), o);
  chmodSync(pheno, 0o000);
  try {
    assertFault(lmmkit(gwas(pheno, kin), true), new RegExp(`${pheno}: .*(EACCES|not allowed to read)`), o);
  } finally {
    chmodSync(pheno, 0o644);
  }
  chmodSync(`${prefix}.bed`, 0o000);
  try {
    assertFault(lmmkit(['kinship', '--bfile', prefix, '--out', join(o, 'k.tsv')], true), new RegExp(`${prefix}\\.bed: .*(EACCES|not allowed to read)`), o);
  } finally {
    chmodSync(`${prefix}.bed`, 0o644);
  }
});
