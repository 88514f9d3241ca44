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
network's first / last escape: the first / last neuron to escape. Missing values (never escaped)
are ``null`` in JSON and ``-1`` in the dataset.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .._errors import MimflowError
from ._config import seed_list, validate_seeds
from ._runs import RunCommand, RunResult, check_finite_result, register_run_command

MAX_SAVED_VALUES = 20_000_000
"""Trajectories (``seeds x neurons x n_save x k``) are stored only below this many numbers."""


def load_gram(path) -> np.ndarray:
    """A Gram matrix from ``.npy``, ``.csv`` or ``.txt`` (whitespace or comma separated), validated."""
    from ..dynamics._neurons import check_gram

    path = Path(path)
    if not path.is_file():
        raise MimflowError(f"gram file {str(path)!r} not found")
    try:
        if path.suffix == ".npy":
            Q = np.load(path, allow_pickle=False)
        elif path.suffix in (".csv", ".txt", ".dat", ""):
            text = path.read_text()
            delimiter = "," if "," in text else None
            Q = np.loadtxt(path, delimiter=delimiter, ndmin=2)
        else:
            raise MimflowError(f"gram file {str(path)!r}: use .npy, .csv or .txt")
    except (ValueError, OSError) as exc:
        raise MimflowError(f"gram file {str(path)!r} could not be read as a matrix of numbers: {exc}") from None
    return check_gram(Q, name=f"gram matrix in {path.name}")


def _check_link_text(value, label):
    from ..targets import make_link

    if value is None:
        return value
    link = make_link(value)
    if link.r != 1:
        raise MimflowError(f"{label} {value!r} must be a function of one variable z (got r = {link.r})")
    return value


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
    t_max: float | None = Field(None, gt=0.0, description="final time (default: 1000 x the predicted median escape)")
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
        from ..dynamics._neurons import check_gram

        try:
            Q = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise MimflowError("gram must be a file name or a k x k matrix of numbers") from None
        return check_gram(Q, name="gram matrix").tolist()

    @field_validator("sigma")
    @classmethod
    def _check_sigma(cls, value):
        return _check_link_text(value, "sigma")

    @field_validator("student")
    @classmethod
    def _check_student(cls, value):
        return _check_link_text(value, "student")

    @property
    def seed_list(self) -> list[int]:
        return seed_list(self.seeds)


def gram_of(config) -> np.ndarray:
    from ..dynamics._neurons import equiangular_gram

    if getattr(config, "gram", None):
        Q = np.asarray(config.gram, dtype=np.float64)
        if Q.shape[0] != config.k:
            raise MimflowError(f"the gram matrix is {Q.shape[0]} x {Q.shape[0]} but k = {config.k}: "
                               f"pass --k {Q.shape[0]}")
        return Q
    return equiangular_gram(config.k, config.beta)


def _default_t_max(a, k: int, d: int) -> float:
    from ..theory._neurons import information_exponent_of_g, search_time_prediction

    p = information_exponent_of_g(a)
    if p < 2:
        return 1e3
    try:
        pred = search_time_prediction(a, k, d, 1)["neuron_median_leading_order"]
    except MimflowError:
        pred = d ** max(p / 2 - 1, 0.0) + math.log(d)
    return float(max(1e3, 1e3 * pred))


def _none_if(x, missing=False):
    return None if missing or not np.isfinite(x) else float(x)


def run_neurons(config: NeuronsConfig, *, progress=None) -> RunResult:
    import xarray as xr

    from ..dynamics._neurons import classify_neuron_end_points, neuron_initial_overlaps, solve_neurons
    from ..theory import _neurons as th

    start = time.perf_counter()
    Q = gram_of(config)
    k, n, d = config.k, config.n, config.d
    if d <= k:
        raise MimflowError(f"d = {d} must exceed k = {k}")
    a = th.correlation_coefficients(config.sigma, config.student, config.degree)
    seeds = config.seed_list
    S = len(seeds)
    t_max = config.t_max or _default_t_max(a, k, d)
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
        except MimflowError:
            beta_c = None

    data = {
        "m0": (("seed", "neuron", "index"), run.m0),
        "m_final": (("seed", "neuron", "index"), run.m),
        "escape_time": (("seed", "neuron"), np.where(escaped, esc, -1.0)),
        "escaped": (("seed", "neuron"), escaped),
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
        "escape_time_missing": -1.0, "time_units": "docs/math/neurons.md §2.2: correlation loss, unit learning rate",
    })
    check_finite_result("neurons", ds)

    def nz(x):
        return float(x) if x.size else None

    escape_summary = []
    runs = []
    for s, seed in enumerate(seeds):
        e = esc[s][escaped[s]]
        escape_summary.append({
            "seed": seed, "fraction_escaped": float(escaped[s].mean()),
            "median": nz(np.median(e)) if e.size else None, "first": nz(e.min()) if e.size else None,
            "last": nz(e.max()) if e.size else None,
            "per_neuron": [_none_if(x) for x in esc[s]],
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
        "predicted_recovered_all_probability": predicted_all,
        "neuron_success_fraction": float(np.mean(index >= 0)),
        "predicted_neuron_success_probability": p_s,
        "expected_neurons_needed": th.expected_neurons_needed(k, p_s) if p_s else None,
        "nearest_index_rule_agreement": (float(np.mean((rule[0] == index) & ((rule[0] < 0) | (rule[1] == sign))))
                                         if rule is not None else None),
        "end_point_fractions": {lab: float(np.mean(label == lab)) for lab in ("index vector", "average", "other", "none")},
        "escape_times": escape_summary,
        "median_escape_time": float(np.median(esc[escaped])) if escaped.any() else None,
        "predicted_search_time": search,
        "beta_c": beta_c,
        "t_max": t_max,
        "runs": runs,
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
    from ..plotting._neurons import plot_neuron_overlaps
    from ..plotting import new_figure
    from ._io import atomic_savefig

    fig, axes = new_figure(1, 1, width=4.8, height=3.4)
    plot_neuron_overlaps(axes[0, 0], dataset, seed_position=0)
    fig.tight_layout()
    atomic_savefig(fig, path)


NEURONS = register_run_command(RunCommand(
    "neurons", NeuronsConfig, run_neurons, vmapped_fields=frozenset({"seeds"}), positional=("sigma",),
    description="correlation-loss neurons vs sum-of-neurons targets: search phase, index vectors reached, "
                "coverage and beta_c (docs/math/neurons.md §2). Also: `mimflow neurons beta-c SIGMA --k K` and "
                "`mimflow neurons phase-diagram SIGMA --k K1,K2 --beta B1,B2 --d D --seeds S`.",
    plot=plot_neurons,
))


# ----------------------------------------------------------------------------- phase diagram


class NeuronsPhaseConfig(BaseModel):
    """Config of ``mimflow neurons phase-diagram``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sigma: str = Field("h3", description="target activation sigma*")
    k: int | list[int] = Field([2, 3, 4], description="number(s) of index vectors (all in one run)")
    beta: float | list[float] = Field([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                                      description="equal angle(s) beta in [0, 1) (all in one run)")
    d: int = Field(1000, description="input dimension")
    seeds: int = Field(4, ge=1, le=10_000, description="number of seeds (independent networks)")
    n: int = Field(64, ge=1, description="neurons per seed")
    student: str | None = Field(None, description="student activation (default sigma*)")
    degree: int | None = Field(None, description="Hermite truncation degree of g")
    rtol: float = Field(1e-8, gt=0.0, lt=1e-2, description="solver relative tolerance")

    @field_validator("k")
    @classmethod
    def _check_k(cls, value):
        values = value if isinstance(value, list) else [value]
        if not values or any(v < 1 for v in values):
            raise MimflowError(f"k must be integers >= 1, got {value!r}")
        return value

    @field_validator("beta")
    @classmethod
    def _check_beta(cls, value):
        values = value if isinstance(value, list) else [value]
        if not values or any(not 0.0 <= v < 1.0 for v in values):
            raise MimflowError(f"beta must be in [0, 1), got {value!r}")
        return value

    @field_validator("sigma")
    @classmethod
    def _check_sigma(cls, value):
        return _check_link_text(value, "sigma")

    @field_validator("student")
    @classmethod
    def _check_student(cls, value):
        return _check_link_text(value, "student")


PHASE_LABELS = ("index vector", "average", "other", "none")


def run_phase_diagram(config: NeuronsPhaseConfig, *, progress=None) -> RunResult:
    import xarray as xr

    from ..dynamics._neurons import classify_neuron_end_points, equiangular_gram, neuron_initial_overlaps, solve_neurons
    from ..theory import _neurons as th

    start = time.perf_counter()
    ks = sorted(config.k if isinstance(config.k, list) else [config.k])
    betas = sorted(config.beta if isinstance(config.beta, list) else [config.beta])
    if config.d <= max(ks):
        raise MimflowError(f"d = {config.d} must exceed k = {max(ks)}")
    a = th.correlation_coefficients(config.sigma, config.student, config.degree)
    t_max = _default_t_max(a, max(ks), config.d)
    frac = np.zeros((len(ks), len(betas), len(PHASE_LABELS)))
    beta_c = np.full(len(ks), -1.0)
    total = len(ks) * len(betas)
    for i, k in enumerate(ks):
        if k >= 2:
            try:
                beta_c[i] = th.beta_critical(a, k).beta_c
            except MimflowError:
                pass
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
    }
    scalars = {"wall_seconds": time.perf_counter() - start}
    return RunResult(ds, scalars=scalars, summary=summary)


def plot_phase(dataset, summary, path) -> None:
    from ..plotting._neurons import plot_phase_diagram
    from ..plotting import new_figure
    from ._io import atomic_savefig

    fig, axes = new_figure(2, 1, width=4.2, height=3.3)
    plot_phase_diagram(axes[0, 0], axes[0, 1], dataset)
    fig.tight_layout()
    atomic_savefig(fig, path)


PHASE = register_run_command(RunCommand(
    "neurons-phase-diagram", NeuronsPhaseConfig, run_phase_diagram, vmapped_fields=frozenset({"k", "beta"}),
    positional=("sigma",),
    description="what gradient flow reaches over (beta, k) with equal angles, with beta_c (docs/math/neurons.md §2.4)",
    plot=plot_phase,
))


# ----------------------------------------------------------------------------- beta_c


class NeuronsBetaCConfig(BaseModel):
    """Config of ``mimflow neurons beta-c``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sigma: str = Field("h3", description="target activation sigma*")
    k: int = Field(4, description="number of index vectors")
    student: str | None = Field(None, description="student activation (default sigma*)")
    degree: int | None = Field(None, description="Hermite truncation degree of g")

    @field_validator("k")
    @classmethod
    def _check_k(cls, value):
        if value < 2:
            raise MimflowError(f"k must be >= 2 for equal angles between index vectors, got {value}")
        return value

    @field_validator("sigma")
    @classmethod
    def _check_sigma(cls, value):
        return _check_link_text(value, "sigma")

    @field_validator("student")
    @classmethod
    def _check_student(cls, value):
        return _check_link_text(value, "student")


def beta_c_report(config: NeuronsBetaCConfig) -> dict:
    """``{"beta_c": x, "closed_form": ..., "crossings": [...], "m_bar": ..., ...}`` (theory only)."""
    from ..theory import _neurons as th

    a = th.correlation_coefficients(config.sigma, config.student, config.degree)
    res = th.beta_critical(a, config.k)
    mbar, perp, _ = th.average_point_curvatures(a, config.k, res.beta_c)
    return {"beta_c": res.beta_c, "closed_form": res.closed_form, "crossings": list(res.crossings),
            "k": config.k, "sigma": config.sigma, "student": config.student or config.sigma,
            "information_exponent": th.information_exponent_of_g(a), "m_bar": mbar,
            "g_coefficients": [float(x) for x in a]}


def run_beta_c(config: NeuronsBetaCConfig, *, progress=None) -> RunResult:
    import xarray as xr

    from ..theory import _neurons as th

    report = beta_c_report(config)
    a = np.asarray(report["g_coefficients"])
    betas = np.linspace(0.0, 0.99, 100)
    curv = np.array([th.average_point_curvatures(a, config.k, b)[2] for b in betas])
    ds = xr.Dataset({"inside_curvature": (("beta",), curv)}, coords={"beta": betas},
                    attrs={"beta_c": report["beta_c"], "k": config.k, "sigma": config.sigma})
    check_finite_result("neurons-beta-c", ds)
    if progress is not None:
        progress(1.0)
    return RunResult(ds, scalars={"beta_c": report["beta_c"]}, summary=report)


BETA_C = register_run_command(RunCommand(
    "neurons-beta-c", NeuronsBetaCConfig, run_beta_c, positional=("sigma",),
    description="critical equal angle beta_c where the average fixed point turns into a minimum (docs/math/neurons.md §2.4)",
))
