"""Limits beside algorithms: overlap against alpha, and GAMP trajectories beside their state evolution (docs/math/amp.md)."""

from __future__ import annotations

import numpy as np

_THRESHOLD_STYLES = ("--", "-.", ":")


def plot_limits_vs_alpha(ax, alpha_curve, curves: dict, *, thresholds: dict | None = None, points: dict | None = None,
                         notes: dict | None = None, title: str | None = None, ylabel: str | None = None) -> None:
    """Several overlap-vs-alpha curves on one axis, thresholds as vertical lines, finite-``d`` points.

    Args:
        ax: matplotlib axes.
        alpha_curve: ``(A,)`` grid (or a dict name -> ``(A_name,)`` grid when the curves have their own).
        curves: name -> ``(A,)`` overlaps (NaN: not drawn, e.g. where a method does not apply).
        thresholds: label -> alpha, drawn as grey vertical lines with the label at the top.
        points: ``{"alpha", "mean", "se", "label"}`` measured points with error bars.
        notes: name -> a short text drawn in the lower right (e.g. where a method failed).
    """
    for i, (name, values) in enumerate(curves.items()):
        a = np.asarray(alpha_curve[name] if isinstance(alpha_curve, dict) else alpha_curve, dtype=float)
        y = np.asarray(values, dtype=float)
        ok = np.isfinite(y)
        ax.plot(a[ok], y[ok], color=f"C{i}", lw=1.6 if i < 2 else 1.3, ls="-" if i < 2 else "--", label=name)
    if points is not None:
        se = points.get("se")
        ax.errorbar(points["alpha"], points["mean"], yerr=None if se is None else np.nan_to_num(se), fmt="o", ms=3.5,
                    color="k", capsize=2, lw=1, label=points.get("label", "finite d (mean +- SE)"))
    for j, (label, value) in enumerate((thresholds or {}).items()):
        if value is None or not np.isfinite(value):
            continue
        ax.axvline(value, color="0.4", ls=_THRESHOLD_STYLES[j % 3], lw=0.9)
        ax.text(value, 1.03, f"{label} = {value:.3g}", rotation=90, fontsize=6.5, ha="right", va="bottom",
                transform=ax.get_xaxis_transform())
    if notes:
        ax.text(0.98, 0.10, "\n".join(notes.values()), transform=ax.transAxes, fontsize=6.5, ha="right", va="bottom")
    ax.set_xlabel(r"$\alpha = n/d$")
    ax.set_ylabel(ylabel or r"overlap $\langle \hat w, w_*\rangle^2 / (\|\hat w\|^2\|w_*\|^2)$")
    ax.set_ylim(-0.02, 1.05)
    if title:
        ax.set_title(title, fontsize=9, pad=40 if thresholds else 6)
    ax.legend(frameon=False, loc="center right")


def plot_gamp_vs_state_evolution(ax, t, alphas, se_trajectory, gamp_mean, gamp_se=None) -> None:
    """GAMP overlap per iteration (points, mean +- SE) beside the state evolution (lines), one colour per alpha.

    Args:
        t: ``(T+1,)`` iterations; alphas: ``(A,)``; se_trajectory, gamp_mean, gamp_se: ``(A, T+1)``.
    """
    t = np.asarray(t)
    for i, a in enumerate(alphas):
        ax.plot(t, se_trajectory[i], color=f"C{i}", lw=1.4, label=rf"SE, $\alpha$ = {a:g}")
        err = None if gamp_se is None else np.nan_to_num(np.asarray(gamp_se[i], dtype=float))
        ax.errorbar(t, gamp_mean[i], yerr=err, fmt="o", ms=2.5, color=f"C{i}", capsize=1.5, lw=0.8)
    ax.set_xlabel("GAMP iteration t")
    ax.set_ylabel("overlap q$^t$")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title("GAMP on samples (points) vs state evolution (lines)", fontsize=9)
    ax.legend(frameon=False, fontsize=6.5)
