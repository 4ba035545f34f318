// `lmmkit gwas` as one call: match samples, fit each trait's null model,
// stream the genotype file through the scan into staged outputs, and write
// the JSON report.
import { factorsReport } from './phenotypes.js';
import { basename } from 'node:path';
import { resolveSelection } from '../data/variants.js';
import { type ChunkSpec, chunkOutPrefix, type Fingerprinter, type PartManifest, type PartTable, scanChunk, writeScanPart } from './chunks.js';
import { dialectRefusal, type OutFormat } from '../data/gwas-dialects.js';
import { checkTableOptions, closeTraitTables, lmmkitVersion, type TableSpec, traitTables } from './gwas-tables.js';
import { readLines } from '../data/node/files.js';
import { getBackend } from '../linalg/select.js';
import { gwasScan } from '../scan/gwas.js';
import type { GenoProgress } from '../data/geno-queue.js';
import type { GenotypeSource } from '../data/genotypes.js';
import type { VariantSelection } from '../data/variants.js';
import { SelectionError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import {
  describeNull,
  EFFECT_ALLELE_NOTE,
  type GwasHit,
  type LocoChromReport,
  type GwasReport,
  type SexChromosomesReport,
  type TraitReport,
} from './gwas-report.js';
import { EigenCache, fitTraitNull, type TraitNull } from './gwas-null.js';
import { checkXchrModel, halveMales, haploidEffects, type SexRuns, sexModel, sexTraitData } from './gwas-sex.js';
import { fitInContext, fitInContextSync } from './fit-context.js';
import { binaryNotice, checkTraitSizes, prepareKinship, readGwasInputs, type TraitData, traitData } from './gwas-inputs.js';
import type { SavedNullModel } from '../nullmodel/serialize.js';
import { loadTraitNull, savedTraitNull } from './gwas-saved-null.js';
import { plotFiles, stagePlots } from './gwas-plots.js';
import { formatBatch, GWAS_MULTI_HEADER } from './gwas-rows.js';
import { dialectLines, TableOutput } from './gwas-outputs.js';
import { sourceCounts, type TraitSamples } from './gwas-samples.js';
import { runEntry } from './run-info.js';
import { genotypeFiles, genotypesReport, quirkWarnings, selectRegion, withGenotypes, withProgress } from './inputs.js';
import {
  bad,
  checkFilterOptions,
  checkInputOptions,
  checkOutputs,
  checkTraitOptions,
  type FilterOptions,
  type ScanRunOptions,
  type TraitOptions,
  withStep,
} from './options.js';
import { selectionFiles } from './selection.js';
import { type InfOptions, runInfGwas } from './inf-gwas.js';
import { chromCode } from '../data/chrom.js';
import { chromRuns, leaveChromOut, type LocoKinship, locoCovarianceReport, locoPass, locoRunKinship, wholeKinship, withLoco } from './loco.js';
import { threadsReport } from './threads.js';
import { droppedReport, type DroppedSampleReport } from './report.js';

/** Options of `runGwas` (what the `lmmkit gwas` command runs). */
export interface GwasRunOptions extends ScanRunOptions, InfOptions {
  /** Low-rank factor W of the null covariance cr W W^T + cn I. */
  lowrank?: string;
  /** Interaction factors: each variant g enters as inter_l * g. */
  inter?: string;
  /** Consecutive variants tested jointly (default 1). */
  step?: number;
  /** Default 'fixed'. */
  test?: 'fixed' | 'exact';
  /** With test 'exact': 'all' (default: Wald, LRT and score, GEMMA -lmm 4) or 'wald' (GEMMA -lmm 1, about twice as fast). */
  exactTests?: 'all' | 'wald';
  /** Output prefix: PREFIX.<trait>.tsv and PREFIX.json. */
  out: string;
  /** Overrides the TSV path of each trait (the demo writes results.tsv). */
  tsvPath?: (trait: string, index: number) => string;
  /** Overrides PREFIX.json. */
  jsonPath?: string;
  /**
   * Also draw each trait's Manhattan and QQ plots next to its TSV:
   * PREFIX.<trait>.manhattan.png/.svg and PREFIX.<trait>.qq.png/.svg.
   */
  plot?: boolean;
  /**
   * A null model saved by `runNullFit` (`lmmkit null fit`): the scan uses it
   * instead of fitting one, after checking that its samples, trait values
   * and covariates are this run's (no kinship is read or computed).
   */
  nullModel?: string;
  /** Reads the `nullModel` file (default `loadNullModel`; a cluster worker passes its cache, the model read once per run). */
  loadNull?: (path: string) => Promise<SavedNullModel>;
  /** Fingerprints a chunk's inputs for its manifest (default `fingerprint`; a cluster worker passes its cache, each file hashed once per run). */
  fingerprint?: Fingerprinter;
  /**
   * plink2's --xchr-model: 2 (default) codes males 0..2 on chrX, 1 codes
   * them 0..1, 0 skips chrX; on chrX sex is a covariate and samples of
   * unknown sex are left out, on chrY only males are used (gwas-sex.ts).
   */
  xchrModel?: number;
  /**
   * The result tables' dialects (default ['lmmkit']): each trait gets one
   * file per dialect, PREFIX.<trait> + .tsv (lmmkit), .gwas-ssf.tsv (with
   * its -meta.yaml), .regenie, .glm.linear (plink2) or .assoc.txt (GEMMA).
   */
  outFormat?: OutFormat[];
  /** BGZF-compress the tables (+ .gz), rows sorted by chromosome and position, each with a tabix index (.tbi; not regenie's, which is space-separated). */
  gz?: boolean;
  /** Genome assembly of the positions (GWAS-SSF's metadata genome_assembly, e.g. GRCh38). */
  build?: string;
  /** Significant digits of the lmmkit table's numbers (1..17; default 6: see `DialectOptions.digits`). */
  digits?: number;
  /**
   * Scan chunk I of N only (`--chunk I/N`, chunks.ts): the outputs go under
   * PREFIX.part-I-of-N (tables uncompressed, no plots: `runMerge` writes the
   * final ones) with a manifest PREFIX.part-I-of-N.manifest.json.
   */
  chunk?: ChunkSpec;
}

/**
 * `lmmkit gwas`: reads the inputs, matches samples, and per trait fits the
 * null model on that trait's samples and streams the genotype file through
 * `gwasScan`, writing PREFIX.<trait>.tsv (and its plots with `plot`) and
 * PREFIX.json; returns the report. All outputs are staged in temporary
 * files and renamed into place only when every trait is done: an error
 * leaves no output, whole or partial. With `method: 'inf'` the run is
 * `runInfGwas`'s (BOLT-LMM's infinitesimal model, inf-gwas.ts).
 */
export async function runGwas(options: GwasRunOptions): Promise<GwasReport> {
  // --method inf: the infinitesimal model, its own path from the inputs to the report (inf-gwas.ts).
  if (options.method === 'inf') return runInfGwas(options);
  if (options.method !== undefined && options.method !== 'kinship') throw bad(`--method: expected kinship or inf, found '${String(options.method)}'`);
  const infOnly = (
    [
      ['--inf-mc-trials', options.infMcTrials],
      ['--inf-seed', options.infSeed],
      ['--inf-calib-snps', options.infCalibSnps],
      ['--inf-eigen', options.infEigen],
      ['--model-bfile', options.modelBfile],
      ['--inf-loco-reml', options.infLocoReml === true ? true : undefined],
    ] as const
  ).find(([, v]) => v !== undefined);
  if (infOnly !== undefined) throw bad(`${infOnly[0]}: an option of the infinitesimal model, only with --method inf`);
  const t0 = performance.now();
  const opts = withLoco('gwas', options);
  const log = opts.log ?? (() => {});
  const o = checkOptions(opts);
  const chunk = opts.chunk;
  // A chunk writes its part: tables uncompressed (merge sorts and compresses), no plots (merge draws them).
  const partOut = chunkOutPrefix('gwas', opts.out, chunk, [opts.tsvPath === undefined ? undefined : 'tsvPath', opts.jsonPath]);
  const spans: PartManifest['spans'] = [];
  // A kinship from the genotypes reads the whole file: a VCF index answers the region only without one.
  const vcfRegion = opts.kinshipFromGenotypes === true ? undefined : opts.region;
  const report = await withGenotypes({ ...opts, vcfRegion }, async (source, outputs, selection) => {
    const { select, selected } = selectRegion(source, o.region, opts.region);
    const inputs = await withProgress(
      opts.progress,
      async (bar) => {
        const r = await readGwasInputs(readLines, opts, o.ids, o.missingCode, source, log);
        bar?.({ variantsRead: 1, total: 1, fraction: 1 });
        return r;
      },
      'reading samples',
      'steps',
    );
    const { match, extras, extraDropped, traits, pheno, covar, inter } = inputs;

    // Outputs and trait sample sets, validated before any heavy work.
    const layout = o.test === 'exact' ? 'exact' : o.step > 1 || inter !== undefined ? 'multi' : 'single';
    for (const fmt of o.formats) {
      const why = dialectRefusal(fmt, layout);
      if (why !== undefined) throw bad(`--out-format ${fmt}: ${why}`);
    }
    const tables = traitTables(pheno.columns, { ...opts, out: partOut, gz: opts.gz === true && chunk === undefined }, o.formats, layout);
    const outputPaths = tables.map((t) => t[0]!.path);
    const jsonPath = opts.jsonPath ?? `${partOut}.json`;
    const plotPaths = outputPaths.map((p) => plotFiles(p, opts.plot === true && chunk === undefined));
    const keysPath = (t: TableSpec): string | undefined => (chunk !== undefined && o.gz ? `${t.path}.keys` : undefined);
    await checkOutputs(
      [
        ...tables
          .flat()
          .flatMap((t) => [
            t.path,
            ...(t.index === undefined ? [] : [t.index]),
            ...(t.meta === undefined ? [] : [t.meta]),
            ...(keysPath(t) === undefined ? [] : [keysPath(t)!]),
          ]),
        ...plotPaths.flatMap((p) => [...p.manhattan, ...p.qq]),
        jsonPath,
      ],
      [...genotypeFiles(opts), ...selectionFiles(opts), opts.pheno, opts.covar, opts.kinship, opts.lowrank, opts.inter, opts.nullModel],
    );
    checkTraitSizes(inputs);

    // The null covariance: a saved null model, or the kinship from its file or the genotypes.
    const saved = opts.nullModel === undefined ? undefined : await loadTraitNull(opts.nullModel, pheno.columns, o.test, opts.loadNull);
    // --loco: the whole crossproduct of the one pass, each chromosome's kinship made from it when its variants come.
    const locoKin =
      opts.loco === true
        ? await locoPass(
            source,
            Int32Array.from(inputs.keepPos, (p) => match.keep[p]!),
            opts.progress,
            log,
          )
        : undefined;
    const { kin, report: covReport } =
      saved !== undefined
        ? { kin: undefined, report: { model: 'kinship' as const, source: 'null-model' as const, file: opts.nullModel! } }
        : locoKin !== undefined
          ? { kin: undefined, report: locoCovarianceReport(locoKin) }
          : await prepareKinship(opts, inputs, source, log);
    const allowNonPsd = opts.allowNonPsdKinship === true;

    // chrX, chrY and MT as plink2 --glm scans them (gwas-sex.ts); sexes from --sex-col or the genotype file.
    const xchrModel = checkXchrModel(opts.xchrModel);
    const sexes = sexModel(
      source,
      select,
      xchrModel,
      { sexCol: opts.sexCol, pheno, covar, keep: match.keep, rows: (from) => match.index[from]! },
      opts,
      opts.warn,
    );
    const { runs: sexRuns, sex, column: sexColumn, file: sexFile } = sexes;
    if (locoKin !== undefined && sexRuns?.runs.some((r) => r.kind === 'x' || r.kind === 'y') === true) {
      throw bad(
        `gwas --loco: the selection has ${sexRuns.counts.x} chrX and ${sexRuns.counts.y} chrY variants, which plink2's rules scan on other samples than the autosomes; leave them out (e.g. --chr 1-22; --xchr-model 0 skips chrX) or drop --loco`,
      );
    }
    if (sexRuns !== undefined && saved !== undefined && sexRuns.runs.some((r) => r.kind === 'x' || r.kind === 'y')) {
      throw bad(
        `gwas --null ${opts.nullModel}: the saved null model has no sex covariate for the ${sexRuns.counts.x} chrX and ${sexRuns.counts.y} chrY variants selected; leave them out (--chr, --xchr-model 0) or drop --null`,
      );
    }
    // One sample set for every null fit: K's buffer becomes the eigenvectors (samplesKinship).
    if (kin !== undefined) kin.once = oneSampleSet(traits, sexRuns);
    const reports: TraitReport[] = [];
    const eigenCache = new EigenCache(opts.progress);
    for (const tr of traits) {
      const t1 = performance.now();
      const { samples, y, f, names, covariatesDropped, inter: interM, lowrank: lowrankM, binary } = traitData(inputs, tr, o.gaussianize);
      for (const d of covariatesDropped) {
        if (d.reason.startsWith('collinear')) opts.warn?.(`${covar?.file}: covariate '${d.name}' left out for trait '${tr.name}': ${d.reason}`);
      }
      const n = samples.length;
      if (binary !== undefined) opts.warn?.(binaryNotice(tr.name, pheno.file, binary, n));
      const nullContext = `trait '${tr.name}' of ${pheno.file} (${n} samples): cannot fit the null model`;
      const fitted = fitInContextSync(nullContext, () =>
        withStep(opts.progress, `null fit of trait '${tr.name}'`, () =>
          saved !== undefined
            ? savedTraitNull(saved, {
                trait: tr.name,
                samples: { fid: Array.from(samples, (g) => source.samples.fid[g]!), iid: Array.from(samples, (g) => source.samples.iid[g]!) },
                y,
                f,
                names,
              })
            : fitTraitNull(
                {
                  trait: tr.name,
                  y,
                  f,
                  names,
                  samples,
                  test: o.test,
                  // --loco: the whole-genome fit, for the report's h2 (each chromosome's own is fitted before its scan).
                  kinship:
                    locoKin === undefined ? kin : locoRunKinship(locoKin, wholeKinship(locoKin), `the kinship computed from ${source.path}`, allowNonPsd),
                  lowrank:
                    kin !== undefined || lowrankM === undefined || inputs.lowrank === undefined ? undefined : { raw: lowrankM, file: inputs.lowrank.file },
                },
                locoKin === undefined ? eigenCache : new EigenCache(opts.progress),
              ),
        ),
      );
      // --loco keeps the whole-genome fit's report only: its eigenvectors (N^2) would sit idle through every chromosome's fit.
      const nul: TraitNull = locoKin === undefined ? fitted : { model: undefined, report: fitted.report };

      // The chrX / chrY nulls: the trait on plink2's samples for them, sex a covariate on chrX.
      const sexChromNulls = (runs: SexRuns, base: TraitData) => {
        const scans: Partial<
          Record<'x' | 'y', { source: GenotypeSource; samples: Int32Array; nul: TraitNull; y: Float64Array; f: Matrix; inter: Matrix | undefined }>
        > = {};
        const report: SexChromosomesReport = {
          xchrModel,
          sexFile,
          ...(sexColumn === undefined ? {} : { sexColumn: sexColumn.report }),
          xSkipped: runs.xSkipped,
          ...(runs.counts.mt === 0 ? {} : { mt: { variants: runs.counts.mt, coding: 'haploid' as const } }),
        };
        for (const kind of ['x', 'y'] as const) {
          if (!runs.runs.some((r) => r.kind === kind)) continue;
          const d = sexTraitData(base, kind, sex!);
          const label = kind === 'x' ? 'chrX (samples of known sex, sex a covariate)' : 'chrY (males)';
          if (d.samples.length <= d.f.cols + 1) {
            throw new SelectionError(
              'NO_SAMPLES',
              `trait '${tr.name}' of ${pheno.file}: ${d.samples.length} samples on ${label} (sexes from ${sexFile}) for ${d.f.cols} covariates leave no degrees of freedom`,
            );
          }
          const sub = fitInContextSync(`trait '${tr.name}' of ${pheno.file} on ${label}, ${d.samples.length} samples: cannot fit the null model`, () =>
            fitTraitNull(
              {
                trait: tr.name,
                y: d.y,
                f: d.f,
                names: d.names,
                samples: d.samples,
                test: o.test,
                kinship: kin,
                lowrank:
                  kin !== undefined || d.lowrank === undefined || inputs.lowrank === undefined ? undefined : { raw: d.lowrank, file: inputs.lowrank.file },
              },
              eigenCache,
            ),
          );
          // plink2 codes haploid males 0..1 on chrY whatever the model, and on chrX with model 1.
          const halve = (kind === 'y' || xchrModel === 1) && d.males.length > 0;
          scans[kind] = { source: halve ? halveMales(source, d.males) : source, samples: d.samples, nul: sub, y: d.y, f: d.f, inter: d.inter };
          report[kind] = {
            variants: runs.counts[kind],
            samples: d.samples.length,
            samplesDropped: d.samplesDropped,
            covariates: d.names,
            ...(d.sexCovariateDropped === undefined ? {} : { sexCovariateDropped: d.sexCovariateDropped }),
            nullModel: sub.report,
          };
          log(`  ${label}: ${runs.counts[kind]} variants, ${d.samples.length} samples, null ${describeNull(sub.report)}`);
        }
        return { scans, report };
      };

      // Scan, streamed into the staged output: the selection whole, or with
      // chrX/chrY variants, its runs in file order, each under its class's null.
      const outs = await Promise.all(
        tables[tr.t]!.map(async (t) => ({
          t,
          out: await TableOutput.open(outputs, t.path, t.dialect?.header ?? GWAS_MULTI_HEADER.join('\t'), o.gz && chunk === undefined, t.index !== undefined),
          keys: keysPath(t) === undefined ? undefined : await outputs.stage(keysPath(t)!),
        })),
      );
      const counts = { tested: 0, tests: 0, untestable: 0 };
      const top: GwasHit[] = [];
      const scanContext = `trait '${tr.name}' of ${pheno.file} (${n} samples): the scan failed`;
      const scanUnder = async (
        u: { source: GenotypeSource; samples: Int32Array; nul: TraitNull; y: Float64Array; f: Matrix; inter: Matrix | undefined },
        sel: VariantSelection | undefined,
        bar: ((p: GenoProgress) => void) | undefined,
        haploid = false,
        resume?: { before: VariantSelection | undefined; last: boolean },
      ): Promise<void> => {
        for await (const batch of gwasScan({
          source: u.source,
          samples: u.samples,
          ...(u.nul.model === undefined ? { y: u.y, covariates: u.f } : { null: u.nul.model }),
          test: o.test,
          inter: u.inter,
          step: o.step,
          exactTests: opts.exactTests === 'wald' ? ['wald'] : undefined,
          select: sel,
          batchSize: o.batchSize,
          minMaf: o.maf,
          maxMissing: o.maxMissing,
          standardize: opts.standardize === true,
          onProgress: bar,
          resume,
        })) {
          counts.tested += batch.indices.length;
          if (haploid) haploidEffects(batch, opts.standardize === true);
          const got = formatBatch(batch, layout, o.step, n, counts, top);
          for (const { t, out, keys } of outs) {
            const lines = t.dialect === undefined ? got.multi : dialectLines(t.dialect, got.rows);
            await out.add(lines);
            if (keys !== undefined && lines.length > 0) await keys.write(lines.map((l) => `${l.chrom}\t${l.pos}\n`).join(''));
          }
        }
      };
      const whole = { source, samples, nul, y, f, inter: interM };
      const locoReports: LocoChromReport[] = [];
      // --loco: per chromosome (runs in file order), its kinship, its null fit, then its variants under it.
      const scanLoco = async (loco: LocoKinship): Promise<void> => {
        const indices = resolveSelection(source.variants, select, source.path);
        let done = 0;
        let spare: Float64Array | undefined;
        for (const run of chromRuns(source.variants.chrom, indices)) {
          const { k, variants } = await leaveChromOut(loco, run.chrom, run.indices.length, opts.progress, spare);
          // k's buffer becomes this chromosome's eigenvectors, needed no more once its scan is done.
          const buffer = k.data;
          const label = `the kinship without chromosome ${run.chrom} computed from ${source.path}`;
          const cnul = fitInContextSync(`${nullContext} without chromosome ${run.chrom}`, () =>
            withStep(opts.progress, `null fit of trait '${tr.name}' without chromosome ${run.chrom}`, () =>
              fitTraitNull(
                { trait: tr.name, y, f, names, samples, test: o.test, kinship: locoRunKinship(loco, k, label, allowNonPsd) },
                new EigenCache(opts.progress),
              ),
            ),
          );
          locoReports.push({ chrom: run.chrom, variants: run.indices.length, kinshipVariants: variants, nullModel: cnul.report });
          log(`  chromosome ${run.chrom}: ${run.indices.length} variants, kinship of ${variants} variants, null ${describeNull(cnul.report)}`);
          const offset = done;
          await withProgress(
            opts.progress,
            async (bar) =>
              fitInContext(scanContext, () =>
                scanUnder(
                  { ...whole, nul: cnul },
                  { indices: run.indices },
                  (p) => bar?.({ variantsRead: offset + p.variantsRead, total: selected, fraction: (offset + p.variantsRead) / selected }),
                  chromCode(run.chrom) === 26,
                ),
              ),
            `scan of trait '${tr.name}', chromosome ${run.chrom}`,
          );
          spare = buffer;
          done += run.indices.length;
        }
      };
      const sexReport =
        sexRuns === undefined || locoKin !== undefined
          ? undefined
          : sexChromNulls(sexRuns, { samples, y, f, names, covariatesDropped, inter: interM, lowrank: lowrankM, binary });
      if (locoKin !== undefined) await scanLoco(locoKin);
      else
        await withProgress(
          opts.progress,
          async (bar) =>
            fitInContext(scanContext, async () => {
              if (chunk !== undefined) {
                // The chunk's batches of each run, under that run's null (chunks.ts).
                const runs = sexRuns?.runs ?? [{ kind: 'auto' as const, indices: resolveSelection(source.variants, select, source.path) }];
                const unders = runs.map((run) => (run.kind === 'auto' || run.kind === 'mt' ? whole : sexReport!.scans[run.kind]!));
                const planned = await scanChunk(runs, unders, o.batchSize, chunk, (under, sc) =>
                  scanUnder(under, sc.select, bar, runs[sc.run]!.kind === 'mt', { before: sc.before, last: sc.last }),
                );
                spans.push({ key: tr.name, ...planned });
                return;
              }
              if (sexRuns === undefined || sexReport === undefined) return scanUnder(whole, select, bar);
              let done = 0;
              for (const run of sexRuns.runs) {
                const under = run.kind === 'auto' || run.kind === 'mt' ? whole : sexReport.scans[run.kind]!;
                const offset = done;
                await scanUnder(
                  under,
                  { indices: run.indices },
                  (p) => bar?.({ variantsRead: offset + p.variantsRead, total: selected, fraction: (offset + p.variantsRead) / selected }),
                  run.kind === 'mt',
                );
                done += run.indices.length;
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
          software: `lmmkit ${lmmkitVersion()} (${describeNull(nul.report)}, --test ${o.test})`,
          covariates: names,
        },
        outputs,
      );
      const plots =
        opts.plot === true && chunk === undefined
          ? await stagePlots(outs[0]!.out.file.tmp, plotPaths[tr.t]!, `${tr.name}: ${counts.tests} tests, ${n} samples`, outputs, opts.warn)
          : undefined;
      const seconds = (performance.now() - t1) / 1000;
      const dropped: DroppedSampleReport[] = [...match.dropped.map(droppedReport), ...extraDropped, ...tr.missing];
      reports.push({
        trait: tr.name,
        output: outputPaths[tr.t]!,
        ...(o.formats.length === 1 && o.formats[0] === 'lmmkit' && !o.gz ? {} : { outputs: files }),
        samples: n,
        binary: binary !== undefined,
        covariates: names,
        covariatesDropped,
        nullModel: nul.report,
        variants: { selected, tested: counts.tested, filtered: selected - counts.tested, tests: counts.tests, untestable: counts.untestable },
        top,
        ...(plots === undefined ? {} : { plots: plots.files, lambdaGc: plots.lambda }),
        match: { counts: sourceCounts(match, extras, n), dropped },
        ...(sexReport === undefined ? {} : { sexChromosomes: sexReport.report }),
        ...(locoKin === undefined ? {} : { loco: locoReports }),
        seconds,
      });
      log(
        `trait '${tr.name}': ${n} samples, null ${describeNull(nul.report)}; ${counts.tested} of ${selected} variants tested ` +
          `(${selected - counts.tested} filtered), ${counts.tests} tests in ${seconds.toFixed(2)} s -> ${outputPaths[tr.t]}`,
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
        test: o.test,
        step: o.step,
        maf: o.maf,
        maxMissing: o.maxMissing,
        region: opts.region ?? null,
        gaussianize: o.gaussianize,
        standardize: opts.standardize === true,
        covar: covar?.file ?? null,
        inter: inter?.file ?? null,
        ids: o.ids,
        ...(o.formats.length === 1 && o.formats[0] === 'lmmkit' && !o.gz ? {} : { outFormat: o.formats, gz: o.gz, build: opts.build ?? null }),
      },
      effectAllele: EFFECT_ALLELE_NOTE,
      inputMissingPhenotype: inputs.missingCode,
      ...factorsReport(inputs.covar),
      covariance: covReport,
      traits: reports,
      backend: getBackend().name,
      seconds: (performance.now() - t0) / 1000,
    };
    await outputs.whole(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    await outputs.commit();
    log(`report -> ${jsonPath}`);
    return report;
  });
  if (chunk !== undefined) {
    const inputs: [string, string | undefined][] = [
      ...genotypeFiles(opts).map((f): [string, string] => ['genotypes', f]),
      ...selectionFiles(opts).map((f): [string, string | undefined] => ['selection', f]),
      ['pheno', opts.pheno],
      ['covar', opts.covar],
      ['kinship', opts.kinship],
      ['lowrank', opts.lowrank],
      ['inter', opts.inter],
      ['null', opts.nullModel],
    ];
    const tables: PartTable[] = report.traits.flatMap((tr) =>
      (tr.outputs ?? [{ format: 'lmmkit', file: tr.output }]).map((f) => {
        const meta = f.format === 'gwas-ssf' ? `${f.file}-meta.yaml` : undefined;
        return {
          trait: tr.trait,
          format: f.format,
          file: basename(f.file),
          suffix: f.file.slice(partOut.length) + (o.gz ? '.gz' : ''),
          rows: 'rows' in f ? f.rows : tr.variants.tests,
          ...(o.gz ? { keys: basename(`${f.file}.keys`), index: f.format !== 'regenie' } : {}),
          ...(meta === undefined ? {} : { meta: basename(meta) }),
        };
      }),
    );
    const manifest = await writeScanPart(
      partOut,
      {
        command: 'gwas',
        chunk,
        spans,
        inputs,
        options: opts,
        plot: opts.plot === true,
        gz: o.gz,
        report: `${partOut}.json`,
        tables,
      },
      opts.fingerprint,
    );
    log(`part manifest -> ${manifest}`);
  }
  return report;
}

type CheckedOptions = { test: 'fixed' | 'exact'; step: number; formats: OutFormat[]; gz: boolean } & FilterOptions & TraitOptions;

function checkOptions(opts: GwasRunOptions): CheckedOptions {
  checkInputOptions('gwas', opts);
  const covs = [
    opts.kinship !== undefined && '--kinship',
    opts.kinshipFromGenotypes === true && '--kinship-from-bfile',
    opts.lowrank !== undefined && '--lowrank',
  ].filter((x) => x !== false);
  if (covs.length > 1) throw bad(`gwas: give at most one null covariance, found ${covs.join(' and ')}`);
  if (opts.nullModel !== undefined && covs.length > 0) throw bad(`gwas --null: the null covariance comes from the null model, found ${covs.join(' and ')} too`);
  const test = opts.test ?? 'fixed';
  if (test !== 'fixed' && test !== 'exact') throw bad(`--test: expected fixed or exact, found '${String(test)}'`);
  const step = opts.step ?? 1;
  if (!Number.isInteger(step) || step < 1) throw bad(`--step: expected a positive integer, found ${step}`);
  const filters = checkFilterOptions(opts);
  checkXchrModel(opts.xchrModel);
  if (test === 'exact') {
    if (opts.kinship === undefined && opts.kinshipFromGenotypes !== true && opts.nullModel === undefined) {
      throw bad('--test exact: needs a kinship (--kinship FILE or --kinship-from-bfile); it re-estimates the kinship variance ratio per variant');
    }
    if (step !== 1) throw bad(`--test exact: tests one variant at a time, found --step ${step}`);
    if (opts.inter !== undefined) throw bad('--test exact: does not take --inter (use --test fixed)');
  }
  const formats = checkTableOptions(opts);
  return { test, step, formats, gz: opts.gz === true, ...filters, ...checkTraitOptions(opts) };
}

/**
 * Whether every null fit of the run is on the same samples: every trait on
 * the same ones and no chrX/chrY null (those drop samples of unknown sex or
 * females), so that the kinship is eigendecomposed once.
 */
function oneSampleSet(traits: readonly TraitSamples[], sexRuns: SexRuns | undefined): boolean {
  const first = traits[0]?.pos ?? [];
  const same = traits.every((t) => t.pos.length === first.length && t.pos.every((p, i) => p === first[i]));
  return same && !(sexRuns?.runs.some((r) => r.kind === 'x' || r.kind === 'y') ?? false);
}
