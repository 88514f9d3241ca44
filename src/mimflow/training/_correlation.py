r"""Correlation-loss neurons on the sphere against a sum of neurons (docs/math/neurons.md §2.2).

The population limit is :func:`~mimflow.dynamics.correlation_flow` with :math:`g(m) = \sum_k c_k(\sigma)^2 m^k`
and the teacher Gram matrix ``P``; the population risk is that flow's loss.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError, check_finite
from mimflow.dynamics import make_flow
from mimflow.targets import truncated_spectrum
from mimflow.training._algorithm import (
    TrainingAlgorithm,
    _activation,
    _check_noise,
    _one_variable,
    _positive_int,
)


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
    spectrum = truncated_spectrum(link, degree=degree)
    flow = make_flow("correlation", spectrum, gram=P, student_rank=n)
    sigma, dsigma = _activation(link)

    def labels(z):
        return jnp.sum(sigma(z), axis=-1)

    def coefficients(params, lam, y):
        return -y[:, None] * dsigma(lam), {}

    def risk(M, Q, params):
        return flow.loss(M)

    return TrainingAlgorithm("correlation", link.name, k, n, "sphere", P, _check_noise(noise), labels, {},
                             coefficients, risk, spectrum=spectrum, flow=flow,
                             options={"degree": spectrum.degree, "beta": None if beta is None else float(beta)})
