r"""``mimflow neurons``: its config, figure and run command (the computation is in :mod:`._run`; the
``phase-diagram`` and ``beta-c`` commands are in :mod:`._phase`).

This module is imported by ``mimflow neurons --help`` to build the options, so it imports no JAX,
xarray or matplotlib (tests/test_startup.py): names that need them are
:class:`~mimflow.studies._deferred.Deferred` (docs/math/neurons.md §2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import ConfigDict, Field, field_validator

from mimflow._errors import MimflowError
from mimflow.plotting import new_figure, plot_neuron_overlaps
from mimflow.runs import RunCommand, SeedsMixin, atomic_savefig, neurons_memory
from mimflow.studies._deferred import Deferred
from mimflow.studies.neurons._config import check_gram, check_k, check_link_text, load_gram


class NeuronsConfig(SeedsMixin):
    """Config of ``mimflow neurons``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sigma: str = Field("h3", description="target activation sigma* (a name or an expression in z)")
    k: int = Field(4, description="number of index vectors v_1..v_k")
    n: int = Field(16, description="number of student neurons per seed")
    d: int = Field(10_000, description="input dimension (enters only the initial overlaps)")
    beta: float = Field(0.0, description="equal angle v_i^T v_j = beta in [0, 1) (ignored with --gram)")
    gram: str | list[list[float]] | None = Field(
        None, description="file (.npy/.csv/.txt) with the k x k Gram matrix V^T V (or the matrix itself, in a config file)")
    seeds: int | list[int] = Field(8, description="a count S (seeds 0..S-1) or a list of seeds (vmapped)")
    student: str | None = Field(None, description="student activation sigma (default: sigma*)")
    degree: int | None = Field(None, description="Hermite truncation degree of g (default: from the tails)")
    t_max: float | None = Field(None, gt=0.0, description="horizon: neurons not escaped by then are censored "
                                "(default: 1000 x the predicted median search time at this d)")
    n_save: int = Field(120, ge=0, le=2000, description="log-spaced save times per neuron trajectory (0: none)")
    rtol: float = Field(1e-8, gt=0.0, lt=1e-2, description="solver relative tolerance")

    @field_validator("k")
    @classmethod
    def _check_k(cls, value):
        return check_k(value, 1, "(number of index vectors)")

    @field_validator("n")
    @classmethod
    def _check_n(cls, value):
        if value < 1:
            raise MimflowError(f"n must be >= 1 (number of neurons), got {value}")
        return value

    @field_validator("d")
    @classmethod
    def _check_d(cls, value):
        if value < 2:
            raise MimflowError(f"d must be >= 2, got {value}")
        return value

    @field_validator("beta")
    @classmethod
    def _check_beta(cls, value):
        if not (0.0 <= value < 1.0):
            raise MimflowError(f"beta must be in [0, 1) (equal angles v_i^T v_j = beta), got {value}")
        return value

    @field_validator("gram", mode="before")
    @classmethod
    def _read_gram(cls, value):
        # The file is read here, so the config (and the content hash of a stored run) holds the
        # matrix itself: a file changed under the same path is a different run.
        if value is None:
            return None
        if isinstance(value, (str, Path)):
            return load_gram(value).tolist()
        try:
            Q = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise MimflowError("gram must be a file name or a k x k matrix of numbers") from None
        return check_gram(Q, name="gram matrix").tolist()

    @field_validator("sigma", "student")
    @classmethod
    def _check_links(cls, value, info):
        return check_link_text(value, info.field_name)


def plot_neurons(dataset, summary, path) -> None:
    fig, axes = new_figure(1, 1, width=4.8, height=3.4)
    plot_neuron_overlaps(axes[0, 0], dataset, seed_position=0)
    fig.tight_layout()
    atomic_savefig(fig, path)


NEURONS = RunCommand(
    "neurons", NeuronsConfig, Deferred("mimflow.studies.neurons._run:run_neurons"), vmapped_fields=frozenset({"seeds"}), positional=("sigma",),
    plot=plot_neurons, memory_estimate=neurons_memory,
)
