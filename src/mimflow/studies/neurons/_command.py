r"""``mimflow neurons``: correlation-loss neurons against sums of neurons (docs/math/neurons.md §2).

Three run commands (the run-command contract of :mod:`._runs`, so ``--out``, ``--config``,
``--set`` and ``mimflow sweep`` work):

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
and ``warnings`` (:mod:`._neuron_escapes`, docs/math/statistics.md); neurons the theory says can never
escape from their initial overlaps are reported in ``never_escaping`` and not counted. Times not
observed are ``null`` in JSON and ``-1`` in the dataset (``counted`` tells censored from never).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mimflow._errors import MimflowError
from mimflow.theory import censored_median
from mimflow.runs import neurons_memory
from mimflow.runs import seed_list, validate_seeds
from mimflow.studies.neurons._config import check_link_text, load_gram
from mimflow.studies.neurons._escapes import default_horizon, never_escaping, neuron_escape_fields
from mimflow.studies.neurons._phase import (BETA_C, PHASE, NeuronsBetaCConfig, NeuronsPhaseConfig, beta_c_report,  # noqa: F401
                             run_beta_c, run_phase_diagram)
from mimflow.runs import RunCommand, RunResult, check_finite_result

MAX_SAVED_VALUES = 20_000_000
"""Trajectories (``seeds x neurons x n_save x k``) are stored only below this many numbers."""


class NeuronsConfig(BaseModel):
    """Config of ``mimflow neurons``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sigma: str = Field("h3", description="target activation sigma* (a name or an expression in z)")
    k: int = Field(4, description="number of index vectors v_1..v_k")
    n: int = Field(16, description="number of student neurons per seed")
    d: int = Field(10_000, description="input dimension (enters only the initial overlaps)")
    beta: float = Field(0.0, description="equal angle v_i^T v_j = beta in [0, 1) (ignored with --gram)")
    gram: str | list[list[float]] | None = Field(
        None, description="file (.npy/.csv/.txt) with the k x k Gram matrix V^T V (or the matrix itself, in a config file)")
    seeds: int | list[int] = Field(8, description="a count S (seeds 0..S-1) or a list of seeds (vmapped)")
    student: str | None = Field(None, description="student activation sigma (default: sigma*)")
    degree: int | None = Field(None, description="Hermite truncation degree of g (default: from the tails)")
    t_max: float | None = Field(None, gt=0.0, description="horizon: neurons not escaped by then are censored "
                                "(default: 1000 x the predicted median search time at this d)")
    n_save: int = Field(120, ge=0, le=2000, description="log-spaced save times per neuron trajectory (0: none)")
    rtol: float = Field(1e-8, gt=0.0, lt=1e-2, description="solver relative tolerance")

    @field_validator("k")
    @classmethod
    def _check_k(cls, value):
        if value < 1:
            raise MimflowError(f"k must be >= 1 (number of index vectors), got {value}")
        return value

    @field_validator("n")
    @classmethod
    def _check_n(cls, value):
        if value < 1:
            raise MimflowError(f"n must be >= 1 (number of neurons), got {value}")
        return value

    @field_validator("d")
    @classmethod
    def _check_d(cls, value):
        if value < 2:
            raise MimflowError(f"d must be >= 2, got {value}")
        return value

    @field_validator("beta")
    @classmethod
    def _check_beta(cls, value):
        if not (0.0 <= value < 1.0):
            raise MimflowError(f"beta must be in [0, 1) (equal angles v_i^T v_j = beta), got {value}")
        return value

    @field_validator("seeds")
    @classmethod
    def _check_seeds(cls, value):
        return validate_seeds(value, 100_000)

    @field_validator("gram", mode="before")
    @classmethod
    def _read_gram(cls, value):
        # The file is read here, so the config (and the content hash of a stored run) holds the
        # matrix itself: a file changed under the same path is a different run.
        if value is None:
            return None
        if isinstance(value, (str, Path)):
            return load_gram(value).tolist()
        from mimflow.dynamics import check_gram

        try:
            Q = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise MimflowError("gram must be a file name or a k x k matrix of numbers") from None
        return check_gram(Q, name="gram matrix").tolist()

    @field_validator("sigma")
    @classmethod
    def _check_sigma(cls, value):
        return check_link_text(value, "sigma")

    @field_validator("student")
    @classmethod
    def _check_student(cls, value):
        return check_link_text(value, "student")

    @property
    def seed_list(self) -> list[int]:
        return seed_list(self.seeds)


def gram_of(config) -> np.ndarray:
    from mimflow.dynamics import equiangular_gram

    if getattr(config, "gram", None):
        Q = np.asarray(config.gram, dtype=np.float64)
        if Q.shape[0] != config.k:
            raise MimflowError(f"the gram matrix is {Q.shape[0]} x {Q.shape[0]} but k = {config.k}: "
                               f"pass --k {Q.shape[0]}")
        return Q
    return equiangular_gram(config.k, config.beta)


def _binomial_ci(successes: int, trials: int) -> list[float] | None:
    """Exact (Clopper-Pearson) 95 % interval of a proportion."""
    from scipy import stats

    if trials == 0:
        return None
    ci = stats.binomtest(successes, trials).proportion_ci(0.95, method="exact")
    return [float(ci.low), float(ci.high)]


def _none_if(x, missing=False):
    return None if missing or not np.isfinite(x) else float(x)


def run_neurons(config: NeuronsConfig, *, progress=None) -> RunResult:
    import xarray as xr

    from mimflow.dynamics import classify_neuron_end_points, neuron_initial_overlaps, solve_neurons
    from mimflow.theory import _neurons as th

    start = time.perf_counter()
    Q = gram_of(config)
    k, n, d = config.k, config.n, config.d
    if d <= k:
        raise MimflowError(f"d = {d} must exceed k = {k}")
    a = th.correlation_coefficients(config.sigma, config.student, config.degree)
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
    parity = th.parity_of_g(a)
    p_star = th.information_exponent_of_g(a)
    rule = None
    if identity and parity != "mixed":
        rule = th.nearest_index_vector(a, run.m0)
    found = np.zeros((S, k), dtype=bool)
    for s in range(S):
        for j in index[s][index[s] >= 0]:
            found[s, j] = True
    recovered_all = found.all(axis=1)
    esc = run.escape_time
    escaped = np.isfinite(esc)
    counted = ~never_escaping(a, Q, run.m0)
    warnings: list[str] = []
    if th.hypothesis_violations(config.sigma):
        try:
            th.check_hypothesis(config.sigma, "the paper's statements")
        except MimflowError as exc:
            warnings.append(f"{exc} (search-phase rates, coverage and beta_c are not claimed outside it)")

    predicted_all = p_s = None
    search = None
    if identity and parity != "mixed":
        p_s = th.success_probability(a, k)
        predicted_all = th.coverage_probability(k, n, p_s)
    if identity and p_star >= 2:
        try:
            search = th.search_time_prediction(a, k, d, n)
        except MimflowError:
            search = None
    beta_c = None
    if k >= 2:
        try:
            beta_c = th.beta_critical(a, k).beta_c
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
        "expected_neurons_needed": th.expected_neurons_needed(k, p_s) if p_s else None,
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


def plot_neurons(dataset, summary, path) -> None:
    from mimflow.plotting import plot_neuron_overlaps
    from mimflow.plotting import new_figure
    from mimflow.runs import atomic_savefig

    fig, axes = new_figure(1, 1, width=4.8, height=3.4)
    plot_neuron_overlaps(axes[0, 0], dataset, seed_position=0)
    fig.tight_layout()
    atomic_savefig(fig, path)


NEURONS = RunCommand(
    "neurons", NeuronsConfig, run_neurons, vmapped_fields=frozenset({"seeds"}), positional=("sigma",),
    plot=plot_neurons, memory_estimate=neurons_memory,
)
