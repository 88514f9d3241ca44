r"""Learning rates, batch sizes and sample sizes given as plain numbers or as powers of ``d``.

The field writes hyperparameters as scalings in the dimension: a learning rate
:math:`\eta = \eta_0\,d^{-\delta}`, a batch :math:`B = b_0\,d^{\mu}`, a sample size
:math:`n = \alpha\,d^{\kappa}`. :class:`Scaling` holds ``(coefficient, exponent)``; the resolvers
turn it (or a plain number) into the value used at a given ``d`` and refuse bad input with a
:class:`~mimflow.MimflowError` naming the field.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mimflow._errors import MimflowError, check_finite


class Scaling(NamedTuple):
    """``coefficient * d**(-exponent)`` for learning rates, ``round(coefficient * d**exponent)`` for sizes."""

    coefficient: float
    exponent: float


def _check_number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise MimflowError(f"{name} must be a number or a Scaling(coefficient, exponent), got {value!r}")
    check_finite(name, value)
    return float(value)


def resolve_learning_rate(lr, d: int) -> float:
    r"""The step size :math:`\eta` at dimension ``d``: ``lr`` or ``Scaling(eta0, delta)`` -> :math:`\eta_0 d^{-\delta}`.

    Raises:
        MimflowError: non-finite or non-positive learning rate.
    """
    if isinstance(lr, Scaling):
        eta0 = _check_number("lr coefficient", lr.coefficient)
        delta = _check_number("lr exponent", lr.exponent)
        eta = eta0 * float(d) ** (-delta)
    else:
        eta = _check_number("lr", lr)
    if not eta > 0:
        raise MimflowError(f"the learning rate must be positive, got {eta!r}: pass lr > 0")
    return eta


def resolve_size(name: str, value, d: int, *, minimum: int = 1) -> int:
    r"""A batch or sample size at dimension ``d``: an int or ``Scaling(b0, mu)`` -> ``round(b0 d^mu)``."""
    if isinstance(value, Scaling):
        coefficient = _check_number(f"{name} coefficient", value.coefficient)
        exponent = _check_number(f"{name} exponent", value.exponent)
        size = int(round(coefficient * float(d) ** exponent))
    else:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) and not (
            isinstance(value, float) and value.is_integer()
        ):
            raise MimflowError(f"{name} must be a positive integer or a Scaling(coefficient, exponent), got {value!r}")
        size = int(value)
    if size < minimum:
        raise MimflowError(f"{name} = {size} at d = {d}: it must be at least {minimum}")
    if size > 10**9:
        raise MimflowError(f"{name} = {size} at d = {d} is too large (> 1e9): lower it")
    return size
