"""Reproductions of docs/math/neurons.md §2 (Simsek, Bendjeddou, Hsu): ``search-phase``, ``coverage``, ``beta-c``.

Each writes a figure, a JSON of the numbers behind it and a netCDF dataset into its folder.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ._io import atomic_savefig, atomic_write_dataset, atomic_write_json
from ._registry import register


def _median_escapes(a, k: int, d: int, n: int, seed: int = 0):
    from ..dynamics._neurons import neuron_initial_overlaps, solve_neurons
    from ..theory._neurons import search_time_prediction

    m0 = neuron_initial_overlaps(np.eye(k), d, n, [seed])
    t_max = 1e4 * max(search_time_prediction(a, k, d)["neuron_median_leading_order"], 1.0)
    run = solve_neurons(a, np.eye(k), m0, t_max=t_max, rtol=1e-7)
    e = run.escape_time[np.isfinite(run.escape_time)]
    return float(np.median(e)), float(np.min(e)), float(np.max(e))


@register("search-phase", "correlation-loss neurons: search time vs d (slopes p*/2-1, log d) and overlaps vs time")
def search_phase(out_dir: Path, quick: bool) -> list[Path]:
    import xarray as xr

    from ..plotting import new_figure
    from ..plotting._neurons import plot_neuron_overlaps
    from ..theory._neurons import correlation_coefficients, search_time_prediction
    from ._neurons import NeuronsConfig, run_neurons

    start = time.perf_counter()
    k = 4
    n = 128 if quick else 512
    ds = [10**3, 10**4, 10**5] if quick else [10**3, 10**4, 10**5, 10**6]
    links = ["h2", "h3", "h4"]
    med = np.zeros((len(links), len(ds)))
    first = np.zeros_like(med)
    pred = np.zeros_like(med)
    pred_first = np.zeros_like(med)
    for i, link in enumerate(links):
        a = correlation_coefficients(link)
        for j, d in enumerate(ds):
            med[i, j], first[i, j], _ = _median_escapes(a, k, d, n)
            p = search_time_prediction(a, k, d, n)
            pred[i, j], pred_first[i, j] = p["neuron_median"], p["network_first_median"]
    slopes = {}
    for i, link in enumerate(links):
        fitted = float(np.polyfit(np.log(ds), np.log(med[i]), 1)[0])
        if link == "h2":
            per_log_d = float(np.polyfit(np.log(ds), med[i], 1)[0])
            slopes[link] = {"loglog_fitted": fitted, "dT_dlogd_fitted": per_log_d, "dT_dlogd_predicted": 0.25}
        else:
            p_star = int(link[1:])
            slopes[link] = {"loglog_fitted": fitted, "loglog_predicted": p_star / 2 - 1}
    example = run_neurons(NeuronsConfig(sigma="h3", k=k, n=12, d=10_000, seeds=1, n_save=150))

    fig, axes = new_figure(2, 1, width=4.4, height=3.4)
    plot_neuron_overlaps(axes[0, 0], example.dataset, seed_position=0)
    ax = axes[0, 1]
    for i, link in enumerate(links):
        ax.loglog(ds, med[i], "o", color=f"C{i}", label=f"{link}: median neuron (slope {slopes[link]['loglog_fitted']:.2f})")
        ax.loglog(ds, pred[i], "-", color=f"C{i}", lw=0.9)
        ax.loglog(ds, first[i], "s", color=f"C{i}", ms=3, mfc="none")
        ax.loglog(ds, pred_first[i], ":", color=f"C{i}", lw=0.9)
    ax.plot([], [], "k-", lw=0.9, label="theory (docs/math/neurons.md §2.2)")
    ax.plot([], [], "ks", ms=3, mfc="none", label=f"first of {n} neurons (dotted: theory)")
    ax.set_xlabel("d")
    ax.set_ylabel("escape time (max$_j|m_j|$ = 1/2)")
    ax.set_title(f"search phase, k = {k}: $d^{{p^*/2-1}}$, log d for $p^* = 2$")
    ax.legend(frameon=False, fontsize=6.5)
    fig.tight_layout()
    paths = [atomic_savefig(fig, out_dir / "search_phase.png")]
    data = xr.Dataset({"median_escape_time": (("link", "d"), med), "predicted_median": (("link", "d"), pred),
                       "first_escape_time": (("link", "d"), first), "predicted_first": (("link", "d"), pred_first)},
                      coords={"link": links, "d": ds}, attrs={"k": k, "neurons": n})
    paths.append(atomic_write_dataset(data, out_dir / "search_phase.nc"))
    paths.append(atomic_write_json(out_dir / "search_phase.json", {
        "k": k, "neurons": n, "d": ds, "links": links, "median_escape_time": med.tolist(),
        "predicted_median": pred.tolist(), "first_escape_time": first.tolist(),
        "predicted_first": pred_first.tolist(), "slopes": slopes, "seconds": time.perf_counter() - start}))
    return paths


@register("coverage", "probability that n neurons find all k index vectors vs n/(k log k), simulated and the formula")
def coverage(out_dir: Path, quick: bool) -> list[Path]:
    import xarray as xr

    from ..dynamics._neurons import classify_neuron_end_points, neuron_initial_overlaps, solve_neurons
    from ..plotting import new_figure
    from ..plotting._neurons import plot_coverage
    from ..theory._neurons import correlation_coefficients, coverage_probability, success_probability

    start = time.perf_counter()
    S = 100 if quick else 400
    ks = [2, 4, 8] if quick else [2, 4, 8, 16]
    ratios = np.array([0.5, 1.0, 1.5, 2.0, 3.0])
    out = {}
    fig, axes = new_figure(2, 1, width=4.2, height=3.3)
    records = []
    for col, link in enumerate(("h4", "h3")):
        a = correlation_coefficients(link)
        curves = {}
        for k in ks:
            p_s = success_probability(a, k)
            ns = sorted({max(1, int(round(r * k * math.log(k)))) for r in ratios})
            sim, se, formula = [], [], []
            for n in ns:
                m0 = neuron_initial_overlaps(np.eye(k), 1000, n, list(range(S)))
                run = solve_neurons(a, np.eye(k), m0, t_max=1e6, rtol=1e-7)
                index, _, _ = classify_neuron_end_points(run.m, run.converged)
                found = np.array([[np.any(index[s] == j) for j in range(k)] for s in range(S)]).all(axis=1)
                p = coverage_probability(k, n, p_s)
                sim.append(float(found.mean()))
                se.append(math.sqrt(max(p * (1 - p), 1e-12) / S))
                formula.append(p)
                records.append((link, k, n, sim[-1], p))
            curves[k] = (np.array(ns), np.array(sim), np.array(se), np.array(formula))
            out[f"{link}_k{k}"] = {"n": ns, "simulated": sim, "formula": formula, "standard_error": se, "p_s": p_s}
        plot_coverage(axes[0, col], curves, title=f"{link}: p_s = {'1' if link == 'h4' else '1 - 2^-k'} ({S} seeds)")
    fig.tight_layout()
    paths = [atomic_savefig(fig, out_dir / "coverage.png")]
    data = xr.Dataset({"simulated": (("row",), [r[3] for r in records]), "formula": (("row",), [r[4] for r in records])},
                      coords={"link": ("row", [r[0] for r in records]), "k": ("row", [r[1] for r in records]),
                              "n": ("row", [r[2] for r in records])}, attrs={"seeds": S, "d": 1000})
    paths.append(atomic_write_dataset(data, out_dir / "coverage.nc"))
    worst = max(abs(r[3] - r[4]) / math.sqrt(max(r[4] * (1 - r[4]), 1e-12) / S) for r in records)
    paths.append(atomic_write_json(out_dir / "coverage.json", {"seeds": S, "curves": out,
                                                               "max_deviation_in_standard_errors": worst,
                                                               "seconds": time.perf_counter() - start}))
    return paths


@register("beta-c", "equal-angle threshold beta_c: root finding vs closed form, and the (beta, k) phase diagram")
def beta_c(out_dir: Path, quick: bool) -> list[Path]:
    from ..plotting import new_figure
    from ..plotting._neurons import plot_phase_diagram
    from ..theory._neurons import beta_critical, beta_critical_pure_hermite, correlation_coefficients
    from ._neurons import NeuronsPhaseConfig, run_phase_diagram

    start = time.perf_counter()
    table = {}
    for link in ("h3", "h4", "h5", "h3(z) + 0.5*h4(z)", "h4(z) + 0.7*h6(z)", "tanh(z) - z"):
        a = correlation_coefficients(link)
        row = {}
        for k in (2, 3, 4, 6, 8):
            res = beta_critical(a, k)
            row[str(k)] = {"beta_c": res.beta_c, "closed_form": res.closed_form}
        table[link] = row
    ks = [2, 3, 4] if quick else [2, 3, 4, 5, 6]
    betas = [round(x, 3) for x in np.linspace(0.0, 0.7, 8 if quick else 15)]
    result = run_phase_diagram(NeuronsPhaseConfig(sigma="h3", k=ks, beta=betas, d=1000, seeds=2 if quick else 4,
                                                  n=32 if quick else 64))
    fig, axes = new_figure(3, 1, width=4.0, height=3.3)
    plot_phase_diagram(axes[0, 0], axes[0, 1], result.dataset)
    ax = axes[0, 2]
    kk = np.arange(2, 11)
    for i, p in enumerate((3, 4, 5)):
        ax.plot(kk, [beta_critical_pure_hermite(p, int(k)) for k in kk], "-", color=f"C{i}", label=f"(p-2)/(k+p-2), p = {p}")
        ax.plot(kk, [beta_critical(correlation_coefficients(f"h{p}"), int(k)).beta_c for k in kk], "o", color=f"C{i}", ms=3)
    ax.plot(kk, [beta_critical(correlation_coefficients("h3(z) + 0.5*h4(z)"), int(k)).beta_c for k in kk], "k^", ms=4,
            label="h3 + 0.5 h4 (root finding)")
    ax.set_xlabel("k")
    ax.set_ylabel(r"$\beta_c$")
    ax.set_title("threshold: closed form (lines) vs root finding (markers)")
    ax.legend(frameon=False, fontsize=6.5)
    fig.tight_layout()
    paths = [atomic_savefig(fig, out_dir / "beta_c.png")]
    paths.append(atomic_write_dataset(result.dataset, out_dir / "phase_diagram.nc"))
    paths.append(atomic_write_json(out_dir / "beta_c.json", {"beta_c": table, "phase_diagram": result.summary,
                                                             "seconds": time.perf_counter() - start}))
    return paths
