r"""One link -> one truncated Hermite spectrum, for every number of variables ``r`` (docs/conventions.md §0).

The flows, the training algorithms and the theory all start from the spectrum of the link truncated
at a degree ``K``:

.. math::

    f \approx \sum_{|\beta| \le K} \alpha_\beta H_\beta,\qquad
    \mathrm{tail}_K = \|f\|^2 - \sum_{|\beta|\le K}\alpha_\beta^2 .

Either ``K`` is given, or it is the smallest degree whose Parseval tail is at most
``tail_rtol * ||f||^2`` (:data:`TAIL_RTOL`), searched up to the cap :data:`MAX_DEGREE_BY_R` (the
spectrum at the cap when no smaller degree qualifies). The spectrum is always a
:class:`~mimflow.hermite.MultivariateSpectrum` (``r = 1`` included), computed by
:meth:`Link.spectrum <mimflow.targets.Link.spectrum>` for ``r = 1`` (closed forms where they exist)
and by :func:`~mimflow.targets.multivariate_spectrum` for ``r > 1``.
"""

from __future__ import annotations

from mimflow._errors import MimflowError
from mimflow.hermite import MultivariateSpectrum, as_multivariate
from mimflow.targets._links import make_link
from mimflow.targets._multivariate_spectrum import multivariate_spectrum

MAX_DEGREE_BY_R = {1: 40, 2: 12, 3: 8, 4: 6}
"""Largest truncation degree per number of link variables ``r`` (the cost of ``r > 1`` grows like ``r**K``)."""

TAIL_RTOL = 1e-6
"""Default truncation: the smallest degree whose Parseval tail is below ``TAIL_RTOL * ||f||^2``."""

__all__ = ["MAX_DEGREE_BY_R", "TAIL_RTOL", "spectrum_up_to", "truncated_spectrum"]


def spectrum_up_to(link, degree: int, *, method: str = "auto") -> MultivariateSpectrum:
    """The Hermite spectrum of ``link`` up to ``degree``, as a :class:`~mimflow.hermite.MultivariateSpectrum`.

    ``r = 1``: :meth:`Link.spectrum` (``method``: ``"auto"``, ``"closed-form"`` or ``"quadrature"``)
    viewed with :func:`~mimflow.hermite.as_multivariate`; ``r > 1``:
    :func:`multivariate_spectrum` (``method``: ``"auto"``, ``"separable"`` or ``"quadrature"``).
    No cap beyond the limits of those two.

    Example:
        >>> s = spectrum_up_to("relu", 4)
        >>> s.r, s.degree, s.method
        (1, 4, 'closed-form')
    """
    link = make_link(link)
    if link.r == 1:
        return as_multivariate(link.spectrum(degree, method=method))
    return multivariate_spectrum(link, degree, method=method)


def truncated_spectrum(link, *, degree: int | None = None, tail_rtol: float = TAIL_RTOL,
                       method: str = "auto") -> MultivariateSpectrum:
    r"""The truncated spectrum that drives a flow or a training algorithm (module docstring).

    Args:
        link: anything :func:`~mimflow.targets.make_link` accepts.
        degree: truncation degree ``K`` (at most ``MAX_DEGREE_BY_R[r]``); ``None``: the smallest
            ``K >= 1`` with :math:`\mathrm{tail}_K \le \texttt{tail\_rtol}\,\|f\|^2`, else the cap.
        tail_rtol: relative Parseval tail of the automatic degree.
        method: passed to :func:`spectrum_up_to`.

    Returns:
        A :class:`~mimflow.hermite.MultivariateSpectrum` of degree ``K``; its ``norm2`` is
        :math:`\|f\|^2` and its ``tail`` the energy above ``K``.

    Raises:
        MimflowError: ``degree`` above the cap for this ``r``.

    Example:
        >>> truncated_spectrum("h2(z1) + h3(z2)").degree
        3
        >>> truncated_spectrum("relu", degree=6).degree
        6
    """
    link = make_link(link)
    cap = MAX_DEGREE_BY_R.get(link.r, 4)
    if degree is not None:
        if degree > cap:
            raise MimflowError(f"degree {degree} is too high for r = {link.r}: use degree <= {cap}")
        return spectrum_up_to(link, degree, method=method)
    spectrum = spectrum_up_to(link, cap, method=method)
    for K in range(1, cap + 1):
        trunc = spectrum.truncated(K)
        if trunc.tail <= tail_rtol * max(trunc.norm2, 1e-300):
            return trunc
    return spectrum
