"""He_k and h_k: explicit values, recurrence, orthonormality, degree 200, jit/vmap/grad."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mimflow import MimflowError
from mimflow.hermite import gauss_hermite_rule, hermite_he, hermite_normalized
from mimflow.hermite._polynomials import hermite_he_at_zero


def test_low_degrees_match_explicit_polynomials():
    z = jnp.linspace(-3.0, 3.0, 13)
    he = hermite_he(z, 4)
    np.testing.assert_allclose(he[:, 0], 1.0)
    np.testing.assert_allclose(he[:, 1], z)
    np.testing.assert_allclose(he[:, 2], z**2 - 1, atol=1e-13)
    np.testing.assert_allclose(he[:, 3], z**3 - 3 * z, atol=1e-12)
    np.testing.assert_allclose(he[:, 4], z**4 - 6 * z**2 + 3, atol=1e-11)


def test_matches_numpy_hermite_e_to_degree_30():
    z = np.linspace(-5, 5, 41)
    ours = np.asarray(hermite_he(jnp.asarray(z), 30))
    for k in range(31):
        ref = np.polynomial.hermite_e.hermeval(z, np.eye(31)[k])
        np.testing.assert_allclose(ours[:, k], ref, rtol=1e-10, atol=1e-10 * math.sqrt(math.factorial(k)))


def test_orthonormal_under_gauss_hermite():
    nodes, weights = gauss_hermite_rule(120)
    h = np.asarray(hermite_normalized(jnp.asarray(nodes), 100))
    gram = h.T @ (weights[:, None] * h)
    np.testing.assert_allclose(gram, np.eye(101), atol=1e-10)


def test_degree_200_finite_without_overflow():
    z = jnp.linspace(-40.0, 40.0, 801)
    h = hermite_normalized(z, 250)
    assert h.shape == (801, 251)
    assert bool(jnp.all(jnp.isfinite(h)))
    # Orthonormality still holds at degree 200 with enough nodes.
    nodes, weights = gauss_hermite_rule(260)
    hh = np.asarray(hermite_normalized(jnp.asarray(nodes), 200))
    np.testing.assert_allclose(np.sum(weights * hh[:, 200] ** 2), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.sum(weights * hh[:, 200] * hh[:, 198]), 0.0, atol=1e-9)


def test_values_at_zero():
    h = np.asarray(hermite_he(jnp.zeros(()), 12))
    for k in range(13):
        assert h[k] == pytest.approx(hermite_he_at_zero(k), abs=1e-9)


def test_jit_vmap_grad():
    f = jax.jit(lambda z: hermite_normalized(z, 6))
    z = jnp.linspace(-2, 2, 5)
    np.testing.assert_allclose(jax.vmap(f)(z), f(z))
    # d/dz h_k = sqrt(k) h_{k-1}
    g = jax.grad(lambda x: hermite_normalized(x, 6)[5])(0.7)
    assert float(g) == pytest.approx(math.sqrt(5) * float(hermite_normalized(0.7, 6)[4]), rel=1e-12)


@pytest.mark.parametrize("bad", [-1, 10**6, 2.5, True])
def test_bad_degree(bad):
    with pytest.raises(MimflowError, match="degree"):
        hermite_normalized(jnp.zeros(3), bad)
