r"""State-independent randomness of the engines: exact gamma / chi-square variates, normals and uniforms
from random bits, Bartlett factors and Wishart draws (the orthogonal part of the reduced chain,
:mod:`mimflow.training._reduced`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._linalg import psd_sqrt


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
