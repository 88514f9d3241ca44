"""Benchmark of the GD DMFT (issue 17, DMFT row; issue 12 item 8): the current implementation against the
previous one (``benchmarks/_dmft_previous.py``, a frozen copy) in the same process, same problem, same
paths and steps.

Problem (issue 12 item 8): regularised Wirtinger flow for real phase retrieval, ``y = (a^T w*)^2 + 0.3 eps``,
``alpha = 4``, ``lr = 0.05``, ``ridge = 0.025``, spectral start (optimal preprocessing clipped at 1), 400 GD
steps, 2e4 paths in 10 batches (``--quick``: warm start ``<w0, w*> = 0.9``, 100 steps, 1e4 paths).

Cost model: with ``T`` steps in all (power-iteration prefix included) and ``N`` paths, the adjoint
sweeps cost ``~T^3 N / 6`` multiply-adds and the padded compiled step ``O(T N)`` per step (``O(T^2 N)``
in all). The previous implementation also ran a host regression (``batches`` eigenproblems of size ``k``
per step, ``O(T^4)`` in all, with an eigenvalue cutoff that biased the long-time overlap upward: issue 12
item 8); the current one samples ``w`` in square-root form inside the compiled step (a Gram-Schmidt factor
of the paths' ``g``, docs/math/dmft.md §3.3.1), so the ratio measures the new sampler against the old. Each timed run follows an untimed run of the same shapes (compilation
excluded; the first run is reported too). Wall time and process CPU time are both reported: the
machine (2 vCPUs) is shared, and CPU time is the steadier number.

Usage: .venv/bin/python benchmarks/bench_dmft.py [--quick] [--no-baseline] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import jax

import mimflow  # noqa: F401  (x64)
from mimflow.proportional import make_problem, solve_dmft, solve_fixed_point

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _dmft_previous  # noqa: E402

ISSUE = dict(alpha=4.0, lr=0.05, ridge=0.025, noise=0.3, preprocess="optimal", clip=1.0)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def timing(solver, problem, steps: int, paths: int, label: str) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    solver(problem, steps, paths=paths, batches=10, seed=0)  # same shapes: compiles
    first_wall, first_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    sol = solver(problem, steps, paths=paths, batches=10, seed=1)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    jax.clear_caches()
    out = {"implementation": label, "steps": steps, "power_steps": sol.power_steps, "paths": paths,
           "seconds": wall, "cpu_seconds": cpu, "first_run_seconds": first_wall, "first_run_cpu_seconds": first_cpu,
           "peak_rss_gib": peak_rss_gib(), "final_overlap": float(sol.overlap[-1]),
           "final_overlap_se": float(sol.overlap_se[-1]), "final_norm2": float(sol.norm2[-1]),
           "final_norm2_se": float(sol.norm2_se[-1])}
    if getattr(sol, "long_time", None):
        out["long_time_overlap"] = sol.long_time["overlap"].to_json()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.quick:
        problem, steps, paths = make_problem("z**2", init="warm:0.9", **ISSUE), 100, 10_000
    else:
        problem, steps, paths = make_problem("z**2", init="spectral", **ISSUE), 400, 20_000
    fp = solve_fixed_point(problem)
    out = {"problem": {"link": "z**2", "init": problem.init.kind, **ISSUE}, "fixed_point_overlap": fp.overlap,
           "fixed_point_norm2": fp.norm2, "runs": []}
    out["runs"].append(timing(solve_dmft, problem, steps, paths, "current"))
    print(json.dumps(out["runs"][-1]), flush=True)
    if not args.no_baseline:
        out["runs"].append(timing(_dmft_previous.solve_dmft, problem, steps, paths, "previous"))
        print(json.dumps(out["runs"][-1]), flush=True)
        cur, prev = out["runs"]
        out["speedup_wall"] = prev["seconds"] / cur["seconds"]
        out["speedup_cpu"] = prev["cpu_seconds"] / cur["cpu_seconds"]
        print(json.dumps({k: out[k] for k in ("speedup_wall", "speedup_cpu")}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
