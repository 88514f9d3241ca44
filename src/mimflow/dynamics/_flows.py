r"""Population gradient flows in overlap space (Bietti, Bruna, Pillaud-Vivien 2023; docs/math/grassmannian-flow.md §1.4, docs/math/saddles.md §1.6, docs/math/planted.md §1.7, docs/math/finite-sample.md §1.8).

Both flows are closed ODEs in the overlap matrix :math:`M = W_*^T W \in \mathbb{R}^{r\times p}`
(teacher rank ``r``, student rank ``p``); ``d`` enters only through :math:`M(0)`. Time is in the
units of docs/math/grassmannian-flow.md §1.4: the loss carries the factor 1/2 and the learning rate is 1.

**Two-timescale (link fitted exactly, infinitely fast).** With :math:`G = M M^T` and the truncated
spectrum :math:`S_k` of ``f*`` (symmetric tensors, :mod:`mimflow.hermite._multiindex`),

.. math::

    L(M) = \tfrac12\sum_{k\le K}\|S_k\|^2 - \tfrac12\langle A_G f_*, f_*\rangle
         = \tfrac12\sum_{k\le K}\big(\|S_k\|^2 - \langle G^{\otimes k}S_k, S_k\rangle\big),
    \qquad \dot M = -(I_r - M M^T)\,\nabla_M L(M),

the Grassmannian gradient flow of docs/math/grassmannian-flow.md §1.4 (eq. (31) of the paper for the profile loss). The
loss vanishes exactly on ``span(W) ⊇ span(W*)``; the truncation tail
:math:`\|f_*\|^2 - \sum_{k\le K}\|S_k\|^2` is reported separately. With ridge :math:`\mu > 0`
(docs/math/finite-sample.md §1.8, Prop. 3.3) every degree is shrunk, :math:`S_k \to S_k\sqrt{q_k/(q_k+\mu)}`, for the
isotropic Hermite kernel :math:`q_k = \rho^k` (``kernel_decay`` ρ, default 1/2).

*Student rank.* ``p >= r``: the student can hold the whole teacher subspace and converges to it
(global convergence, docs/math/grassmannian-flow.md §1.5); the extra ``p - r`` directions stay uncorrelated. ``p < r``: it
can hold only ``p`` directions; the flow converges to the best ``p``-dimensional subspace and the
loss stays positive. Both are legal.

**Planted (link known and fixed).** With the same link applied to the student, ``p = r`` and

.. math::

    L_{pl}(M) = \sum_{k\le K}\big(\|S_k\|^2 - \langle M^{\otimes k}S_k, S_k\rangle\big)
              = \tfrac12\mathbb{E}[(f_*(W^Tx) - f_*(W_*^Tx))^2],
    \qquad \dot M = -\big(\nabla_M L - M\,\mathrm{sym}(M^T\nabla_M L)\big),

the Stiefel gradient flow (embedded metric) written in overlaps (docs/math/planted.md §1.7).

Single index checks (docs/math/grassmannian-flow.md §1.4): two-timescale :math:`\dot m = (1-m^2)\sum_k k\alpha_k^2 m^{2k-1}`,
planted :math:`\dot m = (1-m^2)\sum_k k\alpha_k^2 m^{k-1}`.

Every population limit of :mod:`mimflow.training` is an :class:`OverlapFlow`: the correlation-loss
neurons of docs/math/neurons.md §2.2 are built by :func:`~mimflow.dynamics.correlation_flow`
(:mod:`mimflow.dynamics._correlation`), and :func:`~mimflow.dynamics.make_flow` looks any of them up
by name (:data:`~mimflow.dynamics.FLOWS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.dynamics._polynomial import correlation_polynomial
from mimflow.hermite import HermiteSpectrum, MultivariateSpectrum, multi_indices, ridge_factors

GEOMETRIES = ("grassmann", "stiefel", "sphere")
"""How the student is constrained: Grassmannian (``W`` up to rotations, two-timescale), Stiefel
(``W^T W = I``, planted) or each column on the sphere (correlation neurons)."""


def shrink_spectrum(spectrum: MultivariateSpectrum, ridge: float, kernel_decay: float = 0.5) -> MultivariateSpectrum:
    r"""Ridge shrinkage of docs/math/finite-sample.md §1.8: degree k scaled by :math:`\sqrt{q_k/(q_k+\mu)}`, :math:`q_k = \rho^k`."""
    factors = ridge_factors(spectrum.multi_indices.sum(axis=1), ridge, kernel_decay)
    if ridge == 0:
        return spectrum
    values = spectrum.values * np.sqrt(factors)
    kept = float(np.sum(values**2))
    return MultivariateSpectrum(
        spectrum.r, spectrum.degree, spectrum.multi_indices, values, kept, 0.0,
        f"{spectrum.method}+ridge", spectrum.name,
    )


@dataclass(frozen=True, eq=False)
class OverlapFlow:
    r"""A population gradient flow in overlap space (final; build with :func:`make_flow` or one of the builders).

    The state is the overlap matrix :math:`M = W_*^T W` (``(r, p)``); every flow, whatever the
    algorithm it is the limit of, is solved by :func:`~mimflow.dynamics.solve_flow`.

    Attributes:
        algorithm: the name it is registered under in :data:`~mimflow.dynamics.FLOWS`.
        r: teacher rank (rows of ``M``); ``p``: student rank (columns of ``M``).
        loss: ``M (r, p) -> scalar`` (jit-able, differentiable).
        vector_field: ``M (r, p) -> dM/dt (r, p)``.
        geometry: one of :data:`GEOMETRIES`, the constraint the flow preserves.
        degree: truncation degree of the spectrum driving the flow.
        spectrum: the (possibly ridge-shrunk) truncated spectrum driving the flow (``None`` when the
            flow is given by other coefficients, e.g. :func:`~mimflow.dynamics.correlation_flow` of two links).
        truncation_tail: energy of ``f*`` above the truncation degree (not seen by the flow).
        ridge: ridge of the link fit (two-timescale).
        zero_minimum: the minimum of ``loss`` is known to be 0 (a run may stop once it is reached).
    """

    algorithm: str
    r: int
    p: int
    loss: Callable = field(repr=False)
    vector_field: Callable = field(repr=False)
    geometry: str = "stiefel"
    degree: int = 0
    spectrum: MultivariateSpectrum | None = field(default=None, repr=False)
    truncation_tail: float = 0.0
    ridge: float = 0.0
    zero_minimum: bool = False

    def flat_vector_field(self, y: jax.Array) -> jax.Array:
        """The vector field on the flattened state ``y = M.reshape(-1)``."""
        return self.vector_field(y.reshape(self.r, self.p)).reshape(-1)

    def flat_loss(self, y: jax.Array) -> jax.Array:
        return self.loss(y.reshape(self.r, self.p))


def as_multivariate(spectrum) -> MultivariateSpectrum:
    """A :class:`~mimflow.hermite.MultivariateSpectrum` (a one-variable spectrum becomes ``r = 1``)."""
    if isinstance(spectrum, MultivariateSpectrum):
        return spectrum
    if isinstance(spectrum, HermiteSpectrum):
        K = spectrum.degree
        return MultivariateSpectrum(1, K, multi_indices(1, K), np.asarray(spectrum.coefficients, float),
                                    spectrum.norm2, spectrum.tail, spectrum.method, spectrum.name)
    raise MimflowError(f"expected a Hermite spectrum, got {type(spectrum).__name__}")


def spectrum_rank(spectrum: MultivariateSpectrum, rtol: float = 1e-8) -> int:
    """Dimension of the subspace a link depends on: rank of ``sum_k unfold(S_k) unfold(S_k)^T``."""
    sigma = np.zeros((spectrum.r, spectrum.r))
    for k in range(1, spectrum.degree + 1):
        S = spectrum.tensor(k).reshape(spectrum.r, -1)
        sigma += S @ S.T
    eig = np.linalg.eigvalsh(sigma)
    return int(np.sum(eig > rtol**2 * max(float(np.sum(spectrum.values**2)), 1e-300)))


def _check_spectrum_values(spectrum: MultivariateSpectrum) -> None:
    if not np.all(np.isfinite(spectrum.values)):
        raise MimflowError("the link's Hermite coefficients are not finite (NaN/inf): check the link")
    if float(np.sum(spectrum.values[1:] ** 2)) == 0.0:
        raise MimflowError("the link is constant (no Hermite component of degree >= 1): there is nothing to learn")


def two_timescale_flow(spectrum, *, student_rank: int | None = None, ridge: float = 0.0,
                       kernel_decay: float = 0.5) -> OverlapFlow:
    """The two-timescale Grassmannian flow of a link with the given (truncated) spectrum."""
    spectrum = as_multivariate(spectrum)
    _check_spectrum_values(spectrum)
    r = spectrum.r
    p = r if student_rank is None else student_rank
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise MimflowError(f"student rank must be a positive integer, got {student_rank!r}")
    shrunk = shrink_spectrum(spectrum, ridge, kernel_decay)
    correlation = correlation_polynomial(shrunk, shrunk)
    total = float(np.sum(shrunk.values**2))
    eye = jnp.eye(r)

    def loss(M):
        return 0.5 * (total - correlation(M @ M.T))

    def vector_field(M):
        grad = jax.grad(loss)(M)
        return -(eye - M @ M.T) @ grad

    # global convergence when the student can hold every direction the link depends on (docs/math/grassmannian-flow.md §1.5)
    return OverlapFlow("two-timescale", r, int(p), loss, vector_field, geometry="grassmann", degree=shrunk.degree,
                       spectrum=shrunk, truncation_tail=float(spectrum.tail), ridge=float(ridge),
                       zero_minimum=bool(p >= spectrum_rank(shrunk)))


def planted_flow(spectrum, *, student_rank: int | None = None) -> OverlapFlow:
    """The planted Stiefel flow (link known and fixed; student rank must equal r)."""
    spectrum = as_multivariate(spectrum)
    _check_spectrum_values(spectrum)
    r = spectrum.r
    if student_rank is not None and student_rank != r:
        raise MimflowError(
            f"the planted problem uses the link itself as the student's link, so the student rank must be r = {r},"
            f" got {student_rank}: drop --rank or use --algorithm two-timescale"
        )
    correlation = correlation_polynomial(spectrum, spectrum)
    total = float(np.sum(spectrum.values**2))

    def loss(M):
        return total - correlation(M)

    def vector_field(M):
        grad = jax.grad(loss)(M)
        lam = M.T @ grad
        return -(grad - M @ (0.5 * (lam + lam.T)))

    return OverlapFlow("planted", r, r, loss, vector_field, geometry="stiefel", degree=spectrum.degree,
                       spectrum=spectrum, truncation_tail=float(spectrum.tail), zero_minimum=True)
