"""Shared pieces of the ``neurons`` run commands: reading a Gram matrix, checking one-variable links."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mimflow._errors import MimflowError


def load_gram(path) -> np.ndarray:
    """A Gram matrix from ``.npy``, ``.csv`` or ``.txt`` (whitespace or comma separated), validated."""
    from mimflow.dynamics import check_gram

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
    from mimflow.targets import make_link

    if value is None:
        return value
    link = make_link(value)
    if link.r != 1:
        raise MimflowError(f"{label} {value!r} must be a function of one variable z (got r = {link.r})")
    return value
