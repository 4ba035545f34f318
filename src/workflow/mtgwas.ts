// `lmmkit mtgwas` as one call: one multi-trait LMM (limix-lmm's MTLMM) over
// several phenotype columns, its null model fitted once, the genotype file
// streamed through the any-effect and common-effect tests.
import { basename } from 'node:path';
import type { FactorColumn } from '../data/categorical.js';
import { resolveSelection } from '../data/variants.js';
import { type ChunkSpec, chunkOutPrefix, type Fingerprinter, type PartManifest, scanChunk, writeScanPart } from './chunks.js';
import { selectionFiles } from './selection.js';
import { runEntry, type RunMetadata } from './run-info.js';
import { InputError, SelectionError } from '../errors.js';
import { covariateDesign } from '../data/covariates.js';
import { gaussianize } from '../data/gaussianize.js';
import type { KinshipTable } from '../data/kinship-table.js';
import { readKinship } from '../data/node/tables.js';
import { formatMatchReport, matchSamples } from '../data/match.js';
import { formatFreq, formatNegLog10, formatP, formatSig, type OutFormat } from '../data/gwas-dialects.js';
import { type OutLine, TableOutput } from './gwas-outputs.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { choleskyLower } from '../linalg/small.js';
import { subMatrix, subMatrixInPlace } from '../linalg/submatrix.js';
import { fitKronSumNull, type KronSumNullModel } from '../nullmodel/fit-kron-sum.js';
import { checkRunKinship, nonPsdReport } from './gwas-null.js';
import { fitInContextSync } from './fit-context.js';
import { checkXchrModel, doubled, halveMales, sexModel, type XchrModel } from './gwas-sex.js';
import type { GenoProgress } from '../data/geno-queue.js';
import type { GenotypeSource } from '../data/genotypes.js';
import type { VariantSelection } from '../data/variants.js';
import type { SexColumnReport } from './gwas-report.js';
import { sampleCovariance } from '../nullmodel/kron-sum-dense.js';
import { Mtlmm, mtlmmScan, traitTestDesign, type MtlmmBatchResult, type TraitTest } from '../scan/mtlmm.js';
import { binaryNotice, twoValues } from './gwas-inputs.js';
import {
  applyMissingPhenotype,
  genotypeFiles,
  genotypeSide,
  genotypesReport,
  quirkWarnings,
  selectRegion,
  standardizedKinship,
  withGenotypes,
  withProgress,
  type GenotypesReport,
  type MissingCodeReport,
} from './inputs.js';
import {
  bad,
  checkFilterOptions,
  checkInputOptions,
  checkOutputs,
  checkTraitOptions,
  type FilterOptions,
  type ScanRunOptions,
  type TableIds,
  type TraitOptions,
} from './options.js';
import { factorsReport, readCovariates, readPhenotypes } from './phenotypes.js';
import type { SelectionReport } from './selection.js';
import { threadsReport, type ThreadsReport } from './threads.js';
import { chromCode } from '../data/chrom.js';
import { chromRuns, leaveChromOut, type LocoKinship, locoPass, wholeKinship, withLoco } from './loco.js';
import { withStep } from './steps.js';
import { droppedReport, groupReasons, noteHit, type DroppedSampleReport } from './report.js';

/** Options of `runMtgwas` (what the `lmmkit mtgwas` command runs). */
export interface MtgwasRunOptions extends ScanRunOptions {
  /** The traits of the model, in this order (default every value column of the phenotype table). */
  phenoCol?: readonly string[];
  /** Kinship table file (exactly one of `kinship` and `kinshipFromGenotypes`). */
  kinship?: string;
  /** 'any' (eye(P), P df), 'common' (ones(P, 1), 1 df) or 'both' (default). */
  test?: TraitTest | 'both';
  /** Output prefix: PREFIX.tsv and PREFIX.json. */
  out: string;
  /** plink2's --xchr-model, as in `lmmkit gwas` (default 2; gwas-sex.ts). */
  xchrModel?: number;
  /** Result dialects: lmmkit's only (the multi-trait tests have no single-trait dialect); default ['lmmkit']. */
  outFormat?: readonly OutFormat[];
  /** BGZF-compress the table (PREFIX.tsv.gz), rows sorted by chromosome and position, with a tabix index (.tbi). */
  gz?: boolean;
  /**
   * Scan chunk I of N only (`--chunk I/N`, chunks.ts): PREFIX.part-I-of-N.tsv
   * and .json with a manifest; each part fits the same null model (it is
   * deterministic), and `runMerge` joins the parts into PREFIX.tsv and .json.
   */
  chunk?: ChunkSpec;
  /** Fingerprints a chunk's inputs for its manifest (default `fingerprint`; a cluster worker passes its cache, each file hashed once per run). */
  fingerprint?: Fingerprinter;
}

/** One sex chromosome's multi-trait null model: its samples, covariates and fit. */
export interface MtSexChromosomeNull {
  variants: number;
  /** Samples used: known sex (chrX), males (chrY). */
  samples: number;
  /** Analysed samples left out: unknown sex (chrX), not male (chrY). */
  samplesDropped: number;
  covariates: string[];
  /** Why the sex covariate is absent on chrX, when it is. */
  sexCovariateDropped?: string;
  nullModel: MtSubNullReport;
}

/** The report of a null model fitted for part of a scan (chrX, chrY, or one chromosome left out): its covariances, fit and s20. */
export type MtSubNullReport = { cg: number[][]; cn: number[][]; lml: number; gradNorm: number; iterations: number; converged: boolean; s20: number };

/** `fit` as a `MtSubNullReport`, with the s20 of the Mtlmm built on it. */
function subNullReport(fit: KronSumNullModel, s20: number): MtSubNullReport {
  return { cg: fit.cg.toArray(), cn: fit.cn.toArray(), lml: fit.lml, gradNorm: fit.gradNorm, iterations: fit.iterations, converged: fit.converged, s20 };
}

/** One chromosome of an `mtgwas --loco` scan: its tested variants and the null model they were tested under. */
export interface MtLocoChromReport {
  chrom: string;
  /** Selected variants on the chromosome (a run of consecutive ones in the file). */
  variants: number;
  /** Variants in its kinship: the informative ones on the other chromosomes (p_{-c}). */
  kinshipVariants: number;
  nullModel: MtSubNullReport;
}

/** How mtgwas scanned chrX, chrY and MT (plink2's --glm rules, as `lmmkit gwas`). */
export interface MtSexChromosomesReport {
  xchrModel: XchrModel;
  sexFile: string;
  sexColumn?: SexColumnReport;
  xSkipped: number;
  x?: MtSexChromosomeNull;
  y?: MtSexChromosomeNull;
  mt?: { variants: number; coding: 'haploid' };
}

/** One dropped sample, as the JSON report holds it. */
export type MtDroppedSample = DroppedSampleReport;

/** A top association of one test. */
export interface MtgwasHit {
  chrom: string;
  pos: number;
  id: string;
  beta: number[];
  pvalue: number;
  log10p: number;
}

/** The JSON report (PREFIX.json) of a `runMtgwas` run. */
export interface MtgwasReport {
  command: 'mtgwas';
  /** Version, command line, start and end times and machine (absent when the library is called without `run`). */
  run?: RunMetadata;
  genotypes: GenotypesReport;
  /** What --keep/--remove and --extract/--exclude/--chr/--from-bp/--to-bp removed (absent without those options). */
  selection?: SelectionReport;
  /** The threads asked for with --threads and those in use (absent without --threads). */
  threads?: ThreadsReport;
  options: {
    tests: TraitTest[];
    maf: number;
    maxMissing: number;
    region: string | null;
    gaussianize: boolean;
    standardize: boolean;
    covar: string | null;
    ids: TableIds;
  };
  /** The missing-phenotype code (-9 by default) and how many values of each phenotype and covariate file it made missing. */
  inputMissingPhenotype: MissingCodeReport;
  /** The categorical --covar columns, their levels (natural order, with counts), reference and dummy columns (absent when none). */
  categoricalCovariates?: FactorColumn[];
  /** nonPsdKinship: with --allow-non-psd-kinship, the negative eigenvalues beyond rounding set to 0 (absent when none). */
  kinship: (
    | { source: 'file'; file: string }
    | {
        source: 'genotypes';
        method: 'standardized';
        variantsUsed: number;
        variantsSkipped: number;
        /** With --loco: the informative variants of each chromosome, left out of its own kinship. */
        loco?: { chrom: string; variants: number }[];
      }
  ) & {
    nonPsdKinship?: { eigenvaluesClamped: number; mostNegative: number };
  };
  traits: string[];
  /** The traits with two values only on the analysed samples (a case-control code), analysed as quantitative. */
  binaryTraits: string[];
  samples: number;
  covariates: string[];
  covariatesDropped: { name: string; reason: string }[];
  nullModel: {
    model: 'kron-sum';
    method: 'REML';
    /** Trait covariances (rows and columns in `traits` order), FreeFormCov jitter 1e-4 included. */
    cg: number[][];
    cn: number[][];
    /** limix's gp.LML() (negative REML log-likelihood without 2 pi) and the REML log-likelihood. */
    lml: number;
    logLikReml: number;
    gradNorm: number;
    iterations: number;
    converged: boolean;
    /** beta[covariate][trait]: the null fixed effects B. */
    beta: Record<string, Record<string, number>>;
    /** Null residual variance scale s20 (limix's MTLMM). */
    s20: number;
  };
  output: string;
  /** With --gz: the tabix index of `output`. */
  index?: string;
  variants: { selected: number; tested: number; filtered: number; untestable: Record<string, number> };
  top: Record<string, MtgwasHit[]>;
  /** chrX, chrY and MT: each sex chromosome's samples and null model (absent when the selection has none). */
  sexChromosomes?: MtSexChromosomesReport;
  /**
   * With --loco: each chromosome's null model (REML on the kinship without
   * it), in file order; `nullModel` is then the fit on every variant's
   * kinship, reported and used by no test.
   */
  loco?: MtLocoChromReport[];
  match: { counts: { source: string; file: string; samples: number; used: number }[]; dropped: MtDroppedSample[] };
  backend: string;
  seconds: number;
}

/**
 * `lmmkit mtgwas`: one multi-trait LMM (limix-lmm's MTLMM) over several
 * phenotype columns. Samples need every trait and covariate observed (the
 * others are dropped and reported); the null model Cg (x) R + Cn (x) I is fitted once by
 * REML (`fitKronSumNull`), then the genotype file is streamed through the
 * any-effect and/or common-effect tests. Writes PREFIX.tsv and PREFIX.json,
 * both staged and renamed into place only when the run succeeded.
 */
export async function runMtgwas(options: MtgwasRunOptions): Promise<MtgwasReport> {
  const t0 = performance.now();
  const opts = withLoco('mtgwas', options);
  const log = opts.log ?? (() => {});
  const o = checkOptions(opts);
  // A kinship from the genotypes reads the whole file: a VCF index answers the region only without one.
  const vcfRegion = opts.kinshipFromGenotypes === true ? undefined : opts.region;
  const chunk = opts.chunk;
  const partOut = chunkOutPrefix('mtgwas', opts.out, chunk);
  const spans: PartManifest['spans'] = [];
  const report = await withGenotypes({ ...opts, vcfRegion }, async (source, outputs, selection) => {
    const { select, selected } = selectRegion(source, o.region, opts.region);
    const genotype = genotypeSide(source, opts);
    const pheno = await readPhenotypes(opts, o.ids, genotype, log);
    const covar = await readCovariates(opts, o.ids, genotype, log);
    const kinFile: KinshipTable | undefined = opts.kinship === undefined ? undefined : await readKinship(opts.kinship, { ids: source.samples });
    const traits = pheno.columns;
    const missingCode = applyMissingPhenotype(o.missingCode, { pheno, covar }, log);

    // Samples: the shared match, then every trait observed.
    const match = matchSamples({ genotype, phenotype: pheno, covariates: covar, kinship: kinFile });
    const keepPos: number[] = [];
    const traitDropped: MtDroppedSample[] = [];
    for (let pos = 0; pos < match.keep.length; pos++) {
      const t = traits.findIndex((_, c) => match.phenotypeMask[c]![pos] !== 1);
      if (t < 0) keepPos.push(pos);
      else {
        const g = match.keep[pos]!;
        traitDropped.push({
          fid: source.samples.fid[g]!,
          iid: source.samples.iid[g]!,
          source: 'phenotype',
          reason: `missing phenotype '${traits[t]}' in ${pheno.file} (mtgwas needs every trait)`,
        });
      }
    }
    log(formatMatchReport(match).trimEnd());
    for (const line of groupReasons(traitDropped)) log(`  ${line}`);
    const n = keepPos.length;
    const p = traits.length;
    if (n < 3) throw new SelectionError('NO_SAMPLES', `${pheno.file}: ${n} samples have every trait (${traits.join(', ')}) observed, too few to fit a model`);
    const outTsv = `${partOut}.tsv${o.gz ? '.gz' : ''}`;
    const outIndex = o.gz ? `${outTsv}.tbi` : undefined;
    const outJson = `${partOut}.json`;
    await checkOutputs([outTsv, ...(outIndex === undefined ? [] : [outIndex]), outJson], [...genotypeFiles(opts), opts.pheno, opts.covar, opts.kinship]);

    const samples = Int32Array.from(keepPos, (pos) => match.keep[pos]!);

    // chrX, chrY and MT as plink2 --glm scans them (gwas-sex.ts); sexes from --sex-col or the genotype file.
    const sexes = sexModel(
      source,
      select,
      o.xchrModel,
      { sexCol: opts.sexCol, pheno, covar, keep: match.keep, rows: (from) => match.index[from]! },
      opts,
      opts.warn,
    );
    const { runs: sexRuns, sex, column: sexColumn, file: sexFile } = sexes;
    if (opts.loco === true && sexRuns !== undefined && sexRuns.runs.some((r) => r.kind === 'x' || r.kind === 'y')) {
      throw bad(
        `mtgwas --loco: the selection has ${sexRuns.counts.x} chrX and ${sexRuns.counts.y} chrY variants, which plink2's rules scan on other samples than the autosomes; leave them out (e.g. --chr 1-22; --xchr-model 0 skips chrX) or drop --loco`,
      );
    }
    // Traits.
    const y = new Matrix(n, p);
    const binaryTraits: string[] = [];
    for (let c = 0; c < p; c++) {
      let col: Float64Array = Float64Array.from(keepPos, (pos) => pheno.values.data[match.index.phenotype![pos]! + c * pheno.values.rows]!);
      const levels = twoValues(col);
      if (levels !== undefined) {
        binaryTraits.push(traits[c]!);
        opts.warn?.(binaryNotice(traits[c]!, pheno.file, levels, n));
      }
      if (o.gaussianize) col = gaussianize(col);
      y.data.set(col, c * n);
    }
    // Covariates: the intercept, then the covariate columns that vary on these samples.
    const { names, f, covariatesDropped } = covariateDesign(n, covar, () => Int32Array.from(keepPos, (pos) => match.index.covariates![pos]!));
    if (n * p <= f.cols * p + p * (p + 1)) {
      throw new SelectionError('NO_SAMPLES', `${n} samples are too few for ${p} traits and ${f.cols} covariates (with the intercept)`);
    }
    // The traits must not be constant or collinear: the null fit starts from their covariance.
    if (choleskyLower(sampleCovariance(y).data, p) === null) {
      throw new InputError(
        { file: pheno.file },
        `expected traits that vary and are not collinear on the ${n} analysed samples, found a singular covariance of ${traits.join(', ')}`,
      );
    }

    // The kinship of the analysed samples.
    let k: Matrix;
    let kinReport: MtgwasReport['kinship'];
    let loco: LocoKinship | undefined;
    if (opts.loco === true) {
      // The whole crossproduct is kept: each chromosome's kinship is made from it when its variants come.
      loco = await locoPass(source, samples, opts.progress, log);
      k = wholeKinship(loco);
      kinReport = {
        source: 'genotypes',
        method: 'standardized',
        variantsUsed: loco.used,
        variantsSkipped: loco.skipped,
        loco: Array.from(loco.usedByChrom, ([chrom, variants]) => ({ chrom, variants })),
      };
    } else if (kinFile !== undefined) {
      // The file's matrix is needed no more: the analysed samples' rows are compacted into its buffer.
      k = subMatrixInPlace(
        kinFile.k,
        Int32Array.from(keepPos, (pos) => match.index.kinship![pos]!),
      );
      kinReport = { source: 'file', file: kinFile.file };
    } else {
      const res = await standardizedKinship(source, samples, opts.progress, log);
      k = res.k;
      kinReport = { source: 'genotypes', method: 'standardized', variantsUsed: res.variantsUsed, variantsSkipped: res.variantsSkipped };
    }

    // The kinship's eigendecomposition (fitKronSumNull's own, done here to
    // check the kinship with its name first), in K's own buffer unless the
    // chrX/chrY nulls need K on their samples afterwards.
    const allowNonPsd = opts.allowNonPsdKinship === true;
    const sexNulls = sexRuns?.runs.some((r) => r.kind === 'x' || r.kind === 'y') ?? false;
    const eigen = sexNulls ? getBackend().syevd(k) : getBackend().syevdInPlace(k);
    const spectrum = checkRunKinship(eigen.values, kinFile?.file ?? `the kinship computed from ${source.path}`, allowNonPsd, n);
    kinReport = { ...kinReport, ...nonPsdReport(spectrum) };

    // Null model and scan.
    const t1 = performance.now();
    const fit = fitInContextSync(`traits ${traits.join(', ')} of ${pheno.file} (${n} samples): cannot fit the multi-trait null model`, () =>
      fitKronSumNull({ y, covariates: f, kinship: eigen, allowNonPsd }),
    );
    const model = new Mtlmm({ y, covariates: f, covariance: fit.covariance });
    log(
      `null model: ${p} traits, ${n} samples, REML lml ${fit.lml.toFixed(6)} (gradient norm ${fit.gradNorm.toExponential(2)}, ${fit.iterations} iterations) in ${((performance.now() - t1) / 1000).toFixed(2)} s`,
    );
    const designs = o.tests.map((t) => traitTestDesign(t, p));

    // The chrX and chrY nulls: plink2's samples for them, sex a covariate on chrX, a REML fit of their own.
    const scans: Partial<Record<'x' | 'y', { source: GenotypeSource; samples: Int32Array; model: Mtlmm }>> = {};
    let sexReport: MtSexChromosomesReport | undefined;
    if (sexRuns !== undefined && sex !== undefined) {
      sexReport = {
        xchrModel: o.xchrModel,
        sexFile,
        ...(sexColumn === undefined ? {} : { sexColumn: sexColumn.report }),
        xSkipped: sexRuns.xSkipped,
        ...(sexRuns.counts.mt === 0 ? {} : { mt: { variants: sexRuns.counts.mt, coding: 'haploid' as const } }),
      };
      for (const kind of ['x', 'y'] as const) {
        if (!sexRuns.runs.some((r) => r.kind === kind)) continue;
        const rows: number[] = [];
        for (let i = 0; i < n; i++) {
          const s = sex[samples[i]!]!;
          if (kind === 'x' ? s === 1 || s === 2 : s === 1) rows.push(i);
        }
        const r = Int32Array.from(rows);
        const m = r.length;
        const sexCol = Float64Array.from(r, (i) => sex[samples[i]!]!);
        const addSex = kind === 'x' && !sexCol.every((v) => v === sexCol[0]);
        const ys = subRows(y, r);
        const fs = new Matrix(m, f.cols + (addSex ? 1 : 0));
        fs.data.set(subRows(f, r).data);
        if (addSex) fs.data.set(sexCol, f.cols * m);
        const label = kind === 'x' ? 'chrX (samples of known sex, sex a covariate)' : 'chrY (males)';
        if (m * p <= fs.cols * p + p * (p + 1)) {
          throw new SelectionError('NO_SAMPLES', `${m} samples on ${label} (sexes from ${sexFile}) are too few for ${p} traits and ${fs.cols} covariates`);
        }
        const kEigen = getBackend().syevdInPlace(subMatrix(k, r));
        checkRunKinship(kEigen.values, `${kinFile?.file ?? `the kinship computed from ${source.path}`} on ${label}`, allowNonPsd, m);
        const sub = fitInContextSync(`traits ${traits.join(', ')} of ${pheno.file} on ${label}, ${m} samples: cannot fit the multi-trait null model`, () =>
          fitKronSumNull({ y: ys, covariates: fs, kinship: kEigen, allowNonPsd }),
        );
        const subModel = new Mtlmm({ y: ys, covariates: fs, covariance: sub.covariance });
        const males = Int32Array.from(Array.from(sexCol.keys()).filter((i) => sexCol[i] === 1));
        // plink2 codes haploid males 0..1 on chrY whatever the model, and on chrX with model 1.
        const halve = (kind === 'y' || o.xchrModel === 1) && males.length > 0;
        scans[kind] = { source: halve ? halveMales(source, males) : source, samples: Int32Array.from(r, (i) => samples[i]!), model: subModel };
        sexReport[kind] = {
          variants: sexRuns.counts[kind],
          samples: m,
          samplesDropped: n - m,
          covariates: addSex ? [...names, 'sex'] : [...names],
          ...(kind === 'x' && !addSex ? { sexCovariateDropped: `constant on the ${m} samples of known sex` } : {}),
          nullModel: subNullReport(sub, subModel.s20),
        };
        log(`  ${label}: ${sexRuns.counts[kind]} variants, ${m} samples, REML lml ${sub.lml.toFixed(6)}`);
      }
    }
    const out = await TableOutput.open(outputs, outTsv, mtgwasHeader(o.tests).join('\t'), o.gz, o.gz);
    const counts = { tested: 0, untestable: Object.fromEntries(o.tests.map((t) => [t, 0])) as Record<string, number> };
    const top: Record<string, MtgwasHit[]> = Object.fromEntries(o.tests.map((t) => [t, []]));
    const scanUnder = async (
      u: { source: GenotypeSource; samples: Int32Array; model: Mtlmm },
      sel: VariantSelection | undefined,
      bar: ((p: GenoProgress) => void) | undefined,
      haploid: boolean,
    ): Promise<void> => {
      for await (const batch of mtlmmScan({
        source: u.source,
        samples: u.samples,
        model: u.model,
        designs,
        select: sel,
        batchSize: o.batchSize,
        minMaf: o.maf,
        maxMissing: o.maxMissing,
        standardize: opts.standardize === true,
        onProgress: bar,
      })) {
        counts.tested += batch.indices.length;
        // MT coded 0..1 as plink2 codes it: beta and se doubled (gwas-sex.ts).
        if (haploid && opts.standardize !== true) for (const r of batch.results) doubled(r.beta.data, r.betaSte.data);
        await out.add(formatRows(batch, o.tests, counts.untestable, top));
      }
    };
    const whole = { source, samples, model };
    const locoReports: MtLocoChromReport[] = [];
    // --loco: per chromosome (runs in file order), its kinship, its null fit, then its variants under it.
    const scanLoco = async (lk: LocoKinship): Promise<void> => {
      let done = 0;
      let spare: Float64Array | undefined;
      for (const run of chromRuns(source.variants.chrom, resolveSelection(source.variants, select, source.path))) {
        const { k: kc, variants } = await leaveChromOut(lk, run.chrom, run.indices.length, opts.progress, spare);
        // kc's buffer becomes this chromosome's eigenvectors, needed no more once its scan is done.
        const buffer = kc.data;
        const label = `the kinship without chromosome ${run.chrom} computed from ${source.path}`;
        const cEigen = withStep(opts.progress, `eigendecomposition (${n} x ${n}) without chromosome ${run.chrom}`, () => getBackend().syevdInPlace(kc));
        checkRunKinship(cEigen.values, label, allowNonPsd, n);
        const sub = fitInContextSync(
          `traits ${traits.join(', ')} of ${pheno.file} (${n} samples) without chromosome ${run.chrom}: cannot fit the multi-trait null model`,
          () => withStep(opts.progress, `null fit without chromosome ${run.chrom}`, () => fitKronSumNull({ y, covariates: f, kinship: cEigen, allowNonPsd })),
        );
        const cModel = new Mtlmm({ y, covariates: f, covariance: sub.covariance });
        locoReports.push({
          chrom: run.chrom,
          variants: run.indices.length,
          kinshipVariants: variants,
          nullModel: subNullReport(sub, cModel.s20),
        });
        log(`  chromosome ${run.chrom}: ${run.indices.length} variants, kinship of ${variants} variants, REML lml ${sub.lml.toFixed(6)}`);
        const offset = done;
        await withProgress(
          opts.progress,
          (bar) =>
            scanUnder(
              { source, samples, model: cModel },
              { indices: run.indices },
              (q) => bar?.({ variantsRead: offset + q.variantsRead, total: selected, fraction: (offset + q.variantsRead) / selected }),
              chromCode(run.chrom) === 26,
            ),
          `scan, chromosome ${run.chrom}`,
        );
        spare = buffer;
        done += run.indices.length;
      }
    };
    if (loco !== undefined) await scanLoco(loco);
    else
      await withProgress(
        opts.progress,
        async (bar) => {
          if (chunk !== undefined) {
            // The chunk's batches of each run, under that run's null (chunks.ts), as gwas cuts them.
            const runs = sexRuns?.runs ?? [{ kind: 'auto' as const, indices: resolveSelection(source.variants, select, source.path) }];
            const unders = runs.map((run) => (run.kind === 'auto' || run.kind === 'mt' ? whole : scans[run.kind]!));
            const planned = await scanChunk(runs, unders, o.batchSize, chunk, (under, sc) => scanUnder(under, sc.select, bar, runs[sc.run]!.kind === 'mt'));
            spans.push({ key: 'mtgwas', ...planned });
            return;
          }
          if (sexRuns === undefined) return scanUnder(whole, select, bar, false);
          let done = 0;
          for (const run of sexRuns.runs) {
            const under = run.kind === 'auto' || run.kind === 'mt' ? whole : scans[run.kind]!;
            const offset = done;
            await scanUnder(
              under,
              { indices: run.indices },
              (q) => bar?.({ variantsRead: offset + q.variantsRead, total: selected, fraction: (offset + q.variantsRead) / selected }),
              run.kind === 'mt',
            );
            done += run.indices.length;
          }
        },
        'scan',
      );
    await out.close();

    // fromEntries defines own properties: a covariate or trait named __proto__ stays a key.
    const beta: Record<string, Record<string, number>> = Object.fromEntries(
      names.map((nm, a) => [nm, Object.fromEntries(traits.map((t, c) => [t, fit.beta.data[a + c * names.length]!]))]),
    );
    const dropped: MtDroppedSample[] = [...match.dropped.map(droppedReport), ...traitDropped];
    for (const line of quirkWarnings(source)) opts.warn?.(line);
    const report: MtgwasReport = {
      command: 'mtgwas',
      ...runEntry(opts.run),
      genotypes: genotypesReport(source, opts),
      ...(selection === undefined ? {} : { selection }),
      ...(opts.threads === undefined ? {} : { threads: threadsReport(opts.threads) }),
      options: {
        tests: o.tests,
        maf: o.maf,
        maxMissing: o.maxMissing,
        region: opts.region ?? null,
        gaussianize: o.gaussianize,
        standardize: opts.standardize === true,
        covar: covar?.file ?? null,
        ids: o.ids,
      },
      inputMissingPhenotype: missingCode,
      ...factorsReport(covar),
      kinship: kinReport,
      traits: [...traits],
      binaryTraits,
      samples: n,
      covariates: names,
      covariatesDropped,
      nullModel: {
        model: 'kron-sum',
        method: 'REML',
        cg: fit.cg.toArray(),
        cn: fit.cn.toArray(),
        lml: fit.lml,
        logLikReml: fit.logLik,
        gradNorm: fit.gradNorm,
        iterations: fit.iterations,
        converged: fit.converged,
        beta,
        s20: model.s20,
      },
      output: outTsv,
      ...(outIndex === undefined ? {} : { index: outIndex }),
      variants: { selected, tested: counts.tested, filtered: selected - counts.tested, untestable: counts.untestable },
      top,
      ...(sexReport === undefined ? {} : { sexChromosomes: sexReport }),
      ...(loco === undefined ? {} : { loco: locoReports }),
      match: { counts: match.counts.map((c) => ({ source: c.source as string, file: c.file, samples: c.samples, used: n })), dropped },
      backend: getBackend().name,
      seconds: (performance.now() - t0) / 1000,
    };
    await outputs.whole(outJson, `${JSON.stringify(report, null, 2)}\n`);
    await outputs.commit();
    log(`${counts.tested} of ${selected} variants tested (${selected - counts.tested} filtered) -> ${outTsv}`);
    log(`report -> ${outJson}`);
    return report;
  });
  if (chunk !== undefined) {
    const manifest = await writeScanPart(
      partOut,
      {
        command: 'mtgwas',
        chunk,
        spans,
        inputs: [
          ...genotypeFiles(opts).map((f): [string, string] => ['genotypes', f]),
          ...selectionFiles(opts).map((f): [string, string | undefined] => ['selection', f]),
          ['pheno', opts.pheno],
          ['covar', opts.covar],
          ['kinship', opts.kinship],
        ],
        options: opts,
        plot: false,
        gz: false,
        report: `${partOut}.json`,
        // One table, whatever its columns: merge concatenates the parts' rows in chunk order.
        tables: [{ trait: null, format: 'mtgwas', file: basename(report.output), suffix: '.tsv', rows: report.variants.tested }],
      },
      opts.fingerprint,
    );
    log(`part manifest -> ${manifest}`);
  }
  return report;
}

/**
 * The TSV header for the tests run, in order: lmmkit's conventions (the
 * counted allele as effect_allele, a positive -log10 p named as such).
 */
export function mtgwasHeader(tests: readonly TraitTest[]): string[] {
  const h = ['chrom', 'pos', 'id', 'effect_allele', 'other_allele', 'eaf', 'n'];
  for (const t of tests) h.push(`beta_${t}`, `se_${t}`, `stat_${t}`, `pvalue_${t}`, `neg_log10_p_${t}`);
  return h;
}

/**
 * The TSV lines of one batch, numbers as `lmmkit gwas` writes them (6
 * significant digits, p below 1e-300 from its log, -log10 p to 4 decimals,
 * eaf to one allele in 2n), counting untestable tests and noting the best
 * of each.
 */
function formatRows(batch: MtlmmBatchResult, tests: readonly TraitTest[], untestable: Record<string, number>, top: Record<string, MtgwasHit[]>): OutLine[] {
  const v = batch.variants;
  const f = (x: number): string => formatSig(x);
  const lines: OutLine[] = [];
  for (let j = 0; j < batch.indices.length; j++) {
    const fields = [v.chrom[j]!, String(v.pos[j]!), v.id[j]!, v.a1[j]!, v.a2[j]!, formatFreq(batch.af[j]!, batch.n[j]!), String(batch.n[j]!)];
    tests.forEach((t, ti) => {
      const r = batch.results[ti]!;
      const m = r.beta.rows;
      const beta = Array.from(r.beta.data.subarray(j * m, (j + 1) * m));
      fields.push(
        beta.map(f).join(';'),
        Array.from(r.betaSte.data.subarray(j * m, (j + 1) * m), f).join(';'),
        f(r.lrt[j]!),
        formatP(r.pv[j]!, r.log10pv[j]!),
        formatNegLog10(r.log10pv[j]!, 'NA', 4),
      );
      if (Number.isNaN(r.pv[j]!)) untestable[t]!++;
      noteHit(top[t]!, { chrom: v.chrom[j]!, pos: v.pos[j]!, id: v.id[j]!, beta, pvalue: r.pv[j]!, log10p: r.log10pv[j]! });
    });
    lines.push({ chrom: v.chrom[j]!, pos: v.pos[j]!, line: fields.join('\t') });
  }
  return lines;
}

type CheckedOptions = { tests: TraitTest[]; xchrModel: XchrModel; gz: boolean } & FilterOptions & TraitOptions;

function checkOptions(opts: MtgwasRunOptions): CheckedOptions {
  checkInputOptions('mtgwas', opts);
  if ((opts.kinship === undefined) === (opts.kinshipFromGenotypes !== true)) {
    throw bad(
      opts.kinship === undefined
        ? 'mtgwas: needs a kinship for Cg (x) R: give --kinship FILE or --kinship-from-bfile'
        : 'mtgwas: give one kinship, found --kinship and --kinship-from-bfile',
    );
  }
  const test = opts.test ?? 'both';
  if (!['any', 'common', 'both'].includes(test)) throw bad(`--test: expected any, common or both, found '${String(test)}'`);
  const filters = checkFilterOptions(opts);
  // GWAS-SSF, regenie, plink2 and GEMMA hold one trait's one beta per row; the any-effect test has P betas, and
  // both tests are joint over the traits: a file in those layouts would misstate what was tested.
  for (const f of opts.outFormat ?? ['lmmkit'])
    if (f !== 'lmmkit')
      throw bad(
        `--out-format ${f}: mtgwas's multi-trait tests (P betas per variant, one joint p-value) have no ${f} layout; mtgwas writes the lmmkit format only`,
      );
  // The parts are plain tables that merge concatenates; a BGZF table is sorted over the whole scan.
  if (opts.gz === true && opts.chunk !== undefined)
    throw bad("mtgwas --chunk: writes plain parts; give --gz to neither (compress the merged table with 'bgzip' and index it with 'tabix')");
  return {
    tests: test === 'both' ? ['any', 'common'] : [test],
    xchrModel: checkXchrModel(opts.xchrModel),
    gz: opts.gz === true,
    ...filters,
    ...checkTraitOptions(opts),
  };
}

/** Rows `rows` of `m`, all columns. */
function subRows(m: Matrix, rows: Int32Array): Matrix {
  const out = new Matrix(rows.length, m.cols);
  for (let c = 0; c < m.cols; c++) for (let i = 0; i < rows.length; i++) out.data[i + c * rows.length] = m.data[rows[i]! + c * m.rows]!;
  return out;
}
