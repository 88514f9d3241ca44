r"""The exact reduced Gram-matrix chain of online SGD, and the d-dimensional engine it is exact in law against.

Both engines run the same :class:`~mimflow.training.TrainingAlgorithm` (per-sample coefficient
``a(lambda, y)``, :mod:`mimflow.training._algorithm`). By rotation invariance of the data the
teacher is ``W* = [U; 0]`` with ``U^T U = P`` (``U = chol(P)^T``), so ``z = W*^T x = U^T x_{1:r}``.

**d-dimensional engine.** Draw ``X (B, d)``, ``Z = X_{:, :r} U``, ``Lambda = X W``,
``y = f*(Z) + sigma xi``, ``A = a(Lambda, y)`` and set :math:`W \leftarrow \mathcal R(W - \tfrac{\eta}{B}X^TA)`.

**Reduced engine (exact in law).** The state is the Gram matrix of ``[W*, W]``,
:math:`G = \begin{pmatrix}P & M\\ M^T & Q\end{pmatrix}`, ``M = W*^T W``, ``Q = W^T W``. Given ``G``, with an
orthonormal basis of ``span(W*, W)`` (rank ``r + p`` almost surely) and ``E (B, r+p)`` the standard
Gaussian coordinates of the batch in that basis,

.. math::

    Z = E_1 L_P^T,\qquad \Lambda = E_1 K^T + E_2 S^{1/2},\qquad
    K = M^T L_P^{-T},\quad S = Q - K K^T,\quad P = L_P L_P^T,

which is the law :math:`(Z, \Lambda) \sim N(0, G)` row by row. The components of the samples
orthogonal to that span are independent of everything else, and they enter the update only through
:math:`A^T X\Pi^\perp X^T A = (Y^TA)^T(Y^TA)` with ``Y (d-r-p, B)`` i.i.d. standard: conditionally on
``A`` this is :math:`\mathrm{Wishart}_p(d-r-p,\ A^TA)`, drawn with the Bartlett decomposition in
:math:`O(p^3)` whatever ``B`` and ``d`` (for ``B = 1``: :math:`\chi^2_{d-r-p}\,aa^T`, i.e.
:math:`\|x\|^2 = |E|^2 + \chi^2_{d-r-p}`). Then, exactly,

.. math::

    M' = M - \tfrac{\eta}{B}Z^TA,\qquad
    Q' = Q - \tfrac{\eta}{B}(\Lambda^TA + A^T\Lambda)
         + \tfrac{\eta^2}{B^2}\big((E^TA)^T(E^TA) + \mathrm{Wishart}_p(d-r-p, A^TA)\big),

followed by the retraction in overlaps: Stiefel :math:`M \leftarrow M'Q'^{-1/2},\ Q \leftarrow I`;
sphere :math:`D = \mathrm{diag}(Q')^{-1/2}`, :math:`M \leftarrow M'D,\ Q \leftarrow DQ'D`; free: none.
Cost per step ``O(B (r+p) p + p^3)``, independent of ``d``. The randomness (``E``, label noise, the
Bartlett normals and chi-squares) does not depend on the state: :func:`reduced_block_randomness` draws
it for a block of steps and all seeds at once, and :func:`reduced_step_from` is pure arithmetic
(small products written elementwise, :func:`~mimflow.training._linalg._mm`). The d-dimensional engine
is :mod:`mimflow.training._full`; the randomness helpers are in :mod:`mimflow.training._random`.

**Initial condition** (the same law in both engines): ``W = R(Z_W)`` with ``Z_W (d, p)`` standard
Gaussian and ``R`` the polar factor (Stiefel, Haar) or the column normalisation (sphere, free:
independent uniform unit columns). Reduced: the first ``r`` rows ``Z_1`` of ``Z_W`` and
:math:`Z_W^TZ_W = Z_1^TZ_1 + \mathrm{Wishart}_p(d-r, I)` (Bartlett) give ``M = U^T Z_1 R`` and ``Q``
exactly (as in :func:`mimflow.dynamics.haar_overlaps`).

**Noise correction.** To first order the retraction removes the second-order term: for the
Stiefel/sphere constraints, in time ``t = eta * step``,
:math:`\dot M = F(M) - \frac{\eta d}{2B}\,M\,\mathrm{diag\ or\ full}\,\mathbb{E}[aa^T] + O(\eta)`, so the population
flow ``F`` is the limit :math:`\eta d/B \to 0` (e.g. :math:`\eta = \eta_0/d`, :math:`\eta_0 \to 0`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mimflow import _jax  # noqa: F401
from mimflow._linalg import inverse_sqrt
from mimflow.training._algorithm import TrainingAlgorithm
from mimflow.training._common import (
    _after_step_fit,
    _constants,
    _identity_teacher,
    _maybe_refit_fresh,
    _sgd_params,
)
from mimflow.training._linalg import _factor, _mm
from mimflow.training._random import (
    _chi2_block,
    bartlett,
    bartlett_from,
    normals_from_bits,
    uniforms_from_bits,
    wishart_from,
)


class ReducedState(NamedTuple):
    M: jax.Array  # (r, p)
    Q: jax.Array  # (p, p)
    params: dict
    key: jax.Array


def _fields_from(algo: TrainingAlgorithm, M, Q, E):
    """``Z (n, r)``, ``Lambda (n, p)`` from standard coordinates ``E (n, r+p)`` (module docstring).

    Small products are written elementwise (:func:`_mm`); ``P = I`` (planted, two-timescale,
    committee) skips the teacher factor."""
    r = algo.r
    if _identity_teacher(algo):
        Z, Kt = E[:, :r], M  # (r, p) = K^T
    else:
        L_P, L_P_inv, _ = _constants(algo)
        Z, Kt = _mm(E[:, :r], L_P.T), _mm(L_P_inv, M)
    S = Q - _mm(Kt.T, Kt)
    return Z, _mm(E[:, :r], Kt) + _mm(E[:, r:], _factor(S).T)


def reduced_local_fields(algo: TrainingAlgorithm, M, Q, key, n: int):
    """``E (n, r+p)``, ``Z (n, r)``, ``Lambda (n, p)`` drawn exactly from the Gram matrix of ``[W*, W]``."""
    E = jax.random.normal(key, (n, algo.r + algo.p), dtype=jnp.float64)
    Z, lam = _fields_from(algo, M, Q, E)
    return E, Z, lam


def retract_overlaps(constraint: str, M, Q):
    """Retraction of the student written in overlaps (see the module docstring)."""
    if constraint == "stiefel":
        return _mm(M, inverse_sqrt(Q)), jnp.eye(Q.shape[0])
    if constraint == "sphere":
        s = 1.0 / jnp.sqrt(jnp.diag(Q))
        Qn = Q * s[:, None] * s[None, :]
        Qn = jnp.where(jnp.eye(Q.shape[0], dtype=bool), 1.0, Qn)
        return M * s[None, :], Qn
    return M, 0.5 * (Q + Q.T)

def reduced_draw_layout(algo: TrainingAlgorithm, batch: int) -> tuple[int, int, int, int]:
    """Sizes of a reduced step's standard normals: ``(n_E, n_noise, n_below, k)`` -- batch coordinates
    ``E``, label noise, Bartlett normals below the diagonal, and ``k = min(B, p)`` chi-squares."""
    k = min(batch, algo.p)
    return batch * (algo.r + algo.p), batch if algo.noise > 0 else 0, k * (k - 1) // 2, k

def reduced_block_randomness(algo: TrainingAlgorithm, batch: int, d, seed_keys, steps):
    r"""All the state-independent randomness of steps ``steps (L,)`` of seeds ``seed_keys (S,)``:
    ``(normals (L, S, n_E + n_noise + n_below), chi2s (L, S, k))``.

    ``normals`` are the batch coordinates ``E`` (row-major ``(B, r+p)``), the label noise and the
    Bartlett normals; ``chi2s`` the chi-squares with ``d - r - p - i`` degrees of freedom of the
    orthogonal part (module docstring). Step ``s`` of a seed uses only its key ``fold_in(seed_key, s)``:
    one draw of ``n_main + 2k`` random words (normals by :func:`normals_from_bits`, one Marsaglia-Tsang
    proposal ``(x, u)`` per chi-square, :func:`_chi2_block` for the rare rejections), so a step's numbers
    do not depend on how steps are grouped into blocks, chunks or seeds. The engine calls this once per
    block of steps for all seeds, outside the step loop.
    """
    n_e, n_noise, n_below, k = reduced_draw_layout(algo, batch)
    n_main = n_e + n_noise + n_below

    def one(seed_key, step):
        key = jax.random.fold_in(seed_key, step)
        return key, jax.random.bits(key, (n_main + 2 * k,), dtype=jnp.uint64)

    keys, bits = jax.vmap(jax.vmap(one, in_axes=(0, None)), in_axes=(None, 0))(seed_keys, steps)  # (L, S, ...)
    L, S = bits.shape[:2]
    normals = normals_from_bits(bits[..., :n_main + k])
    u = uniforms_from_bits(bits[..., n_main + k:])
    dof = d - (algo.r + algo.p) - jnp.arange(k, dtype=jnp.float64)
    flat_keys = keys.reshape((L * S,) + keys.shape[2:])
    chi2s = _chi2_block(flat_keys, dof, normals[..., n_main:].reshape(L * S, k), u.reshape(L * S, k))
    return normals[..., :n_main], chi2s.reshape(L, S, k)


def reduced_step_randomness(algo: TrainingAlgorithm, batch: int, d, seed_key, step):
    """:func:`reduced_block_randomness` of one step of one seed: ``(normals, chi2s)``."""
    normals, chi2s = reduced_block_randomness(algo, batch, d, seed_key[None], jnp.asarray(step)[None])
    return normals[0, 0], chi2s[0, 0]


def reduced_numbers_per_step(algo: TrainingAlgorithm, batch: int) -> int:
    """Float64 numbers a reduced step keeps in the per-block buffer (for the block length)."""
    n_e, n_noise, n_below, k = reduced_draw_layout(algo, batch)
    return n_e + n_noise + n_below + k


def _orthogonal_from(chi2s, below, A):
    """:func:`orthogonal_part` from drawn chi-squares (``k``,) and Bartlett normals, small products elementwise."""
    B, p = A.shape
    if B == 1:
        return chi2s[0] * _mm(A.T, A)
    if B <= p:
        AL = _mm(A.T, bartlett_from(chi2s, below, B))
        return _mm(AL, AL.T)
    return wishart_from(chi2s, below, _mm(A.T, A))


def reduced_step_from(algo: TrainingAlgorithm, d, eta, batch: int, step, state: ReducedState, normals, chi2s
                      ) -> ReducedState:
    """One exact step of the reduced chain for one seed from its randomness (:func:`reduced_step_randomness`)."""
    M, Q, params, seed_key = state
    r, p = algo.r, algo.p
    n_e, n_noise, _, _ = reduced_draw_layout(algo, batch)
    if algo.fit is not None and algo.link_fit in ("fresh", "moments"):
        k_fit = jax.random.fold_in(jax.random.fold_in(seed_key, step), 1)

        def sample(k, n):
            _, Z, lam = reduced_local_fields(algo, M, Q, k, n)
            return Z, lam

        params = _maybe_refit_fresh(algo, step, params, k_fit, sample, lambda: (M, Q))
    E = normals[:n_e].reshape(batch, r + p)
    Z, lam = _fields_from(algo, M, Q, E)
    y = algo.labels(Z)
    if algo.noise > 0:
        y = y + algo.noise * normals[n_e:n_e + n_noise]
    A, grads = algo.coefficients(params, lam, y)
    c = eta / batch
    LA = _mm(lam.T, A)
    EA = _mm(E.T, A)
    W2 = _orthogonal_from(chi2s, normals[n_e + n_noise:], A)
    Q_new = Q - c * (LA + LA.T) + c * c * (_mm(EA.T, EA) + W2)
    M_new = M - c * _mm(Z.T, A)
    params = _after_step_fit(algo, step, _sgd_params(params, grads, eta), lam, y)
    M_new, Q_new = retract_overlaps(algo.constraint, M_new, Q_new)
    return ReducedState(M_new, Q_new, params, seed_key)


def reduced_step(algo: TrainingAlgorithm, d, eta, batch: int, step, state: ReducedState) -> ReducedState:
    """One exact step of the reduced chain for one seed (``d`` and ``eta`` may be traced): its randomness
    (:func:`reduced_step_randomness`, from ``fold_in(seed_key, step)``) then :func:`reduced_step_from`.
    The engine (:func:`mimflow.training._online._reduced_segment`) does the same with the randomness of a
    block of steps drawn at once; both give the same numbers."""
    normals, chi2s = reduced_step_randomness(algo, batch, d, state.key, step)
    return reduced_step_from(algo, d, eta, batch, step, state, normals, chi2s)


def reduced_initial(algo: TrainingAlgorithm, d, key):
    """Exact initial ``(M, Q)`` for one seed (see the module docstring)."""
    _, _, U = _constants(algo)
    r, p = algo.r, algo.p
    k1, k2 = jax.random.split(key)
    Z1 = jax.random.normal(k1, (r, p), dtype=jnp.float64)
    L = bartlett(k2, d - r, p)
    G = Z1.T @ Z1 + L @ L.T
    if algo.constraint == "stiefel":
        R = inverse_sqrt(G)
        return U.T @ (Z1 @ R), jnp.eye(p)
    s = 1.0 / jnp.sqrt(jnp.diag(G))
    Q = G * s[:, None] * s[None, :]
    Q = jnp.where(jnp.eye(p, dtype=bool), 1.0, Q)
    return U.T @ (Z1 * s[None, :]), Q
