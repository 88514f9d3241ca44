"""Multivariate Hermite coefficients: closed forms, separable vs quadrature, Parseval, Monte Carlo,
tensor form and rotations (docs/conventions.md §0 and docs/math/grassmannian-flow.md §1.3; mimflow.targets._multivariate_spectrum)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mimflow import MimflowError
from mimflow.hermite import CLOSED_FORMS, hermite_normalized, multi_indices
from mimflow.targets import make_link, multivariate_spectrum, parse_expression
from mimflow.targets import separable_terms

# The separable method only combines exact 1-D closed forms and 1-D piecewise Gauss-Legendre
# rules that are accurate to ~1e-14 (mimflow.hermite._quadrature); sums of a few such products
# lose at most a few ulps more, hence 1e-12.
EXACT = 1e-12


def _expected(r, k_max, entries):
    betas = multi_indices(r, k_max)
    out = np.zeros(len(betas))
    for beta, value in entries.items():
        out[int(np.nonzero((betas == np.array(beta)).all(axis=1))[0][0])] = value
    return out


# ---------------------------------------------------------------------------- closed forms


def test_sum_of_hermite_polynomials():
    s = multivariate_spectrum("h2(z1) + h3(z2)", 6)
    assert s.method == "separable" and s.r == 2 and s.degree == 6
    np.testing.assert_allclose(s.values, _expected(2, 6, {(2, 0): 1.0, (0, 3): 1.0}), rtol=0, atol=EXACT)
    assert s.norm2 == pytest.approx(2.0, abs=EXACT)
    assert abs(s.tail) < EXACT


def test_parity_and_staircase():
    s = multivariate_spectrum("z1*z2", 4)
    np.testing.assert_allclose(s.values, _expected(2, 4, {(1, 1): 1.0}), rtol=0, atol=EXACT)
    s = multivariate_spectrum("z1 + z1*z2 + z1*z2*z3", 5)
    expected = _expected(3, 5, {(1, 0, 0): 1.0, (1, 1, 0): 1.0, (1, 1, 1): 1.0})
    np.testing.assert_allclose(s.values, expected, rtol=0, atol=EXACT)
    assert s.norm2 == pytest.approx(3.0, abs=EXACT) and abs(s.tail) < EXACT


def test_relu_times_sign_is_the_product_of_closed_forms():
    k_max = 12
    s = multivariate_spectrum("relu(z1)*sign(z2)", k_max)
    c_relu, n_relu = CLOSED_FORMS["relu"](k_max)
    c_sign, n_sign = CLOSED_FORMS["sign"](k_max)
    betas = multi_indices(2, k_max)
    expected = c_relu[betas[:, 0]] * c_sign[betas[:, 1]]
    np.testing.assert_allclose(s.values, expected, rtol=0, atol=EXACT)
    assert s.norm2 == pytest.approx(n_relu * n_sign, abs=EXACT)  # E[relu^2] E[sign^2] = 1/2
    assert s.tail == pytest.approx(n_relu * n_sign - float(np.sum(expected**2)), abs=EXACT)


def test_powers_and_cancellations_are_expanded():
    # (z1 + z2)^2 = (1 + sqrt2 h2(z1)) + 2 h1 h1 + (1 + sqrt2 h2(z2)); E[(z1 + z2)^4] = 3 * 2^2.
    s = multivariate_spectrum("(z1 + z2)**2", 4)
    r2 = math.sqrt(2.0)
    expected = _expected(2, 4, {(0, 0): 2.0, (2, 0): r2, (1, 1): 2.0, (0, 2): r2})
    np.testing.assert_allclose(s.values, expected, rtol=0, atol=EXACT)
    assert s.norm2 == pytest.approx(12.0, abs=1e-11)
    # (z1 - z2)(z1 + z2) = z1^2 - z2^2: the cross terms cancel symbolically.
    terms = separable_terms(parse_expression("(z1 - z2)*(z1 + z2)")[0])
    assert all(len(factors) == 1 for _, factors in terms)
    s = multivariate_spectrum("(z1 - z2)*(z1 + z2)/2", 3)
    np.testing.assert_allclose(s.values, _expected(2, 3, {(2, 0): r2 / 2, (0, 2): -r2 / 2}), rtol=0, atol=EXACT)
    assert s.norm2 == pytest.approx(1.0, abs=EXACT)


def test_padded_variables_and_one_variable_links():
    s = make_link("z1*z2", r=3)
    spec = multivariate_spectrum(s, 3)
    np.testing.assert_allclose(spec.values, _expected(3, 3, {(1, 1, 0): 1.0}), rtol=0, atol=EXACT)
    one_d = make_link("relu").spectrum(15)
    spec = multivariate_spectrum("relu", 15)
    assert spec.r == 1
    np.testing.assert_allclose(spec.values, one_d.coefficients, rtol=0, atol=EXACT)
    assert spec.norm2 == pytest.approx(0.5, abs=EXACT)


def test_non_separable_detection():
    for text in ("tanh(z1 + z2)", "z1/z2", "(z1 + z2)**9", "relu(z1*z2)"):
        assert separable_terms(parse_expression(text)[0]) is None
        with pytest.raises(MimflowError, match="method='quadrature'"):
            multivariate_spectrum(text, 3, method="separable")
        assert multivariate_spectrum(text, 2).method == "quadrature"
    for text in ("exp(z1)*cos(z2) - z1**3*z2/4", "(1 + z1*z2)**3", "sign(z1)*z1*z2*relu(z2)"):
        assert separable_terms(parse_expression(text)[0]) is not None


# --------------------------------------------------------------- separable vs quadrature


# Quadrature error budgets (measured for the rules of _multivariate_spectrum): per-axis Gauss-Hermite
# with 200 (r = 2) / 128 (r = 3) nodes integrates tanh-type (strip-analytic) factors to < 1e-13 and
# entire ones to rounding; r = 4 uses 56 nodes, for which 1-D Gauss-Hermite on tanh has error 1.7e-8.
# Axes with breakpoints use panels ending at the kinks, accurate to ~1e-14.
@pytest.mark.parametrize(
    "text, k_max, tol",
    [
        ("tanh(z1)*z2 + exp(z1)*cos(z2)", 16, 1e-12),
        ("relu(z1)*sign(z2) - abs(z2)*z1", 12, 1e-12),
        ("sin(z1)*z2*z3 + gelu(z2)*erf(z3) + relu(z3)*z1", 8, 1e-11),
        ("sin(z1)*z2*cos(z3)*erf(z4) + z1*z4", 6, 1e-11),
    ],
)
def test_separable_agrees_with_quadrature(text, k_max, tol):
    exact = multivariate_spectrum(text, k_max, method="separable")
    quad = multivariate_spectrum(text, k_max, method="quadrature")
    assert exact.method == "separable" and quad.method == "quadrature"
    np.testing.assert_allclose(quad.values, exact.values, rtol=0, atol=tol)
    assert quad.norm2 == pytest.approx(exact.norm2, abs=tol)
    assert quad.tail == pytest.approx(exact.tail, abs=4 * tol)


def test_callable_with_declared_breakpoints_matches_expression():
    import jax.numpy as jnp

    fn = make_link(
        lambda z: jnp.maximum(z[..., 0], 0.0) * jnp.sign(z[..., 1]), r=2, breakpoints=[[0.0], [0.0]], name="rs"
    )
    quad = multivariate_spectrum(fn, 10)
    assert quad.method == "quadrature"
    exact = multivariate_spectrum("relu(z1)*sign(z2)", 10)
    np.testing.assert_allclose(quad.values, exact.values, rtol=0, atol=1e-13)
    assert quad.norm2 == pytest.approx(0.5, abs=1e-13)


# --------------------------------------------------------------------------------- Parseval


def test_parseval_tail_is_monotone_and_consistent():
    # tail_K = ||f||^2 - sum alpha^2 >= 0 (up to the quadrature error), non-increasing in K, and the
    # energy by degree adds up to ||f||^2 - tail_K.
    previous = None
    for k_max in (2, 4, 6, 8):
        s = multivariate_spectrum("tanh(z1 + z2*z3)", k_max)
        assert s.method == "quadrature"
        assert s.tail > -1e-12
        assert float(np.sum(s.energy_by_degree())) == pytest.approx(s.norm2 - s.tail, abs=1e-13)
        if previous is not None:
            assert s.tail <= previous.tail + 1e-13
            assert s.norm2 == pytest.approx(previous.norm2, abs=1e-14)  # the same 128-node rule for K <= 127
        previous = s
    # a polynomial of degree 3 has no tail above degree 3
    s = multivariate_spectrum("z1**3 - z2*z3 + 2*z1*z2*z3", 3)
    assert abs(s.tail) < EXACT


# ------------------------------------------------------------------------------ Monte Carlo


def test_monte_carlo_coefficients_of_a_non_separable_link():
    link = make_link("tanh(z1 + z2*z3)")
    spec = multivariate_spectrum(link, 4)
    n = 400_000
    z = np.random.default_rng(20240601).standard_normal((n, 3))
    f = np.asarray(link(z))
    h = np.asarray(hermite_normalized(z, 4))  # (n, 3, 5)
    for beta in [(1, 0, 0), (0, 1, 1), (3, 0, 0), (1, 1, 1), (2, 1, 1), (0, 0, 0)]:
        samples = f * h[:, 0, beta[0]] * h[:, 1, beta[1]] * h[:, 2, beta[2]]
        mean = samples.mean()
        se = samples.std(ddof=1) / math.sqrt(n)
        # Tolerance: 5 standard errors of the sample mean (se ~ 1e-3 here); the quadrature
        # error (< 1e-7) is negligible against it.
        assert abs(mean - spec.coefficient(beta)) < 5 * se, (beta, mean, spec.coefficient(beta), se)


# ------------------------------------------------------------------------------ tensor form


def test_tensor_energy_equals_degree_energy():
    s = multivariate_spectrum("tanh(z1 + z2*z3)", 6)
    energy = s.energy_by_degree()
    for k in range(7):
        assert float(np.sum(s.tensor(k) ** 2)) == pytest.approx(energy[k], rel=1e-12, abs=1e-15)


def _rotate(tensor: np.ndarray, R: np.ndarray) -> np.ndarray:
    """R^{(x)k} S by einsum (independent of mimflow.hermite.apply_tensor_power)."""
    out = tensor
    for axis in range(tensor.ndim):
        out = np.moveaxis(np.tensordot(R, out, axes=([1], [axis])), 0, axis)
    return out


def test_rotating_the_inputs_rotates_the_tensors():
    text = "tanh(z1)*z2 + h3(z3) + z1*z3 + sin(z2)"
    base = make_link(text)
    R, _ = np.linalg.qr(np.random.default_rng(7).standard_normal((3, 3)))
    rotated = make_link(lambda z: base(z @ R), r=3, name="f(R^T z)")  # (R^T z)_i = sum_j R_ji z_j
    k_max = 7
    exact = multivariate_spectrum(text, k_max)
    quad = multivariate_spectrum(rotated, k_max)
    assert exact.method == "separable" and quad.method == "quadrature"
    # The rotated link is smooth along every axis; the 128-node Gauss-Hermite tensor rule is accurate
    # to ~1e-13 on it (tanh in a rotated direction; measured 3e-14), hence 1e-12.
    for k in range(k_max + 1):
        np.testing.assert_allclose(quad.tensor(k), _rotate(exact.tensor(k), R), rtol=0, atol=1e-12)
    assert quad.norm2 == pytest.approx(exact.norm2, abs=1e-12)


# ----------------------------------------------------------------------------------- errors


def test_errors():
    with pytest.raises(MimflowError, match="r <= 4"):
        multivariate_spectrum("z1*z5", 2)
    with pytest.raises(MimflowError, match="r <= 4"):
        multivariate_spectrum(make_link(lambda z: z[..., 0], r=6), 2)
    with pytest.raises(MimflowError, match="too high"):
        multivariate_spectrum("z1*z2*z3", 13)  # 3**13 > 4**10
    with pytest.raises(MimflowError, match="too high"):
        multivariate_spectrum("z1*z2*z3*z4", 11)
    with pytest.raises(MimflowError, match="too high"):
        multivariate_spectrum("z1*z2", 21)
    with pytest.raises(MimflowError, match="method"):
        multivariate_spectrum("z1*z2", 2, method="exact")
    with pytest.raises(MimflowError, match="callable"):
        multivariate_spectrum(make_link(lambda z: z[..., 0] * z[..., 1], r=2), 2, method="separable")
    with pytest.raises(MimflowError, match="not finite"):
        multivariate_spectrum(make_link(lambda z: 1.0 / (z[..., 0] * 0.0) + z[..., 1], r=2), 2)
    with pytest.raises(MimflowError, match="tensor quadrature"):
        multivariate_spectrum("relu(z1)*relu(z2)*relu(z3)*relu(z4) + tanh(z1*z2)", 10)
