"""The exact law of the initial overlaps M = W*^T W for W Haar on St(d, p) (issue 4 section 1;
mimflow.dynamics._initial), against forming W at small d.

Exact moments used (W* = [I_r; 0], P = W W^T a uniformly random rank-p projection of R^d,
G = M M^T = W*^T P W*):
    E M_ij = 0,  E M_ij^2 = 1/d                      (W e_j is uniform on the sphere);
    G_11 = |P e_1|^2 ~ Beta(p/2, (d-p)/2),  E G_11^2 = p (p+2) / (d (d+2));
    E G_12^2 = E P_12^2 = p (d-p) / (d (d-1) (d+2))  (from P^2 = P: E P_11 = E P_11^2 + (d-1) E P_12^2).
Tolerances: 5 standard errors of the sample mean (sample standard deviation / sqrt(n)); the
Kolmogorov-Smirnov tests reject below p = 5.7e-7, the two-sided 5-sigma level. Seeds are fixed,
so the outcome is deterministic.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy import stats

from mimflow import MimflowError
from mimflow.dynamics import haar_overlaps, haar_overlaps_batch
from mimflow.targets import haar_stiefel

N = 20_000
FIVE_SIGMA_P = 5.7e-7
D, R, P = 6, 2, 2


def _within(samples, expected):
    samples = np.asarray(samples, dtype=float)
    se = samples.std(ddof=1) / np.sqrt(samples.size)
    return abs(samples.mean() - expected) <= 5 * se, (samples.mean(), expected, se)


def _reduced_sample():
    return np.asarray(haar_overlaps_batch(D, R, P, np.arange(N)))


def _formed_sample():
    keys = jax.random.split(jax.random.PRNGKey(12345), N)
    W = jax.vmap(lambda k: haar_stiefel(k, D, P))(keys)
    return np.asarray(W[:, :R, :])  # W* = [I_r; 0]


@pytest.fixture(scope="module")
def samples():
    return {"exact O(r^3) sampler": _reduced_sample(), "formed W (QR of a Gaussian)": _formed_sample()}


def test_moments_match_the_exact_values(samples):
    for name, M in samples.items():
        assert M.shape == (N, R, P), name
        G = np.einsum("nij,nkj->nik", M, M)
        for i in range(R):
            for j in range(P):
                ok, info = _within(M[:, i, j], 0.0)
                assert ok, (name, "E M_ij", i, j, info)
                ok, info = _within(M[:, i, j] ** 2, 1.0 / D)
                assert ok, (name, "E M_ij^2", i, j, info)
        ok, info = _within(G[:, 0, 0] ** 2, P * (P + 2) / (D * (D + 2)))
        assert ok, (name, "E G_11^2", info)
        ok, info = _within(G[:, 0, 1] ** 2, P * (D - P) / (D * (D - 1) * (D + 2)))
        assert ok, (name, "E G_12^2", info)


def test_laws_by_kolmogorov_smirnov(samples):
    for name, M in samples.items():
        G11 = np.sum(M[:, 0, :] ** 2, axis=1)
        assert stats.kstest(G11, stats.beta(P / 2, (D - P) / 2).cdf).pvalue > FIVE_SIGMA_P, name
        assert stats.kstest(M[:, 1, 0] ** 2, stats.beta(0.5, (D - 1) / 2).cdf).pvalue > FIVE_SIGMA_P, name
    # the joint law, through a statistic of the whole matrix: the top singular value
    reduced, formed = (np.linalg.svd(M, compute_uv=False)[:, 0] for M in samples.values())
    assert stats.ks_2samp(reduced, formed).pvalue > FIVE_SIGMA_P
    assert np.all(reduced <= 1.0 + 1e-12)


def test_entries_scale_like_inverse_sqrt_d():
    for d in (10**6, 10**9):
        M = np.asarray(haar_overlaps_batch(d, 2, 3, np.arange(N)))
        z = np.sqrt(d) * M.reshape(-1)
        ok, info = _within(z**2, 1.0)  # E d M_ij^2 = 1 exactly
        assert ok, (d, info)
        # sqrt(d) M_ij is N(0, 1) up to O(1/d)
        assert stats.kstest(z[::6], stats.norm.cdf).pvalue > FIVE_SIGMA_P


def test_single_draw_matches_the_batch_shape_and_is_a_contraction():
    M = np.asarray(haar_overlaps(5, 2, 3, key=jax.random.PRNGKey(0)))  # d = r + p: the smallest allowed
    assert M.shape == (2, 3)
    assert np.linalg.norm(M, 2) <= 1.0 + 1e-12


@pytest.mark.parametrize(
    "d, r, p, match",
    [
        (4, 2, 3, "too small"),  # d < r + p
        (6.0, 2, 2, "d must be a positive integer"),
        (6.5, 2, 2, "d must be a positive integer"),
        ("6", 2, 2, "d must be a positive integer"),
        (True, 1, 1, "d must be a positive integer"),
        (6, 0, 2, "r must be a positive integer"),
        (6, 2, 1.5, "student rank p must be a positive integer"),
        (-6, 2, 2, "d must be a positive integer"),
    ],
)
def test_bad_input(d, r, p, match):
    with pytest.raises(MimflowError, match=match):
        haar_overlaps(d, r, p, key=jax.random.PRNGKey(0))
    with pytest.raises(MimflowError, match=match):
        haar_overlaps_batch(d, r, p, [0, 1])
