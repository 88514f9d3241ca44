r"""Preprocessings ``T`` of the labels for spectral estimators (docs/math/spectral.md §4.1-4.3).

The spectral estimator is the top eigenvector of

.. math::

    D_n = \frac{1}{n} \sum_{i=1}^n T(y_i)\, a_i a_i^\top ,\qquad a_i \sim N(0, I_d),

and its asymptotics (Lu and Li 2017, docs/math/spectral.md §4.1) depend on ``T`` only through the law of
``T(Y)`` jointly with ``s = a^T w*`` and through ``tau = sup T``. A :class:`Preprocessing` is that
function plus what the theory needs to integrate it accurately (its kinks and poles in ``y``).

Built-in names (:func:`make_preprocessing`):

============================  ==========================================================  ===========
name                          ``T(y)``                                                    ``sup T``
============================  ==========================================================  ===========
``identity``                  ``y``                                                       ``inf``
``trimmed`` / ``trimmed:TAU`` ``min(y, TAU)`` (default ``TAU = 3``)                        ``TAU``
``mondelli-montanari``        ``(y_+ - 1) / (y_+ + sqrt(2 alpha) - 1)`` (real signals)     1 (alpha >= 1/2)
``mondelli-montanari-complex````(y_+ - 1) / (y_+ + sqrt(alpha) - 1)`` (PhasePack form)     1 (alpha >= 1)
``optimal``                   ``1 - 1/y_+`` (Luo, Alghamdi, Lu 2019), or                   1
                              ``max(1 - 1/y_+, -clip)`` with ``clip``
============================  ==========================================================  ===========

Convention (docs/math/spectral.md §4.2-4.3): the Mondelli-Montanari and optimal forms are written for labels
**normalised to mean 1** (``y_+ = max(y, 0)``). Those preprocessings have ``mean_one = True``:
the estimator applies ``T`` to ``y / mean(y)`` (empirical mean) and the theory to ``Y / E[Y]``.
For noiseless phase retrieval ``E[Y] = E[s^2] = 1`` and nothing changes asymptotically.
``T`` itself (:meth:`Preprocessing.T`) is the raw function; :meth:`Preprocessing.apply` does the
normalisation. For the real-case Mondelli-Montanari form the denominator vanishes at
``y = 1 - sqrt(2 alpha)`` when ``alpha < 1/2`` (``1 - sqrt(alpha)`` for the complex form when
``alpha < 1``): ``T`` is then unbounded and ``sup`` is ``inf`` (no spectral method weakly recovers
there anyway, ``alpha_u = 1/2`` for real phase retrieval).

Any other text is an expression in ``y`` in the restricted grammar of
:mod:`mimflow.targets` (e.g. ``"tanh(y)"``, ``"y*exp(-y)"``, ``"1 - 1/(y + 0.1)"``); it is parsed,
never evaluated by Python. Its ``sup`` is estimated on a grid over ``[-1e4, 1e4]`` (``inf`` if
it still grows at the ends), which is the supremum over the real line; the theory uses the
supremum over the support of ``Y`` (:func:`mimflow.theory.spectral_prediction`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow.targets import compile_expression, denominators, kink_arguments, parse_expression

__all__ = ["Preprocessing", "make_preprocessing", "KNOWN_PREPROCESSINGS"]

DEFAULT_TRIM = 3.0
"""Default ``tau`` of ``trimmed`` (labels of mean 1: trims the top ~8% for phase retrieval)."""

KNOWN_PREPROCESSINGS: dict[str, str] = {
    "identity": "T(y) = y",
    "trimmed": f"T(y) = min(y, tau), trimmed:TAU (default tau = {DEFAULT_TRIM:g})",
    "mondelli-montanari": "T(y) = (y_+ - 1)/(y_+ + sqrt(2 alpha) - 1), real signals, needs alpha",
    "mondelli-montanari-complex": "T(y) = (y_+ - 1)/(y_+ + sqrt(alpha) - 1), complex-signal form, needs alpha",
    "optimal": "T(y) = 1 - 1/y_+ (Luo-Alghamdi-Lu), optionally max(., -clip)",
}


def known_preprocessings_summary() -> str:
    return ", ".join(["identity", "trimmed", "trimmed:TAU", "mondelli-montanari", "mondelli-montanari-complex",
                      "optimal"]) + ", or an expression in y such as 'tanh(y)'"


@dataclass(frozen=True, eq=False)
class Preprocessing:
    r"""A preprocessing ``T`` of the labels (final class; build with :func:`make_preprocessing`).

    Attributes:
        name: canonical name (``"trimmed:3"``, ``"optimal"``, the expression text, ...).
        fn: the elementwise function, JAX-traceable (use :meth:`T`).
        sup: ``tau = sup T`` (``math.inf`` when unbounded above).
        description: one line with the formula.
        mean_one: whether the formula assumes labels normalised to mean 1 (see module docstring).
        kinks: points in ``y`` where ``T`` kinks, jumps or has a pole (for quadrature).
    """

    name: str
    fn: Callable = field(repr=False)
    sup: float
    description: str
    mean_one: bool = False
    kinks: tuple[float, ...] = ()

    def T(self, y) -> jax.Array:
        """``T(y)`` elementwise, float64, any shape; jit-able, differentiable where ``T`` is."""
        return self.fn(jnp.asarray(y, dtype=jnp.float64))

    __call__ = T

    def apply(self, y, mean=None) -> jax.Array:
        """``T(y / mean)`` if :attr:`mean_one` (``mean`` defaults to the empirical mean of ``y`` over
        its last axis), else ``T(y)``. Shapes: ``y (..., n) -> (..., n)``."""
        y = jnp.asarray(y, dtype=jnp.float64)
        if not self.mean_one:
            return self.T(y)
        if mean is None:
            mean = jnp.mean(y, axis=-1, keepdims=True)
        return self.T(y / mean)

    def __hash__(self):
        return id(self)


def _positive(y):
    return jnp.maximum(y, 0.0)


def _mm(c: float) -> Callable:
    def fn(y):
        yp = _positive(y)
        return (yp - 1.0) / (yp + c - 1.0)

    return fn


def _optimal(clip: float | None) -> Callable:
    def fn(y):
        yp = _positive(y)
        # 1 - 1/y_+ is -inf at y <= 0; keep the division finite-safe for gradients where y > 0.
        safe = jnp.where(yp > 0.0, yp, 1.0)
        value = jnp.where(yp > 0.0, 1.0 - 1.0 / safe, -jnp.inf)
        if clip is not None:
            value = jnp.maximum(value, -clip)
        return value

    return fn


def _check_alpha(alpha, name: str) -> float:
    if alpha is None:
        raise MimflowError(f"preprocessing {name!r} depends on alpha = n/d: pass alpha (e.g. --alpha 2)")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating, np.integer)) \
            or not math.isfinite(float(alpha)) or alpha <= 0:
        raise MimflowError(f"alpha must be a positive finite number, got {alpha!r}")
    return float(alpha)


def make_preprocessing(spec, *, alpha: float | None = None, clip: float | None = None) -> Preprocessing:
    r"""Build a :class:`Preprocessing` from a name, ``trimmed:TAU``, or an expression in ``y``.

    Args:
        spec: ``"identity"``, ``"trimmed"``, ``"trimmed:TAU"``, ``"mondelli-montanari"``,
            ``"mondelli-montanari-complex"``, ``"optimal"``, an expression in ``y``, or a
            :class:`Preprocessing` (returned unchanged).
        alpha: sample ratio ``n/d``; required by the Mondelli-Montanari forms.
        clip: for ``"optimal"`` only: ``T = max(1 - 1/y_+, -clip)``, ``clip > 0``.

    Raises:
        MimflowError: unknown names (listing the known ones), bad ``tau``/``alpha``/``clip``,
            malformed expressions.

    Example:
        >>> p = make_preprocessing("trimmed:2")
        >>> float(p.T(3.0)), p.sup
        (2.0, 2.0)
        >>> make_preprocessing("optimal").sup
        1.0

    References: docs/math/spectral.md §4.1 (Lu-Li; trimming), 4.2 (Mondelli-Montanari 2018, eqs. (4)-(5)),
    4.3 (Luo-Alghamdi-Lu 2019).
    """
    if isinstance(spec, Preprocessing):
        return spec
    if not isinstance(spec, str):
        raise MimflowError(f"a preprocessing must be a name or an expression in y, got {type(spec).__name__}")
    text = spec.strip()
    key = text.lower()
    if clip is not None and key != "optimal":
        raise MimflowError(f"clip applies only to the 'optimal' preprocessing, not {text!r}: drop clip")
    if key == "identity":
        return Preprocessing("identity", lambda y: y, math.inf, KNOWN_PREPROCESSINGS["identity"])
    if key == "trimmed" or key.startswith("trimmed:"):
        tau = DEFAULT_TRIM
        if ":" in key:
            raw = key.split(":", 1)[1]
            try:
                tau = float(raw)
            except ValueError:
                raise MimflowError(f"trimmed:TAU needs a number TAU, got {raw!r} (e.g. trimmed:3)") from None
            if not math.isfinite(tau):
                raise MimflowError(f"trimmed:TAU needs a finite TAU, got {raw!r}")
        return Preprocessing(f"trimmed:{tau:g}", lambda y: jnp.minimum(y, tau), tau,
                             f"T(y) = min(y, {tau:g})", kinks=(tau,))
    if key in ("mondelli-montanari", "mondelli-montanari-complex"):
        a = _check_alpha(alpha, key)
        real = key == "mondelli-montanari"
        c = math.sqrt(2.0 * a) if real else math.sqrt(a)
        pole = 1.0 - c
        sup = 1.0 if c >= 1.0 else math.inf
        kinks = (0.0,) if pole <= 0 else (0.0, pole)
        sq = "sqrt(2 alpha)" if real else "sqrt(alpha)"
        return Preprocessing(key, _mm(c), sup, f"T(y) = (y_+ - 1)/(y_+ + {sq} - 1), {sq} = {c:.6g} (alpha = {a:g}), y of mean 1",
                             mean_one=True, kinks=kinks)
    if key == "optimal":
        if clip is not None:
            if isinstance(clip, bool) or not isinstance(clip, (int, float, np.floating, np.integer)) \
                    or not math.isfinite(float(clip)) or clip <= 0:
                raise MimflowError(f"clip must be a positive finite number, got {clip!r}")
            clip = float(clip)
            return Preprocessing(f"optimal:clip={clip:g}", _optimal(clip), 1.0,
                                 f"T(y) = max(1 - 1/y_+, -{clip:g}), y of mean 1", mean_one=True,
                                 kinks=(0.0, 1.0 / (1.0 + clip)))
        return Preprocessing("optimal", _optimal(None), 1.0, "T(y) = 1 - 1/y_+, y of mean 1", mean_one=True,
                             kinks=(0.0,))
    return _expression_preprocessing(text)


_SUP_GRID = np.concatenate([-np.logspace(4, -6, 2001), [0.0], np.logspace(-6, 4, 2001)])


def _expression_preprocessing(text: str) -> Preprocessing:
    if text.replace("-", "").replace(":", "").replace("_", "").isalnum() and text != "y" and not _looks_numeric(text):
        # a bare word that is not y: most likely a misspelt name
        try:
            parse_expression(text, variable="y")
        except MimflowError:
            raise MimflowError(
                f"unknown preprocessing {text!r}; known: {known_preprocessings_summary()}"
            ) from None
    try:
        tree, _ = parse_expression(text, variable="y")
    except MimflowError as exc:
        raise MimflowError(str(exc).replace("cannot parse link", "cannot parse preprocessing")
                           + f"; or a name: {known_preprocessings_summary()}") from None
    compiled = compile_expression(tree)

    def fn(y):
        return compiled(y[..., None])

    values = np.asarray(fn(jnp.asarray(_SUP_GRID)))
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise MimflowError(f"preprocessing {text!r} is not finite anywhere on [-1e4, 1e4]")
    sup = float(np.max(finite))
    if np.any(values == np.inf) or _grows_at_ends(values):
        sup = math.inf
    kinks = []
    for node in kink_arguments(tree) + denominators(tree):
        kinks.extend(_roots(compile_expression(node)))
    for node in denominators(tree):  # a pole where T -> +inf makes T unbounded above
        for root in _roots(compile_expression(node)):
            eps = 1e-9 * (1.0 + abs(root))
            near = np.asarray(fn(jnp.asarray([root - eps, root + eps])))
            if np.any(np.isnan(near) | (near > 1e6)):
                sup = math.inf
    return Preprocessing(text, fn, sup, f"T(y) = {text}", kinks=tuple(sorted(set(kinks))))


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _grows_at_ends(values: np.ndarray) -> bool:
    """Still increasing (and not saturating) at ``|y| = 1e4``: treat as unbounded above."""
    out = False
    for edge, inner in ((values[-1], values[-200]), (values[0], values[199])):
        if np.isfinite(edge) and np.isfinite(inner) and edge > inner and edge - inner > 1e-3 * max(1.0, abs(edge)):
            out = True
    return out


def _roots(g) -> list[float]:
    grid = np.concatenate([-np.logspace(3, -8, 3001), np.logspace(-8, 3, 3001)])

    def scalar(x):
        return float(np.asarray(g(jnp.asarray([[x]])))[0])

    v = np.asarray(g(jnp.asarray(grid[:, None])))
    roots = list(grid[v == 0.0])
    s = np.sign(v)
    for i in np.nonzero(s[:-1] * s[1:] < 0)[0]:
        if np.isfinite(v[i]) and np.isfinite(v[i + 1]):
            roots.append(brentq(scalar, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-15))
    return [float(r) for r in roots]
