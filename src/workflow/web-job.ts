// The web app's job: what `lmmkit gwas --bfile B --pheno P
// --kinship-from-bfile` (or --pfile, --bgen, --vcf; or --kinship FILE)
// computes, on files given as bytes, by the CLI's own workflow code: the
// same sample matching and missing-phenotype code, the same filters, null
// fit and scan, the same table rows. Browser-safe: the page's worker runs
// it (its scan split over several workers when given a pool: web-scan.ts);
// the tests run it in Node too. Stages are reported to a listener as they
// start and go.
import { chromCode } from '../data/chrom.js';
import { analysedSelection, type BatchOptions, type GenotypeBatch, type GenotypeSource } from '../data/genotypes.js';
import { dialect, type GwasOutRow } from '../data/gwas-dialects.js';
import { type LineReader, parseSourceLines } from '../data/lines.js';
import { formatMatchReport } from '../data/match.js';
import { bedFileset } from '../data/plink/bed-bytes.js';
import { resolveSelection } from '../data/variants.js';
import type { ByteInput } from '../data/bytes.js';
import { InputError, SelectionError } from '../errors.js';
import { getBackend } from '../linalg/select.js';
import { gwasScan } from '../scan/gwas.js';
import { simulateGwas } from '../sim/gwas.js';
import { formatNumber } from '../data/format-number.js';
import { CAUSAL, H2_CAUSAL, H2_POPULATION } from './demo-model.js';
import { fitInContext, fitInContextSync } from './fit-context.js';
import { checkTraitSizes, prepareKinship, readGwasInputs, traitData } from './gwas-inputs.js';
import { dialectLines } from './gwas-lines.js';
import { EigenCache, fitTraitNull } from './gwas-null.js';
import { describeNull, type GwasHit, type NullModelReport } from './gwas-report.js';
import type { SingleTraitNullModel } from '../nullmodel/null-model.js';
import { filesetFiles, filesetFormat, filesetOption, type GenotypeFileset, type JobFiles } from './web-filesets.js';
import { openFileset } from './web-genotypes.js';
import { dealBatches, nullModelBytes, pooledBatches, type ScanPool, scanBatches } from './web-scan.js';
import { formatBatch } from './gwas-rows.js';
import { sourceCounts } from './gwas-samples.js';
import { checkFilterOptions } from './options-check.js';
import type { ScanRunOptions } from './options.js';
import { droppedReport, type DroppedSampleReport, groupReasons } from './report.js';

export type { JobFiles } from './web-filesets.js';

/** What the page asks for: a genotype fileset and a phenotype table (by file name in `files`), or the demo's simulation. */
export interface JobRequest {
  /** The files chosen or dropped, by name. */
  files: JobFiles;
  /**
   * The genotype files by name (.bed/.bim/.fam, .pgen/.pvar/.psam, .bgen
   * with its optional .sample, or a .vcf/.vcf.gz: see `recogniseGenotypes`),
   * or 'example': the data set `lmmkit demo` simulates (same seed, same
   * sizes by default).
   */
  genotypes: GenotypeFileset | { example: { samples: number; variants: number; seed: number } };
  /** Phenotype table (its name in `files`); absent for the example. */
  pheno?: string;
  /** The trait column (default the table's first). */
  trait?: string;
  covar?: string;
  /** A kinship file; absent: computed from the genotypes (--kinship-from-bfile). */
  kinship?: string;
  test?: 'fixed' | 'exact';
  maf?: number;
  maxMissing?: number;
}

/** A message of a running job. */
export type JobEvent =
  | { type: 'stage'; stage: string }
  | { type: 'progress'; stage: string; done: number; total: number; fraction: number }
  | { type: 'log'; line: string }
  | { type: 'samples'; text: string; counts: ReturnType<typeof sourceCounts>; dropped: DroppedSampleReport[]; reasons: string[] }
  | { type: 'null'; report: NullModelReport; text: string };

/** A job's results: every row of the table, the lmmkit TSV as the CLI writes it, and the report. */
export interface JobResult {
  trait: string;
  /** `lmmkit gwas`'s PREFIX.<trait>.tsv, byte for byte. */
  tsv: string;
  /** The rows, for the other dialects and the plots. */
  rows: GwasOutRow[];
  layout: 'single' | 'exact';
  report: WebReport;
}

/** The JSON report of a run in the page: the fields of `lmmkit gwas`'s PREFIX.json the page knows. */
export interface WebReport {
  command: 'gwas';
  app: 'lmmkit web';
  genotypes:
    | { format: 'bed' | 'pgen' | 'bgen' | 'vcf'; files: string[]; samples: number; variants: number }
    | { format: 'simulated'; samples: number; variants: number; seed: number };
  options: { test: 'fixed' | 'exact'; maf: number; maxMissing: number; covar: string | null; pheno: string | null };
  covariance: unknown;
  trait: string;
  samples: number;
  covariates: string[];
  nullModel: NullModelReport;
  variants: { selected: number; tested: number; filtered: number; tests: number; untestable: number };
  top: GwasHit[];
  match: { counts: ReturnType<typeof sourceCounts>; dropped: DroppedSampleReport[] };
  backend: string;
  /** Workers the scan's batches were dealt to (1: scanned where the job runs). */
  scanWorkers: number;
  seconds: number;
  /** Seconds of each stage, in the order they ran (a stage met twice counts once, from its first start). */
  stages: { stage: string; seconds: number }[];
}

/** How a job runs: a pool of workers for the scan's batches (default none: the scan runs where the job runs). */
export interface JobOptions {
  pool?: ScanPool;
}

/** The example's phenotype file name (the demo's pheno.tsv). */
const EXAMPLE_PHENO = 'pheno.tsv';

/**
 * Runs a job (see `JobRequest`) to its results, reporting stages,
 * progress, the sample-matching report and the null model through
 * `listener`. With `run.pool` of more than one worker, the scan's batches
 * are dealt to its workers (web-scan.ts): the same table, byte for byte.
 * Errors are the CLI's (`InputError` and friends, naming file and line).
 */
export async function runJob(req: JobRequest, listener: (e: JobEvent) => void, run: JobOptions = {}): Promise<JobResult> {
  const t0 = performance.now();
  const stages: { stage: string; seconds: number; at: number }[] = [];
  const events = (e: JobEvent): void => {
    if (e.type === 'stage' && !stages.some((s) => s.stage === e.stage)) {
      const now = performance.now();
      const last = stages[stages.length - 1];
      if (last !== undefined) last.seconds = (now - last.at) / 1000;
      stages.push({ stage: e.stage, seconds: 0, at: now });
    }
    listener(e);
  };
  const files = new Map(req.files);
  const log = (line: string): void => events({ type: 'log', line });
  let set: GenotypeFileset;
  let pheno = req.pheno;
  let genoReport: WebReport['genotypes'];
  if ('example' in req.genotypes) {
    const { samples, variants, seed } = req.genotypes.example;
    events({ type: 'stage', stage: 'simulating the example' });
    const sim = simulateGwas({ samples, variants, seed, causal: CAUSAL, h2Causal: H2_CAUSAL, h2Population: H2_POPULATION });
    const bytes = bedFileset(sim.dosages, sim.samples, sim.variants);
    set = { bed: 'demo.bed', bim: 'demo.bim', fam: 'demo.fam' };
    files.set(set.bed, bytes.bed);
    files.set(set.bim, bytes.bim);
    files.set(set.fam, bytes.fam);
    // The demo's pheno.tsv as `writeTsv` writes it: the numbers read back exactly.
    const lines = sim.samples.iid.map((iid, i) => `${sim.samples.fid[i]}\t${iid}\t${formatNumber(sim.phenotype[i]!)}`);
    files.set(EXAMPLE_PHENO, new TextEncoder().encode(`FID\tIID\ttrait\n${lines.join('\n')}\n`));
    pheno = EXAMPLE_PHENO;
    genoReport = { format: 'simulated', samples, variants, seed };
  } else {
    set = req.genotypes;
    genoReport = { format: filesetFormat(set), files: filesetFiles(set), samples: 0, variants: 0 };
  }
  if (pheno === undefined) throw new InputError(undefined, 'expected a phenotype table, found none: choose one');
  need(files, pheno, 'phenotype');
  const read: LineReader = (path, parser) => parseSourceLines(need(files, path, 'table'), path, parser);

  events({ type: 'stage', stage: 'reading samples' });
  const opened = await openFileset(set, files);
  const source = yielding(opened);
  // The scan workers start and open the same files while this one computes the kinship and the null model.
  run.pool?.open?.(new Map(filesetFiles(set).map((name) => [name, files.get(name)!])), set);
  try {
    if (genoReport.format !== 'simulated') genoReport = { ...genoReport, samples: source.samples.iid.length, variants: source.variants.id.length };
    refuseSexChromosomes(source);
    const test = req.test ?? 'fixed';
    const filters = checkFilterOptions({ maf: req.maf, maxMissing: req.maxMissing });
    const select = analysedSelection(source, undefined);
    const selected = resolveSelection(source.variants, select, source.path).length;
    if (selected === 0) throw new SelectionError('NO_VARIANTS', `${source.path}: expected at least one variant with a non-negative position, found none`);
    const kinshipFromGenotypes = req.kinship === undefined;
    // The workflow's options as `lmmkit gwas` builds them; the page writes no file, `out` only names the downloads.
    const opts: ScanRunOptions = {
      out: 'lmmkit-web',
      pheno,
      ...(req.trait === undefined ? {} : { phenoCol: [req.trait] }),
      ...(req.covar === undefined ? {} : { covar: req.covar }),
      ...(req.kinship === undefined ? {} : { kinship: req.kinship }),
      kinshipFromGenotypes,
      ...filesetOption(set),
      progress: progressOf(events),
    };
    const inputs = await readGwasInputs(read, opts, filters.ids, filters.missingCode, source, log);
    const tr = inputs.traits[0]!;
    const dropped: DroppedSampleReport[] = [...inputs.match.dropped.map(droppedReport), ...inputs.extraDropped, ...tr.missing];
    events({
      type: 'samples',
      text: formatMatchReport(inputs.match),
      counts: sourceCounts(inputs.match, inputs.extras, tr.pos.length),
      dropped,
      reasons: groupReasons(dropped, true),
    });
    checkTraitSizes(inputs);
    const { kin, report: covariance } = await prepareKinship(opts, inputs, source, log);

    const { samples, y, f, names } = traitData(inputs, tr, false);
    const n = samples.length;
    events({ type: 'stage', stage: `null fit of trait '${tr.name}'` });
    const nul = fitInContextSync(`trait '${tr.name}' of ${pheno} (${n} samples): cannot fit the null model`, () =>
      fitTraitNull({ trait: tr.name, y, f, names, samples, test, kinship: kin }, new EigenCache(undefined)),
    );
    events({ type: 'null', report: nul.report, text: describeNull(nul.report) });

    const layout = test === 'exact' ? 'exact' : 'single';
    const d = dialect('lmmkit', { layout });
    const rows: GwasOutRow[] = [];
    const lines: string[] = [d.header];
    const counts = { tested: 0, tests: 0, untestable: 0 };
    const top: GwasHit[] = [];
    const stage = `scan of trait '${tr.name}'`;
    events({ type: 'stage', stage });
    const onProgress = (p: { variantsRead: number; total: number; fraction: number }): void =>
      events({ type: 'progress', stage, done: p.variantsRead, total: p.total, fraction: p.fraction });
    const plan = scanBatches(source, select, n);
    const pool = run.pool !== undefined && run.pool.size > 1 && nul.model !== undefined && plan.batches.length > 1 ? run.pool : undefined;
    const scanned = (() => {
      if (pool === undefined) {
        return gwasScan({
          source,
          samples,
          ...(nul.model === undefined ? { y, covariates: f } : { null: nul.model }),
          test,
          select,
          minMaf: filters.maf,
          maxMissing: filters.maxMissing,
          onProgress,
        });
      }
      const ids = { fid: Array.from(samples, (g) => source.samples.fid[g]!), iid: Array.from(samples, (g) => source.samples.iid[g]!) };
      const model = nullModelBytes(nul.model as SingleTraitNullModel, ids, tr.name, names);
      const genoFiles = new Map(filesetFiles(set).map((name) => [name, files.get(name)!]));
      const parts = dealBatches(plan.batches, pool.size).map((indices) => ({
        files: genoFiles,
        genotypes: set,
        model,
        samples,
        test,
        minMaf: filters.maf,
        maxMissing: filters.maxMissing,
        batchSize: plan.size,
        indices,
      }));
      const total = plan.batches.reduce((a, b) => a + b.length, 0);
      let read = 0;
      return pooledBatches(source, nul.model as SingleTraitNullModel, pool, parts, plan.batches.length, (b) => {
        read += plan.batches[b]!.length;
        onProgress({ variantsRead: read, total, fraction: read / total });
      });
    })();
    const scanWorkers = pool === undefined ? 1 : Math.min(pool.size, plan.batches.length);
    await fitInContext(`trait '${tr.name}' of ${pheno} (${n} samples): the scan failed`, async () => {
      for await (const batch of scanned) {
        counts.tested += batch.indices.length;
        const got = formatBatch(batch, layout, 1, n, counts, top);
        for (const r of got.rows) rows.push(r);
        for (const l of dialectLines(d, got.rows)) lines.push(l.line);
      }
    });
    const end = performance.now();
    const seconds = (end - t0) / 1000;
    const lastStage = stages[stages.length - 1];
    if (lastStage !== undefined) lastStage.seconds = (end - lastStage.at) / 1000;
    log(`trait '${tr.name}': ${n} samples, null ${describeNull(nul.report)}; ${counts.tested} of ${selected} variants tested in ${seconds.toFixed(2)} s`);
    return {
      trait: tr.name,
      tsv: `${lines.join('\n')}\n`,
      rows,
      layout,
      report: {
        command: 'gwas',
        app: 'lmmkit web',
        genotypes: genoReport,
        options: { test, maf: filters.maf, maxMissing: filters.maxMissing, covar: req.covar ?? null, pheno: req.pheno ?? null },
        covariance,
        trait: tr.name,
        samples: n,
        covariates: names,
        nullModel: nul.report,
        variants: { selected, tested: counts.tested, filtered: selected - counts.tested, tests: counts.tests, untestable: counts.untestable },
        top,
        match: { counts: sourceCounts(inputs.match, inputs.extras, n), dropped },
        backend: getBackend().name,
        scanWorkers,
        seconds,
        stages: stages.map(({ stage, seconds }) => ({ stage, seconds })),
      },
    };
  } finally {
    run.pool?.close?.();
    await opened.close();
  }
}

/**
 * `source`, its batches handed out one event-loop turn apart: a worker's
 * terminate() takes effect when its script returns to the event loop
 * (Chromium forces it only after 2 s), so Cancel stops a job between two
 * batches, not at its end. Everything else is the source's own.
 */
function yielding(source: GenotypeSource): GenotypeSource {
  async function* batches(opts?: BatchOptions): AsyncGenerator<GenotypeBatch> {
    for await (const b of source.batches(opts)) {
      await new Promise((turn) => setTimeout(turn, 0));
      yield b;
    }
  }
  return new Proxy(source, {
    get(target, key) {
      if (key === 'batches') return batches;
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function need(files: Map<string, ByteInput>, name: string, what: string): ByteInput {
  const f = files.get(name);
  if (f === undefined) throw new InputError({ file: name }, `expected the ${what} file '${name}' among the files chosen, found none of that name`);
  return f;
}

/** The CLI scans chrX, chrY and MT under their own models (gwas-sex.ts), which the page does not run: it refuses them rather than scan them as autosomes. */
function refuseSexChromosomes(source: GenotypeSource): void {
  const chrom = source.variants.chrom;
  for (let j = 0; j < chrom.length; j++) {
    const c = chromCode(chrom[j]!);
    if (c !== undefined && c > 22) {
      throw new InputError(
        { file: source.path },
        `expected autosomes only (the page does not run plink2's chrX/chrY/MT models), found variant '${source.variants.id[j]}' on chromosome ${chrom[j]}; run 'lmmkit gwas' for these`,
      );
    }
  }
}

/** Progress of the workflow's stages as events (the CLI draws the same stages as bars). */
function progressOf(events: (e: JobEvent) => void) {
  return (stage = 'read') => {
    events({ type: 'stage', stage });
    return Object.assign(
      (p: { variantsRead: number; total: number; fraction: number }) =>
        events({ type: 'progress', stage, done: p.variantsRead, total: p.total, fraction: p.fraction }),
      { stop: () => {} },
    );
  };
}
