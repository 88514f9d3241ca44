r"""``mimflow neurons phase-diagram`` and ``mimflow neurons beta-c`` (docs/math/neurons.md §2.4).

* ``neurons-phase-diagram``: over a grid of ``(k, beta)`` with equal angles, the fraction of neurons
  that reach an index vector, the average, another point or none, with :math:`\beta_c(k)` from the
  theory (a warning instead where the link is outside the paper's hypothesis).
* ``neurons-beta-c``: :math:`\beta_c` by root finding, beside the closed form when ``g`` is a single
  power; refused (one-line error, exit 2) for a sigma* with a He1 or He2 component, outside the
  hypothesis of Simsek-Bendjeddou-Hsu (:func:`mimflow.theory._neurons.check_hypothesis`).
"""

from __future__ import annotations

import time

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mimflow._errors import MimflowError
from mimflow.studies.neurons._config import check_link_text
from mimflow.studies.neurons._escapes import default_horizon
from mimflow.runs import RunCommand, RunResult, check_finite_result


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
        values = value if isinstance(value, list) else [value]
        if not values or any(v < 1 for v in values):
            raise MimflowError(f"k must be integers >= 1, got {value!r}")
        return value

    @field_validator("beta")
    @classmethod
    def _check_beta(cls, value):
        values = value if isinstance(value, list) else [value]
        if not values or any(not 0.0 <= v < 1.0 for v in values):
            raise MimflowError(f"beta must be in [0, 1), got {value!r}")
        return value

    @field_validator("sigma")
    @classmethod
    def _check_sigma(cls, value):
        return check_link_text(value, "sigma")

    @field_validator("student")
    @classmethod
    def _check_student(cls, value):
        return check_link_text(value, "student")


PHASE_LABELS = ("index vector", "average", "other", "none")


def run_phase_diagram(config: NeuronsPhaseConfig, *, progress=None) -> RunResult:
    import xarray as xr

    from mimflow.dynamics import classify_neuron_end_points, equiangular_gram, neuron_initial_overlaps, solve_neurons
    from mimflow.theory import _neurons as th

    start = time.perf_counter()
    ks = sorted(config.k if isinstance(config.k, list) else [config.k])
    betas = sorted(config.beta if isinstance(config.beta, list) else [config.beta])
    if config.d <= max(ks):
        raise MimflowError(f"d = {config.d} must exceed k = {max(ks)}")
    a = th.correlation_coefficients(config.sigma, config.student, config.degree)
    t_max = default_horizon(a, max(ks), config.d)
    frac = np.zeros((len(ks), len(betas), len(PHASE_LABELS)))
    beta_c = np.full(len(ks), -1.0)
    total = len(ks) * len(betas)
    warnings: list[str] = []
    for i, k in enumerate(ks):
        if k >= 2:
            try:
                beta_c[i] = th.beta_critical(a, k).beta_c
            except MimflowError as exc:
                if str(exc) not in warnings:
                    warnings.append(f"beta_c not drawn: {exc}")
        for j, beta in enumerate(betas):
            Q = equiangular_gram(k, beta)
            m0 = neuron_initial_overlaps(Q, config.d, config.n, list(range(config.seeds)))
            run = solve_neurons(a, Q, m0, t_max=t_max, rtol=config.rtol)
            _, _, label = classify_neuron_end_points(run.m, run.converged)
            frac[i, j] = [np.mean(label == lab) for lab in PHASE_LABELS]
            if progress is not None:
                progress((i * len(betas) + j + 1) / total)
    ds = xr.Dataset(
        {"fraction": (("k", "beta", "end_point"), frac), "beta_c": (("k",), beta_c)},
        coords={"k": ks, "beta": betas, "end_point": list(PHASE_LABELS)},
        attrs={"sigma": config.sigma, "student": config.student or config.sigma, "d": config.d,
               "seeds": config.seeds, "n": config.n, "t_max": t_max, "beta_c_missing": -1.0},
    )
    check_finite_result("neurons-phase-diagram", ds)
    summary = {
        "sigma": config.sigma, "d": config.d, "k": ks, "beta": betas,
        "beta_c": {str(k): (float(b) if b >= 0 else None) for k, b in zip(ks, beta_c)},
        "fractions": {str(k): {f"{b:g}": {lab: float(frac[i, j, l]) for l, lab in enumerate(PHASE_LABELS)}
                               for j, b in enumerate(betas)} for i, k in enumerate(ks)},
        "warnings": warnings,
    }
    scalars = {"wall_seconds": time.perf_counter() - start}
    return RunResult(ds, scalars=scalars, summary=summary)


def plot_phase(dataset, summary, path) -> None:
    from mimflow.plotting import plot_phase_diagram
    from mimflow.plotting import new_figure
    from mimflow.runs import atomic_savefig

    fig, axes = new_figure(2, 1, width=4.2, height=3.3)
    plot_phase_diagram(axes[0, 0], axes[0, 1], dataset)
    fig.tight_layout()
    atomic_savefig(fig, path)


PHASE = RunCommand('neurons-phase-diagram', NeuronsPhaseConfig, run_phase_diagram, vmapped_fields=frozenset({'k', 'beta'}), positional=('sigma',), plot=plot_phase)


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
        if value < 2:
            raise MimflowError(f"k must be >= 2 for equal angles between index vectors, got {value}")
        return value

    @field_validator("sigma")
    @classmethod
    def _check_sigma(cls, value):
        return check_link_text(value, "sigma")

    @field_validator("student")
    @classmethod
    def _check_student(cls, value):
        return check_link_text(value, "student")


def beta_c_report(config: NeuronsBetaCConfig) -> dict:
    """``{"beta_c": x, "closed_form": ..., "crossings": [...], "m_bar": ..., ...}`` (theory only)."""
    from mimflow.theory import _neurons as th

    th.check_hypothesis(config.sigma, "beta_c")  # outside it beta_c is meaningless (e.g. relu gives 0)
    a = th.correlation_coefficients(config.sigma, config.student, config.degree)
    res = th.beta_critical(a, config.k)
    mbar, perp, _ = th.average_point_curvatures(a, config.k, res.beta_c)
    return {"beta_c": res.beta_c, "closed_form": res.closed_form, "crossings": list(res.crossings),
            "k": config.k, "sigma": config.sigma, "student": config.student or config.sigma,
            "information_exponent": th.information_exponent_of_g(a), "m_bar": mbar,
            "g_coefficients": [float(x) for x in a]}


def run_beta_c(config: NeuronsBetaCConfig, *, progress=None) -> RunResult:
    import xarray as xr

    from mimflow.theory import _neurons as th

    report = beta_c_report(config)
    a = np.asarray(report["g_coefficients"])
    betas = np.linspace(0.0, 0.99, 100)
    curv = np.array([th.average_point_curvatures(a, config.k, b)[2] for b in betas])
    ds = xr.Dataset({"inside_curvature": (("beta",), curv)}, coords={"beta": betas},
                    attrs={"beta_c": report["beta_c"], "k": config.k, "sigma": config.sigma})
    check_finite_result("neurons-beta-c", ds)
    if progress is not None:
        progress(1.0)
    return RunResult(ds, scalars={"beta_c": report["beta_c"]}, summary=report)


BETA_C = RunCommand('neurons-beta-c', NeuronsBetaCConfig, run_beta_c, positional=('sigma',))
