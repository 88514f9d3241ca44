r"""Samples online SGD needs to escape a saddle, against ``d``: the study ``sample_complexity`` and the
reproduction ``sample-complexity`` (issue 6, section 5; ``sgd-vs-ode`` is in :mod:`._sgd_vs_ode`).

**Time mapping** (the one of :func:`mimflow.training.train_online`): step ``n`` of online SGD with
learning rate :math:`\eta` and batch ``B`` sits at time :math:`t = n\eta`, the time of the population
gradient flow of docs/math/grassmannian-flow.md §1.4, docs/math/planted.md §1.7, docs/math/neurons.md §2.2 (loss with the factor 1/2, unit rate). The population flow is
the :math:`\eta \to 0` limit at fixed ``t``.

2. Samples to escape each saddle (``sample_complexity``)
--------------------------------------------------------
A run *escapes* when :math:`|M_{11}|` (single index; a singular value of ``M`` in general) first reaches
:math:`\theta = 1/2` (as :mod:`mimflow.dynamics._saddles`); the samples used are ``steps x B`` at that
point (interpolated between save points). Predictions (docs/math/saddles.md §1.6, docs/math/planted.md §1.7, docs/math/neurons.md §2.2) with
:math:`\eta = c\,d^{-\delta}` and :math:`t_{esc}` the population escape time:

* **planted** and **correlation** (one neuron, :math:`\sigma = \sigma_*`), information exponent
  :math:`s \ge 3`: :math:`t_{esc} = \Theta(d^{s/2-1})` (planted table of docs/math/saddles.md §1.6; docs/math/neurons.md §2.2).
  At :math:`m \sim d^{-1/2}` the retraction term :math:`\tfrac{\eta d}{2}C(0)m` beats the signal
  :math:`s c_s^2 m^{s-1}` unless :math:`\eta d \lesssim d^{-(s-2)/2}`, i.e. :math:`\delta \ge s/2`
  (Ben Arous, Gheissari, Jagannath 2021). With :math:`\delta = s/2` both terms, and the martingale
  variance accumulated over the plateau (:math:`\eta\,t_{esc} \sim c/d`, the same order as
  :math:`m(0)^2`), scale alike in ``d``, so only the constant depends on ``c`` and
  **samples** :math:`= t_{esc}/\eta = \Theta(d^{s-1})` (``s = 3``: :math:`d^2`). This is the rigorous
  row tested. With :math:`\delta = 1` (the heuristic :math:`\eta \sim 1/d`) and fixed ``c``, the corrected
  ODE :math:`\dot m = s c_s^2 m^{s-1} - \tfrac{c}{2}C(0)m` has a stable point at ``m = 0`` and an
  unstable one at :math:`m_* = (cC(0)/(2sc_s^2))^{1/(s-2)} = O(1)`: runs stay on the plateau
  (escape needs an ``O(1)`` fluctuation); the study reports the escaped fraction within its budget.
  ``s = 2``: :math:`\delta = 1` suffices (:math:`c < 4c_2^2/C(0)`) and samples :math:`\sim d\ln d`.
* **two-timescale** (link refitted, docs/math/saddles.md §1.6, docs/math/finite-sample.md §1.8-1.9), ``s``: :math:`t_{esc} = \Theta(d^{s-1})`.
  With the exact link :math:`f_W = A_{M^T}f_*` the student's output gradient vanishes at the saddle
  (:math:`\nabla f_W = O(m^s)`), so the retraction and martingale terms are negligible at
  :math:`\delta = 1` and samples :math:`= t_{esc}d/c = \Theta(d^s)` (``s = 2``: :math:`d^2`). With the link
  estimated from samples, its coefficient noise :math:`\sim N_{fit}^{-1/2}` must stay below the signal
  :math:`m^s \sim d^{-s/2}`, the :math:`n \gg d^s` of docs/math/finite-sample.md §1.9 (a heuristic there, labelled
  non-rigorous): this row is reported as measured, beside the heuristic, not tested as a law.

Runs that have not escaped within their sample budget are right-censored there (the horizon of that
``d``: ``budget`` times its predicted median, so the censored fraction does not grow with ``d``), never
dropped. No run is excluded by its start: with :math:`\delta = s/2` the martingale noise accumulated over
the plateau is of the order of :math:`m(0)^2`, so SGD lets negative starts of odd links escape too
(measured: 60-80 % of them at ``d = 50, 100``), unlike the population flow. Medians are Kaplan-Meier medians with 95 % CIs (``median``, ``median_ci95``, ``None`` plus
``median_censored`` when more than half are censored; docs/math/statistics.md §8.2); fitted exponents are
least-squares slopes of the log median against :math:`\log d` with a bootstrap-over-seeds standard error
(:func:`mimflow.theory.loglog_slope_with_error`, docs/math/statistics.md §8.4; medians, because escape
times are heavy-tailed, docs/math/saddles.md §1.6), reported as ``escape_slope`` = ``{fitted, fitted_se,
predicted, asymptotic, text}`` (``fitted_exponent``/``fitted_exponent_se`` are the same numbers).

Claims (``claims.json``, docs/math/statistics.md §8.5): the deviation slope is -1/2 (section 1; SE from
the weighted fit of the per-``d`` RMS deviations, whose SEs come from the seeds); the samples of each
rigorous row scale with the exponent of the population prediction over the same ``d`` (section 2).

References: docs/math/saddles.md §1.6, docs/math/planted.md §1.7, docs/math/finite-sample.md §1.8-1.9,
docs/math/neurons.md §2.2, docs/math/online-sgd.md §6.3; Ben Arous, Gheissari, Jagannath, "Online stochastic gradient
descent on non-convex losses from high-dimensional inference", JMLR 2021 (``n \sim d^{s-1}``).
"""

from __future__ import annotations

import math
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import xarray as xr
from scipy import stats

from mimflow._errors import MimflowError
from mimflow.plotting import new_figure, plot_samples_to_escape
from mimflow.runs import atomic_savefig, atomic_write_dataset, atomic_write_json, check_claim, write_claims
from mimflow.studies._escape_stats import ESCAPE_THRESHOLD
from mimflow.targets import make_link
from mimflow.theory import (MAX_CENSORED_FRACTION, MIN_RUNS, censored_median, fit_loglog_slope,
                            loglog_slope_with_error, single_index_escape_time)
from mimflow.training import Scaling, make_algorithm, train_online

BAGJ = "Ben Arous, Gheissari, Jagannath (2021), JMLR 22(106)"


def samples_to_escape(traj, *, threshold: float = ESCAPE_THRESHOLD, samples_per_step: float = 1.0) -> np.ndarray:
    """``(S,)`` samples used when the largest singular value of ``M`` first reaches ``threshold``.

    Linear interpolation in the step count between the two save points around the crossing;
    ``inf`` where the run never reaches it.
    """
    if "save_steps" in traj.info:
        steps = np.asarray(traj.info["save_steps"], dtype=float)
    else:  # t = step * lr (mimflow.training time mapping)
        steps = np.round(np.asarray(traj.t, dtype=float) / float(traj.info["lr"]))
    sv = np.linalg.svd(np.asarray(traj.M), compute_uv=False)[..., 0]  # (S, T)
    out = np.full(sv.shape[0], np.inf)
    for s in range(sv.shape[0]):
        above = np.nonzero(sv[s] >= threshold)[0]
        if len(above) == 0:
            continue
        j = above[0]
        if j == 0:
            out[s] = 0.0
            continue
        a, b = sv[s, j - 1], sv[s, j]
        frac = (threshold - a) / (b - a) if b > a else 1.0
        out[s] = (steps[j - 1] + frac * (steps[j] - steps[j - 1])) * samples_per_step
    return out


CASES = {
    # name: (algorithm, link, information exponent s, lr exponent delta, lr coefficient c, predicted exponent, rigorous)
    "correlation h3, eta = c d^-3/2": ("correlation", "h3", 3, 1.5, 0.3, 2.0, True),
    "planted h3, eta = c d^-3/2": ("planted", "h3", 3, 1.5, 0.05, 2.0, True),
    "two-timescale h2, eta = c/d": ("two-timescale", "h2", 2, 1.0, 0.2, 2.0, False),
    "planted h3, eta = c/d": ("planted", "h3", 3, 1.0, 0.5, None, False),
    "two-timescale h2, eta = c/d, window 2e4": ("two-timescale:20000", "h2", 2, 1.0, 0.2, 2.0, False),
}
"""The rows of the sample-complexity study; ``predicted exponent`` of samples against ``d``
(module docstring, section 2); ``None``: no polynomial law (noise-dominated plateau)."""


@lru_cache(maxsize=32)
def build_algorithm_cached(algorithm: str, link: str, noise: float = 0.0):
    """One algorithm object per (algorithm, link, noise): the engines' compiled segments are keyed on
    the algorithm object, so reusing it avoids recompiling across studies in one process."""
    if noise:
        return make_algorithm(algorithm, link, noise=noise)
    if algorithm == "correlation":
        return make_algorithm("correlation", link, teacher_neurons=1, student_neurons=1)
    if algorithm.startswith("two-timescale"):  # "two-timescale[:window]": running fit, EMA window of samples
        window = int(algorithm.split(":")[1]) if ":" in algorithm else 2000
        return make_algorithm("two-timescale", link, degree=2, link_fit="running", fit_batch=window)
    return make_algorithm(algorithm, link)


def predicted_samples(algorithm: str, link: str, d: float, lr: float) -> float:
    r"""Population escape time / lr: :math:`t_{esc}/\eta` from the exact single-index integral (docs/math/saddles.md §1.6).

    ``m(0)`` is the median of :math:`|N(0, 1/d)|`, :math:`\sqrt{0.455/d}`, i.e. the prediction of the
    median over seeds; the correlation loss with one neuron has the planted velocity (docs/math/neurons.md §2.2).
    For odd ``s`` the population flow escapes only from :math:`m(0) > 0` (half the seeds): this is then
    the median of the escaping half (SGD's noise lets some negative starts escape too).
    """
    m0 = math.sqrt(stats.chi2.ppf(0.5, 1) / d)
    alg = "two-timescale" if algorithm.startswith("two-timescale") else "planted"
    t = single_index_escape_time(make_link(link).spectrum(8), algorithm=alg, m0=m0)
    return t / lr


def sample_complexity(
    *,
    cases=None,
    ds=(100, 200, 400, 800),
    seeds: int = 32,
    budget: float = 8.0,
    n_save: int = 400,
    engine: str = "reduced",
    key=None,
    progress=None,
    seed: int = 0,
) -> dict:
    """Samples to escape against ``d`` for each case of :data:`CASES` (module docstring, section 2).

    Each run gets ``budget`` times the predicted median (:func:`predicted_samples`) as its step budget
    (its censoring horizon). Returns per case: ``d``, per-seed samples (``inf``: censored), Kaplan-Meier
    medians with 95 % CIs, censored and escaped fractions, the predicted samples, ``escape_slope`` (the
    fitted exponent with its bootstrap SE beside the predicted one) and ``warnings``.
    """
    names = list(CASES) if cases is None else list(cases)
    result = {"d": [int(d) for d in ds], "seeds": seeds, "budget": budget, "threshold": ESCAPE_THRESHOLD,
              "engine": engine, "time_mapping": "t = step * eta", "cases": {}}
    total = len(names) * len(ds)
    done = 0
    for name in names:
        if name not in CASES:
            raise MimflowError(f"unknown case {name!r}; known: {', '.join(CASES)}")
        algorithm, link, s, delta, coef, exponent, rigorous = CASES[name]
        algo = build_algorithm_cached(algorithm, link)
        row = {"algorithm": algorithm, "link": link, "information_exponent": s, "lr": f"{coef} * d^-{delta}",
               "predicted_exponent": exponent, "rigorous": rigorous, "samples": [], "median": [], "median_ci95": [],
               "median_censored": [], "censored_fraction": [], "escaped_fraction": [], "predicted": [],
               "steps_budget": [], "seconds": [], "warnings": []}
        for d in ds:
            lr = coef * float(d) ** (-delta)
            pred = predicted_samples(algorithm, link, d, lr)
            steps = int(min(max(budget * pred, 100), 5e8))
            start = time.perf_counter()
            traj = train_online(algo, d=int(d), steps=steps, lr=Scaling(coef, delta), batch=1, seeds=seeds,
                                engine=engine, n_save=n_save, save_grid="linear", key=key)
            row["seconds"].append(time.perf_counter() - start)
            x = samples_to_escape(traj)
            km = censored_median(np.where(np.isfinite(x), x, np.nan), float(steps))
            row["samples"].append(x)
            row["median"].append(km.median)
            row["median_ci95"].append(list(km.ci95))
            row["median_censored"].append(km.median_censored)
            row["censored_fraction"].append(km.censored_fraction)
            row["escaped_fraction"].append(float(np.mean(np.isfinite(x))))
            row["predicted"].append(pred)
            row["steps_budget"].append(steps)
            done += 1
            if progress is not None:
                progress(done / total)
        row["predicted_finite_d_exponent"] = fit_loglog_slope(ds, row["predicted"])
        samples = [np.where(np.isfinite(x), x, np.nan) for x in row["samples"]]
        est = loglog_slope_with_error(ds, samples, row["steps_budget"], seed=seed)
        text = "-" if est.fitted is None else f"{est.fitted:.2f}" + (
            f" +- {est.fitted_se:.2f}" if est.fitted_se is not None else " (SE unknown)")
        row["escape_slope"] = {"fitted": est.fitted, "fitted_se": est.fitted_se,
                               "predicted": row["predicted_finite_d_exponent"], "asymptotic": exponent,
                               "bootstrap_censored_fraction": est.bootstrap_censored_fraction,
                               "text": text + f" (theory {row['predicted_finite_d_exponent']:.2f})"}
        row["fitted_exponent"] = est.fitted if est.fitted is not None else float("nan")
        row["fitted_exponent_se"] = est.fitted_se if est.fitted_se is not None else float("nan")
        for d, m_censored, frac in zip(ds, row["median_censored"], row["censored_fraction"]):
            if m_censored:
                row["warnings"].append(f"{name} at d = {d}: more than half of the runs censored at the budget: "
                                       "the median is only a lower bound (raise budget)")
            elif frac > MAX_CENSORED_FRACTION:
                row["warnings"].append(f"{name} at d = {d}: {100 * frac:.0f} % of runs censored at the budget "
                                       f"(> {100 * MAX_CENSORED_FRACTION:.0f} %)")
        if seeds < MIN_RUNS:
            row["warnings"].append(f"{name}: the medians rest on {seeds} runs (< {MIN_RUNS})")
        row["measured_over_predicted"] = [None if m is None else m / p for m, p in zip(row["median"], row["predicted"])]
        result["cases"][name] = row
    return result


def sample_complexity_claims(res: dict) -> list:
    """Samples to escape scale as predicted, for the rigorous rows (module docstring, section 2)."""
    rows = {n: r for n, r in res["cases"].items() if r["rigorous"]}
    claims = []
    for name, row in rows.items():
        sl = row["escape_slope"]
        claims.append(check_claim(
            f"online SGD, {name}: samples to escape the saddle scale like d^{row['predicted_exponent']:g} "
            f"(information exponent {row['information_exponent']})", f"{BAGJ}; docs/math/saddles.md §1.6, docs/math/planted.md §1.7",
            f"log-log slope of the Kaplan-Meier median samples over d = {res['d']}", predicted=sl["predicted"],
            measured=sl["fitted"], se=sl["fitted_se"], family=len(rows),
            note=f"predicted: slope of t_esc(d)/eta of the population flow over the same d (asymptotic "
                 f"{row['predicted_exponent']:g}); SE: bootstrap over {res['seeds']} seeds; runs not escaped within "
                 f"{res['budget']:g} x the predicted median are censored (all runs counted: at eta = c d^-s/2 the SGD noise "
                 "over the plateau is of the order of m(0), so no start is excluded by its sign)"))
    return claims


def _sample_complexity_dataset(res: dict):
    names = list(res["cases"])
    rows = [res["cases"][n] for n in names]
    data = {
        "samples": (("case", "d", "seed"), np.asarray([r["samples"] for r in rows], dtype=float)),
        "median": (("case", "d"), np.asarray([r["median"] for r in rows], dtype=float)),
        "predicted": (("case", "d"), np.asarray([r["predicted"] for r in rows], dtype=float)),
        "escaped_fraction": (("case", "d"), np.asarray([r["escaped_fraction"] for r in rows], dtype=float)),
        "steps_budget": (("case", "d"), np.asarray([r["steps_budget"] for r in rows], dtype=float)),
    }
    # netCDF3 has no inf: censored runs are stored as -1 (documented in the attribute)
    for key in ("samples", "median"):
        arr = data[key][1]
        data[key] = (data[key][0], np.where(np.isfinite(arr), arr, -1.0))
    return xr.Dataset(data, coords={"case": np.arange(len(names)), "d": res["d"], "seed": np.arange(res["seeds"])},
                      attrs={"cases": " | ".join(names), "censored": "-1 = not escaped within steps_budget",
                             "threshold": res["threshold"], "time_mapping": res["time_mapping"]})


def sample_complexity_reproduction(out_dir: Path, *, quick: bool = False) -> list[Path]:
    """Figure ``sample_complexity.png``, data ``.nc`` and ``.json`` (module docstring, section 2)."""
    if quick:
        # four d (two gave a slope CI of [0.96, 2.81]); budget 6 keeps the censored share below 10 %
        res = sample_complexity(cases=list(CASES)[:1], ds=(50, 100, 200, 400), seeds=32, budget=6.0, n_save=100)
    else:
        res = sample_complexity(cases=list(CASES)[:4], ds=(50, 100, 200), seeds=32, budget=4.0)
    fig, axes = new_figure(1, 1, width=6.0, height=4.2)
    plot_samples_to_escape(axes[0, 0], res["d"], res["cases"])
    axes[0, 0].set_title("online SGD: samples to escape the saddle at $m \\sim d^{-1/2}$ (fitted exponents)")
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = atomic_savefig(fig, out_dir / "sample_complexity.png")
    data = atomic_write_dataset(_sample_complexity_dataset(res), out_dir / "sample_complexity.nc")
    claims = sample_complexity_claims(res)
    summary = {"d": res["d"], "seeds": res["seeds"], "budget": res["budget"], "threshold": res["threshold"],
               "engine": res["engine"], "time_mapping": res["time_mapping"],
               "cases": {n: {k: v for k, v in r.items() if k != "samples"} for n, r in res["cases"].items()},
               "claims": [c.to_json() for c in claims],
               "warnings": [w for r in res["cases"].values() for w in r["warnings"]],
               "files": [str(figure), str(data)]}
    js = atomic_write_json(out_dir / "sample_complexity.json", summary)
    return [figure, data, js, write_claims(out_dir, claims)]


def reproduce_sample_complexity(out_dir: Path, quick: bool) -> list[Path]:
    return sample_complexity_reproduction(out_dir, quick=quick)
