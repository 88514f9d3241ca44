"""Sweeps: argument parsing, grids, failures and retries, a real Dask LocalCluster, kill -9 and resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from mimflow import MimflowError
from mimflow.cli import main
from mimflow.runs._runs import RUN_COMMANDS, RunCommand, RunResult, get_run_command, register_run_command
from mimflow.runs._listing import list_runs
from mimflow.runs import load_sweep_file, parse_command_args, plan_sweep, run_sweep
from helpers import run_cli

RUN_ID = re.compile(r"^[0-9a-f]{16}$")


class FlakyConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    x: int = Field(0, description="a number")
    lr: float | list[float] = Field(0.1, description="learning rates (vmapped)")
    fail: str = Field("", description="'' | 'user' (MimflowError) | 'once:PATH' (crash unless PATH exists)")


def run_flaky(config: FlakyConfig, *, progress=None) -> RunResult:
    if config.fail == "user":
        raise MimflowError(f"x = {config.x} diverged: lower lr")
    if config.fail.startswith("once:"):
        marker = Path(config.fail[5:])
        if not marker.exists():
            marker.write_text("crashed once")
            raise RuntimeError("transient crash")
    lrs = np.atleast_1d(np.asarray(config.lr, dtype=float))
    ds = xr.Dataset({"loss": (("lr",), config.x * lrs)}, coords={"lr": lrs})
    return RunResult(ds, scalars={"loss": float(ds.loss.sum())})


FLAKY = "test-sweep-flaky"
if FLAKY not in RUN_COMMANDS:
    register_run_command(RunCommand(FLAKY, FlakyConfig, run_flaky, vmapped_fields=frozenset({"lr"}),
                                    positional=("x",), description="a flaky toy"))




# ---------------------------------------------------------------------------- parsing, plans
def test_comma_lists_become_axes_except_vmapped_fields():
    command = get_run_command(FLAKY)
    values, axes = parse_command_args(command, ["1,2,3", "--lr", "0.1,0.2", "--fail="])
    assert axes == {"x": [1, 2, 3]} and values == {"lr": [0.1, 0.2], "fail": ""}
    values, axes = parse_command_args(command, ["--set", "x=4", "--lr=0.3"])
    assert values == {"x": 4, "lr": 0.3} and axes == {}
    hm = get_run_command("hermite-mc")
    values, axes = parse_command_args(hm, ["relu(z),h2(z)", "--n", "1e3,1e4", "--seeds", "8"])
    assert axes == {"link": ["relu(z)", "h2(z)"], "n": [1000.0, 10000.0]} and values == {"seeds": 8}


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--lrr", "1"], "unknown option '--lrr' for test-sweep-flaky; did you mean '--lr'?"),
        (["1", "2"], "unexpected argument '2'"),
        (["--x"], "needs a value"),
        (["--x", "1,1"], "repeat"),
        (["--set", "x"], "KEY=VALUE"),
        (["--set", "y=1"], "unknown key 'y'"),
    ],
)
def test_bad_sweep_arguments(args, fragment):
    with pytest.raises(MimflowError) as info:
        parse_command_args(get_run_command(FLAKY), args)
    assert fragment in str(info.value)


def test_plan_is_the_validated_grid(tmp_path):
    plan = plan_sweep("hermite-mc", {"seeds": [0, 1]}, axes={"link": ["relu", "tanh"], "n": [100, 200, 300]})
    assert len(plan) == 6 and len(set(plan.run_ids)) == 6
    assert plan.axis_values(1) == {"link": "relu", "n": 200}  # the last axis varies fastest
    with pytest.raises(MimflowError, match=r"at grid point link='relu', n=1: .*n = 1"):
        plan_sweep("hermite-mc", axes={"link": ["relu"], "n": [1, 100]})
    with pytest.raises(MimflowError, match="unknown axis 'nn'; did you mean 'n'"):
        plan_sweep("hermite-mc", axes={"nn": [1]})
    path = tmp_path / "s.toml"
    path.write_text('command = "hermite-mc"\nseeds = 2\n[grid]\nn = [100, 200]\n[sweep]\nlocal = 0\nout = "r"\n')
    command, base, axes, settings = load_sweep_file(path)
    assert command.name == "hermite-mc" and base == {"seeds": 2} and axes == {"n": [100, 200]}
    assert settings == {"local": 0, "out": "r"}
    path.write_text('command = "hermite-mc"\n[grid]\nn = 100\n')
    with pytest.raises(MimflowError, match="grid.n must be a non-empty list"):
        load_sweep_file(path)
    path.write_text('command = "hermite-mc"\n[sweep]\nlocl = 1\n')
    with pytest.raises(MimflowError, match="did you mean 'local'"):
        load_sweep_file(path)


# ---------------------------------------------------------------------------- failures, retries
def test_failures_are_reported_and_retried_never_silent(tmp_path, capsys):
    events = []
    report = run_sweep(
        FLAKY, tmp_path / "runs", base={"lr": [0.1, 0.2]},
        axes={"x": [1, 2, 3], "fail": ["", "user", f"once:{tmp_path / 'crashed'}"]},
        local=0, on_event=lambda kind, **info: events.append((kind, info)),
    )
    kinds = [k for k, _ in events]
    assert kinds[0] == "plan" and kinds[-1] == "done"
    assert report.total == 9 and report.computed == 6 and len(report.failed) == 3
    assert all("diverged" in f["error"] and f["axes"]["fail"] == "user" for f in report.failed)
    assert report.retried == 1 and kinds.count("retry") == 1  # the transient crash, retried once
    listing = list_runs(tmp_path / "runs")
    assert listing.counts() == {"complete": 6, "failed": 3}
    assert all("diverged" in r.error for r in listing.runs if r.status == "failed")
    with xr.open_dataset(next(r.path for r in listing.runs if r.status == "complete") / "data.nc") as ds:
        assert ds.loss.dims == ("lr",) and list(ds.lr.values) == [0.1, 0.2]  # vmapped list: one run
    # again: only the failed runs are attempted; still reported
    again = run_sweep(FLAKY, tmp_path / "runs", base={"lr": [0.1, 0.2]},
                      axes={"x": [1, 2, 3], "fail": ["", "user", f"once:{tmp_path / 'crashed'}"]}, local=0)
    assert again.already_stored == 6 and again.computed == 0 and len(again.failed) == 3
    # the command line exits 1 and names the failures
    code, out, err = run_cli(capsys, "sweep", FLAKY, "1", "--fail", "user", "--local", "0", "--out", str(tmp_path / "c"))
    assert code == 1 and "FAILED" in err and "1 of 1 runs failed" in err


def test_crash_retries_exhausted_is_a_failure(tmp_path):
    report = run_sweep(FLAKY, tmp_path, axes={"fail": [f"once:{tmp_path / 'm1'}"]}, local=0, retries=0)
    assert report.computed == 0 and "transient crash" in report.failed[0]["error"]


def test_sweep_file_and_show_config_round_trip(tmp_path, capsys):
    out = tmp_path / "runs"
    path = tmp_path / "sweep.toml"
    path.write_text(f'command = "{FLAKY}"\nlr = [0.1, 0.3]\n[grid]\nx = [1, 2]\n'
                    f'[sweep]\nlocal = 0\nout = "{out}"\n')
    code, text, err = run_cli(capsys, "sweep", str(path), "--show-config")
    assert code == 0, err
    assert "[grid]\nx = [1, 2]" in text and "lr = [0.1, 0.3]" in text and "local = 0" in text
    again = tmp_path / "again.toml"
    again.write_text(text)
    code, stdout, err = run_cli(capsys, "sweep", str(again), "--x", "3,4,5", "--json")  # the CLI overrides the grid
    assert code == 0, err
    report = json.loads(stdout.splitlines()[-1])
    assert report["total"] == 3 and report["computed"] == 3
    assert sorted(r.axes["x"] for r in list_runs(out).runs) == [3, 4, 5]
    code, stdout, err = run_cli(capsys, "sweep", str(path))
    assert code == 0 and "2 computed" in stdout


def test_cluster_choices_fail_clearly(tmp_path, capsys):
    import importlib.util

    base = ["sweep", "hermite-mc", "--n", "100,200", "--out", str(tmp_path)]
    code, out, err = run_cli(capsys, *base, "--local", "1", "--slurm", "2")
    assert code == 2 and "only one of --local, --slurm" in err
    if importlib.util.find_spec("dask_jobqueue") is None:
        code, out, err = run_cli(capsys, *base, "--pbs", "2")
        assert code == 2 and "pip install 'mimflow[cluster]'" in err and err.count("\n") == 1
    code, out, err = run_cli(capsys, "sweep", "hermite-mc", "--n", "100,200")
    assert code == 2 and "pass --out DIR" in err


# ---------------------------------------------------------------------------- a real LocalCluster
@pytest.mark.slow(ci=True)
def test_sweep_on_a_real_local_cluster(tmp_path, capsys):
    out = tmp_path / "runs"
    code, stdout, err = run_cli(
        capsys, "sweep", "hermite-mc", "relu,1/z", "--n", "200,400", "--seeds", "0,1", "--degree", "4",
        "--local", "2", "--out", str(out), "--json",
    )
    assert code == 1, err  # 1/z is not square-integrable: its runs fail, the others complete
    report = json.loads(stdout.splitlines()[-1])
    assert report["where"] == "Dask LocalCluster (2 worker processes)"
    assert report["computed"] == 2 and len(report["failed"]) == 2
    assert all("division by zero" in f["error"] for f in report["failed"])
    listing = list_runs(out)
    assert listing.counts() == {"complete": 2, "failed": 2} and listing.axes["hermite-mc"] == ["link", "n"]
    for run in listing.runs:
        if run.status == "complete":
            assert run.scalars["max_z_score"] < 6
            with xr.open_dataset(run.path / "data.nc") as ds:
                assert dict(ds.sizes) == {"seed": 2, "k": 5}
    # everything stored is found again without starting a cluster
    report = run_sweep("hermite-mc", out, base={"seeds": [0, 1], "degree": 4, "link": "relu"}, axes={"n": [200, 400]})
    assert report.already_stored == 2 and report.tasks == 0 and report.where == "nothing to run"


# ---------------------------------------------------------------------------- kill -9, then resume
def complete_runs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir() and RUN_ID.match(p.name)) if out.is_dir() else []


def snapshot(runs: list[Path]) -> dict:
    return {
        (run.name, f.name): (f.read_bytes(), f.stat().st_ino, f.stat().st_mtime_ns)
        for run in runs for f in sorted(run.iterdir())
    }


@pytest.mark.slow(ci=True)
def test_sigkill_mid_sweep_then_resume(tmp_path):
    out = tmp_path / "runs"
    n_values = ",".join(str(1_000_000 + i) for i in range(12))
    cmd = [sys.executable, "-m", "mimflow.cli", "sweep", "hermite-mc", "relu", "--n", n_values, "--seeds", "2",
           "--degree", "6", "--local", "1", "--out", str(out)]
    with open(tmp_path / "first.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while len(complete_runs(out)) < 2:
                assert proc.poll() is None, (tmp_path / "first.log").read_text()
                assert time.monotonic() < deadline, "the sweep finished no run in 120 s"
                time.sleep(0.02)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep, its scheduler and its worker processes
            proc.wait()
    time.sleep(0.5)
    finished = complete_runs(out)
    before = snapshot(finished)
    assert 2 <= len(finished) < 12, "kill the sweep mid-run"
    assert snapshot(complete_runs(out)) == before  # nothing outlived the kill
    killed = list_runs(out)  # the sweep's plan shows what is left
    assert killed.counts() == {"complete": len(finished), "pending": 12 - len(finished)}

    resumed = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout.splitlines()[-1])
    assert report["total"] == 12 and report["failed"] == []
    assert report["already_stored"] == len(finished) and report["computed"] == 12 - len(finished)
    after = complete_runs(out)
    assert len(after) == 12
    now = snapshot(finished)
    assert now == before  # finished runs are byte-identical, same inode, same mtime: never rewritten
    assert not list(out.glob(".tmp-*"))  # half-written runs of the killed sweep are gone
    listing = list_runs(out)
    assert listing.counts() == {"complete": 12} and listing.problems == []
