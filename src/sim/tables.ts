// The sample and variant tables of the structured simulators.
import type { SampleTable } from '../data/samples.js';
import type { VariantTable } from '../data/variants.js';

/**
 * Samples ind1..indN with their sub-population as FID (pop1, pop2, ...), and
 * `s` variants rs1..rsS spread evenly over `chromosomes` (1, 2, ... in order),
 * 10 kb apart, alleles cycling through A, C, G, T.
 */
export function populationTables(population: Int32Array, s: number, chromosomes: number): { samples: SampleTable; variants: VariantTable } {
  const perChrom = Math.ceil(s / chromosomes);
  const alleles = ['A', 'C', 'G', 'T'];
  const ids = Array.from(population, (_, i) => `ind${i + 1}`);
  return {
    samples: { fid: ids.map((_, i) => `pop${population[i]! + 1}`), iid: ids },
    variants: {
      chrom: Array.from({ length: s }, (_, j) => String(1 + Math.floor(j / perChrom))),
      id: Array.from({ length: s }, (_, j) => `rs${j + 1}`),
      cm: new Float64Array(s),
      pos: Float64Array.from({ length: s }, (_, j) => 10_000 * (1 + (j % perChrom))),
      a1: Array.from({ length: s }, (_, j) => alleles[j % 4]!),
      a2: Array.from({ length: s }, (_, j) => alleles[(j + 2) % 4]!),
    },
  };
}
