"""Spectral estimators: preprocessings, the matrix-free Lanczos estimator, the `spectral` command."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mimflow import MimflowError
from mimflow.spectral import make_preprocessing, sample_spectral_data, spectral_estimate, top_eigenpair
from mimflow.targets import parse_expression
from helpers import run_cli

# ------------------------------------------------------------------ preprocessings


@pytest.mark.parametrize("spec, kw, y, expected, sup", [
    ("identity", {}, [0.5, 2.0], [0.5, 2.0], math.inf),
    ("trimmed:2.5", {}, [1.0, 4.0], [1.0, 2.5], 2.5),
    ("trimmed", {}, [1.0, 4.0], [1.0, 3.0], 3.0),
    ("optimal", {}, [0.5, 2.0], [-1.0, 0.5], 1.0),
    ("optimal", {"clip": 0.5}, [0.5, 2.0], [-0.5, 0.5], 1.0),
    ("mondelli-montanari", {"alpha": 2.0}, [0.0, 3.0], [-1.0, 2.0 / 4.0], 1.0),
    ("mondelli-montanari-complex", {"alpha": 4.0}, [-1.0, 3.0], [-1.0, 2.0 / 4.0], 1.0),
    ("tanh(y)", {}, [0.5, 2.0], list(np.tanh([0.5, 2.0])), 1.0),
    ("y/(1 + y**2)", {}, [1.0, 3.0], [0.5, 0.3], 0.5),
])
def test_preprocessing_values_and_sup(spec, kw, y, expected, sup):
    p = make_preprocessing(spec, **kw)
    np.testing.assert_allclose(np.asarray(p.T(jnp.asarray(y))), expected, rtol=1e-12)
    assert p.sup == pytest.approx(sup, rel=1e-6) if math.isfinite(sup) else p.sup == math.inf
    assert p.T(jnp.asarray(y)).dtype == jnp.float64


def test_preprocessing_is_jittable_and_differentiable():
    p = make_preprocessing("optimal")
    g = jax.jit(jax.grad(lambda y: p.T(y)))(2.0)
    assert float(g) == pytest.approx(0.25)  # d/dy (1 - 1/y) = 1/y^2
    q = make_preprocessing("y*exp(-y)")
    assert float(jax.grad(lambda y: q.T(y))(1.0)) == pytest.approx(0.0, abs=1e-14)


def test_mean_one_normalisation():
    p = make_preprocessing("optimal")
    y = jnp.asarray([1.0, 3.0])  # mean 2: T applied to [0.5, 1.5]
    np.testing.assert_allclose(np.asarray(p.apply(y)), [-1.0, 1.0 / 3.0], rtol=1e-12)
    assert not make_preprocessing("trimmed:3").mean_one


def test_mm_pole_below_one_half_makes_sup_infinite():
    assert make_preprocessing("mondelli-montanari", alpha=0.3).sup == math.inf
    assert make_preprocessing("1 - 1/(y + 0.1)").sup == math.inf


@pytest.mark.parametrize("spec, kw, match", [
    ("optimall", {}, "unknown preprocessing"),
    ("mondelli-montanari", {}, "alpha"),
    ("trimmed:x", {}, "TAU"),
    ("trimmed", {"clip": 1.0}, "clip"),
    ("optimal", {"clip": -1.0}, "clip"),
    ("z + 1", {}, "unknown name 'z'"),
    ("__import__('os')", {}, "cannot parse"),
    ("y.real", {}, "not allowed"),
])
def test_preprocessing_bad_input(spec, kw, match):
    with pytest.raises(MimflowError, match=match):
        make_preprocessing(spec, **kw)


def test_parser_default_variable_unchanged():
    """The y-variable support is opt-in: links still parse z / z1..zr and refuse y."""
    assert parse_expression("h2(z1) + z2")[1] == 2
    with pytest.raises(MimflowError):
        parse_expression("y + 1")
    assert parse_expression("y**2 + 1", variable="y")[1] == 1


# ------------------------------------------------------------------ estimator


def test_lanczos_matches_dense_eigh():
    data = sample_spectral_data("z**2", 60, 240, key=jax.random.key(3))
    t = np.asarray(make_preprocessing("trimmed:3").T(jnp.asarray(data.y)))
    lam, v, _ = top_eigenpair(data.X, t)
    D = (data.X.T * t) @ data.X / 240
    vals, vecs = np.linalg.eigh(D)
    assert lam == pytest.approx(vals[-1], rel=1e-10)
    assert abs(float(v @ vecs[:, -1])) == pytest.approx(1.0, abs=1e-9)


def test_float32_storage_agrees_with_float64():
    """float32 products (Lanczos tol 1e-6) against float64 products on the same (float32-drawn) data."""
    b_data = sample_spectral_data("z**2", 200, 600, key=jax.random.key(5), dtype=np.float32)
    assert b_data.X.dtype == np.float32 and b_data.y.dtype == np.float64
    a_data = type(b_data)(b_data.X.astype(np.float64), b_data.y, b_data.w_star)
    np.testing.assert_allclose(b_data.y, (a_data.X @ b_data.w_star) ** 2, rtol=1e-12)
    a = spectral_estimate(a_data, "trimmed:3")
    b = spectral_estimate(b_data, "trimmed:3")
    assert b.overlap2 == pytest.approx(a.overlap2, abs=1e-4)
    assert b.eigenvalue == pytest.approx(a.eigenvalue, rel=1e-5)


def test_same_seed_same_numbers():
    a = spectral_estimate(sample_spectral_data("z**2", 100, 300, key=jax.random.key(1)), "optimal", clip=5.0)
    b = spectral_estimate(sample_spectral_data("z**2", 100, 300, key=jax.random.key(1)), "optimal", clip=5.0)
    assert a.overlap2 == b.overlap2 and a.eigenvalue == b.eigenvalue


def test_data_follow_the_model():
    data = sample_spectral_data("z**2", 50, 4000, noise=0.5, key=jax.random.key(2))
    assert np.linalg.norm(data.w_star) == pytest.approx(1.0)
    s = data.X @ data.w_star
    resid = data.y - s**2
    assert np.std(resid) == pytest.approx(0.5, rel=0.05)  # 4000 samples: SE of the std ~ 1.1%


@pytest.mark.parametrize("call, match", [
    (lambda d: spectral_estimate(d, "optimal"), "clip"),
    (lambda d: top_eigenpair(d.X, np.ones(3)), "shape"),
    (lambda d: sample_spectral_data("z1*z2", 10, 20, key=jax.random.key(0)), "single-index"),
    (lambda d: sample_spectral_data("z**2", 1, 20, key=jax.random.key(0)), "d must"),
])
def test_estimator_bad_input(call, match):
    data = sample_spectral_data("z**2", 40, 400, key=jax.random.key(0))
    with pytest.raises(MimflowError, match=match):
        call(data)


def test_mean_one_needs_positive_mean():
    data = sample_spectral_data("he3", 20, 100, key=jax.random.key(0))
    data = type(data)(data.X, data.y - 10.0, data.w_star)
    with pytest.raises(MimflowError, match="mean 1"):
        spectral_estimate(data, "optimal", clip=1.0)


# ------------------------------------------------------------------ command line


def test_cli_json_keys_theory_and_simulation(capsys, tmp_path):
    plot = tmp_path / "overlap.png"
    code, out, err = run_cli(capsys, "spectral", "z**2", "--alpha", "1,3", "--preprocess", "optimal", "--clip", "10",
                             "--d", "80", "--seeds", "2", "--json", "--plot", str(plot))
    assert code == 0, err
    res = json.loads(out)
    for key in ("alpha", "predicted_overlap2", "predicted_top_eigenvalue", "measured_overlap2",
                "measured_overlap2_se", "alpha_weak_recovery", "alpha_u"):
        assert key in res, key
    assert res["alpha"] == [1.0, 3.0]
    assert len(res["measured_overlap2"]) == 2 and len(res["measured_overlap2_se"]) == 2
    assert res["alpha_u"] == pytest.approx(0.5, rel=1e-6)
    assert plot.exists() and plot.stat().st_size > 1000


def test_cli_theory_only_and_null_where_formula_fails(capsys):
    code, out, err = run_cli(capsys, "spectral", "z**2", "--alpha", "0.3,2", "--preprocess", "mondelli-montanari", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["predicted_overlap2"][0] is None and res["predicted_overlap2"][1] > 0
    assert "measured_overlap2" not in res
    assert res["alpha_weak_recovery"] == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("args, match", [
    (["--preprocess", "bogus"], "unknown preprocessing"),
    (["--alpha", "-1"], "alpha"),
    (["--preprocess", "optimal", "--d", "50"], "clip"),
    (["--preprocess", "identity"], "unbounded"),
])
def test_cli_bad_input_one_line(capsys, args, match):
    code, out, err = run_cli(capsys, "spectral", "z**2", *args)
    assert code == 2
    assert match in err and "Traceback" not in err
