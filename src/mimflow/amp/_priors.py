r"""Priors of the signal coordinates for Bayes-optimal GAMP: Gaussian and Rademacher (docs/math/amp.md §2).

A prior :math:`P_0` with :math:`\rho = E[X^2] = 1` enters the state evolution and the free entropy through
the scalar Gaussian channel :math:`Y = \sqrt{r}\,X + Z` (``r`` the signal-to-noise ratio):

.. math::

    \psi(r) = E \ln \int dP_0(x)\, e^{\sqrt r Z x + r X x - r x^2/2},\qquad
    \mathrm{mmse}(r) = E\big[(X - E[X|Y])^2\big] = \rho - 2\psi'(r),

and GAMP through the denoiser of :math:`P_0(x) e^{Bx - Ax^2/2}`: its mean ``f_a(A, B)`` and variance
``f_v(A, B)``.

* Gaussian :math:`N(0, 1)`: :math:`\psi = r/2 - \ln(1+r)/2`, :math:`\mathrm{mmse} = 1/(1+r)`,
  :math:`f_a = B/(1+A)`, :math:`f_v = 1/(1+A)`.
* Rademacher :math:`\pm 1`: :math:`\psi = E\ln\cosh(r + \sqrt r Z) - r/2`,
  :math:`\mathrm{mmse} = E[\cosh^{-2}(r + \sqrt r Z)]` (Nishimori: :math:`E\tanh = E\tanh^2`),
  :math:`f_a = \tanh B`, :math:`f_v = 1 - \tanh^2 B`.

References: Barbier, Krzakala, Macris, Miolane, Zdeborova, "Optimal errors and phase transitions in
high-dimensional generalized linear models", PNAS 116 (2019) 5451, eq. (4) (``psi_{P_0}``) and SI §1
(denoisers) -- docs/math/amp.md §2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError

__all__ = ["KNOWN_PRIORS", "GaussianPrior", "RademacherPrior", "make_prior"]

KNOWN_PRIORS = ("gaussian", "rademacher")


def _composite_gauss_rule(half_width: float = 14.0, panel: float = 0.25, nodes: int = 8):
    """Composite Gauss-Legendre rule for ``E[g(Z)]``, ``Z ~ N(0, 1)`` (weights include the density).

    A fine composite rule (not Gauss-Hermite) because ``cosh^{-2}(r + sqrt(r) Z)`` is a spike of width
    ``r^{-1/2}`` at ``Z = -sqrt(r)``, in the tail where Gauss-Hermite nodes are sparse.
    """
    x, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.arange(-half_width, half_width + panel / 2, panel)
    lo, hi = edges[:-1, None], edges[1:, None]
    z = (0.5 * (lo + hi) + 0.5 * (hi - lo) * x).ravel()
    wt = (0.5 * (hi - lo) * w).ravel() * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return z, wt


_Z, _W = _composite_gauss_rule()


@dataclass(frozen=True)
class GaussianPrior:
    """Standard Gaussian prior, ``rho = 1`` (final)."""

    name: str = "gaussian"
    rho: float = 1.0

    def mmse(self, r):
        """``1/(1 + r)``; ``r`` any shape (NumPy)."""
        r = np.asarray(r, dtype=float)
        return 1.0 / (1.0 + r)

    def psi(self, r):
        """``r/2 - log(1 + r)/2``."""
        r = np.asarray(r, dtype=float)
        return 0.5 * r - 0.5 * np.log1p(r)

    def denoise(self, A, B):
        """Posterior mean and variance of ``N(0,1)(x) exp(Bx - Ax^2/2)`` (JAX; ``A`` scalar, ``B`` (d,))."""
        return B / (1.0 + A), jnp.full_like(B, 1.0) / (1.0 + A)

    def sample(self, key, d: int):
        return jax.random.normal(key, (d,), dtype=jnp.float64)

    @property
    def entropy_at_perfect_recovery(self) -> float:
        """``lim_{r->inf} psi(r) - r rho/2``: ``-inf`` for a continuous prior (docs/math/amp.md §3.3)."""
        return -math.inf


@dataclass(frozen=True)
class RademacherPrior:
    """Uniform prior on ``{-1, +1}``, ``rho = 1`` (final)."""

    name: str = "rademacher"
    rho: float = 1.0

    def mmse(self, r):
        r"""``E[cosh^{-2}(r + sqrt(r) Z)]`` by a composite Gauss-Legendre rule in ``Z``."""
        r = np.asarray(r, dtype=float)
        x = r[..., None] + np.sqrt(r)[..., None] * _Z
        # cosh^{-2}(x) = 4 e^{-2|x|} / (1 + e^{-2|x|})^2, stable for large |x|
        e = np.exp(-2.0 * np.abs(x))
        return np.sum(_W * 4.0 * e / (1.0 + e) ** 2, axis=-1)

    def psi(self, r):
        """``E[log cosh(r + sqrt(r) Z)] - r/2``."""
        r = np.asarray(r, dtype=float)
        x = r[..., None] + np.sqrt(r)[..., None] * _Z
        logcosh = np.abs(x) + np.log1p(np.exp(-2.0 * np.abs(x))) - math.log(2.0)
        return np.sum(_W * logcosh, axis=-1) - 0.5 * r

    def denoise(self, A, B):
        """``tanh(B)`` and ``1 - tanh(B)^2`` (``A`` drops out since ``x^2 = 1``)."""
        t = jnp.tanh(B)
        return t, 1.0 - t * t

    def sample(self, key, d: int):
        return jnp.where(jax.random.bernoulli(key, 0.5, (d,)), 1.0, -1.0).astype(jnp.float64)

    @property
    def entropy_at_perfect_recovery(self) -> float:
        """``lim_{r->inf} psi(r) - r rho/2 = -log 2`` (minus the prior's entropy, docs/math/amp.md §3.3)."""
        return -math.log(2.0)


def make_prior(name: str):
    """``"gaussian"`` or ``"rademacher"`` (case-insensitive); anything else is a :class:`MimflowError`."""
    key = str(name).strip().lower()
    if key == "gaussian":
        return GaussianPrior()
    if key == "rademacher":
        return RademacherPrior()
    raise MimflowError(f"prior must be one of {', '.join(KNOWN_PRIORS)}, got {name!r}: pass --prior gaussian or --prior rademacher")
