"""Issue 16: a store that never serves a damaged result, canonical run ids, claims, outputs checked first."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from mimflow import MimflowError
from mimflow.runs import _canonical, _store
from mimflow.runs._export import export_runs
from mimflow.runs._runs import RUN_COMMANDS, RunCommand, RunResult, register_run_command
from mimflow.runs._listing import list_runs, load_run
from mimflow.runs._store import run_and_store, run_id
from mimflow.runs import run_sweep
from helpers import run_cli

CALLS: list[dict] = []


class LineConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    a: float = Field(1.0, description="slope")
    m: int = Field(3, ge=1, le=50, description="length")
    sleep: float = Field(0.0, ge=0.0, description="seconds to sleep (concurrency tests)")


def run_line(config: LineConfig, *, progress=None) -> RunResult:
    CALLS.append(config.model_dump())
    time.sleep(config.sleep)
    t = np.arange(config.m, dtype=float)
    ds = xr.Dataset({"y": (("t",), config.a * t)}, coords={"t": t})
    return RunResult(ds, scalars={"last": float(config.a * t[-1])}, summary={"last": float(config.a * t[-1])})


LINE = "test-integrity-line"
if LINE not in RUN_COMMANDS:
    register_run_command(RunCommand(LINE, LineConfig, run_line, description="a line"))


def store_of(tmp_path, slopes=(1.0, 2.0, 3.0)):
    out = tmp_path / "runs"
    ids = [run_and_store(LINE, {"a": a}, out)[0] for a in slopes]
    return out, ids


# ---------------------------------------------------------------------------- damage
def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _random_bytes(path):
    path.write_bytes(os.urandom(100))


def _remove(path):
    path.unlink()


def _bad_json(path):
    path.write_text("{not json")


def _edit_scalar(path):
    text = path.read_text()
    assert '"last": 4.0' in text
    path.write_text(text.replace('"last": 4.0', '"last": 5.0'))  # valid JSON, same size, a wrong number


DAMAGE = [
    ("data.nc", _truncate, "bytes"),
    ("data.nc", _random_bytes, "bytes"),
    ("meta.json", _remove, "meta.json is missing"),
    ("result.json", _bad_json, "result.json"),
    ("result.json", _edit_scalar, "SHA-256"),
    ("manifest.json", _remove, "manifest.json is missing"),
    ("config.json", _bad_json, "config.json is unreadable"),
]


@pytest.mark.parametrize("name, damage, reason", DAMAGE, ids=[f"{n}-{d.__name__}" for n, d, _ in DAMAGE])
def test_a_damaged_run_is_listed_damaged_never_reused_never_exported(tmp_path, capsys, name, damage, reason):
    out, ids = store_of(tmp_path)
    bad = ids[1]
    damage(out / bad / name)
    listing = list_runs(out)
    status = {r.run_id: r for r in listing.runs}
    assert status[bad].status == "damaged" and reason in status[bad].error
    assert [status[i].status for i in (ids[0], ids[2])] == ["complete", "complete"]
    # results verify: non-zero exit, the reason named
    code, text, err = run_cli(capsys, "results", "verify", str(out))
    assert code == 1 and bad in text and "1 damaged" in text
    code, text, err = run_cli(capsys, "results", "verify", str(out), "--json")
    assert code == 1 and json.loads(text)["damaged"][0]["run_id"] == bad
    # export: the good runs, the bad one named (never a traceback, never blocked)
    for suffix in (".nc", ".csv"):
        code, text, err = run_cli(capsys, "results", "export", str(out), "--to", str(tmp_path / f"all{suffix}"))
        assert code == 0, err
        assert "exported 2 runs" in text and bad in err and "not exported" in err
    with xr.open_dataset(tmp_path / "all.nc") as ds:
        assert list(ds.a.values) == [1.0, 3.0]
    # reuse: recomputed, the damaged folder moved aside (kept, not deleted)
    before = len(CALLS)
    rid, path, reused = run_and_store(LINE, {"a": 2.0}, out)
    assert rid == bad and not reused and len(CALLS) == before + 1
    assert load_run(path)["scalars"]["last"] == 4.0
    aside = list((out / "_damaged").glob(f"{bad}-*"))
    assert len([p for p in aside if p.is_dir()]) == 1
    assert reason in json.loads(next(p for p in aside if p.suffix == ".json").read_text())["reason"]
    code, text, err = run_cli(capsys, "results", "verify", str(out))
    assert code == 0 and "3 complete" in text


def test_a_sweep_recomputes_damaged_runs(tmp_path, capsys):
    out, ids = store_of(tmp_path)
    _truncate(out / ids[0] / "data.nc")
    report = run_sweep(LINE, out, axes={"a": [1.0, 2.0, 3.0]}, local=0)
    assert (report.computed, report.already_stored, report.damaged) == (1, 2, 1)
    assert list_runs(out).counts() == {"complete": 3}
    _random_bytes(out / ids[2] / "data.nc")
    code, text, err = run_cli(capsys, "sweep", LINE, "--a", "1,2,3", "--out", str(out), "--local", "0")
    assert code == 0 and "nothing to run" not in text and "1 computed, 2 already stored" in text


def test_run_command_with_out_does_not_reuse_a_run_missing_meta(tmp_path, capsys):
    args = ["hermite-mc", "h2", "--degree", "2", "--n", "200", "--seeds", "1", "--json", "--out", str(tmp_path)]
    code, text, err = run_cli(capsys, *args)
    first = json.loads(text)
    (tmp_path / first["run_id"] / "meta.json").unlink()
    code, text, err = run_cli(capsys, *args)
    assert code == 0 and json.loads(text)["reused"] is False


def _legacy(out, rid_from, a):
    """Rewrite a run as a store before manifests wrote it (no manifest, no numerics, the old id)."""
    src = out / rid_from
    record = json.loads((src / "config.json").read_text())
    old = {"command": record["command"], "config": {**record["config"], "a": a}, "version": record["version"]}
    legacy_id = _store._run_id_of(old["command"], old["config"], old["version"])
    dest = out / legacy_id
    shutil.copytree(src, dest)
    (dest / "manifest.json").unlink()
    (dest / "config.json").write_text(json.dumps({**old, "run_id": legacy_id}))
    return legacy_id


def test_runs_stored_before_manifests_are_opened_and_reported_unverified(tmp_path, capsys):
    out, ids = store_of(tmp_path, slopes=(1.0,))
    good = _legacy(out, ids[0], 5.0)
    broken = _legacy(out, ids[0], 6.0)
    _truncate(out / broken / "data.nc")
    status = {r.run_id: r.status for r in list_runs(out).runs}
    assert status == {ids[0]: "complete", good: "unverified", broken: "damaged"}
    code, text, err = run_cli(capsys, "results", "export", str(out), "--to", str(tmp_path / "x.csv"))
    assert code == 0 and "exported 2 runs" in text and good in err and broken in err
    # never reused as current (its numerics are unknown): recomputed, the old folder kept aside
    before = len(CALLS)
    rid, _, reused = run_and_store(LINE, {"a": 5.0}, out)
    assert not reused and len(CALLS) == before + 1
    assert rid != good or any(p.name.startswith(good) for p in (out / "_outdated").iterdir())


def test_a_run_of_other_numerics_is_recomputed(tmp_path, monkeypatch):
    out, ids = store_of(tmp_path, slopes=(1.0,))
    monkeypatch.setattr(_store, "numerics_key", lambda: "0.1+gdeadbeef")
    assert list_runs(out).runs[0].status == "outdated"
    before = len(CALLS)
    rid, path, reused = run_and_store(LINE, {"a": 1.0}, out)
    assert rid == ids[0] and not reused and len(CALLS) == before + 1
    assert json.loads((path / "config.json").read_text())["numerics"] == "0.1+gdeadbeef"
    assert len([p for p in (out / "_outdated").iterdir() if p.is_dir()]) == 1


def test_numerics_key_names_the_commit_of_a_development_install():
    sha = _canonical.git_sha()
    key = _canonical.numerics_key()
    assert key.startswith(_canonical.package_version())
    if sha:
        assert key.endswith("+g" + sha[:12])


# ---------------------------------------------------------------------------- canonical ids
def test_equivalent_configs_have_one_run_id():
    assert run_id("hermite-mc", {"link": "h2"}) == run_id("hermite-mc", {"link": "h2(z)"}) \
        == run_id("hermite-mc", {"link": "h2( z )"}) == run_id("hermite-mc", {"link": "h2(z1)"})
    assert run_id("hermite-mc", {"link": "h2"}) != run_id("hermite-mc", {"link": "h3"})
    assert run_id("hermite-mc", {"seeds": 2}) == run_id("hermite-mc", {"seeds": [0, 1]})
    assert run_id("hermite-mc", {"seeds": 2}) != run_id("hermite-mc", {"seeds": [1, 0]})
    assert run_id("flow", {"link": "h2(z)", "ridge": -0.0}) == run_id("flow", {"link": "h2", "ridge": 0})
    assert run_id("flow", {"link": "h2(z1) + h3(z2)", "rank": 2}) == run_id("flow", {"link": "h2(z1)+h3(z2)"})
    assert run_id("flow", {"link": "h2(z1) + h3(z2)", "rank": 3}) != run_id("flow", {"link": "h2(z1)+h3(z2)"})
    assert run_id("train", {"link": "h2", "rank": 1}) == run_id("train", {"link": "h2"})
    assert run_id("neurons", {"sigma": "h3", "student": "h3(z)"}) == run_id("neurons", {"sigma": "h3"})
    assert run_id("neurons", {"sigma": "h3", "student": "h4"}) != run_id("neurons", {"sigma": "h3"})


def test_canonical_text_parses_back_to_the_same_tree():
    from mimflow.targets._expression import canonical_text, parse_expression

    for text in ["h2( z1 )+ h3(z2)", "-z**2", "(-z)**2", "z**-1", "z-(z-1)", "(z-z)-1", "2**3**z", "(2**3)**z",
                 "-(z*2)", "--z", "z/(z*z)", "1e5*z", "0.5*h4(z)", "relu(z1)*sign(z2)", "1e300*z"]:
        tree, r = parse_expression(text)
        assert parse_expression(canonical_text(tree, r))[0] == tree, text


# ---------------------------------------------------------------------------- claims
def test_a_run_claimed_by_a_live_writer_is_left_to_it_and_counted_as_reused(tmp_path):
    out = tmp_path / "runs"
    out.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        rid = run_id(LINE, {"a": 2.0})
        (out / "_claims").mkdir()
        (out / "_claims" / f"{rid}.claim").write_text(json.dumps({"host": _store._host(), "pid": other.pid,
                                                                  "time": time.time()}))

        def other_writer():  # stores the run it claimed, then lets go
            time.sleep(1.0)
            _store.save_run(out, LINE, {"a": 2.0}, run_line(LineConfig(a=2.0)), wall_seconds=0.0)
            (out / "_claims" / f"{rid}.claim").unlink()

        thread = threading.Thread(target=other_writer)
        thread.start()
        before = len(CALLS)
        report = run_sweep(LINE, out, axes={"a": [1.0, 2.0, 3.0]}, local=0)
        thread.join()
    finally:
        other.kill()
        other.wait()
    assert (report.computed, report.reused, report.already_stored, len(report.failed)) == (2, 1, 0, 0)
    assert len(CALLS) == before + 3  # two here, one by the "other writer"
    line = report.closing_line()
    data = report.to_json()
    assert f"{data['computed']} computed, {data['already_stored']} already stored, {data['reused']} reused" in line


def test_a_stale_claim_is_broken(tmp_path):
    out = tmp_path / "runs"
    rid = run_id(LINE, {"a": 7.0})
    (out / "_claims").mkdir(parents=True)
    (out / "_claims" / f"{rid}.claim").write_text(json.dumps({"host": _store._host(), "pid": 2**22 + 4321,
                                                              "time": 0}))
    got, _, reused = run_and_store(LINE, {"a": 7.0}, out)
    assert got == rid and not reused and not (out / "_claims").exists()


@pytest.mark.slow  # ~90 s on 2 busy cores (two JAX start-ups); test_a_run_claimed_by_a_live_writer covers the logic
def test_two_concurrent_sweeps_share_the_work(tmp_path):
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "mimflow.cli", "sweep", "hermite-mc", "relu,tanh,abs,sign,erf,h2",
           "--degree", "3", "--n", "20000", "--seeds", "2", "--local", "0", "--out", str(out), "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    reports = []
    for (text, err), p in zip(results, procs):
        assert p.returncode == 0, err
        reports.append(json.loads(text))
    assert sum(r["computed"] for r in reports) == 6  # each run computed once, by one of the two
    for r, (_, err) in zip(reports, results):
        assert r["computed"] + r["already_stored"] + r["reused"] == 6
        assert f"{r['computed']} computed, {r['already_stored']} already stored, {r['reused']} reused" in err
    assert list_runs(out).counts() == {"complete": 6}


# ---------------------------------------------------------------------------- outputs checked first
def _no_run(monkeypatch):
    from mimflow.runs._runs import get_run_command

    command = get_run_command("hermite-mc")

    def boom(*args, **kwargs):
        raise AssertionError("computed before the output path was checked")

    monkeypatch.setitem(RUN_COMMANDS, "hermite-mc", RunCommand(**{**command.__dict__, "run": boom}))


@pytest.mark.parametrize("make, fragment", [
    (lambda p: (p.write_text("x"), p)[0 + 1], "is a file"),
    (lambda p: (p.write_text("x"), p / "sub")[1], "is a file, not a folder"),
])
def test_a_bad_out_costs_no_computation(tmp_path, capsys, monkeypatch, make, fragment):
    _no_run(monkeypatch)
    out = make(tmp_path / "f")
    code, text, err = run_cli(capsys, "hermite-mc", "relu", "--out", str(out))
    assert code == 2 and fragment in err and err.count("\n") == 1
    code, text, err = run_cli(capsys, "sweep", "hermite-mc", "relu,tanh", "--out", str(out), "--local", "0")
    assert code == 2 and fragment in err and err.count("\n") == 1


def test_an_unwritable_folder_costs_no_computation(tmp_path, capsys, monkeypatch):
    _no_run(monkeypatch)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p).startswith(str(tmp_path)) else real(p, mode))
    code, text, err = run_cli(capsys, "hermite-mc", "relu", "--out", str(tmp_path / "runs"))
    assert code == 2 and "not writable" in err and err.count("\n") == 1


def test_bad_plot_and_export_paths_cost_no_computation(tmp_path, capsys, monkeypatch):
    out, _ = store_of(tmp_path, slopes=(1.0,))
    for args, fragment in [
        (["spectral", "z**2", "--alpha", "1", "--plot", str(tmp_path / "x.jpgx")], "unknown format '.jpgx'"),
        (["spectral", "z**2", "--alpha", "1", "--plot", str(tmp_path / "x")], "unknown format"),
        (["results", "export", str(out), "--to", str(tmp_path / "x.jpgx")], "must end in"),
        (["results", "export", str(out), "--to", str(out / "_sweeps")], "unknown format"),
    ]:
        code, text, err = run_cli(capsys, *args)
        assert code == 2 and fragment in err and err.count("\n") == 1, (args, err)
    (tmp_path / "file").write_text("x")
    code, text, err = run_cli(capsys, "results", "export", str(out), "--to", str(tmp_path / "file" / "x.nc"))
    assert code == 2 and "is a file" in err


def test_plot_without_out_works(tmp_path, capsys):
    """`spectral --plot` without --out/--json used to end in KeyError 'reused'."""
    code, text, err = run_cli(capsys, "spectral", "z**2", "--alpha", "1,2,4", "--plot", str(tmp_path / "sp.png"),
                              "--set", "threshold=false")
    assert code == 0, err
    assert (tmp_path / "sp.png").stat().st_size > 0 and "figure:" in text


def test_a_disk_full_at_the_end_is_one_line_and_the_run_is_kept(tmp_path, monkeypatch):
    out = tmp_path / "runs"
    real = _store.write_netcdf

    def full(ds, path):
        if str(path).startswith(str(out)):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(ds, path)

    monkeypatch.setattr(_store, "write_netcdf", full)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path / "tmp"))
    with pytest.raises(MimflowError, match="No space left on device") as info:
        run_and_store(LINE, {"a": 4.0}, out)
    message = str(info.value)
    assert "\n" not in message and "mimflow-unsaved" in message
    kept = tmp_path / "tmp" / "mimflow-unsaved" / run_id(LINE, {"a": 4.0})
    assert load_run(kept)["scalars"]["last"] == 8.0
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]


# ---------------------------------------------------------------------------- memory, links, literals
def test_out_of_memory_is_one_line():
    from mimflow.runs._bounds import out_of_memory_message

    XlaRuntimeError = type("XlaRuntimeError", (RuntimeError,), {})
    message = out_of_memory_message(XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 144072033488 bytes."))
    assert message.startswith("out of memory (an allocation of 134 GiB)")
    assert out_of_memory_message(RuntimeError("something else")) is None


def test_memory_limit_from_the_environment(monkeypatch):
    from mimflow.runs._runs import get_run_command

    monkeypatch.setenv("MIMFLOW_MEMORY_LIMIT", "1MB")
    with pytest.raises(MimflowError, match=r"neurons: .* more than the 1 MiB .*MIMFLOW_MEMORY_LIMIT.*lower --n"):
        get_run_command("neurons").make_config({"n": 10_000})
    monkeypatch.setenv("MIMFLOW_MEMORY_LIMIT", "lots")
    with pytest.raises(MimflowError, match="MIMFLOW_MEMORY_LIMIT"):
        get_run_command("neurons").make_config({})


def test_export_keeps_one_run_per_canonical_config(tmp_path):
    out, ids = store_of(tmp_path, slopes=(0.0, 2.0))
    legacy = _legacy(out, ids[0], -0.0)  # the same config as ids[0] (-0.0 is 0), stored the old way
    report = export_runs(out, tmp_path / "x.nc")
    assert sorted(r.run_id for r in report.exported) == sorted(ids)
    assert report.skipped == [{"run_id": legacy, "status": "unverified",
                               "reason": f"same config as run {ids[0]} (exported instead)"}]
