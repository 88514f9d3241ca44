"""The results store: one folder per run, written atomically, never rewritten.

Layout of a store ``DIR``::

    DIR/<run_id>/                  a finished run (exists only complete: see below)
        data.nc                    the run's xarray Dataset (netCDF3, scipy engine; named dims)
        config.json                {"command", "run_id", "version", "config": resolved config}
        result.json                {"scalars": {...}, "summary": {...}}
        meta.json                  package version, git SHA, JAX version, device, x64, wall time, host
    DIR/.tmp-<run_id>-<host>-<pid>-<random>/   a run being written (or left by a killed writer)
    DIR/_failed/<run_id>.json      the last error of a run that failed (removed when it succeeds)
    DIR/_sweeps/<sweep_id>.json    the planned runs of each sweep started on DIR (for "pending")

``run_id`` is the first 16 hex digits of the sha256 of the canonical JSON of ``(command name,
resolved config, mimflow major.minor)``. A run is written into ``.tmp-...``, every file is fsynced,
and the folder is renamed to ``<run_id>`` in one ``os.rename`` (atomic on POSIX; it fails rather
than replace a non-empty folder). So a folder under a run id is complete by construction, a run
killed at any moment (``kill -9`` included) leaves only a ``.tmp-`` folder, and a finished run is
never written twice: if two writers race, the second rename fails and its copy is discarded.

Data is netCDF3 (``engine="scipy"``: no new dependency, one file per run, no consolidated-metadata
warnings); read it with ``xarray.open_dataset(DIR/<run_id>/data.nc)``. ``export_results``
concatenates the runs over their axes into one Dataset (``.nc`` or ``.zarr``; zarr format 2,
consolidated) or a table of their scalars (``.csv``; ``.parquet`` where pyarrow is installed).
Refusing NaN: a dataset with NaN/inf is never stored (the run is reported as failed).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._errors import MimflowError
from ._config import canonical_json, config_dict, flatten
from ._io import atomic_write_json, atomic_write_text, to_jsonable
from ._runs import RunResult, check_finite_result, get_run_command

__all__ = [
    "RunEntry",
    "StoreListing",
    "export_results",
    "list_runs",
    "load_run",
    "run_and_store",
    "run_id",
    "save_run",
]

DATA_FILE = "data.nc"
RUN_FILES = (DATA_FILE, "config.json", "result.json", "meta.json")
RUN_ID_RE = re.compile(r"^[0-9a-f]{16}$")
TMP_PREFIX = ".tmp-"
FAILED_DIR = "_failed"
SWEEPS_DIR = "_sweeps"


# ---------------------------------------------------------------------------- ids
def package_version() -> str:
    """``major.minor`` of mimflow: part of every run id (a new minor version recomputes)."""
    from .. import __version__

    return ".".join(__version__.split(".")[:2])


def _run_id_of(command: str, config: Mapping[str, Any], version: str) -> str:
    text = canonical_json({"command": command, "config": config, "version": version})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def run_id(command_name: str, config) -> str:
    """The content-hash id of a run: sha256 of canonical (command, resolved config, major.minor)."""
    command = get_run_command(command_name)
    cfg = _as_config(command, config)
    return _run_id_of(command.name, config_dict(cfg), package_version())


def _as_config(command, config):
    if isinstance(config, command.config_model):
        return config
    if config is None or isinstance(config, Mapping):
        return command.make_config(config)
    raise MimflowError(f"config of {command.name!r} must be a {command.config_model.__name__} or a dict, "
                       f"got {type(config).__name__}")


# ---------------------------------------------------------------------------- metadata
def _git_sha() -> str | None:
    """The commit of the source tree mimflow was imported from (read from .git, no subprocess)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        git = parent / ".git"
        if git.is_dir():
            try:
                head = (git / "HEAD").read_text().strip()
                if not head.startswith("ref: "):
                    return head
                ref = head[5:]
                ref_file = git / ref
                if ref_file.exists():
                    return ref_file.read_text().strip()
                packed = git / "packed-refs"
                if packed.exists():
                    for line in packed.read_text().splitlines():
                        if line.endswith(" " + ref):
                            return line.split()[0]
            except OSError:
                return None
            return None
    return None


def _metadata(wall_seconds: float, started: float) -> dict[str, Any]:
    import jax
    import jaxlib
    import numpy as np
    import xarray as xr

    from .. import __version__

    try:
        dev = jax.devices()[0]
        device = f"{dev.platform}: {getattr(dev, 'device_kind', dev)}"
    except Exception:  # pragma: no cover - no backend
        device = None
    return {
        "mimflow_version": __version__,
        "git_sha": _git_sha(),
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib.__version__,
        "device": device,
        "x64": bool(jax.config.jax_enable_x64),
        "wall_seconds": wall_seconds,
        "started": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": platform.python_version(),
        "numpy_version": np.__version__,
        "xarray_version": xr.__version__,
    }


# ---------------------------------------------------------------------------- writing
def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json_durable(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(to_jsonable(data), indent=2) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _write_dataset(ds, path: Path) -> None:
    import dask

    # Inside a Dask worker xarray would take a *distributed* lock for every variable (a round trip
    # to the scheduler each: ~100 ms a run); this file is private to this writer, so no lock.
    with dask.config.set(scheduler="synchronous"):
        ds.to_netcdf(path, engine="scipy", format="NETCDF3_64BIT")


def save_run(
    out_dir: str | os.PathLike,
    command_name: str,
    config,
    result: RunResult,
    *,
    wall_seconds: float,
    started: float | None = None,
) -> tuple[Path, bool]:
    """Store a finished run atomically; returns ``(path, created)``.

    ``created`` is False when the run was already stored (nothing is rewritten).

    Raises:
        MimflowError: the dataset contains NaN/inf (nothing is stored).
    """
    command = get_run_command(command_name)
    cfg = _as_config(command, config)
    cfg_json = config_dict(cfg)
    version = package_version()
    rid = _run_id_of(command.name, cfg_json, version)
    out = Path(out_dir)
    final = out / rid
    if final.exists():
        return final, False
    check_finite_result(f"{command.name} run {rid}", result.dataset)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"{TMP_PREFIX}{rid}-{_host()}-{os.getpid()}-{secrets.token_hex(4)}"  # owner in the name
    tmp.mkdir()
    try:
        ds = result.dataset.copy()
        ds.attrs = {**ds.attrs, "mimflow_command": command.name, "mimflow_run_id": rid}
        _write_dataset(ds, tmp / DATA_FILE)
        _fsync_path(tmp / DATA_FILE)
        _write_json_durable(tmp / "config.json",
                            {"command": command.name, "run_id": rid, "version": version, "config": cfg_json})
        _write_json_durable(tmp / "result.json", {"scalars": result.scalars, "summary": result.summary})
        _write_json_durable(tmp / "meta.json", _metadata(wall_seconds, time.time() if started is None else started))
        _fsync_path(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if final.exists():  # another writer finished the same run first: keep theirs
                return final, False
            raise
        _fsync_path(out)
        return final, True
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def run_and_store(command_name: str, config, out_dir: str | os.PathLike, *, progress=None) -> tuple[str, Path, bool]:
    """Run ``command_name`` on ``config`` (a config model or a dict) unless already stored in ``out_dir``.

    Returns ``(run_id, path, reused)``; ``reused`` is True when the run was already there (it is
    then neither recomputed nor rewritten).
    """
    command = get_run_command(command_name)
    cfg = _as_config(command, config)
    rid = _run_id_of(command.name, config_dict(cfg), package_version())
    out = Path(out_dir)
    path = out / rid
    if path.exists():
        return rid, path, True
    started = time.time()
    t0 = time.perf_counter()
    result = command.run(cfg, progress=progress)
    wall = time.perf_counter() - t0
    path, created = save_run(out, command.name, cfg, result, wall_seconds=wall, started=started)
    clear_failure(out, rid)
    return rid, path, not created


# ---------------------------------------------------------------------------- failures, sweeps
def record_failure(out_dir, rid: str, command: str, config: Mapping[str, Any], error: str, attempts: int) -> Path:
    """Write ``DIR/_failed/<run_id>.json`` (the run's last error)."""
    return atomic_write_json(Path(out_dir) / FAILED_DIR / f"{rid}.json", {
        "run_id": rid, "command": command, "config": dict(config), "error": error, "attempts": attempts,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })


def clear_failure(out_dir, rid: str) -> None:
    try:
        (Path(out_dir) / FAILED_DIR / f"{rid}.json").unlink()
    except FileNotFoundError:
        pass


def write_sweep_manifest(out_dir, command: str, axes: Mapping[str, list], runs: list[tuple[str, dict]]) -> Path:
    """Record a sweep's planned runs under ``DIR/_sweeps/`` (so ``results list`` can show pending runs)."""
    ids = [rid for rid, _ in runs]
    sweep_id = hashlib.sha256(canonical_json([command, ids]).encode()).hexdigest()[:16]
    path = Path(out_dir) / SWEEPS_DIR / f"{sweep_id}.json"
    if not path.exists():
        atomic_write_json(path, {"sweep_id": sweep_id, "command": command, "axes": dict(axes),
                                 "runs": [{"run_id": rid, "config": cfg} for rid, cfg in runs]})
    return path


def _host() -> str:
    return socket.gethostname().replace(os.sep, "_") or "host"


def _temp_owner(name: str) -> tuple[str, int] | None:
    """``(host, pid)`` from ``.tmp-<run_id>-<host>-<pid>-<random>``, or None."""
    rest = name[len(TMP_PREFIX) + 17:]
    parts = rest.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def clean_stale_temps(out_dir) -> list[Path]:
    """Remove ``.tmp-`` folders whose writer (a process on this host, named in the folder) is dead."""
    out = Path(out_dir)
    removed: list[Path] = []
    if not out.is_dir():
        return removed
    host = _host()
    for tmp in out.glob(f"{TMP_PREFIX}*"):
        owner = _temp_owner(tmp.name)
        if owner is None or owner[0] != host or _pid_alive(owner[1]):
            continue
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------------------- reading
@dataclass
class RunEntry:
    """One run of a store listing."""

    run_id: str
    command: str
    status: str  # "complete" | "failed" | "pending"
    config: dict[str, Any]
    path: Path | None = None
    scalars: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return to_jsonable({
            "run_id": self.run_id, "command": self.command, "status": self.status, "axes": self.axes,
            "scalars": self.scalars, "wall_seconds": self.wall_seconds, "error": self.error,
            "path": None if self.path is None else str(self.path), "config": self.config,
        })


@dataclass
class StoreListing:
    """``runs`` (complete, failed, pending), the ``axes`` along which they differ, and ``problems``
    (corrupt, foreign or half-written entries, each ``{"path", "problem"}``: skipped, never fatal)."""

    out_dir: Path
    runs: list[RunEntry]
    axes: dict[str, list[str]]
    problems: list[dict[str, str]]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.runs:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "counts": self.counts(), "axes": self.axes,
                "runs": [r.to_json() for r in self.runs], "problems": self.problems}


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _read_complete(path: Path) -> RunEntry:
    """Read and check a run folder; raises ValueError with the reason when it is corrupt."""
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    try:
        cfg = _read_json(path / "config.json")
        res = _read_json(path / "result.json")
        meta = _read_json(path / "meta.json")
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable JSON ({exc})") from None
    if not isinstance(cfg, dict) or not {"command", "config", "version"} <= set(cfg):
        raise ValueError("config.json lacks command/config/version")
    if _run_id_of(cfg["command"], cfg["config"], cfg["version"]) != path.name:
        raise ValueError("its config does not hash to its folder name (edited or renamed by hand)")
    if (path / DATA_FILE).stat().st_size == 0:
        raise ValueError(f"empty {DATA_FILE}")
    return RunEntry(path.name, cfg["command"], "complete", cfg["config"], path,
                    scalars=dict(res.get("scalars", {})) if isinstance(res, dict) else {},
                    wall_seconds=meta.get("wall_seconds") if isinstance(meta, dict) else None)


def list_runs(out_dir: str | os.PathLike) -> StoreListing:
    """Every run in ``out_dir`` with its status and axes; bad entries are reported, not fatal."""
    out = Path(out_dir)
    if not out.is_dir():
        raise MimflowError(f"results folder {str(out)!r} does not exist: pass the --out folder of a sweep")
    runs: dict[str, RunEntry] = {}
    problems: list[dict[str, str]] = []
    for child in sorted(out.iterdir()):
        name = child.name
        try:
            if name in (FAILED_DIR, SWEEPS_DIR) and child.is_dir():
                continue
            if name.startswith(TMP_PREFIX):
                problems.append({"path": str(child), "problem": "incomplete write of an interrupted run (ignored; "
                                 "removed by the next sweep on this folder)"})
                continue
            if child.is_dir() and RUN_ID_RE.match(name):
                runs[name] = _read_complete(child)
                continue
            problems.append({"path": str(child), "problem": "foreign entry (not a mimflow run; skipped)"})
        except ValueError as exc:
            problems.append({"path": str(child), "problem": f"corrupt run (skipped): {exc}"})
        except OSError as exc:
            problems.append({"path": str(child), "problem": f"unreadable (skipped): {exc}"})
    for path in sorted((out / FAILED_DIR).glob("*")) if (out / FAILED_DIR).is_dir() else []:
        try:
            rec = _read_json(path)
            rid = rec["run_id"]
            if rid not in runs:
                runs[rid] = RunEntry(rid, rec["command"], "failed", dict(rec["config"]), error=str(rec.get("error")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append({"path": str(path), "problem": f"corrupt failure record (skipped): {exc}"})
    for path in sorted((out / SWEEPS_DIR).glob("*")) if (out / SWEEPS_DIR).is_dir() else []:
        try:
            rec = _read_json(path)
            for run in rec["runs"]:
                rid = run["run_id"]
                if rid not in runs:
                    runs[rid] = RunEntry(rid, rec["command"], "pending", dict(run["config"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append({"path": str(path), "problem": f"corrupt sweep record (skipped): {exc}"})
    entries = list(runs.values())
    axes = _find_axes(entries)
    for entry in entries:
        flat = flatten(entry.config)
        entry.axes = {key: flat.get(key) for key in axes.get(entry.command, [])}
    entries.sort(key=lambda e: (e.command, [_sort_key(v) for v in e.axes.values()], e.run_id))
    return StoreListing(out, entries, axes, problems)


def _sort_key(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return (1, canonical_json(value))
    return (0, value)


def _find_axes(entries: list[RunEntry]) -> dict[str, list[str]]:
    """Per command, the dotted config keys whose values differ between its runs."""
    by_command: dict[str, list[dict]] = {}
    for e in entries:
        by_command.setdefault(e.command, []).append(flatten(e.config))
    axes = {}
    for command, flats in by_command.items():
        keys = list(dict.fromkeys(k for f in flats for k in f))
        axes[command] = [k for k in keys if len({canonical_json(f.get(k)) for f in flats}) > 1]
    return axes


def load_run(path: str | os.PathLike) -> dict[str, Any]:
    """A stored run: ``{"run_id", "command", "config", "scalars", "summary", "meta", "dataset"}``."""
    import xarray as xr

    path = Path(path)
    try:
        entry = _read_complete(path)
    except (ValueError, OSError) as exc:
        raise MimflowError(f"{str(path)!r} is not a complete mimflow run: {exc}") from None
    res = _read_json(path / "result.json")
    with xr.open_dataset(path / DATA_FILE, engine="scipy") as ds:
        data = ds.load()
    return {"run_id": entry.run_id, "command": entry.command, "config": entry.config,
            "scalars": res.get("scalars", {}), "summary": res.get("summary", {}),
            "meta": _read_json(path / "meta.json"), "dataset": data}


# ---------------------------------------------------------------------------- export
EXPORT_SUFFIXES = (".nc", ".zarr", ".csv", ".parquet")


def export_results(out_dir: str | os.PathLike, to: str | os.PathLike, *, command: str | None = None) -> Path:
    """Export the complete runs of ``out_dir`` to ``to`` (the format comes from its suffix).

    * ``.nc`` / ``.zarr``: one xarray Dataset over all axes (the config keys that differ between
      runs become dimensions; missing grid points are NaN), plus each scalar as a variable and
      ``run_id`` per grid point.
    * ``.csv`` / ``.parquet``: one row per run: ``run_id``, ``command``, every config key
      (dotted; lists as JSON), every scalar and ``wall_seconds``.
    """
    to = Path(to)
    suffix = to.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise MimflowError(f"cannot export to {to.name!r}: the file name must end in {', '.join(EXPORT_SUFFIXES)}")
    listing = list_runs(out_dir)
    complete = [r for r in listing.runs if r.status == "complete"]
    commands = sorted({r.command for r in complete})
    if command is not None:
        complete = [r for r in complete if r.command == command]
        if not complete:
            raise MimflowError(f"no complete {command!r} runs in {str(out_dir)!r}; commands there: {', '.join(commands) or 'none'}")
    elif len(commands) > 1:
        raise MimflowError(f"{str(out_dir)!r} holds runs of several commands ({', '.join(commands)}): pass --command NAME")
    if not complete:
        raise MimflowError(f"no complete runs in {str(out_dir)!r} to export")
    axes = _find_axes(complete)[complete[0].command]
    if suffix in (".csv", ".parquet"):
        return _export_table(complete, to, suffix)
    return _export_dataset(complete, axes, to, suffix)


def _table(runs: list[RunEntry]):
    import pandas as pd

    rows = []
    for r in runs:
        row: dict[str, Any] = {"run_id": r.run_id, "command": r.command}
        for key, value in flatten(r.config).items():
            row[key] = canonical_json(value) if isinstance(value, (list, dict)) else value
        for key, value in r.scalars.items():
            row[key if key not in row else f"scalar.{key}"] = value
        row["wall_seconds"] = r.wall_seconds
        rows.append(row)
    return pd.DataFrame(rows)


def _export_table(runs, to: Path, suffix: str) -> Path:
    frame = _table(runs)
    if suffix == ".csv":
        return atomic_write_text(to, frame.to_csv(index=False))
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None and importlib.util.find_spec("fastparquet") is None:
        raise MimflowError("exporting to .parquet needs pyarrow (pip install pyarrow); or export to .csv")
    to.parent.mkdir(parents=True, exist_ok=True)
    tmp = to.with_name(f".{to.name}.{secrets.token_hex(4)}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, to)
    finally:
        if tmp.exists():
            tmp.unlink()
    return to


def _axis_label(value):
    if value is None or isinstance(value, (list, dict)):
        return canonical_json(value)
    return value


def _export_dataset(runs: list[RunEntry], axes: list[str], to: Path, suffix: str) -> Path:
    import numpy as np
    import xarray as xr

    datasets = []
    for r in runs:
        with xr.open_dataset(r.path / DATA_FILE, engine="scipy") as ds:
            data = ds.load()
        data.attrs = {k: v for k, v in data.attrs.items() if k not in ("mimflow_run_id",)}
        datasets.append(data)
    taken = set().union(*(set(d.variables) | set(d.dims) for d in datasets))
    names = {ax: (ax if ax not in taken else f"config.{ax}") for ax in axes}
    combined = xr.concat(datasets, dim="run", join="outer", coords="different", compat="equals",
                         data_vars="all", combine_attrs="drop_conflicts")
    extra = {"run_id": ("run", np.array([r.run_id for r in runs], dtype=object))}
    scalar_keys = list(dict.fromkeys(k for r in runs for k in r.scalars))
    for key in scalar_keys:
        name = key if key not in taken and key not in names.values() else f"scalar.{key}"
        extra[name] = ("run", np.array([_float_or_nan(r.scalars.get(key)) for r in runs]))
    combined = combined.assign(extra)
    flats = [flatten(r.config) for r in runs]
    if axes:
        coords = {names[ax]: ("run", _coord_array([_axis_label(f.get(ax)) for f in flats])) for ax in axes}
        combined = combined.assign_coords(coords)
        if len(axes) == 1:  # one axis: the run dimension simply becomes that axis (no MultiIndex to unstack)
            combined = combined.swap_dims(run=names[axes[0]])
        else:
            combined = combined.set_index(run=[names[ax] for ax in axes]).unstack("run")
        combined = combined.transpose(*[names[ax] for ax in axes], ...)
    else:
        combined = combined.assign_coords(run=np.array([r.run_id for r in runs], dtype=object))
    base = {k: v for k, v in flats[0].items() if k not in axes}
    combined.attrs.update({"mimflow_command": runs[0].command, "mimflow_axes": canonical_json(axes),
                           "mimflow_base_config": canonical_json(base)})
    if suffix == ".nc":
        from ._io import atomic_write_dataset

        return atomic_write_dataset(combined, to)
    tmp = to.with_name(f".{to.name}.{secrets.token_hex(4)}.tmp")
    try:
        combined.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
        if to.exists():
            old = to.with_name(f".{to.name}.{secrets.token_hex(4)}.old")
            os.rename(to, old)
            os.rename(tmp, to)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, to)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return to


def _float_or_nan(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _coord_array(values):
    import numpy as np

    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array([v if isinstance(v, str) else canonical_json(v) for v in values], dtype=object)
