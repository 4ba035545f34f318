// Leave-one-chromosome-out (LOCO) kinships for `gwas --loco` and `mtgwas
// --loco` (issue 18): a variant is tested against a kinship that does not
// contain it or its neighbours in LD (proximal contamination, Listgarten et
// al. 2012; Yang et al. 2014 Nature Genetics).
//
// K_{-c} = S_{-c} / p_{-c}, S_{-c} = sum over the informative variants not
// on chromosome c of x x^T, each x scaled as for K (per variant, so the
// scaling carries over). One streaming pass keeps S (N^2 doubles) and the
// informative variants per chromosome; each K_{-c} is then S minus its
// chromosome's crossproduct, read again from the genotypes (only c's
// variants: over every chromosome, one more pass), into one working N x N
// that becomes the eigenvectors. Memory: S + that one N x N + the
// decomposition's workspace, whatever the number of chromosomes (keeping
// the 22 per-chromosome S_c instead would need 22 N^2 doubles: 17.6 GB at
// N = 10 000). Cost: C eigendecompositions (one per tested chromosome).
import { analysedSelection, type GenotypeSource } from '../data/genotypes.js';
import { crossproduct } from '../data/kinship.js';
import { resolveSelection } from '../data/variants.js';
import { ArgumentError, SelectionError } from '../errors.js';
import { Matrix } from '../linalg/matrix.js';
import type { RunKinship } from './gwas-null.js';
import type { GwasReport } from './gwas-report.js';
import { withProgress } from './input-tables.js';
import type { ProgressFactory } from './options.js';

/** The one streaming pass of a LOCO run: the whole crossproduct and where its variants are. */
export interface LocoKinship {
  source: GenotypeSource;
  /** S = X X^T over every informative analysed variant, unscaled, N x N over `samples`. */
  s: Matrix;
  /** Genotype indices of the N samples the kinship is over. */
  samples: Int32Array;
  /** Informative variants in S (p) and uninformative ones left out. */
  used: number;
  skipped: number;
  /** Informative variants per chromosome (p_c), by the name the file gives it. */
  usedByChrom: Map<string, number>;
  /** Analysed variants (file order) per chromosome, for the second reads. */
  byChrom: Map<string, number[]>;
}

/**
 * The LOCO pass: the unscaled standardized crossproduct of `samples` over
 * every analysed variant of `source` (as `standardizedKinship` computes K,
 * before its 1/p), with p_c per chromosome; logs one line.
 */
export async function locoPass(
  source: GenotypeSource,
  samples: Int32Array,
  progress: ProgressFactory | undefined,
  log: (line: string) => void,
): Promise<LocoKinship> {
  const analysed = resolveSelection(source.variants, analysedSelection(source, undefined), source.path);
  const byChrom = new Map<string, number[]>();
  for (const i of analysed) {
    const c = source.variants.chrom[i]!;
    const list = byChrom.get(c);
    if (list === undefined) byChrom.set(c, [i]);
    else list.push(i);
  }
  const total = analysed.length;
  const res = await withProgress(
    progress,
    (bar) =>
      crossproduct(source, {
        method: 'standardized',
        samples,
        select: { indices: analysed },
        onProgress: bar === undefined ? undefined : (read) => bar({ variantsRead: read, total, fraction: read / total }),
      }),
    'kinship pass (LOCO)',
  );
  log(
    `kinship (standardized, LOCO) of ${samples.length} samples from ${res.used} variants of ${source.path} on ${res.usedByChrom.size} chromosomes: ` +
      Array.from(res.usedByChrom, ([c, p]) => `${c} ${p}`).join(', '),
  );
  return { source, s: res.s, samples, used: res.used, skipped: res.skipped, usedByChrom: res.usedByChrom, byChrom };
}

/**
 * K_{-c} = (S - S_c) / p_{-c}: a fresh N x N kinship over `loco.samples`
 * without chromosome `chrom`'s variants, S_c read again from the genotypes
 * (only that chromosome's analysed variants) and subtracted in place; with
 * p_{-c}, the variants in it. `tested`: how many selected variants are on
 * `chrom`, for the error when no kinship variant is left (every one on it).
 * `spare`: an N x N buffer nothing uses any more (the last chromosome's,
 * after its scan), filled instead of a fresh one.
 */
export async function leaveChromOut(
  loco: LocoKinship,
  chrom: string,
  tested: number,
  progress: ProgressFactory | undefined,
  spare?: Float64Array,
): Promise<{ k: Matrix; variants: number }> {
  const pc = loco.usedByChrom.get(chrom) ?? 0;
  const rest = loco.used - pc;
  if (rest === 0) {
    throw new SelectionError(
      'NO_VARIANTS',
      `--loco: all ${loco.used} kinship variants of ${loco.source.path} are on chromosome ${chrom}, so its ${tested} tested variants have no kinship left; LOCO needs variants on at least two chromosomes`,
    );
  }
  // The previous chromosome's buffer, once its scan is done: a fresh N x N per chromosome would wait for the
  // garbage collector, and at N = 5000 the run peaked 2.7 N^2 above a plain one (6.5 N^2 in all).
  let data: Float64Array;
  if (spare !== undefined && spare.length === loco.s.data.length) {
    data = spare;
    data.set(loco.s.data);
  } else data = loco.s.data.slice();
  const w = new Matrix(loco.s.rows, loco.s.cols, data);
  if (pc > 0) {
    const indices = Int32Array.from(loco.byChrom.get(chrom) ?? []);
    const res = await withProgress(
      progress,
      (bar) =>
        crossproduct(loco.source, {
          method: 'standardized',
          samples: loco.samples,
          select: { indices },
          into: { c: w, alpha: -1 },
          allowEmpty: true,
          onProgress: bar === undefined ? undefined : (read) => bar({ variantsRead: read, total: indices.length, fraction: read / indices.length }),
        }),
      `LOCO kinship without chromosome ${chrom}`,
    );
    // The same variants, scaled the same way on the same samples: a different count is a reader bug.
    if (res.used !== pc)
      throw new Error(
        `--loco: chromosome ${chrom} gave ${res.used} informative variants on its second read, ${pc} on the first (an lmmkit bug: please report it)`,
      );
  }
  const scale = 1 / rest;
  for (let i = 0; i < w.data.length; i++) w.data[i]! *= scale;
  return { k: w, variants: rest };
}

/** The `covariance` entry of a LOCO run's report: the standardized kinship, with the variants of each chromosome. */
export function locoCovarianceReport(loco: LocoKinship): GwasReport['covariance'] {
  return {
    model: 'kinship',
    source: 'genotypes',
    method: 'standardized',
    samples: loco.samples.length,
    variantsUsed: loco.used,
    variantsSkipped: loco.skipped,
    loco: Array.from(loco.usedByChrom, ([chrom, variants]) => ({ chrom, variants })),
  };
}

/** K = S / p: the whole-genome kinship of a LOCO pass, as a fresh matrix (S is kept for the chromosomes). */
export function wholeKinship(loco: LocoKinship): Matrix {
  const scale = 1 / loco.used;
  const k = new Matrix(loco.s.rows, loco.s.cols, loco.s.data.slice());
  for (let i = 0; i < k.data.length; i++) k.data[i]! *= scale;
  return k;
}

/** A stretch of consecutive selected variants (file order) on one chromosome. */
export interface ChromRun {
  chrom: string;
  indices: Int32Array;
}

/**
 * The selected variants (`indices`, file order) cut into runs of one
 * chromosome each, so that the output keeps the file's order; a chromosome
 * whose variants are not contiguous in the file gets one run per stretch
 * (and its model is fitted again for each).
 */
export function chromRuns(chrom: readonly string[], indices: Int32Array): ChromRun[] {
  const runs: ChromRun[] = [];
  let start = 0;
  for (let k = 1; k <= indices.length; k++) {
    if (k < indices.length && chrom[indices[k]!] === chrom[indices[start]!]) continue;
    runs.push({ chrom: chrom[indices[start]!]!, indices: indices.slice(start, k) });
    start = k;
  }
  return runs;
}

/**
 * A kinship of a LOCO pass (K or a K_{-c}, over `loco.samples`) as a run's
 * kinship for `fitTraitNull`: handed over to its one eigendecomposition
 * (`once`), so that no second N x N copy is made.
 */
export function locoRunKinship(loco: LocoKinship, k: Matrix, label: string, allowNonPsd: boolean): RunKinship {
  const row = new Int32Array(loco.source.samples.iid.length).fill(-1);
  loco.samples.forEach((g, i) => {
    row[g] = i;
  });
  return { k, row, once: true, label, allowNonPsd };
}

/** The run's options with --loco checked (`checkLocoOptions`) and the kinship from the genotypes it implies. */
export function withLoco<T extends { loco?: boolean; kinshipFromGenotypes?: boolean; kinship?: string; nullModel?: string; lowrank?: string; chunk?: unknown }>(
  command: string,
  opts: T,
): T {
  if (opts.loco !== true) return opts;
  checkLocoOptions(command, opts);
  return { ...opts, kinshipFromGenotypes: true };
}

/**
 * The options `--loco` cannot take, refused with one line each: the LOCO
 * kinships are computed from the genotypes, so not with a kinship file, a
 * saved null model or a low-rank covariance; a chunked scan would redo the
 * C decompositions in every part (run the chromosomes as separate jobs
 * instead, with --chr).
 */
export function checkLocoOptions(command: string, opts: { kinship?: string; nullModel?: string; lowrank?: string; chunk?: unknown }): void {
  const why = (flag: string, reason: string): ArgumentError => new ArgumentError(`${command} --loco: does not take ${flag}: ${reason}`);
  if (opts.kinship !== undefined) throw why('--kinship', 'a LOCO kinship is computed from the genotypes without each chromosome (drop --kinship)');
  if (opts.nullModel !== undefined) throw why('--null', 'a saved null model has one kinship; LOCO fits one per chromosome from the genotypes');
  if (opts.lowrank !== undefined) throw why('--lowrank', 'LOCO leaves chromosomes out of a kinship computed from the genotypes');
  if (opts.chunk !== undefined)
    throw why('--chunk', 'every part would redo the per-chromosome decompositions; run the chromosomes as separate jobs instead (--chr)');
}
