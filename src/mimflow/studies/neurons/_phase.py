r"""``mimflow neurons phase-diagram`` and ``mimflow neurons beta-c``: configs, figure and run commands
(docs/math/neurons.md §2.4; the computations are in :mod:`._run`).

* ``neurons-phase-diagram``: over a grid of ``(k, beta)`` with equal angles, the fraction of neurons
  that reach an index vector, the average, another point or none, with :math:`\beta_c(k)` from the
  theory (a warning instead where the link is outside the paper's hypothesis).
* ``neurons-beta-c``: :math:`\beta_c` by root finding, beside the closed form when ``g`` is a single
  power; refused (one-line error, exit 2) for a sigma* with a He1 or He2 component, outside the
  hypothesis of Simsek-Bendjeddou-Hsu (:func:`mimflow.theory.check_hypothesis`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mimflow._errors import MimflowError
from mimflow.plotting import new_figure, plot_phase_diagram
from mimflow.runs import RunCommand, atomic_savefig
from mimflow.studies._deferred import Deferred
from mimflow.studies.neurons._config import check_k, check_link_text


# ----------------------------------------------------------------------------- phase diagram


class NeuronsPhaseConfig(BaseModel):
    """Config of ``mimflow neurons phase-diagram``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sigma: str = Field("h3", description="target activation sigma*")
    k: int | list[int] = Field([2, 3, 4], description="number(s) of index vectors (all in one run)")
    beta: float | list[float] = Field([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                                      description="equal angle(s) beta in [0, 1) (all in one run)")
    d: int = Field(1000, description="input dimension")
    seeds: int = Field(4, ge=1, le=10_000, description="number of seeds (independent networks)")
    n: int = Field(64, ge=1, description="neurons per seed")
    student: str | None = Field(None, description="student activation (default sigma*)")
    degree: int | None = Field(None, description="Hermite truncation degree of g")
    rtol: float = Field(1e-8, gt=0.0, lt=1e-2, description="solver relative tolerance")

    @field_validator("k")
    @classmethod
    def _check_k(cls, value):
        return check_k(value, 1)

    @field_validator("beta")
    @classmethod
    def _check_beta(cls, value):
        values = value if isinstance(value, list) else [value]
        if not values or any(not 0.0 <= v < 1.0 for v in values):
            raise MimflowError(f"beta must be in [0, 1), got {value!r}")
        return value

    @field_validator("sigma", "student")
    @classmethod
    def _check_links(cls, value, info):
        return check_link_text(value, info.field_name)


def plot_phase(dataset, summary, path) -> None:
    fig, axes = new_figure(2, 1, width=4.2, height=3.3)
    plot_phase_diagram(axes[0, 0], axes[0, 1], dataset)
    fig.tight_layout()
    atomic_savefig(fig, path)


PHASE = RunCommand('neurons-phase-diagram', NeuronsPhaseConfig, Deferred("mimflow.studies.neurons._run:run_phase_diagram"), vmapped_fields=frozenset({'k', 'beta'}), positional=('sigma',), plot=plot_phase)


# ----------------------------------------------------------------------------- beta_c


class NeuronsBetaCConfig(BaseModel):
    """Config of ``mimflow neurons beta-c``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sigma: str = Field("h3", description="target activation sigma*")
    k: int = Field(4, description="number of index vectors")
    student: str | None = Field(None, description="student activation (default sigma*)")
    degree: int | None = Field(None, description="Hermite truncation degree of g")

    @field_validator("k")
    @classmethod
    def _check_k(cls, value):
        return check_k(value, 2, "for equal angles between index vectors")

    @field_validator("sigma", "student")
    @classmethod
    def _check_links(cls, value, info):
        return check_link_text(value, info.field_name)


BETA_C = RunCommand('neurons-beta-c', NeuronsBetaCConfig, Deferred("mimflow.studies.neurons._run:run_beta_c"), positional=('sigma',))
