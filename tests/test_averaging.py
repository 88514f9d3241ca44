"""The averaging operator A_N on Hermite spectra (docs/math/grassmannian-flow.md §1.3 and docs/math/grassmannian-flow.md §1.4; mimflow.hermite._averaging).

A_N g(z) = E_xi[g(N^T z + (I - N^T N)^{1/2} xi)], <A_N f, g> = E[f(U) g(V)] with E[U V^T] = N^T,
and on the degree-k chaos S_k -> N^{(x)k} S_k.
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mimflow import MimflowError
from mimflow.hermite import (
    MultivariateSpectrum,
    averaged_spectrum,
    averaging_correlation,
    gauss_hermite_rule,
    make_averaging_correlation,
    multi_indices,
)
from mimflow.targets import make_link, multivariate_spectrum


def _matrix_with_norm(seed: int, r: int, norm: float) -> np.ndarray:
    A = np.random.default_rng(seed).standard_normal((r, r))
    return norm * A / np.linalg.norm(A, 2)


def _truncation_bound(f: MultivariateSpectrum, g: MultivariateSpectrum, N) -> float:
    """|<A_N f, g> - sum_{k<=K}| <= ||N||_op^{K+1} sqrt(tail_f tail_g) (Cauchy-Schwarz per chaos)."""
    K = min(f.degree, g.degree)
    op = float(np.linalg.norm(np.atleast_2d(N), 2))
    return op ** (K + 1) * math.sqrt(max(f.tail, 0.0) * max(g.tail, 0.0))


def _gaussian_pair_expectation(f, g, N, nodes_per_axis) -> float:
    r"""E[f(U) g(V)] by a tensor Gauss-Hermite rule over the 2r-dimensional Gaussian.

    U = xi, V = N U + B eta with B B^T = I - N N^T (Cholesky), xi, eta ~ N(0, I_r) independent,
    so E[U V^T] = N^T and Cov(V) = I. Independent of the spectra: only the links are evaluated.
    """
    r = N.shape[0]
    B = np.linalg.cholesky(np.eye(r) - N @ N.T)
    rules = [gauss_hermite_rule(n) for n in nodes_per_axis]  # axes: xi_1..xi_r, eta_1..eta_r
    grids = np.meshgrid(*[z for z, _ in rules[1:]], indexing="ij")
    rest = np.stack(grids, axis=-1).reshape(-1, 2 * r - 1)
    weights = np.ones(())
    for _, w in rules[1:]:
        weights = np.multiply.outer(weights, w)
    weights = weights.ravel()
    total = 0.0
    for node, w0 in zip(*rules[0]):  # one slice of the first axis at a time (bounded memory)
        x = np.concatenate([np.full((len(rest), 1), node), rest], axis=1)
        U, eta = x[:, :r], x[:, r:]
        V = U @ N.T + eta @ B.T
        total += w0 * float(np.sum(weights * np.asarray(f(U)) * np.asarray(g(V))))
    return total


# ------------------------------------------------------------------------------- (a) r = 1


def test_mehler_on_hermite_polynomials():
    for k in range(7):
        s = multivariate_spectrum(f"h{k}(z)", 8)
        for m in (-0.7, 0.3, 1.0):
            out = averaged_spectrum(s, m)
            expected = np.zeros(9)
            expected[k] = m**k  # A_m h_k = m^k h_k
            np.testing.assert_allclose(out.values, expected, rtol=0, atol=1e-15)
            assert out.tail == 0.0


def test_one_dimensional_correlation_is_mehler_series():
    k_max = 30
    f, g = make_link("tanh"), make_link("relu(z) + sin(z)")
    cf, cg = f.spectrum(k_max).coefficients, g.spectrum(k_max).coefficients
    sf, sg = multivariate_spectrum(f, k_max), multivariate_spectrum(g, k_max)
    corr = make_averaging_correlation(sf, sg)
    for m in (-0.9, -0.2, 0.0, 0.55, 1.0):
        expected = float(np.sum(cf * cg * m ** np.arange(k_max + 1)))
        # identical coefficients on both sides: only summation order differs
        assert float(corr(m)) == pytest.approx(expected, abs=1e-14)
        assert float(corr(jnp.array([[m]]))) == pytest.approx(expected, abs=1e-14)


# ------------------------------------------------------- (b) the defining Gaussian integral


def test_defining_integral_r1():
    f, g = make_link("tanh(z)"), make_link("sin(z) + h2(z)")
    sf, sg = multivariate_spectrum(f, 40), multivariate_spectrum(g, 40)
    for m in (0.8, -0.5):
        N = np.array([[m]])
        # 160 Gauss-Hermite nodes integrate tanh (strip-analytic) to < 1e-14; sin is entire.
        quad = _gaussian_pair_expectation(f, g, N, (160, 60))
        spectral = float(averaging_correlation(sf, sg, N))
        # budget: truncation bound (~1e-10 at |m| = 0.8, K = 40) + 1e-12 for quadrature and spectra
        assert abs(spectral - quad) <= _truncation_bound(sf, sg, N) + 1e-12, (m, spectral, quad)


@pytest.mark.parametrize(
    "f_text, g_text", [("tanh(z1)*z2", "h2(z1) + z1*z2"), ("tanh(z1)*z2", "sin(z1)*z2 + cos(z2)")]
)
def test_defining_integral_r2(f_text, g_text):
    f, g = make_link(f_text), make_link(g_text)
    sf, sg = multivariate_spectrum(f, 14), multivariate_spectrum(g, 14)
    N = np.array([[0.5, -0.3], [0.25, 0.4]])  # ||N||_op ~ 0.64 < 1
    # f(U) = tanh(U_1) U_2 with U = xi: tanh only along xi_1 (160 nodes, < 1e-14); every other
    # dependence is polynomial or entire (sin, cos), resolved to rounding by 40 nodes.
    quad = _gaussian_pair_expectation(f, g, N, (160, 40, 40, 40))
    spectral = float(averaging_correlation(sf, sg, N))
    # budget: truncation bound (0 for the polynomial g) + 1e-12 for quadrature and exact spectra
    assert abs(spectral - quad) <= _truncation_bound(sf, sg, N) + 1e-12, (spectral, quad)
    # the adjoint A_N^* = A_{N^T}
    assert float(averaging_correlation(sg, sf, N.T)) == pytest.approx(spectral, abs=1e-13)


# -------------------------------------------------------------------------- (c) Monte Carlo


@pytest.mark.slow(ci=True)
def test_monte_carlo_of_the_gaussian_pair():
    f, g = make_link("relu(z1)*sign(z2)"), make_link("tanh(z1 + z2) + z1*z2")
    sf, sg = multivariate_spectrum(f, 12), multivariate_spectrum(g, 12)
    N = np.array([[0.6, 0.2], [-0.3, 0.5]])
    B = np.linalg.cholesky(np.eye(2) - N @ N.T)
    n = 1_000_000
    rng = np.random.default_rng(12345)
    U = rng.standard_normal((n, 2))
    V = U @ N.T + rng.standard_normal((n, 2)) @ B.T
    samples = np.asarray(f(U)) * np.asarray(g(V))
    mean, se = samples.mean(), samples.std(ddof=1) / math.sqrt(n)
    spectral = float(averaging_correlation(sf, sg, N))
    # Tolerance: 5 standard errors of the sample mean (se ~ 8e-4) plus the truncation bound
    # (~1e-6: the relu*sign tail decays slowly, ||N||^21 ~ 3e-5 makes it small).
    assert abs(mean - spectral) < 5 * se + _truncation_bound(sf, sg, N), (mean, spectral, se)


# ---------------------------------------------------------------------------- (d) semigroup


def test_semigroup_identity_and_zero():
    s = multivariate_spectrum("tanh(z1 + z2*z3) + z1*relu(z3)", 8)
    N, P = _matrix_with_norm(1, 3, 0.9), _matrix_with_norm(2, 3, 0.8)
    two_steps = averaged_spectrum(averaged_spectrum(s, P), N)
    one_step = averaged_spectrum(s, N @ P)  # A_N A_P = A_{NP}
    # exact algebra; rounding only (coefficients are O(1), tensors have <= 3^8 entries)
    np.testing.assert_allclose(two_steps.values, one_step.values, rtol=0, atol=1e-13)
    identity = averaged_spectrum(s, np.eye(3))
    np.testing.assert_allclose(identity.values, s.values, rtol=0, atol=1e-14)
    assert identity.tail == pytest.approx(s.tail, abs=1e-15) and identity.norm2 == pytest.approx(s.norm2, abs=1e-14)
    zero = averaged_spectrum(s, np.zeros((3, 3)))  # A_0 f = E[f]
    np.testing.assert_allclose(zero.values[1:], 0.0, atol=0)
    assert zero.values[0] == s.values[0] and zero.tail == 0.0
    # orthogonal N: an isometry on each chaos
    R, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((3, 3)))
    rotated = averaged_spectrum(s, R)
    np.testing.assert_allclose(rotated.energy_by_degree(), s.energy_by_degree(), rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------------------ (e) gradient


def test_gradient_matches_central_differences():
    f = multivariate_spectrum("tanh(z1 + z2*z3)", 8)
    g = multivariate_spectrum("z1 + z1*z2 + z1*z2*z3 + h4(z3)", 8)
    corr = make_averaging_correlation(f, g)
    N = _matrix_with_norm(5, 3, 0.7)
    grad = np.asarray(jax.jit(jax.grad(corr))(jnp.asarray(N)))
    assert float(jax.jit(corr)(N)) == pytest.approx(float(corr(N)), abs=1e-15)
    batch = np.stack([N, 0.5 * N, N.T])
    np.testing.assert_allclose(jax.vmap(corr)(batch), [float(corr(m)) for m in batch], rtol=0, atol=1e-15)
    h = 1e-5
    # Error budget of the central difference (C(N + hE) - C(N - hE)) / 2h along a unit entry E:
    # truncation h^2/6 |C'''| with |C'''| <= sum_k k^3 ||S_k f|| ||S_k g|| (||N + tE||_op <= 1 here),
    # plus rounding ~ 1e-15 * sum_k ||S_k f|| ||S_k g|| / h.
    norms = [np.sqrt(f.energy_by_degree()[k] * g.energy_by_degree()[k]) for k in range(9)]
    tol = h**2 / 6 * sum(k**3 * v for k, v in enumerate(norms)) + 1e-15 * sum(norms) / h
    for i, j in itertools.product(range(3), range(3)):
        E = np.zeros((3, 3))
        E[i, j] = 1.0
        fd = (float(corr(N + h * E)) - float(corr(N - h * E))) / (2 * h)
        assert abs(grad[i, j] - fd) <= tol, (i, j, grad[i, j], fd, tol)


# ---------------------------------------------------------------- (f) separable closed form


def test_separable_closed_form_of_math_1_4():
    a, s = np.array([0.7, -1.3, 0.5]), (2, 2, 3)
    text = " + ".join(f"{float(a_i)!r}*h{s_i}(z{i + 1})" for i, (a_i, s_i) in enumerate(zip(a, s)))
    spec = multivariate_spectrum(text, 5)
    corr = make_averaging_correlation(spec, spec)
    M = _matrix_with_norm(11, 3, 0.95)
    G = M @ M.T
    for mat in (G, M):  # profile correlation <A_G f, f> and planted correlation <A_M f, f>
        expected = sum(a[i] * a[j] * (s[i] == s[j]) * mat[i, j] ** s[i] for i in range(3) for j in range(3))
        assert float(corr(mat)) == pytest.approx(expected, abs=1e-14)


# ---------------------------------------------------------------------------------- errors


def test_errors():
    s2 = multivariate_spectrum("z1*z2", 3)
    s3 = multivariate_spectrum("z1*z2*z3", 3)
    with pytest.raises(MimflowError, match="same r"):
        averaging_correlation(s2, s3, np.eye(2))
    with pytest.raises(MimflowError, match="shape"):
        averaging_correlation(s2, s2, np.eye(3))
    with pytest.raises(MimflowError, match="shape"):
        averaged_spectrum(s2, np.eye(3))
    with pytest.raises(MimflowError, match=r"\|\|N\|\|_op <= 1"):
        averaged_spectrum(s2, 1.5 * np.eye(2))
    with pytest.raises(MimflowError, match="finite"):
        averaged_spectrum(s2, np.array([[np.nan, 0.0], [0.0, 1.0]]))
    with pytest.raises(MimflowError, match="MultivariateSpectrum"):
        averaging_correlation(make_link("relu").spectrum(3), s2, np.eye(2))
    big = MultivariateSpectrum(2, 21, multi_indices(2, 21), np.zeros(len(multi_indices(2, 21))), 0.0, 0.0, "given")
    with pytest.raises(MimflowError, match="too high"):
        make_averaging_correlation(big, big)
