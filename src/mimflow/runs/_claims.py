"""Claims and verdicts: what every reproduction checks, in one shape.

The papers' own figures and experiment parameters are not available to us, so a reproduction is a
check of a *stated claim* (a theorem, a scaling law, a threshold): it measures a quantity with its
95 % confidence interval and compares it with the prediction. A :class:`ClaimCheck` holds both and
the verdict; every reproduction writes its checks into ``claims.json`` in its output folder (and into
its own JSON under ``claims``), and ``mimflow reproduce --all`` gathers them into one table.

Verdict (``holds``): the prediction lies inside the measured 95 % interval widened by ``tolerance``
(an absolute allowance for a *stated* model error, e.g. a finite-``d`` correction the theory does
not include; 0 by default, and it must be explained in ``note`` when it is not 0). See
docs/math/statistics.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from scipy import stats

from mimflow.runs._io import atomic_write_json

__all__ = ["ClaimCheck", "check_claim", "coverage_claim", "read_claims", "welch_dof", "write_claims"]

CLAIMS_FILE = "claims.json"


@dataclass(frozen=True)
class ClaimCheck:
    """One stated claim and its measured check.

    ``claim``: the statement in words; ``paper``: the source (authors, year, theorem / section);
    ``quantity``: what is measured; ``predicted``: the claim's value; ``measured`` and
    ``measured_ci95 = [lo, hi]``: the estimate and its 95 % interval (``None`` when it could not be
    estimated, e.g. a censored median); ``tolerance``: absolute allowance for a stated model error;
    ``holds``: the verdict; ``note``: how it was measured, and why a tolerance or a failure.
    """

    claim: str
    paper: str
    quantity: str
    predicted: float | None
    measured: float | None
    measured_ci95: tuple[float, float] | None
    holds: bool
    tolerance: float = 0.0
    note: str = ""
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = asdict(self)
        out["measured_ci95"] = list(self.measured_ci95) if self.measured_ci95 is not None else None
        return out


def check_claim(claim: str, paper: str, quantity: str, *, predicted: float | None, measured: float | None,
                ci95: tuple[float, float] | None = None, se: float | None = None, tolerance: float = 0.0,
                family: int = 1, dof: float | None = None, note: str = "",
                details: dict | None = None) -> ClaimCheck:
    """A :class:`ClaimCheck` with its verdict.

    Give the measured interval either as ``ci95 = (lo, hi)`` or as a standard error ``se`` (then the
    interval is ``measured +- 1.96 se``, or ``measured +- t_dof se`` with Student's quantile when ``se``
    is a sample standard deviation over few seeds or batches with ``dof`` degrees of freedom: 8 seeds
    give ``t_7 = 2.36``, and 1.96 would cover 91 %, not 95 %; :func:`welch_dof` for a sum of such
    errors; docs/math/statistics.md §8.5). ``holds`` is ``lo - tolerance <= predicted <= hi + tolerance``;
    it is ``False`` when anything needed is missing or not finite. ``family``: the number of claims of
    the same kind checked together (e.g. one slope per saddle); with ``se`` the verdict then uses the
    Bonferroni interval ``measured +- z se``, ``z = Phi^-1(1 - 0.025/family)``, so that all of them hold
    together with probability >= 95 % when the theory is right (``measured_ci95`` stays the 95 % one).
    """
    verdict = ci95
    if ci95 is None and se is not None and measured is not None:
        law = stats.norm if dof is None or not math.isfinite(float(dof)) else stats.t(float(dof))
        q95 = float(law.ppf(0.975))
        ci95 = (measured - q95 * se, measured + q95 * se)
        z = float(law.ppf(1 - 0.025 / max(int(family), 1)))
        verdict = (measured - z * se, measured + z * se)
        if dof is not None and math.isfinite(float(dof)):
            note = (note + "; " if note else "") + f"Student t quantile, {float(dof):.3g} degrees of freedom"
        if family > 1:
            note = (note + "; " if note else "") + f"verdict at Bonferroni level over {family} claims (quantile {z:.2f})"
    values = [predicted, measured] + (list(verdict) if verdict is not None else [None])
    ok = all(v is not None and not math.isnan(float(v)) for v in values) and math.isfinite(float(predicted))
    holds = bool(ok and verdict[0] - tolerance <= predicted <= verdict[1] + tolerance)
    ci = (float(ci95[0]), float(ci95[1])) if ci95 is not None and all(
        v is not None and not math.isnan(float(v)) for v in ci95) else None
    return ClaimCheck(claim, paper, quantity, None if predicted is None else float(predicted),
                      None if measured is None else float(measured), ci, holds, float(tolerance), note,
                      dict(details or {}))


def welch_dof(*terms: tuple[float, float]) -> float:
    """Welch-Satterthwaite degrees of freedom of ``sqrt(sum se_i^2)`` for independent ``(se_i, dof_i)``.

    ``(sum se_i^2)^2 / sum (se_i^4 / dof_i)``; a term with ``dof = inf`` (an exact or very precise value)
    adds its variance and no estimation noise.
    """
    num = sum(se**2 for se, _ in terms) ** 2
    den = sum(se**4 / dof for se, dof in terms if math.isfinite(dof) and dof > 0)
    return math.inf if den == 0 else num / den


def write_claims(out_dir: str | Path, claims: list[ClaimCheck]) -> Path:
    """Write ``claims.json`` (a list of :meth:`ClaimCheck.to_json`) into ``out_dir``, atomically."""
    return atomic_write_json(Path(out_dir) / CLAIMS_FILE, [c.to_json() for c in claims])


def read_claims(out_dir: str | Path) -> list[dict]:
    """The claims a reproduction wrote into ``out_dir`` (empty when it wrote none)."""
    path = Path(out_dir) / CLAIMS_FILE
    if not path.exists():
        return []
    return json.loads(path.read_text())


def coverage_claim(claim: str, paper: str, quantity: str, inside: list[bool], *, level: float = 0.95,
                   note: str = "") -> ClaimCheck:
    """Aggregate check of many 95 % intervals: the share that contain their prediction.

    When the theory is right each interval covers with probability ``level``; the claim holds when
    ``level`` lies inside the exact (Clopper-Pearson) 95 % interval of the observed share. One check
    instead of one per interval, so that a correct theory does not fail 1 in 20 of them.
    """
    n, k = len(inside), int(sum(bool(x) for x in inside))
    if n == 0:
        return check_claim(claim, paper, quantity, predicted=level, measured=None, note=note)
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return check_claim(claim, paper, quantity, predicted=level, measured=k / n, ci95=(ci.low, ci.high),
                       note=(note + "; " if note else "") + f"{k} of {n} intervals contain their prediction",
                       details={"inside": [bool(x) for x in inside]})
