"""Reproduction ``dmft-wirtinger``: regularised Wirtinger flow for real phase retrieval from the spectral
start, DMFT vs finite-d GD, with the independent-start control (docs/math/dmft.md §3.3-3.4).

The control solves the DMFT from an *independent* warm start with the same initial overlap and norm
as the spectral start: docs/math/dmft.md §3.3 records that it gets the transient wrong, because the
spectral estimate is correlated with the data. The figure shows both DMFT curves (with +- 2 s.e.
bands), the finite-d seed means, the fixed point and the extrapolated long-time limit.

Claims (``claims.json``, and ``claims`` in ``dmft_wirtinger.json``), after Chen and Shen 2025
(arXiv:2509.23527, abstract; our reconstruction in docs/math/dmft.md §3):

1. the DMFT with the power-iteration prefix predicts finite-``d`` GD from the spectral start: overlap
   and squared norm at the step ``t*`` where the control departs most from the spectral DMFT (chosen
   on the two DMFT curves, not on the simulation), 95 % interval of ``GD - DMFT`` from both standard
   errors, the ``O(1/d)`` finite-``d`` bias not modelled;
2. an independent start with the same ``(m0, q0)`` does *not* describe it: the 95 % interval of
   ``GD - control`` at ``t*`` excludes 0 (one-sided claim);
3. the DMFT converges to its fixed point (docs/math/dmft.md §3.4): the long-time limit extrapolated
   from the fitted exponential convergence (:mod:`mimflow.proportional._dmft_convergence`) equals the
   solution of the stationary equations within its 95 % interval (overlap and squared norm).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import stats

from mimflow.plotting import plot_dmft_trajectories
from mimflow.runs import (ClaimCheck, atomic_savefig, atomic_write_dataset, atomic_write_json, check_claim, welch_dof,
                          write_claims)
from mimflow.studies.dmft._command import DMFTConfig
from mimflow.studies.dmft._run import run_dmft

PAPER = "Chen and Shen 2025 (arXiv:2509.23527), abstract; docs/math/dmft.md §3.3"
PAPER_LONG = "Chen and Shen 2025 (arXiv:2509.23527), abstract (long-time fixed points); docs/math/dmft.md §3.4"


def _max_z(a, a_se, b, b_se) -> float:
    return float(np.max(np.abs(a - b) / np.sqrt(a_se**2 + b_se**2 + 1e-300)))


def _claims(ds, control, summary, t_star: int, batches: int) -> list[ClaimCheck]:
    d, seeds = int(ds.attrs["simulated_d"]), ds.sizes["seed"]
    claims = []
    for name in ("overlap", "norm2"):
        sims = ds["simulated_" + name].values[:, t_star]
        sim, sim_se = float(sims.mean()), float(sims.std(ddof=1) / np.sqrt(sims.size))
        dm, dm_se = float(ds[name].values[t_star]), float(ds[name + "_se"].values[t_star])
        se = float(np.hypot(sim_se, dm_se))
        claims.append(check_claim(
            f"the DMFT with the power-iteration prefix predicts GD from the spectral start ({name})", PAPER,
            f"GD {name} at step {t_star} (d = {d}, {seeds} seeds) minus the DMFT's", predicted=0.0,
            measured=sim - dm, se=se, family=2, dof=welch_dof((sim_se, seeds - 1), (dm_se, batches - 1)),
            note="interval from the seed s.e. and the DMFT Monte Carlo s.e.; finite-d bias O(1/d) not modelled",
            details={"gd": sim, "gd_se": sim_se, "dmft": dm, "dmft_se": dm_se,
                     "max_abs_z_all_steps": summary[f"max_z_spectral_{name}"]}))
        ct, ct_se = float(control[name].values[t_star]), float(control[name + "_se"].values[t_star])
        gap, gap_se = sim - ct, float(np.hypot(sim_se, ct_se))
        q95 = float(stats.t.ppf(0.975, welch_dof((sim_se, seeds - 1), (ct_se, batches - 1))))
        lo, hi = gap - q95 * gap_se, gap + q95 * gap_se
        claims.append(ClaimCheck(
            f"an independent start with the same (m0, q0) does not describe GD from the spectral start ({name})",
            PAPER, f"GD {name} at step {t_star} minus the independent-start DMFT's (one-sided: holds when the "
            "interval excludes 0)", 0.0, gap, (lo, hi), bool(lo > 0 or hi < 0),
            note="the spectral estimate is correlated with the data; t* = argmax |control - spectral DMFT|; "
                 "interval: Student t, Welch-Satterthwaite degrees of freedom",
            details={"control": ct, "control_se": ct_se, "max_abs_z_all_steps": summary[f"max_z_control_{name}"]}))
    fixed, lt = summary["fixed_point"], summary["long_time"]
    for name in ("overlap", "norm2"):
        entry = lt[name]
        claims.append(check_claim(
            f"the DMFT converges exponentially to its fixed point ({name})", PAPER_LONG,
            f"long-time DMFT {name} (extrapolated from the fitted rate) vs the stationary equations",
            predicted=None if fixed is None else fixed[name], measured=entry["value"], se=entry["value_se"],
            family=2, dof=batches - 1,
            note=f"rate {entry['rate']} per step, last step {entry['last']:.6g} +- {entry['last_se']:.2g}, "
                 f"settled: {entry['converged']}", details=entry))
    return claims


def reproduce_dmft_wirtinger(out_dir: Path, quick: bool) -> list[Path]:
    base = dict(link="z**2", alpha=4.0, lr=0.1, ridge=0.01, steps=200,
                paths=10000 if quick else 100000, simulate=1000 if quick else 4000, seeds=8)
    spectral = run_dmft(DMFTConfig(init="spectral", **base))
    m0 = float(spectral.summary["overlap"][0])
    q0 = float(spectral.summary["norm2"][0])
    control = run_dmft(DMFTConfig(init=f"warm:{m0:.12f}", init_norm=float(np.sqrt(q0)),
                                  **{**base, "simulate": None}))
    ds = spectral.dataset
    table = {"config": base, "initial_overlap": m0, "fixed_point": spectral.summary["fixed_point"],
             "long_time": spectral.summary["long_time"], "warnings": spectral.summary["warnings"]}
    for name in ("overlap", "norm2", "test_error"):
        sim = ds["simulated_" + name].values
        sim_mean, sim_se = sim.mean(axis=0), sim.std(axis=0, ddof=1) / np.sqrt(sim.shape[0])
        table[f"max_z_spectral_{name}"] = _max_z(ds[name].values, ds[name + "_se"].values, sim_mean, sim_se)
        table[f"max_z_control_{name}"] = _max_z(control.dataset[name].values, control.dataset[name + "_se"].values,
                                                sim_mean, sim_se)
    gap = np.abs(control.dataset["norm2"].values - ds["norm2"].values)
    t_star = int(np.argmax(gap[1:]) + 1)
    claims = _claims(ds, control.dataset, {**table, "fixed_point": spectral.summary["fixed_point"]}, t_star,
                     DMFTConfig(**base).batches)
    table["t_star"] = t_star
    table["claims"] = [c.to_json() for c in claims]
    fig = plot_dmft_trajectories(ds, extra=[("DMFT, independent warm start (control)", control.dataset)],
                                 title="Wirtinger flow, real phase retrieval, alpha = 4: spectral start")
    paths = [atomic_savefig(fig, out_dir / "dmft_wirtinger.png"),
             atomic_write_dataset(ds, out_dir / "dmft_wirtinger.nc"),
             atomic_write_dataset(control.dataset, out_dir / "dmft_wirtinger_control.nc"),
             atomic_write_json(out_dir / "dmft_wirtinger.json", table),
             write_claims(out_dir, claims)]
    return paths
