// The JSON report of `runGwas` (PREFIX.json) and the text line of a null model.
import type { FactorColumn } from '../data/categorical.js';
import type { DroppedSampleReport } from './report.js';
import type { GenotypesReport, MissingCodeReport } from './inputs.js';
import type { TableIds } from './options.js';
import type { RunMetadata } from './run-info.js';
import type { SelectionReport } from './selection.js';
import type { ThreadsReport } from './threads.js';

/** The null model of one trait as reported. */
export type NullModelReport =
  | { model: 'none'; method: 'OLS'; beta: Record<string, number>; sigma2: number; logLik: number }
  | {
      model: 'kinship';
      method: 'REML';
      lambda: number;
      sigmaG2: number;
      sigmaE2: number;
      /** sigmaG2 mean(diag K) / (sigmaG2 mean(diag K) + sigmaE2). */
      h2: number;
      logLik: number;
      atBound: 'lower' | 'upper' | null;
      beta: Record<string, number>;
      /** With --allow-non-psd-kinship, when the kinship had negative eigenvalues beyond rounding: how many were set to 0, and the most negative. */
      nonPsdKinship?: { eigenvaluesClamped: number; mostNegative: number };
    }
  | {
      model: 'lowrank';
      method: 'REML';
      cr: number;
      cn: number;
      logLik: number;
      lml: number;
      atBoundary: boolean;
      beta: Record<string, number>;
      wColumns: number;
      wColumnsDropped: number;
    }
  | InfNullReport;

/**
 * The infinitesimal model of `gwas --method inf` (inf-gwas.ts): Monte Carlo
 * REML of y = C b + g + e, g ~ N(0, sigmaG2 Z Z^T / M), and the calibration
 * of its LOCO statistics.
 */
export interface InfNullReport {
  model: 'inf';
  method: 'MC-REML';
  h2: number;
  /** Monte Carlo standard error of h2 (NaN written as null when not estimable). */
  h2McSe: number | null;
  sigmaG2: number;
  sigmaE2: number;
  /** sigmaE2 / sigmaG2. */
  delta: number;
  mcTrials: number;
  seed: number;
  /** Secant evaluations of the REML equation, and whether they met the tolerance. */
  iterations: number;
  converged: boolean;
  /** h2 at its lower (1e-4) or upper (1 - 1e-4) bound, the REML root beyond it; null inside. */
  atBound: 'lower' | 'upper' | null;
  /** CG iterations and passes over the model SNPs of the REML fit and of the LOCO solves. */
  cgIterations: { reml: number; loco: number };
  passes: { reml: number; loco: number };
  /** x~^T H^-1 x~ ~= sum_i (v_i^T x~)^2 / (lambda_i + delta) + gamma rest: gamma, the calibration SNPs and their ratios' relative spread. */
  calibration: { gamma: number; snps: number; spread: number };
  /** Top eigenvalues of P K P (the structure correction), descending. */
  eigenvalues: number[];
  /** With --inf-loco-reml: each chromosome's REML on K_{-c} (the model SNPs of the others), under which its variants are tested. */
  loco?: {
    chrom: string;
    modelSnps: number;
    h2: number;
    h2McSe: number | null;
    sigmaG2: number;
    sigmaE2: number;
    delta: number;
    iterations: number;
    passes: number;
    atBound: 'lower' | 'upper' | null;
  }[];
}

/** A top association of a trait. */
export interface GwasHit {
  chrom: string;
  pos: number;
  id: string;
  /** Last variant of a multi-variant block (step > 1), else equal to `id`. */
  idLast: string;
  beta: number;
  pvalue: number;
  log10p: number;
}

/** How many samples each input had and how many a trait used. */
export type SourceCountReport = { source: string; file: string; samples: number; used: number };

/** One result table of a trait (--out-format, --gz). */
export interface TraitOutputReport {
  format: string;
  file: string;
  rows: number;
  /** Rows sorted by chromosome (plink2's order) and position: always with --gz, else as the genotype file came. */
  sorted: boolean;
  /** The tabix index (.tbi) written with --gz. */
  index?: string;
  /** GWAS-SSF's -meta.yaml. */
  meta?: string;
}

/** Per-trait part of the JSON report. */
export interface TraitReport {
  trait: string;
  /** The first table (of --out-format's first format). */
  output: string;
  /** Every table with its format (absent for the default: one lmmkit table, uncompressed). */
  outputs?: TraitOutputReport[];
  samples: number;
  /** The trait has two values only on its samples (a case-control code), analysed as quantitative. */
  binary: boolean;
  covariates: string[];
  covariatesDropped: { name: string; reason: string }[];
  nullModel: NullModelReport;
  variants: {
    /** Variants in the selection (the region, or the whole file). */
    selected: number;
    /** Variants that passed the missingness and MAF filters and were tested. */
    tested: number;
    /** Selected variants removed by --max-missing, --maf or all-missing. */
    filtered: number;
    /** Rows of the output (tests: one per variant, or per block of step variants). */
    tests: number;
    /** Tests with no p-value (a variant constant or collinear with the covariates on the analysed samples). */
    untestable: number;
  };
  /** The best tests by p-value (at most 10). */
  top: GwasHit[];
  /** The plot files written (with --plot). */
  plots?: string[];
  /** lambda_GC of the trait's p-values (with --plot). */
  lambdaGc?: number;
  match: {
    counts: SourceCountReport[];
    dropped: DroppedSampleReport[];
  };
  /** How chrX and chrY were scanned (only when the selection has variants there). */
  sexChromosomes?: SexChromosomesReport;
  /**
   * With --loco: each chromosome's null model (REML on the kinship without
   * it), in file order; `nullModel` above is then the fit on every
   * variant's kinship, reported for its h2 and used by no test.
   */
  loco?: LocoChromReport[];
  seconds: number;
}

/** One chromosome of a --loco scan: its tested variants and the null model they were tested under. */
export interface LocoChromReport {
  chrom: string;
  /** Selected variants on the chromosome (a run of consecutive ones in the file). */
  variants: number;
  /** Variants in its kinship: the informative ones on the other chromosomes (p_{-c}). */
  kinshipVariants: number;
  nullModel: NullModelReport;
}

/** Where --sex-col read the sexes, and what it changed. */
export interface SexColumnReport {
  file: string;
  column: string;
  /** Analysed samples of known sex by the column. */
  known: number;
  /** Analysed samples whose sex the column changed from the genotype file's (absent when the format records none). */
  changed?: number;
}

/** The null model and samples of one sex chromosome's variants (plink2's --glm rules, see gwas-sex.ts). */
export interface SexChromosomeNull {
  /** Selected variants on the chromosome. */
  variants: number;
  /** The trait's samples used: known sex (chrX), males (chrY). */
  samples: number;
  /** The trait's samples left out: unknown sex (chrX), not male (chrY). */
  samplesDropped: number;
  covariates: string[];
  /** Why the sex covariate is absent on chrX, when it is. */
  sexCovariateDropped?: string;
  nullModel: NullModelReport;
}

/** The sex-chromosome part of a trait's report. */
export interface SexChromosomesReport {
  /** --xchr-model: 0 skip chrX, 1 males 0..1, 2 males 0..2 (plink2's default). */
  xchrModel: 0 | 1 | 2;
  /** Where the sexes came from (.fam, .psam, or the --sex-col table). */
  sexFile: string;
  /** With --sex-col: the column, its table, and how many analysed samples it gave a known sex or changed. */
  sexColumn?: SexColumnReport;
  /** chrX variants not tested (--xchr-model 0). */
  xSkipped: number;
  /** MT variants, coded 0..1 on every sample as plink2 codes them (their beta and se doubled). */
  mt?: { variants: number; coding: 'haploid' };
  x?: SexChromosomeNull;
  y?: SexChromosomeNull;
}

/** The JSON report (PREFIX.json) of a `runGwas` run. */
export interface GwasReport {
  command: 'gwas';
  /** Version, command line, start and end times and machine (absent when the library is called without `run`). */
  run?: RunMetadata;
  genotypes: GenotypesReport;
  /** What --keep/--remove and --extract/--exclude/--chr/--from-bp/--to-bp removed (absent without those options). */
  selection?: SelectionReport;
  /** The threads asked for with --threads and those in use (absent without --threads). */
  threads?: ThreadsReport;
  options: {
    test: 'fixed' | 'exact';
    step: number;
    maf: number;
    maxMissing: number;
    region: string | null;
    gaussianize: boolean;
    standardize: boolean;
    covar: string | null;
    inter: string | null;
    ids: TableIds;
    /** The tables' dialects, --gz and --build (absent for the default: lmmkit, uncompressed). */
    outFormat?: string[];
    gz?: boolean;
    build?: string | null;
  };
  /** Which allele the betas and eaf are of (the counted allele, a1). */
  effectAllele: string;
  /** The missing-phenotype code (-9 by default) and how many values of each phenotype and covariate file it made missing. */
  inputMissingPhenotype: MissingCodeReport;
  /** The categorical --covar columns, their levels (natural order, with counts), reference and dummy columns (absent when none). */
  categoricalCovariates?: FactorColumn[];
  covariance:
    | { model: 'none' }
    | { model: 'kinship'; source: 'file'; file: string }
    | {
        model: 'kinship';
        source: 'genotypes';
        method: 'standardized';
        samples: number;
        variantsUsed: number;
        variantsSkipped: number;
        /** With --loco: the informative variants of each chromosome, left out of its own kinship. */
        loco?: { chrom: string; variants: number }[];
      }
    | { model: 'lowrank'; file: string }
    | { model: 'kinship'; source: 'null-model'; file: string }
    | InfCovarianceReport;
  traits: TraitReport[];
  backend: string;
  seconds: number;
}

/** The model SNPs of `gwas --method inf` (K = Z Z^T / M never formed). */
export interface InfCovarianceReport {
  model: 'inf';
  /** The genotype file the model SNPs were read from (--model-bfile, or the genotype input). */
  file: string;
  /** Model SNPs M (informative variants), constant ones skipped, dosages rounded to calls. */
  modelSnps: number;
  skipped: number;
  rounded: number;
  /** Model SNPs per chromosome, in file order. */
  perChrom: { chrom: string; snps: number }[];
  /** Bytes of the packed model SNPs (per distinct sample set, the largest). */
  bytes: number;
  /** Distinct sample sets packed (one per set of traits on the same samples). */
  packs: number;
}

/** A null model in one line of the text report (4 significant digits). */
export function describeNull(m: NullModelReport): string {
  const g = (x: number): string => x.toPrecision(4);
  if (m.model === 'kinship')
    return `kinship REML lambda ${g(m.lambda)} (sigmaG2 ${g(m.sigmaG2)}, sigmaE2 ${g(m.sigmaE2)}, h2 ${g(m.h2)}), logLik ${g(m.logLik)}`;
  if (m.model === 'inf') return `infinitesimal MC-REML h2 ${g(m.h2)} (sigmaG2 ${g(m.sigmaG2)}, sigmaE2 ${g(m.sigmaE2)}, ${m.mcTrials} trials)`;
  if (m.model === 'lowrank') return `low-rank REML cr ${g(m.cr)}, cn ${g(m.cn)}, logLik ${g(m.logLik)}`;
  return `OLS sigma2 ${g(m.sigma2)}`;
}

/** The report's `effectAllele` line: what beta is per copy of, whatever the genotype format. */
export const EFFECT_ALLELE_NOTE = 'a1: the allele the dosages count (.bim column 5, ALT of .pgen/.pvar and VCF, BIMBAM first allele); beta is per copy of it';
