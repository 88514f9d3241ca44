r"""``mimflow dmft``: the DMFT of full-batch GD after a spectral (or random/warm) start, docs/math/dmft.md §3.

One run solves the discrete-time DMFT (:func:`mimflow.proportional.solve_dmft`) for ``steps`` GD steps,
the long-time fixed point (docs/math/dmft.md §3.4) and, with ``--simulate D``, finite-``d`` GD for ``--seeds``
seeds beside it. User-facing convention (issue 7): ``a_i ~ N(0, I_d)``, ``||w*|| = 1``,
``y = f(a^T w*) + noise * eps``, loss ``(1/n) sum_i l(a_i^T w; y_i) + (ridge/2)||w||^2``, step ``lr``;
the DMFT works internally with ``eta = lr/alpha`` and ``lambda = alpha ridge`` (docs/math/dmft.md §3.2).

``--json`` prints ``t``, ``overlap``, ``norm2``, ``train_error``, ``test_error`` (and ``*_se``, their
Monte Carlo standard errors), ``simulated_*`` (seed means and standard errors) with ``--simulate``,
``fixed_point`` ``{"overlap", "norm2", "chi"}`` (``null`` when the stationary equations have no
root near the truth), ``long_time`` (per observable the limit extrapolated from the fitted exponential
convergence, its rate per step, the drift over the last steps, each with its s.e., and
``z_vs_fixed_point``; :mod:`mimflow.proportional._dmft_convergence`), ``converged`` and ``warnings``
(also on stderr; e.g. a trajectory that has not settled by its last step).

``--init random`` starts the DMFT at overlap exactly 0 (the ``d -> infinity`` limit of a random start,
from which GD on an even link such as phase retrieval never escapes in O(1) steps); finite-``d`` runs
start at overlap ~ ``d^{-1/2}`` and escape after ~ ``log d`` steps. Use ``warm:M`` to compare transients.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from mimflow._errors import MimflowError
from mimflow.proportional import make_problem, simulate_gd, solve_dmft, solve_fixed_point
from mimflow.runs import RunResult, check_finite_result

if TYPE_CHECKING:  # annotations only: the command module names this one (a Deferred), not the reverse
    from mimflow.studies.dmft._command import DMFTConfig

OBSERVABLES = ("overlap", "norm2", "train_error", "test_error")


def _problem(config: DMFTConfig):
    return make_problem(config.link, alpha=config.alpha, lr=config.lr, ridge=config.ridge, loss=config.loss,
                        noise=config.noise, init=config.init, init_norm=config.init_norm,
                        preprocess=config.preprocess, clip=config.clip)


def run_dmft(config: DMFTConfig, *, progress=None) -> RunResult:


    start = time.perf_counter()
    if config.paths % config.batches:
        raise MimflowError(f"paths = {config.paths} must be a multiple of batches = {config.batches}")
    problem = _problem(config)
    share = 0.7 if config.simulate else 1.0

    def dmft_progress(x):
        if progress is not None:
            progress(share * x)

    sol = solve_dmft(problem, config.steps, paths=config.paths, batches=config.batches, seed=config.seed,
                     power_steps=config.power_steps, progress=dmft_progress)
    fixed = None
    for start_point in ((1.0, 1.0), (float(sol.overlap[-1]), float(sol.norm2[-1]))):
        try:
            fp = solve_fixed_point(problem, start=start_point)
        except MimflowError:
            continue
        fixed = {"overlap": fp.overlap, "norm2": fp.norm2, "chi": fp.chi, "test_error": fp.test_error,
                 "train_error": fp.train_error}
        break
    t = np.arange(config.steps + 1)
    data = {}
    for name in OBSERVABLES:
        data[name] = (("t",), getattr(sol, name))
        data[name + "_se"] = (("t",), getattr(sol, name + "_se"))
    coords = {"t": t}
    sim = None
    if config.simulate:
        def sim_progress(x):
            if progress is not None:
                progress(share + (1 - share) * x)

        sim = simulate_gd(problem, config.simulate, config.steps, range(config.seeds), progress=sim_progress)
        for name in OBSERVABLES:
            data["simulated_" + name] = (("seed", "t"), getattr(sim, name))
        coords["seed"] = np.arange(config.seeds)
    attrs = {"link": problem.link.name, "loss": problem.loss.name, "alpha": config.alpha, "lr": config.lr,
             "ridge": config.ridge, "noise": config.noise, "init": config.init,
             "preprocess": problem.preprocessing.name if problem.preprocessing is not None else "none",
             "paths": config.paths, "batches": config.batches, "power_steps": sol.power_steps,
             "power_residual": sol.power_residual, "shift": sol.shift,
             "fixed_point_overlap": fixed["overlap"] if fixed else -1.0,
             "fixed_point_norm2": fixed["norm2"] if fixed else -1.0,
             "simulated_d": config.simulate or 0,
             "long_time_overlap": sol.long_time["overlap"].value, "long_time_norm2": sol.long_time["norm2"].value,
             "convention": "a ~ N(0, I_d), ||w*|| = 1; internal eta = lr/alpha, lambda = alpha ridge (docs/math/dmft.md §3.2)"}
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    check_finite_result("dmft", ds)
    summary = {"t": t.tolist()}
    for name in OBSERVABLES:
        summary[name] = getattr(sol, name).tolist()
        summary[name + "_se"] = getattr(sol, name + "_se").tolist()
    if sim is not None:
        for name in OBSERVABLES:
            mean, se = sim.mean_and_se(name)
            summary["simulated_" + name] = mean.tolist()
            summary["simulated_" + name + "_se"] = [None if not np.isfinite(x) else float(x) for x in se]
        summary["simulated_d"] = config.simulate
        summary["simulated_seeds"] = config.seeds
    summary["fixed_point"] = fixed
    long_time, warnings = _long_time_summary(sol, fixed)
    summary["long_time"] = long_time
    summary["converged"] = long_time["converged"]
    summary["warnings"] = warnings
    for message in warnings:
        print(f"warning: {message}", file=sys.stderr)
    summary["power_steps"] = sol.power_steps
    summary["paths"] = config.paths
    scalars = {"final_overlap": float(sol.overlap[-1]), "final_norm2": float(sol.norm2[-1]),
               "final_test_error": float(sol.test_error[-1]), "power_steps": sol.power_steps,
               "fixed_point_overlap": fixed["overlap"] if fixed else -1.0,
               "wall_seconds": time.perf_counter() - start}
    return RunResult(ds, scalars=scalars, summary=summary)


def _long_time_summary(sol, fixed) -> tuple[dict, list[str]]:
    """``long_time`` (per observable: the extrapolated limit, rate, drift, settled) beside the fixed
    point, ``z = (long_time - fixed_point) / se``, and the warnings (docs/math/dmft.md §3.4)."""
    out: dict = {"tti_defect": None if not np.isfinite(sol.tti_defect) else sol.tti_defect}
    warnings = []
    for name in ("overlap", "norm2"):
        lt = sol.long_time[name]
        entry = lt.to_json()
        if fixed is not None:
            se = max(lt.value_se, 1e-300)
            entry["fixed_point"] = fixed[name]
            entry["z_vs_fixed_point"] = (lt.value - fixed[name]) / se
        out[name] = entry
        if not lt.converged:
            warnings.append(f"the DMFT {name} has not settled by step {len(sol.overlap) - 1}: last {lt.last:.6g} +- "
                            f"{lt.last_se:.2g}, extrapolated limit {lt.value:.6g} +- {lt.value_se:.2g} "
                            f"(rate {lt.rate if lt.rate is not None else float('nan'):.3g}/step): raise --steps")
    out["converged"] = bool(all(sol.long_time[n].converged for n in ("overlap", "norm2")))
    return out, warnings
