r"""Hermite coefficients of a one-dimensional function by quadrature.

.. math::

    c_k(f) = \mathbb{E}_{z\sim N(0,1)}[f(z)\,h_k(z)],\qquad
    \|f\|^2 = \sum_k c_k^2,\qquad
    \mathrm{tail}_K = \|f\|^2 - \sum_{k\le K} c_k^2 .

Integrates piecewise between the breakpoints of ``f`` (see
:func:`~mimflow.hermite.piecewise_gaussian_rule`), so kinked and discontinuous links
are as accurate as smooth ones provided their breakpoints are declared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mimflow._errors import MimflowError
from mimflow.hermite._polynomials import check_degree, hermite_normalized
from mimflow.hermite._quadrature import piecewise_gaussian_rule


@dataclass(frozen=True)
class HermiteSpectrum:
    r"""The Hermite expansion of a one-dimensional link up to degree ``K``.

    Attributes:
        coefficients: ``c_0 .. c_K``, shape ``(K + 1,)``, :math:`c_k = E[f(z) h_k(z)]`.
        norm2: :math:`\|f\|^2 = E[f(z)^2]`.
        tail: :math:`\|f\|^2 - \sum_{k\le K} c_k^2` (the energy above degree K; >= 0 up to rounding).
        method: ``"closed-form"`` or ``"quadrature"``.
        name: the link it describes.
    """

    coefficients: np.ndarray
    norm2: float
    tail: float
    method: str
    name: str = ""

    @property
    def degree(self) -> int:
        return len(self.coefficients) - 1

    def truncated(self, k_max: int) -> "HermiteSpectrum":
        """The same expansion up to degree ``k_max <= degree`` (same ``norm2``, larger tail)."""
        if not 0 <= k_max <= self.degree:
            raise MimflowError(f"truncation degree must be in 0..{self.degree}, got {k_max}")
        kept = self.coefficients[: k_max + 1]
        return HermiteSpectrum(kept, self.norm2, self.norm2 - float(np.sum(kept**2)), self.method, self.name)


def quadrature_nodes(breakpoints: Sequence[float], k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and Gaussian weights resolving ``h_k`` up to ``k_max`` with the given breakpoints."""
    return piecewise_gaussian_rule(breakpoints, k_max=max(k_max, 8))


def hermite_coefficients_by_quadrature(
    fn: Callable[[np.ndarray], np.ndarray],
    k_max: int,
    *,
    breakpoints: Sequence[float] = (),
    name: str = "",
) -> HermiteSpectrum:
    """Coefficients ``c_0..c_{k_max}`` of ``fn`` (elementwise on a 1-D array) by piecewise quadrature.

    Args:
        fn: vectorised function of ``z``, shape ``(n,) -> (n,)``.
        k_max: highest degree.
        breakpoints: where ``fn`` has kinks or jumps.

    Raises:
        MimflowError: if ``fn`` returns non-finite values where the Gaussian has mass.
    """
    k_max = check_degree(k_max)
    z, w = quadrature_nodes(breakpoints, k_max)
    values = np.asarray(fn(z), dtype=np.float64).reshape(z.shape)
    weighted = np.where(w > 0, values, 0.0)
    if not np.all(np.isfinite(weighted)):
        bad = z[~np.isfinite(weighted)][0]
        raise MimflowError(f"link {name or fn!r} is not finite at z = {bad:.4g}: it must be finite on the real line")
    h = np.asarray(hermite_normalized(z, k_max))
    coefficients = (w * weighted) @ h
    norm2 = float(np.sum(w * weighted * weighted))
    tail = norm2 - float(np.sum(coefficients**2))
    return HermiteSpectrum(coefficients, norm2, tail, "quadrature", name)
