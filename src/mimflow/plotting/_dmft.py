"""DMFT vs finite-d GD trajectories (``mimflow dmft --plot``, ``reproduce dmft-wirtinger``).

Works on a stored ``xarray.Dataset`` (never runs a simulation).
"""

from __future__ import annotations

import numpy as np

from mimflow.plotting._style import new_figure

PANELS = (("overlap", r"overlap $\langle w^t, w^*\rangle$"), ("norm2", r"$\|w^t\|^2$"),
          ("train_error", "train error"), ("test_error", "test error"))


def plot_dmft_trajectories(dataset, *, extra=None, title: str | None = None):
    """Four panels (overlap, squared norm, train and test error vs step): the DMFT curve with a band of
    +- 2 Monte Carlo standard errors, the finite-d seed mean with +- 2 standard errors (if stored),
    the fixed point as a dashed line, the DMFT's extrapolated long-time limit as a dotted one (when
    stored), and optional ``extra = [(label, dataset), ...]`` DMFT curves
    (e.g. the independent-start control). Returns the figure."""
    fig, axes = new_figure(2, 2, width=3.6, height=2.8)
    t = dataset["t"].values
    attrs = dataset.attrs
    for ax, (name, label) in zip(axes.flat, PANELS):
        y, se = dataset[name].values, dataset[name + "_se"].values
        ax.plot(t, y, color="C0", lw=1.4, label=f"DMFT ({attrs.get('init', '')})")
        ax.fill_between(t, y - 2 * se, y + 2 * se, color="C0", alpha=0.25, lw=0)
        sim_name = "simulated_" + name
        if sim_name in dataset:
            sims = dataset[sim_name].values
            mean = sims.mean(axis=0)
            err = 2 * sims.std(axis=0, ddof=1) / np.sqrt(sims.shape[0]) if sims.shape[0] > 1 else 0 * mean
            every = max(1, len(t) // 25)
            ax.errorbar(t[::every], mean[::every], yerr=err[::every], fmt="o", ms=2.5, color="C3", lw=0.8,
                        label=f"GD, d = {attrs.get('simulated_d')} ({sims.shape[0]} seeds)")
        for j, (lab, other) in enumerate(extra or []):
            yo, so = other[name].values, other[name + "_se"].values
            ax.plot(other["t"].values, yo, color=f"C{j + 1}", lw=1.1, ls="-.", label=lab)
            ax.fill_between(other["t"].values, yo - 2 * so, yo + 2 * so, color=f"C{j + 1}", alpha=0.2, lw=0)
        if name in ("overlap", "norm2") and attrs.get(f"fixed_point_{name}", -1.0) >= 0:
            ax.axhline(attrs[f"fixed_point_{name}"], color="k", ls="--", lw=0.8, label="fixed point")
        if name in ("overlap", "norm2") and f"long_time_{name}" in attrs:
            ax.axhline(attrs[f"long_time_{name}"], color="C0", ls=":", lw=0.9, label="DMFT long-time limit (fit)")
        if name.endswith("error"):
            positive = y[y > 0]
            if positive.size and positive.max() / max(positive.min(), 1e-300) > 50:
                ax.set_yscale("log")
        ax.set_xlabel("GD step t")
        ax.set_ylabel(label)
    axes[0, 0].legend(loc="best")
    fig.suptitle(title or f"{attrs.get('loss', '')} GD on y = {attrs.get('link', '')}, alpha = {attrs.get('alpha')}, "
                 f"lr = {attrs.get('lr')}, ridge = {attrs.get('ridge')}", fontsize=9)
    fig.tight_layout()
    return fig
