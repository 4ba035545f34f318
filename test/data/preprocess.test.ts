// geno_sugar / limix preprocessing: each filter's boundary, imputation,
// standardisation, compose; the GenoQueue and its progress lines; the
// gaussianize transform; and parity with limix-lmm's quickstart outputs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { Matrix } from '../../src/linalg/matrix.js';
import { gaussianize } from '../../src/data/gaussianize.js';
import { genoQueue, progressLine, type GenoProgress } from '../../src/data/geno-queue.js';
import { formatDuration, progressReporter, stageLine, type ProgressStream } from '../../src/data/node/progress.js';
import type { GenotypeSource } from '../../src/data/genotypes.js';
import { openBed } from '../../src/data/node/bed.js';
import { compose, dosageStats, filterByMaf, filterByMissing, imputeMean, standardize, type PreprocessedBatch } from '../../src/data/preprocess.js';
import { SHARED, sharedTest, syntheticVariants } from '../support.js';

const NaN_ = Number.NaN;

/** A batch whose columns are `cols`, with file indices 10, 11, ... */
function batch(cols: number[][]): PreprocessedBatch {
  const n = cols[0]!.length;
  return {
    dosages: new Matrix(n, cols.length, Float64Array.from(cols.flat())),
    variants: syntheticVariants(cols.length),
    indices: Int32Array.from(cols, (_, j) => 10 + j),
  };
}

function columns(b: PreprocessedBatch): number[][] {
  return Array.from({ length: b.dosages.cols }, (_, j) => Array.from(b.dosages.col(j)));
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i]!, expected[i]!];
    if (Number.isNaN(e) ? !Number.isNaN(a) : !(Math.abs(a - e) <= tol)) assert.fail(`${label}[${i}]: ${a} vs ${e} (tol ${tol})`);
  }
}

describe('filters', () => {
  // Missing fractions 0, 1/4, 2/4.
  const miss = batch([
    [0, 1, 2, 1],
    [0, NaN_, 2, 1],
    [NaN_, NaN_, 2, 1],
  ]);

  test('filterByMissing keeps missing fraction < maxMiss (strict)', () => {
    const at = filterByMissing(0.25)(miss);
    assert.deepEqual(Array.from(at.indices), [10]);
    assert.deepEqual(at.variants.id, ['v0']);
    const above = filterByMissing(0.2500001)(miss);
    assert.deepEqual(Array.from(above.indices), [10, 11]);
    assert.deepEqual(above.variants.id, ['v0', 'v1']);
    assert.deepEqual(columns(above)[1], [0, NaN_, 2, 1]);
    assert.equal(filterByMissing(1)(miss).dosages.cols, 3);
  });

  test('filterByMaf keeps folded maf > minMaf (strict); maf = 0.5 * mean dosage', () => {
    // Means 0.25, 1.75 (folded to the same maf 0.125), 1 (maf 0.5).
    const b = batch([
      [0, 0, 0, 1],
      [2, 2, 2, 1],
      [0, 1, 2, 1],
    ]);
    assert.deepEqual(Array.from(filterByMaf(0.125)(b).indices), [12]);
    assert.deepEqual(Array.from(filterByMaf(0.1249999)(b).indices), [10, 11, 12]);
    assert.deepEqual(Array.from(filterByMaf(0.5)(b).indices), []);
    assert.equal(filterByMaf(0.5)(b).dosages.cols, 0);
    // Before imputation the maf is that of the observed dosages.
    assert.deepEqual(Array.from(filterByMaf(0.2)(batch([[NaN_, 1, 1, 0]])).indices), [10]);
  });

  test('filters never modify their input', () => {
    const b = batch([
      [0, 1, 2, 1],
      [0, NaN_, 2, 1],
    ]);
    const before = columns(b);
    filterByMissing(0.1)(b);
    filterByMaf(0.3)(b);
    imputeMean()(b);
    standardize()(b);
    assert.deepEqual(columns(b), before);
  });
});

describe('imputeMean and standardize', () => {
  test('imputeMean: NaN -> mean of the observed dosages; an all-missing column is dropped', () => {
    const out = imputeMean()(
      batch([
        [0, NaN_, 2, 2],
        [1, 1, 1, 1],
        [NaN_, NaN_, NaN_, NaN_],
      ]),
    );
    assert.deepEqual(columns(out), [
      [0, 4 / 3, 2, 2],
      [1, 1, 1, 1],
    ]);
    assert.deepEqual(Array.from(out.indices), [10, 11]);
    assert.deepEqual(out.variants.id, ['v0', 'v1']);
  });

  test('standardize: centred, population sd 1, stats = mean and sd before', () => {
    const x = [0, 1, 2, 2, 1];
    const out = standardize()(batch([x]));
    const m = 6 / 5;
    const sd = Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / 5);
    close(
      out.dosages.col(0),
      x.map((v) => (v - m) / sd),
      1e-15,
      'standardised',
    );
    close(out.stats!.mean, [m], 1e-15, 'mean');
    close(out.stats!.sd, [sd], 1e-15, 'sd');
    const col = out.dosages.col(0);
    close([col.reduce((s, v) => s + v, 0) / 5, col.reduce((s, v) => s + v * v, 0) / 5], [0, 1], 1e-15, 'moments');
  });

  test('standardize: a zero-variance column becomes zeros with sd 0 (not NaN); NaN stays NaN', () => {
    // The mean of 0.1, 0.1, 0.1 is 0.10000000000000002 in floating point: the sd must still be exactly 0.
    const out = standardize()(
      batch([
        [0.1, 0.1, 0.1],
        [1, 1, 1],
        [0, NaN_, 2],
      ]),
    );
    assert.deepEqual(columns(out), [
      [0, 0, 0],
      [0, 0, 0],
      [-1, NaN_, 1],
    ]);
    assert.deepEqual(Array.from(out.stats!.sd), [0, 0, 1]);
    assert.deepEqual(Array.from(out.stats!.mean), [(0.1 + 0.1 + 0.1) / 3, 1, 1]);
  });

  test('dosageStats: observed values only, NaN for an all-missing column', () => {
    const s = dosageStats(
      batch([
        [1, NaN_, 3],
        [NaN_, NaN_, NaN_],
      ]).dosages,
    );
    assert.deepEqual(Array.from(s.mean), [2, NaN_]);
    assert.deepEqual(Array.from(s.sd), [1, NaN_]);
  });

  test('filters after standardize keep stats aligned', () => {
    const out = compose([standardize(), filterByMissing(0.1)])(
      batch([
        [0, NaN_, 2, 1],
        [0, 1, 2, 1],
      ]),
    );
    assert.deepEqual(Array.from(out.indices), [11]);
    assert.deepEqual(Array.from(out.stats!.mean), [1]);
  });
});

describe('compose', () => {
  test('applies the steps in list order', () => {
    const b = batch([
      [0, NaN_, 2, 1],
      [0, 1, 2, 1],
    ]);
    assert.deepEqual(Array.from(compose([filterByMissing(0.1), imputeMean()])(b).indices), [11]);
    assert.deepEqual(Array.from(compose([imputeMean(), filterByMissing(0.1)])(b).indices), [10, 11]);
    assert.equal(compose([])(b), b);
  });

  test('the limix quickstart chain on a small batch', () => {
    const b = batch([
      [0, NaN_, 2, 2, 1],
      [0, 0, 0, 0, 1],
      [NaN_, NaN_, 1, 2, 0],
      [2, 1, 0, 1, 2],
    ]);
    const out = compose([filterByMissing(0.3), imputeMean(), filterByMaf(0.1), standardize()])(b);
    // Column 1 has maf 0.1 (dropped: not > 0.1), column 2 40% missing.
    assert.deepEqual(Array.from(out.indices), [10, 13]);
    close(out.stats!.mean, [5 / 4, 6 / 5], 1e-15, 'mean');
    const imputed = [0, 5 / 4, 2, 2, 1];
    const sd = Math.sqrt(imputed.reduce((s, v) => s + (v - 5 / 4) ** 2, 0) / 5);
    close(out.stats!.sd.subarray(0, 1), [sd], 1e-15, 'sd');
    close(
      out.dosages.col(0),
      imputed.map((v) => (v - 5 / 4) / sd),
      1e-15,
      'column',
    );
  });
});

describe('gaussianize', () => {
  test('distinct values: the (rank + 0.5) / N normal quantiles', () => {
    const g = gaussianize(Float64Array.of(3, -1, 10, 2));
    // Ranks 2, 0, 3, 1 of 4: quantiles at 2.5/4, 0.5/4, 3.5/4, 1.5/4; symmetric pairs.
    assert.equal(g[1], -g[2]!);
    assert.equal(g[3], -g[0]!);
    assert.ok(g[1]! < g[3]! && g[3]! < 0 && g[0]! > 0);
    close([g[0]!], [0.31863936396437514], 1e-15, 'ppf(0.625)');
  });

  test('ties: average ranks rounded half to even (numpy around)', () => {
    // Ranks 1, 2.5, 2.5, 4 -> around -> 1, 2, 2, 4 -> r = 0, 1, 1, 3.
    const g = gaussianize(Float64Array.of(1, 2, 2, 3));
    const ref = gaussianize(Float64Array.of(1, 2, 3, 4));
    assert.deepEqual(Array.from(g), [ref[0], ref[1], ref[1], ref[3]]);
    // Ranks 1.5, 1.5, 3 -> 2, 2, 3 -> r = 1, 1, 2.
    const h = gaussianize(Float64Array.of(5, 5, 7));
    const ref3 = gaussianize(Float64Array.of(1, 2, 3));
    assert.deepEqual(Array.from(h), [ref3[1], ref3[1], ref3[2]]);
    // Ranks 3.5 x 2 (positions 3, 4 of 4) -> 4: r = 3.
    const k = gaussianize(Float64Array.of(1, 2, 9, 9));
    assert.deepEqual(Array.from(k), [ref[0], ref[1], ref[3], ref[3]]);
  });

  test('NaN stays NaN; the observed values are ranked among themselves', () => {
    const g = gaussianize(Float64Array.of(3, NaN_, 1));
    const ref = gaussianize(Float64Array.of(3, 1));
    assert.deepEqual(Array.from(g), [ref[0], NaN_, ref[1]]);
  });

  test('a matrix: each column on its own', () => {
    const m = gaussianize(
      Matrix.fromRows([
        [1, 30],
        [2, 10],
        [3, 20],
      ]),
    );
    const a = gaussianize(Float64Array.of(1, 2, 3));
    assert.deepEqual(Array.from(m.col(0)), Array.from(a));
    assert.deepEqual(Array.from(m.col(1)), [a[2], a[0], a[1]]);
  });
});

/** A recording stream for the reporters. */
function sink(isTTY: boolean): { stream: ProgressStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as ProgressStream & { columns?: number };
  stream.isTTY = isTTY;
  stream.columns = 100;
  return { stream, text: () => chunks.join('') };
}

describe('progress', () => {
  test('the line format', () => {
    assert.equal(progressLine({ variantsRead: 200, total: 994, fraction: 200 / 994 }), 'read 200 / 994 variants (20.12%)');
    assert.equal(progressLine({ variantsRead: 994, total: 994, fraction: 1 }), 'read 994 / 994 variants (100.00%)');
  });

  // A clock the tests move by hand (milliseconds).
  const clock = () => {
    let t = 0;
    return {
      now: () => t,
      at: (ms: number): void => {
        t = ms;
      },
    };
  };

  test('the stage line: done/total, rate, ETA, and the time taken once done', () => {
    assert.equal(stageLine("scan of trait 'y'", 'variants', 250, 1000, 2), "scan of trait 'y': 250 / 1000 variants (25.0%), 125 variants/s, ETA 6s");
    assert.equal(stageLine('kinship pass', 'variants', 1000, 1000, 125), 'kinship pass: 1000 / 1000 variants (100.0%), 8 variants/s, done in 2m05s');
    assert.equal(formatDuration(3725), '1h02m');
  });

  test('off a terminal: a line each interval and the end of a stage that printed one, to the stream and the record', () => {
    const { stream, text } = sink(false);
    const c = clock();
    const recorded: string[] = [];
    const report = progressReporter(stream, { stage: 'scan', unit: 'variants', intervalSeconds: 5, now: c.now, record: (l) => recorded.push(l) });
    c.at(1000);
    report({ variantsRead: 100, total: 1000, fraction: 0.1 });
    c.at(6000);
    report({ variantsRead: 600, total: 1000, fraction: 0.6 });
    c.at(8000);
    report({ variantsRead: 1000, total: 1000, fraction: 1 });
    assert.deepEqual(recorded, [
      'scan: 600 / 1000 variants (60.0%), 100 variants/s, ETA 4s',
      'scan: 1000 / 1000 variants (100.0%), 125 variants/s, done in 8s',
    ]);
    assert.equal(text(), recorded.map((l) => `lmmkit: ${l}\n`).join(''));
  });

  test('a stage shorter than the interval prints nothing; show: false (--quiet) prints nothing but records', () => {
    const short = sink(false);
    const report = progressReporter(short.stream, { stage: 'scan', now: clock().now });
    report({ variantsRead: 10, total: 10, fraction: 1 });
    assert.equal(short.text(), '');
    const quiet = sink(false);
    const recorded: string[] = [];
    const q = progressReporter(quiet.stream, { stage: 'scan', intervalSeconds: 0, show: false, record: (l) => recorded.push(l), now: clock().now });
    q({ variantsRead: 10, total: 10, fraction: 1 });
    assert.equal(quiet.text(), '');
    assert.equal(recorded.length, 1);
  });

  test('a terminal gets one line redrawn in place, ended at the last step; stop() ends an unfinished one', () => {
    const { stream, text } = sink(true);
    const c = clock();
    const report = progressReporter(stream, { stage: 'kinship pass', unit: 'variants', now: c.now });
    c.at(500);
    report({ variantsRead: 50, total: 100, fraction: 0.5 });
    c.at(1000);
    report({ variantsRead: 100, total: 100, fraction: 1 });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's erase-line escape is what is checked
    assert.match(text(), /^\rkinship pass: 50 \/ 100 variants \(50\.0%\), 100 variants\/s, ETA 1s\x1b\[K\rkinship pass: 100 \/ 100 .*done in 1s\x1b\[K\n$/);
    const other = sink(true);
    const r2 = progressReporter(other.stream, { stage: 'scan', now: clock().now });
    r2({ variantsRead: 10, total: 100, fraction: 0.1 });
    r2.stop();
    r2.stop();
    assert.match(other.text(), /10 \/ 100 steps \(10\.0%\).*\n$/);
  });

  test('genoQueue preprocesses each batch and reports after it', async () => {
    const data = Float64Array.from({ length: 4 * 5 }, (_, i) => (i % 3 === 0 ? NaN_ : i % 3));
    const source: GenotypeSource = {
      path: 'mem',
      samples: { fid: ['a', 'b', 'c', 'd'], iid: ['a', 'b', 'c', 'd'] },
      variants: syntheticVariants(5),
      async *batches(opts = {}) {
        const size = opts.size ?? 1000;
        for (let s = 0; s < 5; s += size) {
          const e = Math.min(s + size, 5);
          const idx = Int32Array.from({ length: e - s }, (_, k) => s + k);
          yield { dosages: new Matrix(4, e - s, data.slice(4 * s, 4 * e)), variants: syntheticVariants(e - s), indices: idx };
        }
      },
      async close() {},
    };
    const seen: GenoProgress[] = [];
    const cols: number[] = [];
    for await (const b of genoQueue(source, { size: 2, preprocess: imputeMean(), onProgress: (p) => seen.push(p) })) {
      assert.ok(!b.dosages.data.some(Number.isNaN));
      cols.push(b.dosages.cols);
    }
    assert.deepEqual(cols, [2, 2, 1]);
    assert.deepEqual(
      seen.map((p) => [p.variantsRead, p.total, p.fraction]),
      [
        [2, 5, 0.4],
        [4, 5, 0.8],
        [5, 5, 1],
      ],
    );
  });
});

const STRUCT = 'data/structlmm/chrom22_subsample20_maf0.10';
const LIMIX = 'refs/limix/example_lmm/';

sharedTest(
  'limix parity: chr22 [17.5 Mb, 18 Mb) in batches of 200, mean/std_dosage of res_lmm.csv',
  [`${STRUCT}.bed`, `${STRUCT}.bim`, `${STRUCT}.fam`, `${LIMIX}res_lmm.csv`],
  async () => {
    const rows = readFileSync(`${SHARED}${LIMIX}res_lmm.csv`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    const head = rows.shift()!;
    const col = (name: string) => rows.map((r) => r[head.indexOf(name)]!);
    const bed = await openBed(`${SHARED}${STRUCT}`, { count: 'a2' });
    const lines: string[] = [];
    const ids: string[] = [];
    const mean: number[] = [];
    const sd: number[] = [];
    try {
      const queue = genoQueue(bed, {
        size: 200,
        select: { region: { chrom: '22', start: 17500000, end: 18000000 } },
        preprocess: compose([filterByMissing(0.1), imputeMean(), filterByMaf(0.1), standardize()]),
        onProgress: (p) => lines.push(progressLine(p)),
      });
      for await (const b of queue) {
        ids.push(...b.variants.id);
        mean.push(...b.stats!.mean);
        sd.push(...b.stats!.sd);
        const s = dosageStats(b.dosages);
        close(s.mean, new Float64Array(s.mean.length), 1e-14, 'standardised mean');
        close(s.sd, new Float64Array(s.sd.length).fill(1), 1e-14, 'standardised sd');
      }
    } finally {
      await bed.close();
    }
    assert.equal(ids.length, 994);
    assert.deepEqual(ids, col('snp'));
    close(mean, col('mean_dosage').map(Number), 1e-12, 'mean_dosage');
    close(sd, col('std_dosage').map(Number), 1e-12, 'std_dosage');
    assert.deepEqual(
      lines,
      [200, 400, 600, 800, 994].map((k) => `read ${k} / 994 variants (${((100 * k) / 994).toFixed(2)}%)`),
    );
    assert.equal(lines[0], 'read 200 / 994 variants (20.12%)');
  },
);

sharedTest('limix parity: gaussianize(expr gene1) = pheno.csv', ['data/structlmm/expr.csv', `${LIMIX}pheno.csv`], () => {
  const expr = readFileSync(`${SHARED}data/structlmm/expr.csv`, 'utf8').split('\n');
  const gene1 = expr
    .find((l) => l.startsWith('gene1,'))!
    .split(',')
    .slice(1)
    .map(Number);
  assert.equal(gene1.length, 274);
  const pheno = readFileSync(`${SHARED}${LIMIX}pheno.csv`, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
  assert.deepEqual(
    gene1,
    pheno.map((r) => Number(r[1])),
  );
  close(
    gaussianize(Float64Array.from(gene1)),
    pheno.map((r) => Number(r[2])),
    1e-12,
    'pheno_gaussianized',
  );
});
