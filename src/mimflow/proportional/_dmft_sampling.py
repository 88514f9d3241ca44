r"""Sampling the DMFT's r-side Gaussian process in square-root form (docs/math/dmft.md §3.3.1).

The r-side needs paths of ``(r*, w^0, w^1, ...)``, centred Gaussian with ``E r*^2 = 1``,
``E w^k r* = m_k``, ``E w^k w^s = C_theta(k, s)``, where row ``k`` of ``C_theta`` is known only at step
``k``. The coordinate process gives that covariance *as a factor*: with ``theta^0 = m_0 theta* +
sqrt(q_0 - m_0^2) zeta`` and ``u ~ N(0, C_g)``,

.. math::

    w^k = m_k r^* + \sqrt{q_0 - m_0^2}\,A_k\,\zeta + \sum_{s<k} R_\theta(k, s)\,u^s ,

and ``C_g = (alpha/N) G G^T`` is the Gram matrix of the paths' ``g`` (per batch). Orthonormalising the
rows ``g^0, g^1, ...`` as they appear (classical Gram-Schmidt with one reorthogonalisation, CGS2:
``g^s = sum_{j<=s} L_g(s, j) q_j``, :func:`gram_schmidt_row`) gives a lower-triangular factor
``C_g = (alpha/N) L_g L_g^T`` whose row ``s`` is final at step ``s``, so ``u^s = sqrt(alpha/N)
sum_{j<=s} L_g(s, j) xi_j`` with one fresh standard normal ``xi_j`` per path for each new direction,
and

.. math::

    w^k = m_k r^* + \sqrt{q_0 - m_0^2}\,A_k\,\zeta + \sqrt{\alpha/N}\,\sum_j \big(R_\theta L_g\big)(k, j)\,\xi_j

(:func:`sample_w`), exactly the Gaussian process with the covariance of the theta side, with no
matrix inverse and no eigenvalue cutoff. Cost ``O(k N)`` per batch and step, in the compiled step.

**Why not a regression on the past** (the sampler used until 2026-12-04, frozen in
``benchmarks/_dmft_previous.py``): ``w^k`` was drawn as the regression on the stored past
``(r*, w^0..w^{k-1})`` plus fresh noise, from an eigenvalue pseudo-inverse of the past covariance in
correlation scale with a relative cutoff. Once GD (or the power iteration of the spectral start)
converges, ``w^k -> w^{k-1}`` and the past covariance has eigenvalues down to ``1e-13`` of the largest;
every eigen-direction below the cutoff was turned into *fresh* noise, the fresh noise made ``C_g``
and then ``C_theta`` full rank at the cutoff level, and the next steps dropped that again: a noise
floor set by the cutoff, which biased the long-time overlap upward (issue 12 item 8): on the issue's
problem (``lr = 0.15``, 134 GD steps, 1e4 paths, seed 0) the last-step overlap fell with the cutoff,
0.98826 (``1e-4``), 0.98791 (``1e-7``), 0.98711 (``1e-10``), 0.98667 (``1e-13``), against the fixed
point 0.98615, with no sign of a limit before float64's resolution of the eigenvalues (~1e-14). The
square-root form never forms the ill-conditioned covariance: the small innovations are the Gram-Schmidt
residuals of the paths' ``g``, computed as vector norms to relative precision; a direction is dropped
only when its residual is below ``GS_RTOL`` of ``|g^k|`` (rounding level, e.g. when the ``N`` paths are
exhausted by ``T > N`` directions). An incremental Cholesky factor of ``C_theta`` with pivots truncated
at ``1e-10``-``1e-12`` was also tried (2026-12-03) and diverged: dropping a pivot of variance ``tau``
leaves errors ``sqrt(tau)`` in later covariances.
"""

from __future__ import annotations

import jax.numpy as jnp

from mimflow import _jax  # noqa: F401  (x64)

__all__ = ["GS_RTOL", "gram_schmidt_row", "sample_w"]

GS_RTOL = 1e-12
"""A new Gram-Schmidt direction is kept when its residual exceeds this times ``|g^k|`` (rounding level)."""


def gram_schmidt_row(Q, g, k):
    """Add ``g`` (the paths' ``g^k``, shape ``(N,)``) to the orthonormal rows ``Q (Tt, N)`` (rows ``>= k`` zero).

    Returns the updated ``Q`` (row ``k`` the new direction, or zero when the residual is below
    ``GS_RTOL |g|``) and the row ``L_g(k, .)`` of coefficients, ``g = L_g(k, .) @ Q``. Two passes of
    classical Gram-Schmidt (CGS2) keep ``Q`` orthonormal to rounding.
    """
    c = Q @ g
    r = g - c @ Q
    c2 = Q @ r
    r = r - c2 @ Q
    c = c + c2
    rho = jnp.sqrt(jnp.sum(r * r))
    keep = rho > GS_RTOL * jnp.sqrt(jnp.sum(g * g))
    q = jnp.where(keep, r / jnp.where(keep, rho, 1.0), 0.0)
    Q = Q.at[k].set(q)
    return Q, c.at[k].set(jnp.where(keep, rho, 0.0))


def sample_w(Z, zeta, m_k, a_k, r_row, Lg, alpha: float, c_zeta):
    """``w^k`` on every path of one batch (module docstring).

    ``Z (Tt + 1, N)``: row 0 ``r*``, row ``1 + j`` the feature ``xi_j`` of direction ``j``; ``zeta (N,)``;
    ``m_k``, ``a_k`` (``A_k``), ``r_row`` (``R_theta(k, .)``, ``(Tt,)``), ``Lg (Tt, Tt)``; ``c_zeta`` is
    ``sqrt(q_0 - m_0^2)``.
    """
    N = Z.shape[1]
    coef = jnp.sqrt(alpha / N) * (r_row @ Lg)
    return m_k * Z[0] + c_zeta * a_k * zeta + coef @ Z[1:]
