// `lmmkit gwas --method inf`: BOLT-LMM's infinitesimal model (Loh et al.
// 2015, Nature Genetics 47:284) on the gwas workflow's inputs and outputs.
// The kinship K = Z Z^T / M of the model SNPs is never formed: they are
// packed two bits per genotype (src/infmodel), the variance components come
// from Monte Carlo REML and every variant is tested leave-one-chromosome-out.
import { chromCode } from '../data/chrom.js';
import { dialectRefusal } from '../data/gwas-dialects.js';
import { analysedSelection, type GenotypeSource } from '../data/genotypes.js';
import { readLines } from '../data/node/files.js';
import { inclusiveFilteredBatches } from '../data/variant-filter.js';
import { resolveSelection, type VariantSelection } from '../data/variants.js';
import { SelectionError } from '../errors.js';
import { type InfAssoc, infAssocTest, prepareInfAssoc } from '../infmodel/assoc.js';
import { createGrmOperator } from '../infmodel/grm-operator.js';
import { type PackedModelSnps, packModelSnps } from '../infmodel/model-snps.js';
import { fitInfNull, type InfNullFit } from '../infmodel/reml-mc.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import type { GwasBatchResult } from '../scan/gwas.js';
import { fitInContext } from './fit-context.js';
import { factorsReport } from './phenotypes.js';
import { binaryNotice, checkTraitSizes, readGwasInputs, traitData } from './gwas-inputs.js';
import { dialectLines, TableOutput } from './gwas-outputs.js';
import { plotFiles, stagePlots } from './gwas-plots.js';
import {
  describeNull,
  EFFECT_ALLELE_NOTE,
  type GwasHit,
  type GwasReport,
  type InfCovarianceReport,
  type InfNullReport,
  type TraitReport,
} from './gwas-report.js';
import { formatBatch } from './gwas-rows.js';
import { sourceCounts } from './gwas-samples.js';
import { checkTableOptions, closeTraitTables, type GwasTableOptions, lmmkitVersion, traitTables } from './gwas-tables.js';
import { genotypeFiles, genotypesReport, openGenotypes, quirkWarnings, selectRegion, withGenotypes, withProgress } from './inputs.js';
import { bad, checkFilterOptions, checkInputOptions, checkOutputs, checkTraitOptions, type ScanRunOptions } from './options.js';
import { droppedReport, type DroppedSampleReport } from './report.js';
import { runEntry } from './run-info.js';
import { selectionFiles } from './selection.js';
import { threadsReport } from './threads.js';

/** The options that choose and tune the infinitesimal model (part of `GwasRunOptions`). */
export interface InfOptions {
  /** 'kinship' (default: the kinship, low-rank or OLS null of `runGwas`) or 'inf' (`runInfGwas`). */
  method?: 'kinship' | 'inf';
  /** Monte Carlo trials of the REML (default `defaultMcTrials(N, M)`: 15 to 100). */
  infMcTrials?: number;
  /** Seed of the Monte Carlo draws, the calibration SNPs and the eigen solver (default 1). */
  infSeed?: number;
  /** Calibration model SNPs (default 48). */
  infCalibSnps?: number;
  /** Top eigenpairs of the structure correction (default 10; 0: BOLT's single calibration ratio). */
  infEigen?: number;
  /**
   * Refit the variance components on each K_{-c} (one more Monte Carlo REML
   * per chromosome, as --loco refits the kinship model) and test each
   * chromosome under its own; default false: BOLT-LMM's one whole-genome delta.
   */
  infLocoReml?: boolean;
  /** PLINK 1 prefix of the model SNPs (default: the genotype input's analysed variants). */
  modelBfile?: string;
}

/** What `runInfGwas` reads: the gwas run's options (`GwasRunOptions` is one). */
export interface InfGwasRunOptions extends ScanRunOptions, InfOptions, GwasTableOptions {
  jsonPath?: string;
  /** Refused here, with the reason (each belongs to the kinship path). */
  lowrank?: string;
  inter?: string;
  step?: number;
  test?: 'fixed' | 'exact';
  nullModel?: string;
  chunk?: unknown;
}

/** The calibration SNPs by default: enough for gamma to a few tenths of a percent, one CG column each. */
const DEFAULT_CALIB_SNPS = 48;
/** Top eigenpairs of P K P by default. */
const DEFAULT_EIGEN = 10;

/**
 * The options the infinitesimal model does not take, refused with one line
 * each (BAD_ARGUMENT), and its own checked: --inf-mc-trials >= 2,
 * --inf-calib-snps >= 1, --inf-eigen >= 0, --inf-seed an integer.
 */
export function checkInfOptions(opts: InfGwasRunOptions): void {
  const no = (flag: string, why: string): Error => bad(`gwas --method inf: does not take ${flag}: ${why}`);
  if (opts.kinship !== undefined) throw no('--kinship', 'the kinship is that of the model SNPs, never formed (drop --kinship, or use --method kinship)');
  if (opts.kinshipFromGenotypes === true) throw no('--kinship-from-bfile', 'the model SNPs are read from the genotypes (or --model-bfile) already');
  if (opts.nullModel !== undefined) throw no('--null', 'the infinitesimal model is fitted by its own Monte Carlo REML on each run');
  if (opts.lowrank !== undefined) throw no('--lowrank', "its covariance is the model SNPs' kinship (use --method kinship for a low-rank one)");
  if ((opts.test ?? 'fixed') !== 'fixed') throw no(`--test ${opts.test}`, 'variance components are estimated once, under the null (use --method kinship)');
  if (opts.inter !== undefined) throw no('--inter', 'it tests one variant at a time (use --method kinship for interactions)');
  if ((opts.step ?? 1) !== 1) throw no(`--step ${opts.step}`, 'it tests one variant at a time');
  if (opts.chunk !== undefined) throw no('--chunk', 'every part would refit the model on all model SNPs; run chromosomes as separate jobs (--region) instead');
  if (opts.loco === true) throw no('--loco', 'it is always leave-one-chromosome-out (each variant is tested against the model SNPs of the other chromosomes)');
  const int = (flag: string, v: number | undefined, min: number): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw bad(`${flag}: expected an integer >= ${min}, found ${v}`);
  };
  int('--inf-mc-trials', opts.infMcTrials, 2);
  int('--inf-calib-snps', opts.infCalibSnps, 1);
  int('--inf-eigen', opts.infEigen, 0);
  if (opts.infSeed !== undefined && !Number.isInteger(opts.infSeed)) throw bad(`--inf-seed: expected an integer, found ${opts.infSeed}`);
}

/**
 * `lmmkit gwas --method inf`: per trait, y = C b + g + e with
 * g ~ N(0, sigma_g^2 Z Z^T / M) over the model SNPs Z (standardised like
 * the kinship path), fitted by Monte Carlo REML (`fitInfNull`), then each
 * selected variant x that passes the filters tested against the model
 * without its own chromosome: chi2 = (x~^T H_{-c}^-1 y~)^2 / (sigma_g^2
 * x~^T H_{-c}^-1 x~), the denominator calibrated (`prepareInfAssoc`).
 * Inputs, sample matching, filters, tables (the single-variant layout, in
 * every dialect), plots and the staged, all-or-nothing outputs are the
 * gwas workflow's; PREFIX.json's covariance is the model SNPs and each
 * trait's nullModel the inf fit. The model SNPs are packed once per
 * distinct sample set; chrX/chrY/MT variants are refused (their sex
 * coding is not modelled) and left out of the model SNPs.
 */
export async function runInfGwas(opts: InfGwasRunOptions): Promise<GwasReport> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  checkInputOptions('gwas', opts);
  checkInfOptions(opts);
  const filters = checkFilterOptions(opts);
  const traitOpts = checkTraitOptions(opts);
  const formats = checkTableOptions(opts);
  const gz = opts.gz === true;
  for (const fmt of formats) {
    const why = dialectRefusal(fmt, 'single');
    if (why !== undefined) throw bad(`--out-format ${fmt}: ${why}`);
  }
  return withGenotypes({ ...opts, vcfRegion: undefined }, async (source, outputs, selection) => {
    const { select, selected } = selectRegion(source, traitOpts.region, opts.region);
    refuseSexChromosomes(source, resolveSelection(source.variants, select, source.path));
    const inputs = await readGwasInputs(readLines, opts, filters.ids, filters.missingCode, source, log);
    const { match, extras, extraDropped, traits, pheno, covar } = inputs;
    const tables = traitTables(pheno.columns, opts, formats, 'single');
    const outputPaths = tables.map((t) => t[0]!.path);
    const jsonPath = opts.jsonPath ?? `${opts.out}.json`;
    const plotPaths = outputPaths.map((p) => plotFiles(p, opts.plot === true));
    await checkOutputs(
      [
        ...tables.flat().flatMap((t) => [t.path, ...(t.index === undefined ? [] : [t.index]), ...(t.meta === undefined ? [] : [t.meta])]),
        ...plotPaths.flatMap((p) => [...p.manhattan, ...p.qq]),
        jsonPath,
      ],
      [...genotypeFiles(opts), ...selectionFiles(opts), opts.pheno, opts.covar, opts.modelBfile === undefined ? undefined : `${opts.modelBfile}.bed`],
    );
    checkTraitSizes(inputs);

    const modelSource = opts.modelBfile === undefined ? source : await openGenotypes({ bfile: opts.modelBfile });
    try {
      const modelSelect = autosomal(modelSource, analysedSelection(modelSource, undefined));
      const toModel = modelSamples(source, modelSource);
      const packs = new Map<string, PackedModelSnps>();
      const reports: TraitReport[] = [];
      for (const tr of traits) {
        const t1 = performance.now();
        const { samples, y, f, names, covariatesDropped, binary } = traitData(inputs, tr, traitOpts.gaussianize);
        for (const d of covariatesDropped) {
          if (d.reason.startsWith('collinear')) opts.warn?.(`${covar?.file}: covariate '${d.name}' left out for trait '${tr.name}': ${d.reason}`);
        }
        const n = samples.length;
        if (binary !== undefined) opts.warn?.(binaryNotice(tr.name, pheno.file, binary, n));
        const key = Array.from(samples).join(',');
        let packed = packs.get(key);
        if (packed === undefined) {
          const rows = Int32Array.from(samples, (g) => toModel(g));
          packed = await withProgress(
            opts.progress,
            async (bar) => {
              const p = await packModelSnps(modelSource, { samples: rows, select: modelSelect });
              bar?.({ variantsRead: 1, total: 1, fraction: 1 });
              return p;
            },
            `packing the model SNPs of ${modelSource.path}`,
            'steps',
          );
          packs.set(key, packed);
          log(
            `model SNPs: ${packed.m} of ${modelSource.path} on ${n} samples (${packed.skipped} constant skipped), ${(packed.bytes / 2 ** 20).toFixed(1)} MiB packed`,
          );
        }
        const snps = packed;
        if (snps.chromNames.length < 2) {
          throw bad(
            `gwas --method inf: the model SNPs of ${modelSource.path} lie on ${snps.chromNames.length === 0 ? 'no chromosome' : `one chromosome (${snps.chromNames[0]})`}; leaving a chromosome out needs at least two (give every autosome, or --model-bfile)`,
          );
        }
        const nullContext = `trait '${tr.name}' of ${pheno.file} (${n} samples): cannot fit the infinitesimal model`;
        const { fit, assoc, op, perGroup } = await fitInContext(nullContext, () =>
          withProgress(
            opts.progress,
            async (bar) => {
              const op = createGrmOperator(snps, { covariates: f });
              // Steps: the whole-genome REML, each chromosome's with --inf-loco-reml, the LOCO solves.
              const steps = 2 + (opts.infLocoReml === true ? snps.chromNames.length : 0);
              const fit = await fitInfNull(op, y, { mcTrials: opts.infMcTrials, seed: opts.infSeed });
              bar?.({ variantsRead: 1, total: steps, fraction: 1 / steps });
              // --inf-loco-reml: each chromosome's own REML on K_{-c}, started from the whole-genome h2.
              const perGroup: InfNullFit[] | undefined = opts.infLocoReml === true ? [] : undefined;
              for (let g = 0; perGroup !== undefined && g < snps.chromNames.length; g++) {
                perGroup.push(
                  await fitInfNull(op, y, { mcTrials: opts.infMcTrials, seed: opts.infSeed, leaveOut: g, h2Guess: Math.min(0.99, Math.max(0.01, fit.h2)) }),
                );
                bar?.({ variantsRead: g + 2, total: steps, fraction: (g + 2) / steps });
              }
              const assoc = await prepareInfAssoc(
                op,
                fit.yTilde,
                { ...fit, perGroup },
                {
                  calibSnps: opts.infCalibSnps ?? DEFAULT_CALIB_SNPS,
                  eigen: opts.infEigen ?? DEFAULT_EIGEN,
                  seed: opts.infSeed,
                },
              );
              bar?.({ variantsRead: steps, total: steps, fraction: 1 });
              return { fit, assoc, op, perGroup };
            },
            `infinitesimal model of trait '${tr.name}'`,
            'steps',
          ),
        );
        const nullModel: InfNullReport = {
          model: 'inf',
          method: 'MC-REML',
          h2: fit.h2,
          h2McSe: Number.isFinite(fit.h2McSe) ? fit.h2McSe : null,
          sigmaG2: fit.sigmaG2,
          sigmaE2: fit.sigmaE2,
          delta: fit.delta,
          mcTrials: fit.mcTrials,
          seed: fit.seed,
          iterations: fit.iterations,
          converged: fit.converged,
          atBound: fit.atBound,
          cgIterations: { reml: fit.cgIterations, loco: assoc.report.cgIterations },
          passes: { reml: fit.passes, loco: assoc.report.passes },
          calibration: { gamma: assoc.gamma, snps: assoc.report.calibSnps, spread: assoc.report.calibSpread },
          eigenvalues: assoc.report.eigenvalues,
          ...(perGroup === undefined
            ? {}
            : {
                loco: perGroup.map((p, g) => ({
                  chrom: snps.chromNames[g]!,
                  modelSnps: snps.m - snps.countByGroup[g]!,
                  h2: p.h2,
                  h2McSe: Number.isFinite(p.h2McSe) ? p.h2McSe : null,
                  sigmaG2: p.sigmaG2,
                  sigmaE2: p.sigmaE2,
                  delta: p.delta,
                  iterations: p.iterations,
                  passes: p.passes,
                  atBound: p.atBound,
                })),
              }),
        };
        if (!fit.converged)
          opts.warn?.(`trait '${tr.name}': the Monte Carlo REML stopped at h2 ${fit.h2.toPrecision(4)} without meeting its tolerance (30 secant steps)`);
        log(
          `  inf null: h2 ${fit.h2.toPrecision(4)} (MC se ${fit.h2McSe.toPrecision(2)}), ${fit.iterations} secant steps, ` +
            `${op.passes} passes over the model SNPs, calibration gamma ${assoc.gamma.toPrecision(4)} (spread ${assoc.report.calibSpread.toPrecision(2)})`,
        );

        const outs = await Promise.all(
          tables[tr.t]!.map(async (t) => ({ t, out: await TableOutput.open(outputs, t.path, t.dialect!.header, gz, t.index !== undefined) })),
        );
        const counts = { tested: 0, tests: 0, untestable: 0 };
        const top: GwasHit[] = [];
        await withProgress(
          opts.progress,
          async (bar) =>
            fitInContext(`trait '${tr.name}' of ${pheno.file} (${n} samples): the scan failed`, async () => {
              for await (const batch of inclusiveFilteredBatches({
                source,
                samples,
                select,
                batchSize: filters.batchSize,
                minMaf: filters.maf,
                maxMissing: filters.maxMissing,
                standardize: opts.standardize === true,
                onProgress: bar,
                recycle: 1,
              })) {
                if (batch.indices.length === 0) continue;
                counts.tested += batch.indices.length;
                const got = formatBatch(testBatch(assoc, batch), 'single', 1, n, counts, top);
                for (const { t, out } of outs) await out.add(dialectLines(t.dialect!, got.rows));
              }
            }),
          `scan of trait '${tr.name}'`,
        );
        const files = await closeTraitTables(
          outs,
          {
            trait: tr.name,
            samples: n,
            build: opts.build,
            software: `lmmkit ${lmmkitVersion()} (${describeNull(nullModel)}, --method inf)`,
            covariates: names,
          },
          outputs,
        );
        const plots =
          opts.plot === true
            ? await stagePlots(outs[0]!.out.file.tmp, plotPaths[tr.t]!, `${tr.name}: ${counts.tests} tests, ${n} samples`, outputs, opts.warn)
            : undefined;
        const seconds = (performance.now() - t1) / 1000;
        const dropped: DroppedSampleReport[] = [...match.dropped.map(droppedReport), ...extraDropped, ...tr.missing];
        reports.push({
          trait: tr.name,
          output: outputPaths[tr.t]!,
          ...(formats.length === 1 && formats[0] === 'lmmkit' && !gz ? {} : { outputs: files }),
          samples: n,
          binary: binary !== undefined,
          covariates: names,
          covariatesDropped,
          nullModel,
          variants: { selected, tested: counts.tested, filtered: selected - counts.tested, tests: counts.tests, untestable: counts.untestable },
          top,
          ...(plots === undefined ? {} : { plots: plots.files, lambdaGc: plots.lambda }),
          match: { counts: sourceCounts(match, extras, n), dropped },
          seconds,
        });
        log(
          `trait '${tr.name}': ${n} samples, null ${describeNull(nullModel)}; ${counts.tested} of ${selected} variants tested ` +
            `(${selected - counts.tested} filtered) in ${seconds.toFixed(2)} s -> ${outputPaths[tr.t]}`,
        );
        if (plots !== undefined) log(`  plots (lambda_GC ${plots.lambda.toFixed(4)}) -> ${plots.files.join(', ')}`);
      }

      for (const line of quirkWarnings(source)) opts.warn?.(line);
      const report: GwasReport = {
        command: 'gwas',
        ...runEntry(opts.run),
        genotypes: genotypesReport(source, opts),
        ...(selection === undefined ? {} : { selection }),
        ...(opts.threads === undefined ? {} : { threads: threadsReport(opts.threads) }),
        options: {
          test: 'fixed',
          step: 1,
          maf: filters.maf,
          maxMissing: filters.maxMissing,
          region: opts.region ?? null,
          gaussianize: traitOpts.gaussianize,
          standardize: opts.standardize === true,
          covar: covar?.file ?? null,
          inter: null,
          ids: filters.ids,
          ...(formats.length === 1 && formats[0] === 'lmmkit' && !gz ? {} : { outFormat: formats, gz, build: opts.build ?? null }),
        },
        effectAllele: EFFECT_ALLELE_NOTE,
        inputMissingPhenotype: inputs.missingCode,
        ...factorsReport(inputs.covar),
        covariance: covarianceReport(modelSource.path, [...packs.values()]),
        traits: reports,
        backend: getBackend().name,
        seconds: (performance.now() - t0) / 1000,
      };
      await outputs.whole(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
      await outputs.commit();
      log(`report -> ${jsonPath}`);
      return report;
    } finally {
      if (modelSource !== source) await modelSource.close();
    }
  });
}

/** A batch's LOCO statistics as the scan's batch result (the 'single' layout reads beta, se, stat, pvalue). */
function testBatch(
  assoc: InfAssoc,
  batch: { variants: GwasBatchResult['variants']; indices: Int32Array; af: Float64Array; n: Int32Array; dosages: Matrix },
): GwasBatchResult {
  const groupOf = new Map(assoc.chromNames.map((c, g) => [c, g]));
  const b = batch.indices.length;
  const group = Int32Array.from(batch.variants.chrom, (c) => groupOf.get(c) ?? -1);
  const r = infAssocTest(assoc, batch.dosages, group);
  const beta = new Matrix(1, b, r.beta);
  const se = new Matrix(1, b, r.se);
  return {
    variants: batch.variants,
    indices: batch.indices,
    af: batch.af,
    n: batch.n,
    fixed: {
      tests: b,
      df: new Int32Array(b).fill(1),
      pv: r.pvalue,
      log10pv: r.log10p,
      lrt: r.chi2,
      beta,
      betaSte: se,
      betaSteLimix: se,
      betaCov: new Matrix(0, b),
    },
  };
}

/** Refuses chrX, chrY, XY and MT among the tested variants: the inf path has no sex or haploid coding. */
function refuseSexChromosomes(source: GenotypeSource, indices: Int32Array): void {
  const counts = new Map<string, number>();
  for (const i of indices) {
    const c = source.variants.chrom[i]!;
    const code = chromCode(c);
    if (code !== undefined && code >= 23) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  if (counts.size > 0) {
    const list = [...counts].map(([c, k]) => `${k} on ${c}`).join(', ');
    throw bad(
      `gwas --method inf: the selection of ${source.path} has variants on the sex chromosomes or MT (${list}), which it does not model; leave them out (e.g. --chr 1-22) or use --method kinship`,
    );
  }
}

/** The selection less the variants on chrX, chrY, XY and MT: the model SNPs are autosomal. */
function autosomal(source: GenotypeSource, select: VariantSelection | undefined): VariantSelection {
  const all = resolveSelection(source.variants, select, source.path);
  return { indices: all.filter((i) => (chromCode(source.variants.chrom[i]!) ?? 0) < 23) };
}

/**
 * Maps a sample of the genotype input to its row in the model SNPs' file:
 * itself when they are the same file, else by FID and IID (every analysed
 * sample must be there: SelectionError naming the file and the sample).
 */
function modelSamples(source: GenotypeSource, model: GenotypeSource): (g: number) => number {
  if (model === source) return (g) => g;
  const rows = new Map<string, number>();
  model.samples.iid.forEach((iid, i) => {
    rows.set(`${model.samples.fid[i]}\t${iid}`, i);
  });
  return (g) => {
    const key = `${source.samples.fid[g]}\t${source.samples.iid[g]}`;
    const r = rows.get(key);
    if (r === undefined) {
      throw new SelectionError(
        'NO_SAMPLES',
        `${model.path}: the model SNPs' file has no sample FID '${source.samples.fid[g]}' IID '${source.samples.iid[g]}' of ${source.path}; every analysed sample must be in --model-bfile`,
      );
    }
    return r;
  };
}

/** The report's covariance entry: the model SNPs of the first pack (they are the same variants in every pack, the counts may differ by constant ones). */
function covarianceReport(file: string, packs: PackedModelSnps[]): InfCovarianceReport {
  const first = packs[0]!;
  return {
    model: 'inf',
    file,
    modelSnps: first.m,
    skipped: first.skipped,
    rounded: first.rounded,
    perChrom: first.chromNames.map((chrom, g) => ({ chrom, snps: first.countByGroup[g]! })),
    bytes: Math.max(...packs.map((p) => p.bytes)),
    packs: packs.length,
  };
}
