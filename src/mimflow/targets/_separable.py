r"""The separable method of :func:`~mimflow.targets.multivariate_spectrum` (exact, docs/conventions.md §0).

An expression is rewritten symbolically as a finite sum of products of one-variable factors,
:math:`f(z) = \sum_t a_t \prod_i u_{t,i}(z_i)` (rules in the docstring of
:mod:`mimflow.targets._multivariate_spectrum`), and then

.. math::

    \alpha_\beta = \sum_t a_t \prod_i c_{\beta_i}(u_{t,i}),\qquad
    \|f\|^2 = \sum_{s,t} a_s a_t \prod_i \mathbb{E}[u_{s,i}(z)\,u_{t,i}(z)],

with each 1-D spectrum :math:`c(u)` from :meth:`Link.spectrum` of the factor re-indexed to ``z`` and
each 1-D inner product a piecewise Gauss-Legendre quadrature split at both factors' breakpoints
(exact for two polynomial factors).
"""

from __future__ import annotations

import math
from functools import lru_cache

import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.hermite import MultivariateSpectrum, integration_half_width, multi_indices, piecewise_gaussian_rule
from mimflow.targets._expression import BinOp, Call, Neg, Node, Num, Var, compile_expression, format_expression
from mimflow.targets._expression_tree import variables_of
from mimflow.targets._links import Link, _closed

MAX_SEPARABLE_TERMS = 2000
"""More terms than this after expansion: treated as not separable."""

MAX_POWER = 8
"""Largest integer power of a multi-variable subtree expanded by the separable method."""


class _NotSeparable(Exception):
    """Internal: the expression is not a finite sum of products of one-variable factors."""


# ------------------------------------------------------------------- separable: symbolic

# A term is ``key -> coefficient`` with ``key = ((variable, atoms), ...)`` sorted by variable and
# ``atoms`` a sorted tuple of one-variable subtrees whose product is the factor in that variable.
_Key = tuple[tuple[int, tuple[Node, ...]], ...]


def _atom_order(node: Node) -> str:
    return format_expression(node)


def _constant_value(node: Node) -> float:
    """Value of a variable-free subtree (plain arithmetic when possible, else the compiled tree)."""
    try:
        value = _arithmetic(node)
    except (ArithmeticError, ValueError):
        raise _NotSeparable from None  # e.g. 1/0: let the quadrature path report it
    if value is None:
        value = float(np.asarray(compile_expression(node)(jnp.zeros((1, 1))))[0])
    if not math.isfinite(value):
        raise _NotSeparable  # e.g. 1/0: let the quadrature path report it
    return value


def _arithmetic(node: Node) -> float | None:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Neg):
        inner = _arithmetic(node.arg)
        return None if inner is None else -inner
    if isinstance(node, BinOp):
        a, b = _arithmetic(node.left), _arithmetic(node.right)
        if a is None or b is None:
            return None
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op == "*":
            return a * b
        if node.op == "/":
            return a / b
        return float(a**b) if not (a < 0 and not float(b).is_integer()) else math.nan
    return None  # a function call: evaluate the compiled tree


def _multiply(a: dict[_Key, float], b: dict[_Key, float]) -> dict[_Key, float]:
    out: dict[_Key, float] = {}
    for ka, ca in a.items():
        for kb, cb in b.items():
            merged: dict[int, tuple[Node, ...]] = dict(ka)
            for var, atoms in kb:
                merged[var] = tuple(sorted(merged.get(var, ()) + atoms, key=_atom_order))
            key = tuple(sorted(merged.items()))
            out[key] = out.get(key, 0.0) + ca * cb
    if len(out) > MAX_SEPARABLE_TERMS:
        raise _NotSeparable
    return out


def _add(a: dict[_Key, float], b: dict[_Key, float], sign: float) -> dict[_Key, float]:
    out = dict(a)
    for kb, cb in b.items():
        out[kb] = out.get(kb, 0.0) + sign * cb
    if len(out) > MAX_SEPARABLE_TERMS:
        raise _NotSeparable
    return out


def _decompose(node: Node) -> dict[_Key, float]:
    deps = variables_of(node)
    if not deps:
        return {(): _constant_value(node)}
    if len(deps) == 1:
        (var,) = deps
        return {((var, (node,)),): 1.0}
    if isinstance(node, Neg):
        return {k: -c for k, c in _decompose(node.arg).items()}
    if isinstance(node, BinOp):
        if node.op == "+":
            return _add(_decompose(node.left), _decompose(node.right), 1.0)
        if node.op == "-":
            return _add(_decompose(node.left), _decompose(node.right), -1.0)
        if node.op == "*":
            return _multiply(_decompose(node.left), _decompose(node.right))
        if node.op == "/" and not variables_of(node.right):
            divisor = _constant_value(node.right)
            if divisor == 0.0:
                raise _NotSeparable
            return {k: c / divisor for k, c in _decompose(node.left).items()}
        if node.op == "**" and not variables_of(node.right):
            power = _constant_value(node.right)
            if power.is_integer() and 0 <= power <= MAX_POWER:
                base = _decompose(node.left)
                out: dict[_Key, float] = {(): 1.0}
                for _ in range(int(power)):
                    out = _multiply(out, base)
                return out
        raise _NotSeparable
    raise _NotSeparable  # a Call of several variables


def separable_terms(tree: Node) -> list[tuple[float, dict[int, Node]]] | None:
    """Write an expression as ``sum_t a_t prod_i u_{t,i}(z_i)``; ``None`` if it is not separable.

    Returns:
        ``[(a_t, {variable: factor subtree}), ...]``, zero terms dropped; the factor subtrees still
        use their original variable index. ``[]`` for the zero function.

    Example:
        >>> from mimflow.targets import parse_expression
        >>> terms = separable_terms(parse_expression("(z1 + z2)**2")[0])
        >>> sorted(len(factors) for _, factors in terms)
        [1, 1, 2]
    """
    try:
        expanded = _decompose(tree)
    except _NotSeparable:
        return None
    terms = []
    for key, coef in expanded.items():
        if coef == 0.0:
            continue
        factors = {var: _product(atoms) for var, atoms in key}
        terms.append((float(coef), factors))
    return terms


def _product(atoms: tuple[Node, ...]) -> Node:
    out = atoms[0]
    for atom in atoms[1:]:
        out = BinOp("*", out, atom)
    return out


def _reindex(node: Node) -> Node:
    """The same subtree with its (single) variable renamed ``z`` (index 0)."""
    if isinstance(node, Var):
        return Var(0)
    if isinstance(node, Num):
        return node
    if isinstance(node, Neg):
        return Neg(_reindex(node.arg))
    if isinstance(node, Call):
        return Call(node.func, _reindex(node.arg), node.degree)
    return BinOp(node.op, _reindex(node.left), _reindex(node.right))


# ------------------------------------------------------------------- separable: numerics

_ONE = Num(1.0)


@lru_cache(maxsize=512)
def _factor_link(tree: Node) -> Link:
    return Link(format_expression(tree), 1, compile_expression(tree), tree)


@lru_cache(maxsize=2048)
def _factor_spectrum(tree: Node, k_max: int) -> np.ndarray:
    c = np.array(_factor_link(tree).spectrum(k_max).coefficients, dtype=np.float64)
    c.setflags(write=False)
    return c


@lru_cache(maxsize=2048)
def _factor_breakpoints(tree: Node, half_width: float) -> tuple[float, ...]:
    return _factor_link(tree).breakpoints(0, half_width)


@lru_cache(maxsize=8192)
def _inner_product(u: Node, v: Node, k_rule: int) -> float:
    r"""``E[u(z) v(z)]``: exact for two polynomial factors (the dot product of their finite Hermite
    expansions), else piecewise Gauss-Legendre split at both factors' breakpoints."""
    exact_u, exact_v = _closed(u, k_rule), _closed(v, k_rule)
    if exact_u is not None and exact_v is not None and exact_u[3] and exact_v[3]:
        return float(np.dot(exact_u[0], exact_v[0]))
    half = integration_half_width(k_rule)
    bps = sorted(set(_factor_breakpoints(u, half)) | set(_factor_breakpoints(v, half)))
    z, w = piecewise_gaussian_rule(bps, k_max=k_rule)
    zz = jnp.asarray(z)[:, None]
    fu = np.asarray(_factor_link(u).fn(zz), dtype=np.float64)
    fv = fu if u == v else np.asarray(_factor_link(v).fn(zz), dtype=np.float64)
    prod = fu * fv
    if not np.all(np.isfinite(prod)):
        bad = z[~np.isfinite(prod)][0]
        raise MimflowError(
            f"factor {format_expression(u)!r} or {format_expression(v)!r} is not finite at z = {bad:.4g}:"
            " a link must be finite on the real line"
        )
    return float(np.sum(w * prod))


def separable_spectrum(link: Link, terms: list[tuple[float, dict[int, Node]]], k_max: int) -> MultivariateSpectrum:
    r = link.r
    betas = multi_indices(r, k_max)
    if not terms:
        values = np.zeros(len(betas))
        return MultivariateSpectrum(r, k_max, betas, values, 0.0, 0.0, "separable", link.name)
    factors: list[Node] = [_ONE]
    index: dict[Node, int] = {_ONE: 0}
    ids = np.zeros((len(terms), r), dtype=np.int64)
    coefs = np.array([c for c, _ in terms])
    for t, (_, by_var) in enumerate(terms):
        for var, subtree in by_var.items():
            tree = _reindex(subtree)
            if tree not in index:
                index[tree] = len(factors)
                factors.append(tree)
            ids[t, var] = index[tree]
    table = np.stack([_factor_spectrum(f, k_max) for f in factors])  # (n_factors, K + 1)
    values = np.zeros(len(betas))
    for t in range(len(terms)):
        prod = np.full(len(betas), coefs[t])
        for i in range(r):
            prod = prod * table[ids[t, i], betas[:, i]]
        values = values + prod
    # ||f||^2 = sum_{s,t} a_s a_t prod_i G[u_{s,i}, u_{t,i}] with the Gram matrix of the factors.
    k_rule = max(k_max, 20)
    n_f = len(factors)
    gram = np.empty((n_f, n_f))
    for a in range(n_f):
        for b in range(a, n_f):
            gram[a, b] = gram[b, a] = _inner_product(factors[a], factors[b], k_rule)
    pair = np.ones((len(terms), len(terms)))
    for i in range(r):
        pair = pair * gram[ids[:, i][:, None], ids[:, i][None, :]]
    norm2 = float(coefs @ pair @ coefs)
    tail = norm2 - float(np.sum(values**2))
    return MultivariateSpectrum(r, k_max, betas, values, norm2, tail, "separable", link.name)
