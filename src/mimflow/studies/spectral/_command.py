r"""``mimflow spectral``: its config, figure and run command (the computation is in :mod:`._run`).

This module is imported by ``mimflow spectral --help`` to build the options, so it imports no JAX,
xarray or matplotlib (tests/test_startup.py): names that need them are
:class:`~mimflow.studies._deferred.Deferred` (docs/math/spectral.md §4).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import ConfigDict, Field, field_validator

from mimflow.plotting import new_figure, plot_overlap_vs_alpha
from mimflow.runs import AlphasMixin, LinkMixin, RunCommand, SeedsMixin, atomic_savefig, spectral_memory
from mimflow.studies._deferred import Deferred

_make_preprocessing = Deferred("mimflow.spectral:make_preprocessing")


class SpectralConfig(AlphasMixin, SeedsMixin, LinkMixin):
    """Config of ``mimflow spectral``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    MAX_SEEDS = 10_000
    MAX_LINK_VARIABLES = 1
    LINK_ERROR = "link {value!r} has several variables: spectral needs a single-index link in z"

    link: str = Field("z**2", description="the link f (single-index): a name or an expression in z; z**2 is real phase retrieval")
    alpha: float | list[float] = Field(2.0, description="sample ratio(s) n/d; a comma list gives one point per value")
    preprocess: str = Field("optimal", description="T: identity, trimmed[:TAU], mondelli-montanari[-complex], optimal, or an expression in y")
    clip: float | None = Field(None, gt=0.0, description="optimal only: T = max(1 - 1/y, -clip) (needed for simulations)")
    noise: float = Field(0.0, ge=0.0, description="standard deviation of the Gaussian label noise")
    d: int | None = Field(None, ge=2, le=100_000, description="dimension of the finite-d simulations (none: theory only)")
    seeds: int | list[int] = Field(8, description="a count S (seeds 0..S-1) or a list of seeds for the simulations")
    dtype: Literal["float64", "float32"] = Field("float64", description="storage of X in simulations (float32 halves memory)")
    threshold: bool = Field(True, description="compute the weak-recovery threshold alpha_c of T")

    @field_validator("preprocess")
    @classmethod
    def _check_preprocess(cls, value):
        _make_preprocessing(value, alpha=1.0)  # names and expressions; alpha-dependence checked per run
        return value


def plot_spectral(dataset, summary, path) -> None:
    """overlap^2 against alpha: the theory curve and, when simulated, the finite-``d`` points."""
    fig, axes = new_figure(1, 1, width=4.6, height=3.4)
    curve = np.where(dataset["curve_applicable"].values, dataset["curve_overlap2"].values, np.nan)
    kw = {}
    if "measured_overlap2" in dataset:
        m = dataset["measured_overlap2"].values
        S = m.shape[1]
        kw = dict(alpha_points=dataset["alpha"].values, measured=m.mean(axis=1),
                  measured_se=m.std(axis=1, ddof=1) / np.sqrt(S) if S > 1 else None,
                  point_label=f"d = {dataset.attrs['d']}, {S} seeds")
    ac = dataset.attrs.get("alpha_weak_recovery", -1.0)
    plot_overlap_vs_alpha(axes[0, 0], dataset["alpha_curve"].values, curve,
                          alpha_weak_recovery=ac if ac > 0 else None,
                          label=f"Lu-Li, T = {dataset.attrs['preprocess']}",
                          title=f"spectral estimator, f = {dataset.attrs['link']}", **kw)
    fig.tight_layout()
    atomic_savefig(fig, path)


SPECTRAL = RunCommand('spectral', SpectralConfig, Deferred('mimflow.studies.spectral._run:run_spectral'), vmapped_fields=frozenset({'alpha', 'seeds'}), positional=('link',), plot=plot_spectral, memory_estimate=spectral_memory)
