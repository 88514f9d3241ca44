"""Benchmark of correlation-loss neurons (issue 5): 10^4 neurons x 100 seeds at d = 10^4, to convergence,
in one compiled batched call, against (i) the d-dimensional spherical flow of the same neurons (same
solver and tolerances, measured on a subset and scaled per neuron) and (ii) a Python loop of
single-neuron solves (measured on a subset, scaled per neuron), all in this process.

Accuracy: escape times of the subset from the reduced ODE and from the d-dimensional flow are both
compared with a reference (reduced ODE at rtol 1e-11).

Usage: .venv/bin/python benchmarks/bench_neurons.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import mimflow  # noqa: F401  (x64)
from mimflow.dynamics._dopri_batch import dopri_solve_batch
from mimflow.dynamics import classify_neuron_end_points, neuron_initial_overlaps, solve_neurons, solve_spherical_neurons
from mimflow.dynamics._neurons import _max_abs, _overlap_field
from mimflow.theory import correlation_coefficients, coverage_probability, search_time_prediction

LINK, K, D = "h3", 4, 10_000
RTOL = 1e-8


def rosenbrock_comparison(n_total: int = 10_000) -> dict:
    """The same neurons with the project's batched Rosenbrock solver (dynamics/_rosenbrock.py), stopped by a
    residual that is small only after the escape; one save time (t_max). Same rtol; no escape times."""
    import jax
    import jax.numpy as jnp

    from mimflow.dynamics import neuron_vector_field
    from mimflow.dynamics._rosenbrock import rosenbrock_solve_batch

    a = correlation_coefficients(LINK)
    Q = np.eye(K)
    t_max = 1e3 * search_time_prediction(a, K, D)["neuron_median_leading_order"]
    m0 = neuron_initial_overlaps(Q, D, n_total, [0]).reshape(n_total, K)
    aj, Qj = jnp.asarray(a), jnp.asarray(Q)

    def field(m):
        return neuron_vector_field(m, aj, Qj)

    def residual(m):  # < stop only once escaped and steady
        return jnp.where(jnp.max(jnp.abs(m)) >= 0.5, jnp.max(jnp.abs(field(m))), jnp.inf)

    solve = jax.jit(lambda y0: rosenbrock_solve_batch(field, residual, y0, jnp.asarray([t_max]), rtol=RTOL,
                                                      atol=1e-14, stop_loss=100 * RTOL, max_steps=100_000))
    jax.block_until_ready(solve(jnp.asarray(m0)))
    start = time.perf_counter()
    ys, state = solve(jnp.asarray(m0))
    jax.block_until_ready(ys)
    rb = time.perf_counter() - start
    solve_neurons(a, Q, m0[None], t_max=t_max, rtol=RTOL)
    start = time.perf_counter()
    run = solve_neurons(a, Q, m0[None], t_max=t_max, rtol=RTOL)
    dp = time.perf_counter() - start
    return {"neurons": n_total, "rosenbrock_seconds": rb, "rosenbrock_steps_max": int(np.max(state.steps)),
            "dopri_seconds": dp, "dopri_steps_max": int(run.steps.max()), "ratio_rosenbrock_vs_dopri": rb / dp,
            "final_overlap_max_abs_difference": float(np.max(np.abs(np.asarray(state.y) - run.m[0])))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rosenbrock", action="store_true", help="only the comparison with the Rosenbrock solver")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.rosenbrock:
        print(json.dumps(rosenbrock_comparison(), indent=1))
        return
    n, seeds = (1000, 10) if args.quick else (10_000, 100)
    a = correlation_coefficients(LINK)
    Q = np.eye(K)
    t_max = 1e3 * search_time_prediction(a, K, D)["neuron_median_leading_order"]
    out = {"link": LINK, "k": K, "d": D, "neurons": n, "seeds": seeds, "rtol": RTOL, "t_max": t_max}

    start = time.perf_counter()
    m0 = neuron_initial_overlaps(Q, D, n, list(range(seeds)))
    out["initial_overlaps_seconds"] = time.perf_counter() - start

    # warm-up compile on a small batch of the same padded shape class is not possible (shape = batch):
    # time the first call (compile + run) and a second call (run only)
    start = time.perf_counter()
    run = solve_neurons(a, Q, m0, t_max=t_max, rtol=RTOL)
    out["batched_first_call_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    run = solve_neurons(a, Q, m0, t_max=t_max, rtol=RTOL)
    batched = time.perf_counter() - start
    out["batched_seconds"] = batched
    out["batched_us_per_neuron"] = 1e6 * batched / (n * seeds)
    out["steps_max"] = int(run.steps.max())
    out["steps_mean"] = float(run.steps.mean())
    out["converged_fraction"] = float(run.converged.mean())
    index, _, _ = classify_neuron_end_points(run.m, run.converged)
    found = np.array([[np.any(index[s] == j) for j in range(K)] for s in range(seeds)])
    out["recovered_all_fraction"] = float(found.all(axis=1).mean())
    out["predicted_recovered_all_probability"] = coverage_probability(K, n, 1 - 2.0**-K)
    esc = run.escape_time[np.isfinite(run.escape_time)]
    out["median_escape_time"] = float(np.median(esc))
    out["predicted_median_escape_time"] = search_time_prediction(a, K, D)["neuron_median"]
    print(json.dumps(out, indent=1), flush=True)

    # subset: d-dimensional flow of the same neurons (w0 with V^T w0 = m0: V = first K coordinates)
    sub = 32 if args.quick else 64
    rng = np.random.default_rng(0)
    m_sub = run.m0[0, :sub]
    rest = rng.standard_normal((sub, D - K))
    rest *= (np.sqrt(1 - np.sum(m_sub**2, axis=1)) / np.linalg.norm(rest, axis=1))[:, None]
    W0 = np.concatenate([m_sub, rest], axis=1)
    V = np.eye(D)[:, :K]
    solve_spherical_neurons(a, V, W0[:2], t_max=t_max, rtol=RTOL)  # compile
    start = time.perf_counter()
    full = solve_spherical_neurons(a, V, W0, t_max=t_max, rtol=RTOL)
    full_seconds = time.perf_counter() - start
    ref = solve_neurons(a, Q, m_sub[None], t_max=t_max, rtol=1e-11)
    red = solve_neurons(a, Q, m_sub[None], t_max=t_max, rtol=RTOL)
    ok = np.isfinite(ref.escape_time[0])
    rel = lambda x: float(np.max(np.abs(x[ok] / ref.escape_time[0][ok] - 1)))  # noqa: E731
    out["d_dimensional_subset"] = sub
    out["d_dimensional_seconds_subset"] = full_seconds
    out["d_dimensional_us_per_neuron"] = 1e6 * full_seconds / sub
    out["d_dimensional_scaled_seconds"] = full_seconds / sub * n * seeds
    out["ratio_d_dimensional_vs_batched"] = out["d_dimensional_scaled_seconds"] / batched
    out["escape_time_max_rel_error_reduced"] = rel(red.escape_time[0])
    out["escape_time_max_rel_error_d_dimensional"] = rel(full.escape_time[0])
    out["final_overlap_max_abs_difference"] = float(np.max(np.abs(full.m[0] - red.m[0])))

    # Python loop of single-neuron solves (one instance per call, compiled once)
    loop_n = 20 if args.quick else 50
    params = (np.asarray(np.pad(a, (0, 8 - a.size))), Q)
    import jax.numpy as jnp

    params = (jnp.asarray(params[0]), jnp.asarray(Q))
    dopri_solve_batch(_overlap_field, _max_abs, params, m_sub[:1], t_max=t_max, threshold=0.5, rtol=RTOL,
                      conv_tol=100 * RTOL)
    start = time.perf_counter()
    for i in range(loop_n):
        dopri_solve_batch(_overlap_field, _max_abs, params, run.m0[0, i:i + 1], t_max=t_max, threshold=0.5,
                          rtol=RTOL, conv_tol=100 * RTOL)
    loop_seconds = time.perf_counter() - start
    out["loop_us_per_neuron"] = 1e6 * loop_seconds / loop_n
    out["loop_scaled_seconds"] = loop_seconds / loop_n * n * seeds
    out["ratio_loop_vs_batched"] = out["loop_scaled_seconds"] / batched
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
