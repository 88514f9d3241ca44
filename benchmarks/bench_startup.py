"""Start-up of the command line (issue 17): wall time of `mimflow --help`, `mimflow hermite relu` and
`mimflow flow --help` in fresh interpreters, this tree interleaved with a baseline tree.

Usage: .venv/bin/python benchmarks/bench_startup.py [--baseline-src DIR] [--runs N] [--json FILE]

``--baseline-src``: the ``src`` folder of another version, e.g. from
``git archive HEAD~1 src | tar -x -C /tmp/base`` -> ``/tmp/base/src`` (put first on ``PYTHONPATH``).
Reports min / median / max seconds per command and the ratio of the medians. The modules each command
imports are checked by tests/test_startup.py, not here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--help"], ["hermite", "relu"], ["flow", "--help"])
SRC = str(Path(__file__).resolve().parents[1] / "src")
CODE = "import sys; sys.argv = ['mimflow'] + sys.argv[1:]; from mimflow.cli import main; main()"


def one_run(src: str, argv: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=src)
    env.pop("JAX_ENABLE_X64", None)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", CODE, *argv], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, cwd="/")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline-src", default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    trees = {"now": SRC} | ({"baseline": args.baseline_src} if args.baseline_src else {})
    results: dict = {"load_before": os.getloadavg()[0]}
    for argv in COMMANDS:
        times: dict = {name: [] for name in trees}
        for _ in range(args.runs):  # interleaved, so that the load hits both trees alike
            for name, src in trees.items():
                times[name].append(one_run(src, argv))
        row = {name: {"min": min(v), "median": statistics.median(v), "max": max(v)} for name, v in times.items()}
        if "baseline" in row:
            row["ratio_of_medians"] = row["baseline"]["median"] / row["now"]["median"]
        results["mimflow " + " ".join(argv)] = row
        print("mimflow", " ".join(argv), json.dumps(row), flush=True)
    results["load_after"] = os.getloadavg()[0]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
