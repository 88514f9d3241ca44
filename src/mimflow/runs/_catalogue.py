"""The catalogue: every run command and reproduction of mimflow, one line each.

This is the one registration of a study (docs/architecture.md): a run command is a
:class:`~mimflow.runs.RunCommand` defined in its study module, a reproduction is a function
``reproduce_<name>(out_dir: Path, quick: bool) -> list[Path]``; each is named here by
``"module:attribute"`` with the one-line description that ``mimflow --help`` and
``mimflow reproduce --list`` show. Nothing is imported here: the command line lists the catalogue
without importing JAX (tests/test_startup.py), and :func:`get_run_command` / :func:`reproduce`
import a study module only when it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CatalogueEntry", "REPRODUCTIONS", "RUN_COMMANDS"]


@dataclass(frozen=True)
class CatalogueEntry:
    """One run command or reproduction: its name, ``"module:attribute"`` and one-line description."""

    name: str
    target: str
    description: str
    hidden: bool = False
    """Left out of ``mimflow --help`` (``neurons-beta-c``: reached as ``mimflow neurons beta-c``)."""


RUN_COMMANDS: tuple[CatalogueEntry, ...] = (
    CatalogueEntry("hermite-mc", "mimflow.studies.hermite:HERMITE_MC",
                   "Monte Carlo estimates of the Hermite coefficients c_k of LINK against the exact ones"),
    CatalogueEntry("flow", "mimflow.studies.flow:FLOW",
                   "population gradient flow (two-timescale or planted) with saddle escape times beside the theory"),
    CatalogueEntry("train", "mimflow.studies.train:TRAIN",
                   "finite-sample training (online SGD, reduced or d-dimensional; full-batch GD) beside the population flow"),
    CatalogueEntry("neurons", "mimflow.studies.neurons:NEURONS",
                   "correlation-loss neurons vs sum-of-neurons targets: search phase, index vectors reached, coverage and beta_c (docs/math/neurons.md §2). Also: `mimflow neurons beta-c SIGMA --k K` and `mimflow neurons phase-diagram SIGMA --k K1,K2 --beta B1,B2 --d D --seeds S`."),
    CatalogueEntry("neurons-beta-c", "mimflow.studies.neurons:BETA_C",
                   "critical equal angle beta_c where the average fixed point turns into a minimum (docs/math/neurons.md §2.4)", hidden=True),
    CatalogueEntry("neurons-phase-diagram", "mimflow.studies.neurons:PHASE",
                   "what gradient flow reaches over (beta, k) with equal angles, with beta_c (docs/math/neurons.md §2.4)", hidden=True),
    CatalogueEntry("spectral", "mimflow.studies.spectral:SPECTRAL",
                   "spectral estimator: Lu-Li overlap and top eigenvalue vs alpha, weak-recovery threshold, finite-d Lanczos runs"),
    CatalogueEntry("dmft", "mimflow.studies.dmft:DMFT",
                   "DMFT of full-batch GD after a spectral/random/warm start (docs/math/dmft.md §3), with finite-d GD beside it"),
    CatalogueEntry("amp", "mimflow.studies.amp:AMP",
                   "Bayes-optimal and AMP overlaps and MSE vs alpha (state evolution, replica free entropy), thresholds, GAMP on samples"),
)

REPRODUCTIONS: tuple[CatalogueEntry, ...] = (
    CatalogueEntry("algorithms-vs-limits", "mimflow.studies.amp:reproduce_algorithms_vs_limits",
                   "real phase retrieval: Bayes-optimal and AMP limits beside the optimal spectral method and GD (DMFT), thresholds, GAMP on samples"),
    CatalogueEntry("dmft-wirtinger", "mimflow.studies.dmft:reproduce_dmft_wirtinger",
                   "Wirtinger flow for phase retrieval from the spectral start: DMFT vs finite-d GD, with the independent-start control"),
    CatalogueEntry("saddles", "mimflow.studies.flow:reproduce_saddles",
                   "singular values and loss through three saddles of z1 + h2(z2) + h3(z3), with predicted escapes"),
    CatalogueEntry("escape-times", "mimflow.studies.flow:reproduce_escape_times",
                   "escape time against d for single-index links h2, h3, h4: fitted vs predicted slopes"),
    CatalogueEntry("planted-traps", "mimflow.studies.flow:reproduce_planted_traps",
                   "probability of ending at a spurious critical point: planted (rough) vs two-timescale (benign)"),
    CatalogueEntry("hermite-spectra", "mimflow.studies.hermite:reproduce_hermite_spectra",
                   "Hermite spectra, tails and exponents of canonical links (the current demo)"),
    CatalogueEntry("quadrature-accuracy", "mimflow.studies.hermite:reproduce_quadrature_accuracy",
                   "piecewise quadrature vs closed forms (relu, abs, sign, erf) against plain Gauss-Hermite"),
    CatalogueEntry("search-phase", "mimflow.studies.neurons:reproduce_search_phase",
                   "correlation-loss neurons: search time vs d (slopes p*/2-1, log d) and overlaps vs time"),
    CatalogueEntry("coverage", "mimflow.studies.neurons:reproduce_coverage",
                   "probability that n neurons find all k index vectors vs n/(k log k), simulated and the formula"),
    CatalogueEntry("beta-c", "mimflow.studies.neurons:reproduce_beta_c",
                   "equal-angle threshold beta_c: root finding vs a finite-difference Hessian, and the (beta, k) phase diagram"),
    CatalogueEntry("spectral-overlap", "mimflow.studies.spectral:reproduce_spectral_overlap",
                   "real phase retrieval: spectral-estimator overlap vs alpha, Lu-Li theory vs finite-d Lanczos, 3 preprocessings"),
    CatalogueEntry("sgd-vs-ode", "mimflow.studies.train:reproduce_sgd_vs_ode",
                   "online SGD overlaps at several d beside the population ODE; deviation ~ d^-1/2 (fitted slope)"),
    CatalogueEntry("sample-complexity", "mimflow.studies.train:reproduce_sample_complexity",
                   "online SGD: samples to escape the saddle vs d, fitted exponents beside the theory"),
)
