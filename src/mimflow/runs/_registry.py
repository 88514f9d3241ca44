"""Named reproductions behind ``mimflow reproduce NAME``, read from the catalogue.

Each reproduction writes a figure, the data behind it and its claims (``claims.json``) into an
output folder and returns the paths it wrote. The built-in ones are listed in
:data:`mimflow.runs._catalogue.REPRODUCTIONS` (one line each, docs/architecture.md); a library user
adds their own with :func:`register`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mimflow._errors import MimflowError
from mimflow.runs._catalogue import REPRODUCTIONS as CATALOGUE

__all__ = ["Reproduction", "list_reproductions", "load_target", "register", "reproduce"]


@dataclass(frozen=True)
class Reproduction:
    """A named reproduction: ``run(out_dir, quick) -> list of written paths``."""

    name: str
    description: str
    run: Callable[[Path, bool], list[Path]]


REPRODUCTIONS: dict[str, Reproduction] = {}
"""Reproductions added at run time with :func:`register` (the catalogue's are loaded on use)."""


def load_target(target: str):
    """The object named by ``"package.module:attribute"`` (imports the module)."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def register(name: str, description: str):
    """Decorator adding ``fn(out_dir: Path, quick: bool) -> list[Path]`` as reproduction ``name``."""

    def wrap(fn):
        if name in REPRODUCTIONS or any(entry.name == name for entry in CATALOGUE):
            raise RuntimeError(f"reproduction {name!r} registered twice")
        REPRODUCTIONS[name] = Reproduction(name, description, fn)
        return fn

    return wrap


def _entry(name: str) -> Reproduction | None:
    if name in REPRODUCTIONS:
        return REPRODUCTIONS[name]
    for entry in CATALOGUE:
        if entry.name == name:
            return Reproduction(entry.name, entry.description, load_target(entry.target))
    return None


def list_reproductions() -> list[Reproduction]:
    """Every reproduction, sorted by name (imports the study modules)."""
    names = {entry.name for entry in CATALOGUE} | set(REPRODUCTIONS)
    return [_entry(name) for name in sorted(names)]


def reproduce(name: str, out_dir: str | Path, *, quick: bool = False) -> list[Path]:
    """Run the reproduction ``name``, writing into ``out_dir / name``."""
    found = _entry(name)
    if found is None:
        known = ", ".join(sorted({entry.name for entry in CATALOGUE} | set(REPRODUCTIONS)))
        raise MimflowError(f"unknown reproduction {name!r}; known: {known}")
    target = Path(out_dir) / name
    target.mkdir(parents=True, exist_ok=True)
    return found.run(target, quick)
