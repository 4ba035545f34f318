// limix-lmm's geno_sugar preprocessing as pure steps over a batch. Its
// filters follow limix's strict rule (kept: missing fraction < max, maf >
// min; a variant exactly at a threshold is dropped), unlike the inclusive
// rule of the filter lmmkit's scans apply (variant-filter.ts,
// `filterInclusive`: missing <= max, maf >= min, as GEMMA).
import { Matrix } from '../linalg/matrix.js';
import type { GenotypeBatch } from './genotypes.js';
import { takeVariants } from './variants.js';

/** Per-variant dosage mean and population sd (ddof 0), one entry per batch column. */
export interface DosageStats {
  readonly mean: Float64Array;
  readonly sd: Float64Array;
}

/**
 * A genotype batch after preprocessing. `stats` holds each variant's dosage
 * mean and sd as `standardize` found them (after imputation, before
 * standardising: limix's `mean_dosage` / `std_dosage`); filters applied after
 * `standardize` keep it aligned with the columns.
 */
export interface PreprocessedBatch extends GenotypeBatch {
  readonly stats?: DosageStats;
}

/**
 * One preprocessing step of geno_sugar (limix's `geno_sugar.preprocess`):
 * a pure function from a batch to a new batch; the input is not modified.
 */
export type PreprocessStep = (batch: PreprocessedBatch) => PreprocessedBatch;

/**
 * geno_sugar `filter_by_missing(max_miss)`, limix's strict rule: keeps the
 * variants whose fraction of missing (NaN) dosages is strictly below
 * `maxMiss` (`isnan(G).mean(0) < max_miss`; a fraction equal to `maxMiss`
 * is dropped, where the scans' inclusive `filterInclusive` keeps it).
 */
export function filterByMissing(maxMiss: number): PreprocessStep {
  return (batch) => {
    const { rows, cols, data } = batch.dosages;
    const keep = new Uint8Array(cols);
    for (let j = 0; j < cols; j++) {
      let missing = 0;
      for (let i = j * rows; i < (j + 1) * rows; i++) if (Number.isNaN(data[i]!)) missing++;
      keep[j] = missing / rows < maxMiss ? 1 : 0;
    }
    return keepColumns(batch, keep);
  };
}

/**
 * geno_sugar `impute(SimpleImputer(strategy='mean'))`: replaces each NaN by
 * the mean of its column's observed dosages. A column with no observed
 * dosage is dropped, as scikit-learn's SimpleImputer drops it (limix then
 * misaligns G and bim; here variants and indices are dropped with it).
 */
export function imputeMean(): PreprocessStep {
  return (batch) => {
    const { rows, cols } = batch.dosages;
    const data = batch.dosages.data.slice();
    const keep = new Uint8Array(cols);
    for (let j = 0; j < cols; j++) {
      const col = data.subarray(j * rows, (j + 1) * rows);
      const m = observedMean(col);
      keep[j] = Number.isNaN(m) ? 0 : 1;
      for (let i = 0; i < rows; i++) if (Number.isNaN(col[i]!)) col[i] = m;
    }
    // The reader's counts are of the dosages before imputing.
    return keepColumns({ ...batch, dosages: new Matrix(rows, cols, data), counts: undefined }, keep);
  };
}

/**
 * geno_sugar `filter_by_maf(min_maf)`, limix's strict rule: keeps the
 * variants with `maf > minMaf` (a maf equal to `minMaf` is dropped, where
 * the scans' inclusive `filterInclusive` keeps it), where
 * `maf = 0.5 * mean dosage`, folded to `1 - maf` when above 0.5. The mean
 * is over the observed dosages: after
 * `imputeMean` that is limix's `G.mean(0)` exactly; before it limix gets NaN
 * and drops every variant with a missing dosage, this keeps it on its
 * observed frequency.
 */
export function filterByMaf(minMaf: number): PreprocessStep {
  return (batch) => {
    const { rows, cols, data } = batch.dosages;
    const keep = new Uint8Array(cols);
    for (let j = 0; j < cols; j++) {
      const maf = 0.5 * observedMean(data.subarray(j * rows, (j + 1) * rows));
      keep[j] = Math.min(maf, 1 - maf) > minMaf ? 1 : 0;
    }
    return keepColumns(batch, keep);
  };
}

/**
 * geno_sugar `standardize()`: `(G - G.mean(0)) / G.std(0)` per variant, with
 * the population sd (ddof 0), and records the mean and sd used in `stats`.
 *
 * A constant column (zero variance) becomes all zeros with sd 0 recorded,
 * where limix divides 0 by 0 and gets NaN: the batch keeps its shape and
 * downstream sums stay finite; dropping variants is the filters' job
 * (`filterByMaf` removes monomorphic ones). NaN dosages (no `imputeMean`
 * before) stay NaN and the others are standardised on the observed values.
 */
export function standardize(): PreprocessStep {
  return (batch) => {
    const stats = dosageStats(batch.dosages);
    const { rows, cols } = batch.dosages;
    const data = batch.dosages.data.slice();
    for (let j = 0; j < cols; j++) {
      const m = stats.mean[j]!;
      const s = stats.sd[j]!;
      for (let i = j * rows; i < (j + 1) * rows; i++) {
        if (s !== 0) data[i] = (data[i]! - m) / s;
        else if (!Number.isNaN(data[i]!)) data[i] = 0;
      }
    }
    return { ...batch, dosages: new Matrix(rows, cols, data), stats, counts: undefined };
  };
}

/**
 * geno_sugar `compose(func_list)`: applies the steps in list order
 * (the first step sees the raw batch).
 */
export function compose(steps: readonly PreprocessStep[]): PreprocessStep {
  return (batch) => steps.reduce((b, step) => step(b), batch);
}

/**
 * Each column's mean and population sd (ddof 0) over its observed (non-NaN)
 * values, two-pass as numpy's `mean(0)` / `std(0)`; NaN for a column with
 * no observed value. A column whose observed values are all equal gets sd
 * exactly 0 (rounding in the mean cannot make it a tiny positive number).
 */
export function dosageStats(dosages: Matrix): DosageStats {
  const { rows, cols, data } = dosages;
  const mean = new Float64Array(cols);
  const sd = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    const col = data.subarray(j * rows, (j + 1) * rows);
    const m = observedMean(col);
    let ss = 0;
    let n = 0;
    let constant = true;
    let first = Number.NaN;
    for (let i = 0; i < rows; i++) {
      const x = col[i]!;
      if (Number.isNaN(x)) continue;
      if (n === 0) first = x;
      else if (x !== first) constant = false;
      ss += (x - m) * (x - m);
      n++;
    }
    mean[j] = m;
    sd[j] = n === 0 ? Number.NaN : constant ? 0 : Math.sqrt(ss / n);
  }
  return { mean, sd };
}

/** Mean of the non-NaN values (NaN when there are none). */
function observedMean(col: Float64Array): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < col.length; i++) {
    const x = col[i]!;
    if (!Number.isNaN(x)) {
      sum += x;
      n++;
    }
  }
  return n === 0 ? Number.NaN : sum / n;
}

/** The batch restricted to the columns with `keep[j] === 1`; the input itself when all are kept (it is never modified). */
function keepColumns(batch: PreprocessedBatch, keep: Uint8Array): PreprocessedBatch {
  const idx: number[] = [];
  keep.forEach((k, j) => {
    if (k === 1) idx.push(j);
  });
  if (idx.length === keep.length) return batch;
  const { rows, data } = batch.dosages;
  const out = new Matrix(rows, idx.length);
  idx.forEach((j, k) => {
    out.data.set(data.subarray(j * rows, (j + 1) * rows), k * rows);
  });
  const stats = batch.stats === undefined ? {} : { stats: { mean: pick(batch.stats.mean, idx), sd: pick(batch.stats.sd, idx) } };
  return { dosages: out, variants: takeVariants(batch.variants, idx), indices: Int32Array.from(idx, (j) => batch.indices[j]!), ...stats };
}

function pick(xs: Float64Array, idx: readonly number[]): Float64Array {
  return Float64Array.from(idx, (j) => xs[j]!);
}

/**
 * Mean-imputes and standardises every column of `dosages` in place, the
 * fused form of `compose([imputeMean(), standardize()])` that genotype
 * readers apply with `BatchOptions.standardize`: missing dosages become 0
 * (the mean), the rest (x - mean) / sd with the population sd over all N
 * rows after imputation. A constant or all-missing column becomes zeros
 * (sd 0, mean NaN when nothing was observed). Returns the mean and sd used.
 */
export function standardizeInPlace(dosages: Matrix): DosageStats {
  const { rows, cols, data } = dosages;
  const mean = new Float64Array(cols);
  const sd = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    const col = data.subarray(j * rows, (j + 1) * rows);
    let sum = 0;
    let n = 0;
    for (let i = 0; i < rows; i++) {
      const x = col[i]!;
      if (!Number.isNaN(x)) {
        sum += x;
        n++;
      }
    }
    const m = n > 0 ? sum / n : Number.NaN;
    let ss = 0;
    for (let i = 0; i < rows; i++) {
      const x = col[i]!;
      if (!Number.isNaN(x)) ss += (x - m) * (x - m);
    }
    const s = Math.sqrt(ss / rows);
    mean[j] = m;
    sd[j] = s;
    const inv = s > 0 ? 1 / s : 0;
    for (let i = 0; i < rows; i++) {
      const x = col[i]!;
      col[i] = !Number.isNaN(x) ? (x - m) * inv : 0;
    }
  }
  return { mean, sd };
}
