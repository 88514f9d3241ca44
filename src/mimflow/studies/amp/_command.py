r"""``mimflow amp``: its config, figure and run command (the computation is in :mod:`._run`).

This module is imported by ``mimflow amp --help`` to build the options, so it imports no JAX,
xarray or matplotlib (tests/test_startup.py): names that need them are
:class:`~mimflow.studies._deferred.Deferred` (docs/math/amp.md).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import ConfigDict, Field, field_validator

from mimflow._errors import MimflowError
from mimflow.plotting import new_figure, plot_gamp_vs_state_evolution, plot_limits_vs_alpha
from mimflow.runs import AlphasMixin, LinkMixin, RunCommand, SeedsMixin, atomic_savefig
from mimflow.studies._deferred import Deferred

_make_prior = Deferred("mimflow.amp:make_prior")


class AMPConfig(AlphasMixin, SeedsMixin, LinkMixin):
    """Config of ``mimflow amp``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    MAX_SEEDS = 10_000
    MAX_LINK_VARIABLES = 1
    LINK_ERROR = "link {value!r} has several variables: amp needs a single-index link in z"

    link: str = Field("z**2", description="the link f (one variable z); noiseless z**2, abs, sign, relu (and affine images) are exact")
    alpha: float | list[float] = Field(2.0, description="sample ratio(s) n/d; a comma list gives one point per value")
    noise: float = Field(0.0, description="standard deviation of Gaussian label noise (needed for other links)")
    prior: str = Field("gaussian", description="prior of the coordinates of w*: gaussian or rademacher")
    d: int | None = Field(None, ge=2, le=20_000, description="dimension of GAMP on samples (none: theory only)")
    seeds: int | list[int] = Field(8, description="a count S (seeds 0..S-1) or a list of seeds for GAMP on samples")
    steps: int = Field(30, ge=1, le=1000, description="GAMP / state-evolution iterations compared")
    q0: float = Field(0.05, gt=0.0, lt=1.0, description="overlap of the start of GAMP and of its state evolution")
    thresholds: bool = Field(True, description="compute alpha_WR, alpha_IT, alpha_alg")

    @field_validator("noise")
    @classmethod
    def _check_noise(cls, value):
        if not (math.isfinite(value) and value >= 0):
            raise MimflowError(f"noise must be a finite number >= 0, got {value!r}")
        return value

    @field_validator("prior")
    @classmethod
    def _check_prior(cls, value):
        return _make_prior(value).name


def plot_amp(dataset, summary, path) -> None:
    """Overlap against alpha (Bayes-optimal, AMP, thresholds, GAMP points) and, with ``--d``, trajectories."""
    with_d = "gamp_overlap" in dataset
    fig, axes = new_figure(2 if with_d else 1, 1, width=4.6, height=3.4)
    attrs = dataset.attrs
    thresholds = {name: attrs.get(key, -1.0) for name, key in (
        (r"$\alpha_{WR}$", "alpha_weak_recovery"), (r"$\alpha_{IT}$", "alpha_information_theoretic"),
        (r"$\alpha_{alg}$", "alpha_algorithmic"))}
    points = None
    if with_d:
        g = dataset["gamp_overlap"].values[:, :, -1]
        S = g.shape[1]
        points = {"alpha": dataset["alpha"].values, "mean": g.mean(axis=1),
                  "se": g.std(axis=1, ddof=1) / np.sqrt(S) if S > 1 else None,
                  "label": f"GAMP, d = {attrs['d']}, {S} seeds, t = {dataset['t'].values[-1]}"}
    plot_limits_vs_alpha(axes[0, 0], dataset["alpha_curve"].values,
                         {"Bayes-optimal": dataset["curve_bayes_overlap"].values,
                          "AMP (uninformed start)": dataset["curve_amp_overlap"].values},
                         thresholds={k: v for k, v in thresholds.items() if v is not None and v > 0},
                         points=points, title=f"f = {attrs['link']}, prior {attrs['prior']}, noise {attrs['noise']:g}")
    if with_d:
        g = dataset["gamp_overlap"].values
        S = g.shape[1]
        plot_gamp_vs_state_evolution(axes[0, 1], dataset["t"].values, dataset["alpha"].values,
                                     dataset["se_trajectory"].values, g.mean(axis=1),
                                     g.std(axis=1, ddof=1) / np.sqrt(S) if S > 1 else None)
    fig.tight_layout()
    atomic_savefig(fig, path)


AMP = RunCommand(
    "amp", AMPConfig, Deferred("mimflow.studies.amp._run:run_amp"), vmapped_fields=frozenset({"alpha", "seeds"}), positional=("link",),
    plot=plot_amp,
)
