"""Reproductions of docs/math/neurons.md §2 (Simsek, Bendjeddou, Hsu): ``search-phase``, ``coverage``, ``beta-c``.

Each writes a figure, a JSON of the numbers behind it and a netCDF dataset into its folder.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import xarray as xr
from scipy import stats

from mimflow.dynamics import classify_neuron_end_points, equiangular_gram, neuron_initial_overlaps, solve_neurons
from mimflow.plotting import (new_figure, plot_coverage, plot_escape_per_seed, plot_escape_times_vs_d,
                              plot_neuron_overlaps, plot_phase_diagram)
from mimflow.runs import (atomic_savefig, atomic_write_dataset, atomic_write_json, check_claim, coverage_claim,
                          write_claims)
from mimflow.studies._escape_stats import predicted_slope
from mimflow.studies.neurons._checks import beta_c_finite_difference
from mimflow.studies.neurons._command import NeuronsConfig
from mimflow.studies.neurons._escapes import default_horizon, neuron_escape_fields, never_escaping, semilog_slope_with_error
from mimflow.studies.neurons._phase import NeuronsPhaseConfig
from mimflow.studies.neurons._run import run_neurons, run_phase_diagram
from mimflow.theory import (beta_critical, beta_critical_pure_hermite, correlation_coefficients, coverage_probability,
                            information_exponent_of_g, is_quadratic, loglog_slope_with_error, nearest_index_vector,
                            neuron_search_time, quadratic_search_times, search_time_exponent, success_probability)


SBH = "Simsek, Bendjeddou, Hsu (2025), arXiv:2411.08798"
SEARCH_LINKS = ("h2", "h3", "h4")


def _search_times(a, k: int, d: int, n: int, seed: int):
    """One batch of ``n`` neurons at ``d``: escape times (NaN: censored), counted, horizon, initial overlaps."""
    m0 = neuron_initial_overlaps(np.eye(k), d, n, [seed], salt=d)
    horizon = default_horizon(a, k, d)
    run = solve_neurons(a, np.eye(k), m0, t_max=horizon, rtol=1e-7)
    esc = np.where(np.isfinite(run.escape_time), run.escape_time, np.nan)
    return esc, ~never_escaping(a, np.eye(k), m0), horizon, m0


def search_phase_study(k: int, n: int, ds, links=SEARCH_LINKS) -> dict:
    """Per link and ``d``: Kaplan-Meier medians of the search time of one neuron with 95 % CIs, the
    predicted quantiles, and the slope against ``d`` (log-log for p* >= 3, against ln d for p* = 2)
    with a bootstrap SE (module :mod:`._neuron_escapes`). Seeds are independent across ``d``."""
    out = {"k": k, "neurons": n, "d": list(ds), "links": {}}
    for link in links:
        a = correlation_coefficients(link)
        p = information_exponent_of_g(a)
        row = {"information_exponent": p, "asymptotic_exponent": search_time_exponent(p), "warnings": [],
               "escape": [], "counted": [], "horizon": []}
        merged = {}
        for j, d in enumerate(ds):
            esc, counted, horizon, m0 = _search_times(a, k, d, n, seed=j)
            fields, warnings = neuron_escape_fields(esc, counted, horizon, d, a=a, k=k, identity=True, network=False)
            row["warnings"] += warnings
            for key, value in fields.items():
                if key != "horizon" and isinstance(value, dict) and str(d) in value:
                    merged.setdefault(key, {})[str(d)] = value[str(d)]
            row["escape"].append(esc[0])
            row["counted"].append(counted[0])
            row["horizon"].append(horizon)
        row.update(merged)
        row["m0_largest_d"] = m0[0]
        samples = [e[c] for e, c in zip(row["escape"], row["counted"])]
        pred_med = [row["predicted_escape_time_quantiles"][str(d)]["0.5"][0] for d in ds]
        if p == 2:
            fitted, se = semilog_slope_with_error(ds, samples, row["horizon"])
            est = loglog_slope_with_error(ds, [[x] for x in pred_med], row["horizon"], log_times=False)
            predicted = est.fitted if est.fitted is not None else float("nan")
            kind, asym = "dT/dln d", 0.25 / float(a[2])
        else:
            est = loglog_slope_with_error(ds, samples, row["horizon"], seed=p)
            fitted, se = est.fitted, est.fitted_se
            predicted, kind, asym = predicted_slope(ds, pred_med), "log-log slope", search_time_exponent(p)
        text = "-" if fitted is None else f"{fitted:.3f}" + (f" +- {se:.3f}" if se is not None else " (SE unknown)")
        row["slope"] = {"kind": kind, "fitted": fitted, "fitted_se": se, "predicted": predicted, "asymptotic": asym,
                        "text": text + f" (theory {predicted:.3f})"}
        out["links"][link] = row
    return out


def search_phase_claims(study: dict) -> list:
    """The search-phase claims with verdicts: the slopes (Bonferroni over the links) and the coverage of the
    predicted medians by the measured medians' 95 % CIs."""
    ds = study["d"]
    claims, inside = [], []
    links = study["links"]
    for link, row in links.items():
        sl = row["slope"]
        p = row["information_exponent"]
        law = "ln(d)/(4 a_2)" if p == 2 else f"d^(p*/2 - 1) = d^{sl['asymptotic']:g}"
        claims.append(check_claim(
            f"correlation-loss neuron, sigma* = {link}, k = {study['k']}: the search time grows like {law}",
            f"{SBH}, abstract and docs/math/neurons.md §2.2 (search phase)",
            f"{sl['kind']} of the Kaplan-Meier median search time over d = {ds}",
            predicted=sl["predicted"], measured=sl["fitted"], se=sl["fitted_se"], family=len(links),
            note=f"median over {study['neurons']} neurons per d (censored kept, never-escaping excluded); SE: "
                 f"bootstrap over neurons; predicted: the exact search-time integral at the median start over the "
                 f"same d (asymptotic {sl['asymptotic']:g})"))
        for d in ds:
            lo, hi = row["median_escape_times_ci95"][str(d)][0]
            pred = row["predicted_escape_time_quantiles"][str(d)]["0.5"][0]
            inside.append(lo is not None and lo <= pred and (hi is None or pred <= hi))
    claims.append(coverage_claim(
        f"the predicted median search time lies in the 95 % CI of the measured median ({', '.join(links)}, d = {ds})",
        f"{SBH}; docs/math/neurons.md §2.2", "share of (link, d) Kaplan-Meier 95 % CIs containing the predicted median",
        inside, note="predicted: tau(q_med / sqrt(d)), q the largest initial overlap (x sqrt d) of k normals; "
                     "quadratic g: the exact closed form by Monte Carlo over m(0) (mimflow.theory._neuron_search)"))
    return claims


def reproduce_search_phase(out_dir: Path, quick: bool) -> list[Path]:
    start = time.perf_counter()
    k = 4
    n = 128 if quick else 512
    ds = [10**3, 10**4, 10**5] if quick else [10**3, 10**4, 10**5, 10**6]
    study = search_phase_study(k, n, ds)
    claims = search_phase_claims(study)
    example = run_neurons(NeuronsConfig(sigma="h3", k=k, n=12, d=10_000, seeds=1, n_save=150))

    fig, axes = new_figure(3, 1, width=4.4, height=3.6)
    plot_neuron_overlaps(axes[0, 0], example.dataset, seed_position=0)
    ax = axes[0, 1]
    per_pred, per_meas = [], []
    for i, (link, row) in enumerate(study["links"].items()):
        med = np.array([[np.nan if m is None else m for m in row["median_escape_times"][str(d)]] for d in ds])
        ci = np.array([[[np.nan if v is None else v for v in row["median_escape_times_ci95"][str(d)][0]]] for d in ds])
        q = np.array([[[row["predicted_escape_time_quantiles"][str(d)][lv][0]] for lv in ("0.1", "0.5", "0.9")]
                      for d in ds])
        esc = np.array([np.where(c, e, np.nan) for e, c in zip(row["escape"], row["counted"])])[:, :, None]
        cens = np.array([[row["median_censored"][str(d)][0]] for d in ds])
        label = f"{link} ({row['slope']['kind']})"
        plot_escape_times_vs_d(ax, ds, med, ci, q, escape_times=esc, censored=cens, colors=[f"C{i}"], labels=[label],
                               slopes=[{"text": row["slope"]["text"]}])
        a = correlation_coefficients(link)
        m0 = row["m0_largest_d"]
        top = np.max(m0, axis=-1) if link == "h3" else np.max(np.abs(m0), axis=-1)
        per_pred.append(quadratic_search_times(a, m0) if is_quadratic(a) else
                        [neuron_search_time(a, float(x)) if x > 0 else np.nan for x in top])
        per_meas.append(np.where(row["counted"][-1], row["escape"][-1], np.nan))
    ax.set_title(f"search time of one neuron, k = {k}, {n} neurons per d")
    ax.set_ylabel("search time: KM median, 95 % CI")
    plot_escape_per_seed(axes[0, 2], np.array(per_pred).T, np.array(per_meas).T, labels=list(study["links"]),
                         horizon=max(study["links"][link]["horizon"][-1] for link in study["links"]))
    axes[0, 2].set_title(f"each neuron vs its own prediction (d = {ds[-1]:g})")
    fig.tight_layout()
    paths = [atomic_savefig(fig, out_dir / "search_phase.png")]
    links = list(study["links"])
    data = xr.Dataset({
        "escape_time": (("link", "d", "neuron"), np.array([study["links"][lk]["escape"] for lk in links])),
        "counted": (("link", "d", "neuron"), np.array([study["links"][lk]["counted"] for lk in links])),
        "horizon": (("link", "d"), np.array([study["links"][lk]["horizon"] for lk in links]))},
        coords={"link": links, "d": ds}, attrs={"k": k, "neurons": n, "escape_time": "NaN: censored at the horizon",
                                                "counted": "False: never escapes from its initial overlaps"})
    paths.append(atomic_write_dataset(data, out_dir / "search_phase.nc"))
    summary = {key: value for key, value in study.items() if key != "links"}
    summary["links"] = {lk: {key: value for key, value in row.items() if key not in ("escape", "counted", "m0_largest_d")}
                        for lk, row in study["links"].items()}
    summary["warnings"] = [w for row in study["links"].values() for w in row["warnings"]]
    summary["claims"] = [c.to_json() for c in claims]
    summary["seconds"] = time.perf_counter() - start
    paths.append(atomic_write_json(out_dir / "search_phase.json", summary))
    paths.append(write_claims(out_dir, claims))
    return paths


def _binomial_ci(successes: int, trials: int) -> tuple[float, float]:
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(0.95, method="exact")
    return float(ci.low), float(ci.high)


ENDPOINT_HORIZON = 1e3
"""End points are statements about t -> infinity: coverage runs go to this times the search-time horizon
(1e6 x the predicted median; for h4, k = 2 about 1e-6 of the neurons are predicted to be still searching
there, against ~1e-3 at the search-time horizon, where 2 of 1000 were)."""


def coverage_study(S: int, ks, ratios, links=("h4", "h3"), d: int = 1000) -> dict:
    """P(all k found) for ``n = ratio * k ln k`` neurons over ``S`` seeds, against the coupon-collector formula.

    One solve per (link, k): every ``n`` gets its own block of ``S`` seeds (so the points are independent)
    of which the first ``n`` neurons are used (neurons of a seed are independent draws). Also the share of
    neurons reaching some index vector against ``p_s`` and of neurons reaching the index vector the
    nearest-index rule predicts (docs/math/neurons.md §2.3), with exact binomial 95 % CIs."""
    out = {"seeds": S, "d": d, "curves": {}}
    for link in links:
        a = correlation_coefficients(link)
        for k in ks:
            p_s = success_probability(a, k)
            ns = sorted({max(1, int(round(r * k * math.log(k)))) for r in ratios})
            m0 = neuron_initial_overlaps(np.eye(k), d, max(ns), list(range(S * len(ns))), salt=k)
            run = solve_neurons(a, np.eye(k), m0, t_max=ENDPOINT_HORIZON * default_horizon(a, k, d), rtol=1e-7)
            index, sign, _ = classify_neuron_end_points(run.m, run.converged)
            rule_index, rule_sign = nearest_index_vector(a, m0)
            agree = (rule_index == index) & ((rule_index < 0) | (rule_sign == sign))
            curve = {"n": ns, "simulated": [], "ci95": [], "formula": [], "p_s": p_s,
                     "neuron_success": None, "rule_agreement": None}
            used = np.zeros(index.shape, dtype=bool)
            for i, n in enumerate(ns):
                block = slice(i * S, (i + 1) * S)
                used[block, :n] = True
                idx = index[block, :n]
                found = np.array([[np.any(idx[s] == j) for j in range(k)] for s in range(S)]).all(axis=1)
                curve["simulated"].append(float(found.mean()))
                curve["ci95"].append(list(_binomial_ci(found.sum(), S)))
                curve["formula"].append(coverage_probability(k, n, p_s))
            success = int(np.sum(index[used] >= 0))
            curve["neuron_success"] = {"fraction": success / used.sum(), "ci95": list(_binomial_ci(success, used.sum())),
                                       "neurons": int(used.sum())}
            curve["rule_agreement"] = {"fraction": float(agree[used].mean()),
                                       "ci95": list(_binomial_ci(int(agree[used].sum()), used.sum()))}
            out["curves"][f"{link}_k{k}"] = {"link": link, "k": k, **curve}
    return out


def coverage_claims(study: dict) -> list:
    curves = study["curves"].values()
    inside = [lo <= f <= hi for c in curves for (lo, hi), f in zip(c["ci95"], c["formula"])]
    claims = [coverage_claim(
        "n neurons find all k orthogonal index vectors with the coupon-collector probability "
        "sum_i (-1)^i C(k,i) (1 - i p_s/k)^n", f"{SBH}, Sec. on orthogonal index vectors; docs/math/neurons.md §2.3",
        "share of (link, k, n) exact binomial 95 % CIs of P(all k found) containing the formula", inside,
        note=f"{study['seeds']} seeds per point, d = {study['d']}")]
    claims.append(coverage_claim(
        "each neuron reaches an index vector with probability p_s = 1 (even p*) or 1 - 2^-k (odd p*)",
        f"{SBH}; docs/math/neurons.md §2.3", "share of (link, k) exact binomial 95 % CIs containing p_s",
        [c["neuron_success"]["ci95"][0] <= c["p_s"] <= c["neuron_success"]["ci95"][1] for c in curves]))
    claims.append(coverage_claim(
        "every neuron converges to the index vector of its largest (odd p*: largest positive) initial overlap",
        f"{SBH}, directional convergence (orthogonal case); docs/math/neurons.md §2.3",
        "share of (link, k) exact binomial 95 % CIs of the rule's agreement containing 1",
        [c["rule_agreement"]["ci95"][1] >= 1.0 for c in curves]))
    return claims


def reproduce_coverage(out_dir: Path, quick: bool) -> list[Path]:
    start = time.perf_counter()
    S = 100 if quick else 400
    ks = [2, 4, 8] if quick else [2, 4, 8, 16]
    study = coverage_study(S, ks, [0.5, 1.0, 1.5, 2.0, 3.0])
    claims = coverage_claims(study)
    fig, axes = new_figure(2, 1, width=4.2, height=3.3)
    for col, link in enumerate(("h4", "h3")):
        curves = {c["k"]: (np.array(c["n"]), np.array(c["simulated"]), np.array(c["ci95"]), np.array(c["formula"]))
                  for c in study["curves"].values() if c["link"] == link}
        plot_coverage(axes[0, col], curves, title=f"{link}: p_s = {'1' if link == 'h4' else '1 - 2^-k'} ({S} seeds)")
    fig.tight_layout()
    paths = [atomic_savefig(fig, out_dir / "coverage.png")]
    rows = [(c["link"], c["k"], n, sim, f, lo, hi) for c in study["curves"].values()
            for n, sim, f, (lo, hi) in zip(c["n"], c["simulated"], c["formula"], c["ci95"])]
    data = xr.Dataset({"simulated": (("row",), [r[3] for r in rows]), "formula": (("row",), [r[4] for r in rows]),
                       "ci95_low": (("row",), [r[5] for r in rows]), "ci95_high": (("row",), [r[6] for r in rows])},
                      coords={"link": ("row", [r[0] for r in rows]), "k": ("row", [r[1] for r in rows]),
                              "n": ("row", [r[2] for r in rows])}, attrs={"seeds": S, "d": study["d"]})
    paths.append(atomic_write_dataset(data, out_dir / "coverage.nc"))
    paths.append(atomic_write_json(out_dir / "coverage.json", {**study, "claims": [c.to_json() for c in claims],
                                                               "seconds": time.perf_counter() - start}))
    paths.append(write_claims(out_dir, claims))
    return paths


ADMISSIBLE_TANH = "tanh(z) - 0.6057055096021589*z"
r"""tanh minus its He1 component (:math:`c_1(\tanh) = E[\mathrm{sech}^2 z]`; odd, so no He2): inside the
paper's hypothesis, unlike ``tanh(z) - z`` (which keeps :math:`c_1 = -0.394`)."""

BETA_C_LINKS = ("h3", "h4", "h5", "h3(z) + 0.5*h4(z)", "h4(z) + 0.7*h6(z)", ADMISSIBLE_TANH)
FD_CHECKS = (("h3", 3), ("h4", 3), ("h3(z) + 0.5*h4(z)", 4), ("h4(z) + 0.7*h6(z)", 3), (ADMISSIBLE_TANH, 3))


def threshold_dynamics(link: str = "h3", k: int = 3, offset: float = 0.05, neurons: int = 40) -> dict:
    """Neurons started 1e-3 from the average point at ``beta_c -+ offset``: the share converging to it
    (0 below the threshold, where it is a saddle; 1 above, where it is a minimum), with exact 95 % CIs."""
    a = correlation_coefficients(link)
    bc = beta_critical(a, k).beta_c
    rng = np.random.default_rng(0)
    out = {"link": link, "k": k, "beta_c": bc, "neurons": neurons}
    for side, beta in (("below", bc - offset), ("above", bc + offset)):
        Q = equiangular_gram(k, beta)
        mbar = math.sqrt((1 + (k - 1) * beta) / k)
        m0 = mbar * np.ones((neurons, k)) + 1e-3 * rng.standard_normal((neurons, k)) @ Q
        run = solve_neurons(a, Q, m0[None], t_max=1e5)
        _, _, label = classify_neuron_end_points(run.m, run.converged)
        stay = int(np.sum(label == "average"))
        out[side] = {"beta": beta, "fraction_at_average": stay / neurons, "ci95": list(_binomial_ci(stay, neurons))}
    return out


def beta_c_claims(fd: list, dyn: dict) -> list:
    claims = []
    for row in fd:
        claims.append(check_claim(
            f"equal angles, sigma* = {row['link']}, k = {row['k']}: the average point turns from a saddle into a minimum "
            f"at beta_c = {row['beta_c']:.6f} (root of k m g'(m) = (1 - beta) g''(m))",
            f"{SBH}, equal-angle threshold; docs/math/neurons.md §2.4", "beta_c from a finite-difference Hessian of the "
            "population loss (g by 2-D quadrature of the link, no Hermite series)",
            predicted=row["beta_c"], measured=row["finite_difference"],
            ci95=(row["finite_difference"] - row["numerical_error"], row["finite_difference"] + row["numerical_error"]),
            note="interval: numerical error of the finite-difference root (step h vs h/2, quadrature nodes n vs 1.5 n)"))
    for side, expect in (("below", 0.0), ("above", 1.0)):
        r = dyn[side]
        claims.append(check_claim(
            f"{dyn['link']}, k = {dyn['k']}: neurons started near the average point "
            + ("leave it below beta_c (saddle)" if side == "below" else "converge to it above beta_c (minimum)"),
            f"{SBH}, equal-angle threshold; docs/math/neurons.md §2.4",
            f"share of {dyn['neurons']} neurons converging to the average at beta = {r['beta']:.3f}",
            predicted=expect, measured=r["fraction_at_average"], ci95=tuple(r["ci95"]), note="exact binomial 95 % CI"))
    return claims


def reproduce_beta_c(out_dir: Path, quick: bool) -> list[Path]:
    start = time.perf_counter()
    table = {}
    for link in BETA_C_LINKS:
        a = correlation_coefficients(link)
        table[link] = {str(k): {"beta_c": (res := beta_critical(a, k)).beta_c, "closed_form": res.closed_form}
                       for k in (2, 3, 4, 6, 8)}
    fd = []
    for link, k in FD_CHECKS[:3] if quick else FD_CHECKS:
        value, error = beta_c_finite_difference(link, k)
        fd.append({"link": link, "k": k, "beta_c": beta_critical(correlation_coefficients(link), k).beta_c,
                   "finite_difference": value, "numerical_error": error})
    dyn = threshold_dynamics()
    claims = beta_c_claims(fd, dyn)
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
    ax.errorbar([r["k"] for r in fd], [r["finite_difference"] for r in fd], yerr=[r["numerical_error"] for r in fd],
                fmt="x", color="C3", ms=7, capsize=3, label="finite-difference Hessian (independent)")
    ax.set_xlabel("k")
    ax.set_ylabel(r"$\beta_c$")
    ax.set_title("threshold: closed form (lines), root finding, finite differences")
    ax.legend(frameon=False, fontsize=6.5)
    fig.tight_layout()
    paths = [atomic_savefig(fig, out_dir / "beta_c.png")]
    paths.append(atomic_write_dataset(result.dataset, out_dir / "phase_diagram.nc"))
    paths.append(atomic_write_json(out_dir / "beta_c.json", {
        "beta_c": table, "finite_difference_checks": fd, "threshold_dynamics": dyn, "phase_diagram": result.summary,
        "claims": [c.to_json() for c in claims], "seconds": time.perf_counter() - start}))
    paths.append(write_claims(out_dir, claims))
    return paths
