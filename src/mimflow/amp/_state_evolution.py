r"""State evolution of Bayes-optimal GAMP and the replica free entropy of a GLM (docs/math/amp.md §3).

Model (docs/math/amp.md §1): :math:`y_\mu = f(a_\mu^T w^*) (+ \sigma\varepsilon_\mu)`, :math:`a_\mu \sim N(0, I_d/d)`,
:math:`\|w^*\|^2 = d` (coordinates i.i.d. from the prior, :math:`\rho = 1`), :math:`n = \alpha d`. This is the
convention of ``mimflow spectral`` (:math:`a \sim N(0, I_d)`, :math:`\|w^*\| = 1`) rescaled: the local field
:math:`z = a^T w^* \sim N(0, 1)` is the same.

With :math:`V = \rho - q`, :math:`\omega = \sqrt q\, s`, :math:`s \sim N(0,1)` and :math:`y \sim Z_{out}(\cdot; \omega, V)`:

.. math::

    R(q) = E\big[g_{out}(y; \omega, V)^2\big],\qquad \Psi_{out}(q) = E\big[\ln Z_{out}(y; \omega, V)\big],

    q^{t+1} = \rho - \mathrm{mmse}\big(\alpha R(q^t)\big)\qquad\text{(state evolution)},

    f(q) = \psi_{P_0}(r) + \alpha \Psi_{out}(q) - r q/2,\quad r = \alpha R(q)\qquad\text{(free entropy on the SE curve)}.

Since :math:`f'(q) = r'(q)(\rho - \mathrm{mmse}(r) - q)/2`, the stationary points of ``f`` are the SE fixed
points and its local maxima are the stable ones. The Bayes-optimal overlap is the stable fixed point of
largest ``f`` (Barbier et al. 2019, Theorem 1 and eq. (8)); AMP from an uninformed start (overlap
``0+``) reaches the smallest stable fixed point, from an informed start the largest.

``R`` and :math:`\Psi_{out}` do not depend on ``alpha``: they are tabulated once on a grid uniform in
``t = log(q/(rho - q))`` (so both ends are resolved, ``q`` from 1e-10 to ``1 - 1e-10``) and interpolated
(monotone cubic) in ``(t, log R)``; fixed points found there are refined by Brent's method on the exact
``R``. The outer average over ``s`` is a composite Gauss-Legendre rule with panels refined geometrically
towards ``s = 0`` down to ``0.02 sqrt(V/q)``, the scale on which noiseless channels vary when ``V -> 0``.

References: Barbier, Krzakala, Macris, Miolane, Zdeborova, PNAS 116 (2019) 5451, eqs. (4)-(8) and
(13) (SE); Rangan, ISIT 2011; Javanmard and Montanari, Inf. Inference 2 (2013) 115 (SE of GAMP).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import jax
import jax.numpy as jnp
import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow.amp._channels import NoisyChannel, make_channel
from mimflow.amp._priors import make_prior
from mimflow.hermite import gauss_hermite_rule

__all__ = ["FixedPointSE", "SEPoint", "StateEvolution", "make_state_evolution"]

Q_MIN = 1e-10
"""Smallest overlap on the table (and the 'uninformed' start of AMP: overlap 0+)."""


def _outer_rule(q: float, V: float, n_geo: int = 16, n_uni: int = 12, nodes: int = 6, half_width: float = 9.0):
    """Composite Gauss-Legendre rule for ``E[h(s)]``, ``s ~ N(0, 1)``, refined towards ``s = 0``.

    Panels per side: ``[0, delta]``, ``n_geo`` geometric panels from ``delta`` to 1, ``n_uni`` uniform ones
    from 1 to ``half_width``; ``delta = min(0.5, 0.02 sqrt(V/q))``. Fixed size ``2 nodes (1 + n_geo + n_uni)``.
    """
    delta = min(0.5, max(0.02 * math.sqrt(V / max(q, 1e-300)), 1e-12))
    edges = np.concatenate([[0.0], np.geomspace(delta, 1.0, n_geo + 1), np.linspace(1.0, half_width, n_uni + 1)[1:]])
    x, w = np.polynomial.legendre.leggauss(nodes)
    lo, hi = edges[:-1, None], edges[1:, None]
    s = (0.5 * (lo + hi) + 0.5 * (hi - lo) * x).ravel()
    ws = (0.5 * (hi - lo) * w).ravel() * np.exp(-0.5 * s * s) / math.sqrt(2 * math.pi)
    return np.concatenate([-s[::-1], s]), np.concatenate([ws[::-1], ws])


def _rules(channel, q: np.ndarray, v: np.ndarray, **rule) -> tuple[np.ndarray, np.ndarray]:
    """Outer nodes ``omega`` and weights, each ``(Q, N)``, for overlaps ``q`` and ``V = v`` (``(Q,)``)."""
    if isinstance(channel, NoisyChannel):  # smooth in s on the noise scale: Gauss-Hermite is enough
        s, w = gauss_hermite_rule(40)
        S = np.broadcast_to(s, (q.size, s.size))
        W = np.broadcast_to(w, S.shape)
    else:
        pairs = [_outer_rule(qi, vi, **rule) for qi, vi in zip(q, v)]
        S = np.stack([p[0] for p in pairs])
        W = np.stack([p[1] for p in pairs])
    return np.sqrt(q)[:, None] * S, W


_JIT_CACHE: dict = {}


def _moments_fn(channel):
    entry = _JIT_CACHE.get(id(channel))
    if entry is None or entry[0] is not channel:

        def fn(omega, w, v):  # omega, w: (Q, N); v: (Q,)
            V = jnp.broadcast_to(v[:, None], omega.shape)
            g2, lz = channel.inner(jnp.ravel(omega), jnp.ravel(V))
            return jnp.sum(w * jnp.reshape(g2, omega.shape), axis=1), jnp.sum(w * jnp.reshape(lz, omega.shape), axis=1)

        entry = (channel, jax.jit(fn))
        _JIT_CACHE[id(channel)] = entry
    return entry[1]


def _moments(channel, q, v, **rule) -> tuple[np.ndarray, np.ndarray]:
    """``(R(q), Psi_out(q))`` for arrays ``q`` with ``V = v = rho - q`` given separately (precision near ``rho``).

    Evaluated in chunks of fixed size (one compilation per channel).
    """
    q = np.atleast_1d(np.asarray(q, dtype=float))
    v = np.atleast_1d(np.asarray(v, dtype=float))
    chunk = min(q.size, 2 if isinstance(channel, NoisyChannel) else 32)
    fn = _moments_fn(channel)
    R, P = np.empty(q.size), np.empty(q.size)
    for start in range(0, q.size, chunk):
        idx = np.arange(start, start + chunk).clip(max=q.size - 1)  # pad the last chunk: fixed shapes
        omega, w = _rules(channel, q[idx], v[idx], **rule)
        r_c, p_c = fn(jnp.asarray(omega), jnp.asarray(w), jnp.asarray(v[idx]))
        keep = slice(0, min(chunk, q.size - start))
        R[start:start + chunk] = np.asarray(r_c)[keep]
        P[start:start + chunk] = np.asarray(p_c)[keep]
    return R, P


@dataclass(frozen=True)
class FixedPointSE:
    """A fixed point of the state evolution: overlap ``q``, ``stable`` (a local maximum of ``f``),
    ``free_entropy`` (``+-inf`` at perfect recovery of a noiseless channel, docs/math/amp.md §3.3)."""

    q: float
    stable: bool
    free_entropy: float


@dataclass(frozen=True)
class SEPoint:
    """Everything the state evolution says at one ``alpha`` (overlaps ``q = <w_hat, w*>/d``, MSE ``rho - q``).

    ``amp_overlap``: fixed point reached from the uninformed start (overlap 0+); ``informed_overlap``:
    from the informed start (overlap ``rho``); ``bayes_overlap``: the stable fixed point of largest
    free entropy; ``fixed_points``: all of them, ascending.
    """

    alpha: float
    amp_overlap: float
    informed_overlap: float
    bayes_overlap: float
    fixed_points: tuple[FixedPointSE, ...]
    rho: float = 1.0

    @property
    def amp_mse(self) -> float:
        return self.rho - self.amp_overlap

    @property
    def bayes_mse(self) -> float:
        return self.rho - self.bayes_overlap


@dataclass(frozen=True, eq=False)
class StateEvolution:
    """State evolution and free entropy of Bayes-optimal GAMP for one (link, noise, prior) (final).

    Build with :func:`make_state_evolution`. ``t_grid``, ``log_R``, ``psi_grid`` are the tables.
    """

    channel: object
    prior: object
    t_grid: np.ndarray = field(repr=False)
    log_R: np.ndarray = field(repr=False)
    psi_grid: np.ndarray = field(repr=False)
    R_zero: float = 0.0

    # ------------------------------------------------------------------ basic maps
    @property
    def rho(self) -> float:
        return self.prior.rho

    @property
    def noiseless(self) -> bool:
        return not isinstance(self.channel, NoisyChannel)

    def q_grid(self) -> np.ndarray:
        return self.rho / (1.0 + np.exp(-self.t_grid))

    def v_grid(self) -> np.ndarray:
        return self.rho / (1.0 + np.exp(self.t_grid))

    def R_exact(self, q: float, v: float | None = None, rule: dict | None = None) -> float:
        """``R(q) = E[g_out^2]`` by quadrature (``v = rho - q`` may be given for precision; ``rule``: sizes of
        the outer composite rule, for accuracy checks)."""
        v = self.rho - q if v is None else v
        return float(_moments(self.channel, q, v, **(rule or {}))[0][0])

    def psi_out_exact(self, q: float, v: float | None = None) -> float:
        v = self.rho - q if v is None else v
        return float(_moments(self.channel, q, v)[1][0])

    def _t(self, q, v):
        return np.log(q) - np.log(v)

    def R(self, q, v=None):
        """Interpolated ``R`` (``q`` array; ``R(0)`` at ``q = 0``)."""
        q = np.asarray(q, dtype=float)
        v = self.rho - q if v is None else np.asarray(v, dtype=float)
        out = np.full(q.shape, self.R_zero)
        pos = q > 0
        t = np.clip(self._t(np.where(pos, q, 1.0), np.where(pos, v, 1.0)), self.t_grid[0], None)
        interp = np.exp(self._interp_R(np.minimum(t, self.t_grid[-1])))
        # beyond the table's top (v < 1e-10): noiseless R grows like 1/v, extrapolate linearly in t
        slope = (self.log_R[-1] - self.log_R[-2]) / (self.t_grid[-1] - self.t_grid[-2])
        interp = np.where(t > self.t_grid[-1], np.exp(self.log_R[-1] + slope * (t - self.t_grid[-1])), interp)
        return np.where(pos, interp, out)

    @property
    def _interp_R(self):
        return self._interpolants[0]

    @property
    def _interpolants(self):
        cache = self.__dict__.get("_cache")
        if cache is None:  # built once (frozen dataclass: set through __dict__)
            cache = (PchipInterpolator(self.t_grid, self.log_R), PchipInterpolator(self.t_grid, self.psi_grid))
            self.__dict__["_cache"] = cache
        return cache

    def psi_out(self, q, v=None):
        q = np.asarray(q, dtype=float)
        v = self.rho - q if v is None else np.asarray(v, dtype=float)
        t = np.clip(self._t(np.maximum(q, 1e-300), v), self.t_grid[0], self.t_grid[-1])
        return self._interpolants[1](t)

    def excess(self, q, alpha: float, v=None, exact: bool = False):
        r"""``H(q) = q_{t+1} - q_t = (rho - q) - mmse(alpha R(q))``; a fixed point is a root."""
        q = np.asarray(q, dtype=float)
        v = self.rho - q if v is None else np.asarray(v, dtype=float)
        R = np.reshape(_moments(self.channel, q.ravel(), np.ravel(v))[0], q.shape) if exact else self.R(q, v)
        return v - self.prior.mmse(alpha * R)

    def update(self, q: float, alpha: float, v: float | None = None) -> float:
        """One state-evolution step: the new error ``v = mmse(alpha R(q))`` (exact ``R``; returns ``rho - q_new``)."""
        v = self.rho - q if v is None else v
        return float(self.prior.mmse(alpha * self.R_exact(q, v)))

    def trajectory(self, alpha: float, q0: float, steps: int) -> np.ndarray:
        """``(steps + 1,)`` overlaps ``q^0 = q0, q^1, ...`` of the state evolution (exact ``R``).

        Iterated on the error ``v = rho - q``; once ``v < 1e-12`` (perfect recovery of a noiseless channel)
        it stays there (the same freeze as GAMP's, docs/math/amp.md §5)."""
        v = [self.rho - float(q0)]
        for _ in range(steps):
            v.append(v[-1] if v[-1] < 1e-12 else self.update(self.rho - v[-1], alpha, v[-1]))
        return self.rho - np.array(v)

    def free_entropy(self, q, alpha: float, exact: bool = False):
        r"""``f(q) = psi(r) + alpha Psi_out(q) - r q / 2`` with ``r = alpha R(q)`` (up to a ``q``-independent
        constant for noiseless continuous labels, docs/math/amp.md §4)."""
        q = np.asarray(q, dtype=float)
        if exact:
            R, P = (np.reshape(x, q.shape) for x in _moments(self.channel, q.ravel(), self.rho - q.ravel()))
        else:
            R, P = self.R(q), self.psi_out(q)
        r = alpha * R
        return self.prior.psi(r) + alpha * P - 0.5 * r * q

    def perfect_recovery_free_entropy(self, alpha: float) -> float:
        """``f`` at ``q = rho`` for a noiseless channel: ``+-inf`` when the labels pin ``|z|`` on a fraction
        ``kappa > 0`` (coefficient of ``log(1/V)``: ``(alpha kappa - 1)/2`` Gaussian prior, ``alpha kappa/2``
        discrete prior), else the prior's ``-H(P_0)`` (docs/math/amp.md §3.3)."""
        kappa = self.channel.continuous_fraction
        finite_prior = math.isfinite(self.prior.entropy_at_perfect_recovery)
        if kappa > 0:
            coefficient = alpha * kappa - (0.0 if finite_prior else 1.0)
            return math.inf if coefficient > 0 else -math.inf
        return self.prior.entropy_at_perfect_recovery

    # ------------------------------------------------------------------ fixed points
    def fixed_points(self, alpha: float, refine: bool = True) -> tuple[FixedPointSE, ...]:
        """All fixed points in ``[0, rho]``, ascending: ``q = 0`` when it is one (``R(0) = 0``), the roots of
        ``H`` between grid points (Brent on the exact ``R`` when ``refine``), and ``q = rho`` (perfect
        recovery) for a noiseless channel when ``H > 0`` at the top of the grid."""
        if not (math.isfinite(alpha) and alpha > 0):
            raise MimflowError(f"alpha must be a positive number, got {alpha!r}")
        q, v = self.q_grid(), self.v_grid()
        H = self.excess(q, alpha, v)
        points: list[FixedPointSE] = []
        if self.R_zero == 0.0:
            points.append(FixedPointSE(0.0, bool(H[0] <= 0), 0.0))
        sign = np.sign(H)
        for i in np.nonzero(sign[:-1] * sign[1:] < 0)[0]:
            lo, hi = self.t_grid[i], self.t_grid[i + 1]
            if refine:
                def h(t):
                    qq, vv = self.rho / (1 + math.exp(-t)), self.rho / (1 + math.exp(t))
                    return float(self.excess(qq, alpha, vv, exact=True))
                if h(lo) * h(hi) < 0:
                    t_root = brentq(h, lo, hi, xtol=1e-12, rtol=1e-13)
                else:  # interpolation and exact R disagree on this bracket: keep the interpolated root
                    t_root = lo - H[i] * (hi - lo) / (H[i + 1] - H[i])
            else:
                t_root = lo - H[i] * (hi - lo) / (H[i + 1] - H[i])
            qr = self.rho / (1 + math.exp(-t_root))
            points.append(FixedPointSE(qr, bool(H[i] > 0), math.nan))
        if self.noiseless and H[-1] > 0:
            points.append(FixedPointSE(self.rho, True, self.perfect_recovery_free_entropy(alpha)))
        out = []
        for p in points:
            if 0 < p.q < self.rho:
                p = FixedPointSE(p.q, p.stable, float(self.free_entropy(p.q, alpha, exact=refine)))
            elif p.q == 0.0:
                p = FixedPointSE(0.0, p.stable, float(self.prior.psi(0.0) + alpha * self.psi_out(0.0)))
            out.append(p)
        return tuple(out)

    def solve(self, alpha: float, refine: bool = True) -> SEPoint:
        """Uninformed AMP, informed AMP and Bayes-optimal overlaps at ``alpha`` (see :class:`SEPoint`)."""
        points = self.fixed_points(alpha, refine)
        stable = [p for p in points if p.stable]
        if not stable:
            raise MimflowError(f"no stable state-evolution fixed point at alpha = {alpha:g} (numerical failure)")
        amp = stable[0].q
        informed = stable[-1].q
        best = max(stable, key=lambda p: (p.free_entropy, p.q))
        return SEPoint(float(alpha), amp, informed, best.q, points, self.rho)


def make_state_evolution(link, prior: str = "gaussian", noise: float = 0.0, *, table_points: int | None = None) -> StateEvolution:
    """Tabulate ``R`` and ``Psi_out`` for ``y = f(z) + noise eps`` and the ``prior`` (docs/math/amp.md §3).

    Args:
        link: name, expression in ``z`` or :class:`~mimflow.targets.Link`.
        prior: ``"gaussian"`` or ``"rademacher"``.
        noise: label-noise standard deviation; 0 uses the exact noiseless channels.
        table_points: grid size in ``t = log(q/(rho-q))`` on ``[-23, 23]`` (default 241 noiseless, 61 noisy).

    Example:
        >>> se = make_state_evolution("z**2")
        >>> se.solve(0.3).bayes_overlap, round(se.solve(2.0).bayes_overlap, 6)
        (0.0, 1.0)
    """
    channel = make_channel(link, noise)
    pr = make_prior(prior)
    noisy = isinstance(channel, NoisyChannel)
    n = table_points or (61 if noisy else 241)
    t = np.linspace(-23.0, 23.0, n)
    q = pr.rho / (1.0 + np.exp(-t))
    v = pr.rho / (1.0 + np.exp(t))
    R, P = _moments(channel, q, v)
    R0 = float(_moments(channel, 0.0, pr.rho)[0][0])
    if not (np.all(np.isfinite(R)) and np.all(np.isfinite(P)) and np.all(R > 0)):
        raise MimflowError(f"state-evolution quadrature failed for link {channel.name!r} (non-finite or zero R(q)): "
                           "try a larger --noise")
    R0 = 0.0 if abs(R0) < 1e-13 else float(R0)
    if noisy:  # the xi grid must resolve the noise: compare with a twice finer grid at two overlaps
        check = np.array([n // 2, (3 * n) // 4])
        fine = _moments(replace(channel, n_xi=2 * channel.n_xi - 1), q[check], v[check])[0]
        err = float(np.max(np.abs(fine / R[check] - 1)))
        if err > 1e-3:
            raise MimflowError(f"noise = {noise:g} is too small for the quadrature of link {channel.name!r} (R(q) moves by "
                               f"{err:.1e} on a finer grid): use a larger --noise, or noise 0 for z**2, abs, sign, relu")
    return StateEvolution(channel, pr, t, np.log(R), P, R0)
