"""Reading a results store: listing its runs with their verified status, loading one run.

Every run folder is verified on read (:func:`._store.check_run`: manifest, sizes, SHA-256, id,
numerics); see :mod:`._store` for the layout and the README, "Store", for the statuses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mimflow._errors import MimflowError
from mimflow._lazy_exports import lazy_module
from mimflow.runs._canonical import canonical_config
from mimflow.runs._config import canonical_json, flatten
from mimflow.runs._io import to_jsonable
from mimflow.runs._store import DATA_FILE, FAILED_DIR, RUN_ID_RE, SPECIAL_DIRS, SWEEPS_DIR, TMP_PREFIX, check_run

xr = lazy_module("xarray")  # imported when a run's data is opened: `results list` reads only its JSON

__all__ = ["RunEntry", "StoreListing", "list_runs", "load_run"]


STATUS_OF_CHECK = {"ok": "complete", "legacy": "unverified", "outdated": "outdated", "damaged": "damaged"}


@dataclass
class RunEntry:
    """One run of a store listing. ``status``: ``complete`` (manifest verified), ``unverified``
    (stored before manifests; its files open), ``outdated`` (verified, but computed by other
    numerics: the next run of it recomputes it), ``damaged`` (``error`` says why), ``failed``,
    ``pending``. ``config`` is the canonical config (what the id hashes)."""

    run_id: str
    command: str
    status: str
    config: dict[str, Any]
    path: Path | None = None
    scalars: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float | None = None
    error: str | None = None

    @property
    def readable(self) -> bool:
        """True for runs whose data can be exported (complete, unverified, outdated)."""
        return self.status in ("complete", "unverified", "outdated")

    def to_json(self) -> dict[str, Any]:
        return to_jsonable({
            "run_id": self.run_id, "command": self.command, "status": self.status, "axes": self.axes,
            "scalars": self.scalars, "wall_seconds": self.wall_seconds, "error": self.error,
            "path": None if self.path is None else str(self.path), "config": self.config,
        })


@dataclass
class StoreListing:
    """``runs`` (by status), the ``axes`` along which they differ, and ``problems`` (foreign or
    half-written entries, each ``{"path", "problem"}``: skipped, never fatal)."""

    out_dir: Path
    runs: list[RunEntry]
    axes: dict[str, list[str]]
    problems: list[dict[str, str]]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.runs:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    @property
    def damaged(self) -> list[RunEntry]:
        return [r for r in self.runs if r.status == "damaged"]

    def to_json(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "counts": self.counts(), "axes": self.axes,
                "runs": [r.to_json() for r in self.runs], "problems": self.problems}


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _canonical_of(command: str, config: Any) -> dict[str, Any]:
    return canonical_config(command, config) if isinstance(config, Mapping) else {}


def _entry_of(path: Path) -> RunEntry:
    """The listing entry of a run folder (verified; a damaged one says why)."""
    check = check_run(path)
    record = check.config or {}
    command = str(record.get("command", "?"))
    config = record.get("canonical") or _canonical_of(command, record.get("config"))
    entry = RunEntry(path.name, command, STATUS_OF_CHECK[check.status], dict(config), path)
    if check.status == "damaged":
        entry.error = check.reason
        return entry
    if check.status != "ok":
        entry.error = check.reason
    try:
        res = _read_json(path / "result.json")
        meta = _read_json(path / "meta.json")
    except (OSError, ValueError) as exc:  # legacy runs were opened already: only a race gets here
        entry.status, entry.error = "damaged", f"unreadable JSON ({type(exc).__name__})"
        return entry
    entry.scalars = dict(res.get("scalars", {})) if isinstance(res, dict) else {}
    entry.wall_seconds = meta.get("wall_seconds") if isinstance(meta, dict) else None
    return entry


def list_runs(out_dir: str | os.PathLike) -> StoreListing:
    """Every run in ``out_dir`` with its verified status and axes; foreign entries are reported, not fatal."""
    out = Path(out_dir)
    if not out.is_dir():
        raise MimflowError(f"results folder {str(out)!r} does not exist: pass the --out folder of a sweep")
    runs: dict[str, RunEntry] = {}
    problems: list[dict[str, str]] = []
    for child in sorted(out.iterdir()):
        name = child.name
        try:
            if name in SPECIAL_DIRS and child.is_dir():
                continue
            if name.startswith(TMP_PREFIX):
                problems.append({"path": str(child), "problem": "incomplete write of an interrupted run (ignored; "
                                 "removed by the next sweep on this folder)"})
                continue
            if child.is_dir() and RUN_ID_RE.match(name):
                runs[name] = _entry_of(child)
                continue
            problems.append({"path": str(child), "problem": "foreign entry (not a mimflow run; skipped)"})
        except OSError as exc:
            problems.append({"path": str(child), "problem": f"unreadable (skipped): {exc}"})
    for path in sorted((out / FAILED_DIR).glob("*")) if (out / FAILED_DIR).is_dir() else []:
        try:
            rec = _read_json(path)
            rid = rec["run_id"]
            if rid not in runs:
                runs[rid] = RunEntry(rid, rec["command"], "failed", _canonical_of(rec["command"], rec["config"]),
                                     error=str(rec.get("error")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append({"path": str(path), "problem": f"corrupt failure record (skipped): {exc}"})
    for path in sorted((out / SWEEPS_DIR).glob("*")) if (out / SWEEPS_DIR).is_dir() else []:
        try:
            rec = _read_json(path)
            for run in rec["runs"]:
                rid = run["run_id"]
                if rid not in runs:
                    runs[rid] = RunEntry(rid, rec["command"], "pending", _canonical_of(rec["command"], run["config"]))
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
    """A stored run: ``{"run_id", "command", "config", "scalars", "summary", "meta", "dataset"}``.

    Raises:
        MimflowError: the folder is not a run, or the run is damaged (the reason is in the message).
    """
    path = Path(path)
    check = check_run(path)
    if not check.good and check.status != "outdated":
        raise MimflowError(f"{str(path)!r} is not a complete mimflow run: {check.reason}")
    record = check.config or {}
    res = _read_json(path / "result.json")
    with xr.open_dataset(path / DATA_FILE, engine="scipy") as ds:
        data = ds.load()
    return {"run_id": path.name, "command": record["command"], "config": record["config"],
            "scalars": res.get("scalars", {}), "summary": res.get("summary", {}),
            "meta": _read_json(path / "meta.json"), "dataset": data}
