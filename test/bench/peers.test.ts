// The benches' peer plumbing: the summary table's ratios and verdicts, the
// raw files the peers read, the p-value agreement, the "not set up" lines,
// and scripts/setup-peers.sh's refusals of bad source directories.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Matrix } from '../../src/linalg/matrix.js';
import { limixStatus, mm4lmmStatus, pvAgreement, readRawF64, writeRaw } from '../../bench/peers.js';
import { summaryTable, type SummaryRow } from '../../bench/summary-rows.js';

const SETUP = fileURLToPath(new URL('../../../scripts/setup-peers.sh', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lmmkit-peers-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The table's data row for `row`, split into its cells. */
const cellsOf = (row: SummaryRow): string[] =>
  summaryTable([row])
    .split('\n')[2]!
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());

describe('summary table', () => {
  test('a speed-up is peer / lmmkit, met when at least the target', () => {
    const c = cellsOf({ bench: 'b', job: 'scan', lmmkit: 2, peer: 'limix-lmm', peerTime: 9, kind: 'speed-up', target: 4 });
    assert.deepEqual(c, ['scan', '2.00 s', 'limix-lmm 9.00 s', '4.50x', '>= 4x met']);
    assert.equal(cellsOf({ bench: 'b', job: 'scan', lmmkit: 3, peer: 'limix-lmm', peerTime: 9, kind: 'speed-up', target: 4 })[4], '>= 4x MISSED');
  });
  test("a 'within' ratio is lmmkit / peer, met when at most the target", () => {
    const c = cellsOf({ bench: 'b', job: 'eigen', lmmkit: 10.5, peer: 'numpy eigh', peerTime: 10, kind: 'within', target: 1.1 });
    assert.deepEqual(c, ['eigen', '10.5 s', 'numpy eigh 10.0 s', "1.05x numpy's time", '<= 1.1x met']);
    assert.equal(cellsOf({ bench: 'b', job: 'eigen', lmmkit: 12, peer: 'numpy eigh', peerTime: 10, kind: 'within', target: 1.1 })[4], '<= 1.1x MISSED');
  });
  test('a peer that did not run gets its line and no ratio', () => {
    const line = 'limix-lmm: not set up (see scripts/setup-peers.sh)';
    assert.deepEqual(cellsOf({ bench: 'b', job: 'scan', lmmkit: 2, peer: 'limix-lmm', peerTime: line, kind: 'speed-up', target: 2 }), [
      'scan',
      '2.00 s',
      line,
      '-',
      '>= 2x',
    ]);
  });
});

describe('peer files and agreement', () => {
  test('writeRaw writes column-major little-endian float64 that readRawF64 reads back', () => {
    const m = new Matrix(2, 3, Float64Array.of(1, 2, 3, 4, 5, 6.5));
    const a = writeRaw(join(dir, 'm.f64'), m);
    assert.deepEqual(a, { path: join(dir, 'm.f64'), rows: 2, cols: 3, dtype: 'f8' });
    assert.deepEqual(Array.from(readRawF64(a.path)), [1, 2, 3, 4, 5, 6.5]);
    const b = readFileSync(a.path);
    assert.equal(b.readDoubleLE(40), 6.5);
  });
  test('writeRaw with f32 writes float32, NaN kept', () => {
    const a = writeRaw(join(dir, 'v.f32'), Float64Array.of(0, 2, Number.NaN), true);
    const b = readFileSync(a.path);
    assert.equal(b.length, 12);
    assert.equal(a.dtype, 'f4');
    assert.equal(b.readFloatLE(4), 2);
    assert.ok(Number.isNaN(b.readFloatLE(8)));
  });
  test('pvAgreement measures the largest relative -log10 p difference', () => {
    assert.match(pvAgreement([-1, -4], [0.1, 1e-4]), /2 p-values, max .* = 0\.00e\+0/);
    assert.match(pvAgreement([-1, -4.4], [0.1, 1e-4]), /= 1\.00e-1/);
    assert.match(pvAgreement([-1], [0.1, 0.2]), /lengths differ \(1 vs 2\)/);
  });
  test('a peer without its variable is "not set up", with the script to run', () => {
    const saved = { limix: process.env.LMMKIT_LIMIX_PATH, mm: process.env.LMMKIT_MM4LMM_LIB };
    delete process.env.LMMKIT_LIMIX_PATH;
    delete process.env.LMMKIT_MM4LMM_LIB;
    try {
      assert.deepEqual(limixStatus(), { ok: false, line: 'limix-lmm: not set up (see scripts/setup-peers.sh)' });
      assert.deepEqual(mm4lmmStatus(), { ok: false, line: 'MM4LMM: not set up (see scripts/setup-peers.sh)' });
      process.env.LMMKIT_MM4LMM_LIB = dir;
      assert.deepEqual(mm4lmmStatus(), { ok: false, line: `MM4LMM: not in ${dir} (see scripts/setup-peers.sh)` });
    } finally {
      for (const [k, v] of [
        ['LMMKIT_LIMIX_PATH', saved.limix],
        ['LMMKIT_MM4LMM_LIB', saved.mm],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('scripts/setup-peers.sh refuses bad input with one line', () => {
  const setup = (...args: string[]) => spawnSync('bash', [SETUP, ...args], { encoding: 'utf8' });
  const empty = join(dir, 'empty');
  mkdirSync(empty, { recursive: true });
  const cases: [string, string[], RegExp][] = [
    ['no source directory', [], /^setup-peers: give --limix-lmm DIR --limix-core DIR and\/or --mm4lmm DIR/],
    ['an unknown argument', ['--limix'], /^setup-peers: unknown argument '--limix'/],
    ['limix-lmm without limix-core', ['--limix-lmm', empty], /^setup-peers: limix needs both --limix-lmm and --limix-core/],
    [
      'a directory that is not limix-lmm',
      ['--limix-lmm', empty, '--limix-core', empty],
      /^setup-peers: .*empty: expected limix_lmm\/__init__\.py \(a limix-lmm source tree\), found none/,
    ],
    ['a directory that is not an R package', ['--mm4lmm', empty], /^setup-peers: .*empty: expected an R package source \(DESCRIPTION\), found none/],
  ];
  for (const [what, args, message] of cases) {
    test(what, () => {
      const r = setup(...args);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    });
  }
  test('--help prints the usage', () => {
    const r = setup('--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /scripts\/setup-peers\.sh --limix-lmm DIR --limix-core DIR --mm4lmm DIR/);
  });
});
