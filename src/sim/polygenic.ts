// A polygenic trait on a structured sample, simulated a block of variants at
// a time so that N x S dosages never sit in memory: the data of the
// infinitesimal model's tests and benchmarks (issue 18), at sizes (N = 20 000
// x 50 000: 8 GB of doubles) that `simulateGwas` would have to hold whole.
import { Matrix } from '../linalg/matrix.js';
import type { SampleTable } from '../data/samples.js';
import type { VariantTable } from '../data/variants.js';
import { beta, variance } from './distributions.js';
import { Rng } from './rng.js';
import { populationTables } from './tables.js';

/** Options of `PolygenicSimulation`. */
export interface PolygenicOptions {
  samples: number;
  variants: number;
  /** Chromosomes, variants spread evenly in order (default 22). */
  chromosomes?: number;
  /** Sub-populations of equal size (default 3). */
  populations?: number;
  /** Wright's F_ST between them (default 0.05). */
  fst?: number;
  /** Probability that a variant is causal (default 0.1). */
  causalFraction?: number;
  /** Variance fraction of the causal variants (default 0.4). */
  h2?: number;
  /** Variance fraction of the sub-population means (default 0.05). */
  h2Population?: number;
  /** Fraction of genotypes set missing (default 0). */
  missingRate?: number;
  /** Variants per block (default 1000). */
  blockSize?: number;
  seed?: number;
}

/**
 * Seeded simulation, streamed by blocks of variants: Balding-Nichols
 * frequencies per sub-population (ancestral p ~ U(0.05, 0.5), sub-population
 * f ~ Beta(p (1 - F)/F, (1 - p)(1 - F)/F)), Binomial(2, f) dosages, each
 * variant causal with probability `causalFraction` with a N(0, 1) effect per
 * standardised dosage; the trait is the genetic value scaled to `h2`, a
 * N(0, 1) shift per sub-population scaled to `h2Population`, and Gaussian
 * noise for the rest. `blocks()` yields the N x b dosage blocks in order;
 * `phenotype()` is the trait once every block has been read.
 */
export class PolygenicSimulation {
  readonly samples: SampleTable;
  readonly variants: VariantTable;
  /** Sub-population of each sample. */
  readonly population: Int32Array;
  private readonly opts: Required<PolygenicOptions>;
  private readonly rng: Rng;
  private readonly genetic: Float64Array;
  private done = false;
  /** Causal variants met so far. */
  causal = 0;

  constructor(opts: PolygenicOptions) {
    this.opts = {
      chromosomes: 22,
      populations: 3,
      fst: 0.05,
      causalFraction: 0.1,
      h2: 0.4,
      h2Population: 0.05,
      missingRate: 0,
      blockSize: 1000,
      seed: 1,
      ...opts,
    };
    const { samples: n, variants: s, chromosomes, populations } = this.opts;
    this.rng = new Rng(this.opts.seed);
    this.genetic = new Float64Array(n);
    this.population = Int32Array.from({ length: n }, (_, i) => Math.floor((i * populations) / n));
    const tables = populationTables(this.population, s, chromosomes);
    this.samples = tables.samples;
    this.variants = tables.variants;
  }

  /** The dosage blocks (N x b, NaN = missing), in variant order; one pass only. */
  *blocks(): Generator<Matrix> {
    if (this.done) throw new Error('PolygenicSimulation.blocks: the blocks were already read');
    const { samples: n, variants: s, populations, fst, causalFraction, missingRate, blockSize } = this.opts;
    const rng = this.rng;
    const a = (1 - fst) / fst;
    const freq = new Float64Array(populations);
    for (let j0 = 0; j0 < s; j0 += blockSize) {
      const b = Math.min(blockSize, s - j0);
      const block = new Matrix(n, b);
      for (let j = 0; j < b; j++) {
        const p = 0.05 + 0.45 * rng.uniform();
        for (let k = 0; k < populations; k++) freq[k] = Math.min(0.999, Math.max(0.001, beta(rng, p * a, (1 - p) * a)));
        const col = block.col(j);
        let sum = 0;
        let obs = 0;
        for (let i = 0; i < n; i++) {
          const d = rng.dosage(freq[this.population[i]!]!);
          if (missingRate > 0 && rng.uniform() < missingRate) col[i] = Number.NaN;
          else {
            col[i] = d;
            sum += d;
            obs++;
          }
        }
        if (rng.uniform() < causalFraction) this.addEffect(col, sum / Math.max(obs, 1), rng.normal());
      }
      yield block;
    }
    this.done = true;
  }

  /** The trait (length N), once `blocks()` has been read to its end. */
  phenotype(): Float64Array {
    if (!this.done) throw new Error('PolygenicSimulation.phenotype: read every block first');
    const { samples: n, populations, h2, h2Population } = this.opts;
    const rng = new Rng(this.opts.seed + 1);
    const shifts = Float64Array.from({ length: populations }, () => rng.normal());
    const structure = Float64Array.from(this.population, (k) => shifts[k]!);
    const noise = rng.normals(n);
    const scaleG = this.causal === 0 ? 0 : Math.sqrt(h2 / Math.max(variance(this.genetic), 1e-300));
    const scaleP = Math.sqrt(h2Population / Math.max(variance(structure), 1e-300));
    const scaleE = Math.sqrt(Math.max(0, 1 - h2 - h2Population) / variance(noise));
    return Float64Array.from({ length: n }, (_, i) => scaleG * this.genetic[i]! + scaleP * structure[i]! + scaleE * noise[i]!);
  }

  private addEffect(col: Float64Array, mean: number, effect: number): void {
    let ss = 0;
    let obs = 0;
    for (let i = 0; i < col.length; i++) {
      const v = col[i]!;
      if (!Number.isNaN(v)) {
        ss += (v - mean) ** 2;
        obs++;
      }
    }
    const sd = Math.sqrt(ss / Math.max(obs, 1));
    if (sd === 0) return;
    this.causal++;
    // A missing genotype adds nothing: the mean-imputed value.
    for (let i = 0; i < col.length; i++) {
      const v = col[i]!;
      if (!Number.isNaN(v)) this.genetic[i]! += (effect * (v - mean)) / sd;
    }
  }
}
