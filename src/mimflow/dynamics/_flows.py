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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.hermite import MultivariateSpectrum, ridge_factors
from mimflow.dynamics._polynomial import correlation_polynomial

ALGORITHMS = ("two-timescale", "planted")


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
    r"""A population gradient flow in overlap space (final; build with :func:`two_timescale_flow` or :func:`planted_flow`).

    Attributes:
        algorithm: ``"two-timescale"`` or ``"planted"``.
        r: teacher rank; ``p``: student rank.
        spectrum: the (possibly ridge-shrunk) truncated spectrum driving the flow.
        truncation_tail: energy of ``f*`` above the truncation degree (not seen by the flow).
        loss: ``M (r, p) -> scalar`` (jit-able, differentiable).
        vector_field: ``M (r, p) -> dM/dt (r, p)``.
    """

    algorithm: str
    r: int
    p: int
    spectrum: MultivariateSpectrum = field(repr=False)
    truncation_tail: float
    loss: Callable = field(repr=False)
    vector_field: Callable = field(repr=False)
    ridge: float = 0.0

    @property
    def degree(self) -> int:
        return self.spectrum.degree

    def flat_vector_field(self, y: jax.Array) -> jax.Array:
        """The vector field on the flattened state ``y = M.reshape(-1)``."""
        return self.vector_field(y.reshape(self.r, self.p)).reshape(-1)

    def flat_loss(self, y: jax.Array) -> jax.Array:
        return self.loss(y.reshape(self.r, self.p))


def _as_multivariate(spectrum) -> MultivariateSpectrum:
    from mimflow.hermite import HermiteSpectrum, multi_indices

    if isinstance(spectrum, MultivariateSpectrum):
        return spectrum
    if isinstance(spectrum, HermiteSpectrum):
        K = spectrum.degree
        return MultivariateSpectrum(1, K, multi_indices(1, K), np.asarray(spectrum.coefficients, float),
                                    spectrum.norm2, spectrum.tail, spectrum.method, spectrum.name)
    raise MimflowError(f"expected a Hermite spectrum, got {type(spectrum).__name__}")


def _check_spectrum_values(spectrum: MultivariateSpectrum) -> None:
    if not np.all(np.isfinite(spectrum.values)):
        raise MimflowError("the link's Hermite coefficients are not finite (NaN/inf): check the link")
    if float(np.sum(spectrum.values[1:] ** 2)) == 0.0:
        raise MimflowError("the link is constant (no Hermite component of degree >= 1): there is nothing to learn")


def two_timescale_flow(spectrum, *, student_rank: int | None = None, ridge: float = 0.0,
                       kernel_decay: float = 0.5) -> OverlapFlow:
    """The two-timescale Grassmannian flow of a link with the given (truncated) spectrum."""
    spectrum = _as_multivariate(spectrum)
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

    return OverlapFlow("two-timescale", r, int(p), shrunk, float(spectrum.tail), loss, vector_field, float(ridge))


def planted_flow(spectrum, *, student_rank: int | None = None) -> OverlapFlow:
    """The planted Stiefel flow (link known and fixed; student rank must equal r)."""
    spectrum = _as_multivariate(spectrum)
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

    return OverlapFlow("planted", r, r, spectrum, float(spectrum.tail), loss, vector_field)


_FLOW_CACHE: dict = {}
_FLOW_CACHE_SIZE = 32


def make_flow(algorithm: str, spectrum, *, student_rank: int | None = None, ridge: float = 0.0,
              kernel_decay: float = 0.5) -> OverlapFlow:
    """Build the flow named ``algorithm`` (``two-timescale`` or ``planted``).

    Flows are cached by the content of their spectrum and parameters: the solver is compiled
    per flow object, so an identical flow built again (the next run of a sweep, the same link in
    a test) reuses the compiled code instead of compiling it anew.
    """
    spec = _as_multivariate(spectrum)
    key = (algorithm, spec.r, spec.degree, spec.values.tobytes(), spec.multi_indices.tobytes(),
           student_rank, float(ridge), float(kernel_decay))
    if key in _FLOW_CACHE:
        return _FLOW_CACHE[key]
    flow = _build_flow(algorithm, spec, student_rank=student_rank, ridge=ridge, kernel_decay=kernel_decay)
    if len(_FLOW_CACHE) >= _FLOW_CACHE_SIZE:
        _FLOW_CACHE.pop(next(iter(_FLOW_CACHE)))
    _FLOW_CACHE[key] = flow
    return flow


def _build_flow(algorithm: str, spectrum, *, student_rank, ridge, kernel_decay) -> OverlapFlow:
    if algorithm == "two-timescale":
        return two_timescale_flow(spectrum, student_rank=student_rank, ridge=ridge, kernel_decay=kernel_decay)
    if algorithm == "planted":
        if ridge:
            raise MimflowError("ridge applies to the two-timescale link fit only: drop --ridge for --algorithm planted")
        return planted_flow(spectrum, student_rank=student_rank)
    raise MimflowError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")
