"""Canonical configs and the numerics key: run ids that mean "the same numbers".

Two configs that ask for the same computation must get the same run id, and a run computed by
different numerics must never be served as current. :func:`canonical_config` rewrites a resolved
config (the JSON dump of its pydantic model) before it is hashed:

* link fields (``link``, ``sigma``, ``student``, ``activation``) become the canonical text of their
  parsed tree (:func:`mimflow.targets._expression.canonical_text`): ``"h2"``, ``"h2(z)"`` and
  ``"h2( z )"`` are one link;
* a seed list ``[0, 1, ..., S-1]`` becomes the count ``S`` (the same seeds);
* ``-0.0`` becomes ``0.0``;
* a ``None`` default with a known meaning is replaced by that meaning (``rank`` of ``flow`` and of
  the two-timescale/committee/planted ``train``: the number of link variables ``r``; ``student`` of
  the neuron commands: ``sigma``), so an explicit default (``--rank 1`` for a one-variable link) is
  the same run as the default.

Values that cannot be parsed are left as they are (the command's own validation refuses them).

:func:`numerics_key` names the numerics that computed a run: ``major.minor`` of mimflow, plus
``+g<commit>`` for a development install (a source tree under git), since any commit may change a
solver. It is stored with every run and checked on reuse (the README, "Store").
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mimflow import __version__, targets
from mimflow._errors import MimflowError

__all__ = ["LINK_FIELDS", "canonical_config", "git_sha", "numerics_key", "package_version"]

LINK_FIELDS = frozenset({"link", "sigma", "student", "activation"})
"""Config field names that hold a link (a name or an expression in z)."""

_RANK_IS_R = {"flow": None, "train": frozenset({"two-timescale", "committee", "planted"})}
"""Commands (and, where it matters, algorithms) whose ``rank = None`` means ``rank = r`` (the link's variables)."""


def package_version() -> str:
    """``major.minor`` of mimflow: part of every run id (a new minor version recomputes)."""
    return ".".join(__version__.split(".")[:2])


@functools.lru_cache(maxsize=1)
def git_sha() -> str | None:
    """The commit of the source tree mimflow was imported from (read from .git, no subprocess)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        git = parent / ".git"
        if git.is_file():  # a worktree: "gitdir: PATH"
            try:
                target = git.read_text().strip()
            except OSError:
                return None
            git = Path(target[len("gitdir: "):]) if target.startswith("gitdir: ") else git
        if git.is_dir():
            try:
                head = (git / "HEAD").read_text().strip()
                if not head.startswith("ref: "):
                    return head
                ref = head[5:]
                ref_file = git / ref
                if ref_file.exists():
                    return ref_file.read_text().strip()
                packed = git / "packed-refs"
                if packed.exists():
                    for line in packed.read_text().splitlines():
                        if line.endswith(" " + ref):
                            return line.split()[0]
            except OSError:
                return None
            return None
    return None


def numerics_key() -> str:
    """``major.minor`` for a release install, ``major.minor+g<12 hex of the commit>`` for a development one."""
    sha = git_sha()
    return package_version() + (f"+g{sha[:12]}" if sha else "")


@functools.lru_cache(maxsize=512)
def _link_text(text: str) -> tuple[str, int] | None:
    try:
        link = targets.make_link(text)
    except (MimflowError, RecursionError, OverflowError, ValueError, TypeError):
        return None
    if link.tree is None:
        return None
    return targets.canonical_text(link.tree, link.r), link.r


def _clean(value: Any) -> Any:
    if isinstance(value, float) and value == 0.0:
        return 0.0  # -0.0 and 0.0 are one value
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    return value


def canonical_config(command: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical form of a resolved config (a JSON dict) of ``command``: see the module docstring."""
    out = _clean(dict(config))
    for key in list(out):
        value = out[key]
        if key in LINK_FIELDS and isinstance(value, str):
            canon = _link_text(value)
            if canon is not None:
                out[key] = canon[0]
        elif key == "seeds" and isinstance(value, list) and value and value == list(range(len(value))):
            out[key] = len(value)
    if "student" in out and out["student"] is None and isinstance(out.get("sigma"), str):
        out["student"] = out["sigma"]  # neurons: the student activation defaults to sigma*
    algorithms = _RANK_IS_R.get(command, ())
    if out.get("rank", 0) is None and (algorithms is None or out.get("algorithm") in algorithms):
        canon = _link_text(config.get("link", "")) if isinstance(config.get("link"), str) else None
        if canon is not None:
            out["rank"] = canon[1]
    return out
