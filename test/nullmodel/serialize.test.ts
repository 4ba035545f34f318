// The null-model file format: a model read back is the fitted object to
// the bit (its scans give byte-identical results, fixed and exact, kinship,
// low-rank and Kronecker-sum), and every damaged or mismatched file is
// refused with a typed error that says what differs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  checkNullModelSamples,
  decodeNullModel,
  encodeNullModel,
  encodeNullModelChunks,
  fitKinshipNull,
  fitKronSumNull,
  fitLowRankNull,
  gwasScan,
  InputError,
  kinship,
  loadNullModel,
  Matrix,
  Mtlmm,
  NullModelFormatError,
  openBed,
  SampleMismatchError,
  saveNullModel,
  simulateGwas,
  writeBed,
  type GwasBatchResult,
  type NullModel,
  type NullModelMeta,
  type SingleTraitNullModel,
} from '../../src/node.js';
import { crc32 } from '../../src/nullmodel/crc32.js';
import { Rng } from '../../src/sim/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-nullmodel-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const n = 120;
const sim = simulateGwas({ samples: n, variants: 80, causal: 2, h2Causal: 0.3, seed: 11 });
const prefix = join(dir, 'sim');
const ones = new Matrix(n, 1, new Float64Array(n).fill(1));
const rng = new Rng(3);
const env = new Matrix(
  n,
  4,
  Float64Array.from({ length: 4 * n }, () => rng.normal()),
);
const covariates = new Matrix(
  n,
  2,
  Float64Array.from({ length: 2 * n }, (_, i) => (i < n ? 1 : rng.normal())),
);
const meta = (k: number, traits?: string[]): NullModelMeta => ({
  samples: { fid: [...sim.samples.fid], iid: [...sim.samples.iid] },
  traits,
  covariates: Array.from({ length: k }, (_, i) => (i === 0 ? 'intercept' : `pc${i}`)),
  fingerprint: { genotypes: 'sha256:0123', kinship: 'sha256:4567' },
});

/** The bytes of every typed array of a value, walked in key order (numbers as float64). */
function bits(v: unknown, out: string[] = [], path = ''): string[] {
  if (v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint8Array) {
    out.push(`${path}:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`);
  } else if (v instanceof Matrix) bits(v.data, out, `${path}[${v.rows}x${v.cols}]`);
  else if (typeof v === 'number') out.push(`${path}:${Buffer.from(Float64Array.of(v).buffer).toString('hex')}`);
  else if (Array.isArray(v))
    v.forEach((x, i) => {
      bits(x, out, `${path}.${i}`);
    });
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v).sort()) bits((v as Record<string, unknown>)[k], out, `${path}.${k}`);
  else out.push(`${path}:${String(v)}`);
  return out;
}

async function scan(model: SingleTraitNullModel, test: 'fixed' | 'exact'): Promise<string[]> {
  const source = await openBed(prefix);
  try {
    const out: GwasBatchResult[] = [];
    for await (const b of gwasScan({ source, null: model, test, batchSize: 32, minMaf: 0.01 })) out.push(b);
    return bits(
      out.map((b) => ({ indices: b.indices, af: b.af, n: b.n, fixed: b.fixed, exact: b.exact === undefined ? undefined : { ...b.exact, work: undefined } })),
    );
  } finally {
    await source.close();
  }
}

/** The model's data and parameters (not its backend object), as bits. */
function modelBits(m: NullModel): string[] {
  const { backend: _b, covariance: _c, ...rest } = m;
  return bits(rest);
}

describe('null-model files', async () => {
  await writeBed(prefix, sim.dosages, sim.samples, sim.variants, sim.phenotype);
  const bed = await openBed(prefix);
  const k = await kinship(bed, { method: 'standardized' }).finally(() => bed.close());
  const kin = fitKinshipNull({ y: sim.phenotype, covariates, kinship: k.k, both: true });
  const kinRemlOnly = fitKinshipNull({ y: Matrix.column(sim.phenotype), covariates, kinship: k.k });
  const low = fitLowRankNull({ y: sim.phenotype, covariates: ones, w: env });
  const y2 = new Matrix(n, 2);
  y2.data.set(sim.phenotype, 0);
  for (let i = 0; i < n; i++) y2.data[n + i] = 0.5 * sim.phenotype[i]! + rng.normal();
  const kron = fitKronSumNull({ y: y2, covariates: ones, kinship: k.k });

  test("CRC-32 is zlib's", () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  });

  test('CRC-32 continues from the CRC of the bytes before, as zlib does', () => {
    const text = new TextEncoder().encode('123456789');
    assert.equal(crc32(text.subarray(4), crc32(text.subarray(0, 4))), 0xcbf43926);
    assert.equal(crc32(text.subarray(9), crc32(text)), 0xcbf43926);
  });

  test('the file written in pieces is the whole encoding, the eigenvectors neither copied out nor in', () => {
    const chunks = encodeNullModelChunks(kin, meta(2));
    const whole = encodeNullModel(kin, meta(2));
    assert.equal(
      chunks.reduce((a, c) => a + c.length, 0),
      whole.length,
    );
    let at = 0;
    for (const c of chunks) {
      assert.ok(
        whole.subarray(at, at + c.length).every((b, i) => b === c[i]),
        `piece at byte ${at}`,
      );
      at += c.length;
    }
    // The eigenvectors' piece is a view of the model's own matrix.
    const u = kin.eigen.vectors.data;
    assert.ok(chunks.some((c) => c.buffer === u.buffer && c.byteOffset === u.byteOffset && c.length === u.length * 8));
    // Read back, they are a view of the bytes read (aligned by the format).
    const saved = decodeNullModel(whole);
    assert.ok(saved.model.kind === 'kinship');
    assert.equal(saved.model.eigen.vectors.data.buffer, whole.buffer);
    assert.deepEqual(Array.from(saved.model.eigen.vectors.data), Array.from(u));
    // Bytes at an odd offset are copied, and read the same.
    const shifted = new Uint8Array(whole.length + 1);
    shifted.set(whole, 1);
    const copied = decodeNullModel(shifted.subarray(1));
    assert.ok(copied.model.kind === 'kinship');
    assert.notEqual(copied.model.eigen.vectors.data.buffer, shifted.buffer);
    assert.deepEqual(modelBits(copied.model), modelBits(kin));
  });

  test('a decoded model is the fitted one, bit for bit, with its samples, names and fingerprint', () => {
    for (const [model, m] of [
      [kin, meta(2)],
      [kinRemlOnly, meta(2)],
      [low, meta(1)],
      [kron, meta(1, ['a', 'b'])],
    ] as const) {
      const saved = decodeNullModel(encodeNullModel(model, m));
      assert.equal(saved.model.kind, model.kind);
      assert.deepEqual(modelBits(saved.model), modelBits(model), `${model.kind} model`);
      assert.deepEqual(saved.samples, m.samples);
      assert.deepEqual(saved.fingerprint, m.fingerprint);
      assert.deepEqual(saved.covariates, m.covariates);
      assert.equal(saved.fittedOn, model.backend.name);
    }
    assert.deepEqual(decodeNullModel(encodeNullModel(kron, meta(1))).traits, ['trait1', 'trait2']);
  });

  test('scans under a loaded model equal scans under the fitted one, byte for byte (fixed and exact)', async () => {
    const path = join(dir, 'kin.lmmnull');
    await saveNullModel(kin, path, meta(2));
    const loaded = await loadNullModel(path);
    checkNullModelSamples(loaded, sim.samples);
    assert.equal(loaded.model.kind, 'kinship');
    const m = loaded.model as SingleTraitNullModel;
    assert.deepEqual(await scan(m, 'fixed'), await scan(kin, 'fixed'));
    assert.deepEqual(await scan(m, 'exact'), await scan(kin, 'exact'));
    // Without the ML fit in the file the scan fits it, to the same bits.
    const remlOnly = decodeNullModel(encodeNullModel(kinRemlOnly, meta(2))).model as SingleTraitNullModel;
    assert.deepEqual(await scan(remlOnly, 'exact'), await scan(kinRemlOnly, 'exact'));
    const lowLoaded = decodeNullModel(encodeNullModel(low, meta(1))).model as SingleTraitNullModel;
    assert.deepEqual(await scan(lowLoaded, 'fixed'), await scan(low, 'fixed'));
  });

  test('a multi-trait scan under a loaded Kronecker-sum model is byte-identical', () => {
    const loaded = decodeNullModel(encodeNullModel(kron, meta(1))).model;
    assert.equal(loaded.kind, 'kron-sum');
    if (loaded.kind !== 'kron-sum') return;
    const g = sim.dosages.colView(0, 20).clone();
    for (let i = 0; i < g.data.length; i++) if (Number.isNaN(g.data[i]!)) g.data[i] = 1;
    const run = (m: typeof kron): string[] => bits(new Mtlmm({ y: m.y, covariates: m.covariates, covariance: m.covariance, backend: m.backend }).process(g));
    assert.deepEqual(run(loaded), run(kron));
  });

  test('other samples are refused, naming the first difference', () => {
    const saved = decodeNullModel(encodeNullModel(kin, meta(2)));
    const iid = [...sim.samples.iid];
    [iid[5], iid[6]] = [iid[6]!, iid[5]!];
    assert.throws(
      () => checkNullModelSamples(saved, { fid: sim.samples.fid, iid }, 'kin.lmmnull'),
      (e: unknown) => {
        assert.ok(e instanceof SampleMismatchError);
        assert.equal(e.code, 'SAMPLE_MISMATCH');
        assert.equal(e.position, 5);
        assert.equal(e.expected, `${sim.samples.fid[5]} ${sim.samples.iid[5]}`);
        assert.equal(e.found, `${sim.samples.fid[6]} ${sim.samples.iid[6]}`);
        assert.match(e.message, /^kin\.lmmnull: .*position 6/);
        return true;
      },
    );
    const fewer = { fid: sim.samples.fid.slice(0, n - 1), iid: sim.samples.iid.slice(0, n - 1) };
    assert.throws(
      () => checkNullModelSamples(saved, fewer),
      (e: unknown) => e instanceof SampleMismatchError && e.position === n - 1 && e.found === undefined && /has 120 samples, the scan 119/.test(e.message),
    );
    const otherFid = { fid: sim.samples.fid.map((f, i) => (i === 0 ? `${f}x` : f)), iid: sim.samples.iid };
    assert.throws(
      () => checkNullModelSamples(saved, otherFid),
      (e: unknown) => e instanceof SampleMismatchError && e.position === 0,
    );
  });

  test('another version, a truncated, a tampered and a foreign file are refused', async () => {
    const bytes = encodeNullModel(kin, meta(2));
    const refused = (b: Uint8Array, problem: string, message: RegExp): void => {
      assert.throws(
        () => decodeNullModel(b, { source: 'x.lmmnull' }),
        (e: unknown) => {
          assert.ok(e instanceof NullModelFormatError, String(e));
          assert.equal(e.code, 'BAD_NULL_MODEL');
          assert.equal(e.problem, problem, e.message);
          assert.match(e.message, /^x\.lmmnull: /);
          assert.match(e.message, message);
          return true;
        },
      );
    };
    const other = bytes.slice();
    new DataView(other.buffer).setUint32(8, 2, true);
    refused(other, 'version', /format version 2, but this lmmkit reads version 1/);
    refused(bytes.slice(0, bytes.length - 100), 'truncated', /truncated: expected \d+ bytes .*found \d+/);
    refused(bytes.slice(0, 40), 'truncated', /truncated/);
    refused(bytes.slice(0, 12), 'truncated', /truncated/);
    const tampered = bytes.slice();
    tampered[bytes.length - 1000]! ^= 0x01;
    refused(tampered, 'checksum', /CRC-32 does not match \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/);
    const header = bytes.slice();
    header[30]! ^= 0x40;
    refused(header, 'checksum', /damaged or was altered/);
    refused(new TextEncoder().encode('FID IID\nf1 i1\n'), 'not-null-model', /not an lmmkit null-model file: expected it to start with 'LMMKNULL'/);
    refused(new Uint8Array(0), 'not-null-model', /found bytes \(none\)/);
    // The same checks through the file functions, which name the path.
    const path = join(dir, 'cut.lmmnull');
    writeFileSync(path, bytes.subarray(0, bytes.length - 8));
    await assert.rejects(loadNullModel(path), (e: unknown) => e instanceof NullModelFormatError && e.problem === 'truncated' && e.message.startsWith(path));
    await assert.rejects(loadNullModel(join(dir, 'absent.lmmnull')), InputError);
    // The header is plain JSON after 16 bytes: readable with any tool.
    const saved = join(dir, 'k.lmmnull');
    await saveNullModel(kin, saved, meta(2));
    const raw = readFileSync(saved);
    const h = JSON.parse(raw.subarray(16, 16 + raw.readUInt32LE(12)).toString('utf8')) as { formatVersion: number; kind: string; arrays: { name: string }[] };
    assert.equal(h.formatVersion, 1);
    assert.equal(h.kind, 'kinship');
    assert.deepEqual(
      h.arrays.map((a) => a.name),
      ['eigenvalues', 'eigenvectors', 'y', 'covariates', 'uty', 'utw'],
    );
  });

  test('a header that does not describe its arrays is refused, even with a good checksum', () => {
    const bytes = encodeNullModel(low, meta(1));
    const rewrite = (edit: (h: { arrays: { name: string; shape: number[]; offset: number }[]; kind: string }) => void): Uint8Array => {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const hl = view.getUint32(12, true);
      const h = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + hl))) as Parameters<typeof edit>[0];
      edit(h);
      const json = new TextEncoder().encode(JSON.stringify(h).padEnd(hl, ' '));
      assert.equal(json.length, hl, 'the edit keeps the header length');
      const out = bytes.slice();
      out.set(json, 16);
      new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
      return out;
    };
    const refused = (b: Uint8Array, message: RegExp): void => {
      assert.throws(
        () => decodeNullModel(b),
        (e: unknown) => e instanceof NullModelFormatError && e.problem === 'header' && message.test(e.message),
      );
    };
    refused(
      rewrite((h) => {
        h.kind = 'lmm';
      }),
      /expected kind 'kinship', 'lowrank' or 'kron-sum', found 'lmm'/,
    );
    refused(
      rewrite((h) => {
        h.arrays[0]!.name = 'v';
      }),
      /expected array 'u' of shape \[120, 4\], found none/,
    );
    refused(
      rewrite((h) => {
        h.arrays[3]!.offset += 8;
      }),
      /expected array 'covariates' at an 8-aligned offset/,
    );
  });

  test('bad metadata is refused when saving', () => {
    assert.throws(() => encodeNullModel(kin, { samples: { fid: ['a'], iid: ['b'] } }), /has 120 samples but meta.samples has 1 IIDs/);
    assert.throws(() => encodeNullModel(kin, { ...meta(2), covariates: ['x'] }), /expected 2 covariate names, found 1/);
  });
});
