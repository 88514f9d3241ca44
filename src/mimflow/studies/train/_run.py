r"""``mimflow train``: finite-sample training on Gaussian samples, with the population flow beside it.

One run trains the chosen algorithm (:mod:`mimflow.training`) for every ``d`` and seed requested:
online SGD with the exact reduced engine (cost per step independent of ``d``; the default) or with
``d``-dimensional samples (``--engine full``), or full-batch GD on a fixed sample of
``n = n_samples * d^samples_exponent`` points (``--n-samples``, ``d``-dimensional). The learning
rate is ``lr * d^(-lr_exponent)`` and the batch ``batch_size * d^batch_exponent``. Times are
``t = step * lr`` (docs/math/grassmannian-flow.md §1.4 units); ``--compare-theory`` integrates the population flow from the
same initial overlaps at the same times and reports the largest deviation ``max |M - M_flow|``.

JSON summary keys: ``link``, ``algorithm``, ``engine``, ``r``, ``p``, ``d``, ``steps``, ``lr``
and ``batch`` (per ``d``), ``t`` (the save times: a list when they are the same for every ``d``,
else ``{d: list}``), ``runs`` (per ``d`` and seed: final overlaps ``M``, their singular values,
final and minimum population risk, final ``Q`` where the student is not on the Stiefel manifold),
``steps_per_second`` (per ``d``) and, with ``--compare-theory``, ``max_deviation_from_theory``
(per ``d``: the maximum over seeds) and ``deviation_per_seed``.

**Escape times** (docs/math/statistics.md): the ``k``-th singular value of ``M`` escapes when it first reaches
``ESCAPE_THRESHOLD = 1/2`` (linear interpolation in ``t`` between save points); a run that has not
escaped by the end of its run (``t = steps * lr``, the horizon of that ``d``) is right-censored there,
never dropped. Per ``d`` and singular value: ``median_escape_times`` (Kaplan-Meier, ``null`` when
censored: see ``median_censored``), ``median_escape_times_ci95``, ``censored_fraction``, ``horizon``,
``counted_runs``; with several ``d``, ``escape_time_slopes`` (log-log slope of the medians with a
bootstrap-over-seeds SE, ``fitted``/``fitted_se``); with ``--compare-theory``, the same statistics of the
population flow from each run's own ``M(0)`` (``theory_escape_times``: the per-seed prediction, and the
``predicted`` slope). ``warnings``: few runs, censoring above 10 %, censored medians.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from mimflow._errors import MimflowError
from mimflow.runs import RunResult, check_finite_result
from mimflow.studies._escape_stats import ESCAPE_THRESHOLD, escape_time_summary, predicted_slope, slope_summary
from mimflow.targets import make_link
from mimflow.training import (Scaling, make_algorithm, max_deviation, population_reference, train_full_batch,
                              train_online)

if TYPE_CHECKING:  # annotations only: the command module names this one (a Deferred), not the reverse
    from mimflow.studies.train._command import TrainConfig


def build_algorithm(config: TrainConfig):
    """The :class:`~mimflow.training.TrainingAlgorithm` a config describes."""
    common = {"noise": config.noise, "degree": config.degree}
    if config.algorithm == "two-timescale":
        return make_algorithm("two-timescale", config.link, student_rank=config.rank, ridge=config.ridge,
                              kernel_decay=config.kernel_decay, link_fit=config.link_fit, fit_batch=config.fit_batch,
                              refit_every=config.refit_every, link_speed=config.link_speed, **common)
    if config.algorithm == "planted":
        if config.rank is not None:
            if config.rank != make_link(config.link).r:
                raise MimflowError("the planted student uses the link itself: drop --rank (p = r)")
        return make_algorithm("planted", config.link, **common)
    if config.algorithm == "correlation":
        return make_algorithm("correlation", config.link, teacher_neurons=config.teacher_neurons,
                              student_neurons=config.rank, beta=config.beta, **common)
    return make_algorithm("committee", config.link, student_width=config.rank, activation=config.activation,
                          constraint=config.constraint, train_second_layer=config.train_second_layer, **common)


def crossing_times(t, values, threshold: float = ESCAPE_THRESHOLD) -> np.ndarray:
    """``(S, n)`` first time each ``values (S, T, n)`` reaches ``threshold`` (linear interpolation between
    save times ``t (T,)``; 0 when it starts above; NaN when it never does: censored at ``t[-1]``)."""
    t = np.asarray(t, dtype=float)
    v = np.asarray(values, dtype=float)
    above = v >= threshold
    hit = above.any(axis=1)
    j = np.argmax(above, axis=1)  # (S, n) first save index at or above
    jm = np.maximum(j - 1, 0)
    v1 = np.take_along_axis(v, j[:, None, :], axis=1)[:, 0]
    v0 = np.take_along_axis(v, jm[:, None, :], axis=1)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(v1 > v0, (threshold - v0) / (v1 - v0), 1.0)
    out = t[jm] + np.clip(frac, 0.0, 1.0) * (t[j] - t[jm])
    return np.where(hit, np.where(j == 0, t[0], out), np.nan)


def escape_fields(ds_list, trajectories, references) -> tuple[dict, list[str]]:
    """Censoring-aware escape-time fields of ``mimflow train`` (module docstring)."""
    escape = np.stack([crossing_times(tr.t, tr.singular_values) for tr in trajectories])  # (D, S, n)
    horizons = np.array([float(tr.t[-1]) for tr in trajectories])
    n = escape.shape[-1]
    names = [f"singular value {k + 1}" for k in range(n)]
    fields, warnings = escape_time_summary(ds_list, escape, horizons, names=names, horizon_option="--steps")
    theory = None
    if references:
        theory = np.stack([crossing_times(ref.t, ref.singular_values) for ref in references])
        th_fields, _ = escape_time_summary(ds_list, theory, horizons, names=names)
        fields["theory_escape_times"] = {
            "median_escape_times": th_fields["median_escape_times"],
            "median_escape_times_ci95": th_fields["median_escape_times_ci95"],
            "median_censored": th_fields["median_censored"],
            "per_seed": {str(d): [[None if not np.isfinite(x) else float(x) for x in row] for row in theory[a]]
                         for a, d in enumerate(ds_list)}}
    if len(ds_list) >= 2:
        predicted = None
        if theory is not None:
            med = fields["theory_escape_times"]["median_escape_times"]
            predicted = [None if any(med[str(d)][k] is None for d in ds_list)
                         else predicted_slope(ds_list, [med[str(d)][k] for d in ds_list]) for k in range(n)]
        slopes, more = slope_summary(ds_list, escape, horizons, predicted=predicted, names=names,
                                    horizon_option="--steps")
        fields["escape_time_slopes"] = slopes
        warnings += more
    fields["escape_times_per_seed"] = {str(d): [[None if not np.isfinite(x) else float(x) for x in row]
                                                for row in escape[a]] for a, d in enumerate(ds_list)}
    return fields, warnings


class _SubProgress:
    """Progress of one ``d`` out of ``n`` mapped onto the whole run (keeps ``describe``)."""

    def __init__(self, parent, index: int, total: int):
        self.parent, self.index, self.total = parent, index, total

    def __call__(self, fraction: float) -> None:
        self.parent((self.index + fraction) / self.total)

    def describe(self, text: str) -> None:
        describe = getattr(self.parent, "describe", None)
        if describe is not None:
            describe(f"d = {self._d} {text}" if hasattr(self, "_d") else text)


def run_train(config: TrainConfig, *, progress=None) -> RunResult:
    start = time.perf_counter()
    algo = build_algorithm(config)
    ds_list, seeds = config.d_list, config.seed_list
    lr = Scaling(config.lr, config.lr_exponent)
    batch = Scaling(config.batch_size, config.batch_exponent)
    full_batch = config.n_samples is not None
    if full_batch and config.engine != "full":
        raise MimflowError("full-batch GD (--n-samples) needs d-dimensional samples: add --engine full")
    trajectories, references = [], []
    for i, d in enumerate(ds_list):
        sub = _SubProgress(progress, i, len(ds_list)) if progress is not None else None
        if sub is not None:
            sub._d = d
        if full_batch:
            traj = train_full_batch(algo, d=d, n_samples=Scaling(config.n_samples, config.samples_exponent),
                                    steps=config.steps, lr=lr, seeds=seeds, n_save=config.n_save,
                                    save_grid=config.save_grid, chunk=min(config.chunk, 1000), progress=sub)
        else:
            traj = train_online(algo, d=d, steps=config.steps, lr=lr, batch=batch, seeds=seeds,
                                engine=config.engine, n_save=config.n_save, save_grid=config.save_grid,
                                chunk=config.chunk, progress=sub)
        trajectories.append(traj)
        if config.compare_theory:
            references.append(population_reference(algo, traj))
    T = min(len(tr.t) for tr in trajectories)
    if any(len(tr.t) != T for tr in trajectories):  # pragma: no cover - save grids depend only on steps
        raise MimflowError("internal: save grids differ between d values")
    steps_saved = np.round(trajectories[0].t / trajectories[0].info["lr"]).astype(np.int64)
    t = np.stack([tr.t for tr in trajectories])
    M = np.stack([tr.M for tr in trajectories])
    loss = np.stack([tr.loss for tr in trajectories])
    sv = np.stack([tr.singular_values for tr in trajectories])
    data = {
        "t": (("d", "save"), t),
        "M": (("d", "seed", "save", "i", "j"), M),
        "loss": (("d", "seed", "save"), loss),
        "singular_values": (("d", "seed", "save", "k"), sv),
    }
    if trajectories[0].Q is not None:
        data["Q"] = (("d", "seed", "save", "j", "j2"), np.stack([tr.Q for tr in trajectories]))
    if trajectories[0].second_layer is not None:
        data["second_layer"] = (("d", "seed", "save", "j"), np.stack([tr.second_layer for tr in trajectories]))
    deviation = None
    if references:
        deviation = np.stack([max_deviation(tr, ref) for tr, ref in zip(trajectories, references)])
        data["M_theory"] = (("d", "seed", "save", "i", "j"), np.stack([ref.M for ref in references]))
        data["loss_theory"] = (("d", "seed", "save"), np.stack([ref.loss for ref in references]))
        data["max_deviation"] = (("d", "seed"), deviation)
    engine = "full-batch" if full_batch else config.engine
    attrs = {"link": algo.link, "algorithm": algo.name, "engine": engine, "constraint": algo.constraint,
             "r": algo.r, "p": algo.p, "steps": config.steps, "noise": config.noise,
             "time_mapping": "t = step * lr", "risk": "closed-form population risk without the label noise"}
    dataset = xr.Dataset(data, coords={"d": ds_list, "seed": seeds, "save": np.arange(T), "step": ("save", steps_saved),
                                       "lr": ("d", [tr.info["lr"] for tr in trajectories])}, attrs=attrs)
    check_finite_result("train", dataset)
    same_t = all(np.array_equal(tr.t, trajectories[0].t) for tr in trajectories)
    runs = []
    for a, d in enumerate(ds_list):
        tr = trajectories[a]
        for j, seed in enumerate(seeds):
            run = {"d": d, "seed": seed, "final_M": tr.M[j, -1].tolist(),
                   "final_singular_values": tr.singular_values[j, -1].tolist(),
                   "final_loss": float(tr.loss[j, -1]), "min_loss": float(np.min(tr.loss[j]))}
            if tr.Q is not None:
                run["final_Q"] = tr.Q[j, -1].tolist()
            if tr.second_layer is not None:
                run["final_second_layer"] = tr.second_layer[j, -1].tolist()
            if deviation is not None:
                run["max_deviation_from_theory"] = float(deviation[a, j])
            runs.append(run)
    summary = {
        "link": algo.link, "algorithm": algo.name, "engine": engine, "constraint": algo.constraint,
        "r": algo.r, "p": algo.p, "d": ds_list, "steps": config.steps,
        "lr": {str(d): tr.info["lr"] for d, tr in zip(ds_list, trajectories)},
        "batch": {str(d): tr.info.get("batch", tr.info.get("n_samples")) for d, tr in zip(ds_list, trajectories)},
        "time_mapping": "t = step * lr",
        "t": trajectories[0].t.tolist() if same_t else {str(d): tr.t.tolist() for d, tr in zip(ds_list, trajectories)},
        "runs": runs,
        "steps_per_second": {str(d): tr.info["steps_per_second"] for d, tr in zip(ds_list, trajectories)},
    }
    if deviation is not None:
        summary["max_deviation_from_theory"] = {str(d): float(np.max(deviation[a])) for a, d in enumerate(ds_list)}
        summary["deviation_per_seed"] = {str(d): deviation[a].tolist() for a, d in enumerate(ds_list)}
    fields, warnings = escape_fields(ds_list, trajectories, references)
    summary.update(fields)
    summary["warnings"] = warnings
    scalars = {
        "final_loss_median": float(np.median(loss[-1, :, -1])),
        "wall_seconds": time.perf_counter() - start,
    }
    if deviation is not None:
        scalars["max_deviation_from_theory"] = float(np.max(deviation[-1]))
    return RunResult(dataset, scalars=scalars, summary=summary)
