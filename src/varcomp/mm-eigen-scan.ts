// MM4LMM's 'Reml2Mat' loop (see mm-eigen.ts) run on many models at once,
// structure of arrays: the iterates of every model live in typed arrays, and
// each pass of the loop moves every model still running by one iteration.
// A model stops exactly where MM4LMM's loop for it alone would (its own
// stopping test, its own fall-backs and extrapolations), and it is evaluated
// by the same arithmetic as a lone fit, so a marker scanned in a batch gets
// the bits and the NbIt of a marker fitted alone. Nothing is allocated per
// model or per iteration.
//
// Each pass of the loop gives every running model one evaluation: its next
// MM step, the fall-back of a step that lowered the log-likelihood, or its
// final point. With the WebAssembly kernel (mm-scan-wasm.ts; the default
// design [intercept or other shared column, marker]), the models are
// evaluated two at a time, one per SIMD lane, with the same bits.
import { NumericalError } from '../errors.js';
import { fellBelow } from './mm-common.js';
import {
  WHO,
  deltaStep,
  evalDelta,
  glsSmall,
  makeWorkspace,
  markerPass,
  notPd,
  profiledLogLik,
  remlTrace,
  requirePositiveYPy,
  type SharedStart,
  type Sums,
  sharedStart,
  type Workspace,
} from './mm-eigen-gls.js';
import { ScanKernel } from './mm-scan-wasm.js';

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
  /**
   * Whether the scan may evaluate on the WebAssembly kernel where this
   * runtime has it (same bits as without; false or absent: TypeScript only).
   */
  wasm?: boolean;
}

/** What a model's next evaluation is for: its next MM step, the fall-back of a step that lowered the log-likelihood, its final point. */
const STEP = 0;
const FALLBACK = 1;
const FINAL = 2;

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
  // The iterates: delta (current, anchor of the extrapolation, last plain MM
  // step), the variances of the last step, the previous log-likelihood, the
  // counters and what the next evaluation is for.
  const dStart = o.init[0]! / o.init[1]!;
  const dNewA = new Float64Array(count).fill(dStart);
  const dBisA = new Float64Array(count).fill(dStart);
  const s0A = new Float64Array(count).fill(o.init[0]!);
  const s1A = new Float64Array(count).fill(o.init[1]!);
  const llPrevA = new Float64Array(count);
  const iterA = new Int32Array(count);
  const itA = new Int32Array(count);
  const phaseA = new Uint8Array(count);
  const active = new Int32Array(Math.min(count, CHUNK));
  // Every model starts at dStart: with one shared column and one own, what
  // the first evaluation does not owe to the model is done once.
  let shared: SharedStart | undefined;
  let kernel: ScanKernel | undefined;
  if (p === 2 && pa === 1 && count > 1) {
    shared = sharedStart(y, xa, d, dStart, 1);
    if (shared === undefined) throw notPd(dStart, 1);
    if (o.wasm === true) kernel = ScanKernel.make(y, d, xa, shared, CHUNK);
  }
  // The second lane's workspace.
  const wsB = kernel === undefined ? ws : makeWorkspace(n, p);
  const sB = wsB.sums;

  /**
   * Model j's iteration from its evaluation at `delta` (sums `e`, beta and
   * M^-1 in `we`): MM4LMM's loop body, split where it evaluates. True while
   * the model needs another evaluation.
   */
  const advance = (j: number, delta: number, e: Sums, we: Workspace): boolean => {
    const phase = phaseA[j]!;
    if (phase === FINAL) {
      // Stopped: MM4LMM reports the fit at the last proposal.
      const s2 = e.a / nmp;
      out.sigma2[2 * j] = delta * s2;
      out.sigma2[2 * j + 1] = s2;
      out.logLik[j] = profiledLogLik(e, nmp, logDetError);
      out.beta.set(we.beta, j * p);
      const vb = j * p * p;
      for (let i = 0; i < p * p; i++) out.varBeta[vb + i] = we.minv[i]! * s2;
      return false;
    }
    const iter = iterA[j]!;
    const llPrev = llPrevA[j]!;
    const s0Old = s0A[j]!;
    const s1Old = s1A[j]!;
    const dOld = delta;
    let dNew = deltaStep(dOld, e, nmp);
    const s1New = e.a / nmp;
    const s0New = dOld * s1New;
    const ll = profiledLogLik(e, nmp, logDetError);
    if (phase === STEP && iter > 0 && fellBelow(ll, llPrev)) {
      // MM4LMM goes back to the last plain MM step, the variances just found becoming the old ones.
      s0A[j] = s0New;
      s1A[j] = s1New;
      phaseA[j] = FALLBACK;
      return true;
    }
    if (!Number.isFinite(ll) || !Number.isFinite(dNew)) {
      throw new NumericalError(`${WHO}: the REML iteration broke down at delta = ${dOld} (log-likelihood ${ll})`);
    }
    let it = itA[j]! + 1;
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
    dNewA[j] = dNew;
    if ((more && iter + 1 < maxIter) || it === 0) {
      s0A[j] = s0New;
      s1A[j] = s1New;
      llPrevA[j] = ll;
      iterA[j] = iter + 1;
      itA[j] = it;
      phaseA[j] = STEP;
      return true;
    }
    out.nbIt[j] = iter + 1;
    out.converged[j] = more ? 0 : 1;
    phaseA[j] = FINAL;
    return true;
  };

  /** Where model j's next evaluation is. */
  const point = (j: number): number => (phaseA[j] === FALLBACK ? dBisA[j]! : dNewA[j]!);

  /** Model j's next evaluation in TypeScript, then its iteration; true while it runs. */
  const one = (j: number): boolean => {
    const off = j * stride;
    const delta = point(j);
    if (phaseA[j] === STEP && iterA[j] === 0 && shared !== undefined) {
      markerPass(ws, y, xa, xb, off, d, shared, s);
      requirePositiveYPy(s, delta);
    } else evalDelta(ws, y, xa, pa, xb, off, d, delta, phaseA[j] === FINAL ? 'final' : 'reml', s);
    return advance(j, delta, s, ws);
  };

  /** The next evaluations of models a and b (chunk slots qa and qb) on the kernel, lanes A and B; a = b evaluates one model. */
  const pairEval = (k: ScanKernel, a: number, qa: number, b: number, qb: number): void => {
    const dA = point(a);
    const dB = point(b);
    if (shared !== undefined && phaseA[a] === STEP && iterA[a] === 0 && phaseA[b] === STEP && iterA[b] === 0) k.pass0(qa, qb, shared, ws, s, wsB, sB);
    else {
      const bad = k.pass1(qa, dA, qb, dB, ws, s, wsB, sB);
      if ((bad & 1) !== 0) throw notPd(dA, 1);
      if ((bad & 2) !== 0) throw notPd(dB, 1);
    }
    glsSmall(ws, xa, pa, xb, a * stride, s);
    glsSmall(wsB, xa, pa, xb, b * stride, sB);
    requirePositiveYPy(s, dA);
    requirePositiveYPy(sB, dB);
    if (phaseA[a] !== FINAL || phaseA[b] !== FINAL) {
      k.pass2(qa, qb, ws, s, wsB, sB);
      s.c = remlTrace(ws);
      sB.c = remlTrace(wsB);
    }
  };

  // The models run a chunk at a time, so that a chunk's own columns stay in cache across its iterations.
  for (let c0 = 0; c0 < count; c0 += CHUNK) {
    let nActive = Math.min(count, c0 + CHUNK) - c0;
    for (let q = 0; q < nActive; q++) active[q] = c0 + q;
    kernel?.columns(xb, c0 * stride, nActive);
    while (nActive > 0) {
      let kept = 0;
      // A model waiting for a second lane.
      let held = -1;
      for (let q = 0; q < nActive; q++) {
        const j = active[q]!;
        if (kernel === undefined) {
          if (one(j)) active[kept++] = j;
          continue;
        }
        if (held < 0) {
          held = j;
          continue;
        }
        pairEval(kernel, held, held - c0, j, j - c0);
        if (advance(held, point(held), s, ws)) active[kept++] = held;
        if (advance(j, point(j), sB, wsB)) active[kept++] = j;
        held = -1;
      }
      if (held >= 0 && kernel !== undefined) {
        pairEval(kernel, held, held - c0, held, held - c0);
        if (advance(held, point(held), s, ws)) active[kept++] = held;
      }
      nActive = kept;
    }
  }
}
