r"""Long-time diagnostic of a DMFT trajectory: exponential convergence and its limit (docs/math/dmft.md §3.4).

Chen and Shen (2025, arXiv:2509.23527, abstract) state that, from a spectral start in the benign
region, the DMFT is asymptotically time-translation invariant and converges exponentially fast.
This module measures both on a solved trajectory ``x_t`` (overlap or squared norm), per Monte Carlo
batch ``b`` (the batches are independent DMFT solutions, so their spread is the error bar):

1. **Rate.** On the window ``W`` (the last half of the steps) the increments of the batch-mean curve
   ``Delta_t = x_{t+1} - x_t`` that stand above their Monte Carlo noise (``|Delta_t| > 3 se``) are fitted
   by ``log|Delta_t| = a - gamma t`` (least squares); ``gamma`` is the rate of
   ``|x_t - x_inf| ~ e^{-gamma t}``, with a jackknife (leave one batch out) standard error.
2. **Limit.** With ``gamma`` fixed, each batch is fitted on ``W`` by ``x_b(t) = x_{b,inf} + c_b e^{-gamma t}``
   (linear least squares); ``long_time`` is the mean of ``x_{b,inf}`` and its s.e. ``std/sqrt(batches)``.
   When no increment stands above the noise (already settled) or the increments change sign in ``W``
   (not a single exponential), ``x_{b,inf}`` is the batch's last value.
3. **Drift** over the last ``max(5, T/10)`` steps, ``x_T - x_{T-w}``, with its s.e. over batches.
4. **Settled** (``converged``) when the predicted remaining change ``long_time - x_T`` (the batch mean
   of ``x_{b,inf} - x_{b,T}``) is within ``SETTLED_Z = 2`` of its standard errors, or of those of
   ``x_T`` when these are larger, or below ``SETTLED_RTOL`` relative (for deterministic observables):
   the last step already is the limit within its error bar.

``tti_defect`` (time-translation invariance of the response kernel at the last step):
``max_tau |R_theta(T, T - tau) - R_theta(T - 1, T - 1 - tau)| / max_tau |R_theta(T, T - tau)|`` over
``1 <= tau <= T/2``; it tends to 0 as the kernels become Toeplitz.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["LongTime", "long_time_diagnostic", "tti_defect"]

NOISE_Z = 3.0
"""An increment counts as signal when it exceeds this many of its standard errors."""

SETTLED_Z = 2.0
"""Settled when the remaining change is within this many combined standard errors."""

SETTLED_RTOL = 1e-6
"""...or below this relative size: deterministic observables (the square-loss overlap, whose Monte Carlo
s.e. is exactly 0) are settled once what remains is below any resolution the observables report."""

ROUNDING = 1e-13
"""Increments below this (relative) are float64 rounding, never signal."""


@dataclass(frozen=True)
class LongTime:
    """Long-time diagnostic of one observable (see the module docstring).

    ``value``/``value_se``: extrapolated ``t -> inf`` limit; ``last``/``last_se``: value at the last step;
    ``rate``/``rate_se``: fitted ``gamma`` per GD step (``None`` when no increment is above the noise);
    ``drift``/``drift_se`` over the last ``drift_steps`` steps; ``converged``: settled by the last step.
    """

    value: float
    value_se: float
    last: float
    last_se: float
    rate: float | None
    rate_se: float | None
    drift: float
    drift_se: float
    drift_steps: int
    fit_points: int
    converged: bool

    def to_json(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def _rate(mean_curve: np.ndarray, inc_se: np.ndarray, window: np.ndarray) -> tuple[float | None, np.ndarray]:
    """Fitted ``gamma`` of the increments on ``window`` above the noise, and the mask of points used."""
    inc = np.diff(mean_curve)[window[:-1]]
    se = inc_se[window[:-1]]
    t = window[:-1].astype(float)
    use = np.abs(inc) > np.maximum(NOISE_Z * se, ROUNDING * max(1.0, float(np.max(np.abs(mean_curve)))))
    if use.sum() < 5 or len(set(np.sign(inc[use]))) > 1:
        return None, use
    slope = np.polyfit(t[use], np.log(np.abs(inc[use])), 1)[0]
    return (float(-slope) if slope < 0 else None), use


def long_time_diagnostic(batch_curves: np.ndarray) -> LongTime:
    """:class:`LongTime` of ``batch_curves (batches, T + 1)`` (one independent DMFT solution per row)."""
    x = np.asarray(batch_curves, dtype=float)
    nb, n = x.shape
    T = n - 1
    root = math.sqrt(nb)
    last, last_se = float(x[:, -1].mean()), float(x[:, -1].std(ddof=1) / root)
    w = max(5, T // 10) if T >= 10 else max(1, T)
    drift_b = x[:, -1] - x[:, -1 - w] if T >= 1 else np.zeros(nb)
    drift, drift_se = float(drift_b.mean()), float(drift_b.std(ddof=1) / root)
    window = np.arange(T // 2, n)
    if T < 10:
        return LongTime(last, last_se, last, last_se, None, None, drift, drift_se, w, 0,
                        bool(abs(drift) <= SETTLED_Z * drift_se))
    inc_b = np.diff(x, axis=1)
    inc_se = inc_b.std(axis=0, ddof=1) / root
    gamma, use = _rate(x.mean(axis=0), inc_se, window)
    if gamma is None:
        values = x[:, -1]
        rate_se = None
    else:
        jack = []
        for b in range(nb):
            g, _ = _rate(np.delete(x, b, axis=0).mean(axis=0), inc_se, window)
            jack.append(np.nan if g is None else g)
        jack = np.asarray(jack)
        rate_se = float(math.sqrt((nb - 1) / nb * np.nansum((jack - np.nanmean(jack)) ** 2))) if np.isfinite(jack).sum() > 1 else None
        basis = np.stack([np.ones(window.size), np.exp(-gamma * (window - T))], axis=1)  # e^{-gamma (t - T)}: well scaled
        coef, *_ = np.linalg.lstsq(basis, x[:, window].T, rcond=None)
        values = coef[0]
    value, value_se = float(values.mean()), float(values.std(ddof=1) / root)
    remaining = values - x[:, -1]
    settled = abs(remaining.mean()) <= max(SETTLED_Z * max(remaining.std(ddof=1) / root, last_se),
                                           SETTLED_RTOL * max(1.0, abs(last)))
    return LongTime(value, value_se, last, last_se, gamma, rate_se, drift, drift_se, w, int(use.sum()), bool(settled))


def tti_defect(Rth: np.ndarray, last: int) -> float:
    """Relative time-translation defect of ``R_theta`` at step ``last`` (module docstring); ``nan`` if too short."""
    taus = np.arange(1, last // 2 + 1)
    if taus.size < 2:
        return float("nan")
    now = Rth[last, last - taus]
    before = Rth[last - 1, last - 1 - taus]
    scale = np.max(np.abs(now))
    return float(np.max(np.abs(now - before)) / scale) if scale > 0 else float("nan")
