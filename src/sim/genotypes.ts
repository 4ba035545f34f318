import { Matrix } from '../linalg/matrix.js';
import type { SampleTable } from '../data/samples.js';
import type { VariantTable } from '../data/variants.js';
import { Rng } from './rng.js';

/** Options of `simulateGenotypes`. */
export interface SimulateGenotypesOptions {
  samples: number;
  variants: number;
  /** Chromosomes the variants are spread over, in order (default 1..22 as needed). */
  chromosomes?: number;
  /** Fraction of genotypes set missing at random (default 0). */
  missingRate?: number;
  /** Lower and upper allele frequency of the column-5 allele (default [0.05, 0.5]). */
  frequency?: readonly [number, number];
  seed?: number;
}

/** A simulated genotype data set: dosages of the column-5 allele with their samples and variants. */
export interface SimulatedGenotypes {
  dosages: Matrix;
  samples: SampleTable;
  variants: VariantTable;
}

/**
 * Seeded simulation of unrelated samples under Hardy-Weinberg equilibrium:
 * each variant draws an allele frequency uniformly in `frequency`, each
 * dosage is Binomial(2, f), and `missingRate` of them are NaN. Variants are
 * spread evenly over the chromosomes with increasing positions 1 kb apart.
 */
export function simulateGenotypes(opts: SimulateGenotypesOptions): SimulatedGenotypes {
  const { samples: n, variants: s, missingRate = 0, frequency = [0.05, 0.5], seed = 1 } = opts;
  const nChrom = Math.max(1, Math.min(opts.chromosomes ?? 1, s));
  const rng = new Rng(seed);
  const dosages = new Matrix(n, s);
  for (let j = 0; j < s; j++) {
    const f = frequency[0] + (frequency[1] - frequency[0]) * rng.uniform();
    const col = dosages.col(j);
    for (let i = 0; i < n; i++) col[i] = missingRate > 0 && rng.uniform() < missingRate ? Number.NaN : rng.dosage(f);
  }
  const perChrom = Math.ceil(s / nChrom);
  const chrom = Array.from({ length: s }, (_, j) => String(1 + Math.floor(j / perChrom)));
  const pos = Float64Array.from({ length: s }, (_, j) => 1000 * (1 + (j % perChrom)));
  const alleles = ['A', 'C', 'G', 'T'];
  const a1 = Array.from({ length: s }, (_, j) => alleles[j % 4]!);
  const a2 = Array.from({ length: s }, (_, j) => alleles[(j + 1 + (j % 3)) % 4]!);
  const ids = Array.from({ length: n }, (_, i) => `S${i + 1}`);
  return {
    dosages,
    samples: { fid: ids.map((id) => `F${id}`), iid: ids },
    variants: { chrom, id: Array.from({ length: s }, (_, j) => `snp${j + 1}`), cm: new Float64Array(s), pos, a1, a2 },
  };
}
