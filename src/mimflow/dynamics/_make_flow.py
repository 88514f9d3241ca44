"""The registry of population flows: one name, one builder (docs/math/grassmannian-flow.md §1.4, docs/math/planted.md §1.7, docs/math/neurons.md §2.2).

:data:`FLOWS` maps a name to a builder ``(spectrum, **options) -> OverlapFlow``; :func:`make_flow`
looks the name up there and caches the result. Adding a population limit is one builder and one
entry here; :func:`~mimflow.dynamics.solve_flow` solves every one of them.
"""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from mimflow._errors import MimflowError
from mimflow.dynamics._correlation import correlation_flow
from mimflow.dynamics._flows import OverlapFlow, as_multivariate, planted_flow, two_timescale_flow


def _two_timescale(spectrum, *, student_rank: int | None = None, ridge: float = 0.0,
                   kernel_decay: float = 0.5) -> OverlapFlow:
    return two_timescale_flow(spectrum, student_rank=student_rank, ridge=ridge, kernel_decay=kernel_decay)


def _planted(spectrum, *, student_rank: int | None = None, ridge: float = 0.0, kernel_decay: float = 0.5) -> OverlapFlow:
    del kernel_decay  # no link fit, nothing to shrink
    if ridge:
        raise MimflowError("ridge applies to the two-timescale link fit only: drop --ridge for --algorithm planted")
    return planted_flow(spectrum, student_rank=student_rank)


def _correlation(spectrum, *, student_rank: int | None = None, gram=None) -> OverlapFlow:
    """Neurons with the target's own activation (``sigma = sigma*``): ``g(m) = sum_k c_k^2 m^k``."""
    if spectrum.r != 1:
        raise MimflowError(f"the correlation flow needs a one-variable activation, got r = {spectrum.r}")
    gram = np.eye(1) if gram is None else gram
    neurons = np.asarray(gram).shape[0] if student_rank is None else student_rank
    return correlation_flow(spectrum.values**2, gram, neurons=neurons, spectrum=spectrum)


FLOWS: dict[str, Callable[..., OverlapFlow]] = {
    "two-timescale": _two_timescale,
    "planted": _planted,
    "correlation": _correlation,
}
"""Every registered population flow: name -> builder ``(spectrum, **options)``."""

ALGORITHMS = tuple(FLOWS)

_FLOW_CACHE: dict = {}
_FLOW_CACHE_SIZE = 32


def _hashable(value):
    if isinstance(value, np.ndarray) or isinstance(value, list):
        array = np.asarray(value, dtype=float)
        return (array.shape, array.tobytes())
    return value


def make_flow(algorithm: str, spectrum, **options) -> OverlapFlow:
    """Build the flow named ``algorithm`` (a key of :data:`FLOWS`) from a link's spectrum.

    Options by flow (all keyword): ``two-timescale``: ``student_rank``, ``ridge``, ``kernel_decay``;
    ``planted``: ``student_rank`` (must be ``r``); ``correlation``: ``gram`` (``(k, k)``, default the
    identity of size 1), ``student_rank`` (neurons, default ``k``).

    Flows are cached by the content of their spectrum and options: the solver is compiled per
    flow object, so an identical flow built again (the next run of a sweep, the same link in a
    test) reuses the compiled code instead of compiling it anew.

    Example:
        >>> from mimflow.targets import multivariate_spectrum
        >>> make_flow("planted", multivariate_spectrum("h3", 3)).geometry
        'stiefel'
    """
    if algorithm not in FLOWS:
        raise MimflowError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")
    spec = as_multivariate(spectrum)
    builder = FLOWS[algorithm]
    try:
        bound = inspect.signature(builder).bind(spec, **options)
    except TypeError as exc:
        raise MimflowError(f"bad option for flow {algorithm!r}: {exc}") from None
    bound.apply_defaults()  # the same flow whether an option is passed at its default or left out
    key = (algorithm, spec.r, spec.degree, spec.values.tobytes(), spec.multi_indices.tobytes(),
           tuple((name, _hashable(value)) for name, value in list(bound.arguments.items())[1:]))
    if key in _FLOW_CACHE:
        return _FLOW_CACHE[key]
    flow = builder(spec, **options)
    if len(_FLOW_CACHE) >= _FLOW_CACHE_SIZE:
        _FLOW_CACHE.pop(next(iter(_FLOW_CACHE)))
    _FLOW_CACHE[key] = flow
    return flow
