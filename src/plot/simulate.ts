// Simulated association results for plot tests, benchmarks and examples.
// Browser-safe.
import { Rng } from '../sim/rng.js';

/** GRCh37 autosome lengths (bp). */
const LENGTHS = [
  249250621, 243199373, 198022430, 191154276, 180915260, 171115067, 159138663, 146364022, 141213431, 135534747, 135006516, 133851895, 115169878, 107349540,
  102531392, 90354753, 81195210, 78077248, 59128983, 63025520, 48129895, 51304566,
];

/** A simulated genome-wide scan, as columns. */
export interface SimulatedAssoc {
  /** Chromosome names '1'..'22' and a code per variant. */
  names: string[];
  codes: Int32Array;
  pos: Float64Array;
  log10p: Float64Array;
  /** Ids ('rs' + row + 1) of the variants with p < 1e-5. */
  ids: Map<number, string>;
}

/**
 * Simulates the results of a genome-wide scan for plots and benchmarks:
 * `variants` spread over the 22 autosomes in proportion to their GRCh37
 * length, in position order, with uniform (null) p-values, plus `loci`
 * associated loci (a lead variant with -log10 p between 6 and 46 and its
 * neighbours within 300 kb, the signal decaying with distance). Seeded.
 */
export function simulateAssoc(opts: { variants: number; seed: number; loci?: number }): SimulatedAssoc {
  const s = opts.variants;
  const rng = new Rng(opts.seed);
  const genome = LENGTHS.reduce((a, b) => a + b, 0);
  const codes = new Int32Array(s);
  const pos = new Float64Array(s);
  const log10p = new Float64Array(s);
  let i = 0;
  LENGTHS.forEach((len, c) => {
    const count = c === LENGTHS.length - 1 ? s - i : Math.round((s * len) / genome);
    const step = len / Math.max(count, 1);
    for (let k = 0; k < count && i < s; k++, i++) {
      codes[i] = c;
      pos[i] = Math.floor(1 + k * step + rng.uniform() * step);
      log10p[i] = Math.log10(1 - rng.uniform());
    }
  });
  // The loci: a lead variant and its neighbours within 300 kb, the signal decaying with distance.
  const ids = new Map<number, string>();
  for (let l = 0; l < (opts.loci ?? 12); l++) {
    const lead = Math.floor(rng.uniform() * s);
    const peak = 6 + 40 * rng.uniform() ** 2;
    for (let j = lead; j < s && codes[j] === codes[lead] && pos[j]! - pos[lead]! < 3e5; j++) {
      const v = -peak * Math.exp(-(pos[j]! - pos[lead]!) / 6e4) + 0.5 * Math.log10(1 - rng.uniform());
      log10p[j] = Math.min(log10p[j]!, v);
    }
    for (let j = lead - 1; j >= 0 && codes[j] === codes[lead] && pos[lead]! - pos[j]! < 3e5; j--) {
      const v = -peak * Math.exp(-(pos[lead]! - pos[j]!) / 6e4) + 0.5 * Math.log10(1 - rng.uniform());
      log10p[j] = Math.min(log10p[j]!, v);
    }
  }
  for (let j = 0; j < s; j++) if (log10p[j]! < -5) ids.set(j, `rs${j + 1}`);
  return { names: LENGTHS.map((_, c) => String(c + 1)), codes, pos, log10p, ids };
}
