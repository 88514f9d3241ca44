r"""``mimflow flow``: its config, figure and run command (the computation is in :mod:`._run`).

This module is imported by ``mimflow flow --help`` and ``--show-config`` to build the options, so it
imports no JAX, xarray or matplotlib (tests/test_startup.py): names that need them are
:class:`~mimflow.studies._deferred.Deferred` (docs/math/grassmannian-flow.md, docs/math/planted.md).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import ConfigDict, Field

from mimflow.plotting import new_figure, plot_escape_per_seed, plot_escape_times_vs_d, plot_singular_values
from mimflow.runs import DimensionsMixin, LinkMixin, RunCommand, SeedsMixin, atomic_savefig
from mimflow.studies._deferred import Deferred


class FlowConfig(DimensionsMixin, SeedsMixin, LinkMixin):
    """Config of ``mimflow flow``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    MAX_LINK_VARIABLES = 4
    LINK_ERROR = "link {value!r} has r = {r} variables: flow supports r <= 4"

    link: str = Field("h2(z1) + h3(z2)", description="the link f*: a name or an expression in z or z1..zr (r <= 4)")
    algorithm: Literal["two-timescale", "planted"] = Field("two-timescale", description="two-timescale | planted")
    d: int | list[int] = Field(1000, description="input dimension(s); a comma list runs all of them in one compiled call")
    seeds: int | list[int] = Field(8, description="a count S (seeds 0..S-1) or a list of seeds (vmapped)")
    rank: int | None = Field(None, ge=1, description="student rank p (default r); planted requires p = r")
    ridge: float = Field(0.0, ge=0.0, description="ridge mu of the link fit (two-timescale; docs/math/finite-sample.md §1.8)")
    t_max: float | None = Field(None, gt=0.0, description="horizon; runs not escaped by then are censored (default: "
                                                          "2 x the predicted 97.5 % quantile of the last escape)")
    degree: int | None = Field(None, ge=1, le=40, description="Hermite truncation degree (default: from the tail)")
    threshold: float = Field(0.5, gt=0.0, lt=1.0, description="singular-value threshold that defines an escape")
    n_save: int = Field(300, ge=10, le=20000, description="number of log-spaced save times")
    rtol: float = Field(1e-7, gt=0.0, lt=1e-2, description="solver relative tolerance")
    common_seeds: bool = Field(False, description="reuse each seed's random start at every d (common random "
                                                  "numbers); default: independent starts per d")


def escape_arrays(summary, ds) -> dict:
    """NumPy arrays of the censoring-aware summary for figures: ``medians (D, n)`` (NaN: censored),
    ``ci95 (D, n, 2)`` (NaN: open), ``censored (D, n)``, ``quantiles (D, 3, n)`` (NaN: no prediction)."""
    keys = [str(d) for d in ds]

    def arr(values):
        return np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)

    medians = arr([summary["median_escape_times"][k] for k in keys])
    ci = np.array([[[np.nan if v is None else v for v in pair] for pair in summary["median_escape_times_ci95"][k]]
                   for k in keys], dtype=float)
    quant = summary.get("predicted_escape_time_quantiles", {})
    q = np.array([[[np.nan if v is None else v for v in quant[k][level]] for level in ("0.1", "0.5", "0.9")]
                  if k in quant else np.full((3, medians.shape[1]), np.nan) for k in keys], dtype=float)
    censored = np.array([summary["median_censored"][k] for k in keys], dtype=bool)
    return {"medians": medians, "ci95": ci, "censored": censored, "quantiles": q}


def plot_flow(dataset, summary, path) -> None:
    """Singular values of M vs time (log t) with predicted escapes; with several d: escape time vs d
    (median, CI, predicted band) and each seed's escape time against its own prediction."""
    ds_values = [int(x) for x in dataset["d"].values]
    several = len(ds_values) > 1
    fig, axes = new_figure(3 if several else 2, 1, width=4.3, height=3.4)
    d_show = ds_values[-1]
    sub = dataset.sel(d=d_show)
    pred = sub["predicted_escape_time"].values
    plot_singular_values(axes[0, 0], sub["t"].values, sub["singular_values"].values,
                         predicted=[x for x in pred if x > 0],
                         title=f"{dataset.attrs['link']} ({dataset.attrs['algorithm']}), d = {d_show}")
    esc = np.where(dataset["escaped"].values, dataset["escape_time"].values, np.nan)
    seed_pred = dataset["predicted_escape_time_seed"].values
    plot_escape_per_seed(axes[0, -1], np.where(seed_pred > 0, seed_pred, np.nan), esc,
                         horizon=float(np.max(dataset["horizon"].values)))
    axes[0, -1].set_title("each seed: measured vs its own prediction", fontsize=9)
    if several:
        arrays = escape_arrays(summary, ds_values)
        plot_escape_times_vs_d(axes[0, 1], np.array(ds_values), arrays["medians"], arrays["ci95"],
                               arrays["quantiles"], escape_times=esc, slopes=summary.get("escape_time_slopes"),
                               censored=arrays["censored"])
    fig.tight_layout()
    atomic_savefig(fig, path)


FLOW = RunCommand(
    "flow", FlowConfig, Deferred("mimflow.studies.flow._run:run_flow"), vmapped_fields=frozenset({"d", "seeds"}), positional=("link",),
    plot=plot_flow,
)
