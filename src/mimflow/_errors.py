"""The one exception type for user mistakes.

Every error a user can cause (a bad link expression, a non-orthonormal ``W*``, a NaN
parameter, ...) is raised as :class:`MimflowError` with a one-line message that names
the offending field and says how to fix it. The command line prints that line and
exits with status 2; it never shows a traceback for a ``MimflowError``.
"""

from __future__ import annotations

from mimflow._lazy_exports import lazy_module

np = lazy_module("numpy")  # imported on first use: `mimflow --help` imports this module, not NumPy


class MimflowError(ValueError):
    """A user mistake, described in one line that names the field and the fix."""


def check_finite(name: str, value) -> None:
    """Refuse NaN/inf in a user-given scalar or array, naming ``name``."""
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        if arr.ndim == 0:
            raise MimflowError(f"{name} must be finite, got {float(arr)!r}: pass a real number")
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise MimflowError(
            f"{name} must be finite, but entry {tuple(int(i) for i in bad)} is {arr[tuple(bad)]!r}: pass finite numbers"
        )
