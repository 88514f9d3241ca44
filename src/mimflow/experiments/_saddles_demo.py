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

from ._flow import FlowConfig, run_flow
from ._io import atomic_savefig, atomic_write_dataset, atomic_write_json
from ._registry import register

DEMO_LINK = "z1 + h2(z2) + h3(z3)"
"""Three directions learned at three successive saddles, with exponents 1, 2, 3: plateaus at log d, d, d^2."""


def _flow(link: str, ds, seeds: int, algorithm: str = "two-timescale", **kw):
    config = FlowConfig(link=link, algorithm=algorithm, d=list(ds), seeds=seeds, **kw)
    return run_flow(config)


def saddles_headline(out_dir: Path, *, quick: bool = False, progress=None) -> dict:
    """Saddle-to-saddle dynamics of ``DEMO_LINK``: figure ``demo.png`` and data ``demo.json`` + ``demo.nc``."""
    from ..plotting import new_figure, plot_escape_times_vs_d, plot_singular_values
    from ..theory import exponents

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
    fig, axes = new_figure(3, 1, width=4.3, height=3.4)
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
    predicted = np.where(data["predicted_escape_time"].values > 0, data["predicted_escape_time"].values, np.nan)
    plot_escape_times_vs_d(axes[0, 2], np.array(ds), esc, predicted, slopes=summary.get("escape_time_slopes"))
    axes[0, 2].set_title("escape time ~ $d^{s-1}$ ($\\log d$ for $s = 1$)")
    fig.suptitle("mimflow: saddle-to-saddle dynamics of the two-timescale Grassmannian flow "
                 "(Bietti, Bruna, Pillaud-Vivien 2023)", fontsize=10)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = atomic_savefig(fig, out_dir / "demo.png")
    exps = exponents(DEMO_LINK)
    headline = {
        "headline": "saddle-to-saddle dynamics: escape times measured against the Hermite theory",
        "link": DEMO_LINK,
        "information_exponent": exps.information,
        "leap_exponent": exps.leap,
        "saddles": summary["saddles"],
        "d": ds,
        "seeds": seeds,
        "predicted_escape_times": summary["predicted_escape_times"],
        "median_escape_times": summary["median_escape_times"],
        "escape_time_slopes": summary.get("escape_time_slopes"),
        "converged_fraction": result.scalars["converged_fraction"],
        "seconds": time.perf_counter() - start,
    }
    data_path = atomic_write_dataset(data, out_dir / "demo.nc")
    json_path = atomic_write_json(out_dir / "demo.json", headline)
    headline["files"] = [str(figure), str(json_path), str(data_path)]
    if progress is not None:
        progress(1.0)
    return headline


@register("saddles", "singular values and loss through three saddles of z1 + h2(z2) + h3(z3), with predicted escapes")
def _reproduce_saddles(out_dir: Path, quick: bool) -> list[Path]:
    return [Path(p) for p in saddles_headline(out_dir, quick=quick)["files"]]


@register("escape-times", "escape time against d for single-index links h2, h3, h4: fitted vs predicted slopes")
def _reproduce_escape_times(out_dir: Path, quick: bool) -> list[Path]:
    from ..plotting import new_figure, plot_escape_times_vs_d

    ds = [100, 1000, 10000] if quick else [100, 300, 1000, 3000, 10000, 30000]
    fig, axes = new_figure(2, 1, width=4.3, height=3.4)
    table = {}
    for col, algorithm in enumerate(("two-timescale", "planted")):
        ax = axes[0, col]
        for i, link in enumerate(("h2", "h3", "h4")):
            res = _flow(link, ds, 8 if quick else 32, algorithm=algorithm)
            esc = np.where(res.dataset["escaped"].values, res.dataset["escape_time"].values, np.nan)
            pred = np.where(res.dataset["predicted_escape_time"].values > 0,
                            res.dataset["predicted_escape_time"].values, np.nan)
            slope = res.summary["escape_time_slopes"][0]
            med = np.nanmedian(esc[:, :, 0], axis=1)
            ax.loglog(ds, med, marker="o", color=f"C{i}",
                      label=f"{link}: slope {slope['fitted']:.2f} (theory {slope['predicted']:g})")
            ax.loglog(ds, pred[:, 0], ls="--", color=f"C{i}", lw=0.9)
            table[f"{algorithm}/{link}"] = {"d": ds, "median_escape_time": med.tolist(),
                                            "predicted": pred[:, 0].tolist(), "slope": slope}
        ax.set_xlabel("dimension $d$")
        ax.set_ylabel("median escape time")
        ax.set_title(f"{algorithm}: dashed = theory")
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    figure = atomic_savefig(fig, out_dir / "escape_times.png")
    data = atomic_write_json(out_dir / "escape_times.json", table)
    return [figure, data]


TRAP_LINKS = ["h3(z1) + h3(z2)", "h4(z1) + h4(z2)", "h3(z1) + h3(z2) + h3(z3)", "h4(z1) + h4(z2) + h4(z3)"]


@register("planted-traps", "probability of ending at a spurious critical point: planted (rough) vs two-timescale (benign)")
def _reproduce_planted_traps(out_dir: Path, quick: bool) -> list[Path]:
    from ..dynamics._endpoints import SPURIOUS
    from ..plotting import new_figure, plot_trap_probability

    seeds = 16 if quick else 64
    d = 1000
    rows, labels, probs, errs = {}, [], [], []
    for link in TRAP_LINKS[:2] if quick else TRAP_LINKS:
        for algorithm in ("planted", "two-timescale"):
            res = _flow(link, [d], seeds, algorithm=algorithm)
            ends = [run["end_point"] for run in res.summary["runs"]]
            trapped = sum(e in SPURIOUS for e in ends)
            p = trapped / len(ends)
            se = float(np.sqrt(p * (1 - p) / len(ends)))
            key = f"{algorithm}: {link}"
            rows[key] = {"probability": p, "standard_error": se, "n": len(ends),
                         "end_points": {e: ends.count(e) for e in sorted(set(ends))}}
            labels.append(key)
            probs.append(p)
            errs.append(se)
    fig, axes = new_figure(1, 1, width=6.0, height=3.6)
    plot_trap_probability(axes[0, 0], labels, probs, errs)
    axes[0, 0].set_title(f"end at a spurious critical point: planted vs two-timescale (d = {d}, {seeds} seeds)")
    fig.tight_layout()
    figure = atomic_savefig(fig, out_dir / "planted_traps.png")
    data = atomic_write_json(out_dir / "planted_traps.json", {"d": d, "seeds": seeds, "results": rows})
    return [figure, data]
