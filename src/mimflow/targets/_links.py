r"""Links ``f*: R^r -> R``: built-in names, expressions and Python callables.

A :class:`Link` is immutable. Build one with :func:`make_link`:

>>> make_link("relu").r
1
>>> make_link("h2(z1) + h3(z2)").r
2
>>> make_link(lambda z: z**3 - 3*z, name="cubic").r
1

Conventions for callables: for ``r = 1`` the callable receives an array of ``z`` values of
any shape and returns the same shape (elementwise); for ``r > 1`` it receives ``z`` of
shape ``(..., r)`` and returns shape ``(...)``. A callable may declare the points where
it kinks or jumps (``breakpoints``, for ``r = 1``; for ``r > 1`` one tuple per variable, for
axis-aligned kinks) so that quadrature integrates piecewise between them.

For expression links the breakpoints are found automatically: every ``relu``, ``abs`` and
``sign`` in the expression contributes the real roots of its argument (located on a fine
grid and refined with Brent's method).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import re

import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.hermite import CLOSED_FORMS, HermiteSpectrum, check_degree, hermite_basis_coefficients
from mimflow.hermite import hermite_coefficients_by_quadrature, integration_half_width
from mimflow.targets._expression import BinOp, Call, Neg, Node, Num, Var, compile_expression, parse_expression
from mimflow.targets._expression_tree import denominators, kink_arguments, variables_of

BUILTIN_LINKS: dict[str, str] = {
    "relu": "relu(z)",
    "abs": "abs(z)",
    "sign": "sign(z)",
    "tanh": "tanh(z)",
    "erf": "erf(z)",
    "sigmoid": "sigmoid(z)",
    "softplus": "softplus(z)",
    "gelu": "gelu(z)",
    "exp": "exp(z)",
    "sin": "sin(z)",
    "cos": "cos(z)",
    "staircase2": "z1 + z1*z2",
    "staircase3": "z1 + z1*z2 + z1*z2*z3",
    "parity2": "z1*z2",
    "parity3": "z1*z2*z3",
}
"""Named links. Besides these, ``heK`` and ``hK`` (e.g. ``he3``, ``h2``) name Hermite polynomials."""


def known_links_summary() -> str:
    return ", ".join(list(BUILTIN_LINKS) + ["heK", "hK (K = 0, 1, 2, ...)"])


@dataclass(frozen=True, eq=False)
class Link:
    """A link function ``f: R^r -> R`` (final class; build with :func:`make_link`).

    Attributes:
        name: display name (the built-in name, the expression text, or the callable's name).
        r: number of variables.
        fn: ``z (..., r) -> (...)``; JAX-traceable for expression links.
        tree: the parsed expression (``None`` for callables).
        declared_breakpoints: user-declared kinks (per variable) for callables.
    """

    name: str
    r: int
    fn: Callable = field(repr=False)
    tree: Node | None = field(default=None, repr=False)
    declared_breakpoints: tuple[tuple[float, ...], ...] | None = field(default=None, repr=False)

    def __call__(self, z):
        """Evaluate on ``z`` of shape ``(..., r)``."""
        return self.fn(z)

    def __hash__(self):
        return id(self)

    # ------------------------------------------------------------------ breakpoints
    def breakpoints(self, variable: int = 0, half_width: float = 40.0) -> tuple[float, ...]:
        """Kinks/jumps of the link along ``variable`` (for one-variable links or factors)."""
        if self.declared_breakpoints is not None:
            return self.declared_breakpoints[variable] if variable < len(self.declared_breakpoints) else ()
        if self.tree is None:
            return ()
        return _breakpoints_of_tree(self.tree, variable, half_width)

    # ------------------------------------------------------------------ 1-D spectrum
    def spectrum(self, k_max: int, *, method: str = "auto") -> HermiteSpectrum:
        """Hermite spectrum ``c_0..c_{k_max}`` of a one-variable link.

        Args:
            k_max: highest degree.
            method: ``"auto"`` (closed form when the link has one, else quadrature),
                ``"closed-form"`` or ``"quadrature"``.
        """
        k_max = check_degree(k_max)
        if self.r != 1:
            raise MimflowError(
                f"link {self.name!r} has r = {self.r} variables: use multivariate_spectrum for r > 1"
            )
        if method not in ("auto", "closed-form", "quadrature"):
            raise MimflowError(f"method must be auto, closed-form or quadrature, got {method!r}")
        if method != "quadrature" and self.tree is not None:
            closed = closed_form_spectrum(self.tree, k_max)
            if closed is not None:
                coefficients, norm2 = closed
                if norm2 is None:
                    norm2 = self._quadrature_norm2(k_max)
                tail = norm2 - float(np.sum(coefficients**2))
                return HermiteSpectrum(coefficients, norm2, tail, "closed-form", self.name)
        if method == "closed-form":
            raise MimflowError(f"link {self.name!r} has no closed form: use method='quadrature'")
        half = integration_half_width(k_max)
        self._check_no_poles(half)
        return hermite_coefficients_by_quadrature(
            self._fn_1d, k_max, breakpoints=self.breakpoints(0, half), name=self.name
        )

    def _check_no_poles(self, half_width: float) -> None:
        """Refuse links that blow up where a denominator vanishes, or grow so fast that ``f^2 phi`` does
        not vanish at the quadrature window's edge (``exp(z**2)``: not square-integrable)."""
        with np.errstate(over="ignore", invalid="ignore"):
            edge = self._fn_1d(np.array([-half_width, half_width])).astype(float) ** 2 * np.exp(-half_width**2 / 2)
        edge = edge[~np.isnan(edge)]  # NaN (a link undefined there) is not growth
        if edge.size and (np.any(np.isinf(edge)) or np.max(edge) > 1.0):
            raise MimflowError(f"link {self.name!r} grows too fast: f(z)^2 phi(z) does not vanish at |z| = "
                               f"{half_width:g}; it must be square-integrable under N(0, 1)")
        if self.tree is None:
            return
        for den in denominators(self.tree):
            if not variables_of(den) <= {0}:
                continue
            for root in _real_roots(compile_expression(den), 0, half_width):
                probe = root + 1e-9 * (1.0 + abs(root))
                value = float(self._fn_1d(np.array([probe]))[0])
                if not np.isfinite(value) or abs(value) > 1e6:
                    raise MimflowError(
                        f"link {self.name!r} is not finite at z = {root:.6g} (a pole: division by zero or a negative power): "
                        "it must be square-integrable under N(0, 1)"
                    )

    def _fn_1d(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(self.fn(jnp.asarray(z)[..., None]))

    def _quadrature_norm2(self, k_max: int) -> float:
        return hermite_coefficients_by_quadrature(
            self._fn_1d, 0, breakpoints=self.breakpoints(0, integration_half_width(k_max)), name=self.name
        ).norm2


def make_link(
    spec,
    *,
    r: int | None = None,
    name: str | None = None,
    breakpoints: Sequence[float] | Sequence[Sequence[float]] | None = None,
) -> Link:
    """Build a :class:`Link` from a built-in name, an expression, a Python callable or a Link.

    Args:
        spec: ``"relu"``, ``"he3"``, ``"h2(z1) + h3(z2)"``, a callable, or a :class:`Link`.
        r: number of variables of a callable (default 1). For an expression, a larger ``r``
            than the expression uses pads it with unused variables.
        name: display name.
        breakpoints: kinks of a callable: a list of floats for ``r = 1``, or one list per variable.

    Raises:
        MimflowError: unknown names (listing the known ones), malformed expressions,
            non-finite breakpoints.
    """
    if isinstance(spec, Link):
        return spec
    if isinstance(spec, str):
        text = spec.strip()
        key = text.lower()
        if key in BUILTIN_LINKS:
            text, display = BUILTIN_LINKS[key], key
        else:
            display = text
            if text.isidentifier() and not _is_expression_name(text):
                raise MimflowError(
                    f"unknown link {text!r}; known links: {known_links_summary()}; or write an expression in z, e.g. 'relu(z)*sign(z2)'"
                )
            if text.isidentifier() and not text.startswith("z"):  # he3, h2: a Hermite polynomial of z
                text = f"{text}(z)"
        tree, used_r = parse_expression(text)
        if r is not None:
            _check_r(r)
            if r < used_r:
                raise MimflowError(f"link {display!r} uses {used_r} variables but r = {r} was given: pass r >= {used_r}")
            used_r = r
        return Link(name or display, used_r, compile_expression(tree), tree)
    if callable(spec):
        r = 1 if r is None else r
        _check_r(r)
        bps = None
        if breakpoints is not None:
            bps = _normalise_breakpoints(breakpoints, r)
        fn = _wrap_callable(spec, r)
        return Link(name or getattr(spec, "__name__", "callable"), r, fn, None, bps)
    raise MimflowError(f"a link must be a name, an expression string or a callable, got {type(spec).__name__}")


def _is_expression_name(text: str) -> bool:
    return bool(re.fullmatch(r"(he|h)\d+|z\d*", text))


def _check_r(r) -> None:
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 1:
        raise MimflowError(f"r (number of link variables) must be a positive integer, got {r!r}")


def _normalise_breakpoints(breakpoints, r: int) -> tuple[tuple[float, ...], ...]:
    items = list(breakpoints)
    if r == 1 and all(np.isscalar(b) for b in items):
        items = [items]
    if len(items) != r:
        raise MimflowError(f"breakpoints must give one list per variable (r = {r}), got {len(items)}")
    out = []
    for b in items:
        arr = np.asarray(list(b), dtype=float)
        if not np.all(np.isfinite(arr)):
            raise MimflowError(f"breakpoints must be finite numbers, got {list(b)!r}")
        out.append(tuple(float(x) for x in np.sort(arr)))
    return tuple(out)


def _wrap_callable(fn: Callable, r: int) -> Callable:
    if r == 1:
        return lambda z: fn(z[..., 0])
    return fn


# ---------------------------------------------------------------------- breakpoints


def _breakpoints_of_tree(tree: Node, variable: int, half_width: float) -> tuple[float, ...]:
    """Real roots, in ``[-half_width, half_width]``, of the kink arguments that depend on ``variable`` only."""
    roots: list[float] = []
    for arg in kink_arguments(tree):
        deps = variables_of(arg)
        if deps != {variable}:
            continue
        g = compile_expression(arg)
        roots.extend(_real_roots(g, variable, half_width))
    return tuple(sorted(set(round(x, 14) for x in roots)))


def _real_roots(g: Callable, variable: int, half_width: float, n_grid: int = 40001) -> list[float]:
    grid = np.linspace(-half_width, half_width, n_grid)
    z = np.zeros((n_grid, variable + 1))
    z[:, variable] = grid

    def scalar(x: float) -> float:
        zz = np.zeros((1, variable + 1))
        zz[0, variable] = x
        return float(np.asarray(g(jnp.asarray(zz)))[0])

    from scipy.optimize import brentq  # here, not at import: scipy.optimize costs ~0.5 s of start-up

    values = np.asarray(g(jnp.asarray(z)))
    roots = list(grid[values == 0.0])
    s = np.sign(values)
    idx = np.nonzero((s[:-1] * s[1:]) < 0)[0]
    for i in idx:
        if np.isfinite(values[i]) and np.isfinite(values[i + 1]):
            roots.append(brentq(scalar, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-15))
    return roots


# ---------------------------------------------------------------------- closed forms


def closed_form_spectrum(tree: Node, k_max: int) -> tuple[np.ndarray, float | None] | None:
    """Exact coefficients of linear combinations of closed-form atoms in one variable.

    Atoms: constants, ``z``, ``relu(z)``, ``abs(z)``, ``sign(z)``, ``erf(a*z)``, ``heK(z)``,
    ``hK(z)``. Returns ``(c, ||f||^2)``, with ``||f||^2 = None`` when it has no closed form
    (a combination involving a non-polynomial atom); returns ``None`` when the tree is
    not such a combination.
    """
    result = _closed(tree, k_max)
    if result is None:
        return None
    coefficients, norm2, n_atoms, polynomial = result
    if polynomial:
        norm2 = float(np.sum(coefficients**2))
    elif n_atoms != 1:
        norm2 = None
    return coefficients, norm2


def _closed(node: Node, k_max: int):
    """Return (c, norm2 of a single atom or None, number of non-polynomial atoms, is_polynomial)."""
    if isinstance(node, Num):
        c = np.zeros(k_max + 1)
        c[0] = node.value
        return c, node.value**2, 0, True
    if isinstance(node, Var):
        if node.index != 0:
            return None
        c = np.zeros(k_max + 1)
        if k_max >= 1:
            c[1] = 1.0
        return c, 1.0, 0, k_max >= 1
    if isinstance(node, Neg):
        inner = _closed(node.arg, k_max)
        return None if inner is None else (-inner[0], inner[1], inner[2], inner[3])
    if isinstance(node, BinOp):
        if node.op in "+-" and len(node.op) == 1:
            a, b = _closed(node.left, k_max), _closed(node.right, k_max)
            if a is None or b is None:
                return None
            sign = 1.0 if node.op == "+" else -1.0
            return a[0] + sign * b[0], None, a[2] + b[2], a[3] and b[3]
        if node.op == "*":
            for num, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(num, Num):
                    inner = _closed(other, k_max)
                    if inner is None:
                        return None
                    n2 = None if inner[1] is None else inner[1] * num.value**2
                    return num.value * inner[0], n2, inner[2], inner[3]
            return None
        if node.op == "/" and isinstance(node.right, Num) and node.right.value != 0:
            inner = _closed(node.left, k_max)
            if inner is None:
                return None
            n2 = None if inner[1] is None else inner[1] / node.right.value**2
            return inner[0] / node.right.value, n2, inner[2], inner[3]
        return None
    if isinstance(node, Call):
        scale = _linear_scale(node.arg)
        if node.func in ("he", "h"):
            if scale != 1.0:
                return None
            c, n2 = hermite_basis_coefficients(node.degree, k_max, normalized=node.func == "h")
            return c, n2, 0, node.degree <= k_max
        if node.func == "erf" and scale is not None:
            c, n2 = CLOSED_FORMS["erf"](k_max, scale)
            return c, n2, 1, False
        if node.func in CLOSED_FORMS and scale is not None and scale > 0:
            # relu, abs, sign are positively homogeneous of degree 1, 1, 0.
            c, n2 = CLOSED_FORMS[node.func](k_max)
            power = 0 if node.func == "sign" else 1
            return c * scale**power, n2 * scale ** (2 * power), 1, False
    return None


def _linear_scale(node: Node) -> float | None:
    """``a`` if the node is ``a * z`` (or ``z * a``, ``z / a``, ``z``) with ``a`` a number, else None."""
    if isinstance(node, Var) and node.index == 0:
        return 1.0
    if isinstance(node, BinOp):
        if node.op == "*":
            if isinstance(node.left, Num) and isinstance(node.right, Var) and node.right.index == 0:
                return node.left.value
            if isinstance(node.right, Num) and isinstance(node.left, Var) and node.left.index == 0:
                return node.right.value
        if node.op == "/" and isinstance(node.left, Var) and node.left.index == 0 and isinstance(node.right, Num):
            return 1.0 / node.right.value if node.right.value != 0 else None
    return None

