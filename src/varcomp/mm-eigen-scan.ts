// MM4LMM's 'Reml2Mat' loop (see mm-eigen.ts) run on many models at once,
// structure of arrays: the iterates of every model live in typed arrays, and
// each pass of the loop moves every model still running by one iteration.
// A model stops exactly where MM4LMM's loop for it alone would (its own
// stopping test, its own fall-backs and extrapolations), and it is evaluated
// by the same arithmetic as a lone fit, so a marker scanned in a batch gets
// the bits and the NbIt of a marker fitted alone. Nothing is allocated per
// model or per iteration.
import { NumericalError } from '../errors.js';
import { fellBelow } from './mm-common.js';
import {
  WHO,
  deltaStep,
  evalDelta,
  markerPass,
  notPd,
  profiledLogLik,
  requirePositiveYPy,
  type SharedStart,
  sharedStart,
  type Workspace,
} from './mm-eigen-gls.js';

/** Models iterated together: their own columns (N doubles each) fit in a core's L2 cache. */
const CHUNK = 32;

/**
 * The designs of a scan: model j has p = pa + pb columns, the `pa` shared
 * ones (xa, N x pa column-major) then its own pb (xb, column j * pb on).
 */
export interface ScanDesigns {
  xa: Float64Array;
  pa: number;
  xb: Float64Array;
  pb: number;
  count: number;
}

/** A scan's fits, model j at j * 2 (sigma2: [sigma2_1, error]), j * p (beta) and j * p * p (varBeta, column-major). */
export interface ScanFits {
  sigma2: Float64Array;
  beta: Float64Array;
  varBeta: Float64Array;
  logLik: Float64Array;
  nbIt: Int32Array;
  converged: Uint8Array;
}

/** Room for the fits of `count` models with p fixed effects. */
export function scanFits(count: number, p: number): ScanFits {
  return {
    sigma2: new Float64Array(2 * count),
    beta: new Float64Array(p * count),
    varBeta: new Float64Array(p * p * count),
    logLik: new Float64Array(count),
    nbIt: new Int32Array(count),
    converged: new Uint8Array(count),
  };
}

/** The stopping rule and start of a scan (MM4LMM's CritVar, CritLogLik, MaxIter, Init). */
export interface ScanOptions {
  init: Float64Array;
  critVar: number;
  critLogLik: number;
  maxIter: number;
}

/**
 * Profiled REML fits of V = sigma2_1 diag(d) + sigma2_2 I for every model of
 * `designs` on rotated data (y = u'y, d = the eigenvalues), all started from
 * `o.init`, by MM4LMM's 'Reml2Mat' iteration path; results into `out`
 * (`scanFits(designs.count, p)`). `ws` is the (N, p) workspace. Throws the
 * first error any model meets (V not positive definite, a singular X'V^-1X,
 * a breakdown), which need not be the first model's in model order.
 * O(N p^2) per model and iteration.
 */
export function remlScan(ws: Workspace, y: Float64Array, d: Float64Array, designs: ScanDesigns, o: ScanOptions, logDetError: number, out: ScanFits): void {
  const { xa, pa, xb, pb, count } = designs;
  const n = ws.n;
  const p = ws.p;
  const nmp = n - p;
  const stride = pb * n;
  const { critVar, critLogLik, maxIter } = o;
  const s = ws.sums;
  // The iterates: delta (current, anchor of the extrapolation, last plain MM step),
  // the variances of the last step, the previous log-likelihood, the counters.
  const dStart = o.init[0]! / o.init[1]!;
  const dNewA = new Float64Array(count).fill(dStart);
  const dBisA = new Float64Array(count).fill(dStart);
  const s0A = new Float64Array(count).fill(o.init[0]!);
  const s1A = new Float64Array(count).fill(o.init[1]!);
  const llPrevA = new Float64Array(count);
  const iterA = new Int32Array(count);
  const itA = new Int32Array(count);
  const active = new Int32Array(Math.min(count, CHUNK));
  // Every model starts at dStart: with one shared column and one own, what
  // the first evaluation does not owe to the model is done once.
  let shared: SharedStart | undefined;
  if (p === 2 && pa === 1 && count > 1) {
    shared = sharedStart(y, xa, d, dStart, 1);
    if (shared === undefined) throw notPd(dStart, 1);
  }
  // The models run a chunk at a time, so that a chunk's own columns stay in cache across its iterations.
  for (let c0 = 0; c0 < count; c0 += CHUNK) {
    let nActive = Math.min(count, c0 + CHUNK) - c0;
    for (let q = 0; q < nActive; q++) active[q] = c0 + q;
    while (nActive > 0) {
      let kept = 0;
      for (let q = 0; q < nActive; q++) {
        const j = active[q]!;
        const off = j * stride;
        const iter = iterA[j]!;
        let it = itA[j]!;
        let dNew = dNewA[j]!;
        let s0New = s0A[j]!;
        let s1New = s1A[j]!;
        const llPrev = llPrevA[j]!;
        if (iter === 0 && shared !== undefined) {
          markerPass(ws, y, xa, xb, off, d, shared, s);
          requirePositiveYPy(s, dNew);
        } else evalDelta(ws, y, xa, pa, xb, off, d, dNew, 'reml', s);
        let s0Old = s0New;
        let s1Old = s1New;
        let dOld = dNew;
        dNew = deltaStep(dOld, s, nmp);
        s1New = s.a / nmp;
        s0New = dOld * s1New;
        let ll = profiledLogLik(s, nmp, logDetError);
        if (iter > 0 && fellBelow(ll, llPrev)) {
          dNew = dBisA[j]!;
          evalDelta(ws, y, xa, pa, xb, off, d, dNew, 'reml', s);
          s0Old = s0New;
          s1Old = s1New;
          dOld = dNew;
          dNew = deltaStep(dOld, s, nmp);
          s1New = s.a / nmp;
          s0New = dOld * s1New;
          ll = profiledLogLik(s, nmp, logDetError);
        }
        if (!Number.isFinite(ll) || !Number.isFinite(dNew)) {
          throw new NumericalError(`${WHO}: the REML iteration broke down at delta = ${dOld} (log-likelihood ${ll})`);
        }
        it++;
        if (it === 2) {
          // MM4LMM's extrapolation, always from the starting delta (its anchor is never updated).
          dBisA[j] = dNew;
          const r = dOld - dStart;
          const v = dNew - dOld - r;
          let alpha = -Math.abs(r / v);
          if (!Number.isFinite(alpha)) alpha = -1;
          if (alpha > -1) alpha = -1;
          dNew = dStart - 2 * alpha * r + alpha * alpha * v;
          if (!(dNew > 0)) dNew = v + r + dOld;
          it = 0;
        }
        const crit = Math.max(Math.abs(s0New - s0Old), Math.abs(s1New - s1Old));
        const critLL = iter > 0 ? ll - llPrev : Infinity;
        const more = crit > critVar || critLL > critLogLik;
        if ((more && iter + 1 < maxIter) || it === 0) {
          dNewA[j] = dNew;
          s0A[j] = s0New;
          s1A[j] = s1New;
          llPrevA[j] = ll;
          iterA[j] = iter + 1;
          itA[j] = it;
          active[kept++] = j;
          continue;
        }
        // Stopped: MM4LMM reports the fit at the last proposal.
        out.nbIt[j] = iter + 1;
        out.converged[j] = more ? 0 : 1;
        evalDelta(ws, y, xa, pa, xb, off, d, dNew, 'final', s);
        const s2 = s.a / nmp;
        out.sigma2[2 * j] = dNew * s2;
        out.sigma2[2 * j + 1] = s2;
        out.logLik[j] = profiledLogLik(s, nmp, logDetError);
        out.beta.set(ws.beta, j * p);
        const vb = j * p * p;
        for (let i = 0; i < p * p; i++) out.varBeta[vb + i] = ws.minv[i]! * s2;
      }
      nActive = kept;
    }
  }
}
