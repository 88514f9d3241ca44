"""Benchmark of the GD DMFT (issue 7, section 6): the DMFT with 1e5 Monte Carlo paths and T = 100 GD
steps (wall time after compilation, process CPU time, peak memory), and the finite-d simulation time needed for the same
statistical accuracy, all in this process.

Problem: regularised Wirtinger flow for real phase retrieval, alpha = 4, lr = 0.1, ridge = 0.01,
independent warm start (overlap 0.5) and the spectral start (trimmed preprocessing).

"Same accuracy": the DMFT's Monte Carlo standard error of the overlap at t = T is matched by
finite-d GD averaged over S seeds, S = (seed std / DMFT s.e.)^2 at d = 2000 (the seed std is measured
on a few seeds; the finite-d bias O(1/d) comes on top and is not counted).

Usage: .venv/bin/python benchmarks/bench_dmft.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

import mimflow  # noqa: F401  (x64)
from mimflow.proportional import make_problem, simulate_gd, solve_dmft

WF = dict(alpha=4.0, lr=0.1, ridge=0.01, loss="wirtinger")


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def dmft_timing(init: str, paths: int, steps: int) -> dict:
    p = make_problem("z**2", init=init, **WF)
    solve_dmft(p, steps, paths=1000, batches=10, seed=0)  # compile (same buffer sizes), not timed
    start, cpu = time.perf_counter(), time.process_time()
    sol = solve_dmft(p, steps, paths=paths, batches=10, seed=1)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"init": init, "paths": paths, "steps": steps, "power_steps": sol.power_steps, "seconds": wall,
            "cpu_seconds": cpu,
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
    args = parser.parse_args()
    paths, steps = (20_000, 30) if args.quick else (100_000, 100)
    out = {"problem": {"link": "z**2", **WF}, "dmft": [], "simulation": [], "machine_note":
           "2 vCPUs shared with other jobs: wall times are noisy"}
    for init in args.inits.split(","):
        res = dmft_timing(init, paths, steps)
        print(json.dumps(res), flush=True)
        out["dmft"].append(res)
        sim = simulation_for_same_accuracy(init, res["final_overlap_se"], steps, 500 if args.quick else 2000,
                                           4 if args.quick else 6)
        print(json.dumps(sim), flush=True)
        out["simulation"].append(sim)
    out["vmap_vs_loop"] = vmap_vs_loop(500 if args.quick else 1000, 50, 4)
    print(json.dumps(out["vmap_vs_loop"]), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
