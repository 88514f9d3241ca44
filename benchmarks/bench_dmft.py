"""Benchmark of the GD DMFT (issue 7, section 6): the DMFT with 1e5 Monte Carlo paths and T = 100 GD
steps (wall time after compilation, process CPU time, peak memory), and the finite-d simulation time needed for the same
statistical accuracy, all in this process.

Problem: regularised Wirtinger flow for real phase retrieval, alpha = 4, lr = 0.1, ridge = 0.01,
independent warm start (overlap 0.5) and the spectral start (trimmed preprocessing).

"Same accuracy": the DMFT's Monte Carlo standard error of the overlap at t = T is matched by
finite-d GD averaged over S seeds, S = (seed std / DMFT s.e.)^2 at d = 2000 (the seed std is measured
on a few seeds; the finite-d bias O(1/d) comes on top and is not counted).

Baseline in the same process (``--baseline``): the previous implementation's two costly paths,
restored by patching: the conditional-sampling regression with the 4-operand ``einsum`` and OpenBLAS
at its default thread count, and the adjoint sweep vmapped over all batches at once (now
``lax.map``, one batch at a time). Same seeds -> the same numbers to rounding.

Each timed DMFT run is preceded by an untimed run of the same shapes (paths and steps, other seed),
so compilation is excluded; the first run's time (compilation included) is reported too.

Usage: .venv/bin/python benchmarks/bench_dmft.py [--quick] [--baseline] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

import mimflow  # noqa: F401  (x64)
from mimflow.proportional import _dmft, make_problem, simulate_gd, solve_dmft

WF = dict(alpha=4.0, lr=0.1, ridge=0.01, loss="wirtinger")


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _legacy_regression(state, k):
    """The previous host regression: 4-operand einsum, OpenBLAS threads untouched."""
    Cth, m = np.asarray(state["Cth"]), np.asarray(state["m"])
    batches, size = m.shape
    past = np.zeros((batches, k + 1, k + 1))
    past[:, 0, 0] = 1.0
    past[:, 0, 1:] = m[:, :k]
    past[:, 1:, 0] = m[:, :k]
    past[:, 1:, 1:] = Cth[:, :k, :k]
    cross = np.concatenate([m[:, k:k + 1], Cth[:, :k, k]], axis=1)
    scale = 1.0 / np.sqrt(np.maximum(np.diagonal(past, axis1=1, axis2=2), 1e-300))
    evals, evecs = np.linalg.eigh(past * scale[:, :, None] * scale[:, None, :])
    keep = evals > _dmft.PINV_RTOL * evals.max(axis=1, keepdims=True)
    inv = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
    beta = np.einsum("bij,bj,bkj,bk->bi", evecs, inv, evecs, cross * scale) * scale
    var = Cth[:, k, k] - np.einsum("bi,bi->b", beta, cross)
    out = np.zeros((batches, size))
    out[:, :k + 1] = beta
    return jnp.asarray(out), jnp.asarray(np.maximum(var, 0.0))


def _legacy_response_row(R, D, dg, k, n_time):
    """The previous sweep: all batches at once (vmapped), full (B, T, N) adjoint then the mean."""
    adj = _dmft._adjoint_rows(R, D, k, n_time)
    return jnp.einsum("btn,bn->bt", adj, dg) / dg.shape[1]


@contextlib.contextmanager
def legacy_implementation():
    saved = _dmft._regression, _dmft._response_row
    _dmft._regression, _dmft._response_row = _legacy_regression, _legacy_response_row
    _dmft._STEP_CACHE.clear()
    try:
        yield
    finally:
        _dmft._regression, _dmft._response_row = saved
        _dmft._STEP_CACHE.clear()


def dmft_timing(init: str, paths: int, steps: int, legacy: bool = False) -> dict:
    p = make_problem("z**2", init=init, **WF)
    with legacy_implementation() if legacy else contextlib.nullcontext():
        start, cpu = time.perf_counter(), time.process_time()
        solve_dmft(p, steps, paths=paths, batches=10, seed=0)  # same shapes: compiles; timed separately
        first_wall, first_cpu = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        sol = solve_dmft(p, steps, paths=paths, batches=10, seed=1)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    jax.clear_caches()
    return {"implementation": "previous" if legacy else "current", "init": init, "paths": paths,
            "steps": steps, "power_steps": sol.power_steps, "seconds": wall, "cpu_seconds": cpu,
            "first_run_seconds_with_compile": first_wall, "first_run_cpu_seconds": first_cpu,
            "peak_rss_gib": peak_rss_gib(), "final_overlap": float(sol.overlap[-1]),
            "final_overlap_se": float(sol.overlap_se[-1]), "final_norm2_se": float(sol.norm2_se[-1])}


def simulation_for_same_accuracy(init: str, target_se: float, steps: int, d: int, probe_seeds: int) -> dict:
    p = make_problem("z**2", init=init, **WF)
    simulate_gd(p, 200, 2, [0])  # compile
    start, cpu = time.perf_counter(), time.process_time()
    sim = simulate_gd(p, d, steps, range(probe_seeds))
    per_seed = (time.perf_counter() - start) / probe_seeds
    cpu_per_seed = (time.process_time() - cpu) / probe_seeds
    std = float(np.std(sim.overlap[:, -1], ddof=1))
    seeds_needed = max(1, int(np.ceil((std / target_se) ** 2)))
    return {"d": d, "seconds_per_seed": per_seed, "cpu_seconds_per_seed": cpu_per_seed, "seed_std_final_overlap": std, "seeds_needed": seeds_needed,
            "seconds_for_same_accuracy": seeds_needed * per_seed,
            "cpu_seconds_for_same_accuracy": seeds_needed * cpu_per_seed}


def vmap_vs_loop(d: int, steps: int, seeds: int) -> dict:
    p = make_problem("z**2", init="warm:0.5", **WF)
    simulate_gd(p, d, steps, range(seeds), seed_chunk=seeds)
    simulate_gd(p, d, steps, [0], seed_chunk=1)
    start = time.perf_counter()
    simulate_gd(p, d, steps, range(seeds), seed_chunk=seeds)
    vm = time.perf_counter() - start
    start = time.perf_counter()
    for s in range(seeds):
        simulate_gd(p, d, steps, [s], seed_chunk=1)
    loop = time.perf_counter() - start
    return {"d": d, "steps": steps, "seeds": seeds, "vmapped_s": vm, "loop_s": loop, "ratio_loop_over_vmap": loop / vm}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument("--inits", default="warm:0.5,spectral")
    parser.add_argument("--baseline", action="store_true", help="also time the previous implementation")
    parser.add_argument("--no-simulation", action="store_true")
    args = parser.parse_args()
    paths, steps = (20_000, 30) if args.quick else (100_000, 100)
    out = {"problem": {"link": "z**2", **WF}, "dmft": [], "simulation": [], "machine_note":
           "2 vCPUs shared with other jobs: wall times are noisy"}
    for init in args.inits.split(","):
        for legacy in ((True, False) if args.baseline else (False,)):
            res = dmft_timing(init, paths, steps, legacy)
            print(json.dumps(res), flush=True)
            out["dmft"].append(res)
        if args.no_simulation:
            continue
        sim = simulation_for_same_accuracy(init, res["final_overlap_se"], steps, 500 if args.quick else 2000,
                                           4 if args.quick else 6)
        print(json.dumps(sim), flush=True)
        out["simulation"].append(sim)
    if args.no_simulation:
        out["vmap_vs_loop"] = None
    else:
        out["vmap_vs_loop"] = vmap_vs_loop(500 if args.quick else 1000, 50, 4)
    if out["vmap_vs_loop"] is not None:
        print(json.dumps(out["vmap_vs_loop"]), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
