// Two components (one matrix + error) by one eigendecomposition, MM4LMM's
// joint-diagonalisation ('2Mat') programs. With K1 = Z1 R1 Z1' and K2 the
// error's N x N matrix, K2 = L L' and L^-1 K1 L^-T = Q diag(d) Q' give
// u = L^-T Q with u' K2 u = I and u' K1 u = diag(d), so in the rotated
// coordinates V = sigma2_1 diag(d) + sigma2_2 I is diagonal and an
// iteration costs O(N p^2).
//
// REML follows MM4LMM's 'Reml2Mat': the error variance is profiled out
// (sigma2_2 = y'P~y / (N - p) with V~ = delta D + I) and the ratio
// delta = sigma2_1 / sigma2_2 moves by the MM step of the profiled
// criterion, the positive root of
//   E C x^2 + B C delta^2 x - (N - p) B delta^2 = 0
// (B = e'De, E = e'e, e = P~y, C = tr(P~D)), which comes from the tangent
// bound of the log-determinants and the MM bound
// y'P~(x)y <= delta^2 B / x + E of the quadratic form. MM4LMM extrapolates
// delta from its *initial* value at every second step (its code never
// updates that anchor); we reproduce that to follow its iteration path, and
// the results are reported at the final delta, as MM4LMM does.
// ML follows 'ML2Mat': the plain MM update of both variances on the
// diagonal V, with MM4LMM's REML-style loop (see mm-common.ts).
import { ArgumentError, NotPositiveDefiniteError, NumericalError, ShapeError } from '../errors.js';
import type { Backend } from '../linalg/backend.js';
import { generalisedEigen } from '../linalg/generalised-eigen.js';
import { Matrix } from '../linalg/matrix.js';
import { getBackend } from '../linalg/select.js';
import {
  type GlsEval,
  LOG_2PI,
  type MmEval,
  type MmOptions,
  type ResolvedOptions,
  type CheckedComponent,
  checkComponents,
  driveSquarem,
  resolveOptions,
  runMmFit,
} from './mm-common.js';
import { fullMatrix } from './mm-dense.js';
import { WHO, evalDelta, glsPass, notPd, profiledLogLik, RotatedWorkspace, type Workspace, deltaStep } from './mm-eigen-gls.js';
import { remlScan, scanFits } from './mm-eigen-scan.js';
import type { EngineFit, EngineOptions, VarComponent } from './types.js';

export { RotatedWorkspace };

/** The rotation of a two-component model. */
export interface TwoRotation {
  /** d: the eigenvalues of K1 relative to K2 (ascending), length N. */
  eigenvalues: Float64Array;
  /** N x N; the rotated data are u' y and u' X (u = eigenvectors of K1 when K2 = I). */
  u: Matrix;
  /** log det K2 (0 when the error is the identity): pass it as `logDetError` to mmRotated. */
  logDetError: number;
}

/** Options of `mmRotated`: the engine options, plus log det K2 when the error is not I. */
export type RotatedOptions = MmOptions & {
  /** log det of the error's N x N matrix (rotateTwo's logDetError); default 0 (error = I). */
  logDetError?: number;
};

/**
 * Joint diagonalisation of the two components [K1-component, error]: the
 * generalised eigenproblem K1 u = d K2 u with K2 whitened by its Cholesky
 * factor (one eigendecomposition when the error is the identity).
 * `checked`: what `checkComponents` gave for these very components, when
 * the caller has checked them already (mmEst: R's checks read 2 N^2
 * values per component; done once).
 */
export function rotateTwo(components: VarComponent[], backend: Backend = getBackend(), checked?: CheckedComponent[]): TwoRotation {
  if (!Array.isArray(components) || components.length !== 2) {
    throw new ShapeError(`rotateTwo: needs exactly 2 components (a matrix and the error), found ${Array.isArray(components) ? components.length : 'none'}`);
  }
  const c0 = components[0]!;
  const n = c0.z !== undefined ? c0.z.rows : c0.r.rows;
  const comps = checked !== undefined && checked.length === 2 ? checked : checkComponents('rotateTwo', components, n);
  const k1 = fullMatrix(backend, comps[0]!) ?? Matrix.identity(n);
  const k2 = fullMatrix(backend, comps[1]!);
  try {
    const { values, vectors, logdetB } = generalisedEigen(k1, k2, { whiten: 'cholesky', backend });
    return { eigenvalues: values, u: vectors, logDetError: logdetB };
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) {
      throw new NumericalError(`rotateTwo: the error matrix of component '${comps[1]!.name}' is not positive definite (leading minor of order ${e.minor})`);
    }
    throw e;
  }
}

/**
 * Fits the two variances of V = sigma2_1 diag(d) + sigma2_2 I in the
 * rotated coordinates (uty = u'y, utx = u'X, d = rotateTwo's eigenvalues).
 * O(N p^2) per iteration, no allocation per iteration. The default init is
 * var(uty)/2, which is NOT MM4LMM's var(y)/2: pass init for parity.
 * `workspace`: the run's scratch space (see `RotatedWorkspace`); pass the
 * same one to every fit of a scan, a fresh one is made per call otherwise.
 */
export function mmRotated(
  uty: Float64Array,
  utx: Matrix,
  eigenvalues: Float64Array,
  opts: EngineOptions,
  workspace: RotatedWorkspace = new RotatedWorkspace(),
): EngineFit {
  const n = uty.length;
  const p = utx.cols;
  if (eigenvalues.length !== n) throw new ShapeError(`${WHO}: ${eigenvalues.length} eigenvalues for ${n} rotated observations`);
  if (utx.rows !== n) throw new ShapeError(`${WHO}: Incompatible dimension between Y and X: uty has ${n} values but utx is ${utx.shape}`);
  if (p < 1 || p >= n) throw new ShapeError(`${WHO}: utx is ${utx.shape}: need 1 <= p < N fixed effects`);
  // uty and the eigenvalues are the same arrays for every marker of a run:
  // the workspace checks each array once. Non-finite utx values are caught
  // in the first GLS pass (they make X'WX non-finite).
  workspace.checkInputs(uty, eigenvalues);
  const xd = utx.data;
  const ropts = opts as RotatedOptions;
  const o = resolveOptions(ropts, 2, uty, WHO);
  const logDetError = ropts.logDetError ?? 0;
  if (!Number.isFinite(logDetError)) throw new ArgumentError(`${WHO}: logDetError must be finite, found ${logDetError}`);
  const ws = workspace.get(n, p);
  return o.method === 'reml' ? remlRotated(ws, uty, xd, eigenvalues, o, logDetError) : mlRotated(ws, uty, xd, eigenvalues, o, logDetError);
}

function remlRotated(ws: Workspace, y: Float64Array, x: Float64Array, d: Float64Array, o: ResolvedOptions, logDetError: number): EngineFit {
  const n = ws.n;
  const p = ws.p;
  const nmp = n - p;
  const s = ws.sums;
  if (!o.accelerate) {
    // MM4LMM's Reml2Mat loop: the scan of one model.
    const fits = scanFits(1, p);
    remlScan(ws, y, d, { xa: x, pa: p, xb: x, pb: 0, count: 1 }, o, logDetError, fits);
    return {
      sigma2: fits.sigma2,
      beta: fits.beta,
      varBeta: new Matrix(p, p, fits.varBeta),
      logLik: fits.logLik[0]!,
      nbIt: fits.nbIt[0]!,
      converged: fits.converged[0] === 1,
    };
  }
  // SQUAREM on delta; the step is measured on the variances (|delta step| x sigma2_2),
  // the units of critVar.
  const run = driveSquarem(
    Float64Array.of(o.init[0]! / o.init[1]!),
    (t: Float64Array): MmEval & { s2: number } => {
      evalDelta(ws, y, x, p, x, 0, d, t[0]!, 'reml', s);
      return { logLik: profiledLogLik(s, nmp, logDetError), next: Float64Array.of(deltaStep(t[0]!, s, nmp)), s2: s.a / nmp };
    },
    o,
    WHO,
    (t, st) => Math.abs(st.next[0]! - t[0]!) * st.s2,
  );
  const deltaFinal = run.sigma[0]!;
  evalDelta(ws, y, x, p, x, 0, d, deltaFinal, 'reml', s);
  const s2 = s.a / nmp;
  const varBeta = new Matrix(p, p);
  for (let i = 0; i < p * p; i++) varBeta.data[i] = ws.minv[i]! * s2;
  return {
    sigma2: Float64Array.of(deltaFinal * s2, s2),
    beta: ws.beta.slice(),
    varBeta,
    logLik: profiledLogLik(s, nmp, logDetError),
    nbIt: run.nbIt,
    converged: run.converged,
  };
}

interface MlEval extends GlsEval {
  /** e'De and e'e at this point (the MM numerators). */
  quadD: number;
  quadI: number;
}

function mlRotated(ws: Workspace, y: Float64Array, x: Float64Array, d: Float64Array, o: ResolvedOptions, logDetError: number): EngineFit {
  const n = ws.n;
  const p = ws.p;
  const s = ws.sums;
  const evaluate = (sig: Float64Array, rejected?: MlEval): MlEval => {
    const s0 = sig[0]!;
    const s1 = sig[1]!;
    if (!glsPass(ws, y, x, p, x, 0, d, s0, s1, 'ml', s)) throw notPd(s0, s1);
    const logLik = -0.5 * (n * LOG_2PI + s.logdetV + s.a + logDetError);
    // MM4LMM quirk (ML2Mat): after a fall-back, its MM numerators still come
    // from the rejected point (a shadowed variable); the traces are the new ones.
    const qd = rejected?.quadD ?? s.b;
    const qi = rejected?.quadI ?? s.e;
    const next = Float64Array.of(s0 * Math.sqrt(qd / s.c), s1 * Math.sqrt(qi / s.t));
    return { logLik, next, beta: ws.beta.slice(), varBeta: new Matrix(p, p, ws.minv.slice()), quadD: s.b, quadI: s.e };
  };
  // MM4LMM's ML2Mat runs the REML-style loop.
  return runMmFit(o, evaluate, 'reml', WHO);
}
