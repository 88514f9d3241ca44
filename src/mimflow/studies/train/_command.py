r"""``mimflow train``: its config, figure and run command (the computation is in :mod:`._run`).

This module is imported by ``mimflow train --help`` to build the options, so it imports no JAX,
xarray or matplotlib (tests/test_startup.py): names that need them are
:class:`~mimflow.studies._deferred.Deferred` (docs/math/online-sgd.md, docs/math/finite-sample.md).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import ConfigDict, Field

from mimflow.plotting import new_figure
from mimflow.runs import DimensionsMixin, LinkMixin, RunCommand, SeedsMixin, atomic_savefig, train_memory
from mimflow.studies._deferred import Deferred
from mimflow.studies._escape_stats import ESCAPE_THRESHOLD


class TrainConfig(DimensionsMixin, SeedsMixin, LinkMixin):
    """Config of ``mimflow train``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    MIN_D = 3

    link: str = Field("h2", description="the target link f*: a name or an expression in z or z1..zr")
    algorithm: Literal["two-timescale", "planted", "correlation", "committee"] = Field(
        "two-timescale", description="two-timescale | planted | correlation | committee")
    d: int | list[int] = Field(1000, description="input dimension(s)")
    steps: int = Field(10_000, ge=1, le=10**10, description="number of SGD/GD steps")
    lr: float = Field(0.001, gt=0.0, description="learning rate coefficient eta0 (eta = lr * d^-lr_exponent)")
    lr_exponent: float = Field(0.0, description="delta in eta = lr * d^-delta")
    batch_size: int = Field(1, ge=1, description="batch coefficient b0 (online batch = b0 * d^batch_exponent)")
    batch_exponent: float = Field(0.0, ge=0.0, description="mu in batch = b0 * d^mu")
    seeds: int | list[int] = Field(8, description="a count S (seeds 0..S-1) or a list of seeds (vmapped)")
    noise: float = Field(0.0, ge=0.0, description="label-noise standard deviation")
    engine: Literal["reduced", "full"] = Field("reduced", description="reduced (exact Gram chain, d-free cost) | full (d-dim samples)")
    n_samples: float | None = Field(None, gt=0.0, description="full-batch GD on n = n_samples * d^samples_exponent fixed samples (needs --engine full)")
    samples_exponent: float = Field(0.0, ge=0.0, description="kappa in n = alpha * d^kappa (full-batch GD)")
    compare_theory: bool = Field(False, description="integrate the population flow from the same M(0) and report the deviation")
    n_save: int = Field(100, ge=3, le=5000, description="number of save steps")
    save_grid: Literal["log", "linear"] = Field("log", description="log | linear spacing of the save steps")
    rank: int | None = Field(None, ge=1, le=64, description="student width p (default r; two-timescale, correlation, committee)")
    degree: int | None = Field(None, ge=1, le=40, description="Hermite degree: student features (two-timescale) / truncation of the risk")
    ridge: float = Field(0.0, ge=0.0, description="ridge mu of the link fit (two-timescale)")
    kernel_decay: float = Field(0.5, gt=0.0, le=1.0, description="rho of the Hermite kernel q_k = rho^k (two-timescale ridge)")
    link_fit: Literal["fresh", "moments", "running", "sgd"] = Field(
        "fresh", description="two-timescale link: ridge fit on a fresh batch | on a Gaussian draw of that batch's "
                             "statistics (exact mean and covariance, ~36x faster; fit_batch >= 1000) | on running "
                             "moments | trained by SGD (network)")
    link_speed: float = Field(100.0, gt=0.0, description="link learning rate / W learning rate (two-timescale, link_fit = sgd)")
    fit_batch: int = Field(2000, ge=1, description="samples per link fit (fresh) or EMA window (running)")
    refit_every: int = Field(1, ge=1, description="steps between link refits (two-timescale)")
    teacher_neurons: int = Field(1, ge=1, le=64, description="number of teacher neurons k (correlation)")
    beta: float = Field(0.0, description="equal angle v_i^T v_j of the teacher neurons (correlation)")
    activation: str = Field("erf", description="student activation (committee)")
    constraint: Literal["sphere", "free"] = Field("sphere", description="first-layer constraint (committee)")
    train_second_layer: bool = Field(False, description="train the second layer too (committee)")
    chunk: int = Field(10_000, ge=1, description="steps per compiled call (progress and checks in between)")


def plot_train(dataset, summary, path) -> None:
    """Overlap singular values (and population risk) against t, one line per seed, the flow dashed."""
    ds_values = [int(x) for x in dataset["d"].values]
    fig, axes = new_figure(2, 1, width=4.4, height=3.2)
    ax_m, ax_l = axes[0, 0], axes[0, 1]
    colors = ["C0", "C1", "C2", "C3", "C4", "C5"]
    for a, d in enumerate(ds_values):
        sub = dataset.sel(d=d)
        t = sub["t"].values
        mask = t > 0
        color = colors[a % len(colors)]
        sv = sub["singular_values"].values  # (S, T, k)
        for s in range(sv.shape[0]):
            for k in range(sv.shape[2]):
                ax_m.plot(t[mask], sv[s, mask, k], color=color, lw=0.7, alpha=0.6,
                          label=f"d = {d}" if s == 0 and k == 0 else None)
            ax_l.plot(t[mask], sub["loss"].values[s, mask], color=color, lw=0.7, alpha=0.6,
                      label=f"d = {d}" if s == 0 else None)
        if "M_theory" in sub:
            svt = np.linalg.svd(sub["M_theory"].values, compute_uv=False)
            for s in range(svt.shape[0]):
                for k in range(svt.shape[2]):
                    ax_m.plot(t[mask], svt[s, mask, k], color="k", lw=0.8, ls="--",
                              label="population flow" if (a == 0 and s == 0 and k == 0) else None)
                ax_l.plot(t[mask], sub["loss_theory"].values[s, mask], color="k", lw=0.8, ls="--",
                          label="population flow" if (a == 0 and s == 0) else None)
    first = True
    for a, d in enumerate(ds_values):  # escape times: Kaplan-Meier median with its 95 % CI, at the threshold
        meds = (summary or {}).get("median_escape_times", {}).get(str(d), [])
        cis = (summary or {}).get("median_escape_times_ci95", {}).get(str(d), [])
        for med, (lo, hi) in zip(meds, cis):
            if med is None:
                continue
            xerr = [[med - (lo if lo is not None else med)], [(hi if hi is not None else med) - med]]
            ax_m.errorbar([med], [ESCAPE_THRESHOLD], xerr=xerr, fmt="D", ms=4, color=colors[a % len(colors)],
                          mec="k", capsize=3, zorder=5, label="escape: median, 95 % CI" if first else None)
            first = False
    for ax in (ax_m, ax_l):
        ax.set_xscale("log")
        ax.set_xlabel("t = step x lr")
    ax_m.set_ylabel("singular values of M")
    ax_l.set_ylabel("population risk")
    ax_m.set_title(f"{dataset.attrs['link']} ({dataset.attrs['algorithm']}, {dataset.attrs['engine']})")
    ax_m.legend(fontsize=7)
    fig.tight_layout()
    atomic_savefig(fig, path)


TRAIN = RunCommand('train', TrainConfig, Deferred('mimflow.studies.train._run:run_train'), vmapped_fields=frozenset({'d', 'seeds'}), positional=('link',), plot=plot_train, option_aliases={'batch_size': ('--batch',)}, memory_estimate=train_memory)
