// `lmmkit kinship`: its options and the call of the workflow, with progress on stderr.
import { Command, Option } from 'commander';
import { runKinship, type KinshipRunOptions } from '../workflow/index.js';
import { addSelectionOptions, addThreadsOption, integer, oneOf, printLine, terminalProgress, warnOnce } from './common.js';

/** `lmmkit kinship`: a kinship matrix streamed from a PLINK fileset or a BIMBAM file. */
export function kinshipCommand(): Command {
  const cmd = new Command('kinship')
    .description('compute a kinship (genetic relatedness) matrix from genotypes, streamed in blocks')
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
    .option('--annotation <file>', 'BIMBAM SNP annotation file (rsid pos chrom)')
    .option('--vcf <file>', 'VCF genotypes, plain or bgzipped (.vcf.gz); ALT is the counted allele')
    .option(
      '--vcf-dosage <field>',
      'VCF FORMAT field read as dosage: ds, gp, hds or gt (default ds when the header declares DS, else gt)',
      oneOf('--vcf-dosage', ['ds', 'gp', 'hds', 'gt'] as const),
    )
    .option('--vcf-index <file>', 'the --vcf index (.tbi or .csi) for region reads (default FILE.tbi, else FILE.csi, when present)')
    .option('--no-vcf-index', 'read the whole --vcf even when it has an index')
    .addOption(
      new Option('--method <method>', 'variant scaling: standardized (limix), gcta (plink2 --make-rel), centered (gemma -gk 1)')
        .choices(['standardized', 'gcta', 'centered'])
        .default('standardized'),
    )
    .addOption(
      new Option('--format <format>', 'table: ids in a header line and a first column; gemma: bare numbers in sample order (like GEMMA .cXX.txt)')
        .choices(['table', 'gemma'])
        .default('table'),
    )
    .option('--block <n>', 'variants per block', integer('--block'), 2048)
    .requiredOption('--out <file>', 'output file (written atomically)')
    .action(async (opts: KinshipRunOptions) => {
      const bar = terminalProgress()?.('kinship pass', 'variants');
      try {
        await runKinship({
          ...opts,
          log: printLine,
          warn: warnOnce,
          onProgress: (read, total) => bar?.({ variantsRead: read, total, fraction: read / total }),
        });
      } finally {
        bar?.stop();
      }
    });
  return addThreadsOption(addSelectionOptions(cmd));
}
