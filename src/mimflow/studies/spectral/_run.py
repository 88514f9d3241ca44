r"""``mimflow spectral``: spectral estimators of single-index models, theory beside finite-``d`` runs.

For each ``alpha = n/d`` the run gives the Lu-Li prediction (docs/math/spectral.md §4.1) of the squared overlap
``<v_1(D), w*>^2`` and of the top eigenvalue of ``D = (1/n) sum_i T(y_i) a_i a_i^T``
(:func:`mimflow.theory.spectral_prediction`), the weak-recovery threshold ``alpha_c`` of ``T``
(:func:`mimflow.theory.weak_recovery_threshold`), the Mondelli-Montanari ``alpha_u`` of the model
(noiseless links only; docs/math/spectral.md §4.2) and, with ``d``, the top eigenvectors of ``S`` independent
finite-``d`` samples (matrix-free Lanczos, :mod:`mimflow.spectral`) with their mean and standard
error. The plot hook draws overlap^2 against alpha: the theory on a fine grid, the simulations as
points with error bars.

JSON (``--json``): ``alpha`` and, aligned with it, ``predicted_overlap2``,
``predicted_top_eigenvalue``, ``predicted_bulk_edge`` (``null`` where the formula does not apply,
e.g. Mondelli-Montanari ``T`` below ``alpha = 1/2``), and with ``--d``: ``measured_overlap2``,
``measured_overlap2_se``, ``measured_top_eigenvalue``, ``measured_top_eigenvalue_se``, ``n``; plus
``alpha_weak_recovery``, ``alpha_u``, ``tau``. The stored dataset uses ``-1`` for missing numbers
(the store never holds NaN) with ``applicable`` flags.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from mimflow._errors import MimflowError
from mimflow.runs import RunResult, check_finite_result
from mimflow.spectral import measure_spectral_overlaps
from mimflow.theory import mondelli_montanari_threshold, spectral_prediction, weak_recovery_threshold

if TYPE_CHECKING:  # annotations only: the command module names this one (a Deferred), not the reverse
    from mimflow.studies.spectral._command import SpectralConfig

CURVE_POINTS = 40
"""Points of the theory curve stored for the plot (log-spaced)."""


def _none_if_nan(x) -> float | None:
    return float(x) if np.isfinite(x) else None


def run_spectral(config: SpectralConfig, *, progress=None) -> RunResult:


    start = time.perf_counter()
    alphas = config.alpha_list
    clip = config.clip
    if clip is not None and config.preprocess.strip().lower() != "optimal":
        raise MimflowError(f"clip applies only to --preprocess optimal, not {config.preprocess!r}: drop --clip")
    if config.d is not None and clip is None and config.preprocess.strip().lower() == "optimal":
        raise MimflowError("optimal T = 1 - 1/y is unbounded below (y -> 0) and Lanczos stalls on it at finite d: "
                           "add --clip C (e.g. --clip 10; the theory uses the same clipped T) or drop --d")
    pred = spectral_prediction(config.link, config.preprocess, alphas, noise=config.noise, clip=clip)
    lo, hi = min(alphas), max(alphas)
    curve_alpha = np.geomspace(max(lo / 4, 1e-3), hi * 1.5, CURVE_POINTS)
    curve = spectral_prediction(config.link, config.preprocess, curve_alpha, noise=config.noise, clip=clip)
    if progress is not None:
        progress(0.05)
    alpha_c = weak_recovery_threshold(config.link, config.preprocess, noise=config.noise, clip=clip) \
        if config.threshold else math.nan
    alpha_u = mondelli_montanari_threshold(config.link) if config.noise == 0 else math.nan
    if progress is not None:
        progress(0.1)
    seeds = config.seed_list
    A, S = len(alphas), len(seeds)
    measured = np.full((A, S), np.nan)
    top = np.full((A, S), np.nan)
    ns = [int(round(a * config.d)) for a in alphas] if config.d is not None else [0] * A
    if config.d is not None:
        dtype = np.float32 if config.dtype == "float32" else np.float64
        for i, a in enumerate(alphas):
            def sub(frac, i=i):
                if progress is not None:
                    progress(0.1 + 0.9 * (i + frac) / A)
            run = measure_spectral_overlaps(config.link, config.preprocess, a, config.d, seeds, noise=config.noise,
                                            clip=clip, dtype=dtype, progress=sub)
            measured[i], top[i] = run.overlap2, run.top_eigenvalue
    applicable = np.isfinite(pred.overlap2)
    curve_ok = np.isfinite(curve.overlap2)
    fill = -1.0
    data_vars = {
        "predicted_overlap2": (("alpha",), np.where(applicable, pred.overlap2, fill)),
        "predicted_top_eigenvalue": (("alpha",), np.where(applicable, pred.top_eigenvalue, fill)),
        "predicted_bulk_edge": (("alpha",), np.where(applicable, pred.bulk_edge, fill)),
        "applicable": (("alpha",), applicable),
        "curve_overlap2": (("alpha_curve",), np.where(curve_ok, curve.overlap2, fill)),
        "curve_applicable": (("alpha_curve",), curve_ok),
        "n": (("alpha",), np.array(ns, dtype=int)),
    }
    if config.d is not None:
        data_vars["measured_overlap2"] = (("alpha", "seed"), measured)
        data_vars["measured_top_eigenvalue"] = (("alpha", "seed"), top)
    dataset = xr.Dataset(
        data_vars,
        coords={"alpha": np.array(alphas), "seed": np.array(seeds), "alpha_curve": curve_alpha},
        attrs={"link": config.link, "preprocess": pred.preprocessing, "noise": config.noise,
               "d": -1 if config.d is None else config.d, "alpha_weak_recovery": _finite_or(alpha_c, -1.0),
               "alpha_u": _finite_or(alpha_u, -1.0), "missing": fill,
               "convention": "a_i ~ N(0, I_d), |w*| = 1, D = (1/n) sum T(y_i) a_i a_i^T (docs/math/spectral.md §4)"},
    )
    check_finite_result("spectral", dataset)
    summary = {
        "link": config.link, "preprocess": pred.preprocessing, "noise": config.noise,
        "alpha": alphas,
        "predicted_overlap2": [_none_if_nan(x) for x in pred.overlap2],
        "predicted_top_eigenvalue": [_none_if_nan(x) for x in pred.top_eigenvalue],
        "predicted_bulk_edge": [_none_if_nan(x) for x in pred.bulk_edge],
        "tau": [_none_if_nan(x) for x in pred.tau],
        "alpha_weak_recovery": _none_if_nan(alpha_c) if config.threshold else None,
        "alpha_u": _none_if_nan(alpha_u),
    }
    if config.d is not None:
        se = measured.std(axis=1, ddof=1) / math.sqrt(S) if S > 1 else np.full(A, np.nan)
        se_top = top.std(axis=1, ddof=1) / math.sqrt(S) if S > 1 else np.full(A, np.nan)
        summary.update({
            "d": config.d, "n": ns, "seeds": S,
            "measured_overlap2": [float(x) for x in measured.mean(axis=1)],
            "measured_overlap2_se": [_none_if_nan(x) for x in se],
            "measured_top_eigenvalue": [float(x) for x in top.mean(axis=1)],
            "measured_top_eigenvalue_se": [_none_if_nan(x) for x in se_top],
        })
    scalars = {
        "alpha_weak_recovery": _finite_or(alpha_c, -1.0),
        "alpha_u": _finite_or(alpha_u, -1.0),
        **{f"predicted_overlap2_{a:g}": _finite_or(p, -1.0) for a, p in zip(alphas, pred.overlap2)},
        "wall_seconds": time.perf_counter() - start,
    }
    if config.d is not None:
        scalars.update({f"measured_overlap2_{a:g}": float(m) for a, m in zip(alphas, measured.mean(axis=1))})
    return RunResult(dataset, scalars=scalars, summary=summary)


def _finite_or(x, default: float) -> float:
    return float(x) if np.isfinite(x) else default
