r"""Reproduction ``algorithms-vs-limits``: real phase retrieval, the limits beside the algorithms (docs/math/amp.md).

One axis, squared overlap :math:`\langle\hat w, w^*\rangle^2/(\|\hat w\|^2\|w^*\|^2)` against ``alpha = n/d`` for
``y = z**2`` with a Gaussian prior:

* Bayes-optimal (replica free entropy on the state-evolution fixed points) and AMP from an uninformed
  start (:mod:`mimflow.amp`; for the Bayes-optimal posterior mean the squared cosine equals ``q``);
* the optimal spectral method (Lu-Li with ``T = 1 - 1/y``, :func:`mimflow.theory.spectral_prediction`);
* gradient descent (regularised Wirtinger flow, ridge 0.01) from the spectral start: the long-time DMFT
  fixed point (:func:`mimflow.proportional.solve_fixed_point`) searched from starts near the truth, i.e.
  the limit of GD when the spectral start lands in the benign region (docs/math/dmft.md §3.4), squared
  cosine ``m^2/q``; where the root search fails or lands on an invalid point (``q`` not in ``(0, 10)``,
  ``1 + chi l'' <= 0``) the figure says so. Each solve takes seconds, so the quick mode does ``alpha = 4`` only;
* GAMP on finite samples at one ``alpha`` beside its state evolution;
* ``alpha_WR``, ``alpha_IT``, ``alpha_alg`` marked.

Claims (``claims.json``): ``alpha_WR = 1/2`` (Mondelli-Montanari 2019; Barbier et al. 2019) for the
Gaussian and the Rademacher prior, with the Richardson tolerance as the interval; ``alpha_IT = 1`` and
``alpha_alg ~ 1.13`` (Barbier et al. 2019); the optimal spectral threshold equals ``alpha_WR``; every
method gives overlap 0 below ``alpha_WR``; GAMP at ``d`` of a few thousand within its 95 % interval of the
state evolution (``z**2`` at ``alpha = 2`` mid-transient, ``sign`` at ``alpha = 1`` at its fixed point; the
``z**2`` trajectory at ``alpha = 1`` is drawn, with its z-scores in the JSON, but finite-``d`` runs stall there); the sign channel with a Gaussian prior has ``alpha_WR = 0`` and small-``alpha`` slope
``q/alpha -> 2/pi``, and its Bayes generalisation error ``arccos(sqrt(q))/pi ~ 0.442/alpha`` at large
``alpha`` (Opper and Haussler 1991).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from mimflow._errors import MimflowError
from mimflow.amp import compute_thresholds, make_state_evolution, run_gamp
from mimflow.plotting import new_figure, plot_gamp_vs_state_evolution, plot_limits_vs_alpha
from mimflow.proportional import make_problem, solve_fixed_point
from mimflow.runs import atomic_savefig, atomic_write_json, check_claim, write_claims
from mimflow.theory import spectral_prediction, weak_recovery_threshold

BARBIER = ("Barbier, Krzakala, Macris, Miolane, Zdeborova, 'Optimal errors and phase transitions in "
           "high-dimensional generalized linear models', PNAS 116 (2019) 5451")
MONDELLI = "Mondelli and Montanari, 'Fundamental limits of weak recovery with applications to phase retrieval', FoCM 19 (2019) 703"


def _gd_fixed_point(alpha: float) -> tuple[float | None, str]:
    """Squared cosine ``m^2/q`` of the DMFT fixed point of Wirtinger flow from the spectral start, or a reason."""
    problem = make_problem("z**2", alpha=alpha, lr=0.1, ridge=0.01, init="spectral", preprocess="optimal")
    why = "no root"
    for start in ((1.0, 1.0), (0.9, 1.0)):  # the fixed point near the truth (the benign region's)
        try:
            fp = solve_fixed_point(problem, start=start)
        except MimflowError:
            continue
        if fp.converged and math.isfinite(fp.norm2) and 0 < fp.norm2 < 10:
            return fp.overlap**2 / fp.norm2, "ok"
        why = "invalid root"
    return None, why


def reproduce_algorithms_vs_limits(out_dir: Path, quick: bool) -> list[Path]:
    start = time.perf_counter()
    se = make_state_evolution("z**2", "gaussian")
    th = compute_thresholds(se)
    jumps = [a for a in (th.alpha_information_theoretic, th.alpha_algorithmic) if a]
    # both sides of each jump, outside the bisection tolerance (1e-5 relative), so the jumps are drawn vertical
    grid = np.unique(np.concatenate([np.geomspace(0.2, 4.0, 48), [0.5], [a * (1 + s * 3e-5) for a in jumps for s in (-1, 1)]]))
    points = [se.solve(a, refine=False) for a in grid]
    bayes = np.array([p.bayes_overlap for p in points])
    amp = np.array([p.amp_overlap for p in points])
    spectral = spectral_prediction("z**2", "optimal", grid).overlap2
    if quick:  # bracket the Lu-Li threshold of T = 1 - 1/y: no outlier just below 1/2, an outlier just above
        lo, hi = 0.5 * (1 - 1e-4), 0.5 * (1 + 1e-4)
        bracket = spectral_prediction("z**2", "optimal", [lo, hi]).overlap2
        spectral_ci = (lo, hi) if bracket[0] == 0 and bracket[1] > 0 else (math.nan, math.nan)
        spectral_wr, spectral_note = 0.5 * (lo + hi), "interval: Lu-Li overlap 0 at its lower end, > 0 at its upper end"
    else:  # bisection (rtol 1e-10); the interval adds the change under a twice finer quadrature
        spectral_wr = weak_recovery_threshold("z**2", "optimal", rtol=1e-10)
        err = 2 * abs(weak_recovery_threshold("z**2", "optimal", rtol=1e-10, refine=2) - spectral_wr) + 1e-10
        spectral_ci, spectral_note = (spectral_wr - err, spectral_wr + err), "interval: twice the change under refine=2"
    gd_alphas = [4.0] if quick else [1.5, 2.0, 2.5, 3.0, 4.0]
    gd = [_gd_fixed_point(a) for a in gd_alphas]
    gd_values = np.array([np.nan if v is None else v for v, _ in gd])
    failed = [f"{a:g} ({why})" for a, (v, why) in zip(gd_alphas, gd) if v is None]
    # a root below the spectral start's own overlap is not what GD from that start reaches in the benign
    # region (docs/math/dmft.md §3.4); without the DMFT trajectory we cannot say which root GD picks: drawn open
    gd_start = spectral_prediction("z**2", "optimal", gd_alphas).overlap2
    doubtful = np.isfinite(gd_values) & (gd_values < gd_start)
    gd = [(v, "below the spectral start: doubtful" if bad else why) for (v, why), bad in zip(gd, doubtful)]

    # GAMP on samples beside its state evolution
    d, seeds, steps, q0, alpha_gamp = (2000, 8, 30, 0.1, 1.0) if quick else (4000, 16, 30, 0.1, 1.0)
    run = run_gamp("z**2", alpha_gamp, d, list(range(seeds)), steps=steps, q0=q0)
    g_mean, g_se = run.mean_and_se("overlap")
    se_traj = se.trajectory(alpha_gamp, q0, steps)
    z_scores = (g_mean[1:] - se_traj[1:]) / g_se[1:]
    # alpha = 2 (perfect-recovery phase): the transient, checked mid-rise (t = 4). At alpha = 1 (slow growth
    # towards a partial-recovery point) single runs at d = 2000 stall at scattered overlaps: shown, not claimed
    alpha_fast, t_mid = 2.0, 4
    run_fast = run_gamp("z**2", alpha_fast, d, list(range(1000, 1000 + seeds)), steps=steps, q0=q0)  # other seeds
    f_mean, f_se = run_fast.mean_and_se("overlap")
    se_fast = se.trajectory(alpha_fast, q0, steps)
    # the sign channel (Gaussian prior) at alpha = 1: GAMP's fixed point against the state evolution's
    se_sign = make_state_evolution("sign", "gaussian")
    run_sign = run_gamp("sign", 1.0, d, list(range(2000, 2000 + seeds)), steps=15, q0=0.05)
    s_mean, s_se = run_sign.mean_and_se("overlap")
    se_sign_traj = se_sign.trajectory(1.0, 0.05, 15)

    # sign channel, Gaussian prior: no weak-recovery threshold, MSE limits
    th_sign = compute_thresholds(se_sign, n_scan=21)
    small = 1e-3
    slope_small = se_sign.solve(small).bayes_overlap / small
    slope_small2 = se_sign.solve(small / 2).bayes_overlap / (small / 2)
    eps = {a: math.acos(math.sqrt(se_sign.solve(a).bayes_overlap)) / math.pi for a in (100.0, 200.0)}
    c100, c200 = 100.0 * eps[100.0], 200.0 * eps[200.0]
    c_inf = 2 * c200 - c100  # Richardson in 1/alpha
    se_rad = make_state_evolution("z**2", "rademacher")
    th_rad = compute_thresholds(se_rad, n_scan=41)

    below = 0.4
    below_point = se.solve(below)
    below_spectral = float(spectral_prediction("z**2", "optimal", [below]).overlap2[0])
    claims = [
        check_claim("the weak-recovery threshold of noiseless real phase retrieval (Gaussian prior) is 1/2",
                    f"{MONDELLI}; {BARBIER}", "alpha_WR (linear stability of q = 0 in the state evolution)",
                    predicted=0.5, measured=th.alpha_weak_recovery,
                    ci95=(th.alpha_weak_recovery - th.alpha_weak_recovery_tolerance,
                          th.alpha_weak_recovery + th.alpha_weak_recovery_tolerance),
                    note="interval: twice the Richardson and quadrature-refinement error estimates"),
        check_claim("the weak-recovery threshold of noiseless real phase retrieval with a Rademacher prior is 1/2",
                    BARBIER, "alpha_WR, Rademacher prior", predicted=0.5, measured=th_rad.alpha_weak_recovery,
                    ci95=(th_rad.alpha_weak_recovery - th_rad.alpha_weak_recovery_tolerance,
                          th_rad.alpha_weak_recovery + th_rad.alpha_weak_recovery_tolerance),
                    note="1/alpha_WR = E_y[(E[z^2|y] - 1)^2] depends on the prior only through rho = 1"),
        check_claim("the optimal spectral method weakly recovers from the same alpha as the Bayes-optimal estimator",
                    f"{MONDELLI}; Lu and Li 2017 (arXiv 1702.06435)", "Lu-Li threshold of T = 1 - 1/y",
                    predicted=th.alpha_weak_recovery, measured=spectral_wr, ci95=spectral_ci,
                    tolerance=th.alpha_weak_recovery_tolerance, note=spectral_note + "; tolerance: that of alpha_WR"),
        check_claim("below alpha_WR every method gives overlap 0", f"{MONDELLI}; {BARBIER}",
                    f"largest of the Bayes-optimal, AMP and optimal-spectral overlaps at alpha = {below}",
                    predicted=0.0, measured=max(below_point.bayes_overlap, below_point.amp_overlap, below_spectral),
                    ci95=(0.0, 1e-12), note="exact zeros: q = 0 is the only fixed point and Lu-Li has no outlier"),
        check_claim("perfect recovery becomes information-theoretically possible at alpha_IT = 1 (Gaussian prior)",
                    BARBIER, "alpha_IT", predicted=1.0, measured=th.alpha_information_theoretic,
                    ci95=(th.alpha_information_theoretic, th.alpha_information_theoretic),
                    note="exact: the free entropy of q = 1 diverges as (alpha - 1)/2 log(1/V) (docs/math/amp.md §3.3)"),
        check_claim("AMP reaches perfect recovery above alpha_alg ~ 1.13 (Gaussian prior)", BARBIER,
                    "alpha_alg (upper edge of the hard phase, bisection)", predicted=1.13,
                    measured=th.alpha_algorithmic, ci95=(th.alpha_algorithmic - th.tolerance, th.alpha_algorithmic + th.tolerance),
                    tolerance=0.005, note="tolerance 0.005: the paper quotes 3 significant digits"),
        check_claim("GAMP on finite samples reaches the fixed point of its state evolution (sign channel)",
                    "Javanmard and Montanari 2013; Rangan 2011",
                    f"GAMP overlap after 15 iterations, sign channel, Gaussian prior, alpha = 1, d = {d}, {seeds} seeds",
                    predicted=float(se_sign_traj[-1]), measured=float(s_mean[-1]), se=float(s_se[-1])),
        check_claim("GAMP on finite samples follows the transient of its state evolution", "Javanmard and Montanari 2013; Rangan 2011",
                    f"GAMP overlap at iteration {t_mid}, alpha = {alpha_fast}, d = {d}, {seeds} seeds, from q0 = {q0}",
                    predicted=float(se_fast[t_mid]), measured=float(f_mean[t_mid]), se=float(f_se[t_mid]),
                    note="mid-rise, where the trajectory is most sensitive to the dynamics"),
        check_claim("the sign channel with a Gaussian prior has no weak-recovery threshold (alpha_WR = 0)", BARBIER,
                    "alpha_WR; q = 0 is not a fixed point since R(0) = E[g_out^2] = 2/pi > 0", predicted=0.0,
                    measured=th_sign.alpha_weak_recovery, ci95=(0.0, 0.0),
                    details={"R(0)": se_sign.R_zero, "2/pi": 2 / math.pi}),
        check_claim("alpha -> 0: Bayes MSE -> prior variance, 1 - MSE ~ (2/pi) alpha for the sign channel", BARBIER,
                    "q/alpha at alpha = 1e-3 (sign, Gaussian prior)", predicted=2 / math.pi, measured=slope_small,
                    ci95=(slope_small - 2 * abs(slope_small - slope_small2), slope_small + 2 * abs(slope_small - slope_small2)),
                    note="q = alpha R(0) + O(alpha^2); interval: twice the change when alpha halves"),
        check_claim("alpha -> infinity: the Bayes-optimal generalisation error of the sign channel decays as 0.442/alpha",
                    "Opper and Haussler, PRL 66 (1991) 2677", "alpha * arccos(sqrt(q))/pi, Richardson from alpha = 100, 200",
                    predicted=0.442, measured=c_inf, ci95=(c_inf - abs(c_inf - c200), c_inf + abs(c_inf - c200)),
                    tolerance=0.0005, note="tolerance: the quoted 3 digits"),
    ]

    fig, axes = new_figure(2, 1, width=4.8, height=3.8)
    ax = axes[0, 0]
    curves = {"Bayes-optimal": bayes, "AMP": amp, "optimal spectral (Lu-Li)": spectral}
    plot_limits_vs_alpha(ax, grid, curves,
                         thresholds={r"$\alpha_{WR}$": th.alpha_weak_recovery, r"$\alpha_{IT}$": th.alpha_information_theoretic,
                                     r"$\alpha_{alg}$": th.alpha_algorithmic},
                         points={"alpha": [alpha_gamp, alpha_fast], "mean": [g_mean[-1], f_mean[-1]],
                                 "se": [g_se[-1], f_se[-1]], "label": f"GAMP, d = {d}, t = {steps}"},
                         notes={**({"gd": "GD fixed point failed at alpha = " + ", ".join(failed)} if failed else {}),
                                **({"doubt": "GD root below the spectral start at alpha = "
                                    + ", ".join(f"{a:g}" for a in np.array(gd_alphas)[doubtful])} if doubtful.any() else {}),
                                **({"quick": "quick mode: GD fixed point at alpha = 4 only"} if quick else {})} or None,
                         title="real phase retrieval y = z$^2$, Gaussian prior")
    ok = np.isfinite(gd_values) & ~doubtful
    ax.plot(np.array(gd_alphas)[ok], gd_values[ok], "s", color="C3", ms=5, label="GD from spectral start (DMFT fixed point)")
    if doubtful.any():
        ax.plot(np.array(gd_alphas)[doubtful], gd_values[doubtful], "s", mfc="none", color="C3", ms=5,
                label="DMFT root below the spectral start (doubtful)")
    ax.set_xscale("log")
    ticks = [0.2, 0.5, 1, 2, 4]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.legend(frameon=False, loc="upper left", fontsize=6.5)
    plot_gamp_vs_state_evolution(axes[0, 1], np.arange(steps + 1), [alpha_gamp, alpha_fast], np.stack([se_traj, se_fast]),
                                 np.stack([g_mean, f_mean]), np.stack([g_se, f_se]))
    axes[0, 1].set_title(f"GAMP, d = {d}, {seeds} seeds (points) vs state evolution (lines)", fontsize=9)
    fig.tight_layout()
    table = {
        "link": "z**2", "prior": "gaussian", "alpha_curve": grid.tolist(), "bayes_overlap": bayes.tolist(),
        "amp_overlap": amp.tolist(), "spectral_overlap2": [None if not np.isfinite(x) else float(x) for x in spectral],
        "gd_alpha": gd_alphas, "gd_overlap2": [None if v is None else v for v, _ in gd],
        "gd_status": [why for _, why in gd], "thresholds": th.to_json(), "spectral_weak_recovery": spectral_wr,
        "gamp": {"alpha": alpha_gamp, "d": d, "seeds": seeds, "q0": q0, "mean": g_mean.tolist(), "se": g_se.tolist(),
                 "state_evolution": se_traj.tolist(), "z_scores": z_scores.tolist(),
                 "sign_alpha_1": {"mean": s_mean.tolist(), "se": s_se.tolist(), "state_evolution": se_sign_traj.tolist()},
                 "alpha_fast": alpha_fast, "mean_fast": f_mean.tolist(), "se_fast": f_se.tolist(),
                 "state_evolution_fast": se_fast.tolist()},
        "sign_gaussian": {"thresholds": th_sign.to_json(), "slope_small_alpha": slope_small, "c_inf": c_inf},
        "rademacher_z2": {"thresholds": th_rad.to_json()},
        "convention": "a ~ N(0, I_d/d), ||w*||^2 = d; overlaps are squared cosines (docs/math/amp.md §1)",
        "claims": [c.to_json() for c in claims],
        "quick": quick, "seconds": time.perf_counter() - start,
    }
    return [atomic_savefig(fig, out_dir / "algorithms_vs_limits.png"),
            atomic_write_json(out_dir / "algorithms_vs_limits.json", table),
            write_claims(out_dir, claims)]
