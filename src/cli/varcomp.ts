// `lmmkit varcomp fit`: its options, help and the call of the workflow.
import { Command, Option } from 'commander';
import { ArgumentError } from '../errors.js';
import { parseChunk, runVarcompFit, type LineProgress, type VarcompFitOptions } from '../workflow/index.js';
import { addSelectionOptions, addThreadsOption, oneOf, printLine } from './common.js';
import { currentRunLog } from './runlog.js';

/** The marker models' progress, redrawn in place on a terminal's stderr (none elsewhere). */
function terminalLineProgress(): LineProgress | undefined {
  if (process.stderr.isTTY !== true || currentRunLog()?.quiet === true) return undefined;
  return { update: (line) => void process.stderr.write(`\r${line}`), end: () => void process.stderr.write('\n') };
}

const HELP = `
Components: each --kinship NAME=FILE is a named covariance R_k (a kinship
table with sample ids: lmmkit kinship output, or MM4LMM's CSV layout). Its
incidence Z_k is --incidence NAME=COLUMN (Z[i, j] = 1 when the --data row i
has code j in COLUMN, codes matched to the kinship's ids, as the MM4LMM
example builds Zf and Zd), or --z NAME=FILE (an N x q matrix, no header), or
none: the rows of --data are then matched to the kinship's ids through
--ids COLUMN, or the one --data column whose values are all kinship ids (a
run refuses when there is none or several; --match-by-order takes R_k's rows
in --data's row order instead, as MM4LMM does). The error component 'Error'
(identity) is added last unless --no-error.

Fixed effects: --cofactor lists --data columns (text columns are factors with
the first level, in sorted order, as reference); --formula is an R formula
over them, with Xeffect standing for the marker in GWAS mode (default: every
cofactor, plus the marker). An intercept is included unless the formula
removes it. Aliased columns are dropped as R's pivoted QR drops them and
reported.

GWAS mode from genotypes: --ids COLUMN with one genotype file (--bfile,
--pfile, --vcf, --bgen or --bimbam, as in lmmkit gwas) streams its variants
(each --data row takes the genotype of the sample with that IID; rows may
share a sample), selects them (--extract, --exclude, --chr, --from-bp,
--to-bp; --keep and --remove are refused: leave rows out of --data
instead), filters them (--maf, --max-missing), mean-imputes, and fits one
model per variant with its a1 dosage as Xeffect: a TSV row per variant
(chrom pos id effect_allele other_allele eaf n, then the columns below; the
effect allele is the counted a1).

Output: with one model, a JSON file with beta (named as R's model.matrix
names them), sigma2, varBeta, logLik (MM4LMM's convention: REML without the
-(N-p)/2 log(2 pi) constant; logLikLme4 adds it), nbIt, attr, factors. With
--markers (GWAS mode: one model per marker column, started from the
cofactor-only fit), a TSV with one row per marker:
  marker nbit converged loglik sigma2_<NAME>... beta_names beta se
(beta_names, beta and se semicolon-separated in beta order; numbers with 6
significant digits as 'lmmkit gwas' writes them, loglik to 6 decimals, eaf
to one allele in 2n), and the JSON
(--out with .json in place of .tsv) holds the null model and the settings.
--anova I|III|KR adds AnovaTest's tests of every term (Wald chi-square, or
Kenward-Roger's F with its denominator df; KR needs REML), --contrast FILE a
joint test of each contrast matrix (rows x coefficients in beta order): in
the JSON and printed for one model, in PREFIX.anova.tsv (marker test term
statistic df ddf pvalue neg_log10_p) in GWAS mode. p-values are upper tails,
below 1e-300 written from their log10 (which stays finite where the p-value
underflows); neg_log10_p is -log10 p, positive, to 4 decimals.
--blup adds each component's BLUP sigma2_k R_k Z_k' V^-1 (y - X beta), named
by the kinship's ids (MMBlup); --vcov adds the covariance of the variance
estimators from the expected (Fisher) or average information (MMVcov; the
expected information is the correct one: MM4LMM's MMVcov uses
tr(P K_k K_k P) on its diagonal where tr(P K_k P K_k) is due).

Exit status: 0 on success, 2 on bad input (one line naming the file or option).

Example (MM4LMM's example 1):
  lmmkit varcomp fit --data vc_data.csv --y Trait --cofactor Trial \\
    --kinship Flint=vc_kinship_flint.csv --incidence Flint=CodeFlint \\
    --kinship Dent=vc_kinship_dent.csv --incidence Dent=CodeDent --out fit.json`;

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `lmmkit varcomp`: MM4LMM's MMEst on files. */
export function varcompCommand(): Command {
  const varcomp = new Command('varcomp').description('variance-component mixed models (MM4LMM): fit by REML or ML with the MM algorithm');
  const fit = varcomp
    .command('fit')
    .description('fit Y = X b + sum_k Z_k u_k, u_k ~ N(0, sigma2_k R_k), one model or one per marker')
    .requiredOption('--data <file>', 'observation table with a header (TSV/CSV): the response, cofactors and incidence codes')
    .requiredOption('--y <column>', 'response column of --data')
    .option('--cofactor <columns>', 'comma-separated cofactor columns of --data')
    .option('--formula <formula>', "fixed-effect formula, e.g. '~ Trial + Xeffect + Xeffect:Trial'")
    .option('--kinship <name=file>', 'a named covariance matrix (repeatable, in component order)', collect, [])
    .option('--incidence <name=column>', 'incidence of a component from a --data column of codes (repeatable)', collect, [])
    .option('--z <name=file>', 'incidence of a component as a matrix file (repeatable)', collect, [])
    .option('--no-error', 'do not add the identity error component last')
    .option('--markers <file>', 'GWAS mode: a table with a header, one row per --data row, one column per marker (numbers or text)')
    .option('--bfile <prefix>', 'GWAS mode streamed from a PLINK fileset: one model per variant (its a1 dosage, mean-imputed), needs --ids')
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
    .option(
      '--ids <column>',
      "the --data column holding each row's sample id: its genotype sample (by IID; BIMBAM: 1..N) with a genotype file, its kinship row otherwise",
    )
    .option('--match-by-order', "components without --incidence or --z take the kinship's rows in --data's row order, ids unchecked (MM4LMM's convention)")
    .option('--maf <f>', 'with a genotype file: drop variants with a minor allele frequency below f', parseNumber('--maf'), 0.01)
    .option('--max-missing <f>', 'with a genotype file: drop variants with a larger fraction of missing genotypes', parseNumber('--max-missing'), 0.05)
    .option(
      '--chunk <i/n>',
      "with a genotype file: fit chunk I of N of the variants only, into PREFIX.part-I-of-N.* with a manifest; join with 'lmmkit merge'",
      parseChunk,
    )
    .addOption(
      new Option(
        '--markers-as <kind>',
        'read markers as numbers (dosages), as factors (codes such as 10/11, each a level) or auto (numbers when every value is one)',
      )
        .choices(['auto', 'numeric', 'factor'])
        .default('auto'),
    )
    .addOption(new Option('--method <method>', 'REML or ML').choices(['reml', 'ml']).default('reml'))
    .addOption(new Option('--henderson <when>', "Henderson's mixed-model equations (auto: MM4LMM's rule)").choices(['auto', 'true', 'false']).default('auto'))
    .option('--init <values>', 'comma-separated starting variances, one per component (error included)')
    .option('--crit-var <x>', "stop when the variances change by less (MM4LMM's CritVar)", parseNumber('--crit-var'), 1e-3)
    .option('--crit-loglik <x>', "... and the log-likelihood by less (MM4LMM's CritLogLik)", parseNumber('--crit-loglik'), 1e-3)
    .option('--max-iter <n>', 'iteration cap', parseNumber('--max-iter'), 100)
    .option('--accelerate', "SQUAREM acceleration with a monotone safeguard (fewer iterations; not MM4LMM's path)", false)
    .addOption(
      new Option('--anova <type>', 'fixed-effect tests (AnovaTest): Wald Type I, Type III, or Kenward-Roger (KR, REML fits) per term').choices([
        'I',
        'III',
        'KR',
      ]),
    )
    .option(
      '--contrast <file>',
      'a contrast matrix (rows x coefficients, no header) tested jointly at 0: Wald, or Kenward-Roger with --anova KR (repeatable)',
      collect,
      [],
    )
    .option('--blup', 'add the BLUP of every component (MMBlup) to the JSON result', false)
    .addOption(
      new Option('--vcov <information>', 'add the covariance of the variance estimators and their SEs (MMVcov): expected or average information (ai)').choices([
        'expected',
        'ai',
      ]),
    )
    .requiredOption('--out <file>', 'output: a .json file (one model) or a .tsv file (GWAS mode)')
    .addHelpText('after', HELP)
    .action(async (opts: VarcompFitOptions) => {
      await runVarcompFit({ ...opts, log: printLine, progress: terminalLineProgress() });
    });
  addSelectionOptions(fit);
  addThreadsOption(fit, "threads: the BLAS's, and the worker threads fitting the marker models of GWAS mode (MM4LMM's NbCores; default 1 worker)");
  return varcomp;
}

/** Parses a finite number (JavaScript's syntax), else a BAD_ARGUMENT naming `flag`. */
function parseNumber(flag: string): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new ArgumentError(`${flag}: expected a number, found '${v}'`);
    return x;
  };
}
