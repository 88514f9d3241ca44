"""The headline picture: saddle-to-saddle dynamics of multi-index learning (``mimflow demo``).

Reproductions registered here: ``saddles`` (singular values and loss through the plateaus of a
three-saddle target, with the predicted escape times), ``escape-times`` (escape time against d,
fitted and predicted log-log slopes), ``planted-traps`` (probability that the planted flow ends at
a spurious critical point, against the two-timescale flow's benign landscape).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from scipy import stats

from mimflow.dynamics import SPURIOUS
from mimflow.plotting import (new_figure, plot_escape_per_seed, plot_escape_times_vs_d, plot_singular_values,
                              plot_trap_probability)
from mimflow.runs import (atomic_savefig, atomic_write_dataset, atomic_write_json, check_claim, coverage_claim,
                          write_claims)
from mimflow.studies.flow._command import FlowConfig, escape_arrays
from mimflow.studies.flow._run import run_flow
from mimflow.theory import exponents

DEMO_LINK = "z1 + h2(z2) + h3(z3)"
"""Three directions learned at three successive saddles, with exponents 1, 2, 3: plateaus at log d, d, d^2."""


ESCAPE_KEYS = ("t_max", "predicted_escape_times", "predicted_escape_time_quantiles", "median_escape_times",
               "median_escape_times_ci95", "median_censored", "censored_fraction", "counted_runs", "horizon",
               "escape_time_slopes")
"""The censoring-aware fields of ``mimflow flow --json`` that the reproductions keep (docs/math/statistics.md)."""

BBPV = "Bietti, Bruna, Pillaud-Vivien (2023), arXiv:2310.19793"


def flow_claims(summary, ds, link: str, algorithm: str = "two-timescale") -> list:
    """Claims checked by a flow run over several ``d``: each saddle's escape-time slope against ``d``
    (bootstrap SE; Bonferroni over the saddles) and the coverage of the predicted medians by the
    Kaplan-Meier 95 % CIs of the measured medians (all ``d`` and saddles, one aggregate check)."""
    claims = []
    exponent_law = "d^(s-1)" if algorithm == "two-timescale" else "d^(s/2-1)"
    section = "Thm 3.25 (saddle escape times)" if algorithm == "two-timescale" else "Thm 4.1 (planted, radial case)"
    slopes = summary.get("escape_time_slopes", [])
    for k, slope in enumerate(slopes):
        s = summary["saddles"][k]["exponent"]
        claims.append(check_claim(
            f"{algorithm}: the escape time of saddle {k + 1} (s = {s}) of {link} grows like {exponent_law}",
            f"{BBPV}, {section}", f"log-log slope of the median escape time over d = {list(ds)}",
            predicted=slope["predicted"], measured=slope["fitted"], se=slope["fitted_se"], family=len(slopes),
            note="median: Kaplan-Meier (censored runs kept); SE: bootstrap over seeds; predicted: slope of the "
                 "leading-order theory over the same d"))
    inside = []
    for d in ds:
        q = summary.get("predicted_escape_time_quantiles", {}).get(str(d))
        if q is None:
            continue
        for k, (lo, hi) in enumerate(summary["median_escape_times_ci95"][str(d)]):
            pred = q["0.5"][k]
            inside.append(pred is not None and lo is not None and lo <= pred and (hi is None or pred <= hi))
    if inside:
        claims.append(coverage_claim(
            f"{algorithm}: the predicted median escape time of every saddle of {link} lies in the 95 % CI of the "
            f"measured median (d = {list(ds)})", f"{BBPV}; docs/math/saddles.md §1.6",
            "share of (d, saddle) Kaplan-Meier 95 % CIs containing the predicted median", inside,
            note="predicted: median of the closed-form escape time under the exact law of M(0)"))
    return claims


def _flow(link: str, ds, seeds: int, algorithm: str = "two-timescale", **kw):
    config = FlowConfig(link=link, algorithm=algorithm, d=list(ds), seeds=seeds, **kw)
    return run_flow(config)


def saddles_headline(out_dir: Path, *, quick: bool = False, progress=None) -> dict:
    """Saddle-to-saddle dynamics of ``DEMO_LINK``: figure ``demo.png`` and data ``demo.json`` + ``demo.nc``."""
    start = time.perf_counter()
    ds = [300, 1000, 3000] if quick else [300, 1000, 3000, 10000]
    seeds = 16 if quick else 32
    result = _flow(DEMO_LINK, ds, seeds)
    if progress is not None:
        progress(0.8)
    data, summary = result.dataset, result.summary
    d_show = 1000
    sub = data.sel(d=d_show)
    pred = [x for x in sub["predicted_escape_time"].values if x > 0]
    fig, axes = new_figure(4, 1, width=4.3, height=3.4)
    plot_singular_values(axes[0, 0], sub["t"].values, sub["singular_values"].values, predicted=pred,
                         title=f"f* = {DEMO_LINK}, d = {d_show}")
    ax = axes[0, 1]
    t = sub["t"].values
    keep = t > 0
    loss = sub["loss"].values
    for s in range(min(loss.shape[0], 32)):
        ax.semilogx(t[keep], loss[s, keep], color="C0", lw=0.5, alpha=0.3)
    ax.semilogx(t[keep], np.median(loss[:, keep], axis=0), color="C0", lw=1.8, label="median loss")
    for i, tp in enumerate(pred):
        ax.axvline(tp, color="k", ls="--", lw=0.8, label="predicted escapes" if i == 0 else None)
    ax.set_ylim(bottom=-0.02)
    ax.set_xlabel("time $t$")
    ax.set_ylabel("population loss $L(M)$")
    ax.set_title("plateaus: one per saddle")
    ax.legend(frameon=False)
    esc = np.where(data["escaped"].values, data["escape_time"].values, np.nan)
    arrays = escape_arrays(summary, ds)
    plot_escape_times_vs_d(axes[0, 2], np.array(ds), arrays["medians"], arrays["ci95"], arrays["quantiles"],
                           escape_times=esc, slopes=summary.get("escape_time_slopes"), censored=arrays["censored"])
    axes[0, 2].set_title("escape time ~ $d^{s-1}$ ($\\log d$ for $s = 1$)")
    seed_pred = data["predicted_escape_time_seed"].values
    plot_escape_per_seed(axes[0, 3], np.where(seed_pred > 0, seed_pred, np.nan), esc,
                         horizon=float(np.max(data["horizon"].values)))
    axes[0, 3].set_title(f"each run vs its own prediction ({len(ds)} d x {seeds} seeds)")
    fig.suptitle("mimflow: saddle-to-saddle dynamics of the two-timescale Grassmannian flow "
                 "(Bietti, Bruna, Pillaud-Vivien 2023)", fontsize=10)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = atomic_savefig(fig, out_dir / "demo.png")
    exps = exponents(DEMO_LINK)
    claims = flow_claims(summary, ds, DEMO_LINK)
    headline = {
        "headline": "saddle-to-saddle dynamics: escape times measured against the Hermite theory",
        "link": DEMO_LINK,
        "information_exponent": exps.information,
        "leap_exponent": exps.leap,
        "saddles": summary["saddles"],
        "d": ds,
        "seeds": seeds,
        **{key: summary[key] for key in ESCAPE_KEYS if key in summary},
        "converged_fraction": result.scalars["converged_fraction"],
        "claims": [c.to_json() for c in claims],
        "warnings": summary.get("warnings", []),
        "seconds": time.perf_counter() - start,
    }
    data_path = atomic_write_dataset(data, out_dir / "demo.nc")
    json_path = atomic_write_json(out_dir / "demo.json", headline)
    claims_path = write_claims(out_dir, claims)
    headline["files"] = [str(figure), str(json_path), str(data_path), str(claims_path)]
    if progress is not None:
        progress(1.0)
    return headline


def reproduce_saddles(out_dir: Path, quick: bool) -> list[Path]:
    return [Path(p) for p in saddles_headline(out_dir, quick=quick)["files"]]


def reproduce_escape_times(out_dir: Path, quick: bool) -> list[Path]:
    ds = [100, 1000, 10000] if quick else [100, 300, 1000, 3000, 10000, 30000]
    seeds = 16 if quick else 32
    fig, axes = new_figure(2, 1, width=4.6, height=3.6)
    table, claims = {}, []
    for col, algorithm in enumerate(("two-timescale", "planted")):
        ax = axes[0, col]
        for i, link in enumerate(("h2", "h3", "h4")):
            res = _flow(link, ds, seeds, algorithm=algorithm)
            arrays = escape_arrays(res.summary, ds)
            esc = np.where(res.dataset["escaped"].values, res.dataset["escape_time"].values, np.nan)
            slope = res.summary["escape_time_slopes"][0]
            plot_escape_times_vs_d(ax, ds, arrays["medians"], arrays["ci95"], arrays["quantiles"], escape_times=esc,
                                   censored=arrays["censored"], slopes=[slope], colors=[f"C{i}"], labels=[link])
            table[f"{algorithm}/{link}"] = {"d": ds, **{key: res.summary[key] for key in ESCAPE_KEYS},
                                            "warnings": res.summary["warnings"]}
            claims += flow_claims(res.summary, ds, link, algorithm)
        ax.set_title(f"{algorithm}: median (95 % CI); dashed, band: theory", fontsize=9)
    fig.tight_layout()
    figure = atomic_savefig(fig, out_dir / "escape_times.png")
    table["claims"] = [c.to_json() for c in claims]
    data = atomic_write_json(out_dir / "escape_times.json", table)
    return [figure, data, write_claims(out_dir, claims)]


TRAP_LINKS = ["h3(z1) + h3(z2)", "h4(z1) + h4(z2)", "h3(z1) + h3(z2) + h3(z3)", "h4(z1) + h4(z2) + h4(z3)"]
TRAP_PROBABILITY = {"h3(z1) + h3(z2)": 31 / 48}
"""Predicted trap probability of the planted flow (d -> infinity): the largest of the four iid entries of
M(0) escapes first; the other column then escapes iff its complementary entry is positive, else it tends to
0 from below: P(max > 0, complement < 0) = 7/12, plus all four negative 1/16, total 31/48 (docs/math/planted.md §1.7).
The other links are measured only (no closed-form trap probability)."""


def reproduce_planted_traps(out_dir: Path, quick: bool) -> list[Path]:
    seeds = 16 if quick else 64
    d = 1000
    rows, labels, probs, errs, claims = {}, [], [], [], []
    for link in TRAP_LINKS[:2] if quick else TRAP_LINKS:
        for algorithm in ("planted", "two-timescale"):
            # planted runs trapped at the degenerate saddle approach it like 1/t: classify them at a finite
            # horizon (1e6 >> every planted escape time here), as tests/test_endpoints.py does
            res = _flow(link, [d], seeds, algorithm=algorithm, **({"t_max": 1e6} if algorithm == "planted" else {}))
            ends = [run["end_point"] for run in res.summary["runs"]]
            trapped = sum(e in SPURIOUS for e in ends)
            p = trapped / len(ends)
            ci = stats.binomtest(trapped, len(ends)).proportion_ci(0.95, method="exact")
            se = float(np.sqrt(p * (1 - p) / len(ends)))
            key = f"{algorithm}: {link}"
            rows[key] = {"probability": p, "standard_error": se, "ci95": [ci.low, ci.high], "n": len(ends),
                         "end_points": {e: ends.count(e) for e in sorted(set(ends))}}
            labels.append(key)
            probs.append(p)
            errs.append(se)
            if algorithm == "two-timescale":
                claims.append(check_claim(
                    f"two-timescale flow on {link}: no spurious critical point is reached (benign landscape)",
                    f"{BBPV}, abstract (global convergence of the Grassmannian flow)",
                    "fraction of runs ending at a spurious critical point", predicted=0.0, measured=p,
                    ci95=(ci.low, ci.high), note=f"exact binomial 95 % CI over {len(ends)} seeds"))
            elif link in TRAP_PROBABILITY:
                claims.append(check_claim(
                    f"planted flow on {link}: trapped with probability {TRAP_PROBABILITY[link]:.4g} (rough landscape)",
                    f"{BBPV}, abstract and Sec. 4 (planted problem trapped w.h.p. for symmetric links); "
                    "derivation in tests/test_endpoints.py and docs/math/planted.md §1.7",
                    "fraction of runs ending at a spurious critical point", predicted=TRAP_PROBABILITY[link],
                    measured=p, ci95=(ci.low, ci.high), note=f"exact binomial 95 % CI over {len(ends)} seeds"))
    fig, axes = new_figure(1, 1, width=6.0, height=3.6)
    plot_trap_probability(axes[0, 0], labels, probs, errs)
    axes[0, 0].set_title(f"end at a spurious critical point: planted vs two-timescale (d = {d}, {seeds} seeds)")
    fig.tight_layout()
    figure = atomic_savefig(fig, out_dir / "planted_traps.png")
    data = atomic_write_json(out_dir / "planted_traps.json", {"d": d, "seeds": seeds, "results": rows,
                                                                "claims": [c.to_json() for c in claims]})
    return [figure, data, write_claims(out_dir, claims)]
