"""Figures of population flows: singular values through the saddles, escape times against d."""

from __future__ import annotations

import numpy as np


def plot_singular_values(ax, t, singular_values, *, predicted=(), title: str | None = None, max_seeds: int = 32):
    r"""Singular values of :math:`M(t)` against time (log axis): every seed faint, the median bold.

    Args:
        t: ``(T,)`` times (``t[0] = 0`` is dropped on the log axis).
        singular_values: ``(S, T, k)``.
        predicted: predicted escape times, drawn as dashed vertical lines.
    """
    t = np.asarray(t, dtype=float)
    sv = np.asarray(singular_values, dtype=float)
    keep = t > 0
    colors = [f"C{i}" for i in range(sv.shape[-1])]
    for j in range(sv.shape[-1]):
        for s in range(min(sv.shape[0], max_seeds)):
            ax.semilogx(t[keep], sv[s, keep, j], color=colors[j], lw=0.5, alpha=0.25)
        ax.semilogx(t[keep], np.median(sv[:, keep, j], axis=0), color=colors[j], lw=1.8,
                    label=f"$\\sigma_{j + 1}(M)$ (median of {sv.shape[0]})")
    for i, tp in enumerate(predicted):
        if np.isfinite(tp) and tp > 0:
            ax.axvline(tp, color="k", ls="--", lw=0.8, label="predicted escapes" if i == 0 else None)
    ax.set_xlabel("time $t$")
    ax.set_ylabel("singular values of $M = W_*^T W$")
    ax.set_ylim(-0.02, 1.02)
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, loc="upper left")
    return ax


def plot_escape_times_vs_d(ax, ds, escape_times, predicted=None, *, slopes=None):
    """Escape time of each saddle against ``d`` (log-log): seeds as dots, medians joined, theory dashed.

    Args:
        ds: ``(D,)``.
        escape_times: ``(D, S, n_saddles)`` (NaN where not reached).
        predicted: ``(D, n_saddles)`` predicted times (NaN where unknown).
        slopes: list of ``{"saddle", "fitted", "predicted"}`` for the legend.
    """
    ds = np.asarray(ds, dtype=float)
    esc = np.asarray(escape_times, dtype=float)
    for k in range(esc.shape[-1]):
        color = f"C{k}"
        for a, d in enumerate(ds):
            pts = esc[a, :, k]
            pts = pts[np.isfinite(pts)]
            ax.loglog(np.full(pts.shape, d), pts, ls="none", marker=".", ms=2, alpha=0.3, color=color)
        med = np.array([np.nanmedian(esc[a, :, k]) if np.any(np.isfinite(esc[a, :, k])) else np.nan
                        for a in range(len(ds))])
        label = f"saddle {k + 1}"
        if slopes and k < len(slopes) and slopes[k].get("fitted") is not None:
            label += f": slope {slopes[k]['fitted']:.2f} (theory {slopes[k]['predicted']:.2f})"
        ax.loglog(ds, med, marker="o", color=color, lw=1.2, label=label)
        if predicted is not None:
            ax.loglog(ds, np.asarray(predicted)[:, k], ls="--", color=color, lw=0.9)
    ax.set_xlabel("dimension $d$")
    ax.set_ylabel("escape time (median, seeds as dots)")
    ax.legend(frameon=False, fontsize=7)
    return ax


def plot_trap_probability(ax, labels, probabilities, stderr):
    """Bar chart of the probability of ending at a spurious critical point, with standard errors."""
    x = np.arange(len(labels))
    ax.bar(x, probabilities, yerr=stderr, capsize=3, color=["C3" if "planted" in lab else "C0" for lab in labels])
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=7)
    ax.set_ylabel("P(trapped at a spurious point)")
    ax.set_ylim(0, 1)
    return ax
