r"""Per-sample losses ``l(r; y)`` for full-batch gradient descent (docs/math/dmft.md §3.2).

A :class:`Loss` holds the loss and the three derivatives the DMFT needs, all elementwise in JAX:

.. math::

    \ell(r; y),\qquad \ell'(r; y) = \partial_r \ell,\qquad \ell''(r; y) = \partial_r^2 \ell,\qquad
    \partial_y \ell'(r; y) = \partial_y \partial_r \ell .

Built-in names (:func:`make_loss`):

* ``wirtinger``: ``(r^2 - y)^2 / 4`` (regularised Wirtinger flow for real phase retrieval);
  ``l' = (r^2 - y) r``, ``l'' = 3 r^2 - y``, ``d_y l' = -r`` (closed forms, docs/math/dmft.md §3.2);
* ``square``: ``(r - y)^2 / 2`` (ridge regression by GD); ``l' = r - y``, ``l'' = 1``, ``d_y l' = -1``;
* ``logistic``: ``log(1 + exp(-y r))`` for labels ``y = +-1``.

Any other text is an expression in ``r`` and ``y`` in the restricted grammar of
:mod:`mimflow.targets` (e.g. ``"(r**2 - y)**2/4"``, ``"softplus(-y*r)"``, ``"(abs(r) - y)**2/2"``);
it is parsed, never evaluated by Python, and differentiated with :func:`jax.grad`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow.targets import compile_expression, parse_expression

__all__ = ["Loss", "make_loss", "KNOWN_LOSSES"]

KNOWN_LOSSES: dict[str, str] = {
    "wirtinger": "(r**2 - y)**2/4",
    "square": "(r - y)**2/2",
    "logistic": "softplus(-y*r)",
}
"""Named losses and their formulas in ``r`` (the prediction ``a^T w``) and ``y`` (the label)."""


@dataclass(frozen=True, eq=False)
class Loss:
    """A differentiable loss ``l(r; y)`` (final class; build with :func:`make_loss`).

    All four functions are elementwise on arrays ``r, y`` of one shape and JAX-traceable.

    Attributes:
        name: the name or the expression text.
        value: ``l(r, y)``.
        d1: ``dl/dr``.
        d2: ``d^2 l/dr^2``.
        dy1: ``d^2 l/(dy dr)``.
        formula: the expression in ``r`` and ``y``.
    """

    name: str
    value: Callable = field(repr=False)
    d1: Callable = field(repr=False)
    d2: Callable = field(repr=False)
    dy1: Callable = field(repr=False)
    formula: str = ""

    def __hash__(self):
        return id(self)


def _wirtinger() -> Loss:
    return Loss("wirtinger",
                lambda r, y: 0.25 * (r * r - y) ** 2,
                lambda r, y: (r * r - y) * r,
                lambda r, y: 3.0 * r * r - y,
                lambda r, y: -r + 0.0 * y,
                KNOWN_LOSSES["wirtinger"])


def _square() -> Loss:
    return Loss("square",
                lambda r, y: 0.5 * (r - y) ** 2,
                lambda r, y: r - y,
                lambda r, y: jnp.ones_like(r + y),
                lambda r, y: -jnp.ones_like(r + y),
                KNOWN_LOSSES["square"])


def _from_scalar(name: str, scalar: Callable, formula: str) -> Loss:
    """Elementwise loss and derivatives of a scalar function ``scalar(r, y)`` by :func:`jax.grad`."""
    d1 = jax.grad(scalar, argnums=0)
    d2 = jax.grad(d1, argnums=0)
    dy1 = jax.grad(d1, argnums=1)

    def elementwise(fn):
        vec = jnp.vectorize(fn)
        return lambda r, y: vec(jnp.asarray(r, dtype=jnp.float64), jnp.asarray(y, dtype=jnp.float64))

    return Loss(name, elementwise(scalar), elementwise(d1), elementwise(d2), elementwise(dy1), formula)


_R_RE = re.compile(r"\br\b")
_Y_RE = re.compile(r"\by\b")


def make_loss(spec) -> Loss:
    """Build a :class:`Loss` from a name (``wirtinger``, ``square``, ``logistic``), an expression in
    ``r`` and ``y``, or a :class:`Loss`.

    Raises:
        MimflowError: unknown names, malformed expressions (message lists what is allowed).

    Example:
        >>> loss = make_loss("wirtinger")
        >>> float(loss.d1(2.0, 1.0)), float(loss.d2(2.0, 1.0))
        (6.0, 11.0)
        >>> float(make_loss("(r - y)**2/2").d2(0.3, 1.0))
        1.0
    """
    if isinstance(spec, Loss):
        return spec
    if not isinstance(spec, str):
        raise MimflowError(f"a loss must be a name or an expression in r and y, got {type(spec).__name__}")
    text = spec.strip()
    key = text.lower()
    if key == "wirtinger":
        return _wirtinger()
    if key == "square":
        return _square()
    known = ", ".join(KNOWN_LOSSES)
    if key in KNOWN_LOSSES:
        text = KNOWN_LOSSES[key]
    elif text.isidentifier() and text not in ("r", "y"):
        raise MimflowError(f"unknown loss {text!r}; known: {known}; or an expression in r and y such as '(r**2 - y)**2/4'")
    if re.search(r"\bz\d*\b", text):
        raise MimflowError(f"cannot parse loss {spec!r}: write it in r (the prediction) and y (the label), not z")
    renamed = _Y_RE.sub("z2", _R_RE.sub("z1", text))
    try:
        tree, n_vars = parse_expression(renamed)
    except MimflowError as exc:
        message = str(exc).replace(renamed, text).replace("cannot parse link", "cannot parse loss")
        message = message.replace("z or z1..zr", "r, y")
        raise MimflowError(f"{message}; or a loss name: {known}") from None
    if n_vars > 2:
        raise MimflowError(f"loss {spec!r} may use only r and y")
    compiled = compile_expression(tree)

    def scalar(r, y):
        return compiled(jnp.stack([r, y])[None, :])[0]

    loss = _from_scalar(key if key in KNOWN_LOSSES else text, scalar, text)
    probe = loss.d2(jnp.asarray([0.3, -1.1]), jnp.asarray([1.0, 0.5]))
    if not bool(jnp.all(jnp.isfinite(probe))):
        raise MimflowError(f"loss {spec!r} is not twice differentiable in r at ordinary points: GD needs l'(r; y) and l''(r; y)")
    return loss
