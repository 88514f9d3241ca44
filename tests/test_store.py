"""The results store: atomic runs, content-hash ids, listing that survives junk, export."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from mimflow import MimflowError
from mimflow.cli import main
from mimflow.runs import _store
from mimflow.runs._runs import RUN_COMMANDS, RunCommand, RunResult, check_finite_result, register_run_command
from mimflow.runs._export import export_results
from mimflow.runs._listing import list_runs, load_run
from mimflow.runs._store import clean_stale_temps, run_and_store, run_id, save_run


class ToyConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    a: float = Field(1.0, description="slope")
    m: int = Field(3, ge=1, le=50, description="length (changes shapes)")
    tag: str = Field("x", description="a label")
    poison: bool = Field(False, description="return NaN without checking (to test the store's own check)")


def run_toy(config: ToyConfig, *, progress=None) -> RunResult:
    t = np.arange(config.m, dtype=float)
    y = config.a * t
    if config.poison:
        y[0] = np.nan
    ds = xr.Dataset({"y": (("t",), y)}, coords={"t": t})
    if config.a < 0:
        check_finite_result("toy", ds.assign(y=ds.y * np.inf))  # a diverged run checks its own numbers
    return RunResult(ds, scalars={"last": float(y[-1]), "total": float(y.sum())}, summary={"y": y})


TOY = "test-store-toy"
if TOY not in RUN_COMMANDS:
    register_run_command(RunCommand(TOY, ToyConfig, run_toy, description="a toy line"))


def files_of(path):
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_round_trip_and_reuse(tmp_path):
    rid, path, reused = run_and_store(TOY, {"a": 2.0, "m": 4}, tmp_path)
    assert not reused and path == tmp_path / rid and len(rid) == 16
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "data.nc", "manifest.json", "meta.json",
                                                      "result.json"]
    stored = load_run(path)
    np.testing.assert_array_equal(stored["dataset"].y.values, [0.0, 2.0, 4.0, 6.0])
    assert stored["dataset"].y.dims == ("t",)
    assert stored["config"] == {"a": 2.0, "m": 4, "tag": "x", "poison": False}
    assert stored["scalars"] == {"last": 6.0, "total": 12.0}
    meta = stored["meta"]
    for key in ("mimflow_version", "git_sha", "jax_version", "device", "x64", "wall_seconds", "host"):
        assert key in meta
    assert meta["x64"] is True
    before = files_of(path)
    mtimes = {p: p.stat().st_mtime_ns for p in path.iterdir()}
    rid2, path2, reused2 = run_and_store(TOY, ToyConfig(a=2.0, m=4), tmp_path)  # model or dict: same id
    assert (rid2, path2, reused2) == (rid, path, True)
    assert files_of(path) == before and {p: p.stat().st_mtime_ns for p in path.iterdir()} == mtimes
    # xarray reads it directly
    with xr.open_dataset(path / "data.nc") as ds:
        assert ds.attrs["mimflow_run_id"] == rid


def test_run_ids_are_content_hashes():
    base = run_id(TOY, {"a": 2.0})
    assert base == run_id(TOY, {"a": 2})  # validated first: 2 and 2.0 are the same float
    assert base == run_id(TOY, {"a": 2.0, "tag": "x"})  # defaults are part of the resolved config
    assert base != run_id(TOY, {"a": 2.5})
    assert run_id("hermite-mc", {"n": 100}) != run_id("hermite-mc", {"n": 101})


def test_nan_is_never_stored(tmp_path):
    with pytest.raises(MimflowError, match=r"non-finite.*'y'"):
        run_and_store(TOY, {"poison": True}, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing, not even a temporary folder
    with pytest.raises(MimflowError, match="non-finite"):
        run_and_store(TOY, {"a": -1.0}, tmp_path)  # the run's own check


def test_a_writer_dying_midway_leaves_no_run(tmp_path, monkeypatch):
    calls = []

    def die(path, data):
        calls.append(path.name)
        if path.name == "result.json":
            raise KeyboardInterrupt("killed while writing")
        return real(path, data)

    real = _store._write_json_durable
    monkeypatch.setattr(_store, "_write_json_durable", die)
    with pytest.raises(KeyboardInterrupt):
        run_and_store(TOY, {"m": 5}, tmp_path)
    assert "result.json" in calls
    assert [p.name for p in tmp_path.iterdir()] == []
    # a folder left by a writer killed with SIGKILL (dead pid on this host) is cleaned up
    monkeypatch.setattr(_store, "_write_json_durable", real)
    host = _store._host()
    dead = tmp_path / f".tmp-0123456789abcdef-{host}-{2**22 + 12345}-beef"
    alive = tmp_path / f".tmp-0123456789abcdef-{host}-{os.getpid()}-beef"
    elsewhere = tmp_path / f".tmp-0123456789abcdef-other-host-{2**22 + 12345}-beef"
    for tmp in (dead, alive, elsewhere):
        tmp.mkdir()
        (tmp / "data.nc").write_bytes(b"half")
    assert clean_stale_temps(tmp_path) == [dead] and not dead.exists()
    assert alive.exists() and elsewhere.exists()


def test_racing_writers_keep_the_first(tmp_path):
    cfg = ToyConfig(m=2)
    result = run_toy(cfg)
    path, created = save_run(tmp_path, TOY, cfg, result, wall_seconds=1.0)
    first = files_of(path)
    path2, created2 = save_run(tmp_path, TOY, cfg, result, wall_seconds=2.0)
    assert created and not created2 and path2 == path and files_of(path) == first
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def make_store(tmp_path):
    for a in (1.0, 2.0):
        for m in (2, 3):
            run_and_store(TOY, {"a": a, "m": m}, tmp_path)
    return tmp_path


def test_listing_reports_junk_and_never_crashes(tmp_path, capsys):
    store = make_store(tmp_path)
    runs = sorted(p for p in store.iterdir() if p.is_dir())
    (runs[0] / "data.nc").unlink()  # corrupt: a file removed by hand
    cfg = json.loads((runs[1] / "config.json").read_text())
    cfg["config"]["a"] = cfg["canonical"]["a"] = 99.0  # corrupt: edited by hand, no longer its hash
    (runs[1] / "config.json").write_text(json.dumps(cfg))
    (store / "notes.txt").write_text("mine")
    (store / "plots").mkdir()
    (store / "ffffffffffffffff").write_text("a file named like a run")
    (store / ".tmp-0123456789abcdef-aaaa").mkdir()
    (store / "_failed").mkdir()
    (store / "_failed" / "broken.json").write_text("{not json")
    (store / "_sweeps").mkdir()
    (store / "_sweeps" / "x.json").write_bytes(b"\xff\xfe")
    listing = list_runs(store)
    assert listing.counts() == {"complete": 2, "damaged": 2}
    damaged = {r.run_id: r.error for r in listing.runs if r.status == "damaged"}
    assert "data.nc is missing" in damaged[runs[0].name]
    assert "does not hash" in damaged[runs[1].name]
    problems = {os.path.basename(p["path"]): p["problem"] for p in listing.problems}
    assert set(problems) == {"notes.txt", "plots", "ffffffffffffffff", ".tmp-0123456789abcdef-aaaa", "broken.json",
                             "x.json"}
    assert "foreign" in problems["notes.txt"] and "incomplete" in problems[".tmp-0123456789abcdef-aaaa"]
    # the command line lists too, with the problems as warnings on stderr
    code = 0
    try:
        main(["results", "list", str(store), "--json"])
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    assert code == 0
    data = json.loads(out.out)
    assert data["counts"] == {"complete": 2, "damaged": 2} and len(data["problems"]) == 6
    try:
        main(["results", "list", str(store)])
    except SystemExit as exc:
        assert not exc.code
    out = capsys.readouterr()
    assert "2 complete" in out.out and "2 damaged" in out.out and out.err.count("warning:") == 6
    with pytest.raises(MimflowError, match="does not exist"):
        list_runs(store / "nope")


def test_export_dataset_over_axes(tmp_path):
    store = make_store(tmp_path / "runs")
    listing = list_runs(store)
    assert listing.axes == {TOY: ["a", "m"]}
    nc = export_results(store, tmp_path / "all.nc")
    with xr.open_dataset(nc) as ds:
        ds = ds.load()
    assert ds.y.dims == ("a", "m", "t")
    assert list(ds.a.values) == [1.0, 2.0] and list(ds.m.values) == [2, 3]
    np.testing.assert_array_equal(ds.y.sel(a=2.0, m=3).values, [0.0, 2.0, 4.0])
    assert np.isnan(ds.y.sel(a=2.0, m=2, t=2.0))  # m = 2 has no t = 2: outer join
    assert ds["last"].sel(a=2.0, m=3) == 4.0
    z = export_results(store, tmp_path / "all.zarr")
    with xr.open_zarr(z) as dz:
        np.testing.assert_array_equal(dz.y.load().values, ds.y.values)
    export_results(store, tmp_path / "all.zarr")  # overwrite an earlier export
    csv = export_results(store, tmp_path / "all.csv")
    lines = csv.read_text().splitlines()
    assert lines[0].split(",") == ["run_id", "command", "a", "m", "tag", "poison", "last", "total", "wall_seconds"]
    assert len(lines) == 5
    # an incomplete grid still exports (missing points are NaN)
    shutil.rmtree(next(r.path for r in listing.runs if r.axes == {"a": 1.0, "m": 2}))
    with xr.open_dataset(export_results(store, tmp_path / "part.nc")) as part:
        assert np.all(np.isnan(part.y.sel(a=1.0, m=2).values))
    with pytest.raises(MimflowError, match="must end in"):
        export_results(store, tmp_path / "all.xlsx")


def test_export_parquet_needs_pyarrow(tmp_path):
    import importlib.util

    store = make_store(tmp_path / "runs")
    if importlib.util.find_spec("pyarrow") is None and importlib.util.find_spec("fastparquet") is None:
        with pytest.raises(MimflowError, match="pyarrow"):
            export_results(store, tmp_path / "t.parquet")
    else:  # pragma: no cover - depends on the environment
        import pandas as pd

        assert len(pd.read_parquet(export_results(store, tmp_path / "t.parquet"))) == 4
