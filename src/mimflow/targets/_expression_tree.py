"""Questions asked of a parsed link expression (:mod:`mimflow.targets._expression`): which variables a
subtree depends on, where it may kink or jump (the arguments of ``relu``/``abs``/``sign``), where it may
have a pole (denominators and bases of negative powers), and the value of a variable-free subtree.
"""

from __future__ import annotations

from mimflow.targets._expression import KINKED_FUNCTIONS, BinOp, Call, Neg, Node, Num, Var


def variables_of(node: Node) -> frozenset[int]:
    """Indices of the variables a (sub)tree depends on."""
    if isinstance(node, Num):
        return frozenset()
    if isinstance(node, Var):
        return frozenset({node.index})
    if isinstance(node, (Neg, Call)):
        return variables_of(node.arg)
    return variables_of(node.left) | variables_of(node.right)


def kink_arguments(node: Node) -> list[Node]:
    """Arguments of every relu/abs/sign call in the tree: the link may kink or jump where they vanish."""
    out: list[Node] = []
    if isinstance(node, Call):
        if node.func in KINKED_FUNCTIONS:
            out.append(node.arg)
        out.extend(kink_arguments(node.arg))
    elif isinstance(node, Neg):
        out.extend(kink_arguments(node.arg))
    elif isinstance(node, BinOp):
        out.extend(kink_arguments(node.left))
        out.extend(kink_arguments(node.right))
    return out


def constant_value(node: Node) -> float | None:
    """The value of a subtree without variables (``-1``, ``2*3``, ``-(1/2)``), or None."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Neg):
        inner = constant_value(node.arg)
        return None if inner is None else -inner
    if isinstance(node, BinOp):
        a, b = constant_value(node.left), constant_value(node.right)
        if a is None or b is None:
            return None
        try:
            return {"+": a + b, "-": a - b, "*": a * b}.get(node.op) if node.op in "+-*" else (
                a / b if node.op == "/" else float(a**b))
        except (ZeroDivisionError, OverflowError, TypeError):
            return None
    return None


def denominators(node: Node) -> list[Node]:
    """Subtrees where the link may have a pole when they vanish: right-hand sides of divisions and
    bases of negative powers (``z**-1``, ``z**-2``: ``f^2`` is not integrable at a root of the base
    once the power is <= -1/2)."""
    out: list[Node] = []
    if isinstance(node, BinOp):
        if node.op == "/":
            out.append(node.right)
        if node.op == "**":
            power = constant_value(node.right)
            if power is not None and power <= -0.5:
                out.append(node.left)
        out.extend(denominators(node.left))
        out.extend(denominators(node.right))
    elif isinstance(node, (Neg, Call)):
        out.extend(denominators(node.arg))
    return out
