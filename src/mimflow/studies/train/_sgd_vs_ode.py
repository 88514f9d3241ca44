r"""The finite-d deviation of online SGD from the population ODE: the study ``sgd_vs_ode`` and the
reproduction ``sgd-vs-ode`` (issue 6, section 5; ``sample-complexity`` is in :mod:`._sample_complexity`).

**Time mapping** (the one of :func:`mimflow.training.train_online`): step ``n`` of online SGD with
learning rate :math:`\eta` and batch ``B`` sits at time :math:`t = n\eta`, the time of the population
gradient flow of docs/math/grassmannian-flow.md §1.4, docs/math/planted.md §1.7, docs/math/neurons.md §2.2 (loss with the factor 1/2, unit rate). The population flow is
the :math:`\eta \to 0` limit at fixed ``t``.

1. Finite-d deviation from the ODE (``sgd_vs_ode``)
----------------------------------------------------
Single-index planted learning on the sphere (``r = p = 1``, link fixed to :math:`f`), per-sample loss
:math:`\tfrac12(f(\lambda) - y)^2`, :math:`\lambda = w^Tx`, :math:`\nu = w_*^Tx`, :math:`y = f(\nu) + \sigma\xi`,
:math:`e = (f(\lambda) - y)f'(\lambda)`. One step :math:`\tilde w = w - \eta e(x - \lambda w)`,
:math:`w' = \tilde w/|\tilde w|`, :math:`|\tilde w|^2 = 1 + \eta^2 e^2(|x|^2 - \lambda^2)`, so with
:math:`\eta = \eta_0/d` and :math:`|x|^2 = d + O(\sqrt d)`, the overlap :math:`m = w_*^Tw` moves by

.. math::

    \Delta m = \eta\,[v(m) + \text{martingale}] - \tfrac{\eta_0\eta}{2}\,C(m)\,m + O(d^{-2}),\qquad
    v(m) = (1 - m^2)\sum_k k c_k^2 m^{k-1},\quad C(m) = \mathbb{E}[e^2],

and as :math:`d \to \infty` at fixed :math:`\eta_0` the overlap converges (in ``t = n\eta``) to the
solution of the **corrected ODE** :math:`\dot m = v(m) - \tfrac{\eta_0}{2B}C(m)\,m` (batch ``B``; the
first-order noise correction stated in :mod:`mimflow.training`), not to the population flow
:math:`\dot m = v(m)`, which is its :math:`\eta_0 \to 0` limit. The martingale part has variance
:math:`\eta^2\mathrm{Var}(e\nu) = O(\eta_0^2/d^2)` per step, i.e. :math:`O(\eta_0/d)` per unit of
``t``: the fluctuation of :math:`m(t)` about the corrected ODE is a Gaussian process of size
:math:`\sqrt{\eta_0/d}`, and the bias from the neglected terms is :math:`O(1/d)`. Hence

.. math::  \Big(\mathbb{E}\max_{t\le T}|m_{SGD}(t) - m_{ODE,\eta_0}(t)|^2\Big)^{1/2} \propto d^{-1/2},

while the deviation from the :math:`\eta_0 \to 0` flow tends to the constant
:math:`\max_t|m_{ODE,\eta_0} - m_{ODE,0}| = O(\eta_0)`. Both ODEs start from each seed's own
:math:`m(0)` (so the initial condition is not part of the deviation). :math:`C(m)` is computed
(:func:`mimflow.training.online_limit_coefficients`) by
two-dimensional Gauss-Hermite quadrature (:math:`\lambda = z_1`, :math:`\nu = m z_1 + \sqrt{1-m^2}z_2`),
exact for polynomial links; no training engine is used for the reference.

The default link :math:`f = h_1 + h_2` has information exponent 1 (planted: no saddle, docs/math/saddles.md §1.6
table, :math:`v(0) = c_1^2 > 0`), so every seed follows an ``O(1)`` path from :math:`m(0) \approx \pm d^{-1/2}`
to :math:`m = 1` and the comparison covers the whole path.

Claims (``claims.json``, docs/math/statistics.md §8.5): the deviation slope is -1/2 (section 1; SE from
the weighted fit of the per-``d`` RMS deviations, whose SEs come from the seeds); the samples of each
rigorous row scale with the exponent of the population prediction over the same ``d`` (section 2).

References: docs/math/saddles.md §1.6, docs/math/planted.md §1.7, docs/math/finite-sample.md §1.8-1.9,
docs/math/neurons.md §2.2, docs/math/online-sgd.md §6.3; Ben Arous, Gheissari, Jagannath, "Online stochastic gradient
descent on non-convex losses from high-dimensional inference", JMLR 2021 (``n \sim d^{s-1}``).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import xarray as xr

from mimflow._errors import MimflowError
from mimflow.plotting import new_figure, plot_deviation_vs_d, plot_sgd_vs_ode
from mimflow.runs import atomic_savefig, atomic_write_dataset, atomic_write_json, check_claim, write_claims
from mimflow.studies.train._sample_complexity import BAGJ, build_algorithm_cached
from mimflow.targets import make_link
from mimflow.training import Scaling, online_limit_coefficients, solve_single_index_ode, train_online

DEVIATION_LINK = "z + h2(z)"


def weighted_loglog_slope(ds, values, stderr) -> tuple[float, float]:
    """Weighted least-squares slope of ``log values`` on ``log d`` and its standard error.

    ``stderr`` are standard errors of ``values``; the log has SE ``stderr / values``.
    """
    x = np.log(np.asarray(ds, dtype=float))
    y = np.log(np.asarray(values, dtype=float))
    s = np.asarray(stderr, dtype=float) / np.asarray(values, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(s) & (s > 0)
    x, y, s = x[keep], y[keep], s[keep]
    if len(x) < 2:
        return float("nan"), float("nan")
    wts = 1.0 / s**2
    xm = np.sum(wts * x) / np.sum(wts)
    ym = np.sum(wts * y) / np.sum(wts)
    sxx = np.sum(wts * (x - xm) ** 2)
    slope = float(np.sum(wts * (x - xm) * (y - ym)) / sxx)
    return slope, float(1.0 / math.sqrt(sxx))


def sgd_vs_ode(
    *,
    link: str = DEVIATION_LINK,
    ds=(300, 1000, 3000, 10000),
    seeds: int = 64,
    eta0: float = 0.1,
    t_max: float = 2.0,
    n_save: int = 60,
    engine: str = "reduced",
    noise: float = 0.0,
    key=None,
    progress=None,
) -> dict:
    r"""Online planted SGD at several ``d`` against the population ODE (module docstring, section 1).

    ``lr = eta0 / d``, one sample per step, ``steps = t_max d / eta0``, saved on a linear grid of
    ``n_save`` points. Per ``d``: the overlaps ``m`` (S, T), the :math:`\eta \to 0` flow and the corrected
    ODE from each seed's ``m(0)``, the per-seed max deviations from both, their RMS over seeds and its
    standard error (delta method on the mean of squares), and the weighted log-log slope of the RMS
    deviation from the corrected ODE against ``d`` (expected ``-1/2``).
    """
    spec = make_link(link)
    if spec.r != 1:
        raise MimflowError(f"sgd_vs_ode needs a one-variable link, got {link!r} with r = {spec.r}")
    coeffs = spec.spectrum(12).coefficients
    v, C = online_limit_coefficients(coeffs, loss="planted", noise=noise)
    algo = build_algorithm_cached("planted", link, float(noise))
    out = {"link": link, "algorithm": "planted", "eta0": eta0, "lr": "eta0/d", "batch": 1, "t_max": t_max,
           "seeds": seeds, "engine": engine, "time_mapping": "t = step * eta, eta = eta0/d",
           "d": [int(d) for d in ds], "t": None, "m": [], "m_flow": [], "m_corrected": [],
           "rms_dev_flow": [], "rms_dev_flow_se": [], "rms_dev_corrected": [], "rms_dev_corrected_se": [],
           "seconds": []}
    for i, d in enumerate(ds):
        d = int(d)
        steps = int(round(t_max * d / eta0))
        start = time.perf_counter()
        traj = train_online(algo, d=d, steps=steps, lr=Scaling(eta0, 1.0), batch=1, seeds=seeds, engine=engine,
                            n_save=n_save, save_grid="linear", key=key)
        out["seconds"].append(time.perf_counter() - start)
        t = np.asarray(traj.t)
        m = np.asarray(traj.M)[:, :, 0, 0]
        eta_d = float(traj.info.get("lr", eta0 / d)) * d
        flow = solve_single_index_ode(v, m[:, 0], t)
        corrected = solve_single_index_ode(lambda y: v(y) - 0.5 * eta_d * C(y) * y, m[:, 0], t)
        for name, ref in (("flow", flow), ("corrected", corrected)):
            dev2 = np.max(np.abs(m - ref), axis=1) ** 2
            rms = math.sqrt(dev2.mean())
            se = dev2.std(ddof=1) / math.sqrt(len(dev2)) / (2.0 * rms)
            out[f"rms_dev_{name}"].append(rms)
            out[f"rms_dev_{name}_se"].append(se)
        out["t"] = t
        out["m"].append(m)
        out["m_flow"].append(flow)
        out["m_corrected"].append(corrected)
        if progress is not None:
            progress((i + 1) / len(ds))
    slope, slope_se = weighted_loglog_slope(ds, out["rms_dev_corrected"], out["rms_dev_corrected_se"])
    slope_flow, slope_flow_se = weighted_loglog_slope(ds, out["rms_dev_flow"], out["rms_dev_flow_se"])
    out.update(slope=slope, slope_se=slope_se, slope_predicted=-0.5, slope_vs_flow=slope_flow,
               slope_vs_flow_se=slope_flow_se)
    return out




def _sgd_vs_ode_dataset(res: dict):
    data = {
        "m": (("d", "seed", "t"), np.asarray(res["m"])),
        "m_flow": (("d", "seed", "t"), np.asarray(res["m_flow"])),
        "m_corrected": (("d", "seed", "t"), np.asarray(res["m_corrected"])),
        "rms_dev_corrected": (("d",), np.asarray(res["rms_dev_corrected"])),
        "rms_dev_corrected_se": (("d",), np.asarray(res["rms_dev_corrected_se"])),
        "rms_dev_flow": (("d",), np.asarray(res["rms_dev_flow"])),
        "rms_dev_flow_se": (("d",), np.asarray(res["rms_dev_flow_se"])),
    }
    attrs = {k: res[k] for k in ("link", "algorithm", "eta0", "lr", "t_max", "engine", "time_mapping", "slope",
                                 "slope_se", "slope_predicted")}
    return xr.Dataset(data, coords={"d": res["d"], "seed": np.arange(res["seeds"]), "t": np.asarray(res["t"])},
                      attrs=attrs)


def sgd_vs_ode_reproduction(out_dir: Path, *, quick: bool = False) -> list[Path]:
    """Figure ``sgd_vs_ode.png``, data ``sgd_vs_ode.nc`` and ``sgd_vs_ode.json`` (module docstring, section 1)."""
    ds = (100, 400) if quick else (400, 1600, 6400, 25600)
    res = sgd_vs_ode(ds=ds, seeds=32 if quick else 128, eta0=0.1, t_max=1.5 if quick else 2.0,
                     n_save=30 if quick else 80)
    fig, axes = new_figure(2, 1, width=4.4, height=3.4)
    show = [0, len(ds) - 1]
    plot_sgd_vs_ode(axes[0, 0], res["t"], [res["m"][i] for i in show], [res["m_corrected"][i] for i in show],
                    [ds[i] for i in show], flow=[res["m_flow"][i] for i in show])
    axes[0, 0].set_title(f"planted online SGD, f = {res['link']}, $\\eta = {res['eta0']}/d$")
    plot_deviation_vs_d(axes[0, 1], ds, res["rms_dev_corrected"], res["rms_dev_corrected_se"], slope=res["slope"],
                        slope_se=res["slope_se"], rms_flow=res["rms_dev_flow"], se_flow=res["rms_dev_flow_se"])
    axes[0, 1].set_title(f"finite-d deviation ({res['seeds']} seeds per d)")
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = atomic_savefig(fig, out_dir / "sgd_vs_ode.png")
    data = atomic_write_dataset(_sgd_vs_ode_dataset(res), out_dir / "sgd_vs_ode.nc")
    claims = sgd_vs_ode_claims(res)
    summary = {k: v for k, v in res.items() if k not in ("m", "m_flow", "m_corrected", "t")}
    summary["claims"] = [c.to_json() for c in claims]
    summary["warnings"] = [f"only {res['seeds']} seeds per d (< 8)"] if res["seeds"] < 8 else []
    summary["files"] = [str(figure), str(data)]
    js = atomic_write_json(out_dir / "sgd_vs_ode.json", summary)
    return [figure, data, js, write_claims(out_dir, claims)]


def sgd_vs_ode_claims(res: dict) -> list:
    """The deviation of online SGD from the corrected ODE shrinks like d^(-1/2) (module docstring, section 1)."""
    return [check_claim(
        f"planted online SGD (f = {res['link']}, eta = {res['eta0']}/d): max_t |m_SGD - m_ODE| about the corrected "
        "ODE is a fluctuation of size sqrt(eta0/d), so its RMS over seeds scales like d^(-1/2)",
        f"docs/math/online-sgd.md §6.3 (diffusion limit); {BAGJ}",
        f"log-log slope of the RMS deviation over d = {res['d']}", predicted=res["slope_predicted"],
        measured=res["slope"], se=res["slope_se"],
        note=f"weighted least squares of log RMS on log d, per-d SE by the delta method over {res['seeds']} seeds")]


def reproduce_sgd_vs_ode(out_dir: Path, quick: bool) -> list[Path]:
    return sgd_vs_ode_reproduction(out_dir, quick=quick)
