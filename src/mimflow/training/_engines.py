r"""The two engines of online SGD: d-dimensional samples, and the exact reduced Gram-matrix chain.

Both engines run the same :class:`~mimflow.training.TrainingAlgorithm` (per-sample coefficient
``a(lambda, y)``, :mod:`mimflow.training._algorithms`). By rotation invariance of the data the
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
(small products written elementwise, :func:`_mm`).

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
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow.training._algorithms import TrainingAlgorithm


class ReducedState(NamedTuple):
    M: jax.Array  # (r, p)
    Q: jax.Array  # (p, p)
    params: dict
    key: jax.Array


class FullState(NamedTuple):
    W: jax.Array  # (d, p)
    params: dict
    key: jax.Array


def psd_sqrt(S):
    """Symmetric square root of a symmetric PSD matrix (negative rounding eigenvalues clipped)."""
    if S.shape[0] == 1:
        return jnp.sqrt(jnp.maximum(S, 0.0))
    w, V = jnp.linalg.eigh(0.5 * (S + S.T))
    return (V * jnp.sqrt(jnp.maximum(w, 0.0))[None, :]) @ V.T


def inverse_sqrt(S):
    """``S^{-1/2}`` of a symmetric positive definite matrix."""
    if S.shape[0] == 1:
        return 1.0 / jnp.sqrt(S)
    w, V = jnp.linalg.eigh(0.5 * (S + S.T))
    return (V / jnp.sqrt(w)[None, :]) @ V.T


def gamma_variates(key, alpha, first=None):
    r"""Exact Gamma(``alpha``) variates, ``alpha`` of any shape (``> 0``, possibly traced).

    Marsaglia & Tsang, "A simple method for generating gamma variables", ACM TOMS 26 (2000): for
    :math:`a \ge 1`, :math:`\delta = a - 1/3`, propose :math:`\delta(1 + x/\sqrt{9\delta})^3` with
    :math:`x \sim N(0,1)` and accept if :math:`\log u < x^2/2 + \delta - \delta v + \delta\log v`
    (acceptance > 95%); for :math:`a < 1` use :math:`\Gamma(a) = \Gamma(a+1)\,U^{1/a}`. Uniforms are
    :math:`\Phi(g)` of Gaussians. ``first`` (optional, shape ``(GAMMA_DRAWS,) + alpha.shape``) are standard
    Gaussians drawn by the caller for the first proposals and the boost, so that a step needs one PRNG
    call (any odd number ``2k + 1`` of rows gives ``k`` proposals); further proposals (rare) come from
    ``fold_in(key, i)``, ``i >= 2``. A hand-written rejection loop
    compiles in a fraction of the time of ``jax.random.gamma``.
    """
    alpha = jnp.asarray(alpha, dtype=jnp.float64)
    if first is None:
        first = jax.random.normal(jax.random.fold_in(key, 0), (GAMMA_DRAWS,) + alpha.shape, dtype=jnp.float64)
    proposals = (first.shape[0] - 1) // 2
    ndtr = jax.scipy.special.ndtr

    def redraw(i):
        g = jax.random.normal(jax.random.fold_in(key, i), (2,) + alpha.shape, dtype=jnp.float64)
        return g[0], ndtr(g[1])

    return _marsaglia_tsang(alpha, first[0:2 * proposals:2], ndtr(first[1:2 * proposals:2]),
                            ndtr(first[2 * proposals]), redraw)


def _marsaglia_tsang(alpha, xs, us, boost_u, redraw):
    """Gamma(``alpha``) from proposals ``xs`` (normals) and ``us`` (uniforms), both ``(k,) + alpha.shape``
    (the first accepted one is taken), ``redraw(i) -> (x, u)`` for the rare case that all ``k`` are
    rejected (``i = 2, 3, ...``), and ``boost_u`` (uniform) for ``alpha < 1`` (see :func:`gamma_variates`).
    """
    small = alpha < 1.0
    a = jnp.where(small, alpha + 1.0, alpha)
    delta = a - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * delta)

    def propose(x, u):
        v = (1.0 + c * x) ** 3
        ok = (v > 0) & (jnp.log(u) < 0.5 * x * x + delta - delta * v + delta * jnp.log(jnp.where(v > 0, v, 1.0)))
        return ok, delta * v

    # the first accepted of the given proposals; the loop below runs only when all of them were
    # rejected (probability < 1e-4 per variate and proposal for a >= 1)
    oks, values = zip(*(propose(xs[j], us[j]) for j in range(xs.shape[0])))
    ok, value = oks[-1], values[-1]
    for j in range(xs.shape[0] - 2, -1, -1):
        value = jnp.where(oks[j], values[j], value)
        ok = ok | oks[j]

    def cond(carry):
        return ~jnp.all(carry[0])

    def body(carry):
        done, value, i = carry
        ok, proposal = propose(*redraw(i))
        return done | ok, jnp.where(ok & ~done, proposal, value), i + 1

    # fallback proposals from fold_in(key, i), i >= 2 (fold_in(key, 1) is left to the caller, e.g. a link refit)
    _, value, _ = jax.lax.while_loop(cond, body, (ok, value, jnp.uint32(2)))
    # the boost Gamma(a) = Gamma(a + 1) U^(1/a) only where a < 1 (d - r - p < 2); under vmap over steps
    # and seeds ``alpha`` is not batched, so this stays a real branch and costs nothing for large d
    return jax.lax.cond(jnp.any(small), lambda v: jnp.where(small, v * boost_u ** (1.0 / alpha), v), lambda v: v,
                        value)


def uniforms_from_bits(bits):
    """Uniforms in the open interval (0, 1) from ``uint64`` random bits: ``(b >> 11 + 1/2) 2^-53``."""
    return ((bits >> 11).astype(jnp.float64) + 0.5) * (2.0**-53)


def normals_from_bits(bits):
    r"""Standard normals from ``uint64`` random bits, as ``jax.random.normal`` does:
    :math:`\sqrt2\,\mathrm{erf}^{-1}(v)` with :math:`v = (2m + 1)2^{-52} - 1`, ``m = b >> 12``, exactly
    representable and symmetric in (-1, 1)."""
    v = ((bits >> 12).astype(jnp.float64) * 2.0 + 1.0) * (2.0**-52) - 1.0
    return jnp.sqrt(2.0) * jax.lax.erf_inv(v)


GAMMA_PROPOSALS = 3
GAMMA_DRAWS = 2 * GAMMA_PROPOSALS + 1
"""Standard normals per gamma variate in ``first``: ``GAMMA_PROPOSALS`` (x, u) pairs and one boost."""


SMALL_INNER = 8
"""Inner dimensions up to this size are contracted by unrolled multiply-adds (:func:`_mm`)."""


def _mm(a, b):
    """``a (m, k) @ b (k, n)``; for ``k <= SMALL_INNER`` written as ``k`` unrolled broadcast multiply-adds.

    XLA on CPU runs a tiny ``dot_general`` or reduction (1x1 .. 4x4, batched under ``vmap``) as its
    own kernel, while elementwise multiply-adds fuse with their neighbours into one loop: in the
    reduced chain's step this took the number of kernels per step from ~26 to a few."""
    k = a.shape[1]
    if k > SMALL_INNER:
        return a @ b
    out = a[:, 0:1] * b[0:1, :]
    for j in range(1, k):
        out = out + a[:, j:j + 1] * b[j:j + 1, :]
    return out


def _bmm(a, b):
    """Batched :func:`_mm`: ``a (S, m, k) @ b (S, k, n)``."""
    k = a.shape[2]
    if k > SMALL_INNER:
        return jnp.einsum("smk,skn->smn", a, b)
    out = a[:, :, 0:1] * b[:, 0:1, :]
    for j in range(1, k):
        out = out + a[:, :, j:j + 1] * b[:, j:j + 1, :]
    return out


def chi2(key, dof, first=None):
    """Chi-square variates with ``dof`` (possibly traced, real, > 0) degrees of freedom (see :func:`gamma_variates`)."""
    return 2.0 * gamma_variates(key, jnp.asarray(dof, dtype=jnp.float64) / 2.0, first)


def bartlett_from(chi2s, normals, p: int):
    """Lower-triangular ``L`` with ``L L^T ~ Wishart_p(dof, I)``: ``chi2s`` (p,) with dof - i degrees of
    freedom, ``normals`` (p(p-1)/2,) standard normals below the diagonal."""
    rows, cols = np.tril_indices(p, k=-1)
    L = jnp.zeros((p, p), dtype=jnp.float64).at[rows, cols].set(normals)
    return L + jnp.diag(jnp.sqrt(chi2s))


def bartlett(key, dof, p: int):
    """Lower-triangular ``L`` with ``L L^T ~ Wishart_p(dof, I)`` (``dof`` may be traced)."""
    k1, k2 = jax.random.split(key)
    chi2s = chi2(k1, dof - jnp.arange(p, dtype=jnp.float64))
    normals = jax.random.normal(k2, (p * (p - 1) // 2,), dtype=jnp.float64)
    return bartlett_from(chi2s, normals, p)


def wishart_from(chi2s, normals, C):
    r""":math:`\mathrm{Wishart}_p(\mathrm{dof}, C)` as :math:`C^{1/2}LL^TC^{1/2}` from the Bartlett variables
    (any square root works: the standard Wishart is rotation invariant)."""
    p = C.shape[0]
    if p == 1:
        return C * chi2s[0]
    SL = psd_sqrt(C) @ bartlett_from(chi2s, normals, p)
    return SL @ SL.T


def orthogonal_part(key, first, dof, A):
    r""":math:`A^TX\Pi^\perp X^TA` for a batch ``A (B, p)``: :math:`A^T\,\mathrm{Wishart}_B(\mathrm{dof}, I)\,A`
    when ``B <= p`` (Bartlett of size B, no matrix root; ``B = 1``: :math:`\chi^2\,aa^T`), else
    :math:`\mathrm{Wishart}_p(\mathrm{dof}, A^TA)`. ``first`` holds ``GAMMA_DRAWS k + k(k-1)/2`` standard normals
    (first gamma proposals and boosts, then the Bartlett normals), ``k = min(B, p)``."""
    B, p = A.shape
    k = min(B, p)
    chi2s = chi2(key, dof - jnp.arange(k, dtype=jnp.float64), first[: GAMMA_DRAWS * k].reshape(GAMMA_DRAWS, k))
    below = first[GAMMA_DRAWS * k:]
    if B == 1:
        return chi2s[0] * (A.T @ A)
    if B <= p:
        AL = A.T @ bartlett_from(chi2s, below, B)
        return AL @ AL.T
    return wishart_from(chi2s, below, A.T @ A)


def orthogonal_part_draws(batch: int, p: int) -> int:
    """Number of standard normals :func:`orthogonal_part` takes in ``first``."""
    k = min(batch, p)
    return GAMMA_DRAWS * k + k * (k - 1) // 2


def _constants(algo: TrainingAlgorithm):
    L_P = np.linalg.cholesky(algo.teacher_gram)
    return jnp.asarray(L_P), jnp.asarray(np.linalg.inv(L_P)), jnp.asarray(L_P.T)


def _labels(algo, Z, key):
    y = algo.labels(Z)
    if algo.noise > 0:
        y = y + algo.noise * jax.random.normal(key, y.shape, dtype=jnp.float64)
    return y


# ----------------------------------------------------------------------------- reduced


def _factor(S):
    """``F`` with ``F F^T = S`` (S symmetric PSD, p x p): Cholesky with a 1e-13 relative jitter, so an
    S that is singular to rounding (student aligned with the teacher) stays finite. Any factor gives
    the same law, since it multiplies isotropic Gaussians."""
    p = S.shape[0]
    if p == 1:
        return jnp.sqrt(jnp.maximum(S, 0.0))
    eps = 1e-13 * jnp.maximum(jnp.trace(S) / p, 1e-300)
    return jnp.linalg.cholesky(0.5 * (S + S.T) + eps * jnp.eye(p))


def _identity_teacher(algo: TrainingAlgorithm) -> bool:
    return bool(np.array_equal(np.asarray(algo.teacher_gram), np.eye(algo.r)))


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


def _maybe_refit_fresh(algo, step, params, key, sample, overlaps=None):
    """Refit the link on a fresh batch every ``refit_every`` steps (``sample(key, n) -> (Z, lam)``); with
    ``link_fit="moments"`` from a draw of the batch's statistics given ``overlaps() -> (M, Q)``."""
    if algo.fit is None or algo.link_fit not in ("fresh", "moments"):
        return params

    def refit(params):
        if algo.link_fit == "moments":
            M, Q = overlaps()
            return algo.fit_overlaps(params, M, Q, key)
        k1, k2 = jax.random.split(key)
        Z, lam = sample(k1, algo.fit_batch)
        return algo.fit(params, lam, _labels(algo, Z, k2))

    if algo.refit_every == 1:
        return refit(params)
    return jax.lax.cond(step % algo.refit_every == 0, refit, lambda q: q, params)


def _after_step_fit(algo, step, params, lam, y):
    if algo.fit is None or algo.link_fit != "running":
        return params
    if algo.refit_every == 1:
        return algo.fit(params, lam, y)
    return jax.lax.cond(step % algo.refit_every == 0, lambda q: algo.fit(q, lam, y), lambda q: q, params)


def _sgd_params(params, grads, eta):
    return jax.tree_util.tree_map(lambda a, g: a - eta * g, params, grads)


def reduced_draw_layout(algo: TrainingAlgorithm, batch: int) -> tuple[int, int, int, int]:
    """Sizes of a reduced step's standard normals: ``(n_E, n_noise, n_below, k)`` -- batch coordinates
    ``E``, label noise, Bartlett normals below the diagonal, and ``k = min(B, p)`` chi-squares."""
    k = min(batch, algo.p)
    return batch * (algo.r + algo.p), batch if algo.noise > 0 else 0, k * (k - 1) // 2, k


GAMMA_REDRAW_SLOTS = 64
"""Rejected chi-square proposals redrawn per pass of the block rejection loop (:func:`_chi2_block`)."""


def _chi2_block(keys, dof, x, u):
    r"""Chi-squares ``(N, k)`` (``dof (k,)``) of ``N`` steps from one Marsaglia-Tsang proposal each
    (normals ``x``, uniforms ``u``, ``(N, k)``), rejected entries proposed again *compactly*.

    Each pass takes up to :data:`GAMMA_REDRAW_SLOTS` still-rejected entries (``jnp.nonzero`` with a fixed
    size), redraws only those from ``fold_in(key_n, i)`` (``i = 2, 3, ...`` counted per entry, column ``j`` of
    a ``(2, k)`` draw), and scatters them back, until none is left: about ``N k 7e-5`` rejections per block
    at ``dof ~ 1e3``, so one proposal per variate instead of a full re-draw of the block. ``keys (N,)`` are
    the steps' keys; the entry's sequence of proposals depends only on its own key, so the law and the
    numbers are those of a per-step sampler. ``alpha = dof/2 < 1`` takes the boost
    :math:`\Gamma(a) = \Gamma(a+1)U^{1/a}` with ``U`` from ``fold_in(key_n, 0)`` (only drawn when needed).
    """
    N, k = x.shape
    total = N * k
    alpha = jnp.asarray(dof, dtype=jnp.float64) / 2.0
    small = alpha < 1.0
    a = jnp.where(small, alpha + 1.0, alpha)
    delta = a - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * delta)

    def propose(x, u, delta, c):
        v = (1.0 + c * x) ** 3
        ok = (v > 0) & (jnp.log(u) < 0.5 * x * x + delta - delta * v + delta * jnp.log(jnp.where(v > 0, v, 1.0)))
        return ok, delta * v

    ok, value = propose(x, u, delta[None, :], c[None, :])
    ok, value = ok.reshape(total), value.reshape(total)

    def body(carry):
        ok, value, attempts = carry
        idx = jnp.nonzero(~ok, size=GAMMA_REDRAW_SLOTS, fill_value=total)[0]
        safe = jnp.minimum(idx, total - 1)
        entry, col = safe // k, safe % k
        bits = jax.vmap(lambda kk, i: jax.random.bits(jax.random.fold_in(kk, i), (2, k), dtype=jnp.uint64))(
            keys[entry], attempts[safe])
        bits = jnp.take_along_axis(bits, col[:, None, None], axis=2)[:, :, 0]  # (slots, 2)
        new_ok, new_value = propose(normals_from_bits(bits[:, 0]), uniforms_from_bits(bits[:, 1]), delta[col], c[col])
        ok = ok.at[idx].set(new_ok, mode="drop")
        value = value.at[idx].set(jnp.where(new_ok, new_value, value[safe]), mode="drop")
        return ok, value, attempts.at[idx].add(jnp.uint32(1), mode="drop")

    _, value, _ = jax.lax.while_loop(lambda carry: ~jnp.all(carry[0]), body,
                                     (ok, value, jnp.full((total,), 2, dtype=jnp.uint32)))
    value = value.reshape(N, k)

    def boost(v):
        U = uniforms_from_bits(jax.vmap(lambda kk: jax.random.bits(jax.random.fold_in(kk, 0), (k,), dtype=jnp.uint64))(
            keys))
        return jnp.where(small[None, :], v * U ** (1.0 / alpha[None, :]), v)

    return 2.0 * jax.lax.cond(jnp.any(small), boost, lambda v: v, value)


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


# ----------------------------------------------------------------------------- d-dimensional


def retract_weights(constraint: str, W):
    """Polar retraction (Stiefel), column normalisation (sphere) or nothing (free)."""
    if constraint == "stiefel":
        return W @ inverse_sqrt(W.T @ W)
    if constraint == "sphere":
        return W / jnp.linalg.norm(W, axis=0)[None, :]
    return W


def full_initial(algo: TrainingAlgorithm, d: int, key):
    Zw = jax.random.normal(key, (d, algo.p), dtype=jnp.float64)
    if algo.constraint == "stiefel":
        return retract_weights("stiefel", Zw)
    return Zw / jnp.linalg.norm(Zw, axis=0)[None, :]


def full_overlaps(algo: TrainingAlgorithm, W):
    """``M = W*^T W = U^T W_{:r}`` and ``Q = W^T W``."""
    _, _, U = _constants(algo)
    return U.T @ W[: algo.r], W.T @ W


def full_step_samples(d: int, batch: int, seed_key, step, sample_dtype=jnp.float64):
    """The ``(B, d)`` Gaussian samples of step ``step`` of one seed, from ``fold_in(seed_key, step)``, in
    ``sample_dtype`` (the engine draws them for a block of steps and all seeds at once)."""
    return jax.random.normal(jax.random.fold_in(seed_key, step), (batch, d), dtype=sample_dtype)


def full_step_from(algo: TrainingAlgorithm, d: int, eta, batch: int, step, state: FullState, X) -> FullState:
    """One SGD step of one seed on its samples ``X (B, d)`` (:func:`full_step_samples`), *before* the
    retraction (the engine retracts all seeds at once, :func:`retract_weights_batch`)."""
    W, params, seed_key = state
    X = X.astype(jnp.float64)
    k_x = jax.random.fold_in(seed_key, step)
    k_fit, k_noise = jax.random.fold_in(k_x, 1), jax.random.fold_in(k_x, 2)
    r = algo.r
    identity = _identity_teacher(algo)
    _, _, U = _constants(algo)

    def fields(X):
        return (X[:, :r] if identity else _mm(X[:, :r], U)), X @ W

    def sample(k, n):
        return fields(jax.random.normal(k, (n, d), dtype=jnp.float64))

    params = _maybe_refit_fresh(algo, step, params, k_fit, sample, lambda: full_overlaps(algo, W))
    Z, lam = fields(X)
    y = _labels(algo, Z, k_noise)
    A, grads = algo.coefficients(params, lam, y)
    W_new = W - (eta / batch) * _mm(X.T, A)
    params = _after_step_fit(algo, step, _sgd_params(params, grads, eta), lam, y)
    return FullState(W_new, params, seed_key)


def full_step(algo: TrainingAlgorithm, d: int, eta, batch: int, step, state: FullState, *, sample_dtype=jnp.float64) -> FullState:
    """One SGD step on ``d``-dimensional Gaussian samples for one seed (samples, step, retraction)."""
    X = full_step_samples(d, batch, state.key, step, sample_dtype)
    W, params, key = full_step_from(algo, d, eta, batch, step, state, X)
    return FullState(retract_weights(algo.constraint, W), params, key)


def retract_weights_batch(constraint: str, W):
    """:func:`retract_weights` of all seeds at once, ``W (S, d, p)``: the Stiefel polar factor
    ``W (W^T W)^{-1/2}`` with ``W (p x p)`` products written elementwise (:func:`_bmm`; measured ~2x faster
    than a batched ``dot_general`` on CPU). The ``p x p`` ``eigh`` costs ~1 us per seed here."""
    if constraint != "stiefel" or W.shape[-1] == 1:
        return jax.vmap(lambda w: retract_weights(constraint, w))(W)
    S = jnp.einsum("sdp,sdq->spq", W, W)
    return _bmm(W, jax.vmap(inverse_sqrt)(S))


def full_batch_step(algo: TrainingAlgorithm, eta, X, Z, y, step, W, params):
    """One full-batch GD step on a fixed sample ``X (n, d)`` (labels ``y``); the link is refitted on it."""
    lam = X @ W
    if algo.fit is not None:
        params = (algo.fit(params, lam, y) if algo.link_fit in ("fresh", "moments")
                  else _after_step_fit(algo, step, params, lam, y))
    A, grads = algo.coefficients(params, lam, y)
    n = X.shape[0]
    W_new = W - (eta / n) * (X.T @ A)
    return retract_weights(algo.constraint, W_new), _sgd_params(params, grads, eta)
