"""Figures of correlation-loss neurons (docs/math/neurons.md §2), from stored arrays only."""

from __future__ import annotations

import numpy as np


def plot_neuron_overlaps(ax, dataset, *, seed_position: int = 0, max_neurons: int = 16) -> None:
    """Overlap with each neuron's final index vector against time (log t), one line per neuron.

    Reads ``m (seed, neuron, t, index)``, ``reached`` and ``escape_time`` of a ``neurons`` run;
    neurons that reached no index vector are drawn with their largest overlap, dashed.
    """
    if "m" not in dataset:
        ax.text(0.5, 0.5, "no trajectories stored (n_save = 0)", ha="center", transform=ax.transAxes)
        return
    sub = dataset.isel(seed=seed_position)
    t = sub["t"].values
    keep = t > 0
    m = sub["m"].values  # (neuron, t, index)
    reached = sub["reached"].values
    sign = sub["reached_sign"].values
    esc = sub["escape_time"].values
    k = m.shape[-1]
    colors = [f"C{j % 10}" for j in range(k)]
    for i in range(min(m.shape[0], max_neurons)):
        if reached[i] >= 0:
            y = sign[i] * m[i, :, reached[i]]
            ax.semilogx(t[keep], y[keep], color=colors[reached[i]], lw=1.0, alpha=0.85)
        else:
            y = np.max(np.abs(m[i]), axis=-1)
            ax.semilogx(t[keep], y[keep], color="0.5", lw=0.8, ls="--", alpha=0.8)
        if esc[i] > 0:
            ax.plot([esc[i]], [dataset.attrs.get("threshold", 0.5)], "k.", ms=3)
    for j in range(k):
        ax.plot([], [], color=colors[j], label=f"reaches $v_{{{j + 1}}}$")
    ax.plot([], [], color="0.5", ls="--", label="none (largest $|m_j|$)")
    ax.axhline(dataset.attrs.get("threshold", 0.5), color="k", lw=0.5, ls=":")
    ax.set_xlabel("time $t$")
    ax.set_ylabel(r"overlap $\pm v_j^T w$ with the index vector reached")
    ax.set_ylim(-0.05, 1.05)
    beta = dataset.attrs.get("beta", 0.0)
    angle = f"beta = {beta:g}" if beta >= 0 else "Gram from file"
    ax.set_title(f"{dataset.attrs.get('sigma')}, k = {dataset.attrs.get('k')}, d = {dataset.attrs.get('d')}, {angle}")
    ax.legend(frameon=False, fontsize=6.5, loc="upper left")


def plot_coverage(ax, curves: dict, *, title: str = "") -> None:
    """Recovery probability against ``n / (k ln k)``: simulated (with exact binomial 95 % CIs) and the formula.

    ``curves[k] = (n (N,), simulated (N,), ci95 (N, 2), formula (N,))``.
    """
    for i, (k, (n, sim, ci, formula)) in enumerate(sorted(curves.items())):
        x = np.asarray(n, dtype=float) / (k * np.log(k))
        ci = np.asarray(ci, dtype=float)
        yerr = np.clip(np.vstack([sim - ci[:, 0], ci[:, 1] - sim]), 0.0, None)
        ax.errorbar(x, sim, yerr=yerr, fmt="o", ms=3, color=f"C{i}", capsize=2,
                    label=f"k = {k} simulated (95 % CI)")
        ax.plot(x, formula, "-", color=f"C{i}", lw=1.0, label=f"k = {k} formula")
    ax.set_xlabel(r"neurons $n / (k \ln k)$")
    ax.set_ylabel("P(all k index vectors found)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(title or "coverage: coupon collector (docs/math/neurons.md §2.3)")
    ax.legend(frameon=False, fontsize=6.5)


def plot_phase_diagram(ax_map, ax_lines, dataset) -> None:
    """Fraction of neurons reaching an index vector over ``(beta, k)``, with :math:`\\beta_c(k)` overlaid;
    and the fractions of every end point against beta for the largest ``k``."""
    ks = dataset["k"].values
    betas = dataset["beta"].values
    frac = dataset["fraction"].sel(end_point="index vector").values  # (k, beta)
    db = (betas[1] - betas[0]) if len(betas) > 1 else 0.1
    extent = [betas[0] - db / 2, betas[-1] + db / 2, ks[0] - 0.5, ks[-1] + 0.5]
    im = ax_map.imshow(frac, origin="lower", aspect="auto", extent=extent, vmin=0, vmax=1, cmap="viridis")
    bc = dataset["beta_c"].values
    ok = bc >= 0
    ax_map.plot(bc[ok], ks[ok], "w--o", ms=3, lw=1.2, label=r"$\beta_c(k)$ (theory)")
    ax_map.set_xlabel(r"equal angle $\beta = v_i^T v_j$")
    ax_map.set_ylabel("k")
    ax_map.set_yticks(ks)
    ax_map.set_title(f"{dataset.attrs.get('sigma')}: fraction reaching an index vector")
    ax_map.legend(frameon=False, fontsize=7, loc="upper right", labelcolor="w")
    ax_map.figure.colorbar(im, ax=ax_map, fraction=0.046)
    k_show = ks[-1]
    sub = dataset["fraction"].sel(k=k_show)
    for lab in dataset["end_point"].values:
        ax_lines.plot(betas, sub.sel(end_point=lab).values, "-o", ms=3, label=str(lab))
    b = float(dataset["beta_c"].sel(k=k_show))
    if b >= 0:
        ax_lines.axvline(b, color="k", ls="--", lw=0.8, label=r"$\beta_c$")
    ax_lines.set_xlabel(r"$\beta$")
    ax_lines.set_ylabel("fraction of neurons")
    ax_lines.set_title(f"end points, k = {k_show}, d = {dataset.attrs.get('d')}")
    ax_lines.legend(frameon=False, fontsize=7)


def plot_search_times(ax, ds, median_times, predicted, *, label: str = "") -> None:
    """Median escape time against ``d`` (log-log) with the theory's prediction."""
    ds = np.asarray(ds, dtype=float)
    ax.loglog(ds, median_times, "o", label=f"{label} simulated (median)")
    ax.loglog(ds, predicted, "-", color="k", lw=0.8, label=f"{label} theory")
    ax.set_xlabel("d")
    ax.set_ylabel("search time (median over neurons)")
    ax.legend(frameon=False, fontsize=7)
