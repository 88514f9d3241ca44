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
:mod:`mimflow.training._engines`. To first order in :math:`\eta` the polar retraction of a
Euclidean step is the Riemannian step with the embedded metric, and the column normalisation is
the spherical step, so the :math:`\eta\to0` limit in time :math:`t = \eta\cdot\mathrm{step}` is the
population gradient flow of :mod:`mimflow.dynamics` (docs/math/grassmannian-flow.md §1.4, docs/math/planted.md §1.7, docs/math/neurons.md §2.2).

Algorithms (:func:`make_algorithm`):

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
  :math:`M = V^TW` follows :math:`\dot m = (P - mm^T)g'(m)`, :math:`g(m) = \sum_k c_k(\sigma)^2 m^k`.
* ``committee``: square loss of :math:`\hat y = \sum_i c_i\sigma(\lambda_i)` against a multi-index
  target, online SGD with the first layer on the sphere or free and the second layer ``c``
  fixed (``c_i = 1``) or trained with the same step size:
  :math:`a_i = (\hat y - y)c_i\sigma'(\lambda_i)`, :math:`\nabla_c = (\hat y - y)\sigma(\lambda)`.

Population risk, in closed form from the overlaps (never a test set), without the label noise
(add :math:`\sigma^2/2` for the square losses):

* two-timescale and planted: ``flow.loss(M)``, the very function the population flow uses
  (profile loss with the truncated, possibly ridge-shrunk spectrum);
* correlation: :math:`-\sum_{i,j} g(M_{ji})`;
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
from mimflow.hermite import MultivariateSpectrum, hermite_normalized, multi_indices
from mimflow.training._features import feature_indices, hermite_features

ALGORITHMS = ("two-timescale", "planted", "correlation", "committee")
CONSTRAINTS = ("stiefel", "sphere", "free")
LINK_FITS = ("fresh", "running", "sgd", "moments")

MAX_DEGREE_BY_R = {1: 40, 2: 12, 3: 8, 4: 6}
"""Truncation caps of the teacher spectrum (same as ``mimflow flow``)."""
MAX_FEATURE_DEGREE_BY_P = {1: 12, 2: 8, 3: 6, 4: 4}
"""Default caps of the student's Hermite-feature degree (two-timescale)."""
TAIL_RTOL = 1e-6
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
        flow: the population :class:`~mimflow.dynamics.OverlapFlow` (two-timescale, planted) or ``None``.
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
    flow: object = field(default=None, repr=False)
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


def _spectrum(link, degree: int | None, cap: dict[int, int]) -> MultivariateSpectrum:
    """The link's spectrum truncated at ``degree`` or at the smallest degree with a tail below TAIL_RTOL."""
    from mimflow.dynamics._flows import _as_multivariate
    from mimflow.targets import multivariate_spectrum

    top = cap.get(link.r, 4)
    if degree is not None:
        if degree > top:
            raise MimflowError(f"degree {degree} is too high for r = {link.r}: use degree <= {top}")
        spec = link.spectrum(degree) if link.r == 1 else multivariate_spectrum(link, degree)
        return _as_multivariate(spec)
    spec = _as_multivariate(link.spectrum(top) if link.r == 1 else multivariate_spectrum(link, top))
    for K in range(1, top + 1):
        trunc = spec.truncated(K)
        if trunc.tail <= TAIL_RTOL * max(trunc.norm2, 1e-300):
            return trunc
    return spec


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


# ----------------------------------------------------------------------------- planted


def planted(link, *, noise: float = 0.0, degree: int | None = None) -> TrainingAlgorithm:
    """Planted Stiefel SGD: the student uses the true link :math:`f_*` (docs/math/planted.md §1.7)."""
    from mimflow.dynamics import make_flow

    spectrum = _spectrum(link, degree, MAX_DEGREE_BY_R)
    flow = make_flow("planted", spectrum)
    f = _scalar_fn(link)
    value_and_grad = jax.vmap(jax.value_and_grad(f))

    def coefficients(params, lam, y):
        values, grads = value_and_grad(lam)
        return (values - y)[:, None] * grads, {}

    def risk(M, Q, params):
        return flow.loss(M)

    return TrainingAlgorithm("planted", link.name, link.r, link.r, "stiefel", np.eye(link.r), _check_noise(noise),
                             _batched_labels(link), {}, coefficients, risk, spectrum=spectrum, flow=flow,
                             options={"degree": spectrum.degree})


# ----------------------------------------------------------------------------- two-timescale


def two_timescale(link, *, student_rank: int | None = None, degree: int | None = None, ridge: float = 0.0,
                  kernel_decay: float = 0.5, link_fit: str = "fresh", fit_batch: int = 2000, refit_every: int = 1,
                  link_speed: float = 100.0, noise: float = 0.0) -> TrainingAlgorithm:
    r"""Two-timescale Stiefel SGD with the link refitted by ridge regression on Hermite features (docs/math/finite-sample.md §1.8).

    ``link_fit="sgd"`` is the network version: the Hermite-feature coefficients are a second layer trained
    by SGD on the same samples, ``link_speed`` times faster than ``W`` (gradient
    :math:`(\hat f - y)\phi + \mu\,\theta/q`); the two-timescale limit is ``link_speed -> infinity``.
    """
    from mimflow.dynamics import make_flow
    from mimflow.hermite import ridge_factors

    r = link.r
    p = r if student_rank is None else _positive_int("student_rank", student_rank)
    if p > 4:
        raise MimflowError(f"student_rank = {p} is too large for Hermite features of W^T x: use student_rank <= 4")
    if link_fit not in LINK_FITS:
        raise MimflowError(f"link_fit must be one of {', '.join(LINK_FITS)}, got {link_fit!r}")
    fit_batch = _positive_int("fit_batch", fit_batch)
    refit_every = _positive_int("refit_every", refit_every)
    ridge_factors(np.zeros(1), ridge, kernel_decay)  # validates ridge and kernel_decay
    cap = MAX_FEATURE_DEGREE_BY_P[p]
    if degree is None:
        spectrum = _spectrum(link, None, MAX_DEGREE_BY_R)
        K = min(spectrum.degree, cap)
        spectrum = spectrum.truncated(K) if K < spectrum.degree else spectrum
    else:
        K = _positive_int("degree", degree)
        if K > cap:
            raise MimflowError(f"degree {K} gives too many Hermite features for student rank {p}: use degree <= {cap}")
        spectrum = _spectrum(link, min(K, MAX_DEGREE_BY_R.get(r, 4)), MAX_DEGREE_BY_R)
    flow = make_flow("two-timescale", spectrum, student_rank=p, ridge=float(ridge), kernel_decay=float(kernel_decay))
    betas = feature_indices(p, K)
    m = len(betas)
    if ridge == 0 and link_fit in ("fresh", "moments") and fit_batch < 2 * m:
        raise MimflowError(
            f"fit_batch = {fit_batch} is too small for an unregularised fit of {m} Hermite features:"
            f" use fit_batch >= {2 * m} or ridge > 0"
        )
    penalty = jnp.asarray(float(ridge) / float(kernel_decay) ** betas.sum(axis=1).astype(float))

    def solve(gram, moment):
        return jnp.linalg.solve(gram + jnp.diag(penalty), moment)

    check_finite("link_speed", link_speed)
    if link_speed <= 0:
        raise MimflowError(f"link_speed must be positive, got {link_speed}")
    speed = float(link_speed)

    def coefficients(params, lam, y):
        phi, dphi = hermite_features(lam, betas, K)
        theta = params["theta"]
        residual = phi @ theta - y
        grad_lam = jnp.einsum("bmj,m->bj", dphi, theta)
        grads = jax.tree_util.tree_map(jnp.zeros_like, params)
        if link_fit == "sgd":
            grads = {"theta": speed * (phi.T @ residual / lam.shape[0] + penalty * theta)}
        return residual[:, None] * grad_lam, grads

    fit_overlaps = None
    if link_fit == "sgd":
        params0 = {"theta": np.zeros(m)}
        fit = None
    elif link_fit in ("fresh", "moments"):
        params0 = {"theta": np.zeros(m)}
        if link_fit == "moments":
            from mimflow.training._moments import MIN_FIT_BATCH, make_moment_fit

            if fit_batch < MIN_FIT_BATCH:
                raise MimflowError(f"link_fit='moments' draws the statistics of fit_batch samples from their central-limit "
                                   f"law, which needs fit_batch >= {MIN_FIT_BATCH} (got {fit_batch}): use link_fit='fresh'")

            label_degree = _spectrum(link, None, MAX_DEGREE_BY_R).degree
            fit_overlaps = make_moment_fit(r=r, p=p, betas=betas, feature_degree=K, label_degree=label_degree,
                                           labels=_batched_labels(link), noise=_check_noise(noise), n=fit_batch,
                                           penalty=penalty)

        def fit(params, lam, y):
            phi, _ = hermite_features(lam, betas, K)
            n = lam.shape[0]
            return {"theta": solve(phi.T @ phi / n, phi.T @ y / n)}
    else:
        params0 = {"theta": np.zeros(m), "gram": np.eye(m), "moment": np.zeros(m)}

        def fit(params, lam, y):
            phi, _ = hermite_features(lam, betas, K)
            n = lam.shape[0]
            rho = min(1.0, n / fit_batch)
            gram = (1 - rho) * params["gram"] + rho * (phi.T @ phi / n)
            moment = (1 - rho) * params["moment"] + rho * (phi.T @ y / n)
            return {"theta": solve(gram, moment), "gram": gram, "moment": moment}

    def risk(M, Q, params):
        return flow.loss(M)

    return TrainingAlgorithm(
        "two-timescale", link.name, r, p, "stiefel", np.eye(r), _check_noise(noise), _batched_labels(link), params0,
        coefficients, risk, fit=fit, link_fit=link_fit, fit_batch=fit_batch, refit_every=refit_every,
        spectrum=spectrum, flow=flow, fit_overlaps=fit_overlaps,
        options={"degree": K, "ridge": float(ridge), "kernel_decay": float(kernel_decay), "features": m,
                 "link_fit": link_fit, "fit_batch": fit_batch, "refit_every": refit_every, "link_speed": speed},
    )


# ----------------------------------------------------------------------------- correlation


def _teacher_gram(k: int, beta, gram) -> np.ndarray:
    if beta is not None and gram is not None:
        raise MimflowError("pass beta or gram, not both")
    if gram is not None:
        G = np.asarray(gram, dtype=float)
        if G.shape != (k, k) or not np.all(np.isfinite(G)):
            raise MimflowError(f"gram must be a finite ({k}, {k}) matrix")
        if np.max(np.abs(G - G.T)) > 1e-10 or np.max(np.abs(np.diag(G) - 1)) > 1e-10:
            raise MimflowError("gram must be symmetric with unit diagonal (unit teacher neurons)")
    else:
        b = 0.0 if beta is None else float(beta)
        check_finite("beta", b)
        if not -1.0 / max(k - 1, 1) < b < 1.0 and k > 1:
            raise MimflowError(f"beta = {b} gives no valid Gram matrix: use -1/(k-1) < beta < 1")
        G = (1 - b) * np.eye(k) + b * np.ones((k, k))
    if np.min(np.linalg.eigvalsh(G)) <= 1e-10:
        raise MimflowError("the teacher Gram matrix must be positive definite (linearly independent neurons)")
    return G


def correlation(link, *, teacher_neurons: int = 1, student_neurons: int | None = None, beta=None, gram=None,
                noise: float = 0.0, degree: int | None = None) -> TrainingAlgorithm:
    """Correlation-loss neurons on the sphere, target a sum of neurons (docs/math/neurons.md §2.2)."""
    _one_variable(link, "the neuron activation")
    k = _positive_int("teacher_neurons", teacher_neurons)
    n = k if student_neurons is None else _positive_int("student_neurons", student_neurons)
    P = _teacher_gram(k, beta, gram)
    spectrum = _spectrum(link, degree, MAX_DEGREE_BY_R)
    c2 = jnp.asarray(spectrum.values**2)
    powers = jnp.arange(len(spectrum.values), dtype=jnp.float64)
    sigma, dsigma = _activation(link)

    def labels(z):
        return jnp.sum(sigma(z), axis=-1)

    def coefficients(params, lam, y):
        return -y[:, None] * dsigma(lam), {}

    def risk(M, Q, params):
        return -jnp.sum(c2[None, None, :] * M[..., None] ** powers[None, None, :])

    out = TrainingAlgorithm("correlation", link.name, k, n, "sphere", P, _check_noise(noise), labels, {},
                            coefficients, risk, spectrum=spectrum,
                            options={"degree": spectrum.degree, "beta": None if beta is None else float(beta)})
    return out


# ----------------------------------------------------------------------------- committee


def committee(link, *, student_width: int | None = None, activation: str = "erf", constraint: str = "sphere",
              train_second_layer: bool = False, noise: float = 0.0, degree: int | None = None) -> TrainingAlgorithm:
    r"""Square-loss two-layer network :math:`\sum_i c_i\sigma(w_i^Tx)` trained by online SGD."""
    from mimflow.targets import make_link

    r = link.r
    p = r if student_width is None else _positive_int("student_width", student_width)
    if constraint not in ("sphere", "free"):
        raise MimflowError(f"committee constraint must be sphere or free, got {constraint!r}")
    act = make_link(activation)
    _one_variable(act, "activation")
    spectrum = _spectrum(link, degree, MAX_DEGREE_BY_R)
    K = spectrum.degree
    tensors = [jnp.asarray(spectrum.tensor(k)) for k in range(K + 1)]
    act_spec = act.spectrum(ACTIVATION_DEGREE)
    act_c = jnp.asarray(act_spec.coefficients)
    act_norm2 = float(act_spec.norm2)
    sigma, dsigma = _activation(act)
    nodes, weights = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
    weights = weights / np.sqrt(2 * np.pi)
    table = np.asarray(hermite_normalized(nodes, ACTIVATION_DEGREE))  # (n, K+1)
    nodes_j, weights_j, table_j = jnp.asarray(nodes), jnp.asarray(weights), jnp.asarray(table)
    f_norm2 = float(spectrum.norm2)
    ks = jnp.arange(ACTIVATION_DEGREE + 1, dtype=jnp.float64)

    def act_coefficients(q):
        """``c_k(sigma(sqrt(q) .))`` for k <= ACTIVATION_DEGREE and ``E[sigma(sqrt(q) u)^2]``."""
        if constraint == "sphere":
            return act_c, jnp.asarray(act_norm2)
        values = act.fn(jnp.sqrt(q) * nodes_j[:, None])  # (n,) (act.fn contracts the last axis)
        return table_j.T @ (weights_j * values), jnp.sum(weights_j * values**2)

    def teacher_projection(u):
        """``[<S_k(f*), u^{⊗k}>]_k`` for k <= K (``u`` (r,))."""
        out = []
        for k, S in enumerate(tensors):
            t = S
            for _ in range(k):
                t = jnp.tensordot(u, t, axes=1)
            out.append(t)
        return jnp.stack(out)

    def risk(M, Q, params):
        c = params["c"]
        q = jnp.diag(Q)
        coeffs, norms = jax.vmap(act_coefficients)(q)  # (p, K_act+1), (p,)
        proj = jax.vmap(teacher_projection, in_axes=1)(M / jnp.sqrt(q)[None, :])  # (p, K+1)
        cross = jnp.sum(coeffs[:, : K + 1] * proj, axis=1)  # E[f* sigma_i]
        rho = Q / jnp.sqrt(q[:, None] * q[None, :])
        pair = jnp.einsum("ik,jk,ijk->ij", coeffs, coeffs, rho[..., None] ** ks[None, None, :])
        pair = jnp.where(jnp.eye(p, dtype=bool), norms[:, None] * jnp.ones((1, p)), pair)
        return 0.5 * f_norm2 - jnp.sum(c * cross) + 0.5 * c @ pair @ c

    def coefficients(params, lam, y):
        c = params["c"]
        s = sigma(lam)
        err = s @ c - y
        A = err[:, None] * c[None, :] * dsigma(lam)
        grad_c = jnp.mean(err[:, None] * s, axis=0) if train_second_layer else jnp.zeros_like(c)
        return A, {"c": grad_c}

    return TrainingAlgorithm(
        "committee", link.name, r, p, constraint, np.eye(r), _check_noise(noise), _batched_labels(link),
        {"c": np.ones(p)}, coefficients, risk, spectrum=spectrum,
        options={"activation": act.name, "train_second_layer": bool(train_second_layer), "degree": K},
    )


# ----------------------------------------------------------------------------- factory

_CACHE: dict = {}


def make_algorithm(name: str, link, **options) -> TrainingAlgorithm:
    """Build the training algorithm ``name`` for the target link ``link`` (name, expression or Link).

    Options by algorithm (all keyword):

    * ``two-timescale``: ``student_rank``, ``degree`` (feature degree K), ``ridge``, ``kernel_decay``,
      ``link_fit`` (``"fresh"``/``"moments"``/``"running"``/``"sgd"``), ``fit_batch``, ``refit_every``, ``noise``;
    * ``planted``: ``noise``, ``degree`` (truncation of the risk);
    * ``correlation``: ``teacher_neurons``, ``student_neurons``, ``beta`` or ``gram``, ``noise``, ``degree``;
    * ``committee``: ``student_width``, ``activation``, ``constraint`` (``"sphere"``/``"free"``),
      ``train_second_layer``, ``noise``, ``degree``.

    Identical arguments return the same (cached) object, so compiled engines are reused.

    Example:
        >>> make_algorithm("planted", "h3").constraint
        'stiefel'
    """
    from mimflow.targets import make_link

    builders = {"two-timescale": two_timescale, "planted": planted, "correlation": correlation,
                "committee": committee}
    if name not in builders:
        raise MimflowError(f"unknown algorithm {name!r}; known: {', '.join(ALGORITHMS)}")
    key = None
    if isinstance(link, str):
        try:
            key = (name, link, tuple(sorted((k, _hashable(v)) for k, v in options.items())))
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in _CACHE:
            return _CACHE[key]
    link_obj = make_link(link)
    try:
        algo = builders[name](link_obj, **options)
    except TypeError as exc:
        raise MimflowError(f"bad option for algorithm {name!r}: {exc}") from None
    if key is not None:
        if len(_CACHE) > 32:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = algo
    return algo


def _hashable(value):
    if isinstance(value, np.ndarray):
        return (value.shape, value.tobytes())
    if isinstance(value, list):
        return tuple(value)
    return value
