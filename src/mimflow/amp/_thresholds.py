r"""Phase-transition thresholds of a GLM from its state evolution (docs/math/amp.md §3.4).

* :math:`\alpha_{WR}` (weak recovery): where the uninformative fixed point ``q = 0`` loses stability.
  When ``q = 0`` is a fixed point (``R(0) = 0``: even channels with a zero-mean prior), linearising
  :math:`q \mapsto \rho - \mathrm{mmse}(\alpha R(q))` gives the root of
  :math:`\alpha\,\mathrm{mmse}'(0)\,R'(0) = -1` in closed form,
  :math:`\alpha_{WR} = 1/(|\mathrm{mmse}'(0)|\,R'(0))`; both derivatives by Richardson-extrapolated difference
  quotients, the tolerance from the extrapolation. For ``z**2`` and a unit-variance prior
  :math:`R'(0) = E_y[(E[z^2|y]-1)^2]`, so :math:`\alpha_{WR}` is the Mondelli-Montanari :math:`\alpha_u = 1/2`.
  When ``R(0) > 0`` (``sign``, ``relu``: the labels correlate with ``z`` linearly) ``q = 0`` is not a fixed
  point and :math:`\alpha_{WR} = 0`. For noisy channels ``R'(0)`` comes from the Mondelli-Montanari integral
  (:func:`mimflow.theory.mondelli_montanari_threshold`), with our own quadrature's value as the tolerance.
* The hard phase: the ``alpha`` where the Bayes-optimal fixed point differs from the one AMP reaches
  from an uninformed start. Its lower edge is :math:`\alpha_{IT}` (the Bayes-optimal overlap jumps), its
  upper edge :math:`\alpha_{alg}` (AMP's branch ends at a spinodal and AMP jumps to the optimum); both by
  scanning a geometric grid of ``alpha`` and bisecting each edge to relative tolerance ``rtol``.
* Noiseless channels whose labels pin :math:`|z|` on a fraction :math:`\kappa > 0` of the samples
  (docs/math/amp.md §3.3): with a Gaussian prior perfect recovery is information-theoretically optimal
  exactly for :math:`\alpha > 1/\kappa` (``alpha_IT = 1/kappa``: 1 for ``z**2``, 2 for ``relu``); with a
  discrete prior it is optimal at every ``alpha > 0`` (``alpha_IT = 0``). These are exact; the scan is
  used for ``alpha_alg`` only.

References: Barbier, Krzakala, Macris, Miolane, Zdeborova, PNAS 116 (2019) 5451, §"Phase transitions"
and Table 1; Mondelli and Montanari, FoCM 19 (2019) 703 (weak recovery).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mimflow._errors import MimflowError
from mimflow.amp._state_evolution import StateEvolution
from mimflow.theory import mondelli_montanari_threshold

__all__ = ["Thresholds", "compute_thresholds"]


@dataclass(frozen=True)
class Thresholds:
    """``alpha_weak_recovery`` (0 when ``q = 0`` is not a fixed point) with ``alpha_weak_recovery_tolerance``;
    ``alpha_information_theoretic`` and ``alpha_algorithmic`` (``None`` when there is no hard phase in the
    scanned range) with ``tolerance`` (absolute, from the bisection); ``notes``: how each was obtained."""

    alpha_weak_recovery: float
    alpha_weak_recovery_tolerance: float
    alpha_information_theoretic: float | None
    alpha_algorithmic: float | None
    tolerance: float
    scan_range: tuple[float, float]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict:
        return {
            "alpha_weak_recovery": self.alpha_weak_recovery,
            "alpha_weak_recovery_tolerance": self.alpha_weak_recovery_tolerance,
            "alpha_information_theoretic": self.alpha_information_theoretic,
            "alpha_algorithmic": self.alpha_algorithmic,
            "tolerance": self.tolerance,
            "scan_range": list(self.scan_range),
            "notes": list(self.notes),
        }


def _weak_recovery(se: StateEvolution, h: float | None = None) -> tuple[float, float]:
    """``(alpha_WR, tolerance)``; the tolerance adds the change of the Richardson value when ``h`` halves and
    the change of ``R'(0)`` under a finer outer quadrature rule. ``h`` is 1e-5 for the exact noiseless
    channels and 1e-2 for noisy ones (their quadrature has an absolute error floor that would swamp
    ``R(h)/h`` at tiny ``h``; the Richardson step removes the O(h) term)."""
    if se.R_zero != 0.0:
        return 0.0, 0.0
    if h is None:
        h = 1e-5 if se.noiseless else 1e-2
    if not se.noiseless and se.rho == 1.0:
        # R'(0) = E_y[(E[z^2|y] - 1)^2] (docs/math/amp.md §3.4): the Mondelli-Montanari integral over a y grid is
        # more accurate than our small-q quadrature of the noisy channel; the tolerance is their difference
        alpha_mm = float(mondelli_montanari_threshold(se.channel.link, noise=se.channel.noise))
        m_slope = 2 * float(se.rho - se.prior.mmse(h / 2)) / (h / 2) - float(se.rho - se.prior.mmse(h)) / h
        alpha_mm /= m_slope
        r_slope = 2 * se.R_exact(h / 2) / (h / 2) - se.R_exact(h) / h
        return alpha_mm, float(abs(1.0 / (r_slope * m_slope) - alpha_mm))

    def richardson(fn, step):
        return 2 * fn(step / 2) / (step / 2) - fn(step) / step

    def alpha_at(step, **rule):
        r_slope = richardson(lambda x: se.R_exact(x, rule=rule), step)
        m_slope = richardson(lambda x: float(se.rho - se.prior.mmse(x)), step)
        return 1.0 / (r_slope * m_slope)

    alpha = alpha_at(h)
    # twice the two error estimates: the h-halving estimate runs slightly below the true error at h = 1e-4
    tol = 2.0 * (abs(alpha_at(h / 2) - alpha) + abs(alpha_at(h, n_geo=32, n_uni=24, nodes=10) - alpha))
    return float(alpha), float(max(tol, 1e-12 * alpha))


def _hard(se: StateEvolution, alpha: float) -> bool:
    point = se.solve(alpha, refine=False)
    return point.bayes_overlap - point.amp_overlap > 1e-6


def _bisect(pred, lo: float, hi: float, rtol: float) -> float:
    """Edge between ``pred(lo) != pred(hi)``, in ``log alpha``, to relative width ``rtol``."""
    p_lo = pred(lo)
    while hi / lo - 1 > rtol:
        mid = math.sqrt(lo * hi)
        if pred(mid) == p_lo:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def compute_thresholds(se: StateEvolution, *, alpha_range: tuple[float, float] = (0.02, 20.0), n_scan: int = 121,
                       rtol: float = 1e-5) -> Thresholds:
    """``alpha_WR``, ``alpha_IT``, ``alpha_alg`` of the model behind ``se`` (see the module docstring).

    Args:
        se: a :class:`~mimflow.amp.StateEvolution`.
        alpha_range: scanned range of ``alpha`` (geometric grid of ``n_scan`` points); a hard phase
            narrower than one grid step (ratio ``(hi/lo)^(1/(n_scan-1))``, 6 % by default) can be missed.
        rtol: relative bisection tolerance of each edge.

    Example:
        >>> from mimflow.amp import make_state_evolution
        >>> th = compute_thresholds(make_state_evolution("z**2"))
        >>> round(th.alpha_weak_recovery, 6), th.alpha_information_theoretic, round(th.alpha_algorithmic, 2)
        (0.5, 1.0, 1.13)
    """
    lo, hi = float(alpha_range[0]), float(alpha_range[1])
    if not (0 < lo < hi and math.isfinite(hi)) or n_scan < 3:
        raise MimflowError(f"alpha_range must be 0 < low < high < inf with n_scan >= 3, got {alpha_range!r}, {n_scan}")
    notes = []
    a_wr, a_wr_tol = _weak_recovery(se)
    if a_wr == 0.0:
        notes.append("alpha_WR = 0: q = 0 is not a fixed point (R(0) > 0), every alpha > 0 gives a positive overlap")
    else:
        how = ("Richardson difference quotients" if se.noiseless else
               "R'(0) from the Mondelli-Montanari integral, tolerance = its distance to our quadrature's value")
        notes.append(f"alpha_WR: linear stability of q = 0, 1/(|mmse'(0)| R'(0)); {how}")
    grid = np.geomspace(lo, hi, n_scan)
    hard = np.array([_hard(se, a) for a in grid])
    kappa = se.channel.continuous_fraction
    exact_it = None
    if se.noiseless and kappa > 0:
        exact_it = 0.0 if math.isfinite(se.prior.entropy_at_perfect_recovery) else 1.0 / kappa
        notes.append(f"alpha_IT = {exact_it:g} exact: noiseless labels pin |z| on a fraction kappa = {kappa:g}, "
                     "so the free entropy of perfect recovery diverges to +inf above it (docs/math/amp.md §3.3)")
    if not hard.any():
        notes.append(f"no hard phase in alpha in [{lo:g}, {hi:g}]: AMP from an uninformed start is Bayes-optimal")
        return Thresholds(a_wr, a_wr_tol, exact_it, exact_it, 0.0 if exact_it is not None else math.nan,
                          (lo, hi), tuple(notes))
    idx = np.nonzero(hard)[0]
    runs = np.split(idx, np.nonzero(np.diff(idx) > 1)[0] + 1)
    if len(runs) > 1:
        notes.append(f"{len(runs)} separate hard phases on the scan grid: thresholds of the first one")
    first, last = runs[0][0], runs[0][-1]
    pred = lambda a: _hard(se, a)  # noqa: E731
    if last + 1 >= grid.size:
        a_alg = None
        notes.append(f"the hard phase extends past alpha = {hi:g}: alpha_alg not found")
    else:
        a_alg = _bisect(pred, grid[last], grid[last + 1], rtol)
    if exact_it is not None:
        a_it = exact_it
    elif first == 0:
        a_it = None
        notes.append(f"the hard phase starts below alpha = {lo:g}: alpha_IT not found")
    else:
        a_it = _bisect(pred, grid[first - 1], grid[first], rtol)
    tol = rtol * max(a for a in (a_alg, a_it, 1.0) if a is not None)
    return Thresholds(a_wr, a_wr_tol, a_it, a_alg, float(tol), (lo, hi), tuple(notes))
