// The seeded simulators: reproducible, with the structure and effects they claim.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';

test('simulateGwas is reproducible and has population structure and its causal variants', () => {
  const a = simulateGwas({ samples: 300, variants: 400, populations: 3, fst: 0.1, causal: 5, h2Causal: 0.5, h2Population: 0.2, seed: 4 });
  const b = simulateGwas({ samples: 300, variants: 400, populations: 3, fst: 0.1, causal: 5, h2Causal: 0.5, h2Population: 0.2, seed: 4 });
  assert.deepEqual(a.phenotype, b.phenotype);
  assert.deepEqual(a.dosages.data, b.dosages.data);
  assert.equal(a.causal.length, 5);
  assert.ok(a.dosages.data.every((d) => d === 0 || d === 1 || d === 2));
  // F_ST 0.1: allele frequencies differ between populations far more than sampling noise allows.
  let between = 0;
  for (let j = 0; j < 400; j++) {
    const col = a.dosages.col(j);
    const f = [0, 1, 2].map((k) => {
      let s = 0;
      let c = 0;
      for (let i = 0; i < 300; i++)
        if (a.population[i] === k) {
          s += col[i]!;
          c++;
        }
      return s / (2 * c);
    });
    const m = (f[0]! + f[1]! + f[2]!) / 3;
    between += f.reduce((t, v) => t + (v - m) ** 2, 0) / 3 / Math.max(m * (1 - m), 1e-9);
  }
  assert.ok(between / 400 > 0.05, `mean F_ST-like ratio ${between / 400}`);
  // The causal variants explain about half of the trait variance.
  const y = a.phenotype;
  const my = y.reduce((t, v) => t + v, 0) / 300;
  const vy = y.reduce((t, v) => t + (v - my) ** 2, 0) / 300;
  assert.ok(Math.abs(vy - 1) < 0.15, `trait variance ${vy}`);
});
