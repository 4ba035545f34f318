// A GWAS trait scanned under a null model saved by `lmmkit null fit`: the
// file is read and checked once, and each trait of the run must be the one
// the model was fitted to, on the same samples, with the same values and
// covariates, so that the scan is the scan the fitting run would have made.
import { ArgumentError, InputError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import type { KinshipNullModel } from '../nullmodel/fit-kinship.js';
import { loadNullModel } from '../nullmodel/node.js';
import { checkNullModelSamples, type SavedNullModel } from '../nullmodel/serialize.js';
import { kinshipReport, type TraitNull } from './gwas-null.js';

/** A saved kinship null model and the file it came from. */
export interface SavedTraitNull {
  file: string;
  saved: SavedNullModel;
  model: KinshipNullModel;
}

/**
 * Loads the null model of `path` for a run of `traits` with `test`: a
 * kinship model of one trait, that trait the run's only one, fitted for the
 * same test (the exact test's kinship is double-centred, GEMMA's
 * convention; the fixed test's is not). `load` reads the file (a cluster
 * worker passes a cache: the N x N model is read once per run, not per chunk).
 */
export async function loadTraitNull(
  path: string,
  traits: readonly string[],
  test: 'fixed' | 'exact',
  load: (path: string) => Promise<SavedNullModel> = loadNullModel,
): Promise<SavedTraitNull> {
  const saved = await load(path);
  const model = saved.model;
  if (model.kind !== 'kinship') {
    throw new InputError({ file: path }, `expected a kinship null model (lmmkit null fit), found a ${model.kind} model`);
  }
  const trait = saved.traits[0] ?? '';
  if (traits.length !== 1 || traits[0] !== trait) {
    throw new ArgumentError(
      `--null ${path}: holds the null model of trait '${trait}'; select that trait alone with --pheno-col ${trait} (found ${traits.map((t) => `'${t}'`).join(', ')})`,
    );
  }
  const fittedFor = model.centered ? 'exact' : 'fixed';
  if (fittedFor !== test) {
    throw new ArgumentError(
      `--null ${path}: was fitted for --test ${fittedFor} (${model.centered ? "a double-centred kinship, GEMMA's convention" : 'the kinship as given'}), found --test ${test}; fit it again with lmmkit null fit --test ${test}`,
    );
  }
  return { file: path, saved, model };
}

/** One trait of the run as `savedTraitNull` checks it against the model. */
export interface TraitCheck {
  trait: string;
  samples: { fid: readonly string[]; iid: readonly string[] };
  y: Float64Array;
  f: Matrix;
  names: readonly string[];
}

/**
 * The trait's null model from the saved one, after checking that the run's
 * samples are the model's in order (SampleMismatchError naming the first
 * difference), and that its covariates and its trait and covariate values
 * are those the model was fitted to, to the bit.
 */
export function savedTraitNull(s: SavedTraitNull, t: TraitCheck): TraitNull {
  checkNullModelSamples(s.saved, t.samples, s.file);
  const { model } = s;
  const names = s.saved.covariates;
  if (names.length !== t.names.length || names.some((nm, j) => nm !== t.names[j])) {
    throw new InputError({ file: s.file }, `the null model's covariates are ${names.join(', ')}; this run's are ${t.names.join(', ')}`);
  }
  const who = (i: number): string => `${t.samples.fid[i]} ${t.samples.iid[i]}`;
  const y = firstDifference(model.y, t.y);
  if (y >= 0) {
    throw new InputError(
      { file: s.file },
      `trait '${t.trait}' of sample ${who(y)}: the null model was fitted to ${model.y[y]}, this run has ${t.y[y]} (another phenotype file or --gaussianize setting?)`,
    );
  }
  const f = firstDifference(model.covariates.data, t.f.data);
  if (f >= 0) {
    const i = f % t.f.rows;
    const c = names[Math.floor(f / t.f.rows)];
    throw new InputError(
      { file: s.file },
      `covariate '${c}' of sample ${who(i)}: the null model was fitted to ${model.covariates.data[f]}, this run has ${t.f.data[f]}`,
    );
  }
  return { model, report: kinshipReport(model, names) };
}

/** The first index where two arrays differ (Object.is: NaN equals NaN, 0 and -0 differ), -1 when equal. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (i >= a.length || i >= b.length || !Object.is(a[i], b[i])) return i;
  return -1;
}
