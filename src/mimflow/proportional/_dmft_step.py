r"""One compiled step of the Monte Carlo DMFT (docs/math/dmft.md §3.3): square-root sampling, kernels, theta-side row.

Used by :func:`._dmft.solve_dmft`, whose docstring states the equations. This module holds the three
numerical pieces of a step and their costs (``k`` the step, ``Tt`` the padded time buffer, ``N``
paths per batch, ``B`` batches):

* **Sampling** of ``w^k`` in square-root form (docs/math/dmft.md §3.3.1, :mod:`._dmft_sampling`):
  ``O(k N)``, and the Gram-Schmidt row of ``g^k`` that extends the factor ``L_g`` of ``C_g``, ``O(Tt N)``.
* **Kernels** ``C_g(k, .)`` (``O(k N)``), ``nu_k`` and ``R_g(k, .)``: the row of responses
  ``d r^k / d w^s`` by the blocked adjoint sweep of :func:`adjoint_rows`, ``O(k^2 N)`` per batch,
  the ``O(T^3 N)`` term of a solve.
* **Theta side** (exact given the kernels): ``O(Tt^2)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from mimflow import _jax  # noqa: F401  (x64)
from mimflow.proportional._dmft_sampling import gram_schmidt_row, sample_w

__all__ = ["BLOCK", "make_step", "init_state", "adjoint_rows"]

BLOCK = 16
"""Block size (in time) of the adjoint sweep."""


def adjoint_rows(R, D, k, n_time: int):
    """``a_s = d r^k / d w^s`` for ``s <= k`` on every path of one batch.

    ``R (Tt, Tt)`` strictly lower (``R_theta``), ``D (Tt, N)`` (``G'(r^q)``); returns ``(Tt, N)``.
    Blocked right-looking sweep over tiles of ``BLOCK`` times, from the tile holding ``k`` down to 0:
    inside a tile ``a_q = -D_q (acc_q + sum_{p in tile, p > q} R[p, q] a_p)`` sequentially (``a_k = 1``);
    then the tile's contribution ``R[tile, lower tile]^T a_tile`` is added to the accumulator of every
    lower tile (a ``BLOCK x BLOCK`` by ``BLOCK x N`` product each). Work ``~ k^2 N / 2``.
    """
    n_blocks = n_time // BLOCK
    N = D.shape[1]
    top = k // BLOCK

    def block_body(i, carry):
        a, acc = carry
        j = top - i
        lo = j * BLOCK
        acc_blk = acc[j]  # (BLOCK, N)
        D_blk = jax.lax.dynamic_slice(D, (lo, 0), (BLOCK, N))
        R_blk = jax.lax.dynamic_slice(R, (lo, lo), (BLOCK, BLOCK))
        vals = [None] * BLOCK
        for q in range(BLOCK - 1, -1, -1):  # sequential inside the tile
            t = lo + q
            inner = acc_blk[q]
            for p in range(q + 1, BLOCK):
                inner = inner + R_blk[p, q] * vals[p]
            vals[q] = jnp.where(t == k, 1.0, jnp.where(t < k, -D_blk[q] * inner, 0.0))
        new_blk = jnp.stack(vals, axis=0)  # (BLOCK, N)
        a = a.at[j].set(new_blk)

        def lower(jj, acc):
            R_tile = jax.lax.dynamic_slice(R, (lo, jj * BLOCK), (BLOCK, BLOCK))
            return acc.at[jj].add(R_tile.T @ new_blk)

        acc = jax.lax.fori_loop(0, j, lower, acc)
        return a, acc

    zeros = jnp.zeros((n_blocks, BLOCK, N))
    a, _ = jax.lax.fori_loop(0, top + 1, block_body, (zeros, zeros))
    return a.reshape(n_time, N)


def response_row(R, D, dg, k, n_time: int):
    """``E_paths[dg[n] d r^k / d w^s]`` for ``s < n_time``, per batch: ``(B, n_time)``.

    The adjoint sweep run one batch at a time (``lax.map``) and reduced over the paths at once: one
    batch's ``(n_time, N)`` working set stays in cache (measured 3x faster than vmapping it over the
    batches with the ``(B, n_time, N)`` adjoint materialised, BENCHMARKS.md).
    """

    def one(args):
        r, d, x = args
        return adjoint_rows(r, d, k, n_time) @ x / x.shape[0]

    return jax.lax.map(one, (R, D, dg))


def make_step(problem, n_time: int, stein: bool):
    """The jitted DMFT step over all batches of paths (state donated and updated in place)."""
    alpha = problem.alpha
    loss = problem.loss

    def step_a(state, k, kind_gd, c_zeta, key):
        Z, G, D, H, y, fp, Ty, dTy = (state[x] for x in ("Z", "G", "D", "H", "y", "fp", "Ty", "dTy"))
        Rth, nu = state["Rth"], state["nu"]
        N = Z.shape[1]
        # ---- w^k in square-root form (docs/math/dmft.md §3.3.1): the feature xi_k of the direction
        # that g^k may add is drawn now; w^k itself uses xi_0..xi_{k-1}
        Z = Z.at[k + 1].set(jax.random.normal(key, (N,)))
        Rk = Rth[k, :n_time]
        w = sample_w(Z, state["zeta"], state["m"][k], state["A"][k], Rk, state["Lg"], alpha, c_zeta)
        # ---- r^k, g^k and its derivatives
        r = w - Rk @ G
        g_gd, d_gd, e_gd = loss.d1(r, y), loss.d2(r, y), loss.dy1(r, y)
        g_pi, d_pi, e_pi = -Ty * r, -Ty, -dTy * r
        g = jnp.where(kind_gd, g_gd, g_pi)
        dg = jnp.where(kind_gd, d_gd, d_pi)
        eg = jnp.where(kind_gd, e_gd, e_pi)
        train = jnp.mean(loss.value(r, y))
        G = G.at[k].set(g)
        Q, lg_row = gram_schmidt_row(state["Q"], g, k)
        D = D.at[k].set(dg)
        # ---- d r^k / d r*  (forward) and nu_k
        drs = -(Rk @ H)
        hk = dg * drs + eg * fp
        H = H.at[k].set(hk)
        nu = nu.at[k].set(alpha * jnp.mean(hk))
        return dict(state, Z=Z, G=G, D=D, H=H, nu=nu, Q=Q, Lg=state["Lg"].at[k].set(lg_row)), train, dg

    def step_b(state, k, a_k, b_k, normalise, q0, m0):
        G = state["G"]
        Cth, Rth, A, B, Cg, Rg, nu, mvec = (state[x] for x in ("Cth", "Rth", "A", "B", "Cg", "Rg", "nu", "m"))
        N = G.shape[1]
        idx = jnp.arange(n_time + 1)
        g = G[k]
        # ---- C_g(k, s)
        cg_row = alpha * (G @ g) / N
        cg_row = jnp.where(jnp.arange(n_time) <= k, cg_row, 0.0)
        Cg = Cg.at[k].set(cg_row).at[:, k].set(cg_row)
        # ---- theta-side row k+1 (exact given the kernels)
        rg = Rg[k]
        A_new = a_k * A[k] - b_k * (rg @ A[:n_time])
        B_new = a_k * B[k] - b_k * (rg @ B[:n_time]) - b_k * nu[k]
        R_new = a_k * Rth[k] - b_k * (rg @ Rth[:n_time]) + b_k * (jnp.arange(n_time) == k)

        def cov_with(Aj, Bj, Rj):
            return q0 * A_new * Aj + m0 * (A_new * Bj + B_new * Aj) + B_new * Bj + R_new @ Cg @ Rj.T

        c_new_new = cov_with(A_new, B_new, R_new[None, :])[0]
        scale = jnp.where(normalise, 1.0 / jnp.sqrt(jnp.maximum(c_new_new, 1e-300)), 1.0)
        A_new, B_new, R_new = scale * A_new, scale * B_new, scale * R_new
        A = A.at[k + 1].set(A_new)
        B = B.at[k + 1].set(B_new)
        Rth = Rth.at[k + 1].set(R_new)
        c_row = cov_with(A, B, Rth)  # (n_time + 1,)
        c_row = jnp.where(idx <= k + 1, c_row, 0.0)
        Cth = Cth.at[k + 1].set(c_row).at[:, k + 1].set(c_row)
        mvec = mvec.at[k + 1].set(m0 * A_new + B_new)
        return dict(state, Cth=Cth, Rth=Rth, A=A, B=B, Cg=Cg, m=mvec)

    def step_batched(state, k, kind_gd, a_k, b_k, normalise, q0, m0, keys):
        c_zeta = jnp.sqrt(jnp.maximum(q0 - m0 * m0, 0.0))
        state, train, dg = jax.vmap(step_a, in_axes=(0, None, None, None, 0))(state, k, kind_gd, c_zeta, keys)
        # R_g(k, s) = alpha E[G'(r^k) d r^k/d w^s] by the adjoint sweep, one batch at a time
        rg_row = alpha * response_row(state["Rth"][:, :n_time, :n_time], state["D"], dg, k, n_time)
        rg_row = jnp.where(jnp.arange(n_time)[None, :] <= k, rg_row, 0.0)
        state = dict(state, Rg=state["Rg"].at[:, k].set(rg_row))
        if stein:  # nu_k = alpha E[g^k r*] - sum_s m_s R_g(k, s)  (Gaussian integration by parts in r*)
            g_rstar = alpha * jnp.mean(state["G"][:, k] * state["Z"][:, 0], axis=1)
            nu_k = g_rstar - jnp.einsum("bt,bt->b", rg_row, state["m"][:, :n_time])
            state = dict(state, nu=state["nu"].at[:, k].set(nu_k))
        state = jax.vmap(step_b, in_axes=(0, None, None, None, None, None, None))(state, k, a_k, b_k, normalise, q0, m0)
        return state, train

    return jax.jit(step_batched, donate_argnums=0)


def init_state(problem, n_time: int, batches: int, N: int, key, q0: float, m0: float, mean_y: float):
    """Initial r-side draws (``r*, eps``) and theta-side coefficients for ``theta^0``."""
    k1, k2, k3 = jax.random.split(key, 3)
    rstar = jax.random.normal(k1, (batches, N))
    eps = jax.random.normal(k2, (batches, N))
    zeta = jax.random.normal(k3, (batches, N))
    y = problem.labels(rstar, eps)
    fp = problem.f_prime(rstar)
    if problem.init.kind == "spectral":
        Ty = problem.T(y, mean_y)
        dTy = problem.T_prime(y, mean_y)
        A0, B0 = 0.0, 1.0
    else:
        Ty = jnp.zeros_like(y)
        dTy = jnp.zeros_like(y)
        A0, B0 = 1.0, 0.0
    Z = jnp.zeros((batches, n_time + 1, N)).at[:, 0].set(rstar)
    A = jnp.zeros((batches, n_time + 1)).at[:, 0].set(A0)
    B = jnp.zeros((batches, n_time + 1)).at[:, 0].set(B0)
    c00 = q0 * A0 * A0 + 2 * m0 * A0 * B0 + B0 * B0
    Cth = jnp.zeros((batches, n_time + 1, n_time + 1)).at[:, 0, 0].set(c00)
    mvec = jnp.zeros((batches, n_time + 1)).at[:, 0].set(m0 * A0 + B0)

    def zeros_tn():
        return jnp.zeros((batches, n_time, N))

    return dict(Z=Z, G=zeros_tn(), D=zeros_tn(), H=zeros_tn(), Q=zeros_tn(), y=y, fp=fp, Ty=Ty, dTy=dTy, zeta=zeta,
                Lg=jnp.zeros((batches, n_time, n_time)),
                Cth=Cth, Rth=jnp.zeros((batches, n_time + 1, n_time)), A=A, B=B,
                Cg=jnp.zeros((batches, n_time, n_time)), Rg=jnp.zeros((batches, n_time, n_time)),
                nu=jnp.zeros((batches, n_time)), m=mvec)
