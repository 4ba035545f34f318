// `lmmkit demo`: its options, help and the call of the workflow.
import { Command } from 'commander';
import { ArgumentError } from '../errors.js';
import { CAUSAL, H2_CAUSAL, H2_POPULATION } from '../workflow/demo.js';
import { formatDemo, runDemo } from '../workflow/index.js';
import { printLine, runMetadata, terminalProgress, warnOnce } from './common.js';

/** Parses an integer, else a BAD_ARGUMENT naming `flag`. */
function integer(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n)) throw new ArgumentError(`${flag}: expected an integer, found '${v}'`);
    return n;
  };
}

/** `lmmkit demo`. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('simulate a seeded GWAS data set (population structure, known causal variants), scan it and compare with the truth')
    .option('--out <dir>', 'output folder (created when absent)', 'lmmkit-demo')
    .option('--samples <n>', 'number of samples', integer('--samples'), 1000)
    .option('--variants <n>', 'number of variants', integer('--variants'), 10000)
    .option('--seed <k>', 'simulation seed', integer('--seed'), 1)
    .addHelpText(
      'after',
      `
Writes into the folder: demo.bed/.bim/.fam (the genotypes), pheno.tsv (FID IID
trait), causal.tsv (the causal variants and their effects), results.tsv and
results.json (the scan, as 'lmmkit gwas --kinship-from-bfile' writes them),
manhattan.png/.svg (the causal variants ringed) and qq.png/.svg.
The trait has ${CAUSAL} causal variants explaining ${H2_CAUSAL * 100}% of its variance and population
means explaining ${H2_POPULATION * 100}%; the kinship absorbs the structure.`,
    )
    .action(async (opts: { out: string; samples: number; variants: number; seed: number }) => {
      const res = await runDemo({ ...opts, progress: terminalProgress(), warn: warnOnce, run: runMetadata() });
      printLine(formatDemo(res, opts));
    });
}
