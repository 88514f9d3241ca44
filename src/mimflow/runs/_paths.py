"""Output paths checked before any work: ``--out DIR``, ``--plot FILE``, ``--to FILE``.

A computation must never be lost because its output cannot be written. Each check raises one
:class:`~mimflow.MimflowError` line naming the option and the fix: a folder that is a file, lies
under a file or is not writable (checked with ``os.access`` *and* by creating and removing a probe
file, which also catches read-only mounts and root on a read-only file system), or a file name
whose suffix is not a known format.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mimflow._errors import MimflowError

__all__ = ["PLOT_SUFFIXES", "check_out_dir", "check_output_file", "check_plot_path"]

PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".svgz", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp", ".pgf")
"""The formats matplotlib writes."""


def _nearest_existing(path: Path) -> Path:
    for candidate in [path, *path.parents]:
        if os.path.lexists(candidate):
            return candidate
    return Path(".")


def _check_writable_folder(folder: Path, flag: str, shown: Path) -> None:
    if not folder.is_dir():
        raise MimflowError(f"{flag} {str(shown)!r}: {str(folder)!r} is a file, not a folder; pass a path in a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MimflowError(f"{flag} {str(shown)!r}: the folder {str(folder)!r} is not writable; pass a writable folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".mimflow-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise MimflowError(f"{flag} {str(shown)!r}: cannot write in {str(folder)!r} ({exc.strerror or exc}); "
                           "pass a writable folder") from None


def check_out_dir(path, flag: str = "--out") -> Path:
    """A results folder that exists (as a folder) or can be created, and is writable."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise MimflowError(f"{flag} {str(path)!r} is a file, not a folder: pass a folder (it is created if missing)")
    _check_writable_folder(_nearest_existing(path), flag, path)
    return path


def check_output_file(path, suffixes, flag: str, *, directory_ok: bool = False) -> Path:
    """An output file with one of ``suffixes`` whose folder exists or can be created and is writable."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise MimflowError(f"{flag} {str(path)!r}: unknown format {suffix or '(no suffix)'!r}; "
                           f"the name must end in {', '.join(suffixes)}")
    if path.is_dir() and not directory_ok:
        raise MimflowError(f"{flag} {str(path)!r} is a folder: pass a file name")
    _check_writable_folder(_nearest_existing(path.parent), flag, path)
    return path


def check_plot_path(path, flag: str = "--plot") -> Path:
    """A figure file: a format matplotlib writes, in a writable folder."""
    return check_output_file(path, PLOT_SUFFIXES, flag)
