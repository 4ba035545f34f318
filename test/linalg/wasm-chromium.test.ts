// The wasm kernel in a real page: Debian's chromium (headless, playwright-core)
// loads the backend selection of the browser-safe entry from dist/ (the
// entry itself imports npm packages by bare name, which a bundler resolves),
// picks the wasm backend by default (no native there), and its gemm and syrk equal the js kernels' bit for bit
// on random matrices of edge and blocked shapes with every transpose flag.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPage, serveStatic } from '../../bench/web-server.js';
import { toolTest } from '../support.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** What the page reports: its default backend, and each case where wasm and js differ. */
interface PageReport {
  backend: string;
  simdReason: string | null;
  cases: number;
  mismatches: string[];
}

toolTest('in chromium: the default backend is wasm and its gemm/syrk equal the js kernels bit for bit', 'chromium', async () => {
  const server = await serveStatic(root);
  const { browser, page, errors } = await openPage(server.url);
  try {
    const report = await page.evaluate(async (base): Promise<PageReport> => {
      const select = await import(`${base}/src/linalg/select.js`);
      const js = await import(`${base}/src/linalg/js/blas.js`);
      const wasm = await import(`${base}/src/linalg/wasm/gemm.js`);
      const { Rng } = await import(`${base}/src/sim/rng.js`);
      const rng = new Rng(3);
      const same = (x: Float64Array, y: Float64Array) => x.every((v, i) => Object.is(v, y[i]));
      const mismatches: string[] = [];
      let cases = 0;
      for (const [m, n, k] of [
        [0, 3, 2],
        [1, 1, 1],
        [1, 5, 3],
        [7, 2, 1],
        [33, 17, 65],
        [131, 129, 257],
        [274, 40, 274],
      ] as [number, number, number][]) {
        for (const tA of [false, true]) {
          for (const tB of [false, true]) {
            const a = rng.normals(m * k);
            const b = rng.normals(k * n);
            const c0 = rng.normals(m * n);
            const c1 = c0.slice();
            js.dgemm(tA, tB, m, n, k, 0.5, a, b, -1, c0);
            wasm.dgemm(tA, tB, m, n, k, 0.5, a, b, -1, c1);
            cases++;
            if (!same(c0, c1)) mismatches.push(`gemm ${m}x${n}x${k} tA=${tA} tB=${tB}`);
          }
        }
        for (const trans of [false, true]) {
          const a = rng.normals(m * k);
          const c0 = rng.normals(m * m);
          const c1 = c0.slice();
          js.dsyrk(trans, m, k, 1.5, a, 0, c0);
          wasm.dsyrk(trans, m, k, 1.5, a, 0, c1);
          cases++;
          if (!same(c0, c1)) mismatches.push(`syrk ${m}x${k} trans=${trans}`);
        }
      }
      return { backend: select.getBackend().name, simdReason: wasm.wasmUnavailableReason() ?? null, cases, mismatches };
    }, `${server.url}/dist`);
    assert.equal(report.simdReason, null, 'chromium runs WebAssembly SIMD');
    assert.equal(report.backend, 'wasm');
    assert.equal(report.cases, 42);
    assert.deepEqual(report.mismatches, []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
