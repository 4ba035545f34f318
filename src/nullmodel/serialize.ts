/**
 * The null-model file format (docs/null-model-format.md), bytes in and bytes
 * out, with no Node import so that a browser tab can read a model fitted
 * elsewhere:
 *
 *   magic 'LMMKNULL' (8 bytes) | format version (uint32 LE) | header length H (uint32 LE)
 *   | header: UTF-8 JSON, space-padded so that the arrays start 8-aligned
 *   | arrays: float64 little-endian, one after the other, as the header's table says
 *   | CRC-32 (uint32 LE) of every byte before it.
 *
 * A decoded model is assembled by the same functions the fits use
 * (`kinshipNullModel`, `lowRankNullModel`, `kronSumNullModel`) from the very
 * doubles that were written, so a scan under it gives the bytes a scan
 * under the fitted object gives.
 */
import { ArgumentError, NullModelFormatError, SampleMismatchError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import type { LbfgsStop } from '../optim/lbfgs.js';
import { crc32 } from './crc32.js';
import { kinshipNullModel } from './fit-kinship.js';
import { lowRankNullModel } from './fit-lowrank.js';
import { kronSumNullModel } from './fit-kron-sum.js';
import type { LambdaFit } from './lambda.js';
import type { NullModel } from './null-model.js';

/** The 8 bytes every null-model file starts with: ASCII 'LMMKNULL'. */
const MAGIC = Uint8Array.from('LMMKNULL', (ch) => ch.charCodeAt(0));

/** The format version this code writes and reads. */
export const NULL_MODEL_FORMAT_VERSION = 1;

/** Magic, version and header length. */
const PREAMBLE = 16;
/** The CRC-32 after the arrays. */
const TRAILER = 4;

/** What a null-model file records beside the model: whose samples, which traits and covariates, which inputs. */
export interface NullModelMeta {
  /** The model's samples in its row order (FID and IID, equal lengths N). */
  samples: { readonly fid: readonly string[]; readonly iid: readonly string[] };
  /** Trait names, one per trait (default trait1, trait2, ...). */
  traits?: readonly string[];
  /** Covariate names, one per covariate column (default covariate1, ...). */
  covariates?: readonly string[];
  /**
   * Fingerprints of the inputs the model was made from, as the caller
   * computes them (e.g. `{ genotypes: 'sha256:...', kinship: 'sha256:...' }`);
   * stored and returned as given.
   */
  fingerprint?: Readonly<Record<string, string>>;
}

/** A decoded null-model file: the model and what the file records beside it. */
export interface SavedNullModel {
  model: NullModel;
  formatVersion: number;
  samples: { fid: string[]; iid: string[] };
  traits: string[];
  covariates: string[];
  fingerprint: Record<string, string>;
  /** Name of the backend the model was fitted on (the decoded model uses the backend given to `decodeNullModel`). */
  fittedOn: string;
}

/** One entry of the header's array table: shape (rows, or rows and columns, column-major) and byte offset from the first array. */
interface ArrayEntry {
  name: string;
  shape: number[];
  offset: number;
}

/** A number as JSON holds it: itself, or a string for NaN, +-Infinity and -0 (which JSON cannot write). */
type JsonNumber = number | string;

function num(x: number): JsonNumber {
  return Number.isFinite(x) && !Object.is(x, -0) ? x : String(Object.is(x, -0) ? '-0' : x);
}

/** The header of the file being encoded or decoded, as JSON. */
interface Header {
  format: 'lmmkit-null-model';
  formatVersion: number;
  kind: NullModel['kind'];
  n: number;
  samples: { fid: string[]; iid: string[] };
  traits: string[];
  covariates: string[];
  fingerprint: Record<string, string>;
  backend: string;
  parameters: Record<string, unknown>;
  arrays: ArrayEntry[];
}

function fitJson(f: LambdaFit | undefined): Record<string, unknown> | null {
  if (f === undefined) return null;
  return {
    method: f.method,
    lambda: num(f.lambda),
    logLik: num(f.logLik),
    sigmaE2: num(f.sigmaE2),
    sigmaG2: num(f.sigmaG2),
    beta: Array.from(f.beta, num),
    iterations: f.iterations,
    atBound: f.atBound,
  };
}

/**
 * The file bytes of a null model (see the file comment and
 * docs/null-model-format.md). `meta.samples` must have one sample per row
 * of the model, the names one per trait and covariate column.
 */
export function encodeNullModel(model: NullModel, meta: NullModelMeta): Uint8Array {
  const chunks = encodeNullModelChunks(model, meta);
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * `encodeNullModel`'s bytes in pieces, to be written in order: the
 * preamble and header, each array, the CRC-32 trailer. On a little-endian
 * machine an array's piece is a view of the model's own array, so that
 * saving an N x N eigenvector matrix copies none of it.
 */
export function encodeNullModelChunks(model: NullModel, meta: NullModelMeta): Uint8Array[] {
  const where = 'encodeNullModel';
  const n = model.n;
  const { fid, iid } = meta.samples;
  if (fid.length !== n || iid.length !== n) {
    throw new ArgumentError(`${where}: the model has ${n} samples but meta.samples has ${iid.length} IIDs and ${fid.length} FIDs`);
  }
  const nTraits = model.kind === 'kron-sum' ? model.p : 1;
  const nCov = model.covariates.cols;
  const names = (given: readonly string[] | undefined, count: number, stem: string, what: string): string[] => {
    const out = given === undefined ? Array.from({ length: count }, (_, i) => `${stem}${i + 1}`) : [...given];
    if (out.length !== count) throw new ArgumentError(`${where}: expected ${count} ${what} names, found ${out.length}`);
    return out;
  };
  const arrays: { name: string; shape: number[]; data: Float64Array }[] = [];
  const add = (name: string, a: Float64Array | Matrix): void => {
    if (a instanceof Matrix) arrays.push({ name, shape: [a.rows, a.cols], data: a.data });
    else arrays.push({ name, shape: [a.length], data: a });
  };
  let parameters: Record<string, unknown>;
  if (model.kind === 'kinship') {
    add('eigenvalues', model.eigen.values);
    add('eigenvectors', model.eigen.vectors);
    add('y', model.y);
    add('covariates', model.covariates);
    add('uty', model.rotated.uty);
    add('utw', model.rotated.utw);
    parameters = { method: model.method, centered: model.centered, reml: fitJson(model.reml), ml: fitJson(model.ml) };
  } else if (model.kind === 'lowrank') {
    add('u', model.covariance.u);
    add('s', model.covariance.s);
    add('y', model.y);
    add('covariates', model.covariates);
    parameters = {
      method: model.method,
      cr: num(model.cr),
      cn: num(model.cn),
      lml: num(model.lml),
      beta: Array.from(model.beta, num),
      atBoundary: model.atBoundary,
      iterations: model.iterations,
    };
  } else {
    add('eigenvalues', model.eigen.values);
    add('eigenvectors', model.eigen.vectors);
    add('y', model.y);
    add('covariates', model.covariates);
    add('traitDesign', model.traitDesign);
    add('cg', model.cg);
    add('cn', model.cn);
    add('cgParams', model.cgParams);
    add('cnParams', model.cnParams);
    add('beta', model.beta);
    parameters = {
      method: model.method,
      lml: num(model.lml),
      gradNorm: num(model.gradNorm),
      iterations: model.iterations,
      evaluations: model.evaluations,
      converged: model.converged,
      reason: model.reason,
    };
  }
  let offset = 0;
  const placed = arrays.map((a) => {
    const entry: ArrayEntry = { name: a.name, shape: a.shape, offset };
    offset += a.data.length * 8;
    return { entry, data: a.data };
  });
  const table = placed.map((p) => p.entry);
  const header: Header = {
    format: 'lmmkit-null-model',
    formatVersion: NULL_MODEL_FORMAT_VERSION,
    kind: model.kind,
    n,
    samples: { fid: [...fid], iid: [...iid] },
    traits: names(meta.traits, nTraits, 'trait', 'trait'),
    covariates: names(meta.covariates, nCov, 'covariate', 'covariate'),
    fingerprint: { ...(meta.fingerprint ?? {}) },
    backend: model.backend.name,
    parameters,
    arrays: table,
  };
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((PREAMBLE + json.length) / 8) * 8 - PREAMBLE;
  if (padded > json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const head = new Uint8Array(PREAMBLE + json.length);
  const view = new DataView(head.buffer);
  head.set(MAGIC, 0);
  view.setUint32(8, NULL_MODEL_FORMAT_VERSION, true);
  view.setUint32(12, json.length, true);
  head.set(json, PREAMBLE);
  const chunks = [head, ...placed.map(({ data }) => float64Bytes(data))];
  let crc = 0;
  for (const c of chunks) crc = crc32(c, crc);
  const trailer = new Uint8Array(TRAILER);
  new DataView(trailer.buffer).setUint32(0, crc, true);
  chunks.push(trailer);
  return chunks;
}

const LITTLE_ENDIAN = new Uint8Array(Float64Array.of(1).buffer)[7] === 0x3f;

/** `a` as little-endian bytes: a view of `a` itself on a little-endian machine. */
function float64Bytes(a: Float64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.length * 8);
  const out = new Uint8Array(a.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat64(8 * i, a[i]!, true);
  return out;
}

/**
 * The `length` doubles at byte `at` of `bytes`: a view of `bytes` when they
 * are little-endian and 8-byte aligned (the format aligns every array), so
 * that reading an N x N eigenvector matrix copies none of it.
 */
function readFloat64(bytes: Uint8Array, at: number, length: number): Float64Array {
  if (LITTLE_ENDIAN && (bytes.byteOffset + at) % 8 === 0) return new Float64Array(bytes.buffer, bytes.byteOffset + at, length);
  if (LITTLE_ENDIAN) return new Float64Array(bytes.slice(at, at + length * 8).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, length * 8);
  return Float64Array.from({ length }, (_, i) => view.getFloat64(8 * i, true));
}

/** Options of `decodeNullModel`. */
export interface DecodeOptions {
  /** The backend the decoded model computes with (default `getBackend()`). */
  backend?: Backend;
  /** What to call the bytes in error messages (a file path; default 'null model'). */
  source?: string;
}

/**
 * Reads the bytes `encodeNullModel` wrote, checking in this order that they
 * start with the magic (else 'not-null-model'), are of this format version
 * ('version'), are as long as their header says ('truncated'), match their
 * CRC-32 ('checksum') and hold a header that describes the model
 * ('header'); each refusal is a `NullModelFormatError` saying what was
 * expected and what was found. The model's arrays are views of `bytes`
 * where they are 8-byte aligned (an N x N eigenvector matrix is not
 * copied): `bytes` must not change afterwards.
 */
export function decodeNullModel(bytes: Uint8Array, opts: DecodeOptions = {}): SavedNullModel {
  const source = opts.source ?? 'null model';
  const fail = (problem: ConstructorParameters<typeof NullModelFormatError>[1], message: string): NullModelFormatError =>
    new NullModelFormatError(source, problem, message);
  const head = bytes.subarray(0, MAGIC.length);
  if (head.length < MAGIC.length || head.some((b, i) => b !== MAGIC[i])) {
    const found = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw fail('not-null-model', `not an lmmkit null-model file: expected it to start with 'LMMKNULL', found bytes ${found === '' ? '(none)' : found}`);
  }
  if (bytes.length < PREAMBLE + TRAILER) throw fail('truncated', `truncated: ${bytes.length} bytes, fewer than the ${PREAMBLE + TRAILER} of an empty file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== NULL_MODEL_FORMAT_VERSION) {
    throw fail(
      'version',
      `format version ${version}, but this lmmkit reads version ${NULL_MODEL_FORMAT_VERSION}: refit the null model or use the lmmkit that wrote it`,
    );
  }
  const headerLength = view.getUint32(12, true);
  const dataStart = PREAMBLE + headerLength;
  if (dataStart + TRAILER > bytes.length)
    throw fail('truncated', `truncated: the header says it is ${headerLength} bytes long but the file has ${bytes.length} bytes in all`);
  const checksumOk = (): boolean => view.getUint32(bytes.length - TRAILER, true) === crc32(bytes.subarray(0, bytes.length - TRAILER));
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREAMBLE, dataStart))) as Header;
  } catch (e) {
    if (!checksumOk()) throw fail('checksum', 'the header does not parse and the CRC-32 does not match: the file is damaged or was altered');
    throw fail('header', `the header is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (header === null || typeof header !== 'object' || !Array.isArray(header.arrays)) throw fail('header', 'the header has no array table');
  let dataBytes = 0;
  for (const a of header.arrays) dataBytes += 8 * shapeLength(a?.shape);
  if (!Number.isFinite(dataBytes)) throw fail('header', 'the array table has an entry without a valid shape (one or two non-negative integers)');
  const expected = dataStart + dataBytes + TRAILER;
  if (bytes.length < expected) throw fail('truncated', `truncated: expected ${expected} bytes (header and arrays), found ${bytes.length}`);
  if (bytes.length > expected) throw fail('truncated', `expected ${expected} bytes, found ${bytes.length}: the file has bytes after its checksum`);
  if (!checksumOk()) {
    const stored = view.getUint32(bytes.length - TRAILER, true);
    const actual = crc32(bytes.subarray(0, bytes.length - TRAILER));
    throw fail('checksum', `the CRC-32 does not match (stored ${hex(stored)}, computed ${hex(actual)}): the file is damaged or was altered`);
  }
  return buildModel(header, bytes, dataStart, dataBytes, opts.backend ?? getBackend(), (m) => fail('header', m));
}

function hex(x: number): string {
  return `0x${x.toString(16).padStart(8, '0')}`;
}

function shapeLength(shape: unknown): number {
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 2 || shape.some((d) => !Number.isInteger(d) || d < 0)) return Number.NaN;
  return shape.reduce((a: number, b: number) => a * b, 1);
}

/** The model of a checked header and its arrays. */
function buildModel(header: Header, bytes: Uint8Array, dataStart: number, dataBytes: number, backend: Backend, bad: (m: string) => Error): SavedNullModel {
  if (header.format !== 'lmmkit-null-model' || header.formatVersion !== NULL_MODEL_FORMAT_VERSION) {
    throw bad(
      `expected format 'lmmkit-null-model' version ${NULL_MODEL_FORMAT_VERSION} in the header, found '${String(header.format)}' version ${String(header.formatVersion)}`,
    );
  }
  const n = header.n;
  const { fid, iid } = header.samples ?? {};
  if (!Number.isInteger(n) || n < 1 || !Array.isArray(fid) || !Array.isArray(iid) || fid.length !== n || iid.length !== n) {
    throw bad(`expected ${String(n)} samples (FID and IID each), found ${Array.isArray(iid) ? iid.length : 'none'}`);
  }
  const entries = new Map(header.arrays.map((a) => [a.name, a]));
  const array = (name: string, rows: number, cols?: number): Float64Array => {
    const e = entries.get(name);
    const want = cols === undefined ? [rows] : [rows, cols];
    if (e === undefined || e.shape.length !== want.length || e.shape.some((d, i) => d !== want[i])) {
      throw bad(`expected array '${name}' of shape [${want.join(', ')}], found ${e === undefined ? 'none' : `[${e.shape.join(', ')}]`}`);
    }
    const length = shapeLength(want);
    if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset % 8 !== 0 || e.offset + 8 * length > dataBytes) {
      throw bad(`expected array '${name}' at an 8-aligned offset within the ${dataBytes} bytes of arrays, found offset ${String(e.offset)}`);
    }
    return readFloat64(bytes, dataStart + e.offset, length);
  };
  const dims = (name: string): number[] => {
    const e = entries.get(name);
    if (e === undefined) throw bad(`expected an array '${name}', found none`);
    return e.shape;
  };
  const matrix = (name: string, rows: number, cols: number): Matrix => new Matrix(rows, cols, array(name, rows, cols));
  const p = header.parameters ?? {};
  const number = (v: unknown, what: string): number => {
    if (typeof v === 'number') return v;
    if (v === 'NaN' || v === 'Infinity' || v === '-Infinity' || v === '-0') return Number(v);
    throw bad(`expected a number for ${what}, found ${JSON.stringify(v)}`);
  };
  const numbers = (v: unknown, what: string): Float64Array => {
    if (!Array.isArray(v)) throw bad(`expected an array of numbers for ${what}, found ${JSON.stringify(v)}`);
    return Float64Array.from(v, (x, i) => number(x, `${what}[${i}]`));
  };
  const k = dims('covariates')[1] ?? Number.NaN;
  let model: NullModel;
  if (header.kind === 'kinship') {
    const fit = (v: unknown, method: 'reml' | 'ml'): LambdaFit | undefined => {
      if (v === null || v === undefined) return undefined;
      const f = v as Record<string, unknown>;
      if (f.method !== method) throw bad(`expected the ${method} fit to have method '${method}', found '${String(f.method)}'`);
      const atBound = f.atBound === 'lower' || f.atBound === 'upper' ? f.atBound : null;
      return {
        method,
        lambda: number(f.lambda, `${method}.lambda`),
        logLik: number(f.logLik, `${method}.logLik`),
        sigmaE2: number(f.sigmaE2, `${method}.sigmaE2`),
        sigmaG2: number(f.sigmaG2, `${method}.sigmaG2`),
        beta: numbers(f.beta, `${method}.beta`),
        iterations: number(f.iterations, `${method}.iterations`),
        atBound,
      };
    };
    const method = p.method === 'ml' ? 'ml' : 'reml';
    const values = array('eigenvalues', n);
    model = kinshipNullModel({
      y: array('y', n),
      covariates: matrix('covariates', n, k),
      eigen: { values, vectors: matrix('eigenvectors', n, n) },
      centered: p.centered === true,
      rotated: { eigenvalues: values.map((s) => Math.max(s, 0)), uty: array('uty', n), utw: matrix('utw', n, k) },
      method,
      reml: fit(p.reml, 'reml'),
      ml: fit(p.ml, 'ml'),
      backend,
    });
  } else if (header.kind === 'lowrank') {
    const rank = dims('s')[0] ?? Number.NaN;
    model = lowRankNullModel({
      y: array('y', n),
      covariates: matrix('covariates', n, k),
      factor: { u: matrix('u', n, rank), s: array('s', rank) },
      cr: number(p.cr, 'cr'),
      cn: number(p.cn, 'cn'),
      lml: number(p.lml, 'lml'),
      beta: numbers(p.beta, 'beta'),
      atBoundary: p.atBoundary === true,
      iterations: number(p.iterations, 'iterations'),
      backend,
    });
  } else if (header.kind === 'kron-sum') {
    const traits = dims('y')[1] ?? Number.NaN;
    const w = dims('traitDesign')[1] ?? Number.NaN;
    const h = (traits * (traits + 1)) / 2;
    model = kronSumNullModel({
      y: matrix('y', n, traits),
      covariates: matrix('covariates', n, k),
      traitDesign: matrix('traitDesign', traits, w),
      eigen: { values: array('eigenvalues', n), vectors: matrix('eigenvectors', n, n) },
      cg: matrix('cg', traits, traits),
      cn: matrix('cn', traits, traits),
      cgParams: array('cgParams', h),
      cnParams: array('cnParams', h),
      lml: number(p.lml, 'lml'),
      beta: matrix('beta', k, w),
      gradNorm: number(p.gradNorm, 'gradNorm'),
      iterations: number(p.iterations, 'iterations'),
      evaluations: number(p.evaluations, 'evaluations'),
      converged: p.converged === true,
      reason: String(p.reason) as LbfgsStop | 'newton',
      backend,
    });
  } else {
    throw bad(`expected kind 'kinship', 'lowrank' or 'kron-sum', found '${String(header.kind)}'`);
  }
  return {
    model,
    formatVersion: header.formatVersion,
    samples: { fid: fid.map(String), iid: iid.map(String) },
    traits: (header.traits ?? []).map(String),
    covariates: (header.covariates ?? []).map(String),
    fingerprint: { ...(header.fingerprint ?? {}) },
    fittedOn: String(header.backend),
  };
}

/**
 * Checks that a null model's samples are the scan's, in the same order
 * (FID and IID both), and throws a `SampleMismatchError` naming the first
 * position where they differ, the null model's sample there and the scan's
 * (also when the counts differ: the first position past the shorter list).
 * `source` names the model in the message (its file).
 */
export function checkNullModelSamples(
  saved: { readonly samples: { readonly fid: readonly string[]; readonly iid: readonly string[] } },
  scan: { readonly fid: readonly string[]; readonly iid: readonly string[] },
  source = 'null model',
): void {
  const a = saved.samples;
  const nm = a.iid.length;
  const ns = scan.iid.length;
  const id = (s: { readonly fid: readonly string[]; readonly iid: readonly string[] }, i: number): string | undefined => {
    const iid = s.iid[i];
    const fid = s.fid[i];
    if (iid === undefined) return undefined;
    return fid === undefined || fid === '' ? iid : `${fid} ${iid}`;
  };
  for (let i = 0; i < Math.max(nm, ns); i++) {
    if (i >= nm || i >= ns || a.iid[i] !== scan.iid[i] || (a.fid[i] ?? '') !== (scan.fid[i] ?? '')) {
      throw new SampleMismatchError(source, i, id(a, i), id(scan, i), { model: nm, scan: ns });
    }
  }
}
