// `lmmkit mtgwas`: its options, help and the call of the workflow.
import { Command } from 'commander';
import { parseChunk, runMtgwas, type MtgwasRunOptions } from '../workflow/index.js';
import { outFormats } from './gwas.js';
import {
  addPhenotypeOptions,
  addSelectionOptions,
  addThreadsOption,
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
Model (limix-lmm's MTLMM, quick start 2.2): the P traits Y (N x P) of
--pheno-col (default every column of --pheno) are one multi-trait model
  vec(Y) ~ N(vec(F B), Cg (x) R + Cn (x) I)
with R the kinship, F the covariates (an intercept always included) with
an effect per trait, and Cg, Cn free-form P x P trait covariances (Cholesky
parametrised, limix's 1e-4 jitter on the diagonal), fitted once by REML.
Each variant g is then tested with the covariance held fixed:
  --test any      Asnp = eye(P): an effect on any trait, chi2 with P df
  --test common   Asnp = ones(P, 1): one effect shared by all traits, 1 df
  --test both     both (default)
stat is limix's lrt = -(N P - L P) log(s2 / s20).

Samples: matched by FID+IID as in 'lmmkit gwas' (see 'lmmkit gwas --help'
for --ids, -9 and --input-missing-phenotype, and traits with two values,
listed in PREFIX.json's binaryTraits). A sample is used only when every
trait and every covariate is observed; the others are dropped and
reported, with the reason, on stdout and in PREFIX.json.
--kinship-from-bfile computes a standardized kinship (limix) from every
variant of the genotype file on the analysed samples.
--loco (leave one chromosome out): each chromosome's variants are tested
under its own null model (Cg, Cn by REML) on the kinship of the other
chromosomes' variants; cost and memory as 'lmmkit gwas --loco' (one N x N
eigendecomposition and REML fit per tested chromosome); PREFIX.json lists
each chromosome's Cg and Cn (loco). Not with --kinship or --chunk, nor with
chrX/chrY variants and known sexes (leave them out, e.g. --chr 1-22).

Output: PREFIX.tsv, tab-separated with a header, one row per tested variant:
  chrom pos id effect_allele other_allele eaf n  then per test (any, then
  common): beta_T se_T stat_T pvalue_T neg_log10_p_T
beta_any and se_any hold P semicolon-separated values (traits in order),
beta_common and se_common one; se is the Wald standard error with the
covariance held fixed. Numbers as 'lmmkit gwas' writes them: 6 significant
digits, p-values below 1e-300 from their log, neg_log10_p (-log10 p,
positive) to 4 decimals, eaf to one allele in 2n; NA where a variant cannot
be tested. Dosages count the effect allele; eaf and n as in 'lmmkit gwas'.
--gz writes PREFIX.tsv.gz (BGZF, rows sorted by chromosome and position)
and its tabix index PREFIX.tsv.gz.tbi. --out-format takes lmmkit only: the
other dialects hold one trait's one beta per row. PREFIX.json: the traits, Cg, Cn, the
REML fit (limix's LML, gradient norm), the null fixed effects, the samples
used and every dropped sample with the reason, variant counts and the top
10 variants per test. Outputs appear only when the whole run succeeded.

Exit status: 0 on success, 2 on bad input (one line on stderr naming the
file or option).

Example:
  lmmkit mtgwas --bfile geno --pheno pheno.tsv --pheno-col y1 y2 y3 \\
    --kinship geno.kinship.tsv --covar covar.tsv --test both --out mt`;

/** `lmmkit mtgwas`: multi-trait LMM association scans (limix-lmm's MTLMM). */
export function mtgwasCommand(): Command {
  const cmd = new Command('mtgwas')
    .description('multi-trait GWAS: several phenotype columns as one multi-trait LMM, any-effect and common-effect tests')
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
    .option('--pheno-col <name...>', 'the traits of the model, in order (default: every column of --pheno)')
    .option('--covar <file>', 'covariate table (an intercept is always added)')
    .option('--kinship <file>', 'kinship matrix R (lmmkit kinship output, or GEMMA .cXX.txt in genotype sample order)')
    .option('--kinship-from-bfile', 'compute a standardized kinship from the genotype file (--bfile or --bimbam)')
    .option(
      '--loco',
      'leave one chromosome out: test each chromosome under a null model on the kinship of the other chromosomes (from the genotypes; implies --kinship-from-bfile)',
    )
    .option('--allow-non-psd-kinship', 'proceed with a kinship that has negative eigenvalues beyond rounding, set to 0 (recorded in the report)')
    .option(
      '--test <test>',
      'any (effect on any trait, P df), common (one shared effect, 1 df) or both',
      oneOf('--test', ['any', 'common', 'both'] as const),
      'both',
    )
    .option('--maf <f>', 'drop variants with a minor allele frequency below f (0 keeps all)', number('--maf'), 0.01)
    .option('--max-missing <f>', 'drop variants with a larger fraction of missing genotypes (1 keeps all)', number('--max-missing'), 0.05)
    .option('--region <chr:start-end>', 'test only variants on CHR with START <= pos < END')
    .option('--xchr-model <m>', XCHR_MODEL_HELP, integer('--xchr-model'))
    .option('--sex-col <name>', SEX_COL_HELP)
    .option('--gaussianize', 'rank-based inverse normal transform of each trait (on the analysed samples)')
    .option('--standardize', 'test standardised dosages (beta per sd) instead of allele counts')
    .option(
      '--ids <layout>',
      "how tables name samples: auto, fid-iid, iid or none (as in 'lmmkit gwas')",
      oneOf('--ids', ['auto', 'fid-iid', 'iid', 'none'] as const),
      'auto',
    )
    .option('--input-missing-phenotype <v>', MISSING_PHENOTYPE_HELP.code, number('--input-missing-phenotype'), -9)
    .option('--no-input-missing-phenotype', MISSING_PHENOTYPE_HELP.none)
    .option('--batch-size <n>', 'variants read per batch (default 1000, fewer when N x 1000 dosages pass 8 MiB)', integer('--batch-size'))
    .option('--out <prefix>', 'output prefix (required): PREFIX.tsv and PREFIX.json')
    .option('--out-format <formats>', 'result table dialect: lmmkit only (the multi-trait tests have no gwas-ssf, regenie, plink2 or gemma layout)', outFormats)
    .option('--gz', 'BGZF-compress the table (PREFIX.tsv.gz), rows sorted by chromosome and position, with a tabix index (.tbi)')
    .option('--chunk <i/n>', "scan chunk I of N only, into PREFIX.part-I-of-N.* with a manifest; join the parts with 'lmmkit merge'", parseChunk)
    .addHelpText('after', HELP_AFTER)
    .action(async (opts: Omit<MtgwasRunOptions, 'kinshipFromGenotypes'> & { kinshipFromBfile?: boolean }) => {
      const { kinshipFromBfile, ...rest } = opts;
      await runMtgwas({
        ...rest,
        kinshipFromGenotypes: kinshipFromBfile === true,
        log: printLine,
        warn: warnOnce,
        progress: terminalProgress(),
        run: runMetadata(),
      });
    });
  return addThreadsOption(addSelectionOptions(addPhenotypeOptions(cmd)));
}
