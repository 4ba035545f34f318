import type { Backend } from '../linalg/backend.js';
import { Matrix } from '../linalg/matrix.js';
import { Rng } from '../sim/rng.js';
import { ArgumentError } from '../errors.js';
import { availableBackends, getBackend, loadBackend, type BackendName } from '../linalg/select.js';

/** One named check of `lmmkit selfcheck`, with the figure it measured. */
export interface Check {
  name: string;
  value: number;
  limit: number;
  ok: boolean;
}

/** What `lmmkit selfcheck` computed on its simulated data. */
export interface SelfCheckResult {
  backend: string;
  samples: number;
  markers: number;
  seconds: number;
  betaTrue: number[];
  betaHat: number[];
  betaSe: number[];
  checks: Check[];
}

/**
 * A small end-to-end fit that exercises the backend the way the mixed models
 * will: simulate N samples with M standardised markers (seeded), build the
 * kinship K = Z Z^T / M (syrk), simulate y = X b + g + e with
 * g ~ N(0, sg2 K), e ~ N(0, se2 I), and estimate b by generalised least
 * squares under V = sg2 K + se2 I twice: through the Cholesky factor of V
 * (potrf/potrs/potri) and through the eigendecomposition of K (syevd), where
 * V^-1 = U diag(1 / (sg2 s + se2)) U^T. Both paths must agree, and the
 * estimate must cover the truth.
 */
export function selfCheck(be: Backend, seed = 20261124, n = 500, m = 1000): SelfCheckResult {
  const t0 = performance.now();
  const rng = new Rng(seed);
  const z = simulateStandardisedGenotypes(rng, n, m);
  const k = be.syrk(z, { alpha: 1 / m });
  const { values, vectors: u } = be.syevd(k);
  const sg2 = 0.6;
  const se2 = 0.4;
  const betaTrue = [1, 0.5];
  const x = new Matrix(n, 2);
  for (let i = 0; i < n; i++) {
    x.set(i, 0, 1);
    x.set(i, 1, rng.normal());
  }
  // g = U diag(sqrt(sg2 s)) w has covariance sg2 K.
  const w = rng.normals(n);
  for (let i = 0; i < n; i++) w[i]! *= Math.sqrt(sg2 * Math.max(values[i]!, 0));
  const y = be.gemv(u, w);
  be.gemv(x, betaTrue, { beta: 1, y });
  for (let i = 0; i < n; i++) y[i]! += Math.sqrt(se2) * rng.normal();

  // Path 1: Cholesky of V.
  const v = k.clone();
  for (let i = 0; i < v.data.length; i++) v.data[i]! *= sg2;
  for (let i = 0; i < n; i++) v.data[i + i * n]! += se2;
  const lv = be.potrf(v);
  const xy = new Matrix(n, 3);
  xy.data.set(x.data, 0);
  xy.data.set(y, 2 * n);
  const vinvXy = be.potrs(lv, xy);
  const chol = glsFromProducts(be, be.gemm(x, vinvXy, { transA: true }));

  // Path 2: rotation by the eigenvectors of K.
  const rot = be.gemm(u, xy, { transA: true });
  const weighted = rot.clone();
  for (let i = 0; i < n; i++) {
    const d = 1 / (sg2 * values[i]! + se2);
    for (let j = 0; j < 3; j++) weighted.data[i + j * n]! *= d;
  }
  const eig = glsFromProducts(be, be.gemm(rot.colView(0, 2), weighted, { transA: true }));

  const logdetChol = be.logdet(v);
  let logdetEig = 0;
  for (let i = 0; i < n; i++) logdetEig += Math.log(sg2 * values[i]! + se2);

  const recon = be.gemm(scaleColumns(u, values), u, { transB: true });
  let reconErr = 0;
  let kNorm = 0;
  for (let i = 0; i < k.data.length; i++) {
    reconErr += (recon.data[i]! - k.data[i]!) ** 2;
    kNorm += k.data[i]! ** 2;
  }
  const maxZ = Math.max(...chol.beta.map((b, i) => Math.abs(b - betaTrue[i]!) / chol.se[i]!));
  const pathDiff = Math.max(...chol.beta.map((b, i) => Math.abs(b - eig.beta[i]!) / chol.se[i]!));
  const check = (name: string, value: number, limit: number): Check => ({ name, value, limit, ok: value <= limit });
  return {
    backend: be.name,
    samples: n,
    markers: m,
    seconds: (performance.now() - t0) / 1000,
    betaTrue,
    betaHat: chol.beta,
    betaSe: chol.se,
    checks: [
      check('eigen reconstruction ||U S U^T - K|| / ||K||', Math.sqrt(reconErr / kNorm), 1e-10),
      check('Cholesky and eigen GLS paths differ by (in SEs)', pathDiff, 1e-8),
      check('log det V: Cholesky vs eigenvalues (relative)', Math.abs(logdetChol - logdetEig) / Math.abs(logdetEig), 1e-10),
      check('largest |beta_hat - beta| / se', maxZ, 4),
    ],
  };
}

/** Standardised dosages (N x M) of markers with allele frequencies in [0.1, 0.5). */
function simulateStandardisedGenotypes(rng: Rng, n: number, m: number): Matrix {
  const z = new Matrix(n, m);
  for (let j = 0; j < m; j++) {
    const p = 0.1 + 0.4 * rng.uniform();
    const col = z.col(j);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += col[i] = rng.dosage(p);
    mean /= n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (col[i]! - mean) ** 2;
    const sd = Math.sqrt(ss / n) || 1;
    for (let i = 0; i < n; i++) col[i] = (col[i]! - mean) / sd;
  }
  return z;
}

/**
 * Given P = X^T [V^-1 X, V^-1 y] (2 x 3), the GLS estimate
 * b = (X^T V^-1 X)^-1 X^T V^-1 y and its standard errors.
 */
function glsFromProducts(be: Backend, p: Matrix): { beta: number[]; se: number[] } {
  const l = be.potrf(p.colView(0, 2));
  const beta = Array.from(be.potrs(l, p.colView(2, 3)).data);
  const cov = be.potri(l);
  return { beta, se: [Math.sqrt(cov.get(0, 0)), Math.sqrt(cov.get(1, 1))] };
}

function scaleColumns(a: Matrix, d: Float64Array): Matrix {
  const out = a.clone();
  for (let j = 0; j < a.cols; j++) {
    const col = out.col(j);
    for (let i = 0; i < col.length; i++) col[i]! *= d[j]!;
  }
  return out;
}

/** The result as a short human-readable report. */
export function formatSelfCheck(r: SelfCheckResult): string {
  const lines = [
    `self-check on the ${r.backend} backend: ${r.samples} simulated samples, ${r.markers} markers, ${r.seconds.toFixed(2)} s`,
    `  GLS fit under V = 0.6 K + 0.4 I:`,
    ...r.betaHat.map((b, i) => `    beta[${i}] = ${b.toFixed(4)} (se ${r.betaSe[i]!.toFixed(4)}), truth ${r.betaTrue[i]}`),
    ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.value.toExponential(2)} (limit ${c.limit})`),
  ];
  return lines.join('\n');
}

/**
 * `lmmkit selfcheck`: runs `selfCheck` with `seed` on the backend named
 * (js, native or wasm), on every available one ('all'), or on the one in use
 * (undefined); a BAD_ARGUMENT for any other name.
 */
export function runSelfCheck(backend: string | undefined, seed?: number): SelfCheckResult[] {
  if (backend !== undefined && !isBackendChoice(backend)) {
    throw new ArgumentError(`--backend: expected js, native, wasm or all, found '${backend}'`);
  }
  const backends = backend === 'all' ? availableBackends() : backend !== undefined ? [loadBackend(backend)] : [getBackend()];
  return backends.map((be) => selfCheck(be, seed));
}

function isBackendChoice(name: string): name is BackendName | 'all' {
  return name === 'js' || name === 'native' || name === 'wasm' || name === 'all';
}
