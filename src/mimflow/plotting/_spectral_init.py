"""Spectral initialisation: squared overlap of the top eigenvector against alpha = n/d (docs/math/spectral.md §4)."""

from __future__ import annotations

import numpy as np


def plot_overlap_vs_alpha(ax, alpha_curve, predicted_curve, *, alpha_points=None, measured=None, measured_se=None,
                          alpha_weak_recovery=None, label: str = "theory (Lu-Li)", color: str = "C0",
                          point_label: str | None = None, title: str | None = None) -> None:
    """Theory curve of ``overlap^2(alpha)`` and finite-``d`` points with error bars.

    Args:
        ax: matplotlib axes.
        alpha_curve, predicted_curve: ``(A,)`` arrays (NaN where the formula does not apply: not drawn).
        alpha_points, measured, measured_se: ``(P,)`` finite-``d`` means and their standard errors.
        alpha_weak_recovery: threshold ``alpha_c`` drawn as a dotted vertical line.
    """
    a = np.asarray(alpha_curve, dtype=float)
    p = np.asarray(predicted_curve, dtype=float)
    ok = np.isfinite(p)
    ax.plot(a[ok], p[ok], color=color, lw=1.6, label=label)
    if alpha_points is not None and measured is not None:
        se = None if measured_se is None else np.nan_to_num(np.asarray(measured_se, dtype=float))
        ax.errorbar(alpha_points, measured, yerr=se, fmt="o", ms=3.5, color=color, capsize=2, lw=1,
                    label=point_label or "finite d (mean +- SE)")
    if alpha_weak_recovery is not None and np.isfinite(alpha_weak_recovery):
        ax.axvline(alpha_weak_recovery, color=color, ls=":", lw=1)
    ax.set_xlabel(r"$\alpha = n/d$")
    ax.set_ylabel(r"$\langle \hat w, w_*\rangle^2$")
    ax.set_ylim(-0.02, 1.02)
    if title:
        ax.set_title(title)
    ax.legend(frameon=False)
