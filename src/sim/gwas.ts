import { Matrix } from '../linalg/matrix.js';
import type { SampleTable } from '../data/samples.js';
import type { VariantTable } from '../data/variants.js';
import { beta, variance } from './distributions.js';
import { populationTables } from './tables.js';
import { Rng } from './rng.js';

/** Options of `simulateGwas`. */
export interface SimulateGwasOptions {
  samples: number;
  variants: number;
  /** Sub-populations (default 3), of equal size. */
  populations?: number;
  /** Wright's F_ST between the sub-populations (default 0.05). */
  fst?: number;
  /** Chromosomes the variants are spread over (default 5). */
  chromosomes?: number;
  /** Number of causal variants (default 10). */
  causal?: number;
  /** Fraction of the trait variance explained by the causal variants (default 0.1). */
  h2Causal?: number;
  /** Fraction explained by the population means (structure that a kinship must absorb; default 0.1). */
  h2Population?: number;
  seed?: number;
}

/** A simulated GWAS data set with its truth. */
export interface SimulatedGwas {
  /** Dosages of the `.bim` column-5 allele, N x S. */
  dosages: Matrix;
  samples: SampleTable;
  variants: VariantTable;
  /** The trait, length N. */
  phenotype: Float64Array;
  /** Sub-population of each sample. */
  population: Int32Array;
  /** Indices of the causal variants and their effects per standardised dosage. */
  causal: { index: number; effect: number }[];
}

/**
 * Seeded simulation of a structured GWAS sample (Balding & Nichols 1995):
 * each variant has an ancestral frequency p ~ U(0.05, 0.5) and, in each
 * sub-population, a frequency drawn from Beta(p (1 - F) / F, (1 - p)(1 - F) / F);
 * dosages are Binomial(2, f). The trait is the sum of `causal` standardised
 * variants with normal effects (scaled to `h2Causal`), a shift per
 * sub-population (scaled to `h2Population`) and Gaussian noise.
 */
export function simulateGwas(opts: SimulateGwasOptions): SimulatedGwas {
  const { samples: n, variants: s, populations = 3, fst = 0.05, chromosomes = 5, causal = 10, h2Causal = 0.1, h2Population = 0.1, seed = 1 } = opts;
  const rng = new Rng(seed);
  const population = Int32Array.from({ length: n }, (_, i) => Math.floor((i * populations) / n));
  const dosages = new Matrix(n, s);
  const a = (1 - fst) / fst;
  const freq = new Float64Array(populations);
  for (let j = 0; j < s; j++) {
    const p = 0.05 + 0.45 * rng.uniform();
    for (let k = 0; k < populations; k++) freq[k] = Math.min(0.999, Math.max(0.001, beta(rng, p * a, (1 - p) * a)));
    const col = dosages.col(j);
    for (let i = 0; i < n; i++) col[i] = rng.dosage(freq[population[i]!]!);
  }

  const picked = new Set<number>();
  while (picked.size < Math.min(causal, s)) picked.add(Math.floor(rng.uniform() * s));
  const effects = [...picked].sort((x, y) => x - y).map((index) => ({ index, effect: rng.normal() }));
  const genetic = new Float64Array(n);
  for (const { index, effect } of effects) {
    const col = dosages.col(index);
    const mean = col.reduce((t, v) => t + v, 0) / n;
    const sd = Math.sqrt(col.reduce((t, v) => t + (v - mean) ** 2, 0) / n) || 1;
    for (let i = 0; i < n; i++) genetic[i]! += (effect * (col[i]! - mean)) / sd;
  }
  const shifts = Float64Array.from({ length: populations }, () => rng.normal());
  const structure = Float64Array.from(population, (k) => shifts[k]!);
  const noise = rng.normals(n);
  const scaleG = Math.sqrt(h2Causal / Math.max(variance(genetic), 1e-300));
  const scaleP = Math.sqrt(h2Population / Math.max(variance(structure), 1e-300));
  const scaleE = Math.sqrt(Math.max(0, 1 - h2Causal - h2Population) / variance(noise));
  const phenotype = Float64Array.from({ length: n }, (_, i) => scaleG * genetic[i]! + scaleP * structure[i]! + scaleE * noise[i]!);
  for (const e of effects) e.effect *= scaleG;

  return {
    dosages,
    ...populationTables(population, s, chromosomes),
    phenotype,
    population,
    causal: effects,
  };
}
