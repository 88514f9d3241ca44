r"""``mimflow amp``: Bayes-optimal and AMP limits of a single-index model, with GAMP on samples beside them.

For ``y = f(a^T w*) (+ noise eps)``, ``a ~ N(0, I_d/d)``, ``||w*||^2 = d`` (the convention of ``mimflow
spectral`` rescaled: ``z = a^T w* ~ N(0, 1)`` either way), ``n = alpha d``, and a Gaussian or Rademacher
prior on the coordinates of ``w*`` (docs/math/amp.md §1), the run gives per ``alpha`` the fixed points of the
state evolution of Bayes-optimal GAMP, the Bayes-optimal overlap and MSE selected by the replica free
entropy, AMP's overlap and MSE from an uninformed start (:mod:`mimflow.amp`), and the thresholds
``alpha_WR``, ``alpha_IT``, ``alpha_alg`` with their tolerances; with ``--d D --seeds S`` GAMP runs on ``S``
independent samples (vmapped) from the same start ``q0`` as the state evolution.

Overlap: ``q = <w_hat, w*>/d`` of the posterior-mean estimator, which equals ``||w_hat||^2/d`` and the
squared cosine ``<w_hat, w*>^2/(||w_hat||^2 ||w*||^2)`` for the Bayes-optimal estimator (``rho = 1``); MSE
``= 1 - q``. For even links (``z**2``, ``abs``) the sign of ``w*`` is not identifiable and overlaps are
those of the estimator aligned with it (the small positive start breaks the symmetry).

JSON (``--json``): ``alpha`` and, aligned with it, ``bayes_overlap``, ``bayes_mse``, ``amp_overlap``,
``amp_mse``, ``informed_overlap``, ``fixed_points`` (per alpha: ``q``, ``stable``, ``free_entropy``; ``null``
free entropy with ``perfect_recovery_free_entropy`` ``"+inf"``/``"-inf"`` at ``q = 1``); ``thresholds``
(``alpha_weak_recovery`` and its ``alpha_weak_recovery_tolerance``, ``alpha_information_theoretic``,
``alpha_algorithmic``, ``tolerance``, ``notes``); with ``--d``: ``d``, ``n``, ``seeds``, ``steps``, ``q0``,
``gamp_overlap``, ``gamp_overlap_se``, ``gamp_mse``, ``gamp_mse_se`` (at the last step),
``se_overlap_at_steps`` (the state evolution after ``steps`` iterations from ``q0``: what GAMP should
match), ``gamp_trajectory``, ``gamp_trajectory_se``, ``se_trajectory`` (per alpha, ``t = 0..steps``).
The stored dataset uses ``-1`` for a missing threshold.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from mimflow.amp import compute_thresholds, make_state_evolution, run_gamp
from mimflow.runs import RunResult, check_finite_result, seed_list

if TYPE_CHECKING:  # annotations only: the command module names this one (a Deferred), not the reverse
    from mimflow.studies.amp._command import AMPConfig

CURVE_POINTS = 60
"""Points of the overlap-vs-alpha curves stored for the plot (log-spaced, plus both sides of each jump)."""


def _fixed_points_json(point) -> list[dict]:
    out = []
    for fp in point.fixed_points:
        entry = {"q": fp.q, "stable": fp.stable,
                 "free_entropy": fp.free_entropy if math.isfinite(fp.free_entropy) else None}
        if not math.isfinite(fp.free_entropy):
            entry["perfect_recovery_free_entropy"] = "+inf" if fp.free_entropy > 0 else "-inf"
        out.append(entry)
    return out


def _or(x, default):
    return default if x is None or not math.isfinite(x) else float(x)


def run_amp(config: AMPConfig, *, progress=None) -> RunResult:


    start = time.perf_counter()
    alphas = config.alpha_list
    se = make_state_evolution(config.link, config.prior, config.noise)
    if progress is not None:
        progress(0.1)
    points = [se.solve(a) for a in alphas]
    th = compute_thresholds(se) if config.thresholds else None
    lo, hi = min(alphas), max(alphas)
    curve_alpha = np.geomspace(max(lo / 4, 0.02), max(hi * 1.5, 2.5), CURVE_POINTS)
    if th is not None:  # both sides of each jump (outside the bisection tolerance): the jumps plot vertical
        jumps = [a for a in (th.alpha_information_theoretic, th.alpha_algorithmic) if a]
        curve_alpha = np.unique(np.concatenate([curve_alpha, [a * (1 + s * 3e-5) for a in jumps for s in (-1, 1)]]))
    curve = [se.solve(a, refine=False) for a in curve_alpha]
    if progress is not None:
        progress(0.3)
    A, steps = len(alphas), config.steps
    seeds = seed_list(config.seeds)
    S = len(seeds)
    se_traj = np.stack([se.trajectory(a, config.q0, steps) for a in alphas])
    gamp_overlap = np.full((A, S, steps + 1), np.nan)
    gamp_mse = np.full((A, S, steps + 1), np.nan)
    ns = [int(round(a * config.d)) for a in alphas] if config.d is not None else [0] * A
    if config.d is not None:
        for i, a in enumerate(alphas):
            run = run_gamp(config.link, a, config.d, seeds, prior=config.prior, noise=config.noise, steps=steps,
                           q0=config.q0)
            gamp_overlap[i], gamp_mse[i] = run.overlap, run.mse
            if progress is not None:
                progress(0.3 + 0.7 * (i + 1) / A)
    thr = th.to_json() if th is not None else None
    data_vars = {
        "bayes_overlap": (("alpha",), np.array([p.bayes_overlap for p in points])),
        "amp_overlap": (("alpha",), np.array([p.amp_overlap for p in points])),
        "informed_overlap": (("alpha",), np.array([p.informed_overlap for p in points])),
        "curve_bayes_overlap": (("alpha_curve",), np.array([p.bayes_overlap for p in curve])),
        "curve_amp_overlap": (("alpha_curve",), np.array([p.amp_overlap for p in curve])),
        "se_trajectory": (("alpha", "t"), se_traj),
        "n": (("alpha",), np.array(ns, dtype=int)),
    }
    if config.d is not None:
        data_vars["gamp_overlap"] = (("alpha", "seed", "t"), gamp_overlap)
        data_vars["gamp_mse"] = (("alpha", "seed", "t"), gamp_mse)
    attrs = {"link": config.link, "prior": config.prior, "noise": config.noise, "q0": config.q0,
             "d": -1 if config.d is None else config.d, "missing": -1.0,
             "convention": "a ~ N(0, I_d/d), ||w*||^2 = d, overlap q = <w_hat, w*>/d, MSE = 1 - q (docs/math/amp.md §1)"}
    if thr is not None:
        for key in ("alpha_weak_recovery", "alpha_weak_recovery_tolerance", "alpha_information_theoretic",
                    "alpha_algorithmic", "tolerance"):
            attrs[key] = _or(thr[key], -1.0)
    dataset = xr.Dataset(data_vars, coords={"alpha": np.array(alphas), "alpha_curve": curve_alpha,
                                            "seed": np.array(seeds), "t": np.arange(steps + 1)}, attrs=attrs)
    check_finite_result("amp", dataset)
    summary = {
        "link": config.link, "prior": config.prior, "noise": config.noise, "alpha": alphas,
        "bayes_overlap": [p.bayes_overlap for p in points], "bayes_mse": [p.bayes_mse for p in points],
        "amp_overlap": [p.amp_overlap for p in points], "amp_mse": [p.amp_mse for p in points],
        "informed_overlap": [p.informed_overlap for p in points],
        "fixed_points": [_fixed_points_json(p) for p in points],
        "thresholds": thr,
        "convention": attrs["convention"],
    }
    if config.d is not None:
        mean = gamp_overlap.mean(axis=1)
        se_ = gamp_overlap.std(axis=1, ddof=1) / math.sqrt(S) if S > 1 else np.full(mean.shape, np.nan)
        mse_mean = gamp_mse.mean(axis=1)
        mse_se = gamp_mse.std(axis=1, ddof=1) / math.sqrt(S) if S > 1 else np.full(mean.shape, np.nan)
        nan_none = lambda xs: [None if not np.isfinite(x) else float(x) for x in xs]  # noqa: E731
        summary.update({
            "d": config.d, "n": ns, "seeds": S, "steps": steps, "q0": config.q0,
            "gamp_overlap": mean[:, -1].tolist(), "gamp_overlap_se": nan_none(se_[:, -1]),
            "gamp_mse": mse_mean[:, -1].tolist(), "gamp_mse_se": nan_none(mse_se[:, -1]),
            "se_overlap_at_steps": se_traj[:, -1].tolist(),
            "gamp_trajectory": mean.tolist(), "gamp_trajectory_se": [nan_none(r) for r in se_],
            "se_trajectory": se_traj.tolist(),
        })
    scalars = {"wall_seconds": time.perf_counter() - start,
               **{f"bayes_overlap_{a:g}": p.bayes_overlap for a, p in zip(alphas, points)},
               **{f"amp_overlap_{a:g}": p.amp_overlap for a, p in zip(alphas, points)}}
    if thr is not None:
        scalars.update({k: attrs[k] for k in ("alpha_weak_recovery", "alpha_information_theoretic", "alpha_algorithmic")})
    return RunResult(dataset, scalars=scalars, summary=summary)
