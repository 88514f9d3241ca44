"""JSON-ready reports behind ``mimflow hermite`` and ``mimflow exponents``.

Each report is one library call returning a plain dict, so the command line stays thin
and scripts get exactly what ``--json`` prints.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mimflow._errors import MimflowError
from mimflow.hermite import HermiteSpectrum, MultivariateSpectrum
from mimflow.targets import Link, make_link, multivariate_spectrum
from mimflow.theory import exponents, information_exponent

DEFAULT_DEGREE = {1: 20, 2: 10, 3: 8, 4: 6}
"""Default truncation degree of ``mimflow hermite`` per number of variables."""


def link_spectrum(link: Link, degree: int | None = None, *, method: str = "auto"):
    """The Hermite spectrum of ``link``: a HermiteSpectrum (r = 1) or a MultivariateSpectrum (r > 1)."""
    degree = DEFAULT_DEGREE.get(link.r, 4) if degree is None else degree
    if link.r == 1:
        return link.spectrum(degree, method=method)

    return multivariate_spectrum(link, degree, method=method)


def hermite_report(spec, degree: int | None = None, *, method: str = "auto") -> dict[str, Any]:
    """Coefficients, tail and information exponent of a link.

    Keys: ``link``, ``r``, ``degree``, ``method``, ``norm2``, ``tail``,
    ``information_exponent``, ``coefficients`` (``c_0..c_K`` for r = 1; for r > 1 a list of
    ``{"beta": [...], "value": x}`` in the order of :func:`mimflow.hermite.multi_indices`),
    ``seconds`` (wall time of the computation).
    """
    link = make_link(spec)
    start = time.perf_counter()
    spectrum = link_spectrum(link, degree, method=method)
    seconds = time.perf_counter() - start
    if isinstance(spectrum, HermiteSpectrum):
        coefficients: Any = [float(c) for c in spectrum.coefficients]
    elif isinstance(spectrum, MultivariateSpectrum):
        coefficients = [
            {"beta": [int(b) for b in beta], "value": float(v)}
            for beta, v in zip(spectrum.multi_indices, spectrum.values)
        ]
    else:  # pragma: no cover
        raise MimflowError(f"unexpected spectrum type {type(spectrum).__name__}")
    return {
        "link": link.name,
        "r": link.r,
        "degree": spectrum.degree,
        "method": spectrum.method,
        "norm2": float(spectrum.norm2),
        "tail": float(spectrum.tail),
        "information_exponent": information_exponent(spectrum),
        "coefficients": coefficients,
        "seconds": seconds,
    }


AUTO_DEGREE_CAP = {1: 40, 2: 12, 3: 8, 4: 6}
"""Largest degree ``mimflow exponents`` raises to on its own when the default one is too low for the link."""


def exponents_report(spec, degree: int | None = None) -> dict[str, Any]:
    """Information, generative (r = 1), leap exponents and the saddle sequence of a link.

    Keys: ``link``, ``r``, ``degree``, ``information_exponent``, ``leap_exponent``,
    ``generative_exponent`` (``None`` where undefined: r > 1 or a constant link),
    ``rotation_invariant_leap``, ``saddles`` (list of ``{"directions": n, "exponent": s,
    "escape_time_scaling": "d^(s-1)" or "log d"}``), ``threshold``, ``above_degree`` and
    ``saddles_complete`` (see :class:`mimflow.theory.Exponents`), ``warnings``.

    Without ``degree``, a spectrum whose exponents lie above the default degree is recomputed at
    higher degrees (up to :data:`AUTO_DEGREE_CAP`); what is still above it is a warning, never a
    silent ``None``.
    """
    link = make_link(spec)
    result = exponents(link, degree=degree)
    if degree is None:
        cap = AUTO_DEGREE_CAP.get(link.r, result.degree)
        while (result.above_degree or not result.saddles_complete) and result.degree < cap:
            result = exponents(link, degree=min(cap, result.degree + (4 if link.r == 1 else 2)))
    warnings = []
    if result.above_degree:
        warnings.append(f"no non-zero Hermite coefficient up to degree {result.degree}: the exponents are above it "
                        f"(null); rerun with --degree > {result.degree} (the cost grows like r^K)")
    elif not result.saddles_complete:
        warnings.append(f"the saddles found up to degree {result.degree} do not span all {link.r} directions: "
                        f"later saddles may lie above it; rerun with --degree > {result.degree}")
    saddles = [
        {
            "directions": int(s.directions),
            "exponent": int(s.exponent),
            "escape_time_scaling": "log d" if s.exponent == 1 else f"d^{s.exponent - 1}",
        }
        for s in result.saddles
    ]
    return {
        "link": link.name,
        "r": link.r,
        "degree": result.degree,
        "information_exponent": result.information,
        "leap_exponent": result.leap,
        "generative_exponent": result.generative,
        "rotation_invariant_leap": result.rotation_invariant_leap,
        "saddles": saddles,
        "threshold": result.rtol,
        "above_degree": bool(result.above_degree),
        "saddles_complete": bool(result.saddles_complete),
        "warnings": warnings,
    }


def spectrum_arrays(spectrum) -> tuple[np.ndarray, np.ndarray]:
    """``(degrees, energy per degree)`` of a spectrum, for plots."""
    if isinstance(spectrum, HermiteSpectrum):
        return np.arange(spectrum.degree + 1), np.asarray(spectrum.coefficients) ** 2
    return np.arange(spectrum.degree + 1), spectrum.energy_by_degree()
