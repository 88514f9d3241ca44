r"""``mimflow flow``: population gradient flows of multi-index learning, with the theory beside them.

One run integrates the two-timescale (or planted) overlap ODE (:mod:`mimflow.dynamics`) from exact
Haar initial overlaps for every ``d`` and seed requested (``d`` only enters the initial condition,
so all of them share one compiled solver), measures the escape time of every saddle, and puts
the predictions of :mod:`mimflow.theory` beside them: the saddle sequence, the leading-order
escape times and the log-log slopes of escape time against ``d``.

Escape time of a saddle: the first time the last singular value of ``M`` picked up at that saddle
crosses ``threshold`` (default 1/2). Saddles not reached before ``t_max`` are reported as
``null`` in JSON and stored as ``-1`` with ``escaped = False`` (the store never holds NaN).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from mimflow._errors import MimflowError
from mimflow.dynamics import classify_end_point, haar_overlaps_batch, make_flow, saddle_escape_times, solve_flow
from mimflow.runs import RunResult, check_finite_result
from mimflow.studies._escape_stats import escape_time_summary, predicted_slope, slope_summary
from mimflow.targets import make_link, truncated_spectrum
from mimflow.theory import (escape_time_distribution, escape_time_slope, initial_saddle_overlaps,
                            per_seed_escape_times, predicted_escape_times, saddle_sequence)

if TYPE_CHECKING:  # annotations only: the command module names this one (a Deferred), not the reverse
    from mimflow.studies.flow._command import FlowConfig

HORIZON_QUANTILE = 0.975
HORIZON_FACTOR = 2.0
PREDICTION_DRAWS = 4000
"""Default horizon: ``HORIZON_FACTOR`` x the predicted ``HORIZON_QUANTILE`` quantile of the last
saddle's escape time at the largest ``d`` (Monte Carlo over ``PREDICTION_DRAWS`` draws of ``M(0)``),
so that the predicted censored fraction is below 2.5 % at every ``d`` (docs/math/statistics.md)."""

ESCAPING = "escaping plateau"
"""End-point label of a run that sits near a degenerate saddle at ``t_max`` but is leaving it (its
singular values still grow): not trapped, only slow (escape times are heavy-tailed in the initial
overlap). A run whose singular values shrink towards the critical point is trapped."""


def _default_t_max(distributions, saddles, d_max: int, algorithm: str) -> float:
    tails = [dist.quantile(HORIZON_QUANTILE) for dist in distributions if dist is not None]
    tails = [float(np.max(q[np.isfinite(q)])) for q in tails if np.any(np.isfinite(q))]
    if tails:
        return float(max(1e3, HORIZON_FACTOR * max(tails)))
    s_max = max((s.exponent for s in saddles), default=1)
    power = (s_max - 1) if algorithm == "two-timescale" else max(s_max / 2 - 1, 0)
    return float(max(1e3, 1e3 * d_max**power))


def _distribution(spectrum, d: int, *, algorithm: str, student_rank: int, ridge: float, threshold: float):
    """Predicted law of the escape times at ``d`` (``None`` where the theory has no prediction)."""
    try:
        return escape_time_distribution(spectrum, d, algorithm=algorithm, student_rank=student_rank,
                                               ridge=ridge, threshold=threshold, n_draws=PREDICTION_DRAWS, seed=d)
    except MimflowError:  # planted predictions exist only for links separable in their coordinates
        return None


def _per_seed_predictions(spectrum, M0, d: int, n: int, *, algorithm: str, student_rank: int, ridge: float,
                          threshold: float) -> np.ndarray:
    """``(S, n)`` each seed's predicted escape times (NaN where the theory has none, inf: never escapes)."""
    try:
        x0 = initial_saddle_overlaps(spectrum, M0, algorithm=algorithm)
        return per_seed_escape_times(spectrum, d, x0, algorithm=algorithm, student_rank=student_rank,
                                            ridge=ridge, threshold=threshold)
    except MimflowError:
        return np.full((np.shape(M0)[0], n), np.nan)


def predictions(spectrum, saddles, d: int, *, algorithm: str, student_rank: int, ridge: float, threshold: float):
    """Leading-order escape times of the saddles at dimension ``d`` (theory; never calls the solver)."""
    try:
        times = predicted_escape_times(spectrum, d, algorithm=algorithm, student_rank=student_rank,
                                              ridge=ridge, threshold=threshold)
    except MimflowError:  # e.g. planted predictions exist only for links separable in their coordinates
        return [float("nan")] * len(saddles)
    return [float(x) for x in times]


def run_flow(config: FlowConfig, *, progress=None) -> RunResult:
    start = time.perf_counter()
    link = make_link(config.link)
    r = link.r
    p = config.rank or r
    spectrum = truncated_spectrum(link, degree=config.degree)
    flow = make_flow(config.algorithm, spectrum, student_rank=p, ridge=config.ridge)
    saddles = saddle_sequence(flow.spectrum)
    n_dirs = [s.directions for s in saddles]
    n = len(saddles)
    ds, seeds = config.d_list, config.seed_list
    for d in ds:
        if d < r + p:
            raise MimflowError(f"d = {d} is too small: need d >= r + p = {r + p}")
    theory_kw = dict(algorithm=config.algorithm, student_rank=p, ridge=config.ridge, threshold=config.threshold)
    predicted = {d: predictions(spectrum, saddles, d, **theory_kw) for d in ds}
    dists = {d: _distribution(spectrum, d, **theory_kw) for d in ds}
    t_max = config.t_max or _default_t_max(list(dists.values()), saddles, ds[-1], config.algorithm)
    trajectories, M0s = [], []
    for i, d in enumerate(ds):
        streams = () if config.common_seeds else (d,)  # seeds independent across d (docs/conventions.md)
        M0 = haar_overlaps_batch(d, r, p, seeds, streams=streams)
        M0s.append(np.asarray(M0))
        trajectories.append(solve_flow(flow, M0, t_max=t_max, d=d, seeds=seeds, link=link.name,
                                       n_save=config.n_save, rtol=config.rtol))
        if progress is not None:
            progress((i + 1) / len(ds))
    escape = np.stack([saddle_escape_times(tr, n_dirs, config.threshold, flow=flow) for tr in trajectories])  # (D, S, n)
    seed_pred = np.stack([_per_seed_predictions(spectrum, M0, d, n, **theory_kw) for d, M0 in zip(ds, M0s)])
    counted = ~np.isinf(seed_pred)  # the theory says "never" from the initial condition alone
    end_points = np.array([[_end_point(flow, tr, j) for j in range(len(seeds))] for tr in trajectories])
    sv = np.stack([tr.singular_values for tr in trajectories])
    converged = np.stack([tr.converged for tr in trajectories])
    pred = np.array([predicted[d] for d in ds], dtype=float).reshape(len(ds), n)
    qs = [0.1, 0.5, 0.9]
    quant = np.array([dists[d].values if dists[d] is not None else np.full((3, n), np.nan) for d in ds])  # (D, 3, n)
    horizons = np.full(len(ds), t_max)
    escaped = np.isfinite(escape)
    stats, warnings = escape_time_summary(ds, escape, horizons, counted=counted)
    km = np.array([[-1.0 if v is None else v for v in stats["median_escape_times"][str(d)]] for d in ds])
    per_d = xr.concat([tr.to_dataset()[["M", "loss", "singular_values", "converged"]] for tr in trajectories],
                      dim="d", join="exact", combine_attrs="drop")  # (d, seed, t, ...): every d shares one t grid
    ds_xr = per_d.assign(
        {
            "escape_time": (("d", "seed", "saddle"), np.where(escaped, escape, -1.0)),
            "escaped": (("d", "seed", "saddle"), escaped),
            "horizon": (("d",), horizons),
            "counted": (("d", "seed", "saddle"), counted),
            "predicted_escape_time": (("d", "saddle"), np.where(np.isfinite(pred), pred, -1.0)),
            "predicted_escape_time_seed": (("d", "seed", "saddle"), np.where(np.isfinite(seed_pred), seed_pred, -1.0)),
            "predicted_escape_time_quantiles": (("d", "quantile", "saddle"), np.where(np.isfinite(quant), quant, -1.0)),
            "median_escape_time": (("d", "saddle"), km),
            "end_point": (("d", "seed"), end_points.astype(str)),
        },
    ).assign_coords({"d": ds, "seed": seeds, "saddle": np.arange(n), "quantile": qs,
                     "saddle_directions": ("saddle", np.array(n_dirs, dtype=int)),
                     "saddle_exponent": ("saddle", np.array([s.exponent for s in saddles], dtype=int))})
    ds_xr.attrs.update({"link": link.name, "algorithm": config.algorithm, "student_rank": p, "r": r,
                        "degree": flow.degree, "truncation_tail": flow.truncation_tail, "ridge": config.ridge,
                        "threshold": config.threshold, "t_max": t_max, "escape_time_missing": -1.0,
                        "common_seeds": int(config.common_seeds),
                        "statistics": "docs/math/statistics.md: Kaplan-Meier medians; runs with escaped = False are "
                                      "censored at horizon; counted = False: never escapes from its start (theory)",
                        "time_units": "docs/math/grassmannian-flow.md §1.4: loss with factor 1/2, unit learning rate"})
    check_finite_result("flow", ds_xr)
    runs = []
    for a, d in enumerate(ds):
        for j, seed in enumerate(seeds):
            runs.append({
                "d": d, "seed": seed,
                "escape_times": [float(x) if np.isfinite(x) else None for x in escape[a, j]],
                "predicted_escape_times": [float(x) if np.isfinite(x) else None for x in seed_pred[a, j]],
                "final_singular_values": [float(x) for x in sv[a, j, -1]],
                "converged": bool(converged[a, j]),
                "end_point": str(end_points[a, j]),
            })
    tail = flow.truncation_tail
    if config.degree is not None and tail > 1e-3 * max(float(spectrum.norm2), 1e-300):
        warnings.append(f"degree {flow.degree} leaves {tail:.3g} of the link's energy out: raise --degree")
    summary = {
        "link": link.name, "algorithm": config.algorithm, "r": r, "student_rank": p, "degree": flow.degree,
        "truncation_tail": flow.truncation_tail, "t_max": t_max, "common_seeds": config.common_seeds,
        "saddles": [{"directions": s.directions, "exponent": s.exponent} for s in saddles],
        "runs": runs,
        "predicted_escape_times": {str(d): [x if np.isfinite(x) else None for x in predicted[d]] for d in ds},
        "predicted_escape_time_quantiles": {
            str(d): {f"{q:g}": [None if not np.isfinite(x) else float(x) for x in quant[a, i]] for i, q in enumerate(qs)}
            for a, d in enumerate(ds)},
        **stats,
    }
    if len(ds) > 1:
        slopes, slope_warnings = escape_time_slopes(ds, escape, saddles, config.algorithm, predicted,
                                                    horizons=horizons, counted=counted)
        summary["escape_time_slopes"] = slopes
        warnings += slope_warnings
    summary["warnings"] = warnings
    scalars = {
        "converged_fraction": float(np.mean(converged)),
        "global_minimum_fraction": float(np.mean(end_points == "global minimum")),
        "n_saddles": n,
        **{f"median_escape_time_{k}": float(km[-1, k]) for k in range(n)},
        "wall_seconds": time.perf_counter() - start,
    }
    return RunResult(ds_xr, scalars=scalars, summary=summary)


def escape_time_slopes(ds, escape, saddles, algorithm: str, predicted=None, *, horizons=None,
                       counted=None) -> tuple[list[dict], list[str]]:
    """Log-log slope of the Kaplan-Meier median escape time of each saddle against ``d``, with its SE.

    ``fitted`` +- ``fitted_se`` is measured (bootstrap over seeds, docs/math/statistics.md);
    ``asymptotic`` is the exponent of the theory (``s - 1`` two-timescale, ``s/2 - 1`` planted, 0 for
    the ``log d`` cases); ``predicted`` is the slope of the theory's predicted medians over the same
    ``d`` grid (for the ``log d`` cases this is ``~ 1/log d``, not 0), or the asymptotic exponent
    when there is no prediction.
    """
    asymptotic = [escape_time_slope(s.exponent, algorithm) for s in saddles]
    pred = []
    for k in range(len(saddles)):
        value = predicted_slope(ds, [predicted[d][k] for d in ds]) if predicted is not None else None
        pred.append(asymptotic[k] if value is None else value)
    horizons = np.full(len(ds), np.inf) if horizons is None else horizons
    slopes, warnings = slope_summary(ds, escape, horizons, counted=counted, predicted=pred, asymptotic=asymptotic)
    for k, entry in enumerate(slopes):
        entry["saddle"] = k
        entry["exponent"] = saddles[k].exponent
    return slopes, warnings


def _end_point(flow, traj, j: int) -> str:
    """Classification of the final point of run ``j`` by the Riemannian Hessian (docs/math/planted.md §1.7).

    Degenerate critical points reached at ``t_max`` are split by the direction of motion: if the
    singular values of ``M`` still increase over the last save interval the run is escaping
    (:data:`ESCAPING`), otherwise it is trapped.
    """
    label = str(classify_end_point(flow, traj.M[j, -1]).label)
    if label in ("degenerate saddle", "degenerate") and not traj.converged[j]:
        sv = traj.singular_values[j]
        change = sv[-1] - sv[-2]
        if np.all(change >= -1e-14) and np.any(change > 1e-12 * np.maximum(sv[-1], 1e-300)):
            return ESCAPING
    return label
