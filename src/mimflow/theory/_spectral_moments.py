r"""The preprocessed label ``T(Y)`` on the quadrature nodes: the Lu-Li moments and ``tau = ess sup T(Y)``.

Everything the Lu-Li formula (:mod:`mimflow.theory._lu_li`, docs/math/spectral.md §4.1) needs for one
preprocessing ``T``: with :math:`u_\lambda = T/(\lambda - T)`, the functions :math:`\psi_\alpha`,
:math:`\phi` and their derivatives, as sums over the nodes of the rule of
:mod:`mimflow.theory._label_quadrature`.

``tau``: the supremum of ``T`` over the labels reached by the rule (``|s|, |eps| <= 40``), replaced by
the declared ``Preprocessing.sup`` when ``T`` comes within 1% of it there (``1 - 1/y`` only tends to
its supremum 1). ``T`` unbounded above on the support of ``Y`` (e.g. ``T(y) = y`` for phase
retrieval) is refused: the formula does not apply (docs/math/spectral.md §4.1).

Preprocessings marked ``mean_one`` see ``Y / E[Y]`` (docs/math/spectral.md §4.2-4.3 convention).

Of :mod:`mimflow.spectral` only the preprocessing definitions are used, never the estimator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.spectral import Preprocessing
from mimflow.theory._label_quadrature import HALF_WIDTH, _label_rule, _link_values, _mean_label


@dataclass(frozen=True)
class _Moments:
    """``t = T(y)`` on the nodes with weights: everything the Lu-Li formula needs for one ``T``."""

    t: np.ndarray
    s2: np.ndarray
    w: np.ndarray
    tau: float
    name: str

    def u(self, lam: float) -> np.ndarray:
        t = self.t
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            u = t / (lam - t)
        return np.where(np.isneginf(t), -1.0, u)

    def psi(self, lam, alpha):
        return lam * (1.0 / alpha + np.sum(self.w * self.u(lam)))

    def dpsi(self, lam, alpha):
        u = self.u(lam)
        return 1.0 / alpha - np.sum(self.w * u * u)

    def phi(self, lam):
        return lam * np.sum(self.w * self.u(lam) * self.s2)

    def dphi(self, lam):
        u = self.u(lam)
        return -np.sum(self.w * u * u * self.s2)


def _moments(link, noise: float, pre: Preprocessing, *, refine: int = 1) -> _Moments:
    scale = 1.0
    if pre.mean_one:
        scale = _mean_label(link, noise)
        if not scale > 0:
            raise MimflowError(
                f"preprocessing {pre.name!r} assumes labels normalised to mean 1, but E[y] = {scale:.4g} <= 0 "
                f"for link {link.name!r}: use another preprocessing (e.g. an expression in y)")
    kinks = [k * scale for k in pre.kinks]
    rule = _label_rule(link, noise, kinks, refine=refine)
    t = np.asarray(pre.T(jnp.asarray(rule.y / scale)), dtype=float)
    if np.any(np.isnan(t)) or np.any(t == np.inf):
        raise MimflowError(f"preprocessing {pre.name!r} is not defined (NaN or +inf) on some labels of link "
                           f"{link.name!r}: choose a T finite on the support of y")
    tau = _effective_sup(link, noise, pre, scale, t)
    return _Moments(t, rule.s2, rule.w, tau, pre.name)


class _Unbounded(MimflowError):
    """``T`` is unbounded above on the support of ``Y``: the Lu-Li formula does not apply."""


def _effective_sup(link, noise: float, pre: Preprocessing, scale: float, t_nodes: np.ndarray) -> float:
    """``tau = ess sup T(Y)`` (see the module docstring).

    Labels probed: the quadrature nodes, ``f(s)`` (+ noise) for ``|s|, |eps| <= 40``, and, in each
    direction where ``Y`` is unbounded, ``|y|`` up to ``1e12``; plus both sides of every kink/pole of
    ``T`` inside the range of ``Y``. Raises :class:`_Unbounded` when ``T`` still grows at ``1e12``
    or blows up at a pole.
    """
    s = np.linspace(-40.0, 40.0, 8001)
    f_wide = _link_values(link, s)
    f_narrow = f_wide[np.abs(s) <= HALF_WIDTH]
    up = noise > 0 or np.max(f_wide) > np.max(f_narrow) + 1e-9 * (1 + abs(np.max(f_narrow)))
    down = noise > 0 or np.min(f_wide) < np.min(f_narrow) - 1e-9 * (1 + abs(np.min(f_narrow)))
    if noise > 0:
        e = np.linspace(-40.0, 40.0, 401)
        y = (f_wide[:, None] + noise * e[None, :]).ravel()
    else:
        y = f_wide
    y = y[np.isfinite(y)]
    ylo, yhi = float(np.min(y)), float(np.max(y))

    def T(values):
        return np.asarray(pre.T(jnp.asarray(np.asarray(values, dtype=float) / scale)), dtype=float)

    regular = np.concatenate([T(y), t_nodes])
    regular = regular[~np.isnan(regular)]
    tau = float(np.max(regular))
    far = np.logspace(6, 12, 7)
    for flag, sign, edge in ((up, 1.0, yhi), (down, -1.0, ylo)):
        if flag:
            tf = T(edge + sign * far * (1.0 + abs(edge)))
            if np.any(tf == np.inf) or tf[-1] - tf[-4] > 1e-6 * (1.0 + abs(tf[-4])):
                raise _Unbounded(
                    f"preprocessing {pre.name!r} is unbounded above on the labels of link {link.name!r}: the Lu-Li "
                    "formula needs sup T < inf (docs/math/spectral.md §4.1); use trimmed:TAU, optimal, mondelli-montanari or a bounded expression")
            tau = max(tau, float(np.nanmax(tf)))
    for k in pre.kinks:
        k = k * scale
        if not (up or k <= yhi) or not (down or k >= ylo):
            continue
        if noise == 0 and np.min(np.abs(y - k)) > 1e-2 * (1.0 + abs(k)):
            continue  # not a label value (e.g. a gap of a discrete link)
        eps = 1e-12 * (1.0 + abs(k))
        near = T([k - eps, k + eps])
        less_near = T([k - 1e3 * eps, k + 1e3 * eps])
        blows_up = (near == np.inf) | ((near > 0) & (near > 100.0 * np.abs(less_near)) & (near > 1e6))
        if np.any(blows_up):
            raise _Unbounded(
                f"preprocessing {pre.name!r} has a pole at y = {k:.6g} inside the labels of link {link.name!r}, where "
                "T -> +inf: the Lu-Li formula needs sup T < inf (docs/math/spectral.md §4.1)")
    if math.isfinite(pre.sup):
        if pre.sup - tau <= 1e-6 * (1.0 + abs(pre.sup)):
            return float(pre.sup)
        return float(min(tau, pre.sup))
    return tau
