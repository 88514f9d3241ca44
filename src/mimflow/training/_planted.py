r"""Planted Stiefel SGD: the student uses the true link (docs/math/planted.md §1.7); its limit is the planted flow."""

from __future__ import annotations

import jax
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow.dynamics import make_flow
from mimflow.targets import truncated_spectrum
from mimflow.training._algorithm import (
    TrainingAlgorithm,
    _batched_labels,
    _check_noise,
    _scalar_fn,
)


def planted(link, *, noise: float = 0.0, degree: int | None = None) -> TrainingAlgorithm:
    """Planted Stiefel SGD: the student uses the true link :math:`f_*` (docs/math/planted.md §1.7)."""
    spectrum = truncated_spectrum(link, degree=degree)
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
