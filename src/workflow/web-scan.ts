// A web job's scan split across several workers: the batches the one-worker
// scan reads (same size, same boundaries) dealt out whole, batch b to
// worker b mod k, and the results taken back in file order. Worker 0 is the
// job's own (its part scanned on the source it has open, under the fitted
// null model); the others get the null model as the bytes of the
// null-model file format, which decode to a model that scans to the same
// bytes. So every product, hence every row, is the one-worker run's, bit
// for bit. Browser-safe: the page's scan workers run `scanPart`; the tests
// run it in Node through a pool that calls it in-process.
import { defaultBatchSize, type GenotypeSource } from '../data/genotypes.js';
import type { VariantSelection } from '../data/variants.js';
import { resolveSelection } from '../data/variants.js';
import { Matrix } from '../linalg/matrix.js';
import type { SingleTraitNullModel } from '../nullmodel/null-model.js';
import { decodeNullModel, encodeNullModel } from '../nullmodel/serialize.js';
import { type GwasBatchResult, gwasScan } from '../scan/gwas.js';
import type { GenotypeFileset, JobFiles } from './web-filesets.js';
import { openFileset } from './web-genotypes.js';

/** What one scan worker is given: the genotype files, the null model, the trait's samples, the filters and its whole batches. */
export interface ScanPart {
  files: JobFiles;
  genotypes: GenotypeFileset;
  /** The null model as `encodeNullModel` writes it. */
  model: Uint8Array;
  /** The trait's samples as genotype indices, in the model's row order. */
  samples: Int32Array;
  test: 'fixed' | 'exact';
  minMaf: number;
  maxMissing: number;
  /** The one-worker scan's batch size. */
  batchSize: number;
  /** The variants of this worker's batches, in file order: cut every `batchSize`, they are those batches. */
  indices: Int32Array;
}

/** A `GwasBatchResult` as it crosses to another worker: its matrices as shapes and data (structured clone keeps no class). */
export interface WireBatch {
  variants: GwasBatchResult['variants'];
  indices: Int32Array;
  af: Float64Array;
  n: Int32Array;
  fixed?: Record<string, unknown>;
  exact?: GwasBatchResult['exact'];
}

/**
 * Workers that scan parts beside the job's own: `size` counts the job's
 * worker too (worker 0), so a pool of k runs parts 1 .. k-1. `open`, called
 * once the job has opened its genotypes, lets the workers start and open
 * the same files while the job computes the kinship and the null model;
 * `run(w, part)` scans `part` on worker w and yields its batches in order
 * (null: see `scanPart`), as they come; `close` stops them all.
 */
export interface ScanPool {
  size: number;
  open?(files: JobFiles, genotypes: GenotypeFileset): void;
  run(worker: number, part: ScanPart): AsyncIterable<WireBatch | null>;
  /** Stops every worker still running (the job calls it when it ends, whether its scan used them or not). */
  close?(): void;
}

/** The scan's batches: the selected variants cut every `size`, as the one-worker scan's reader cuts them. */
export function scanBatches(source: GenotypeSource, select: VariantSelection | undefined, samples: number): { size: number; batches: Int32Array[] } {
  const all = resolveSelection(source.variants, select, source.path);
  const size = defaultBatchSize(samples);
  const batches: Int32Array[] = [];
  for (let at = 0; at < all.length; at += size) batches.push(all.subarray(at, Math.min(all.length, at + size)));
  return { size, batches };
}

/**
 * The parts of a scan over `pool.size` workers: worker w gets batches w,
 * w + k, w + 2k, ... (at most as many workers as batches).
 */
export function dealBatches(batches: readonly Int32Array[], workers: number): Int32Array[] {
  const k = Math.max(1, Math.min(workers, batches.length));
  const parts: Int32Array[] = [];
  for (let w = 0; w < k; w++) {
    const mine = batches.filter((_, b) => b % k === w);
    const out = new Int32Array(mine.reduce((a, b) => a + b.length, 0));
    let at = 0;
    for (const b of mine) {
      out.set(b, at);
      at += b.length;
    }
    parts.push(out);
  }
  return parts;
}

/** The null model's bytes for the scan workers (`samples`: its rows as FID and IID; `covariates`: its covariate names). */
export function nullModelBytes(
  model: SingleTraitNullModel,
  samples: { fid: string[]; iid: string[] },
  trait: string,
  covariates: readonly string[],
): Uint8Array {
  return encodeNullModel(model, { samples, traits: [trait], covariates });
}

/**
 * Scans one part (see `ScanPart`) in a scan worker, on `opened` (the
 * part's fileset, opened ahead) or the fileset opened here: yields each
 * batch's results, ready to post, or null for a batch whose variants the
 * filters all dropped (see `partBatches`).
 */
export async function* scanPart(part: ScanPart, opened?: Promise<GenotypeSource>): AsyncGenerator<WireBatch | null> {
  const model = decodeNullModel(part.model).model as SingleTraitNullModel;
  const source = await (opened ?? openFileset(part.genotypes, part.files));
  try {
    for await (const batch of partBatches(source, model, part)) yield batch === null ? null : toWire(batch);
  } finally {
    await source.close();
  }
}

/**
 * The batches of `part` scanned on `source` under `model`, as the
 * one-worker scan scans them, one value per batch of the part: its
 * results, or null when the filters dropped all its variants (the scan
 * yields nothing for such a batch).
 */
export async function* partBatches(source: GenotypeSource, model: SingleTraitNullModel, part: ScanPart): AsyncGenerator<GwasBatchResult | null> {
  const batches = Math.ceil(part.indices.length / part.batchSize);
  let next = 0;
  let at = 0;
  for await (const batch of gwasScan({
    source,
    samples: part.samples,
    null: model,
    test: part.test,
    select: { indices: part.indices },
    batchSize: part.batchSize,
    minMaf: part.minMaf,
    maxMissing: part.maxMissing,
  })) {
    // The batch this result is of: where its first variant lies in the part.
    while (part.indices[at] !== batch.indices[0]) at++;
    for (const of = Math.floor(at / part.batchSize); next < of; next++) yield null;
    yield batch;
    next++;
  }
  for (; next < batches; next++) yield null;
}

/** Copies of a batch's arrays (a view would carry its whole buffer across), its matrices as shape and data. */
export function toWire(b: GwasBatchResult): WireBatch {
  const out: WireBatch = { variants: b.variants, indices: b.indices.slice(), af: b.af.slice(), n: b.n.slice() };
  if (b.fixed !== undefined) {
    out.fixed = Object.fromEntries(
      Object.entries(b.fixed).map(([k, v]) => [
        k,
        v instanceof Matrix ? { matrix: [v.rows, v.cols], data: v.data.slice() } : ArrayBuffer.isView(v) ? (v as Float64Array).slice() : v,
      ]),
    );
  }
  if (b.exact !== undefined) out.exact = b.exact;
  return out;
}

/** The batch `toWire` sent. */
export function fromWire(w: WireBatch): GwasBatchResult {
  const out: GwasBatchResult = { variants: w.variants, indices: w.indices, af: w.af, n: w.n };
  if (w.fixed !== undefined) {
    out.fixed = Object.fromEntries(
      Object.entries(w.fixed).map(([k, v]) => {
        const m = v as { matrix?: [number, number]; data?: Float64Array };
        return [k, m !== null && typeof m === 'object' && m.matrix !== undefined ? new Matrix(m.matrix[0], m.matrix[1], m.data) : v];
      }),
    ) as unknown as GwasBatchResult['fixed'];
  }
  if (w.exact !== undefined) out.exact = w.exact;
  return out;
}

/**
 * The batches of a split scan in file order: part 0 scanned here on
 * `source` under `model`, the others on the pool at once, each worker's
 * results buffered until their turn (batch b is worker b mod k's next; a
 * batch the filters emptied yields nothing, as in the one-worker scan).
 * `onBatch(b)` is called as batch b is taken. A worker's error is thrown
 * when its turn comes; the others are then stopped by `return`ing their
 * iterators.
 */
export async function* pooledBatches(
  source: GenotypeSource,
  model: SingleTraitNullModel,
  pool: ScanPool,
  parts: readonly ScanPart[],
  batchCount: number,
  onBatch: (b: number) => void = () => {},
): AsyncGenerator<GwasBatchResult> {
  const remote = async function* (w: number): AsyncGenerator<GwasBatchResult | null> {
    for await (const b of pool.run(w, parts[w]!)) yield b === null ? null : fromWire(b);
  };
  const its = parts.map((p, w) => (w === 0 ? partBatches(source, model, p) : remote(w)));
  try {
    for (let b = 0; b < batchCount; b++) {
      const r = await its[b % parts.length]!.next();
      if (r.done === true) throw new Error(`scan worker ${(b % parts.length) + 1} ended before its batch ${b + 1} of ${batchCount}`);
      onBatch(b);
      if (r.value !== null) yield r.value;
    }
  } finally {
    await Promise.all(its.map((it) => it.return(null)));
  }
}
