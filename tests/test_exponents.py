"""Information, generative and leap exponents and the saddle sequence (mimflow.theory._hermite_support,
_saddle_sequence, _generative, _exponents).

Reference values: docs/math/hermite.md §5.1 (IE column of the coefficient table), 5.2 (examples of the leap
complexity, Abbe-Boix-Adsera-Misiakiewicz 2023; generative exponents of polynomial links, Damian-
Pillaud-Vivien-Lee-Bruna 2024), 1.6 (the two-plateau link h2(z1) + h3(z2) of Bietti-Bruna-
Pillaud-Vivien 2023). Independent checks: a brute-force leap over all orderings, closed-form
Hermite coefficients of sign and relu, and a Lambert-W formula for a link with generative exponent 4
derived in the docstring of ``generative_exponent``.
"""

from __future__ import annotations

import itertools
import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import lambertw

from mimflow import MimflowError, make_link
from mimflow.hermite import HermiteSpectrum, MultivariateSpectrum, multi_indices
from mimflow.theory import (
    DEFAULT_DEGREE,
    GENERATIVE_RTOL,
    Exponents,
    Saddle,
    conditional_hermite_energies,
    exponent_status,
    exponents,
    generative_exponent,
    hermite_support,
    information_exponent,
    leap_exponent,
    rotate_spectrum,
    rotation_invariant_leap,
    saddle_sequence,
)

try:  # written concurrently; the end-to-end tests use it when it is there
    from mimflow.targets import multivariate_spectrum
except ImportError:  # pragma: no cover
    multivariate_spectrum = None

needs_multivariate = pytest.mark.skipif(multivariate_spectrum is None, reason="multivariate_spectrum not available")


def hand_spectrum(r: int, K: int, terms: dict[tuple[int, ...], float], name: str = "") -> MultivariateSpectrum:
    """A MultivariateSpectrum with the given coefficients alpha_beta (exact: tail 0)."""
    betas = multi_indices(r, K)
    values = np.zeros(len(betas))
    for beta, value in terms.items():
        row = int(np.nonzero((betas == np.array(beta)).all(axis=1))[0][0])
        values[row] = value
    return MultivariateSpectrum(r, K, betas, values, float(np.sum(values**2)), 0.0, "hand", name)


def hermite_1d(coefficients, tail: float = 0.0) -> HermiteSpectrum:
    c = np.asarray(coefficients, dtype=float)
    return HermiteSpectrum(c, float(np.sum(c**2)) + tail, tail, "hand")


def random_rotation(r: int, seed: int) -> np.ndarray:
    q, rr = np.linalg.qr(np.random.default_rng(seed).normal(size=(r, r)))
    return q * np.sign(np.diag(rr))


# Hermite forms of the multi-index examples: z_i = H_{e_i}, z1 z2 = H_(1,1), h2(z1) = H_(2,0).
STAIRCASE3 = {(1, 0, 0): 1.0, (1, 1, 0): 1.0, (1, 1, 1): 1.0}  # z1 + z1 z2 + z1 z2 z3
Z1_PLUS_Z1Z2Z3 = {(1, 0, 0): 1.0, (1, 1, 1): 1.0}
PARITY3 = {(1, 1, 1): 1.0}
TWO_PLATEAUS = {(2, 0): 1.0, (0, 3): 1.0}  # h2(z1) + h3(z2), docs/math/saddles.md §1.6


# ---------------------------------------------------------------------- information exponent


@pytest.mark.parametrize(
    "name, expected",
    # the IE column of docs/math/hermite.md §5.1 plus cos (even, c_2 = -e^{-1/2}/sqrt 2 != 0)
    [("relu", 1), ("abs", 2), ("sign", 1), ("erf", 1), ("tanh", 1), ("gelu", 1), ("sigmoid", 1),
     ("softplus", 1), ("he2", 2), ("z**2", 2), ("he3", 3), ("z**3", 1), ("he4", 4), ("z**4", 2), ("cos", 2)],
)
def test_information_exponent_of_one_variable_links(name, expected):
    spectrum = make_link(name).spectrum(12)
    assert information_exponent(spectrum) == expected
    assert exponent_status(spectrum) == "found"


def test_information_exponent_constant_and_above_degree():
    for constant in ("2", "0"):
        spectrum = make_link(constant).spectrum(12)
        assert information_exponent(spectrum) is None
        assert exponent_status(spectrum) == "constant"
    spectrum = make_link("he13").spectrum(12)  # all of its energy sits above the truncation
    assert information_exponent(spectrum) is None
    assert exponent_status(spectrum) == "above-degree"
    assert information_exponent(make_link("he13").spectrum(13)) == 13


def test_information_exponent_threshold_is_relative_to_the_norm():
    spectrum = hermite_1d([0.0, 1e-9, 1.0])  # |c_1| = 1e-9 ||f||
    assert information_exponent(spectrum) == 2  # below the default rtol = 1e-8
    assert information_exponent(spectrum, rtol=1e-10) == 1
    scaled = hermite_1d([0.0, 1e3, 1e12])  # the same relative sizes at a different scale
    assert information_exponent(scaled) == 2
    # a tail carried only by rounding is "constant"; one above the floor is "above-degree"
    assert exponent_status(hermite_1d([1.0, 0.0], tail=1e-15)) == "constant"
    assert exponent_status(hermite_1d([1.0, 0.0], tail=1e-6)) == "above-degree"


def test_information_exponent_multivariate_and_rotation_invariant():
    spectrum = hand_spectrum(2, 6, TWO_PLATEAUS)
    assert information_exponent(spectrum) == 2
    assert information_exponent(hand_spectrum(3, 4, PARITY3)) == 3
    assert information_exponent(hand_spectrum(3, 4, STAIRCASE3)) == 1
    for seed in range(3):
        assert information_exponent(rotate_spectrum(spectrum, random_rotation(2, seed))) == 2


def test_bad_arguments_raise_mimflow_error():
    spectrum = hermite_1d([0.0, 1.0])
    for rtol in (-1.0, 1.0, float("nan"), "x"):
        with pytest.raises(MimflowError, match="rtol"):
            information_exponent(spectrum, rtol=rtol)
    with pytest.raises(MimflowError, match="HermiteSpectrum or MultivariateSpectrum"):
        information_exponent(np.array([0.0, 1.0]))
    with pytest.raises(MimflowError, match="orthogonal"):
        rotate_spectrum(hand_spectrum(2, 3, TWO_PLATEAUS), np.ones((2, 2)))


def test_rotate_spectrum_matches_the_covariance_rule():
    # f(z) = z1 (beta = (1, 0)); f(R^T z) = (R^T z)_1 = sum_j R_j1 z_j has coefficients R[:, 0]
    R = random_rotation(2, 1)
    rotated = rotate_spectrum(hand_spectrum(2, 3, {(1, 0): 1.0}), R)
    assert rotated.coefficient((1, 0)) == pytest.approx(R[0, 0], abs=1e-14)
    assert rotated.coefficient((0, 1)) == pytest.approx(R[1, 0], abs=1e-14)
    # chaos energies are invariant, and R then R^T is the identity
    spectrum = hand_spectrum(2, 5, {**TWO_PLATEAUS, (1, 1): 0.3, (4, 1): -0.7})
    back = rotate_spectrum(rotate_spectrum(spectrum, R), R.T)
    np.testing.assert_allclose(back.values, spectrum.values, atol=1e-13)
    np.testing.assert_allclose(rotate_spectrum(spectrum, R).energy_by_degree(), spectrum.energy_by_degree(), atol=1e-13)


# ---------------------------------------------------------------------- leap


@pytest.mark.parametrize(
    "r, terms, expected",
    [  # docs/math/hermite.md §5.2 examples
        (3, STAIRCASE3, 1),
        (3, Z1_PLUS_Z1Z2Z3, 2),
        (3, PARITY3, 3),
        (1, {(3,): 1.0}, 3),  # he3(z1)
        (1, {(2,): 1.0}, 2),  # he2(z1)
        (2, TWO_PLATEAUS, 3),
        (2, {(1, 0): 1.0, (1, 1): 1.0}, 1),  # merged staircase z1 + z1 z2
        (4, {(1, 1, 0, 0): 1.0, (1, 1, 1, 1): 1.0}, 2),  # z1 z2 + z1 z2 z3 z4: two leaps of 2
    ],
)
def test_leap_exponent_examples(r, terms, expected):
    assert leap_exponent(hand_spectrum(r, 5, terms)) == expected


def _brute_force_leap(support: list[tuple[int, ...]]) -> int:
    best = None
    for order in itertools.permutations(support):
        covered: set[int] = set()
        worst = 0
        for beta in order:
            worst = max(worst, sum(b for j, b in enumerate(beta) if j not in covered))
            covered |= {j for j, b in enumerate(beta) if b}
        best = worst if best is None else min(best, worst)
    return best


def test_leap_exponent_agrees_with_brute_force_over_orderings():
    rng = np.random.default_rng(0)
    K, r = 4, 4
    betas = [tuple(int(x) for x in b) for b in multi_indices(r, K)[1:]]
    for _ in range(150):
        size = int(rng.integers(1, 6))
        chosen = [betas[i] for i in rng.choice(len(betas), size=size, replace=False)]
        spectrum = hand_spectrum(r, K, {beta: float(rng.normal()) + 3.0 for beta in chosen})
        assert leap_exponent(spectrum) == _brute_force_leap(hermite_support(spectrum))


def test_leap_is_coordinate_dependent_and_the_saddle_leap_is_not():
    # he3(z1) + z2: leap 3 as written; in generic coordinates the linear part touches every
    # coordinate and the leap drops to 1, while the flow still needs time d^2 for z1.
    spectrum = hand_spectrum(2, 5, {(3, 0): 1.0, (0, 1): 1.0})
    assert leap_exponent(spectrum) == 3
    rotated = rotate_spectrum(spectrum, random_rotation(2, 3))
    assert leap_exponent(rotated) == 1
    assert rotation_invariant_leap(spectrum) == rotation_invariant_leap(rotated) == 3


def test_leap_of_constant_is_none():
    assert leap_exponent(hand_spectrum(2, 4, {(0, 0): 2.0})) is None
    assert saddle_sequence(hand_spectrum(2, 4, {(0, 0): 2.0})) == []
    assert rotation_invariant_leap(hand_spectrum(2, 4, {(0, 0): 2.0})) is None


# ---------------------------------------------------------------------- saddles


def _sequence(spectrum) -> list[tuple[int, int]]:
    return [(s.directions, s.exponent) for s in saddle_sequence(spectrum)]


@pytest.mark.parametrize(
    "r, terms, expected",
    [
        (2, TWO_PLATEAUS, [(1, 2), (1, 3)]),
        (3, STAIRCASE3, [(1, 1), (1, 1), (1, 1)]),
        (2, {(2, 0): 1.0, (0, 2): 1.0}, [(2, 2)]),  # h2(z1) + h2(z2)
        (2, {(1, 1): 1.0}, [(2, 2)]),  # parity2 z1 z2
        (3, PARITY3, [(3, 3)]),
        (1, {(3,): 1.0}, [(1, 3)]),  # he3
        (3, Z1_PLUS_Z1Z2Z3, [(1, 1), (2, 2)]),
        (2, {(3, 0): 1.0}, [(1, 3)]),  # he3(z1), unused z2: one direction only
    ],
)
def test_saddle_sequence_examples(r, terms, expected):
    spectrum = hand_spectrum(r, 6 if r < 3 else 4, terms)
    assert _sequence(spectrum) == expected
    assert rotation_invariant_leap(spectrum) == max(s for _, s in expected)
    saddles = saddle_sequence(spectrum)
    assert saddles[0].exponent == information_exponent(spectrum)
    basis = np.concatenate([s.basis for s in saddles], axis=1)
    assert basis.shape == (r, sum(d for d, _ in expected))
    np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-12)  # orthonormal


def test_saddle_sequence_of_a_one_dimensional_spectrum():
    (saddle,) = saddle_sequence(make_link("he3").spectrum(8))
    assert isinstance(saddle, Saddle)
    assert (saddle.directions, saddle.exponent) == (1, 3)
    assert abs(saddle.basis[0, 0]) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_saddle_sequence_is_rotation_invariant(seed):
    # f(R^T z) for f = h2(z1) + h3(z2): same exponents; directions R e1, then R e2.
    R = random_rotation(2, seed)
    saddles = saddle_sequence(rotate_spectrum(hand_spectrum(2, 6, TWO_PLATEAUS), R))
    assert [(s.directions, s.exponent) for s in saddles] == [(1, 2), (1, 3)]
    assert abs(float(saddles[0].basis[:, 0] @ R[:, 0])) == pytest.approx(1.0, abs=1e-12)
    assert abs(float(saddles[1].basis[:, 0] @ R[:, 1])) == pytest.approx(1.0, abs=1e-12)


def test_saddle_subspaces_rotate_with_the_link_in_three_dimensions():
    R = random_rotation(3, 7)
    spectrum = hand_spectrum(3, 4, Z1_PLUS_Z1Z2Z3)
    saddles = saddle_sequence(rotate_spectrum(spectrum, R))
    assert [(s.directions, s.exponent) for s in saddles] == [(1, 1), (2, 2)]
    assert abs(float(saddles[0].basis[:, 0] @ R[:, 0])) == pytest.approx(1.0, abs=1e-12)
    projector = saddles[1].basis @ saddles[1].basis.T  # span(R e2, R e3)
    np.testing.assert_allclose(projector, R[:, 1:] @ R[:, 1:].T, atol=1e-12)


@needs_multivariate
def test_saddles_end_to_end_from_a_rotated_callable():
    R = random_rotation(2, 11)

    def rotated(z):  # f(R^T z), z of shape (..., 2)
        u = z @ jnp.asarray(R)
        return (u[..., 0] ** 2 - 1) / math.sqrt(2) + (u[..., 1] ** 3 - 3 * u[..., 1]) / math.sqrt(6)

    spectrum = multivariate_spectrum(make_link(rotated, r=2, name="rotated"), 6)
    saddles = saddle_sequence(spectrum)
    assert [(s.directions, s.exponent) for s in saddles] == [(1, 2), (1, 3)]
    assert abs(float(saddles[0].basis[:, 0] @ R[:, 0])) == pytest.approx(1.0, abs=1e-8)
    assert abs(float(saddles[1].basis[:, 0] @ R[:, 1])) == pytest.approx(1.0, abs=1e-8)


@needs_multivariate
@pytest.mark.parametrize(
    "expression, information, leap, saddles",
    [
        ("h2(z1) + h3(z2)", 2, 3, [(1, 2), (1, 3)]),
        ("z1 + z1*z2 + z1*z2*z3", 1, 1, [(1, 1), (1, 1), (1, 1)]),
        ("z1 + z1*z2*z3", 1, 2, [(1, 1), (2, 2)]),
        ("z1*z2*z3", 3, 3, [(3, 3)]),
        ("h2(z1) + h2(z2)", 2, 2, [(2, 2)]),
        ("parity2", 2, 2, [(2, 2)]),
    ],
)
def test_exponents_end_to_end_from_expressions(expression, information, leap, saddles):
    result = exponents(expression)
    assert isinstance(result, Exponents)
    assert result.degree == DEFAULT_DEGREE[result.r]
    assert (result.information, result.leap) == (information, leap)
    assert [(s.directions, s.exponent) for s in result.saddles] == saddles
    assert result.rotation_invariant_leap == max(s for _, s in saddles)
    assert result.generative is None and result.generative_energies is None  # r > 1
    assert result.status == "found" and not result.above_degree and result.saddles_complete


# ---------------------------------------------------------------------- generative exponent


@pytest.mark.parametrize(
    "name, expected",
    # docs/math/hermite.md §5.2: k* = 1 unless the link is even, 2 for even non-constant polynomial links;
    # relu, sign, tanh, erf are not even; abs and cos are even.
    [("relu", 1), ("sign", 1), ("tanh", 1), ("erf", 1), ("1*z", 1), ("z**3", 1), ("he3", 1),
     ("he2", 2), ("z**2", 2), ("abs", 2), ("he4", 2), ("cos", 2)],
)
def test_generative_exponent_examples(name, expected):
    energies = conditional_hermite_energies(name, 6)
    assert np.all(energies <= 1.0 + 1e-12) and np.all(energies >= 0.0)  # 0 <= E[zeta_k^2] <= E[h_k^2]
    passing = np.nonzero(energies[1:] > GENERATIVE_RTOL**2)[0]
    assert int(passing[0]) + 1 == expected
    if expected == 2:  # even links: zeta_k = 0 for odd k, the measured floor is ~1e-26 or below
        assert np.max(energies[1::2]) < 1e-24
    spectrum = make_link(name).spectrum(12)
    assert expected <= information_exponent(spectrum)  # k* <= IE


def test_generative_exponent_function_and_constant():
    assert generative_exponent("relu") == 1
    assert generative_exponent("2") is None  # constant: zeta_k = 0 for all k
    assert np.max(conditional_hermite_energies("2", 8)[1:]) < 1e-26
    # a callable, and a threshold above the value: k = 1 of tanh is ~1, nothing exceeds 1
    assert generative_exponent(lambda z: jnp.tanh(z), k_max=4) == 1
    assert generative_exponent("tanh", k_max=4, rtol=0.999999) is None


def test_conditional_energies_match_closed_forms_with_atoms():
    # sign: two atoms, the partition {y = -1}, {y = 1} is exact: E[zeta_k^2] = c_k(sign)^2 (odd k)
    energies = conditional_hermite_energies("sign", 9)
    c = make_link("sign").spectrum(9).coefficients
    np.testing.assert_allclose(energies[1::2], c[1::2] ** 2, atol=1e-12)
    assert energies[1] == pytest.approx(2.0 / math.pi, abs=1e-12)
    # relu: atom at 0 with E[z | z < 0] = -2 phi(0) and zeta_1(y) = y for y > 0:
    # E[zeta_1^2] = 1/2 + 1/pi. The binned value is a lower bound, within 1e-3 with 512 bins.
    exact = 0.5 + 1.0 / math.pi
    value = conditional_hermite_energies("relu", 2)[1]
    assert exact - 1e-3 < value <= exact + 1e-12
    # a monotone link: zeta_k(y) = h_k(f^{-1}(y)), E[zeta_k^2] = 1
    np.testing.assert_array_less(1.0 - conditional_hermite_energies("z**3", 4), 1e-3)


def _zeta4_squared_exact() -> float:
    """E[zeta_4(y)^2] for y = |z| exp(-z^2/2), from the two preimage pairs (Lambert W).

    The level set of y in (0, e^{-1/2}) is {+-a, +-b}, a < 1 < b, with a^2 = -W_0(-y^2) and
    b^2 = -W_{-1}(-y^2); conditional weights are proportional to 1/|1 - t^2|, which gives
    E[z^2 | y] = 1 and E[He_4(z) | y] = (1 - a^2)(b^2 - 1) - 2.
    """

    def integrand(t: float) -> float:
        y2 = (t * math.exp(-t * t / 2)) ** 2
        a2, b2 = -lambertw(-y2, 0).real, -lambertw(-y2, -1).real
        zeta4 = ((1 - a2) * (b2 - 1) - 2) / math.sqrt(24.0)
        return 2.0 * math.exp(-t * t / 2) / math.sqrt(2 * math.pi) * zeta4**2

    pieces = [(0.0, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 12.0)]  # phi(12) ~ 1e-32
    return sum(quad(integrand, a, b, epsabs=1e-14, epsrel=1e-12, limit=400)[0] for a, b in pieces)


def test_a_link_with_generative_exponent_four():
    # |z| exp(-z^2/2): even (zeta_odd = 0) and E[z^2 | y] = 1 (zeta_2 = 0), so k* = 4.
    link = "abs(z)*exp(-z**2/2)"
    energies = conditional_hermite_energies(link, 6)
    assert np.max(energies[1:4]) < 1e-20  # measured <= 5e-23
    exact = _zeta4_squared_exact()  # 0.2299576...
    assert exact - 1e-3 < energies[4] <= exact + 1e-9  # a lower bound, tight with 512 bins
    assert generative_exponent(link, k_max=6) == 4
    # consistency: c_k = E[zeta_k(y) f] vanishes wherever zeta_k does, so IE >= k* (here IE = 4)
    assert information_exponent(make_link(link).spectrum(6)) == 4


def test_generative_exponent_rejects_bad_input():
    with pytest.raises(MimflowError, match="one-variable"):
        conditional_hermite_energies("z1*z2")
    with pytest.raises(MimflowError, match="not finite"):
        conditional_hermite_energies(lambda z: jnp.where(z > 1.0, jnp.inf, z), 2)
    with pytest.raises(MimflowError, match="bins"):
        conditional_hermite_energies("relu", 2, bins=0)


# ---------------------------------------------------------------------- exponents()


def test_exponents_of_one_variable_links():
    result = exponents("relu")
    assert (result.information, result.generative, result.leap, result.rotation_invariant_leap) == (1, 1, 1, 1)
    assert result.degree == 12 and result.generative_energies.shape == (13,)
    assert result.status == "found" and not result.above_degree and result.saddles_complete

    high = exponents("he13")  # IE 13 > 12; odd, so k* = 1 is still found
    assert high.information is None and high.leap is None and high.saddles == ()
    assert high.above_degree and high.status == "above-degree" and not high.saddles_complete
    assert high.generative == 1

    constant = exponents("2", degree=4)
    assert constant.status == "constant" and not constant.above_degree and constant.saddles_complete
    assert (constant.information, constant.generative, constant.leap) == (None, None, None)
