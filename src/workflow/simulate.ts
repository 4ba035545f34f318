// A simulated polygenic data set on disk: PLINK 1 genotypes and a phenotype
// table, written a block of variants at a time (the infinitesimal model's
// tests and benchmarks, issue 18).
import { writeAtomically } from '../data/atomic.js';
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
