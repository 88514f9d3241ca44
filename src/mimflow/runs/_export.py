"""Export of a results store: one xarray Dataset over the axes, or a table of scalars.

Only readable runs are exported (``complete``, and ``unverified``/``outdated`` ones, which are
named); damaged runs, and runs whose data cannot be read at export time, are left out and named in
:class:`ExportReport` (``mimflow results export`` prints them), so one bad run never blocks an
export. Two stored runs with the same canonical config (one stored before canonical ids) give one
grid point: the verified, newest one. See the README, "Store", and docs/json-fields.md#results.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mimflow._errors import MimflowError
from mimflow._lazy_exports import lazy_module
from mimflow.runs._config import canonical_json, flatten
from mimflow.runs._io import atomic_write_dataset, atomic_write_text
from mimflow.runs._paths import check_output_file
from mimflow.runs._listing import RunEntry, _find_axes, list_runs
from mimflow.runs._store import DATA_FILE

pd = lazy_module("pandas")  # for a table export only
xr = lazy_module("xarray")

__all__ = ["EXPORT_SUFFIXES", "ExportReport", "export_results", "export_runs"]

EXPORT_SUFFIXES = (".nc", ".zarr", ".csv", ".parquet")


@dataclass
class ExportReport:
    """``path`` written, ``exported`` runs, ``skipped`` (``{"run_id", "status", "reason"}``) and
    ``flagged`` (exported runs that are unverified or outdated, with the reason)."""

    path: Path
    exported: list[RunEntry]
    skipped: list[dict[str, Any]] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)


_RANK = {"complete": 0, "outdated": 1, "unverified": 2}


def _dedupe(runs: list[RunEntry], skipped: list[dict]) -> list[RunEntry]:
    best: dict[tuple[str, str], RunEntry] = {}
    for r in sorted(runs, key=lambda r: (_RANK.get(r.status, 3), -(r.path.stat().st_mtime if r.path else 0))):
        key = (r.command, canonical_json(r.config))
        if key in best:
            skipped.append({"run_id": r.run_id, "status": r.status,
                            "reason": f"same config as run {best[key].run_id} (exported instead)"})
            continue
        best[key] = r
    return [r for r in runs if best.get((r.command, canonical_json(r.config))) is r]


def export_runs(out_dir: str | os.PathLike, to: str | os.PathLike, *, command: str | None = None) -> ExportReport:
    """Export the readable runs of ``out_dir`` to ``to`` (the format comes from its suffix).

    * ``.nc`` / ``.zarr``: one xarray Dataset over all axes (the config keys that differ between
      runs become dimensions; missing grid points are NaN), plus each scalar as a variable and
      ``run_id`` per grid point.
    * ``.csv`` / ``.parquet``: one row per run: ``run_id``, ``command``, every config key
      (dotted; lists as JSON), every scalar and ``wall_seconds``.

    Raises:
        MimflowError: an unknown suffix or unwritable destination (checked before reading any run),
            no readable runs, several commands without ``command``.
    """
    to = check_output_file(to, EXPORT_SUFFIXES, "--to", directory_ok=Path(to).suffix.lower() == ".zarr")
    suffix = to.suffix.lower()
    listing = list_runs(out_dir)
    skipped = [{"run_id": r.run_id, "status": r.status, "reason": r.error or r.status}
               for r in listing.runs if r.status == "damaged" and (command is None or r.command == command)]
    readable = [r for r in listing.runs if r.readable]
    commands = sorted({r.command for r in readable})
    if command is not None:
        readable = [r for r in readable if r.command == command]
        if not readable:
            raise MimflowError(f"no complete {command!r} runs in {str(out_dir)!r}; commands there: {', '.join(commands) or 'none'}")
    elif len(commands) > 1:
        raise MimflowError(f"{str(out_dir)!r} holds runs of several commands ({', '.join(commands)}): pass --command NAME")
    if not readable:
        raise MimflowError(f"no complete runs in {str(out_dir)!r} to export")
    readable = _dedupe(readable, skipped)
    if suffix in (".csv", ".parquet"):
        path = _export_table(readable, to, suffix)
    else:
        readable, datasets = _open_all(readable, skipped)
        if not readable:
            raise MimflowError(f"no readable runs in {str(out_dir)!r} to export (all damaged: see `mimflow results verify`)")
        path = _export_dataset(readable, datasets, _find_axes(readable)[readable[0].command], to, suffix)
    flagged = [{"run_id": r.run_id, "status": r.status, "reason": r.error} for r in readable if r.status != "complete"]
    return ExportReport(path, readable, skipped, flagged)


def _open_all(runs: list[RunEntry], skipped: list[dict]):
    kept, datasets = [], []
    for r in runs:
        try:
            with xr.open_dataset(r.path / DATA_FILE, engine="scipy") as ds:
                data = ds.load()
        except Exception as exc:  # damaged after it was listed: leave it out, name it
            skipped.append({"run_id": r.run_id, "status": "damaged", "reason": f"{DATA_FILE} cannot be read ({type(exc).__name__})"})
            continue
        data.attrs = {k: v for k, v in data.attrs.items() if k not in ("mimflow_run_id",)}
        kept.append(r)
        datasets.append(data)
    return kept, datasets


def _table(runs: list[RunEntry]):
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


def _export_dataset(runs: list[RunEntry], datasets: list, axes: list[str], to: Path, suffix: str) -> Path:
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
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array([v if isinstance(v, str) else canonical_json(v) for v in values], dtype=object)


def export_results(out_dir, to, *, command: str | None = None) -> Path:
    """Export the readable runs of ``out_dir`` to ``to``; returns the path (see :func:`export_runs`)."""
    return export_runs(out_dir, to, command=command).path
