"""Property-based tests (hypothesis) of the Hermite core and the expression grammar.

Cheap pure functions only; jitted functions are built once outside ``@given``.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mimflow.hermite import gauss_hermite_rule, hermite_he, hermite_normalized  # noqa: E402
from mimflow.targets import make_link  # noqa: E402
from mimflow.targets._expression import compile_expression, format_expression, parse_expression  # noqa: E402

K_MAX = 60
_h = jax.jit(lambda z: hermite_normalized(z, K_MAX))
_he = jax.jit(lambda z: hermite_he(z, 20))
_NODES, _WEIGHTS = gauss_hermite_rule(80)
_H_NODES = np.asarray(_h(jnp.asarray(_NODES)))

pytestmark = pytest.mark.slow(ci=True)


@settings(max_examples=60, deadline=None)
@given(z=st.floats(-30, 30, allow_nan=False), k=st.integers(1, K_MAX - 1))
def test_normalised_three_term_recurrence(z, k):
    """sqrt(k+1) h_{k+1} = z h_k - sqrt(k) h_{k-1}."""
    h = np.asarray(_h(jnp.asarray(z)))
    lhs = math.sqrt(k + 1) * h[k + 1]
    rhs = z * h[k] - math.sqrt(k) * h[k - 1]
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9 * (1 + abs(z) * abs(h[k])))


@settings(max_examples=60, deadline=None)
@given(z=st.floats(-6, 6, allow_nan=False), k=st.integers(1, 19))
def test_derivative_identity(z, k):
    """He_k' = k He_{k-1} (Appell property), checked by autodiff."""
    grad = jax.grad(lambda x: _he(x)[k])(jnp.asarray(z))
    assert float(grad) == pytest.approx(k * float(_he(jnp.asarray(z))[k - 1]), rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(j=st.integers(0, 39), k=st.integers(0, 39))
def test_orthonormality(j, k):
    """E[h_j h_k] = delta_jk (80-node Gauss-Hermite is exact for degree <= 159)."""
    value = float(np.sum(_WEIGHTS * _H_NODES[:, j] * _H_NODES[:, k]))
    assert value == pytest.approx(float(j == k), abs=1e-11)


_leaf = st.sampled_from(["z", "1", "2.5", "pi"])
_unary = st.sampled_from(["relu", "abs", "sign", "tanh", "erf", "sin", "cos", "sigmoid", "softplus", "gelu", "h2", "he3"])


def _expr():
    return st.recursive(
        _leaf,
        lambda children: st.one_of(
            st.tuples(_unary, children).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(children, st.sampled_from(["+", "-", "*"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        ),
        max_leaves=6,
    )


@settings(max_examples=40, deadline=None)
@given(text=_expr(), z=st.floats(-3, 3, allow_nan=False))
def test_expression_format_round_trip(text, z):
    """format(parse(text)) parses to a tree that evaluates identically."""
    tree, _ = parse_expression(text)
    again, _ = parse_expression(format_expression(tree))
    point = jnp.asarray([[z]])
    a = float(compile_expression(tree)(point)[0])
    b = float(compile_expression(again)(point)[0])
    assert a == pytest.approx(b, rel=1e-12, abs=1e-12) or (math.isnan(a) and math.isnan(b))


@settings(max_examples=25, deadline=None)
@given(a=st.floats(-3, 3, allow_nan=False), b=st.floats(-3, 3, allow_nan=False))
def test_spectrum_is_linear(a, b):
    """c_k(a relu + b sign) = a c_k(relu) + b c_k(sign) (closed forms of a linear combination)."""
    combo = make_link(f"{a!r}*relu(z) + {b!r}*sign(z)").spectrum(12).coefficients
    expect = a * make_link("relu").spectrum(12).coefficients + b * make_link("sign").spectrum(12).coefficients
    np.testing.assert_allclose(combo, expect, atol=1e-13)
