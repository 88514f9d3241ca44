"""Figures of finite-sample online SGD beside the population theory (issue 6, section 5)."""

from __future__ import annotations

import numpy as np


def plot_sgd_vs_ode(ax, t, m_by_d, corrected_by_d, ds, *, flow=None, max_seeds: int = 8):
    r"""Overlap :math:`m(t)` of online SGD at several ``d`` (thin, a few seeds each) beside the ODE.

    Args:
        t: ``(T,)`` times (``t = step * eta``).
        m_by_d: list over ``d`` of ``(S, T)`` overlaps.
        corrected_by_d: list over ``d`` of ``(S, T)`` corrected-ODE solutions from the same ``m(0)``.
        ds: the dimensions.
        flow: optional list over ``d`` of ``(S, T)`` solutions of the :math:`\eta\to0` flow (dotted).
    """
    t = np.asarray(t, dtype=float)
    for i, d in enumerate(ds):
        color = f"C{i}"
        m = np.asarray(m_by_d[i])
        ref = np.asarray(corrected_by_d[i])
        for s in range(min(m.shape[0], max_seeds)):
            ax.plot(t, m[s], color=color, lw=0.6, alpha=0.45, label=f"SGD, d = {d}" if s == 0 else None)
        ax.plot(t, ref[0], color=color, lw=1.4, ls="--", label="corrected ODE" if i == len(ds) - 1 else None)
        if flow is not None:
            ax.plot(t, np.asarray(flow[i])[0], color="k", lw=0.9, ls=":",
                    label=r"population flow ($\eta\to0$)" if i == len(ds) - 1 else None)
    ax.set_xlabel(r"time $t = $ step $\times\,\eta$")
    ax.set_ylabel(r"overlap $m = w_*^T w$")
    ax.legend(frameon=False, loc="lower right")
    return ax


def plot_deviation_vs_d(ax, ds, rms, se, *, slope=None, slope_se=None, rms_flow=None, se_flow=None):
    """RMS over seeds of ``max_t |m_SGD - m_ODE|`` against ``d`` (log-log) with 95 % error bars
    (1.96 SE), and a ``d^-1/2`` guide."""
    ds = np.asarray(ds, dtype=float)
    rms = np.asarray(rms, dtype=float)
    label = "vs corrected ODE"
    if slope is not None:
        label += f": slope {slope:.3f}" + (f" $\\pm$ {slope_se:.3f}" if slope_se is not None else "")
    ax.errorbar(ds, rms, yerr=1.96 * np.asarray(se, dtype=float), marker="o", color="C0", capsize=2, label=label)
    if rms_flow is not None:
        ax.errorbar(ds, rms_flow, yerr=1.96 * np.asarray(se_flow, dtype=float), marker="s", color="C3", capsize=2,
                    label=r"vs population flow ($\eta \to 0$)")
    guide = rms[0] * (ds / ds[0]) ** -0.5
    ax.plot(ds, guide, color="k", ls="--", lw=0.8, label=r"$\propto d^{-1/2}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("dimension $d$")
    ax.set_ylabel(r"RMS$_{seeds}$ max$_t\,|m_{SGD} - m_{ODE}|$ (95 % CI)")
    ax.legend(frameon=False)
    return ax


def plot_samples_to_escape(ax, ds, rows: dict):
    """Median samples to escape against ``d`` per case (log-log): Kaplan-Meier median with its 95 % CI,
    seeds as dots, the population prediction dashed.

    ``rows``: ``{name: {"samples": (D, S), "median": (D,) (None: censored), "median_ci95": (D, 2),
    "predicted": (D,), "escape_slope": {"text": ...}, "predicted_exponent", "escaped_fraction"}}`` as
    returned by :func:`mimflow.studies.train.sample_complexity`.
    """
    ds = np.asarray(ds, dtype=float)
    for i, (name, row) in enumerate(rows.items()):
        color = f"C{i}"
        samples = np.asarray(row["samples"], dtype=float)
        for a, d in enumerate(ds):
            pts = samples[a][np.isfinite(samples[a])]
            ax.loglog(np.full(pts.shape, d * 1.03), pts, ls="none", marker=".", ms=2, alpha=0.3, color=color)
        med = np.array([np.nan if m is None else m for m in row["median"]], dtype=float)
        ci = np.array([[np.nan if v is None else v for v in pair] for pair in row["median_ci95"]], dtype=float)
        pred = row.get("predicted_exponent")
        word = "theory" if row.get("rigorous", True) else "heuristic"
        label = name
        slope = row.get("escape_slope", {})
        if slope.get("fitted") is not None:
            label += f": {slope['text']}"
        label += f"; {word} d^{pred:g}" if pred is not None else " (no polynomial law)"
        finite = np.isfinite(med)
        if finite.any():
            hi = np.where(np.isfinite(ci[:, 1]), ci[:, 1], med)
            yerr = np.vstack([med - ci[:, 0], hi - med])[:, finite]
            ax.errorbar(ds[finite], med[finite], yerr=np.where(np.isfinite(yerr), yerr, 0.0), marker="o", color=color,
                        lw=1.2, capsize=3, label=label)
        else:
            frac = ", ".join(f"{f:.2f}" for f in row["escaped_fraction"])
            ax.plot([], [], color=color, marker="x", ls="none", label=f"{name}: escaped fraction {frac}")
        ax.loglog(ds, np.asarray(row["predicted"], dtype=float), color=color, ls="--", lw=0.9)
    ax.set_xlabel("dimension $d$")
    ax.set_ylabel("samples to escape: KM median, 95 % CI (dashed: population flow)")
    ax.legend(frameon=False, fontsize=6.5)
    return ax
