// `lmmkit simulate`: its options, help and the call of the workflow.
import { Command } from 'commander';
import { ArgumentError } from '../errors.js';
import { writePolygenicFileset } from '../workflow/simulate.js';
import { printLine } from './common.js';

/** Parses a number, else a BAD_ARGUMENT naming `flag` (the workflow checks the range). */
function numeric(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new ArgumentError(`${flag}: expected a number, found '${v}'`);
    return n;
  };
}

/** `lmmkit simulate`. */
export function simulateCommand(): Command {
  return new Command('simulate')
    .description('write a seeded polygenic data set with population structure (PLINK 1 genotypes and a phenotype table), streamed: any size fits in memory')
    .requiredOption('--out <prefix>', 'writes PREFIX.bed/.bim/.fam and PREFIX.pheno.tsv')
    .option('--samples <n>', 'samples', numeric('--samples'), 5000)
    .option('--variants <n>', 'variants', numeric('--variants'), 20000)
    .option('--chromosomes <n>', 'chromosomes the variants are spread over, in order', numeric('--chromosomes'), 22)
    .option('--populations <n>', 'sub-populations of equal size (Balding-Nichols)', numeric('--populations'), 3)
    .option('--fst <f>', "Wright's F_ST between the sub-populations", numeric('--fst'), 0.05)
    .option('--causal-fraction <f>', 'probability that a variant is causal', numeric('--causal-fraction'), 0.1)
    .option('--h2 <f>', 'trait variance explained by the causal variants', numeric('--h2'), 0.4)
    .option('--h2-population <f>', 'trait variance explained by the sub-population means', numeric('--h2-population'), 0.05)
    .option('--missing-rate <f>', 'fraction of genotypes set missing', numeric('--missing-rate'), 0)
    .option('--seed <k>', 'simulation seed', numeric('--seed'), 1)
    .addHelpText(
      'after',
      `
The trait y (column 3 of PREFIX.pheno.tsv, also the .fam's phenotype) is the
sum of the causal variants' standardised dosages with N(0, 1) effects scaled
to --h2, a N(0, 1) shift per sub-population scaled to --h2-population, and
Gaussian noise. Memory is one block of 1000 variants whatever the size, e.g.
  lmmkit simulate --samples 20000 --variants 50000 --out big
  lmmkit gwas --bfile big --pheno big.pheno.tsv --method inf --out big-inf`,
    )
    .action(
      async (o: {
        out: string;
        samples: number;
        variants: number;
        chromosomes: number;
        populations: number;
        fst: number;
        causalFraction: number;
        h2: number;
        h2Population: number;
        missingRate: number;
        seed: number;
      }) => {
        const t0 = performance.now();
        const r = await writePolygenicFileset(o.out, { ...o });
        const s = ((performance.now() - t0) / 1000).toFixed(1);
        printLine(`${r.bfile}.bed/.bim/.fam: ${r.samples} samples x ${r.variants} variants (${r.causal} causal); ${r.pheno}: trait y; ${s} s`);
      },
    );
}
