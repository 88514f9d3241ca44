r"""Output channels :math:`P_{out}(y|z)` of a single-index model for GAMP and its state evolution (docs/math/amp.md §2).

Everything a channel contributes is a function of the partition function

.. math::

    Z_{out}(y; \omega, V) = \int dz\, N(z; \omega, V)\, P_{out}(y | z),\qquad
    g_{out} = \partial_\omega \ln Z_{out},\qquad \partial_\omega g_{out},

evaluated at the labels (GAMP) or averaged over :math:`y \sim Z_{out}(\cdot; \omega, V)` (state evolution:
:meth:`inner` returns :math:`E_y[g_{out}^2]` and :math:`E_y[\ln Z_{out}]` at given ``(omega, V)``).

**Noiseless links** (docs/math/amp.md §4) are handled by exact channel integrals, not by a noise limit.
A link is recognised, by evaluating it, as an affine image ``y = a g(z) + b`` (``a != 0``) of one of

* ``g = z**2`` or ``g = |z|`` -- :class:`EvenChannel`: the label reveals :math:`u = |z|`, so
  :math:`Z_{out} \propto N(u; \omega, V) + N(-u; \omega, V)`;
* ``g = sign(z)`` -- :class:`SignChannel`: :math:`Z_{out} = \Phi(y\omega/\sqrt V)`;
* ``g = relu(z)`` -- :class:`ReluChannel`: mass :math:`\Phi(-\omega/\sqrt V)` at ``y = 0`` and the
  density :math:`N(y; \omega, V)` on ``y > 0``.

Densities are taken with respect to the label's own reference measure, dropping Jacobian factors
(``1/(2u)`` for ``z**2``, ``1/|a|``) that do not depend on ``(omega, V)``: they shift the free entropy by a
constant independent of the overlap, which changes no comparison between fixed points.
``continuous_fraction`` (:math:`\kappa`) is the probability that the label pins :math:`|z|` to a value
(1, 0, 1/2 for the three families): it sets the divergence of the free entropy at perfect recovery.

**Noisy links** (``noise > 0``, any one-variable link): :class:`NoisyChannel`,
``y = f(z) + noise * eps``, with :math:`Z_{out}` by a trapezoid rule on a uniform grid of
:math:`\xi = (z - \omega)/\sqrt V` and the state-evolution averages by Gauss-Hermite in ``(W, eps)``.

References: Rangan, "Generalized approximate message passing for estimation with random linear mixing",
ISIT 2011 (``g_out``); Barbier et al., PNAS 116 (2019) 5451, eq. (5) (``Psi_{P_out}``) -- docs/math/amp.md §2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow.hermite import gauss_hermite_rule
from mimflow.targets import Link, make_link

__all__ = ["EvenChannel", "NoisyChannel", "ReluChannel", "SignChannel", "make_channel"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_W_NODES, _W_WEIGHTS = gauss_hermite_rule(32)


def _mills(x):
    """``phi(x)/Phi(x)``, stable for large negative ``x``."""
    return jnp.exp(-0.5 * x * x - _LOG_SQRT_2PI - log_ndtr(x))


def _row(v):
    """A 1-D rule as a ``(1, K)`` row (explicit broadcasting: the tests make rank promotion raise)."""
    return jnp.asarray(v)[None, :]


def _logcosh(x):
    ax = jnp.abs(x)
    return ax + jnp.log1p(jnp.exp(-2.0 * ax)) - math.log(2.0)


@dataclass(frozen=True)
class EvenChannel:
    r"""``y = a g(z) + b`` with ``g = z**2`` (``power = 2``) or ``|z|`` (``power = 1``): the label reveals ``|z|`` (final)."""

    name: str
    scale: float = 1.0
    shift: float = 0.0
    power: int = 2
    continuous_fraction: float = 1.0
    noise: float = 0.0

    def observed(self, y):
        """``u = |z|`` recovered from the label."""
        g = jnp.maximum((y - self.shift) / self.scale, 0.0)
        return jnp.sqrt(g) if self.power == 2 else g

    def log_z(self, u, omega, V):
        """``log[N(u; omega, V) + N(-u; omega, V)]`` (density of ``|z|``)."""
        return (-0.5 * jnp.log(V) - _LOG_SQRT_2PI - (u * u + omega * omega) / (2 * V)
                + _logcosh(u * omega / V) + math.log(2.0))

    def g_out(self, u, omega, V):
        """``(u tanh(u omega / V) - omega) / V``."""
        return (u * jnp.tanh(u * omega / V) - omega) / V

    def dg_out(self, u, omega, V):
        """``(u^2 (1 - tanh^2(u omega/V)) / V - 1) / V``."""
        t = jnp.tanh(u * omega / V)
        return (u * u * (1.0 - t * t) / V - 1.0) / V

    def inner(self, omega, V):
        """``E_y[g_out^2]`` and ``E_y[log Z_out]`` for ``y ~ Z_out(.; omega, V)``; ``omega, V`` of shape ``(N,)``.

        Gauss-Hermite in ``W`` with ``z = omega + sqrt(V) W``; the integrand is smooth in ``W`` because
        ``|z| tanh(|z| c) = z tanh(z c)`` (docs/math/amp.md §4.1).
        """
        om, Vb = omega[:, None], V[:, None]
        x = om + jnp.sqrt(Vb) * _row(_W_NODES)
        g = (x * jnp.tanh(x * om / Vb) - om) / Vb
        logz = (-0.5 * jnp.log(Vb) - _LOG_SQRT_2PI - (x * x + om * om) / (2 * Vb) + _logcosh(x * om / Vb)
                + math.log(2.0))
        w = _row(_W_WEIGHTS)
        return jnp.sum(w * g * g, axis=-1), jnp.sum(w * logz, axis=-1)

    def labels(self, z, eps):
        g = z * z if self.power == 2 else jnp.abs(z)
        return self.scale * g + self.shift


@dataclass(frozen=True)
class SignChannel:
    r"""``y = a sign(z) + b``: the label reveals ``s = sign(z)``; :math:`Z_{out} = \Phi(s\omega/\sqrt V)` (final)."""

    name: str
    scale: float = 1.0
    shift: float = 0.0
    continuous_fraction: float = 0.0
    noise: float = 0.0

    def observed(self, y):
        return jnp.sign((y - self.shift) / self.scale)

    def log_z(self, s, omega, V):
        return log_ndtr(s * omega / jnp.sqrt(V))

    def g_out(self, s, omega, V):
        return s * _mills(s * omega / jnp.sqrt(V)) / jnp.sqrt(V)

    def dg_out(self, s, omega, V):
        x = s * omega / jnp.sqrt(V)
        m = _mills(x)
        return -m * (x + m) / V

    def inner(self, omega, V):
        """Exact sum over ``s = +-1`` with probabilities ``Phi(s omega / sqrt(V))``."""
        g2 = jnp.zeros_like(omega)
        lz = jnp.zeros_like(omega)
        for s in (1.0, -1.0):
            x = s * omega / jnp.sqrt(V)
            logp = log_ndtr(x)
            p = jnp.exp(logp)
            m = _mills(x)
            g2 = g2 + p * m * m / V
            lz = lz + p * logp
        return g2, lz

    def labels(self, z, eps):
        return self.scale * jnp.sign(z) + self.shift


@dataclass(frozen=True)
class ReluChannel:
    r"""``y = a relu(z) + b``: an atom at ``z < 0``, the value of ``z`` when ``z > 0`` (final)."""

    name: str
    scale: float = 1.0
    shift: float = 0.0
    continuous_fraction: float = 0.5
    noise: float = 0.0

    def observed(self, y):
        """``u = relu(z)``; values below ``1e-9`` are the atom ``u = 0`` (rounding in ``y``)."""
        u = (y - self.shift) / self.scale
        return jnp.where(u > 1e-9, u, 0.0)

    def log_z(self, u, omega, V):
        zero = log_ndtr(-omega / jnp.sqrt(V))
        pos = -0.5 * jnp.log(V) - _LOG_SQRT_2PI - (u - omega) ** 2 / (2 * V)
        return jnp.where(u > 0, pos, zero)

    def g_out(self, u, omega, V):
        zero = -_mills(-omega / jnp.sqrt(V)) / jnp.sqrt(V)
        return jnp.where(u > 0, (u - omega) / V, zero)

    def dg_out(self, u, omega, V):
        x = -omega / jnp.sqrt(V)
        m = _mills(x)
        return jnp.where(u > 0, -1.0 / V, -m * (x + m) / V)

    def inner(self, omega, V):
        """Closed form: ``E[W^2; W > -s] = Phi(s) - s phi(s)`` with ``s = omega / sqrt(V)``."""
        s = omega / jnp.sqrt(V)
        logp0 = log_ndtr(-s)
        p0 = jnp.exp(logp0)
        p1 = jnp.exp(log_ndtr(s))
        phi = jnp.exp(-0.5 * s * s - _LOG_SQRT_2PI)
        tail2 = p1 - s * phi
        m = _mills(-s)
        g2 = p0 * m * m / V + tail2 / V
        lz = p0 * logp0 + p1 * (-0.5 * jnp.log(V) - _LOG_SQRT_2PI) - 0.5 * tail2
        return g2, lz

    def labels(self, z, eps):
        return self.scale * jnp.maximum(z, 0.0) + self.shift


@dataclass(frozen=True, eq=False)
class NoisyChannel:
    r"""``y = f(z) + noise * eps``, any one-variable link, by quadrature (final).

    :math:`Z_{out}(y;\omega,V) = \int D\xi\, N(y - f(\omega + \sqrt V \xi); 0, \sigma^2)` on a uniform grid of
    ``n_xi`` points in ``[-xi_max, xi_max]``; :math:`g_{out} = E_{post}[\xi]/\sqrt V`,
    :math:`\partial_\omega g_{out} = (\mathrm{Var}_{post}[\xi] - 1)/V`.
    """

    name: str
    link: Link = field(repr=False)
    noise: float = 0.1
    n_xi: int = 401
    xi_max: float = 8.0
    n_w: int = 24
    n_eps: int = 8
    continuous_fraction: float = math.nan

    def observed(self, y):
        return y

    def _grid(self):
        xi = np.linspace(-self.xi_max, self.xi_max, self.n_xi)
        logw = -0.5 * xi * xi - _LOG_SQRT_2PI + math.log(xi[1] - xi[0])
        return jnp.asarray(xi), jnp.asarray(logw)

    def _posterior(self, y, omega, V):
        xi, logw = self._grid()
        shape = y.shape
        y, omega, V = (jnp.ravel(a)[:, None] for a in (y, omega, V))
        z = omega + jnp.sqrt(V) * _row(xi)
        logp = _row(logw) - (y - self.link.fn(z[..., None])) ** 2 / (2 * self.noise**2)
        lse = jax.scipy.special.logsumexp(logp, axis=-1)
        post = jnp.exp(logp - lse[:, None])
        mean = jnp.sum(post * _row(xi), axis=-1)
        var = jnp.sum(post * _row(xi * xi), axis=-1) - mean * mean
        lse, mean, var = (jnp.reshape(a, shape) for a in (lse, mean, var))
        logz = lse - 0.5 * math.log(2 * math.pi * self.noise**2)
        return logz, mean, var

    def log_z(self, y, omega, V):
        y, omega, V = jnp.broadcast_arrays(y, omega, V)
        return self._posterior(y, omega, V)[0]

    def g_out(self, y, omega, V):
        y, omega, V = jnp.broadcast_arrays(y, omega, V)
        return self._posterior(y, omega, V)[1] / jnp.sqrt(V)

    def dg_out(self, y, omega, V):
        y, omega, V = jnp.broadcast_arrays(y, omega, V)
        return (self._posterior(y, omega, V)[2] - 1.0) / V

    def inner(self, omega, V):
        """Gauss-Hermite over ``W`` (``n_w``) and ``eps`` (``n_eps``) of ``g_out^2`` and ``log Z_out``."""
        wn, ww = gauss_hermite_rule(self.n_w)
        en, ew = gauss_hermite_rule(self.n_eps)
        W = _row(np.repeat(wn, self.n_eps))
        E = _row(np.tile(en, self.n_w))
        wt = _row(np.outer(ww, ew).ravel())
        om = jnp.broadcast_to(omega[:, None], (omega.shape[0], W.shape[1]))
        Vb = jnp.broadcast_to(V[:, None], om.shape)
        y = self.link.fn((om + jnp.sqrt(Vb) * W)[..., None]) + self.noise * E
        logz, mean, _ = self._posterior(y, om, Vb)
        g2 = mean * mean / Vb
        return jnp.sum(wt * g2, axis=-1), jnp.sum(wt * logz, axis=-1)

    def labels(self, z, eps):
        return self.link.fn(z[..., None]) + self.noise * eps


_FAMILIES = (
    ("z**2", lambda z: z * z),
    ("abs", np.abs),
    ("sign", np.sign),
    ("relu", lambda z: np.maximum(z, 0.0)),
)


def _affine_match(values: np.ndarray, g: np.ndarray) -> tuple[float, float] | None:
    """``(a, b)`` with ``values = a g + b`` to rounding error, ``a != 0``; else ``None``."""
    design = np.stack([g, np.ones_like(g)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, values, rcond=None)
    if abs(a) < 1e-12:
        return None
    resid = np.max(np.abs(a * g + b - values))
    if resid > 1e-10 * (1.0 + np.max(np.abs(values))):
        return None
    # snap rounding noise (b = 1e-16 for relu would move the atom y = 0 off zero)
    return float(np.round(a, 12)), float(np.round(b, 12))


def make_channel(link, noise: float = 0.0):
    """The channel of ``y = f(z) + noise * eps`` (see the module docstring).

    Args:
        link: a name, an expression in ``z`` or a :class:`~mimflow.targets.Link` (one variable).
        noise: standard deviation of the Gaussian label noise (``>= 0``).

    Raises:
        MimflowError: multi-variable link; negative or non-finite noise; a noiseless link that is not
            an affine image of ``z**2``, ``|z|``, ``sign(z)`` or ``relu(z)`` (give ``noise > 0``).

    Example:
        >>> make_channel("h2").__class__.__name__, make_channel("sign", 0.0).continuous_fraction
        ('EvenChannel', 0.0)
    """
    lk = make_link(link)
    if lk.r != 1:
        raise MimflowError(f"link {lk.name!r} has {lk.r} variables: amp needs a single-index link in z")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise MimflowError(f"noise must be a finite number >= 0, got {noise!r}")
    if noise > 0:
        return NoisyChannel(lk.name, lk, float(noise))
    z = np.concatenate([-np.geomspace(4.0, 0.05, 40), np.geomspace(0.05, 4.0, 40)])
    values = np.asarray(lk.fn(jnp.asarray(z)[:, None]), dtype=float)
    if values.shape != z.shape or not np.all(np.isfinite(values)):
        raise MimflowError(f"link {lk.name!r} is not finite on [-4, 4]: amp needs a finite link")
    for family, g in _FAMILIES:
        match = _affine_match(values, g(z))
        if match is None:
            continue
        a, b = match
        if family in ("z**2", "abs"):
            return EvenChannel(lk.name, a, b, 2 if family == "z**2" else 1)
        if family == "sign":
            return SignChannel(lk.name, a, b)
        return ReluChannel(lk.name, a, b)
    raise MimflowError(f"link {lk.name!r} has no exact noiseless channel (known: affine images of z**2, abs, sign, relu): "
                       "pass --noise S > 0 for y = f(z) + S*eps")
