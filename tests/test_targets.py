"""Targets (SingleIndex, MultiIndex, SumOfNeurons), Haar directions and sampling.

Monte Carlo tolerances are 5 standard errors, with the standard error estimated from the
same samples (sample standard deviation / sqrt(number of samples)); seeds are fixed, so
every test is deterministic.
"""

from __future__ import annotations

import dataclasses
import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from mimflow import MimflowError, make_link
from mimflow.targets import (
    MultiIndex,
    SingleIndex,
    SumOfNeurons,
    haar_stiefel,
    multi_index,
    sample,
    sample_batches,
    single_index,
    sum_of_neurons,
)

N_SE = 5.0  # Monte Carlo tolerance: 5 standard errors (module docstring)


def key(i: int = 0):
    return jax.random.key(i)


def assert_mean_within(samples, expected, n_se=N_SE):
    """|mean - expected| <= n_se * SE along axis 0, SE = sample std / sqrt(N), entrywise."""
    samples = np.asarray(samples)
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    assert np.all(np.abs(mean - expected) <= n_se * se + 1e-15), (mean, expected, se)


# A small registry of targets, one per kind and Gram, used by the shared checks.
# All share d = D and the checks share N, so that JAX compiles the sampler for few shapes.
D, N = 6, 16
N_MC = 200_000  # Monte Carlo sample size (the brief: n = 2e5)
TARGETS = {
    "single_h2": lambda: single_index("h2", D, key=key(1)),
    "single_relu_noisy": lambda: single_index("relu", D, noise_std=0.3, key=key(2)),
    "multi_staircase2": lambda: multi_index("staircase2", D, key=key(3)),
    "multi_expr3": lambda: multi_index("h2(z1) + z2*z3", D, key=key(4)),
    "sum_orthogonal": lambda: sum_of_neurons("relu", D, 3, key=key(5)),
    "sum_equal_angle": lambda: sum_of_neurons("h3", D, 4, beta=0.4, key=key(6)),
    "sum_one_neuron": lambda: sum_of_neurons("tanh", D, 1, key=key(7)),
    "sum_callable": lambda: sum_of_neurons(lambda z: jnp.cos(z), D, 2, key=key(8)),
}


# ---------------------------------------------------------------------------- shared checks


@pytest.mark.parametrize("name", list(TARGETS))
def test_attributes_shapes_and_dtypes(name):
    t = TARGETS[name]()
    assert isinstance(t.d, int) and isinstance(t.r, int)
    assert t.W_star.shape == (t.d, t.r)
    assert t.W_star.dtype == jnp.float64
    assert t.noise_std.shape == () and t.noise_std.dtype == jnp.float64
    assert t.link.r == t.r
    X, y = sample(t, N, key=key(0))
    assert X.shape == (N, t.d) and y.shape == (N,)
    assert X.dtype == jnp.float64 and y.dtype == jnp.float64
    assert t.clean(X).shape == (N,)
    assert t.clean(X[0]).shape == ()  # one example: (d,) -> ()
    assert t.clean(X.reshape(2, N // 2, t.d)).shape == (2, N // 2)


@pytest.mark.parametrize("name", list(TARGETS))
def test_link_of_projection_is_clean(name):
    t = TARGETS[name]()
    X, _ = sample(t, N, key=key(9))
    np.testing.assert_allclose(t.link(X @ t.W_star), t.clean(X), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", list(TARGETS))
def test_sample_reproducible_by_key(name):
    t = TARGETS[name]()
    X1, y1 = sample(t, N, key=key(3))
    X2, y2 = sample(t, N, key=key(3))
    X3, _ = sample(t, N, key=key(4))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


@pytest.mark.parametrize("name", list(TARGETS))
def test_clean_labels_without_noise(name):
    t = dataclasses.replace(TARGETS[name](), noise_std=0.0)
    X, y = sample(t, N, key=key(5))
    np.testing.assert_array_equal(y, t.clean(X))


@pytest.mark.parametrize("name", list(TARGETS))
def test_targets_are_pytrees_under_jit(name):
    t = TARGETS[name]()
    X, _ = sample(t, N, key=key(0))
    jitted = jax.jit(lambda target, x: target.clean(x))(t, X)
    np.testing.assert_allclose(jitted, t.clean(X), rtol=1e-12, atol=1e-12)


def test_inputs_do_not_depend_on_noise_level():
    t0 = single_index("h2", D, key=key(0))
    t1 = dataclasses.replace(t0, noise_std=2.0)
    X0, y0 = sample(t0, N, key=key(1))
    X1, y1 = sample(t1, N, key=key(1))
    np.testing.assert_array_equal(X0, X1)
    assert not np.allclose(y0, y1)


def test_sample_accepts_legacy_keys_and_vmap():
    t = single_index("relu", D, key=key(0))
    X, y = sample(t, N, key=jax.random.PRNGKey(1))
    assert X.shape == (N, D)
    keys = jax.random.split(key(2), 5)
    Xs, ys = jax.jit(jax.vmap(lambda k: sample(t, N, key=k)))(keys)
    assert Xs.shape == (5, N, D) and ys.shape == (5, N)
    np.testing.assert_allclose(Xs[2], sample(t, N, key=keys[2])[0], rtol=1e-13, atol=1e-13)


def test_noise_std_is_a_leaf_that_vmaps():
    base = single_index("h2", D, key=key(0))
    stds = jnp.array([0.0, 0.5, 1.0])
    out = jax.vmap(lambda s: SingleIndex(base.link, base.w_star, s).noise_std)(stds)
    np.testing.assert_array_equal(out, stds)
    leaves = jax.tree_util.tree_leaves(base)
    assert len(leaves) == 2  # w_star and noise_std; the link and the shapes are static


# ---------------------------------------------------------------------------- Haar on St(d, r)


@pytest.mark.parametrize("d,r", [(1, 1), (D, 1), (D, 2), (D, D), (40, 5)])
def test_haar_stiefel_orthonormal(d, r):
    W = haar_stiefel(key(d * 10 + r), d, r)
    assert W.shape == (d, r) and W.dtype == jnp.float64
    np.testing.assert_allclose(W.T @ W, np.eye(r), atol=1e-12)


def _raw_qr(k, d, r):
    """QR without the sign fix: NOT Haar (used to show the test below can detect it)."""
    return jnp.linalg.qr(jax.random.normal(k, (d, r), dtype=jnp.float64))[0]


def test_haar_stiefel_law():
    d, r, n_draws = 5, 2, 2000
    keys = jax.random.split(key(123), n_draws)
    Ws = np.asarray(jax.vmap(lambda k: haar_stiefel(k, d, r))(keys))  # (n_draws, d, r)
    np.testing.assert_allclose(np.einsum("sij,sik->sjk", Ws, Ws), np.broadcast_to(np.eye(r), (n_draws, r, r)), atol=1e-12)
    # Haar: W and OW have the same law for every orthogonal O. Consequences checked here:
    # E[W] = 0 (sign symmetry) and E[W W^T] = (r/d) I (uniform column space). Each entry is
    # compared to its expectation within 5 standard errors, the standard error being the
    # sample standard deviation of that entry over the draws divided by sqrt(n_draws).
    assert_mean_within(Ws, np.zeros((d, r)))
    assert_mean_within(np.einsum("sij,skj->sik", Ws, Ws), (r / d) * np.eye(d))
    # Marginal law: each entry squared is Beta(1/2, (d-1)/2) (first coordinate of a uniform
    # unit vector in R^d). Kolmogorov-Smirnov at the 1e-3 level (fixed seed, deterministic).
    for j in range(r):
        assert stats.kstest(Ws[:, 0, j] ** 2, stats.beta(0.5, (d - 1) / 2).cdf).pvalue > 1e-3
    # Power check: without the sign fix the mean test fails (LAPACK fixes the sign of W[0, 0]).
    raw = np.asarray(jax.vmap(lambda k: _raw_qr(k, d, r))(keys))
    with pytest.raises(AssertionError):
        assert_mean_within(raw, np.zeros((d, r)))


def test_haar_stiefel_refusals():
    with pytest.raises(MimflowError, match="r <= d"):
        haar_stiefel(key(0), 2, 3)
    with pytest.raises(MimflowError, match="d must be a positive integer"):
        haar_stiefel(key(0), 0, 1)
    with pytest.raises(MimflowError, match="r must be a positive integer"):
        haar_stiefel(key(0), 3, 1.0)


def test_factories_draw_unit_and_orthonormal_directions():
    t = single_index("he3", D, key=key(0))
    assert abs(float(jnp.linalg.norm(t.w_star)) - 1.0) < 1e-12
    m = multi_index("staircase3", D, key=key(0))
    np.testing.assert_allclose(m.W_star.T @ m.W_star, np.eye(3), atol=1e-12)
    W = haar_stiefel(key(1), D, 2)
    np.testing.assert_array_equal(multi_index("z1*z2", D, W_star=W).W_star, W)
    # same key, same target
    np.testing.assert_array_equal(single_index("he3", D, key=key(0)).w_star, t.w_star)


# ---------------------------------------------------------------------------- refusals


def test_single_index_refusals():
    with pytest.raises(MimflowError, match="normalise it"):
        SingleIndex("h2", jnp.ones(3))
    with pytest.raises(MimflowError, match="w_star must be finite"):
        SingleIndex("h2", jnp.array([jnp.nan, 1.0]))
    with pytest.raises(MimflowError, match="shape"):
        SingleIndex("h2", jnp.eye(3)[:, :1])
    with pytest.raises(MimflowError, match="larger than r"):
        SingleIndex("h2", jnp.array([1.0]))
    with pytest.raises(MimflowError, match="one-variable link"):
        SingleIndex("z1*z2", jnp.array([0.0, 1.0]))
    with pytest.raises(MimflowError, match="unknown link"):
        SingleIndex("nolink", jnp.array([0.0, 1.0]))
    with pytest.raises(MimflowError, match="d must be a positive integer"):
        single_index("h2", 5.0, key=key(0))


W_OK = np.eye(5)[:, :2]


@pytest.mark.parametrize(
    "link,W,match",
    [
        ("z1*z2", np.ones((5, 2)), "orthonormal.*haar_stiefel"),  # not orthonormal
        ("z1*z2", 2.0 * W_OK, "orthonormal.*QR"),  # orthogonal but not normalised
        ("h2", W_OK, "r = 1 variables but W_star has 2 columns"),  # wrong r
        ("z1*z2*z3", W_OK, "r = 3 variables"),  # wrong r
        ("z1*z2", np.eye(2), "larger than r"),  # d == r
        ("z1*z2*z3", np.eye(3)[:2, :], "r = 3 variables but W_star has 3 columns|larger than r"),  # d < r
        ("z1*z2", np.where(W_OK == 1.0, np.nan, W_OK), "W_star must be finite"),
        ("z1*z2", np.full((5, 2), np.inf), "W_star must be finite"),
        ("z1*z2", np.ones(5), r"shape \(d, r\)"),
    ],
)
def test_multi_index_refusals(link, W, match):
    with pytest.raises(MimflowError, match=match):
        MultiIndex(link, W)


def test_multi_index_factory_refusals():
    with pytest.raises(MimflowError, match="key="):
        multi_index("z1*z2", 5)
    with pytest.raises(MimflowError, match="larger than r"):
        multi_index("z1*z2", 2, key=key(0))
    with pytest.raises(MimflowError, match="5 rows"):
        multi_index("z1*z2", 5, W_star=np.eye(4)[:, :2])


def test_error_messages_are_one_line():
    for bad in (
        lambda: MultiIndex("z1*z2", np.full((5, 2), np.nan)),
        lambda: SingleIndex("h2", jnp.ones(3)),
        lambda: sum_of_neurons("relu", 5, 2, gram=[[1.0, 2.0], [2.0, 1.0]], key=key(0)),
    ):
        with pytest.raises(MimflowError) as info:
            bad()
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("noise_std,match", [(-0.1, ">= 0"), (np.nan, "finite"), (np.inf, "finite"), ([0.1, 0.2], "scalar")])
def test_noise_std_refusals(noise_std, match):
    with pytest.raises(MimflowError, match=match):
        SingleIndex("h2", jnp.array([0.0, 1.0]), noise_std)
    with pytest.raises(MimflowError, match=match):
        MultiIndex("z1*z2", W_OK, noise_std)
    with pytest.raises(MimflowError, match=match):
        SumOfNeurons("relu", W_OK, noise_std)


# ---------------------------------------------------------------------------- sums of neurons / Gram


def _random_correlation(k, seed):
    A = np.random.default_rng(seed).normal(size=(k, k + 2))
    C = A @ A.T
    s = 1.0 / np.sqrt(np.diag(C))
    return s[:, None] * C * s[None, :]


@pytest.mark.parametrize(
    "kwargs,gram",
    [
        ({}, np.eye(4)),
        ({"beta": 0.0}, np.eye(4)),
        ({"beta": 0.3}, 0.7 * np.eye(4) + 0.3 * np.ones((4, 4))),
        ({"beta": 0.95}, 0.05 * np.eye(4) + 0.95 * np.ones((4, 4))),
        ({"gram": _random_correlation(4, 0)}, _random_correlation(4, 0)),
        ({"gram": np.ones((4, 4))}, np.ones((4, 4))),  # PSD of rank 1: all v_j equal
    ],
)
def test_gram_is_realised(kwargs, gram):
    t = sum_of_neurons("relu", D, 4, key=key(0), **kwargs)
    assert t.k == t.r == 4 and t.V.shape == (D, 4)
    np.testing.assert_allclose(t.V.T @ t.V, gram, atol=1e-12)
    np.testing.assert_allclose(t.gram, gram, atol=1e-12)


def test_sum_of_neurons_allows_k_equal_d():
    t = sum_of_neurons("relu", 3, 3, key=key(0))
    np.testing.assert_allclose(t.V.T @ t.V, np.eye(3), atol=1e-12)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"gram": [[1.0, 2.0], [2.0, 1.0]]}, "positive semidefinite"),  # eigenvalue -1
        ({"gram": [[1.0, 0.5], [0.5, 2.0]]}, "unit diagonal"),
        ({"gram": [[1.0, 0.5], [0.4, 1.0]]}, "symmetric"),
        ({"gram": np.eye(3)}, r"shape \(k, k\)"),
        ({"gram": [[1.0, np.nan], [np.nan, 1.0]]}, "gram must be finite"),
        ({"beta": 1.0}, r"\[0, 1\)"),
        ({"beta": -0.1}, r"\[0, 1\)"),
        ({"beta": np.nan}, "finite"),
        ({"beta": 0.2, "gram": np.eye(2)}, "not both"),
    ],
)
def test_gram_refusals(kwargs, match):
    with pytest.raises(MimflowError, match=match):
        sum_of_neurons("relu", 5, 2, key=key(0), **kwargs)


def test_sum_of_neurons_refusals():
    with pytest.raises(MimflowError, match="k <= d"):
        sum_of_neurons("relu", 3, 4, key=key(0))
    with pytest.raises(MimflowError, match="k must be a positive integer"):
        sum_of_neurons("relu", 3, 0, key=key(0))
    with pytest.raises(MimflowError, match="one variable"):
        sum_of_neurons("z1*z2", 5, 2, key=key(0))
    with pytest.raises(MimflowError, match="unit columns"):
        SumOfNeurons("relu", 2.0 * W_OK)
    with pytest.raises(MimflowError, match="V must be finite"):
        SumOfNeurons("relu", np.full((5, 2), np.nan))


def test_sum_of_neurons_value():
    V = np.eye(4)[:, :3]
    t = SumOfNeurons("relu", V)
    x = jnp.array([[1.0, -2.0, 3.0, 7.0]])
    assert float(t.clean(x)[0]) == 4.0  # relu(1) + relu(-2) + relu(3)


# ---------------------------------------------------------------------------- Monte Carlo


def test_monte_carlo_single_index_h2():
    # y = h2(w*^T x): E[y^2] = ||h2||^2 = 1 and E[y h2(w*^T x)] = 1 (docs/conventions.md §0: E[h_j h_k] = delta_jk).
    t = single_index("h2", D, key=key(0))
    X, y = sample(t, N_MC, key=key(1))
    h2 = make_link("h2")(X @ t.W_star)
    assert_mean_within(np.asarray(y) ** 2, 1.0)
    assert_mean_within(np.asarray(y * h2), 1.0)


def test_monte_carlo_noise_adds_variance():
    # y = h2(w*^T x) + s xi: E[y^2] = 1 + s^2, and E[y h2(w*^T x)] = 1 still.
    s = 0.7
    t = single_index("h2", D, noise_std=s, key=key(0))
    X, y = sample(t, N_MC, key=key(2))
    assert_mean_within(np.asarray(y) ** 2, 1.0 + s**2)
    assert_mean_within(np.asarray(y * t.clean(X)), 1.0)


def test_monte_carlo_sum_of_neurons_mehler():
    # f = sum_j h2(v_j^T x) with v_i^T v_j = beta: E[h2(u) h2(v)] = rho^2 (Mehler, docs/conventions.md §0),
    # so E[f^2] = k + k (k - 1) beta^2.
    k, beta = 3, 0.5
    t = sum_of_neurons("h2", D, k, beta=beta, key=key(0))
    _, y = sample(t, N_MC, key=key(3))
    assert_mean_within(np.asarray(y) ** 2, k + k * (k - 1) * beta**2)


# ---------------------------------------------------------------------------- batches


def test_batches_concatenate_and_reproduce():
    t = multi_index("staircase2", D, noise_std=0.1, key=key(0))
    batches = list(sample_batches(t, 3 * N + 5, N, key=key(4)))
    assert [X.shape for X, _ in batches] == [(N, D), (N, D), (N, D), (5, D)]
    assert [y.shape for _, y in batches] == [(N,), (N,), (N,), (5,)]
    X = jnp.concatenate([b[0] for b in batches])
    y = jnp.concatenate([b[1] for b in batches])
    assert X.shape == (3 * N + 5, D) and y.shape == (3 * N + 5,)
    again = list(sample_batches(t, 3 * N + 5, N, key=key(4)))
    for (X1, y1), (X2, y2) in zip(batches, again, strict=True):
        np.testing.assert_array_equal(X1, X2)
        np.testing.assert_array_equal(y1, y2)
    # batch b is sample(target, size_b, key=fold_in(key, b))
    Xb, yb = sample(t, 5, key=jax.random.fold_in(key(4), 3))
    np.testing.assert_array_equal(batches[3][0], Xb)
    np.testing.assert_array_equal(batches[3][1], yb)
    # a stream that stops early sees the same first batches
    first_two = list(itertools.islice(sample_batches(t, 10**9, N, key=key(4)), 2))
    np.testing.assert_array_equal(first_two[1][0], batches[1][0])
    # batches differ from one another
    assert not np.allclose(batches[0][0], batches[1][0])


@pytest.mark.parametrize("n,batch_size", [(1, 1), (N, N), (N, 100), (2 * N + 1, N)])
def test_batch_sizes(n, batch_size):
    t = single_index("relu", D, key=key(0))
    sizes = [X.shape[0] for X, _ in sample_batches(t, n, batch_size, key=key(1))]
    assert sum(sizes) == n
    assert all(s == batch_size for s in sizes[:-1]) and 1 <= sizes[-1] <= batch_size


def test_sampling_refusals_are_eager():
    t = single_index("relu", 3, key=key(0))
    for kwargs, match in [
        ({"n": 0, "batch_size": 1}, "n must be >= 1"),
        ({"n": 10.0, "batch_size": 1}, "n must be an integer"),
        ({"n": True, "batch_size": 1}, "n must be an integer"),
        ({"n": 10, "batch_size": 0}, "batch_size must be >= 1"),
        ({"n": 10, "batch_size": 2.5}, "batch_size must be an integer"),
    ]:
        with pytest.raises(MimflowError, match=match):
            sample_batches(t, kwargs["n"], kwargs["batch_size"], key=key(0))  # no next() needed
    with pytest.raises(MimflowError, match="n must be >= 1"):
        sample(t, -3, key=key(0))
    with pytest.raises(MimflowError, match="n must be an integer"):
        sample(t, 2e5, key=key(0))
    with pytest.raises(MimflowError, match="target must be"):
        sample("h2", 3, key=key(0))
    with pytest.raises(TypeError):
        sample(t, 3, key(0))  # the key is keyword-only


def test_filter_jit_sample_matches_eager():
    t = sum_of_neurons("relu", D, 2, beta=0.2, noise_std=0.1, key=key(0))
    jitted = eqx.filter_jit(lambda target, k: sample(target, N, key=k))
    Xj, yj = jitted(t, key(1))
    X, y = sample(t, N, key=key(1))
    np.testing.assert_allclose(Xj, X, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(yj, y, rtol=1e-12, atol=1e-12)
