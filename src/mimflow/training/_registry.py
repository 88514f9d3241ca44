"""The registry of training algorithms: one name, one builder ``(link, **options) -> TrainingAlgorithm``.

Adding a training rule is one builder module (its coefficient function, risk and population ``flow``)
and one entry in :data:`BUILDERS`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from mimflow._errors import MimflowError
from mimflow.targets import make_link
from mimflow.training._algorithm import TrainingAlgorithm
from mimflow.training._committee import committee
from mimflow.training._correlation import correlation
from mimflow.training._planted import planted
from mimflow.training._two_timescale import two_timescale

BUILDERS: dict[str, Callable[..., TrainingAlgorithm]] = {
    "two-timescale": two_timescale,
    "planted": planted,
    "correlation": correlation,
    "committee": committee,
}
"""Every registered training algorithm: name -> builder."""

ALGORITHMS = tuple(BUILDERS)

_CACHE: dict = {}


def make_algorithm(name: str, link, **options) -> TrainingAlgorithm:
    """Build the training algorithm ``name`` for the target link ``link`` (name, expression or Link).

    Options by algorithm (all keyword):

    * ``two-timescale``: ``student_rank``, ``degree`` (feature degree K), ``ridge``, ``kernel_decay``,
      ``link_fit`` (``"fresh"``/``"moments"``/``"running"``/``"sgd"``), ``fit_batch``, ``refit_every``, ``noise``;
    * ``planted``: ``noise``, ``degree`` (truncation of the risk);
    * ``correlation``: ``teacher_neurons``, ``student_neurons``, ``beta`` or ``gram``, ``noise``, ``degree``;
    * ``committee``: ``student_width``, ``activation``, ``constraint`` (``"sphere"``/``"free"``),
      ``train_second_layer``, ``noise``, ``degree``.

    Identical arguments return the same (cached) object, so compiled engines are reused.

    Example:
        >>> make_algorithm("planted", "h3").constraint
        'stiefel'
    """
    if name not in BUILDERS:
        raise MimflowError(f"unknown algorithm {name!r}; known: {', '.join(ALGORITHMS)}")
    key = None
    if isinstance(link, str):
        try:
            key = (name, link, tuple(sorted((k, _hashable(v)) for k, v in options.items())))
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in _CACHE:
            return _CACHE[key]
    link_obj = make_link(link)
    try:
        algo = BUILDERS[name](link_obj, **options)
    except TypeError as exc:
        raise MimflowError(f"bad option for algorithm {name!r}: {exc}") from None
    if key is not None:
        if len(_CACHE) > 32:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = algo
    return algo


def _hashable(value):
    if isinstance(value, np.ndarray):
        return (value.shape, value.tobytes())
    if isinstance(value, list):
        return tuple(value)
    return value
