"""Runs limix-lmm 0.1.2 / limix-core 1.0.2 (or numpy) on data a bench wrote,
and prints one JSON line of timings. Driven by bench/peers.ts:

    python3 limix_peer.py SPEC.json

SPEC.json: {"job": ..., "reps": k, "out": DIR, "arrays": {name: {"path", "rows",
"cols", "dtype"}}, ...}. Each array is a raw little-endian column-major file
(lmmkit's Matrix layout); outputs (p-values) are written to DIR as raw float64.
Only the peer's own computing is timed (perf_counter around the calls a user
makes), best of `reps`; reading the files is not. The 'fixed' job times the
conversion of float32 dosages to float64 with mean imputation (and 'lowrank'
the quick start's standardisation too: what our scans do after decoding).

Jobs:
  fixed    LMM(y, 1, Ki_dot).process(G) per batch, Ki_dot x = U diag(1/d) U^T x with
           d = sigmaG2 max(s, 0) + sigmaE2: the fixed-delta scan with a given covariance
  lowrank  GP2KronSumLR(y, FreeFormCov(1), W, 1, ones) from Cr = Cn = 0.5, optimize(), then
           LMM(y, 1, gp.covar.solve).process(G): limix-lmm's quick start 2.1
  mtlmm    GP2KronSum(Y, S_R, U_R, FreeFormCov(P) x 2, F, eye(P)) from 0.5 cov(Y^T),
           optimize(factr=10), then MTLMM(Y, F, eye(P), Asnp=eye(P)).process(G): quick start 2.2
  eigh     numpy.linalg.eigh(K) (LAPACK dsyevd: the 'evd' driver)
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import limix_compat  # noqa: E402,F401  (before limix: see scripts/limix_compat.py)
import numpy as np  # noqa: E402


def load(spec, name):
    a = spec["arrays"][name]
    x = np.fromfile(a["path"], dtype=np.dtype(a["dtype"]).newbyteorder("<"))
    if x.size != a["rows"] * a["cols"]:
        raise SystemExit(f"{a['path']}: expected {a['rows']} x {a['cols']} values, found {x.size}")
    return x.reshape(a["cols"], a["rows"]).T


def imputed(g):
    """Float64 dosages, missing values (NaN) replaced by their column's mean."""
    g = np.array(g, dtype=np.float64, order="F")
    mean = np.nanmean(g, axis=0)
    nan = np.isnan(g)
    if nan.any():
        g[nan] = np.take(mean, np.nonzero(nan)[1])
    return g


def best_of(reps, fn):
    best, value = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def save(spec, name, x):
    path = os.path.join(spec["out"], name + ".f64")
    np.ascontiguousarray(x, dtype="<f8").tofile(path)
    return path


def job_fixed(spec):
    from limix_lmm import LMM

    y = load(spec, "y").copy()
    u = np.asfortranarray(load(spec, "U"))
    d = spec["sigmaG2"] * np.maximum(load(spec, "s")[:, 0], 0) + spec["sigmaE2"]
    g = load(spec, "G")
    n, s = g.shape
    f = np.ones((n, 1))
    batch = spec["batch"]

    def ki_dot(x):
        return u.dot(u.T.dot(x) / d[:, None])

    def run():
        t = 0.0
        t0 = time.perf_counter()
        lmm = LMM(y, f, ki_dot)
        t += time.perf_counter() - t0
        pv = np.empty(s)
        for j in range(0, s, batch):
            t0 = time.perf_counter()
            lmm.process(imputed(g[:, j : j + batch]))
            pv[j : j + batch] = lmm.getPv()
            t += time.perf_counter() - t0
        return t, pv

    best = float("inf")
    for _ in range(spec["reps"]):
        t, pv = run()
        best = min(best, t)
    return {"seconds": best, "pv": save(spec, "pv", pv)}


def job_lowrank(spec):
    from limix_core.covar import FreeFormCov
    from limix_core.gp import GP2KronSumLR
    from limix_lmm import LMM

    y = load(spec, "y").copy()
    w = np.array(load(spec, "W"))
    g32 = load(spec, "G")
    f = np.ones((y.shape[0], 1))

    def null():
        gp = GP2KronSumLR(Y=y, Cn=FreeFormCov(1), G=w, F=f, A=np.ones((1, 1)))
        gp.covar.Cr.setCovariance(0.5 * np.ones((1, 1)))
        gp.covar.Cn.setCovariance(0.5 * np.ones((1, 1)))
        info = gp.optimize(verbose=False)
        return gp, info

    t_null, (gp, info) = best_of(spec["reps"], null)

    def scan():
        g = imputed(g32)
        g = (g - g.mean(0)) / g.std(0)
        lmm = LMM(y, f, gp.covar.solve)
        lmm.process(g)
        return lmm.getPv()

    t_scan, pv = best_of(spec["reps"], scan)
    return {
        "nullSeconds": t_null,
        "scanSeconds": t_scan,
        "lml": float(gp.LML()),
        "cr": float(gp.covar.Cr.K()[0, 0]),
        "cn": float(gp.covar.Cn.K()[0, 0]),
        "converged": bool(info.get("conv", info.get("converged", True))) if isinstance(info, dict) else None,
        "pv": save(spec, "pv", pv),
    }


def job_mtlmm(spec):
    from limix_core.covar import FreeFormCov
    from limix_core.gp import GP2KronSum
    from limix_lmm import MTLMM

    y = np.array(load(spec, "Y"))
    f = np.array(load(spec, "F"))
    g = np.asfortranarray(load(spec, "G"))
    sr = np.array(load(spec, "Sr")[:, 0])
    ur = np.array(load(spec, "Ur"))
    p = y.shape[1]

    def null():
        gp = GP2KronSum(Y=y, S_R=sr, U_R=ur, Cg=FreeFormCov(p), Cn=FreeFormCov(p), F=f, A=np.eye(p))
        gp.covar.Cg.setCovariance(0.5 * np.cov(y.T))
        gp.covar.Cn.setCovariance(0.5 * np.cov(y.T))
        gp.optimize(factr=10, verbose=False)
        return gp

    t_null, gp = best_of(spec["reps"], null)

    def scan():
        mtlmm = MTLMM(y, F=f, A=np.eye(p), Asnp=np.eye(p), covar=gp.covar)
        mtlmm.process(g)
        return mtlmm.getPv()

    t_scan, pv = best_of(spec["reps"], scan)
    return {"nullSeconds": t_null, "scanSeconds": t_scan, "lml": float(gp.LML()), "pv": save(spec, "pv", np.ravel(pv))}


def job_eigh(spec):
    k = np.array(load(spec, "K"), order="C")
    best = float("inf")
    for _ in range(spec["reps"]):
        a = k.copy()
        t0 = time.perf_counter()
        w, _ = np.linalg.eigh(a)
        best = min(best, time.perf_counter() - t0)
        del a, _
    return {"seconds": best, "min": float(w[0]), "max": float(w[-1])}


JOBS = {"fixed": job_fixed, "lowrank": job_lowrank, "mtlmm": job_mtlmm, "eigh": job_eigh}

if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    result = JOBS[spec["job"]](spec)
    result["numpy"] = np.__version__
    import scipy

    result["scipy"] = scipy.__version__
    print(json.dumps(result))
