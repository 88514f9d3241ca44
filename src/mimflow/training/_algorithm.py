r"""One description per training algorithm, shared by the d-dimensional and the reduced engine.

Every algorithm here is *local*: for a sample ``x`` with local fields :math:`\lambda = W^T x \in
\mathbb{R}^p` (student) and :math:`z = W_*^T x \in \mathbb{R}^r` (teacher) and label
:math:`y = f_*(z) + \sigma\xi`, the gradient of the per-sample loss with respect to ``W`` is
:math:`x\,a^T` with a coefficient :math:`a = a(\lambda, y; \theta) \in \mathbb{R}^p` that depends on
the local fields only (and on the algorithm's other parameters :math:`\theta`: link coefficients,
second layer, whose gradients are also functions of the local fields). An engine then performs

.. math::  W \leftarrow \mathcal{R}\Big(W - \frac{\eta}{B}X^T A\Big),\qquad A_{b\cdot} = a(\lambda_b, y_b;\theta),

with :math:`\mathcal R` the retraction of the student's constraint (``stiefel``: polar factor
:math:`W(W^TW)^{-1/2}`; ``sphere``: each column normalised; ``free``: none), see
:mod:`mimflow.training._reduced` and :mod:`mimflow.training._full`. To first order in :math:`\eta` the polar retraction of a
Euclidean step is the Riemannian step with the embedded metric, and the column normalisation is
the spherical step, so the :math:`\eta\to0` limit in time :math:`t = \eta\cdot\mathrm{step}` is the
population gradient flow of :mod:`mimflow.dynamics` (docs/math/grassmannian-flow.md §1.4, docs/math/planted.md §1.7, docs/math/neurons.md §2.2).

Algorithms (:func:`~mimflow.training.make_algorithm`, one builder per module: :mod:`mimflow.training._two_timescale`,
:mod:`mimflow.training._planted`, :mod:`mimflow.training._correlation`, :mod:`mimflow.training._committee`).
Each carries its population limit as ``flow`` (an :class:`~mimflow.dynamics.OverlapFlow`, ``None`` for the
committee), so the reference of a run is one :func:`~mimflow.dynamics.solve_flow` call:

* ``two-timescale`` (docs/math/finite-sample.md §1.8-1.9): ``W`` on :math:`\mathrm{St}(d,p)`, the link
  :math:`\hat f(\lambda) = \sum_{|\beta|\le K}\theta_\beta\phi_\beta(\lambda)` fitted by ridge regression
  on the Hermite features :math:`\phi_\beta` of :math:`W^Tx`,
  :math:`\theta = (\hat\Sigma + \mu\,\mathrm{diag}(q_{|\beta|}^{-1}))^{-1}\hat c`,
  :math:`\hat\Sigma = \frac1n\sum\phi\phi^T`, :math:`\hat c = \frac1n\sum y\,\phi`, :math:`q_k = \rho^k`;
  the moments come from a fresh batch of ``fit_batch`` samples every ``refit_every`` steps
  (``link_fit="fresh"``), from a Gaussian draw of the same batch's sufficient statistics with their exact
  mean and covariance (``"moments"``, :mod:`mimflow.training._moments`: cost independent of ``fit_batch``)
  or from exponential moving averages over the training batches with an
  effective window of ``fit_batch`` samples (``"running"``). Then
  :math:`a = (\hat f(\lambda) - y)\nabla\hat f(\lambda)`. As :math:`n\to\infty` the fit is
  :math:`\theta_\beta = \frac{q}{q+\mu}\,(A_{M^T}f_*)_\beta` (docs/math/grassmannian-flow.md §1.3-1.4) and by the envelope
  theorem the gradient is that of the profile loss: the limit is ``make_flow("two-timescale",
  spectrum truncated at K, ridge=mu, kernel_decay=rho)``.
* ``planted`` (docs/math/planted.md §1.7): ``W`` on the Stiefel manifold, link fixed to :math:`f_*`,
  :math:`a = (f_*(\lambda) - y)\nabla f_*(\lambda)`; limit ``make_flow("planted", spectrum)``.
* ``correlation`` (docs/math/neurons.md §2.2): ``p`` neurons on the sphere, target :math:`\sum_j\sigma(v_j^Tx)`
  with unit :math:`v_j` of Gram matrix ``P`` (not orthonormal in general), correlation loss
  :math:`-y\sum_i\sigma(\lambda_i)`, :math:`a_i = -y\,\sigma'(\lambda_i)`. Limit: each column of
  :math:`M = V^TW` follows :math:`\dot m = (P - mm^T)g'(m)`, :math:`g(m) = \sum_k c_k(\sigma)^2 m^k`
  (``make_flow("correlation", spectrum, gram=P, student_rank=p)``).
* ``committee``: square loss of :math:`\hat y = \sum_i c_i\sigma(\lambda_i)` against a multi-index
  target, online SGD with the first layer on the sphere or free and the second layer ``c``
  fixed (``c_i = 1``) or trained with the same step size:
  :math:`a_i = (\hat y - y)c_i\sigma'(\lambda_i)`, :math:`\nabla_c = (\hat y - y)\sigma(\lambda)`.

Population risk, in closed form from the overlaps (never a test set), without the label noise
(add :math:`\sigma^2/2` for the square losses):

* two-timescale, planted and correlation: ``flow.loss(M)``, the very function the population flow uses
  (profile loss with the truncated, possibly ridge-shrunk spectrum; correlation :math:`-\sum_{i,j} g(M_{ji})`);
* committee: :math:`\tfrac12\|f_*\|^2 - \sum_i c_i\,\mathbb{E}[f_*(z)\sigma(\lambda_i)]
  + \tfrac12\sum_{ij}c_ic_j\mathbb{E}[\sigma(\lambda_i)\sigma(\lambda_j)]` with
  :math:`\mathbb{E}[f_*(z)\sigma(\lambda_i)] = \sum_k c_k(\sigma_{q_i})\langle S_k(f_*),
  (M_{\cdot i}/\sqrt{q_i})^{\otimes k}\rangle` and
  :math:`\mathbb{E}[\sigma(\lambda_i)\sigma(\lambda_j)] = \sum_k c_k(\sigma_{q_i})c_k(\sigma_{q_j})\rho_{ij}^k`
  (Mehler, docs/conventions.md §0), :math:`q_i = Q_{ii}`, :math:`\rho_{ij} = Q_{ij}/\sqrt{q_iq_j}`,
  :math:`\sigma_q(u) = \sigma(\sqrt q u)`; on the sphere :math:`q_i = 1` and the coefficients are the
  link's own, for ``free`` they are computed by a 160-point Gauss-Hermite rule (exact to rounding for
  smooth activations; for kinked ones such as ``relu`` the quadrature error is ~1e-4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError, check_finite
from mimflow.dynamics import OverlapFlow
from mimflow.hermite import MultivariateSpectrum

CONSTRAINTS = ("stiefel", "sphere", "free")
LINK_FITS = ("fresh", "running", "sgd", "moments")

MAX_FEATURE_DEGREE_BY_P = {1: 12, 2: 8, 3: 6, 4: 4}
"""Default caps of the student's Hermite-feature degree (two-timescale)."""
ACTIVATION_DEGREE = 60
"""Degree of the activation's Hermite expansion in the committee risk."""
QUADRATURE_NODES = 160


@dataclass(frozen=True, eq=False)
class TrainingAlgorithm:
    r"""A training algorithm described by local fields only (final; build with :func:`make_algorithm`).

    Attributes:
        name: one of :data:`ALGORITHMS`.
        link: the target's link name.
        r: number of teacher directions (rank of ``W*`` / number of teacher neurons).
        p: student width (columns of ``W``).
        constraint: ``"stiefel"``, ``"sphere"`` or ``"free"``.
        teacher_gram: ``(r, r)`` ``P = W*^T W*`` (identity except for correlation targets).
        noise: label-noise standard deviation.
        labels: ``z (B, r) -> (B,)`` clean labels :math:`f_*(z)`.
        params0: initial algorithm parameters (dict of arrays; ``{}`` when none).
        coefficients: ``(params, lam (B, p), y (B,)) -> (A (B, p), grads)`` where ``grads`` has the
            keys of ``params`` (batch-mean gradients; zero for parameters that are not trained by SGD).
        risk: ``(M (r, p), Q (p, p), params) -> scalar`` population risk (closed form).
        fit: ``(params, lam (n, p), y (n,)) -> params`` link refit, or ``None``.
        link_fit: ``"fresh"`` / ``"moments"`` / ``"running"`` / ``"sgd"`` (two-timescale) or ``"none"``.
        fit_overlaps: ``(params, M, Q, key) -> params``, the fresh fit drawn from the overlaps
            (``link_fit="moments"``; engines that know ``M`` and ``Q`` call it instead of ``fit``), or ``None``.
        fit_batch: samples of a fresh fit (or the EMA window); refit_every: steps between fits.
        spectrum: the truncated teacher spectrum used by the risk and the population flow.
        flow: the population limit, an :class:`~mimflow.dynamics.OverlapFlow` (two-timescale, planted,
            correlation), or ``None`` where mimflow has no population ODE (committee).
        options: the options it was built with (for the record).
    """

    name: str
    link: str
    r: int
    p: int
    constraint: str
    teacher_gram: np.ndarray = field(repr=False)
    noise: float
    labels: Callable = field(repr=False)
    params0: dict = field(repr=False)
    coefficients: Callable = field(repr=False)
    risk: Callable = field(repr=False)
    fit: Callable | None = field(default=None, repr=False)
    link_fit: str = "none"
    fit_batch: int = 0
    refit_every: int = 1
    spectrum: MultivariateSpectrum | None = field(default=None, repr=False)
    flow: OverlapFlow | None = field(default=None, repr=False)
    options: dict = field(default_factory=dict)
    fit_overlaps: Callable | None = field(default=None, repr=False)

    @property
    def teacher_factor(self) -> np.ndarray:
        """``U (r, r)`` with ``U^T U = P``: ``W* = [U; 0]`` in the frame of the engines (``U = chol(P)^T``)."""
        return np.linalg.cholesky(self.teacher_gram).T


# ----------------------------------------------------------------------------- helpers


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise MimflowError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_noise(noise) -> float:
    check_finite("noise", noise)
    if noise < 0:
        raise MimflowError(f"noise (label-noise std) must be >= 0, got {noise}")
    return float(noise)


def _scalar_fn(link):
    """``u (r,) -> f(u)`` scalar, for jax.grad."""
    return lambda u: link.fn(u)


def _batched_labels(link):
    return lambda z: link.fn(z)


def _activation(link):
    """``sigma`` and ``sigma'`` applied entrywise to ``(B, p)``."""
    one = lambda u: link.fn(jnp.reshape(u, (1,)))  # noqa: E731
    d_one = jax.grad(one)

    def sigma(lam):
        return link.fn(lam[..., None])

    def dsigma(lam):
        return jax.vmap(jax.vmap(d_one))(lam)

    return sigma, dsigma


def _one_variable(link, what: str):
    if link.r != 1:
        raise MimflowError(f"{what} {link.name!r} has r = {link.r} variables: it must be a one-variable link (e.g. 'h3')")
