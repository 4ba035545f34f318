// `lmmkit null fit`: its options, help and the call of the workflow.
import { Command } from 'commander';
import { runNullFit, type NullFitRunOptions } from '../workflow/index.js';
import {
  addPhenotypeOptions,
  addSelectionOptions,
  addThreadsOption,
  MISSING_PHENOTYPE_HELP,
  number,
  oneOf,
  printLine,
  terminalProgress,
  warnOnce,
} from './common.js';

const HELP_AFTER = `
Fits the null model of one trait, y ~ N(F b, sigmaG2 K + sigmaE2 I) by REML,
exactly as 'lmmkit gwas' fits it (the same sample matching, --ids rules,
-9 read as missing unless --no-input-missing-phenotype, covariates with an
intercept, --gaussianize), and saves it to FILE in
lmmkit's null-model format (docs/null-model-format.md): the sample ids in
order, the trait and covariate names, sha256 fingerprints of the genotype
samples and variants and of the kinship, the fitted parameters, and the
kinship's eigendecomposition with the rotated trait and covariates.

A scan then skips the O(N^3) eigendecomposition and the kinship:
  lmmkit gwas --bfile PREFIX --pheno FILE --pheno-col TRAIT [--covar FILE] \\
    --null FILE --out PREFIX
which refuses a model whose samples (named at the first difference), trait
values or covariates are not the scan's, and gives the same output, byte for
byte, as the scan that fits the model itself. --test exact fits the model
for the exact test (GEMMA's double-centred kinship, ML fit stored too).

Exit status: 0 on success, 2 on bad input.`;

/** `lmmkit null`: null models fitted once and saved for later scans. */
export function nullCommand(): Command {
  const cmd = new Command('null').description('null models fitted once and saved, for scans that skip the eigendecomposition');
  const fit = cmd
    .command('fit')
    .description("fit one trait's kinship null model by REML and save it")
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
    .option('--annotation <file>', 'BIMBAM SNP annotation file')
    .option('--vcf <file>', 'VCF genotypes, plain or bgzipped (.vcf.gz); ALT is the counted allele')
    .option(
      '--vcf-dosage <field>',
      'VCF FORMAT field read as dosage: ds, gp, hds or gt (default ds when the header declares DS, else gt)',
      oneOf('--vcf-dosage', ['ds', 'gp', 'hds', 'gt'] as const),
    )
    .option('--vcf-index <file>', 'the --vcf index (.tbi or .csi) for region reads (default FILE.tbi, else FILE.csi, when present)')
    .option('--no-vcf-index', 'read the whole --vcf even when it has an index')
    .option('--pheno <file>', 'phenotype table (default: the .fam/.psam phenotypes)')
    .option('--pheno-col <name...>', "the trait (one name; default: the table's only column)")
    .option('--covar <file>', 'covariate table (an intercept is always added)')
    .option('--kinship <file>', 'kinship matrix (lmmkit kinship output, or GEMMA .cXX.txt in genotype sample order)')
    .option('--kinship-from-bfile', 'compute a standardized kinship from the genotype file')
    .option('--allow-non-psd-kinship', 'proceed with a kinship that has negative eigenvalues beyond rounding, set to 0 (recorded in the report)')
    .option(
      '--test <test>',
      "the test the model is for: fixed or exact (GEMMA -lmm 4's double-centred kinship)",
      oneOf('--test', ['fixed', 'exact'] as const),
      'fixed',
    )
    .option('--gaussianize', 'rank-based inverse normal transform of the trait (on its analysed samples)')
    .option(
      '--ids <layout>',
      'how tables name samples: auto, fid-iid, iid or none (as lmmkit gwas)',
      oneOf('--ids', ['auto', 'fid-iid', 'iid', 'none'] as const),
      'auto',
    )
    .option('--input-missing-phenotype <v>', MISSING_PHENOTYPE_HELP.code, number('--input-missing-phenotype'), -9)
    .option('--no-input-missing-phenotype', MISSING_PHENOTYPE_HELP.none)
    .option('--out <file>', 'the null-model file to write (required)')
    .addHelpText('after', HELP_AFTER)
    .action(async (opts: Omit<NullFitRunOptions, 'kinshipFromGenotypes'> & { kinshipFromBfile?: boolean }) => {
      const { kinshipFromBfile, ...rest } = opts;
      await runNullFit({ ...rest, kinshipFromGenotypes: kinshipFromBfile === true, log: printLine, warn: warnOnce, progress: terminalProgress() });
    });
  addThreadsOption(addSelectionOptions(addPhenotypeOptions(fit)));
  return cmd;
}
