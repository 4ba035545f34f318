// lmmkit's one atomic writer: staged outputs appear together on commit or not
// at all, and a folder that cannot take them is an OutputError naming the
// output and what was found.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { afterCommits, removeTemporaryFiles, StagedOutputs, withStagedOutputs, writeAtomically } from '../../src/data/atomic.js';
import { InputError, LmmkitError, OutputError } from '../../src/errors.js';
import { fixturePaths, scratchDir } from '../cli-support.js';

const dir = scratchDir('lmmkit-atomic-');
let k = 0;
const fresh = (): string => fixturePaths(dir, `d${k++}`).data;

test('writeAtomically: the file appears whole, replacing the old one, with no temporary file left', async () => {
  const d = fresh();
  const path = join(d, 'x.txt');
  writeFileSync(path, 'old\n');
  await writeAtomically(path, async (append) => {
    await append('a\t');
    await append(new TextEncoder().encode('b\n'));
    assert.equal(readFileSync(path, 'utf8'), 'old\n', 'nothing replaced before the end');
  });
  assert.equal(readFileSync(path, 'utf8'), 'a\tb\n');
  assert.deepEqual(readdirSync(d), ['x.txt']);
});

test('writeAtomically: an error while writing keeps the old file and leaves no temporary file', async () => {
  const d = fresh();
  const path = join(d, 'x.txt');
  writeFileSync(path, 'old\n');
  await assert.rejects(
    writeAtomically(path, async (append) => {
      await append('partial');
      throw new Error('disk on fire');
    }),
    /disk on fire/,
  );
  assert.equal(readFileSync(path, 'utf8'), 'old\n');
  assert.deepEqual(readdirSync(d), ['x.txt']);
});

test('a missing folder or a file in its place is an OutputError naming the output and what was found', async () => {
  const d = fresh();
  const missing = join(d, 'no-such-dir', 'x.tsv');
  await assert.rejects(
    writeAtomically(missing, async (append) => append('x')),
    (e: unknown) => {
      assert.ok(e instanceof OutputError && e instanceof LmmkitError);
      assert.equal(e.code, 'BAD_OUTPUT');
      assert.equal(e.path, missing);
      assert.equal(e.message, `${missing}: cannot write (ENOENT): the folder '${join(d, 'no-such-dir')}' does not exist`);
      return true;
    },
  );
  writeFileSync(join(d, 'plain'), '');
  const underFile = join(d, 'plain', 'x.tsv');
  await assert.rejects(
    writeAtomically(underFile, async (append) => append('x')),
    (e: unknown) => e instanceof OutputError && e.message === `${underFile}: cannot write (ENOTDIR): '${join(d, 'plain')}' is not a folder`,
  );
  assert.deepEqual(readdirSync(d), ['plain']);
});

test('StagedOutputs: nothing appears before commit; commit renames all, discard removes all', async () => {
  const d = fresh();
  const outputs = new StagedOutputs();
  const a = await outputs.stage(join(d, 'a.tsv'));
  await a.write('x\n');
  await outputs.whole(join(d, 'b.json'), '{}\n');
  assert.ok(!existsSync(join(d, 'a.tsv')) && !existsSync(join(d, 'b.json')));
  assert.equal(readdirSync(d).filter((f) => f.endsWith('.tmp')).length, 2);
  await outputs.commit();
  assert.deepEqual(readdirSync(d).sort(), ['a.tsv', 'b.json']);
  assert.equal(readFileSync(join(d, 'a.tsv'), 'utf8'), 'x\n');

  const e = fresh();
  const dropped = new StagedOutputs();
  await dropped.whole(join(e, 'a.tsv'), 'x\n');
  await (await dropped.stage(join(e, 'b.tsv'))).write('open, never closed');
  await dropped.discard();
  assert.deepEqual(readdirSync(e), []);
});

test('withStagedOutputs: an error in the body discards every staged output and passes on', async () => {
  const d = fresh();
  const boom = new InputError({ file: 'x.tsv', line: 3 }, 'expected a number');
  await assert.rejects(
    withStagedOutputs(async (outputs) => {
      await outputs.whole(join(d, 'one.tsv'), 'done\n');
      await outputs.stage(join(d, 'two.tsv'));
      throw boom;
    }),
    (e: unknown) => e === boom,
  );
  assert.deepEqual(readdirSync(d), []);
  assert.equal(
    await withStagedOutputs(async (outputs) => {
      await outputs.whole(join(d, 'one.tsv'), 'done\n');
      return 7;
    }),
    7,
  );
  assert.deepEqual(readdirSync(d), ['one.tsv']);
});

test('removeTemporaryFiles removes the open temporary files at once; afterCommits waits for a commit in progress', async () => {
  const d = fresh();
  const outputs = new StagedOutputs();
  const a = await outputs.stage(join(d, 'a.tsv'));
  await a.write('x\n');
  assert.equal(readdirSync(d).length, 1);
  assert.equal(removeTemporaryFiles(), 1);
  assert.deepEqual(readdirSync(d), [], 'what a signal handler leaves');
  await outputs.discard();

  const calls: [boolean, boolean][] = [];
  afterCommits((waited) => calls.push([waited, false]));
  const b = new StagedOutputs();
  await b.whole(join(d, 'b.tsv'), 'y\n');
  const committing = b.commit();
  afterCommits((waited) => calls.push([waited, existsSync(join(d, 'b.tsv'))]));
  assert.equal(calls.length, 1, 'not while the commit renames');
  await committing;
  assert.deepEqual(calls, [
    [false, false],
    [true, true],
  ]);
});

test('StagedFile.open removes the stale temporary files of its own output (a killed run), and nothing else', async () => {
  const d = fresh();
  const stale = ['.x.tsv.0123456789ab.tmp', '.x.tsv.abcdefabcdef.tmp'];
  const kept = [
    '.x.tsv.0123456789a.tmp',
    '.x.tsv.0123456789abcd.tmp',
    '.x.tsv.01234567.9ab.tmp',
    '.xx.tsv.0123456789ab.tmp',
    '.y.tsv.0123456789ab.tmp',
    'x.tsv',
  ];
  for (const f of [...stale, ...kept]) writeFileSync(join(d, f), 'old\n');
  const outputs = new StagedOutputs();
  const f = await outputs.stage(join(d, 'x.tsv'));
  assert.deepEqual(readdirSync(d).sort(), [...kept, basename(f.tmp)].sort());
  await outputs.discard();
});
