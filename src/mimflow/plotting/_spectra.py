"""Plots of Hermite spectra: energy per degree and truncation tails."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def plot_energy_by_degree(ax, spectra: Mapping[str, np.ndarray], *, floor: float = 1e-16, title: str | None = None):
    r"""Energy :math:`\sum_{|\beta|=k}\alpha_\beta^2` (``c_k^2`` for one variable) against degree ``k``.

    Args:
        ax: matplotlib axes.
        spectra: ``name -> energy array (K + 1,)``; zeros are drawn at ``floor`` as open markers.
    """
    markers = "osD^v<>ph*"
    for i, (name, energy) in enumerate(spectra.items()):
        energy = np.asarray(energy, dtype=float)
        k = np.arange(len(energy))
        nz = energy > floor
        (line,) = ax.semilogy(k[nz], energy[nz], marker=markers[i % len(markers)], ms=3.5, lw=0.8, label=name)
        ax.semilogy(k[~nz], np.full((~nz).sum(), floor), ls="none", marker=markers[i % len(markers)], ms=3.5,
                    mfc="none", color=line.get_color(), alpha=0.5)
    ax.set_xlabel("Hermite degree $k$")
    ax.set_ylabel(r"energy $\sum_{|\beta|=k}\alpha_\beta^2$")
    ax.set_ylim(bottom=floor / 3)
    if title:
        ax.set_title(title)
    ax.legend(ncols=2, frameon=False)
    return ax


def plot_tail_decay(ax, degrees: np.ndarray, tails: Mapping[str, np.ndarray], slopes: Mapping[str, float] | None = None):
    r"""Parseval tail :math:`\|f\|^2 - \sum_{k\le K} c_k^2` against ``K`` (log-log), with reference slopes."""
    degrees = np.asarray(degrees, dtype=float)
    for name, tail in tails.items():
        (line,) = ax.loglog(degrees, tail, marker="o", ms=3, lw=1, label=name)
        if slopes and name in slopes:
            ref = tail[0] * (degrees / degrees[0]) ** slopes[name]
            ax.loglog(degrees, ref, ls="--", lw=0.8, color=line.get_color(), label=f"$K^{{{slopes[name]:g}}}$")
    ax.set_xlabel("truncation degree $K$")
    ax.set_ylabel(r"tail $\|f\|^2-\sum_{k\leq K}c_k^2$")
    ax.legend(frameon=False)
    return ax
