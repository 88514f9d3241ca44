r"""Bayes-optimal GAMP on finite samples, vmapped over seeds, beside its state evolution (docs/math/amp.md §5).

Data: :math:`A \in R^{n\times d}` with i.i.d. :math:`N(0, 1/d)` entries, :math:`w^*` i.i.d. from the prior,
:math:`y = f(A w^*) (+ \sigma\varepsilon)`, :math:`n = \mathrm{round}(\alpha d)`. GAMP with scalar variances
(Rangan 2011, Algorithm 1, with :math:`\sum_i A_{\mu i}^2 v_i \approx \bar v` since :math:`A_{\mu i}^2 \approx 1/d`):

.. math::

    V^t &= \tfrac1d \textstyle\sum_i v^t_i,\qquad \omega^t = A\hat w^t - V^t g^{t-1},\qquad
    g^t = g_{out}(y, \omega^t, V^t),\\
    \Lambda^t &= -\tfrac{n}{d}\,\overline{\partial_\omega g_{out}(y, \omega^t, V^t)},\qquad
    B^t = A^T g^t + \Lambda^t \hat w^t,\qquad (\hat w^{t+1}, v^{t+1}) = (f_a, f_v)(\Lambda^t, B^t).

Start (the state evolution's ``q^0``): :math:`\hat w^0 = q_0 w^* + \sqrt{q_0(\rho - q_0)}\,\xi` with :math:`\xi \perp w^*`,
:math:`\|\xi\|^2 = d` (a Gaussian vector projected and rescaled), :math:`v^0 = \rho - q_0`,
:math:`g^{-1} = 0`, so that :math:`\langle\hat w^0, w^*\rangle/d \approx \|\hat w^0\|^2/d \approx q_0` (Nishimori), as the
Bayes-optimal state evolution assumes. The run records :math:`m^t = \langle \hat w^t, w^*\rangle/d`,
:math:`q^t = \|\hat w^t\|^2/d` and the MSE :math:`\|\hat w^t - w^*\|^2/d`; the state evolution predicts
:math:`E[m^t] = E[q^t] = q^t_{SE}`. These are not divided by the realised :math:`\|w^*\|^2/d` (which fluctuates
by :math:`O(d^{-1/2})` for a Gaussian prior): whether the estimator follows those fluctuations depends on the
channel (``z**2`` labels reveal the norm, ``sign`` labels do not, and then :math:`m \propto \|w^*\|`), so the
fluctuation is left in the seed-to-seed spread. For noiseless channels :math:`V^t \to 0` at perfect recovery: once
:math:`V^t < 10^{-10}` the iterate is frozen (converged) rather than divided by zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow._seeds import seed_key
from mimflow.amp._channels import make_channel
from mimflow.amp._priors import make_prior

__all__ = ["GAMPRun", "run_gamp"]

V_FLOOR = 1e-10


@dataclass(frozen=True)
class GAMPRun:
    """``overlap``, ``norm2``, ``mse``: ``(S, steps + 1)`` per seed and iteration; ``n``, ``d``, ``alpha``, ``q0``."""

    overlap: np.ndarray
    norm2: np.ndarray
    mse: np.ndarray
    n: int
    d: int
    alpha: float
    q0: float

    def mean_and_se(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Seed mean and standard error (``ddof = 1``; NaN with one seed) of ``overlap``/``norm2``/``mse``."""
        x = getattr(self, name)
        S = x.shape[0]
        se = x.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.full(x.shape[1], np.nan)
        return x.mean(axis=0), se


def _one_seed(key, channel, prior, n: int, d: int, steps: int, q0: float):
    k_w, k_a, k_e, k_x = jax.random.split(key, 4)
    w_star = prior.sample(k_w, d)
    A = jax.random.normal(k_a, (n, d), dtype=jnp.float64) / math.sqrt(d)
    z = A @ w_star
    y = channel.labels(z, jax.random.normal(k_e, (n,), dtype=jnp.float64))
    obs = channel.observed(y)
    rho = prior.rho
    # the noise part orthogonal to w* with squared norm exactly d: the start's overlap is q0 ||w*||^2/d exactly,
    # not q0 + O(d^{-1/2}) (that fluctuation is amplified while the overlap grows and would dominate the spread)
    xi = jax.random.normal(k_x, (d,), dtype=jnp.float64)
    xi = xi - jnp.dot(xi, w_star) / jnp.dot(w_star, w_star) * w_star
    xi = xi * math.sqrt(d) / jnp.linalg.norm(xi)
    w_hat = q0 * w_star + math.sqrt(q0 * (rho - q0)) * xi
    v_hat = jnp.full((d,), rho - q0)

    def stats(w):
        return jnp.stack([jnp.dot(w, w_star) / d, jnp.dot(w, w) / d, jnp.sum((w - w_star) ** 2) / d])

    def step(carry, _):
        w, v, g_prev = carry
        V = jnp.mean(v)
        active = V > V_FLOOR
        Vs = jnp.where(active, V, 1.0)
        omega = A @ w - Vs * g_prev
        g = channel.g_out(obs, omega, Vs)
        dg = channel.dg_out(obs, omega, Vs)
        lam = -(n / d) * jnp.mean(dg)
        B = A.T @ g + lam * w
        w_new, v_new = prior.denoise(lam, B)
        w_new = jnp.where(active, w_new, w)
        v_new = jnp.where(active, v_new, v)
        g_new = jnp.where(active, g, g_prev)
        return (w_new, v_new, g_new), stats(w_new)

    _, traj = jax.lax.scan(step, (w_hat, v_hat, jnp.zeros((n,))), None, length=steps)
    return jnp.concatenate([stats(w_hat)[None, :], traj], axis=0)


def run_gamp(link, alpha: float, d: int, seeds, *, prior: str = "gaussian", noise: float = 0.0, steps: int = 30,
             q0: float = 0.05) -> GAMPRun:
    """Run Bayes-optimal GAMP on ``len(seeds)`` independent samples (vmapped over seeds, in chunks of ~1 GiB).

    Args:
        link: the link (name, expression in ``z`` or :class:`~mimflow.targets.Link`).
        alpha: ``n/d``; ``n = round(alpha d)``.
        d: dimension.
        seeds: integer seeds, shape ``(S,)``; seed ``s`` uses ``seed_key(s)`` (docs/conventions.md).
        prior: ``"gaussian"`` or ``"rademacher"``.
        noise: label-noise standard deviation.
        steps: GAMP iterations ``T``.
        q0: overlap of the start, in ``(0, rho)`` (the state evolution's ``q^0``).

    Returns:
        :class:`GAMPRun` with arrays of shape ``(S, T + 1)``.

    Raises:
        MimflowError: bad sizes or ``q0``; a run that produced NaN or inf.

    Example:
        >>> run = run_gamp("z**2", 2.0, 200, [0, 1], steps=5)
        >>> run.overlap.shape
        (2, 6)
    """
    channel = make_channel(link, noise)
    pr = make_prior(prior)
    if not (math.isfinite(alpha) and alpha > 0):
        raise MimflowError(f"alpha must be a positive number, got {alpha!r}")
    if not (isinstance(d, int) and d >= 2):
        raise MimflowError(f"d must be an integer >= 2, got {d!r}")
    if not (0 < q0 < pr.rho):
        raise MimflowError(f"q0 must lie in (0, {pr.rho:g}), got {q0!r}")
    n = int(round(alpha * d))
    if n < 1:
        raise MimflowError(f"alpha d = {alpha * d:g} rounds to no samples: raise d or alpha")
    seeds = [int(s) for s in np.atleast_1d(seeds)]
    # seeds are vmapped in chunks whose sensing matrices fit in ~1 GiB (the last chunk padded: one compilation)
    chunk = max(1, min(len(seeds), int(2**30 // (8 * n * d))))
    fn = jax.jit(jax.vmap(lambda k: _one_seed(k, channel, pr, n, d, int(steps), float(q0))))
    parts = []
    for start in range(0, len(seeds), chunk):
        block = seeds[start:start + chunk]
        keys = jnp.stack([seed_key(s) for s in block + [block[-1]] * (chunk - len(block))])
        parts.append(np.asarray(fn(keys))[:len(block)])
    out = np.concatenate(parts, axis=0)
    if not np.all(np.isfinite(out)):
        raise MimflowError(f"GAMP diverged (NaN/inf) for link {channel.name!r} at alpha = {alpha:g}, d = {d}: "
                           "nothing stored; try a larger --noise")
    return GAMPRun(out[..., 0], out[..., 1], out[..., 2], n, d, float(alpha), float(q0))
