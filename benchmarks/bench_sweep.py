"""Sweeps on a Dask LocalCluster: per-task overhead against the run itself, and 1 -> 2 worker speed-up.

Run from the repository root (takes ~2 minutes on a 2-core machine)::

    .venv/bin/python benchmarks/bench_sweep.py [--quick] [--json OUT.json]

What is measured (medians of ``--repeats`` repetitions; clusters are started and their workers
warmed up - imported mimflow, compiled the estimator - before any timing, and the start-up is
reported separately):

1. the run alone: ``hermite-mc`` (relu, degree 8, 2 seeds) computed in this process, and the
   same run stored (``run_and_store``: + netCDF/JSON writes, fsyncs, rename);
2. a sweep of R such runs on 1 warm worker (one run per task, and 10 per task): the wall time
   per run minus the mean time of ``run_and_store`` measured inside the worker is the overhead
   of the Dask path per run (scheduling, pickling the config, the client's bookkeeping), for a
   tiny run (n = 1e3) and a real one (n = 1e6);
3. a no-op Dask task (``client.submit(noop)``) for the scheduler's own share;
4. a CPU-bound sweep (n = 2e6 samples x 2 seeds per run) on 1 and on 2 warm workers: wall time
   and speed-up; plus the cold end-to-end time of ``run_sweep(..., local=2)`` (cluster start,
   imports and compilation included).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def _warm(link: str = "relu", degree: int = 8, seeds: int = 2) -> str:
    """Runs in each worker: import mimflow and compile the estimator once."""
    import mimflow  # noqa: F401
    from mimflow.studies.hermite import HermiteMCConfig, hermite_mc

    hermite_mc(HermiteMCConfig(link=link, degree=degree, n=1000, seeds=seeds))
    return os.getpid()


def _noop(i):
    return i


def _configs(n: int, count: int, offset: int) -> list[int]:
    return [n + offset + i for i in range(count)]


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON")
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 3)
    tiny_runs = 20 if args.quick else 40
    cpu_runs = 8 if args.quick else 16

    from distributed import Client, LocalCluster

    import mimflow  # noqa: F401
    from mimflow.studies.hermite import HermiteMCConfig, hermite_mc
    from mimflow.runs._store import run_and_store
    from mimflow.runs._sweep import WORKER_PRELOAD, run_sweep

    root = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    counter = iter(range(10**6))
    results: dict[str, float] = {"cores": os.cpu_count() or 1}

    def fresh_dir() -> Path:
        return root / f"s{next(counter)}"

    _warm()
    for n, label in ((1000, "tiny"), (1_000_000, "real")):
        cfgs = iter(range(10**6))
        results[f"run_{label}_s"] = median_time(
            lambda: hermite_mc(HermiteMCConfig(n=n + next(cfgs), seeds=2)), repeats * 3)
        results[f"run_and_store_{label}_s"] = median_time(
            lambda: run_and_store("hermite-mc", {"n": n + next(cfgs), "seeds": 2}, fresh_dir()), repeats * 3)

    def sweep_on(client, n: int, count: int, batch: int = 1, runs: list | None = None) -> float:
        offset = next(counter) * 1000
        seconds = []
        t0 = time.perf_counter()
        report = run_sweep("hermite-mc", fresh_dir(), base={"seeds": 2}, axes={"n": _configs(n, count, offset)},
                           client=client, batch_size=batch,
                           on_event=lambda kind, **info: seconds.append(info["seconds"]) if kind == "run" else None)
        assert report.computed == count and not report.failed, report
        if runs is not None:
            runs.append(statistics.mean(seconds))
        return time.perf_counter() - t0

    for workers in (1, 2):
        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR,
                               preload=[WORKER_PRELOAD])
        client = Client(cluster)
        results[f"cluster_start_{workers}w_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.run(_warm)
        results[f"worker_warmup_{workers}w_s"] = time.perf_counter() - t0
        try:
            if workers == 1:
                noop = median_time(lambda: client.gather(client.map(_noop, range(200), pure=False)), repeats)
                results["noop_task_ms"] = 1e3 * noop / 200
                for n, label in ((1000, "tiny"), (1_000_000, "real")):
                    count = tiny_runs if label == "tiny" else max(8, tiny_runs // 4)
                    for batch in (1, 10):
                        if label == "real" and batch > 1:
                            continue
                        runs: list[float] = []
                        wall = statistics.median(sweep_on(client, n, count, batch, runs) for _ in range(repeats))
                        per_run = wall / count
                        in_worker = statistics.median(runs)
                        tag = f"{label}_batch{batch}"
                        results[f"sweep_{tag}_per_run_1w_s"] = per_run
                        results[f"run_and_store_in_worker_{tag}_s"] = in_worker
                        results[f"overhead_{tag}_per_run_ms"] = 1e3 * (per_run - in_worker)
            results[f"cpu_sweep_{workers}w_s"] = statistics.median(
                sweep_on(client, 2_000_000, cpu_runs) for _ in range(repeats))
        finally:
            client.close()
            cluster.close()
    results["speedup_1_to_2"] = results["cpu_sweep_1w_s"] / results["cpu_sweep_2w_s"]
    t0 = time.perf_counter()
    report = run_sweep("hermite-mc", fresh_dir(), base={"seeds": 2}, axes={"n": _configs(2_000_000, cpu_runs, 7)},
                       local=2)
    assert report.computed == cpu_runs
    results["cpu_sweep_cold_local2_s"] = time.perf_counter() - t0
    shutil.rmtree(root, ignore_errors=True)

    width = max(len(k) for k in results)
    print(f"bench_sweep: hermite-mc relu, degree 8, 2 seeds; {results['cores']} cores; medians of {repeats}")
    for key, value in results.items():
        print(f"  {key:<{width}}  {value:.4g}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":  # spawned Dask workers re-import this file: keep the guard
    main()
