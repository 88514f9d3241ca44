r"""The Hermite support of a link and the exponents read off it: information exponent and leap.

Both are read off a (truncated) Hermite spectrum (docs/math/hermite.md §5.2); the saddle sequence is
in :mod:`mimflow.theory._saddle_sequence`, the generative exponent (which needs the link itself) in
:mod:`mimflow.theory._generative`, and everything at once in :func:`mimflow.theory.exponents`.

**Conventions** (docs/conventions.md §0). Orthonormal Hermite polynomials :math:`h_k = He_k/\sqrt{k!}`;
:math:`H_\beta(z) = \prod_i h_{\beta_i}(z_i)`; coefficients :math:`c_k = E[f(z) h_k(z)]` (``r = 1``,
:class:`~mimflow.hermite.HermiteSpectrum`) and :math:`\alpha_\beta = E[f(z) H_\beta(z)]` (``r >= 1``,
:class:`~mimflow.hermite.MultivariateSpectrum`); :math:`\|f\|^2 = E[f(z)^2]`.

**"Non-zero".** Coefficients come from quadrature, so "non-zero" needs a threshold. Everywhere in
this module a coefficient counts as non-zero when :math:`|\alpha_\beta| > \mathrm{rtol}\,\|f\|`
(relative to the norm of the whole link, so the answer does not change when the link is rescaled;
default ``rtol = 1e-8``; closed-form and separable spectra have zeros at ~1e-16, quadrature spectra of
smooth or breakpoint-resolved links at ~1e-14). Links whose every coefficient of degree ``1..K`` is
below the threshold are either *constant* (up to the threshold) or have their exponent *above the
truncation degree* ``K``; :func:`exponent_status` tells the two apart with the tail
:math:`\|f\|^2 - \sum_{|\beta|\le K}\alpha_\beta^2` (see :data:`TAIL_FLOOR`).
"""

from __future__ import annotations

import math

import numpy as np

from mimflow._errors import MimflowError
from mimflow.hermite import HermiteSpectrum, MultivariateSpectrum, as_multivariate

DEFAULT_RTOL = 1e-8
"""Default relative threshold on coefficient magnitudes, :math:`|\\alpha_\\beta| > \\mathrm{rtol}\\,\\|f\\|`."""

TAIL_FLOOR = 1e-12
"""Relative rounding floor of the tail: ``tail > max(rtol**2, TAIL_FLOOR) * norm2`` means energy above
the truncation degree. The tail is a difference of two computed numbers; measured |tail|/norm2 of
constant and polynomial links: 0 (closed form) to ~6e-16 (quadrature of ``z**2``)."""

Spectrum = HermiteSpectrum | MultivariateSpectrum


# ---------------------------------------------------------------------- helpers


def _check_rtol(rtol, name: str = "rtol") -> float:
    try:
        value = float(rtol)
    except (TypeError, ValueError):
        raise MimflowError(f"{name} must be a number in [0, 1), got {rtol!r}") from None
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise MimflowError(f"{name} must be a number in [0, 1), got {rtol!r}: e.g. {name}=1e-8")
    return value


def _threshold(spec: MultivariateSpectrum, rtol: float) -> float:
    return rtol * math.sqrt(max(float(spec.norm2), 0.0))


def hermite_support(spectrum: Spectrum, *, rtol: float = DEFAULT_RTOL) -> list[tuple[int, ...]]:
    r"""The non-constant Hermite support :math:`\{\beta \ne 0 : |\alpha_\beta| > \mathrm{rtol}\,\|f\|\}`.

    Returns:
        Multi-indices (tuples of length ``r``) in the order of :func:`~mimflow.hermite.multi_indices`.

    Example:
        >>> from mimflow import make_link
        >>> hermite_support(make_link("he3").spectrum(6))
        [(3,)]
    """
    spec = as_multivariate(spectrum)
    threshold = _threshold(spec, _check_rtol(rtol))
    return [beta for beta, _ in spec.nonzero(threshold) if sum(beta) > 0]


# ---------------------------------------------------------------------- information exponent


def information_exponent(spectrum: Spectrum, *, rtol: float = DEFAULT_RTOL) -> int | None:
    r"""Smallest degree of a non-zero non-constant Hermite coefficient.

    .. math::

        \mathrm{IE}(f) = \min\{|\beta| \ge 1 : |\alpha_\beta(f)| > \mathrm{rtol}\,\|f\|\}

    (``r = 1``: :math:`\min\{k \ge 1 : |c_k| > \mathrm{rtol}\,\|f\|\}`). For ``r > 1`` it is the lowest
    non-trivial chaos, a basis-free quantity (up to the threshold, which is applied to coefficients).

    Args:
        spectrum: a :class:`HermiteSpectrum` or :class:`MultivariateSpectrum`.
        rtol: relative threshold (module docstring).

    Returns:
        The exponent, or ``None`` when no coefficient of degree ``1..K`` passes the threshold: the link
        is constant or its exponent is above ``K``; ask :func:`exponent_status`.

    Example:
        >>> from mimflow import make_link
        >>> information_exponent(make_link("relu").spectrum(8)), information_exponent(make_link("he3").spectrum(8))
        (1, 3)

    References:
        Ben Arous, Gheissari, Jagannath, "Online stochastic gradient descent on non-convex losses from
        high-dimensional inference", JMLR 22 (2021) (the single-index definition). Multivariate form:
        Bietti, Bruna, Pillaud-Vivien, "On learning Gaussian multi-index models with gradient flow",
        arXiv:2310.19793, eq. (58) (docs/math/saddles.md §1.6, docs/math/hermite.md §5.2).
    """
    support = hermite_support(spectrum, rtol=rtol)
    return min((sum(beta) for beta in support), default=None)


def exponent_status(spectrum: Spectrum, *, rtol: float = DEFAULT_RTOL) -> str:
    r"""Why :func:`information_exponent` does or does not return a number.

    Returns:
        ``"found"``: some coefficient of degree ``1..K`` is non-zero. ``"constant"``: none is, and the
        tail is at most ``max(rtol**2, TAIL_FLOOR) * norm2`` (the link is constant up to the threshold;
        the exponents are infinite). ``"above-degree"``: none is, but the tail carries more energy than
        that: the exponent exceeds the truncation degree ``K`` (recompute with a larger ``K``).

    Example:
        >>> from mimflow import make_link
        >>> [exponent_status(make_link(s).spectrum(4)) for s in ("relu", "3", "he6")]
        ['found', 'constant', 'above-degree']
    """
    spec = as_multivariate(spectrum)
    rtol = _check_rtol(rtol)
    if hermite_support(spec, rtol=rtol):
        return "found"
    return "above-degree" if _tail_is_significant(spec, rtol) else "constant"


def _tail_is_significant(spec: MultivariateSpectrum, rtol: float) -> bool:
    return float(spec.tail) > max(rtol**2, TAIL_FLOOR) * max(float(spec.norm2), 0.0)


# ---------------------------------------------------------------------- leap


def leap_exponent(spectrum: Spectrum, *, rtol: float = DEFAULT_RTOL) -> int | None:
    r"""Leap complexity of the Hermite support, in the link's own coordinates.

    With support :math:`S = \{\beta \ne 0 : |\alpha_\beta| > \mathrm{rtol}\,\|f\|\}`,

    .. math::

        \mathrm{Leap}(f) = \min_{\pi}\ \max_i \sum_{j \notin \cup_{l<i} \mathrm{supp}\,\beta^{\pi(l)}}
        \beta^{\pi(i)}_j ,

    the smallest, over orderings of :math:`S`, largest total degree in *new* coordinates picked up by
    one element. Computed exactly: for ``L = 1, 2, ...`` add, until nothing changes, any
    :math:`\beta` whose degree in not-yet-covered coordinates is at most ``L``; the first ``L`` whose
    closure covers ``S`` is the leap. Correct because covering coordinates never increases any other
    :math:`\beta`'s new-coordinate degree, so the closure is the largest set any ordering with steps
    ``<= L`` can reach. For ``r = 1`` the leap equals the information exponent. Leap 1 is the
    merged-staircase property.

    Returns:
        The leap, or ``None`` when the support is empty (see :func:`exponent_status`).

    Example:
        >>> from mimflow import make_link
        >>> from mimflow.targets import multivariate_spectrum
        >>> leap_exponent(multivariate_spectrum(make_link("z1 + z1*z2*z3"), 3))
        2

    References:
        Abbe, Boix-Adsera, Misiakiewicz, "SGD learning on neural networks: leap complexity and
        saddle-to-saddle dynamics", COLT 2023 (docs/math/hermite.md §5.2); merged staircase: Abbe, Boix-Adsera,
        Misiakiewicz, COLT 2022.

    Warning:
        Not rotation invariant: ``he3(z1) + z2`` has leap 3 in these coordinates, but written in
        generic rotated coordinates its linear part touches every coordinate and the leap drops to 1,
        while gradient flow still needs ``d^2`` to learn ``z1``. (docs/math/hermite.md §5.2 says that for Gaussian
        data Abbe et al. also minimise over rotations; this example suggests that is not the right
        reading, so we do not.) The rotation-invariant counterpart for the two-timescale flow is
        :func:`rotation_invariant_leap` (3 for this link).
    """
    support = hermite_support(spectrum, rtol=rtol)
    if not support:
        return None
    betas = np.array(support, dtype=np.int64)
    for L in range(1, int(betas.sum(axis=1).max()) + 1):
        covered = np.zeros(betas.shape[1], dtype=bool)
        done = np.zeros(len(betas), dtype=bool)
        changed = True
        while changed:
            new_degree = betas[:, ~covered].sum(axis=1)
            ready = ~done & (new_degree <= L)
            changed = bool(ready.any())
            done |= ready
            covered |= (betas[ready] > 0).any(axis=0)
        if done.all():
            return L
    raise AssertionError("unreachable: L = max |beta| always closes")  # pragma: no cover


__all__ = [
    "DEFAULT_RTOL",
    "TAIL_FLOOR",
    "exponent_status",
    "hermite_support",
    "information_exponent",
    "leap_exponent",
]
