"""1-D Hermite coefficients: closed forms vs docs/math/hermite.md §5.1 and vs piecewise quadrature."""

import math

import numpy as np
import pytest

from mimflow import MimflowError, make_link
from mimflow.hermite import gauss_hermite_rule, hermite_coefficients_by_quadrature

# docs/math/hermite.md §5.1, table of normalised coefficients (6 decimals quoted there).
TABLE = {
    "relu": [1 / math.sqrt(2 * math.pi), 0.5, 1 / (2 * math.sqrt(math.pi)), 0, -0.081434, 0, 0.044603],
    "abs": [math.sqrt(2 / math.pi), 0, 1 / math.sqrt(math.pi), 0, -0.162868, 0, 0.089206],
    "sign": [0, math.sqrt(2 / math.pi), 0, -0.325735, 0, 0.218510, 0],
    "erf(z*0.7071067811865476)": [0, 1 / math.sqrt(math.pi), 0, -0.115165, 0, 0.038627, 0],
    "gelu": [1 / (2 * math.sqrt(math.pi)), 0.5, 3 / (4 * math.sqrt(2 * math.pi)), 0, -0.071978, 0, 0.027597],
    "tanh": [0, 0.605706, 0, -0.148437, 0, 0.062548, 0],
    "sigmoid": [0.5, 0.206621, 0, -0.025473, 0, 0.005877, 0],
    "softplus": [0.806059, 0.5, 0.146103, 0, -0.012737, 0, 0.002399],
    "he2": [0, 0, math.sqrt(2), 0, 0, 0, 0],
    "z**2": [1, 0, math.sqrt(2), 0, 0, 0, 0],
    "he3": [0, 0, 0, math.sqrt(6), 0, 0, 0],
    "z**3": [0, 3, 0, math.sqrt(6), 0, 0, 0],
    "he4": [0, 0, 0, 0, math.sqrt(24), 0, 0],
    "z**4": [3, 0, 6 * math.sqrt(2), 0, math.sqrt(24), 0, 0],
}
NORMS = {"relu": 0.5, "abs": 1.0, "sign": 1.0, "erf(z*0.7071067811865476)": 1 / 3, "gelu": 0.425221,
         "tanh": 0.394294, "sigmoid": 0.293379, "softplus": 0.921246, "he2": 2, "z**2": 3, "he3": 6,
         "z**3": 15, "he4": 24, "z**4": 105}


@pytest.mark.parametrize("name", list(TABLE))
def test_against_math_md_table(name):
    spec = make_link(name).spectrum(6)
    # the table quotes 6 decimals: agreement to 5e-7 is what it can certify
    np.testing.assert_allclose(spec.coefficients, TABLE[name], atol=5e-7)
    assert spec.norm2 == pytest.approx(NORMS[name], abs=5e-7)


@pytest.mark.parametrize("name", ["relu", "abs", "sign", "erf", "erf(z*0.7071067811865476)", "relu(2*z)", "he5", "h7"])
def test_quadrature_matches_closed_form_to_1e10(name):
    link = make_link(name)
    closed = link.spectrum(20, method="closed-form")
    quad = link.spectrum(20, method="quadrature")
    assert closed.method == "closed-form" and quad.method == "quadrature"
    np.testing.assert_allclose(quad.coefficients, closed.coefficients, rtol=0, atol=1e-10)
    assert quad.norm2 == pytest.approx(closed.norm2, abs=1e-10)


@pytest.mark.parametrize("name", ["relu", "abs", "sign"])
def test_quadrature_matches_closed_form_at_degree_200(name):
    link = make_link(name)
    closed = link.spectrum(200, method="closed-form")
    quad = link.spectrum(200, method="quadrature")
    np.testing.assert_allclose(quad.coefficients, closed.coefficients, rtol=0, atol=1e-10)


def test_plain_gauss_hermite_is_not_enough_for_kinks():
    """The reason for piecewise quadrature: 200-node Gauss-Hermite errs ~1e-3 on relu."""
    nodes, weights = gauss_hermite_rule(200)
    from mimflow.hermite import hermite_normalized

    h = np.asarray(hermite_normalized(nodes, 20))
    gh = (weights * np.maximum(nodes, 0)) @ h
    closed = make_link("relu").spectrum(20).coefficients
    assert np.max(np.abs(gh - closed)) > 1e-5


def test_consistency_relations():
    """relu = (z + |z|)/2; |z| even -> odd coefficients vanish; sign odd -> even vanish."""
    relu = make_link("relu").spectrum(30).coefficients
    absv = make_link("abs").spectrum(30).coefficients
    z = np.zeros(31)
    z[1] = 1
    np.testing.assert_allclose(relu, (z + absv) / 2, atol=1e-15)
    assert np.all(absv[1::2] == 0)
    assert np.all(make_link("sign").spectrum(30).coefficients[0::2] == 0)


def test_parseval_partial_sums_math_md():
    """docs/math/hermite.md §5.1: partial sums to k = 8 are relu 0.49824, |z| 0.99297, sign 0.81889."""
    for name, expected in [("relu", 0.49824), ("abs", 0.99297), ("sign", 0.81889)]:
        spec = make_link(name).spectrum(8)
        assert float(np.sum(spec.coefficients**2)) == pytest.approx(expected, abs=6e-6)
        assert spec.tail == pytest.approx(spec.norm2 - expected, abs=6e-6)


def test_tail_decays_like_math_md_says():
    """Tails decay like K^-1/2 (sign) and K^-3/2 (relu): fitted log-log slopes."""
    ks = np.array([25, 50, 100, 200])
    for name, slope in [("sign", -0.5), ("relu", -1.5)]:
        link = make_link(name)
        tails = np.array([link.spectrum(int(k)).tail for k in ks])
        fitted = np.polyfit(np.log(ks), np.log(tails), 1)[0]
        assert fitted == pytest.approx(slope, abs=0.05)


def test_shifted_kink_found_automatically():
    """relu(z - 0.5) has its kink at 0.5: closed-form via Stein, E[relu(z-a) He_k] = E[He_{k-2}... ]."""
    link = make_link("relu(z - 0.5)")
    assert link.breakpoints() == pytest.approx((0.5,))
    spec = link.spectrum(10)
    # Stein: c_k = E[relu^{(k)}(z - a)]/sqrt(k!) = phi(a) He_{k-2}(a)/sqrt(k!) for k >= 2
    a = 0.5
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    for k in range(2, 11):
        he = np.polynomial.hermite_e.hermeval(a, np.eye(k - 1)[k - 2])
        assert spec.coefficients[k] == pytest.approx(phi * he / math.sqrt(math.factorial(k)), abs=1e-12)
    # c_1 = P(z > a), c_0 = phi(a) - a P(z > a)
    tail_prob = 0.5 * math.erfc(a / math.sqrt(2))
    assert spec.coefficients[1] == pytest.approx(tail_prob, abs=1e-13)
    assert spec.coefficients[0] == pytest.approx(phi - a * tail_prob, abs=1e-13)


def test_callable_with_declared_breakpoints():
    spec = make_link(lambda z: np.where(z > 1.0, 1.0, 0.0), breakpoints=[1.0], name="step").spectrum(10)
    # c_k = E[1{z>1} h_k] = phi(1) He_{k-1}(1)/sqrt(k!) for k >= 1
    phi = math.exp(-0.5) / math.sqrt(2 * math.pi)
    for k in range(1, 11):
        he = np.polynomial.hermite_e.hermeval(1.0, np.eye(k)[k - 1])
        assert spec.coefficients[k] == pytest.approx(phi * he / math.sqrt(math.factorial(k)), abs=1e-12)


def test_non_finite_link_is_refused():
    with pytest.raises(MimflowError, match="not finite"):
        make_link("1/z").spectrum(4)


def test_r_gt_1_refused_for_1d_spectrum():
    with pytest.raises(MimflowError, match="multivariate"):
        make_link("z1*z2").spectrum(4)


def test_function_quadrature_direct():
    spec = hermite_coefficients_by_quadrature(np.cos, 8)
    # E[cos z He_k] = E[cos^{(k)}]: c_0 = e^{-1/2}, c_2 = -e^{-1/2}/sqrt 2, c_4 = e^{-1/2}/sqrt 24
    e = math.exp(-0.5)
    np.testing.assert_allclose(spec.coefficients[[0, 2, 4]], [e, -e / math.sqrt(2), e / math.sqrt(24)], atol=1e-14)
    assert spec.norm2 == pytest.approx((1 + math.exp(-2)) / 2, abs=1e-14)


def test_truncated_spectrum_equals_lower_degree_spectrum():
    """truncated(K) keeps c_0..c_K and the norm; its tail is the energy above K."""
    from mimflow.targets import multivariate_spectrum

    full = make_link("relu").spectrum(30)
    low = make_link("relu").spectrum(10)
    cut = full.truncated(10)
    np.testing.assert_array_equal(cut.coefficients, full.coefficients[:11])
    np.testing.assert_allclose(cut.coefficients, low.coefficients, atol=1e-15)
    assert cut.tail == pytest.approx(low.tail, abs=1e-15)
    multi = multivariate_spectrum("relu(z1)*sign(z2)", 8).truncated(5)
    ref = multivariate_spectrum("relu(z1)*sign(z2)", 5)
    np.testing.assert_array_equal(multi.multi_indices, ref.multi_indices)
    np.testing.assert_allclose(multi.values, ref.values, atol=1e-15)
    assert multi.tail == pytest.approx(ref.tail, abs=1e-14)
    with pytest.raises(MimflowError, match="truncation degree"):
        full.truncated(31)
