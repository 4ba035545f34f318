// PREFIX.log and progress (issue 15, items 3 and 4): a batch run (stdout and
// stderr redirected to files, no terminal) logs its metadata, its terminal
// lines and its progress stages; --quiet keeps stderr empty; a failed run
// leaves a log saying why; on a terminal (script(1)) progress is one line
// redrawn in place.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';
import { shellQuote } from '../../src/workflow/run-info.js';
import { fixturePaths, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';
import { requireTool } from '../support.js';

const BIN = new URL('../../../bin/lmmkit.js', import.meta.url).pathname;
const dir = scratchDir('lmmkit-runlog-');
const { data, prefix, pheno, kin } = fixturePaths(dir, 'in');
const sim = simulateGwas({ samples: 80, variants: 3000, seed: 15 });
await writeGenotypeFixture(sim, prefix, kin);
// A trait named with a quote: the logged command line (--pheno-col) must quote it as a shell needs.
writeSampleTable(pheno, sim.samples, ["it's"], (i) => sim.phenotype[i]!);

/**
 * Runs lmmkit with stdout and stderr redirected to files (as a batch job
 * does: no terminal), progress lines every update ($LMMKIT_PROGRESS_SECONDS=0).
 */
function batchRun(name: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const out = join(dir, `${name}.stdout`);
  const err = join(dir, `${name}.stderr`);
  const fo = openSync(out, 'w');
  const fe = openSync(err, 'w');
  try {
    const r = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', fo, fe], env: { ...process.env, LMMKIT_PROGRESS_SECONDS: '0' } });
    return { status: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
  } finally {
    closeSync(fo);
    closeSync(fe);
  }
}

const gwasArgs = (out: string): string[] => [
  'gwas',
  '--bfile',
  prefix,
  '--pheno',
  pheno,
  '--pheno-col',
  "it's",
  '--kinship-from-bfile',
  '--batch-size',
  '250',
  '--out',
  out,
];

test('gwas redirected to files: PREFIX.log has the metadata, every terminal line and named progress stages', () => {
  const out = join(dir, 'batch');
  const r = batchRun('batch', gwasArgs(out));
  assert.equal(r.status, 0, r.stderr);
  // Progress on stderr, by stage, with done/total, rate and ETA (or the time taken).
  for (const stage of ['reading samples', 'kinship pass', 'eigendecomposition \\(80 x 80\\)', "null fit of trait 'it's'", "scan of trait 'it's'"]) {
    assert.match(r.stderr, new RegExp(`^lmmkit: ${stage}: \\d+ / \\d+ \\w+ \\(\\d+\\.\\d%\\), [0-9.?]+ \\w+/s, (ETA|done in) `, 'm'), stage);
  }
  assert.match(r.stderr, /^lmmkit: scan of trait 'it's': 1000 \/ 3000 variants \(33\.3%\), .* ETA \d+s$/m);
  assert.match(r.stderr, /^lmmkit: scan of trait 'it's': 3000 \/ 3000 variants \(100\.0%\), .* done in \d+s$/m);
  const log = readFileSync(`${out}.log`, 'utf8');
  const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  assert.match(log, new RegExp(`^lmmkit ${version.replaceAll('.', '\\.')}\n`));
  const commandLine = log.match(/^command line: (.*)$/m)?.[1];
  assert.equal(commandLine, shellQuote(['lmmkit', ...gwasArgs(out)]));
  assert.match(commandLine!, / --out \S+batch$/);
  const iso = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}[+-]\\d\\d:\\d\\d \\(\\S+\\)';
  assert.match(log, new RegExp(`^start: ${iso}$`, 'm'));
  assert.match(log, new RegExp(`^end: ${iso}$`, 'm'));
  assert.match(log, /^elapsed: \d+\.\d{3} s$/m);
  assert.match(log, /^machine: \d+ cores \(.+\), \d+\.\d GiB memory \(\d+\.\d GiB free\), \S+ .*\(\w+\)$/m);
  assert.match(log, new RegExp(`^node: ${process.version.replaceAll('.', '\\.')}$`, 'm'));
  assert.match(log, /^backend: (js|native); BLAS: .+, \d+ threads?$/m);
  assert.match(log, /^warnings: 0$/m);
  assert.match(log, /\nexit status 0: success\n$/);
  // Every line printed, in the order printed: stdout's and stderr's.
  const transcript = log.split('\n').filter((l) => l.startsWith('[std'));
  assert.deepEqual(
    transcript.filter((l) => l.startsWith('[stdout] ')).map((l) => l.slice(9)),
    r.stdout.trimEnd().split('\n'),
  );
  assert.deepEqual(
    transcript.filter((l) => l.startsWith('[stderr] ')).map((l) => l.slice(9)),
    r.stderr.trimEnd().split('\n'),
  );
  assert.ok(
    transcript.findIndex((l) => l.includes('kinship pass: 3000 / 3000')) < transcript.findIndex((l) => l.startsWith('[stdout] kinship (standardized)')),
    'progress and report lines interleaved as printed',
  );
  // The JSON report carries the same metadata.
  const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as {
    run: { version: string; commandLine: string; start: string; end: string; machine: Record<string, unknown> };
  };
  assert.equal(report.run.version, version);
  assert.equal(report.run.commandLine, commandLine);
  assert.ok(log.includes(`start: ${report.run.start} `));
  assert.ok(report.run.end >= report.run.start);
  for (const k of ['cores', 'cpu', 'memoryBytes', 'os', 'node', 'backend', 'blas', 'blasThreads']) assert.ok(k in report.run.machine, k);
});

test('--quiet: nothing on stderr, the log still has the progress', () => {
  const out = join(dir, 'quiet');
  const r = batchRun('quiet', [...gwasArgs(out), '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.notEqual(r.stdout, '');
  assert.match(readFileSync(`${out}.log`, 'utf8'), /^\[stderr\] lmmkit: scan of trait 'it's': 3000 \/ 3000 variants/m);
});

test('a failed run writes no output but a log that ends with its error', () => {
  const out = join(dir, 'failed');
  const r = batchRun('failed', ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 'nope', '--kinship', kin, '--out', out]);
  assert.equal(r.status, 2, r.stderr);
  const error = r.stderr.trimEnd().split('\n').at(-1)!;
  assert.match(error, /^lmmkit: .*nope/);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('failed.') && !/\.std(out|err)$/.test(f)),
    ['failed.log'],
  );
  const log = readFileSync(`${out}.log`, 'utf8');
  assert.ok(log.includes(`[stderr] ${error}\n`), log);
  assert.ok(log.endsWith(`exit status 2: failed: ${error}\n`), log);
});

test('a warning goes to stderr once and to the log: in the transcript and among the warnings', () => {
  const out = join(dir, 'warned');
  // A 0/1 trait is analysed as quantitative, with a warning.
  const binary = join(data, 'binary.tsv');
  writeSampleTable(binary, sim.samples, ['cc'], (i) => i % 2);
  const r = batchRun('warned', ['gwas', '--bfile', prefix, '--pheno', binary, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const warning = r.stderr.split('\n').find((l) => l.startsWith('lmmkit: warning: '));
  assert.ok(warning !== undefined, r.stderr);
  const log = readFileSync(`${out}.log`, 'utf8');
  assert.match(log, /^warnings: 1$/m);
  assert.ok(log.includes(`\n  ${warning.slice('lmmkit: warning: '.length)}\n`), log);
  assert.ok(log.includes(`[stderr] ${warning}\n`), log);
});

test('kinship --out FILE writes FILE.log; a command without --out (info) writes none', () => {
  const out = join(dir, 'k.tsv');
  const r = batchRun('kinship', ['kinship', '--bfile', prefix, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(readFileSync(`${out}.log`, 'utf8'), /^command line: lmmkit kinship /m);
  assert.match(r.stderr, /^lmmkit: kinship pass: 3000 \/ 3000 variants/m);
  const before = readdirSync(dir).length;
  assert.equal(batchRun('info', ['info']).status, 0);
  assert.equal(readdirSync(dir).length, before + 2, 'only the test\u2019s own stdout and stderr files');
});

test('on a terminal (script(1)): one progress line redrawn in place per stage', (t) => {
  // script(1) (util-linux's bsdutils, essential on Debian) gives the run a pseudo-terminal.
  if (!requireTool(t, 'script')) return;
  const out = join(dir, 'tty');
  const cmd = shellQuote([process.execPath, BIN, ...gwasArgs(out)]);
  // script gives the command a pseudo-terminal on stdin, stdout and stderr; its typescript goes to /dev/null.
  const r = spawnSync('script', ['-qec', `${cmd} >/dev/null`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, LMMKIT_PROGRESS_SECONDS: '1000' } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const scan = r.stdout.split('\n').find((l) => l.includes("scan of trait 'it's'"));
  assert.ok(scan !== undefined, r.stdout);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's erase-line escape is what is checked
  assert.match(scan, /^\r?.*\rscan of trait 'it's': \d+ \/ 3000 variants.*\x1b\[K/);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's erase-line escape is what is checked
  assert.match(scan, /\rscan of trait 'it's': 3000 \/ 3000 variants \(100\.0%\), .* done in \d+s\x1b\[K\r?$/);
  // A long interval: the log gets no progress line (short stages stay silent in a batch log).
  assert.ok(existsSync(`${out}.log`));
  assert.doesNotMatch(readFileSync(`${out}.log`, 'utf8'), /scan of trait/);
});
