// Every output of every command, byte for byte as at the commit recorded in
// test/fixtures/golden/outputs.json (paths and timings normalised; see
// cases.ts). A refactoring that changes a number, a column or a message
// fails here; a deliberate change of output is recorded anew with
// `node dist/test/fixtures/golden/record.js` and said in its commit.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GOLDEN_INPUTS, nativeBlas, runGolden, SHARED } from '../fixtures/golden/cases.js';

const record = JSON.parse(readFileSync(new URL('../../../test/fixtures/golden/outputs.json', import.meta.url), 'utf8')) as {
  commit: string;
  nativeBlas: string;
  outputs: Record<string, Record<string, string>>;
};

function nativeLoads(load: (name: 'native') => unknown): boolean {
  try {
    load('native');
    return true;
  } catch {
    return false;
  }
}

for (const backend of ['native', 'js'] as const) {
  test(`every command's outputs are byte-identical to commit ${record.commit.slice(0, 10)} (${backend} backend)`, async (t) => {
    const missing = GOLDEN_INPUTS.filter((f) => !existsSync(SHARED + f));
    if (missing.length > 0) {
      if (process.env.CI === 'true') assert.fail(`missing shared inputs: ${missing.join(', ')}`);
      t.skip(`missing shared inputs: ${missing.join(', ')}`);
      return;
    }
    const { loadBackend } = await import('../../src/node.js');
    if (backend === 'native' && !nativeLoads(loadBackend)) {
      if (process.env.CI === 'true') assert.fail('the native backend did not load');
      t.skip('native backend not built');
      return;
    }
    // Another processor picks other OpenBLAS kernels, whose last bits differ
    // by design: the native bytes were recorded on one kernel set, and the
    // js backend (the same bits on every machine) is compared everywhere.
    if (backend === 'native' && nativeBlas() !== record.nativeBlas) {
      t.skip(
        `native outputs were recorded with ${record.nativeBlas}; this machine runs ${nativeBlas()} (record them here with node dist/test/fixtures/golden/record.js at commit ${record.commit.slice(0, 10)})`,
      );
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'lmmkit-golden-'));
    const before = process.env.LMMKIT_BACKEND;
    process.env.LMMKIT_BACKEND = backend;
    try {
      const got = await runGolden(dir);
      const want = record.outputs[backend]!;
      assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), 'the same output files');
      const differ = Object.keys(want).filter((k) => got[k] !== want[k]);
      assert.deepEqual(differ, [], `outputs that differ from commit ${record.commit}`);
    } finally {
      if (before === undefined) delete process.env.LMMKIT_BACKEND;
      else process.env.LMMKIT_BACKEND = before;
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
