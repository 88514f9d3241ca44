r"""Multi-indices, multivariate Hermite spectra and their symmetric-tensor form.

**Order.** Multi-indices :math:`\beta \in \mathbb{N}^r` with :math:`|\beta| \le K` are listed
by total degree, then in *descending* lexicographic order within a degree::

    r = 2, K = 2:  (0,0) | (1,0) (0,1) | (2,0) (1,1) (0,2)

:func:`multi_indices` returns them as an int array of shape ``(m, r)`` with
``m = C(K + r, r)``.

**Coefficients.** :math:`\alpha_\beta(f) = \mathbb{E}_{z\sim N(0,I_r)}[f(z) H_\beta(z)]`,
:math:`H_\beta(z) = \prod_i h_{\beta_i}(z_i)` (orthonormal), so
:math:`\|f\|^2 = \sum_\beta \alpha_\beta^2`.

**Tensor form.** The degree-k chaos :math:`f_k = \sum_{|\beta|=k}\alpha_\beta H_\beta` is
represented by the symmetric tensor :math:`S_k \in (\mathbb{R}^r)^{\otimes k}`,

.. math::

    (S_k)_{i_1\dots i_k} = \alpha_{\beta(i)}\sqrt{\beta(i)!/k!}
    = \frac{1}{\sqrt{k!}}\,\mathbb{E}[\partial_{i_1}\cdots\partial_{i_k} f(z)],

where :math:`\beta(i)` counts how often each axis appears in :math:`(i_1..i_k)`. It is
normalised so that :math:`\|S_k\|_F^2 = \sum_{|\beta|=k}\alpha_\beta^2` (the energy of the
chaos), and it transforms covariantly: the link :math:`z \mapsto f(R^T z)` (R orthogonal)
has tensor :math:`R^{\otimes k} S_k`. The averaging operator acts as
:math:`S_k \mapsto N^{\otimes k} S_k` (docs/math/grassmannian-flow.md §1.3, property 4).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mimflow._errors import MimflowError
from mimflow.hermite._coefficients import HermiteSpectrum


@lru_cache(maxsize=None)
def _multi_indices_cached(r: int, k_max: int) -> np.ndarray:
    rows = []
    for k in range(k_max + 1):
        rows.extend(degree_multi_indices(r, k))
    out = np.array(rows, dtype=np.int64).reshape(-1, r)
    out.setflags(write=False)
    return out


def degree_multi_indices(r: int, k: int) -> list[tuple[int, ...]]:
    """All ``beta`` with ``|beta| = k``, in descending lexicographic order."""
    if r == 1:
        return [(k,)]
    out = []
    for first in range(k, -1, -1):
        for rest in degree_multi_indices(r - 1, k - first):
            out.append((first,) + rest)
    return out


def multi_indices(r: int, k_max: int) -> np.ndarray:
    """Multi-indices with ``|beta| <= k_max`` in the documented order, shape ``(C(k_max + r, r), r)``.

    Example:
        >>> multi_indices(2, 2).tolist()
        [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
    """
    return _multi_indices_cached(int(r), int(k_max))


def _log_factorial(beta) -> float:
    return float(sum(math.lgamma(b + 1) for b in beta))


def coefficients_to_tensor(betas: np.ndarray, values: np.ndarray, r: int, k: int) -> np.ndarray:
    """Symmetric tensor ``S_k`` (shape ``(r,)*k``) from the degree-k coefficients.

    Args:
        betas: ``(m_k, r)`` multi-indices, all of total degree ``k``.
        values: ``(m_k,)`` their coefficients.
    """
    lookup = {tuple(int(x) for x in b): float(v) for b, v in zip(betas, values)}
    tensor = np.zeros((r,) * k)
    if k == 0:
        return np.asarray(lookup.get((0,) * r, 0.0))
    log_kfact = math.lgamma(k + 1)
    for idx in itertools.product(range(r), repeat=k):
        beta = tuple(idx.count(axis) for axis in range(r))
        value = lookup.get(beta, 0.0)
        if value:
            tensor[idx] = value * math.exp(0.5 * (_log_factorial(beta) - log_kfact))
    return tensor


def tensor_to_coefficients(tensor: np.ndarray, r: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`coefficients_to_tensor` (reads one entry per multi-index).

    Returns ``(betas (m_k, r), values (m_k,))`` in the documented order. The tensor is
    assumed symmetric; symmetrise first if it may not be.
    """
    betas = np.array(degree_multi_indices(r, k), dtype=np.int64).reshape(-1, r)
    tensor = np.asarray(tensor)
    values = np.empty(len(betas))
    log_kfact = math.lgamma(k + 1)
    for row, beta in enumerate(betas):
        idx = tuple(axis for axis in range(r) for _ in range(int(beta[axis])))
        entry = tensor[idx] if k else tensor
        values[row] = float(entry) * math.exp(0.5 * (log_kfact - _log_factorial(beta)))
    return betas, values


@dataclass(frozen=True)
class MultivariateSpectrum:
    r"""Hermite coefficients :math:`\alpha_\beta` of a link of ``r`` variables, ``|beta| <= degree``.

    Attributes:
        r: number of variables.
        degree: truncation degree ``K``.
        multi_indices: ``(m, r)`` int array in the order of :func:`multi_indices`.
        values: ``(m,)`` coefficients :math:`\alpha_\beta`.
        norm2: :math:`\|f\|^2`.
        tail: :math:`\|f\|^2 - \sum_{|\beta|\le K}\alpha_\beta^2`.
        method: how the coefficients were computed (``"separable"``, ``"quadrature"``, ...).
        name: the link.
    """

    r: int
    degree: int
    multi_indices: np.ndarray
    values: np.ndarray
    norm2: float
    tail: float
    method: str
    name: str = ""

    def __post_init__(self):
        if self.multi_indices.shape != (len(self.values), self.r):
            raise MimflowError("multi_indices and values of a MultivariateSpectrum do not match")

    def degree_slice(self, k: int) -> slice:
        """Rows of the degree-k multi-indices."""
        start = math.comb(k - 1 + self.r, self.r) if k > 0 else 0
        return slice(start, math.comb(k + self.r, self.r))

    def truncated(self, k_max: int) -> "MultivariateSpectrum":
        """The same expansion up to degree ``k_max <= degree`` (same ``norm2``, larger tail)."""
        if not 0 <= k_max <= self.degree:
            raise MimflowError(f"truncation degree must be in 0..{self.degree}, got {k_max}")
        end = self.degree_slice(k_max).stop
        values = self.values[:end]
        return MultivariateSpectrum(self.r, k_max, self.multi_indices[:end], values, self.norm2,
                                    self.norm2 - float(np.sum(values**2)), self.method, self.name)

    def coefficient(self, beta) -> float:
        """``alpha_beta`` for one multi-index (0 above the truncation degree is *not* assumed: raises)."""
        beta = tuple(int(b) for b in beta)
        if len(beta) != self.r or min(beta) < 0:
            raise MimflowError(f"beta must be {self.r} non-negative integers, got {beta}")
        k = sum(beta)
        if k > self.degree:
            raise MimflowError(f"|beta| = {k} is above the truncation degree {self.degree}")
        sl = self.degree_slice(k)
        rows = self.multi_indices[sl]
        pos = int(np.nonzero((rows == np.array(beta)).all(axis=1))[0][0])
        return float(self.values[sl][pos])

    def tensor(self, k: int) -> np.ndarray:
        """Symmetric tensor ``S_k`` of the degree-k chaos (see module docstring)."""
        if not 0 <= k <= self.degree:
            raise MimflowError(f"degree k must be in 0..{self.degree}, got {k}")
        sl = self.degree_slice(k)
        return coefficients_to_tensor(self.multi_indices[sl], self.values[sl], self.r, k)

    def energy_by_degree(self) -> np.ndarray:
        """``sum_{|beta| = k} alpha_beta^2`` for ``k = 0..degree``."""
        return np.array([float(np.sum(self.values[self.degree_slice(k)] ** 2)) for k in range(self.degree + 1)])

    def nonzero(self, threshold: float) -> list[tuple[tuple[int, ...], float]]:
        """``(beta, alpha_beta)`` with ``|alpha_beta| > threshold``, in order."""
        return [
            (tuple(int(x) for x in b), float(v))
            for b, v in zip(self.multi_indices, self.values)
            if abs(v) > threshold
        ]


def as_multivariate(spectrum: HermiteSpectrum | MultivariateSpectrum) -> MultivariateSpectrum:
    """View a 1-D :class:`HermiteSpectrum` as a :class:`MultivariateSpectrum` with ``r = 1``.

    The coefficients ``c_0..c_K`` become ``values`` with multi-indices ``(0,), (1,), ..., (K,)``;
    ``norm2``, ``tail``, ``method`` and ``name`` are kept. A :class:`MultivariateSpectrum` is
    returned as it is.

    Raises:
        MimflowError: for anything else.

    Example:
        >>> s = as_multivariate(HermiteSpectrum(np.array([0.0, 1.0]), 1.0, 0.0, "closed-form", "z"))
        >>> s.r, s.degree, s.multi_indices.tolist()
        (1, 1, [[0], [1]])
    """
    if isinstance(spectrum, MultivariateSpectrum):
        return spectrum
    if isinstance(spectrum, HermiteSpectrum):
        K = spectrum.degree
        values = np.asarray(spectrum.coefficients, dtype=np.float64)
        return MultivariateSpectrum(1, K, multi_indices(1, K), values, float(spectrum.norm2),
                                    float(spectrum.tail), spectrum.method, spectrum.name)
    raise MimflowError(
        f"expected a HermiteSpectrum or MultivariateSpectrum, got {type(spectrum).__name__}: "
        "build one with Link.spectrum(k_max) or mimflow.targets.multivariate_spectrum(link, k_max)"
    )
