// `lmmkit gwas`: its options, help and the call of the workflow.
import { Command } from 'commander';
import { type GwasRunOptions, type OutFormat, parseChunk, parseOutFormats, runGwas } from '../workflow/index.js';
import {
  addPhenotypeOptions,
  addSelectionOptions,
  addThreadsOption,
  bad,
  integer,
  MISSING_PHENOTYPE_HELP,
  number,
  oneOf,
  printLine,
  runMetadata,
  SEX_COL_HELP,
  terminalProgress,
  warnOnce,
  XCHR_MODEL_HELP,
} from './common.js';

const HELP_AFTER = `
Samples: tables are matched to the genotype samples by FID+IID (by IID for
BIMBAM, or when a table has one id per row). --ids auto reads a table's first
line: a header starting with FID -> FID IID columns; IID or ID -> one id
column; anything else but numbers -> FID IID without a header (PLINK);
numbers and NA only -> decided on the rows: FID IID columns (PLINK, numeric
ids) when more than half of the rows start with the FID and IID of a genotype
sample (the IID for BIMBAM) and every row's first two fields are unique whole
numbers; no ids, row i is genotype sample i (GEMMA's layout, e.g. the quick
start's env.txt) when no row does and there is one row per genotype sample;
anything in between is refused: give --ids fid-iid, iid or none.
Missing values: NA, ., nan, NaN or an empty field, and in the --pheno and
--covar tables the value -9 (PLINK 1.9/2's default; -9.0 alike), or the
number given to --input-missing-phenotype; --no-input-missing-phenotype
reads every number as a value. How many values each file had read as
missing this way is logged and in PREFIX.json (inputMissingPhenotype).
A trait with two values only (a 0/1 or 1/2 case-control code) is analysed
as a quantitative trait, as GEMMA and BOLT-LMM do: a warning says so and
PREFIX.json marks the trait (binary: true).
Each trait keeps the samples with that trait, every covariate and every
--lowrank/--inter value observed; everything dropped is reported, with the
reason, on stdout and in PREFIX.json. An intercept is always added to the
covariates (covariates constant on a trait's samples are dropped and reported).

Null model (fitted once per trait, on that trait's samples):
  --kinship / --kinship-from-bfile   y ~ N(F b, sigmaG2 K + sigmaE2 I) by REML
  --lowrank FILE                     y ~ N(F b, cr W W^T + cn I) by REML, W as in
                                     limix's quick start (zero-variance columns
                                     dropped, columns standardised, / sqrt(cols))
  --null FILE                        a kinship model saved by 'lmmkit null fit'
                                     (see 'lmmkit null fit --help')
  neither                            ordinary least squares
--kinship-from-bfile computes a standardized kinship (limix) from every variant
of the genotype file (not only --region) on all analysed samples; each trait
uses its samples' rows and columns.
--loco (leave one chromosome out): the variants of each chromosome are tested
under a null model fitted on the kinship of the other chromosomes' variants, so
that a variant is not in its own kinship (proximal contamination). One pass
reads the genotypes; each tested chromosome then costs a read of its own
variants, an N x N eigendecomposition and a REML fit (22 chromosomes: 22
decompositions per trait, about 23x the null-fit time of a plain run). Memory:
the whole crossproduct, one working N x N and the decomposition's workspace
(about 4 x 8 N^2 bytes).
PREFIX.json lists each chromosome's variance components (traits[].loco).
Not with --kinship, --null, --lowrank or --chunk, nor with chrX/chrY variants
and known sexes (leave them out, e.g. --chr 1-22).

--method inf (BOLT-LMM-inf, Loh et al. 2015): y = C b + g + e with g ~ N(0,
sigmaG2 Z Z^T / M) over the M model SNPs Z (standardised as the kinship is;
--model-bfile, or the genotype input's autosomal variants), never forming the
N x N kinship: the model SNPs are held two bits per genotype, the variance
components come from Monte Carlo REML (--inf-mc-trials, --inf-seed) by
conjugate gradients, and each variant is tested leave-one-chromosome-out:
chi2 = (x' H_-c^-1 y)^2 / (sigmaG2 x' H_-c^-1 x), H = K + delta I in the
complement of the covariates, the denominator calibrated on --inf-calib-snps
model SNPs with the top --inf-eigen eigenpairs of K (population structure).
delta is BOLT-LMM's whole-genome one for every chromosome; --inf-loco-reml
refits it on each K_-c (as --loco does, one more REML per chromosome).
stat is that chi2 (1 df). PREFIX.json: covariance.model 'inf' (model SNPs per
chromosome, packed bytes) and per trait nullModel.model 'inf' (h2 and its
Monte Carlo se, sigmaG2, sigmaE2, secant steps, CG passes, calibration).
Not with --kinship, --kinship-from-bfile, --null, --lowrank, --test exact,
--inter, --step > 1, --chunk or --loco (it is always LOCO), nor with chrX,
chrY or MT variants (e.g. --chr 1-22).

Tests: --test fixed (default, limix-lmm's LMM): the null covariance held
fixed, likelihood-ratio statistic lrt ~ chi2(df) (the regenie dialect's CHISQ,
the joint tests' stat), beta and its Wald se.
--test exact (GEMMA -lmm 4, needs a kinship): the variance ratio re-estimated
per variant; pvalue is the Wald p-value, and the row adds
lambda (per-variant REML lambda), p_wald, p_lrt, p_score with their log10.
Dosages count the a1 allele (.bim column 5; BIMBAM's first allele); af is its
frequency among the trait's samples with a genotype, n how many they are.
Missing dosages are mean-imputed.

Output: PREFIX.<trait>.tsv per trait (the trait name with characters other
than A-Z a-z 0-9 . _ - replaced by _), tab-separated with a header:
  chrom pos id effect_allele other_allele eaf n beta se pvalue neg_log10_p
effect_allele is a1, the counted allele; eaf its frequency; neg_log10_p is
-log10 of the p-value (positive, 4 decimals; finite where p underflows), NA
where a variant cannot be tested. Numbers have 6 significant digits;
p-values below 1e-300 are written from their log (e.g. 1.23e-412). With --step > 1 or
--inter (joint tests with df degrees of freedom) one row per test:
  chrom pos id chrom_last pos_last id_last variants df eaf n beta se stat pvalue neg_log10_p
where id/id_last are the block's first and last variants (blocks of --step
consecutive variants that passed the filters, in file order; the last block
may be shorter; a block can span a chromosome boundary), af and n are
semicolon-separated per variant, and beta and se are semicolon-separated in
the order inter_1*g_1 .. inter_1*g_step, inter_2*g_1, ...
--out-format writes other dialects too (one file each, in the order given):
  gwas-ssf  PREFIX.<trait>.gwas-ssf.tsv + .gwas-ssf.tsv-meta.yaml (GWAS-SSF v1.0;
            chromosome X/Y/MT as 23/24/25, #NA for missing; --build fills
            genome_assembly)
  regenie   PREFIX.<trait>.regenie (CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ N TEST
            BETA SE CHISQ LOG10P, space-separated; ALLELE1 = effect allele)
  plink2    PREFIX.<trait>.glm.linear (plink2 --glm cols=+a1freq; T_STAT = BETA/SE)
  gemma     PREFIX.<trait>.assoc.txt (--test exact only: -lmm 4 columns, -lmm 1
            with --exact-tests wald)
--gz adds .gz (BGZF), sorts rows by chromosome and position and writes a
tabix index FILE.gz.tbi (none for regenie: tabix needs tabs); see README.
PREFIX.json: per trait the null model parameters and log-likelihood, the
covariates used, the sample-matching report (counts and every dropped sample
with the reason), variant counts (selected, tested, filtered, tests), the top
10 tests and the timing. With --plot, each trait's Manhattan and QQ plots
(as 'lmmkit plot' draws them, titled with the trait) are written next to
its TSV: PREFIX.<trait>.manhattan.png/.svg and PREFIX.<trait>.qq.png/.svg,
and PREFIX.json adds their files and lambda_GC. Outputs appear only when
the whole run succeeded.

Exit status: 0 on success, 2 on bad input (one line on stderr naming the file
or option).

Example (limix's quick start data):
  lmmkit gwas --bfile chrom22_subsample20_maf0.10 --pheno pheno.tsv \\
    --pheno-col gene1 --lowrank env.txt --gaussianize --out res`;

/** Commander's parser of --out-format (one or several dialects, comma-separated). */
export function outFormats(v: string): OutFormat[] {
  const r = parseOutFormats(v);
  if (typeof r === 'string') throw bad(r);
  return r;
}

/** `lmmkit gwas`: single-trait LMM association scans, one per phenotype column. */
export function gwasCommand(): Command {
  const cmd = new Command('gwas')
    .description('genome-wide association scan under a linear mixed model, one output per trait')
    .option('--bfile <prefix>', 'PLINK 1 binary fileset PREFIX.bed/.bim/.fam')
    .option('--bimbam <file>', 'BIMBAM mean genotype file (plain or gzip)')
    .option('--pfile <prefix>', 'PLINK 2 fileset PREFIX.pgen/.pvar/.psam (dosages count ALT, the a1 column)')
    .option('--bgen <file>', 'BGEN genotype file (v1.1-1.3; sample ids from the file or --sample)')
    .option('--sample <file>', 'Oxford .sample file naming the --bgen samples (its ids win; checked against the file)')
    .option('--bgen-ref <which>', "which BGEN allele is REF, as plink2's ref-first/ref-last (first or last, default first); dosages count the other (a1)")
    .option(
      '--bgen-index <file>',
      'bgenix index of the --bgen file (default FILE.bgi when it exists): the variant table is read from it, checked against the file',
    )
    .option('--no-bgen-index', 'walk the --bgen file even when FILE.bgi exists')
    .option('--annotation <file>', 'BIMBAM SNP annotation file (rsid pos chrom), needed for --region')
    .option('--vcf <file>', 'VCF genotypes, plain or bgzipped (.vcf.gz); ALT is the counted allele')
    .option(
      '--vcf-dosage <field>',
      'VCF FORMAT field read as dosage: ds, gp, hds or gt (default ds when the header declares DS, else gt)',
      oneOf('--vcf-dosage', ['ds', 'gp', 'hds', 'gt'] as const),
    )
    .option('--vcf-index <file>', 'the --vcf index (.tbi or .csi) for region reads (default FILE.tbi, else FILE.csi, when present)')
    .option('--no-vcf-index', 'read the whole --vcf even when it has an index')
    .option('--pheno <file>', 'phenotype table: one row per sample, one column per trait (default: the .fam/.psam phenotypes)')
    .option('--pheno-col <name...>', 'traits to analyse, one or more names (default: every column of --pheno)')
    .option('--covar <file>', 'covariate table (an intercept is always added)')
    .option('--kinship <file>', 'kinship matrix (lmmkit kinship output, or GEMMA .cXX.txt in genotype sample order)')
    .option('--kinship-from-bfile', 'compute a standardized kinship from the genotype file (--bfile or --bimbam)')
    .option(
      '--loco',
      'leave one chromosome out: test each chromosome under a null model on the kinship of the other chromosomes (from the genotypes; implies --kinship-from-bfile)',
    )
    .option(
      '--method <m>',
      "kinship (default: the null covariance of --kinship/--lowrank/--null, or none) or inf (BOLT-LMM's infinitesimal model on the model SNPs, LOCO; see below)",
      oneOf('--method', ['kinship', 'inf'] as const),
    )
    .option('--model-bfile <prefix>', "with --method inf: PLINK 1 fileset of the model SNPs (default: the genotype input's analysed autosomal variants)")
    .option(
      '--inf-mc-trials <n>',
      'with --method inf: Monte Carlo trials of the REML (default 2 M / (0.005 N)^2 within 15..100: a Monte Carlo se of h2 near 0.005; it falls as 1/sqrt(trials))',
      integer('--inf-mc-trials'),
    )
    .option('--inf-seed <n>', 'with --method inf: seed of the Monte Carlo draws, calibration SNPs and eigen solver (default 1)', integer('--inf-seed'))
    .option('--inf-calib-snps <n>', 'with --method inf: model SNPs that calibrate the test denominators (default 48)', integer('--inf-calib-snps'))
    .option(
      '--inf-eigen <k>',
      'with --method inf: top eigenpairs of the kinship in the structure correction (default 10; 0: one ratio, as BOLT-LMM)',
      integer('--inf-eigen'),
    )
    .option(
      '--inf-loco-reml',
      "with --method inf: refit h2 on each chromosome's K_-c and test it under its own (as --loco does; one more REML per chromosome) instead of BOLT-LMM's one whole-genome h2",
    )
    .option('--allow-non-psd-kinship', 'proceed with a kinship that has negative eigenvalues beyond rounding, set to 0 (recorded in the report)')
    .option(
      '--null <file>',
      "scan under a null model saved by lmmkit null fit (no kinship read or computed; its samples, trait values and covariates must be this run's)",
    )
    .option('--lowrank <file>', 'low-rank factor W (samples x r) of the null covariance cr W W^T + cn I')
    .option('--inter <file>', 'interaction factors (samples x i): each variant g is tested as inter_l * g, l = 1..i (add a column of ones to include g itself)')
    .option('--step <n>', 'consecutive variants tested jointly', integer('--step'), 1)
    .option(
      '--test <test>',
      'fixed (null covariance held fixed, limix) or exact (lambda re-estimated per variant, GEMMA -lmm 4; needs a kinship)',
      oneOf('--test', ['fixed', 'exact'] as const),
      'fixed',
    )
    .option(
      '--exact-tests <which>',
      'with --test exact: all (Wald, LRT and score, GEMMA -lmm 4) or wald (GEMMA -lmm 1, about twice as fast; p_lrt and p_score are NA)',
      oneOf('--exact-tests', ['all', 'wald'] as const),
      'all',
    )
    .option('--maf <f>', "drop variants with a minor allele frequency below f (GEMMA's default; 0 keeps all)", number('--maf'), 0.01)
    .option('--max-missing <f>', "drop variants with a larger fraction of missing genotypes (GEMMA's default; 1 keeps all)", number('--max-missing'), 0.05)
    .option('--region <chr:start-end>', 'test only variants on CHR with START <= pos < END')
    .option('--xchr-model <m>', XCHR_MODEL_HELP, integer('--xchr-model'))
    .option('--sex-col <name>', SEX_COL_HELP)
    .option('--gaussianize', 'rank-based inverse normal transform of each trait (on its analysed samples)')
    .option('--standardize', "test standardised dosages (beta per sd, limix's quick start) instead of allele counts")
    .option(
      '--ids <layout>',
      'how tables name samples: auto, fid-iid, iid or none (see below)',
      oneOf('--ids', ['auto', 'fid-iid', 'iid', 'none'] as const),
      'auto',
    )
    .option('--input-missing-phenotype <v>', MISSING_PHENOTYPE_HELP.code, number('--input-missing-phenotype'), -9)
    .option('--no-input-missing-phenotype', MISSING_PHENOTYPE_HELP.none)
    .option('--batch-size <n>', 'variants read per batch (default 1000, fewer when N x 1000 dosages pass 8 MiB)', integer('--batch-size'))
    .option('--out <prefix>', 'output prefix (required): PREFIX.<trait>.tsv and PREFIX.json')
    .option(
      '--out-format <formats>',
      'result table dialects, comma-separated: lmmkit (default), gwas-ssf, regenie, plink2, gemma (see Output below)',
      outFormats,
    )
    .option('--gz', 'BGZF-compress the tables (.gz), rows sorted by chromosome and position, each with a tabix index (.tbi)')
    .option('--digits <n>', 'significant digits of the lmmkit table (default 6; 17 reads back as the same double)', integer('--digits'))
    .option('--build <assembly>', "genome assembly of the positions (GRCh37, GRCh38, ...): GWAS-SSF's genome_assembly")
    .option('--plot', "also draw each trait's Manhattan and QQ plots: PREFIX.<trait>.manhattan.png/.svg, PREFIX.<trait>.qq.png/.svg")
    .option('--chunk <i/n>', "scan chunk I of N only, into PREFIX.part-I-of-N.* with a manifest; join the parts with 'lmmkit merge'", parseChunk)
    .addHelpText('after', HELP_AFTER)
    .action(async (opts: Omit<GwasRunOptions, 'kinshipFromGenotypes' | 'nullModel'> & { kinshipFromBfile?: boolean; null?: string }) => {
      const { kinshipFromBfile, null: nullModel, ...rest } = opts;
      await runGwas({
        ...rest,
        kinshipFromGenotypes: kinshipFromBfile === true,
        nullModel,
        log: printLine,
        warn: warnOnce,
        progress: terminalProgress(),
        run: runMetadata(),
      });
    });
  return addThreadsOption(addSelectionOptions(addPhenotypeOptions(cmd)));
}
