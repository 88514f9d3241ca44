"""Censoring-aware summaries of escape times, shared by ``flow``, ``neurons``, ``train`` and the reproductions.

Every run command that measures escape times reports them through :func:`escape_time_summary`, so
the JSON names and their meaning are the same everywhere (docs/math/statistics.md):

* ``median_escape_times[label][k]``: Kaplan-Meier median of saddle ``k`` (``None`` when the median
  itself is censored: then ``median_censored`` is true and the median is ``> horizon``);
* ``median_escape_times_ci95[label][k] = [lo, hi]`` (``hi = None``: open above);
* ``censored_fraction[label][k]``: share of the counted runs not escaped by the horizon;
* ``horizon[label]``: the time up to which each run was followed;
* ``counted_runs[label][k]``: runs behind the median (runs the theory says can never escape, from
  their initial condition alone, are not counted: ``never_escaping[label][k]``);
* ``warnings``: one sentence per problem (few runs, censoring above 10 %, censored medians).
"""

from __future__ import annotations

import numpy as np

from mimflow.theory import MAX_CENSORED_FRACTION, MIN_RUNS, censored_median, loglog_slope, loglog_slope_with_error

ESCAPE_THRESHOLD = 0.5
"""The level a singular value of ``M`` (or an overlap) reaches at an escape (``train``, ``sample-complexity``)."""


def escape_time_summary(labels, escape, horizons, *, counted=None, names=None,
                        horizon_option: str = "t_max") -> tuple[dict, list[str]]:
    """JSON fields and warnings for escape times of shape ``(D, S, n)`` (NaN: not escaped by the horizon).

    Args:
        labels: ``D`` keys (e.g. the dimensions ``d``).
        escape: ``(D, S, n)`` times.
        horizons: ``(D,)`` horizon of each group.
        counted: ``(D, S, n)`` bool, runs that can escape (default: all).
        names: ``n`` names for the warnings (default ``saddle 1..n``).
        horizon_option: the option that sets the horizon, named in the warnings (``t_max``, ``steps``).
    """
    escape = np.asarray(escape, dtype=float)
    D, S, n = escape.shape
    counted = np.ones(escape.shape, bool) if counted is None else np.asarray(counted, bool)
    names = names or [f"saddle {k + 1}" for k in range(n)]
    out = {key: {} for key in ("median_escape_times", "median_escape_times_ci95", "median_censored",
                               "censored_fraction", "counted_runs", "never_escaping")}
    out["horizon"] = {}
    warnings: list[str] = []
    for a, label in enumerate(labels):
        key = str(label)
        out["horizon"][key] = float(horizons[a])
        meds = [censored_median(escape[a, counted[a, :, k], k], horizons[a]) for k in range(n)]
        out["median_escape_times"][key] = [m.median for m in meds]
        out["median_escape_times_ci95"][key] = [list(m.ci95) for m in meds]
        out["median_censored"][key] = [m.median_censored for m in meds]
        out["censored_fraction"][key] = [m.censored_fraction for m in meds]
        out["counted_runs"][key] = [m.n for m in meds]
        out["never_escaping"][key] = [int(S - m.n) for m in meds]
        for k, m in enumerate(meds):
            where = f"{names[k]} at {label}"
            if m.n < MIN_RUNS:
                warnings.append(f"{where}: the median rests on {m.n} run(s) (< {MIN_RUNS}): its CI is wide or open")
            if m.median_censored:
                warnings.append(f"{where}: fewer than half of the runs escaped by the horizon {m.horizon:.4g}: "
                                f"the median is only known to be > {m.horizon:.4g} (raise {horizon_option})")
            elif m.censored_fraction > MAX_CENSORED_FRACTION:
                warnings.append(f"{where}: {100 * m.censored_fraction:.0f} % of runs censored at the horizon "
                                f"{m.horizon:.4g} (> {100 * MAX_CENSORED_FRACTION:.0f} %): raise {horizon_option} for a tighter CI")
    return out, warnings


def slope_summary(ds, escape, horizons, *, counted=None, predicted=None, asymptotic=None,
                  names=None, horizon_option: str = "t_max") -> tuple[list[dict], list[str]]:
    """Log-log slope of the Kaplan-Meier medians against ``d`` with a bootstrap SE, per column ``k``.

    ``predicted[k]``: the theory's slope over the same ``d`` grid; ``asymptotic[k]``: its ``d -> inf``
    exponent. Each entry has ``fitted``, ``fitted_se``, ``predicted``, ``asymptotic``, ``z`` (=
    ``(fitted - predicted)/fitted_se``) and ``text`` (``"1.98 +- 0.05 (theory 2.00)"``).
    """
    escape = np.asarray(escape, dtype=float)
    D, S, n = escape.shape
    counted = np.ones(escape.shape, bool) if counted is None else np.asarray(counted, bool)
    names = names or [f"saddle {k + 1}" for k in range(n)]
    out, warnings = [], []
    for k in range(n):
        est = loglog_slope_with_error(ds, [escape[a, counted[a, :, k], k] for a in range(D)], horizons, seed=k)
        pred = None if predicted is None or predicted[k] is None else float(predicted[k])
        z = None
        if est.fitted is not None and est.fitted_se and pred is not None:
            z = (est.fitted - pred) / est.fitted_se
        text = "-" if est.fitted is None else f"{est.fitted:.2f}" + (
            f" +- {est.fitted_se:.2f}" if est.fitted_se is not None else " (SE unknown)")
        if pred is not None:
            text += f" (theory {pred:.2f})"
        out.append({"index": k, "fitted": est.fitted, "fitted_se": est.fitted_se, "predicted": pred,
                    "asymptotic": None if asymptotic is None else asymptotic[k], "z": z,
                    "bootstrap_censored_fraction": est.bootstrap_censored_fraction, "text": text})
        if est.fitted is None:
            warnings.append(f"{names[k]}: no slope (a median is censored or fewer than two d)")
        elif est.fitted_se is None:
            warnings.append(f"{names[k]}: slope SE unknown ({100 * est.bootstrap_censored_fraction:.1f} % of "
                            f"bootstrap resamples have a censored median): raise {horizon_option}")
    return out, warnings


def predicted_slope(ds, values) -> float | None:
    """Slope of the theory's values over the same ``d`` grid (``None`` when not defined)."""
    slope, _ = loglog_slope(ds, values)
    return None if not np.isfinite(slope) else slope
