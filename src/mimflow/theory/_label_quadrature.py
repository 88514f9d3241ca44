r"""Quadrature of the joint law of ``(s, y)`` for the spectral-estimator asymptotics (docs/math/spectral.md §4.1-4.2).

Model: :math:`s = a^\top w_* \sim N(0, 1)`, :math:`y = f(s) + \sigma\varepsilon`,
:math:`\varepsilon \sim N(0,1)` independent, :math:`n = \alpha d`, and

.. math::  D_n = \frac1n \sum_i T(y_i)\, a_i a_i^\top .

Quadrature (not Gauss-Hermite: ``T`` may kink, jump or blow up): composite Gauss-Legendre in ``s``
on ``[-L, L]``, ``L = 12``, with panel edges at the link's kinks and, without noise, at every ``s``
where ``y = f(s)`` crosses a kink or pole of ``T``; with noise, a composite rule in
:math:`\varepsilon` for every ``s`` node whose panels end at :math:`\varepsilon = (k - f(s))/\sigma`.
Accuracy is checked in the tests against a rule with 4x the nodes and against ``scipy.integrate.quad``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError

HALF_WIDTH = 12.0
PANEL_WIDTH_S = 0.25
PANEL_WIDTH_EPS = 1.0
PANEL_NODES = 16
_GL = np.polynomial.legendre.leggauss(PANEL_NODES)


# --------------------------------------------------------------------------- quadrature


def _composite(edges: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes/weights (Lebesgue) on the panels between sorted ``edges``."""
    x, w = _GL
    lo, hi = edges[:-1], edges[1:]
    counts = np.maximum(1, np.ceil((hi - lo) / width).astype(int))
    subs_lo, subs_hi = [], []
    for a, b, c in zip(lo, hi, counts):
        grid = np.linspace(a, b, c + 1)
        subs_lo.append(grid[:-1])
        subs_hi.append(grid[1:])
    a = np.concatenate(subs_lo)[:, None]
    b = np.concatenate(subs_hi)[:, None]
    half = 0.5 * (b - a)
    return (0.5 * (a + b) + half * x).ravel(), (half * w).ravel()


def _gaussian_rule(breakpoints, width: float, half_width: float = HALF_WIDTH, refine: int = 1):
    bps = np.asarray([b for b in breakpoints if -half_width < b < half_width], dtype=float)
    edges = np.unique(np.concatenate([[-half_width, half_width], bps]))
    z, w = _composite(edges, width / refine)
    return z, w * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _link_values(link, s: np.ndarray) -> np.ndarray:
    return np.asarray(link(jnp.asarray(s, dtype=jnp.float64)[..., None]), dtype=float)


def _level_crossings(link, levels, half_width: float) -> list[float]:
    """All ``s`` in ``[-L, L]`` where ``f(s)`` crosses one of ``levels`` (grid + Brent)."""
    if not levels:
        return []
    grid = np.linspace(-half_width, half_width, 24001)
    f = _link_values(link, grid)
    out = []
    for level in levels:
        g = f - level
        out.extend(grid[g == 0.0])
        idx = np.nonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0)[0]
        for i in idx:
            if np.isfinite(g[i]) and np.isfinite(g[i + 1]):
                out.append(brentq(lambda x: float(_link_values(link, np.array([x]))[0]) - level,
                                  grid[i], grid[i + 1], xtol=1e-14, rtol=1e-14))
    return out


@dataclass(frozen=True)
class _LabelRule:
    """Nodes of the joint law of ``(s, y)``: ``E[g(s, y)] ~ sum_i w_i g(s_i, y_i)``."""

    s2: np.ndarray
    y: np.ndarray
    w: np.ndarray


def _label_rule(link, noise: float, y_kinks, *, refine: int = 1, half_width: float = HALF_WIDTH) -> _LabelRule:
    link_bps = list(link.breakpoints(0, half_width))
    if noise == 0.0:
        s_bps = link_bps + _level_crossings(link, list(y_kinks), half_width)
        s, w = _gaussian_rule(s_bps, PANEL_WIDTH_S, half_width, refine)
        return _LabelRule(s * s, _link_values(link, s), w)
    s, ws = _gaussian_rule(link_bps, PANEL_WIDTH_S, half_width, refine)
    fs = _link_values(link, s)
    s2_all, y_all, w_all = [], [], []
    cache = {}
    for si, wi, fi in zip(s, ws, fs):
        bps = tuple(sorted((k - fi) / noise for k in y_kinks))
        key = tuple(round(b, 15) for b in bps)
        if key not in cache:
            cache[key] = _gaussian_rule(bps, PANEL_WIDTH_EPS, half_width, refine)
        e, we = cache[key]
        s2_all.append(np.full(e.shape, si * si))
        y_all.append(fi + noise * e)
        w_all.append(wi * we)
    w = np.concatenate(w_all)
    keep = w > 1e-300
    return _LabelRule(np.concatenate(s2_all)[keep], np.concatenate(y_all)[keep], w[keep])


def _check_noise(noise) -> float:
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating, np.integer)) \
            or not math.isfinite(float(noise)) or noise < 0:
        raise MimflowError(f"noise must be a finite number >= 0 (the standard deviation sigma), got {noise!r}")
    return float(noise)


def _mean_label(link, noise: float) -> float:
    rule = _label_rule(link, 0.0, ())
    return float(np.sum(rule.w * rule.y))
