import { ArgumentError, InputError, LmmkitError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import { sampleKey, type SampleTable } from './samples.js';
import type { NumericTable, TableKey } from './table.js';

/** The inputs a sample can come from. */
export type SourceName = 'genotype' | 'phenotype' | 'covariates' | 'kinship';

/**
 * The genotype samples, which fix the order of the analysis. `key: 'iid'`
 * says the format has one id per sample (`fid = iid`), so every other source
 * is matched on IID alone; default `'fid-iid'`.
 */
export interface GenotypeSamples {
  readonly file: string;
  readonly samples: SampleTable;
  readonly key?: 'fid-iid' | 'iid';
  /**
   * Genotype samples left out before matching (--keep/--remove), by index,
   * with the reason the report gives (`removed by --remove FILE`).
   */
  readonly excluded?: ReadonlyMap<number, string>;
}

/** A kinship matrix and its samples (a `KinshipTable` fits); `key` as for `GenotypeSamples`. */
export interface KinshipSource {
  readonly file: string;
  readonly ids: SampleTable;
  readonly k: Matrix;
  readonly key?: 'fid-iid' | 'iid';
}

/** What `matchSamples` matches: the genotype samples and any of the other sources. */
export interface MatchInput {
  readonly genotype: GenotypeSamples;
  readonly phenotype?: NumericTable;
  readonly covariates?: NumericTable;
  readonly kinship?: KinshipSource;
}

/** A sample left out of the analysis, with the source responsible and why. */
export interface DroppedSample {
  readonly fid: string;
  readonly iid: string;
  /** The input that caused the drop (`'genotype'` for a sample that only other files have). */
  readonly source: SourceName;
  /** E.g. `missing in pheno.txt`, `missing covariate 'age' in cov.txt`, `missing every phenotype in pheno.txt`, `duplicate id in K.csv`. */
  readonly reason: string;
}

/** How many samples (rows) a source had and how many of them were kept. */
export interface SourceCount {
  readonly source: SourceName;
  readonly file: string;
  readonly samples: number;
  readonly matched: number;
}

/**
 * The samples an analysis uses. `keep` holds indices into the genotype
 * samples, in genotype order; `index.<source>[k]` is the row of kept sample
 * k in that source. `phenotypeMask[c][k]` is 1 where phenotype column c is
 * observed for kept sample k: each trait keeps its own missingness.
 */
export interface SampleMatch {
  readonly keep: Int32Array;
  readonly index: { readonly phenotype?: Int32Array; readonly covariates?: Int32Array; readonly kinship?: Int32Array };
  /** The phenotype column names, parallel to `phenotypeMask` (empty without a phenotype). */
  readonly phenotypeColumns: readonly string[];
  readonly phenotypeMask: Uint8Array[];
  /** Every genotype sample not kept, in genotype order, then the samples only other sources have. */
  readonly dropped: DroppedSample[];
  /** One entry per given source, the genotype first. */
  readonly counts: SourceCount[];
}

/** No sample is left after matching; `match` holds the counts and the reasons. */
export class NoSamplesError extends LmmkitError {
  readonly match: SampleMatch;

  constructor(match: SampleMatch) {
    const counts = match.counts.map((c) => `${c.source} ${c.file}: ${c.samples} samples`).join('; ');
    const reasons = groupDropped(match.dropped)
      .map((g) => `${g.samples.length} ${g.reason}`)
      .join(', ');
    super('NO_SAMPLES', `no samples left after matching (${counts}); dropped: ${reasons === '' ? 'none' : reasons}`);
    this.name = 'NoSamplesError';
    this.match = match;
  }
}

// Row of each genotype sample in one source: MISSING, DUPLICATE or the row.
const MISSING = -1;
const DUPLICATE = -2;

type OtherSource = Exclude<SourceName, 'genotype'>;

interface Lookup {
  readonly source: OtherSource;
  readonly file: string;
  readonly size: number;
  readonly row: Int32Array;
  /** Rows of the source whose sample is not among the genotype samples. */
  readonly extra: number[];
  readonly ids: SampleTable;
}

/**
 * Matches the samples of the genotype file with those of the phenotype,
 * covariate and kinship sources. A genotype sample is kept when every given
 * source has it exactly once, its covariates are all observed and at least
 * one phenotype is observed; every other sample of any source is reported in
 * `dropped` with a reason, never dropped silently. Samples are matched on
 * FID+IID, on IID alone when either side has one id per sample (key
 * `'iid'`; the genotype IIDs must then be unique), and by row order for a
 * table with key `'none'` (which must have one row per genotype sample).
 * Throws `InputError` for an ambiguous genotype id or a row-count mismatch,
 * and `NoSamplesError` (code `NO_SAMPLES`) when nothing is left.
 */
export function matchSamples(input: MatchInput): SampleMatch {
  const geno = input.genotype;
  const n = geno.samples.iid.length;
  const keyOf = genotypeKeys(geno);
  const lookups: Lookup[] = [];
  const { phenotype: pheno, covariates: cov, kinship } = input;
  // A table with the source row of each genotype sample.
  let phenoAt: TableRows | undefined;
  let covAt: TableRows | undefined;
  if (pheno !== undefined) {
    const l = lookup('phenotype', pheno.file, pheno.ids, pheno.key, pheno.values.rows, geno, keyOf);
    lookups.push(l);
    phenoAt = { table: pheno, row: l.row };
  }
  if (cov !== undefined) {
    const l = lookup('covariates', cov.file, cov.ids, cov.key, cov.values.rows, geno, keyOf);
    lookups.push(l);
    covAt = { table: cov, row: l.row };
  }
  if (kinship !== undefined) {
    lookups.push(lookup('kinship', kinship.file, kinship.ids, kinship.key ?? 'fid-iid', kinship.ids.iid.length, geno, keyOf));
  }
  const keep: number[] = [];
  const dropped: DroppedSample[] = [];
  for (let i = 0; i < n; i++) {
    const left = geno.excluded?.get(i);
    const why = left !== undefined ? { source: 'genotype' as const, reason: left } : dropReason(i, lookups, covAt, phenoAt);
    if (why === undefined) keep.push(i);
    else dropped.push({ fid: geno.samples.fid[i]!, iid: geno.samples.iid[i]!, ...why });
  }
  const seen = new Set<string>();
  for (const l of lookups) {
    for (const r of l.extra) {
      const k = sampleKey(l.ids.fid[r]!, l.ids.iid[r]!);
      if (seen.has(k)) continue;
      seen.add(k);
      dropped.push({ fid: l.ids.fid[r]!, iid: l.ids.iid[r]!, source: 'genotype', reason: `missing in ${geno.file}` });
    }
  }
  const kept = Int32Array.from(keep);
  const index: { phenotype?: Int32Array; covariates?: Int32Array; kinship?: Int32Array } = {};
  for (const l of lookups) index[l.source] = kept.map((i) => l.row[i]!);
  // index.phenotype is set exactly when a phenotype table was given.
  const phenoIndex = index.phenotype;
  const phenotypeMask = pheno === undefined || phenoIndex === undefined ? [] : maskOf(pheno, phenoIndex);
  const counts: SourceCount[] = [
    { source: 'genotype', file: geno.file, samples: n, matched: kept.length },
    ...lookups.map((l) => ({ source: l.source, file: l.file, samples: l.size, matched: kept.length })),
  ];
  const match = { keep: kept, index, phenotypeColumns: pheno?.columns ?? [], phenotypeMask, dropped, counts };
  if (kept.length === 0) throw new NoSamplesError(match);
  return match;
}

// The matching key of genotype sample i, by FID+IID or by IID alone; each
// key must name one sample, or matching would be ambiguous.
function genotypeKeys(geno: GenotypeSamples): (byIid: boolean) => Map<string, number> {
  const maps = new Map<boolean, Map<string, number>>();
  return (byIid) => {
    let m = maps.get(byIid);
    if (m === undefined) {
      m = new Map();
      const { fid, iid } = geno.samples;
      for (let i = 0; i < iid.length; i++) {
        const k = byIid ? iid[i]! : sampleKey(fid[i]!, iid[i]!);
        const prev = m.get(k);
        if (prev !== undefined) {
          const what = byIid ? `IID '${iid[i]}' (samples are matched by IID alone)` : `FID+IID '${fid[i]} ${iid[i]}'`;
          throw new InputError({ file: geno.file }, `expected unique sample ids, found ${what} at samples ${prev + 1} and ${i + 1}`);
        }
        m.set(k, i);
      }
      maps.set(byIid, m);
    }
    return m;
  };
}

function lookup(
  source: OtherSource,
  file: string,
  ids: SampleTable,
  key: TableKey,
  size: number,
  geno: GenotypeSamples,
  keyOf: (byIid: boolean) => Map<string, number>,
): Lookup {
  const n = geno.samples.iid.length;
  if (key === 'none') {
    if (size !== n) {
      throw new InputError(
        { file },
        `expected one row per genotype sample (rows are matched by order), found ${size} rows for the ${n} samples of ${geno.file}`,
      );
    }
    return { source, file, size, row: Int32Array.from({ length: n }, (_, i) => i), extra: [], ids };
  }
  const byIid = key === 'iid' || geno.key === 'iid';
  const genoMap = keyOf(byIid);
  const rowOf = new Map<string, number>();
  const extra: number[] = [];
  for (let r = 0; r < size; r++) {
    const k = byIid ? ids.iid[r]! : sampleKey(ids.fid[r]!, ids.iid[r]!);
    rowOf.set(k, rowOf.has(k) ? DUPLICATE : r);
    if (!genoMap.has(k)) extra.push(r);
  }
  const row = new Int32Array(n).fill(MISSING);
  for (const [k, r] of rowOf) {
    const i = genoMap.get(k);
    if (i !== undefined) row[i] = r;
  }
  return { source, file, size, row, extra, ids };
}

/** A table and, for each genotype sample, its row there. */
interface TableRows {
  readonly table: NumericTable;
  readonly row: Int32Array;
}

function dropReason(
  i: number,
  lookups: readonly Lookup[],
  covAt: TableRows | undefined,
  phenoAt: TableRows | undefined,
): { source: SourceName; reason: string } | undefined {
  for (const l of lookups) {
    if (l.row[i] === MISSING) return { source: l.source, reason: `missing in ${l.file}` };
    if (l.row[i] === DUPLICATE) return { source: l.source, reason: `duplicate id in ${l.file}` };
  }
  if (covAt !== undefined) {
    const cov = covAt.table;
    const { rows, cols, data } = cov.values;
    const r = covAt.row[i]!;
    for (let c = 0; c < cols; c++) {
      if (Number.isNaN(data[r + c * rows]!)) return { source: 'covariates', reason: `missing covariate '${cov.columns[c]}' in ${cov.file}` };
    }
  }
  if (phenoAt !== undefined) {
    const pheno = phenoAt.table;
    const { rows, cols, data } = pheno.values;
    const r = phenoAt.row[i]!;
    let observed = false;
    for (let c = 0; c < cols && !observed; c++) observed = !Number.isNaN(data[r + c * rows]!);
    if (!observed) return { source: 'phenotype', reason: `missing every phenotype in ${pheno.file}` };
  }
  return undefined;
}

function maskOf(pheno: NumericTable, rows: Int32Array): Uint8Array[] {
  const { rows: m, cols, data } = pheno.values;
  return Array.from({ length: cols }, (_, c) => Uint8Array.from(rows, (r) => (Number.isNaN(data[r + c * m]!) ? 0 : 1)));
}

/** Dropped samples grouped by source and reason, in order of first appearance. */
export function groupDropped(dropped: readonly DroppedSample[]): { source: SourceName; reason: string; samples: DroppedSample[] }[] {
  const groups = new Map<string, { source: SourceName; reason: string; samples: DroppedSample[] }>();
  for (const d of dropped) {
    const k = `${d.source}\u0000${d.reason}`;
    let g = groups.get(k);
    if (g === undefined) {
      g = { source: d.source, reason: d.reason, samples: [] };
      groups.set(k, g);
    }
    g.samples.push(d);
  }
  return [...groups.values()];
}

// Up to this many example ids are printed per drop reason.
const EXAMPLES = 5;
// Up to this many traits get a line of their own in the report.
const TRAIT_LINES = 10;

/**
 * A human-readable summary of a match: one line per source
 * (`phenotype pheno.txt: 198 samples, 67 matched`), the kept count, how many
 * kept samples each trait has observed, and the dropped samples grouped by
 * reason with their count and up to 5 example ids (`FID IID`, or the IID
 * alone when they are equal). Lines end with `\n`.
 */
export function formatMatchReport(m: SampleMatch): string {
  const out = m.counts.map((c) => `${c.source} ${c.file}: ${c.samples} samples, ${c.matched} matched`);
  const genotype = m.counts[0];
  if (genotype === undefined) throw new ArgumentError('formatMatchReport: expected the genotype source as counts[0], found no sources');
  out.push(`kept ${m.keep.length} of ${genotype.samples} genotype samples`);
  const observed = m.phenotypeMask.map((mask) => mask.reduce((s, v) => s + v, 0));
  if (observed.length > TRAIT_LINES) {
    out.push(
      `${observed.length} traits, each observed in ${observed.reduce((a, b) => Math.min(a, b))} to ${observed.reduce((a, b) => Math.max(a, b))} of the kept samples`,
    );
  } else {
    observed.forEach((o, c) => {
      out.push(`trait '${m.phenotypeColumns[c]}': observed in ${o} of the kept samples`);
    });
  }
  const groups = groupDropped(m.dropped);
  out.push(groups.length === 0 ? 'dropped none' : `dropped ${m.dropped.length}:`);
  for (const g of groups) {
    const shown = g.samples.slice(0, EXAMPLES).map((d) => (d.fid === d.iid ? d.iid : `${d.fid} ${d.iid}`));
    const more = g.samples.length > EXAMPLES ? `, ... (${g.samples.length - EXAMPLES} more)` : '';
    out.push(`  ${g.reason} [${g.source}]: ${g.samples.length} (${shown.join(', ')}${more})`);
  }
  return out.map((l) => `${l}\n`).join('');
}
