// The samples of a GWAS run: the shared match of the genotype, phenotype,
// covariate and kinship inputs, then the low-rank and interaction tables,
// then each trait's own missing values.
import { InputError, SelectionError } from '../errors.js';
import type { KinshipTable } from '../data/kinship-table.js';
import { formatMatchReport, matchSamples, type SampleMatch } from '../data/match.js';
import { sampleKey, type SampleTable } from '../data/samples.js';
import type { NumericTable } from '../data/table.js';
import { Matrix } from '../linalg/matrix.js';
import { groupReasons, type DroppedSampleReport } from './report.js';
import type { SourceCountReport } from './gwas-report.js';

/** The genotype samples as the match sees them (BIMBAM files have no FID: matched by IID). */
export interface GenotypeSide {
  file: string;
  samples: SampleTable;
  key: 'fid-iid' | 'iid';
  /** Samples left out by --keep/--remove, with the reason (see `GenotypeSamples`). */
  excluded?: ReadonlyMap<number, string>;
}

/** A low-rank or interaction table matched to the genotype samples. */
export interface ExtraRows {
  source: 'lowrank' | 'inter';
  file: string;
  size: number;
  /** Row of each genotype sample, -1 when absent. */
  row: Int32Array;
  /** Why each genotype sample cannot be used (undefined: usable). */
  reason: (string | undefined)[];
  /** Rows whose sample the genotype file lacks. */
  extra: DroppedSampleReport[];
}

/** One trait's samples: positions in `match.keep` with the trait observed, and the ones dropped for its missing values. */
export interface TraitSamples {
  name: string;
  /** Column of the trait in the phenotype table. */
  t: number;
  pos: number[];
  missing: DroppedSampleReport[];
}

/** The samples of a GWAS run. */
export interface GwasSamples {
  match: SampleMatch;
  extras: ExtraRows[];
  /** Positions in `match.keep` that every low-rank and interaction value also has. */
  keepPos: number[];
  /** Samples dropped by the low-rank and interaction tables. */
  extraDropped: DroppedSampleReport[];
  traits: TraitSamples[];
}

/**
 * Matches the inputs of a GWAS run and logs the match report; a NO_SAMPLES
 * error when no sample has every low-rank and interaction value.
 */
export function matchGwasSamples(
  genotype: GenotypeSide,
  tables: { pheno: NumericTable; covar?: NumericTable; kinship?: KinshipTable; lowrank?: NumericTable; inter?: NumericTable },
  log: (line: string) => void,
): GwasSamples {
  const { pheno, lowrank, inter } = tables;
  const samples = genotype.samples;
  const match = matchSamples({ genotype, phenotype: pheno, covariates: tables.covar, kinship: tables.kinship });
  const extras = [
    ...(lowrank === undefined ? [] : [extraRows('lowrank', lowrank, genotype)]),
    ...(inter === undefined ? [] : [extraRows('inter', inter, genotype)]),
  ];
  const keepPos: number[] = [];
  const extraDropped: DroppedSampleReport[] = [];
  for (let p = 0; p < match.keep.length; p++) {
    const g = match.keep[p]!;
    const culprit = extras.find((e) => e.reason[g] !== undefined);
    if (culprit === undefined) keepPos.push(p);
    else extraDropped.push({ fid: samples.fid[g]!, iid: samples.iid[g]!, source: culprit.source, reason: culprit.reason[g]! });
  }
  // A table row the genotype file lacks is reported once, even when several tables have it.
  const reported = new Set(match.dropped.filter((d) => d.source === 'genotype').map((d) => sampleKey(d.fid, d.iid)));
  for (const e of extras) {
    for (const d of e.extra) {
      if (!reported.has(sampleKey(d.fid, d.iid))) {
        reported.add(sampleKey(d.fid, d.iid));
        extraDropped.push(d);
      }
    }
  }
  if (keepPos.length === 0) {
    throw new SelectionError(
      'NO_SAMPLES',
      `no samples left after matching: every sample is missing from or has a missing value in ${extras.map((e) => e.file).join(' or ')}`,
    );
  }
  log(formatMatchReport(match).trimEnd());
  for (const d of groupReasons(extraDropped, true)) log(`  ${d}`);

  const traits = pheno.columns.map((name, t) => {
    const mask = match.phenotypeMask[t]!;
    const pos = keepPos.filter((p) => mask[p] === 1);
    const missing: DroppedSampleReport[] = keepPos
      .filter((p) => mask[p] !== 1)
      .map((p) => {
        const g = match.keep[p]!;
        return { fid: samples.fid[g]!, iid: samples.iid[g]!, source: 'phenotype', reason: `missing phenotype '${name}' in ${pheno.file}` };
      });
    return { name, t, pos, missing };
  });
  return { match, extras, keepPos, extraDropped, traits };
}

/** Matches a low-rank or interaction table to the genotype samples (as matchSamples does for covariates). */
function extraRows(source: 'lowrank' | 'inter', table: NumericTable, genotype: GenotypeSide): ExtraRows {
  const { fid, iid } = genotype.samples;
  const n = iid.length;
  const rows = table.values.rows;
  const row = new Int32Array(n).fill(-1);
  const extra: DroppedSampleReport[] = [];
  if (table.key === 'none') {
    if (rows !== n) {
      throw new InputError(
        { file: table.file },
        `expected one row per genotype sample (rows without ids are matched by order), found ${rows} rows for the ${n} samples of ${genotype.file}`,
      );
    }
    row.forEach((_, i) => {
      row[i] = i;
    });
  } else {
    const byIid = table.key === 'iid' || genotype.key === 'iid';
    const genoIndex = new Map<string, number>();
    for (let i = 0; i < n; i++) genoIndex.set(byIid ? iid[i]! : sampleKey(fid[i]!, iid[i]!), i);
    const seen = new Set<string>();
    for (let r = 0; r < rows; r++) {
      const k = byIid ? table.ids.iid[r]! : sampleKey(table.ids.fid[r]!, table.ids.iid[r]!);
      if (seen.has(k)) throw new InputError({ file: table.file }, `expected unique sample ids, found '${table.ids.iid[r]}' twice`);
      seen.add(k);
      const g = genoIndex.get(k);
      if (g === undefined) extra.push({ fid: table.ids.fid[r]!, iid: table.ids.iid[r]!, source: 'genotype', reason: `missing in ${genotype.file}` });
      else row[g] = r;
    }
  }
  const reason = Array.from(row, (r) => {
    if (r < 0) return `missing in ${table.file}`;
    for (let c = 0; c < table.values.cols; c++) {
      if (Number.isNaN(table.values.data[r + c * rows]!)) return `missing value '${table.columns[c]}' in ${table.file}`;
    }
    return undefined;
  });
  return { source, file: table.file, size: rows, row, reason, extra };
}

/** The rows `rows` of a table's values (rows.length x columns). */
export function subTable(table: NumericTable, rows: Int32Array): Matrix {
  const m = table.values;
  const out = new Matrix(rows.length, m.cols);
  for (let c = 0; c < m.cols; c++) for (let i = 0; i < rows.length; i++) out.data[i + c * rows.length] = m.data[rows[i]! + c * m.rows]!;
  return out;
}

/** The `match.counts` entry of a trait's report: every input, with `used` samples. */
export function sourceCounts(match: SampleMatch, extras: readonly ExtraRows[], used: number): SourceCountReport[] {
  return [
    ...match.counts.map((c) => ({ source: c.source as string, file: c.file, samples: c.samples, used })),
    ...extras.map((e) => ({ source: e.source as string, file: e.file, samples: e.size, used })),
  ];
}
