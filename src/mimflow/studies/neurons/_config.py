"""Shared checks of the ``neurons`` run commands' configs: a Gram matrix read from a file, one-variable
links, the number ``k`` of index vectors.

The configs are imported by ``mimflow neurons --help``, so names that import JAX are
:class:`~mimflow.studies._deferred.Deferred` (tests/test_startup.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mimflow._errors import MimflowError
from mimflow.studies._deferred import Deferred

check_gram = Deferred("mimflow.dynamics:check_gram")
_make_link = Deferred("mimflow.targets:make_link")


def load_gram(path) -> np.ndarray:
    """A Gram matrix from ``.npy``, ``.csv`` or ``.txt`` (whitespace or comma separated), validated."""
    path = Path(path)
    if not path.is_file():
        raise MimflowError(f"gram file {str(path)!r} not found")
    try:
        if path.suffix == ".npy":
            Q = np.load(path, allow_pickle=False)
        elif path.suffix in (".csv", ".txt", ".dat", ""):
            text = path.read_text()
            delimiter = "," if "," in text else None
            Q = np.loadtxt(path, delimiter=delimiter, ndmin=2)
        else:
            raise MimflowError(f"gram file {str(path)!r}: use .npy, .csv or .txt")
    except (ValueError, OSError) as exc:
        raise MimflowError(f"gram file {str(path)!r} could not be read as a matrix of numbers: {exc}") from None
    return check_gram(Q, name=f"gram matrix in {path.name}")


def check_link_text(value, label):
    """``value`` (a link text or ``None``) if it is a function of one variable ``z``; MimflowError otherwise."""
    if value is None:
        return value
    link = _make_link(value)
    if link.r != 1:
        raise MimflowError(f"{label} {value!r} must be a function of one variable z (got r = {link.r})")
    return value


def check_k(value, minimum: int, reason: str | None = None):
    """``value`` if the number of index vectors is at least ``minimum``; MimflowError otherwise.

    With ``reason`` (which ends the message) ``value`` is one ``k``; without, it is one ``k`` or a list of
    them (the phase diagram's axis) and the message names the whole value.
    """
    if reason is None:
        values = value if isinstance(value, list) else [value]
        if not values or any(v < minimum for v in values):
            raise MimflowError(f"k must be integers >= {minimum}, got {value!r}")
    elif value < minimum:
        raise MimflowError(f"k must be >= {minimum} {reason}, got {value}")
    return value
