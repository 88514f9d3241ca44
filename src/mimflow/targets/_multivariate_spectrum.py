r"""Hermite coefficients of links of ``r <= 4`` variables (docs/conventions.md §0).

.. math::

    \alpha_\beta(f) = \mathbb{E}_{z\sim N(0,I_r)}[f(z)\,H_\beta(z)],\qquad
    H_\beta(z) = \prod_{i=1}^r h_{\beta_i}(z_i),\qquad |\beta| \le K,

listed in the order of :func:`~mimflow.hermite.multi_indices`, with
:math:`\|f\|^2 = \mathbb{E}[f(z)^2]` and :math:`\mathrm{tail}_K = \|f\|^2 - \sum_{|\beta|\le K}\alpha_\beta^2`.

Two methods.

**separable** (exact). An expression is rewritten symbolically as a finite sum of products of
one-variable factors, :math:`f(z) = \sum_t a_t \prod_i u_{t,i}(z_i)` (a variable absent from a term
is the factor 1). Rules: numbers and variable-free subtrees (evaluated); *any subtree that depends on
one variable only* is one factor (this covers the calls ``g(z_i)`` and is harmless for ``z1*z1`` or
``z1/z1``); ``+``, ``-`` and unary minus; ``*`` distributes (cartesian product of the terms, the
factors in one variable multiply into one factor); division by a variable-free subtree; integer
powers ``0..8`` of a separable subtree, expanded by repeated multiplication. Anything else (a
function of a combination of several variables, division by a variable, other powers) is not
separable. Like terms are merged (factors are canonical products of sorted atoms), and a sum of more
than :data:`MAX_SEPARABLE_TERMS` terms is treated as not separable. Then

.. math::

    \alpha_\beta = \sum_t a_t \prod_i c_{\beta_i}(u_{t,i}),\qquad
    \|f\|^2 = \sum_{s,t} a_s a_t \prod_i \mathbb{E}[u_{s,i}(z)\,u_{t,i}(z)],

where each 1-D spectrum :math:`c(u)` comes from :meth:`Link.spectrum` of the factor re-indexed to
``z`` (closed forms where they exist, else quadrature split at the factor's breakpoints), and each
1-D inner product is a piecewise Gauss-Legendre quadrature split at the union of both factors'
breakpoints. Accuracy: that of the 1-D rules, ~1e-14 (see :mod:`mimflow.hermite._quadrature`).

**quadrature** (fallback for non-separable expressions and Python callables). A tensor-product rule.
Per axis: if the link has breakpoints along that axis (declared for callables, found from
``relu/abs/sign`` arguments that depend on that variable only for expressions),
:func:`~mimflow.hermite.piecewise_gaussian_rule` split there, on ``[-L, L]`` with
``L = max(10, sqrt(4K + 2) + 6)`` (:func:`tensor_half_width`), panels of width <= 1 and
``PANEL_NODES[r]`` (16, 8, 6 for r = 2, 3, 4) Gauss-Legendre nodes per panel; otherwise an
``n``-point Gauss-Hermite rule, ``n = max(GAUSS_HERMITE_NODES[r], K + 1)`` (200, 128, 56 for
r = 2, 3, 4: 4e4, 2.1e6 and 9.8e6 points). Gauss-Hermite is exact when :math:`f\cdot H_\beta` is a
polynomial of degree ``< 2n``; on a strip-analytic factor such as ``tanh`` its error is 1.7e-8
(n = 56), 1e-13 (n = 128), 2e-16 (n = 200), and entire factors (sin, exp, erf) converge faster. For
``r = 1`` the 1-D rule of :meth:`Link.spectrum` is used. Measured: separable links recomputed this way
agree with the separable method to 2e-15 (r = 2), 5e-13 (r = 3), 9e-13 (r = 4); ``tanh(z1 + z2*z3)``
at ``K = 10`` changes by 3e-9 from 128 to 240 nodes per axis (``z2*z3`` moves the poles of tanh
towards the real axis as ``|z3|`` grows). The link is evaluated in chunks of at most ``2**16``
points and contracted axis by axis, so memory stays bounded; a rule of more than
:data:`MAX_QUADRATURE_POINTS` points (e.g. four axes with kinks) is refused. ``norm2`` comes from
the same rule.

Warning:
    Kinks that are not axis-aligned (``relu(z1 + z2)``) are not split by the tensor rule, which then
    converges slowly (errors ~1e-3, as for 1-D Gauss-Hermite on a kink).

Limits: ``r <= 4`` (:data:`MAX_VARIABLES`) and, for ``r >= 2``, ``r**K <= 4**10``
(:data:`MAX_TENSOR_ENTRIES`, the size of the symmetric tensor ``S_K`` used by the averaging operator):
``K <= 20`` for ``r = 2``, ``K <= 12`` for ``r = 3``, ``K <= 10`` for ``r = 4``. For ``r = 1`` the
1-D limit ``K <= 400`` applies.
"""

from __future__ import annotations

import math
from functools import lru_cache

import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.hermite import MAX_TENSOR_ENTRIES, MAX_VARIABLES
from mimflow.hermite import MultivariateSpectrum, multi_indices
from mimflow.hermite._polynomials import _check_degree
from mimflow.hermite import gauss_hermite_rule, integration_half_width, piecewise_gaussian_rule
from mimflow.targets._expression import BinOp, Call, Neg, Node, Num, Var, compile_expression, format_expression, variables_of
from mimflow.targets._links import Link, make_link

# MAX_VARIABLES (= 4, the largest r) and MAX_TENSOR_ENTRIES (= 4**10, the bound on r**K for r >= 2)
# are shared with the averaging operator, which consumes these spectra.

MAX_SEPARABLE_TERMS = 2000
"""More terms than this after expansion: treated as not separable."""

MAX_POWER = 8
"""Largest integer power of a multi-variable subtree expanded by the separable method."""

GAUSS_HERMITE_NODES = {2: 200, 3: 128, 4: 56}
"""Gauss-Hermite nodes per smooth axis of the tensor rule (at least ``K + 1``)."""

PANEL_NODES = {2: 16, 3: 8, 4: 6}
"""Gauss-Legendre nodes per panel on an axis with breakpoints."""

MAX_QUADRATURE_POINTS = 2**27
"""Largest tensor rule (total number of points) the quadrature method accepts."""

_CHUNK_POINTS = 2**16
_METHODS = ("auto", "separable", "quadrature")


class _NotSeparable(Exception):
    """Internal: the expression is not a finite sum of products of one-variable factors."""


# ----------------------------------------------------------------------------- public


def multivariate_spectrum(link, k_max: int, *, method: str = "auto") -> MultivariateSpectrum:
    r"""Hermite coefficients :math:`\alpha_\beta`, :math:`|\beta| \le K`, of a link of r <= 4 variables.

    .. math::

        \alpha_\beta = \mathbb{E}_{z\sim N(0,I_r)}[f(z)\,H_\beta(z)],\qquad
        \|f\|^2 = \mathbb{E}[f(z)^2],\qquad \mathrm{tail} = \|f\|^2 - \sum_{|\beta|\le K}\alpha_\beta^2.

    Separable expressions are expanded exactly; other expressions and callables go through a
    tensor quadrature (module docstring, docs/conventions.md §0).

    Args:
        link: anything :func:`make_link` accepts (a name, an expression, a callable of
            ``z (..., r) -> (...)`` with ``r`` set through :func:`make_link`, or a :class:`Link`).
        k_max: truncation degree ``K``.
        method: ``"auto"`` (separable when the expression allows it, else quadrature),
            ``"separable"`` (exact; refuses non-separable links) or ``"quadrature"`` (tensor rule).

    Returns:
        :class:`~mimflow.hermite.MultivariateSpectrum` with ``values`` of shape ``(C(K + r, r),)``
        in the order of ``multi_indices(r, K)``, ``norm2`` and ``tail``; ``method`` records the
        method used.

    Raises:
        MimflowError: ``r > 4``, ``K`` above the limits (module docstring), an unknown method,
            ``method="separable"`` on a non-separable link, or a link that is not finite.

    Example:
        >>> s = multivariate_spectrum("h2(z1) + h3(z2)", 3)
        >>> s.nonzero(1e-12)
        [((2, 0), 1.0), ((0, 3), 1.0)]
    """
    link = make_link(link)
    if link.r > MAX_VARIABLES:
        raise MimflowError(
            f"link {link.name!r} has r = {link.r} variables: multivariate Hermite supports r <= {MAX_VARIABLES}"
        )
    k_max = _check_degree(k_max)
    if link.r >= 2 and link.r**k_max > MAX_TENSOR_ENTRIES:
        k_limit = int(math.floor(math.log(MAX_TENSOR_ENTRIES) / math.log(link.r) + 1e-12))
        raise MimflowError(
            f"k_max = {k_max} is too high for r = {link.r} (r**k_max must be <= 4**10): use k_max <= {k_limit}"
        )
    if method not in _METHODS:
        raise MimflowError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    if method in ("auto", "separable"):
        if link.tree is not None:
            try:
                terms = separable_terms(link.tree)
            except _NotSeparable:
                terms = None
        else:
            terms = None
        if terms is not None:
            return _separable_spectrum(link, terms, k_max)
        if method == "separable":
            why = "a Python callable" if link.tree is None else "not a sum of products of one-variable factors"
            raise MimflowError(f"link {link.name!r} is {why}: use method='quadrature' (or 'auto')")
    return _quadrature_spectrum(link, k_max)


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
    from mimflow.targets._links import _closed

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


def _separable_spectrum(link: Link, terms: list[tuple[float, dict[int, Node]]], k_max: int) -> MultivariateSpectrum:
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


# ------------------------------------------------------------------------- quadrature


def tensor_half_width(k_max: int) -> float:
    r"""Half-width of the panels of the tensor rule: ``max(10, sqrt(4K + 2) + 6)``.

    Narrower than the 1-D default (:func:`integration_half_width`, which adds 10): beyond
    ``sqrt(4K + 2)`` the product :math:`|h_k| \varphi` decays like a Gaussian, and 6 more units put
    it below ~1e-15 for every ``k <= K`` (e.g. ``K = 10``: :math:`|h_{10}(12.5)|\varphi(12.5) < 1e-23`);
    the Gaussian mass beyond 10 is 1.5e-23.
    """
    return max(10.0, math.sqrt(4.0 * k_max + 2.0) + 6.0)


def _axis_rule(link: Link, axis: int, k_max: int) -> tuple[np.ndarray, np.ndarray]:
    r = link.r
    if r == 1:  # the 1-D rule of Link.spectrum
        bps = link.breakpoints(0, integration_half_width(k_max))
        return piecewise_gaussian_rule(bps, k_max=max(k_max, 8))
    half = tensor_half_width(k_max)
    bps = link.breakpoints(axis, half)
    if bps:
        return piecewise_gaussian_rule(bps, k_max=max(k_max, 8), half_width=half, panel_nodes=PANEL_NODES[r])
    return gauss_hermite_rule(max(GAUSS_HERMITE_NODES[r], k_max + 1))


def quadrature_rule(link, k_max: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The per-axis ``(nodes, weights)`` of the tensor rule used by ``method="quadrature"``."""
    link = make_link(link)
    return [_axis_rule(link, axis, int(k_max)) for axis in range(link.r)]


def _quadrature_spectrum(link: Link, k_max: int) -> MultivariateSpectrum:
    r = link.r
    rules = quadrature_rule(link, k_max)
    sizes = [len(z) for z, _ in rules]
    total = math.prod(sizes)
    if total > MAX_QUADRATURE_POINTS:
        raise MimflowError(
            f"the tensor quadrature for {link.name!r} needs {total} points (> {MAX_QUADRATURE_POINTS}):"
            " lower k_max or write the link as a sum of products of one-variable functions"
        )
    # Weighted orthonormal Hermite tables per axis: hw[i][n, k] = w_n h_k(z_n).
    hw = [w[:, None] * _hermite_table(z, k_max) for z, w in rules]
    rest = math.prod(sizes[1:])
    chunk = max(1, _CHUNK_POINTS // rest)
    nodes0, _ = rules[0]
    grids_rest = np.meshgrid(*[z for z, _ in rules[1:]], indexing="ij")
    coeffs = np.zeros((k_max + 1,) * r)
    norm2 = 0.0
    weights_rest = _outer_weights([w for _, w in rules[1:]])
    for start in range(0, sizes[0], chunk):
        stop = min(start + chunk, sizes[0])
        idx = np.arange(start, start + chunk)
        idx = np.minimum(idx, sizes[0] - 1)  # pad the last chunk (fixed shape: one compilation)
        points = np.empty((chunk,) + tuple(sizes[1:]) + (r,))
        points[..., 0] = nodes0[idx].reshape((chunk,) + (1,) * (r - 1))
        for axis in range(1, r):
            points[..., axis] = grids_rest[axis - 1][None]
        values = np.asarray(link.fn(jnp.asarray(points)), dtype=np.float64).reshape(points.shape[:-1])
        values = values[: stop - start]
        if not np.all(np.isfinite(values)):
            bad = points[: stop - start][~np.isfinite(values)][0]
            raise MimflowError(
                f"link {link.name!r} is not finite at z = {np.round(bad, 4).tolist()}: it must be finite on R^{r}"
            )
        w0 = rules[0][1][start:stop]
        norm2 += float(np.sum(w0.reshape((-1,) + (1,) * (r - 1)) * weights_rest * values * values))
        # Contract axis by axis, last axis first (a matmul on the contiguous axis does the bulk of
        # the work); the degree axes pile up at the end as (k_r, ..., k_1).
        block = values
        for axis in range(r - 1, -1, -1):
            table = hw[axis] if axis else hw[0][start:stop]
            block = np.moveaxis(block, axis, -1) @ table
        coeffs += block.transpose(tuple(range(r - 1, -1, -1)))
    betas = multi_indices(r, k_max)
    values = coeffs[tuple(betas.T)]
    tail = norm2 - float(np.sum(values**2))
    return MultivariateSpectrum(r, k_max, betas, values, norm2, tail, "quadrature", link.name)


def _hermite_table(z: np.ndarray, k_max: int) -> np.ndarray:
    """``h_0(z) .. h_K(z)``, shape ``(n, K + 1)``: the recurrence of :func:`hermite_normalized` in NumPy
    (an eager JAX scan costs ~0.1 s per call here, the NumPy loop microseconds)."""
    out = np.empty((len(z), k_max + 1))
    out[:, 0] = 1.0
    if k_max >= 1:
        out[:, 1] = z
    for k in range(1, k_max):
        out[:, k + 1] = (z * out[:, k] - math.sqrt(k) * out[:, k - 1]) / math.sqrt(k + 1.0)
    return out


def _outer_weights(weights: list[np.ndarray]) -> np.ndarray:
    out = np.ones(())
    for w in weights:
        out = np.multiply.outer(out, w)
    return out
