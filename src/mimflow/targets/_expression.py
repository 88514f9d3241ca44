r"""Link expressions: a restricted grammar, parsed into a tree and compiled to JAX.

Grammar (a whitelist over Python's expression syntax; anything else is refused)::

    expr     := number | variable | constant | expr OP expr | ("-" | "+") expr
              | FUNCTION "(" expr ")" | "(" expr ")"
    OP       := + - * / **
    variable := z | z1 | z2 | z3 | z4 | ...      (z alone for one variable)
    constant := pi
    FUNCTION := relu abs sign tanh erf exp sin cos sigmoid softplus gelu
              | heK (He_K, e.g. he3) | hK (He_K / sqrt(K!), e.g. h2)

The text goes through :func:`ast.parse` (which only builds a syntax tree and runs
nothing), and every node is checked against the whitelist *before* anything else
happens: attributes, subscripts, keywords, lambdas, comprehensions, strings, names
other than the variables, and calls of unknown functions are refused with a one-line
:class:`~mimflow.MimflowError` listing what is allowed. Nothing a user writes is ever
passed to ``eval`` or ``exec``.

The tree (:class:`Num`, :class:`Var`, :class:`Neg`, :class:`BinOp`, :class:`Call`) is
plain immutable data; :func:`compile_expression` turns it into a JAX function of
``z`` with shape ``(..., r)``.

Functions follow their usual mathematical definitions: ``erf`` is the error function
(so ``erf(z/sqrt2)``-type links are written ``erf(z*0.7071067811865476)``), ``sign(0) = 0``,
``gelu(z) = z * Phi(z)`` (exact, not the tanh approximation), ``sigmoid(z) = 1/(1+e^-z)``,
``softplus(z) = log(1 + e^z)``.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Callable, Union

import jax
import jax.numpy as jnp

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.hermite import MAX_DEGREE, hermite_he, hermite_normalized

MAX_EXPRESSION_LENGTH = 2000
MAX_VARIABLES = 16

# ---------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Var:
    index: int  # 0-based: z and z1 are index 0


@dataclass(frozen=True)
class Neg:
    arg: "Node"


@dataclass(frozen=True)
class BinOp:
    op: str  # one of + - * / **
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Call:
    func: str  # a key of FUNCTIONS, or "he"/"h" with ``degree`` set
    arg: "Node"
    degree: int | None = None


Node = Union[Num, Var, Neg, BinOp, Call]


def _gelu(x):
    return x * 0.5 * (1.0 + jax.scipy.special.erf(x / math.sqrt(2.0)))


FUNCTIONS: dict[str, Callable] = {
    "relu": lambda x: jnp.maximum(x, 0.0),
    "abs": jnp.abs,
    "sign": jnp.sign,
    "tanh": jnp.tanh,
    "erf": jax.scipy.special.erf,
    "exp": jnp.exp,
    "sin": jnp.sin,
    "cos": jnp.cos,
    "sigmoid": jax.nn.sigmoid,
    "softplus": jax.nn.softplus,
    "gelu": _gelu,
}
"""Elementwise functions allowed in expressions (besides ``heK``/``hK``)."""

KINKED_FUNCTIONS = frozenset({"relu", "abs", "sign"})
"""Functions with a kink or a jump where their argument vanishes (quadrature breakpoints)."""

CONSTANTS = {"pi": math.pi}

_HERMITE_RE = re.compile(r"^(he|h)(\d+)$")
_VAR_RE = re.compile(r"^z(\d*)$")
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def allowed_summary() -> str:
    """One line listing what an expression may contain (used in every parse error)."""
    funcs = ", ".join(sorted(FUNCTIONS)) + ", heK (He_K), hK (He_K/sqrt(K!))"
    return f"allowed: numbers, z or z1..zr, pi, + - * / **, parentheses, and the functions {funcs}"


def _refuse(text: str, why: str) -> MimflowError:
    return MimflowError(f"cannot parse link {text!r}: {why}; {allowed_summary()}")


# ---------------------------------------------------------------------------- parse


def parse_expression(text: str, *, variable: str = "z") -> tuple[Node, int]:
    """Parse ``text`` into a tree and the number of variables ``r`` it uses.

    ``variable`` names the variable: ``"z"`` (the default: ``z`` or ``z1..zr``, for links) or
    another single name (e.g. ``"y"`` for a spectral preprocessing ``T(y)``), which is then the
    only variable allowed (``Var(0)``, ``r = 1``).

    ``r`` is 1 for expressions in ``z``, else the largest ``j`` among ``z1..zj``
    (so ``"h3(z2)"`` has ``r = 2`` and does not depend on ``z1``).

    Raises:
        MimflowError: for anything outside the grammar, with a one-line message.

    Example:
        >>> tree, r = parse_expression("h2(z1) + h3(z2)")
        >>> r
        2
    """
    if not isinstance(text, str):
        raise MimflowError(f"a link expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise _refuse(text[:40] + "...", f"longer than {MAX_EXPRESSION_LENGTH} characters")
    if not text.strip():
        raise _refuse(text, "the expression is empty")
    try:
        module = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _refuse(text, f"syntax error ({exc.msg})") from None
    except (ValueError, RecursionError, MemoryError):
        raise _refuse(text, "not a valid expression") from None
    variables: set[str] = set()
    if variable != "z":
        if not (isinstance(variable, str) and variable.isidentifier() and variable not in FUNCTIONS
                and variable not in CONSTANTS and not _VAR_RE.match(variable) and not _HERMITE_RE.match(variable)):
            raise MimflowError(f"variable must be 'z' or a plain name such as 'y', got {variable!r}")
        try:
            tree = _convert(module.body, text, variables, variable)
        except RecursionError:
            raise _refuse(text, "nested too deeply") from None
        except MimflowError as exc:  # the message names z; say which variable is allowed here
            raise MimflowError(str(exc).replace("z or z1..zr", variable)) from None
        return tree, 1
    try:
        tree = _convert(module.body, text, variables)
    except RecursionError:
        raise _refuse(text, "nested too deeply") from None
    plain = "z" in variables
    numbered = sorted(int(v[1:]) for v in variables if v != "z")
    if plain and numbered:
        raise _refuse(text, "mixes z with z1, z2, ...; use z1..zr throughout for several variables")
    r = 1 if (plain or not numbered) else max(numbered)
    return tree, r


def _convert(node: ast.AST, text: str, variables: set[str], variable: str = "z") -> Node:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise _refuse(text, f"the literal {node.value!r} is not a real number")
        try:
            value = float(node.value)
        except OverflowError:  # an integer literal beyond float range (e.g. 1000 digits)
            raise _refuse(text, f"the number {str(node.value)[:12]}... is too large (beyond 1.8e308)") from None
        if not math.isfinite(value):
            raise _refuse(text, "numbers must be finite")
        return Num(value)
    if isinstance(node, ast.Name):
        name = node.id
        if name in CONSTANTS:
            return Num(CONSTANTS[name])
        if variable != "z":
            if name == variable:
                variables.add(name)
                return Var(0)
            m = None
        else:
            m = _VAR_RE.match(name)
        if m:
            if m.group(1) == "":
                variables.add("z")
                return Var(0)
            j = int(m.group(1))
            if not 1 <= j <= MAX_VARIABLES:
                raise _refuse(text, f"variable {name} out of range (z1..z{MAX_VARIABLES}; numbering starts at z1)")
            variables.add(name)
            return Var(j - 1)
        if name in FUNCTIONS or _HERMITE_RE.match(name):
            raise _refuse(text, f"{name} is a function: call it, e.g. {name}(z)")
        raise _refuse(text, f"unknown name {name!r}")
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return Neg(_convert(node.operand, text, variables, variable))
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, text, variables, variable)
        raise _refuse(text, f"the operator {type(node.op).__name__} is not allowed")
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise _refuse(text, f"the operator {type(node.op).__name__} is not allowed")
        return BinOp(op, _convert(node.left, text, variables, variable), _convert(node.right, text, variables, variable))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _refuse(text, "only calls of the listed functions by name are allowed")
        name = node.func.id
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise _refuse(text, f"{name}(...) takes exactly one argument")
        if name in FUNCTIONS:
            return Call(name, _convert(node.args[0], text, variables, variable))
        m = _HERMITE_RE.match(name)
        if m:
            degree = int(m.group(2))
            if degree > MAX_DEGREE:
                raise _refuse(text, f"Hermite degree {degree} is above the maximum {MAX_DEGREE}")
            return Call(m.group(1), _convert(node.args[0], text, variables, variable), degree)
        raise _refuse(text, f"unknown function {name!r}")
    raise _refuse(text, f"{type(node).__name__} is not allowed")


# ---------------------------------------------------------------------------- compile


def compile_expression(tree: Node) -> Callable[[jax.Array], jax.Array]:
    """Turn a parsed tree into a pure JAX function ``f(z) -> y``, ``z`` of shape ``(..., r)``."""

    def build(node: Node) -> Callable:
        if isinstance(node, Num):
            value = node.value
            return lambda z: jnp.full(z.shape[:-1], value, dtype=jnp.float64)
        if isinstance(node, Var):
            i = node.index
            return lambda z: z[..., i]
        if isinstance(node, Neg):
            inner = build(node.arg)
            return lambda z: -inner(z)
        if isinstance(node, BinOp):
            a, b = build(node.left), build(node.right)
            if node.op == "+":
                return lambda z: a(z) + b(z)
            if node.op == "-":
                return lambda z: a(z) - b(z)
            if node.op == "*":
                return lambda z: a(z) * b(z)
            if node.op == "/":
                return lambda z: a(z) / b(z)
            if isinstance(node.right, Num) and float(node.right.value).is_integer() and 0 <= node.right.value <= 64:
                n = int(node.right.value)  # integer powers stay exact (and defined) for negative bases
                return lambda z: jax.lax.integer_pow(a(z), n)
            return lambda z: a(z) ** b(z)
        if isinstance(node, Call):
            inner = build(node.arg)
            if node.func == "he":
                k = node.degree
                return lambda z: hermite_he(inner(z), k)[..., k]
            if node.func == "h":
                k = node.degree
                return lambda z: hermite_normalized(inner(z), k)[..., k]
            fn = FUNCTIONS[node.func]
            return lambda z: fn(inner(z))
        raise TypeError(f"not an expression node: {node!r}")

    return jax.jit(build(tree))


def format_expression(node: Node) -> str:
    """Canonical text of a tree (fully parenthesised binary operations)."""
    if isinstance(node, Num):
        return repr(node.value) if not node.value.is_integer() else str(int(node.value))
    if isinstance(node, Var):
        return f"z{node.index + 1}"
    if isinstance(node, Neg):
        return f"-({format_expression(node.arg)})"
    if isinstance(node, BinOp):
        return f"({format_expression(node.left)} {node.op} {format_expression(node.right)})"
    name = f"{node.func}{node.degree}" if node.degree is not None else node.func
    return f"{name}({format_expression(node.arg)})"


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}
_NEG_PRECEDENCE = 3
_ATOM = 5


def _precedence(node: Node) -> int:
    if isinstance(node, BinOp):
        return _PRECEDENCE[node.op]
    if isinstance(node, Neg):
        return _NEG_PRECEDENCE
    return _ATOM


def canonical_text(node: Node, r: int = 1) -> str:
    """Canonical, minimally parenthesised text of a tree: parsing it gives the same tree back.

    The variable is written ``z`` when ``r = 1`` and ``z1..zr`` otherwise; numbers as ``repr`` of
    their float (integers without a dot). Equal trees give equal text, so the text of the parsed link
    is what a run id hashes (``"h2"``, ``"h2(z)"`` and ``"h2( z )"`` are one run).

    Example:
        >>> canonical_text(parse_expression("h2( z1 )+ h3(z2)")[0], 2)
        'h2(z1) + h3(z2)'
    """
    def text(n: Node) -> str:
        if isinstance(n, Num):
            return str(int(n.value)) if n.value.is_integer() and abs(n.value) < 1e16 else repr(n.value)
        if isinstance(n, Var):
            return "z" if r == 1 and n.index == 0 else f"z{n.index + 1}"
        if isinstance(n, Neg):
            inner = text(n.arg)
            return f"-({inner})" if _precedence(n.arg) < _NEG_PRECEDENCE else f"-{inner}"
        if isinstance(n, BinOp):
            p = _PRECEDENCE[n.op]
            left, right = text(n.left), text(n.right)
            if n.op == "**":  # right-associative; its left operand binds tighter than a unary minus
                left = f"({left})" if _precedence(n.left) <= p else left
                right = f"({right})" if _precedence(n.right) < _NEG_PRECEDENCE else right
                return f"{left}**{right}"
            left = f"({left})" if _precedence(n.left) < p else left
            right = f"({right})" if _precedence(n.right) <= p else right
            return f"{left} {n.op} {right}"
        name = f"{n.func}{n.degree}" if n.degree is not None else n.func
        return f"{name}({text(n.arg)})"

    return text(node)
