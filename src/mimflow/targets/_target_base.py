r"""Targets: single-index, multi-index and sums of neurons (:class:`AbstractTarget`).

A target is the function being learnt, with optional label noise:

.. math::

    y = f^*(x) + \texttt{noise\_std}\,\xi, \qquad x \sim N(0, I_d),\ \xi \sim N(0, 1),

* :class:`SingleIndex`:  :math:`f^*(x) = f(w^{*\top} x)`, :math:`\|w^*\| = 1` (docs/math/grassmannian-flow.md §1.2 with r = 1);
* :class:`MultiIndex`:   :math:`f^*(x) = f(W^{*\top} x)`, :math:`W^* \in \mathrm{St}(d, r)` (docs/math/grassmannian-flow.md §1.2);
* :class:`SumOfNeurons`: :math:`f^*(x) = \sum_{j=1}^k \sigma(v_j^\top x)`, unit :math:`v_j`, any Gram
  matrix :math:`V^\top V` (docs/math/neurons.md §2.2-2.4).

Every target is an immutable :class:`equinox.Module` (a pytree): the links and the integers
that fix shapes are static, the direction matrix and ``noise_std`` are float64 array leaves.
Arguments are validated once, at construction and outside ``jit``; every mistake is a
one-line :class:`~mimflow.MimflowError` naming the field and the fix. Construction inside a
JAX transformation (traced arguments) skips the value checks, which cannot be made there.

Shapes: ``d`` input dimension, ``r`` number of link variables (``k`` for sums of neurons;
``.r`` is an alias), ``n`` number of samples. Every target has ``.d``, ``.r``, ``.link``
(``z (..., r) -> (...)``), ``.W_star`` ``(d, r)``, ``.noise_std`` and ``.clean(X)``, and
``target.link(X @ target.W_star) == target.clean(X)`` for all of them.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow.targets._links import Link


class AbstractTarget(eqx.Module):
    r"""A target :math:`y = f^*(x) + \texttt{noise\_std}\,\xi` on Gaussian inputs.

    Concrete targets provide ``link``, ``noise_std``, ``W_star`` ``(d, r)`` (a field or a
    property), the properties ``d`` and ``r``, and :meth:`clean`. Sampling lives in :func:`mimflow.targets.sample`.
    """

    # Only ``link`` is declared as an AbstractVar. ``noise_std`` would be placed, with its
    # default, before the subclasses' direction fields in the generated ``__init__``, and an
    # AbstractVar ``W_star`` cannot be met by a property (SingleIndex, SumOfNeurons) in
    # equinox 0.13, so these two are documented here and provided by every subclass.
    link: eqx.AbstractVar[Link]

    @property
    @abc.abstractmethod
    def d(self) -> int:
        """Input dimension."""

    @property
    @abc.abstractmethod
    def r(self) -> int:
        """Number of link variables (directions)."""

    @abc.abstractmethod
    def clean(self, X: Float[Array, "*batch d"]) -> Float[Array, "*batch"]:
        """Noiseless labels ``f*(x)`` for inputs of shape ``(..., d)``."""


def _check_input(X, d: int) -> Array:
    X = jnp.asarray(X)
    if X.ndim < 1 or X.shape[-1] != d:
        raise MimflowError(f"X must have shape (..., d) with d = {d}, got {X.shape}: pass inputs of dimension {d}")
    return X
