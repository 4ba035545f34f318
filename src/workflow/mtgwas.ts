// `lmmkit mtgwas` as one call: one multi-trait LMM (limix-lmm's MTLMM) over
// several phenotype columns, its null model fitted once, the genotype file
// streamed through the any-effect and common-effect tests.
import { InputError, SelectionError } from '../errors.js';
import { covariateDesign } from '../data/covariates.js';
import { gaussianize } from '../data/gaussianize.js';
import type { KinshipTable } from '../data/kinship-table.js';
import { readKinship } from '../data/node/tables.js';
import { formatMatchReport, matchSamples } from '../data/match.js';
import { formatNumber } from '../data/write-tsv.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import { choleskyLower } from '../linalg/small.js';
import { subMatrix } from '../linalg/submatrix.js';
import { fitKronSumNull } from '../nullmodel/fit-kron-sum.js';
import { checkRunKinship, nonPsdReport } from './gwas-null.js';
import { fitInContextSync } from './fit-context.js';
import { sexChromRuns } from './gwas-sex.js';
import { sampleCovariance } from '../nullmodel/kron-sum-dense.js';
import { Mtlmm, mtlmmScan, traitTestDesign, type MtlmmBatchResult, type TraitTest } from '../scan/mtlmm.js';
import { binaryNotice, twoValues } from './gwas-inputs.js';
import {
  applyMissingPhenotype,
  genotypeFiles,
  genotypeSide,
  genotypesReport,
  quirkWarnings,
  readKeyedTable,
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
import type { SelectionReport } from './selection.js';
import { threadsReport, type ThreadsReport } from './threads.js';
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
  /** nonPsdKinship: with --allow-non-psd-kinship, the negative eigenvalues beyond rounding set to 0 (absent when none). */
  kinship: ({ source: 'file'; file: string } | { source: 'genotypes'; method: 'standardized'; variantsUsed: number; variantsSkipped: number }) & {
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
  variants: { selected: number; tested: number; filtered: number; untestable: Record<string, number> };
  top: Record<string, MtgwasHit[]>;
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
export async function runMtgwas(opts: MtgwasRunOptions): Promise<MtgwasReport> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const o = checkOptions(opts);
  // A kinship from the genotypes reads the whole file: a VCF index answers the region only without one.
  const vcfRegion = opts.kinshipFromGenotypes === true ? undefined : opts.region;
  return withGenotypes({ ...opts, vcfRegion }, async (source, outputs, selection) => {
    const { select, selected } = selectRegion(source, o.region, opts.region);
    // plink2's chrX and chrY models (sex covariate, male coding) are gwas's
    // only: say so rather than scan the sex chromosomes as autosomes silently.
    const sexRuns = sexChromRuns(source, select, 2);
    if (sexRuns !== undefined) {
      opts.warn?.(
        `${source.path}: ${sexRuns.counts.x} chrX and ${sexRuns.counts.y} chrY variants scanned like the autosomes (mtgwas has no sex-chromosome model yet; lmmkit gwas --xchr-model has plink2's; --chr leaves them out)`,
      );
    }
    const genotype = genotypeSide(source, opts);
    const pheno = await readKeyedTable(opts.pheno, o.ids, genotype, opts.phenoCol);
    const covar = opts.covar === undefined ? undefined : await readKeyedTable(opts.covar, o.ids, genotype);
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
    const outTsv = `${opts.out}.tsv`;
    const outJson = `${opts.out}.json`;
    await checkOutputs([outTsv, outJson], [...genotypeFiles(opts), opts.pheno, opts.covar, opts.kinship]);

    const samples = Int32Array.from(keepPos, (pos) => match.keep[pos]!);
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
    if (kinFile !== undefined) {
      k = subMatrix(
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
    // check the kinship with its name first).
    const allowNonPsd = opts.allowNonPsdKinship === true;
    const eigen = getBackend().syevd(k);
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
    const out = await outputs.stage(outTsv);
    await out.write(`${mtgwasHeader(o.tests).join('\t')}\n`);
    const counts = { tested: 0, untestable: Object.fromEntries(o.tests.map((t) => [t, 0])) as Record<string, number> };
    const top: Record<string, MtgwasHit[]> = Object.fromEntries(o.tests.map((t) => [t, []]));
    await withProgress(opts.progress, async (bar) => {
      for await (const batch of mtlmmScan({
        source,
        samples,
        model,
        designs,
        select,
        batchSize: o.batchSize,
        minMaf: o.maf,
        maxMissing: o.maxMissing,
        standardize: opts.standardize === true,
        onProgress: bar,
      })) {
        counts.tested += batch.indices.length;
        await out.write(formatRows(batch, o.tests, counts.untestable, top));
      }
    });
    await out.close();

    // fromEntries defines own properties: a covariate or trait named __proto__ stays a key.
    const beta: Record<string, Record<string, number>> = Object.fromEntries(
      names.map((nm, a) => [nm, Object.fromEntries(traits.map((t, c) => [t, fit.beta.data[a + c * names.length]!]))]),
    );
    const dropped: MtDroppedSample[] = [...match.dropped.map(droppedReport), ...traitDropped];
    for (const line of quirkWarnings(source)) opts.warn?.(line);
    const report: MtgwasReport = {
      command: 'mtgwas',
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
      variants: { selected, tested: counts.tested, filtered: selected - counts.tested, untestable: counts.untestable },
      top,
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
}

/** The TSV header for the tests run, in order. */
export function mtgwasHeader(tests: readonly TraitTest[]): string[] {
  const h = ['chrom', 'pos', 'id', 'a1', 'a2', 'af', 'n'];
  for (const t of tests) h.push(`beta_${t}`, `se_${t}`, `stat_${t}`, `pvalue_${t}`, `log10p_${t}`);
  return h;
}

/** The TSV rows of one batch, counting untestable tests and noting the best of each. */
function formatRows(batch: MtlmmBatchResult, tests: readonly TraitTest[], untestable: Record<string, number>, top: Record<string, MtgwasHit[]>): string {
  const v = batch.variants;
  const f = formatNumber;
  const lines: string[] = [];
  for (let j = 0; j < batch.indices.length; j++) {
    const fields = [v.chrom[j]!, f(v.pos[j]!), v.id[j]!, v.a1[j]!, v.a2[j]!, f(batch.af[j]!), String(batch.n[j]!)];
    tests.forEach((t, ti) => {
      const r = batch.results[ti]!;
      const m = r.beta.rows;
      const beta = Array.from(r.beta.data.subarray(j * m, (j + 1) * m));
      fields.push(beta.map(f).join(';'), Array.from(r.betaSte.data.subarray(j * m, (j + 1) * m), f).join(';'), f(r.lrt[j]!), f(r.pv[j]!), f(r.log10pv[j]!));
      if (Number.isNaN(r.pv[j]!)) untestable[t]!++;
      noteHit(top[t]!, { chrom: v.chrom[j]!, pos: v.pos[j]!, id: v.id[j]!, beta, pvalue: r.pv[j]!, log10p: r.log10pv[j]! });
    });
    lines.push(fields.join('\t'));
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

type CheckedOptions = { tests: TraitTest[] } & FilterOptions & TraitOptions;

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
  return { tests: test === 'both' ? ['any', 'common'] : [test], ...filters, ...checkTraitOptions(opts) };
}
