// `lmmkit` (the package's `.` export) must bundle for a page as it is: no
// plugin, no stubs, no externals. esbuild with platform 'browser' fails on
// any import of a Node built-in; a dependency whose `browser` field swaps a
// module for nothing shows up as a '(disabled)' input, also refused, and so
// are Node's globals (Buffer, require, process) in our own modules. The
// bundle is then run in a fresh context (no process, require or Buffer), and
// reads a PLINK fileset from bytes there on the wasm backend; without
// WebAssembly it falls back to js.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { build, type BuildOptions, type Message } from 'esbuild';

const ROOT = new URL('../../../', import.meta.url);
const PKG = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { exports: Record<string, { default: string }> };
const ENTRY = new URL(PKG.exports['.']!.default, ROOT).pathname;

async function bundle(opts: BuildOptions): Promise<{ code: string; inputs: string[]; warnings: Message[] }> {
  const options: BuildOptions = {
    entryPoints: [ENTRY],
    absWorkingDir: ROOT.pathname,
    platform: 'browser',
    bundle: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  };
  const result = await build({ ...options, ...opts }).catch((err: { errors?: Message[] }) => {
    const errors = err.errors ?? [];
    assert.fail(`${errors.length} bundling errors:\n${errors.map((e) => `${e.location?.file ?? '?'}: ${e.text}`).join('\n')}`);
  });
  return { code: result.outputFiles![0]!.text, inputs: Object.keys(result.metafile!.inputs), warnings: result.warnings };
}

test('the . entry bundles for a browser with no error, no warning and no Node import', async () => {
  assert.equal(PKG.exports['.']!.default, './dist/src/index.js');
  const { inputs, warnings } = await bundle({ format: 'esm' });
  assert.deepEqual(
    warnings.map((w) => w.text),
    [],
  );
  const node = inputs.filter((f) => f.startsWith('(disabled)') || f.startsWith('node:') || /\/(cli-progress|@resvg)\//.test(f));
  assert.deepEqual(node, [], 'inputs that are Node-only or swapped out for the browser');
  // What makes a module Node-only must not be there at all, even unreachable.
  const ours = inputs.filter((f) => f.includes('dist/src/'));
  for (const f of ['data/node/', 'plot/node.js', 'plot/png.js', 'linalg/native/', 'varcomp/mmest-parallel.js', 'data/bimbam.js', 'data/atomic.js']) {
    assert.deepEqual(
      ours.filter((g) => g.includes(`dist/src/${f}`)),
      [],
      `${f} is reachable from the browser entry`,
    );
  }
  // Node's globals bundle without a murmur and fail only when called in a
  // page: none in our modules, except behind `globalThis.process?.`.
  for (const f of ours) {
    const text = readFileSync(new URL(f, ROOT), 'utf8');
    for (const global of [/\bBuffer\b/, /\brequire\(/, /(?<![.\w])process\./, /\b__dirname\b/]) {
      assert.doesNotMatch(text, global, `${f} uses a Node global`);
    }
  }
});

test('the bundle evaluates in a fresh context and reads a .bed from bytes on the wasm backend', async () => {
  const { code } = await bundle({ format: 'iife', globalName: 'lmmkit' });
  // 3 samples x 2 variants: codes 00 10 11 (dosages 2 1 0) and 01 11 00 (NaN 0 2).
  const script = `${code}
    (async () => {
      const ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
      const reader = await lmmkit.openBedFiles({
        bed: new Uint8Array([0x6c, 0x1b, 0x01, 0x38, 0x0d]).buffer,
        bim: ascii('1 rs1 0 100 A G\\n1 rs2 0 200 C T\\n'),
        fam: famBytes,
      });
      const out = [];
      for await (const b of reader.batches()) out.push(...b.dosages.data);
      await reader.close();
      return { backend: lmmkit.getBackend().name, dosages: out, ids: reader.variants.id.join(',') };
    })()`;
  // The .fam comes from this realm, as bytes from an iframe or a worker would.
  const famBytes = new TextEncoder().encode('f1 i1 0 0 1 -9\nf2 i2 0 0 2 -9\nf3 i3 0 0 0 -9\n');
  const got = (await runInNewContext(script, { TextDecoder, famBytes })) as { backend: string; dosages: number[]; ids: string };
  // A fresh V8 context has WebAssembly (SIMD), so the default is wasm, as in a page.
  assert.equal(got.backend, 'wasm');
  assert.equal(got.ids, 'rs1,rs2');
  assert.deepEqual(Array.from(got.dosages), [2, 1, 0, Number.NaN, 0, 2]);
});

test('without WebAssembly SIMD the bundle falls back to the js backend and says why wasm is missing', async () => {
  const { code } = await bundle({ format: 'iife', globalName: 'lmmkit' });
  for (const [setup, reason] of [
    ['delete globalThis.WebAssembly;', 'this runtime has no WebAssembly'],
    // A WebAssembly without simd128 refuses the module when validating it.
    ['globalThis.WebAssembly = { validate: () => false };', 'this runtime lacks WebAssembly SIMD (simd128)'],
  ]) {
    const script = `${setup}
      ${code}
      JSON.stringify({ backend: lmmkit.getBackend().name, wasm: lmmkit.wasmStatus(), product: Array.from(lmmkit.getBackend().gemm(
        lmmkit.Matrix.fromRows([[1, 2], [3, 4]]), lmmkit.Matrix.fromRows([[5], [6]])).data) })`;
    // Through JSON: objects of another realm are not deepEqual to this realm's.
    const got = JSON.parse(runInNewContext(script, { TextDecoder }) as string) as {
      backend: string;
      wasm: { available: boolean; reason?: string };
      product: number[];
    };
    assert.equal(got.backend, 'js', setup);
    assert.deepEqual(got.wasm, { available: false, reason }, setup);
    assert.deepEqual(got.product, [17, 39], setup);
  }
});
