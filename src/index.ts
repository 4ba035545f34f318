/**
 * lmmkit: linear mixed models for genetics, for Node.js and the browser.
 * This entry (`lmmkit`) is browser-safe: it bundles for a page with no Node
 * built-in and runs the js backend. Files by path, PNG rendering, worker
 * threads, the native backend and terminal progress bars come from
 * `lmmkit/node` (src/node.ts), which re-exports everything here too.
 */
export {
  ArgumentError,
  BackendError,
  DesignError,
  DomainError,
  InputError,
  LmmkitError,
  NotPositiveDefiniteError,
  NotPositiveSemidefiniteError,
  NullModelFormatError,
  NumericalError,
  OutputError,
  SampleMismatchError,
  SelectionError,
  ShapeError,
  WorkerError,
  type BackendCode,
  type DesignCode,
  type ErrorCode,
  type InputLocation,
  type NullModelFormatProblem,
  type SelectionCode,
} from './errors.js';
export { Matrix, type MatrixLike } from './linalg/matrix.js';
export {
  Backend,
  logdetFromCholesky,
  type BackendInfo,
  type Eigen,
  type GemmOptions,
  type GemvOptions,
  type Svd,
  type SyrkOptions,
  type TrsmOptions,
} from './linalg/backend.js';
export type { KernelInfo, Kernels } from './linalg/kernels.js';
export {
  availableBackends,
  getBackend,
  loadBackend,
  nativeStatus,
  setBackend,
  wasmStatus,
  type BackendName,
} from './linalg/select.js';
export * from './stats/index.js';

// Data: genotype readers, tables, sample matching, preprocessing, kinship.
export type { BatchOptions, GenotypeBatch, GenotypeSource } from './data/genotypes.js';
export { BatchStorage, DEFAULT_BATCH_BYTES, defaultBatchSize } from './data/genotypes.js';
export { byteSource, sourceText, textOf, type ByteInput, type ByteSource } from './data/bytes.js';
export { BedReader, openBedFiles, openBedSource, type BedFiles, type CountedAllele, type OpenBedOptions } from './data/plink/bed.js';
export { openPgenFiles, openPgenSource, PgenReader, readPgenLayout, type PgenFiles, type PgenLayout } from './data/plink2/pgen.js';
export {
  BgenReader,
  openBgenSource,
  type BgenDecompressors,
  type BgenHeader,
  type BgenQuirks,
  type BgenRef,
  type OpenBgenSourceOptions,
} from './data/bgen/bgen.js';
export { parseOxfordSample, type OxfordSample } from './data/bgen/sample.js';
export { parseBim } from './data/plink/bim.js';
export { openVcfStream, VcfReader, type ChunkStream, type OpenVcfOptions, type VcfDosage } from './data/vcf.js';
export { fflateInflate, readBgzfBlock, readBgzfRange, type RawInflate } from './data/tabix/bgzf.js';
export { parseCsi } from './data/tabix/csi.js';
export { readTabixIndex } from './data/tabix/index-file.js';
export { regionChunks, type Chunk, type TabixIndex } from './data/tabix/query.js';
export { indexedVcfBytes, planIndexedRead, type IndexedReadPlan, type RegionQuery } from './data/tabix/region-stream.js';
export { parseTbi } from './data/tabix/tbi.js';
export { parseFam, type FamTable } from './data/plink/fam.js';
export { sampleKey, type SampleTable } from './data/samples.js';
export { resolveSelection, takeVariants, type VariantSelection, type VariantTable } from './data/variants.js';
export { canonicalChrom, chromCode, chromName, chromSortKey, compareChromNames, sameChrom } from './data/chrom.js';
export {
  IdListParser,
  parseChromList,
  SampleListParser,
  sampleExclusions,
  subsetVariants,
  variantFilter,
  type FilterCount,
  type SampleList,
  type SelectionCounts,
  type VariantFilters,
} from './data/selection.js';
export { parseTable, type NumericTable, type Separator, type TableKey, type TableOptions } from './data/table.js';
export { parseKinship, type KinshipTable, type ReadKinshipOptions } from './data/kinship-table.js';
export {
  formatMatchReport,
  matchSamples,
  NoSamplesError,
  type DroppedSample,
  type GenotypeSamples,
  type KinshipSource,
  type MatchInput,
  type SampleMatch,
  type SourceCount,
} from './data/match.js';
export {
  compose,
  dosageStats,
  filterByMaf,
  filterByMissing,
  imputeMean,
  standardize,
  type DosageStats,
  type PreprocessedBatch,
  type PreprocessStep,
} from './data/preprocess.js';
export { gaussianize } from './data/gaussianize.js';
export { genoQueue, progressLine, type GenoProgress, type GenoQueueOptions } from './data/geno-queue.js';
export { kinship, type KinshipMethod, type KinshipOptions, type KinshipResult } from './data/kinship.js';
export { simulateGenotypes, type SimulatedGenotypes, type SimulateGenotypesOptions } from './sim/genotypes.js';
export { Rng } from './sim/rng.js';
export { simulateGwas, type SimulatedGwas, type SimulateGwasOptions } from './sim/gwas.js';

// Null models and scans (limix-lmm's LMM / LMMCore, GEMMA's exact test).
export type { NullCovariance } from './nullmodel/covariance.js';
export { IdentityCovariance } from './nullmodel/identity.js';
export { LowRankCovariance, type LowRankFactor } from './nullmodel/lowrank.js';
export { KinshipCovariance } from './nullmodel/kinship.js';
export { fitLowRankNull, lowRankNullModel, type FitLowRankOptions, type LowRankNullModel, type LowRankNullParts } from './nullmodel/fit-lowrank.js';
export { fitKinshipNull, kinshipNullModel, type FitKinshipOptions, type KinshipNullModel, type KinshipNullParts } from './nullmodel/fit-kinship.js';
export { checkKinshipSpectrum, PSD_ROUNDING, type KinshipSpectrum, type KinshipSpectrumOptions } from './nullmodel/psd.js';
export type { NullModel, SingleTraitNullModel } from './nullmodel/null-model.js';
export type { TraitInput } from './nullmodel/traits.js';
export {
  checkNullModelSamples,
  decodeNullModel,
  encodeNullModel,
  encodeNullModelChunks,
  NULL_MODEL_FORMAT_VERSION,
  type DecodeOptions,
  type NullModelMeta,
  type SavedNullModel,
} from './nullmodel/serialize.js';
export { fitLambda, logLikLambda, type FitLambdaOptions, type LambdaFit, type RotatedData, type VarianceMethod } from './nullmodel/lambda.js';
export { LmmCore, type LmmCoreOptions, type ProcessOptions, type ScanResult } from './scan/lmm-core.js';
export { ExactScan, exactTests, type ExactTestOptions, type ExactTestResult } from './scan/exact.js';
export { gwasScan, type GwasBatchResult, type GwasScanOptions } from './scan/gwas.js';

// Plots as SVG (PNG and files: lmmkit/node).
export {
  AssocTsvParser,
  compareChrom,
  parseAssocTsv,
  toAssocData,
  MANHATTAN_COLORS,
  manhattanPlot,
  formatMinusLog10p,
  interactiveManhattanHtml,
  regionalPlot,
  dosageR2,
  R2_BINS,
  type RegionalOptions,
  type RegionalResult,
  ASSOC_DIALECTS,
  matchDialect,
  type AssocDialect,
  type InteractivePageOptions,
  CHI2_1_MEDIAN,
  QQ_COLORS,
  lambdaGc,
  lambdaGcLog10,
  qqBand,
  qqPlot,
  FONT_FAMILY,
  type AssocColumns,
  type AssocData,
  type AssocInput,
  type AssocRow,
  type AssocTable,
  type AssocTsvOptions,
  type ChromCodes,
  type ManhattanChromosome,
  type ManhattanOptions,
  type ManhattanResult,
  type PlotResult,
  type QqOptions,
  type QqResult,
  type QqSeries,
  type QqSeriesContext,
  type PlotArea,
} from './plot/index.js';
export { simulateAssoc, type SimulatedAssoc } from './plot/simulate.js';

// Variance-component models (MM4LMM's MMEst).
export { mmEst, type MarkerInput, type MmEstModel, type MmEstOptions, type MmEstResult } from './varcomp/mmest.js';
export type { EngineFit, EngineOptions, VarComponent, VarListEntry, VarMethod as VarcompMethod } from './varcomp/types.js';
export { mmDense } from './varcomp/mm-dense.js';
export { mmRotated, rotateTwo, RotatedWorkspace, type TwoRotation } from './varcomp/mm-eigen.js';
export { mmHenderson } from './varcomp/mm-henderson.js';
export { parseFormula, type Formula } from './varcomp/formula.js';
export { buildDesign, designFor, planDesign, type DesignInput, type DesignPlan, type FixedDesign } from './varcomp/design.js';
export type { CofactorTable } from './varcomp/design-frame.js';
export { rQr, type RQr } from './linalg/qr-dqrdc2.js';
export { parseFrame, type DataFrame, type FrameOptions } from './data/frame.js';

// Several traits at once (limix's MTLMM on GP2KronSum).
export { FreeFormCov, FREEFORM_JITTER, type FreeFormCovOptions } from './nullmodel/freeform.js';
export { KronSumCovariance, jointDiagonalise, type JointDiagonalisation } from './nullmodel/kron-sum-covariance.js';
export { KronSumLikelihood, type KronSumModelOptions, type KronSumEvaluation } from './nullmodel/kron-sum-likelihood.js';
export { fitKronSumNull, kronSumNullModel, type FitKronSumOptions, type KronSumNullModel, type KronSumNullParts } from './nullmodel/fit-kron-sum.js';
export { sampleCovariance } from './nullmodel/kron-sum-dense.js';
export { minimizeLbfgs, type Objective, type LbfgsOptions, type LbfgsResult, type LbfgsStop } from './optim/lbfgs.js';
export {
  Mtlmm,
  mtlmmScan,
  traitTestDesign,
  type MtlmmOptions,
  type MtlmmResult,
  type TraitTest,
  type MtlmmScanOptions,
  type MtlmmBatchResult,
} from './scan/mtlmm.js';
export { modelAt, type ModelAt } from './varcomp/model-at.js';
export {
  mmBlup,
  type MmFit,
  type MmFitInput,
  type MmData,
  type MmDataComponent,
  type MmInferenceOptions,
  type MmBlupOptions,
  type MmBlupResult,
  type BlupComponent,
} from './varcomp/blup.js';
export { mmVcov, expectedInformation, averageInformation, type MmVcovOptions, type MmVcovResult, type VcovInformation } from './varcomp/vcov.js';
export {
  anovaTest,
  type AnovaType,
  type AnovaOptions,
  type AnovaResult,
  type AnovaTable,
  type AnovaRow,
  type AnovaData,
  type AnovaFitInput,
  type AnovaModelInput,
  type ContrastInput,
  type ContrastsInput,
  type AnovaTestName,
} from './varcomp/anova.js';
export {
  krModel,
  krTest,
  krCovariance,
  covarianceInverse,
  kenwardRoger,
  glsAt,
  type KrModel,
  type KrModelInput,
  type KrTest,
  type KrCovariance,
  type CovarianceInverse,
} from './varcomp/kr.js';
export { mmEstStream, type MmEstStreamBatch, type MmEstStreamOptions } from './varcomp/mmest-stream.js';
