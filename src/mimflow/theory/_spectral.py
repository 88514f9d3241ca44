r"""Asymptotics of spectral estimators (docs/math/spectral.md §4.1-4.3), by quadrature only.

Model: :math:`s = a^\top w_* \sim N(0, 1)`, :math:`y = f(s) + \sigma\varepsilon`,
:math:`\varepsilon \sim N(0,1)` independent, :math:`n = \alpha d`, and

.. math::  D_n = \frac1n \sum_i T(y_i)\, a_i a_i^\top .

**Lu and Li (2017), docs/math/spectral.md §4.1.** With :math:`\tau = \operatorname{ess\,sup} T(Y)` and, for
:math:`\lambda > \tau`, :math:`u_\lambda = T/(\lambda - T)`,

.. math::

    \psi_\alpha(\lambda) = \lambda\big(1/\alpha + E[u_\lambda]\big),\qquad
    \phi(\lambda) = \lambda\, E[u_\lambda s^2],\qquad
    \psi'_\alpha = 1/\alpha - E[u_\lambda^2],\qquad \phi' = -E[u_\lambda^2 s^2],

(:math:`\psi` is convex and :math:`\phi` decreasing on :math:`(\tau,\infty)`), :math:`\bar\lambda_\alpha`
the minimiser of :math:`\psi_\alpha` (:math:`=\tau` when :math:`\psi'_\alpha(\tau^+)\ge 0`),
:math:`\zeta_\alpha(\lambda) = \psi_\alpha(\max(\lambda,\bar\lambda_\alpha))` and :math:`\lambda^*` the root of
:math:`\zeta_\alpha = \phi`. Then :math:`\lambda_1(D_n)\to\zeta_\alpha(\lambda^*)` and
:math:`\cos^2 \to \psi'/(\psi'-\phi')` at :math:`\lambda^*` when :math:`\psi'_\alpha(\lambda^*) > 0`, else 0.
Writing everything through :math:`u` keeps the integrands bounded for ``T`` unbounded below
(``1 - 1/y`` near ``y = 0``: :math:`u \to -1`). Since :math:`h = \phi - \zeta` is decreasing, the
estimator has a positive overlap iff :math:`h(\bar\lambda_\alpha) > 0` (weak recovery; the threshold
:math:`\alpha_c` is found by bisection on this sign).

**Mondelli and Montanari (2018), docs/math/spectral.md §4.2.**
:math:`1/\alpha_u = E_Y[(E[s^2|Y]-1)^2]` (:func:`mondelli_montanari_threshold`).

Quadrature (not Gauss-Hermite: ``T`` may kink, jump or blow up): composite Gauss-Legendre in ``s``
on ``[-L, L]``, ``L = 12``, with panel edges at the link's kinks and, without noise, at every ``s``
where ``y = f(s)`` crosses a kink or pole of ``T``; with noise, a composite rule in
:math:`\varepsilon` for every ``s`` node whose panels end at :math:`\varepsilon = (k - f(s))/\sigma`.
Accuracy is checked in the tests against a rule with 4x the nodes and against ``scipy.integrate.quad``.

``tau``: the supremum of ``T`` over the labels reached by the rule (``|s|, |eps| <= 40``), replaced by
the declared ``Preprocessing.sup`` when ``T`` comes within 1% of it there (``1 - 1/y`` only tends to
its supremum 1). ``T`` unbounded above on the support of ``Y`` (e.g. ``T(y) = y`` for phase
retrieval) is refused: the formula does not apply (docs/math/spectral.md §4.1).

Preprocessings marked ``mean_one`` see ``Y / E[Y]`` (docs/math/spectral.md §4.2-4.3 convention).
This module never imports the simulation code of :mod:`mimflow.spectral` (only the preprocessing
definitions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.spectral import Preprocessing, make_preprocessing
from mimflow.targets import make_link

__all__ = [
    "SpectralPrediction",
    "spectral_prediction",
    "weak_recovery_threshold",
    "mondelli_montanari_threshold",
]

HALF_WIDTH = 12.0
PANEL_WIDTH_S = 0.25
PANEL_WIDTH_EPS = 1.0
PANEL_NODES = 16
_GL = np.polynomial.legendre.leggauss(PANEL_NODES)


@dataclass(frozen=True)
class SpectralPrediction:
    """Lu-Li predictions, one entry per ``alpha`` (arrays of shape ``(A,)``).

    Attributes:
        alpha: sample ratios ``n/d``.
        overlap2: limit of ``<v_1, w*>^2``.
        top_eigenvalue: limit of ``lambda_1(D_n)``.
        bulk_edge: right edge of the bulk, ``psi(lambda_bar)``.
        lambda_star, lambda_bar: the roots of docs/math/spectral.md §4.1.
        tau: ``ess sup T(Y)`` used (per alpha: Mondelli-Montanari ``T`` depends on alpha).
        preprocessing: its name.
    """

    alpha: np.ndarray
    overlap2: np.ndarray
    top_eigenvalue: np.ndarray
    bulk_edge: np.ndarray
    lambda_star: np.ndarray
    lambda_bar: np.ndarray
    tau: np.ndarray
    preprocessing: str


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


def _check_alphas(alpha) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(alpha, dtype=float))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise MimflowError(f"alpha must be positive finite numbers (n/d), got {alpha!r}")
    return arr


def _mean_label(link, noise: float) -> float:
    rule = _label_rule(link, 0.0, ())
    return float(np.sum(rule.w * rule.y))


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


# --------------------------------------------------------------------------- Lu-Li


def _scale(mo: _Moments) -> float:
    return float(max(abs(mo.tau), math.sqrt(np.sum(mo.w * np.where(np.isfinite(mo.t), mo.t, 0.0) ** 2)), 1e-300))


def _offsets(mo: _Moments) -> np.ndarray:
    """Bracketing grid for the roots on ``(tau, inf)`` (one point per decade; Brent refines)."""
    return mo.tau + _scale(mo) * np.logspace(-13, 8, 22)


def _lambda_bar(mo: _Moments, alpha: float) -> float:
    grid = _offsets(mo)
    d = np.array([mo.dpsi(x, alpha) for x in grid])
    if d[0] >= 0:
        return mo.tau
    i = int(np.argmax(d > 0))
    if d[i] <= 0:
        raise MimflowError("internal: psi has no minimiser on the search grid")
    return brentq(lambda x: mo.dpsi(x, alpha), grid[i - 1], grid[i], xtol=1e-15 * max(1.0, abs(grid[i])), rtol=1e-14)


def _h(mo: _Moments, alpha: float, lam: float, lam_bar: float) -> float:
    return mo.phi(lam) - mo.psi(max(lam, lam_bar), alpha)


def _predict_one(mo: _Moments, alpha: float) -> tuple[float, float, float, float, float]:
    lam_bar = _lambda_bar(mo, alpha)
    edge = mo.psi(lam_bar, alpha) if lam_bar > mo.tau else _psi_at_tau(mo, alpha)
    grid = _offsets(mo)
    h = np.array([_h(mo, alpha, x, lam_bar) for x in grid])
    if not np.any(h > 0):  # phi below the bulk edge everywhere: no outlier
        return 0.0, edge, math.nan, lam_bar, edge
    if np.all(h > 0):
        raise MimflowError("internal: phi - zeta has no root on the search grid")
    i = int(np.argmax(h <= 0))
    lam_star = brentq(lambda x: _h(mo, alpha, x, lam_bar), grid[i - 1], grid[i],
                      xtol=1e-15 * max(1.0, abs(grid[i])), rtol=1e-14)
    dpsi = mo.dpsi(lam_star, alpha)
    if lam_star <= lam_bar or dpsi <= 0:
        return 0.0, edge, lam_star, lam_bar, edge
    dphi = mo.dphi(lam_star)
    return float(dpsi / (dpsi - dphi)), float(mo.psi(lam_star, alpha)), lam_star, lam_bar, edge


def _psi_at_tau(mo: _Moments, alpha: float) -> float:
    """``psi(tau+)`` (may be +inf when T sits at tau with positive probability)."""
    lam = mo.tau + 1e-13 * _scale(mo)
    return float(mo.psi(lam, alpha))


def _resolve(preprocess, alpha: float, clip) -> Preprocessing:
    if isinstance(preprocess, Preprocessing):
        return preprocess
    if callable(preprocess):
        return make_preprocessing(preprocess(alpha))
    return make_preprocessing(preprocess, alpha=alpha, clip=clip)


def spectral_prediction(link, preprocess, alpha, *, noise: float = 0.0, clip: float | None = None,
                        refine: int = 1) -> SpectralPrediction:
    r"""Lu-Li limits of the squared overlap and the top eigenvalue of :math:`D_n` (docs/math/spectral.md §4.1).

    Args:
        link: the link ``f`` (name, expression in ``z`` or :class:`~mimflow.targets.Link`), one variable.
        preprocess: a name or expression accepted by :func:`mimflow.spectral.make_preprocessing`, or a
            :class:`~mimflow.spectral.Preprocessing` (then used for every ``alpha``).
        alpha: ``n/d``, a number or a 1-D array of shape ``(A,)``.
        noise: standard deviation ``sigma`` of the additive Gaussian label noise.
        clip: passed to ``make_preprocessing`` (``optimal`` only).
        refine: divide every quadrature panel by this factor (accuracy checks).

    Returns:
        :class:`SpectralPrediction` with arrays of shape ``(A,)``; entries are NaN at the ``alpha``
        where ``T`` is unbounded above on the labels (Mondelli-Montanari ``T`` below
        ``alpha = 1/2``, its pole), where the formula does not apply.

    Raises:
        MimflowError: when ``T`` is unbounded above at every ``alpha`` (e.g. ``identity`` for phase
            retrieval), for multi-variable links, bad ``alpha`` or ``noise``.

    Example:
        >>> p = spectral_prediction("z**2", "optimal", [0.4, 2.0])
        >>> float(p.overlap2[0]), round(float(p.overlap2[1]), 4)
        (0.0, 0.6389)

    References: Lu and Li (2017), arXiv 1702.06435, Theorem 1 (docs/math/spectral.md §4.1).
    """
    lk = make_link(link)
    if lk.r != 1:
        raise MimflowError(f"link {lk.name!r} has r = {lk.r} variables: spectral estimators are for single-index links")
    noise = _check_noise(noise)
    alphas = _check_alphas(alpha)
    out = {k: [] for k in ("overlap2", "top", "lstar", "lbar", "edge", "tau")}
    cached: dict[str, _Moments | _Unbounded] = {}
    name = None
    unbounded = None
    for a in alphas:
        pre = _resolve(preprocess, float(a), clip)
        name = pre.name
        key = pre.description
        if key not in cached:
            try:
                cached[key] = _moments(lk, noise, pre, refine=refine)
            except _Unbounded as exc:
                cached[key] = exc
        mo = cached[key]
        if isinstance(mo, _Unbounded):
            unbounded = mo
            for k in out:
                out[k].append(math.nan)
            continue
        c2, top, ls, lb, edge = _predict_one(mo, float(a))
        for k, v in zip(("overlap2", "top", "lstar", "lbar", "edge", "tau"), (c2, top, ls, lb, edge, mo.tau)):
            out[k].append(v)
    arr = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    if np.all(np.isnan(arr["overlap2"])):
        raise unbounded
    return SpectralPrediction(alphas, arr["overlap2"], arr["top"], arr["edge"], arr["lstar"], arr["lbar"],
                              arr["tau"], name)


def _recovers(link, noise, preprocess, clip, alpha: float, refine: int, cache: dict) -> float:
    """``h(lambda_bar)``: positive iff the Lu-Li overlap is positive at ``alpha``."""
    pre = _resolve(preprocess, alpha, clip)
    if pre.description not in cache:
        try:
            cache[pre.description] = _moments(link, noise, pre, refine=refine)
        except _Unbounded as exc:
            cache[pre.description] = exc
    mo = cache[pre.description]
    if isinstance(mo, _Unbounded):
        if pre.name.startswith("mondelli"):  # the pole of T below alpha = 1/2 (real) or 1 (complex)
            return -1.0
        raise mo
    lb = _lambda_bar(mo, alpha)
    if lb <= mo.tau:
        lam = mo.tau + 1e-13 * _scale(mo)
        return float(mo.phi(lam) - mo.psi(lam, alpha))
    return float(mo.phi(lb) - mo.psi(lb, alpha))


def weak_recovery_threshold(link, preprocess, *, noise: float = 0.0, clip: float | None = None,
                            alpha_range: tuple[float, float] = (1e-3, 1e4), rtol: float = 1e-9,
                            refine: int = 1) -> float:
    r"""``alpha_c``: the smallest ``alpha`` where the Lu-Li overlap of ``T`` becomes positive.

    Bisection in ``log alpha`` on the sign of :math:`h(\bar\lambda_\alpha) = \phi - \psi_\alpha` at
    :math:`\bar\lambda_\alpha` (positive iff weak recovery, docs/math/spectral.md §4.1), assuming one crossing in
    ``alpha_range``. Returns ``inf`` when there is no recovery even at the top of the range and
    ``alpha_range[0]`` when there is recovery already at its bottom.

    Example:
        >>> round(weak_recovery_threshold("z**2", "optimal"), 6)
        0.5
    """
    lk = make_link(link)
    noise = _check_noise(noise)
    lo, hi = float(alpha_range[0]), float(alpha_range[1])
    if not (0 < lo < hi and math.isfinite(hi)):
        raise MimflowError(f"alpha_range must be 0 < low < high < inf, got {alpha_range!r}")
    cache: dict = {}  # moments per distinct T (one for alpha-independent T)
    if _recovers(lk, noise, preprocess, clip, hi, refine, cache) <= 0:
        return math.inf
    if _recovers(lk, noise, preprocess, clip, lo, refine, cache) > 0:
        return lo
    while hi / lo - 1.0 > rtol:
        mid = math.sqrt(lo * hi)
        if _recovers(lk, noise, preprocess, clip, mid, refine, cache) > 0:
            hi = mid
        else:
            lo = mid
    return math.sqrt(lo * hi)


# --------------------------------------------------------------------------- Mondelli-Montanari


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
    import jax

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
