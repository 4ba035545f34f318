// `lmmkit null fit` as one call: the null model of one trait under a
// kinship, fitted as `lmmkit gwas` fits it, saved in lmmkit's null-model
// format (docs/null-model-format.md) so that scans (`lmmkit gwas --null`,
// a cluster worker, a browser tab) skip the O(N^3) eigendecomposition.
import { readLines } from '../data/node/files.js';
import { factorsReport } from './phenotypes.js';
import type { FactorColumn } from '../data/categorical.js';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { GenotypeSource } from '../data/genotypes.js';
import { SelectionError } from '../errors.js';
import { encodeNullModelChunks } from '../nullmodel/serialize.js';
import { EigenCache, fitTraitNull } from './gwas-null.js';
import { binaryNotice, checkTraitSizes, prepareKinship, readGwasInputs, traitData } from './gwas-inputs.js';
import type { GwasReport, NullModelReport, SourceCountReport } from './gwas-report.js';
import { sourceCounts } from './gwas-samples.js';
import { fitInContextSync } from './fit-context.js';
import { describeNull } from './gwas-report.js';
import { genotypeFiles, genotypesReport, quirkWarnings, withGenotypes, type GenotypesReport, type MissingCodeReport } from './inputs.js';
import { bad, checkFilterOptions, checkInputOptions, checkOutputs, checkTraitOptions, type ScanRunOptions } from './options.js';
import { droppedReport, type DroppedSampleReport } from './report.js';
import type { SelectionReport } from './selection.js';
import { threadsReport, type ThreadsReport } from './threads.js';

/** Options of `runNullFit`: the inputs of `runGwas` for one trait under a kinship; `out` is the null-model file. */
export interface NullFitRunOptions extends Omit<ScanRunOptions, 'maf' | 'maxMissing' | 'region' | 'standardize' | 'batchSize'> {
  /**
   * The test the model is for (default 'fixed'): 'exact' double-centres the
   * kinship over the samples (GEMMA's convention) and stores the ML fit
   * beside the REML one, which the exact test's LRT and score need.
   */
  test?: 'fixed' | 'exact';
}

/** What `runNullFit` did: the model, its samples and inputs. */
export interface NullFitReport {
  command: 'null fit';
  output: string;
  trait: string;
  test: 'fixed' | 'exact';
  genotypes: GenotypesReport;
  /** What --keep/--remove and --extract/--exclude/--chr/--from-bp/--to-bp removed (absent without those options). */
  selection?: SelectionReport;
  /** The threads asked for with --threads and those in use (absent without --threads). */
  threads?: ThreadsReport;
  covariance: GwasReport['covariance'];
  samples: number;
  /** The trait has two values only on its samples (a case-control code), analysed as quantitative. */
  binary: boolean;
  /** The missing-phenotype code (-9 by default) and how many values of each phenotype and covariate file it made missing. */
  inputMissingPhenotype: MissingCodeReport;
  /** The categorical --covar columns, their levels (natural order, with counts), reference and dummy columns (absent when none). */
  categoricalCovariates?: FactorColumn[];
  covariates: string[];
  covariatesDropped: { name: string; reason: string }[];
  nullModel: NullModelReport;
  fingerprint: Record<string, string>;
  match: { counts: SourceCountReport[]; dropped: DroppedSampleReport[] };
}

/**
 * Fits the kinship null model y ~ N(F b, sigmaG2 K + sigmaE2 I) of one
 * trait by REML on its samples (the samples, trait values, covariates and
 * kinship that `runGwas` would use) and writes it to `out` atomically, with
 * the sample ids in order, the trait and covariate names and sha256
 * fingerprints of the genotype samples and of the kinship's source.
 */
export async function runNullFit(opts: NullFitRunOptions): Promise<NullFitReport> {
  const log = opts.log ?? (() => {});
  checkInputOptions('null fit', opts);
  if (opts.kinship === undefined && opts.kinshipFromGenotypes !== true) {
    throw bad('null fit: needs a kinship (--kinship FILE or --kinship-from-bfile): the saved model spares a scan its eigendecomposition');
  }
  if (opts.kinship !== undefined && opts.kinshipFromGenotypes === true) throw bad('null fit: give one of --kinship and --kinship-from-bfile');
  const test = opts.test ?? 'fixed';
  if (test !== 'fixed' && test !== 'exact') throw bad(`--test: expected fixed or exact, found '${String(test)}'`);
  const { ids, missingCode } = checkFilterOptions(opts);
  const { gaussianize } = checkTraitOptions(opts);
  return withGenotypes(opts, async (source, outputs, selection) => {
    const inputs = await readGwasInputs(readLines, opts, ids, missingCode, source, log);
    if (inputs.traits.length !== 1) {
      throw bad(
        `null fit: fits one trait, found ${inputs.traits.length} in ${inputs.pheno.file} (${inputs.pheno.columns.join(', ')}); choose one with --pheno-col`,
      );
    }
    await checkOutputs([opts.out], [...genotypeFiles(opts), opts.pheno, opts.covar, opts.kinship]);
    checkTraitSizes(inputs);
    const { kin, report: covariance } = await prepareKinship(opts, inputs, source, log);
    // One trait, one fit: K's buffer becomes the eigenvectors.
    if (kin !== undefined) kin.once = true;
    const tr = inputs.traits[0]!;
    const data = traitData(inputs, tr, gaussianize);
    if (data.binary !== undefined) opts.warn?.(binaryNotice(tr.name, inputs.pheno.file, data.binary, data.samples.length));
    const { model, report } = fitInContextSync(`trait '${tr.name}' of ${inputs.pheno.file} (${data.samples.length} samples): cannot fit the null model`, () =>
      fitTraitNull(
        { trait: tr.name, y: data.y, f: data.f, names: data.names, samples: data.samples, test, kinship: kin, both: test === 'exact' },
        new EigenCache(),
      ),
    );
    if (model === undefined) throw new SelectionError('NO_SAMPLES', 'null fit: no kinship model was fitted');
    const samples = { fid: Array.from(data.samples, (g) => source.samples.fid[g]!), iid: Array.from(data.samples, (g) => source.samples.iid[g]!) };
    const fingerprint = await fingerprints(source, opts);
    // Written piece by piece from the model's arrays: the N x N eigenvectors are not copied.
    const file = await outputs.stage(opts.out);
    for (const chunk of encodeNullModelChunks(model, { samples, traits: [tr.name], covariates: data.names, fingerprint })) await file.write(chunk);
    await file.close();
    await outputs.commit();
    log(`trait '${tr.name}': ${samples.iid.length} samples, null ${describeNull(report)} -> ${opts.out}`);
    const { match, extras, extraDropped } = inputs;
    for (const line of quirkWarnings(source)) opts.warn?.(line);
    return {
      command: 'null fit',
      output: opts.out,
      trait: tr.name,
      test,
      genotypes: genotypesReport(source, opts),
      ...(selection === undefined ? {} : { selection }),
      ...(opts.threads === undefined ? {} : { threads: threadsReport(opts.threads) }),
      covariance,
      samples: samples.iid.length,
      binary: data.binary !== undefined,
      inputMissingPhenotype: inputs.missingCode,
      ...factorsReport(inputs.covar),
      covariates: data.names,
      covariatesDropped: data.covariatesDropped,
      nullModel: report,
      fingerprint,
      match: { counts: sourceCounts(match, extras, samples.iid.length), dropped: [...match.dropped.map(droppedReport), ...extraDropped, ...tr.missing] },
    };
  });
}

/**
 * sha256 fingerprints of what the model was made from: the genotype file's
 * samples (FID, IID in order) and variants (id, chrom, pos), and the kinship
 * file's bytes (or the genotypes, when the kinship was computed from them).
 */
async function fingerprints(source: GenotypeSource, opts: NullFitRunOptions): Promise<Record<string, string>> {
  const h = createHash('sha256');
  const { fid, iid } = source.samples;
  for (let i = 0; i < iid.length; i++) h.update(`${fid[i]}\t${iid[i]}\n`);
  const v = source.variants;
  for (let j = 0; j < v.id.length; j++) h.update(`${v.id[j]}\t${v.chrom[j]}\t${v.pos[j]}\n`);
  const genotypes = `sha256:${h.digest('hex')}`;
  const kinship = opts.kinship !== undefined ? `sha256:${await fileSha256(opts.kinship)}` : `standardized from genotypes ${genotypes}`;
  return { genotypes, kinship };
}

// Streamed: a kinship file of N = 20000 is several GiB, more than one Buffer should hold.
async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}
