// The peers the benches run on the same data in the same run: limix-lmm +
// limix-core (Python, through bench/peers/limix_peer.py) and MM4LMM (R,
// through bench/peers/mm4lmm_peer.R), set up by scripts/setup-peers.sh and
// found through LMMKIT_PYTHON, LMMKIT_LIMIX_PATH and LMMKIT_MM4LMM_LIB.
// Data travel as raw little-endian column-major files (lmmkit's Matrix
// layout) in a temporary directory; each peer prints one JSON line of its
// own timings.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Matrix } from '../src/linalg/matrix.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PEERS = join(REPO, 'bench', 'peers');
const SETUP_HINT = '(see scripts/setup-peers.sh)';

/** A peer that is set up, or the line that says why not. */
export type PeerStatus = { ok: true; label: string } | { ok: false; line: string };

/** A raw array file the limix driver reads: rows x cols, column-major, little-endian. */
export interface RawArray {
  path: string;
  rows: number;
  cols: number;
  dtype: 'f8' | 'f4';
}

/**
 * Writes `m` (a Matrix, or a vector as one column) to `path` as raw
 * little-endian float64 (or float32 with `f32`), column-major, in chunks of
 * at most 2^20 values so that no second copy of a large matrix is made.
 */
export function writeRaw(path: string, m: Matrix | Float64Array, f32 = false): RawArray {
  const data = m instanceof Float64Array ? m : m.data;
  const rows = m instanceof Float64Array ? m.length : m.rows;
  const cols = m instanceof Float64Array ? 1 : m.cols;
  const fd = openSync(path, 'w');
  try {
    const chunk = 1 << 20;
    for (let i = 0; i < rows * cols; i += chunk) {
      const part = data.subarray(i, Math.min(rows * cols, i + chunk));
      const out = f32 ? Float32Array.from(part) : part;
      writeSync(fd, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    }
  } finally {
    closeSync(fd);
  }
  return { path, rows, cols, dtype: f32 ? 'f4' : 'f8' };
}

/** A raw little-endian float64 file a peer wrote (p-values, Wald statistics). */
export function readRawF64(path: string): Float64Array {
  const b = readFileSync(path);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** limix-lmm + limix-core: set up when LMMKIT_LIMIX_PATH names their source trees. */
export function limixStatus(): PeerStatus {
  const path = process.env.LMMKIT_LIMIX_PATH;
  if (!path) return { ok: false, line: `limix-lmm: not set up ${SETUP_HINT}` };
  const python = process.env.LMMKIT_PYTHON || '/usr/bin/python3';
  if (!existsSync(python)) return { ok: false, line: `limix-lmm: ${python} not found ${SETUP_HINT}` };
  return { ok: true, label: 'limix-lmm 0.1.2' };
}

/** MM4LMM: set up when LMMKIT_MM4LMM_LIB names the R library it is installed in. */
export function mm4lmmStatus(): PeerStatus {
  const lib = process.env.LMMKIT_MM4LMM_LIB;
  if (!lib) return { ok: false, line: `MM4LMM: not set up ${SETUP_HINT}` };
  if (!existsSync(join(lib, 'MM4LMM'))) return { ok: false, line: `MM4LMM: not in ${lib} ${SETUP_HINT}` };
  return { ok: true, label: 'MM4LMM 3.0.3' };
}

/** The last line of a failed child's output, for a one-line reason. */
function failure(what: string, r: ReturnType<typeof spawnSync>): string {
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n');
  return `${what} failed (exit ${r.status ?? r.signal}): ${text[text.length - 1] ?? ''}`;
}

/**
 * Runs one job of bench/peers/limix_peer.py (see its doc) with `spec`
 * written to `dir`/limix-JOB.json; returns the driver's JSON result, or a
 * one-line reason when it failed.
 */
export function runLimix(dir: string, job: string, spec: Record<string, unknown>): Record<string, unknown> | string {
  const python = process.env.LMMKIT_PYTHON || '/usr/bin/python3';
  const specPath = join(dir, `limix-${job}.json`);
  writeFileSync(specPath, JSON.stringify({ job, out: dir, reps: 1, ...spec }));
  const r = spawnSync(python, [join(PEERS, 'limix_peer.py'), specPath], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, PYTHONPATH: [process.env.LMMKIT_LIMIX_PATH, process.env.PYTHONPATH].filter(Boolean).join(':') },
  });
  if (r.status !== 0) return failure(`limix ${job}`, r);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as Record<string, unknown>;
}

/**
 * Runs one job of bench/peers/mm4lmm_peer.R (see its doc) on the files in
 * `dir`; returns the driver's JSON result, or a one-line reason.
 */
export function runMm4lmm(dir: string, job: 'gwas' | 'three', n: number, m?: number): Record<string, unknown> | string {
  const args = [join(PEERS, 'mm4lmm_peer.R'), process.env.LMMKIT_MM4LMM_LIB!, job, dir, String(n), ...(m === undefined ? [] : [String(m)])];
  const r = spawnSync('Rscript', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) return failure(`MM4LMM ${job}`, r);
  const line = r.stdout.split('\n').find((l) => l.startsWith('LMMKIT_PEER '));
  if (line === undefined) return `MM4LMM ${job}: no result line in its output`;
  return JSON.parse(line.slice('LMMKIT_PEER '.length)) as Record<string, unknown>;
}

/**
 * How far two sets of p-values of the same tests agree: the largest
 * |log10 p1 - log10 p2| / max(1, -log10 p2) over finite pairs, as a short phrase.
 */
export function pvAgreement(log10p: ArrayLike<number>, pv: ArrayLike<number>): string {
  if (log10p.length !== pv.length) return `lengths differ (${log10p.length} vs ${pv.length})`;
  let worst = 0;
  let shared = 0;
  for (let i = 0; i < pv.length; i++) {
    const theirs = Math.log10(pv[i]!);
    if (!Number.isFinite(theirs) || !Number.isFinite(log10p[i]!)) continue;
    shared++;
    worst = Math.max(worst, Math.abs(log10p[i]! - theirs) / Math.max(1, -theirs));
  }
  return `${shared} p-values, max |diff log10 p| / max(1, -log10 p) = ${worst.toExponential(2)}`;
}
