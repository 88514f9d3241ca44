r"""Two-timescale Stiefel SGD with the link refitted on Hermite features (docs/math/finite-sample.md §1.8-1.9).

The limit is ``make_flow("two-timescale", spectrum truncated at K, ridge=mu, kernel_decay=rho)``
(module docstring of :mod:`mimflow.training._algorithm`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError, check_finite
from mimflow.dynamics import make_flow
from mimflow.hermite import ridge_factors
from mimflow.targets import MAX_DEGREE_BY_R, truncated_spectrum
from mimflow.training._algorithm import (
    LINK_FITS,
    MAX_FEATURE_DEGREE_BY_P,
    TrainingAlgorithm,
    _batched_labels,
    _check_noise,
    _positive_int,
)
from mimflow.training._features import feature_indices, hermite_features
from mimflow.training._moments import MIN_FIT_BATCH, make_moment_fit


def two_timescale(link, *, student_rank: int | None = None, degree: int | None = None, ridge: float = 0.0,
                  kernel_decay: float = 0.5, link_fit: str = "fresh", fit_batch: int = 2000, refit_every: int = 1,
                  link_speed: float = 100.0, noise: float = 0.0) -> TrainingAlgorithm:
    r"""Two-timescale Stiefel SGD with the link refitted by ridge regression on Hermite features (docs/math/finite-sample.md §1.8).

    ``link_fit="sgd"`` is the network version: the Hermite-feature coefficients are a second layer trained
    by SGD on the same samples, ``link_speed`` times faster than ``W`` (gradient
    :math:`(\hat f - y)\phi + \mu\,\theta/q`); the two-timescale limit is ``link_speed -> infinity``.
    """
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
        spectrum = truncated_spectrum(link)
        K = min(spectrum.degree, cap)
        spectrum = spectrum.truncated(K) if K < spectrum.degree else spectrum
    else:
        K = _positive_int("degree", degree)
        if K > cap:
            raise MimflowError(f"degree {K} gives too many Hermite features for student rank {p}: use degree <= {cap}")
        spectrum = truncated_spectrum(link, degree=min(K, MAX_DEGREE_BY_R.get(r, 4)))
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
            if fit_batch < MIN_FIT_BATCH:
                raise MimflowError(f"link_fit='moments' draws the statistics of fit_batch samples from their central-limit "
                                   f"law, which needs fit_batch >= {MIN_FIT_BATCH} (got {fit_batch}): use link_fit='fresh'")

            label_degree = truncated_spectrum(link).degree
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
