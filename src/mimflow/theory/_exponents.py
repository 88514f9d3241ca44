r"""All exponents of one link at once: :func:`exponents` and its result type :class:`Exponents`.

Information exponent and leap (:mod:`mimflow.theory._hermite_support`), the saddle sequence
(:mod:`mimflow.theory._saddle_sequence`) and the generative exponent (:mod:`mimflow.theory._generative`)
of one link, from its Hermite spectrum up to a truncation degree (docs/math/hermite.md §5.2,
docs/math/saddles.md §1.6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimflow.hermite import as_multivariate, check_degree
from mimflow.targets import make_link, multivariate_spectrum
from mimflow.theory._generative import GENERATIVE_RTOL, conditional_hermite_energies
from mimflow.theory._hermite_support import (
    DEFAULT_RTOL,
    _check_rtol,
    _tail_is_significant,
    exponent_status,
    information_exponent,
    leap_exponent,
)
from mimflow.theory._saddle_sequence import Saddle, saddle_sequence

DEFAULT_DEGREE = {1: 12, 2: 8, 3: 6, 4: 5}
"""Default truncation degree of :func:`exponents` by number of variables ``r`` (``r > 4``: 4)."""


@dataclass(frozen=True)
class Exponents:
    """All exponents of one link (final class; build with :func:`exponents`).

    Attributes:
        name: the link.
        r: number of link variables.
        degree: truncation degree ``K`` of the spectrum used.
        rtol: relative threshold on coefficients (:data:`DEFAULT_RTOL`).
        information: :func:`information_exponent` (``None``: constant or above ``K``).
        generative: :func:`generative_exponent` for ``r = 1`` (searched up to ``K``); ``None`` for
            ``r > 1`` (not implemented for multi-index links), constant links, or above ``K``.
        generative_energies: ``(K + 1,)`` lower bounds of ``E[zeta_k(y)^2]`` for ``r = 1``, else ``None``.
        leap: :func:`leap_exponent` in the link's own coordinates.
        saddles: :func:`saddle_sequence`.
        rotation_invariant_leap: largest saddle exponent (:func:`rotation_invariant_leap`).
        status: ``"found"``, ``"constant"`` or ``"above-degree"`` (:func:`exponent_status`).
        above_degree: ``status == "above-degree"``: the information exponent and the leap exceed ``K``
            (rerun with a larger degree).
        saddles_complete: the saddles span every direction the link depends on, as far as the
            spectrum can tell: the learned subspace is all of ``R^r``, or the tail is below the floor.
            ``False`` means further saddles may lie above ``K``.
    """

    name: str
    r: int
    degree: int
    rtol: float
    information: int | None
    generative: int | None
    generative_energies: np.ndarray | None
    leap: int | None
    saddles: tuple[Saddle, ...]
    rotation_invariant_leap: int | None
    status: str
    above_degree: bool
    saddles_complete: bool


# ---------------------------------------------------------------------- everything at once


def exponents(link, *, degree: int | None = None, rtol: float = DEFAULT_RTOL) -> Exponents:
    """All exponents of a link, from its Hermite spectrum up to ``degree``.

    Builds the spectrum with :meth:`Link.spectrum` (``r = 1``) or
    :func:`mimflow.targets.multivariate_spectrum` (``r > 1``). Default ``degree``
    (:data:`DEFAULT_DEGREE`): 12 for ``r = 1``, 8 for ``r = 2``, 6 for ``r = 3``, 5 for ``r = 4``,
    chosen to keep the multivariate spectra (``r^K`` tensor entries) cheap. Exponents above the degree
    come back as ``None`` with ``above_degree=True`` (no error): rerun with a larger ``degree``.

    Args:
        link: a Link, a name, an expression or a callable (see :func:`~mimflow.targets.make_link`).
        degree: truncation degree ``K``.
        rtol: relative coefficient threshold; the generative exponent uses :data:`GENERATIVE_RTOL`.

    Example:
        >>> e = exponents("h2(z1) + h3(z2)")
        >>> e.information, e.leap, [(s.directions, s.exponent) for s in e.saddles], e.rotation_invariant_leap
        (2, 3, [(1, 2), (1, 3)], 3)
    """
    link = make_link(link)
    rtol = _check_rtol(rtol)
    if degree is None:
        degree = DEFAULT_DEGREE.get(link.r, 4)
    degree = check_degree(degree)
    if link.r == 1:
        spectrum = as_multivariate(link.spectrum(degree))
    else:
        spectrum = multivariate_spectrum(link, degree)
    status = exponent_status(spectrum, rtol=rtol)
    saddles = tuple(saddle_sequence(spectrum, rtol=rtol))
    learned = sum(s.directions for s in saddles)
    generative, energies = None, None
    if link.r == 1:
        energies = conditional_hermite_energies(link, degree)
        passing = np.nonzero(energies[1:] > GENERATIVE_RTOL**2)[0]
        generative = int(passing[0]) + 1 if len(passing) else None
    return Exponents(
        name=link.name,
        r=link.r,
        degree=degree,
        rtol=rtol,
        information=information_exponent(spectrum, rtol=rtol),
        generative=generative,
        generative_energies=energies,
        leap=leap_exponent(spectrum, rtol=rtol),
        saddles=saddles,
        rotation_invariant_leap=max((s.exponent for s in saddles), default=None),
        status=status,
        above_degree=status == "above-degree",
        saddles_complete=learned == link.r or not _tail_is_significant(spectrum, rtol),
    )


__all__ = ["DEFAULT_DEGREE", "Exponents", "exponents"]
