r"""``mimflow neurons``: correlation-loss neurons against sums of neurons (docs/math/neurons.md §2).

The computations of three run commands (configs in :mod:`._command` and :mod:`._phase`; the run-command
contract of :mod:`mimflow.runs`, so ``--out``, ``--config``, ``--set`` and ``mimflow sweep`` work):

* ``neurons``: ``n`` neurons per seed, each following the exact overlap ODE
  :math:`\dot m = (Q - mm^T)g'(m)` from exact Haar initial overlaps at dimension ``d``, all seeds
  and neurons in one compiled call. Reports the index vector each neuron reached, the escape
  time of each neuron and of the network (search phase), the fraction of seeds that recovered
  all ``k`` index vectors, and the theory beside them: the nearest-index-vector rule, the
  coverage formula :math:`P(\text{all } k \mid n)`, the search-time medians, :math:`\beta_c`.
* ``neurons-phase-diagram`` (``mimflow neurons phase-diagram``): over a grid of ``(k, beta)`` with
  equal angles, the fraction of neurons that reach an index vector, the average, another point
  or none, with :math:`\beta_c(k)` from the theory.
* ``neurons-beta-c`` (``mimflow neurons beta-c``): :math:`\beta_c` by root finding, beside the
  closed form when ``g`` is a single power.

Index vectors are numbered 1..k in JSON (``v_1..v_k`` of docs/math/neurons.md) and 0..k-1 in the dataset.
Escape time of a neuron: first time its largest overlap :math:`\max_j|m_j|` reaches 1/2; the
network's first / last escape: the first / last neuron to escape. A neuron not escaped by ``t_max``
(its horizon) is right-censored there, never dropped: medians are Kaplan-Meier medians with 95 % CIs
and ``warnings`` (:mod:`._escapes`, docs/math/statistics.md); neurons the theory says can never
escape from their initial overlaps are reported in ``never_escaping`` and not counted. Times not
observed are ``null`` in JSON and ``-1`` in the dataset (``counted`` tells censored from never).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from scipy import stats

from mimflow._errors import MimflowError
from mimflow.dynamics import classify_neuron_end_points, equiangular_gram, neuron_initial_overlaps, solve_neurons
from mimflow.runs import RunResult, check_finite_result
from mimflow.studies.neurons._escapes import default_horizon, never_escaping, neuron_escape_fields
from mimflow.theory import (average_point_curvatures, beta_critical, censored_median, check_hypothesis,
                            correlation_coefficients, coverage_probability, expected_neurons_needed,
                            hypothesis_violations, information_exponent_of_g, nearest_index_vector, parity_of_g,
                            search_time_prediction, success_probability)

if TYPE_CHECKING:  # annotations only: the command module names this one (a Deferred), not the reverse
    from mimflow.studies.neurons._command import NeuronsConfig
    from mimflow.studies.neurons._phase import NeuronsBetaCConfig, NeuronsPhaseConfig

MAX_SAVED_VALUES = 20_000_000
"""Trajectories (``seeds x neurons x n_save x k``) are stored only below this many numbers."""

PHASE_LABELS = ("index vector", "average", "other", "none")
"""End points counted by ``neurons-phase-diagram``."""


def gram_of(config) -> np.ndarray:
    """The ``k x k`` Gram matrix of a config: its ``gram`` or equal angles ``beta``."""
    if getattr(config, "gram", None):
        Q = np.asarray(config.gram, dtype=np.float64)
        if Q.shape[0] != config.k:
            raise MimflowError(f"the gram matrix is {Q.shape[0]} x {Q.shape[0]} but k = {config.k}: "
                               f"pass --k {Q.shape[0]}")
        return Q
    return equiangular_gram(config.k, config.beta)


def _binomial_ci(successes: int, trials: int) -> list[float] | None:
    """Exact (Clopper-Pearson) 95 % interval of a proportion."""
    if trials == 0:
        return None
    ci = stats.binomtest(successes, trials).proportion_ci(0.95, method="exact")
    return [float(ci.low), float(ci.high)]


def _none_if(x, missing=False):
    return None if missing or not np.isfinite(x) else float(x)


def run_neurons(config: NeuronsConfig, *, progress=None) -> RunResult:
    start = time.perf_counter()
    Q = gram_of(config)
    k, n, d = config.k, config.n, config.d
    if d <= k:
        raise MimflowError(f"d = {d} must exceed k = {k}")
    a = correlation_coefficients(config.sigma, config.student, config.degree)
    seeds = config.seed_list
    S = len(seeds)
    t_max = config.t_max or default_horizon(a, k, d)
    m0 = neuron_initial_overlaps(Q, d, n, seeds)
    n_save = config.n_save if S * n * config.n_save * k <= MAX_SAVED_VALUES else 0
    ts = None
    if n_save:
        ts = np.logspace(-2, math.log10(t_max), n_save)
    run = solve_neurons(a, Q, m0, t_max=t_max, save_times=ts, rtol=config.rtol, progress=progress)
    index, sign, label = classify_neuron_end_points(run.m, run.converged)
    identity = np.allclose(Q, np.eye(k))
    parity = parity_of_g(a)
    p_star = information_exponent_of_g(a)
    rule = None
    if identity and parity != "mixed":
        rule = nearest_index_vector(a, run.m0)
    found = np.zeros((S, k), dtype=bool)
    for s in range(S):
        for j in index[s][index[s] >= 0]:
            found[s, j] = True
    recovered_all = found.all(axis=1)
    esc = run.escape_time
    escaped = np.isfinite(esc)
    counted = ~never_escaping(a, Q, run.m0)
    warnings: list[str] = []
    if hypothesis_violations(config.sigma):
        try:
            check_hypothesis(config.sigma, "the paper's statements")
        except MimflowError as exc:
            warnings.append(f"{exc} (search-phase rates, coverage and beta_c are not claimed outside it)")

    predicted_all = p_s = None
    search = None
    if identity and parity != "mixed":
        p_s = success_probability(a, k)
        predicted_all = coverage_probability(k, n, p_s)
    if identity and p_star >= 2:
        try:
            search = search_time_prediction(a, k, d, n)
        except MimflowError:
            search = None
    beta_c = None
    if k >= 2:
        try:
            beta_c = beta_critical(a, k).beta_c
        except MimflowError as exc:
            warnings.append(f"beta_c not reported: {exc}")

    data = {
        "m0": (("seed", "neuron", "index"), run.m0),
        "m_final": (("seed", "neuron", "index"), run.m),
        "escape_time": (("seed", "neuron"), np.where(escaped, esc, -1.0)),
        "escaped": (("seed", "neuron"), escaped),
        "counted": (("seed", "neuron"), counted),
        "converged": (("seed", "neuron"), run.converged),
        "t_stop": (("seed", "neuron"), run.t_stop),
        "reached": (("seed", "neuron"), index),
        "reached_sign": (("seed", "neuron"), sign),
        "end_point": (("seed", "neuron"), label.astype(str)),
        "recovered_all": (("seed",), recovered_all),
        "gram": (("index", "index2"), Q),
        "g_coefficients": (("degree",), a),
    }
    if rule is not None:
        data["rule_reached"] = (("seed", "neuron"), rule[0])
        data["rule_sign"] = (("seed", "neuron"), rule[1])
    coords = {"seed": seeds, "neuron": np.arange(n), "index": np.arange(k), "index2": np.arange(k),
              "degree": np.arange(len(a))}
    if ts is not None:
        t_all = np.concatenate([[0.0], ts])
        data["m"] = (("seed", "neuron", "t", "index"), np.concatenate([run.m0[:, :, None], run.saved], axis=2))
        coords["t"] = t_all
    ds = xr.Dataset(data, coords=coords, attrs={
        "sigma": config.sigma, "student": config.student or config.sigma, "k": k, "n": n, "d": d,
        "beta": config.beta if not config.gram else -1.0,
        "t_max": t_max, "threshold": run.threshold, "information_exponent": p_star, "parity": parity,
        "escape_time_missing": -1.0, "counted": "False: never escapes from its initial overlaps (theory), "
        "not counted in the medians; an escape_time of -1 with counted = True is censored at t_max", "time_units": "docs/math/neurons.md §2.2: correlation loss, unit learning rate",
    })
    check_finite_result("neurons", ds)

    esc_nan = np.where(escaped, esc, np.nan)
    fields, more = neuron_escape_fields(esc_nan, counted, t_max, d, a=a, k=k, identity=identity)
    warnings += more
    escape_summary = []
    runs = []
    for s, seed in enumerate(seeds):
        m = censored_median(esc_nan[s, counted[s]], t_max) if counted[s].any() else None
        e = esc[s][escaped[s] & counted[s]]
        escape_summary.append({
            "seed": seed, "fraction_escaped": float(escaped[s].mean()),
            "median": None if m is None else m.median, "median_censored": bool(m is not None and m.median_censored),
            "first": float(e.min()) if e.size else None,
            "last": float(e.max()) if e.size and np.all(escaped[s] | ~counted[s]) else None,
            "per_neuron": [_none_if(x) for x in esc[s]],
            "counted": [bool(x) for x in counted[s]],
        })
        runs.append({
            "seed": seed,
            "reached": [int(j) + 1 if j >= 0 else None for j in index[s]],
            "signs": [int(x) if x else None for x in sign[s]],
            "end_points": [str(x) for x in label[s]],
            "recovered_all": bool(recovered_all[s]),
        })
    se = math.sqrt(recovered_all.mean() * (1 - recovered_all.mean()) / S)
    summary = {
        "sigma": config.sigma, "student": config.student or config.sigma, "k": k, "n": n, "d": d,
        "beta": None if config.gram else config.beta, "gram": Q.tolist(), "information_exponent": p_star,
        "g_coefficients": [float(x) for x in a],
        "recovered_all_fraction": float(recovered_all.mean()),
        "recovered_all_standard_error": se,
        "recovered_all_ci95": _binomial_ci(int(recovered_all.sum()), S),
        "predicted_recovered_all_probability": predicted_all,
        "neuron_success_fraction": float(np.mean(index >= 0)),
        "neuron_success_ci95": _binomial_ci(int(np.sum(index >= 0)), index.size),
        "predicted_neuron_success_probability": p_s,
        "expected_neurons_needed": expected_neurons_needed(k, p_s) if p_s else None,
        "nearest_index_rule_agreement": (float(np.mean((rule[0] == index) & ((rule[0] < 0) | (rule[1] == sign))))
                                         if rule is not None else None),
        "end_point_fractions": {lab: float(np.mean(label == lab)) for lab in ("index vector", "average", "other", "none")},
        "escape_times": escape_summary,
        **fields,
        "median_escape_time": fields["median_escape_times"][str(d)][0],
        "predicted_search_time": search,
        "beta_c": beta_c,
        "t_max": t_max,
        "runs": runs,
        "warnings": warnings,
    }
    scalars = {
        "recovered_all_fraction": summary["recovered_all_fraction"],
        "predicted_recovered_all_probability": -1.0 if predicted_all is None else predicted_all,
        "neuron_success_fraction": summary["neuron_success_fraction"],
        "median_escape_time": summary["median_escape_time"] or -1.0,
        "wall_seconds": time.perf_counter() - start,
    }
    return RunResult(ds, scalars=scalars, summary=summary)


def run_phase_diagram(config: NeuronsPhaseConfig, *, progress=None) -> RunResult:
    start = time.perf_counter()
    ks = sorted(config.k if isinstance(config.k, list) else [config.k])
    betas = sorted(config.beta if isinstance(config.beta, list) else [config.beta])
    if config.d <= max(ks):
        raise MimflowError(f"d = {config.d} must exceed k = {max(ks)}")
    a = correlation_coefficients(config.sigma, config.student, config.degree)
    t_max = default_horizon(a, max(ks), config.d)
    frac = np.zeros((len(ks), len(betas), len(PHASE_LABELS)))
    beta_c = np.full(len(ks), -1.0)
    total = len(ks) * len(betas)
    warnings: list[str] = []
    for i, k in enumerate(ks):
        if k >= 2:
            try:
                beta_c[i] = beta_critical(a, k).beta_c
            except MimflowError as exc:
                if str(exc) not in warnings:
                    warnings.append(f"beta_c not drawn: {exc}")
        for j, beta in enumerate(betas):
            Q = equiangular_gram(k, beta)
            m0 = neuron_initial_overlaps(Q, config.d, config.n, list(range(config.seeds)))
            run = solve_neurons(a, Q, m0, t_max=t_max, rtol=config.rtol)
            _, _, label = classify_neuron_end_points(run.m, run.converged)
            frac[i, j] = [np.mean(label == lab) for lab in PHASE_LABELS]
            if progress is not None:
                progress((i * len(betas) + j + 1) / total)
    ds = xr.Dataset(
        {"fraction": (("k", "beta", "end_point"), frac), "beta_c": (("k",), beta_c)},
        coords={"k": ks, "beta": betas, "end_point": list(PHASE_LABELS)},
        attrs={"sigma": config.sigma, "student": config.student or config.sigma, "d": config.d,
               "seeds": config.seeds, "n": config.n, "t_max": t_max, "beta_c_missing": -1.0},
    )
    check_finite_result("neurons-phase-diagram", ds)
    summary = {
        "sigma": config.sigma, "d": config.d, "k": ks, "beta": betas,
        "beta_c": {str(k): (float(b) if b >= 0 else None) for k, b in zip(ks, beta_c)},
        "fractions": {str(k): {f"{b:g}": {lab: float(frac[i, j, l]) for l, lab in enumerate(PHASE_LABELS)}
                               for j, b in enumerate(betas)} for i, k in enumerate(ks)},
        "warnings": warnings,
    }
    scalars = {"wall_seconds": time.perf_counter() - start}
    return RunResult(ds, scalars=scalars, summary=summary)


def beta_c_report(config: NeuronsBetaCConfig) -> dict:
    """``{"beta_c": x, "closed_form": ..., "crossings": [...], "m_bar": ..., ...}`` (theory only)."""
    check_hypothesis(config.sigma, "beta_c")  # outside it beta_c is meaningless (e.g. relu gives 0)
    a = correlation_coefficients(config.sigma, config.student, config.degree)
    res = beta_critical(a, config.k)
    mbar, perp, _ = average_point_curvatures(a, config.k, res.beta_c)
    return {"beta_c": res.beta_c, "closed_form": res.closed_form, "crossings": list(res.crossings),
            "k": config.k, "sigma": config.sigma, "student": config.student or config.sigma,
            "information_exponent": information_exponent_of_g(a), "m_bar": mbar,
            "g_coefficients": [float(x) for x in a]}


def run_beta_c(config: NeuronsBetaCConfig, *, progress=None) -> RunResult:
    report = beta_c_report(config)
    a = np.asarray(report["g_coefficients"])
    betas = np.linspace(0.0, 0.99, 100)
    curv = np.array([average_point_curvatures(a, config.k, b)[2] for b in betas])
    ds = xr.Dataset({"inside_curvature": (("beta",), curv)}, coords={"beta": betas},
                    attrs={"beta_c": report["beta_c"], "k": config.k, "sigma": config.sigma})
    check_finite_result("neurons-beta-c", ds)
    if progress is not None:
        progress(1.0)
    return RunResult(ds, scalars={"beta_c": report["beta_c"]}, summary=report)
