r"""The weak-recovery threshold of Mondelli and Montanari (2018) for spectral estimators (docs/math/spectral.md §4.2).

Model: :math:`s = a^\top w_* \sim N(0, 1)`, :math:`y = f(s) + \sigma\varepsilon`,
:math:`\varepsilon \sim N(0,1)` independent, :math:`n = \alpha d`, and

.. math::  D_n = \frac1n \sum_i T(y_i)\, a_i a_i^\top .

**Mondelli and Montanari (2018), docs/math/spectral.md §4.2.**
:math:`1/\alpha_u = E_Y[(E[s^2|Y]-1)^2]` (:func:`mondelli_montanari_threshold`).

By quadrature only, with the rules of :mod:`mimflow.theory._label_quadrature`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.targets import make_link
from mimflow.theory._label_quadrature import (
    HALF_WIDTH,
    PANEL_WIDTH_S,
    _check_noise,
    _composite,
    _gaussian_rule,
    _link_values,
)


def mondelli_montanari_threshold(link, *, noise: float = 0.0) -> float:
    r"""``alpha_u`` of Mondelli and Montanari (2018): :math:`1/\alpha_u = E_Y[(E[s^2|Y] - 1)^2]` (docs/math/spectral.md §4.2).

    Without noise, :math:`E[s^2 | Y = f(s)]` averages :math:`s'^2` over the preimages
    :math:`s'` of :math:`f(s)` with weights :math:`\varphi(s')/|f'(s')|` (the link is split into
    monotone pieces on a fine grid; flat pieces are atoms of ``Y``). With noise ``sigma > 0`` the
    conditional mean comes from the density :math:`p(y|s) = \varphi_\sigma(y - f(s))` by quadrature
    in ``s`` on a grid of ``y``. Returns ``inf`` when ``E[s^2|Y] = 1`` (no second-order signal, e.g.
    odd links; spectral methods need another route there). The formula is the weak-recovery
    threshold for models with :math:`E[s|Y] = 0` (phase-retrieval type); when :math:`E[s|Y]\ne 0`
    (e.g. an invertible odd link) a linear estimator recovers at every ``alpha > 0``.

    Example:
        >>> round(mondelli_montanari_threshold("z**2"), 8)
        0.5
    """
    lk = make_link(link)
    if lk.r != 1:
        raise MimflowError(f"link {lk.name!r} has r = {lk.r} variables: alpha_u is for single-index links")
    noise = _check_noise(noise)
    inv = _mm_noisy(lk, noise) if noise > 0 else _mm_noiseless(lk)
    return math.inf if inv <= 1e-12 else 1.0 / inv


def _mm_noisy(link, noise: float) -> float:
    s, ws = _gaussian_rule(list(link.breakpoints(0, HALF_WIDTH)), PANEL_WIDTH_S)
    fs = _link_values(link, s)
    lo, hi = float(np.min(fs)) - 12 * noise, float(np.max(fs)) + 12 * noise
    y, wy = _composite(np.array([lo, hi]), 2.0 * noise)  # 16 nodes per 2 sigma: the density is smooth on that scale
    total = 0.0
    for start in range(0, y.size, 2048):
        yy = y[start:start + 2048, None]
        dens = np.exp(-0.5 * ((yy - fs[None, :]) / noise) ** 2) / (noise * math.sqrt(2 * math.pi))
        p = dens @ ws
        num = dens @ (ws * (s * s - 1.0))
        ok = p > 1e-300
        total += float(np.sum(wy[start:start + 2048][ok] * num[ok] ** 2 / p[ok]))
    return total


def _mm_noiseless(link) -> float:
    L = HALF_WIDTH
    grid = np.linspace(-L, L, 48001)
    f = _link_values(link, grid)
    df = np.asarray(jax.vmap(jax.grad(lambda x: link(x[None])))(jnp.asarray(grid)), dtype=float)
    flat = np.abs(df) < 1e-12
    # monotone pieces: maximal runs of constant nonzero sign of f'
    sign = np.where(flat, 0, np.sign(df)).astype(int)
    cuts = np.nonzero(np.diff(sign) != 0)[0] + 1
    pieces = np.split(np.arange(grid.size), cuts)
    phi = np.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi)
    h = grid[1] - grid[0]
    atoms: dict[float, list[float]] = {}
    mono = []
    for idx in pieces:
        if sign[idx[0]] == 0:
            if idx.size >= 3:  # an interval where f is constant: an atom of Y
                c = round(float(np.median(f[idx])), 12)
                mass = float(np.sum(phi[idx]) * h)
                m2 = float(np.sum(phi[idx] * grid[idx] ** 2) * h)
                acc = atoms.setdefault(c, [0.0, 0.0])
                acc[0] += mass
                acc[1] += m2
            continue
        if idx.size >= 2:
            order = np.argsort(f[idx])
            mono.append((f[idx][order], grid[idx][order]))
    total = 0.0
    for mass, m2 in atoms.values():
        total += mass * (m2 / mass - 1.0) ** 2
    # continuous part: E over s (not in a flat piece) of (E[s^2|Y=f(s)] - 1)^2
    s, w = _gaussian_rule(list(link.breakpoints(0, L)), PANEL_WIDTH_S, refine=2)
    fs = _link_values(link, s)
    dfs = np.asarray(jax.vmap(jax.grad(lambda x: link(x[None])))(jnp.asarray(s)), dtype=float)
    cont = np.abs(dfs) >= 1e-12
    num = np.zeros_like(s)
    den = np.zeros_like(s)
    for fy, sy in mono:
        inside = (fs >= fy[0]) & (fs <= fy[-1])
        pre = np.interp(fs, fy, sy)
        dpre = np.abs(np.asarray(jax.vmap(jax.grad(lambda x: link(x[None])))(jnp.asarray(pre)), dtype=float))
        rho = np.where(inside & (dpre > 1e-12), np.exp(-0.5 * pre**2) / np.maximum(dpre, 1e-300), 0.0)
        num += rho * pre**2
        den += rho
    ok = cont & (den > 0)
    cond = np.where(ok, num / np.where(ok, den, 1.0), 1.0)
    total += float(np.sum(w[ok] * (cond[ok] - 1.0) ** 2))
    return total


__all__ = ["mondelli_montanari_threshold"]
