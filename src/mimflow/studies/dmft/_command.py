r"""``mimflow dmft``: its config, figure and run command (the computation is in :mod:`._run`).

This module is imported by ``mimflow dmft --help`` to build the options, so it imports no JAX,
xarray or matplotlib (tests/test_startup.py): names that need them are
:class:`~mimflow.studies._deferred.Deferred` (docs/math/dmft.md §3).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mimflow.plotting import plot_dmft_trajectories
from mimflow.runs import RunCommand, atomic_savefig, dmft_memory
from mimflow.studies._deferred import Deferred

_parse_init = Deferred("mimflow.proportional:parse_init")
_make_loss = Deferred("mimflow.proportional:make_loss")

class DMFTConfig(BaseModel):
    """Config of ``mimflow dmft``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    link: str = Field("z**2", description="the link f (one variable z): a name or an expression, e.g. z**2 (phase retrieval)")
    alpha: float = Field(4.0, gt=0.0, description="sample ratio alpha = n/d")
    lr: float = Field(0.1, gt=0.0, description="GD step eta on the loss (1/n) sum l + (ridge/2)||w||^2")
    ridge: float = Field(0.01, ge=0.0, description="ridge lambda")
    steps: int = Field(50, ge=1, le=2000, description="number of GD steps T")
    noise: float = Field(0.0, ge=0.0, description="standard deviation of additive Gaussian label noise")
    loss: str = Field("wirtinger", description="wirtinger | square | logistic | an expression in r and y")
    init: str = Field("spectral", description="spectral | random | warm:M: start at overlap <w0, w*> = M exactly "
                      "(the printed overlap[0], not the cosine; needs |M| <= --init-norm)")
    init_norm: float = Field(1.0, gt=0.0, description="norm ||w^0|| of the initialisation")
    preprocess: str = Field("trimmed", description="spectral preprocessing T(y): a name (trimmed, optimal, ...) or an expression in y")
    clip: float | None = Field(None, gt=0.0, description="clip of the 'optimal' preprocessing, max(1 - 1/y, -clip)")
    paths: int = Field(20000, ge=100, le=10_000_000, description="Monte Carlo paths of the DMFT")
    batches: int = Field(10, ge=2, le=1000, description="independent batches of paths (error bars)")
    power_steps: int | None = Field(None, ge=1, le=2000, description="power-iteration steps of the spectral start (default: until converged)")
    simulate: int | None = Field(None, ge=10, description="also run finite-d GD at this dimension d")
    seeds: int = Field(4, ge=1, le=1000, description="number of seeds of the finite-d simulation")
    seed: int = Field(0, ge=0, description="PRNG seed of the DMFT Monte Carlo")

    @model_validator(mode="after")
    def _check_init(self):
        _parse_init(self.init, self.init_norm)
        return self

    @field_validator("loss")
    @classmethod
    def _check_loss(cls, value):
        _make_loss(value)
        return value


def plot_dmft(dataset, summary, path) -> None:
    """DMFT trajectories with Monte Carlo bands, simulation points, fixed point (plotting/_dmft.py)."""
    fig = plot_dmft_trajectories(dataset)
    atomic_savefig(fig, path)


DMFT = RunCommand(
    "dmft", DMFTConfig, Deferred("mimflow.studies.dmft._run:run_dmft"), positional=("link",),
    plot=plot_dmft, memory_estimate=dmft_memory,
)
