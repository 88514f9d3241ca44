r"""Lu-Li asymptotics of spectral estimators: limiting overlap, top eigenvalue and weak-recovery threshold.

By quadrature only (docs/math/spectral.md §4.1); the quadrature is in
:mod:`mimflow.theory._label_quadrature`, the moments of ``T(Y)`` and ``tau`` in
:mod:`mimflow.theory._spectral_moments`.

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

Of :mod:`mimflow.spectral` only the preprocessing definitions are used, never the estimator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from mimflow._errors import MimflowError
from mimflow.spectral import Preprocessing, make_preprocessing
from mimflow.targets import make_link
from mimflow.theory._label_quadrature import _check_noise
from mimflow.theory._spectral_moments import _Moments, _moments, _Unbounded


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


def _check_alphas(alpha) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(alpha, dtype=float))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise MimflowError(f"alpha must be positive finite numbers (n/d), got {alpha!r}")
    return arr


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


__all__ = ["SpectralPrediction", "spectral_prediction", "weak_recovery_threshold"]
