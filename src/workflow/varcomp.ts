// `lmmkit varcomp fit` as one call: MM4LMM's MMEst on files (one model, one
// per marker column, or one per variant of a PLINK fileset), with its
// AnovaTest, BLUPs and variance covariance, written atomically.
import { basename } from 'node:path';
import { analysedSelection } from '../data/genotypes.js';
import { resolveSelection, type VariantSelection } from '../data/variants.js';
import { type ChunkSpec, chunkOutPrefix, type Fingerprinter, type PartManifest, planChunk, scanChunk, writeScanPart } from './chunks.js';

/** Marker models mmEst rotates together by default (mmEst.ts's batchSize): --markers chunks cut between them. */
const MARKER_BATCH = 512;
import { ArgumentError, InputError } from '../errors.js';
import { withStagedOutputs, writeAtomically } from '../data/atomic.js';
import type { DataFrame } from '../data/frame.js';
import { readFrame, readKinship, readTable } from '../data/node/tables.js';
import { progressLine } from '../data/geno-queue.js';
import { formatFreq, formatNegLog10, formatP, formatSig } from '../data/gwas-dialects.js';
import { DEFAULT_MISSING, isNumberText, shortText } from '../data/table.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { subMatrix } from '../linalg/submatrix.js';
import { anovaTest, type AnovaData, type AnovaResult } from '../varcomp/anova.js';
import { mmBlup } from '../varcomp/blup.js';
import { parseFormula } from '../varcomp/formula.js';
import type { CofactorTable } from '../varcomp/design-frame.js';
import type { MarkerInput, MmEstModel, MmEstResult } from '../varcomp/mmest.js';
import { mmEstParallel } from '../varcomp/mmest-parallel.js';
import { mmEstStream } from '../varcomp/mmest-stream.js';
import { mmVcov } from '../varcomp/vcov.js';
import { formatAnova, formatModel, markerRow, modelJson } from './varcomp-format.js';
import { fitInContext } from './fit-context.js';
import { genotypeFiles, withGenotypes, type GenotypeInput } from './inputs.js';
import { checkGenotypeOptions, checkOutputs, refuseOverwritingInputs } from './options.js';
import { checkSelectionOptions, selectionFiles, type SelectionOptions } from './selection.js';

/** A progress display that one line at a time replaces (a terminal's `\r`), ended once the models are fitted. */
export interface LineProgress {
  update(line: string): void;
  end(): void;
}

/**
 * Options of `runVarcompFit` (what `lmmkit varcomp fit` runs; defaults as
 * the command's). GWAS mode streamed from genotypes: one genotype input
 * (`GenotypeInput`: bfile, pfile, vcf, bgen or bimbam, with their options;
 * needs `ids`) and the variant selection options (`SelectionOptions`: keep
 * and remove are refused, the rows being those of `data`).
 */
export interface VarcompFitOptions extends GenotypeInput, SelectionOptions {
  /** Observation table with a header: the response, cofactors and incidence codes. */
  data: string;
  /** Response column of `data`. */
  y: string;
  /** Comma-separated cofactor columns of `data`. */
  cofactor?: string;
  /** Fixed-effect formula, e.g. '~ Trial + Xeffect'. */
  formula?: string;
  /** Named covariance matrices NAME=FILE, in component order. */
  kinship?: readonly string[];
  /** Incidences NAME=COLUMN from `data` codes. */
  incidence?: readonly string[];
  /** Incidences NAME=FILE as matrix files. */
  z?: readonly string[];
  /** Add the identity error component last (default true). */
  error?: boolean;
  /** GWAS mode: a marker table, one row per `data` row. */
  markers?: string;
  /**
   * The `data` column naming each row's sample: its genotype sample (by
   * IID) with a genotype input, and the kinship row of every component given without an
   * incidence (default: the one column whose values are all kinship ids).
   */
  ids?: string;
  /** Components without an incidence take the kinship's rows in `data`'s row order, ids unchecked (MM4LMM's convention; default false: matched by id). */
  matchByOrder?: boolean;
  /** With a genotype input: minimum minor allele frequency (default 0.01). */
  maf?: number;
  /** With a genotype input: maximum fraction of missing genotypes (default 0.05). */
  maxMissing?: number;
  /** Read markers as numbers, factors, or auto (default). */
  markersAs?: 'auto' | 'numeric' | 'factor';
  /** Default 'reml'. */
  method?: 'reml' | 'ml';
  /** Henderson's equations (default 'auto': MM4LMM's rule). */
  henderson?: 'auto' | 'true' | 'false';
  /** Comma-separated starting variances. */
  init?: string;
  /** MM4LMM's CritVar (default 1e-3). */
  critVar?: number;
  /** MM4LMM's CritLogLik (default 1e-3). */
  critLoglik?: number;
  /** Iteration cap (default 100). */
  maxIter?: number;
  /** SQUAREM acceleration (default false). */
  accelerate?: boolean;
  /** Worker threads for the marker models (default 1). */
  threads?: number;
  /** Add the BLUPs (single model). */
  blup?: boolean;
  /** Fixed-effect tests of every term. */
  anova?: 'I' | 'III' | 'KR';
  /** Contrast matrix files tested jointly. */
  contrast?: readonly string[];
  /** Covariance of the variance estimators (single model). */
  vcov?: 'expected' | 'ai';
  /** Output: a .json file (one model) or a .tsv file (GWAS mode). */
  out: string;
  /**
   * GWAS mode over a genotype file: fit the variants of chunk I of N only
   * (`--chunk I/N`, chunks.ts), into PREFIX.part-I-of-N.tsv and .json (PREFIX:
   * --out without .tsv) with a manifest; `runMerge` joins the parts.
   */
  chunk?: ChunkSpec;
  /** Fingerprints a chunk's inputs for its manifest (default `fingerprint`; a cluster worker passes its cache, each file hashed once per run). */
  fingerprint?: Fingerprinter;
  /** GWAS mode: variants read (and fitted) per batch, default the reader's for the rows' samples (--markers: models rotated together, default 512); chunks cut between batches. */
  batchSize?: number;
  /** The text report, one line (or block) per call (default silent). */
  log?: (line: string) => void;
  /** Progress of the marker models (default none). */
  progress?: LineProgress;
}

type Settled = Required<
  Pick<
    VarcompFitOptions,
    | 'kinship'
    | 'incidence'
    | 'z'
    | 'error'
    | 'maf'
    | 'maxMissing'
    | 'markersAs'
    | 'method'
    | 'henderson'
    | 'critVar'
    | 'critLoglik'
    | 'maxIter'
    | 'accelerate'
    | 'threads'
    | 'blup'
    | 'contrast'
  >
> &
  VarcompFitOptions;

function settle(o: VarcompFitOptions): Settled {
  return {
    ...o,
    kinship: o.kinship ?? [],
    incidence: o.incidence ?? [],
    z: o.z ?? [],
    error: o.error ?? true,
    maf: o.maf ?? 0.01,
    maxMissing: o.maxMissing ?? 0.05,
    markersAs: o.markersAs ?? 'auto',
    method: o.method ?? 'reml',
    henderson: o.henderson ?? 'auto',
    critVar: o.critVar ?? 1e-3,
    critLoglik: o.critLoglik ?? 1e-3,
    maxIter: o.maxIter ?? 100,
    accelerate: o.accelerate ?? false,
    threads: o.threads ?? 1,
    blup: o.blup ?? false,
    contrast: o.contrast ?? [],
  };
}

/** A finite number, else a BAD_ARGUMENT naming `flag`. */
function parseNumber(flag: string): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new ArgumentError(`${flag}: expected a number, found '${v}'`);
    return x;
  };
}

function pair(flag: string, v: string): [string, string] {
  const at = v.indexOf('=');
  if (at <= 0 || at === v.length - 1) throw new ArgumentError(`${flag}: expected NAME=VALUE, found '${v}'`);
  return [v.slice(0, at), v.slice(at + 1)];
}

/**
 * Matches the rows of --data to the ids of a component's kinship (`kinIds`,
 * q of them) through an id column: --ids when given, else the one column
 * of --data whose every value is a kinship id. Each row taking a different
 * kinship row, all of them: `perm` (data row i is kinship row perm[i]; the
 * model is R[perm, perm], as with rows already in order). Otherwise (rows
 * sharing a sample, or kinship rows unused): the N x q incidence `z`, as
 * --incidence builds it. `note` says what was matched when the order was
 * not already the kinship's (undefined when it was, so that runs on data in
 * kinship order print what they printed before).
 */
function matchKinshipById(
  frame: DataFrame,
  kinIds: readonly string[],
  name: string,
  file: string,
  opts: Settled,
): { perm?: Int32Array; z?: Matrix; note?: string } {
  const at = new Map(kinIds.map((id, j) => [id, j]));
  const asText = (col: Float64Array | readonly string[]): string[] => Array.from(col as ArrayLike<string | number>, (v) => String(v));
  let colName: string;
  let values: string[];
  if (opts.ids !== undefined) {
    colName = opts.ids;
    values = asText(column(frame, opts.ids, '--ids'));
  } else {
    const candidates = frame.names.map((nm, j) => ({ nm, v: asText(frame.columns[j]!) })).filter(({ v }) => v.length > 0 && v.every((x) => at.has(x)));
    const shown = kinIds
      .slice(0, 3)
      .map((id) => `'${id}'`)
      .join(', ');
    if (candidates.length === 0) {
      throw new InputError(
        undefined,
        `--kinship ${name}: expected a column of ${opts.data} holding the ids of ${file} (${shown}${kinIds.length > 3 ? ', ...' : ''}), found none: give --ids COLUMN, --incidence ${name}=COLUMN, or --match-by-order if the rows of ${file} are in ${opts.data}'s row order`,
      );
    }
    if (candidates.length > 1) {
      throw new InputError(
        undefined,
        `--kinship ${name}: expected one column of ${opts.data} holding the ids of ${file}, found ${candidates.length} (${candidates.map((c) => c.nm).join(', ')}): choose one with --ids COLUMN or --incidence ${name}=COLUMN`,
      );
    }
    colName = candidates[0]!.nm;
    values = candidates[0]!.v;
  }
  const rows = new Int32Array(frame.n);
  const used = new Uint8Array(kinIds.length);
  let distinct = true;
  let inOrder = frame.n === kinIds.length;
  for (let i = 0; i < frame.n; i++) {
    const j = at.get(values[i]!);
    if (j === undefined) {
      throw new InputError(undefined, `${opts.data}:${frame.lines[i]}: id '${values[i]}' of column '${colName}' is not an id of the kinship ${file}`);
    }
    if (used[j] === 1) distinct = false;
    used[j] = 1;
    rows[i] = j;
    if (j !== i) inOrder = false;
  }
  if (inOrder) return {};
  if (distinct && frame.n === kinIds.length) {
    return { perm: rows, note: `component ${name}: the rows of ${file} matched to ${opts.data} by its column '${colName}'` };
  }
  const z = new Matrix(frame.n, kinIds.length);
  for (let i = 0; i < frame.n; i++) z.data[i + rows[i]! * frame.n] = 1;
  return {
    z,
    note: `component ${name}: ${opts.data} matched to the ${kinIds.length} ids of ${file} by its column '${colName}' (an incidence: rows share ids or ids are unused)`,
  };
}

function column(frame: DataFrame, name: string, flag: string): Float64Array | readonly string[] {
  const j = frame.names.indexOf(name);
  if (j < 0) throw new ArgumentError(`${flag}: ${frame.file} has no column '${name}' (columns: ${frame.names.join(', ')})`);
  return frame.columns[j]!;
}

/**
 * Runs `lmmkit varcomp fit`: reads the data, builds each variance component
 * with its incidence, fits MMEst (one model, or one per marker or variant,
 * started from the cofactor-only fit), and writes the JSON or TSV outputs
 * (with `.json` and `.anova.tsv` beside a TSV); returns the fit.
 */
export async function runVarcompFit(options: VarcompFitOptions): Promise<MmEstResult> {
  const opts = settle(options);
  return fitInContext(`--data ${opts.data}, response '${opts.y}': cannot fit the model`, () => fitFiles(opts));
}

/** The genotype input's flag and its file or prefix, e.g. ['--pfile', 'data/chr22'] (undefined: none given). */
function genotypeFlag(opts: GenotypeInput): [string, string] | undefined {
  const given = (['bfile', 'pfile', 'vcf', 'bgen', 'bimbam'] as const).find((k) => opts[k] !== undefined);
  return given === undefined ? undefined : [`--${given}`, opts[given]!];
}

/**
 * Checks the genotype and selection options of GWAS mode before any file is
 * read: one genotype input with its own options, no --keep/--remove (the
 * rows analysed are --data's), and the variant selection only with genotypes.
 */
function checkStreamOptions(opts: Settled): void {
  const withGenotypeOnly = [opts.annotation, opts.vcfDosage, opts.vcfIndex, opts.sample, opts.bgenRef, opts.bgenIndex];
  const streamed = genotypeFlag(opts) !== undefined;
  if (streamed || withGenotypeOnly.some((v) => v !== undefined)) checkGenotypeOptions('varcomp fit', opts);
  for (const [flag, v] of [
    ['--keep', opts.keep],
    ['--remove', opts.remove],
  ] as const) {
    if (v !== undefined)
      throw new ArgumentError(
        `varcomp fit: expected no ${flag}, found ${flag} ${v}: the rows analysed are those of --data ${opts.data} (each takes its genotype sample through --ids), so leave rows out of ${opts.data} instead`,
      );
  }
  const variantOptions = (
    [
      ['--extract', opts.extract],
      ['--exclude', opts.exclude],
      ['--chr', opts.chr],
      ['--from-bp', opts.fromBp],
      ['--to-bp', opts.toBp],
    ] as const
  ).filter(([, v]) => v !== undefined);
  if (variantOptions.length > 0 && !streamed) {
    throw new ArgumentError(
      `varcomp fit: ${variantOptions[0]![0]} selects variants of a genotype file: expected one of --bfile, --pfile, --vcf, --bgen and --bimbam, found none`,
    );
  }
  checkSelectionOptions(opts);
}

async function fitFiles(opts: Settled): Promise<MmEstResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const progress = opts.progress;
  checkStreamOptions(opts);
  const geno = genotypeFlag(opts);
  const chunk = opts.chunk;
  if (chunk !== undefined && geno === undefined && opts.markers === undefined) {
    throw new ArgumentError(
      'varcomp fit --chunk: splits GWAS mode (one model per marker), expected --markers FILE or one of --bfile, --pfile, --vcf, --bgen and --bimbam, found neither',
    );
  }
  // A chunk's files are the part's: PREFIX.part-I-of-N + the --out suffix (.tsv or none), and its .json.
  const outBase = opts.out.endsWith('.tsv') ? opts.out.slice(0, -4) : opts.out;
  const base = chunkOutPrefix('varcomp fit', outBase, chunk);
  const outPath = base + opts.out.slice(outBase.length);
  await refuseOverwritingInputs(
    [outPath, `${base}.json`, `${base}.anova.tsv`],
    [
      opts.data,
      opts.markers,
      ...(geno === undefined ? [] : [...genotypeFiles(opts), ...selectionFiles(opts)]),
      ...[...(opts.kinship ?? []), ...(opts.z ?? [])].map((v) => v.slice(v.indexOf('=') + 1)),
      ...(opts.contrast ?? []),
    ],
  );
  // The files this run writes: one JSON for a single model, a TSV and its JSON (and ANOVA) per marker.
  const perMarker = opts.markers !== undefined || geno !== undefined;
  await checkOutputs([
    outPath,
    ...(perMarker ? [`${base}.json`] : []),
    ...(opts.markers !== undefined && opts.anova !== undefined ? [`${base}.anova.tsv`] : []),
  ]);
  const frame = await readFrame(opts.data);
  const yCol = column(frame, opts.y, '--y');
  if (!(yCol instanceof Float64Array)) {
    const i = yCol.findIndex((v) => !DEFAULT_MISSING.includes(v) && !isNumberText(v));
    throw new InputError(
      { file: frame.file, line: frame.lines[i], column: `${frame.names.indexOf(opts.y) + 1} '${opts.y}'` },
      `--y: expected a number or a missing value (${DEFAULT_MISSING.filter((m) => m !== '').join(', ')}, an empty field), found '${shortText(yCol[i] ?? '')}'`,
    );
  }
  const missingY = Array.from(yCol.keys()).filter((i) => Number.isNaN(yCol[i]!));
  if (missingY.length > 0) {
    const where = missingY
      .slice(0, 5)
      .map((i) => frame.lines[i])
      .join(', ');
    throw new InputError(
      undefined,
      `${opts.data}: the response '${opts.y}' is missing on ${missingY.length} row${missingY.length > 1 ? 's' : ''} (line${missingY.length > 1 ? 's' : ''} ${where}${missingY.length > 5 ? ', ...' : ''}): remove them first`,
    );
  }
  // A constant response has no variance to split (MMEst would start from 0 and stop on it).
  if (yCol.every((v) => v === yCol[0])) {
    throw new InputError({ file: frame.file }, `--y: expected a response that varies, found '${opts.y}' equal to ${yCol[0]} on all ${frame.n} rows`);
  }
  let cofactor: CofactorTable | undefined;
  if (opts.cofactor !== undefined) {
    const names = opts.cofactor
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    cofactor = { names, columns: names.map((nm) => column(frame, nm, '--cofactor')) };
  }
  // The formula sees the --cofactor columns (and the markers), not the whole
  // table: a --data column named there but not listed is the likely slip.
  if (opts.formula !== undefined) {
    const listed = new Set(cofactor?.names ?? []);
    const unlisted = [...new Set(parseFormula(opts.formula).terms.flat())].filter((v) => !listed.has(v) && frame.names.includes(v));
    if (unlisted.length > 0) {
      throw new ArgumentError(
        `--formula '${opts.formula}': ${unlisted.map((v) => `'${v}'`).join(', ')} ${unlisted.length > 1 ? 'are columns' : 'is a column'} of ${opts.data} but not a cofactor; list ${unlisted.length > 1 ? 'them' : 'it'} in --cofactor (now: ${cofactor?.names.join(',') ?? 'none'})`,
      );
    }
  }

  // Components, in --kinship order, each with its incidence.
  const incidence = new Map(opts.incidence.map((v) => pair('--incidence', v)));
  const zFiles = new Map(opts.z.map((v) => pair('--z', v)));
  const kinships = opts.kinship.map((v) => pair('--kinship', v));
  const names = new Set(kinships.map(([nm]) => nm));
  for (const nm of [...incidence.keys(), ...zFiles.keys()]) {
    if (!names.has(nm)) throw new ArgumentError(`--incidence/--z: '${nm}' names no --kinship component (components: ${[...names].join(', ') || 'none'})`);
    if (incidence.has(nm) && zFiles.has(nm)) throw new ArgumentError(`component '${nm}' has both --incidence and --z: give one`);
  }
  const varList: { name: string; r: Matrix; ids?: readonly string[] }[] = [];
  const zList: (Matrix | undefined)[] = [];
  for (const [name, file] of kinships) {
    const kin = await readKinship(file);
    varList.push({ name, r: kin.k, ids: kin.ids.iid });
    const codeCol = incidence.get(name);
    const zFile = zFiles.get(name);
    if (codeCol !== undefined) {
      const codes = column(frame, codeCol, `--incidence ${name}`);
      const at = new Map(kin.ids.iid.map((id, j) => [id, j]));
      const z = new Matrix(frame.n, kin.k.rows);
      for (let i = 0; i < frame.n; i++) {
        const code = String(codes[i]);
        const j = at.get(code);
        if (j === undefined)
          throw new InputError(undefined, `${opts.data}:${frame.lines[i]}: code '${code}' of column '${codeCol}' is not an id of the kinship ${file}`);
        z.data[i + j * frame.n] = 1;
      }
      zList.push(z);
    } else if (zFile !== undefined) {
      const t = await readTable(zFile, { header: false, key: 'none' });
      zList.push(t.values);
    } else if (opts.matchByOrder === true) {
      if (kin.k.rows !== frame.n) {
        throw new InputError(
          undefined,
          `--kinship ${name}: ${file} is ${kin.k.rows} x ${kin.k.rows} but ${opts.data} has ${frame.n} rows: give --incidence ${name}=COLUMN or --z ${name}=FILE`,
        );
      }
      zList.push(undefined);
    } else {
      // Rows matched by id, never by position: a --data file sorted
      // differently from the kinship must give the same fit.
      const m = matchKinshipById(frame, kin.ids.iid, name, file, opts);
      if (m.perm !== undefined) {
        varList[varList.length - 1] = { name, r: subMatrix(kin.k, m.perm), ids: Array.from(m.perm, (j) => kin.ids.iid[j]!) };
        zList.push(undefined);
      } else zList.push(m.z);
      if (m.note !== undefined) log(m.note);
    }
  }
  if (opts.error) {
    varList.push({ name: 'Error', r: Matrix.identity(frame.n) });
    zList.push(undefined);
  }
  if (varList.length === 0) throw new ArgumentError('no variance component: give --kinship NAME=FILE or keep the error component');

  let x: MarkerInput | undefined;
  let xNames: string[] | undefined;
  if (opts.markers !== undefined) {
    const m = await readFrame(opts.markers);
    if (m.n !== frame.n) throw new InputError(undefined, `--markers: ${opts.markers} has ${m.n} rows but ${opts.data} has ${frame.n}`);
    xNames = m.names.slice();
    const numeric = m.columns.every((c) => c instanceof Float64Array);
    if (opts.markersAs === 'numeric' && !numeric) {
      const j = m.columns.findIndex((c) => !(c instanceof Float64Array));
      throw new InputError(undefined, `--markers-as numeric: marker '${m.names[j]}' of ${opts.markers} has text values`);
    }
    if (numeric && opts.markersAs !== 'factor') {
      const mat = new Matrix(m.n, m.names.length);
      m.columns.forEach((c, j) => {
        mat.data.set(c as Float64Array, j * m.n);
      });
      const bad = mat.data.findIndex((v) => Number.isNaN(v));
      if (bad >= 0)
        throw new InputError(undefined, `${opts.markers}:${m.lines[bad % m.n]}: marker '${m.names[Math.floor(bad / m.n)]}' is missing: impute markers first`);
      x = mat;
    } else {
      // Factors keep the codes as written (R's character markers: '10', '11').
      const raw = await readFrame(opts.markers, { allText: true });
      x = raw.columns.map((c) => Array.from(c, String));
    }
  }
  // --markers --chunk: the chunk's marker columns, cut between the batches mmEst rotates together (as the whole run's).
  let markerSpan: PartManifest['spans'][number] | undefined;
  if (chunk !== undefined && x !== undefined && xNames !== undefined) {
    const all = xNames.length;
    const plan = planChunk([{ indices: Int32Array.from({ length: all }, (_, i) => i), samples: frame.n }], opts.batchSize ?? MARKER_BATCH, chunk);
    const sel = plan.scans[0]?.select;
    const cols: number[] = sel !== undefined && 'indices' in sel ? Array.from(sel.indices) : [];
    if (x instanceof Matrix) {
      const mat = x;
      const sub = new Matrix(mat.rows, cols.length);
      cols.forEach((c, j) => {
        sub.data.set(mat.colView(c, c + 1).data, j * mat.rows);
      });
      x = sub;
    } else {
      const text = x as string[][];
      x = cols.map((c) => text[c]!);
    }
    const names = xNames;
    xNames = cols.map((c) => names[c]!);
    markerSpan = { key: 'markers', span: plan.span, total: plan.total };
  }
  const init = opts.init?.split(',').map((s, k) => parseNumber(`--init value ${k + 1}`)(s));
  // Checked here, in the option's words: the engines would name themselves (mmRotated: init[0] = 0).
  init?.forEach((v, k) => {
    if (!(v > 0)) {
      const comp = varList[k]?.name ?? `component ${k + 1}`;
      throw new ArgumentError(`--init: expected starting variances > 0 (the MM update is multiplicative), found ${v} for component '${comp}' (value ${k + 1})`);
    }
  });
  const henderson = opts.henderson === 'auto' ? 'auto' : opts.henderson === 'true';
  if (geno !== undefined) {
    const [flag, file] = geno;
    if (x !== undefined) throw new ArgumentError(`give --markers or ${flag}, not both`);
    if (opts.blup || opts.vcov !== undefined || opts.anova !== undefined || opts.contrast.length > 0) {
      throw new ArgumentError(`${flag} streams one model per variant: --blup, --vcov, --anova and --contrast apply to --markers or a single model`);
    }
    if (opts.ids === undefined) throw new ArgumentError(`${flag} needs --ids COLUMN: the column of ${opts.data} naming each row's genotype sample`);
    const ids = opts.ids;
    const idCol = column(frame, ids, '--ids');
    // The file naming the samples, for the messages of the match.
    const sampleFile = genotypeFiles(opts).at(opts.bimbam === undefined ? -1 : 0)!;
    return await withGenotypes({ ...opts, log }, async (source, outputs, selection) => {
      // Matched by IID (every format has one; BIMBAM's are 1..N in file order): an IID two genotype samples share cannot name one.
      const at = new Map<string, number>();
      const shared = new Set<string>();
      source.samples.iid.forEach((id, i) => {
        if (at.has(id)) shared.add(id);
        at.set(id, i);
      });
      const samples = Array.from({ length: frame.n }, (_, i) => {
        const id = String(idCol[i]);
        const k = at.get(id);
        if (k === undefined) throw new InputError(undefined, `${opts.data}:${frame.lines[i]}: sample '${id}' of column '${ids}' is not in ${sampleFile}`);
        if (shared.has(id))
          throw new InputError(
            undefined,
            `${opts.data}:${frame.lines[i]}: sample '${id}' of column '${ids}': expected one sample of ${sampleFile} with that IID, found several (in different families)`,
          );
        return k;
      });
      const models: MmEstModel[] = [];
      const names: string[] = [];
      let nullModel: MmEstModel | undefined;
      const comp = varList.map((v) => `sigma2_${v.name}`);
      const jsonPath = `${base}.json`;
      // The TSV and its JSON appear together or not at all (withGenotypes stages them).
      const tsv = await outputs.stage(outPath);
      await tsv.write(
        `${['chrom', 'pos', 'id', 'effect_allele', 'other_allele', 'eaf', 'n', 'nbit', 'converged', 'loglik', ...comp, 'beta_names', 'beta', 'se'].join('\t')}\n`,
      );
      const fitSelection = async (select: VariantSelection | undefined) => {
        for await (const b of mmEstStream({
          source,
          samples,
          select,
          batchSize: opts.batchSize,
          y: yCol,
          cofactor,
          formula: opts.formula,
          varList,
          zList,
          method: opts.method,
          henderson,
          init,
          critVar: opts.critVar,
          critLogLik: opts.critLoglik,
          maxIter: opts.maxIter,
          accelerate: opts.accelerate,
          minMaf: opts.maf,
          maxMissing: opts.maxMissing,
          onProgress: progress === undefined ? undefined : (pr) => progress.update(progressLine(pr)),
        })) {
          nullModel = b.nullModel;
          const lines = b.models.map((m, j) =>
            [
              b.variants.chrom[j]!,
              String(b.variants.pos[j]),
              b.variants.id[j]!,
              b.variants.a1[j]!,
              b.variants.a2[j]!,
              formatFreq(b.af[j]!, b.n[j]!),
              String(b.n[j]),
              ...markerRow(m).slice(1),
            ].join('\t'),
          );
          if (lines.length > 0) await tsv.write(`${lines.join('\n')}\n`);
          models.push(...b.models);
          names.push(...b.variants.id);
        }
      };
      let span: PartManifest['spans'][number] | undefined;
      if (chunk === undefined) await fitSelection(undefined);
      else {
        // One run (no sex chromosome models here), cut into the batches mmEstStream reads for these samples.
        const all = resolveSelection(source.variants, analysedSelection(source, undefined), source.path);
        span = { key: 'variants', ...(await scanChunk([{ indices: all }], [{ samples }], opts.batchSize, chunk, (_, sc) => fitSelection(sc.select))) };
      }
      progress?.end();
      const seconds = (performance.now() - t0) / 1000;
      await outputs.whole(
        jsonPath,
        `${JSON.stringify(
          {
            data: opts.data,
            y: opts.y,
            [flag.slice(2)]: file,
            ...(opts.vcfDosage === undefined ? {} : { vcfDosage: opts.vcfDosage }),
            ...(opts.sample === undefined ? {} : { sample: opts.sample }),
            ...(opts.bgenRef === undefined ? {} : { bgenRef: opts.bgenRef }),
            ...(opts.annotation === undefined ? {} : { annotation: opts.annotation }),
            ...(selection === undefined ? {} : { selection }),
            maf: opts.maf,
            maxMissing: opts.maxMissing,
            components: varList.map((v) => v.name),
            method: opts.method,
            models: models.length,
            backend: getBackend().name,
            seconds,
            nullModel: nullModel === undefined ? null : modelJson(nullModel),
          },
          null,
          2,
        )}\n`,
      );
      await outputs.commit();
      log(`fitted ${models.length} variant models from ${file} in ${seconds.toFixed(2)} s -> ${outPath}, ${jsonPath}`);
      if (chunk !== undefined && span !== undefined) {
        const manifest = await writeScanPart(
          base,
          {
            command: 'varcomp',
            chunk,
            spans: [span],
            inputs: [
              ['data', opts.data],
              ...genotypeFiles(opts).map((f): [string, string] => ['genotypes', f]),
              ...selectionFiles(opts).map((f): [string, string | undefined] => ['selection', f]),
              ...[...opts.kinship, ...opts.z].map((v): [string, string] => ['component', v.slice(v.indexOf('=') + 1)]),
            ],
            options: opts,
            plot: false,
            gz: false,
            report: jsonPath,
            tables: [{ trait: null, format: 'varcomp', file: basename(outPath), suffix: opts.out.slice(outBase.length), rows: models.length }],
          },
          opts.fingerprint,
        );
        log(`part manifest -> ${manifest}`);
      }
      return { models, modelNames: names, path: 'eigen', nullModel, messages: [] } satisfies MmEstResult;
    });
  }
  const res = await mmEstParallel({
    y: yCol,
    cofactor,
    x,
    xNames,
    formula: opts.formula,
    varList,
    zList,
    method: opts.method,
    henderson,
    init,
    critVar: opts.critVar,
    critLogLik: opts.critLoglik,
    maxIter: opts.maxIter,
    accelerate: opts.accelerate,
    threads: opts.threads,
    batchSize: opts.batchSize,
    onProgress: progress === undefined ? undefined : (done, total) => progress.update(`fitted ${done} / ${total} marker models`),
  });
  if (x !== undefined) progress?.end();
  const seconds = (performance.now() - t0) / 1000;
  const settings = {
    data: opts.data,
    y: opts.y,
    cofactor: opts.cofactor ?? null,
    formula: opts.formula ?? null,
    components: varList.map((v) => v.name),
    method: opts.method,
    henderson: opts.henderson,
    path: res.path,
    critVar: opts.critVar,
    critLogLik: opts.critLoglik,
    maxIter: opts.maxIter,
    accelerate: opts.accelerate,
    backend: getBackend().name,
    seconds,
  };
  for (const msg of res.messages) log(msg);
  if (x === undefined) {
    const model = res.models[0]!;
    const data = { y: yCol, cofactor, formula: opts.formula, varList, zList };
    const extra: Record<string, unknown> = {};
    if (opts.blup) {
      const blup = mmBlup(res, data);
      extra.blup = Object.fromEntries(Object.entries(blup).map(([k, v]) => [k, { names: v.names, values: Array.from(v.values) }]));
    }
    let vcovText = '';
    if (opts.vcov !== undefined) {
      const v = mmVcov(res, data, { information: opts.vcov });
      extra.vcov = { information: v.information, names: v.names, vcov: v.vcov.toArray(), se: Array.from(v.se) };
      vcovText = `\nstandard errors of the variances (${opts.vcov === 'ai' ? 'average' : 'expected'} information): ${v.names.map((nm, k) => `${nm} ${v.se[k]!.toPrecision(4)}`).join(', ')}`;
    }
    const anova = await runAnova(opts, res, data);
    if (anova !== undefined) extra.anova = anova.tables[0];
    await writeAtomically(opts.out, async (append) => append(`${JSON.stringify({ ...settings, model: modelJson(model), ...extra }, null, 2)}\n`));
    log(formatModel(model, res.path, seconds) + vcovText + (anova === undefined ? '' : `\n${formatAnova(anova.tables[0]!)}`));
    for (const msg of anova?.messages ?? []) log(msg);
  } else {
    if (opts.blup || opts.vcov !== undefined) throw new ArgumentError('--blup and --vcov apply to a single model: run without --markers');
    const anova = await runAnova(opts, res, { y: yCol, cofactor, formula: opts.formula, varList, zList, x });
    const anovaPath = `${base}.anova.tsv`;
    const jsonPath = `${base}.json`;
    await withStagedOutputs(async (outputs) => {
      const comp = varList.map((v) => `sigma2_${v.name}`);
      const lines = res.models.map((m, i) => [res.modelNames[i] ?? String(i + 1), ...markerRow(m).slice(1)].join('\t'));
      // A chunk with no marker of its own writes the header alone (no blank line for merge to carry over).
      const body = (rows: string[]): string => rows.map((r) => `${r}\n`).join('');
      await outputs.whole(outPath, `${['marker', 'nbit', 'converged', 'loglik', ...comp, 'beta_names', 'beta', 'se'].join('\t')}\n${body(lines)}`);
      await outputs.whole(
        jsonPath,
        `${JSON.stringify({ ...settings, models: res.models.length, nullModel: res.nullModel === undefined ? null : modelJson(res.nullModel) }, null, 2)}\n`,
      );
      if (anova !== undefined) {
        const rows = anova.tables.flatMap((t) =>
          t.rows.map((r) =>
            [
              res.modelNames[t.index] ?? String(t.index + 1),
              t.test,
              r.name,
              formatSig(r.statistic),
              formatSig(r.df),
              r.ddf === undefined ? 'NA' : formatSig(r.ddf),
              formatP(r.pValue, r.log10PValue),
              formatNegLog10(r.log10PValue, 'NA', 4),
            ].join('\t'),
          ),
        );
        await outputs.whole(anovaPath, `${['marker', 'test', 'term', 'statistic', 'df', 'ddf', 'pvalue', 'neg_log10_p'].join('\t')}\n${body(rows)}`);
      }
    });
    if (anova !== undefined) {
      for (const msg of anova.messages) log(msg);
    }
    log(
      `fitted ${res.models.length} marker models (${res.path} path) in ${seconds.toFixed(2)} s -> ${outPath}, ${jsonPath}${anova === undefined ? '' : `, ${anovaPath}`}`,
    );
    if (chunk !== undefined && markerSpan !== undefined) {
      const manifest = await writeScanPart(
        base,
        {
          command: 'varcomp',
          chunk,
          spans: [markerSpan],
          inputs: [
            ['data', opts.data],
            ['markers', opts.markers],
            ...[...opts.kinship, ...opts.z].map((v): [string, string] => ['component', v.slice(v.indexOf('=') + 1)]),
            ...opts.contrast.map((f): [string, string] => ['contrast', f]),
          ],
          options: opts,
          plot: false,
          gz: false,
          report: jsonPath,
          tables: [
            { trait: null, format: 'varcomp', file: basename(outPath), suffix: opts.out.slice(outBase.length), rows: res.models.length },
            ...(anova === undefined ? [] : [{ trait: null, format: 'anova', file: basename(anovaPath), suffix: '.anova.tsv', rows: anova.tables.length }]),
          ],
        },
        opts.fingerprint,
      );
      log(`part manifest -> ${manifest}`);
    }
  }
  return res;
}

/** --anova / --contrast: AnovaTest on the fit, or undefined when neither was asked for. */
async function runAnova(opts: Settled, res: MmEstResult, data: AnovaData): Promise<AnovaResult | undefined> {
  if (opts.anova === undefined && opts.contrast.length === 0) return undefined;
  // A chunk with no marker of its own (more chunks than marker batches): an empty table, which merge joins.
  if (opts.chunk !== undefined && res.models.length === 0) return { type: opts.anova ?? 'III', tables: [], messages: [] };
  const entries: [string, Matrix][] = [];
  for (const file of opts.contrast) {
    const t = await readTable(file, { header: false, key: 'none' });
    entries.push([basename(file).replace(/\.[^.]*$/, ''), t.values]);
  }
  // fromEntries defines own properties: a contrast file named __proto__.tsv keeps its name.
  const contrasts: Record<string, Matrix> = Object.fromEntries(entries);
  return anovaTest(res, {
    type: opts.anova ?? 'III',
    contrasts: opts.contrast.length > 0 ? contrasts : undefined,
    data,
  });
}
