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


def plot_escape_times_vs_d(ax, ds, medians, ci95, predicted_quantiles=None, *, escape_times=None, slopes=None,
                           censored=None, colors=None, labels=None):
    """Escape time of each saddle against ``d`` (log-log): measured median with its 95 % CI beside the
    predicted median and 10-90 % band (docs/math/statistics.md).

    Args:
        ds: ``(D,)``.
        medians: ``(D, n)`` Kaplan-Meier medians (NaN where censored).
        ci95: ``(D, n, 2)`` intervals (NaN upper bound: open above, drawn as an arrow).
        predicted_quantiles: ``(D, 3, n)`` predicted 10/50/90 % quantiles (NaN where unknown).
        escape_times: optional ``(D, S, n)`` per-seed times (NaN: censored or never), drawn as faint dots.
        slopes: ``escape_time_slopes`` entries (``text`` goes in the legend).
        censored: ``(D, n)`` bool, median censored (drawn as an upward triangle at its lower bound).
        colors, labels: one per column (default ``C0, C1, ...`` and ``saddle 1, 2, ...``).
    """
    ds = np.asarray(ds, dtype=float)
    med = np.asarray(medians, dtype=float)
    ci = np.asarray(ci95, dtype=float)
    for k in range(med.shape[-1]):
        color = colors[k] if colors else f"C{k}"
        if escape_times is not None:
            esc = np.asarray(escape_times, dtype=float)
            for a, d in enumerate(ds):
                pts = esc[a, :, k]
                pts = pts[np.isfinite(pts)]
                ax.loglog(np.full(pts.shape, d * 1.04), pts, ls="none", marker=".", ms=2, alpha=0.25, color=color)
        label = labels[k] if labels else f"saddle {k + 1}"
        if slopes and k < len(slopes) and slopes[k].get("text"):
            label += f": slope {slopes[k]['text']}"
        hi = np.where(np.isfinite(ci[:, k, 1]), ci[:, k, 1], np.nan)
        yerr = np.vstack([med[:, k] - ci[:, k, 0], hi - med[:, k]])
        ax.errorbar(ds, med[:, k], yerr=np.where(np.isfinite(yerr), yerr, 0.0), marker="o", ms=4, color=color,
                    lw=1.2, capsize=3, label=label)
        open_above = np.isfinite(med[:, k]) & ~np.isfinite(ci[:, k, 1])
        if np.any(open_above):
            ax.plot(ds[open_above], 3 * med[open_above, k], ls="none", marker="^", color=color, ms=5)
        if censored is not None and np.any(censored[:, k]):
            c = np.asarray(censored, bool)[:, k]
            ax.plot(ds[c], ci[c, k, 0], ls="none", marker="^", mfc="none", color=color, ms=7)
        if predicted_quantiles is not None:
            q = np.asarray(predicted_quantiles, dtype=float)
            ax.loglog(ds, q[:, 1, k], ls="--", color=color, lw=0.9)
            ax.fill_between(ds, q[:, 0, k], q[:, 2, k], color=color, alpha=0.12, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(ds, [f"{int(d):d}" for d in ds])
    import matplotlib.ticker  # lazy: importing mimflow.plotting must not import matplotlib

    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("dimension $d$")
    ax.set_ylabel("escape time: median, 95 % CI")
    ax.legend(frameon=False, fontsize=6.5, title="dashed: predicted median; band: 10-90 %", title_fontsize=6.5)
    return ax


def plot_escape_per_seed(ax, predicted, measured, *, horizon=None, labels=None):
    """Each run's measured escape time against its own predicted one (log-log; on the diagonal when the
    theory is right). Censored runs (measured NaN) are drawn at the horizon as open triangles.

    Args:
        predicted, measured: ``(S, n)`` (or ``(D, S, n)``, flattened over ``d``).
        horizon: scalar or ``(S, n)``-broadcastable horizon of the censored runs.
    """
    pred = np.asarray(predicted, dtype=float).reshape(-1, np.shape(predicted)[-1])
    meas = np.asarray(measured, dtype=float).reshape(-1, np.shape(measured)[-1])
    ok = np.isfinite(pred) & (pred > 0)
    for k in range(pred.shape[1]):
        color = f"C{k}"
        good = ok[:, k] & np.isfinite(meas[:, k])
        ax.loglog(pred[good, k], meas[good, k], ls="none", marker="o", ms=2.5, alpha=0.6, color=color,
                  label=(labels[k] if labels else f"saddle {k + 1}"))
        cens = ok[:, k] & ~np.isfinite(meas[:, k])
        if horizon is not None and np.any(cens):
            ax.loglog(pred[cens, k], np.full(cens.sum(), float(np.max(horizon))), ls="none", marker="^",
                      mfc="none", color=color, ms=5)
    finite = pred[ok]
    if finite.size:
        lo, hi = finite.min() / 2, finite.max() * 2
        ax.loglog([lo, hi], [lo, hi], color="k", lw=0.8, ls=":")
    ax.set_xlabel("predicted escape time (this seed's start)")
    ax.set_ylabel("measured escape time")
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
