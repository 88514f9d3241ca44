"""Spectral-estimator theory (docs/math/spectral.md §4): thresholds with known values, quadrature accuracy, bad input."""

import math

import numpy as np
import pytest
from scipy import integrate

from mimflow import MimflowError
from mimflow.spectral import make_preprocessing
from mimflow.theory import (
    mondelli_montanari_threshold,
    spectral_prediction,
    weak_recovery_threshold,
)
from mimflow.theory._spectral_moments import _moments
from mimflow.targets import make_link


# ------------------------------------------------------------------ known values (docs/math/spectral.md §4.2-4.3)


@pytest.mark.parametrize("link, expected", [("z**2", 0.5), ("abs(z)", 0.5), ("relu(z)", 1.0)])
def test_mondelli_montanari_alpha_u_closed_forms(link, expected):
    """1/alpha_u = E[(E[s^2|Y] - 1)^2]: Var(s^2) = 2 for z**2 and |z|; relu: atom at 0 adds 0, s > 0 gives
    E[(s^2-1)^2; s>0] = 1, so alpha_u = 1."""
    assert mondelli_montanari_threshold(link) == pytest.approx(expected, rel=1e-6)


def test_alpha_u_infinite_without_second_order_signal():
    assert mondelli_montanari_threshold("sign(z)") == math.inf


def test_alpha_u_noise_increases_threshold():
    """Noise only destroys information: alpha_u(sigma) > alpha_u(0) = 1/2 and tends to it as sigma -> 0."""
    a = mondelli_montanari_threshold("z**2", noise=0.3)
    assert a > 0.5 + 1e-3
    assert mondelli_montanari_threshold("z**2", noise=0.05) < a


@pytest.mark.parametrize("pre", ["optimal", "mondelli-montanari"])
def test_weak_recovery_threshold_is_one_half_for_real_phase_retrieval(pre):
    """docs/math/spectral.md §4.2/4.3: 1 - 1/y and the real-case MM form reach alpha_u = 1/2 exactly."""
    assert weak_recovery_threshold("z**2", pre) == pytest.approx(0.5, abs=1e-6)


def test_complex_mm_form_on_real_data_needs_alpha_one():
    """(y_+ - 1)/(y_+ + sqrt(alpha) - 1) has a pole inside the labels for alpha < 1 (docs/math/spectral.md §4.2 remark)."""
    assert weak_recovery_threshold("z**2", "mondelli-montanari-complex") == pytest.approx(1.0, abs=1e-6)
    p = spectral_prediction("z**2", "mondelli-montanari-complex", [0.8, 2.0])
    assert np.isnan(p.overlap2[0]) and p.overlap2[1] > 0


def test_mm_forms_reduce_to_optimal_at_c_equal_one():
    """sqrt(2 alpha) = 1 (real form, alpha = 1/2) and sqrt(alpha) = 1 (complex, alpha = 1) give 1 - 1/y."""
    a = spectral_prediction("z**2", "mondelli-montanari-complex", 1.0)
    b = spectral_prediction("z**2", "optimal", 1.0)
    assert a.overlap2[0] == pytest.approx(b.overlap2[0], rel=1e-10)


def test_optimal_beats_other_preprocessings():
    """Luo-Alghamdi-Lu: 1 - 1/y maximises the overlap at every alpha (docs/math/spectral.md §4.3)."""
    alphas = [0.8, 1.5, 3.0]
    best = spectral_prediction("z**2", "optimal", alphas).overlap2
    for pre in ["trimmed:3", "mondelli-montanari", "y*exp(-y/2)"]:
        other = spectral_prediction("z**2", pre, alphas).overlap2
        assert np.all(other <= best + 1e-12), pre


def test_optimal_at_tau_closed_form():
    """With T = 1 - 1/y, y = s^2: psi(1) = 1/alpha and phi(1) = E[s^4 - s^2] = 2, so at alpha = 1/2 they meet."""
    mo = _moments(make_link("z**2"), 0.0, make_preprocessing("optimal"))
    assert mo.tau == 1.0
    assert mo.phi(1.0) == pytest.approx(2.0, rel=1e-10)
    assert mo.psi(1.0, 0.5) == pytest.approx(2.0, rel=1e-10)
    assert mo.dpsi(1.0, 0.5) == pytest.approx(0.0, abs=1e-10)  # E[u^2] = E[(s^2-1)^2] = 2 = 1/alpha


def test_overlap_monotone_and_below_one():
    a = np.geomspace(0.3, 30, 12)
    p = spectral_prediction("z**2", "trimmed:3", a)
    assert np.all(np.diff(p.overlap2) >= -1e-12)
    assert np.all((p.overlap2 >= 0) & (p.overlap2 < 1))
    assert np.all(p.top_eigenvalue >= p.bulk_edge - 1e-12)


# ------------------------------------------------------------------ quadrature accuracy


@pytest.mark.parametrize("pre, kw, noise", [
    ("optimal", {}, 0.0), ("optimal", {"clip": 2.0}, 0.0), ("trimmed:2", {}, 0.0), ("mondelli-montanari", {}, 0.0),
    pytest.param("trimmed:2", {}, 0.3, marks=pytest.mark.slow), ("optimal", {"clip": 2.0}, 0.3),
])
def test_prediction_converged_in_quadrature(pre, kw, noise):
    """The default rule agrees with one whose panels are 3x finer (noise: fewer alphas, 2x)."""
    alphas = [0.9, 2.5] if noise else [0.7, 1.3, 2.5, 6.0]
    refine = 2 if noise else 3
    a = spectral_prediction("z**2", pre, alphas, noise=noise, **kw)
    b = spectral_prediction("z**2", pre, alphas, noise=noise, refine=refine, **kw)
    np.testing.assert_allclose(a.overlap2, b.overlap2, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(a.top_eigenvalue, b.top_eigenvalue, rtol=1e-8)


@pytest.mark.parametrize("pre, kw", [("optimal", {}), ("optimal", {"clip": 2.0}), ("trimmed:2", {})])
def test_moments_match_scipy_quad(pre, kw):
    """E[u], E[u s^2] and E[u^2] at one lambda against scipy's adaptive quad with the kinks as breakpoints."""
    P = make_preprocessing(pre, **kw)
    mo = _moments(make_link("z**2"), 0.0, P)
    lam = mo.tau + 0.37
    T = lambda s: float(P.T(s * s))  # noqa: E731
    dens = lambda s: math.exp(-0.5 * s * s) / math.sqrt(2 * math.pi)  # noqa: E731
    pts = [0.0] + [math.sqrt(k) for k in P.kinks if k > 0]

    def expect(g):
        total = 0.0
        edges = sorted(set([-12.0] + [-p for p in pts] + pts + [12.0]))
        for a, b in zip(edges[:-1], edges[1:]):
            total += integrate.quad(lambda s: g(s) * dens(s), a, b, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
        return total

    def u(s):
        t = T(s)
        return -1.0 if t == -math.inf else t / (lam - t)

    assert np.sum(mo.w * mo.u(lam)) == pytest.approx(expect(u), rel=1e-9, abs=1e-12)
    assert np.sum(mo.w * mo.u(lam) * mo.s2) == pytest.approx(expect(lambda s: u(s) * s * s), rel=1e-9, abs=1e-12)
    assert np.sum(mo.w * mo.u(lam) ** 2) == pytest.approx(expect(lambda s: u(s) ** 2), rel=1e-9, abs=1e-12)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("call, match", [
    (lambda: spectral_prediction("z**2", "identity", 2.0), "unbounded above"),
    (lambda: spectral_prediction("z1*z2", "optimal", 2.0), "single-index"),
    (lambda: spectral_prediction("z**2", "optimal", -1.0), "alpha"),
    (lambda: spectral_prediction("z**2", "optimal", 2.0, noise=-0.1), "noise"),
    (lambda: spectral_prediction("he3", "optimal", 2.0), "mean 1"),
    (lambda: spectral_prediction("z**2", "nonsense", 2.0), "unknown preprocessing"),
    (lambda: spectral_prediction("z**2", "trimmed:3", 2.0, clip=1.0), "clip"),
    (lambda: weak_recovery_threshold("z**2", "optimal", alpha_range=(2.0, 1.0)), "alpha_range"),
])
def test_bad_input(call, match):
    with pytest.raises(MimflowError, match=match):
        call()


def test_identity_is_fine_for_bounded_labels():
    """T(y) = y is bounded on the labels of sign(z) (y = +-1): the formula applies (and gives 0: E[s^2|y] = 1)."""
    p = spectral_prediction("sign(z)", "identity", [1.0, 4.0])
    np.testing.assert_allclose(p.overlap2, 0.0)
