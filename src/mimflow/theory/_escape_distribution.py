r"""Theory as a distribution: per-seed escape-time predictions and their law under the random start.

Escape times are heavy-tailed in the initial overlap (:math:`\tau \propto x_0^{1-s}` with
:math:`d\,x_0 \sim \chi^2`), so one number (the predicted median) cannot be compared with one seed set.
This module gives (docs/math/saddles.md §1.6, docs/math/statistics.md):

* :func:`per_seed_escape_times`: each seed's own prediction from its initial overlaps
  :math:`x_0` (:func:`~mimflow.theory.initial_saddle_overlaps`), the closed forms of
  :func:`~mimflow.theory.predicted_escape_times` evaluated row by row (vectorised, no ODE);
* :func:`sample_initial_overlaps`: exact draws of :math:`M(0) = W_*^T W` for a Haar student, by the
  Bartlett construction written out in NumPy here (theory never imports the solvers; the JAX sampler
  of :mod:`mimflow.dynamics` draws the same law, checked in the tests):
  :math:`M = Z_1 (Z_1^T Z_1 + L L^T)^{-1/2}` with :math:`Z_1` an ``r x p`` Gaussian and
  :math:`L L^T \sim \mathrm{Wishart}_p(d - r, I)`;
* :func:`escape_time_distribution`: Monte Carlo over that law of the per-seed prediction, giving the
  predicted quantiles (10/50/90 % by default) of every saddle's escape time at dimension ``d``.

A seed whose :math:`x_0 = 0` never escapes (the planted flow from :math:`M_{ii}(0) < 0` for an odd
exponent; a student rank too small for the saddle): the law is then conditional on the escapable
seeds, and the share of never-escaping seeds is returned beside it. The selection uses the initial
condition only, never the outcome, so measured medians can be taken over the same seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mimflow._errors import MimflowError, check_finite
from mimflow._seeds import seed_generator
from mimflow.hermite import as_multivariate
from mimflow.theory._hermite_support import DEFAULT_RTOL
from mimflow.theory._multi_index_escape import initial_saddle_overlaps
from mimflow.theory._saddle_sequence import saddle_sequence
from mimflow.theory._saddle_strengths import _planted_directions, saddle_strengths
from mimflow.theory._single_index_escape import (
    _check_algorithm,
    _check_ridge_algorithm,
    _check_threshold,
    _direction_time,
)

__all__ = ["EscapeTimeDistribution", "escape_time_distribution", "per_seed_escape_times", "sample_initial_overlaps"]

DEFAULT_DRAWS = 4000
"""Monte Carlo draws of M(0) for the predicted quantiles (error of the median ~ 2.5 % for s = 3)."""


def sample_initial_overlaps(d: int, r: int, p: int, n: int, *, seed: int = 0) -> np.ndarray:
    """``(n, r, p)`` exact draws of ``M(0) = W*^T W``, ``W`` Haar on ``St(d, p)`` (NumPy, float64)."""
    for name, value in (("d", d), ("r", r), ("p", p), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise MimflowError(f"{name} must be a positive integer, got {value!r}")
    if d < r + p:
        raise MimflowError(f"d = {d} is too small: need d >= r + p = {r + p}")
    rng = seed_generator(seed)
    Z1 = rng.standard_normal((n, r, p))
    chi2 = rng.chisquare((d - r) - np.arange(p), size=(n, p))
    L = np.tril(rng.standard_normal((n, p, p)), k=-1) + np.sqrt(chi2)[:, :, None] * np.eye(p)
    A = np.swapaxes(Z1, 1, 2) @ Z1 + L @ np.swapaxes(L, 1, 2)
    w, V = np.linalg.eigh(A)
    return Z1 @ (V / np.sqrt(w)[:, None, :]) @ np.swapaxes(V, 1, 2)


def per_seed_escape_times(spectrum, d: float, x0, *, algorithm: str = "two-timescale", student_rank: int | None = None,
                          ridge: float = 0.0, kernel_decay: float = 0.5, threshold: float = 0.5,
                          saturation: bool = True, rtol: float = DEFAULT_RTOL) -> np.ndarray:
    r"""Predicted escape time of every saddle for each row of initial overlaps ``x0``.

    Row by row the same as ``predicted_escape_times(spectrum, d, initial=x0[i])`` (checked in the
    tests), with the saddle strengths computed once.

    Args:
        x0: ``(S, n_saddles)`` from :func:`~mimflow.theory.initial_saddle_overlaps`.

    Returns:
        ``(S, n_saddles)`` absolute times (``inf``: never escapes).
    """
    algorithm = _check_algorithm(algorithm)
    _check_ridge_algorithm(algorithm, ridge)
    threshold = _check_threshold(threshold)
    check_finite("d", d)
    spec = as_multivariate(spectrum)
    saddles = saddle_sequence(spec, rtol=rtol)
    x0 = np.asarray(x0, dtype=float)
    if x0.ndim != 2 or x0.shape[1] != len(saddles):
        raise MimflowError(f"x0 must have shape (seeds, {len(saddles)}), got {x0.shape}")
    p = spec.r if student_rank is None else int(student_rank)
    roots = np.sqrt(np.maximum(x0, 0.0))
    out = np.empty_like(x0)
    if algorithm == "planted":
        directions = {i: (s, a2) for i, s, a2 in _planted_directions(spec, rtol)}
        running = np.zeros(x0.shape[0])
        for j, saddle in enumerate(saddles):
            axes = [int(i) for i in np.nonzero(np.abs(saddle.basis).max(axis=1) > 1e-8)[0]]
            times = np.full(x0.shape[0], -np.inf) if axes else np.full(x0.shape[0], np.inf)
            for i in axes:
                s, a2 = directions.get(i, (saddle.exponent, 0.0))
                t = np.array([_direction_time(s, a2, m, threshold, "planted", saturation) if a2 > 0 else math.inf
                              for m in roots[:, j]])
                times = np.maximum(times, t)
            running = np.maximum(running, times)
            out[:, j] = running
        return out
    strengths = saddle_strengths(spec, ridge=ridge, kernel_decay=kernel_decay, rtol=rtol)
    clock = np.zeros(x0.shape[0])
    learned = 0
    for j, (saddle, alpha2) in enumerate(zip(saddles, strengths)):
        a2 = float(alpha2[-1])
        if learned + saddle.directions > p or a2 <= 0:
            tau = np.full(x0.shape[0], np.inf)
        else:
            tau = np.array([_direction_time(saddle.exponent, a2, m, threshold, "two-timescale", saturation)
                            for m in roots[:, j]])
        clock = clock + tau
        out[:, j] = clock
        learned += saddle.directions
    return out


@dataclass(frozen=True)
class EscapeTimeDistribution:
    """Predicted law of the escape times at one ``d`` (Monte Carlo over ``M(0)``).

    ``quantiles``: the levels; ``values``: ``(len(quantiles), n_saddles)`` quantiles among the
    escapable draws (``inf`` where none); ``never_fraction``: ``(n_saddles,)`` share of draws that never
    escape; ``samples``: ``(n_draws, n_saddles)`` per-draw predictions (``inf`` = never).
    """

    d: float
    quantiles: tuple[float, ...]
    values: np.ndarray
    never_fraction: np.ndarray
    samples: np.ndarray

    def quantile(self, q: float) -> np.ndarray:
        """``(n_saddles,)`` quantile ``q`` among escapable draws."""
        return _conditional_quantile(self.samples, q)


def _conditional_quantile(samples: np.ndarray, q: float) -> np.ndarray:
    out = np.full(samples.shape[1], np.inf)
    for k in range(samples.shape[1]):
        finite = samples[np.isfinite(samples[:, k]), k]
        if finite.size:
            out[k] = float(np.quantile(finite, q))
    return out


def escape_time_distribution(spectrum, d: int, *, algorithm: str = "two-timescale", student_rank: int | None = None,
                             ridge: float = 0.0, threshold: float = 0.5, quantiles=(0.1, 0.5, 0.9),
                             n_draws: int = DEFAULT_DRAWS, seed: int = 0, rtol: float = DEFAULT_RTOL) -> EscapeTimeDistribution:
    """Predicted quantiles of every saddle's escape time under the exact finite-``d`` law of ``M(0)``.

    Example:
        >>> from mimflow.targets import multivariate_spectrum
        >>> dist = escape_time_distribution(multivariate_spectrum("h2(z)", 4), 1000, n_draws=2000)
        >>> dist.values.shape
        (3, 1)
    """
    spec = as_multivariate(spectrum)
    p = spec.r if student_rank is None else int(student_rank)
    M0 = sample_initial_overlaps(int(d), spec.r, p, int(n_draws), seed=seed)
    x0 = initial_saddle_overlaps(spec, M0, algorithm=algorithm, rtol=rtol)
    samples = per_seed_escape_times(spec, d, x0, algorithm=algorithm, student_rank=p, ridge=ridge,
                                    threshold=threshold, rtol=rtol)
    qs = tuple(float(q) for q in quantiles)
    values = np.stack([_conditional_quantile(samples, q) for q in qs]) if qs else np.zeros((0, samples.shape[1]))
    never = np.mean(~np.isfinite(samples), axis=0)
    return EscapeTimeDistribution(float(d), qs, values, never, samples)
