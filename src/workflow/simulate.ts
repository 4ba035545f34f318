// A simulated polygenic data set on disk: PLINK 1 genotypes and a phenotype
// table, written a block of variants at a time (the infinitesimal model's
// tests and benchmarks, issue 18).
import { writeAtomically } from '../data/atomic.js';
import { ArgumentError } from '../errors.js';
import { writeBedBlocks } from '../data/plink/write-bed.js';
import { type PolygenicOptions, PolygenicSimulation } from '../sim/polygenic.js';

/** What `writePolygenicFileset` wrote. */
export interface PolygenicFileset {
  /** PREFIX of PREFIX.bed/.bim/.fam. */
  bfile: string;
  /** PREFIX.pheno.tsv: FID, IID and the trait `y`, tab-separated with a header (lmmkit's and BOLT-LMM's --phenoFile). */
  pheno: string;
  /** Causal variants drawn. */
  causal: number;
  samples: number;
  variants: number;
}

/**
 * Simulates `PolygenicSimulation(opts)` and writes it as PREFIX.bed/.bim/.fam
 * (the trait also in the .fam's sixth column) and PREFIX.pheno.tsv, each file
 * atomically; memory O(N x blockSize) whatever the variant count.
 */
export async function writePolygenicFileset(prefix: string, opts: PolygenicOptions): Promise<PolygenicFileset> {
  checkPolygenicOptions(opts);
  const sim = new PolygenicSimulation(opts);
  let y: Float64Array | undefined;
  const phenotype = (): Float64Array => {
    y ??= sim.phenotype();
    return y;
  };
  await writeBedBlocks(prefix, sim.blocks(), sim.samples, sim.variants, phenotype);
  const pheno = `${prefix}.pheno.tsv`;
  const trait = phenotype();
  const lines = ['FID\tIID\ty'];
  for (let i = 0; i < trait.length; i++) lines.push(`${sim.samples.fid[i]}\t${sim.samples.iid[i]}\t${trait[i]}`);
  await writeAtomically(pheno, (append) => append(`${lines.join('\n')}\n`));
  return { bfile: prefix, pheno, causal: sim.causal, samples: opts.samples, variants: opts.variants };
}

/** Refuses options the simulator cannot honour, naming the option (as `lmmkit simulate` spells it), what it expects and what it found. */
function checkPolygenicOptions(o: PolygenicOptions): void {
  const int = (flag: string, v: number | undefined, min: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new ArgumentError(`${flag}: expected an integer >= ${min}, found ${v}`);
  };
  const frac = (flag: string, v: number | undefined, max = 1): void => {
    if (v !== undefined && !(v >= 0 && v <= max)) throw new ArgumentError(`${flag}: expected a number in [0, ${max}], found ${v}`);
  };
  int('--samples', o.samples, 4);
  int('--variants', o.variants, 1);
  int('--chromosomes', o.chromosomes, 1);
  int('--populations', o.populations, 1);
  int('--seed', o.seed, 0);
  int('--block-size', o.blockSize, 1);
  if (o.chromosomes !== undefined && o.chromosomes > o.variants) {
    throw new ArgumentError(`--chromosomes: ${o.chromosomes} chromosomes need at least as many variants, found --variants ${o.variants}`);
  }
  if (o.fst !== undefined && !(o.fst > 0 && o.fst < 1)) throw new ArgumentError(`--fst: expected a number in (0, 1), found ${o.fst}`);
  frac('--causal-fraction', o.causalFraction);
  frac('--missing-rate', o.missingRate, 0.5);
  frac('--h2', o.h2);
  frac('--h2-population', o.h2Population);
  if ((o.h2 ?? 0.4) + (o.h2Population ?? 0.05) > 1) {
    throw new ArgumentError(`--h2 ${o.h2 ?? 0.4} and --h2-population ${o.h2Population ?? 0.05}: their sum must be at most 1`);
  }
}
