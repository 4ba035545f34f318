// availableBackends() and getBackend() honour LMMKIT_BACKEND the same way:
// set, it names the only backend lmmkit may use; unset, native (when it
// loaded) comes first, then js; without native, wasm (WebAssembly SIMD) then js.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { LmmkitError } from '../../src/errors.js';
import { availableBackends, nativeStatus } from '../../src/linalg/select.js';

const before = process.env.LMMKIT_BACKEND;
afterEach(() => {
  if (before === undefined) delete process.env.LMMKIT_BACKEND;
  else process.env.LMMKIT_BACKEND = before;
});

test('unset or empty: native first when it loaded, then js; else wasm, then js', () => {
  for (const value of [undefined, '']) {
    if (value === undefined) delete process.env.LMMKIT_BACKEND;
    else process.env.LMMKIT_BACKEND = value;
    const names = availableBackends().map((b) => b.name);
    assert.deepEqual(names, nativeStatus().available ? ['native', 'js'] : ['wasm', 'js']);
  }
});

test('LMMKIT_BACKEND=js: js only', () => {
  process.env.LMMKIT_BACKEND = 'js';
  assert.deepEqual(
    availableBackends().map((b) => b.name),
    ['js'],
  );
});

test('LMMKIT_BACKEND=native: native only, or the reason it is missing', () => {
  process.env.LMMKIT_BACKEND = 'native';
  if (nativeStatus().available) {
    assert.deepEqual(
      availableBackends().map((b) => b.name),
      ['native'],
    );
  } else {
    assert.throws(
      () => availableBackends(),
      (e: unknown) => e instanceof LmmkitError && e.code === 'NO_NATIVE_BACKEND',
    );
  }
});

test('an unknown LMMKIT_BACKEND is a BAD_BACKEND error, as for getBackend', () => {
  process.env.LMMKIT_BACKEND = 'cuda';
  assert.throws(
    () => availableBackends(),
    (e: unknown) => e instanceof LmmkitError && e.code === 'BAD_BACKEND' && /LMMKIT_BACKEND='cuda'/.test(e.message),
  );
});
