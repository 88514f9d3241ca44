"""Atomic file writes: a reader never sees a half-written result.

Everything mimflow stores is first written to a temporary file in the destination
folder and then renamed over the final name (``os.replace`` is atomic on POSIX).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_savefig", "atomic_write_dataset", "atomic_write_json", "atomic_write_text", "to_jsonable",
           "write_netcdf"]


def _temp_beside(path: Path, suffix: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (write aside, fsync, rename)."""
    path = Path(path)
    tmp = _temp_beside(path, ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/JAX scalars and arrays to plain JSON types; non-finite floats become None."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return to_jsonable(np.asarray(obj).tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return atomic_write_text(path, json.dumps(to_jsonable(data), indent=2) + "\n")


def atomic_savefig(fig, path: str | os.PathLike, **kwargs) -> Path:
    """Save a matplotlib figure atomically (the format comes from the final suffix)."""
    path = Path(path)
    tmp = _temp_beside(path, path.suffix)
    try:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", **kwargs)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_netcdf(dataset, path: str | os.PathLike) -> None:
    """Write an xarray Dataset to ``path`` as netCDF3 (scipy engine); :func:`atomic_write_dataset` does it atomically."""
    import dask

    # Inside a Dask worker xarray would take a *distributed* lock for every variable (a round trip
    # to the scheduler each: ~100 ms a run); the file is private to this writer, so no lock.
    with dask.config.set(scheduler="synchronous"):
        dataset.to_netcdf(path, engine="scipy", format="NETCDF3_64BIT")


def atomic_write_dataset(dataset, path: str | os.PathLike) -> Path:
    """Write an xarray Dataset as netCDF (scipy engine, no extra dependency), atomically."""
    path = Path(path)
    tmp = _temp_beside(path, ".nc")
    try:
        write_netcdf(dataset, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
