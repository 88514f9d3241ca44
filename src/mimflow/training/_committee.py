r"""Square-loss two-layer networks (committee machines) trained by online SGD; mimflow has no population ODE for them.

The population risk is in closed form from the overlaps (module docstring of :mod:`mimflow.training._algorithm`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.hermite import hermite_normalized
from mimflow.targets import make_link, truncated_spectrum
from mimflow.training._algorithm import (
    ACTIVATION_DEGREE,
    QUADRATURE_NODES,
    TrainingAlgorithm,
    _activation,
    _batched_labels,
    _check_noise,
    _one_variable,
    _positive_int,
)


def committee(link, *, student_width: int | None = None, activation: str = "erf", constraint: str = "sphere",
              train_second_layer: bool = False, noise: float = 0.0, degree: int | None = None) -> TrainingAlgorithm:
    r"""Square-loss two-layer network :math:`\sum_i c_i\sigma(w_i^Tx)` trained by online SGD."""
    r = link.r
    p = r if student_width is None else _positive_int("student_width", student_width)
    if constraint not in ("sphere", "free"):
        raise MimflowError(f"committee constraint must be sphere or free, got {constraint!r}")
    act = make_link(activation)
    _one_variable(act, "activation")
    spectrum = truncated_spectrum(link, degree=degree)
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
