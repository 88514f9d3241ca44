"""Independent checks of the neuron theory (docs/math/neurons.md §2.3-2.4): fixed points against a
finite-difference Hessian of the population loss in d = k + 3 dimensions, and the paper's hypothesis
on sigma* (no He1, no He2 component) enforced where beta_c would be meaningless."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import run_cli

from mimflow import MimflowError
from mimflow import theory as th


def _population_loss(link, V):
    """L(w) = -sum_j E[sigma(v_j^T x) sigma(w^T x)], g(m) by a 2-D Gauss-Hermite rule of the link itself
    (NumPy, no Hermite series): independent of the code under test."""
    from mimflow.targets import make_link

    f = make_link(link)
    x, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / math.sqrt(2 * math.pi)
    fx = np.asarray(f(x[:, None]), dtype=float).reshape(-1)

    def g(m):
        inner = np.asarray(f((m * x[:, None] + math.sqrt(max(1 - m * m, 0.0)) * x[None, :])[..., None]),
                           dtype=float).reshape(len(x), len(x))
        return float(np.sum(w[:, None] * w[None, :] * fx[:, None] * inner))

    return lambda wv: -sum(g(float(v @ wv)) for v in V.T)


def _fd_riemannian_hessian(L, w, h=1e-3):
    """Hessian of t -> L(exp_w(B t)) at t = 0 (B: orthonormal basis of the tangent space), central differences."""
    d = w.size
    B = np.linalg.svd(np.eye(d) - np.outer(w, w))[0][:, : d - 1]

    def at(t):
        v = B @ t
        n = np.linalg.norm(v)
        return L(w if n == 0 else math.cos(n) * w + math.sin(n) * v / n)

    n = d - 1
    H = np.zeros((n, n))
    f0 = at(np.zeros(n))
    e = np.eye(n) * h
    for i in range(n):
        H[i, i] = (at(e[i]) - 2 * f0 + at(-e[i])) / h**2
        for j in range(i):
            H[i, j] = H[j, i] = (at(e[i] + e[j]) - at(e[i] - e[j]) - at(-e[i] + e[j]) + at(-e[i] - e[j])) / (4 * h * h)
    return np.linalg.eigvalsh(H)


@pytest.mark.parametrize("link", ["h3", "h4"])
def test_fixed_point_descent_directions_against_finite_difference_hessian(link):
    """Every fixed point of the enumeration: its curvatures and number of descent directions equal the
    eigenvalues / negative eigenvalues of the full Riemannian Hessian on S^{d-1}, d = k + 3, including the
    d - k directions orthogonal to span(V); a saddle has at least one descent direction."""
    k = 3
    d = k + 3
    V = np.eye(d)[:, :k]
    L = _population_loss(link, V)
    a = th.correlation_coefficients(link)
    fps = th.orthogonal_fixed_points(a, k, d=d)
    assert fps
    for fp in fps:
        w = V @ fp.m
        eig = _fd_riemannian_hessian(L, w)
        expect = np.sort(np.concatenate([fp.inside_curvatures, np.full(d - k, fp.complement_curvature)]))
        np.testing.assert_allclose(eig, expect, atol=2e-5 * max(1.0, np.abs(expect).max()))
        assert fp.descent_directions == int(np.sum(eig < -1e-4))
        if fp.kind == "saddle":
            assert fp.descent_directions >= 1
        if fp.kind == "minimum":
            assert fp.descent_directions == 0


def test_all_negative_average_of_h3_is_a_saddle_with_descent_directions():
    """h3, -(v1+v2+v3)/sqrt(3): positive curvature inside span(V), negative on its complement."""
    fps = th.orthogonal_fixed_points(th.correlation_coefficients("h3"), 3, d=10)
    fp = next(f for f in fps if len(f.support) == 3 and all(s == -1 for s in f.signs))
    assert fp.kind == "saddle"
    assert np.all(fp.inside_curvatures > 0) and fp.complement_curvature < 0
    assert fp.descent_directions == 10 - 3


@pytest.mark.parametrize("link,why", [("relu", "He1"), ("h2", "He2"), ("tanh(z) - z", "He1"), ("abs", "He2")])
def test_beta_c_refuses_links_outside_the_hypothesis(capsys, link, why):
    code, out, err = run_cli(capsys, "neurons", "beta-c", link, "--k", "3", "--json")
    assert code == 2, out
    assert why in err and "Simsek" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(MimflowError, match="He1|He2"):
        th.beta_critical(th.correlation_coefficients(link), 3)


def test_beta_c_accepts_an_admissible_non_polynomial_link(capsys):
    """relu minus its He1 and He2 components satisfies the hypothesis (p* = 4): beta_c is a number in (0, 1)."""
    code, out, err = run_cli(capsys, "neurons", "beta-c", th.ADMISSIBLE_RELU, "--k", "3", "--json")
    assert code == 0, err
    import json

    data = json.loads(out)
    assert 0 < data["beta_c"] < 1 and data["information_exponent"] == 4


def test_beta_c_reproduction_uses_only_admissible_links():
    """The beta-c reproduction used `tanh(z) - z` (c_1 = -0.394: outside the hypothesis, beta_c = 0)."""
    from mimflow.studies.neurons._reproductions import BETA_C_LINKS, FD_CHECKS

    for link in list(BETA_C_LINKS) + [link for link, _ in FD_CHECKS]:
        th.check_hypothesis(link)
        assert th.beta_critical(th.correlation_coefficients(link), 3).beta_c > 0


def test_phase_diagram_warns_outside_the_hypothesis(capsys):
    code, out, err = run_cli(capsys, "neurons", "phase-diagram", "h2", "--k", "2", "--beta", "0.0", "--d", "200",
                             "--seeds", "1", "--n", "4", "--json")
    assert code == 0, err
    import json

    data = json.loads(out)
    assert data["beta_c"]["2"] is None and any("He2" in w for w in data["warnings"])
    assert "warning" in err
