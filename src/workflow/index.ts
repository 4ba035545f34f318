// The workflows: what each `lmmkit` command runs, as one call taking file
// paths and an options object and returning its report.
export { runDemo, formatDemo, GENOME_WIDE, type CausalOutcome, type DemoOptions, type DemoResult } from './demo.js';
export { runGwas, type GwasRunOptions } from './gwas.js';
export { GWAS_TSV_HEADERS, type GwasLayout } from './gwas-rows.js';
export type { GwasHit, GwasReport, NullModelReport, SourceCountReport, TraitReport } from './gwas-report.js';
export type { GenotypesReport } from './inputs.js';
export { runNullFit, type NullFitReport, type NullFitRunOptions } from './null-fit.js';
export { formatInfo, infoReport, type InfoReport } from './info.js';
export { runKinship, type KinshipRunOptions, type KinshipRunReport } from './kinship.js';
export { mtgwasHeader, runMtgwas, type MtDroppedSample, type MtgwasHit, type MtgwasReport, type MtgwasRunOptions } from './mtgwas.js';
export { parseNumberText, streamProgress, type PhenoLayout, type ProgressFactory, type ScanRunOptions, type TableIds, type WorkflowOutput } from './options.js';
export {
  missingFontWarning,
  runManhattanPlot,
  runQqPlot,
  writePlots,
  writeResultPlots,
  type ManhattanRunOptions,
  type PlotRunOptions,
  type QqRunOptions,
} from './plot.js';
export { runRegionalPlot, type RegionalRunOptions, type RegionalRunReport } from './plot-regional.js';
export type { DroppedSampleReport } from './report.js';
export { applySelection, type Selected, type SelectionOptions, type SelectionReport } from './selection.js';
export { formatSelfCheck, runSelfCheck, selfCheck, type Check, type SelfCheckResult } from './selfcheck.js';
export { threadsReport, useThreads, type ThreadsReport } from './threads.js';
export { runVarcompFit, type LineProgress, type VarcompFitOptions } from './varcomp.js';
// What a front door needs to stop a run on a signal without leaving its temporary files.
export { afterCommits, removeTemporaryFiles, writeAtomically } from '../data/atomic.js';
// What the front doors need to parse --out-format and to keep a run log.
export { parseOutFormats, type OutFormat } from '../data/gwas-dialects.js';
export { DEFAULT_PROGRESS_SECONDS } from '../data/node/progress.js';
export { parseChunk, partPrefix, planChunk, type ChunkSpec, type PartManifest } from './chunks.js';
export { runMerge, type MergeReport, type MergeRunOptions } from './merge.js';
export {
  type ClusterScan,
  type ClusterSubmitOptions,
  type ClusterSubmitReport,
  type ClusterWorker,
  type ClusterWorkerOptions,
  runWorker,
  submitRun,
} from './cluster.js';
export { type ClusterStatus, formatStatus, runStatus, type WaitResult, waitRun } from './cluster-status.js';
