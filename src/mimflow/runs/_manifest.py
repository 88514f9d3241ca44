"""Run manifests: the size and SHA-256 of every file of a stored run, and the check of a run folder.

Every run folder written by this version holds ``manifest.json``, written last (after every other
file is fsynced, itself atomically, before the folder is renamed into place)::

    {"format": 1, "run_id": "...", "files": {"data.nc": {"size": 1234, "sha256": "..."}, ...}}

:func:`verify_run` checks a folder and returns a :class:`RunCheck`: ``ok`` (every listed file is
there with its size and hash, and the config hashes to the folder name), ``damaged`` with the
reason (a file missing, truncated, changed or unreadable; the manifest missing from a run that
should have one), or, for a run stored before manifests existed (``config.json`` without a
``numerics`` key), ``legacy``: its JSON files are parsed and its dataset opened instead
(``damaged`` if that fails). See the README, "Store", and docs/json-fields.md#results.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_FILE", "RunCheck", "file_digest", "verify_run", "write_manifest"]

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
_CHUNK = 1 << 20


def file_digest(path: Path) -> tuple[int, str]:
    """``(size in bytes, sha256 hex)`` of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def write_manifest(folder: Path, run_id: str, names: list[str]) -> Path:
    """Write ``folder/manifest.json`` for ``names`` (already written and fsynced), atomically and durably."""
    files = {}
    for name in names:
        size, digest = file_digest(folder / name)
        files[name] = {"size": size, "sha256": digest}
    path = folder / MANIFEST_FILE
    tmp = folder / f".{MANIFEST_FILE}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"format": MANIFEST_FORMAT, "run_id": run_id, "files": files}, indent=2) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class RunCheck:
    """The verdict on one run folder: ``status`` is ``"ok"``, ``"legacy"`` (no manifest, opened fine)
    or ``"damaged"``; ``reason`` says what is wrong (empty when nothing is)."""

    status: str
    reason: str = ""
    config: dict[str, Any] | None = None

    @property
    def good(self) -> bool:
        return self.status in ("ok", "legacy")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def verify_run(path: Path, expected_id: Callable[[dict], str], required: tuple[str, ...],
               open_dataset: Callable[[Path], None]) -> RunCheck:
    """Check the run folder ``path`` (see the module docstring).

    Args:
        path: the run folder (named by its run id).
        expected_id: the run id a ``config.json`` record must hash to.
        required: the files every run has (besides the manifest).
        open_dataset: opens and reads a dataset file, raising on any damage (legacy runs only).
    """
    try:
        cfg = _read_json(path / "config.json")
    except FileNotFoundError:
        return RunCheck("damaged", "config.json is missing")
    except (OSError, ValueError) as exc:
        return RunCheck("damaged", f"config.json is unreadable ({type(exc).__name__})")
    if not isinstance(cfg, dict) or not {"command", "config", "version"} <= set(cfg):
        return RunCheck("damaged", "config.json lacks command/config/version")
    if expected_id(cfg) != path.name:
        return RunCheck("damaged", "its config does not hash to its folder name (edited or renamed by hand)", cfg)
    manifest_path = path / MANIFEST_FILE
    if "numerics" not in cfg:  # stored before manifests: open everything instead
        return _verify_by_opening(path, cfg, required, open_dataset)
    try:
        manifest = _read_json(manifest_path)
        files = manifest["files"]
        if manifest.get("run_id") != path.name or not isinstance(files, dict):
            raise ValueError("wrong run id")
    except FileNotFoundError:
        return RunCheck("damaged", f"{MANIFEST_FILE} is missing (the run was not finished or was tampered with)", cfg)
    except (OSError, ValueError, KeyError, TypeError):
        return RunCheck("damaged", f"{MANIFEST_FILE} is unreadable", cfg)
    for name in required:
        if name not in files:
            return RunCheck("damaged", f"{name} is not in {MANIFEST_FILE}", cfg)
    for name, record in files.items():
        file = path / name
        try:
            size, digest = file_digest(file)
        except FileNotFoundError:
            return RunCheck("damaged", f"{name} is missing", cfg)
        except OSError as exc:
            return RunCheck("damaged", f"{name} is unreadable ({exc.strerror or exc})", cfg)
        if size != record.get("size"):
            return RunCheck("damaged", f"{name} has {size} bytes, its manifest says {record.get('size')} (truncated or replaced)", cfg)
        if digest != record.get("sha256"):
            return RunCheck("damaged", f"{name} does not match its SHA-256 in {MANIFEST_FILE} (changed after it was stored)", cfg)
    return RunCheck("ok", "", cfg)


def _verify_by_opening(path: Path, cfg: dict, required: tuple[str, ...], open_dataset) -> RunCheck:
    for name in required:
        if not (path / name).is_file():
            return RunCheck("damaged", f"{name} is missing", cfg)
    for name in required:
        if name.endswith(".json"):
            try:
                _read_json(path / name)
            except (OSError, ValueError) as exc:
                return RunCheck("damaged", f"{name} is unreadable ({type(exc).__name__})", cfg)
    for name in required:
        if name.endswith(".nc"):
            try:
                open_dataset(path / name)
            except Exception as exc:  # any failure to read the data is damage
                return RunCheck("damaged", f"{name} cannot be read ({type(exc).__name__})", cfg)
    return RunCheck("legacy", "stored before manifests: no checksum, verified by opening its files", cfg)
