"""The results store: one folder per run, written atomically, checked on every read.

Layout of a store ``DIR``::

    DIR/<run_id>/                  a finished run
        data.nc                    the run's xarray Dataset (netCDF3, scipy engine; named dims)
        config.json                {"command", "run_id", "version", "numerics", "config", "canonical"}
        result.json                {"scalars": {...}, "summary": {...}}
        meta.json                  package version, git SHA, JAX version, device, x64, wall time, host
        manifest.json              size and SHA-256 of the four files above, written last
    DIR/.tmp-<run_id>-<host>-<pid>-<random>/   a run being written (or left by a killed writer)
    DIR/_claims/<run_id>.claim     held while a writer computes the run (:mod:`._locks`)
    DIR/_damaged/<run_id>-<time>/  a damaged run moved aside before it was recomputed (never deleted)
    DIR/_outdated/<run_id>-<time>/ a run of other numerics moved aside before it was recomputed
    DIR/_failed/<run_id>.json      the last error of a run that failed (removed when it succeeds)
    DIR/_sweeps/<sweep_id>.json    the planned runs of each sweep started on DIR (for "pending")

``run_id`` is the first 16 hex digits of the sha256 of the canonical JSON of ``(command name,
canonical config, mimflow major.minor)`` (:func:`._canonical.canonical_config`: the link parsed to
canonical text, seeds ``0..S-1`` as ``S``, ``-0.0`` as ``0``, known ``None`` defaults resolved). The
numerics that computed it (:func:`._canonical.numerics_key`: the version, plus the commit for a
development install) are stored in ``config.json`` and checked on reuse: a run of other numerics is
moved to ``_outdated/`` and recomputed.

A run is written into ``.tmp-...``, every file is fsynced, ``manifest.json`` is written last, and
the folder is renamed to ``<run_id>`` in one ``os.rename``. Every read verifies the manifest
(:mod:`._manifest`): a damaged run (truncated, replaced, edited, a file missing) is listed as
``damaged`` with the reason, never reused (a run command or sweep moves it to ``_damaged/`` and
recomputes it) and never exported; ``mimflow results verify DIR`` checks a whole store. A run stored
before manifests existed is verified by opening its files and listed as ``unverified``.

Data is netCDF3 (``engine="scipy"``); read it with ``xarray.open_dataset(DIR/<run_id>/data.nc)``.
Export lives in :mod:`._export`. NaN/inf is never stored (the run is reported as failed). A write
error (disk full) is one line; the computed run is then stored in a fallback store under the
system's temporary folder when possible (the message names it). See the README, "Store", and docs/json-fields.md#results.
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
import tempfile
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mimflow import __version__
from mimflow._errors import MimflowError
from mimflow._lazy_exports import lazy_module
from mimflow.runs._canonical import canonical_config, git_sha, numerics_key, package_version
from mimflow.runs._config import canonical_json, config_dict
from mimflow.runs._io import atomic_write_json, to_jsonable, write_netcdf
from mimflow.runs._locks import claim_run, claimed_by_other, pid_alive, release_claim
from mimflow.runs._manifest import RunCheck, verify_run, write_manifest
from mimflow.runs._runs import RunResult, check_finite_result, get_run_command

# imported on first use: `mimflow results list` reads stored runs without JAX (its version goes in meta.json)
jax = lazy_module("jax")
jaxlib = lazy_module("jaxlib")
xr = lazy_module("xarray")

__all__ = [
    "RunClaimed",
    "check_run",
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
DAMAGED_DIR = "_damaged"
OUTDATED_DIR = "_outdated"
SPECIAL_DIRS = (FAILED_DIR, SWEEPS_DIR, DAMAGED_DIR, OUTDATED_DIR, "_claims")
CLAIM_POLL_SECONDS = 0.5


class RunClaimed(Exception):
    """Run ``run_id`` is being computed by another live writer (raised by ``run_and_store(wait=False)``)."""


# ---------------------------------------------------------------------------- ids
def _run_id_of(command: str, config: Mapping[str, Any], version: str) -> str:
    """The hash of ``(command, config, version)`` as given (runs stored before canonical ids)."""
    text = canonical_json({"command": command, "config": config, "version": version})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def run_id_of_dict(command: str, config: Mapping[str, Any], version: str | None = None) -> str:
    """The run id of a resolved config dict: the hash of its canonical form (see the module docstring)."""
    return _run_id_of(command, canonical_config(command, config), package_version() if version is None else version)


def _expected_id(record: Mapping[str, Any]) -> str:
    """The id a ``config.json`` record must hash to: its stored canonical config (so a later change of
    the canonical form never makes a stored run look damaged; the manifest covers the file), else the
    config as stored (runs from before canonical ids)."""
    if isinstance(record.get("canonical"), Mapping):
        return _run_id_of(record["command"], record["canonical"], record["version"])
    if "numerics" in record:
        return run_id_of_dict(record["command"], record["config"], record["version"])
    return _run_id_of(record["command"], record["config"], record["version"])


def run_id(command_name: str, config) -> str:
    """The content-hash id of a run: sha256 of canonical (command, canonical config, major.minor)."""
    command = get_run_command(command_name)
    cfg = _as_config(command, config)
    return run_id_of_dict(command.name, config_dict(cfg))


def _as_config(command, config):
    if isinstance(config, command.config_model):
        return config
    if config is None or isinstance(config, Mapping):
        return command.make_config(config)
    raise MimflowError(f"config of {command.name!r} must be a {command.config_model.__name__} or a dict, "
                       f"got {type(config).__name__}")


# ---------------------------------------------------------------------------- metadata
def _git_sha() -> str | None:
    """The commit of the source tree mimflow was imported from (see :func:`._canonical.git_sha`)."""
    return git_sha()


def _metadata(wall_seconds: float, started: float) -> dict[str, Any]:
    try:
        dev = jax.devices()[0]
        device = f"{dev.platform}: {getattr(dev, 'device_kind', dev)}"
    except Exception:  # pragma: no cover - no backend
        device = None
    return {
        "mimflow_version": __version__,
        "numerics": numerics_key(),
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


def save_run(
    out_dir: str | os.PathLike,
    command_name: str,
    config,
    result: RunResult,
    *,
    wall_seconds: float,
    started: float | None = None,
) -> tuple[Path, bool]:
    """Store a finished run atomically, with its manifest; returns ``(path, created)``.

    ``created`` is False when a good run was already stored (nothing is rewritten).

    Raises:
        MimflowError: the dataset contains NaN/inf (nothing is stored).
        OSError: the store cannot be written (nothing half-written is left).
    """
    command = get_run_command(command_name)
    cfg = _as_config(command, config)
    cfg_json = config_dict(cfg)
    version = package_version()
    canonical = canonical_config(command.name, cfg_json)
    rid = _run_id_of(command.name, canonical, version)
    out = Path(out_dir)
    final = out / rid
    if final.exists() and check_run(final).status == "ok":
        return final, False
    check_finite_result(f"{command.name} run {rid}", result.dataset)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"{TMP_PREFIX}{rid}-{_host()}-{os.getpid()}-{secrets.token_hex(4)}"  # owner in the name
    tmp.mkdir()
    try:
        ds = result.dataset.copy()
        ds.attrs = {**ds.attrs, "mimflow_command": command.name, "mimflow_run_id": rid}
        write_netcdf(ds, tmp / DATA_FILE)
        _fsync_path(tmp / DATA_FILE)
        _write_json_durable(tmp / "config.json", {"command": command.name, "run_id": rid, "version": version,
                                                  "numerics": numerics_key(), "config": cfg_json,
                                                  "canonical": canonical})
        _write_json_durable(tmp / "result.json", {"scalars": result.scalars, "summary": result.summary})
        _write_json_durable(tmp / "meta.json", _metadata(wall_seconds, time.time() if started is None else started))
        write_manifest(tmp, rid, list(RUN_FILES))  # last: a run without its manifest is not finished
        _fsync_path(tmp)
        if final.exists():  # damaged or outdated (a good one returned above): keep it, aside
            move_aside(out, rid, check_run(final).reason or "replaced")
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


def check_run(path: Path) -> RunCheck:
    """Verify a run folder (manifest, hashes, id; see :mod:`._manifest`). A run of other numerics
    (or of unknown numerics: stored before they were recorded) is good to read but ``outdated``."""
    check = verify_run(Path(path), _expected_id, RUN_FILES, _open_dataset)
    if check.good and check.config is not None and check.config.get("numerics") != numerics_key():
        stored = check.config.get("numerics") or "unrecorded"
        return RunCheck("outdated" if check.status == "ok" else "legacy",
                        f"computed by numerics {stored}, now {numerics_key()}", check.config)
    return check


def _open_dataset(path: Path) -> None:
    with xr.open_dataset(path, engine="scipy") as ds:
        ds.load()


def move_aside(out_dir, rid: str, reason: str) -> Path | None:
    """Move a stored run that must not be reused to ``_damaged/`` (or ``_outdated/``), with a record."""
    out = Path(out_dir)
    where = OUTDATED_DIR if reason.startswith("computed by numerics") else DAMAGED_DIR
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    dest = out / where / f"{rid}-{stamp}-{secrets.token_hex(2)}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(out / rid, dest)
    except FileNotFoundError:  # another writer moved it already
        return None
    atomic_write_json(dest.with_suffix(".json"), {"run_id": rid, "reason": reason, "moved_from": str(out / rid),
                                                  "time": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    return dest


def _stored(out: Path, rid: str) -> bool:
    """True when a good run of the current numerics is stored under ``rid``."""
    path = out / rid
    return path.is_dir() and check_run(path).status == "ok"


def run_and_store(command_name: str, config, out_dir: str | os.PathLike, *, progress=None,
                  wait: bool = True) -> tuple[str, Path, bool]:
    """Run ``command_name`` on ``config`` (a config model or a dict) unless already stored in ``out_dir``.

    Returns ``(run_id, path, reused)``; ``reused`` is True when a good run was already there (it is
    then neither recomputed nor rewritten). A damaged or outdated run is moved aside and recomputed.
    While another live writer holds the run's claim, this waits for it (``wait=True``) or raises
    :class:`RunClaimed` (``wait=False``: a sweep comes back for it later).

    Raises:
        MimflowError: a bad config, a run that diverged, or a store that cannot be written (one line;
            the computed run is then stored in a fallback store, named in the message, if possible).
    """
    command = get_run_command(command_name)
    cfg = _as_config(command, config)
    rid = run_id_of_dict(command.name, config_dict(cfg))
    out = Path(out_dir)
    path = out / rid
    while True:
        if _stored(out, rid):
            return rid, path, True
        out.mkdir(parents=True, exist_ok=True)
        if claim_run(out, rid):
            break
        if not wait:
            raise RunClaimed(rid)
        while claimed_by_other(out, rid) and not _stored(out, rid):
            time.sleep(CLAIM_POLL_SECONDS)
    try:
        if _stored(out, rid):  # finished by another writer between our check and our claim
            return rid, path, True
        if path.exists():
            move_aside(out, rid, check_run(path).reason or "unreadable")
        started = time.time()
        t0 = time.perf_counter()
        result = command.run(cfg, progress=progress)
        wall = time.perf_counter() - t0
        try:
            path, created = save_run(out, command.name, cfg, result, wall_seconds=wall, started=started)
        except OSError as exc:
            raise _write_failed(out, command.name, cfg, result, wall, started, exc) from None
        clear_failure(out, rid)
        return rid, path, not created
    finally:
        release_claim(out, rid)


def _write_failed(out: Path, command: str, cfg, result, wall: float, started: float, exc: OSError) -> MimflowError:
    """One line for a store that could not be written; the run goes to a fallback store if possible."""
    why = exc.strerror or str(exc)
    fallback = Path(tempfile.gettempdir()) / "mimflow-unsaved"
    try:
        kept, _ = save_run(fallback, command, cfg, result, wall_seconds=wall, started=started)
        keep = f"the computed run was stored in {kept} instead (copy that folder into {out})"
    except OSError:
        keep = "the computed run could not be kept anywhere; free space and run the same command again"
    return MimflowError(f"cannot write the run into {str(out)!r} ({why}): {keep}")


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
        if owner is None or owner[0] != host or pid_alive(owner[1]):
            continue
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp)
    return removed
