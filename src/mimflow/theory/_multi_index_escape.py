r"""Leading-order escape time of every saddle of a multi-index link, from ``t = 0``, without any ODE solver.

Each saddle of :func:`~mimflow.theory.saddle_sequence` is escaped along the near-saddle ODE
:math:`\dot x = 2s\alpha_{eff}^2x^s(1-x)` with :math:`\alpha_{eff}^2` from
:func:`~mimflow.theory.saddle_strengths` (derivation in :mod:`mimflow.theory._saddle_strengths`;
conventions of :mod:`mimflow.theory._single_index_escape`); what remains is where each direction
starts and how the saddles follow one another (docs/math/saddles.md §1.6).

Two-timescale (docs/math/saddles.md §1.6)
-----------------------------------------
*Initial overlap of the new direction.* At ``t = 0``, :math:`G_{vv} = |W^Tv|^2 \sim
\mathrm{Beta}(p/2, (d-p)/2)` for a Haar student of rank ``p``, with :math:`E[G_{vv}] = p/d` (checked
against :func:`mimflow.dynamics.haar_overlaps_batch` in the tests). While ``U`` is learned the
Grassmannian velocity :math:`\dot W = (I - WW^T)W_* C\, W_*^T W` vanishes on the student directions
orthogonal to :math:`W^T U` (``C`` is concentrated on ``U`` then): the student keeps the
``(p-u)``-dimensional part :math:`K = \{W(0)c : M_U(0)c = 0\}` of its initial span and swaps the
rest for ``U``. So the new direction starts from :math:`x_0 = |P_K v|^2 = |P^\perp_{\mathrm{row}(M_U)}
m_v|^2` (``m_v`` the row of :math:`M(0)` for ``v``; :func:`initial_saddle_overlaps` computes it per
seed), whose law is :math:`\chi^2_{p-u}/d` up to ``O(1/d)``: :math:`E[x_0] = (p-u)/d` (``initial="mean"``).
(The slow degree-``s`` drift of :math:`G_{vv}` while earlier saddles are escaped is a relative
:math:`O(d^{-1})` effect; the duration counts from the end of the previous saddle.)

*Heavy tail and medians.* For ``s >= 3``, :math:`\tau \propto x_0^{1-s}` with
:math:`x_0 \sim \chi^2_k/d`: :math:`P(\tau > T) \sim T^{-k/(2(s-1))}` (``k = 1, s = 3``: :math:`T^{-1/4}`),
so the mean time is infinite or dominated by rare seeds. Compare *medians* over seeds: because
:math:`\tau` is a decreasing function of :math:`x_0` alone at leading order,
:math:`\mathrm{median}(\tau) = \tau(\mathrm{median}\,x_0)` exactly, which is ``initial="median"`` (the
default): :math:`x_0 = \mathrm{median}(\chi^2_{p-u})/d`. Using the mean instead would predict the
median of an ``s = 3`` saddle with ``p - u = 1`` too small by :math:`(1/0.455)^2 = 4.8`.

*Sequence.* Saddles are escaped one after another: the predicted absolute time of saddle ``j`` is
the sum of the durations of saddles ``<= j``. (When exponents differ the earlier durations are
negligible anyway; when a later saddle needs an earlier one learned, e.g. the staircase
``z1 + z1*z2``, the sum is the right reading.)

*Several directions in one saddle* (``n > 1`` eigenvalues of :math:`\Sigma` above threshold).
The measured escape is the *last* of its ``n`` singular values; we use the smallest kept
eigenvalue of :math:`\Sigma` for :math:`\alpha_{eff}^2` (the brief suggested the largest: that
predicts the *first* of them; both agree for isotropic :math:`T`, e.g. ``h2(z1) + h2(z2)``) and for
:math:`x_0` the smallest eigenvalue of the ``n x n`` block :math:`Y Y^T`, :math:`Y` the projected
new rows of :math:`M(0)`, whose law is that of :math:`\lambda_{min}(\mathrm{Wishart}_n(p-u, I))/d`
(mean/median by a fixed-seed Monte Carlo of 200 000 draws, relative error ~0.3%). Exact only for
isotropic :math:`T`; a crude leading order otherwise.

*Student rank.* ``p < u + n``: the student cannot hold the saddle's directions (it learns at most
``p - u`` of them, and the measured saddle time is NaN): the saddle and every later one are
returned as ``inf`` ("not reached").

Multi-index, planted (docs/math/planted.md §1.7)
------------------------------------------------
Only for links *separable in their coordinates*, :math:`f_* = \sum_i g_i(z_i)` (every non-zero
:math:`\alpha_\beta`, :math:`|\beta|\ge1`, has one non-zero index); refused otherwise. Then
:math:`\langle A_M f_*, f_*\rangle = \sum_i \sum_k \alpha_{k e_i}^2 M_{ii}^k` (off-diagonal entries
enter only through cross terms of equal degree, absent for the coordinate-separable spectrum), the
Stiefel projection couples the columns only at higher order while :math:`M` is small, and each
diagonal overlap :math:`m_i = M_{ii}` follows the single-index planted ODE with its own exponent
:math:`s_i` and :math:`\alpha_i^2 = \alpha_{s_i e_i}^2`, *in parallel* from ``t = 0`` (not one after
another). Assumptions: (a) the student column ``i`` stays paired with variable ``i`` (true while
:math:`M` is small; links with several variables of equal degree, e.g. :math:`\sum_i h_3(z_i)`, have
competing cross terms and spurious minima, docs/math/planted.md §1.7, where this is an order of magnitude only);
(b) for odd :math:`s_i` only :math:`m_i(0) > 0` escapes (from :math:`m_i(0) < 0` the flow stalls at
:math:`m_i \to 0^-`; about half the seeds), and ``initial="median"`` is the median over the escaping
seeds, :math:`m_0^2 = \mathrm{median}(\chi^2_1)/d`; ``"mean"`` uses :math:`E[M_{ii}^2] = 1/d`. Saddle
``j`` of :func:`~mimflow.theory.saddle_sequence` is escaped at the largest time among its directions;
the returned times are made non-decreasing (the measured ones are, being crossings of ordered
singular values).

References:
    Bietti, Bruna, Pillaud-Vivien, "On learning Gaussian multi-index models with gradient flow",
    arXiv:2310.19793 (Thm 1.4/3.25, Remark 3.13, Thm 4.1; docs/math/grassmannian-flow.md §1.4, docs/math/saddles.md §1.6,
    docs/math/planted.md §1.7, docs/math/finite-sample.md §1.8).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import stats

from mimflow._errors import MimflowError, check_finite
from mimflow._seeds import seed_generator
from mimflow.hermite import as_multivariate
from mimflow.theory._hermite_support import DEFAULT_RTOL
from mimflow.theory._saddle_sequence import saddle_sequence
from mimflow.theory._saddle_strengths import _planted_directions, saddle_strengths
from mimflow.theory._single_index_escape import (
    DEFAULT_THRESHOLD,
    _check_algorithm,
    _check_ridge_algorithm,
    _check_threshold,
    _direction_time,
)

WISHART_SAMPLES = 200_000
"""Monte Carlo draws for the initial overlap of multi-direction saddles (fixed seed)."""


@lru_cache(maxsize=None)
def _initial_statistic(n: int, k: int, statistic: str) -> float:
    r"""``d`` times the mean/median of :math:`\lambda_{min}(Y Y^T)/d`, ``Y`` an ``n x k`` standard Gaussian.

    ``n = 1``: :math:`\chi^2_k` (mean ``k``, exact median). ``n > 1``: fixed-seed Monte Carlo.
    ``k < n``: 0 (the directions cannot all be held).
    """
    if k < n:
        return 0.0
    if n == 1:
        return float(k) if statistic == "mean" else float(stats.chi2.median(k))
    rng = seed_generator(1729)
    Y = rng.standard_normal((WISHART_SAMPLES, n, k))
    lam = np.linalg.eigvalsh(Y @ np.swapaxes(Y, 1, 2))[:, 0]
    return float(np.mean(lam) if statistic == "mean" else np.median(lam))


def _parse_initial(initial, n_saddles: int):
    if isinstance(initial, str):
        if initial not in ("mean", "median"):
            raise MimflowError(f"initial must be 'median', 'mean' or a list of x0 per saddle, got {initial!r}")
        return initial
    x0 = np.asarray(initial, dtype=float).reshape(-1)
    if x0.shape != (n_saddles,):
        raise MimflowError(f"initial: expected {n_saddles} initial overlaps x0 (one per saddle), got {x0.shape[0]}")
    if np.any(np.isnan(x0)) or np.any(x0 < 0):
        raise MimflowError("initial overlaps x0 must be >= 0 (0 means: never escapes)")
    return x0


def predicted_escape_times(
    spectrum,
    d: float,
    *,
    algorithm: str = "two-timescale",
    student_rank: int | None = None,
    ridge: float = 0.0,
    kernel_decay: float = 0.5,
    threshold: float = DEFAULT_THRESHOLD,
    initial: str | Sequence[float] = "median",
    saturation: bool = True,
    rtol: float = DEFAULT_RTOL,
) -> list[float]:
    r"""Leading-order escape time of every saddle of :func:`~mimflow.theory.saddle_sequence`, from ``t = 0``.

    Two-timescale (module docstring of :mod:`mimflow.theory._saddle_strengths` and this one): saddle ``j`` with exponent ``s``, ``n`` directions,
    ``u`` directions learned before it, lasts
    :math:`\tau_j = [E_{2s-1}(\theta) - E_{2s-1}(\sqrt{x_0})]/(s\,\alpha_{eff}^2)` (``saturation=True``:
    :math:`\dot x = 2s\alpha_{eff}^2x^s(1-x)`) or the power law
    :math:`(x_0^{1-s} - \theta^{2(1-s)})/(2s(s-1)\alpha_{eff}^2)`, :math:`\ln(\theta^2/x_0)/(2\alpha_{eff}^2)`
    (``saturation=False``), with :math:`\alpha_{eff}^2` the smallest of its :func:`saddle_strengths`
    and :math:`x_0 = \mathrm{median}(\chi^2_{p-u})/d` (``initial="median"``, predicts the *median*
    over Haar seeds) or :math:`(p-u)/d = E[G_{vv}]` (``"mean"``); ``n > 1``: the law of the smallest
    eigenvalue (module docstring). Returns the cumulative sums :math:`\sum_{i\le j}\tau_i`.

    Planted (module docstring): coordinate-separable links only; each direction in parallel with the planted
    exponent, :math:`\tau_i = [E_{s-1}(\theta) - E_{s-1}(m_0)]/(s\alpha_i^2)` (``~ d^{s/2-1}/(s(s-2)\alpha_i^2)``),
    :math:`m_0^2 = \mathrm{median}(\chi^2_1)/d` or ``1/d``; saddle ``j`` at the largest of its
    directions, made non-decreasing.

    This is leading order: for ``s >= 3`` the time is heavy-tailed in the random initial overlap
    (:math:`\tau \propto x_0^{1-s}`, :math:`x_0 \sim \chi^2/d`); compare with the *median* over seeds.

    Args:
        spectrum: :class:`~mimflow.hermite.MultivariateSpectrum` (or a 1-D spectrum).
        d: input dimension (``> 1``; enters only through :math:`x_0`).
        algorithm: ``"two-timescale"`` or ``"planted"``.
        student_rank: ``p`` (default ``r``; planted: must be ``r``). Saddles the student cannot hold
            (``p < u + n``) and all later ones are ``inf`` (not reached).
        ridge, kernel_decay: link-fit shrinkage (two-timescale, docs/math/finite-sample.md §1.8).
        threshold: escape threshold on singular values of ``M``.
        initial: ``"median"`` (default), ``"mean"``, or one :math:`x_0` per saddle (e.g. a seed's
            :func:`initial_saddle_overlaps`; ``0`` means never escapes). For the planted flow the
            explicit :math:`x_0` of a saddle is used for each of its directions.
        saturation: keep the factor :math:`1 - x` (default) or use the pure power law of the brief.
        rtol: coefficient threshold of :func:`~mimflow.theory.saddle_sequence`.

    Returns:
        One absolute time per saddle (``[]`` for a constant link).

    Example:
        >>> from mimflow.targets import multivariate_spectrum
        >>> spec = multivariate_spectrum("h2(z1) + h3(z2)", 4)
        >>> [round(t) for t in predicted_escape_times(spec, 1000, initial="mean", saturation=False)]
        [124, 83456]
    """
    algorithm = _check_algorithm(algorithm)
    _check_ridge_algorithm(algorithm, ridge)
    threshold = _check_threshold(threshold)
    check_finite("d", d)
    if float(d) <= 1:
        raise MimflowError(f"d must be > 1, got {d!r}")
    spec = as_multivariate(spectrum)
    if not np.all(np.isfinite(spec.values)):
        raise MimflowError("the link's Hermite coefficients are not finite (NaN/inf): check the link")
    r = spec.r
    p = r if student_rank is None else student_rank
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise MimflowError(f"student rank must be a positive integer, got {student_rank!r}")
    if algorithm == "planted" and p != r:
        raise MimflowError(f"the planted flow needs student rank = r = {r}, got {p}")
    saddles = saddle_sequence(spec, rtol=rtol)
    init = _parse_initial(initial, len(saddles))
    d = float(d)
    if algorithm == "planted":
        return _planted_times(spec, saddles, d, threshold, init, saturation, rtol)
    strengths = saddle_strengths(spec, ridge=ridge, kernel_decay=kernel_decay, rtol=rtol)
    out, clock, learned = [], 0.0, 0
    for j, (saddle, alpha2) in enumerate(zip(saddles, strengths)):
        n = saddle.directions
        if isinstance(init, str):
            x0 = _initial_statistic(n, p - learned, init) / d if learned + n <= p else 0.0
        else:
            x0 = float(init[j]) if learned + n <= p else 0.0
        a2 = float(alpha2[-1])
        tau = math.inf if (a2 <= 0 or x0 <= 0) else _direction_time(
            saddle.exponent, a2, math.sqrt(x0), threshold, "two-timescale", saturation)
        clock += tau
        out.append(float(clock))
        learned += n
    return out


def _planted_times(spec, saddles, d, threshold, init, saturation, rtol) -> list[float]:
    directions = {i: (s, a2) for i, s, a2 in _planted_directions(spec, rtol)}
    out, running = [], 0.0
    for j, saddle in enumerate(saddles):
        axes = [int(i) for i in np.nonzero(np.abs(saddle.basis).max(axis=1) > 1e-8)[0]]
        if isinstance(init, str):
            x0 = _initial_statistic(1, 1, init) / d
        else:
            x0 = float(init[j])
        times = []
        for i in axes:
            s, a2 = directions.get(i, (saddle.exponent, 0.0))
            ok = a2 > 0 and x0 > 0
            times.append(_direction_time(s, a2, math.sqrt(x0), threshold, "planted", saturation) if ok else math.inf)
        running = max(running, max(times, default=math.inf))
        out.append(float(running))
    return out


def initial_saddle_overlaps(spectrum, M0, *, algorithm: str = "two-timescale", rtol: float = DEFAULT_RTOL) -> np.ndarray:
    r"""Per-seed initial overlap :math:`x_0` of each saddle's directions, from the initial overlaps ``M0``.

    Two-timescale (module docstring): rotate the teacher side to the saddle bases,
    :math:`\tilde M = B^T M_0` (rows: the directions in saddle order); for saddle ``j`` with rows
    ``u..u+n-1``, :math:`Y` = those rows projected orthogonally to the span of the rows ``< u`` (the
    student directions spent on the earlier saddles), and :math:`x_0 = \lambda_{min}(Y Y^T)`
    (:math:`|Y|^2` for one direction); 0 when :math:`u + n > p`. Planted (coordinate-separable links):
    :math:`x_0 = M_{ii}(0)^2` (smallest over the saddle's axes), or 0 when the exponent of axis ``i``
    is odd and :math:`M_{ii}(0) < 0` (never escapes).

    Pass a row as ``initial=`` of :func:`predicted_escape_times` for a per-seed prediction.

    Args:
        spectrum: the link's spectrum.
        M0: ``(S, r, p)`` or ``(r, p)`` initial overlaps (e.g. :func:`mimflow.dynamics.haar_overlaps_batch`).

    Returns:
        ``(S, n_saddles)`` (or ``(n_saddles,)`` for one ``(r, p)`` input).
    """
    algorithm = _check_algorithm(algorithm)
    spec = as_multivariate(spectrum)
    M0 = np.asarray(M0, dtype=float)
    single = M0.ndim == 2
    if single:
        M0 = M0[None]
    if M0.ndim != 3 or M0.shape[1] != spec.r:
        raise MimflowError(f"M0 must have shape (seeds, {spec.r}, p), got {M0.shape}")
    check_finite("M0", M0)
    saddles = saddle_sequence(spec, rtol=rtol)
    S, r, p = M0.shape
    out = np.zeros((S, len(saddles)))
    if algorithm == "planted":
        directions = {i: s for i, s, _ in _planted_directions(spec, rtol)}
        for j, saddle in enumerate(saddles):
            axes = np.nonzero(np.abs(saddle.basis).max(axis=1) > 1e-8)[0]
            vals = []
            for i in axes:
                m = M0[:, i, i] if i < p else np.zeros(S)
                odd = directions.get(int(i), 2) % 2 == 1
                vals.append(np.where(odd & (m < 0), 0.0, m**2))
            out[:, j] = np.min(vals, axis=0) if vals else 0.0
        return out[0] if single else out
    B = np.concatenate([s.basis for s in saddles], axis=1) if saddles else np.zeros((r, 0))
    Mt = np.einsum("ia,sip->sap", B, M0)
    u = 0
    for j, saddle in enumerate(saddles):
        n = saddle.directions
        if u + n > p:
            out[:, j] = 0.0
        else:
            Y = Mt[:, u:u + n]  # (S, n, p)
            if u:
                Q = np.linalg.qr(np.swapaxes(Mt[:, :u], 1, 2))[0]  # (S, p, u): basis of the learned rows
                Y = Y - (Y @ Q) @ np.swapaxes(Q, 1, 2)
            out[:, j] = np.linalg.eigvalsh(Y @ np.swapaxes(Y, 1, 2))[:, 0]
        u += n
    return out[0] if single else out


__all__ = ["initial_saddle_overlaps", "predicted_escape_times"]
