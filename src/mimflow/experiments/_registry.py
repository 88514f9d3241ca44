"""The registry of named reproductions behind ``mimflow reproduce NAME``.

Each entry writes a figure and the data behind it into an output folder and returns the
paths it wrote. Every capability of mimflow registers its headline results here with
:func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._errors import MimflowError


@dataclass(frozen=True)
class Reproduction:
    """A named reproduction: ``run(out_dir, quick) -> list of written paths``."""

    name: str
    description: str
    run: Callable[[Path, bool], list[Path]]


REPRODUCTIONS: dict[str, Reproduction] = {}


def register(name: str, description: str):
    """Decorator adding ``fn(out_dir: Path, quick: bool) -> list[Path]`` to the registry."""

    def wrap(fn):
        if name in REPRODUCTIONS:
            raise RuntimeError(f"reproduction {name!r} registered twice")
        REPRODUCTIONS[name] = Reproduction(name, description, fn)
        return fn

    return wrap


def _load_all() -> None:
    # Importing the modules registers their reproductions.
    from . import _demo, _neurons_repro, _saddles_demo  # noqa: F401
    from . import _spectral_repro  # noqa: F401  (spectral-overlap)
    from . import _training_studies  # noqa: F401  (sgd-vs-ode, sample-complexity; needs mimflow.training)
    from . import _dmft_wirtinger  # noqa: F401  (dmft-wirtinger)
    from . import _amp_repro  # noqa: F401  (algorithms-vs-limits)


def list_reproductions() -> list[Reproduction]:
    _load_all()
    return sorted(REPRODUCTIONS.values(), key=lambda r: r.name)


def reproduce(name: str, out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    """Run the reproduction ``name``, writing into ``out_dir / name``."""
    _load_all()
    if name not in REPRODUCTIONS:
        known = ", ".join(sorted(REPRODUCTIONS)) or "(none)"
        raise MimflowError(f"unknown reproduction {name!r}; known: {known}")
    target = Path(out_dir) / name
    target.mkdir(parents=True, exist_ok=True)
    return REPRODUCTIONS[name].run(target, quick)
