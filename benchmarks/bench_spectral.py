"""Benchmark of the spectral estimator (issue 7): matrix-free Lanczos against dense ``eigh`` of the formed
``D = X^T diag(T) X / n`` at a moderate size (same data, same process), and the time at ``d = 1e4, n = 1e5``
(float32 storage of ``X``, 4 GB) with the Lu-Li prediction beside the measured overlap.

Usage: .venv/bin/python benchmarks/bench_spectral.py [--quick] [--skip-large] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

import mimflow  # noqa: F401  (x64)
from mimflow.spectral import make_preprocessing, sample_spectral_data, top_eigenpair
from mimflow.theory import spectral_prediction

LINK = "z**2"
PRE = "trimmed:3"


def moderate(d: int, alpha: float) -> dict:
    n = int(alpha * d)
    data = sample_spectral_data(LINK, d, n, key=jax.random.key(0))
    t = np.asarray(make_preprocessing(PRE).T(jnp.asarray(data.y)))
    start = time.perf_counter()
    lam, v, matvecs = top_eigenpair(data.X, t)
    lanczos = time.perf_counter() - start
    start = time.perf_counter()
    D = (data.X.T * t) @ data.X / n
    form = time.perf_counter() - start
    start = time.perf_counter()
    vals, vecs = np.linalg.eigh(D)
    eigh = time.perf_counter() - start
    return {"d": d, "n": n, "lanczos_s": lanczos, "matvecs": matvecs, "dense_form_s": form, "dense_eigh_s": eigh,
            "dense_total_s": form + eigh, "speedup": (form + eigh) / lanczos,
            "eigenvalue_rel_diff": abs(lam - vals[-1]) / abs(vals[-1]),
            "vector_alignment": abs(float(v @ vecs[:, -1]))}


def lanczos_overhead(d: int, alpha: float, seeds: int = 4) -> dict:
    """Time inside ARPACK/Python per product against a bare product ``X^T (t * (X v))``: the most that
    batching seeds into one call could save (the products themselves are memory-bound gemv)."""
    n = int(alpha * d)
    total, products, bare = 0.0, 0, []
    for seed in range(seeds):
        data = sample_spectral_data(LINK, d, n, key=jax.random.key(seed))
        t = np.asarray(make_preprocessing(PRE).T(jnp.asarray(data.y)))
        start = time.perf_counter()
        _, _, m = top_eigenpair(data.X, t)
        total += time.perf_counter() - start
        products += m
        v = np.ones(d)
        start = time.perf_counter()
        for _ in range(50):
            data.X.T @ (t * (data.X @ v)) / n
        bare.append((time.perf_counter() - start) / 50)
    per = total / products
    return {"d": d, "n": n, "seeds": seeds, "seconds_per_product_in_lanczos": per,
            "seconds_per_bare_product": float(np.median(bare)), "overhead_fraction": 1 - float(np.median(bare)) / per}


def batched_vs_loop(d: int, alpha: float, seeds: int = 8) -> dict:
    """All seeds in one vmapped fixed-step Lanczos against a loop of ARPACK calls (same data, same process;
    both timings include drawing the data; the batched one is timed after a warm-up compile)."""
    from mimflow.spectral import measure_spectral_overlaps

    measure_spectral_overlaps(LINK, PRE, alpha, d, range(seeds), batched=True)  # compile
    start = time.perf_counter()
    b = measure_spectral_overlaps(LINK, PRE, alpha, d, range(seeds), batched=True)
    tb = time.perf_counter() - start
    start = time.perf_counter()
    a = measure_spectral_overlaps(LINK, PRE, alpha, d, range(seeds), batched=False)
    ta = time.perf_counter() - start
    return {"d": d, "n": int(alpha * d), "seeds": seeds, "loop_s": ta, "batched_s": tb, "speedup": ta / tb,
            "max_abs_overlap2_diff": float(np.max(np.abs(a.overlap2 - b.overlap2)))}


def large(d: int, n: int) -> dict:
    start = time.perf_counter()
    data = sample_spectral_data(LINK, d, n, key=jax.random.key(1), dtype=np.float32)
    gen = time.perf_counter() - start
    t = np.asarray(make_preprocessing(PRE).T(jnp.asarray(data.y)))
    start = time.perf_counter()
    lam, v, matvecs = top_eigenpair(data.X, t)
    lanczos = time.perf_counter() - start
    overlap2 = float(v @ data.w_star) ** 2
    pred = spectral_prediction(LINK, PRE, n / d)
    return {"d": d, "n": n, "dtype": "float32", "generate_s": gen, "lanczos_s": lanczos, "matvecs": matvecs,
            "seconds_per_matvec": lanczos / matvecs, "overlap2": overlap2,
            "predicted_overlap2": float(pred.overlap2[0]), "eigenvalue": lam,
            "predicted_top_eigenvalue": float(pred.top_eigenvalue[0])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    out = {"link": LINK, "preprocess": PRE}
    out["moderate"] = [moderate(d, 4.0) for d in ([500, 1000] if args.quick else [1000, 2000])]
    for row in out["moderate"]:
        print(json.dumps(row), flush=True)
    out["overhead"] = lanczos_overhead(500, 2.0)
    print(json.dumps(out["overhead"]), flush=True)
    out["batched"] = [batched_vs_loop(d, 2.0) for d in ([300, 500] if args.quick else [300, 500, 1000])]
    for row in out["batched"]:
        print(json.dumps(row), flush=True)
    if not args.skip_large:
        out["large"] = large(1000, 10_000) if args.quick else large(10_000, 100_000)
        print(json.dumps(out["large"]), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
