"""End-point classification by the Riemannian Hessian and the planted trap probability
(issue 4 section 2; docs/math/grassmannian-flow.md §1.4, docs/math/planted.md §1.7; mimflow.dynamics._endpoints).

Hand computations used below, for the planted link f = sum_i h_s(z_i) (r = p = 2), whose loss is
L(M) = 2 - sum_ij M_ij^s (docs/math/planted.md §1.7), in the equivalent frame W = [M; C; 0] in R^6. Let xi be
a unit tangent vector.

* Columns of W leaving span(W*) (xi orthogonal to span(W*, W)): the polar retraction gives
  M(xi) = M (I + xi^T xi)^{-1/2} = M - M xi^T xi / 2 + ..., so
  dL = -1/2 tr(grad_l^T M xi^T xi) with grad_l = -s M^{o(s-1)} (entrywise power). For an
  orthogonal M and s = 4: grad_l^T M = -4 (M^{o3})^T M.
* In-plane rotation W -> W R(theta) (unit speed t = sqrt(2) theta, two columns move).

M = I, s = 4: perpendicular block dL = 2 |xi|^2 -> eigenvalue 4 (x8); rotation
L = sin^2(2 theta) = 2 t^2 + ... -> 4. All nine eigenvalues are 4.
M = A = [[1, 1], [1, -1]] / sqrt(2), s = 4: A^{o3} = A / 2, so grad_l = -2A and the Riemannian
gradient grad_l - A sym(A^T grad_l) = -2A + 2A = 0: a critical point. Perpendicular block
dL = |xi|^2 -> 2 (x8); rotation L = 2 - 2(cos^4 + sin^4)(theta + pi/4) = cos^2(2 theta)
= 1 - 2 t^2 -> -4. A saddle with eigenvalues {-4, 2 x 8}.
M = diag(1, -1), s = 3: grad_l = -3 I, dL = 3/2 (|xi_1|^2 - |xi_2|^2) -> +3 (x4), -3 (x4); rotation
sum M^3 = -2 sin^3(theta): second derivative 0. A saddle {-3 x 4, 0, 3 x 4}.
M = diag(1, 0): column 2 sits orthogonal to both teacher directions. Its overlap c with v_2
enters as -c^s: a null direction (a degenerate saddle, descent c^s for c > 0). Column 1 leaving
span(W*): dL = (s/2) |xi_1|^2 -> s (x3); column 1 towards v_2: 1 - cos^s - sin^s -> s;
the in-plane rotation (column 1 -> the direction of column 2, unit speed sqrt(2)):
cos^s theta -> s/2. The three directions moving column 2 out of the teacher span are exact
symmetry modes (rotations fixing W*). Eigenvalues {0, s/2, s x 4}.
M = 0: the loss is flat to order s in every direction: all eigenvalues 0 (degenerate); the five
symmetry modes are the orbit of the rotations of the last 4 coordinates (dim so(4) - dim so(2)).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from mimflow import MimflowError
from mimflow.dynamics import classify_end_point, make_flow, trap_probability
from mimflow.dynamics._endpoints import (
    _derivatives,
    _symmetry_complement,
    _tangent_basis,
    equivalent_frame,
)
from mimflow.targets import multivariate_spectrum

A = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)
EIG = 1e-9  # Hessians of a polynomial at exact points: only round-off


@functools.cache
def _flow(algorithm: str, s: int, r: int = 2):
    link = " + ".join(f"h{s}(z{i + 1})" for i in range(r))
    return make_flow(algorithm, multivariate_spectrum(link, s))


def test_global_minima():
    p4, p3 = _flow("planted", 4), _flow("planted", 3)
    for M in (np.eye(2), np.array([[0.0, -1.0], [1.0, 0.0]]), np.diag([1.0, -1.0])):  # signed permutations, s even
        e = classify_end_point(p4, M)
        assert e.label == "global minimum" and not e.spurious
        np.testing.assert_allclose(e.eigenvalues, 4.0, atol=EIG)
        assert e.eigenvalues.size == 9 and e.n_symmetry_modes == 0
    e = classify_end_point(p3, np.array([[0.0, 1.0], [1.0, 0.0]]))  # permutations only, s odd
    assert e.label == "global minimum"
    np.testing.assert_allclose(e.eigenvalues, 3.0, atol=EIG)


def test_zero_overlap_is_a_degenerate_saddle():
    for s in (3, 4):
        e = classify_end_point(_flow("planted", s), np.zeros((2, 2)))
        assert e.label == "degenerate saddle" and e.spurious
        assert e.gradient_norm == 0.0
        assert e.eigenvalues.size == 4 and e.n_symmetry_modes == 5  # complement = r p; so(4) orbit of a 2-frame
        np.testing.assert_allclose(e.eigenvalues, 0.0, atol=EIG)
        # the probe sees the order-s descent (at most 0.1^s along a single overlap; less along a mixture)
        assert -(0.1**s) <= e.probe_descent < -1e-7


def test_averaged_point_is_a_saddle_with_the_hand_computed_hessian():
    e = classify_end_point(_flow("planted", 4), A)
    assert e.gradient_norm < 1e-14  # a genuine critical point
    assert e.label == "saddle" and e.spurious
    np.testing.assert_allclose(e.eigenvalues, [-4.0] + [2.0] * 8, atol=EIG)


def test_sign_flipped_vertex_is_a_saddle_for_odd_s():
    e = classify_end_point(_flow("planted", 3), np.diag([1.0, -1.0]))
    assert e.gradient_norm < 1e-14 and e.label == "saddle"
    np.testing.assert_allclose(e.eigenvalues, [-3.0] * 4 + [0.0] + [3.0] * 4, atol=EIG)


@pytest.mark.parametrize("s", [3, 4])
def test_trap_point_is_a_degenerate_saddle(s):
    flow = _flow("planted", s)
    for c in (0.0, -3e-7):  # the end point of a trapped run (s = 3: c(t) ~ -1/(3t) at t = 1e6)
        e = classify_end_point(flow, np.diag([1.0, c]))
        assert e.label == "degenerate saddle" and e.n_symmetry_modes == 3
        np.testing.assert_allclose(e.eigenvalues, [0.0, s / 2] + [float(s)] * 4, atol=max(EIG, 6 * abs(c)))
        assert e.probe_descent < -(0.05**s) / 2


def test_two_timescale_hessian_on_the_grassmannian():
    flow = _flow("two-timescale", 4)
    # G = M M^T = I for every orthogonal M: the averaged point is a global minimum here
    for M in (np.eye(2), A):
        e = classify_end_point(flow, M)
        assert e.label == "global minimum"
        # L = 1/2 (2 - sum_i G_ii^4), G = I - xi^T xi + ...: dL = 2 |xi|^2 -> 4 on the 8 horizontal directions
        np.testing.assert_allclose(e.eigenvalues, 4.0, atol=EIG)
        assert e.eigenvalues.size == 8
    e = classify_end_point(flow, np.zeros((2, 2)))
    assert e.label == "degenerate saddle"  # loss falls like -eps^8 / 2


def test_student_rank_below_r():
    """p = 1 < r = 2, f = h2(z1) + h2(z2)/2: <A_G f, f> = G11^2 + G22^2/4 + G12^2 (docs/math/grassmannian-flow.md §1.4,
    separable form). On m = (cos t, sin t) near e2 this is 1/4 + t^2/2, so the loss
    1/2 (5/4 - corr) falls like -t^2/4: e2 is a saddle with eigenvalue -1/2. The minimum over
    1-dimensional students is not known to the classifier, so e1 is a "local minimum"."""
    flow = make_flow("two-timescale", multivariate_spectrum("h2(z1) + 0.5*h2(z2)", 2), student_rank=1)
    e = classify_end_point(flow, np.array([[0.0], [1.0]]))
    assert e.label == "saddle" and e.eigenvalues[0] == pytest.approx(-0.5, abs=EIG)
    assert classify_end_point(flow, np.array([[1.0], [0.0]])).label == "local minimum"


def test_not_stationary_and_bad_input():
    flow = _flow("planted", 3)
    e = classify_end_point(flow, np.array([[0.3, 0.1], [-0.2, 0.4]]))
    assert e.label == "not stationary" and not e.spurious
    with pytest.raises(MimflowError, match="shape"):
        classify_end_point(flow, np.zeros((2, 3)))
    with pytest.raises(MimflowError, match="operator norm"):
        classify_end_point(flow, 2.0 * np.eye(2))
    with pytest.raises(MimflowError, match="finite"):
        classify_end_point(flow, np.full((2, 2), np.nan))


@pytest.mark.parametrize("M", [A, np.diag([1.0, 0.0]), np.eye(2), np.diag([0.6, 0.2])])
def test_equivalent_frame_has_the_spectrum_of_a_high_dimensional_frame(M):
    """The r + 2p dimensional frame and a d = 11 frame (rotated by a random rotation fixing W*) give
    the same set of Hessian eigenvalues on the complement of the symmetry modes."""
    flow = _flow("planted", 4)

    def spectrum(W_star, W):
        basis = _tangent_basis(W, False)
        Q, _ = _symmetry_complement(W, 2, basis, False)
        _, _, H = _derivatives(flow, W_star, W, basis)
        return np.linalg.eigvalsh(Q.T @ np.asarray(H) @ Q)

    W_star, W, _ = equivalent_frame(M)
    d = 11
    rot = np.linalg.qr(np.random.default_rng(0).standard_normal((d - 2, d - 2)))[0]
    W_big = np.zeros((d, 2))
    W_big[:2] = W[:2]
    W_big[2:] = rot @ np.concatenate([W[2:], np.zeros((d - 6, 2))])
    W_star_big = np.zeros((d, 2))
    W_star_big[:2] = np.eye(2)
    small, big = spectrum(W_star, W), spectrum(W_star_big, W_big)
    assert set(np.round(small, 8)) == set(np.round(big, 8))


# ---------------------------------------------------------------- trap probability (the headline contrast)

D, SEEDS = 100, np.arange(64)


def test_planted_flow_is_trapped_with_positive_probability():
    """Planted h3(z1) + h3(z2), d = 100, 64 seeds, t_max = 1e6.

    Prediction (d -> infinity, entries of M(0) iid symmetric, each obeying dm/dt ~ 3 m^2 near the
    saddle): the largest positive entry escapes first; the other column can then only reach the
    remaining teacher direction through the complementary entry, which escapes iff it is positive,
    else tends to 0 from below (a trap, module docstring). With 4 iid entries,
    P(max > 0 and complement < 0) = 4 int_0^inf f F^2 / 2 = 7/12, plus all four negative (M -> 0)
    1/16: P = 31/48 = 0.646.
    """
    res = trap_probability(_flow("planted", 3), D, SEEDS, t_max=1e6)
    assert res.n == SEEDS.size and sum(res.counts.values()) == res.n
    assert set(res.counts) <= {"global minimum", "degenerate saddle"}
    assert res.probability > 5 * res.standard_error > 0
    assert abs(res.probability - 31 / 48) < 4 * np.sqrt((31 / 48) * (17 / 48) / res.n)
    trapped = [e for e in res.end_points if e.spurious]
    assert all(e.gradient_norm < 1e-8 for e in trapped)


def test_two_timescale_flow_of_the_same_link_always_converges():
    """Benign landscape (global convergence, docs/math/grassmannian-flow.md §1.5): no seed is trapped. The last direction
    escapes from a leftover overlap c in t ~ c^-4 / 12 (s = 3, doubled exponent); t_max = 1e14 covers
    c >~ 2e-4 (a seed below that has probability ~ 1e-3 at d = 100)."""
    res = trap_probability(_flow("two-timescale", 3), D, SEEDS, t_max=1e14)
    assert res.counts == {"global minimum": SEEDS.size}
    assert res.probability == 0.0 and res.standard_error == 0.0
    assert res.upper_95 == pytest.approx(1 - 0.05 ** (1 / SEEDS.size), rel=1e-9)  # "rule of three"
    assert np.all(res.trajectory.converged)
