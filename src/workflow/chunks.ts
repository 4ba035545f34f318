// Deterministic chunks of a scan (`lmmkit gwas|mtgwas --chunk I/N`): the
// plan of which variants chunk I tests, the part's manifest (what inputs and
// options it was computed from, its range, its files and their checksums).
// `runMerge` (merge.ts) checks the parts against each other and joins them.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeAtomically } from '../data/atomic.js';
import { defaultBatchSize } from '../data/genotypes.js';
import type { VariantSelection } from '../data/variants.js';
import { bad } from './options.js';

/** Chunk `index` (1-based) of `count`. */
export interface ChunkSpec {
  index: number;
  count: number;
}

/** Parses `I/N` (1 <= I <= N), else a BAD_ARGUMENT. */
export function parseChunk(text: string): ChunkSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const chunk = m === null ? undefined : { index: Number(m[1]), count: Number(m[2]) };
  if (chunk === undefined) throw bad(`--chunk: expected I/N (chunk I of N, e.g. 3/50), found '${text}'`);
  checkChunk(chunk);
  return chunk;
}

/** Checks a chunk given to a workflow (BAD_ARGUMENT when not 1 <= index <= count). */
export function checkChunk(c: ChunkSpec): void {
  if (!Number.isSafeInteger(c.count) || c.count < 1) throw bad(`--chunk: expected a chunk count N >= 1, found ${c.count}`);
  if (!Number.isSafeInteger(c.index) || c.index < 1 || c.index > c.count) throw bad(`--chunk: expected I in 1..${c.count}, found ${c.index}`);
}

/** The output prefix of chunk I of N: PREFIX.part-000I-of-000N (4 digits at least, so that a listing sorts in chunk order). */
export function partPrefix(out: string, c: ChunkSpec): string {
  const w = Math.max(4, String(c.count).length);
  return `${out}.part-${String(c.index).padStart(w, '0')}-of-${String(c.count).padStart(w, '0')}`;
}

/** One run of a scan (the whole selection, or a chrX / chrY / MT run of it) as its variant indices and the samples it is read for. */
export interface ScanRun {
  indices: Int32Array;
  samples: number;
}

/** What a chunk scans of one run: its variants, those ahead of it in the run (for a step's partial block), whether it ends the run. */
export interface ChunkScan {
  run: number;
  select: VariantSelection;
  before: VariantSelection | undefined;
  last: boolean;
}

/**
 * The plan of chunk `c` over the runs of a scan, from the selection alone
 * (every machine computes the same): each run is cut into the batches the
 * unsplit scan reads (`batchSize`, else the reader's default for the run's
 * samples), and chunk I takes batches [floor(B (I-1) / N), floor(B I / N))
 * of the B batches of all runs in order. Cutting only between batches keeps
 * each batch, hence each product the scan computes, that of the unsplit
 * scan, bit for bit. `span` is the chunk's [first, end) ordinal among the
 * selected variants of all runs (what `merge` checks for gaps and overlaps);
 * a chunk can be empty (more chunks than batches).
 */
export function planChunk(
  runs: readonly ScanRun[],
  batchSize: number | undefined,
  c: ChunkSpec,
): { scans: ChunkScan[]; span: [number, number]; total: number } {
  const sizes = runs.map((r) => batchSize ?? defaultBatchSize(r.samples));
  const batches = runs.map((r, k) => Math.ceil(r.indices.length / sizes[k]!));
  const total = batches.reduce((a, b) => a + b, 0);
  const b0 = Math.floor((total * (c.index - 1)) / c.count);
  const b1 = Math.floor((total * c.index) / c.count);
  const scans: ChunkScan[] = [];
  let batchAt = 0;
  for (let k = 0; k < runs.length; k++) {
    const r = runs[k]!;
    const lo = Math.max(b0, batchAt) - batchAt;
    const hi = Math.min(b1, batchAt + batches[k]!) - batchAt;
    if (lo < hi) {
      const from = lo * sizes[k]!;
      const to = Math.min(r.indices.length, hi * sizes[k]!);
      scans.push({
        run: k,
        select: { indices: r.indices.subarray(from, to) },
        before: from === 0 ? undefined : { indices: r.indices.subarray(0, from) },
        last: to === r.indices.length,
      });
    }
    batchAt += batches[k]!;
  }
  // The ordinal among all selected variants where global batch b starts.
  const ordinalAt = (b: number): number => {
    let at = 0;
    let seen = 0;
    for (let k = 0; k < runs.length; k++) {
      if (b < seen + batches[k]!) return at + (b - seen) * sizes[k]!;
      seen += batches[k]!;
      at += runs[k]!.indices.length;
    }
    return at;
  };
  return { scans, span: [ordinalAt(b0), ordinalAt(b1)], total: ordinalAt(total) };
}

/** How a file is identified in a manifest: its size and a sha256 (of the whole file, or of its first and last MiB for a large one). */
export interface FileFingerprint {
  role: string;
  name: string;
  bytes: number;
  sha256: string;
  /** 'whole' or 'ends' (size + first and last MiB: a 100 GB BGEN is not read again by each of 50 chunks). */
  hashed: 'whole' | 'ends';
}

/** Files up to this size are hashed whole. */
const WHOLE_HASH_LIMIT = 64 * 1024 * 1024;
const END_BYTES = 1024 * 1024;

/** sha256 of a whole file, streamed (hex). */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The fingerprint of an input: sha256 of the file when it is at most 64 MiB,
 * else of its size, first MiB and last MiB (a cheap check that the chunks
 * read the same genotype file; the modification time is left out, since
 * copies on different machines differ there).
 */
export async function fingerprint(role: string, path: string): Promise<FileFingerprint> {
  const { size } = await stat(path);
  if (size <= WHOLE_HASH_LIMIT) return { role, name: basename(path), bytes: size, sha256: await sha256File(path), hashed: 'whole' };
  const h = createHash('sha256');
  h.update(`${size}\n`);
  const fd = await open(path, 'r');
  try {
    for (const at of [0, size - END_BYTES]) {
      const buf = Buffer.alloc(END_BYTES);
      const { bytesRead } = await fd.read(buf, 0, END_BYTES, at);
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fd.close();
  }
  return { role, name: basename(path), bytes: size, sha256: h.digest('hex'), hashed: 'ends' };
}

/** How a part's inputs are fingerprinted: `fingerprint`, or a cache of it. */
export type Fingerprinter = (role: string, path: string) => Promise<FileFingerprint>;

/**
 * A `fingerprint` that remembers its results, keyed by path, size,
 * modification and change times and inode (a file rewritten in place is
 * hashed anew): a cluster worker scanning chunk after chunk of one run
 * hashes the 50 MB .bed and the null model once, not once per chunk (about
 * 0.12 s a chunk at N = 2000, 100 000 variants). The fingerprints, hence
 * the manifests, are those of `fingerprint`. Keeps the last `keep` files.
 */
export function cachedFingerprinter(keep = 16): Fingerprinter {
  const cache = new Map<string, Promise<FileFingerprint>>();
  return async (role, path) => {
    const st = await stat(path);
    const key = [path, st.size, st.mtimeMs, st.ctimeMs, st.ino, st.dev].join('\u0000');
    let p = cache.get(key);
    if (p === undefined) {
      p = fingerprint(role, path);
      cache.set(key, p);
      // A failed read is not remembered: the next part tries again.
      p.catch(() => cache.delete(key));
      while (cache.size > keep) cache.delete(cache.keys().next().value as string);
    }
    // The role is the caller's: the same file may be the genotypes of one part and another role elsewhere.
    return { ...(await p), role };
  };
}

/** One result table of a part: where it goes in the merged output. */
export interface PartTable {
  /** The trait (gwas), or null (mtgwas: one table). */
  trait: string | null;
  format: string;
  /** The part's file name, and the final name's suffix after the merge's PREFIX (e.g. `.height.tsv.gz`). */
  file: string;
  suffix: string;
  rows: number;
  /** With --gz: the rows' sort keys (chrom TAB pos per row), since the part's table is written uncompressed and merge sorts. */
  keys?: string;
  /** GWAS-SSF's metadata file of the part (merge rewrites its data file name, md5 and is_sorted). */
  meta?: string;
  /** With --gz, whether the final table gets a tabix index. */
  index?: boolean;
}

/** The manifest of a part: PREFIX.part-I-of-N.manifest.json. */
export interface PartManifest {
  lmmkitPart: 1;
  command: 'gwas' | 'mtgwas' | 'varcomp';
  chunk: ChunkSpec;
  /** The chunk's [first, end) ordinal among the selected variants (per trait for gwas: traits may read different batch sizes). */
  spans: { key: string; span: [number, number]; total: number }[];
  /** The inputs' fingerprints and the options that shape the output (paths of inputs left out: the fingerprints stand for them). */
  inputs: FileFingerprint[];
  options: Record<string, unknown>;
  /** Draw the plots at merge (--plot). */
  plot: boolean;
  gz: boolean;
  report: string;
  tables: PartTable[];
  /** Every file of the part (report and tables included), with its sha256. */
  files: { name: string; bytes: number; sha256: string }[];
}

/** Option keys that do not shape the output (where it goes, how it is logged, threaded or cached). */
const NOT_OUTPUT_OPTIONS = new Set(['out', 'run', 'chunk', 'threads', 'progress', 'log', 'warn', 'tsvPath', 'jsonPath', 'parsedFiles']);

/**
 * The options of a chunked run as the manifest records them: every option
 * that shapes the output, input paths replaced by the inputs' fingerprints
 * (so that machines mounting the data at other paths still agree).
 */
export function outputOptions(opts: object, inputPaths: ReadonlySet<string>): Record<string, unknown> {
  const o: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(opts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (NOT_OUTPUT_OPTIONS.has(k) || v === undefined || typeof v === 'function') continue;
    // varcomp's components come as NAME=FILE: the file is an input, the name shapes the output.
    const path = (x: unknown): unknown =>
      typeof x !== 'string' ? x : inputPaths.has(x) ? '(input)' : inputPaths.has(x.slice(x.indexOf('=') + 1)) ? `${x.slice(0, x.indexOf('='))}=(input)` : x;
    o[k] = Array.isArray(v) ? v.map(path) : path(v);
  }
  return o;
}

/**
 * Writes a part's manifest (last, atomically: a part without one is not
 * done): the fingerprints, options, span, tables and the sha256 of each of
 * the part's files, read back from disk after they were committed.
 */
export async function writePartManifest(
  prefix: string,
  m: Omit<PartManifest, 'lmmkitPart' | 'files' | 'report'> & { report: string },
  files: readonly string[],
): Promise<string> {
  const listed: PartManifest['files'] = [];
  for (const f of files) {
    const buf = await readFile(f);
    listed.push({ name: basename(f), bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex') });
  }
  const manifest: PartManifest = { lmmkitPart: 1, ...m, report: basename(m.report), files: listed };
  const path = `${prefix}.manifest.json`;
  await writeAtomically(path, async (append) => append(`${JSON.stringify(manifest, null, 2)}\n`));
  return path;
}

/** The fingerprints of a run's inputs (absent ones skipped), in the order given. */
export async function inputFingerprints(
  inputs: readonly [role: string, path: string | undefined][],
  fp: Fingerprinter = fingerprint,
): Promise<FileFingerprint[]> {
  const out: FileFingerprint[] = [];
  for (const [role, path] of inputs) if (path !== undefined) out.push(await fp(role, path));
  return out;
}

/**
 * The output prefix of a run given `--chunk` (checked; PREFIX.part-I-of-N),
 * or `out` itself without one. `named` lists options that name an output
 * file apart from --out, which a chunk cannot honour (its files are named
 * after the part).
 */
export function chunkOutPrefix(command: string, out: string, chunk: ChunkSpec | undefined, named: readonly (string | undefined)[] = []): string {
  if (chunk === undefined) return out;
  checkChunk(chunk);
  if (named.some((n) => n !== undefined)) throw bad(`${command} --chunk: the parts are named after --out only`);
  return partPrefix(out, chunk);
}

/**
 * Scans chunk `c` of a scan made of `runs` (each with what it is scanned
 * under: its null model and samples), calling `scan` for each piece the
 * plan gives, in order; returns the chunk's span among the selected
 * variants for the manifest. Shared by gwas, mtgwas and varcomp so that
 * every command cuts its runs the same way (`planChunk`).
 */
export async function scanChunk<U extends { samples: ArrayLike<number> }>(
  runs: readonly { indices: Int32Array }[],
  unders: readonly U[],
  batchSize: number | undefined,
  c: ChunkSpec,
  scan: (under: U, piece: ChunkScan) => Promise<void>,
): Promise<{ span: [number, number]; total: number }> {
  const plan = planChunk(
    runs.map((r, k) => ({ indices: r.indices, samples: unders[k]!.samples.length })),
    batchSize,
    c,
  );
  for (const sc of plan.scans) await scan(unders[sc.run]!, sc);
  return { span: plan.span, total: plan.total };
}

/**
 * Writes the manifest of a finished part: fingerprints the inputs (role and
 * path; absent ones skipped), records the options that shape the output
 * (input paths replaced by '(input)'), and lists the report and every
 * table file (with its keys and metadata companions) of the part's folder.
 * `fingerprinter` (default `fingerprint`) lets a worker reuse its hashes.
 */
export async function writeScanPart(
  partOut: string,
  m: Omit<PartManifest, 'lmmkitPart' | 'files' | 'inputs' | 'options'> & { inputs: readonly [string, string | undefined][]; options: object },
  fingerprinter: Fingerprinter = fingerprint,
): Promise<string> {
  const { inputs, options, ...rest } = m;
  const paths = new Set(inputs.map(([, p]) => p).filter((p): p is string => p !== undefined));
  const dir = dirname(partOut);
  return writePartManifest(partOut, { ...rest, inputs: await inputFingerprints(inputs, fingerprinter), options: outputOptions(options, paths) }, [
    m.report,
    ...m.tables.flatMap((t) => [t.file, ...(t.keys === undefined ? [] : [t.keys]), ...(t.meta === undefined ? [] : [t.meta])].map((f) => join(dir, f))),
  ]);
}
