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

import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.hermite import MAX_TENSOR_ENTRIES, MAX_VARIABLES
from mimflow.hermite import MultivariateSpectrum, check_degree, multi_indices
from mimflow.hermite import gauss_hermite_rule, integration_half_width, piecewise_gaussian_rule
from mimflow.targets._links import Link, make_link
from mimflow.targets._separable import MAX_POWER as MAX_POWER
from mimflow.targets._separable import MAX_SEPARABLE_TERMS as MAX_SEPARABLE_TERMS
from mimflow.targets._separable import separable_spectrum, separable_terms

# MAX_VARIABLES (= 4, the largest r) and MAX_TENSOR_ENTRIES (= 4**10, the bound on r**K for r >= 2)
# are shared with the averaging operator, which consumes these spectra.

GAUSS_HERMITE_NODES = {2: 200, 3: 128, 4: 56}
"""Gauss-Hermite nodes per smooth axis of the tensor rule (at least ``K + 1``)."""

PANEL_NODES = {2: 16, 3: 8, 4: 6}
"""Gauss-Legendre nodes per panel on an axis with breakpoints."""

MAX_QUADRATURE_POINTS = 2**27
"""Largest tensor rule (total number of points) the quadrature method accepts."""

_CHUNK_POINTS = 2**16
_METHODS = ("auto", "separable", "quadrature")


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
    k_max = check_degree(k_max)
    if link.r >= 2 and link.r**k_max > MAX_TENSOR_ENTRIES:
        k_limit = int(math.floor(math.log(MAX_TENSOR_ENTRIES) / math.log(link.r) + 1e-12))
        raise MimflowError(
            f"k_max = {k_max} is too high for r = {link.r} (r**k_max must be <= 4**10): use k_max <= {k_limit}"
        )
    if method not in _METHODS:
        raise MimflowError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    if method in ("auto", "separable"):
        terms = separable_terms(link.tree) if link.tree is not None else None
        if terms is not None:
            return separable_spectrum(link, terms, k_max)
        if method == "separable":
            why = "a Python callable" if link.tree is None else "not a sum of products of one-variable factors"
            raise MimflowError(f"link {link.name!r} is {why}: use method='quadrature' (or 'auto')")
    return _quadrature_spectrum(link, k_max)


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
