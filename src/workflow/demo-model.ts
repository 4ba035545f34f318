// The model `lmmkit demo` simulates (browser-safe: the web app's example
// simulates the same data set).

/** Genome-wide significance. */
export const GENOME_WIDE = 5e-8;

// The demo's simulation: a few causal variants strong enough to be found at
// N = 1000, population structure that the kinship absorbs.
/** Causal variants of the demo's trait. */
export const CAUSAL = 5;
/** Fraction of the trait's variance the causal variants explain. */
export const H2_CAUSAL = 0.25;
/** Fraction of the trait's variance the population means explain. */
export const H2_POPULATION = 0.1;
